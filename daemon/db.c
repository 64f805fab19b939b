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

/* The file exists and is 0600 before SQLite opens it: no window where it is not. */
static int make_private(const char *path, char *err, size_t n)
{
	int r = mkdir_parent(path, 0700);
	if (r) {
		snprintf(err, n, "%s: creating its directory: %s", path, strerror(-r));
		return -1;
	}
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		snprintf(err, n, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (fchmod(fd, 0600)) {
		snprintf(err, n, "%s: cannot make it mode 0600: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	close(fd);
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
