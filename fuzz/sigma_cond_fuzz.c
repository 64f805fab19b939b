/*
 * libFuzzer target: a Sigma condition over a rule's selections. The input is
 * the condition text; the selections are fixed (names that globs, "them" and
 * the '_' rule can pick), so every byte goes to the condition parser.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "sigma.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char *names[] = { "selection", "selection_img", "sel2", "filter_main", "filter_optional", "_hidden", "keywords" };
	enum { N = sizeof(names) / sizeof(names[0]) };
	struct arena pool = { 0 };
	struct sig_node *sels[N];
	for (int i = 0; i < N; i++) {
		sels[i] = arena_zalloc(&pool, sizeof(*sels[i]));
		sels[i]->type = SIG_N_ATOM;
	}
	char *cond = malloc(size + 1);
	memcpy(cond, data, size);
	cond[size] = 0;
	char err[200];
	sig_cond_parse(&pool, cond, names, sels, N, err, sizeof(err));
	free(cond);
	arena_free(&pool);
	return 0;
}
