/*
 * The one SQLite opener and mkdir_p: files only root can read (0600, also
 * the WAL), directories 0700 whatever the umask, errors that name the path.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "db.h"
#include "mkdir_p.h"

static char tmp[64];

static int setup(void **state)
{
	(void)state;
	snprintf(tmp, sizeof(tmp), "/tmp/immune-db-XXXXXX");
	return mkdtemp(tmp) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[128];
	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
	return system(cmd) == 0 ? 0 : -1;
}

static unsigned mode_of(const char *path)
{
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	return st.st_mode & 07777;
}

static void test_new_db_private(void **state)
{
	char dir[96], path[128], wal[160], err[256];
	(void)state;
	mode_t old = umask(022); /* a permissive umask must not widen anything */
	snprintf(dir, sizeof(dir), "%s/a/b", tmp);
	snprintf(path, sizeof(path), "%s/x.db", dir);
	sqlite3 *db = db_open(path, "CREATE TABLE t (v INTEGER);", err, sizeof(err));
	umask(old);
	assert_non_null(db);
	assert_int_equal(sqlite3_exec(db, "INSERT INTO t VALUES (1)", NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(mode_of(dir), 0700);
	snprintf(wal, sizeof(wal), "%s/a", tmp);
	assert_int_equal(mode_of(wal), 0700);
	assert_int_equal(mode_of(path), 0600);
	snprintf(wal, sizeof(wal), "%s-wal", path);
	assert_int_equal(mode_of(wal), 0600);
	sqlite3_close(db);

	/* a second reader sees the row */
	sqlite3 *ro = db_open_readonly(path, err, sizeof(err));
	sqlite3_stmt *st;
	assert_non_null(ro);
	assert_int_equal(sqlite3_prepare_v2(ro, "SELECT count(*) FROM t", -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(st, 0), 1);
	sqlite3_finalize(st);
	assert_int_equal(sqlite3_exec(ro, "INSERT INTO t VALUES (2)", NULL, NULL, NULL), SQLITE_READONLY);
	sqlite3_close(ro);
}

static void test_existing_db_tightened(void **state)
{
	char path[128], err[256];
	(void)state;
	snprintf(path, sizeof(path), "%s/old.db", tmp);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fclose(f);
	assert_int_equal(chmod(path, 0644), 0);
	sqlite3 *db = db_open(path, NULL, err, sizeof(err));
	assert_non_null(db);
	assert_int_equal(mode_of(path), 0600);
	sqlite3_close(db);
}

/* rows of t as another process sees them: the sqlite3 tool, which opens, reads and closes */
static int count_elsewhere(const char *path)
{
	char cmd[256];
	int n = -1;
	snprintf(cmd, sizeof(cmd), "sqlite3 '%s' 'SELECT count(*) FROM t'", path);
	FILE *p = popen(cmd, "r");
	assert_non_null(p);
	assert_int_equal(fscanf(p, "%d", &n), 1);
	assert_int_equal(pclose(p), 0);
	return n;
}

/*
 * The daemon opens its database once per part (incidents, verdicts, tuning,
 * the Hive link). Opening it again must keep the locks of the connections
 * already open: without them a reader in another process that closes takes
 * itself for the last connection and deletes the WAL, and every row written
 * after that stays invisible outside (incidents a minute late or never).
 */
static void test_second_open_keeps_the_wal(void **state)
{
	char path[128], wal[160], err[256];
	(void)state;
	if (system("command -v sqlite3 >/dev/null")) {
		fprintf(stderr, "SKIPPED: needs the sqlite3 command-line tool (.ci/deps installs it)\n");
		skip();
	}
	snprintf(path, sizeof(path), "%s/shared.db", tmp);
	snprintf(wal, sizeof(wal), "%s-wal", path);
	sqlite3 *a = db_open(path, "CREATE TABLE t (v INTEGER);", err, sizeof(err));
	assert_non_null(a);
	sqlite3 *b = db_open(path, NULL, err, sizeof(err));
	assert_non_null(b);
	assert_int_equal(sqlite3_exec(a, "INSERT INTO t VALUES (1)", NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(count_elsewhere(path), 1);
	assert_int_equal(access(wal, F_OK), 0);
	assert_int_equal(sqlite3_exec(a, "INSERT INTO t VALUES (2)", NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_exec(b, "INSERT INTO t VALUES (3)", NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(count_elsewhere(path), 3);
	sqlite3_close(b);
	sqlite3_close(a);
	assert_int_equal(count_elsewhere(path), 3);
}

static void test_errors_name_the_path(void **state)
{
	char file[128], path[160], err[256];
	(void)state;
	snprintf(file, sizeof(file), "%s/plain", tmp);
	FILE *f = fopen(file, "w");
	assert_non_null(f);
	fclose(f);
	snprintf(path, sizeof(path), "%s/sub/x.db", file);
	assert_null(db_open(path, NULL, err, sizeof(err)));
	assert_non_null(strstr(err, path));
	assert_non_null(strstr(err, "Not a directory"));
	assert_null(strchr(err, '\n'));

	snprintf(path, sizeof(path), "%s/missing.db", tmp);
	assert_null(db_open_readonly(path, err, sizeof(err)));
	assert_non_null(strstr(err, path));

	snprintf(path, sizeof(path), "%s/bad.db", tmp);
	assert_null(db_open(path, "CREATE TABLE (", err, sizeof(err)));
	assert_non_null(strstr(err, "applying the schema"));
}

static void test_mkdir_p_mode(void **state)
{
	char path[160], mid[160];
	(void)state;
	mode_t old = umask(077); /* the daemon's umask must not narrow a socket's directory */
	snprintf(mid, sizeof(mid), "%s/run", tmp);
	snprintf(path, sizeof(path), "%s/run/immune", tmp);
	assert_int_equal(mkdir_p(path, 0755), 0);
	umask(old);
	assert_int_equal(mode_of(path), 0755);
	assert_int_equal(mode_of(mid), 0755);
	/* there already: left as it is, no error */
	assert_int_equal(chmod(path, 0711), 0);
	assert_int_equal(mkdir_p(path, 0700), 0);
	assert_int_equal(mode_of(path), 0711);
	assert_int_equal(mkdir_parent("no-slash.db", 0700), 0);
	assert_int_equal(mkdir_p("", 0700), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_new_db_private),
		cmocka_unit_test(test_existing_db_tightened),
		cmocka_unit_test(test_second_open_keeps_the_wal),
		cmocka_unit_test(test_errors_name_the_path),
		cmocka_unit_test(test_mkdir_p_mode),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
