/*
 * Verdicts: the userspace side of the pinned verdict maps of bpf/immune.h,
 * and their persistence in the SQLite table `verdicts`. The maps are found by
 * their pinned path only, so this works the same whether the daemon's BPF
 * object pinned them (with its BTF) or verdict_maps_create() did.
 */
#ifndef IMMUNE_VERDICT_H
#define IMMUNE_VERDICT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "immune.h"
#include "verdict_target.h"

typedef struct sqlite3 sqlite3;

#define VERDICT_PIN_DIR "/sys/fs/bpf/immune"

/* The four pinned maps; net targets go to VM_NET or VM_CIDR by prefix. */
enum verdict_map { VM_EXEC = 0, VM_FILE, VM_NET, VM_CIDR, VM_COUNT };

extern const char *const verdict_map_names[VM_COUNT];

/* The `verdicts` table exactly as in schema/immune.sql (a test compares them). */
extern const char verdict_schema_sql[];

/*
 * Create the verdict maps that are not pinned under pin_dir yet (with BTF, so
 * bpftool prints them), with the same type, sizes, max_entries and flags as
 * bpf/verdict.bpf.h so that a BPF object pinning by name reuses them. Pinned
 * maps of another shape are an error. 0 or -errno with the reason in err.
 */
int verdict_maps_create(const char *pin_dir, char *err, size_t n);
/* A pinned verdict_self of another shape (a daemon before struct imm_self
 * pinned a bare tgid) would make the BPF objects' load fail: unpin it, and
 * say so in one line on log. Called before each object that pins it loads. */
void verdict_self_unpin_stale(const char *pin_dir, FILE *log);

/* Open one pinned map, checked to have that shape: the fd, or -errno with err. */
int verdict_map_open(const char *pin_dir, enum verdict_map m, char *err, size_t n);

struct verdicts;

/*
 * Open the pinned maps under pin_dir (NULL: VERDICT_PIN_DIR). db may be NULL
 * (nothing is persisted); it stays the caller's. NULL with err on failure.
 */
struct verdicts *verdicts_open(const char *pin_dir, sqlite3 *db, char *err, size_t n);
void verdicts_close(struct verdicts *v);
sqlite3 *verdicts_db(struct verdicts *v);
/* Fallback enforcement: from the daemon's loop, let the sensor skip its
 * verdict_file lookup on opens while the map is verified empty (verdict_quiet.h). */
void verdicts_quiet_tick(struct verdicts *v);
/* Whether the sensor skips that lookup now; the checks so far and how many found the map empty. */
bool verdicts_quiet_status(struct verdicts *v, uint64_t *checks, uint64_t *found_empty);

/* Open (creating its directory) a database and apply the verdicts table. */
sqlite3 *verdict_db_open(const char *path, char *err, size_t n);
/* Apply the verdicts table to an open database. 0 or -1 with err. */
int verdict_db_init(sqlite3 *db, char *err, size_t n);

/*
 * Set a verdict. target: an absolute path (exec, file: keyed on the inode
 * stat() gives, symlinks followed) or a network target. source: who set it,
 * "operator:<uid>", "rule:<id>", "hive"... Persisted when persist and the
 * store has a db. 0, or -errno with err.
 */
int verdict_put(struct verdicts *v, enum verdict_kind kind, const char *target,
		enum imm_action action, const char *source, bool persist, char *err, size_t n);
/* The verdict stored under exactly this inode (kernel dev_t) or address:port (0 any); false if none. */
bool verdict_get_inode(struct verdicts *v, enum verdict_kind kind, uint64_t kdev, uint64_t ino, struct imm_verdict *val);
bool verdict_get_net(struct verdicts *v, const uint8_t addr[16], uint16_t port, struct imm_verdict *val);
/* Set an exec/file verdict by key (e.g. from an event's dev/ino); not persisted. */
int verdict_put_inode(struct verdicts *v, enum verdict_kind kind, uint64_t kdev, uint64_t ino,
		      enum imm_action action, const char *source, char *err, size_t n);
/*
 * Remove a verdict from the map and the table. An exec/file target is looked
 * up in the table first (so a deleted or replaced file can still be
 * unblocked), then by stat(). 0, -ENOENT when there was none, or -errno.
 */
int verdict_delete(struct verdicts *v, enum verdict_kind kind, const char *target, char *err, size_t n);

/*
 * Put every row of the table back into the maps (at start: a reboot keeps
 * them). A path that now names another inode is re-keyed; a missing path keeps
 * its old key. Problems are reported per row on stderr. Number applied, or
 * -errno.
 */
int verdict_reapply_all(struct verdicts *v);

/* One listed verdict: a map entry, a table row, or both. */
struct verdict_entry {
	enum verdict_kind kind;
	enum verdict_map map;
	const char *target;      /* table's target, else built from the key */
	uint64_t dev, ino;       /* exec/file, kernel dev_t */
	struct verdict_net net;  /* net */
	struct imm_verdict val;  /* from the map; from the table when !in_map */
	bool in_map, persisted;
};

typedef int (*verdict_fn)(const struct verdict_entry *e, void *ctx);
/* Every verdict, map entries first; stops when fn returns non-zero (returned). */
int verdict_foreach(struct verdicts *v, verdict_fn fn, void *ctx);

struct verdict_counts {
	uint64_t entries[VM_COUNT];
	uint64_t deny, allow;
	uint64_t hits;
	uint64_t persisted;
};
int verdict_count(struct verdicts *v, struct verdict_counts *c);

/* ---- policy (verdict_policy.c) -------------------------------------------- */

/*
 * A rule's block of the inode an event named (st_dev as stat(2) gives it):
 * an operator's allow on that inode outranks it (-EPERM, and err says so);
 * else a deny keyed on the inode, not persisted (the rule fires again).
 */
int verdict_rule_block_inode(struct verdicts *v, enum verdict_kind kind, uint64_t st_dev, uint64_t ino,
			     const char *source, char *err, size_t n);
/*
 * A rule's block of a connection's destination: an allow on ADDR:PORT or on
 * ADDR outranks it (-EPERM); else a persisted deny of ADDR:PORT (ADDR when
 * port is 0). The target as stored goes to target.
 */
int verdict_rule_block_net(struct verdicts *v, const char *ip, uint16_t port, const char *source,
			   char *target, size_t tn, char *err, size_t n);

/*
 * What no deny on this host may cover, whoever asks (an operator over the
 * socket, the fleet): the protected set (the binaries a host cannot lose, and
 * the daemon's own binary, config, database and certificates) and the
 * agent's link to its Hive. No override: a verdict that cuts the agent off
 * from its Hive or its own files cannot be undone through the agent.
 */
struct protected_set;
struct verdict_guard {
	const struct protected_set *protect;
	/* whether t covers the agent's link to its Hive; NULL without a Hive */
	bool (*hive_link_in)(void *ctx, const struct verdict_net *t);
	void *ctx;
};
/* 0 when a deny of (kind, target) may be set; -EPERM with the one-line
 * reason in err when it may not; -EINVAL for a net target that does not parse. */
int verdict_guard_deny(const struct verdict_guard *g, enum verdict_kind kind, const char *target, char *err,
		       size_t n);

/* One verdict of a set that replaces a source's (a fleet set from the Hive). */
struct verdict_want {
	enum verdict_kind kind;
	const char *target;
	enum imm_action action;
};

/*
 * Make source's verdicts exactly set: what source set before and set lacks
 * is removed, then each of set is put, persisted, with source. A target this
 * host cannot key (a path it does not have) is reported on log and skipped:
 * not an error of the set. Check the set whole (verdict_check_target) before.
 */
void verdict_replace_source(struct verdicts *v, const char *source, const struct verdict_want *set, size_t nset,
			    FILE *log, int *applied, int *removed);

#endif
