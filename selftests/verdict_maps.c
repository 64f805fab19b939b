/*
 * The verdict maps on the live kernel: created and pinned in a bpffs
 * directory of their own, filled and emptied through daemon/verdict.c,
 * persisted and re-applied through SQLite, dumped with bpftool, reused by
 * the sensor's skeleton, and the dev encoding checked against the kernel's.
 */
#include "selftest.h"
#include "verdict.h"
#include "sysfs.h"
#include "mkdir_p.h"

#include <bpf/bpf.h>
#include <cjson/cJSON.h>
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <sqlite3.h>
#include <sys/stat.h>

static char pin_dir[128], tmp[PATH_MAX], db_path[PATH_MAX + 16];

static int setup(void **state)
{
	char err[256], why[256];

	(void)state;
	if (geteuid() != 0)
		return 0;
	/* mounts bpffs at /sys/fs/bpf when it is not */
	if (sysfs_ensure_bpffs("/sys/fs/bpf", why, sizeof(why))) {
		fprintf(stderr, "verdict_maps: %s\n", why);
		return -1;
	}
	snprintf(pin_dir, sizeof(pin_dir), "/sys/fs/bpf/immune-vmaps-%d", getpid());
	snprintf(tmp, sizeof(tmp), "/tmp/immune-vmaps-XXXXXX");
	if (!mkdtemp(tmp))
		return -1;
	snprintf(db_path, sizeof(db_path), "%s/immune.db", tmp);
	if (verdict_maps_create(pin_dir, err, sizeof(err))) {
		fprintf(stderr, "verdict_maps: %s\n", err);
		return -1;
	}
	return 0;
}

static int teardown(void **state)
{
	char cmd[PATH_MAX + 16];

	(void)state;
	if (geteuid() != 0)
		return 0;
	/* also what a failed test left */
	ebpf_detach();
	st_rm_pins(pin_dir);
	snprintf(cmd, sizeof(cmd), "%s-sensor", pin_dir);
	st_rm_pins(cmd);
	snprintf(cmd, sizeof(cmd), "%s-bad", pin_dir);
	st_rm_pins(cmd);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
	return system(cmd) == 0 ? 0 : -1;
}

#define NEED_ROOT()                                                                             \
	do {                                                                                    \
		if (geteuid() != 0) {                                                           \
			printf("SKIPPED: needs root to create and pin BPF maps\n");             \
			skip();                                                                 \
		}                                                                               \
	} while (0)

static struct verdicts *open_v(sqlite3 **db)
{
	char err[512];
	if (db) {
		*db = verdict_db_open(db_path, err, sizeof(err));
		if (!*db)
			fail_msg("%s", err);
	}
	struct verdicts *v = verdicts_open(pin_dir, db ? *db : NULL, err, sizeof(err));
	if (!v)
		fail_msg("%s", err);
	return v;
}

static int map_fd(enum verdict_map m)
{
	char p[256];
	snprintf(p, sizeof(p), "%s/%s", pin_dir, verdict_map_names[m]);
	int fd = bpf_obj_get(p);
	assert_true(fd >= 0);
	return fd;
}

static void empty_maps(void)
{
	for (int m = 0; m < VM_COUNT; m++) {
		int fd = map_fd(m);
		uint8_t k[32];
		while (bpf_map_get_next_key(fd, NULL, k) == 0)
			assert_int_equal(bpf_map_delete_elem(fd, k), 0);
		close(fd);
	}
}

static int db_rows(sqlite3 *db, const char *where)
{
	char sql[256];
	sqlite3_stmt *st;
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM verdicts WHERE %s", where);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	int n = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return n;
}

static void make_file(const char *path, const char *text)
{
	int fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0755);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

static bool inode_entry(enum verdict_map m, const char *path, struct imm_verdict *val)
{
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	struct imm_inode_key k = { .dev = verdict_dev_from_st(st.st_dev), .ino = st.st_ino };
	int fd = map_fd(m);
	bool found = bpf_map_lookup_elem(fd, &k, val) == 0;
	close(fd);
	return found;
}

/* ---- tests ---- */

static void test_maps_shape(void **state)
{
	char err[512];

	(void)state;
	NEED_ROOT();
	static const uint32_t types[VM_COUNT] = { BPF_MAP_TYPE_HASH, BPF_MAP_TYPE_HASH, BPF_MAP_TYPE_HASH,
						  BPF_MAP_TYPE_LPM_TRIE };
	static const uint32_t keys[VM_COUNT] = { 16, 16, 20, 20 };
	for (int m = 0; m < VM_COUNT; m++) {
		struct bpf_map_info info;
		uint32_t len = sizeof(info);
		memset(&info, 0, sizeof(info));
		int fd = map_fd(m);
		assert_int_equal(bpf_obj_get_info_by_fd(fd, &info, &len), 0);
		assert_int_equal(info.type, types[m]);
		assert_int_equal(info.key_size, keys[m]);
		assert_int_equal(info.key_size, m < VM_NET ? sizeof(struct imm_inode_key)
				 : m == VM_NET ? sizeof(struct imm_net_key) : sizeof(struct imm_cidr_key));
		assert_int_equal(info.value_size, sizeof(struct imm_verdict));
		assert_int_equal(info.max_entries, IMM_VERDICT_MAX);
		assert_int_equal(info.map_flags, m == VM_CIDR ? BPF_F_NO_PREALLOC : 0);
		assert_string_equal(info.name, verdict_map_names[m]);
		/* with BTF, for bpftool */
		assert_int_not_equal(info.btf_id, 0);
		assert_int_not_equal(info.btf_key_type_id, 0);
		assert_int_not_equal(info.btf_value_type_id, 0);
		close(fd);
	}
	/* again: the pinned maps are kept, not replaced */
	int before = map_fd(VM_EXEC);
	struct bpf_map_info a, b;
	uint32_t len = sizeof(a);
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	bpf_obj_get_info_by_fd(before, &a, &len);
	assert_int_equal(verdict_maps_create(pin_dir, err, sizeof(err)), 0);
	int after = map_fd(VM_EXEC);
	len = sizeof(b);
	bpf_obj_get_info_by_fd(after, &b, &len);
	assert_int_equal(a.id, b.id);
	close(before);
	close(after);

	/* a pinned map of another shape is refused with its path named */
	char other[160], p[256];
	snprintf(other, sizeof(other), "%s-bad", pin_dir);
	assert_int_equal(mkdir_p(other, 0700), 0);
	int bad = bpf_map_create(BPF_MAP_TYPE_HASH, "verdict_exec", 16, 8, 16, NULL);
	assert_true(bad >= 0);
	snprintf(p, sizeof(p), "%s/verdict_exec", other);
	assert_int_equal(bpf_obj_pin(bad, p), 0);
	close(bad);
	assert_int_not_equal(verdict_maps_create(other, err, sizeof(err)), 0);
	assert_non_null(strstr(err, p));
	assert_null(verdicts_open(other, NULL, err, sizeof(err)));
	assert_non_null(strstr(err, "verdict_exec"));
	st_rm_pins(other);
	/* a directory that is not on bpffs */
	assert_int_not_equal(verdict_maps_create(tmp, err, sizeof(err)), 0);
	assert_non_null(strstr(err, tmp));
	assert_non_null(strstr(err, "bpf"));
	/* and maps that are not there */
	snprintf(other, sizeof(other), "/sys/fs/bpf/immune-none-%d", getpid());
	assert_null(verdicts_open(other, NULL, err, sizeof(err)));
	assert_non_null(strstr(err, "not pinned") ? strstr(err, "not pinned") : strstr(err, "No such file"));
}

static void test_inode_verdicts(void **state)
{
	char err[512], file[PATH_MAX + 32], slink[PATH_MAX + 32], hard[PATH_MAX + 32];
	struct imm_verdict val;
	sqlite3 *db;

	(void)state;
	NEED_ROOT();
	empty_maps();
	struct verdicts *v = open_v(&db);
	snprintf(file, sizeof(file), "%s/tool", tmp);
	snprintf(slink, sizeof(slink), "%s/tool-link", tmp);
	snprintf(hard, sizeof(hard), "%s/tool-hard", tmp);
	make_file(file, "#!/bin/sh\nexit 0\n");
	assert_int_equal(symlink(file, slink), 0);
	assert_int_equal(link(file, hard), 0);

	if (verdict_put(v, VK_EXEC, file, IMM_ACT_DENY, "operator:0", true, err, sizeof(err)))
		fail_msg("%s", err);
	assert_true(inode_entry(VM_EXEC, file, &val));
	assert_int_equal(val.action, IMM_ACT_DENY);
	assert_string_equal(val.source, "operator:0");
	assert_true(val.set_ns > 1600000000ull * 1000000000ull);
	/* the same inode through a symlink and a hard link */
	assert_true(inode_entry(VM_EXEC, slink, &val));
	assert_true(inode_entry(VM_EXEC, hard, &val));
	/* exec and open are separate maps */
	assert_false(inode_entry(VM_FILE, file, &val));
	assert_int_equal(db_rows(db, "kind = 'exec'"), 1);

	/* the kernel's count of denials survives a re-put */
	struct stat st;
	stat(file, &st);
	struct imm_inode_key k = { .dev = verdict_dev_from_st(st.st_dev), .ino = st.st_ino };
	int fd = map_fd(VM_EXEC);
	assert_int_equal(bpf_map_lookup_elem(fd, &k, &val), 0);
	val.hits = 5;
	assert_int_equal(bpf_map_update_elem(fd, &k, &val, BPF_EXIST), 0);
	/* through the symlink: one inode, one verdict, one row (the latest path) */
	assert_int_equal(verdict_put(v, VK_EXEC, slink, IMM_ACT_ALLOW, "operator:7", true, err, sizeof(err)), 0);
	assert_int_equal(bpf_map_lookup_elem(fd, &k, &val), 0);
	assert_int_equal(val.hits, 5);
	assert_int_equal(val.action, IMM_ACT_ALLOW);
	assert_string_equal(val.source, "operator:7");
	assert_int_equal(db_rows(db, "kind = 'exec'"), 1);
	assert_int_equal(db_rows(db, "kind = 'exec' AND target LIKE '%tool-link'"), 1);
	close(fd);

	/* bad targets: one-line errors, nothing written */
	assert_int_equal(verdict_put(v, VK_EXEC, "relative/path", IMM_ACT_DENY, "operator:0", true, err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "absolute"));
	assert_int_equal(verdict_put(v, VK_EXEC, "/nonexistent/x", IMM_ACT_DENY, "operator:0", true, err, sizeof(err)),
			 -ENOENT);
	assert_non_null(strstr(err, "/nonexistent/x"));
	assert_int_equal(verdict_put(v, VK_EXEC, tmp, IMM_ACT_DENY, "operator:0", true, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "not a regular file"));
	assert_int_equal(db_rows(db, "1"), 1);

	/* file verdicts */
	assert_int_equal(verdict_put(v, VK_FILE, hard, IMM_ACT_DENY, "rule:secrets", true, err, sizeof(err)), 0);
	assert_true(inode_entry(VM_FILE, file, &val));
	assert_string_equal(val.source, "rule:secrets");

	/* unblock by any name of the inode */
	assert_int_equal(verdict_delete(v, VK_FILE, file, err, sizeof(err)), 0);
	assert_false(inode_entry(VM_FILE, file, &val));
	assert_int_equal(db_rows(db, "kind = 'file'"), 0);
	assert_int_equal(verdict_delete(v, VK_FILE, file, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "no verdict"));

	/* a deleted file can still be unblocked: the table has its inode */
	assert_int_equal(verdict_put(v, VK_EXEC, file, IMM_ACT_DENY, "operator:0", true, err, sizeof(err)), 0);
	assert_int_equal(unlink(slink), 0);
	assert_int_equal(unlink(hard), 0);
	assert_int_equal(unlink(file), 0);
	assert_int_equal(verdict_delete(v, VK_EXEC, file, err, sizeof(err)), 0);
	assert_int_equal(db_rows(db, "1"), 0);
	fd = map_fd(VM_EXEC);
	assert_int_not_equal(bpf_map_get_next_key(fd, NULL, &k), 0);
	close(fd);

	/* event-keyed verdicts (rules): in the map, not in the table */
	assert_int_equal(verdict_put_inode(v, VK_EXEC, (254ull << 20) | 1, 4242, IMM_ACT_DENY, "rule:r1", err,
					   sizeof(err)), 0);
	struct verdict_counts c;
	assert_int_equal(verdict_count(v, &c), 0);
	assert_int_equal(c.entries[VM_EXEC], 1);
	assert_int_equal(c.deny, 1);
	assert_int_equal(c.persisted, 0);
	verdicts_close(v);
	sqlite3_close(db);
}

/* verdict_policy.c: an operator's allow outranks a rule's block; a fleet set replaces its source's. */
static void test_policy(void **state)
{
	char err[512], file[PATH_MAX + 32], other[PATH_MAX + 32], target[80];
	struct imm_verdict val;
	struct stat st;
	sqlite3 *db;

	(void)state;
	NEED_ROOT();
	empty_maps();
	struct verdicts *v = open_v(&db);
	assert_int_equal(sqlite3_exec(db, "DELETE FROM verdicts", NULL, NULL, NULL), SQLITE_OK);
	snprintf(file, sizeof(file), "%s/allowed-tool", tmp);
	snprintf(other, sizeof(other), "%s/other-tool", tmp);
	make_file(file, "#!/bin/sh\nexit 0\n");
	make_file(other, "#!/bin/sh\nexit 0\n");
	assert_int_equal(stat(file, &st), 0);

	/* the operator allowed it: a rule's block is refused and the allow stays */
	assert_int_equal(verdict_put(v, VK_EXEC, file, IMM_ACT_ALLOW, "operator:0", true, err, sizeof(err)), 0);
	assert_int_equal(verdict_rule_block_inode(v, VK_EXEC, st.st_dev, st.st_ino, "rule:r1", err, sizeof(err)),
			 -EPERM);
	assert_non_null(strstr(err, "allow verdict covers it"));
	assert_true(inode_entry(VM_EXEC, file, &val));
	assert_int_equal(val.action, IMM_ACT_ALLOW);
	assert_string_equal(val.source, "operator:0");
	/* the allow is on exec: the file map still takes the rule's block, keyed on the kernel's dev_t */
	assert_int_equal(verdict_rule_block_inode(v, VK_FILE, st.st_dev, st.st_ino, "rule:r1", err, sizeof(err)), 0);
	assert_true(inode_entry(VM_FILE, file, &val));
	assert_int_equal(val.action, IMM_ACT_DENY);
	assert_string_equal(val.source, "rule:r1");

	/* net: an allow of the address (any port) covers every port of it */
	assert_int_equal(verdict_put(v, VK_NET, "192.0.2.7", IMM_ACT_ALLOW, "operator:0", true, err, sizeof(err)), 0);
	assert_int_equal(verdict_rule_block_net(v, "192.0.2.7", 443, "rule:r2", target, sizeof(target), err,
						sizeof(err)), -EPERM);
	assert_int_equal(verdict_rule_block_net(v, "2001:db8::9", 22, "rule:r2", target, sizeof(target), err,
						sizeof(err)), 0);
	assert_string_equal(target, "[2001:db8::9]:22");
	assert_int_equal(db_rows(db, "kind = 'net' AND target = '[2001:db8::9]:22' AND source = 'rule:r2'"), 1);
	assert_int_equal(verdict_rule_block_net(v, "not-an-ip", 22, "rule:r2", target, sizeof(target), err,
						sizeof(err)), -EINVAL);

	/* a fleet set replaces the verdicts of its source, and only those */
	struct verdict_want first[] = {
		{ VK_EXEC, other, IMM_ACT_DENY },
		{ VK_NET, "198.51.100.0/24:443", IMM_ACT_DENY },
		{ VK_FILE, "/nonexistent/immune-fleet-path", IMM_ACT_DENY },
	};
	int applied, removed;
	FILE *log = tmpfile();
	assert_non_null(log);
	verdict_replace_source(v, "hive", first, 3, log, &applied, &removed);
	assert_int_equal(applied, 2);
	assert_int_equal(removed, 0);
	assert_int_equal(db_rows(db, "source = 'hive'"), 2);
	/* the path this host lacks is said, one line, not an error of the set */
	char line[512] = "";
	rewind(log);
	assert_non_null(fgets(line, sizeof(line), log));
	assert_non_null(strstr(line, "/nonexistent/immune-fleet-path not applied here"));
	struct verdict_want second[] = { { VK_NET, "198.51.100.0/24:443", IMM_ACT_DENY } };
	verdict_replace_source(v, "hive", second, 1, log, &applied, &removed);
	fclose(log);
	assert_int_equal(applied, 1);
	assert_int_equal(removed, 1);
	assert_int_equal(db_rows(db, "source = 'hive'"), 1);
	assert_false(inode_entry(VM_EXEC, other, &val));
	/* the operator's and the rule's verdicts stay */
	assert_int_equal(db_rows(db, "source = 'operator:0'"), 2);
	assert_int_equal(db_rows(db, "source = 'rule:r2'"), 1);
	assert_true(inode_entry(VM_EXEC, file, &val));
	verdicts_close(v);
	sqlite3_close(db);
}

static void test_net_verdicts(void **state)
{
	char err[512];
	struct imm_verdict val;
	sqlite3 *db;

	(void)state;
	NEED_ROOT();
	empty_maps();
	struct verdicts *v = open_v(&db);
	assert_int_equal(verdict_put(v, VK_NET, "1.2.3.4:80", IMM_ACT_DENY, "operator:0", true, err, sizeof(err)), 0);
	assert_int_equal(verdict_put(v, VK_NET, "10.0.0.0/8:443", IMM_ACT_DENY, "operator:0", true, err, sizeof(err)), 0);
	assert_int_equal(verdict_put(v, VK_NET, "[2001:db8::]/32", IMM_ACT_DENY, "hive", true, err, sizeof(err)), 0);
	assert_int_equal(verdict_put(v, VK_NET, "::1", IMM_ACT_ALLOW, "operator:0", true, err, sizeof(err)), 0);

	/* exact: the hash, port in the key */
	struct imm_net_key nk = { .addr = { [10] = 0xff, [11] = 0xff, [12] = 1, [13] = 2, [14] = 3, [15] = 4 },
				  .port = 80 };
	int fd = map_fd(VM_NET);
	assert_int_equal(bpf_map_lookup_elem(fd, &nk, &val), 0);
	assert_int_equal(val.action, IMM_ACT_DENY);
	nk.port = 0;
	assert_int_not_equal(bpf_map_lookup_elem(fd, &nk, &val), 0);
	close(fd);

	/* a prefix: the LPM trie answers for any address under it, port in the value */
	struct imm_cidr_key ck = { .prefixlen = 128, .addr = { [10] = 0xff, [11] = 0xff, [12] = 10, [13] = 9, [14] = 8, [15] = 7 } };
	fd = map_fd(VM_CIDR);
	assert_int_equal(bpf_map_lookup_elem(fd, &ck, &val), 0);
	assert_int_equal(val.port, 443);
	ck.addr[12] = 11;
	assert_int_not_equal(bpf_map_lookup_elem(fd, &ck, &val), 0);
	uint8_t v6[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9 };
	memcpy(ck.addr, v6, 16);
	assert_int_equal(bpf_map_lookup_elem(fd, &ck, &val), 0);
	assert_string_equal(val.source, "hive");
	close(fd);

	/* one port per prefix */
	assert_int_equal(verdict_put(v, VK_NET, "10.0.0.0/8:80", IMM_ACT_DENY, "operator:0", true, err, sizeof(err)),
			 -EEXIST);
	assert_non_null(strstr(err, "10.0.0.0/8:443"));
	/* a longer prefix inside it is a different key, not a conflict */
	assert_int_equal(verdict_put(v, VK_NET, "10.1.0.0/16", IMM_ACT_ALLOW, "operator:0", true, err, sizeof(err)), 0);
	assert_int_equal(verdict_put(v, VK_NET, "10.0.0.0/8:443", IMM_ACT_ALLOW, "operator:0", true, err, sizeof(err)), 0);
	assert_int_equal(db_rows(db, "kind = 'net'"), 5);

	/* the listing names every target canonically, all enforced and persisted */
	struct verdict_counts c;
	assert_int_equal(verdict_count(v, &c), 0);
	assert_int_equal(c.entries[VM_NET], 2);
	assert_int_equal(c.entries[VM_CIDR], 3);
	assert_int_equal(c.persisted, 5);

	/* unblock: the wrong port is not a match, the right one is */
	assert_int_equal(verdict_delete(v, VK_NET, "10.0.0.0/8:80", err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "port 443"));
	assert_int_equal(verdict_delete(v, VK_NET, "10.0.0.0/8:443", err, sizeof(err)), 0);
	/* 10.1.0.0/16 stays */
	fd = map_fd(VM_CIDR);
	struct imm_cidr_key k16 = { .prefixlen = 128, .addr = { [10] = 0xff, [11] = 0xff, [12] = 10, [13] = 1, [14] = 2 } };
	assert_int_equal(bpf_map_lookup_elem(fd, &k16, &val), 0);
	assert_int_equal(val.action, IMM_ACT_ALLOW);
	k16.addr[13] = 2;
	assert_int_not_equal(bpf_map_lookup_elem(fd, &k16, &val), 0);
	close(fd);
	assert_int_equal(verdict_delete(v, VK_NET, "1.2.3.4:80", err, sizeof(err)), 0);
	assert_int_equal(verdict_delete(v, VK_NET, "1.2.3.4:80", err, sizeof(err)), -ENOENT);
	assert_int_equal(verdict_delete(v, VK_NET, "1.2.3.4:99999", err, sizeof(err)), -EINVAL);
	assert_int_equal(db_rows(db, "kind = 'net'"), 3);
	verdicts_close(v);
	sqlite3_close(db);
}

struct listed {
	int n;
	char targets[16][96];
	bool enforced[16], persisted[16];
};

static int collect(const struct verdict_entry *e, void *ctx)
{
	struct listed *l = ctx;
	if (l->n < 16) {
		snprintf(l->targets[l->n], sizeof(l->targets[0]), "%s", e->target);
		l->enforced[l->n] = e->in_map;
		l->persisted[l->n] = e->persisted;
	}
	l->n++;
	return 0;
}

static int find(const struct listed *l, const char *t)
{
	for (int i = 0; i < l->n && i < 16; i++)
		if (!strcmp(l->targets[i], t))
			return i;
	return -1;
}

static void test_reapply(void **state)
{
	char err[512], file[PATH_MAX + 32], gone[PATH_MAX + 32];
	struct imm_verdict val;
	sqlite3 *db;

	(void)state;
	NEED_ROOT();
	empty_maps();
	sqlite3 *db0 = verdict_db_open(db_path, err, sizeof(err));
	assert_non_null(db0);
	sqlite3_exec(db0, "DELETE FROM verdicts", NULL, NULL, NULL);
	sqlite3_close(db0);
	struct verdicts *v = open_v(&db);
	snprintf(file, sizeof(file), "%s/upgraded", tmp);
	snprintf(gone, sizeof(gone), "%s/renamed", tmp);
	make_file(file, "v1");
	make_file(gone, "x");
	assert_int_equal(verdict_put(v, VK_EXEC, file, IMM_ACT_DENY, "operator:0", true, err, sizeof(err)), 0);
	assert_int_equal(verdict_put(v, VK_FILE, gone, IMM_ACT_DENY, "operator:0", true, err, sizeof(err)), 0);
	assert_int_equal(verdict_put(v, VK_NET, "192.0.2.0/24", IMM_ACT_DENY, "operator:0", true, err, sizeof(err)), 0);
	assert_int_equal(verdict_put(v, VK_NET, "[::1]:22", IMM_ACT_DENY, "operator:0", true, err, sizeof(err)), 0);
	assert_true(inode_entry(VM_EXEC, file, &val));
	uint64_t set_ns = val.set_ns;
	struct stat old_st, moved;
	stat(file, &old_st);
	stat(gone, &moved);
	verdicts_close(v);
	sqlite3_close(db);

	/* a reboot: new maps, then the table is put back */
	st_rm_pins(pin_dir);
	assert_int_equal(verdict_maps_create(pin_dir, err, sizeof(err)), 0);
	/* meanwhile: one file replaced by a new inode (a package update), one renamed away */
	char tmpnew[PATH_MAX + 40];
	snprintf(tmpnew, sizeof(tmpnew), "%s.new", file);
	make_file(tmpnew, "v2");
	assert_int_equal(rename(tmpnew, file), 0);
	char elsewhere[PATH_MAX + 40];
	snprintf(elsewhere, sizeof(elsewhere), "%s/elsewhere", tmp);
	assert_int_equal(rename(gone, elsewhere), 0);

	v = open_v(&db);
	assert_int_equal(verdict_reapply_all(v), 4);
	/* the replaced file: keyed on the new inode, the row updated */
	assert_true(inode_entry(VM_EXEC, file, &val));
	assert_int_equal(val.set_ns, set_ns); /* when it was set, not re-applied */
	struct stat new_st;
	stat(file, &new_st);
	assert_int_not_equal(new_st.st_ino, old_st.st_ino);
	char where[96];
	snprintf(where, sizeof(where), "kind = 'exec' AND ino = %llu", (unsigned long long)new_st.st_ino);
	assert_int_equal(db_rows(db, where), 1);
	/* the renamed one: still keyed on its inode, which the renamed copy keeps */
	assert_true(inode_entry(VM_FILE, elsewhere, &val));
	/* net */
	struct verdict_counts c;
	assert_int_equal(verdict_count(v, &c), 0);
	assert_int_equal(c.entries[VM_NET], 1);
	assert_int_equal(c.entries[VM_CIDR], 1);
	assert_int_equal(c.persisted, 4);

	/* listing: table targets for table rows, a built name for map-only entries */
	assert_int_equal(verdict_put_inode(v, VK_FILE, (254ull << 20) | 3, 99, IMM_ACT_DENY, "rule:x", err, sizeof(err)),
			 0);
	/* and a row whose map entry went missing shows as not enforced */
	struct imm_net_key nk = { .addr = { [15] = 1 }, .port = 22 };
	int fd = map_fd(VM_NET);
	assert_int_equal(bpf_map_delete_elem(fd, &nk), 0);
	close(fd);
	struct listed l = { 0 };
	assert_int_equal(verdict_foreach(v, collect, &l), 0);
	assert_int_equal(l.n, 5);
	int i = find(&l, "inode 254:3/99");
	assert_true(i >= 0);
	assert_true(l.enforced[i] && !l.persisted[i]);
	i = find(&l, "192.0.2.0/24");
	assert_true(i >= 0);
	assert_true(l.enforced[i] && l.persisted[i]);
	i = find(&l, "[::1]:22");
	assert_true(i >= 0);
	assert_true(!l.enforced[i] && l.persisted[i]);
	assert_true(find(&l, file) >= 0);
	assert_true(find(&l, gone) >= 0);
	verdicts_close(v);
	sqlite3_close(db);
}

static void test_bpftool_dump(void **state)
{
	char err[512], file[PATH_MAX + 32], cmd[512];
	sqlite3 *db;

	(void)state;
	NEED_ROOT();
	empty_maps();
	struct verdicts *v = open_v(&db);
	snprintf(file, sizeof(file), "%s/dumped", tmp);
	make_file(file, "x");
	assert_int_equal(verdict_put(v, VK_EXEC, file, IMM_ACT_DENY, "operator:0", false, err, sizeof(err)), 0);
	assert_int_equal(verdict_put(v, VK_NET, "10.0.0.0/8:443", IMM_ACT_DENY, "operator:0", false, err, sizeof(err)), 0);

	struct stat st;
	stat(file, &st);
	static const struct { enum verdict_map m; const char *key_field; } dumps[] = {
		{ VM_EXEC, "ino" }, { VM_CIDR, "prefixlen" },
	};
	for (size_t d = 0; d < 2; d++) {
		snprintf(cmd, sizeof(cmd), "bpftool -j map dump pinned %s/%s 2>&1", pin_dir, verdict_map_names[dumps[d].m]);
		FILE *p = popen(cmd, "r");
		assert_non_null(p);
		static char out[1 << 16];
		size_t n = fread(out, 1, sizeof(out) - 1, p);
		out[n] = '\0';
		int rc = pclose(p);
		if (rc != 0)
			fail_msg("%s: exit %d: %s", cmd, rc, out);
		cJSON *j = cJSON_Parse(out);
		if (!cJSON_IsArray(j) || cJSON_GetArraySize(j) != 1)
			fail_msg("%s: %s", cmd, out);
		/* BTF: bpftool shows the fields by name */
		const cJSON *e = cJSON_GetArrayItem(j, 0);
		const cJSON *fk = cJSON_GetObjectItemCaseSensitive(e, "formatted");
		if (!fk)
			fk = e; /* bpftool without a separate "formatted" prints the fields directly */
		const cJSON *key = cJSON_GetObjectItemCaseSensitive(fk, "key");
		const cJSON *val = cJSON_GetObjectItemCaseSensitive(fk, "value");
		if (!cJSON_IsObject(key) || !cJSON_IsObject(val))
			fail_msg("%s: no BTF-formatted key/value: %s", cmd, out);
		const cJSON *kf = cJSON_GetObjectItemCaseSensitive(key, dumps[d].key_field);
		assert_non_null(kf);
		if (dumps[d].m == VM_EXEC)
			assert_true(kf->valuedouble == (double)st.st_ino);
		else
			assert_int_equal(kf->valueint, 104);
		assert_int_equal(cJSON_GetObjectItemCaseSensitive(val, "action")->valueint, IMM_ACT_DENY);
		const cJSON *src = cJSON_GetObjectItemCaseSensitive(val, "source");
		/* a char array: bpftool prints it as a string */
		assert_true(cJSON_IsString(src));
		assert_string_equal(src->valuestring, "operator:0");
		cJSON_Delete(j);
	}
	verdicts_close(v);
	sqlite3_close(db);
}

static void open_it(void *arg)
{
	int fd = open(arg, O_RDONLY);
	if (fd < 0)
		_exit(1);
	close(fd);
}

/* The sensor pins its verdict maps by name: it must take ours, and report devs as we key them. */
static void test_sensor_agrees(void **state)
{
	char err[512], file[PATH_MAX + 32], dir2[160];
	struct arena a = { 0 };
	struct imm_event ev;

	(void)state;
	NEED_ROOT();
	snprintf(dir2, sizeof(dir2), "%s-sensor", pin_dir);
	assert_int_equal(verdict_maps_create(dir2, err, sizeof(err)), 0);
	uint32_t ids[VM_COUNT];
	for (int m = 0; m < VM_COUNT; m++) {
		char p[256];
		struct bpf_map_info info;
		uint32_t len = sizeof(info);
		memset(&info, 0, sizeof(info));
		snprintf(p, sizeof(p), "%s/%s", dir2, verdict_map_names[m]);
		int fd = bpf_obj_get(p);
		assert_int_equal(bpf_obj_get_info_by_fd(fd, &info, &len), 0);
		ids[m] = info.id;
		close(fd);
	}
	struct ebpf_options o = { .buffer = EBPF_BUFFER_RING, .pin_dir = dir2 };
	o.want[EBPF_EVENT_OPEN] = true;
	ebpf_set_options(&o);
	if (ebpf_init() || ebpf_load_programs() || ebpf_attach()) {
		char why[512];
		snprintf(why, sizeof(why), "%s", ebpf_last_error());
		ebpf_detach();
		st_rm_pins(dir2);
		fail_msg("loading the sensor on our maps: %s", why);
	}
	/* libbpf reused every map we pinned (same id), none was replaced */
	for (int m = 0; m < VM_COUNT; m++) {
		char p[256];
		struct bpf_map_info info;
		uint32_t len = sizeof(info);
		memset(&info, 0, sizeof(info));
		snprintf(p, sizeof(p), "%s/%s", dir2, verdict_map_names[m]);
		int fd = bpf_obj_get(p);
		assert_int_equal(bpf_obj_get_info_by_fd(fd, &info, &len), 0);
		assert_int_equal(info.id, ids[m]);
		close(fd);
	}
	/* an open on / (a block device, major != 0) and one on /tmp */
	static const char *const paths[] = { "/etc/hostname", NULL };
	snprintf(file, sizeof(file), "%s/opened", tmp);
	make_file(file, "x");
	for (int i = 0; i < 2; i++) {
		const char *p = paths[i] ? paths[i] : file;
		struct stat st;
		if (stat(p, &st))
			continue;
		st_clear();
		/* from a child: the sensor leaves out its own process */
		pid_t child = st_child(open_it, (void *)p);
		st_drain();
		bool found = false;
		for (size_t r = 0; r < st_recs.n && !found; r++) {
			const struct imm_hdr *h = (const void *)st_recs.v[r].data;
			if (h->kind != IMM_K_OPEN || h->pid != (uint32_t)child)
				continue;
			if (decode_record(st_recs.v[r].data, st_recs.v[r].size, &ev, &a))
				continue;
			if (ev.file_ino != st.st_ino)
				continue;
			found = true;
			/* the raw record: inode->i_sb->s_dev, what enforce.bpf.c keys on too */
			const struct imm_open *o = (const void *)st_recs.v[r].data;
			if (o->dev != verdict_dev_from_st(st.st_dev))
				fail_msg("%s: kernel dev %#llx, verdict_dev_from_st(%#llx) = %#llx", p,
					 (unsigned long long)o->dev, (unsigned long long)st.st_dev,
					 (unsigned long long)verdict_dev_from_st(st.st_dev));
			assert_int_equal(verdict_dev_to_st(o->dev), st.st_dev);
		}
		if (!found)
			fail_msg("no open record of %s", p);
	}
	ebpf_detach();
	arena_free(&a);
	st_clear();
	st_rm_pins(dir2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_maps_shape),
		cmocka_unit_test(test_inode_verdicts),
		cmocka_unit_test(test_net_verdicts),
		cmocka_unit_test(test_policy),
		cmocka_unit_test(test_reapply),
		cmocka_unit_test(test_bpftool_dump),
		cmocka_unit_test(test_sensor_agrees),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
