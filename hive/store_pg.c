/*
 * The store on PostgreSQL (--store postgresql://...): several Hive
 * instances share one database. Statements are prepared on the server
 * once per connection and sent with text parameters; a lost connection is
 * made again on the next use (at most once a second), its statements
 * prepared again and its LISTENs repeated, and the generation bumped so
 * the Hive re-reads what notifications it may have missed.
 *
 * Where PostgreSQL differs from the SQLite schema text, translate() says it:
 * INTEGER is BIGINT (SQLite's are 64-bit), INTEGER PRIMARY KEY is an
 * identity column, TEXT is TEXT COLLATE "C" (SQLite compares bytes; so do
 * these columns whatever the database's locale, and their indexes are
 * twice as cheap to insert into as under a libc locale), PRAGMAs are
 * SQLite's alone.
 */
#include "store.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/socket.h>

struct pg {
	struct store s;
	PGconn *c;
	unsigned next_name;
	time_t last_try;
	bool txn; /* a BEGIN not yet ended by COMMIT or ROLLBACK */
	/* the pipeline that is out: its first failure, the rows it changed, whether it ends in COMMIT */
	int pipe_rc;
	int64_t pipe_changes;
	bool pipe_commits;
};

struct pq {
	struct sq q;
	char name[16];
	unsigned prepared_gen; /* the connection generation it was prepared on; 0: not yet */
	int nparams;
	char **vals;
	PGresult *res;
	int row, rows;
	int64_t changes;
	bool ran;
};

static struct pg *pg_of(struct store *s)
{
	return (struct pg *)s;
}

static void pg_close(struct store *s)
{
	struct sq *q = s->cache, *next;
	for (; q; q = next) {
		struct pq *p = (struct pq *)q;
		next = q->next;
		PQclear(p->res);
		for (int i = 0; i < p->nparams; i++)
			free(p->vals[i]);
		free(p->vals);
		free(q->sql);
		free(p);
	}
	PQfinish(pg_of(s)->c);
	free(s);
}

static void set_err(struct store *s, const char *what)
{
	const char *m = PQerrorMessage(pg_of(s)->c);
	snprintf(s->err, sizeof(s->err), "%s%s%.*s", what ? what : "", what ? ": " : "", (int)strcspn(m, "\n"), m);
}

/* The connection, made again when it was lost. false when it is down. */
static bool alive(struct store *s)
{
	struct pg *g = pg_of(s);
	if (PQstatus(g->c) == CONNECTION_OK)
		return true;
	if (g->txn) {
		/* the transaction died with the connection: nothing more of it may run, least of all a
		 * COMMIT on a new connection (which would answer OK for nothing); the ROLLBACK ends it */
		snprintf(s->err, sizeof(s->err), "PostgreSQL connection lost inside a transaction");
		return false;
	}
	time_t now = time(NULL);
	if (now == g->last_try) {
		snprintf(s->err, sizeof(s->err), "PostgreSQL connection lost, retrying");
		return false;
	}
	g->last_try = now;
	PQreset(g->c);
	if (PQstatus(g->c) != CONNECTION_OK) {
		set_err(s, "PostgreSQL reconnect");
		return false;
	}
	if (PQpipelineStatus(g->c) != PQ_PIPELINE_OFF)
		PQexitPipelineMode(g->c); /* a pipeline the lost connection had out */
	s->generation++;
	for (size_t i = 0; i < s->nlistening; i++) {
		char sql[128];
		snprintf(sql, sizeof(sql), "LISTEN %s", s->listening[i]);
		PQclear(PQexec(g->c, sql));
	}
	return true;
}

static int classify(struct store *s, PGresult *r)
{
	const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
	const char *m = PQresultErrorMessage(r);
	snprintf(s->err, sizeof(s->err), "%.*s", (int)strcspn(m, "\n"), m);
	/* 22: data exceptions (invalid UTF-8, out of range), 23: integrity constraints */
	if (state && (strncmp(state, "22", 2) == 0 || strncmp(state, "23", 2) == 0))
		return ST_REFUSED;
	return ST_ERR;
}

static int count_params(const char *sql)
{
	int max = 0;
	for (const char *p = sql; (p = strchr(p, '$'));) {
		int v = atoi(++p);
		if (v > max)
			max = v;
	}
	return max;
}

static struct sq *pg_prepare(struct store *s, const char *sql)
{
	struct pq *p = calloc(1, sizeof(*p));
	if (!p || !(p->q.sql = strdup(sql))) {
		free(p);
		snprintf(s->err, sizeof(s->err), "out of memory");
		return NULL;
	}
	p->nparams = count_params(sql);
	p->vals = calloc((size_t)p->nparams + 1, sizeof(char *));
	snprintf(p->name, sizeof(p->name), "q%u", ++pg_of(s)->next_name);
	return &p->q;
}

static void pg_reset(struct sq *q)
{
	struct pq *p = (struct pq *)q;
	PQclear(p->res);
	p->res = NULL;
	for (int i = 0; i < p->nparams; i++) {
		free(p->vals[i]);
		p->vals[i] = NULL;
	}
	p->ran = false;
	p->row = p->rows = 0;
	p->changes = 0;
}

static void pg_bind(struct sq *q, int i, const char *text, int64_t v, int type)
{
	struct pq *p = (struct pq *)q;
	if (i < 1 || i > p->nparams || !p->vals)
		return;
	free(p->vals[i - 1]);
	p->vals[i - 1] = NULL;
	if (type == SQ_TEXT) {
		p->vals[i - 1] = strdup(text);
	} else if (type == SQ_INT) {
		char b[24];
		snprintf(b, sizeof(b), "%lld", (long long)v);
		p->vals[i - 1] = strdup(b);
	}
}

/* q prepared on the server, on this connection. */
static int pg_ready(struct sq *q)
{
	struct pq *p = (struct pq *)q;
	struct store *s = q->s;
	if (!alive(s))
		return ST_ERR;
	if (p->prepared_gen != s->generation + 1) {
		PGresult *r = PQprepare(pg_of(s)->c, p->name, q->sql, 0, NULL);
		int rc = PQresultStatus(r) == PGRES_COMMAND_OK ? ST_DONE : classify(s, r);
		PQclear(r);
		if (rc != ST_DONE)
			return ST_ERR; /* a statement that does not prepare is the code's error, not the row's */
		p->prepared_gen = s->generation + 1;
	}
	return 0;
}

static int pg_step(struct sq *q)
{
	struct pq *p = (struct pq *)q;
	struct store *s = q->s;
	struct pg *g = pg_of(s);
	if (p->ran) {
		if (++p->row < p->rows)
			return ST_ROW;
		return ST_DONE;
	}
	if (!p->vals || pg_ready(q))
		return ST_ERR;
	p->res = PQexecPrepared(g->c, p->name, p->nparams, (const char *const *)p->vals, NULL, NULL, 0);
	p->ran = true;
	switch (PQresultStatus(p->res)) {
	case PGRES_TUPLES_OK:
		p->rows = PQntuples(p->res);
		p->row = 0;
		p->changes = atoll(PQcmdTuples(p->res));
		return p->rows ? ST_ROW : ST_DONE;
	case PGRES_COMMAND_OK:
		p->changes = atoll(PQcmdTuples(p->res));
		return ST_DONE;
	default:
		if (PQstatus(g->c) != CONNECTION_OK)
			set_err(s, "PostgreSQL");
		else
			return classify(s, p->res);
		return ST_ERR;
	}
}

static const char *pg_col_text(struct sq *q, int c)
{
	struct pq *p = (struct pq *)q;
	if (!p->res || p->row >= p->rows || c >= PQnfields(p->res) || PQgetisnull(p->res, p->row, c))
		return NULL;
	return PQgetvalue(p->res, p->row, c);
}

static int64_t pg_col_i64(struct sq *q, int c)
{
	const char *t = pg_col_text(q, c);
	/* booleans come as t and f, SQLite's as 1 and 0 */
	if (t && (t[0] == 't' || t[0] == 'f') && !t[1])
		return t[0] == 't';
	return t ? strtoll(t, NULL, 10) : 0;
}

static bool pg_col_null(struct sq *q, int c)
{
	return pg_col_text(q, c) == NULL;
}

static int64_t pg_changes(struct sq *q)
{
	return ((struct pq *)q)->changes;
}

static int pg_exec(struct store *s, const char *sql)
{
	struct pg *g = pg_of(s);
	if (strcmp(sql, "COMMIT") == 0 || strcmp(sql, "ROLLBACK") == 0) {
		bool had = g->txn;
		g->txn = false;
		if (!had || PQstatus(g->c) != CONNECTION_OK) {
			if (sql[0] == 'C') {
				snprintf(s->err, sizeof(s->err), "%s", had ? "PostgreSQL connection lost before COMMIT" :
									  "COMMIT outside a transaction");
				return ST_ERR;
			}
			return 0; /* nothing left to roll back */
		}
	} else if (!alive(s)) {
		return ST_ERR;
	}
	PGresult *r = PQexec(pg_of(s)->c, sql);
	ExecStatusType st = PQresultStatus(r);
	int rc = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK ? 0 : classify(s, r);
	if (rc == 0 && strcmp(sql, "BEGIN") == 0)
		g->txn = true;
	if (rc && PQstatus(pg_of(s)->c) != CONNECTION_OK)
		set_err(s, "PostgreSQL");
	PQclear(r);
	return rc;
}

static int pg_fd(struct store *s)
{
	return PQstatus(pg_of(s)->c) == CONNECTION_OK ? PQsocket(pg_of(s)->c) : -1;
}

static void pg_notifications(struct store *s, void (*cb)(const char *, const char *, void *), void *ctx)
{
	PGconn *c = pg_of(s)->c;
	if (!PQconsumeInput(c) && PQstatus(c) != CONNECTION_OK)
		alive(s); /* the next turn polls the new socket */
	PGnotify *n;
	while ((n = PQnotifies(c))) {
		cb(n->relname, n->extra, ctx);
		PQfreemem(n);
	}
}

static bool word_at(const char *p, const char *start, const char *w)
{
	size_t l = strlen(w);
	if (strncmp(p, w, l))
		return false;
	bool before = p == start || !(p[-1] == '_' || (p[-1] >= 'A' && p[-1] <= 'Z') || (p[-1] >= 'a' && p[-1] <= 'z'));
	char a = p[l];
	return before && !(a == '_' || (a >= 'A' && a <= 'Z') || (a >= 'a' && a <= 'z'));
}

/* The SQLite schema text in PostgreSQL's words (the differences, stated once). */
static char *pg_translate(const char *sql)
{
	static const char ipk[] = "INTEGER PRIMARY KEY", ident[] = "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY";
	size_t cap = strlen(sql) * 4 + 1, o = 0;
	char *out = malloc(cap);
	if (!out)
		return NULL;
	for (const char *p = sql; *p;) {
		if ((p == sql || p[-1] == '\n') && strncmp(p, "PRAGMA", 6) == 0) {
			p += strcspn(p, "\n"); /* SQLite's alone */
			continue;
		}
		if (word_at(p, sql, "INTEGER") && strncmp(p, ipk, sizeof(ipk) - 1) == 0) {
			memcpy(out + o, ident, sizeof(ident) - 1);
			o += sizeof(ident) - 1;
			p += sizeof(ipk) - 1;
			continue;
		}
		if (word_at(p, sql, "TEXT")) {
			static const char c[] = "TEXT COLLATE \"C\"";
			memcpy(out + o, c, sizeof(c) - 1);
			o += sizeof(c) - 1;
			p += 4;
			continue;
		}
		if (word_at(p, sql, "INTEGER")) {
			memcpy(out + o, "BIGINT", 6);
			o += 6;
			p += 7;
			continue;
		}
		out[o++] = *p++;
	}
	out[o] = 0;
	return out;
}

static void quiet(void *arg, const char *message)
{
	(void)arg;
	(void)message;
}

/*
 * Pipelines: libpq's pipeline mode on the blocking connection. What is sent
 * is large (a turn's incidents) and what comes back small (a CommandComplete
 * per statement), so the server never waits on us to read while we write.
 */
static bool pg_pipe_begin(struct store *s)
{
	struct pg *g = pg_of(s);
	if (!alive(s))
		return false;
	if (PQenterPipelineMode(g->c) != 1) {
		set_err(s, "PostgreSQL pipeline");
		return false;
	}
	g->pipe_rc = ST_DONE;
	g->pipe_changes = 0;
	g->pipe_commits = false;
	s->pipe_busy = true;
	return true;
}

static int pg_pipe_send(struct sq *q)
{
	struct pq *p = (struct pq *)q;
	struct pg *g = pg_of(q->s);
	/* prepared before the pipeline began (store_ready): PQprepare waits for its answer */
	if (!p->vals || p->prepared_gen != q->s->generation + 1) {
		snprintf(q->s->err, sizeof(q->s->err), "a statement sent in a pipeline before it was prepared");
		return ST_ERR;
	}
	if (!PQsendQueryPrepared(g->c, p->name, p->nparams, (const char *const *)p->vals, NULL, NULL, 0)) {
		set_err(q->s, "PostgreSQL");
		return ST_ERR;
	}
	return 0;
}

static int pg_pipe_exec(struct store *s, const char *sql)
{
	if (!PQsendQueryParams(pg_of(s)->c, sql, 0, NULL, NULL, NULL, NULL, 0)) {
		set_err(s, "PostgreSQL");
		return ST_ERR;
	}
	return 0;
}

static int pg_pipe_end(struct store *s, bool commits)
{
	struct pg *g = pg_of(s);
	g->pipe_commits = commits;
	/* blocking: sends what is buffered */
	if (PQpipelineSync(g->c) != 1) {
		set_err(s, "PostgreSQL");
		/* no sync point is queued, so no answer would ever end the pipeline: drop the
		 * connection (the server rolls the turn back) and take the lost-connection path */
		if (PQsocket(g->c) >= 0)
			shutdown(PQsocket(g->c), SHUT_RDWR);
		PQconsumeInput(g->c);
		return ST_ERR;
	}
	return 0;
}

static int pg_pipe_result(struct store *s, bool wait, int64_t *changes)
{
	struct pg *g = pg_of(s);
	for (;;) {
		if (PQstatus(g->c) != CONNECTION_OK) {
			/* the transaction went with the connection: the ROLLBACK that follows ends it here */
			set_err(s, "PostgreSQL");
			s->pipe_busy = false;
			return ST_ERR;
		}
		if (!wait && (!PQconsumeInput(g->c) || PQisBusy(g->c))) {
			if (PQstatus(g->c) != CONNECTION_OK)
				continue;
			return ST_ROW;
		}
		PGresult *r = PQgetResult(g->c);
		if (!r)
			continue; /* the end of one statement's results */
		ExecStatusType st = PQresultStatus(r);
		if (st == PGRES_PIPELINE_SYNC) {
			PQclear(r);
			break;
		}
		if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
			g->pipe_changes += atoll(PQcmdTuples(r));
		else if (st != PGRES_PIPELINE_ABORTED && g->pipe_rc == ST_DONE)
			g->pipe_rc = classify(s, r); /* the first failure; what follows it was not run */
		PQclear(r);
	}
	PQexitPipelineMode(g->c);
	s->pipe_busy = false;
	if (g->pipe_rc == ST_DONE && g->pipe_commits)
		g->txn = false;
	*changes = g->pipe_changes;
	return g->pipe_rc;
}

static const struct store_ops pg_ops = {
	.close = pg_close,
	.prepare = pg_prepare,
	.reset = pg_reset,
	.bind = pg_bind,
	.step = pg_step,
	.col_text = pg_col_text,
	.col_i64 = pg_col_i64,
	.col_null = pg_col_null,
	.changes = pg_changes,
	.exec = pg_exec,
	.fd = pg_fd,
	.notifications = pg_notifications,
	.translate = pg_translate,
	.pipe_begin = pg_pipe_begin,
	.ready = pg_ready,
	.pipe_send = pg_pipe_send,
	.pipe_exec = pg_pipe_exec,
	.pipe_end = pg_pipe_end,
	.pipe_result = pg_pipe_result,
};

struct store *store_pg_open(const char *uri, char *err, size_t n)
{
	struct pg *g = calloc(1, sizeof(*g));
	if (!g) {
		snprintf(err, n, "out of memory");
		return NULL;
	}
	g->s.ops = &pg_ops;
	g->s.pg = true;
	g->c = PQconnectdb(uri);
	if (PQstatus(g->c) != CONNECTION_OK) {
		const char *m = PQerrorMessage(g->c);
		snprintf(err, n, "%.*s", (int)strcspn(m, "\n"), m);
		PQfinish(g->c);
		free(g);
		return NULL;
	}
	/* quiet: NOTICEs (an IF NOT EXISTS that found the table) would go to stderr */
	PQsetNoticeProcessor(g->c, quiet, NULL);
	return &g->s;
}
