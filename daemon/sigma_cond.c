/*
 * Sigma conditions: and, or, not, parentheses, "1 of X*", "all of X*",
 * "1 of them", "all of them". Precedence not > and > or, as in Sigma.
 * Aggregations ("| count() ...") and "near" are reported, not guessed at.
 */
#include "sigma.h"

#include <ctype.h>
#include <fnmatch.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

struct cparser {
	struct arena *pool;
	const char *s;
	char **names;
	struct sig_node **sels;
	int nsels;
	char tok[256];
	char *err;
	size_t errlen;
	int failed;
};

static void fail(struct cparser *p, const char *fmt, const char *arg)
{
	if (!p->failed)
		snprintf(p->err, p->errlen, fmt, arg);
	p->failed = 1;
}

/* Next token into p->tok without consuming it; "" at the end. */
static const char *peek(struct cparser *p)
{
	const char *s = p->s;
	while (isspace((unsigned char)*s))
		s++;
	size_t n = 0;
	if (*s == '(' || *s == ')' || *s == '|') {
		p->tok[n++] = *s;
	} else {
		while (s[n] && !isspace((unsigned char)s[n]) && s[n] != '(' && s[n] != ')' && s[n] != '|' &&
		       n < sizeof(p->tok) - 1) {
			p->tok[n] = s[n];
			n++;
		}
	}
	p->tok[n] = 0;
	return p->tok;
}

static void next(struct cparser *p)
{
	while (isspace((unsigned char)*p->s))
		p->s++;
	peek(p);
	p->s += strlen(p->tok);
}

static struct sig_node *mknode(struct cparser *p, enum sig_node_type t, int n)
{
	struct sig_node *nd = arena_zalloc(p->pool, sizeof(*nd));
	nd->type = t;
	nd->n = n;
	nd->kids = n ? arena_zalloc(p->pool, n * sizeof(*nd->kids)) : NULL;
	return nd;
}

static struct sig_node *parse_or(struct cparser *p);

static struct sig_node *quantifier(struct cparser *p, bool all)
{
	next(p); /* "1"/"all"/"any" */
	if (strcasecmp(peek(p), "of") != 0) {
		fail(p, "expected 'of' after '%s'", all ? "all" : "1");
		return NULL;
	}
	next(p);
	char pat[256];
	snprintf(pat, sizeof(pat), "%s", peek(p));
	if (!pat[0] || strchr("()|", pat[0])) {
		fail(p, "expected a selection pattern or 'them' after 'of'%s", "");
		return NULL;
	}
	next(p);
	bool them = strcasecmp(pat, "them") == 0;
	int n = 0;
	for (int i = 0; i < p->nsels; i++)
		if (them ? p->names[i][0] != '_' : fnmatch(pat, p->names[i], 0) == 0)
			n++;
	if (!n) {
		fail(p, "'%s' names no selection", pat);
		return NULL;
	}
	struct sig_node *nd = mknode(p, all ? SIG_N_AND : SIG_N_OR, n);
	n = 0;
	for (int i = 0; i < p->nsels; i++)
		if (them ? p->names[i][0] != '_' : fnmatch(pat, p->names[i], 0) == 0)
			nd->kids[n++] = p->sels[i];
	return nd;
}

static struct sig_node *parse_primary(struct cparser *p)
{
	const char *t = peek(p);
	if (!t[0]) {
		fail(p, "condition ends too early%s", "");
		return NULL;
	}
	if (strcmp(t, "(") == 0) {
		next(p);
		struct sig_node *e = parse_or(p);
		if (strcmp(peek(p), ")") != 0) {
			fail(p, "missing ')'%s", "");
			return NULL;
		}
		next(p);
		return e;
	}
	if (strcmp(t, "|") == 0) {
		fail(p, "aggregation ('| ...') not supported%s", "");
		return NULL;
	}
	if (strcasecmp(t, "not") == 0) {
		next(p);
		struct sig_node *k = parse_primary(p);
		if (!k)
			return NULL;
		struct sig_node *nd = mknode(p, SIG_N_NOT, 1);
		nd->kids[0] = k;
		return nd;
	}
	if (strcmp(t, "1") == 0 || strcasecmp(t, "any") == 0)
		return quantifier(p, false);
	if (strcasecmp(t, "all") == 0)
		return quantifier(p, true);
	if (strcasecmp(t, "and") == 0 || strcasecmp(t, "or") == 0 || strcmp(t, ")") == 0) {
		fail(p, "unexpected '%s'", t);
		return NULL;
	}
	if (strcasecmp(t, "near") == 0) {
		fail(p, "'near' not supported%s", "");
		return NULL;
	}
	if (strchr(t, '*') || strchr(t, '?')) {
		fail(p, "wildcard '%s' outside '1 of'/'all of'", t);
		return NULL;
	}
	for (int i = 0; i < p->nsels; i++) {
		if (strcmp(p->names[i], t) == 0) {
			next(p);
			return p->sels[i];
		}
	}
	fail(p, "unknown selection '%s'", t);
	return NULL;
}

/* Flatten nested nodes of the same type: fewer levels to walk per event. */
static struct sig_node *binary(struct cparser *p, enum sig_node_type t, struct sig_node *a, struct sig_node *b)
{
	int na = a->type == t ? a->n : 1, nb = b->type == t ? b->n : 1;
	struct sig_node *nd = mknode(p, t, na + nb);
	int k = 0;
	for (int i = 0; i < na; i++)
		nd->kids[k++] = a->type == t ? a->kids[i] : a;
	for (int i = 0; i < nb; i++)
		nd->kids[k++] = b->type == t ? b->kids[i] : b;
	return nd;
}

static struct sig_node *parse_and(struct cparser *p)
{
	struct sig_node *l = parse_primary(p);
	while (l && strcasecmp(peek(p), "and") == 0) {
		next(p);
		struct sig_node *r = parse_primary(p);
		if (!r)
			return NULL;
		l = binary(p, SIG_N_AND, l, r);
	}
	return l;
}

static struct sig_node *parse_or(struct cparser *p)
{
	struct sig_node *l = parse_and(p);
	while (l && strcasecmp(peek(p), "or") == 0) {
		next(p);
		struct sig_node *r = parse_and(p);
		if (!r)
			return NULL;
		l = binary(p, SIG_N_OR, l, r);
	}
	return l;
}

struct sig_node *sig_cond_parse(struct arena *pool, const char *cond, char **names, struct sig_node **sels,
				int nsels, char *err, size_t errlen)
{
	struct cparser p = {
		.pool = pool, .s = cond, .names = names, .sels = sels, .nsels = nsels, .err = err, .errlen = errlen,
	};
	struct sig_node *n = parse_or(&p);
	if (n && !p.failed && peek(&p)[0]) {
		if (strcmp(p.tok, "|") == 0)
			fail(&p, "aggregation ('| ...') not supported%s", "");
		else
			fail(&p, "unexpected '%s' in condition", p.tok);
	}
	return p.failed ? NULL : n;
}
