/*
 * Tuning: what an operator changes about the shipped rules without editing
 * them. The severity policy (rules below --min-level, and the SigmaHQ
 * threat-hunting folder, raise signals, not alerts), rules or folders
 * disabled by id, exceptions from a local override file, and suppressions
 * added live with `immunectl suppress` and kept in SQLite. Exceptions and
 * suppressions are compiled as Sigma rules of the suppressed rule's category
 * (so they take every Sigma field and modifier) and only evaluated when that
 * rule matched. Every suppressed match is counted per rule.
 */
#ifndef IMMUNE_TUNING_H
#define IMMUNE_TUNING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <cjson/cJSON.h>
#include "event.h"
#include "sigma.h"

enum rule_level { LEVEL_INFORMATIONAL = 0, LEVEL_LOW, LEVEL_MEDIUM, LEVEL_HIGH, LEVEL_CRITICAL, LEVEL_MAX };

/* "informational", "low", ...: the level, or -1. */
int level_parse(const char *s);
const char *level_name(int level);
/* The level a rule counts at: its own (medium when unset), threat-hunting rules at most low. */
int rule_level(const struct sigma_rule *r);

/* A rule id, or a folder of the shipped rules: "rules-threat-hunting", "linux/network_connection", "builtin". */
bool rule_selected_by(const struct sigma_rule *r, const char *id_or_folder);

/* The override file: rules to disable, and exceptions compiled once the rules are loaded. */
struct override_exc {
	char *where; /* FILE:LINE */
	char *rule, *name;
	char *selections; /* Sigma selections t0..tN (YAML), any of which is the exception */
};
struct override_level {
	char *where, *rule;
	int level;
};
struct overrides {
	char **disable;
	int ndisable;
	struct override_level *levels; /* levels: {rule id: level} */
	int nlevels;
	struct override_exc *exc;
	int nexc;
};

/*
 * Read an override file. A malformed entry is reported as "FILE:LINE:
 * reason, skipped" on log and the rest is kept; an unreadable file or
 * malformed YAML is -1 with the reason in err.
 */
int overrides_load(struct overrides *o, const char *path, FILE *log, char *err, size_t errlen);
/* The same from text (name says where it came from); o accumulates, later entries win. */
int overrides_load_text(struct overrides *o, const char *name, const char *text, size_t len, FILE *log, char *err,
			size_t errlen);
/* The shipped tuning: the YAML files of rules/policy, embedded at build time. */
int overrides_load_shipped(struct overrides *o, FILE *log, char *err, size_t errlen);
/* Set the levels the overrides give (a rule not loaded is skipped: quietly for the shipped ones). */
void overrides_apply_levels(const struct overrides *o, struct sigma_ruleset *rs, FILE *log);
void overrides_free(struct overrides *o);

struct tuning;

/* rs must outlive the tuning; db NULL: suppressions are not kept. NULL with err. */
struct tuning *tuning_new(const struct sigma_ruleset *rs, int min_level, const struct overrides *ov, const char *db,
			  FILE *log, char *err, size_t errlen);
void tuning_free(struct tuning *t);

/* Does rule r raise a signal rather than an alert? */
bool tuning_is_signal(const struct tuning *t, const struct sigma_rule *r);
/* Is this match of r suppressed (an exception or a live suppression)? Counts it. */
bool tuning_suppressed(struct tuning *t, const struct sigma_rule *r, const struct imm_event *ev);
/* Count a raised alert or signal for r. */
void tuning_count(struct tuning *t, const struct sigma_rule *r, bool signal);

struct suppression {
	const char *rule, *exe, *parent, *cmdline_contains;
	int64_t expires_ns; /* 0: never */
	const char *by;     /* who added it, e.g. "operator:0" */
};
/* Add, store and apply now; the new id, or -1 with err (unknown rule, bad value, db). */
long long tuning_suppress(struct tuning *t, const struct suppression *s, char *err, size_t errlen);
/* 0, or -1 when there is no such id. */
int tuning_unsuppress(struct tuning *t, long long id, char *err, size_t errlen);
/* The live suppressions as a JSON array (id, rule, exe, parent, cmdline_contains, expires_ns, by, suppressed). */
cJSON *tuning_suppressions_json(struct tuning *t);
/* "policy" for status: min_level, rule counts, signals, suppressed per rule. */
void tuning_status_json(const struct tuning *t, cJSON *into);

struct tuning_stats {
	unsigned rules_alert, rules_signal, exceptions, suppressions;
	uint64_t alerts, signals, suppressed;
};
void tuning_get_stats(const struct tuning *t, struct tuning_stats *st);

#endif
