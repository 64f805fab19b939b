/*
 * Sigma YAML → rule trees. libyaml loads each document; the detection's
 * selections become AND/OR trees of atoms, the condition ties them together.
 * A rule that asks for something the agent cannot see is skipped with the
 * reason, so that an operator knows which part of a ruleset is inert.
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include "sigma.h"
#include "correlate.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <pcre2.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <yaml.h>

extern const char *const imm_builtin_rules[][2];

struct lctx {
	struct sigma_rule *r;
	yaml_document_t *doc;
	char why[512];
};

static int skip(struct lctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int skip(struct lctx *c, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(c->why, sizeof(c->why), fmt, ap);
	va_end(ap);
	return -1;
}

/* ------------------------------------------------------------ YAML helpers */

static yaml_node_t *ynode(yaml_document_t *d, int id)
{
	return yaml_document_get_node(d, id);
}

static const char *yscalar(yaml_node_t *n)
{
	return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

static yaml_node_t *yget(yaml_document_t *d, yaml_node_t *map, const char *key)
{
	if (!map || map->type != YAML_MAPPING_NODE)
		return NULL;
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
		const char *k = yscalar(ynode(d, p->key));
		if (k && strcmp(k, key) == 0)
			return ynode(d, p->value);
	}
	return NULL;
}

static const char *ygets(yaml_document_t *d, yaml_node_t *map, const char *key)
{
	return yscalar(yget(d, map, key));
}

/* A plain (unquoted) null, ~ or empty scalar is YAML's null. */
static bool yis_null(yaml_node_t *n)
{
	if (!n || n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return false;
	const char *s = yscalar(n);
	return !*s || strcmp(s, "null") == 0 || strcmp(s, "Null") == 0 || strcmp(s, "NULL") == 0 ||
	       strcmp(s, "~") == 0;
}

/* for the correlation loader */
yaml_node_t *sig_yget(yaml_document_t *d, yaml_node_t *map, const char *key)
{
	return yget(d, map, key);
}

const char *sig_yscalar(yaml_node_t *n)
{
	return yscalar(n);
}

yaml_node_t *sig_ynode(yaml_document_t *d, int id)
{
	return ynode(d, id);
}

/* ------------------------------------------------------------ atoms */

static bool is_path_field(enum sig_field f)
{
	return f == SIG_F_IMAGE || f == SIG_F_PARENTIMAGE || f == SIG_F_TARGETFILENAME ||
	       f == SIG_F_CURRENTDIRECTORY;
}

struct mods {
	enum sig_op op; /* EQ, CONTAINS, STARTSWITH, ENDSWITH, RE, CIDR, EXISTS */
	bool all, cased;
	uint32_t re_flags;
};

static void atom_key(struct lctx *c, struct sig_atom *a, const char *raw)
{
	size_t n = strlen(raw) + 64;
	a->key = arena_zalloc(&c->r->pool, n);
	snprintf(a->key, n, "%d|%d|%d|%d|%x|%s", a->field, a->op, a->cased, a->exists_want,
		 a->op == SIG_OP_RE ? 1u : 0u, raw);
}

static int make_atom(struct lctx *c, enum sig_field f, const struct mods *m, yaml_node_t *vn,
		     struct sig_atom **out)
{
	struct arena *pool = &c->r->pool;
	struct sig_atom *a = arena_zalloc(pool, sizeof(*a));
	a->field = f;
	a->cased = m->cased;
	*out = a;

	if (vn->type != YAML_SCALAR_NODE)
		return skip(c, "%s: nested lists or maps as values not supported", sig_field_name(f));
	const char *v = yscalar(vn);

	if (m->op == SIG_OP_EXISTS) {
		a->op = SIG_OP_EXISTS;
		if (strcasecmp(v, "true") && strcasecmp(v, "false"))
			return skip(c, "%s|exists needs true or false, not '%.40s'", sig_field_name(f), v);
		a->exists_want = strcasecmp(v, "true") == 0;
		atom_key(c, a, "");
		return 0;
	}
	if (yis_null(vn)) {
		a->op = SIG_OP_EMPTY;
		atom_key(c, a, "");
		return 0;
	}
	if (m->op == SIG_OP_RE) {
		int errc;
		PCRE2_SIZE off;
		pcre2_code *re = pcre2_compile((PCRE2_SPTR)v, PCRE2_ZERO_TERMINATED, m->re_flags, &errc, &off, NULL);
		if (!re) {
			PCRE2_UCHAR msg[128];
			pcre2_get_error_message(errc, msg, sizeof(msg));
			return skip(c, "%s|re: regex error at offset %zu: %s", sig_field_name(f), (size_t)off,
				    (char *)msg);
		}
		/* JIT may be missing (e.g. SELinux execmem): the interpreter still works */
		pcre2_jit_compile(re, PCRE2_JIT_COMPLETE);
		a->op = SIG_OP_RE;
		a->re = re;
		a->pat = arena_strdup(pool, v);
		a->len = strlen(v);
		char k[32];
		snprintf(k, sizeof(k), "%x|", m->re_flags);
		char *raw = arena_zalloc(pool, strlen(v) + sizeof(k));
		strcpy(raw, k);
		strcat(raw, v);
		atom_key(c, a, raw);
		return 0;
	}
	if (m->op == SIG_OP_CIDR) {
		if (f != SIG_F_DESTINATIONIP)
			return skip(c, "|cidr on %s: only DestinationIp holds addresses", sig_field_name(f));
		if (sig_parse_cidr(v, a->addr, &a->prefix) < 0)
			return skip(c, "%s|cidr: '%.60s' is not a CIDR", sig_field_name(f), v);
		a->op = SIG_OP_CIDR;
		char k[64];
		snprintf(k, sizeof(k), "%d/", a->prefix);
		size_t kl = strlen(k);
		char *raw = arena_zalloc(pool, kl + 33);
		memcpy(raw, k, kl);
		for (int i = 0; i < 16; i++)
			sprintf(raw + kl + 2 * i, "%02x", a->addr[i]);
		atom_key(c, a, raw);
		return 0;
	}

	/* Sigma escapes: \* \? \\ are literal; any other backslash is itself. */
	size_t vl = strlen(v);
	char *tok = arena_zalloc(pool, vl + 3);
	size_t n = 0;
	bool wild = false, backslash = false;
	for (size_t i = 0; i < vl; i++) {
		char ch = v[i];
		if (ch == SIG_GLOB_STAR || ch == SIG_GLOB_ONE)
			return skip(c, "%s: control bytes \\x01/\\x02 in a value not supported", sig_field_name(f));
		if (ch == '\\' && (v[i + 1] == '*' || v[i + 1] == '?' || v[i + 1] == '\\')) {
			ch = v[++i];
			if (ch == '\\')
				backslash = true;
		} else if (ch == '*') {
			ch = SIG_GLOB_STAR;
			wild = true;
		} else if (ch == '?') {
			ch = SIG_GLOB_ONE;
			wild = true;
		} else if (ch == '\\') {
			backslash = true;
		}
		tok[n++] = m->cased ? ch : (char)tolower((unsigned char)ch);
	}
	tok[n] = 0;
	if (backslash && is_path_field(f))
		return skip(c, "%s: Windows backslash path '%.60s' in a Linux path field", sig_field_name(f), v);

	enum sig_op op = m->op;
	if (wild) {
		/* leading/trailing stars fold into contains/startswith/endswith */
		size_t lo = 0, hi = n;
		while (lo < hi && tok[lo] == SIG_GLOB_STAR)
			lo++;
		while (hi > lo && tok[hi - 1] == SIG_GLOB_STAR)
			hi--;
		bool lead = lo > 0 || op == SIG_OP_CONTAINS || op == SIG_OP_ENDSWITH;
		bool trail = hi < n || op == SIG_OP_CONTAINS || op == SIG_OP_STARTSWITH;
		bool inner = memchr(tok + lo, SIG_GLOB_STAR, hi - lo) || memchr(tok + lo, SIG_GLOB_ONE, hi - lo);
		if (!inner) {
			memmove(tok, tok + lo, hi - lo);
			n = hi - lo;
			tok[n] = 0;
			op = lead && trail ? SIG_OP_CONTAINS : lead ? SIG_OP_ENDSWITH : trail ? SIG_OP_STARTSWITH : SIG_OP_EQ;
		} else {
			char *g = arena_zalloc(pool, n + 3);
			size_t k = 0;
			if (lead)
				g[k++] = SIG_GLOB_STAR;
			memcpy(g + k, tok + lo, hi - lo);
			k += hi - lo;
			if (trail)
				g[k++] = SIG_GLOB_STAR;
			g[k] = 0;
			tok = g;
			n = k;
			op = SIG_OP_GLOB;
		}
	} else if (n == 0 && op == SIG_OP_EQ) {
		op = SIG_OP_EMPTY;
	}
	a->op = op;
	a->pat = tok;
	a->len = n;
	atom_key(c, a, tok);
	return 0;
}

static int parse_mods(struct lctx *c, const char *key, char *fname, size_t fnlen, struct mods *m)
{
	memset(m, 0, sizeof(*m));
	m->op = SIG_OP_EQ;
	const char *bar = strchr(key, '|');
	size_t n = bar ? (size_t)(bar - key) : strlen(key);
	if (n >= fnlen)
		n = fnlen - 1;
	memcpy(fname, key, n);
	fname[n] = 0;
	while (bar) {
		const char *s = bar + 1;
		bar = strchr(s, '|');
		size_t l = bar ? (size_t)(bar - s) : strlen(s);
		char mod[32];
		snprintf(mod, sizeof(mod), "%.*s", (int)(l < 31 ? l : 31), s);
		enum sig_op op = SIG_OP_EQ;
		if (strcmp(mod, "contains") == 0)
			op = SIG_OP_CONTAINS;
		else if (strcmp(mod, "startswith") == 0)
			op = SIG_OP_STARTSWITH;
		else if (strcmp(mod, "endswith") == 0)
			op = SIG_OP_ENDSWITH;
		else if (strcmp(mod, "re") == 0)
			op = SIG_OP_RE;
		else if (strcmp(mod, "cidr") == 0)
			op = SIG_OP_CIDR;
		else if (strcmp(mod, "exists") == 0)
			op = SIG_OP_EXISTS;
		else if (strcmp(mod, "all") == 0) {
			m->all = true;
			continue;
		} else if (strcmp(mod, "cased") == 0) {
			m->cased = true;
			continue;
		} else if (m->op == SIG_OP_RE && (strcmp(mod, "i") == 0 || strcmp(mod, "m") == 0 || strcmp(mod, "s") == 0)) {
			m->re_flags |= mod[0] == 'i' ? PCRE2_CASELESS : mod[0] == 'm' ? PCRE2_MULTILINE : PCRE2_DOTALL;
			continue;
		} else {
			return skip(c, "modifier '%s' on %s not supported", mod, fname);
		}
		if (m->op != SIG_OP_EQ)
			return skip(c, "modifiers '%s' and another comparison on %s", mod, fname);
		m->op = op;
	}
	if (m->cased && (m->op == SIG_OP_RE || m->op == SIG_OP_CIDR))
		return skip(c, "|cased with |re or |cidr on %s", fname);
	return 0;
}

static struct sig_node *mknode(struct sigma_rule *r, enum sig_node_type t, int n)
{
	struct sig_node *nd = arena_zalloc(&r->pool, sizeof(*nd));
	nd->type = t;
	nd->n = n;
	nd->kids = n ? arena_zalloc(&r->pool, n * sizeof(*nd->kids)) : NULL;
	return nd;
}

static int add_atom(struct lctx *c, struct sig_atom *a)
{
	struct sigma_rule *r = c->r;
	struct sig_atom **na = realloc(r->atoms, (r->natoms + 1) * sizeof(*na));
	if (!na)
		abort();
	r->atoms = na;
	r->atoms[r->natoms++] = a;
	return 0;
}

/* One "Field|mods: value(s)" entry. */
static struct sig_node *parse_entry(struct lctx *c, const char *key, yaml_node_t *val)
{
	char fname[128];
	struct mods m;
	if (parse_mods(c, key, fname, sizeof(fname), &m))
		return NULL;
	int f = sig_field_from_name(fname);
	if (f < 0) {
		skip(c, "field %s not produced by the agent", fname);
		return NULL;
	}
	if (!sig_field_allowed(c->r->ls, f)) {
		skip(c, "field %s not available for %s", fname, sig_logsource_name(c->r->ls));
		return NULL;
	}
	yaml_node_item_t *items = NULL;
	int n = 1;
	if (val->type == YAML_SEQUENCE_NODE) {
		items = val->data.sequence.items.start;
		n = val->data.sequence.items.top - items;
		if (!n) {
			skip(c, "%s: empty value list", fname);
			return NULL;
		}
	} else if (val->type != YAML_SCALAR_NODE) {
		skip(c, "%s: a map as value not supported", fname);
		return NULL;
	}
	struct sig_node *nd = mknode(c->r, m.all ? SIG_N_AND : SIG_N_OR, n);
	for (int i = 0; i < n; i++) {
		yaml_node_t *vn = items ? ynode(c->doc, items[i]) : val;
		struct sig_atom *a;
		if (make_atom(c, f, &m, vn, &a)) {
			if (a->re)
				pcre2_code_free(a->re);
			return NULL;
		}
		add_atom(c, a);
		struct sig_node *leaf = mknode(c->r, SIG_N_ATOM, 0);
		leaf->atom = a;
		nd->kids[i] = leaf;
	}
	return n == 1 ? nd->kids[0] : nd;
}

static struct sig_node *parse_map(struct lctx *c, yaml_node_t *map)
{
	yaml_node_pair_t *p0 = map->data.mapping.pairs.start;
	int n = map->data.mapping.pairs.top - p0;
	if (!n) {
		skip(c, "empty selection");
		return NULL;
	}
	struct sig_node *nd = mknode(c->r, SIG_N_AND, n);
	for (int i = 0; i < n; i++) {
		const char *k = yscalar(ynode(c->doc, p0[i].key));
		if (!k) {
			skip(c, "non-scalar key in a selection");
			return NULL;
		}
		if (!(nd->kids[i] = parse_entry(c, k, ynode(c->doc, p0[i].value))))
			return NULL;
	}
	return n == 1 ? nd->kids[0] : nd;
}

static struct sig_node *parse_selection(struct lctx *c, const char *name, yaml_node_t *sel)
{
	if (sel->type == YAML_MAPPING_NODE)
		return parse_map(c, sel);
	if (sel->type == YAML_SEQUENCE_NODE) {
		yaml_node_item_t *it = sel->data.sequence.items.start;
		int n = sel->data.sequence.items.top - it;
		struct sig_node *nd = mknode(c->r, SIG_N_OR, n);
		for (int i = 0; i < n; i++) {
			yaml_node_t *m = ynode(c->doc, it[i]);
			if (m->type != YAML_MAPPING_NODE) {
				skip(c, "keyword search in '%s' not supported (no field named)", name);
				return NULL;
			}
			if (!(nd->kids[i] = parse_map(c, m)))
				return NULL;
		}
		if (!n) {
			skip(c, "empty selection '%s'", name);
			return NULL;
		}
		return n == 1 ? nd->kids[0] : nd;
	}
	skip(c, "keyword search in '%s' not supported (no field named)", name);
	return NULL;
}

/* ------------------------------------------------------------ rules */

static void rule_free(struct sigma_rule *r)
{
	if (!r)
		return;
	for (int i = 0; i < r->natoms; i++)
		if (r->atoms[i]->re)
			pcre2_code_free(r->atoms[i]->re);
	free(r->atoms);
	arena_free(&r->pool);
	free(r);
}

static char *pstr(struct sigma_rule *r, const char *s)
{
	return arena_strdup(&r->pool, s ? s : "");
}

static int parse_logsource(struct lctx *c, yaml_node_t *ls)
{
	if (!ls || ls->type != YAML_MAPPING_NODE)
		return skip(c, "no logsource");
	const char *prod = ygets(c->doc, ls, "product");
	const char *cat = ygets(c->doc, ls, "category");
	const char *svc = ygets(c->doc, ls, "service");
	if (!prod || strcasecmp(prod, "linux") != 0)
		return skip(c, "logsource product '%s' is not linux", prod ? prod : "(none)");
	if (svc)
		return skip(c, "logsource service '%s' not produced by the agent", svc);
	if (!cat)
		return skip(c, "logsource without a category");
	for (int i = 0; i < SIG_LS_MAX; i++) {
		if (strcmp(cat, sig_logsource_name(i)) == 0) {
			c->r->ls = i;
			return 0;
		}
	}
	return skip(c, "logsource category '%s' not produced by the agent", cat);
}

static int parse_immune(struct lctx *c, yaml_node_t *im)
{
	if (!im)
		return 0;
	const char *act = im->type == YAML_MAPPING_NODE ? ygets(c->doc, im, "action") : NULL;
	if (!act)
		return skip(c, "immune: must be a map with an action");
	if (strcmp(act, "alert") == 0)
		c->r->action = IMM_ACTION_ALERT;
	else if (strcmp(act, "block") == 0)
		c->r->action = IMM_ACTION_BLOCK;
	else if (strcmp(act, "kill") == 0)
		c->r->action = IMM_ACTION_KILL;
	else
		return skip(c, "immune.action '%s' is not alert, block or kill", act);
	return 0;
}

static int parse_detection(struct lctx *c, yaml_node_t *det)
{
	if (!det || det->type != YAML_MAPPING_NODE)
		return skip(c, "no detection section");
	yaml_node_pair_t *p0 = det->data.mapping.pairs.start;
	int n = det->data.mapping.pairs.top - p0;
	char **names = calloc(n + 1, sizeof(*names));
	struct sig_node **sels = calloc(n + 1, sizeof(*sels));
	yaml_node_t *cond = NULL;
	int ns = 0, rc = -1;

	if (!names || !sels)
		abort();
	for (int i = 0; i < n; i++) {
		const char *k = yscalar(ynode(c->doc, p0[i].key));
		yaml_node_t *v = ynode(c->doc, p0[i].value);
		if (!k)
			goto out;
		if (strcmp(k, "condition") == 0) {
			cond = v;
			continue;
		}
		if (strcmp(k, "timeframe") == 0) {
			skip(c, "timeframe (correlation) not supported");
			goto out;
		}
		names[ns] = pstr(c->r, k);
		if (!(sels[ns] = parse_selection(c, k, v)))
			goto out;
		ns++;
	}
	if (!cond) {
		skip(c, "detection without a condition");
		goto out;
	}
	if (cond->type == YAML_SEQUENCE_NODE) {
		/* a list of conditions: any of them */
		yaml_node_item_t *it = cond->data.sequence.items.start;
		int nc = cond->data.sequence.items.top - it;
		struct sig_node *o = mknode(c->r, SIG_N_OR, nc);
		for (int i = 0; i < nc; i++) {
			const char *cs = yscalar(ynode(c->doc, it[i]));
			if (!cs) {
				skip(c, "condition list item is not text");
				goto out;
			}
			char err[200];
			if (!(o->kids[i] = sig_cond_parse(&c->r->pool, cs, names, sels, ns, err, sizeof(err)))) {
				skip(c, "condition: %s", err);
				goto out;
			}
		}
		if (!nc) {
			skip(c, "empty condition list");
			goto out;
		}
		c->r->root = o;
	} else {
		const char *cs = yscalar(cond);
		char err[200];
		if (!cs || !*cs) {
			skip(c, "empty condition");
			goto out;
		}
		if (!(c->r->root = sig_cond_parse(&c->r->pool, cs, names, sels, ns, err, sizeof(err)))) {
			skip(c, "condition: %s", err);
			goto out;
		}
	}
	rc = 0;
out:
	free(names);
	free(sels);
	return rc;
}

static int rs_add(struct sigma_ruleset *rs, struct sigma_rule *r)
{
	if (rs->n == rs->cap) {
		int cap = rs->cap ? rs->cap * 2 : 64;
		struct sigma_rule **nr = realloc(rs->rules, cap * sizeof(*nr));
		if (!nr)
			abort();
		rs->rules = nr;
		rs->cap = cap;
	}
	rs->rules[rs->n++] = r;
	return 0;
}

/* One YAML document → loaded (1), skipped (0) or nothing (empty document, -1). */
static int load_doc(struct sigma_ruleset *rs, const char *name, yaml_document_t *doc, bool builtin, FILE *log,
		    bool report_loaded)
{
	yaml_node_t *root = yaml_document_get_root_node(doc);
	if (!root)
		return -1;
	if (root->type == YAML_MAPPING_NODE && yget(doc, root, "correlation"))
		return corr_load_doc(rs, name, doc, root, builtin, log);
	struct sigma_rule *r = calloc(1, sizeof(*r));
	if (!r)
		abort();
	r->pool.chunk = SIG_POOL_CHUNK;
	r->builtin = builtin;
	r->file = pstr(r, name);
	struct lctx c = { .r = r, .doc = doc };

	const char *id = ygets(doc, root, "id");
	r->id = pstr(r, id ? id : name);
	r->title = pstr(r, ygets(doc, root, "title"));
	r->level = pstr(r, ygets(doc, root, "level"));
	r->author = pstr(r, ygets(doc, root, "author"));
	r->status = pstr(r, ygets(doc, root, "status"));
	r->description = pstr(r, ygets(doc, root, "description"));
	r->name = ygets(doc, root, "name") ? pstr(r, ygets(doc, root, "name")) : NULL;

	yaml_node_t *tags = yget(doc, root, "tags");
	if (tags && tags->type == YAML_SEQUENCE_NODE) {
		yaml_node_item_t *it = tags->data.sequence.items.start;
		int n = tags->data.sequence.items.top - it;
		r->tags = arena_zalloc(&r->pool, (n + 1) * sizeof(char *));
		for (int i = 0; i < n; i++) {
			const char *t = yscalar(ynode(doc, it[i]));
			if (t)
				r->tags[r->ntags++] = pstr(r, t);
		}
	}

	int bad = 0;
	if (root->type != YAML_MAPPING_NODE)
		bad = skip(&c, "document is not a map");
	else if (ygets(doc, root, "action"))
		bad = skip(&c, "rule collection action '%s' not supported", ygets(doc, root, "action"));
	else if (!strcmp(r->status, "deprecated") || !strcmp(r->status, "unsupported"))
		bad = skip(&c, "status %s", r->status);
	else if (!r->title[0])
		bad = skip(&c, "no title");
	if (!bad)
		bad = parse_logsource(&c, yget(doc, root, "logsource"));
	if (!bad)
		bad = parse_immune(&c, yget(doc, root, "immune"));
	if (!bad)
		bad = parse_detection(&c, yget(doc, root, "detection"));
	if (bad) {
		fprintf(log, "skipped %s %s: %s\n", name, r->id, c.why);
		rs->skipped++;
		rule_free(r);
		return 0;
	}
	if (report_loaded)
		fprintf(log, "loaded  %s %s: %s [%s, %s]\n", name, r->id, r->title, sig_logsource_name(r->ls),
			imm_action_name(r->action));
	rs->loaded++;
	rs_add(rs, r);
	return 1;
}

int sigma_load_text(struct sigma_ruleset *rs, const char *name, const char *text, size_t len, bool builtin,
		    FILE *log, bool report_loaded)
{
	yaml_parser_t p;
	int rc = 0;

	if (!yaml_parser_initialize(&p))
		abort();
	yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
	for (;;) {
		yaml_document_t doc;
		if (!yaml_parser_load(&p, &doc)) {
			fprintf(log, "error %s:%zu: malformed YAML: %s%s%s\n", name, p.problem_mark.line + 1,
				p.problem ? p.problem : "parse error", p.context ? " " : "", p.context ? p.context : "");
			rs->yaml_errors++;
			rc = -1;
			break;
		}
		int got = load_doc(rs, name, &doc, builtin, log, report_loaded);
		yaml_document_delete(&doc);
		if (got < 0)
			break; /* end of stream */
	}
	yaml_parser_delete(&p);
	return rc;
}

static int load_file(struct sigma_ruleset *rs, const char *path, FILE *log, bool report_loaded)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		fprintf(log, "error %s: %s\n", path, strerror(errno));
		rs->yaml_errors++;
		return -1;
	}
	char *buf = NULL;
	size_t len = 0, cap = 0, got;
	do {
		if (cap - len < 65536) {
			cap = cap ? cap * 2 : 65536;
			if (!(buf = realloc(buf, cap)))
				abort();
		}
		got = fread(buf + len, 1, cap - len, f);
		len += got;
	} while (got);
	int err = ferror(f);
	fclose(f);
	if (err) {
		fprintf(log, "error %s: read failed\n", path);
		rs->yaml_errors++;
		free(buf);
		return -1;
	}
	int rc = sigma_load_text(rs, path, buf, len, false, log, report_loaded);
	free(buf);
	return rc;
}

static bool yaml_name(const char *n)
{
	size_t l = strlen(n);
	return (l > 4 && strcmp(n + l - 4, ".yml") == 0) || (l > 5 && strcmp(n + l - 5, ".yaml") == 0);
}

static int cmpstr(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int sigma_load_path(struct sigma_ruleset *rs, const char *path, FILE *log, bool report_loaded)
{
	struct stat st;
	if (stat(path, &st)) {
		fprintf(log, "error %s: %s\n", path, strerror(errno));
		rs->yaml_errors++;
		return -1;
	}
	if (!S_ISDIR(st.st_mode))
		return load_file(rs, path, log, report_loaded);

	DIR *d = opendir(path);
	if (!d) {
		fprintf(log, "error %s: %s\n", path, strerror(errno));
		rs->yaml_errors++;
		return -1;
	}
	char **ents = NULL;
	int n = 0, cap = 0, rc = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			if (!(ents = realloc(ents, cap * sizeof(*ents))))
				abort();
		}
		if (asprintf(&ents[n], "%s/%s", path, de->d_name) < 0)
			abort();
		n++;
	}
	closedir(d);
	qsort(ents, n, sizeof(*ents), cmpstr);
	for (int i = 0; i < n; i++) {
		struct stat es;
		if (stat(ents[i], &es) == 0 && (S_ISDIR(es.st_mode) || yaml_name(ents[i])))
			if (sigma_load_path(rs, ents[i], log, report_loaded))
				rc = -1;
		free(ents[i]);
	}
	free(ents);
	return rc;
}

int sigma_load_builtin(struct sigma_ruleset *rs, FILE *log, bool report_loaded)
{
	int rc = 0;
	for (int i = 0; imm_builtin_rules[i][0]; i++) {
		char name[256];
		snprintf(name, sizeof(name), "builtin:%s", imm_builtin_rules[i][0]);
		if (sigma_load_text(rs, name, imm_builtin_rules[i][1], strlen(imm_builtin_rules[i][1]), true, log,
				    report_loaded))
			rc = -1;
	}
	return rc;
}

void sigma_ruleset_init(struct sigma_ruleset *rs)
{
	memset(rs, 0, sizeof(*rs));
}

void sigma_ruleset_free(struct sigma_ruleset *rs)
{
	for (int i = 0; i < rs->n; i++)
		rule_free(rs->rules[i]);
	free(rs->rules);
	for (int i = 0; i < rs->ncorrs; i++)
		corr_rule_free(rs->corrs[i]);
	free(rs->corrs);
	memset(rs, 0, sizeof(*rs));
}
