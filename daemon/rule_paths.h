/*
 * The paths a rule's condition can only match through, read from its shape
 * once for every consumer: the open interest filter (which opens to send)
 * and the gate's open hold (which files to mark). A rule can only match an
 * open whose path satisfies its condition, so the question is a set of keys
 * one of which every matching event must hit:
 *   file      an exact absolute path
 *   dir       a directory the path lies under, at any depth
 *   name      the file's own name (".bashrc")
 *   dir-name  the name of a directory the path lies under (".ssh")
 *   exe-name  the name of the opening process's executable (Image: "curl")
 * An atom gives keys when its pattern pins one of these (startswith
 * "/etc/cron/" lies under /etc/cron; endswith "/.bashrc" is named .bashrc;
 * contains "/.ssh/id_" lies under a directory named .ssh), an AND needs one
 * kid with keys (the one with fewest is kept), an OR needs every kid, and a
 * NOT gives none. A consumer says which key types it can use; a rule left
 * without keys of those types is one it cannot narrow, and why says so.
 * Resolving the keys on the host (inodes, marks) is the consumer's business.
 */
#ifndef IMMUNE_RULE_PATHS_H
#define IMMUNE_RULE_PATHS_H

#include <stdbool.h>
#include <stddef.h>

#include "sigma.h"

enum rp_type { RP_FILE = 0, RP_DIR, RP_NAME, RP_DIR_NAME, RP_EXE_NAME, RP_TYPES };

#define RP_ALL ((1u << RP_TYPES) - 1)
#define RP_NAME_MAX 32 /* names keyed: 1..31 bytes (the sensor's IMM_INTEREST_NAME) */

struct rule_path {
	enum rp_type type;
	char *text;
};

struct rule_paths {
	struct rule_path *v;
	int n, cap;
};

/*
 * Keys of the types in mask (bit per enum rp_type) one of which every event
 * matching n must hit, appended to out; false (out unchanged) with why, a
 * static sentence, when there are none.
 */
bool rule_paths_of(const struct sig_node *n, unsigned mask, struct rule_paths *out, const char **why);
void rule_paths_add(struct rule_paths *p, enum rp_type t, const char *s, size_t len);
void rule_paths_clear(struct rule_paths *p);
void rule_paths_free(struct rule_paths *p);
const char *rule_path_type_name(enum rp_type t);
/* One whole path component the sensor can hash: no slash or wildcard, not "." or "..", under RP_NAME_MAX. */
bool rule_path_keyable_name(const char *s, size_t len);
/* The folder the open hold marks beside a file: path without its last '/' ("/" for a file in /);
 * false, out unchanged, when path has no '/'. */
bool rule_path_folder(const char *path, char *out, size_t n);

#endif
