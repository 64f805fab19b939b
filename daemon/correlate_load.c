/*
 * Correlation rules from YAML, and their resolution once every file is in:
 * the rules they name may come later in the same file, or from another file.
 * What the engine cannot evaluate faithfully on a stream is skipped with the
 * reason, never approximated.
 */
#include "correlate.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum { C_GT = 0, C_GTE, C_LT, C_LTE, C_EQ, C_NEQ };
static const char *const cond_names[6] = { "gt", "gte", "lt", "lte", "eq", "neq" };
static const char *const type_names[] = { "event_count", "value_count", "temporal", "temporal_ordered" };

const char *corr_type_name(enum corr_type t)
{
	return (unsigned)t < 4 ? type_names[t] : "?";
}

static char *xstrdup(const char *s)
{
	char *d = strdup(s ? s : "");
	if (!d)
		abort();
	return d;
}

void corr_rule_free(struct corr_rule *c)
{
	if (!c)
		return;
	free(c->file);
	free(c->id);
	free(c->name);
	free(c->title);
	free(c->level);
	free(c->author);
	free(c->status);
	free(c->description);
	for (int i = 0; i < c->ntags; i++)
		free(c->tags[i]);
	free(c->tags);
	for (int i = 0; i < c->nrefs; i++)
		free(c->refs[i]);
	for (int i = 0; i < c->ngroup; i++) {
		free(c->group_by[i]);
		for (int j = 0; j < CORR_MAX_REFS; j++)
			free(c->alias_field[i][j]);
	}
	free(c->value_field);
	free(c);
}

struct cl {
	struct corr_rule *c;
	yaml_document_t *doc;
	char why[512];
};

static int bad(struct cl *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int bad(struct cl *l, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(l->why, sizeof(l->why), fmt, ap);
	va_end(ap);
	return -1;
}

static const char *gets_(struct cl *l, yaml_node_t *map, const char *key)
{
	return sig_yscalar(sig_yget(l->doc, map, key));
}

/* A scalar or a list of scalars into out[]; -1 past max or on a non-scalar. */
static int str_list(struct cl *l, yaml_node_t *n, const char *what, char **out, int max, int *count)
{
	*count = 0;
	if (!n)
		return 0;
	if (n->type == YAML_SCALAR_NODE) {
		out[(*count)++] = xstrdup(sig_yscalar(n));
		return 0;
	}
	if (n->type != YAML_SEQUENCE_NODE)
		return bad(l, "%s must be a list", what);
	for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top; it++) {
		const char *s = sig_yscalar(sig_ynode(l->doc, *it));
		if (!s)
			return bad(l, "%s: an item is not text", what);
		if (*count == max)
			return bad(l, "%s: more than %d entries", what, max);
		out[(*count)++] = xstrdup(s);
	}
	return 0;
}

/* "90m": a number and s, m, h or d; at most 30 days. */
static int parse_timespan(const char *s, int64_t *ns)
{
	char *end;
	if (!s || !isdigit((unsigned char)*s))
		return -1;
	unsigned long long v = strtoull(s, &end, 10);
	int64_t unit = *end == 's' ? 1 : *end == 'm' ? 60 : *end == 'h' ? 3600 : *end == 'd' ? 86400 : 0;
	if (!unit || end[1] || !v || v > 30ull * 86400 / (uint64_t)unit)
		return -1;
	*ns = (int64_t)v * unit * 1000000000LL;
	return 0;
}

static int parse_condition(struct cl *l, yaml_node_t *cond)
{
	struct corr_rule *c = l->c;
	if (!cond)
		return c->type == CORR_TEMPORAL || c->type == CORR_TEMPORAL_ORDERED ? 0 : bad(l, "%s needs a condition",
											      corr_type_name(c->type));
	if (cond->type != YAML_MAPPING_NODE)
		return bad(l, "condition must be a map (gte: N, ...)");
	for (yaml_node_pair_t *p = cond->data.mapping.pairs.start; p < cond->data.mapping.pairs.top; p++) {
		const char *k = sig_yscalar(sig_ynode(l->doc, p->key));
		const char *v = sig_yscalar(sig_ynode(l->doc, p->value));
		if (!k || !v)
			return bad(l, "condition: keys and values must be text");
		if (strcmp(k, "field") == 0) {
			free(c->value_field);
			c->value_field = xstrdup(v);
			continue;
		}
		int i = 0;
		while (i < 6 && strcmp(k, cond_names[i]))
			i++;
		if (i == 6)
			return bad(l, "condition: '%.40s' is not gt, gte, lt, lte, eq, neq or field", k);
		char *end;
		long long n = strtoll(v, &end, 10);
		if (!*v || *end || n < 0 || n > 1000000000)
			return bad(l, "condition: %s needs a whole number, not '%.40s'", k, v);
		c->has[i] = true;
		c->bound[i] = n;
	}
	if (c->type == CORR_VALUE_COUNT && !c->value_field)
		return bad(l, "value_count needs condition.field");
	if (c->type != CORR_VALUE_COUNT && c->value_field)
		return bad(l, "condition.field is for value_count only");
	return 0;
}

static int ref_index(const struct corr_rule *c, const char *name)
{
	for (int j = 0; j < c->nrefs; j++)
		if (strcmp(c->refs[j], name) == 0)
			return j;
	return -1;
}

static int parse_aliases(struct cl *l, yaml_node_t *al)
{
	struct corr_rule *c = l->c;
	if (!al)
		return 0;
	if (al->type != YAML_MAPPING_NODE)
		return bad(l, "aliases must be a map");
	for (yaml_node_pair_t *p = al->data.mapping.pairs.start; p < al->data.mapping.pairs.top; p++) {
		const char *alias = sig_yscalar(sig_ynode(l->doc, p->key));
		yaml_node_t *m = sig_ynode(l->doc, p->value);
		int gi = -1;
		for (int i = 0; alias && i < c->ngroup; i++)
			if (strcmp(c->group_by[i], alias) == 0)
				gi = i;
		if (!alias || !m || m->type != YAML_MAPPING_NODE)
			return bad(l, "aliases: each alias maps rule names to fields");
		if (gi < 0)
			continue; /* an alias that group-by does not use changes nothing */
		for (yaml_node_pair_t *q = m->data.mapping.pairs.start; q < m->data.mapping.pairs.top; q++) {
			const char *rn = sig_yscalar(sig_ynode(l->doc, q->key));
			const char *f = sig_yscalar(sig_ynode(l->doc, q->value));
			int j = rn ? ref_index(c, rn) : -1;
			if (!f || j < 0)
				return bad(l, "aliases.%s: '%.60s' is not one of the correlation's rules", alias,
					   rn ? rn : "?");
			free(c->alias_field[gi][j]);
			c->alias_field[gi][j] = xstrdup(f);
		}
	}
	return 0;
}

static int parse_corr(struct cl *l, yaml_node_t *root)
{
	struct corr_rule *c = l->c;
	yaml_node_t *co = sig_yget(l->doc, root, "correlation");
	if (!co || co->type != YAML_MAPPING_NODE)
		return bad(l, "correlation must be a map");
	if (!c->title[0])
		return bad(l, "no title");
	if (!strcmp(c->status, "deprecated") || !strcmp(c->status, "unsupported"))
		return bad(l, "status %s", c->status);
	const char *g = gets_(l, root, "generate");
	if (g && strcmp(g, "true") && strcmp(g, "false"))
		return bad(l, "generate must be true or false");
	c->generate = g && strcmp(g, "true") == 0;
	yaml_node_t *im = sig_yget(l->doc, root, "immune");
	if (im) {
		const char *act = im->type == YAML_MAPPING_NODE ? gets_(l, im, "action") : NULL;
		if (!act || strcmp(act, "alert"))
			return bad(l, "immune.action: correlations only alert (a block would fall on whichever event came last)");
	}

	const char *t = gets_(l, co, "type");
	int ti = -1;
	for (int i = 0; t && i < 4; i++)
		if (strcmp(t, type_names[i]) == 0)
			ti = i;
	if (ti < 0)
		return bad(l, "correlation type '%.40s' not supported (event_count, value_count, temporal, temporal_ordered)",
			   t ? t : "(none)");
	c->type = ti;
	if (str_list(l, sig_yget(l->doc, co, "rules"), "rules", c->refs, CORR_MAX_REFS, &c->nrefs))
		return -1;
	if (!c->nrefs)
		return bad(l, "correlation without rules");
	for (int j = 0; j < c->nrefs; j++)
		if (ref_index(c, c->refs[j]) != j)
			return bad(l, "rule '%.60s' named twice", c->refs[j]);
	if (str_list(l, sig_yget(l->doc, co, "group-by"), "group-by", c->group_by, CORR_MAX_GROUPBY, &c->ngroup))
		return -1;
	if (parse_timespan(gets_(l, co, "timespan"), &c->timespan_ns))
		return bad(l, "timespan must be a number and s, m, h or d (at most 30d), not '%.40s'",
			   gets_(l, co, "timespan") ? gets_(l, co, "timespan") : "(none)");
	if (parse_aliases(l, sig_yget(l->doc, co, "aliases")))
		return -1;
	return parse_condition(l, sig_yget(l->doc, co, "condition"));
}

static void rs_add_corr(struct sigma_ruleset *rs, struct corr_rule *c)
{
	if (rs->ncorrs == rs->capcorrs) {
		int cap = rs->capcorrs ? rs->capcorrs * 2 : 16;
		struct corr_rule **n = realloc(rs->corrs, cap * sizeof(*n));
		if (!n)
			abort();
		rs->corrs = n;
		rs->capcorrs = cap;
	}
	rs->corrs[rs->ncorrs++] = c;
}

int corr_load_doc(struct sigma_ruleset *rs, const char *file, yaml_document_t *doc, yaml_node_t *root, bool builtin,
		  FILE *log)
{
	struct corr_rule *c = calloc(1, sizeof(*c));
	if (!c)
		abort();
	struct cl l = { .c = c, .doc = doc };
	c->builtin = builtin;
	c->file = xstrdup(file);
	c->id = xstrdup(gets_(&l, root, "id") ? gets_(&l, root, "id") : file);
	c->name = gets_(&l, root, "name") ? xstrdup(gets_(&l, root, "name")) : NULL;
	c->title = xstrdup(gets_(&l, root, "title"));
	c->level = xstrdup(gets_(&l, root, "level"));
	c->author = xstrdup(gets_(&l, root, "author"));
	c->status = xstrdup(gets_(&l, root, "status"));
	c->description = xstrdup(gets_(&l, root, "description"));
	yaml_node_t *tags = sig_yget(doc, root, "tags");
	if (tags && tags->type == YAML_SEQUENCE_NODE) {
		int n = tags->data.sequence.items.top - tags->data.sequence.items.start;
		c->tags = calloc(n + 1, sizeof(*c->tags));
		if (!c->tags)
			abort();
		for (int i = 0; i < n; i++) {
			const char *s = sig_yscalar(sig_ynode(doc, tags->data.sequence.items.start[i]));
			if (s)
				c->tags[c->ntags++] = xstrdup(s);
		}
	}
	if (parse_corr(&l, root)) {
		fprintf(log, "skipped %s %s: %s\n", file, c->id, l.why);
		rs->skipped++;
		corr_rule_free(c);
		return 0;
	}
	rs_add_corr(rs, c);
	return 1;
}

/* ------------------------------------------------------------ resolution */

static int field_id(const char *name)
{
	if (strcmp(name, "ProcessTree") == 0)
		return CORR_F_TREE;
	if (!strcasecmp(name, "ComputerName") || !strcasecmp(name, "Computer") || !strcasecmp(name, "Hostname") ||
	    !strcmp(name, "host.name"))
		return CORR_F_HOST;
	return sig_field_from_name(name);
}

/* The smallest count meeting the condition; 0 when none up to CORR_MAX_NEED. */
static unsigned need_of(const struct corr_rule *c)
{
	for (int64_t n = 1; n <= CORR_MAX_NEED; n++) {
		if ((c->has[C_GT] && !(n > c->bound[C_GT])) || (c->has[C_GTE] && !(n >= c->bound[C_GTE])) ||
		    (c->has[C_LT] && !(n < c->bound[C_LT])) || (c->has[C_LTE] && !(n <= c->bound[C_LTE])) ||
		    (c->has[C_EQ] && n != c->bound[C_EQ]) || (c->has[C_NEQ] && n == c->bound[C_NEQ]))
			continue;
		return (unsigned)n;
	}
	return 0;
}

static int check_field(const struct corr_rule *c, int j, const char *name, int *out, char *why, size_t n)
{
	int f = field_id(name);
	if (f < 0) {
		snprintf(why, n, "field %s not produced by the agent", name);
		return -1;
	}
	const struct sigma_rule *r = c->ref_rule[j];
	if (r && f < SIG_F_MAX && !sig_field_allowed(r->ls, f)) {
		snprintf(why, n, "field %s not available for %s (rule %s)", name, sig_logsource_name(r->ls), c->refs[j]);
		return -1;
	}
	*out = f;
	return 0;
}

/* 0 when c can be evaluated; otherwise -1 and the reason in c->why. state: 0 new, 1 resolving, 2 done. */
static int resolve_one(struct sigma_ruleset *rs, int ci, char *state)
{
	struct corr_rule *c = rs->corrs[ci];
	char *why = c->why;
	size_t n = sizeof(c->why);
	if (state[ci] == 2)
		return c->ok ? 0 : -1;
	if (state[ci] == 1)
		return -1; /* the caller names the loop */
	state[ci] = 1;
	int rc = -1;
	for (int j = 0; j < c->nrefs; j++) {
		c->ref_rule[j] = NULL;
		c->ref_corr[j] = -1;
		for (int i = 0; i < rs->n && !c->ref_rule[j]; i++) {
			const struct sigma_rule *r = rs->rules[i];
			if (strcmp(r->id, c->refs[j]) == 0 || (r->name && strcmp(r->name, c->refs[j]) == 0))
				c->ref_rule[j] = r;
		}
		for (int i = 0; i < rs->ncorrs && !c->ref_rule[j] && c->ref_corr[j] < 0; i++) {
			const struct corr_rule *o = rs->corrs[i];
			if (i != ci && (strcmp(o->id, c->refs[j]) == 0 || (o->name && strcmp(o->name, c->refs[j]) == 0)))
				c->ref_corr[j] = i;
		}
		if (!c->ref_rule[j] && c->ref_corr[j] < 0) {
			snprintf(why, n, "rule '%s' is not loaded", c->refs[j]);
			goto out;
		}
		if (c->ref_corr[j] >= 0 && state[c->ref_corr[j]] == 1) {
			snprintf(why, n, "correlations refer to each other in a loop (through '%s')", c->refs[j]);
			goto out;
		}
		if (c->ref_corr[j] >= 0 && resolve_one(rs, c->ref_corr[j], state)) {
			snprintf(why, n, "correlation '%s' does not load", c->refs[j]);
			goto out;
		}
		for (int g = 0; g < c->ngroup; g++)
			if (check_field(c, j, c->alias_field[g][j] ? c->alias_field[g][j] : c->group_by[g],
					&c->key_field[j][g], why, n))
				goto out;
		if (c->value_field && check_field(c, j, c->value_field, &c->val_field[j], why, n))
			goto out;
	}
	bool lower = c->has[C_GT] || c->has[C_GTE] || c->has[C_EQ];
	bool any = lower || c->has[C_LT] || c->has[C_LTE] || c->has[C_NEQ];
	if (!any) {
		c->need = (unsigned)c->nrefs; /* temporal without a condition: every rule */
	} else if (!lower) {
		snprintf(why, n, "a condition without gt, gte or eq holds before any event: on a stream it cannot wait "
				 "for a window to close");
		goto out;
	} else if (!(c->need = need_of(c))) {
		snprintf(why, n, "the condition holds for no count up to %d", CORR_MAX_NEED);
		goto out;
	}
	if ((c->type == CORR_TEMPORAL || c->type == CORR_TEMPORAL_ORDERED) && c->need > (unsigned)c->nrefs) {
		snprintf(why, n, "the condition asks for %u rules of %d", c->need, c->nrefs);
		goto out;
	}
	if (c->type == CORR_TEMPORAL_ORDERED && c->need != (unsigned)c->nrefs) {
		snprintf(why, n, "temporal_ordered counts every rule in order; a condition for fewer is not supported");
		goto out;
	}
	rc = 0;
out:
	c->ok = rc == 0;
	state[ci] = 2;
	return rc;
}

void corr_resolve(struct sigma_ruleset *rs, FILE *log, bool report_loaded)
{
	char *state = calloc(rs->ncorrs + 1, 1);
	if (!state)
		abort();
	for (int i = 0; i < rs->ncorrs; i++)
		resolve_one(rs, i, state);
	for (int i = 0; i < rs->ncorrs; i++) {
		struct corr_rule *c = rs->corrs[i];
		if (c->reported)
			continue;
		c->reported = true;
		if (c->ok) {
			if (report_loaded)
				fprintf(log, "loaded  %s %s: %s [correlation %s, alert]\n", c->file, c->id, c->title,
					corr_type_name(c->type));
			rs->loaded++;
		} else {
			fprintf(log, "skipped %s %s: %s\n", c->file, c->id, c->why);
			rs->skipped++;
		}
	}
	free(state);
}
