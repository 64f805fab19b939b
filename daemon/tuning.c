/*
 * Severity policy, disabled rules, exceptions and live suppressions (tuning.h).
 * Exceptions and suppressions become small Sigma rules whose id is the id of
 * the rule they silence, compiled by the ordinary loader and matcher: one
 * language for detections and their filters, and every modifier works.
 */
#include "tuning.h"
#include "db.h"
#include "match.h"

#include <errno.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <yaml.h>
#include "yaml_doc.h"

#define OVERRIDES_MAX (4u << 20)

static const char *const level_names[LEVEL_MAX] = { "informational", "low", "medium", "high", "critical" };

int level_parse(const char *s)
{
	for (int i = 0; s && i < LEVEL_MAX; i++)
		if (strcasecmp(s, level_names[i]) == 0)
			return i;
	return -1;
}

const char *level_name(int level)
{
	return level >= 0 && level < LEVEL_MAX ? level_names[level] : "?";
}

/* The SigmaHQ threat-hunting folder: rules meant for hunting, not for waking people. */
static bool hunting(const struct sigma_rule *r)
{
	return strstr(r->file, "rules-threat-hunting/") != NULL;
}

int rule_level(const struct sigma_rule *r)
{
	int l = level_parse(r->level);
	if (l < 0)
		l = LEVEL_MEDIUM;
	if (hunting(r) && l > LEVEL_LOW)
		l = LEVEL_LOW;
	return l;
}

bool rule_selected_by(const struct sigma_rule *r, const char *sel)
{
	size_t n = strlen(sel);
	while (n > 1 && sel[n - 1] == '/')
		n--;
	if (!n)
		return false;
	if (strcmp(r->id, sel) == 0)
		return true;
	/* a folder: a whole number of path components of "builtin:x.yml" or "sigma:rules/linux/..." */
	const char *f = r->file, *colon = strchr(f, ':');
	if (colon && strncmp(f, sel, n) == 0 && (size_t)(colon - f) == n)
		return true;
	for (const char *p = colon ? colon + 1 : f; p; p = strchr(p, '/')) {
		if (*p == '/')
			p++;
		if (strncmp(p, sel, n) == 0 && p[n] == '/')
			return true;
		if (!*p)
			break;
	}
	return false;
}

/* ------------------------------------------------------------ generated Sigma text */

struct buf {
	char *s;
	size_t len, cap;
};

static void bput(struct buf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 256;
		while (cap < b->len + n + 1)
			cap *= 2;
		if (!(b->s = realloc(b->s, cap)))
			abort();
		b->cap = cap;
	}
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = 0;
}

static void bstr(struct buf *b, const char *s)
{
	bput(b, s, strlen(s));
}

/* A YAML double-quoted scalar; glob_literal escapes Sigma's * ? \ so the value is taken as written. */
static void bquote(struct buf *b, const char *s, bool glob_literal)
{
	bstr(b, "\"");
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		char esc[8];
		if (glob_literal && (*p == '*' || *p == '?' || *p == '\\'))
			bstr(b, "\\\\");
		if (*p == '"' || *p == '\\') {
			esc[0] = '\\';
			esc[1] = (char)*p;
			bput(b, esc, 2);
		} else if (*p < 0x20 || *p == 0x7f) {
			snprintf(esc, sizeof(esc), "\\x%02x", *p);
			bstr(b, esc);
		} else {
			bput(b, (const char *)p, 1);
		}
	}
	bstr(b, "\"");
}

/* ------------------------------------------------------------ the override file */

/* One exceptions entry → its selections, or NULL with the reason. */
static char *exc_selections(yaml_document_t *d, yaml_node_t *e, char *why, size_t n)
{
	yaml_node_t *fields = yget(d, e, "fields"), *values = yget(d, e, "values");
	int nf = yseq_len(fields), nv = yseq_len(values);
	if (nf < 1) {
		snprintf(why, n, "\"fields\" must be a list of Sigma fields (with modifiers)");
		return NULL;
	}
	if (nv < 1) {
		snprintf(why, n, "\"values\" must be a list of tuples, one value per field");
		return NULL;
	}
	struct buf b = { 0 };
	for (int i = 0; i < nv; i++) {
		yaml_node_t *tuple = yseq_at(d, values, i);
		/* a single field may list plain values */
		if (nf == 1 && yscalar(tuple)) {
		} else if (yseq_len(tuple) != nf) {
			snprintf(why, n, "values[%d] must have %d value%s, one per field", i, nf, nf > 1 ? "s" : "");
			free(b.s);
			return NULL;
		}
		char sel[32];
		snprintf(sel, sizeof(sel), "  t%d:\n", i);
		bstr(&b, sel);
		for (int j = 0; j < nf; j++) {
			const char *f = yscalar(yseq_at(d, fields, j));
			const char *v = yscalar(nf == 1 && yscalar(tuple) ? tuple : yseq_at(d, tuple, j));
			if (!f || !v) {
				snprintf(why, n, "fields and values must be text");
				free(b.s);
				return NULL;
			}
			bstr(&b, "    ");
			bquote(&b, f, false);
			bstr(&b, ": ");
			bquote(&b, v, false);
			bstr(&b, "\n");
		}
	}
	return b.s;
}

int overrides_load(struct overrides *o, const char *path, FILE *log, char *err, size_t errlen)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	char *buf = NULL;
	size_t len = 0;
	/* a local file of tuning, not a corpus: a few MiB is far beyond any real one */
	if (!(buf = malloc(OVERRIDES_MAX + 1)))
		abort();
	len = fread(buf, 1, OVERRIDES_MAX + 1, f);
	int rerr = ferror(f);
	fclose(f);
	if (rerr || len > OVERRIDES_MAX) {
		snprintf(err, errlen, "%s: %s", path, rerr ? "read failed" : "larger than 4 MiB");
		free(buf);
		return -1;
	}
	int rc = overrides_load_text(o, path, buf, len, log, err, errlen);
	free(buf);
	return rc;
}

extern const char *const imm_policy_files[][2];

int overrides_load_shipped(struct overrides *o, FILE *log, char *err, size_t errlen)
{
	for (int i = 0; imm_policy_files[i][0]; i++) {
		char name[300];
		snprintf(name, sizeof(name), "policy:%s", imm_policy_files[i][0]);
		if (overrides_load_text(o, name, imm_policy_files[i][1], strlen(imm_policy_files[i][1]), log, err, errlen))
			return -1;
	}
	return 0;
}

void overrides_apply_levels(const struct overrides *o, struct sigma_ruleset *rs, FILE *log)
{
	for (int i = 0; i < o->nlevels; i++) {
		bool found = false;
		for (int k = 0; k < rs->n; k++) {
			struct sigma_rule *r = rs->rules[k];
			if (strcmp(r->id, o->levels[i].rule))
				continue;
			r->level = arena_strdup(&r->pool, level_name(o->levels[i].level));
			found = true;
		}
		if (!found && strncmp(o->levels[i].where, "policy:", 7))
			fprintf(log, "%s: levels: rule %s is not loaded, skipped\n", o->levels[i].where, o->levels[i].rule);
	}
}

int overrides_load_text(struct overrides *o, const char *path, const char *text, size_t len, FILE *log, char *err,
			size_t errlen)
{
	yaml_parser_t p;
	yaml_document_t d;
	if (!yaml_parser_initialize(&p))
		abort();
	yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
	if (!yaml_parser_load(&p, &d)) {
		snprintf(err, errlen, "%s:%zu: malformed YAML: %s", path, p.problem_mark.line + 1,
			 p.problem ? p.problem : "parse error");
		yaml_parser_delete(&p);
		return -1;
	}
	yaml_parser_delete(&p);
	yaml_node_t *root = yaml_document_get_root_node(&d);
	int rc = 0;
	if (root && root->type != YAML_MAPPING_NODE) {
		snprintf(err, errlen, "%s:%zu: not a map of disable: and exceptions:", path, root->start_mark.line + 1);
		rc = -1;
		goto out;
	}
	for (yaml_node_pair_t *pr = root ? root->data.mapping.pairs.start : NULL; root && pr < root->data.mapping.pairs.top;
	     pr++) {
		const char *k = yscalar(ynode(&d, pr->key));
		yaml_node_t *v = ynode(&d, pr->value);
		if (!k || (strcmp(k, "disable") && strcmp(k, "exceptions") && strcmp(k, "levels")))
			fprintf(log, "%s:%zu: unknown key '%s', skipped\n", path, ynode(&d, pr->key)->start_mark.line + 1,
				k ? k : "?");
		else if (strcmp(k, "levels") == 0) {
			if (v->type != YAML_MAPPING_NODE) {
				fprintf(log, "%s:%zu: levels must map rule ids to levels, skipped\n", path,
					v->start_mark.line + 1);
				continue;
			}
			for (yaml_node_pair_t *lp = v->data.mapping.pairs.start; lp < v->data.mapping.pairs.top; lp++) {
				const char *id = yscalar(ynode(&d, lp->key)), *lv = yscalar(ynode(&d, lp->value));
				size_t line = ynode(&d, lp->key)->start_mark.line + 1;
				int l = level_parse(lv);
				if (!id || l < 0) {
					fprintf(log, "%s:%zu: levels: '%s' is not informational, low, medium, high or critical, skipped\n",
						path, line, lv ? lv : "?");
					continue;
				}
				char where[600];
				snprintf(where, sizeof(where), "%s:%zu", path, line);
				if (!(o->levels = realloc(o->levels, (o->nlevels + 1) * sizeof(*o->levels))))
					abort();
				o->levels[o->nlevels++] = (struct override_level){ strdup(where), strdup(id), l };
			}
		} else if (yseq_len(v) < 0)
			fprintf(log, "%s:%zu: %s must be a list, skipped\n", path, v->start_mark.line + 1, k);
		else if (strcmp(k, "disable") == 0) {
			for (int i = 0; i < yseq_len(v); i++) {
				yaml_node_t *it = yseq_at(&d, v, i);
				if (!yscalar(it) || !*yscalar(it)) {
					fprintf(log, "%s:%zu: disable: a rule id or folder, skipped\n", path,
						it->start_mark.line + 1);
					continue;
				}
				if (!(o->disable = realloc(o->disable, (o->ndisable + 1) * sizeof(*o->disable))))
					abort();
				o->disable[o->ndisable++] = strdup(yscalar(it));
			}
		} else {
			for (int i = 0; i < yseq_len(v); i++) {
				yaml_node_t *e = yseq_at(&d, v, i);
				char why[200], where[600];
				snprintf(where, sizeof(where), "%s:%zu", path, e->start_mark.line + 1);
				const char *rule = yscalar(yget(&d, e, "rule"));
				char *sels = NULL;
				if (!rule || !*rule) {
					fprintf(log, "%s: an exception needs \"rule\": the id it applies to, skipped\n", where);
					continue;
				}
				if (!(sels = exc_selections(&d, e, why, sizeof(why)))) {
					fprintf(log, "%s: %s, skipped\n", where, why);
					continue;
				}
				if (!(o->exc = realloc(o->exc, (o->nexc + 1) * sizeof(*o->exc))))
					abort();
				const char *name = yscalar(yget(&d, e, "name"));
				o->exc[o->nexc++] = (struct override_exc){ .where = strdup(where),
									   .rule = strdup(rule),
									   .name = strdup(name ? name : where),
									   .selections = sels };
			}
		}
	}
out:
	yaml_document_delete(&d);
	return rc;
}

void overrides_free(struct overrides *o)
{
	for (int i = 0; i < o->ndisable; i++)
		free(o->disable[i]);
	for (int i = 0; i < o->nexc; i++) {
		free(o->exc[i].where);
		free(o->exc[i].rule);
		free(o->exc[i].name);
		free(o->exc[i].selections);
	}
	for (int i = 0; i < o->nlevels; i++) {
		free(o->levels[i].where);
		free(o->levels[i].rule);
	}
	free(o->levels);
	free(o->disable);
	free(o->exc);
	memset(o, 0, sizeof(*o));
}

/* ------------------------------------------------------------ the tuning */

struct sup {
	long long id;
	char *rule, *exe, *parent, *cmdline, *by;
	int64_t expires_ns;
	const struct sigma_rule *filter; /* in t->sup_rs; NULL: every match of the rule */
	uint64_t hits;
};

struct tuning {
	const struct sigma_ruleset *rs;
	int min_level;
	FILE *log;
	struct sigma_ruleset exc_rs; /* exceptions from the override file */
	struct matcher *exc_m;
	struct sigma_ruleset sup_rs; /* live suppressions, rebuilt on change */
	struct matcher *sup_m;
	struct sup *sups;
	int nsups;
	sqlite3 *db;
	uint64_t *n_alert, *n_signal, *n_suppressed; /* per rule idx */
	uint64_t alerts, signals, suppressed;
};

static const char suppress_schema_sql[] =
	"CREATE TABLE IF NOT EXISTS suppressions (\n"
	"    id            INTEGER PRIMARY KEY,\n"
	"    rule_id       TEXT    NOT NULL,\n"
	"    exe           TEXT,                 -- Image equals\n"
	"    parent        TEXT,                 -- ParentImage equals\n"
	"    cmdline_contains TEXT,              -- CommandLine contains\n"
	"    expires_ns    INTEGER NOT NULL DEFAULT 0, -- UNIX epoch ns; 0 = never\n"
	"    created_ns    INTEGER NOT NULL,\n"
	"    created_by    TEXT    NOT NULL      -- 'operator:<uid>'\n"
	");\n";

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static const struct sigma_rule *find_rule(const struct sigma_ruleset *rs, const char *id)
{
	for (int i = 0; i < rs->n; i++)
		if (strcmp(rs->rules[i]->id, id) == 0)
			return rs->rules[i];
	return NULL;
}

/*
 * Compile selections (t0..tN, any of them) as a Sigma rule with the target's
 * id and category into rs; the new rule, or NULL with the loader's reason.
 */
static const struct sigma_rule *compile_filter(struct sigma_ruleset *rs, const struct sigma_rule *target,
					       const char *where, const char *name, const char *selections,
					       char *why, size_t n)
{
	struct buf b = { 0 };
	bstr(&b, "title: ");
	bquote(&b, name, false);
	bstr(&b, "\nid: ");
	bquote(&b, target->id, false);
	bstr(&b, "\nlogsource:\n  product: linux\n  category: ");
	bstr(&b, sig_logsource_name(target->ls));
	bstr(&b, "\ndetection:\n");
	bstr(&b, selections);
	bstr(&b, "  condition: 1 of t*\n");
	char *msg = NULL;
	size_t msglen = 0;
	FILE *m = open_memstream(&msg, &msglen);
	if (!m)
		abort();
	int before = rs->n;
	sigma_load_text(rs, where, b.s, b.len, false, m, false);
	fclose(m);
	free(b.s);
	const struct sigma_rule *r = rs->n > before ? rs->rules[rs->n - 1] : NULL;
	if (!r) {
		/* "skipped NAME ID: reason" or "error NAME:LINE: ..." → the reason */
		char *c = msg ? strstr(msg, ": ") : NULL;
		snprintf(why, n, "%s", c ? c + 2 : "not a valid filter");
		size_t l = strlen(why);
		while (l && why[l - 1] == '\n')
			why[--l] = 0;
	}
	free(msg);
	return r;
}

static void sup_free(struct sup *s)
{
	free(s->rule);
	free(s->exe);
	free(s->parent);
	free(s->cmdline);
	free(s->by);
}

/* The suppressions' filters, compiled again from the list (added, removed, expired). */
static int rebuild_sups(struct tuning *t, char *err, size_t n)
{
	matcher_free(t->sup_m);
	t->sup_m = NULL;
	sigma_ruleset_free(&t->sup_rs);
	sigma_ruleset_init(&t->sup_rs);
	for (int i = 0; i < t->nsups; i++) {
		struct sup *s = &t->sups[i];
		s->filter = NULL;
		if (!s->exe && !s->parent && !s->cmdline)
			continue;
		const struct sigma_rule *target = find_rule(t->rs, s->rule);
		struct buf b = { 0 };
		bstr(&b, "  t0:\n");
		const char *fields[] = { "Image", "ParentImage", "CommandLine|contains" };
		const char *vals[] = { s->exe, s->parent, s->cmdline };
		for (int k = 0; k < 3; k++) {
			if (!vals[k])
				continue;
			bstr(&b, "    ");
			bstr(&b, fields[k]);
			bstr(&b, ": ");
			bquote(&b, vals[k], true);
			bstr(&b, "\n");
		}
		char where[64], why[256];
		snprintf(where, sizeof(where), "suppression:%lld", s->id);
		s->filter = target ? compile_filter(&t->sup_rs, target, where, where, b.s, why, sizeof(why)) : NULL;
		free(b.s);
		if (!s->filter) {
			snprintf(err, n, "suppression %lld: %s", s->id, target ? why : "its rule is not loaded");
			return -1;
		}
	}
	if (!(t->sup_m = matcher_new(&t->sup_rs))) {
		snprintf(err, n, "out of memory");
		return -1;
	}
	return 0;
}

static char *dupnull(const unsigned char *s)
{
	return s && *s ? strdup((const char *)s) : NULL;
}

static int load_sups(struct tuning *t, char *err, size_t n)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(t->db,
			       "SELECT id, rule_id, exe, parent, cmdline_contains, expires_ns, created_by FROM suppressions "
			       "WHERE expires_ns = 0 OR expires_ns > ?1 ORDER BY id",
			       -1, &st, NULL) != SQLITE_OK) {
		snprintf(err, n, "suppressions: %s", sqlite3_errmsg(t->db));
		return -1;
	}
	sqlite3_bind_int64(st, 1, now_ns());
	while (sqlite3_step(st) == SQLITE_ROW) {
		const char *rule = (const char *)sqlite3_column_text(st, 1);
		if (!find_rule(t->rs, rule)) {
			fprintf(t->log, "immuned: suppression %lld: rule %s is not loaded, kept but inactive\n",
				(long long)sqlite3_column_int64(st, 0), rule);
			continue;
		}
		if (!(t->sups = realloc(t->sups, (t->nsups + 1) * sizeof(*t->sups))))
			abort();
		t->sups[t->nsups++] = (struct sup){
			.id = sqlite3_column_int64(st, 0),
			.rule = strdup(rule),
			.exe = dupnull(sqlite3_column_text(st, 2)),
			.parent = dupnull(sqlite3_column_text(st, 3)),
			.cmdline = dupnull(sqlite3_column_text(st, 4)),
			.expires_ns = sqlite3_column_int64(st, 5),
			.by = dupnull(sqlite3_column_text(st, 6)),
		};
	}
	sqlite3_finalize(st);
	return 0;
}

struct tuning *tuning_new(const struct sigma_ruleset *rs, int min_level, const struct overrides *ov, const char *db,
			  FILE *log, char *err, size_t errlen)
{
	struct tuning *t = calloc(1, sizeof(*t));
	if (!t)
		abort();
	t->rs = rs;
	t->min_level = min_level;
	t->log = log;
	size_t n = rs->n ? (size_t)rs->n : 1;
	t->n_alert = calloc(n, sizeof(uint64_t));
	t->n_signal = calloc(n, sizeof(uint64_t));
	t->n_suppressed = calloc(n, sizeof(uint64_t));
	if (!t->n_alert || !t->n_signal || !t->n_suppressed)
		abort();
	sigma_ruleset_init(&t->exc_rs);
	sigma_ruleset_init(&t->sup_rs);
	for (int i = 0; ov && i < ov->nexc; i++) {
		const struct override_exc *e = &ov->exc[i];
		const struct sigma_rule *target = find_rule(rs, e->rule);
		char why[256];
		if (!target)
			fprintf(log, "%s: exception for rule %s, which is not loaded, skipped\n", e->where, e->rule);
		else if (!compile_filter(&t->exc_rs, target, e->where, e->name, e->selections, why, sizeof(why)))
			fprintf(log, "%s: exception for rule %s: %s, skipped\n", e->where, e->rule, why);
	}
	if (!(t->exc_m = matcher_new(&t->exc_rs))) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	if (db) {
		if (!(t->db = db_open(db, suppress_schema_sql, err, errlen)) || load_sups(t, err, errlen))
			goto fail;
	}
	if (rebuild_sups(t, err, errlen))
		goto fail;
	return t;
fail:
	tuning_free(t);
	return NULL;
}

void tuning_free(struct tuning *t)
{
	if (!t)
		return;
	matcher_free(t->exc_m);
	matcher_free(t->sup_m);
	sigma_ruleset_free(&t->exc_rs);
	sigma_ruleset_free(&t->sup_rs);
	for (int i = 0; i < t->nsups; i++)
		sup_free(&t->sups[i]);
	free(t->sups);
	sqlite3_close(t->db);
	free(t->n_alert);
	free(t->n_signal);
	free(t->n_suppressed);
	free(t);
}

bool tuning_is_signal(const struct tuning *t, const struct sigma_rule *r)
{
	return rule_level(r) < t->min_level;
}

void tuning_count(struct tuning *t, const struct sigma_rule *r, bool signal)
{
	if (r->idx >= (unsigned)t->rs->n || t->rs->rules[r->idx] != r)
		return;
	if (signal) {
		t->n_signal[r->idx]++;
		t->signals++;
	} else {
		t->n_alert[r->idx]++;
		t->alerts++;
	}
}

static bool filter_hit(const struct sigma_rule **hits, int n, const struct sigma_rule *f)
{
	for (int i = 0; i < n; i++)
		if (hits[i] == f)
			return true;
	return false;
}

bool tuning_suppressed(struct tuning *t, const struct sigma_rule *r, const struct imm_event *ev)
{
	const struct sigma_rule *hits[64];
	bool sup = false;
	int n;
	if (t->exc_rs.n) {
		n = matcher_match(t->exc_m, ev, hits, 64);
		for (int i = 0; i < n && i < 64 && !sup; i++)
			sup = strcmp(hits[i]->id, r->id) == 0;
	}
	if (!sup && t->nsups) {
		int64_t now = now_ns();
		bool expired = false;
		n = t->sup_rs.n ? matcher_match(t->sup_m, ev, hits, 64) : 0;
		for (int i = 0; i < t->nsups; i++) {
			struct sup *s = &t->sups[i];
			if (s->expires_ns && s->expires_ns <= now) {
				expired = true;
				continue;
			}
			if (strcmp(s->rule, r->id) == 0 && (!s->filter || filter_hit(hits, n < 64 ? n : 64, s->filter))) {
				s->hits++;
				sup = true;
				break;
			}
		}
		if (expired) {
			/* forget what ran out; the rows stay in SQLite as history */
			int k = 0;
			for (int i = 0; i < t->nsups; i++) {
				if (t->sups[i].expires_ns && t->sups[i].expires_ns <= now)
					sup_free(&t->sups[i]);
				else
					t->sups[k++] = t->sups[i];
			}
			t->nsups = k;
			char err[256];
			if (rebuild_sups(t, err, sizeof(err)))
				fprintf(t->log, "immuned: %s\n", err);
		}
	}
	if (sup && r->idx < (unsigned)t->rs->n && t->rs->rules[r->idx] == r) {
		t->n_suppressed[r->idx]++;
		t->suppressed++;
	}
	return sup;
}

static bool valid_utf8(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	while (*p) {
		int n = *p < 0x80 ? 0 : (*p & 0xe0) == 0xc0 ? 1 : (*p & 0xf0) == 0xe0 ? 2 : (*p & 0xf8) == 0xf0 ? 3 : -1;
		if (n < 0 || (n == 1 && *p < 0xc2))
			return false;
		p++;
		for (int i = 0; i < n; i++, p++)
			if ((*p & 0xc0) != 0x80)
				return false;
	}
	return true;
}

long long tuning_suppress(struct tuning *t, const struct suppression *s, char *err, size_t n)
{
	const char *vals[] = { s->rule, s->exe, s->parent, s->cmdline_contains, s->by };
	if (!s->rule || !find_rule(t->rs, s->rule)) {
		snprintf(err, n, "no loaded rule has the id '%s'", s->rule ? s->rule : "");
		return -1;
	}
	for (int i = 0; i < 5; i++) {
		if (vals[i] && (!valid_utf8(vals[i]) || strlen(vals[i]) > 4096)) {
			snprintf(err, n, "values must be valid UTF-8 of at most 4096 bytes");
			return -1;
		}
	}
	long long id = 0;
	for (int i = 0; i < t->nsups; i++)
		if (t->sups[i].id >= id)
			id = t->sups[i].id + 1;
	if (t->db) {
		sqlite3_stmt *st;
		if (sqlite3_prepare_v2(t->db,
				       "INSERT INTO suppressions (rule_id, exe, parent, cmdline_contains, expires_ns, created_ns, "
				       "created_by) VALUES (?,?,?,?,?,?,?)",
				       -1, &st, NULL) != SQLITE_OK) {
			snprintf(err, n, "suppressions: %s", sqlite3_errmsg(t->db));
			return -1;
		}
		for (int i = 0; i < 4; i++)
			sqlite3_bind_text(st, i + 1, vals[i], -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 5, s->expires_ns);
		sqlite3_bind_int64(st, 6, now_ns());
		sqlite3_bind_text(st, 7, s->by ? s->by : "operator", -1, SQLITE_STATIC);
		int rc = sqlite3_step(st);
		sqlite3_finalize(st);
		if (rc != SQLITE_DONE) {
			snprintf(err, n, "suppressions: %s", sqlite3_errmsg(t->db));
			return -1;
		}
		id = sqlite3_last_insert_rowid(t->db);
	} else if (!id) {
		id = 1;
	}
	if (!(t->sups = realloc(t->sups, (t->nsups + 1) * sizeof(*t->sups))))
		abort();
	t->sups[t->nsups++] = (struct sup){
		.id = id,
		.rule = strdup(s->rule),
		.exe = s->exe && *s->exe ? strdup(s->exe) : NULL,
		.parent = s->parent && *s->parent ? strdup(s->parent) : NULL,
		.cmdline = s->cmdline_contains && *s->cmdline_contains ? strdup(s->cmdline_contains) : NULL,
		.by = strdup(s->by ? s->by : "operator"),
		.expires_ns = s->expires_ns,
	};
	if (rebuild_sups(t, err, n)) {
		if (t->db) {
			sqlite3_stmt *st;
			if (sqlite3_prepare_v2(t->db, "DELETE FROM suppressions WHERE id = ?", -1, &st, NULL) == SQLITE_OK) {
				sqlite3_bind_int64(st, 1, id);
				sqlite3_step(st);
				sqlite3_finalize(st);
			}
		}
		sup_free(&t->sups[--t->nsups]);
		char e2[64];
		rebuild_sups(t, e2, sizeof(e2));
		return -1;
	}
	return id;
}

int tuning_unsuppress(struct tuning *t, long long id, char *err, size_t n)
{
	int at = -1;
	for (int i = 0; i < t->nsups; i++)
		if (t->sups[i].id == id)
			at = i;
	if (at < 0) {
		snprintf(err, n, "no suppression %lld in force", id);
		return -1;
	}
	if (t->db) {
		sqlite3_stmt *st;
		if (sqlite3_prepare_v2(t->db, "DELETE FROM suppressions WHERE id = ?", -1, &st, NULL) != SQLITE_OK) {
			snprintf(err, n, "suppressions: %s", sqlite3_errmsg(t->db));
			return -1;
		}
		sqlite3_bind_int64(st, 1, id);
		int rc = sqlite3_step(st);
		sqlite3_finalize(st);
		if (rc != SQLITE_DONE) {
			snprintf(err, n, "suppressions: %s", sqlite3_errmsg(t->db));
			return -1;
		}
	}
	sup_free(&t->sups[at]);
	memmove(&t->sups[at], &t->sups[at + 1], (t->nsups - at - 1) * sizeof(*t->sups));
	t->nsups--;
	return rebuild_sups(t, err, n);
}

static void add_opt(cJSON *o, const char *k, const char *v)
{
	if (v)
		cJSON_AddStringToObject(o, k, v);
}

cJSON *tuning_suppressions_json(struct tuning *t)
{
	cJSON *a = cJSON_CreateArray();
	int64_t now = now_ns();
	for (int i = 0; i < t->nsups; i++) {
		const struct sup *s = &t->sups[i];
		if (s->expires_ns && s->expires_ns <= now)
			continue;
		cJSON *o = cJSON_CreateObject();
		cJSON_AddNumberToObject(o, "id", (double)s->id);
		cJSON_AddStringToObject(o, "rule", s->rule);
		add_opt(o, "exe", s->exe);
		add_opt(o, "parent", s->parent);
		add_opt(o, "cmdline_contains", s->cmdline);
		cJSON_AddNumberToObject(o, "expires_ns", (double)s->expires_ns);
		add_opt(o, "by", s->by);
		cJSON_AddNumberToObject(o, "suppressed", (double)s->hits);
		cJSON_AddItemToArray(a, o);
	}
	return a;
}

void tuning_get_stats(const struct tuning *t, struct tuning_stats *st)
{
	memset(st, 0, sizeof(*st));
	for (int i = 0; i < t->rs->n; i++) {
		if (tuning_is_signal(t, t->rs->rules[i]))
			st->rules_signal++;
		else
			st->rules_alert++;
	}
	st->exceptions = (unsigned)t->exc_rs.n;
	st->suppressions = (unsigned)t->nsups;
	st->alerts = t->alerts;
	st->signals = t->signals;
	st->suppressed = t->suppressed;
}

void tuning_status_json(const struct tuning *t, cJSON *into)
{
	struct tuning_stats st;
	tuning_get_stats(t, &st);
	cJSON_AddStringToObject(into, "min_level", level_name(t->min_level));
	cJSON_AddNumberToObject(into, "rules_alert", st.rules_alert);
	cJSON_AddNumberToObject(into, "rules_signal", st.rules_signal);
	cJSON_AddNumberToObject(into, "exceptions", st.exceptions);
	cJSON_AddNumberToObject(into, "suppressions", st.suppressions);
	cJSON_AddNumberToObject(into, "signals", (double)st.signals);
	cJSON_AddNumberToObject(into, "suppressed", (double)st.suppressed);
	/* per rule, only the rules that matched: rule id → {alerts, signals, suppressed} */
	cJSON *per = cJSON_AddObjectToObject(into, "by_rule");
	for (int i = 0; i < t->rs->n; i++) {
		if (!t->n_alert[i] && !t->n_signal[i] && !t->n_suppressed[i])
			continue;
		cJSON *o = cJSON_GetObjectItemCaseSensitive(per, t->rs->rules[i]->id);
		if (!o) {
			o = cJSON_AddObjectToObject(per, t->rs->rules[i]->id);
			cJSON_AddStringToObject(o, "title", t->rs->rules[i]->title);
			cJSON_AddNumberToObject(o, "alerts", 0);
			cJSON_AddNumberToObject(o, "signals", 0);
			cJSON_AddNumberToObject(o, "suppressed", 0);
		}
		const char *k[] = { "alerts", "signals", "suppressed" };
		const uint64_t v[] = { t->n_alert[i], t->n_signal[i], t->n_suppressed[i] };
		for (int j = 0; j < 3; j++) {
			cJSON *c = cJSON_GetObjectItemCaseSensitive(o, k[j]);
			cJSON_SetNumberValue(c, c->valuedouble + (double)v[j]);
		}
	}
}
