/*
 * The store on SQLite (--db FILE): the embedded default, one Hive per file.
 * $N parameters are SQLite's named parameters; each is looked up by name,
 * so a statement may use them in any order.
 */
#include "store.h"
#include "db.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct lite {
	struct store s;
	sqlite3 *db;
};

struct lq {
	struct sq q;
	sqlite3_stmt *st;
	int *index; /* $N -> SQLite's parameter index */
	int nindex;
	bool stepped_done;
};

static sqlite3 *db_of(struct store *s)
{
	return ((struct lite *)s)->db;
}

static void lite_close(struct store *s)
{
	struct sq *q = s->cache, *next;
	for (; q; q = next) {
		struct lq *l = (struct lq *)q;
		next = q->next;
		sqlite3_finalize(l->st);
		free(l->index);
		free(q->sql);
		free(l);
	}
	sqlite3_close(db_of(s));
	free(s);
}

static struct sq *lite_prepare(struct store *s, const char *sql)
{
	struct lq *l = calloc(1, sizeof(*l));
	if (!l || !(l->q.sql = strdup(sql)) ||
	    sqlite3_prepare_v3(db_of(s), sql, -1, SQLITE_PREPARE_PERSISTENT, &l->st, NULL) != SQLITE_OK) {
		snprintf(s->err, sizeof(s->err), "%s", l ? sqlite3_errmsg(db_of(s)) : "out of memory");
		if (l)
			free(l->q.sql);
		free(l);
		return NULL;
	}
	int count = sqlite3_bind_parameter_count(l->st);
	l->index = calloc((size_t)count + 1, sizeof(int));
	l->nindex = count;
	for (int i = 1; i <= count; i++) {
		const char *name = sqlite3_bind_parameter_name(l->st, i);
		long num = name && name[0] == '$' ? strtol(name + 1, NULL, 10) : 0;
		if (l->index && num >= 1 && num <= count)
			l->index[num] = i;
	}
	return &l->q;
}

static void lite_reset(struct sq *q)
{
	struct lq *l = (struct lq *)q;
	sqlite3_reset(l->st);
	sqlite3_clear_bindings(l->st);
	l->stepped_done = false;
}

static void lite_bind(struct sq *q, int i, const char *text, int64_t v, int type)
{
	struct lq *l = (struct lq *)q;
	if (i < 1 || i > l->nindex || !l->index[i])
		return;
	int p = l->index[i];
	if (type == SQ_TEXT)
		sqlite3_bind_text(l->st, p, text, -1, SQLITE_TRANSIENT);
	else if (type == SQ_INT)
		sqlite3_bind_int64(l->st, p, v);
	else
		sqlite3_bind_null(l->st, p);
}

static int lite_step(struct sq *q)
{
	struct lq *l = (struct lq *)q;
	if (l->stepped_done)
		return ST_DONE;
	int rc = sqlite3_step(l->st);
	if (rc == SQLITE_ROW)
		return ST_ROW;
	if (rc == SQLITE_DONE) {
		l->stepped_done = true;
		return ST_DONE;
	}
	snprintf(q->s->err, sizeof(q->s->err), "%s", sqlite3_errmsg(db_of(q->s)));
	sqlite3_reset(l->st);
	return (rc & 0xff) == SQLITE_CONSTRAINT || (rc & 0xff) == SQLITE_MISMATCH || (rc & 0xff) == SQLITE_TOOBIG ?
		       ST_REFUSED :
		       ST_ERR;
}

static const char *lite_col_text(struct sq *q, int c)
{
	return (const char *)sqlite3_column_text(((struct lq *)q)->st, c);
}

static int64_t lite_col_i64(struct sq *q, int c)
{
	return sqlite3_column_int64(((struct lq *)q)->st, c);
}

static bool lite_col_null(struct sq *q, int c)
{
	return sqlite3_column_type(((struct lq *)q)->st, c) == SQLITE_NULL;
}

static int64_t lite_changes(struct sq *q)
{
	return sqlite3_changes64(db_of(q->s));
}

static int lite_exec(struct store *s, const char *sql)
{
	char *e = NULL;
	/* a statement stepped to its first row (an UPDATE ... RETURNING) would hold COMMIT back:
	 * PostgreSQL's have run to the end, these are made to match */
	for (struct sq *q = s->cache; q; q = q->next)
		sqlite3_reset(((struct lq *)q)->st);
	int rc = sqlite3_exec(db_of(s), sql, NULL, NULL, &e);
	if (rc == SQLITE_OK)
		return 0;
	snprintf(s->err, sizeof(s->err), "%s", e ? e : sqlite3_errmsg(db_of(s)));
	sqlite3_free(e);
	return (rc & 0xff) == SQLITE_CONSTRAINT ? ST_REFUSED : ST_ERR;
}

/* The schema as written, but journal_mode: db_open set WAL, which cannot change inside a transaction. */
static char *lite_translate(const char *sql)
{
	char *out = strdup(sql), *p;
	if (out && (p = strstr(out, "PRAGMA journal_mode")))
		memcpy(p, "--", 2);
	return out;
}

static const struct store_ops lite_ops = {
	.close = lite_close,
	.prepare = lite_prepare,
	.reset = lite_reset,
	.bind = lite_bind,
	.step = lite_step,
	.col_text = lite_col_text,
	.col_i64 = lite_col_i64,
	.col_null = lite_col_null,
	.changes = lite_changes,
	.exec = lite_exec,
	.translate = lite_translate,
};

struct store *store_sqlite_open(const char *path, char *err, size_t n)
{
	struct lite *l = calloc(1, sizeof(*l));
	if (!l) {
		snprintf(err, n, "out of memory");
		return NULL;
	}
	/* the one opener: 0600 in a 0700 directory, WAL, busy timeout */
	if (!(l->db = db_open(path, NULL, err, n))) {
		free(l);
		return NULL;
	}
	l->s.ops = &lite_ops;
	char *e = NULL;
	if (sqlite3_exec(l->db, "PRAGMA synchronous=NORMAL;", NULL, NULL, &e) != SQLITE_OK) {
		snprintf(err, n, "%s: %s", path, e ? e : "pragma");
		sqlite3_free(e);
		sqlite3_close(l->db);
		free(l);
		return NULL;
	}
	return &l->s;
}
