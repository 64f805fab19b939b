/* libFuzzer target: the Hive's frame parser on arbitrary bytes from the network. */
#include <stddef.h>
#include <stdint.h>
#include "frame.h"

/* every number read back as an exact integer: the kept text must agree with the tree */
static void ints(const cJSON *n)
{
	for (; n; n = n->next) {
		int64_t i;
		uint64_t u;
		if (cJSON_IsNumber(n) && !n->valuestring)
			__builtin_trap();
		frame_i64(n, INT64_MIN, INT64_MAX, &i);
		frame_u64(n, &u);
		ints(n->child);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct frame_buf b = { 0 };
	char err[256];
	cJSON *m;
	/* in two pieces, as a socket delivers them */
	size_t cut = size ? data[0] % (size + 1) : 0;
	frame_feed(&b, data, cut);
	while (frame_next(&b, &m, err, sizeof(err)) == FRAME_OK) {
		ints(m->child);
		cJSON_Delete(m);
	}
	frame_feed(&b, data + cut, size - cut);
	while (frame_next(&b, &m, err, sizeof(err)) == FRAME_OK) {
		ints(m->child);
		cJSON_Delete(m);
	}
	frame_buf_free(&b);
	return 0;
}
