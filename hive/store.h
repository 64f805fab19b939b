/*
 * The Hive's store: one prepared-statement API over SQLite (--db FILE, the
 * embedded default) and PostgreSQL (--store postgresql://..., several Hive
 * instances on one database). SQL is written once with $1..$n placeholders
 * (SQLite takes them as named parameters; store_sqlite.c maps each $N to
 * its index) and ON CONFLICT / RETURNING, which both dialects speak. What
 * still differs is stated in one place: store_dialect() below and the
 * schema translation in store_pg.c.
 */
#ifndef IMMUNE_HIVE_STORE_H
#define IMMUNE_HIVE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
	ST_ROW = 1,
	ST_DONE = 0,
	ST_ERR = -1,     /* the database (gone, full, locked): nothing is known about the rows */
	ST_REFUSED = -2, /* the row: a constraint or a value the database does not take */
};

struct store;
struct sq;

/* "postgresql://..." or "postgres://..." (libpq's URI) or a SQLite file. NULL with err. */
struct store *store_open(const char *where, char *err, size_t n);
void store_close(struct store *s);
bool store_is_pg(const struct store *s);
const char *store_err(struct store *s);

/* Statements in the dialects' words: the few places the two differ. */
enum store_words {
	SW_OCTETS,      /* the byte length of a text column: octet_length(x) / length(CAST(x AS BLOB)) */
	SW_LOCK_SCHEMA, /* serializes schema migrations between instances starting at once */
};
const char *store_dialect(const struct store *s, enum store_words w);

/* The statement for sql, prepared once per connection and reset; NULL when it cannot be. */
struct sq *store_q(struct store *s, const char *sql);
/* Parameters are 1-based $N; text NULL binds NULL. */
void sq_text(struct sq *q, int i, const char *v);
void sq_i64(struct sq *q, int i, int64_t v);
void sq_null(struct sq *q, int i);
/* ST_ROW (a row is there), ST_DONE, ST_ERR or ST_REFUSED. */
int sq_step(struct sq *q);
const char *sq_col_text(struct sq *q, int c); /* NULL for NULL */
int64_t sq_col_i64(struct sq *q, int c);
bool sq_col_null(struct sq *q, int c);
/* Rows the last INSERT/UPDATE/DELETE changed. */
int64_t sq_changes(struct sq *q);

/* SQL without parameters, several statements allowed. 0, or ST_ERR / ST_REFUSED. */
int store_exec(struct store *s, const char *sql);
/* The first column of the first row of a query without parameters; dflt when none or on error. */
int64_t store_i64(struct store *s, const char *sql, int64_t dflt);

/* Pipelines (PostgreSQL's pipeline mode): statements sent one after another without waiting,
 * their results read later, so the caller works while the database does. store_pipe_begin
 * is false when the store has none (SQLite: the caller steps its statements) or it cannot
 * start one. While one is out, any other use of the store first calls the settle callback,
 * which must read it to its end (store_pipe_result with wait). */
bool store_pipe_begin(struct store *s);
/* Make q ready to be sent in a pipeline (prepared on the server now): 0 or ST_ERR. */
int store_ready(struct sq *q);
/* Send q as bound, or SQL without parameters: 0, or ST_ERR (the connection). */
int store_pipe_send(struct sq *q);
int store_pipe_exec(struct store *s, const char *sql);
/* The end of what is sent; commits: its last statement is COMMIT. 0 or ST_ERR. */
int store_pipe_end(struct store *s, bool commits);
/* The outcome once every result is in: ST_DONE with *changes (rows changed, summed), the
 * first failure (ST_REFUSED: a row; an open transaction is then aborted, not ended) or ST_ERR;
 * ST_ROW when results are still out and wait is false. */
int store_pipe_result(struct store *s, bool wait, int64_t *changes);
bool store_pipe_busy(const struct store *s);
void store_on_busy(struct store *s, void (*settle)(void *ctx), void *ctx);

/* Cross-instance signals (PostgreSQL LISTEN/NOTIFY; SQLite has one instance: no-ops).
 * A notification is sent when the transaction it is in commits. */
int store_listen(struct store *s, const char *channel);
int store_notify(struct store *s, const char *channel, const char *payload);
/* The socket to poll for notifications (-1: none), and a number that changes when the
 * connection was made again (its socket changed, notifications may have been missed). */
int store_fd(struct store *s);
unsigned store_generation(const struct store *s);
/* Read what arrived, calling cb for each notification. */
void store_notifications(struct store *s, void (*cb)(const char *channel, const char *payload, void *ctx),
			 void *ctx);

/* The schema: schema/immune.sql then schema/hive.sql's migrations in order, each once,
 * recorded in hive_migrations. PostgreSQL gets them translated (store_pg.c). */
int store_migrate(struct store *s, char *err, size_t n);

/* Backends (store_sqlite.c, store_pg.c): what store.c dispatches to. */
struct store_ops {
	void (*close)(struct store *s);
	struct sq *(*prepare)(struct store *s, const char *sql);
	void (*reset)(struct sq *q);
	void (*bind)(struct sq *q, int i, const char *text, int64_t v, int type);
	int (*step)(struct sq *q);
	const char *(*col_text)(struct sq *q, int c);
	int64_t (*col_i64)(struct sq *q, int c);
	bool (*col_null)(struct sq *q, int c);
	int64_t (*changes)(struct sq *q);
	int (*exec)(struct store *s, const char *sql);
	int (*fd)(struct store *s);
	void (*notifications)(struct store *s, void (*cb)(const char *, const char *, void *), void *ctx);
	/* the schema's text as this backend runs it */
	char *(*translate)(const char *sql);
	/* pipelines; NULL: none (store.h) */
	bool (*pipe_begin)(struct store *s);
	int (*ready)(struct sq *q);
	int (*pipe_send)(struct sq *q);
	int (*pipe_exec)(struct store *s, const char *sql);
	int (*pipe_end)(struct store *s, bool commits);
	int (*pipe_result)(struct store *s, bool wait, int64_t *changes);
};

/* What every store has first; the backends put theirs after it. */
struct store {
	const struct store_ops *ops;
	bool pg;
	unsigned generation;
	char err[512];
	struct sq *cache; /* prepared statements, by SQL text */
	char **listening;
	size_t nlistening;
	bool pipe_busy;          /* a pipeline is out */
	void (*settle)(void *);  /* reads it to its end before any other use */
	void *settle_ctx;
};

struct sq {
	struct store *s;
	char *sql;
	struct sq *next;
};

#define SQ_NULL 0
#define SQ_INT 1
#define SQ_TEXT 2

struct store *store_sqlite_open(const char *path, char *err, size_t n);
struct store *store_pg_open(const char *uri, char *err, size_t n);

#endif
