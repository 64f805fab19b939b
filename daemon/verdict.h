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
#include <sys/types.h>

#include "immune.h"

typedef struct sqlite3 sqlite3;

#define VERDICT_PIN_DIR "/sys/fs/bpf/immune"

enum verdict_kind { VK_EXEC = 0, VK_FILE = 1, VK_NET = 2, VK_KINDS = 3 };

/* The four pinned maps; net targets go to VM_NET or VM_CIDR by prefix. */
enum verdict_map { VM_EXEC = 0, VM_FILE, VM_NET, VM_CIDR, VM_COUNT };

extern const char *const verdict_map_names[VM_COUNT];

/* The `verdicts` table exactly as in schema/immune.sql (a test compares them). */
extern const char verdict_schema_sql[];

/*
 * Kernel-internal dev_t of a device number from stat(2). The BPF side keys on
 * inode->i_sb->s_dev, which is MKDEV(major, minor) = major << 20 | minor, not
 * the userspace st_dev encoding (glibc's gnu_dev_makedev splits the minor
 * around the major) nor the new_encode_dev() form the kernel shows in stat.
 */
uint64_t verdict_dev_from_st(dev_t st_dev);
/* The reverse, for printing a map key as major:minor. */
dev_t verdict_dev_to_st(uint64_t kdev);

/* A network target: IPv4 stored IPv4-mapped, prefix over the 128-bit address. */
struct verdict_net {
	uint8_t addr[16];
	unsigned prefixlen; /* 0..128; IPv4 /p is 96 + p */
	uint16_t port;      /* 0 = any */
};

/*
 * Parse ADDR[/PREFIX][:PORT]: "1.2.3.4", "1.2.3.4:80", "10.0.0.0/8:443",
 * "::1", "[::1]:22", "2001:db8::/32", "[2001:db8::]/32:443". Host bits under
 * the prefix are refused (they would be silently ignored by the LPM trie).
 * 0, or -EINVAL with a one-line reason in err.
 */
int verdict_parse_net(const char *s, struct verdict_net *out, char *err, size_t n);
/* The canonical text of a target (what is stored and listed). */
void verdict_format_net(const struct verdict_net *t, char *buf, size_t n);
/* Full-length prefix: keyed exactly in verdict_net, else in verdict_cidr. */
bool verdict_net_is_exact(const struct verdict_net *t);
bool verdict_net_is_v4(const struct verdict_net *t);

int verdict_parse_kind(const char *s, enum verdict_kind *k);
const char *verdict_kind_name(enum verdict_kind k);
/* "deny" (also "block") or "allow". */
int verdict_parse_action(const char *s, enum imm_action *a);
const char *verdict_action_name(uint32_t action);

/*
 * Create the verdict maps that are not pinned under pin_dir yet (with BTF, so
 * bpftool prints them), with the same type, sizes, max_entries and flags as
 * bpf/verdict.bpf.h so that a BPF object pinning by name reuses them. Pinned
 * maps of another shape are an error. 0 or -errno with the reason in err.
 */
int verdict_maps_create(const char *pin_dir, char *err, size_t n);

struct verdicts;

/*
 * Open the pinned maps under pin_dir (NULL: VERDICT_PIN_DIR). db may be NULL
 * (nothing is persisted); it stays the caller's. NULL with err on failure.
 */
struct verdicts *verdicts_open(const char *pin_dir, sqlite3 *db, char *err, size_t n);
void verdicts_close(struct verdicts *v);
sqlite3 *verdicts_db(struct verdicts *v);

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

#endif
