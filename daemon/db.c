#include "db.h"
#include "mkdir_p.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/*
 * The file exists and is 0600 before SQLite opens it: no window where it is
 * not. An existing file is never opened here: the daemon opens its database
 * several times (incidents, verdicts, tuning, the Hive link), and closing any
 * descriptor of a file drops every POSIX lock this process holds on it,
 * SQLite's shared lock included. Without that lock the next other process
 * to close a connection (the sqlite3 tool, a reader) takes itself for the
 * last one and deletes the WAL the daemon goes on writing to: nothing the
 * daemon stores after that is seen outside it.
 */
static int make_private(const char *path, char *err, size_t n)
{
	int r = mkdir_parent(path, 0700);
	if (r) {
		snprintf(err, n, "%s: creating its directory: %s", path, strerror(-r));
		return -1;
	}
	int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0 && errno != EEXIST) {
		snprintf(err, n, "%s: %s", path, strerror(errno));
		return -1;
	}
	/* made just now, by us: no connection of ours has it open */
	int e = 0;
	if (fd >= 0) {
		e = fchmod(fd, 0600) ? errno : 0;
		close(fd);
	} else if (chmod(path, 0600)) {
		e = errno;
	}
	if (e) {
		snprintf(err, n, "%s: cannot make it mode 0600: %s", path, strerror(e));
		return -1;
	}
	return 0;
}

static sqlite3 *open_flags(const char *path, int flags, char *err, size_t n)
{
	sqlite3 *db = NULL;

	if (sqlite3_open_v2(path, &db, flags, NULL) != SQLITE_OK) {
		snprintf(err, n, "%s: %s", path, db ? sqlite3_errmsg(db) : "out of memory");
		sqlite3_close(db);
		return NULL;
	}
	sqlite3_busy_timeout(db, DB_BUSY_MS);
	return db;
}

sqlite3 *db_open(const char *path, const char *schema, char *err, size_t n)
{
	bool memory = strcmp(path, ":memory:") == 0;
	sqlite3 *db;
	char *msg = NULL;

	if (!memory && make_private(path, err, n))
		return NULL;
	if (!(db = open_flags(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, err, n)))
		return NULL;
	if (sqlite3_exec(db, "PRAGMA journal_mode = WAL", NULL, NULL, &msg) != SQLITE_OK ||
	    (schema && sqlite3_exec(db, schema, NULL, NULL, &msg) != SQLITE_OK)) {
		snprintf(err, n, "%s: applying the schema: %s", path, msg ? msg : sqlite3_errmsg(db));
		sqlite3_free(msg);
		sqlite3_close(db);
		return NULL;
	}
	return db;
}

sqlite3 *db_open_readonly(const char *path, char *err, size_t n)
{
	return open_flags(path, SQLITE_OPEN_READONLY, err, n);
}
