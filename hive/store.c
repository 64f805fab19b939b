/*
 * The store's front: the statement cache, parameters and the migrations,
 * the same for both backends (store_sqlite.c, store_pg.c).
 */
#include "store.h"
#include "hive_int.h"
#include "incident.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct store *store_open(const char *where, char *err, size_t n)
{
	if (strncmp(where, "postgresql://", 13) == 0 || strncmp(where, "postgres://", 11) == 0)
		return store_pg_open(where, err, n);
	return store_sqlite_open(where, err, n);
}

void store_close(struct store *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->nlistening; i++)
		free(s->listening[i]);
	free(s->listening);
	s->ops->close(s); /* frees the statements and s */
}

bool store_is_pg(const struct store *s)
{
	return s->pg;
}

const char *store_err(struct store *s)
{
	return s->err;
}

const char *store_dialect(const struct store *s, enum store_words w)
{
	switch (w) {
	case SW_OCTETS:
		return s->pg ? "octet_length(text)" : "length(CAST(text AS BLOB))";
	case SW_LOCK_SCHEMA:
		/* SQLite: one Hive per file, and BEGIN already locks the file against writers */
		/* before anything, hive_migrations included: instances creating it at once would collide */
		return s->pg ? "SELECT pg_advisory_xact_lock(7215001)" : "SELECT 1";
	}
	return "";
}

struct sq *store_q(struct store *s, const char *sql)
{
	struct sq **pp, *q;
	for (pp = &s->cache; (q = *pp); pp = &q->next)
		if (strcmp(q->sql, sql) == 0) {
			/* most used first: the incident INSERT stays at the front */
			*pp = q->next;
			q->next = s->cache;
			s->cache = q;
			s->ops->reset(q);
			return q;
		}
	q = s->ops->prepare(s, sql);
	if (!q)
		return NULL;
	q->s = s;
	q->next = s->cache;
	s->cache = q;
	return q;
}

void sq_text(struct sq *q, int i, const char *v)
{
	q->s->ops->bind(q, i, v, 0, v ? SQ_TEXT : SQ_NULL);
}

void sq_i64(struct sq *q, int i, int64_t v)
{
	q->s->ops->bind(q, i, NULL, v, SQ_INT);
}

void sq_null(struct sq *q, int i)
{
	q->s->ops->bind(q, i, NULL, 0, SQ_NULL);
}

/* A pipeline that is out is read to its end before the store is used otherwise. */
static void settle(struct store *s)
{
	if (s->pipe_busy && s->settle)
		s->settle(s->settle_ctx);
}

int sq_step(struct sq *q)
{
	settle(q->s);
	return q->s->ops->step(q);
}

bool store_pipe_begin(struct store *s)
{
	settle(s);
	return s->ops->pipe_begin && s->ops->pipe_begin(s);
}

int store_ready(struct sq *q)
{
	return q->s->ops->ready ? q->s->ops->ready(q) : 0;
}

int store_pipe_send(struct sq *q)
{
	return q->s->pipe_busy ? q->s->ops->pipe_send(q) : ST_ERR;
}

int store_pipe_exec(struct store *s, const char *sql)
{
	return s->pipe_busy ? s->ops->pipe_exec(s, sql) : ST_ERR;
}

int store_pipe_end(struct store *s, bool commits)
{
	return s->pipe_busy ? s->ops->pipe_end(s, commits) : ST_ERR;
}

int store_pipe_result(struct store *s, bool wait, int64_t *changes)
{
	*changes = 0;
	return s->pipe_busy ? s->ops->pipe_result(s, wait, changes) : ST_ERR;
}

bool store_pipe_busy(const struct store *s)
{
	return s->pipe_busy;
}

void store_on_busy(struct store *s, void (*fn)(void *ctx), void *ctx)
{
	s->settle = fn;
	s->settle_ctx = ctx;
}

const char *sq_col_text(struct sq *q, int c)
{
	return q->s->ops->col_text(q, c);
}

int64_t sq_col_i64(struct sq *q, int c)
{
	return q->s->ops->col_i64(q, c);
}

bool sq_col_null(struct sq *q, int c)
{
	return q->s->ops->col_null(q, c);
}

int64_t sq_changes(struct sq *q)
{
	return q->s->ops->changes(q);
}

int store_exec(struct store *s, const char *sql)
{
	settle(s);
	return s->ops->exec(s, sql);
}

int64_t store_i64(struct store *s, const char *sql, int64_t dflt)
{
	struct sq *q = store_q(s, sql);
	return q && sq_step(q) == ST_ROW ? sq_col_i64(q, 0) : dflt;
}

int store_listen(struct store *s, const char *channel)
{
	if (!s->pg)
		return 0;
	char **l = realloc(s->listening, (s->nlistening + 1) * sizeof(*l));
	if (!l)
		return ST_ERR;
	s->listening = l;
	if (!(l[s->nlistening] = strdup(channel)))
		return ST_ERR;
	s->nlistening++;
	char sql[128];
	snprintf(sql, sizeof(sql), "LISTEN %s", channel);
	return store_exec(s, sql);
}

int store_notify(struct store *s, const char *channel, const char *payload)
{
	if (!s->pg)
		return 0;
	struct sq *q = store_q(s, "SELECT pg_notify($1, $2)");
	if (!q)
		return ST_ERR;
	sq_text(q, 1, channel);
	sq_text(q, 2, payload);
	int rc = sq_step(q);
	return rc == ST_ROW ? 0 : rc;
}

int store_fd(struct store *s)
{
	return s->ops->fd ? s->ops->fd(s) : -1;
}

unsigned store_generation(const struct store *s)
{
	return s->generation;
}

void store_notifications(struct store *s, void (*cb)(const char *, const char *, void *), void *ctx)
{
	if (s->ops->notifications)
		s->ops->notifications(s, cb, ctx);
}

static int run_translated(struct store *s, const char *sql)
{
	char *text = s->ops->translate(sql);
	if (!text) {
		snprintf(s->err, sizeof(s->err), "out of memory");
		return ST_ERR;
	}
	int rc = store_exec(s, text);
	free(text);
	return rc;
}

static int migrate_one(struct store *s, int version, char *err, size_t n)
{
	if (run_translated(s, hive_migrations[version - 1])) {
		snprintf(err, n, "schema migration %d: %s", version, s->err);
		return -1;
	}
	struct sq *q = store_q(s, "INSERT INTO hive_migrations (version, applied_ns) VALUES ($1, $2)");
	if (q) {
		sq_i64(q, 1, version);
		sq_i64(q, 2, hive_now_ns());
	}
	if (!q || sq_step(q) != ST_DONE) {
		snprintf(err, n, "schema migration %d: recording it: %s", version, s->err);
		return -1;
	}
	return 0;
}

int store_migrate(struct store *s, char *err, size_t n)
{
	if (store_exec(s, "BEGIN") || store_exec(s, store_dialect(s, SW_LOCK_SCHEMA)) ||
	    run_translated(s, "CREATE TABLE IF NOT EXISTS hive_migrations (version INTEGER PRIMARY KEY,"
			      " applied_ns INTEGER NOT NULL)")) {
		snprintf(err, n, "%s", s->err);
		store_exec(s, "ROLLBACK");
		return -1;
	}
	/* the agent's schema (the incidents table), all IF NOT EXISTS, applied at every start as
	 * the agent does, so what it gains the Hive's store gains too */
	if (run_translated(s, incident_schema_sql)) {
		snprintf(err, n, "schema/immune.sql: %s", s->err);
		store_exec(s, "ROLLBACK");
		return -1;
	}
	int64_t have = store_i64(s, "SELECT coalesce(max(version), 0) FROM hive_migrations", -1);
	if (have < 0) {
		snprintf(err, n, "reading hive_migrations: %s", s->err);
		store_exec(s, "ROLLBACK");
		return -1;
	}
	int count = 0;
	while (hive_migrations[count])
		count++;
	if (have > count) {
		snprintf(err, n, "the store is at schema version %lld, newer than this immuned knows (%d): upgrade immuned",
			 (long long)have, count);
		store_exec(s, "ROLLBACK");
		return -1;
	}
	for (int v = (int)have + 1; v <= count; v++)
		if (migrate_one(s, v, err, n)) {
			store_exec(s, "ROLLBACK");
			return -1;
		}
	if (store_exec(s, "COMMIT")) {
		snprintf(err, n, "%s", s->err);
		store_exec(s, "ROLLBACK");
		return -1;
	}
	if (have < count)
		hive_log("store schema: version %lld -> %d", (long long)have, count);
	return 0;
}
