/*
 * Incidents from agents, stored exactly once under (agent, sequence) and
 * acknowledged only after the transaction that stored them committed. An
 * item that cannot be stored as it is gets a negative ack with the reason,
 * so no single incident can hold back those behind it.
 */
#include "hive_int.h"
#include "db.h"
#include "incident.h"
#include "incident_wire.h"

#include <stdio.h>
#include <string.h>

int hive_store_open(const char *path, char *err, size_t n)
{
	char *e = NULL;
	/* the one opener: 0600 in a 0700 directory, WAL, busy timeout */
	if (!(H.db = db_open(path, incident_schema_sql, err, n)))
		return -1;
	if (sqlite3_exec(H.db, "PRAGMA synchronous=NORMAL;", NULL, NULL, &e) != SQLITE_OK ||
	    sqlite3_exec(H.db, hive_schema_sql, NULL, NULL, &e) != SQLITE_OK) {
		snprintf(err, n, "%s: %s", path, e ? e : "schema");
		sqlite3_free(e);
		return -1;
	}
	const char *ins = "INSERT OR IGNORE INTO incidents (host, agent_id, agent_seq, " INCIDENT_COLUMNS ", hive_acked)"
			  " VALUES (?, ?, ?, " INCIDENT_PLACEHOLDERS ", 1)";
	if (sqlite3_prepare_v2(H.db, ins, -1, &H.ins, NULL) != SQLITE_OK) {
		snprintf(err, n, "%s: %s", path, sqlite3_errmsg(H.db));
		return -1;
	}
	return 0;
}

void hive_store_close(void)
{
	sqlite3_finalize(H.ins);
	sqlite3_close(H.db);
	H.ins = NULL;
	H.db = NULL;
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

int hive_handle_incidents(struct conn *c, const cJSON *m)
{
	const cJSON *batch = cJSON_GetObjectItemCaseSensitive(m, "batch"), *it;
	if (!cJSON_IsArray(batch)) {
		hive_log("%s agent %s: incidents without a \"batch\" array: refused", c->peer, c->agent_id);
		return -1;
	}
	cJSON *ack = cJSON_CreateObject();
	cJSON_AddStringToObject(ack, "type", "ack");
	cJSON *seqs = cJSON_AddArrayToObject(ack, "seqs");
	cJSON *nacks = cJSON_AddArrayToObject(ack, "nacks");
	uint64_t stored = 0, dups = 0, refused = 0;
	int index = 0;
	sqlite3_exec(H.db, "BEGIN", NULL, NULL, NULL);
	cJSON_ArrayForEach(it, batch)
	{
		char why[160];
		int64_t seq;
		const cJSON *sv = cJSON_GetObjectItemCaseSensitive(it, "seq");
		int i = index++;
		if (frame_i64(sv, 1, INT64_MAX, &seq)) {
			nack(nacks, i, sv, "\"seq\" must be an integer from 1 to 9223372036854775807");
			refused++;
			continue;
		}
		sqlite3_reset(H.ins);
		sqlite3_clear_bindings(H.ins);
		if (incident_wire_bind(H.ins, 4, it, why, sizeof(why))) {
			nack(nacks, i, sv, why);
			refused++;
			continue;
		}
		sqlite3_bind_text(H.ins, 1, c->host[0] ? c->host : c->agent_id, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(H.ins, 2, c->agent_id, -1, SQLITE_TRANSIENT);
		sqlite3_bind_int64(H.ins, 3, seq);
		int rc = sqlite3_step(H.ins);
		if (rc == SQLITE_CONSTRAINT) {
			snprintf(why, sizeof(why), "the database refused it: %s", sqlite3_errmsg(H.db));
			nack(nacks, i, sv, why);
			refused++;
			continue;
		}
		if (rc != SQLITE_DONE) {
			/* the database, not the incident: no ack, the agent sends the batch again */
			hive_log("%s agent %s: storing seq %lld: %s", c->peer, c->agent_id, (long long)seq,
				 sqlite3_errmsg(H.db));
			sqlite3_exec(H.db, "ROLLBACK", NULL, NULL, NULL);
			cJSON_Delete(ack);
			return 0;
		}
		if (sqlite3_changes(H.db))
			stored++;
		else
			dups++;
		cJSON_AddItemToArray(seqs, frame_create_i64(seq));
	}
	if (sqlite3_exec(H.db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		hive_log("commit failed: %s", sqlite3_errmsg(H.db));
		sqlite3_exec(H.db, "ROLLBACK", NULL, NULL, NULL);
		cJSON_Delete(ack);
		return 0;
	}
	/* counted once committed: a rolled-back batch stored nothing */
	H.stored += stored;
	H.duplicates += dups;
	H.nacked += refused;
	c->incidents += stored + dups;
	c->nacked += refused;
	c->batches++;
	if (refused)
		hive_log("%s agent %s: %llu incidents refused (first: %s)", c->peer, c->agent_id,
			 (unsigned long long)refused,
			 hive_jstr(cJSON_GetArrayItem(nacks, 0), "reason"));
	hive_send(c, ack);
	return 0;
}

/* Agents seen before and not connected now. */
void hive_store_status(cJSON *arr)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(H.db, "SELECT agent_id, host, count(*) FROM incidents"
				     " WHERE agent_id IS NOT NULL GROUP BY agent_id", -1, &st, NULL) != SQLITE_OK)
		return;
	while (sqlite3_step(st) == SQLITE_ROW) {
		const char *id = (const char *)sqlite3_column_text(st, 0);
		bool live = false;
		for (struct conn *c = H.conns; c; c = c->next)
			live |= !c->dead && strcmp(c->agent_id, id) == 0;
		if (live)
			continue;
		cJSON *a = cJSON_CreateObject();
		cJSON_AddStringToObject(a, "agent_id", id);
		cJSON_AddStringToObject(a, "host", (const char *)sqlite3_column_text(st, 1));
		cJSON_AddStringToObject(a, "link", hive_revoked(id) ? "revoked" : "disconnected");
		frame_add_i64(a, "incidents", sqlite3_column_int64(st, 2));
		cJSON_AddItemToArray(arr, a);
	}
	sqlite3_finalize(st);
}
