/*
 * Aho-Corasick as a full DFA over byte classes. Case folding is in the class
 * map (A and a share a class), so events are scanned as they come, without a
 * lowercased copy. Only bytes that occur in some literal get a class of their
 * own; the rest share class 0, which keeps the table small enough for cache.
 */
#include "match.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

struct ac {
	uint8_t cls[256];
	unsigned ncls;
	/* trie, then DFA */
	unsigned nstates, cap;
	uint32_t *delta;   /* nstates * ncls; trie phase: 0 = no edge (root is never a target) */
	uint32_t *fail;
	uint32_t *out_off; /* outputs of state s: out[out_off[s] .. out_off[s+1]) after build */
	int *out;
	/* per-state own literal lists during construction */
	int **own;
	unsigned *nown;
	/* literals kept until build, to learn the classes first */
	char **lits;
	size_t *lens;
	int nlits, litcap;
	bool built;
};

struct ac *ac_new(void)
{
	struct ac *a = calloc(1, sizeof(*a));
	return a;
}

int ac_add(struct ac *a, const char *lit, size_t len)
{
	if (a->nlits == a->litcap) {
		int cap = a->litcap ? a->litcap * 2 : 64;
		char **l = realloc(a->lits, cap * sizeof(*l));
		size_t *n = l ? realloc(a->lens, cap * sizeof(*n)) : NULL;
		if (!l || !n) {
			if (l)
				a->lits = l;
			return -1;
		}
		a->lits = l;
		a->lens = n;
		a->litcap = cap;
	}
	char *c = malloc(len + 1);
	if (!c)
		return -1;
	for (size_t i = 0; i < len; i++)
		c[i] = (char)tolower((unsigned char)lit[i]);
	c[len] = 0;
	a->lits[a->nlits] = c;
	a->lens[a->nlits] = len;
	return a->nlits++;
}

static int new_state(struct ac *a)
{
	if (a->nstates == a->cap) {
		unsigned cap = a->cap ? a->cap * 2 : 256;
		uint32_t *d = realloc(a->delta, (size_t)cap * a->ncls * sizeof(*d));
		if (!d)
			return -1;
		a->delta = d;
		int **own = realloc(a->own, cap * sizeof(*own));
		if (!own)
			return -1;
		a->own = own;
		unsigned *nown = realloc(a->nown, cap * sizeof(*nown));
		if (!nown)
			return -1;
		a->nown = nown;
		a->cap = cap;
	}
	unsigned s = a->nstates++;
	memset(a->delta + (size_t)s * a->ncls, 0, a->ncls * sizeof(uint32_t));
	a->own[s] = NULL;
	a->nown[s] = 0;
	return (int)s;
}

int ac_build(struct ac *a)
{
	/* classes: one per distinct folded byte in the literals */
	memset(a->cls, 0, sizeof(a->cls));
	a->ncls = 1;
	for (int i = 0; i < a->nlits; i++)
		for (size_t j = 0; j < a->lens[i]; j++) {
			uint8_t c = (uint8_t)a->lits[i][j];
			if (!a->cls[c])
				a->cls[c] = (uint8_t)a->ncls++;
			if (a->ncls > 255)
				return -1;
		}
	for (int c = 'A'; c <= 'Z'; c++)
		a->cls[c] = a->cls[c + 32];

	if (new_state(a) < 0)
		return -1;
	for (int i = 0; i < a->nlits; i++) {
		uint32_t s = 0;
		for (size_t j = 0; j < a->lens[i]; j++) {
			uint32_t *e = &a->delta[(size_t)s * a->ncls + a->cls[(uint8_t)a->lits[i][j]]];
			if (!*e) {
				int ns = new_state(a);
				if (ns < 0)
					return -1;
				e = &a->delta[(size_t)s * a->ncls + a->cls[(uint8_t)a->lits[i][j]]];
				*e = (uint32_t)ns;
			}
			s = *e;
		}
		int *o = realloc(a->own[s], (a->nown[s] + 1) * sizeof(int));
		if (!o)
			return -1;
		o[a->nown[s]++] = i;
		a->own[s] = o;
	}

	/* BFS: fail links, full transitions, outputs merged along the fail chain */
	a->fail = calloc(a->nstates, sizeof(*a->fail));
	uint32_t *queue = malloc(a->nstates * sizeof(*queue));
	unsigned *cnt = calloc(a->nstates, sizeof(*cnt));
	if (!a->fail || !queue || !cnt) {
		free(queue);
		free(cnt);
		return -1;
	}
	unsigned qh = 0, qt = 0;
	for (unsigned c = 0; c < a->ncls; c++) {
		uint32_t t = a->delta[c];
		if (t) {
			a->fail[t] = 0;
			queue[qt++] = t;
		}
	}
	cnt[0] = a->nown[0];
	while (qh < qt) {
		uint32_t s = queue[qh++];
		cnt[s] = a->nown[s] + cnt[a->fail[s]];
		for (unsigned c = 0; c < a->ncls; c++) {
			uint32_t *e = &a->delta[(size_t)s * a->ncls + c];
			uint32_t f = a->delta[(size_t)a->fail[s] * a->ncls + c];
			if (*e) {
				a->fail[*e] = f;
				queue[qt++] = *e;
			} else {
				*e = f;
			}
		}
	}
	a->out_off = malloc((a->nstates + 1) * sizeof(*a->out_off));
	size_t total = 0;
	for (unsigned s = 0; s < a->nstates; s++)
		total += cnt[s];
	a->out = malloc((total ? total : 1) * sizeof(int));
	if (!a->out_off || !a->out) {
		free(queue);
		free(cnt);
		return -1;
	}
	uint32_t *start = calloc(a->nstates, sizeof(*start));
	if (!start) {
		free(queue);
		free(cnt);
		return -1;
	}
	/* lay out by state number; fill per state from own + fail's (already-merged) list */
	size_t off = 0;
	for (unsigned s = 0; s < a->nstates; s++) {
		start[s] = (uint32_t)off;
		off += cnt[s];
	}
	uint32_t *fillc = calloc(a->nstates, sizeof(*fillc));
	if (!fillc) {
		free(queue);
		free(cnt);
		free(start);
		return -1;
	}
	for (unsigned i = 0; i < a->nown[0]; i++)
		a->out[start[0] + fillc[0]++] = a->own[0][i];
	/* BFS order: a state's fail target has its merged list ready */
	for (unsigned qi = 0; qi < qt; qi++) {
		uint32_t s = queue[qi], f = a->fail[s];
		for (unsigned i = 0; i < a->nown[s]; i++)
			a->out[start[s] + fillc[s]++] = a->own[s][i];
		for (unsigned i = 0; i < cnt[f]; i++)
			a->out[start[s] + fillc[s]++] = a->out[start[f] + i];
	}
	for (unsigned s = 0; s < a->nstates; s++)
		a->out_off[s] = start[s];
	a->out_off[a->nstates] = (uint32_t)off;
	free(fillc);
	free(start);
	free(queue);
	free(cnt);
	for (unsigned s = 0; s < a->nstates; s++)
		free(a->own[s]);
	free(a->own);
	free(a->nown);
	a->own = NULL;
	a->nown = NULL;
	a->built = true;
	return 0;
}

void ac_scan(const struct ac *a, const char *s, size_t n, void (*hit)(void *ctx, int id), void *ctx)
{
	const uint32_t *delta = a->delta, *off = a->out_off;
	const uint8_t *cls = a->cls;
	unsigned ncls = a->ncls;
	uint32_t st = 0;
	for (size_t i = 0; i < n; i++) {
		st = delta[(size_t)st * ncls + cls[(uint8_t)s[i]]];
		if (off[st] != off[st + 1])
			for (uint32_t k = off[st]; k < off[st + 1]; k++)
				hit(ctx, a->out[k]);
	}
}

unsigned ac_states(const struct ac *a)
{
	return a->nstates;
}

void ac_free(struct ac *a)
{
	if (!a)
		return;
	if (a->own)
		for (unsigned s = 0; s < a->nstates; s++)
			free(a->own[s]);
	free(a->own);
	free(a->nown);
	free(a->delta);
	free(a->fail);
	free(a->out_off);
	free(a->out);
	for (int i = 0; i < a->nlits; i++)
		free(a->lits[i]);
	free(a->lits);
	free(a->lens);
	free(a);
}
