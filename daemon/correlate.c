/*
 * The correlation engine. Each (correlation, group) pair holds a sliding
 * window of the matches that count towards its condition, never more than
 * the condition needs: the last N matches for event_count, one per distinct
 * value for value_count, one per rule for temporal, and for temporal_ordered
 * the latest chain reaching each step. A group fires once its condition
 * holds, gives up the matches that made it, and stays quiet for one timespan
 * so that a burst is one incident, not one per further event.
 */
#include "correlate.h"
#include "event_json.h"
#include "incident.h"
#include "jsonw.h"
#include "match.h"

#include <stdlib.h>
#include <string.h>

#define SUMMARY_MAX   256 /* bytes kept of a command line, executable or target: a held event is at most ~850 bytes */
#define CHAIN_DEPTH   8   /* correlations of correlations */
#define KEY_VALUE_MAX 256
#define FNV_BASIS     1469598103934665603ull

/* One match, as an incident will list it; shared by the groups that hold it. */
struct corr_ev {
	int refs;
	int64_t time_ns;
	uint32_t pid, ppid;
	const char *rule_id, *rule_title; /* the ruleset's: they outlive the engine's state */
	const char *kind;
	char *exe, *cmdline, *target;
};

struct ent {
	int64_t t;
	uint64_t vh; /* value_count: hash of the value */
	struct corr_ev *ev;
};

struct chain {
	int64_t start; /* time of the chain's first event */
	int len;       /* 0: no chain reaches this step */
	struct corr_ev *ev[CORR_MAX_REFS];
};

struct cgroup {
	struct cgroup *hnext, *lprev, *lnext;
	uint64_t h;
	int rule;
	char *key;       /* "Field=value, ..." */
	int64_t last_t, quiet_until;
	struct ent *ent; /* event_count/value_count: oldest first; temporal: one slot per rule */
	int n, cap;
	struct chain *chain; /* temporal_ordered: one per step */
	unsigned held;
};

struct corr_fire {
	const struct corr_rule *rule;
	char *key;
	unsigned count;
	int n;
	struct corr_ev **ev;
};

struct feed {
	const struct sigma_rule *base; /* NULL when the source is a correlation */
	int src_corr;
	int corr, pos;
};

struct correlator {
	const struct sigma_ruleset *rs;
	struct corr_limits lim;
	struct feed *feeds;
	int nfeeds;
	const struct sigma_rule **silent; /* base rules whose matches only feed correlations */
	int nsilent;
	bool *corr_silent; /* by correlation: it only feeds others (a chain's inner step) */
	struct cgroup **buckets;
	unsigned nbuckets;
	struct cgroup *lru_head, *lru_tail; /* least recently touched first */
	int64_t last_sweep;
	struct corr_stats st;
};

/* ------------------------------------------------------------ summaries */

static char *cut(const char *s)
{
	size_t n = s ? strnlen(s, SUMMARY_MAX) : 0;
	char *d = malloc(n + 1);
	if (!d)
		abort();
	memcpy(d, s ? s : "", n);
	d[n] = 0;
	return d;
}

static struct corr_ev *ev_new(const char *rule_id, const char *rule_title, const struct imm_event *ev)
{
	char target[SUMMARY_MAX + 1];
	struct corr_ev *e = calloc(1, sizeof(*e));
	if (!e)
		abort();
	e->refs = 1;
	e->time_ns = ev->time_ns;
	e->pid = ev->pid;
	e->ppid = ev->ppid;
	e->rule_id = rule_id;
	e->rule_title = rule_title;
	e->kind = incident_event_kind(ev);
	e->exe = cut(ev->executable);
	e->cmdline = cut(ev->command_line);
	incident_target(ev, target, sizeof(target));
	e->target = cut(target);
	return e;
}

static struct corr_ev *ev_ref(struct corr_ev *e)
{
	e->refs++;
	return e;
}

static void ev_put(struct corr_ev *e)
{
	if (!e || --e->refs)
		return;
	free(e->exe);
	free(e->cmdline);
	free(e->target);
	free(e);
}

/* ------------------------------------------------------------ process tree */

/* Shells, and the privilege changes an intruder makes inside one (sudo -i) that keep the same session. */
static bool is_shell(const char *exe)
{
	static const char *const shells[] = { "sh",   "bash", "dash",  "zsh",  "ksh", "mksh",    "ash",
					      "fish", "tcsh", "csh",   "rbash", "yash", "sudo", "su",
					      "doas", "runuser", NULL };
	const char *b = exe ? strrchr(exe, '/') : NULL;
	b = b ? b + 1 : exe;
	if (!b || !*b)
		return false;
	for (int i = 0; shells[i]; i++)
		if (strcmp(b, shells[i]) == 0)
			return true;
	return false;
}

void corr_tree_root(const struct imm_event *ev, char *buf, size_t n)
{
	enum { DEPTH = IMM_EVENT_MAX_ANCESTORS + 1 };
	uint32_t pid[DEPTH];
	const char *exe[DEPTH];
	int len = 0;
	pid[len] = ev->pid;
	exe[len++] = ev->executable;
	if (ev->ppid && ev->ppid != ev->pid) {
		/* the parent as the event names it (a recording may not hold the parent's exec), then up */
		pid[len] = ev->ppid;
		exe[len++] = ev->parent_executable;
		for (int i = 1; i < ev->nancestors && len < DEPTH; i++) {
			pid[len] = ev->ancestors[i].pid;
			exe[len++] = ev->ancestors[i].executable ? ev->ancestors[i].executable : "";
		}
	}
	int i = 0;
	while (i < len && !is_shell(exe[i]))
		i++;
	int root = 0;
	if (i < len) {
		while (i + 1 < len && is_shell(exe[i + 1]))
			i++;
		/* the process above the shells; the topmost shell when the chain ends there */
		root = i + 1 < len ? i + 1 : i;
	}
	snprintf(buf, n, "%u %s", pid[root], exe[root] && exe[root][0] ? exe[root] : "?");
}

/* ------------------------------------------------------------ groups */

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
	const unsigned char *s = p;
	for (size_t i = 0; i < n; i++)
		h = (h ^ s[i]) * 1099511628211ull;
	return h;
}

static int64_t span_of(const struct correlator *c, const struct cgroup *g)
{
	return c->rs->corrs[g->rule]->timespan_ns;
}

static void lru_unlink(struct correlator *c, struct cgroup *g)
{
	if (g->lprev)
		g->lprev->lnext = g->lnext;
	else
		c->lru_head = g->lnext;
	if (g->lnext)
		g->lnext->lprev = g->lprev;
	else
		c->lru_tail = g->lprev;
	g->lprev = g->lnext = NULL;
}

static void lru_append(struct correlator *c, struct cgroup *g)
{
	g->lprev = c->lru_tail;
	g->lnext = NULL;
	if (c->lru_tail)
		c->lru_tail->lnext = g;
	else
		c->lru_head = g;
	c->lru_tail = g;
}

/* Give up every held match. */
static void group_clear(struct correlator *c, struct cgroup *g)
{
	const struct corr_rule *r = c->rs->corrs[g->rule];
	int held = r->type == CORR_TEMPORAL ? g->cap : g->n; /* temporal: one slot per rule */
	for (int i = 0; i < held; i++)
		ev_put(g->ent[i].ev);
	memset(g->ent, 0, g->cap * sizeof(*g->ent));
	g->n = 0;
	if (g->chain) {
		for (int s = 0; s < r->nrefs; s++) {
			for (int k = 0; k < g->chain[s].len; k++)
				ev_put(g->chain[s].ev[k]);
			memset(&g->chain[s], 0, sizeof(g->chain[s]));
		}
	}
	c->st.events_held -= g->held;
	g->held = 0;
}

static void group_free(struct correlator *c, struct cgroup *g)
{
	group_clear(c, g);
	struct cgroup **pp = &c->buckets[g->h & (c->nbuckets - 1)];
	while (*pp != g)
		pp = &(*pp)->hnext;
	*pp = g->hnext;
	lru_unlink(c, g);
	free(g->ent);
	free(g->chain);
	free(g->key);
	free(g);
	c->st.groups--;
}

/* The group of (rule, key), made when create says so; NULL otherwise. */
static struct cgroup *group_get(struct correlator *c, int rule, const char *key, int64_t now, bool create)
{
	uint64_t h = fnv(fnv(FNV_BASIS, &rule, sizeof(rule)), key, strlen(key));
	for (struct cgroup *g = c->buckets[h & (c->nbuckets - 1)]; g; g = g->hnext) {
		if (g->h == h && g->rule == rule && strcmp(g->key, key) == 0) {
			lru_unlink(c, g);
			lru_append(c, g);
			return g;
		}
	}
	if (!create)
		return NULL;
	if (c->st.groups >= c->lim.max_groups) {
		group_free(c, c->lru_head);
		c->st.groups_evicted++;
	}
	const struct corr_rule *r = c->rs->corrs[rule];
	struct cgroup *g = calloc(1, sizeof(*g));
	if (!g)
		abort();
	g->h = h;
	g->rule = rule;
	g->key = strdup(key);
	g->last_t = now;
	g->cap = r->type == CORR_TEMPORAL || r->type == CORR_TEMPORAL_ORDERED ? r->nrefs : (int)r->need;
	g->ent = calloc(g->cap, sizeof(*g->ent));
	if (r->type == CORR_TEMPORAL_ORDERED)
		g->chain = calloc(r->nrefs, sizeof(*g->chain));
	if (!g->key || !g->ent || (r->type == CORR_TEMPORAL_ORDERED && !g->chain))
		abort();
	struct cgroup **b = &c->buckets[h & (c->nbuckets - 1)];
	g->hnext = *b;
	*b = g;
	lru_append(c, g);
	c->st.groups++;
	return g;
}

/* Keep the retained matches under the budget: the least recently touched groups go first. */
static void enforce_budget(struct correlator *c, const struct cgroup *keep)
{
	while (c->st.events_held > c->lim.max_events && c->lru_head && c->lru_head != keep) {
		group_free(c, c->lru_head);
		c->st.groups_evicted++;
	}
}

/* ------------------------------------------------------------ windows */

static void drop_old(struct cgroup *g, struct correlator *c, int64_t from)
{
	int k = 0;
	while (k < g->n && g->ent[k].t < from) {
		ev_put(g->ent[k].ev);
		k++;
	}
	if (k) {
		memmove(g->ent, g->ent + k, (g->n - k) * sizeof(*g->ent));
		g->n -= k;
		g->held -= k;
		c->st.events_held -= k;
	}
}

static void push(struct correlator *c, struct cgroup *g, int64_t t, uint64_t vh, struct corr_ev *e)
{
	if (g->n == g->cap) { /* the oldest no longer matters to the condition */
		ev_put(g->ent[0].ev);
		memmove(g->ent, g->ent + 1, (g->n - 1) * sizeof(*g->ent));
		g->n--;
		g->held--;
		c->st.events_held--;
	}
	g->ent[g->n++] = (struct ent){ .t = t, .vh = vh, .ev = ev_ref(e) };
	g->held++;
	c->st.events_held++;
}

/* Add the match at step pos; returns the count the condition is measured on. */
static unsigned add_match(struct correlator *c, struct cgroup *g, const struct corr_rule *r, int pos, uint64_t vh,
			  struct corr_ev *e, int64_t t)
{
	int64_t from = t - r->timespan_ns;
	switch (r->type) {
	case CORR_EVENT_COUNT:
		drop_old(g, c, from);
		push(c, g, t, 0, e);
		return (unsigned)g->n;
	case CORR_VALUE_COUNT:
		drop_old(g, c, from);
		for (int i = 0; i < g->n; i++) {
			if (g->ent[i].vh == vh) { /* seen: it moves to the newest end, keeping its first event */
				struct ent keep = g->ent[i];
				memmove(g->ent + i, g->ent + i + 1, (g->n - i - 1) * sizeof(*g->ent));
				keep.t = t;
				g->ent[g->n - 1] = keep;
				return (unsigned)g->n;
			}
		}
		push(c, g, t, vh, e);
		return (unsigned)g->n;
	case CORR_TEMPORAL: {
		struct ent *s = &g->ent[pos];
		if (!s->ev) {
			g->held++;
			c->st.events_held++;
		}
		ev_put(s->ev);
		*s = (struct ent){ .t = t, .ev = ev_ref(e) };
		unsigned have = 0;
		for (int i = 0; i < r->nrefs; i++)
			have += g->ent[i].ev && g->ent[i].t >= from;
		return have;
	}
	case CORR_TEMPORAL_ORDERED: {
		struct chain *ch = g->chain, nc = { 0 };
		if (pos == 0) {
			nc.start = t;
		} else if (ch[pos - 1].len && ch[pos - 1].start >= from) {
			nc = ch[pos - 1];
			for (int k = 0; k < nc.len; k++)
				ev_ref(nc.ev[k]);
		} else {
			return 0;
		}
		nc.ev[nc.len++] = ev_ref(e);
		g->held -= ch[pos].len;
		c->st.events_held -= ch[pos].len;
		for (int k = 0; k < ch[pos].len; k++)
			ev_put(ch[pos].ev[k]);
		ch[pos] = nc;
		g->held += nc.len;
		c->st.events_held += nc.len;
		return pos == r->nrefs - 1 ? (unsigned)r->nrefs : 0;
	}
	}
	return 0;
}

static struct corr_fire *fire(struct correlator *c, struct cgroup *g, const struct corr_rule *r, int pos,
			      unsigned count)
{
	struct corr_fire *f = calloc(1, sizeof(*f));
	if (!f)
		abort();
	f->rule = r;
	f->key = strdup(g->key);
	f->count = count;
	if (!f->key)
		abort();
	struct corr_ev **list = calloc(g->held + CORR_MAX_REFS, sizeof(*list));
	if (!list)
		abort();
	if (r->type == CORR_TEMPORAL_ORDERED) {
		for (int k = 0; k < g->chain[pos].len; k++)
			list[f->n++] = ev_ref(g->chain[pos].ev[k]);
	} else {
		int64_t from = g->last_t - r->timespan_ns;
		for (int i = 0; i < (r->type == CORR_TEMPORAL ? r->nrefs : g->n); i++)
			if (g->ent[i].ev && g->ent[i].t >= from)
				list[f->n++] = ev_ref(g->ent[i].ev);
	}
	f->ev = list;
	group_clear(c, g);
	g->quiet_until = g->last_t + r->timespan_ns;
	c->st.fired++;
	return f;
}

/* The first value of field f (a Sigma field, CORR_F_TREE or CORR_F_HOST) on ev; "" when it has none. */
static const char *field_value(int f, const struct imm_event *ev, const char *host, char *tree, size_t treelen,
			       char num[24])
{
	const char *vals[2] = { "", "" };
	if (f == CORR_F_TREE) {
		corr_tree_root(ev, tree, treelen);
		return tree;
	}
	if (f == CORR_F_HOST)
		return host ? host : "";
	return match_field_values(ev, f, vals, num) ? vals[0] : "";
}

/* The group key of ev for step pos of correlation ci; -1 when a key field is empty. */
static int group_key(const struct corr_rule *r, int pos, const struct imm_event *ev, const char *host, char *buf,
		     size_t n)
{
	size_t len = 0;
	buf[0] = 0;
	for (int g = 0; g < r->ngroup; g++) {
		char num[24], tree[KEY_VALUE_MAX + 32];
		const char *v = field_value(r->key_field[pos][g], ev, host, tree, sizeof(tree), num);
		if (!v[0])
			return -1; /* Sigma's group-by: an event without the field is in no group */
		int w = snprintf(buf + len, n - len, "%s%s=%.*s", g ? ", " : "", r->group_by[g], KEY_VALUE_MAX, v);
		if (w < 0 || (size_t)w >= n - len)
			return -1;
		len += (size_t)w;
	}
	return 0;
}

static int feed_corr(struct correlator *c, int ci, int pos, struct corr_ev *e, const struct imm_event *ev,
		     const char *host, struct corr_fire **out, int max, int depth);

/* Every correlation fed by this source (a base rule, or correlation src_corr). */
static int feed_source(struct correlator *c, const struct sigma_rule *base, int src_corr, struct corr_ev *e,
		       const struct imm_event *ev, const char *host, struct corr_fire **out, int max, int depth)
{
	int n = 0;
	/* for one source, later steps first: one event must not advance a sequence twice */
	for (int i = c->nfeeds - 1; i >= 0; i--) {
		const struct feed *fd = &c->feeds[i];
		if (fd->base == base && (base || fd->src_corr == src_corr))
			n += feed_corr(c, fd->corr, fd->pos, e, ev, host, out + n, max - n, depth);
	}
	return n;
}

static int feed_corr(struct correlator *c, int ci, int pos, struct corr_ev *e, const struct imm_event *ev,
		     const char *host, struct corr_fire **out, int max, int depth)
{
	const struct corr_rule *r = c->rs->corrs[ci];
	char key[CORR_MAX_GROUPBY * (KEY_VALUE_MAX + 64)], num[24];
	uint64_t vh = 0;
	if (group_key(r, pos, ev, host, key, sizeof(key)))
		return 0;
	if (r->type == CORR_VALUE_COUNT) {
		char tree[KEY_VALUE_MAX + 32];
		const char *v = field_value(r->val_field[pos], ev, host, tree, sizeof(tree), num);
		if (!v[0])
			return 0; /* no value to count */
		vh = fnv(FNV_BASIS, v, strlen(v));
	}
	int64_t t = ev->time_ns;
	/* a later step of a sequence nobody started needs no state: routine events (any connect, any exec)
	 * must not crowd out the groups that matter */
	struct cgroup *g = group_get(c, ci, key, t, !(r->type == CORR_TEMPORAL_ORDERED && pos > 0));
	if (!g)
		return 0;
	if (t > g->last_t)
		g->last_t = t;
	unsigned count = add_match(c, g, r, pos, vh, e, t);
	enforce_budget(c, g);
	if (count < r->need || t < g->quiet_until || max <= 0)
		return 0;
	struct corr_fire *f = fire(c, g, r, pos, count);
	int n = 0;
	if (c->corr_silent[ci])
		corr_fire_free(f);
	else
		out[n++] = f;
	if (depth < CHAIN_DEPTH) {
		struct corr_ev *ce = ev_new(r->id, r->title, ev);
		n += feed_source(c, NULL, ci, ce, ev, host, out + n, max - n, depth + 1);
		ev_put(ce);
	}
	return n;
}

/* ------------------------------------------------------------ API */

struct correlator *corr_new(const struct sigma_ruleset *rs, const struct corr_limits *lim)
{
	struct correlator *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->rs = rs;
	c->lim.max_groups = lim && lim->max_groups ? lim->max_groups : 4096;
	c->lim.max_events = lim && lim->max_events ? lim->max_events : 16384;
	c->nbuckets = 16;
	while (c->nbuckets < c->lim.max_groups)
		c->nbuckets <<= 1;
	c->buckets = calloc(c->nbuckets, sizeof(*c->buckets));
	int nf = 0;
	for (int i = 0; i < rs->ncorrs; i++)
		nf += rs->corrs[i]->ok ? rs->corrs[i]->nrefs : 0;
	c->feeds = calloc(nf + 1, sizeof(*c->feeds));
	c->silent = calloc(nf + 1, sizeof(*c->silent));
	c->corr_silent = calloc(rs->ncorrs + 1, sizeof(*c->corr_silent));
	if (!c->buckets || !c->feeds || !c->silent || !c->corr_silent) {
		corr_free(c);
		return NULL;
	}
	for (int i = 0; i < rs->ncorrs; i++) {
		const struct corr_rule *r = rs->corrs[i];
		if (!r->ok)
			continue;
		c->st.rules++;
		for (int j = 0; j < r->nrefs; j++)
			c->feeds[c->nfeeds++] = (struct feed){ .base = r->ref_rule[j], .src_corr = r->ref_corr[j], .corr = i,
							      .pos = j };
	}
	/* a rule (base or correlation) is silent when every correlation using it leaves `generate` false */
	for (int i = 0; i < c->nfeeds; i++) {
		int src = c->feeds[i].src_corr;
		if (c->feeds[i].base || src < 0)
			continue;
		bool gen = false;
		for (int k = 0; k < c->nfeeds; k++)
			if (!c->feeds[k].base && c->feeds[k].src_corr == src)
				gen |= rs->corrs[c->feeds[k].corr]->generate;
		c->corr_silent[src] = !gen;
	}
	for (int i = 0; i < c->nfeeds; i++) {
		const struct sigma_rule *b = c->feeds[i].base;
		bool gen = false, seen = false;
		for (int k = 0; k < c->nfeeds && b; k++)
			if (c->feeds[k].base == b)
				gen |= rs->corrs[c->feeds[k].corr]->generate;
		for (int k = 0; k < c->nsilent; k++)
			seen |= c->silent[k] == b;
		if (b && !gen && !seen)
			c->silent[c->nsilent++] = b;
	}
	return c;
}

void corr_free(struct correlator *c)
{
	if (!c)
		return;
	while (c->lru_head)
		group_free(c, c->lru_head);
	free(c->buckets);
	free(c->feeds);
	free(c->silent);
	free(c->corr_silent);
	free(c);
}

bool corr_rule_generates(const struct correlator *c, const struct sigma_rule *r)
{
	for (int i = 0; c && i < c->nsilent; i++)
		if (c->silent[i] == r)
			return false;
	return true;
}

int corr_feed(struct correlator *c, const struct sigma_rule *r, const struct imm_event *ev, const char *host,
	      struct corr_fire **out, int max)
{
	if (!c || !c->nfeeds)
		return 0;
	bool used = false;
	for (int i = 0; i < c->nfeeds && !used; i++)
		used = c->feeds[i].base == r;
	if (!used)
		return 0;
	c->st.fed++;
	if (!corr_rule_generates(c, r))
		c->st.silent_matches++;
	struct corr_ev *e = ev_new(r->id, r->title, ev);
	int n = feed_source(c, r, -1, e, ev, host, out, max, 0);
	ev_put(e);
	return n;
}

void corr_expire(struct correlator *c, int64_t now)
{
	if (!c || now - c->last_sweep < 1000000000LL)
		return;
	c->last_sweep = now;
	for (struct cgroup *g = c->lru_head, *next; g; g = next) {
		next = g->lnext;
		int64_t end = g->last_t + span_of(c, g);
		if (end < now && g->quiet_until < now) {
			group_free(c, g);
			c->st.groups_expired++;
		}
	}
}

void corr_get_stats(const struct correlator *c, struct corr_stats *st)
{
	if (c)
		*st = c->st;
	else
		memset(st, 0, sizeof(*st));
}

const struct corr_rule *corr_fire_rule(const struct corr_fire *f)
{
	return f->rule;
}

unsigned corr_fire_events(const struct corr_fire *f)
{
	return (unsigned)f->n;
}

const char *corr_fire_group(const struct corr_fire *f)
{
	return f->key;
}

void corr_fire_write_json(struct jw *w, const char *key, const struct corr_fire *f)
{
	char ts[64];
	jw_obj(w, key);
	jw_str(w, "type", corr_type_name(f->rule->type));
	jw_str(w, "group", f->key);
	jw_uint(w, "count", f->count);
	jw_uint(w, "timespan_s", (uint64_t)(f->rule->timespan_ns / 1000000000LL));
	jw_arr(w, "rules");
	for (int j = 0; j < f->rule->nrefs; j++)
		jw_str(w, NULL, f->rule->refs[j]);
	jw_end_arr(w);
	jw_arr(w, "events");
	for (int i = 0; i < f->n; i++) {
		const struct corr_ev *e = f->ev[i];
		event_timestamp(e->time_ns, ts, sizeof(ts));
		jw_obj(w, NULL);
		jw_str(w, "@timestamp", ts);
		jw_str(w, "rule_id", e->rule_id);
		jw_str(w, "rule_name", e->rule_title);
		jw_str(w, "action", e->kind);
		jw_uint(w, "pid", e->pid);
		jw_uint(w, "ppid", e->ppid);
		jw_str(w, "executable", e->exe);
		jw_str(w, "command_line", e->cmdline);
		jw_str(w, "target", e->target);
		jw_end_obj(w);
	}
	jw_end_arr(w);
	jw_end_obj(w);
}

void corr_fire_free(struct corr_fire *f)
{
	if (!f)
		return;
	for (int i = 0; i < f->n; i++)
		ev_put(f->ev[i]);
	free(f->ev);
	free(f->key);
	free(f);
}
