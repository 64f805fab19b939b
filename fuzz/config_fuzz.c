/*
 * libFuzzer target for the config file parser (daemon/config.c): any bytes
 * are refused with a FILE:LINE reason or parsed into entries whose values are
 * printable UTF-8 and whose options exist. Run: fuzz/run-config [SECONDS].
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "jsonw.h"

static const struct option lo[] = {
	{ "format", required_argument, 0, 1 }, { "rules", required_argument, 0, 2 },
	{ "no-builtin-rules", no_argument, 0, 3 }, { "help", no_argument, 0, 4 },
	{ "output", required_argument, 0, 5 }, { 0, 0, 0, 0 },
};
static const char *const repeatable[] = { "rules", NULL };
static const char *const refused[] = { "help", NULL };
static const struct config_schema schema = { lo, repeatable, refused };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[512];
	struct config c;
	char *text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = 0;
	if (config_parse(&c, "fuzz.conf", text, size, &schema, err, sizeof(err)) == 0) {
		for (int i = 0; i < c.n; i++) {
			const unsigned char *v = (const unsigned char *)c.e[i].value;
			size_t n = strlen(c.e[i].value);
			if (c.e[i].opt < 0 || c.e[i].opt > 4 || c.e[i].opt == 3)
				abort();
			for (size_t k = 0; k < n;) {
				size_t l = utf8_len(v + k, n - k);
				if (!l || (v[k] < 0x20 && v[k] != '\t') || v[k] == 0x7f)
					abort();
				k += l;
			}
		}
		config_free(&c);
	} else if (strncmp(err, "fuzz.conf:", 10) != 0) {
		abort();
	}
	free(text);
	return 0;
}
