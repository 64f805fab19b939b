/*
 * Incidents from agents, stored exactly once under (agent, sequence) and
 * acknowledged only after the transaction that stored them committed. The
 * batches of one loop turn, from every agent, share one transaction (one
 * durable commit for all), each batch inside a savepoint and its items in
 * multi-row INSERTs ... ON CONFLICT DO NOTHING. An item the database
 * refuses sends its batch down the slow path, an item at a time, where it
 * alone gets a negative ack with the reason: no single incident can hold
 * back those behind it. When the database itself fails, the turn's
 * transaction is rolled back and nothing is acked: agents send again.
 */
#include "hive_int.h"
#include "incident.h"
#include "incident_wire.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NWIRE 17         /* the INCIDENT_COLUMNS */
#define NCOL (NWIRE + 4) /* host, agent_id, agent_seq in front, stored_by after */
#define CHUNK 64         /* rows per INSERT: 1344 parameters, under both databases' limits */

struct pending_ack {
	struct conn *c;
	cJSON *ack;
	uint64_t stored, dups, refused;
	struct pending_ack *next;
};

/* An item's checked values, until they are bound to a multi-row INSERT. */
struct val {
	int type;
	int64_t i;
	const char *t;
};
struct staged {
	int index;
	int64_t seq;
	const cJSON *sv;
	struct val v[NWIRE];
};

static char *insert_sql[CHUNK + 1];

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
	return 0;
}

static void drop_acks(void)
{
	while (H.acks) {
		struct pending_ack *a = H.acks;
		H.acks = a->next;
		cJSON_Delete(a->ack);
		free(a);
	}
}

void hive_store_close(void)
{
	hive_store_commit();
	drop_acks();
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

/* The database failed under this turn's transaction: nothing of it is acked, and the
 * agents whose batches were in it are closed so they send them again now (after their
 * backoff), not after waiting out the ack. */
static void abort_turn(const char *what, struct conn *also)
{
	hive_log("store: %s: %s; %s", what, store_err(H.st),
		 H.acks || also ? "the turn's batches are not acked, their agents send them again" : "rolled back");
	store_exec(H.st, "ROLLBACK");
	H.txn = false;
	H.store_failures++;
	for (struct pending_ack *a = H.acks; a; a = a->next)
		hive_conn_kill(a->c, "the store failed under its batch");
	if (also)
		hive_conn_kill(also, "the store failed under its batch");
	drop_acks();
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

void hive_store_commit(void)
{
	if (H.txn && store_exec(H.st, "COMMIT")) {
		abort_turn("COMMIT", NULL);
		return;
	}
	H.txn = false;
	/* in arrival order */
	struct pending_ack *rev = NULL;
	while (H.acks) {
		struct pending_ack *a = H.acks;
		H.acks = a->next;
		a->next = rev;
		rev = a;
	}
	while (rev) {
		struct pending_ack *a = rev;
		rev = a->next;
		struct conn *c = a->c;
		/* counted once committed: a rolled-back batch stored nothing */
		H.stored += a->stored;
		H.duplicates += a->dups;
		H.nacked += a->refused;
		c->incidents += a->stored + a->dups;
		c->nacked += a->refused;
		c->batches++;
		if (a->refused)
			hive_log("%s agent %s: %llu incidents refused (first: %s)", c->peer, c->agent_id,
				 (unsigned long long)a->refused,
				 hive_jstr(cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(a->ack, "nacks"), 0),
					   "reason"));
		if (!c->dead)
			hive_send(c, a->ack);
		else
			cJSON_Delete(a->ack);
		free(a);
	}
}

bool hive_store_pending(const struct conn *c)
{
	for (const struct pending_ack *a = H.acks; a; a = a->next)
		if (a->c == c)
			return true;
	return false;
}

void hive_store_forget(struct conn *c)
{
	for (struct pending_ack **pp = &H.acks, *a; (a = *pp);) {
		if (a->c == c) {
			*pp = a->next;
			cJSON_Delete(a->ack);
			free(a);
		} else {
			pp = &a->next;
		}
	}
}

static void nack(cJSON *nacks, int index, const cJSON *seq, const char *reason)
{
	cJSON *x = cJSON_CreateObject();
	cJSON_AddNumberToObject(x, "index", index);
	int64_t s;
	if (frame_i64(seq, 1, INT64_MAX, &s) == 0)
		frame_add_i64(x, "seq", s);
	cJSON_AddStringToObject(x, "reason", reason);
	cJSON_AddItemToArray(nacks, x);
}

static void bind_row(struct sq *q, int row, struct conn *c, const struct staged *it)
{
	int b = row * NCOL;
	sq_text(q, b + 1, c->host[0] ? c->host : c->agent_id);
	sq_text(q, b + 2, c->agent_id);
	sq_i64(q, b + 3, it->seq);
	for (int i = 0; i < NWIRE; i++) {
		const struct val *v = &it->v[i];
		if (v->type == SQ_TEXT)
			sq_text(q, b + 4 + i, v->t);
		else if (v->type == SQ_INT)
			sq_i64(q, b + 4 + i, v->i);
		else
			sq_null(q, b + 4 + i);
	}
	sq_text(q, b + NCOL, H.instance);
}

/* rows items with one INSERT: ST_DONE with *stored, or the failure. */
static int insert_rows(struct conn *c, const struct staged *items, int rows, int64_t *stored)
{
	const char *sql = sql_for(rows);
	struct sq *q = sql ? hive_q(sql) : NULL;
	if (!q)
		return ST_ERR;
	for (int r = 0; r < rows; r++)
		bind_row(q, r, c, &items[r]);
	int rc = sq_step(q);
	if (rc == ST_DONE)
		*stored = sq_changes(q);
	return rc;
}

/* The slow path: each item in its own savepoint; what the database refuses is nacked. */
static int one_by_one(struct conn *c, const struct staged *items, int count, cJSON *seqs, cJSON *nacks,
		      struct pending_ack *a)
{
	for (int i = 0; i < count; i++) {
		int64_t got = 0;
		if (store_exec(H.st, "SAVEPOINT item"))
			return ST_ERR;
		int rc = insert_rows(c, &items[i], 1, &got);
		if (rc == ST_REFUSED) {
			char why[200];
			snprintf(why, sizeof(why), "the database refused it: %.160s", store_err(H.st));
			if (store_exec(H.st, "ROLLBACK TO SAVEPOINT item"))
				return ST_ERR;
			nack(nacks, items[i].index, items[i].sv, why);
			a->refused++;
		} else if (rc != ST_DONE) {
			return ST_ERR;
		} else {
			cJSON_AddItemToArray(seqs, frame_create_i64(items[i].seq));
			a->stored += (uint64_t)got;
			a->dups += 1 - (uint64_t)got;
		}
		if (store_exec(H.st, "RELEASE SAVEPOINT item"))
			return ST_ERR;
	}
	return ST_DONE;
}

int hive_handle_incidents(struct conn *c, const cJSON *m)
{
	const cJSON *batch = cJSON_GetObjectItemCaseSensitive(m, "batch"), *it;
	if (!cJSON_IsArray(batch)) {
		hive_log("%s agent %s: incidents without a \"batch\" array: refused", c->peer, c->agent_id);
		return -1;
	}
	int size = cJSON_GetArraySize(batch), count = 0, index = 0;
	struct staged *items = calloc((size_t)size + 1, sizeof(*items));
	struct pending_ack *a = calloc(1, sizeof(*a));
	cJSON *ack = cJSON_CreateObject();
	if (!items || !a || !ack) {
		free(items);
		free(a);
		cJSON_Delete(ack);
		hive_log("%s agent %s: out of memory for a batch of %d: not acked", c->peer, c->agent_id, size);
		return 0;
	}
	cJSON_AddStringToObject(ack, "type", "ack");
	cJSON *seqs = cJSON_AddArrayToObject(ack, "seqs");
	cJSON *nacks = cJSON_AddArrayToObject(ack, "nacks");
	cJSON_ArrayForEach(it, batch)
	{
		char why[160];
		struct staged *s = &items[count];
		s->sv = cJSON_GetObjectItemCaseSensitive(it, "seq");
		s->index = index++;
		if (frame_i64(s->sv, 1, INT64_MAX, &s->seq)) {
			nack(nacks, s->index, s->sv, "\"seq\" must be an integer from 1 to 9223372036854775807");
			a->refused++;
			continue;
		}
		if (incident_wire_bind(&stage, s->v, 0, it, why, sizeof(why))) {
			nack(nacks, s->index, s->sv, why);
			a->refused++;
			continue;
		}
		count++;
	}
	int rc = ST_DONE;
	if (count && (!hive_store_begin() || store_exec(H.st, "SAVEPOINT batch"))) {
		rc = ST_ERR;
	} else if (count) {
		for (int off = 0; off < count && rc == ST_DONE; off += CHUNK) {
			int rows = count - off < CHUNK ? count - off : CHUNK;
			int64_t got = 0;
			rc = insert_rows(c, items + off, rows, &got);
			if (rc == ST_DONE) {
				a->stored += (uint64_t)got;
				a->dups += (uint64_t)(rows - got);
			}
		}
		if (rc == ST_REFUSED) {
			a->stored = a->dups = 0;
			rc = store_exec(H.st, "ROLLBACK TO SAVEPOINT batch") ? ST_ERR :
									      one_by_one(c, items, count, seqs, nacks, a);
		} else if (rc == ST_DONE) {
			for (int i = 0; i < count; i++)
				cJSON_AddItemToArray(seqs, frame_create_i64(items[i].seq));
		}
		if (rc == ST_DONE && store_exec(H.st, "RELEASE SAVEPOINT batch"))
			rc = ST_ERR;
	}
	free(items);
	if (rc != ST_DONE) {
		/* the database, not the incidents: no ack, the agent sends the batch again */
		abort_turn("storing a batch", c);
		cJSON_Delete(ack);
		free(a);
		return 0;
	}
	/* a batch of refused items only is acked at the end of the turn too */
	a->c = c;
	a->ack = ack;
	a->next = H.acks;
	H.acks = a;
	return 0;
}
