/* Small helpers shared by the unit tests. */
#ifndef IMMUNE_TESTUTIL_H
#define IMMUNE_TESTUTIL_H

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* s[0..n) with every run of white space made one space (none at the start):
 * SQL text compared for what it says, not how it is laid out. Caller frees. */
static inline char *squash(const char *s, size_t n)
{
	char *out = malloc(n + 1), *o = out;
	bool space = false;

	if (!out)
		abort();
	for (size_t i = 0; i < n; i++) {
		if (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r') {
			space = true;
			continue;
		}
		if (space && o != out)
			*o++ = ' ';
		space = false;
		*o++ = s[i];
	}
	*o = 0;
	return out;
}

/* A source-tree file's text (at most 64 KiB, in a static buffer); fails the test when it cannot be read.
 * (cmocka.h comes first, as in every test.) */
static inline char *read_source(const char *path)
{
	static char text[1 << 16];
	FILE *f = fopen(path, "r");
	if (!f)
		fail_msg("%s: %s (run from the source tree)", path, strerror(errno));
	size_t n = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	text[n] = 0;
	return text;
}

#endif
