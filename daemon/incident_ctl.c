/*
 * The control socket's "incidents" command: a read-only query of the
 * incidents table (agent or Hive) with the filters immunectl offers.
 */
#include "incident_ctl.h"
#include "db.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define INCIDENTS_DEFAULT_LIMIT 100
#define INCIDENTS_MAX_LIMIT 10000000

struct incident_ctl {
	sqlite3 *db;
	char path[512];
};

static int open_db(struct incident_ctl *ic, cJSON *reply)
{
	if (ic->db)
		return 0;
	/* read-only, its own connection: the writer batches on another one (WAL) */
	char err[600];
	if (!(ic->db = db_open_readonly(ic->path, err, sizeof(err))))
		return ctl_error(reply, "cannot open the incidents database %s", err);
	return 0;
}

static void add_text(cJSON *o, const char *key, sqlite3_stmt *st, int col)
{
	const unsigned char *t = sqlite3_column_text(st, col);
	if (t)
		cJSON_AddStringToObject(o, key, (const char *)t);
}

static int cmd_incidents(const cJSON *req, cJSON *reply, const struct ctl_peer *peer, void *ctx)
{
	struct incident_ctl *ic = ctx;
	sqlite3_stmt *st = NULL;
	(void)peer;

	if (open_db(ic, reply))
		return -1;
	long long since = ctl_int(req, "since_ns"), limit = ctl_int(req, "limit");
	const char *rule = ctl_str(req, "rule"), *host = ctl_str(req, "host");
	if (since == -2 || limit == -2)
		return ctl_error(reply, "\"since_ns\" and \"limit\" must be non-negative integers");
	if (limit < 0)
		limit = INCIDENTS_DEFAULT_LIMIT;
	if (limit == 0 || limit > INCIDENTS_MAX_LIMIT)
		return ctl_error(reply, "\"limit\" must be from 1 to %d", INCIDENTS_MAX_LIMIT);

	/* newest first, then shown oldest first: the last N that match */
	/* "signals": true reads the signals table (matches below --min-level), which has no agent_id */
	bool signals = ctl_bool(req, "signals", false);
	const char *sql = signals ? "SELECT id, time_ns, host, rule_id, rule_title, rule_level, rule_author, event_kind, "
				    "pid, executable, command_line, target, action, verdict, NULL FROM signals "
				    "WHERE time_ns >= ?1 AND (?2 IS NULL OR rule_id = ?2) AND (?3 IS NULL OR host = ?3) "
				    "ORDER BY time_ns DESC, id DESC LIMIT ?4"
				  : "SELECT id, time_ns, host, rule_id, rule_title, rule_level, rule_author, event_kind, pid, "
				    "executable, command_line, target, action, verdict, agent_id FROM incidents "
				    "WHERE time_ns >= ?1 AND (?2 IS NULL OR rule_id = ?2) AND (?3 IS NULL OR host = ?3) "
				    "ORDER BY time_ns DESC, id DESC LIMIT ?4";
	if (sqlite3_prepare_v2(ic->db, sql, -1, &st, NULL) != SQLITE_OK)
		return ctl_error(reply, "incidents query: %s", sqlite3_errmsg(ic->db));
	sqlite3_bind_int64(st, 1, since > 0 ? since : 0);
	if (rule)
		sqlite3_bind_text(st, 2, rule, -1, SQLITE_TRANSIENT);
	if (host)
		sqlite3_bind_text(st, 3, host, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 4, limit);

	cJSON *arr = cJSON_CreateArray();
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		cJSON *o = cJSON_CreateObject();
		cJSON_AddNumberToObject(o, "id", (double)sqlite3_column_int64(st, 0));
		cJSON_AddNumberToObject(o, "time_ns", (double)sqlite3_column_int64(st, 1));
		add_text(o, "host", st, 2);
		add_text(o, "rule_id", st, 3);
		add_text(o, "rule_title", st, 4);
		add_text(o, "rule_level", st, 5);
		add_text(o, "rule_author", st, 6);
		add_text(o, "event_kind", st, 7);
		cJSON_AddNumberToObject(o, "pid", (double)sqlite3_column_int64(st, 8));
		add_text(o, "executable", st, 9);
		add_text(o, "command_line", st, 10);
		add_text(o, "target", st, 11);
		add_text(o, "action", st, 12);
		add_text(o, "verdict", st, 13);
		add_text(o, "agent_id", st, 14);
		cJSON_InsertItemInArray(arr, 0, o);
	}
	if (rc != SQLITE_DONE) {
		cJSON_Delete(arr);
		int r = ctl_error(reply, "incidents query: %s", sqlite3_errmsg(ic->db));
		sqlite3_finalize(st);
		return r;
	}
	sqlite3_finalize(st);
	cJSON_AddItemToObject(reply, "incidents", arr);
	return 0;
}

struct incident_ctl *incident_ctl_register(struct ctlsock *cs, const char *db_path)
{
	struct incident_ctl *ic = calloc(1, sizeof(*ic));
	if (!ic)
		return NULL;
	snprintf(ic->path, sizeof(ic->path), "%s", db_path);
	if (ctlsock_register(cs, "incidents", cmd_incidents, ic, 0)) {
		free(ic);
		return NULL;
	}
	return ic;
}

void incident_ctl_free(struct incident_ctl *ic)
{
	if (!ic)
		return;
	sqlite3_close(ic->db);
	free(ic);
}
