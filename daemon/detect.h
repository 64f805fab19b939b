/*
 * Detection, as the daemon (and replay) call it: Sigma rules (built-in and
 * --rules), IOC sets (--ioc), the compiled matcher, actions through callbacks
 * the caller supplies (this code never touches BPF maps), and incidents
 * printed and stored in SQLite. Single-threaded except for the hashing worker.
 */
#ifndef IMMUNE_DETECT_H
#define IMMUNE_DETECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "event.h"

enum detect_format { DETECT_OUT_NONE = 0, DETECT_OUT_TEXT, DETECT_OUT_JSON };

/*
 * What a block or kill does. Each returns 0 or -errno; a NULL callback means
 * "cannot enforce here" (replay) and the incident says so. dev/ino are as in
 * events (the kernel's encoding); source is "rule:<id>" or "ioc:<file>".
 */
struct detect_actions {
	void *ctx;
	/* kind: "exec" (deny executing that inode) or "file" (deny opening it) */
	int (*block_inode)(void *ctx, const char *kind, uint64_t dev, uint64_t ino, const char *path,
			   const char *source);
	/* ip as text (v4 or v6); port 0 = every port */
	int (*block_net)(void *ctx, const char *ip, uint16_t port, const char *source);
	int (*kill_pid)(void *ctx, uint32_t pid);
};

struct detect_opts {
	const char *const *rule_paths; /* files or directories of Sigma YAML */
	int nrule_paths;
	bool no_builtin;               /* --no-builtin-rules */
	const char *const *ioc_paths;
	int nioc_paths;
	double ioc_fp_rate;            /* Bloom target; 0 → 0.001 */
	const char *db_path;           /* incidents database; NULL: not stored */
	FILE *out;                     /* incidents printed here; NULL: not printed */
	enum detect_format format;
	FILE *log;                     /* skipped rules, bad IOC lines, warnings; NULL → stderr */
	const char *host;              /* NULL: gethostname() */
	struct detect_actions actions;
	bool hash_via_proc;            /* hash /proc/<pid>/exe (the live daemon); replay hashes by path */
	bool report_loaded;            /* also log one line per loaded rule */
	/* each incident, after it is printed and queued for storage (metrics count them by rule) */
	void (*on_incident)(void *ctx, const char *rule_id, const char *level);
	void *on_incident_ctx;
};

struct detect_stats {
	unsigned rules_loaded, rules_skipped, yaml_errors;
	unsigned rules_by_logsource[4]; /* process_creation, file_event, file_access, network_connection */
	uint64_t iocs, ioc_malformed;
	uint64_t events, incidents, blocks, kills, action_errors, db_errors;
	uint64_t hash_submitted, hash_dropped, hash_cache_hits, hash_errors;
	/* correlation rules (correlate.h): groups evicted for room before their window ended lost their state */
	unsigned correlations;
	uint64_t correlations_fired, correlation_groups, correlation_events_held, correlation_groups_expired,
		correlation_groups_evicted, correlation_silent_matches;
};

struct detect;

/* Load everything; NULL with a one-line reason in err (bad --rules path, malformed YAML, bad --ioc file, db). */
struct detect *detect_new(const struct detect_opts *o, char *err, size_t errlen);
/* Match one event; returns the incidents it raised now (hash matches come later, from detect_flush). */
int detect_event(struct detect *d, const struct imm_event *ev);
/* Collect finished hashes and commit pending incidents: call at least every 100 ms. */
void detect_flush(struct detect *d);
/* Wait for every queued hash, then flush (end of replay, shutdown). */
void detect_finish(struct detect *d);
void detect_free(struct detect *d);
void detect_get_stats(const struct detect *d, struct detect_stats *st);
/*
 * A reload: d (just built) takes over from old what is not read from files,
 * the Hive's IOC sets and the counts. Call after detect_finish(old), then
 * free old. 0, or -1 with err and nothing moved.
 */
int detect_adopt(struct detect *d, struct detect *old, char *err, size_t errlen);

#define DETECT_FLEET_IOC_SETS 16
/*
 * Put (or replace) the IOC set `name` pushed by the Hive; text is in the
 * --ioc file format. The whole set is checked before it replaces the one in
 * force: a malformed line refuses it ("hive-NAME:LINE: reason" in err) and
 * the old set stays. 0 or -1.
 */
int detect_set_fleet_ioc(struct detect *d, const char *name, uint64_t version, const char *text, char *err,
			 size_t errlen);

/*
 * `immuned --check-rules PATH...`: one line per rule, "loaded ..." or
 * "skipped FILE ID: reason", then "N loaded, M skipped". Non-zero when a
 * file has malformed YAML or cannot be read.
 */
int detect_check_rules(int npaths, char **paths, FILE *out);

#endif
