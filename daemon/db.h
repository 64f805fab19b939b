/*
 * The one SQLite opener: the agent's verdicts and incidents, the control
 * socket's queries, the Hive link and the Hive server all open through here,
 * with one busy timeout, WAL, and files only root can read.
 */
#ifndef IMMUNE_DB_H
#define IMMUNE_DB_H

#include <stddef.h>

typedef struct sqlite3 sqlite3;

/* How long a connection waits for another's write lock before SQLITE_BUSY. */
#define DB_BUSY_MS 5000

/*
 * Open path read-write. A missing file is created mode 0600 and its
 * directory 0700; an existing one is made 0600 (SQLite gives its -wal and
 * -shm files the mode of the database). Then schema (SQL, may be NULL) is
 * applied. NULL with "path: reason" in err.
 */
sqlite3 *db_open(const char *path, const char *schema, char *err, size_t n);
/* A read-only connection to an existing database, beside the writer (WAL). */
sqlite3 *db_open_readonly(const char *path, char *err, size_t n);

#endif
