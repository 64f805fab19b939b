/*
 * Compiled matcher. Per event kind: the rules' trees flattened into arrays,
 * atoms shared between rules and evaluated at most once per event (memo),
 * and a literal guard per rule: a set of (field, literal) pairs at least one
 * of which must occur for the rule to be able to match. One Aho-Corasick
 * pass per field finds which guards an event satisfies; only those rules
 * (and the few without a guard) are evaluated.
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include "match.h"
#include "verdict_target.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <fcntl.h>
#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

enum { G_EXEC = 0, G_OPEN, G_CONNECT, G_MAX };

struct mnode {
	uint8_t type;
	uint32_t n;
	uint32_t arg; /* atom index, or first kid in kids[] */
};

struct mrule {
	const struct sigma_rule *r;
	uint32_t root;
	uint8_t ls;
	uint32_t order; /* index in the ruleset */
};

struct group {
	struct mrule *rules;
	int nrules;
	struct mnode *nodes;
	int nnodes, capnodes;
	uint32_t *kids;
	int nkids, capkids;
	const struct sig_atom **atoms;
	int natoms, capatoms;
	uint32_t *memo_stamp;
	uint8_t *memo_val;
	struct ac *ac[SIG_F_MAX];
	uint32_t *lit_off[SIG_F_MAX]; /* literal id → lit_rules[off[id] .. off[id+1]) */
	uint32_t *lit_rules[SIG_F_MAX];
	uint64_t *always, *cand;
	int nwords;
};

struct fval {
	const char *s;
	size_t n;
	char *lc; /* lowercase copy, made on first use per event */
	size_t lccap;
	uint32_t lc_stamp;
};

struct matcher {
	const struct sigma_ruleset *rs;
	struct group g[G_MAX];
	pcre2_match_data *md;
	/* the current event's fields */
	const struct imm_event *ev;
	uint32_t stamp;
	uint32_t field_stamp[SIG_F_MAX];
	struct fval fv[SIG_F_MAX][2];
	int nv[SIG_F_MAX];
	char num[SIG_F_MAX][24];
	uint32_t ip_stamp;
	int ip_ok;
	uint8_t ip[16];
	struct matcher_stats st;
};

/* ------------------------------------------------------------ fields */

static void setv(struct matcher *m, int f, const char *s)
{
	struct fval *v = &m->fv[f][m->nv[f]++];
	v->s = s;
	v->n = strlen(s);
}

static void addv(const char **vals, int *n, const char *s)
{
	vals[(*n)++] = s ? s : "";
}

static const char *u32s(char num[24], uint32_t x)
{
	snprintf(num, 24, "%u", x);
	return num;
}

int match_field_values(const struct imm_event *ev, int f, const char *vals[2], char num[24])
{
	int n = 0;
	switch (f) {
	case SIG_F_IMAGE:
		addv(vals, &n, ev->executable);
		/* the path as exec'd, when it says something the resolved one does not */
		if (ev->type == EBPF_EVENT_EXEC && ev->filename && ev->filename[0] && ev->executable &&
		    strcmp(ev->filename, ev->executable) != 0)
			addv(vals, &n, ev->filename);
		break;
	case SIG_F_COMMANDLINE:
		addv(vals, &n, ev->command_line);
		break;
	case SIG_F_PARENTIMAGE:
		addv(vals, &n, ev->parent_executable);
		break;
	case SIG_F_PARENTCOMMANDLINE:
		addv(vals, &n, ev->parent_command_line);
		break;
	case SIG_F_CURRENTDIRECTORY:
		addv(vals, &n, ev->cwd);
		break;
	case SIG_F_USER:
		if (ev->user_name && ev->user_name[0])
			addv(vals, &n, ev->user_name);
		else
			addv(vals, &n, u32s(num, ev->uid));
		break;
	case SIG_F_LOGONID:
		addv(vals, &n, u32s(num, ev->loginuid));
		break;
	case SIG_F_PROCESSID:
		addv(vals, &n, u32s(num, ev->pid));
		break;
	case SIG_F_PARENTPROCESSID:
		addv(vals, &n, u32s(num, ev->ppid));
		break;
	case SIG_F_TARGETFILENAME:
		addv(vals, &n, ev->abs_path && ev->abs_path[0] ? ev->abs_path : ev->path);
		break;
	case SIG_F_DESTINATIONIP:
		addv(vals, &n, ev->dst_ip);
		break;
	case SIG_F_DESTINATIONPORT:
		if (ev->family == AF_UNIX)
			addv(vals, &n, "");
		else
			addv(vals, &n, u32s(num, ev->dst_port));
		break;
	case SIG_F_DESTINATIONISIPV6:
		addv(vals, &n, ev->family == AF_INET6 ? "true" : "false");
		break;
	case SIG_F_INITIATED:
		/* the sensor sees connect(): always outbound */
		addv(vals, &n, "true");
		break;
	}
	return n;
}

static int field_get(struct matcher *m, int f)
{
	if (m->field_stamp[f] == m->stamp)
		return m->nv[f];
	const char *vals[2];
	m->field_stamp[f] = m->stamp;
	m->nv[f] = 0;
	int n = match_field_values(m->ev, f, vals, m->num[f]);
	for (int i = 0; i < n; i++)
		setv(m, f, vals[i]);
	return m->nv[f];
}

static const char *lower(struct matcher *m, int f, int i)
{
	struct fval *v = &m->fv[f][i];
	if (v->lc_stamp == m->stamp)
		return v->lc;
	if (v->lccap < v->n + 1) {
		size_t cap = v->n + 1 < 256 ? 256 : (v->n + 1) * 2;
		char *p = realloc(v->lc, cap);
		if (!p)
			abort();
		v->lc = p;
		v->lccap = cap;
	}
	for (size_t k = 0; k < v->n; k++)
		v->lc[k] = (char)tolower((unsigned char)v->s[k]);
	v->lc[v->n] = 0;
	v->lc_stamp = m->stamp;
	return v->lc;
}

/* ------------------------------------------------------------ atoms */

static bool atom_one(struct matcher *m, const struct sig_atom *a, int f, int i)
{
	const struct fval *v = &m->fv[f][i];
	const char *s;
	size_t n = v->n;

	switch (a->op) {
	case SIG_OP_RE:
		return pcre2_match(a->re, (PCRE2_SPTR)v->s, n, 0, 0, m->md, NULL) >= 0;
	case SIG_OP_CIDR:
		if (m->ip_stamp != m->stamp) {
			m->ip_stamp = m->stamp;
			m->ip_ok = v->n && net_parse_addr(v->s, m->ip) > 0;
		}
		return m->ip_ok && sig_cidr_contains(a->addr, a->prefix, m->ip);
	default:
		break;
	}
	s = a->cased ? v->s : lower(m, f, i);
	switch (a->op) {
	case SIG_OP_EQ:
		return n == a->len && memcmp(s, a->pat, n) == 0;
	case SIG_OP_CONTAINS:
		return memmem(s, n, a->pat, a->len) != NULL;
	case SIG_OP_STARTSWITH:
		return n >= a->len && memcmp(s, a->pat, a->len) == 0;
	case SIG_OP_ENDSWITH:
		return n >= a->len && memcmp(s + n - a->len, a->pat, a->len) == 0;
	case SIG_OP_GLOB:
		return sig_glob(a->pat, a->len, s, n);
	default:
		return false;
	}
}

static bool atom_eval(struct matcher *m, const struct sig_atom *a)
{
	int f = a->field, nv = field_get(m, f);
	if (a->op == SIG_OP_EMPTY || a->op == SIG_OP_EXISTS) {
		bool any = false;
		for (int i = 0; i < nv; i++)
			any |= m->fv[f][i].n > 0;
		return a->op == SIG_OP_EMPTY ? !any : any == a->exists_want;
	}
	for (int i = 0; i < nv; i++)
		if (atom_one(m, a, f, i))
			return true;
	return false;
}

static bool eval(struct matcher *m, struct group *g, uint32_t idx, bool memo)
{
	const struct mnode *n = &g->nodes[idx];
	switch (n->type) {
	case SIG_N_ATOM:
		if (!memo)
			return atom_eval(m, g->atoms[n->arg]);
		if (g->memo_stamp[n->arg] != m->stamp) {
			g->memo_stamp[n->arg] = m->stamp;
			g->memo_val[n->arg] = atom_eval(m, g->atoms[n->arg]);
		}
		return g->memo_val[n->arg];
	case SIG_N_AND:
		for (uint32_t i = 0; i < n->n; i++)
			if (!eval(m, g, g->kids[n->arg + i], memo))
				return false;
		return true;
	case SIG_N_OR:
		for (uint32_t i = 0; i < n->n; i++)
			if (eval(m, g, g->kids[n->arg + i], memo))
				return true;
		return false;
	case SIG_N_NOT:
		return !eval(m, g, g->kids[n->arg], memo);
	}
	return false;
}

/* ------------------------------------------------------------ compile */

static uint64_t hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ull;
	while (*s)
		h = (h ^ (uint8_t)*s++) * 1099511628211ull;
	return h;
}

struct strmap {
	const char **keys;
	int *vals;
	size_t cap;
};

static int strmap_get_or_add(struct strmap *sm, const char *k, int newval, bool *added)
{
	size_t i = hash_str(k) & (sm->cap - 1);
	while (sm->keys[i]) {
		if (strcmp(sm->keys[i], k) == 0) {
			*added = false;
			return sm->vals[i];
		}
		i = (i + 1) & (sm->cap - 1);
	}
	sm->keys[i] = k;
	sm->vals[i] = newval;
	*added = true;
	return newval;
}

static uint32_t add_node(struct group *g, uint8_t type, uint32_t n, uint32_t arg)
{
	if (g->nnodes == g->capnodes) {
		g->capnodes = g->capnodes ? g->capnodes * 2 : 256;
		if (!(g->nodes = realloc(g->nodes, g->capnodes * sizeof(*g->nodes))))
			abort();
	}
	g->nodes[g->nnodes] = (struct mnode){ .type = type, .n = n, .arg = arg };
	return g->nnodes++;
}

static uint32_t reserve_kids(struct group *g, uint32_t n)
{
	while ((uint32_t)(g->capkids - g->nkids) < n) {
		g->capkids = g->capkids ? g->capkids * 2 : 256;
		if (!(g->kids = realloc(g->kids, g->capkids * sizeof(*g->kids))))
			abort();
	}
	uint32_t at = g->nkids;
	g->nkids += n;
	return at;
}

static uint32_t compile_node(struct group *g, struct strmap *atoms, const struct sig_node *sn)
{
	if (sn->type == SIG_N_ATOM) {
		bool added;
		int id = strmap_get_or_add(atoms, sn->atom->key, g->natoms, &added);
		if (added) {
			if (g->natoms == g->capatoms) {
				g->capatoms = g->capatoms ? g->capatoms * 2 : 256;
				if (!(g->atoms = realloc(g->atoms, g->capatoms * sizeof(*g->atoms))))
					abort();
			}
			g->atoms[g->natoms++] = sn->atom;
		}
		return add_node(g, SIG_N_ATOM, 0, id);
	}
	uint32_t kid0 = reserve_kids(g, sn->n);
	for (int i = 0; i < sn->n; i++) {
		uint32_t k = compile_node(g, atoms, sn->kids[i]);
		g->kids[kid0 + i] = k;
	}
	return add_node(g, sn->type, sn->n, kid0);
}

/* A guard: any one of these literals must occur (none = no guard). */
struct glit {
	int field;
	const char *s;
	size_t len;
};

struct guard {
	bool none;
	int n;
	struct glit *l;
};

static void guard_free(struct guard *g)
{
	free(g->l);
	g->l = NULL;
	g->n = 0;
}

static double guard_cost(const struct guard *g)
{
	double c = 0;
	for (int i = 0; i < g->n; i++)
		c += 1.0 / (double)g->l[i].len;
	return c;
}

static struct guard guard_of(const struct sig_node *sn)
{
	struct guard r = { .none = true };
	switch (sn->type) {
	case SIG_N_ATOM: {
		const struct sig_atom *a = sn->atom;
		const char *best = NULL;
		size_t blen = 0;
		switch (a->op) {
		case SIG_OP_EQ:
		case SIG_OP_CONTAINS:
		case SIG_OP_STARTSWITH:
		case SIG_OP_ENDSWITH:
			best = a->pat;
			blen = a->len;
			break;
		case SIG_OP_GLOB:
			/* the longest run without wildcards */
			for (size_t i = 0; i < a->len;) {
				size_t j = i;
				while (j < a->len && a->pat[j] != SIG_GLOB_STAR && a->pat[j] != SIG_GLOB_ONE)
					j++;
				if (j - i > blen) {
					best = a->pat + i;
					blen = j - i;
				}
				i = j + 1;
			}
			break;
		default:
			break;
		}
		if (best && blen) {
			r.none = false;
			r.n = 1;
			if (!(r.l = malloc(sizeof(*r.l))))
				abort();
			r.l[0] = (struct glit){ a->field, best, blen };
		}
		return r;
	}
	case SIG_N_NOT:
		return r;
	case SIG_N_OR: {
		r.none = false;
		for (int i = 0; i < sn->n; i++) {
			struct guard k = guard_of(sn->kids[i]);
			if (k.none) {
				guard_free(&r);
				r.none = true;
				return r;
			}
			if (!(r.l = realloc(r.l, (r.n + k.n) * sizeof(*r.l))))
				abort();
			memcpy(r.l + r.n, k.l, k.n * sizeof(*r.l));
			r.n += k.n;
			guard_free(&k);
		}
		return r;
	}
	case SIG_N_AND: {
		double best = 0;
		for (int i = 0; i < sn->n; i++) {
			struct guard k = guard_of(sn->kids[i]);
			if (k.none)
				continue;
			double c = guard_cost(&k);
			if (r.none || c < best) {
				guard_free(&r);
				r = k;
				best = c;
			} else {
				guard_free(&k);
			}
		}
		return r;
	}
	}
	return r;
}

static int group_of_ls(int ls)
{
	return ls == SIG_LS_PROCESS_CREATION ? G_EXEC : ls == SIG_LS_NETWORK_CONNECTION ? G_CONNECT : G_OPEN;
}

struct pair {
	int lit;
	uint32_t rule;
};

static int build_group(struct matcher *m, struct group *g, int gi)
{
	const struct sigma_ruleset *rs = m->rs;
	size_t natoms_total = 0;
	for (int i = 0; i < rs->n; i++)
		if (group_of_ls(rs->rules[i]->ls) == gi) {
			g->nrules++;
			natoms_total += rs->rules[i]->natoms;
		}
	g->rules = calloc(g->nrules + 1, sizeof(*g->rules));
	g->nwords = (g->nrules + 63) / 64 + 1;
	g->always = calloc(g->nwords, sizeof(uint64_t));
	g->cand = calloc(g->nwords, sizeof(uint64_t));
	struct strmap am = { .cap = 16 };
	while (am.cap < natoms_total * 2 + 16)
		am.cap *= 2;
	am.keys = calloc(am.cap, sizeof(*am.keys));
	am.vals = calloc(am.cap, sizeof(*am.vals));
	if (!g->rules || !g->always || !g->cand || !am.keys || !am.vals)
		abort();

	/* literal ids per field, and (literal, rule) pairs */
	struct strmap lm[SIG_F_MAX];
	char **litkeys = NULL;
	int nlitkeys = 0;
	struct pair *pairs[SIG_F_MAX] = { 0 };
	int npairs[SIG_F_MAX] = { 0 }, cappairs[SIG_F_MAX] = { 0 }, nlits[SIG_F_MAX] = { 0 };
	for (int f = 0; f < SIG_F_MAX; f++) {
		lm[f].cap = 1024;
		lm[f].keys = calloc(lm[f].cap, sizeof(char *));
		lm[f].vals = calloc(lm[f].cap, sizeof(int));
		if (!lm[f].keys || !lm[f].vals)
			abort();
	}

	int k = 0;
	for (int i = 0; i < rs->n; i++) {
		const struct sigma_rule *r = rs->rules[i];
		if (group_of_ls(r->ls) != gi)
			continue;
		struct mrule *mr = &g->rules[k];
		mr->r = r;
		mr->ls = r->ls;
		mr->order = i;
		mr->root = compile_node(g, &am, r->root);
		m->st.rules[r->ls]++;

		struct guard gd = guard_of(r->root);
		if (gd.none) {
			g->always[k / 64] |= 1ull << (k % 64);
			m->st.always++;
		}
		for (int j = 0; j < gd.n; j++) {
			int f = gd.l[j].field;
			if (!g->ac[f] && !(g->ac[f] = ac_new()))
				abort();
			char *key = strndup(gd.l[j].s, gd.l[j].len);
			if (!key)
				abort();
			/* grow the literal map before it gets half full */
			if ((size_t)nlits[f] * 2 + 2 > lm[f].cap) {
				struct strmap nm = { .cap = lm[f].cap * 2 };
				nm.keys = calloc(nm.cap, sizeof(char *));
				nm.vals = calloc(nm.cap, sizeof(int));
				if (!nm.keys || !nm.vals)
					abort();
				for (size_t q = 0; q < lm[f].cap; q++) {
					bool ad;
					if (lm[f].keys[q])
						strmap_get_or_add(&nm, lm[f].keys[q], lm[f].vals[q], &ad);
				}
				free(lm[f].keys);
				free(lm[f].vals);
				lm[f] = nm;
			}
			bool added;
			int id = strmap_get_or_add(&lm[f], key, nlits[f], &added);
			if (added) {
				if (ac_add(g->ac[f], gd.l[j].s, gd.l[j].len) != nlits[f])
					abort();
				nlits[f]++;
				if (!(litkeys = realloc(litkeys, (nlitkeys + 1) * sizeof(*litkeys))))
					abort();
				litkeys[nlitkeys++] = key;
				m->st.literals++;
			} else {
				free(key);
			}
			if (npairs[f] == cappairs[f]) {
				cappairs[f] = cappairs[f] ? cappairs[f] * 2 : 64;
				if (!(pairs[f] = realloc(pairs[f], cappairs[f] * sizeof(struct pair))))
					abort();
			}
			pairs[f][npairs[f]++] = (struct pair){ id, (uint32_t)k };
		}
		guard_free(&gd);
		k++;
	}
	for (int f = 0; f < SIG_F_MAX; f++) {
		if (g->ac[f]) {
			if (ac_build(g->ac[f]))
				abort();
			m->st.ac_states += ac_states(g->ac[f]);
			g->lit_off[f] = calloc(nlits[f] + 2, sizeof(uint32_t));
			g->lit_rules[f] = calloc(npairs[f] + 1, sizeof(uint32_t));
			if (!g->lit_off[f] || !g->lit_rules[f])
				abort();
			for (int p = 0; p < npairs[f]; p++)
				g->lit_off[f][pairs[f][p].lit + 1]++;
			for (int l = 0; l < nlits[f]; l++)
				g->lit_off[f][l + 1] += g->lit_off[f][l];
			uint32_t *fill = calloc(nlits[f] + 1, sizeof(uint32_t));
			if (!fill)
				abort();
			for (int p = 0; p < npairs[f]; p++) {
				int l = pairs[f][p].lit;
				g->lit_rules[f][g->lit_off[f][l] + fill[l]++] = pairs[f][p].rule;
			}
			free(fill);
		}
		free(pairs[f]);
		free(lm[f].keys);
		free(lm[f].vals);
	}
	for (int i = 0; i < nlitkeys; i++)
		free(litkeys[i]);
	free(litkeys);
	free(am.keys);
	free(am.vals);
	g->memo_stamp = calloc(g->natoms + 1, sizeof(uint32_t));
	g->memo_val = calloc(g->natoms + 1, 1);
	if (!g->memo_stamp || !g->memo_val)
		abort();
	m->st.atoms += g->natoms;
	return 0;
}

struct matcher *matcher_new(const struct sigma_ruleset *rs)
{
	struct matcher *m = calloc(1, sizeof(*m));
	if (!m)
		return NULL;
	m->rs = rs;
	m->md = pcre2_match_data_create(1, NULL);
	if (!m->md) {
		free(m);
		return NULL;
	}
	for (int gi = 0; gi < G_MAX; gi++)
		build_group(m, &m->g[gi], gi);
	return m;
}

void matcher_free(struct matcher *m)
{
	if (!m)
		return;
	for (int gi = 0; gi < G_MAX; gi++) {
		struct group *g = &m->g[gi];
		for (int f = 0; f < SIG_F_MAX; f++) {
			ac_free(g->ac[f]);
			free(g->lit_off[f]);
			free(g->lit_rules[f]);
		}
		free(g->rules);
		free(g->nodes);
		free(g->kids);
		free(g->atoms);
		free(g->memo_stamp);
		free(g->memo_val);
		free(g->always);
		free(g->cand);
	}
	for (int f = 0; f < SIG_F_MAX; f++)
		for (int i = 0; i < 2; i++)
			free(m->fv[f][i].lc);
	pcre2_match_data_free(m->md);
	free(m);
}

void matcher_get_stats(const struct matcher *m, struct matcher_stats *st)
{
	*st = m->st;
}

/* ------------------------------------------------------------ match */

unsigned match_event_logsources(const struct imm_event *ev)
{
	switch (ev->type) {
	case EBPF_EVENT_EXEC:
		return ev->outcome == IMM_OUTCOME_SUCCESS ? 1u << SIG_LS_PROCESS_CREATION : 0;
	case EBPF_EVENT_OPEN: {
		if (ev->outcome == IMM_OUTCOME_DENIED)
			return 0;
		unsigned r = 1u << SIG_LS_FILE_ACCESS;
		if (ev->outcome == IMM_OUTCOME_SUCCESS &&
		    ((ev->open_flags & O_ACCMODE) != O_RDONLY || (ev->open_flags & (O_CREAT | O_TRUNC))))
			r |= 1u << SIG_LS_FILE_EVENT;
		return r;
	}
	case EBPF_EVENT_CONNECT:
		/* IP sockets only, like Sysmon's NetworkConnect that Sigma's rules are written for.
		 * A refused or in-progress connect is still an attempt; a denied one was already handled. */
		if (ev->family != AF_INET && ev->family != AF_INET6)
			return 0;
		return ev->outcome == IMM_OUTCOME_DENIED ? 0 : 1u << SIG_LS_NETWORK_CONNECTION;
	default:
		return 0;
	}
}

struct scanctx {
	struct group *g;
	const uint32_t *off, *rules;
};

static void on_lit(void *p, int id)
{
	struct scanctx *c = p;
	for (uint32_t i = c->off[id]; i < c->off[id + 1]; i++) {
		uint32_t r = c->rules[i];
		c->g->cand[r / 64] |= 1ull << (r % 64);
	}
}

static struct group *begin(struct matcher *m, const struct imm_event *ev, unsigned *ls)
{
	*ls = match_event_logsources(ev);
	if (!*ls)
		return NULL;
	m->ev = ev;
	if (++m->stamp == 0) {
		/* wrapped: forget every stamp so none looks current */
		memset(m->field_stamp, 0, sizeof(m->field_stamp));
		for (int f = 0; f < SIG_F_MAX; f++)
			m->fv[f][0].lc_stamp = m->fv[f][1].lc_stamp = 0;
		m->ip_stamp = 0;
		for (int gi = 0; gi < G_MAX; gi++)
			memset(m->g[gi].memo_stamp, 0, (m->g[gi].natoms + 1) * sizeof(uint32_t));
		m->stamp = 1;
	}
	m->st.events++;
	return &m->g[group_of_ls(__builtin_ctz(*ls))];
}

static int add_hit(struct matcher *m, const struct mrule *mr, const struct sigma_rule **hits, int nh, int max)
{
	if (nh < max)
		hits[nh] = mr->r;
	m->st.hits++;
	return nh + 1;
}

int matcher_match(struct matcher *m, const struct imm_event *ev, const struct sigma_rule **hits, int max)
{
	unsigned ls;
	struct group *g = begin(m, ev, &ls);
	if (!g || !g->nrules)
		return 0;
	memcpy(g->cand, g->always, g->nwords * sizeof(uint64_t));
	for (int f = 0; f < SIG_F_MAX; f++) {
		if (!g->ac[f])
			continue;
		struct scanctx sc = { g, g->lit_off[f], g->lit_rules[f] };
		int nv = field_get(m, f);
		for (int i = 0; i < nv; i++)
			ac_scan(g->ac[f], m->fv[f][i].s, m->fv[f][i].n, on_lit, &sc);
	}
	int nh = 0;
	for (int w = 0; w < g->nwords; w++) {
		uint64_t bits = g->cand[w];
		while (bits) {
			int b = __builtin_ctzll(bits);
			bits &= bits - 1;
			const struct mrule *mr = &g->rules[w * 64 + b];
			if (!(ls & (1u << mr->ls)))
				continue;
			m->st.candidates++;
			if (eval(m, g, mr->root, true))
				nh = add_hit(m, mr, hits, nh, max);
		}
	}
	return nh;
}

int matcher_match_naive(struct matcher *m, const struct imm_event *ev, const struct sigma_rule **hits, int max)
{
	unsigned ls;
	struct group *g = begin(m, ev, &ls);
	if (!g)
		return 0;
	int nh = 0;
	for (int i = 0; i < g->nrules; i++) {
		const struct mrule *mr = &g->rules[i];
		if ((ls & (1u << mr->ls)) && eval(m, g, mr->root, false))
			nh = add_hit(m, mr, hits, nh, max);
	}
	return nh;
}
