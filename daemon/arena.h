/* A bump allocator for one event's strings: reset per event, no frees. */
#ifndef IMMUNE_ARENA_H
#define IMMUNE_ARENA_H

#include <stddef.h>

struct arena_chunk;

struct arena {
	struct arena_chunk *head;
	size_t used_total;
};

/* Copy n bytes of s and a NUL; never fails (aborts on OOM like xmalloc). */
const char *arena_strndup(struct arena *a, const char *s, size_t n);
const char *arena_strdup(struct arena *a, const char *s);
void *arena_alloc(struct arena *a, size_t n);
/* Forget everything but keep the first chunk for reuse. */
void arena_reset(struct arena *a);
void arena_free(struct arena *a);

#endif
