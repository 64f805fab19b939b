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
#include "gate_rules.h"

enum detect_format { DETECT_OUT_NONE = 0, DETECT_OUT_TEXT, DETECT_OUT_JSON };

/*
 * What a block or kill does. Each returns 0 or -errno; a NULL callback means
 * "cannot enforce here" (replay) and the incident says so. dev/ino are as in
 * events (the kernel's encoding); source is "rule:<id>" or "ioc:<file>".
 */
struct verdict_guard;

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
	const char *const *disable;    /* --disable-rule: rule ids or folders of the shipped rules */
	int ndisable;
	const char *overrides;         /* --overrides FILE: disable: and exceptions:; NULL: none */
	int min_level;                 /* --min-level as enum rule_level; 0 with min_level_set false → medium */
	bool min_level_set;
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
	/* binaries no rule or indicator blocks (block rules naming one are refused at load) */
	const struct protected_set *protect;
	/* what no block may cover (the agent's link to its Hive): a match whose
	 * destination it covers alerts only; NULL: nothing guarded */
	const struct verdict_guard *guard;
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
	/* blocks and kills done while the gate held the syscall, and after it completed */
	uint64_t first_attempt, after_match;
	uint64_t protected_refusals;
	/* block and kill rules, by whether the running holds stop their first attempt */
	unsigned rules_first_attempt, rules_after_match, rules_refused;
	uint64_t regex_errors; /* regex evaluations that failed (limits, JIT stack): possible misses, logged */
	unsigned rules_disabled, rules_alert, rules_signal;
	uint64_t signals, suppressed;
	/* correlation rules (correlate.h): groups evicted for room before their window ended lost their state */
	unsigned correlations;
	uint64_t correlations_fired, correlation_groups, correlation_events_held, correlation_groups_expired,
		correlation_groups_evicted, correlation_silent_matches;
};

struct detect;
struct protected_set;

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
/* The severity policy, exceptions and suppressions in force (tuning.h), for the control socket. */
struct tuning *detect_tuning(struct detect *d);
/*
 * A reload: d (just built) takes over from old what is not read from files,
 * the Hive's IOC sets and the counts. Call after detect_finish(old), then
 * free old. 0, or -1 with err and nothing moved.
 */
int detect_adopt(struct detect *d, struct detect *old, char *err, size_t errlen);

/*
 * The gate's questions. detect_judge runs the block and kill rules and the
 * blocking indicators on an exec or open that is held before it completes
 * (ev->gate_held set; sha the executable's SHA-256, or NULL when no sha256
 * block is loaded), raises their incidents and returns whether to deny it.
 * The sensor's event of the same syscall later comes with ev->gate_judged,
 * and then only the alert rules run on it.
 */
bool detect_judge(struct detect *d, const struct imm_event *ev, const uint8_t *sha);
/* Whether detect_judge would find anything to act on, without acting: no
 * incident, no verdict, no output (the gate's reader answers the rest). */
bool detect_would_act(struct detect *d, const struct imm_event *ev, const uint8_t *sha);
/* What the holds need: any blocking rule or indicator on execs; a sha256 block. */
bool detect_wants_exec_hold(struct detect *d);
bool detect_wants_sha256(struct detect *d);
/* Whether the exec rules that block look only at content (sha256): a judged,
 * unchanged inode then need not be held again. */
bool detect_exec_content_only(struct detect *d);
/* Whether they look only at the file's identity (Image, path:, sha256:): a
 * judged inode gets the same answer until it is written or the rules change. */
bool detect_exec_identity_only(struct detect *d);
/* Whether judging a held exec reads its resolved path: a block or kill rule
 * with an Image selection, or a blocking path: indicator. */
bool detect_hold_reads_exec_path(struct detect *d);
/* Paths the open hold marks: files (and their folders) named by blocking
 * file rules and path indicators. */
void detect_open_marks(struct detect *d, gate_mark_fn fn, void *ctx);
/* Which holds run: --check-rules, status and the stats say first-attempt or after-match by them. */
/* The destinations block rules and indicators name on their own (gate_net.h). */
struct gate_net_dest;
void detect_net_dests(struct detect *d, void (*fn)(void *ctx, const struct gate_net_dest *dst), void *ctx);
void detect_set_holds(struct detect *d, bool exec_hold, bool open_hold);
/* An incident for a held syscall the gate could not judge (timeout, error): id "gate:<what>". */
void detect_gate_incident(struct detect *d, const struct imm_event *ev, const char *what, const char *title,
			  bool denied);
struct interest;
/* Add to in (daemon/interest.h) the opens the loaded rules and indicators can use. */
void detect_interest(const struct detect *d, struct interest *in);

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
 * "skipped FILE ID: reason"; "refused FILE ID: ..." for a block naming a
 * protected binary; per block or kill rule "first-attempt" or "after-match"
 * as the given holds would run it; then "N loaded, M skipped". Non-zero when
 * a file has malformed YAML or cannot be read.
 */
int detect_check_rules(int npaths, char **paths, const struct protected_set *protect, const char *hive, bool exec_hold,
		       bool open_hold, FILE *out);

#endif
