/*
 * The one bump allocator: an event's strings (reset per event) and a Sigma
 * rule's nodes, atoms and strings (freed with the rule). No frees of single
 * allocations; out of memory aborts, like xmalloc.
 */
#ifndef IMMUNE_ARENA_H
#define IMMUNE_ARENA_H

#include <stddef.h>

struct arena_chunk;

struct arena {
	struct arena_chunk *head;
	size_t used_total;
	size_t chunk; /* bytes of a new chunk; 0: ARENA_CHUNK */
};

#define ARENA_CHUNK 16384

/* Aligned for any type (max_align_t); the memory is not cleared. */
void *arena_alloc(struct arena *a, size_t n);
/* The same, cleared. */
void *arena_zalloc(struct arena *a, size_t n);
/* Copy n bytes of s and a NUL. */
char *arena_strndup(struct arena *a, const char *s, size_t n);
char *arena_strdup(struct arena *a, const char *s);
/* Forget everything but keep the first chunk for reuse. */
void arena_reset(struct arena *a);
void arena_free(struct arena *a);

#endif
