/* Small helpers shared by the unit tests. */
#ifndef IMMUNE_TESTUTIL_H
#define IMMUNE_TESTUTIL_H

#include <stdbool.h>
#include <stdlib.h>

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

#endif
