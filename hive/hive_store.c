/*
 * Incidents from agents, stored exactly once under (agent, sequence) and
 * acknowledged only after the transaction that stored them committed.
 * The batches of one loop turn, from every agent, are checked as they
 * arrive and staged; at the end of the turn their rows go in together:
 * multi-row INSERTs ... ON CONFLICT DO NOTHING across agents, under one
 * savepoint, then one durable commit for all (with 10,000 agents each
 * batch is small, and a statement or savepoint per batch was where the
 * time went). An item the database refuses sends the turn down the slow
 * path, a batch at a time and then an item at a time, where it alone gets
 * a negative ack with the reason: no single incident can hold back those
 * behind it. When the database itself fails, the turn's transaction is
 * rolled back and nothing is acked: agents send again.
 */
#include "hive_int.h"
#include "incident.h"
#include "incident_wire.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NWIRE 17         /* the INCIDENT_COLUMNS */
#define NCOL (NWIRE + 4) /* host, agent_id, agent_seq in front, stored_by after */
/* rows per INSERT at most: 2688 parameters, under both databases' limits; a turn's rows go in
 * statements of powers of two up to it, so a connection prepares eight of them, not 128 */
#define CHUNK 128

/* An item's checked values, until they are bound to a multi-row INSERT. */
struct val {
	int type;
	int64_t i;
	const char *t;
};
struct staged {
	int index;
	int64_t seq;
	struct val v[NWIRE];
};

/* One agent's batch of this turn: its items staged until the turn's commit, its ack sent after. */
struct pending_ack {
	struct conn *c;
	cJSON *ack, *seqs, *nacks;
	struct staged *items;
	int count;
	char *text;      /* the items' text values, copied: the frame is freed before the commit */
	uint64_t ok;     /* items stored or already there */
	uint64_t refused;
	struct pending_ack *next;
};

/* A row of a multi-row INSERT: an item and the agent it came from. */
struct row {
	struct conn *c;
	const struct staged *it;
};

/* What the turn stored and found already stored, counted once it commits. */
static uint64_t turn_stored, turn_dups;

static char *insert_sql[CHUNK + 1];
static void settle(void *ctx);

static void st_null(void *st, int p)
{
	((struct val *)st)[p] = (struct val){ SQ_NULL, 0, NULL };
}

static void st_i64(void *st, int p, int64_t v)
{
	((struct val *)st)[p] = (struct val){ SQ_INT, v, NULL };
}

static void st_text(void *st, int p, const char *v)
{
	((struct val *)st)[p] = (struct val){ SQ_TEXT, 0, v };
}

static const struct wire_binder stage = { st_null, st_i64, st_text };

/* INSERT of `rows` incidents: $1..$21 the first, $22.. the next. */
static const char *sql_for(int rows)
{
	if (insert_sql[rows])
		return insert_sql[rows];
	size_t cap = 512 + (size_t)rows * NCOL * 8, o;
	char *s = malloc(cap);
	if (!s)
		return NULL;
	o = (size_t)snprintf(s, cap, "INSERT INTO incidents (host, agent_id, agent_seq, " INCIDENT_COLUMNS
			     ", stored_by, hive_acked) VALUES ");
	for (int r = 0; r < rows; r++) {
		o += (size_t)snprintf(s + o, cap - o, "%s(", r ? "," : "");
		for (int c = 1; c <= NCOL; c++)
			o += (size_t)snprintf(s + o, cap - o, "$%d,", r * NCOL + c);
		o += (size_t)snprintf(s + o, cap - o, "1)");
	}
	snprintf(s + o, cap - o, " ON CONFLICT DO NOTHING");
	return insert_sql[rows] = s;
}

int hive_store_open(const char *where, char *err, size_t n)
{
	char e[512];
	if (!(H.st = store_open(where, e, sizeof(e)))) {
		snprintf(err, n, "%s", e);
		return -1;
	}
	if (store_migrate(H.st, e, sizeof(e))) {
		/* a URI may hold a password: not repeated */
		snprintf(err, n, "%s: %s", store_is_pg(H.st) ? "PostgreSQL" : where, e);
		store_close(H.st);
		H.st = NULL;
		return -1;
	}
	store_on_busy(H.st, settle, NULL);
	return 0;
}

static void free_ack(struct pending_ack *a)
{
	cJSON_Delete(a->ack);
	free(a->items);
	free(a->text);
	free(a);
}

static void drop_list(struct pending_ack **list)
{
	while (*list) {
		struct pending_ack *a = *list;
		*list = a->next;
		free_ack(a);
	}
	turn_stored = turn_dups = 0;
}

void hive_store_close(void)
{
	hive_store_commit();
	drop_list(&H.acks);
	store_close(H.st);
	H.st = NULL;
	for (int i = 0; i <= CHUNK; i++) {
		free(insert_sql[i]);
		insert_sql[i] = NULL;
	}
}

struct sq *hive_q(const char *sql)
{
	struct sq *q = store_q(H.st, sql);
	if (!q)
		hive_log("store: %s", store_err(H.st));
	return q;
}

/* The database failed under a turn's transaction: nothing of it is acked, and the agents
 * whose batches were in it are closed so they send them again now (after their backoff),
 * not after waiting out the ack. */
static void abort_list(struct pending_ack **list, const char *what)
{
	hive_log("store: %s: %s; %s", what, store_err(H.st),
		 *list ? "the turn's batches are not acked, their agents send them again" : "rolled back");
	store_exec(H.st, "ROLLBACK");
	H.txn = false;
	H.store_failures++;
	for (struct pending_ack *a = *list; a; a = a->next)
		hive_conn_kill(a->c, "the store failed under its batch");
	drop_list(list);
}

bool hive_store_begin(void)
{
	if (H.txn)
		return true;
	if (store_exec(H.st, "BEGIN")) {
		hive_log("store: BEGIN: %s", store_err(H.st));
		H.store_failures++;
		store_exec(H.st, "ROLLBACK");
		return false;
	}
	H.txn = true;
	return true;
}

static void nack(cJSON *nacks, int index, const int64_t *seq, const char *reason)
{
	cJSON *x = cJSON_CreateObject();
	cJSON_AddNumberToObject(x, "index", index);
	if (seq)
		frame_add_i64(x, "seq", *seq);
	cJSON_AddStringToObject(x, "reason", reason);
	cJSON_AddItemToArray(nacks, x);
}

static void bind_row(struct sq *q, int row, const struct row *r)
{
	int b = row * NCOL;
	sq_text(q, b + 1, r->c->host[0] ? r->c->host : r->c->agent_id);
	sq_text(q, b + 2, r->c->agent_id);
	sq_i64(q, b + 3, r->it->seq);
	for (int i = 0; i < NWIRE; i++) {
		const struct val *v = &r->it->v[i];
		if (v->type == SQ_TEXT)
			sq_text(q, b + 4 + i, v->t);
		else if (v->type == SQ_INT)
			sq_i64(q, b + 4 + i, v->i);
		else
			sq_null(q, b + 4 + i);
	}
	sq_text(q, b + NCOL, H.instance);
}

/* n rows in INSERTs of powers of two rows up to CHUNK: ST_DONE with *stored, or the first failure. */
static int insert_rows(const struct row *rows, size_t n, int64_t *stored)
{
	*stored = 0;
	for (size_t off = 0; off < n;) {
		int k = CHUNK;
		while ((size_t)k > n - off)
			k /= 2;
		const char *sql = sql_for(k);
		struct sq *q = sql ? hive_q(sql) : NULL;
		if (!q)
			return ST_ERR;
		for (int r = 0; r < k; r++)
			bind_row(q, r, &rows[off + (size_t)r]);
		int rc = sq_step(q);
		if (rc != ST_DONE)
			return rc;
		*stored += sq_changes(q);
		off += (size_t)k;
	}
	return ST_DONE;
}

static void all_acked(struct pending_ack *a)
{
	for (int i = 0; i < a->count; i++)
		cJSON_AddItemToArray(a->seqs, frame_create_i64(a->items[i].seq));
	a->ok += (uint64_t)a->count;
}

/* The slow path: each item in its own savepoint; what the database refuses is nacked. */
static int one_by_one(struct pending_ack *a)
{
	for (int i = 0; i < a->count; i++) {
		const struct staged *it = &a->items[i];
		struct row r = { a->c, it };
		int64_t got = 0;
		if (store_exec(H.st, "SAVEPOINT item"))
			return ST_ERR;
		int rc = insert_rows(&r, 1, &got);
		if (rc == ST_REFUSED) {
			char why[200];
			snprintf(why, sizeof(why), "the database refused it: %.160s", store_err(H.st));
			if (store_exec(H.st, "ROLLBACK TO SAVEPOINT item"))
				return ST_ERR;
			nack(a->nacks, it->index, &it->seq, why);
			a->refused++;
		} else if (rc != ST_DONE) {
			return ST_ERR;
		} else {
			cJSON_AddItemToArray(a->seqs, frame_create_i64(it->seq));
			a->ok++;
			turn_stored += (uint64_t)got;
			turn_dups += 1 - (uint64_t)got;
		}
		if (store_exec(H.st, "RELEASE SAVEPOINT item"))
			return ST_ERR;
	}
	return ST_DONE;
}

static struct row *rows_of(struct pending_ack *a, struct row *rows)
{
	for (int i = 0; i < a->count; i++)
		*rows++ = (struct row){ a->c, &a->items[i] };
	return rows;
}

/* One batch alone, when the turn's rows together had one the database refused. */
static int store_batch(struct pending_ack *a, struct row *rows)
{
	int64_t got = 0;
	if (store_exec(H.st, "SAVEPOINT batch"))
		return ST_ERR;
	rows_of(a, rows);
	int rc = insert_rows(rows, (size_t)a->count, &got);
	if (rc == ST_DONE) {
		all_acked(a);
		turn_stored += (uint64_t)got;
		turn_dups += (uint64_t)(a->count - got);
	} else if (rc == ST_REFUSED) {
		rc = store_exec(H.st, "ROLLBACK TO SAVEPOINT batch") ? ST_ERR : one_by_one(a);
	}
	if (rc == ST_DONE && store_exec(H.st, "RELEASE SAVEPOINT batch"))
		rc = ST_ERR;
	return rc;
}

/* Each batch of list alone, after the turn's rows together had one the database refused:
 * from the savepoint "turn", in the open transaction. ST_DONE or ST_ERR. */
static int store_each(struct pending_ack *list)
{
	int most = 0;
	for (struct pending_ack *a = list; a; a = a->next)
		most = a->count > most ? a->count : most;
	struct row *rows = malloc(((size_t)most + 1) * sizeof(*rows));
	if (!rows) {
		snprintf(H.st->err, sizeof(H.st->err), "out of memory for %d rows", most);
		return ST_ERR;
	}
	int rc = store_exec(H.st, "ROLLBACK TO SAVEPOINT turn") ? ST_ERR : ST_DONE;
	for (struct pending_ack *a = list; a && rc == ST_DONE; a = a->next)
		rc = store_batch(a, rows);
	if (rc == ST_DONE && store_exec(H.st, "RELEASE SAVEPOINT turn"))
		rc = ST_ERR;
	free(rows);
	return rc;
}

static size_t rows_in(const struct pending_ack *list)
{
	size_t total = 0;
	for (; list; list = list->next)
		total += (size_t)list->count;
	return total;
}

/* The rows of list, every agent's together, arrival order aside. */
static struct row *all_rows(struct pending_ack *list, size_t total)
{
	struct row *rows = malloc((total + 1) * sizeof(*rows)), *end = rows;
	if (!rows) {
		snprintf(H.st->err, sizeof(H.st->err), "out of memory for %zu rows", total);
		return NULL;
	}
	for (struct pending_ack *a = list; a; a = a->next)
		end = rows_of(a, end);
	return rows;
}

/* The rows went in: every batch acked whole. */
static void all_stored(struct pending_ack *list, size_t total, int64_t got)
{
	for (struct pending_ack *a = list; a; a = a->next)
		all_acked(a);
	turn_stored += (uint64_t)got;
	turn_dups += total - (uint64_t)got;
}

/* The staged rows of list into the open transaction, one statement after another: ST_DONE or ST_ERR. */
static int store_turn(struct pending_ack *list)
{
	size_t total = rows_in(list);
	if (!total)
		return ST_DONE;
	struct row *rows = all_rows(list, total);
	if (!rows)
		return ST_ERR;
	int64_t got = 0;
	int rc = !hive_store_begin() || store_exec(H.st, "SAVEPOINT turn") ? ST_ERR : insert_rows(rows, total, &got);
	free(rows);
	if (rc == ST_DONE) {
		all_stored(list, total, got);
		if (store_exec(H.st, "RELEASE SAVEPOINT turn"))
			rc = ST_ERR;
	} else if (rc == ST_REFUSED) {
		rc = store_each(list);
	}
	return rc;
}

/* Committed: the acks of list go out, in arrival order, and what it stored is counted. */
static void send_acks(struct pending_ack **list)
{
	H.txn = false;
	H.stored += turn_stored;
	H.duplicates += turn_dups;
	turn_stored = turn_dups = 0;
	struct pending_ack *rev = NULL;
	while (*list) {
		struct pending_ack *a = *list;
		*list = a->next;
		a->next = rev;
		rev = a;
	}
	while (rev) {
		struct pending_ack *a = rev;
		rev = a->next;
		struct conn *c = a->c;
		H.nacked += a->refused;
		c->incidents += a->ok;
		c->nacked += a->refused;
		c->batches++;
		if (a->refused)
			hive_log("%s agent %s: %llu incidents refused (first: %s)", c->peer, c->agent_id,
				 (unsigned long long)a->refused, hive_jstr(cJSON_GetArrayItem(a->nacks, 0), "reason"));
		if (!c->dead)
			hive_send(c, a->ack);
		else
			cJSON_Delete(a->ack);
		a->ack = NULL;
		free_ack(a);
	}
}

/* The turn whose rows and COMMIT are out in a pipeline (PostgreSQL), with its row count:
 * its agents' next batches are read and checked while the database stores it. */
static struct pending_ack *inflight;
static size_t inflight_rows;

/* The pipelined turn's outcome: acks when it committed; when the database refused a row,
 * the slow path from its savepoint and a commit of our own; else nothing acked. wait
 * false: nothing done while its results are still out. */
static void finish_inflight(bool wait)
{
	/* read to its end even when every agent of the turn has gone (inflight empty) */
	if (!H.st || !store_pipe_busy(H.st))
		return;
	int64_t got = 0;
	int rc = store_pipe_result(H.st, wait, &got);
	if (rc == ST_ROW)
		return;
	struct pending_ack *list = inflight;
	inflight = NULL;
	turn_stored = turn_dups = 0;
	if (rc == ST_DONE) {
		all_stored(list, inflight_rows, got);
		send_acks(&list);
		return;
	}
	if (rc == ST_REFUSED) {
		/* the transaction is open, aborted at the row: back to the savepoint */
		H.txn = true;
		if (store_each(list) == ST_DONE && store_exec(H.st, "COMMIT") == 0) {
			send_acks(&list);
			return;
		}
	}
	abort_list(&list, "storing the turn's batches");
}

static void settle(void *ctx)
{
	(void)ctx;
	finish_inflight(true);
}

/* Batches whose agent is gone: their ack cannot go out, they are sent again on the next link. */
static void forget_dead(struct pending_ack **list)
{
	for (struct pending_ack **pp = list, *a; (a = *pp);) {
		if (a->c->dead) {
			*pp = a->next;
			free_ack(a);
		} else {
			pp = &a->next;
		}
	}
}

/* This turn's rows, then its COMMIT, sent in a pipeline; false when the store has none. */
static bool send_turn(void)
{
	forget_dead(&H.acks);
	size_t total = rows_in(H.acks);
	if (!total || !store_is_pg(H.st))
		return false;
	/* every statement prepared before the pipeline: PQprepare waits for its answer */
	for (int k = CHUNK; k >= 1; k /= 2) {
		const char *sql = sql_for(k);
		struct sq *q = sql ? hive_q(sql) : NULL;
		if (!q || store_ready(q))
			return false; /* the statements one by one say why */
	}
	struct row *rows = all_rows(H.acks, total);
	if (!rows)
		return false;
	if (!hive_store_begin() || !store_pipe_begin(H.st)) {
		free(rows);
		return false;
	}
	int rc = store_pipe_exec(H.st, "SAVEPOINT turn");
	for (size_t off = 0; off < total && !rc;) {
		int k = CHUNK;
		while ((size_t)k > total - off)
			k /= 2;
		struct sq *q = hive_q(sql_for(k));
		if (!q) {
			rc = ST_ERR;
			break;
		}
		for (int r = 0; r < k; r++)
			bind_row(q, r, &rows[off + (size_t)r]);
		rc = store_pipe_send(q);
		off += (size_t)k;
	}
	free(rows);
	if (!rc)
		rc = store_pipe_exec(H.st, "RELEASE SAVEPOINT turn");
	if (!rc)
		rc = store_pipe_exec(H.st, "COMMIT");
	/* what is sent is read back to its end, whatever failed */
	if (store_pipe_end(H.st, !rc) || rc) {
		/* not all of it went out, the COMMIT perhaps not: whatever the answers say, nothing of it is acked */
		int64_t got;
		store_pipe_result(H.st, true, &got);
		abort_list(&H.acks, "sending the turn's batches");
		return true;
	}
	inflight = H.acks;
	inflight_rows = total;
	H.acks = NULL;
	H.txn = false;
	return true;
}

void hive_store_send(void)
{
	finish_inflight(H.acks || H.txn);
	if (!H.acks && !H.txn)
		return;
	if (send_turn())
		return;
	turn_stored = turn_dups = 0;
	if (store_turn(H.acks) != ST_DONE) {
		abort_list(&H.acks, "storing the turn's batches");
		return;
	}
	if (H.txn && store_exec(H.st, "COMMIT")) {
		abort_list(&H.acks, "COMMIT");
		return;
	}
	send_acks(&H.acks);
}

void hive_store_poll(void)
{
	finish_inflight(false);
}

void hive_store_commit(void)
{
	hive_store_send();
	finish_inflight(true);
}

bool hive_store_pending(const struct conn *c)
{
	for (const struct pending_ack *a = H.acks; a; a = a->next)
		if (a->c == c)
			return true;
	for (const struct pending_ack *a = inflight; a; a = a->next)
		if (a->c == c)
			return true;
	return false;
}

static void forget_in(struct pending_ack **list, const struct conn *c)
{
	for (struct pending_ack **pp = list, *a; (a = *pp);) {
		if (a->c == c) {
			*pp = a->next;
			free_ack(a);
		} else {
			pp = &a->next;
		}
	}
}

void hive_store_forget(struct conn *c)
{
	forget_in(&H.acks, c);
	forget_in(&inflight, c);
}

/* The staged items' text values into one block of their own. */
static int keep_text(struct pending_ack *a)
{
	size_t len = 0;
	for (int i = 0; i < a->count; i++)
		for (int k = 0; k < NWIRE; k++)
			if (a->items[i].v[k].type == SQ_TEXT)
				len += strlen(a->items[i].v[k].t) + 1;
	if (!len)
		return 0;
	char *p = a->text = malloc(len);
	if (!p)
		return -1;
	for (int i = 0; i < a->count; i++)
		for (int k = 0; k < NWIRE; k++) {
			struct val *v = &a->items[i].v[k];
			if (v->type == SQ_TEXT) {
				size_t l = strlen(v->t) + 1;
				memcpy(p, v->t, l);
				v->t = p;
				p += l;
			}
		}
	return 0;
}

int hive_handle_incidents(struct conn *c, const cJSON *m)
{
	const cJSON *batch = cJSON_GetObjectItemCaseSensitive(m, "batch"), *it;
	if (!cJSON_IsArray(batch)) {
		hive_log("%s agent %s: incidents without a \"batch\" array: refused", c->peer, c->agent_id);
		return -1;
	}
	int size = cJSON_GetArraySize(batch), index = 0;
	struct pending_ack *a = calloc(1, sizeof(*a));
	if (a) {
		a->items = calloc((size_t)size + 1, sizeof(*a->items));
		a->ack = cJSON_CreateObject();
	}
	if (!a || !a->items || !a->ack || !cJSON_AddStringToObject(a->ack, "type", "ack") ||
	    !(a->seqs = cJSON_AddArrayToObject(a->ack, "seqs")) || !(a->nacks = cJSON_AddArrayToObject(a->ack, "nacks"))) {
		if (a)
			free_ack(a);
		hive_log("%s agent %s: out of memory for a batch of %d: not acked", c->peer, c->agent_id, size);
		return 0;
	}
	cJSON_ArrayForEach(it, batch)
	{
		char why[160];
		struct staged *s = &a->items[a->count];
		const cJSON *sv = cJSON_GetObjectItemCaseSensitive(it, "seq");
		s->index = index++;
		if (frame_i64(sv, 1, INT64_MAX, &s->seq)) {
			nack(a->nacks, s->index, NULL, "\"seq\" must be an integer from 1 to 9223372036854775807");
			a->refused++;
			continue;
		}
		if (incident_wire_bind(&stage, s->v, 0, it, why, sizeof(why))) {
			nack(a->nacks, s->index, &s->seq, why);
			a->refused++;
			continue;
		}
		a->count++;
	}
	if (keep_text(a)) {
		free_ack(a);
		hive_log("%s agent %s: out of memory for a batch of %d: not acked", c->peer, c->agent_id, size);
		return 0;
	}
	/* stored at the end of the turn, with every other agent's; a batch of refused items only is acked then too */
	a->c = c;
	a->next = H.acks;
	H.acks = a;
	return 0;
}
