/*
 * What a block or kill rule stops, and whether it can stop the first attempt.
 * A rule whose every condition is on the file's identity (Image for an exec,
 * TargetFilename for an open, the destination for a connect) stops that
 * object; any other rule stops the one process its event came from and never
 * puts a shared binary into a verdict map. The exec hold judges every exec
 * before it runs; the open hold judges only the files and directories the
 * rules name (marks), so an open rule is first-attempt only when its
 * condition cannot be true without one of those paths.
 */
#ifndef IMMUNE_GATE_RULES_H
#define IMMUNE_GATE_RULES_H

#include <stdbool.h>
#include <stdio.h>
#include "sigma.h"

struct protected_set;

enum gate_object {
	GATE_OBJ_FILE = 0, /* the executable or file the rule names: an inode verdict */
	GATE_OBJ_PROCESS,  /* that event's process only: deny its syscall or kill it */
	GATE_OBJ_NET,      /* the destination: a connect verdict */
};

enum gate_object gate_rule_object(const struct sigma_rule *r);
const char *gate_object_name(enum gate_object o);

/* fn(ctx, path, dir) per path to mark: a file (FAN_OPEN_PERM) or a directory
 * (FAN_OPEN_PERM on its children). False when some way for the rule to match
 * passes no such path: the rule then acts after the match. */
typedef void (*gate_mark_fn)(void *ctx, const char *path, bool dir);
bool gate_rule_marks(const struct sigma_rule *r, gate_mark_fn fn, void *ctx);
/* fn for an absolute path and for its folder. */
void gate_mark_file_and_folder(gate_mark_fn fn, void *ctx, const char *path);

/* Whether the holds stop r's first attempt (exec_hold/open_hold: those holds
 * run); why says how, for --check-rules and the log. */
bool gate_rule_first_attempt(const struct sigma_rule *r, bool exec_hold, bool open_hold, const char **why);

/*
 * A block or kill rule on file identity that can match a protected binary is
 * refused: its action becomes alert, and one line "refused FILE ID: ..."
 * names the rule, its file and the binary. So is a file rule whose open hold
 * would mark one of the daemon's own files (config, database, certificates)
 * or its database's folder (protected_own_marked): "refused FILE ID: block
 * would hold opens of P, immuned's database P: ...". Returns how many were
 * refused.
 */
unsigned gate_rules_protect(struct sigma_ruleset *rs, const struct protected_set *p, FILE *log);

/*
 * The same for indicators: a blocking path: indicator naming a protected
 * binary (by inode when it exists, else by path) becomes an alert, with one
 * line "refused FILE:LINE path:P: block would block B, a protected binary;
 * kept as an alert"; one whose open hold would mark one of the daemon's own
 * files or its database's folder too ("refused FILE:LINE path:P: block would
 * hold opens ..."). Returns how many were refused.
 */
struct ioc_set;
unsigned gate_iocs_protect(struct ioc_set *s, const struct protected_set *p, FILE *log);

/* --check-rules: one line per block or kill rule, "first-attempt" or
 * "after-match", with the object it stops and why. */
/* hive: --hive's "A:P,B:P" or NULL; a destination rule covering one of them
 * is reported refused (kept as an alert), as the daemon refuses its verdict. */
void gate_rules_report(const struct sigma_ruleset *rs, bool exec_hold, bool open_hold, const char *hive, FILE *out);

#endif
