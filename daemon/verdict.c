/*
 * Verdicts in the pinned BPF maps and in SQLite. The maps are what the kernel
 * enforces; the table is what survives a reboot and names the targets (a map
 * only knows a (dev, ino) or an address).
 */
#include "verdict.h"
#include "db.h"
#include "verdict_quiet.h"

#include <bpf/bpf.h>
#include <errno.h>
#include <limits.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

const char verdict_schema_sql[] =
	"CREATE TABLE IF NOT EXISTS verdicts (\n"
	"    id          INTEGER PRIMARY KEY,\n"
	"    kind        TEXT    NOT NULL CHECK (kind IN ('exec', 'file', 'net')),\n"
	"    target      TEXT    NOT NULL,      -- path as given, or ADDR[/PREFIX][:PORT]\n"
	"    dev         INTEGER,               -- exec/file: device of the inode the verdict keys on\n"
	"    ino         INTEGER,               -- exec/file: inode\n"
	"    action      TEXT    NOT NULL CHECK (action IN ('deny', 'allow')),\n"
	"    source      TEXT    NOT NULL,      -- 'operator:<uid>', 'rule:<id>', 'hive', 'ioc:<file>'\n"
	"    created_ns  INTEGER NOT NULL,      -- UNIX epoch ns\n"
	"    UNIQUE (kind, target)\n"
	");\n";

struct verdicts {
	char pin_dir[PATH_MAX];
	int fd[VM_COUNT];
	int quiet_fd;
	struct verdict_quiet quiet;
	sqlite3 *db;
};

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

struct verdicts *verdicts_open(const char *pin_dir, sqlite3 *db, char *err, size_t n)
{
	struct verdicts *v = calloc(1, sizeof(*v));

	if (!v) {
		verdict_fail(err, n, -ENOMEM, "out of memory");
		return NULL;
	}
	for (int m = 0; m < VM_COUNT; m++)
		v->fd[m] = -1;
	v->quiet_fd = -1;
	verdict_quiet_init(&v->quiet, -1, -1, 0);
	if (!pin_dir)
		pin_dir = VERDICT_PIN_DIR;
	snprintf(v->pin_dir, sizeof(v->pin_dir), "%s", pin_dir);
	v->db = db;
	for (int m = 0; m < VM_COUNT; m++)
		if ((v->fd[m] = verdict_map_open(pin_dir, m, err, n)) < 0)
			goto err;
	/* the sensor pins it: without a sensor (tools, tests) nothing skips */
	char qp[PATH_MAX + 16];
	snprintf(qp, sizeof(qp), "%s/verdict_quiet", pin_dir);
	v->quiet.quiet_fd = v->quiet_fd = bpf_obj_get(qp);
	v->quiet.file_fd = v->fd[VM_FILE];
	v->quiet.hz = verdict_quiet_kernel_hz();
	return v;
err:
	verdicts_close(v);
	return NULL;
}

void verdicts_close(struct verdicts *v)
{
	if (!v)
		return;
	/* programs pinned by this run outlive it: they must look up again */
	verdict_quiet_off(&v->quiet);
	verdict_quiet_destroy(&v->quiet);
	if (v->quiet_fd >= 0)
		close(v->quiet_fd);
	for (int m = 0; m < VM_COUNT; m++)
		if (v->fd[m] >= 0)
			close(v->fd[m]);
	free(v);
}

sqlite3 *verdicts_db(struct verdicts *v)
{
	return v->db;
}

void verdicts_quiet_tick(struct verdicts *v)
{
	verdict_quiet_tick(&v->quiet, verdict_quiet_now(&v->quiet));
}

bool verdicts_quiet_status(struct verdicts *v, uint64_t *checks, uint64_t *found_empty)
{
	*checks = v->quiet.checks;
	*found_empty = v->quiet.found_empty;
	return verdict_quiet_skipping(&v->quiet, verdict_quiet_now(&v->quiet));
}

/* Every write of a verdict map entry: one of verdict_file turns the sensor's
 * skip of its lookup off first (verdict_quiet.h). */
static int map_update(struct verdicts *v, enum verdict_map m, const void *key, const void *val)
{
	if (m != VM_FILE)
		return bpf_map_update_elem(v->fd[m], key, val, BPF_ANY);
	verdict_quiet_write_begin(&v->quiet);
	int r = bpf_map_update_elem(v->fd[m], key, val, BPF_ANY);
	int e = errno;
	verdict_quiet_write_end(&v->quiet);
	errno = e;
	return r;
}

/* ---- the table -------------------------------------------------------------------- */

int verdict_db_init(sqlite3 *db, char *err, size_t n)
{
	char *msg = NULL;

	if (sqlite3_exec(db, verdict_schema_sql, NULL, NULL, &msg) != SQLITE_OK) {
		verdict_fail(err, n, -1, "applying the verdicts schema to %s: %s",
		     sqlite3_db_filename(db, "main"), msg ? msg : "?");
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

sqlite3 *verdict_db_open(const char *path, char *err, size_t n)
{
	return db_open(path, verdict_schema_sql, err, n);
}

static int db_fail(struct verdicts *v, char *err, size_t n, const char *what)
{
	return verdict_fail(err, n, -EIO, "database: %s: %s", what, sqlite3_errmsg(v->db));
}

static int db_store(struct verdicts *v, enum verdict_kind kind, const char *target, bool have_key,
		    uint64_t dev, uint64_t ino, enum imm_action act, const char *source, int64_t ns,
		    char *err, size_t n)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if (sqlite3_exec(v->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
		return db_fail(v, err, n, "begin");
	/* One inode, one map key: another path to the same inode is the same verdict. */
	if (have_key) {
		rc = sqlite3_prepare_v2(v->db,
			"DELETE FROM verdicts WHERE kind = ?1 AND dev = ?2 AND ino = ?3 AND target <> ?4",
			-1, &st, NULL);
		if (rc == SQLITE_OK) {
			sqlite3_bind_text(st, 1, verdict_kind_name(kind), -1, SQLITE_STATIC);
			sqlite3_bind_int64(st, 2, (int64_t)dev);
			sqlite3_bind_int64(st, 3, (int64_t)ino);
			sqlite3_bind_text(st, 4, target, -1, SQLITE_STATIC);
			rc = sqlite3_step(st) == SQLITE_DONE ? SQLITE_OK : SQLITE_ERROR;
		}
		sqlite3_finalize(st);
		if (rc != SQLITE_OK)
			goto err;
	}
	rc = sqlite3_prepare_v2(v->db,
		"INSERT INTO verdicts (kind, target, dev, ino, action, source, created_ns) "
		"VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (kind, target) DO UPDATE SET "
		"dev = excluded.dev, ino = excluded.ino, action = excluded.action, "
		"source = excluded.source, created_ns = excluded.created_ns",
		-1, &st, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_text(st, 1, verdict_kind_name(kind), -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, target, -1, SQLITE_STATIC);
		if (have_key) {
			sqlite3_bind_int64(st, 3, (int64_t)dev);
			sqlite3_bind_int64(st, 4, (int64_t)ino);
		}
		sqlite3_bind_text(st, 5, verdict_action_name(act), -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 6, source, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 7, ns);
		rc = sqlite3_step(st) == SQLITE_DONE ? SQLITE_OK : SQLITE_ERROR;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_OK)
		goto err;
	if (sqlite3_exec(v->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
		goto err;
	return 0;
err:
	rc = db_fail(v, err, n, "storing the verdict");
	sqlite3_exec(v->db, "ROLLBACK", NULL, NULL, NULL);
	return rc;
}

/* Rows removed, or -1. dev/ino used when have_key. */
static int db_remove(struct verdicts *v, enum verdict_kind kind, const char *target, bool have_key,
		     uint64_t dev, uint64_t ino)
{
	sqlite3_stmt *st = NULL;
	int rc = -1;

	if (sqlite3_prepare_v2(v->db,
			"DELETE FROM verdicts WHERE kind = ?1 AND (target = ?2 OR (?3 AND dev = ?4 AND ino = ?5))",
			-1, &st, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_text(st, 1, verdict_kind_name(kind), -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, target, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 3, have_key);
	sqlite3_bind_int64(st, 4, (int64_t)dev);
	sqlite3_bind_int64(st, 5, (int64_t)ino);
	if (sqlite3_step(st) == SQLITE_DONE)
		rc = sqlite3_changes(v->db);
	sqlite3_finalize(st);
	return rc;
}

/* The stored key of a target, if the table has it. */
static bool db_find_key(struct verdicts *v, enum verdict_kind kind, const char *target,
			uint64_t *dev, uint64_t *ino)
{
	sqlite3_stmt *st = NULL;
	bool found = false;

	if (!v->db || sqlite3_prepare_v2(v->db,
			"SELECT dev, ino FROM verdicts WHERE kind = ?1 AND target = ?2 AND dev IS NOT NULL",
			-1, &st, NULL) != SQLITE_OK)
		return false;
	sqlite3_bind_text(st, 1, verdict_kind_name(kind), -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, target, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW) {
		*dev = (uint64_t)sqlite3_column_int64(st, 0);
		*ino = (uint64_t)sqlite3_column_int64(st, 1);
		found = true;
	}
	sqlite3_finalize(st);
	return found;
}

/* ---- put / delete ---------------------------------------------------------- */

struct map_key {
	enum verdict_map map;
	union {
		struct imm_inode_key inode;
		struct imm_net_key net;
		struct imm_cidr_key cidr;
		uint8_t raw[20];
	} k;
	uint16_t cidr_port; /* cidr: the port lives in the value */
};

static void key_from_net(const struct verdict_net *t, struct map_key *mk)
{
	memset(mk, 0, sizeof(*mk));
	if (verdict_net_is_exact(t)) {
		mk->map = VM_NET;
		memcpy(mk->k.net.addr, t->addr, 16);
		mk->k.net.port = t->port;
	} else {
		mk->map = VM_CIDR;
		mk->k.cidr.prefixlen = t->prefixlen;
		memcpy(mk->k.cidr.addr, t->addr, 16);
		mk->cidr_port = t->port;
	}
}

/* A net target as given: its map key, and *target pointed at its canonical text in canon. */
static int net_target_key(const char **target, char *canon, size_t cn, struct map_key *mk, char *err, size_t n)
{
	struct verdict_net t;
	int ret = verdict_parse_net(*target, &t, err, n);
	if (ret)
		return ret;
	verdict_format_net(&t, canon, cn);
	*target = canon;
	key_from_net(&t, mk);
	return 0;
}

/*
 * An LPM lookup answers the longest prefix that matches, not the exact key:
 * walk the keys to know whether this very prefix is in the trie.
 */
static bool cidr_has_exact(int fd, const struct imm_cidr_key *want)
{
	struct imm_cidr_key k, next;
	const void *prev = NULL;

	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		if (!memcmp(&next, want, sizeof(next)))
			return true;
		k = next;
		prev = &k;
	}
	return false;
}

/* The value stored under exactly this key, if any. */
static bool map_get_exact(struct verdicts *v, const struct map_key *mk, struct imm_verdict *val)
{
	int fd = v->fd[mk->map];

	if (bpf_map_lookup_elem(fd, &mk->k, val))
		return false;
	return mk->map != VM_CIDR || cidr_has_exact(fd, &mk->k.cidr);
}

static int map_put(struct verdicts *v, const struct map_key *mk, enum imm_action act,
		   const char *source, int64_t ns, char *err, size_t n)
{
	struct imm_verdict val, old;

	memset(&val, 0, sizeof(val));
	if (map_get_exact(v, mk, &old))
		val.hits = old.hits; /* the kernel's count of denials so far stays */
	val.action = act;
	val.port = mk->cidr_port;
	val.set_ns = (uint64_t)ns;
	snprintf(val.source, sizeof(val.source), "%s", source);
	if (map_update(v, mk->map, &mk->k, &val))
		return verdict_fail(err, n, -errno, "updating %s/%s: %s", v->pin_dir, verdict_map_names[mk->map],
			    strerror(errno));
	return 0;
}

static int inode_key(enum verdict_kind kind, const char *path, struct map_key *mk, char *err, size_t n)
{
	struct stat st;

	memset(mk, 0, sizeof(*mk));
	if (!path || path[0] != '/')
		return verdict_fail(err, n, -EINVAL, "%s: need an absolute path", path ? path : "(null)");
	if (stat(path, &st))
		return verdict_fail(err, n, -errno, "%s: %s", path, strerror(errno));
	if (kind == VK_EXEC && !S_ISREG(st.st_mode))
		return verdict_fail(err, n, -EINVAL, "%s: not a regular file, cannot be executed", path);
	mk->map = kind == VK_EXEC ? VM_EXEC : VM_FILE;
	mk->k.inode.dev = verdict_dev_from_st(st.st_dev);
	mk->k.inode.ino = st.st_ino;
	return 0;
}

int verdict_put(struct verdicts *v, enum verdict_kind kind, const char *target,
		enum imm_action action, const char *source, bool persist, char *err, size_t n)
{
	struct map_key mk;
	struct imm_verdict old;
	char canon[96];
	int64_t ns = now_ns();
	bool had;
	int ret;

	if (action != IMM_ACT_DENY && action != IMM_ACT_ALLOW)
		return verdict_fail(err, n, -EINVAL, "action must be deny or allow");
	if (kind == VK_NET) {
		if ((ret = net_target_key(&target, canon, sizeof(canon), &mk, err, n)))
			return ret;
	} else if (kind == VK_EXEC || kind == VK_FILE) {
		if ((ret = inode_key(kind, target, &mk, err, n)))
			return ret;
	} else {
		return verdict_fail(err, n, -EINVAL, "unknown verdict kind");
	}
	had = map_get_exact(v, &mk, &old);
	if (had && mk.map == VM_CIDR && old.port != mk.cidr_port) {
		struct verdict_net other = { .prefixlen = mk.k.cidr.prefixlen, .port = old.port };
		char otxt[96];
		memcpy(other.addr, mk.k.cidr.addr, 16);
		verdict_format_net(&other, otxt, sizeof(otxt));
		return verdict_fail(err, n, -EEXIST, "%s: the prefix already has a verdict as %s "
			    "(one port per prefix: unblock it first)", target, otxt);
	}
	if ((ret = map_put(v, &mk, action, source, ns, err, n)))
		return ret;
	if (persist && v->db) {
		bool inode = kind != VK_NET;
		ret = db_store(v, kind, target, inode, mk.k.inode.dev, mk.k.inode.ino, action, source, ns, err, n);
		if (ret) {
			/* Keep map and table in step: undo what the table refused. */
			if (had)
				map_update(v, mk.map, &mk.k, &old);
			else
				bpf_map_delete_elem(v->fd[mk.map], &mk.k);
			return ret;
		}
	}
	return 0;
}

bool verdict_get_inode(struct verdicts *v, enum verdict_kind kind, uint64_t kdev, uint64_t ino, struct imm_verdict *val)
{
	struct map_key mk;

	memset(&mk, 0, sizeof(mk));
	mk.map = kind == VK_EXEC ? VM_EXEC : VM_FILE;
	mk.k.inode.dev = kdev;
	mk.k.inode.ino = ino;
	return kind != VK_NET && map_get_exact(v, &mk, val);
}

bool verdict_get_net(struct verdicts *v, const uint8_t addr[16], uint16_t port, struct imm_verdict *val)
{
	struct map_key mk;

	memset(&mk, 0, sizeof(mk));
	mk.map = VM_NET;
	memcpy(mk.k.net.addr, addr, 16);
	mk.k.net.port = port;
	return map_get_exact(v, &mk, val);
}

int verdict_put_inode(struct verdicts *v, enum verdict_kind kind, uint64_t kdev, uint64_t ino,
		      enum imm_action action, const char *source, char *err, size_t n)
{
	struct map_key mk;

	if (kind != VK_EXEC && kind != VK_FILE)
		return verdict_fail(err, n, -EINVAL, "inode verdicts are for exec and file");
	if (action != IMM_ACT_DENY && action != IMM_ACT_ALLOW)
		return verdict_fail(err, n, -EINVAL, "action must be deny or allow");
	memset(&mk, 0, sizeof(mk));
	mk.map = kind == VK_EXEC ? VM_EXEC : VM_FILE;
	mk.k.inode.dev = kdev;
	mk.k.inode.ino = ino;
	return map_put(v, &mk, action, source, now_ns(), err, n);
}

int verdict_delete(struct verdicts *v, enum verdict_kind kind, const char *target, char *err, size_t n)
{
	struct map_key mk;
	struct imm_verdict old;
	char canon[96];
	bool in_map = false, have_key = true;
	int ret, rows = 0;

	if (kind == VK_NET) {
		if ((ret = net_target_key(&target, canon, sizeof(canon), &mk, err, n)))
			return ret;
		have_key = false;
	} else if (kind == VK_EXEC || kind == VK_FILE) {
		memset(&mk, 0, sizeof(mk));
		mk.map = kind == VK_EXEC ? VM_EXEC : VM_FILE;
		/* The table's key first: the path may be gone or name another inode now. */
		uint64_t dev, ino;
		if (db_find_key(v, kind, target, &dev, &ino)) {
			mk.k.inode.dev = dev;
			mk.k.inode.ino = ino;
		} else if ((ret = inode_key(kind, target, &mk, err, n))) {
			return ret;
		}
	} else {
		return verdict_fail(err, n, -EINVAL, "unknown verdict kind");
	}
	if (map_get_exact(v, &mk, &old)) {
		if (mk.map == VM_CIDR && old.port != mk.cidr_port)
			return verdict_fail(err, n, -ENOENT, "no verdict for %s (the prefix has one for port %u)",
				    target, old.port);
		if (bpf_map_delete_elem(v->fd[mk.map], &mk.k) && errno != ENOENT)
			return verdict_fail(err, n, -errno, "deleting from %s: %s", verdict_map_names[mk.map],
				    strerror(errno));
		in_map = true;
	}
	if (v->db) {
		rows = db_remove(v, kind, target, have_key, mk.k.inode.dev, mk.k.inode.ino);
		if (rows < 0)
			return db_fail(v, err, n, "removing the verdict");
	}
	if (!in_map && rows == 0)
		return verdict_fail(err, n, -ENOENT, "no verdict for %s %s", verdict_kind_name(kind), target);
	return 0;
}

/* ---- reapply / list -------------------------------------------------------- */

struct row {
	enum verdict_kind kind;
	char *target;
	bool have_key;
	uint64_t dev, ino;
	enum imm_action action;
	char *source;
	int64_t created_ns;
	struct map_key mk;
	bool valid, matched;
};

struct rows {
	struct row *r;
	size_t n, cap;
};

static void rows_free(struct rows *rs)
{
	for (size_t i = 0; i < rs->n; i++) {
		free(rs->r[i].target);
		free(rs->r[i].source);
	}
	free(rs->r);
	memset(rs, 0, sizeof(*rs));
}

static int rows_load(struct verdicts *v, struct rows *rs)
{
	sqlite3_stmt *st = NULL;
	int rc;

	memset(rs, 0, sizeof(*rs));
	if (!v->db)
		return 0;
	if (sqlite3_prepare_v2(v->db,
			"SELECT kind, target, dev, ino, action, source, created_ns FROM verdicts ORDER BY id",
			-1, &st, NULL) != SQLITE_OK)
		return -EIO;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct row r;
		enum imm_action act;
		memset(&r, 0, sizeof(r));
		if (verdict_parse_kind((const char *)sqlite3_column_text(st, 0), &r.kind) ||
		    verdict_parse_action((const char *)sqlite3_column_text(st, 4), &act))
			continue; /* the CHECK constraints make this unreachable short of manual edits */
		r.action = act;
		r.target = strdup((const char *)sqlite3_column_text(st, 1));
		r.source = strdup((const char *)sqlite3_column_text(st, 5));
		r.have_key = sqlite3_column_type(st, 2) != SQLITE_NULL && sqlite3_column_type(st, 3) != SQLITE_NULL;
		r.dev = (uint64_t)sqlite3_column_int64(st, 2);
		r.ino = (uint64_t)sqlite3_column_int64(st, 3);
		r.created_ns = sqlite3_column_int64(st, 6);
		if (!r.target || !r.source) {
			free(r.target);
			free(r.source);
			sqlite3_finalize(st);
			return -ENOMEM;
		}
		if (rs->n == rs->cap) {
			size_t cap = rs->cap ? rs->cap * 2 : 64;
			struct row *nr = realloc(rs->r, cap * sizeof(*nr));
			if (!nr) {
				free(r.target);
				free(r.source);
				sqlite3_finalize(st);
				return -ENOMEM;
			}
			rs->r = nr;
			rs->cap = cap;
		}
		rs->r[rs->n++] = r;
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : -EIO;
}

static int db_rekey(struct verdicts *v, const struct row *r, uint64_t dev, uint64_t ino)
{
	sqlite3_stmt *st = NULL;
	int rc = -1;

	if (sqlite3_prepare_v2(v->db, "UPDATE verdicts SET dev = ?1, ino = ?2 WHERE kind = ?3 AND target = ?4",
			       -1, &st, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_int64(st, 1, (int64_t)dev);
	sqlite3_bind_int64(st, 2, (int64_t)ino);
	sqlite3_bind_text(st, 3, verdict_kind_name(r->kind), -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, r->target, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_DONE)
		rc = 0;
	sqlite3_finalize(st);
	return rc;
}

int verdict_reapply_all(struct verdicts *v)
{
	struct rows rs;
	char err[512];
	int applied = 0, ret;

	if ((ret = rows_load(v, &rs))) {
		fprintf(stderr, "immuned: reading verdicts from the database failed: %s\n",
			v->db ? sqlite3_errmsg(v->db) : strerror(-ret));
		rows_free(&rs);
		return ret;
	}
	for (size_t i = 0; i < rs.n; i++) {
		struct row *r = &rs.r[i];
		struct map_key mk;

		if (r->kind == VK_NET) {
			struct verdict_net t;
			if (verdict_parse_net(r->target, &t, err, sizeof(err))) {
				fprintf(stderr, "immuned: verdict row %s net: %s; skipped\n", r->target, err);
				continue;
			}
			key_from_net(&t, &mk);
		} else if (inode_key(r->kind, r->target, &mk, err, sizeof(err)) == 0) {
			if (r->have_key && (mk.k.inode.dev != r->dev || mk.k.inode.ino != r->ino)) {
				/* Replaced (package update, edit by rename): the verdict follows the path,
				 * and the old key goes, since its inode number may be reused. */
				struct imm_inode_key old = { .dev = r->dev, .ino = r->ino };
				bpf_map_delete_elem(v->fd[mk.map], &old);
				if (db_rekey(v, r, mk.k.inode.dev, mk.k.inode.ino))
					fprintf(stderr, "immuned: verdict %s %s: updating its inode in the database: %s\n",
						verdict_kind_name(r->kind), r->target, sqlite3_errmsg(v->db));
				fprintf(stderr, "immuned: verdict %s %s: path now names inode %llu (was %llu), re-keyed\n",
					verdict_kind_name(r->kind), r->target, (unsigned long long)mk.k.inode.ino,
					(unsigned long long)r->ino);
			} else if (!r->have_key) {
				db_rekey(v, r, mk.k.inode.dev, mk.k.inode.ino);
			}
		} else if (r->have_key) {
			/* Gone or renamed: a renamed copy keeps its inode, so keep the old key. */
			memset(&mk, 0, sizeof(mk));
			mk.map = r->kind == VK_EXEC ? VM_EXEC : VM_FILE;
			mk.k.inode.dev = r->dev;
			mk.k.inode.ino = r->ino;
			fprintf(stderr, "immuned: verdict %s %s: %s; keeping it on inode %llu\n",
				verdict_kind_name(r->kind), r->target, err, (unsigned long long)r->ino);
		} else {
			fprintf(stderr, "immuned: verdict %s %s: %s; skipped\n", verdict_kind_name(r->kind),
				r->target, err);
			continue;
		}
		if (map_put(v, &mk, r->action, r->source, r->created_ns, err, sizeof(err))) {
			fprintf(stderr, "immuned: verdict %s %s: %s\n", verdict_kind_name(r->kind), r->target, err);
			continue;
		}
		applied++;
	}
	rows_free(&rs);
	return applied;
}

static int row_cmp(const void *a, const void *b)
{
	const struct row *x = a, *y = b;

	if (x->valid != y->valid)
		return x->valid ? -1 : 1;
	if (x->mk.map != y->mk.map)
		return (int)x->mk.map - (int)y->mk.map;
	return memcmp(x->mk.k.raw, y->mk.k.raw, sizeof(x->mk.k.raw));
}

static void key_target(const struct map_key *mk, const struct imm_verdict *val, char *buf, size_t n)
{
	struct verdict_net t;

	memset(&t, 0, sizeof(t));
	switch (mk->map) {
	case VM_EXEC:
	case VM_FILE: {
		dev_t d = verdict_dev_to_st(mk->k.inode.dev);
		snprintf(buf, n, "inode %u:%u/%llu", major(d), minor(d), (unsigned long long)mk->k.inode.ino);
		return;
	}
	case VM_NET:
		memcpy(t.addr, mk->k.net.addr, 16);
		t.prefixlen = 128;
		t.port = mk->k.net.port;
		break;
	case VM_CIDR:
		memcpy(t.addr, mk->k.cidr.addr, 16);
		t.prefixlen = mk->k.cidr.prefixlen;
		t.port = val ? val->port : 0;
		break;
	default:
		snprintf(buf, n, "?");
		return;
	}
	verdict_format_net(&t, buf, n);
}

static void entry_from_key(struct verdict_entry *e, const struct map_key *mk)
{
	e->map = mk->map;
	e->kind = mk->map == VM_EXEC ? VK_EXEC : mk->map == VM_FILE ? VK_FILE : VK_NET;
	if (e->kind != VK_NET) {
		e->dev = mk->k.inode.dev;
		e->ino = mk->k.inode.ino;
	} else if (mk->map == VM_NET) {
		memcpy(e->net.addr, mk->k.net.addr, 16);
		e->net.prefixlen = 128;
		e->net.port = mk->k.net.port;
	} else {
		memcpy(e->net.addr, mk->k.cidr.addr, 16);
		e->net.prefixlen = mk->k.cidr.prefixlen;
		e->net.port = e->val.port;
	}
}

int verdict_foreach(struct verdicts *v, verdict_fn fn, void *ctx)
{
	struct rows rs;
	size_t nvalid = 0;
	char tbuf[128];
	int ret;

	if ((ret = rows_load(v, &rs))) {
		rows_free(&rs);
		return ret;
	}
	for (size_t i = 0; i < rs.n; i++) {
		struct row *r = &rs.r[i];
		if (r->kind == VK_NET) {
			struct verdict_net t;
			if (verdict_parse_net(r->target, &t, NULL, 0) == 0) {
				key_from_net(&t, &r->mk);
				r->valid = true;
			}
		} else if (r->have_key) {
			memset(&r->mk, 0, sizeof(r->mk));
			r->mk.map = r->kind == VK_EXEC ? VM_EXEC : VM_FILE;
			r->mk.k.inode.dev = r->dev;
			r->mk.k.inode.ino = r->ino;
			r->valid = true;
		}
		nvalid += r->valid;
	}
	if (rs.n)
		qsort(rs.r, rs.n, sizeof(*rs.r), row_cmp);

	ret = 0;
	for (int m = 0; m < VM_COUNT && !ret; m++) {
		struct map_key mk, prev;
		bool first = true;

		memset(&mk, 0, sizeof(mk));
		memset(&prev, 0, sizeof(prev));
		mk.map = prev.map = m;
		while (!ret && bpf_map_get_next_key(v->fd[m], first ? NULL : &prev.k, &mk.k) == 0) {
			struct verdict_entry e;
			struct row key, *r;

			first = false;
			prev = mk;
			memset(&e, 0, sizeof(e));
			if (bpf_map_lookup_elem(v->fd[m], &mk.k, &e.val))
				continue; /* deleted under us */
			e.in_map = true;
			entry_from_key(&e, &mk);
			memset(&key, 0, sizeof(key));
			key.valid = true;
			key.mk = mk;
			key.mk.cidr_port = 0;
			r = nvalid ? bsearch(&key, rs.r, nvalid, sizeof(*rs.r), row_cmp) : NULL;
			if (r) {
				r->matched = true;
				e.persisted = true;
				e.target = r->target;
			} else {
				key_target(&mk, &e.val, tbuf, sizeof(tbuf));
				e.target = tbuf;
			}
			ret = fn(&e, ctx);
		}
	}
	/* Rows the maps lack: not enforced (e.g. before verdict_reapply_all). */
	for (size_t i = 0; i < rs.n && !ret; i++) {
		struct row *r = &rs.r[i];
		struct verdict_entry e;

		if (r->matched)
			continue;
		memset(&e, 0, sizeof(e));
		e.kind = r->kind;
		e.persisted = true;
		e.target = r->target;
		e.val.action = r->action;
		e.val.set_ns = (uint64_t)r->created_ns;
		snprintf(e.val.source, sizeof(e.val.source), "%s", r->source);
		if (r->valid) {
			e.val.port = r->mk.cidr_port;
			entry_from_key(&e, &r->mk);
		} else {
			e.map = r->kind == VK_EXEC ? VM_EXEC : r->kind == VK_FILE ? VM_FILE : VM_NET;
		}
		ret = fn(&e, ctx);
	}
	rows_free(&rs);
	return ret;
}

static int count_one(const struct verdict_entry *e, void *ctx)
{
	struct verdict_counts *c = ctx;

	if (e->in_map) {
		c->entries[e->map]++;
		c->hits += e->val.hits;
		if (e->val.action == IMM_ACT_DENY)
			c->deny++;
		else if (e->val.action == IMM_ACT_ALLOW)
			c->allow++;
	}
	c->persisted += e->persisted;
	return 0;
}

int verdict_count(struct verdicts *v, struct verdict_counts *c)
{
	memset(c, 0, sizeof(*c));
	return verdict_foreach(v, count_one, c);
}
