/*
 * Sigma correlation rules (the SigmaHQ correlation specification 2.x:
 * event_count, value_count, temporal, temporal_ordered, with group-by,
 * timespan, condition and aliases) evaluated on the event stream as base
 * rules match. State is kept per correlation and group, bounded in groups and
 * in retained events; a group whose window has passed is dropped, and one
 * evicted for room is counted.
 *
 * Beside the event's Sigma fields, group-by knows ProcessTree (the process
 * that started the shell the event came from: see corr_tree_root) and
 * ComputerName / Hostname (this host).
 */
#ifndef IMMUNE_CORRELATE_H
#define IMMUNE_CORRELATE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <yaml.h>
#include "event.h"
#include "jsonw.h"
#include "sigma.h"

enum corr_type { CORR_EVENT_COUNT = 0, CORR_VALUE_COUNT, CORR_TEMPORAL, CORR_TEMPORAL_ORDERED };

#define CORR_MAX_REFS    16
#define CORR_MAX_GROUPBY 8
#define CORR_MAX_NEED    1024 /* largest count a condition may ask for: state per group is bounded by it */

/* group-by keys that are not Sigma fields */
enum { CORR_F_TREE = SIG_F_MAX, CORR_F_HOST };

struct corr_rule {
	char *file, *id, *name, *title, *level, *author, *status, *description;
	char **tags;
	int ntags;
	bool builtin, generate;
	enum corr_type type;
	int64_t timespan_ns;
	char *refs[CORR_MAX_REFS]; /* as written: rule ids or names */
	int nrefs;
	char *group_by[CORR_MAX_GROUPBY];
	int ngroup;
	/* aliases: for group-by i and reference j, the field name (NULL: group_by[i] itself) */
	char *alias_field[CORR_MAX_GROUPBY][CORR_MAX_REFS];
	char *value_field; /* value_count: condition.field */
	/* condition: gt gte lt lte eq neq; has[] says which were given */
	bool has[6];
	int64_t bound[6];

	/* resolved by corr_resolve */
	bool ok, reported;
	char why[256];                        /* when not ok */
	unsigned need;                        /* the count at which the condition first holds */
	const struct sigma_rule *ref_rule[CORR_MAX_REFS];
	int ref_corr[CORR_MAX_REFS];          /* index in the ruleset's correlations, or -1 */
	int key_field[CORR_MAX_REFS][CORR_MAX_GROUPBY];
	int val_field[CORR_MAX_REFS];
};

/*
 * Called by the Sigma loader for a document with a `correlation` section.
 * Appends the rule to rs->corrs (resolved later) or writes "skipped FILE ID:
 * reason" to log. Returns 1 when kept, 0 when skipped.
 */
int corr_load_doc(struct sigma_ruleset *rs, const char *file, yaml_document_t *doc, yaml_node_t *root, bool builtin,
		  FILE *log);
void corr_rule_free(struct corr_rule *c);
/*
 * Once every file is loaded: resolve each correlation's rules (by id or
 * name, base rules or other correlations), its fields and its condition.
 * Writes "loaded FILE ID: title [correlation TYPE, alert]" (report_loaded)
 * or "skipped FILE ID: reason" and counts them in rs->loaded / rs->skipped,
 * once per correlation: a second call (after more files) reports the new ones.
 */
void corr_resolve(struct sigma_ruleset *rs, FILE *log, bool report_loaded);
const char *corr_type_name(enum corr_type t);

/* YAML helpers shared with the Sigma loader (sigma.c). */
yaml_node_t *sig_yget(yaml_document_t *d, yaml_node_t *map, const char *key);
const char *sig_yscalar(yaml_node_t *n);
yaml_node_t *sig_ynode(yaml_document_t *d, int id);

/* ------------------------------------------------------------ the engine */

struct correlator;

struct corr_limits {
	unsigned max_groups; /* 0 → 4096 */
	unsigned max_events; /* events retained over all groups; 0 → 16384 (at most ~14 MB) */
};

struct corr_stats {
	unsigned rules;           /* correlations in force */
	uint64_t fed;             /* base rule (or correlation) matches fed */
	uint64_t fired;
	uint64_t groups;          /* groups held now */
	uint64_t events_held;     /* events retained now */
	uint64_t groups_expired;  /* dropped when their window passed */
	uint64_t groups_evicted;  /* dropped for room before their window passed */
	uint64_t silent_matches;  /* base rule matches that only feed correlations */
};

/* One correlation that fired: what made it. */
struct corr_fire;

/* The ruleset (with its correlations resolved) must outlive the engine. NULL on OOM. */
struct correlator *corr_new(const struct sigma_ruleset *rs, const struct corr_limits *lim);
void corr_free(struct correlator *c);
/* Whether r's own matches raise incidents: not when it only feeds correlations that do not `generate` it. */
bool corr_rule_generates(const struct correlator *c, const struct sigma_rule *r);
/*
 * Feed a base rule's match on ev (at ev->time_ns). The correlations that fire
 * (chains included) are stored in out, at most max; returns how many. Each
 * is freed with corr_fire_free.
 */
int corr_feed(struct correlator *c, const struct sigma_rule *r, const struct imm_event *ev, const char *host,
	      struct corr_fire **out, int max);
/* Drop the groups whose window ended before now_ns. */
void corr_expire(struct correlator *c, int64_t now_ns);
void corr_get_stats(const struct correlator *c, struct corr_stats *st);

const struct corr_rule *corr_fire_rule(const struct corr_fire *f);
unsigned corr_fire_events(const struct corr_fire *f);
/* "Field=value, ..." of the group that fired */
const char *corr_fire_group(const struct corr_fire *f);
/* immune.correlation of the incident, as object `key`: type, group, count, and the events that made it. */
void corr_fire_write_json(struct jw *w, const char *key, const struct corr_fire *f);
void corr_fire_free(struct corr_fire *f);

/*
 * The process tree an event belongs to: from the process up, past the first
 * shell and the shells above it, to the process that started them (a
 * reverse shell's launcher, sshd's session, a cron job's crond). A process
 * with no shell above it is its own tree. The chain is the event's parent
 * and the ancestors enrichment attached. Writes "PID EXE" to buf.
 */
void corr_tree_root(const struct imm_event *ev, char *buf, size_t n);

#endif
