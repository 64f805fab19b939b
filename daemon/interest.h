/*
 * The interest set for opens: from the loaded rules and indicators, which
 * opens any of them could match, as keys the open programs look up before
 * they make a record (bpf/immune.h, "interest"). Per open class (read, write)
 * a mode: none (no rule reads that class), keys, or all (some rule's paths
 * cannot become keys; the rule is named). Keys:
 *   dir       a directory the file lies under, at any depth: its (dev, inode),
 *             resolved here; a directory that does not exist yet is keyed by
 *             its deepest existing ancestor, so one made later is covered
 *   name      the file's own name (".bashrc", "shadow"), case-folded hash
 *   dir name  the name of a directory the file lies under (".ssh"), so a new
 *             home's .ssh is covered the moment it is made
 *   exe name  the name of the opening process's executable (Image: "curl")
 * The kernel side only looks up; all pattern reading is here.
 */
#ifndef IMMUNE_INTEREST_H
#define IMMUNE_INTEREST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cjson/cJSON.h>

#include "immune.h"
#include "event.h"
#include "sigma.h"

struct bpf_object;
struct detect;
struct ioc_set;

enum interest_key_type { IK_DIR = 0, IK_NAME, IK_DIR_NAME, IK_EXE_NAME, IK_TYPES };

struct interest_key {
	enum interest_key_type type;
	unsigned classes; /* bit per enum imm_open_class */
	char *text;       /* the directory path, or the name */
	bool resolved;    /* IK_DIR: dev/ino hold the directory (or its deepest existing ancestor) */
	uint64_t dev, ino; /* kernel dev_t encoding, as the sensor reads i_sb->s_dev */
	char *at;         /* IK_DIR: the path actually resolved */
};

struct interest {
	unsigned mode[IMM_OC_MAX];   /* enum imm_interest_mode */
	char why_all[IMM_OC_MAX][512]; /* the first rule or indicator set that made the class send all */
	unsigned nall[IMM_OC_MAX];   /* how many did */
	struct interest_key *keys;
	int n, cap;
};

void interest_init(struct interest *in);
void interest_free(struct interest *in);
/* The open rules of rs (file_event, file_access). report: one line per rule of rs, or NULL. */
void interest_add_rules(struct interest *in, const struct sigma_ruleset *rs, FILE *report);
/* Path indicators: each is matched against every open, so each is a name key. */
void interest_add_iocs(struct interest *in, const struct ioc_set *set, const char *name);
/* Resolve the directory keys on this host (again: a directory replaced gets a new inode). */
void interest_resolve(struct interest *in);
/* Put the set in the sensor's maps; 0, or -1 with the reason in err. */
int interest_apply(const struct interest *in, struct bpf_object *obj, char *err, size_t errlen);
/* One line per class: its mode and, for all, which rule made it so. */
void interest_summary(const struct interest *in, FILE *out);
const char *interest_mode_name(unsigned mode);

/*
 * Rebuild from what d has loaded now and resolve the directories again; put
 * it in the maps when it changed (or force). 1 applied, 0 unchanged, -1
 * error in err (the sensor then sends every open).
 */
int interest_refresh(struct interest *cur, const struct detect *d, struct bpf_object *obj, bool force, char *err,
		     size_t errlen);
/* "interest" in the status reply: modes, why a class sends all, opens filtered. */
void interest_status(const struct interest *in, const uint64_t filtered[IMM_K_MAX], cJSON *r);

/*
 * The kernel's decision, taken in user space on this host's files: whether
 * the sensor would send ev. For the replay test of the filter (identical
 * incidents with and without it): ev's path is resolved like the kernel's
 * dentry walk sees it, as far as it exists here.
 */
bool interest_wants(const struct interest *in, const struct imm_event *ev);

#endif
