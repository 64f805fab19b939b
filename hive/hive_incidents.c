/*
 * `immunectl incidents` on the Hive: the fleet's incidents from the store,
 * whichever instance stored them, with the filters and the reply of the
 * agent's command (daemon/incident_ctl.c, docs/control-socket.md).
 */
#include "hive_int.h"

#include <string.h>

#define INCIDENTS_DEFAULT_LIMIT 100
#define INCIDENTS_MAX_LIMIT 10000000

static int cmd_incidents(const cJSON *req, cJSON *reply, const struct ctl_peer *peer, void *ctx)
{
	(void)peer;
	(void)ctx;
	long long since = ctl_int(req, "since_ns"), limit = ctl_int(req, "limit");
	const char *rule = ctl_str(req, "rule"), *host = ctl_str(req, "host");
	if (since == -2 || limit == -2)
		return ctl_error(reply, "\"since_ns\" and \"limit\" must be non-negative integers");
	if (limit < 0)
		limit = INCIDENTS_DEFAULT_LIMIT;
	if (limit == 0 || limit > INCIDENTS_MAX_LIMIT)
		return ctl_error(reply, "\"limit\" must be from 1 to %d", INCIDENTS_MAX_LIMIT);
	/* newest first, then shown oldest first: the last N that match */
	struct sq *q = hive_q(ctl_bool(req, "signals", false) ?
				      "SELECT id, time_ns, host, rule_id, rule_title, rule_level, rule_author, event_kind,"
				      " pid, executable, command_line, target, action, verdict, NULL FROM signals"
				      " WHERE time_ns >= $1 AND (CAST($2 AS TEXT) IS NULL OR rule_id = $2)"
				      " AND (CAST($3 AS TEXT) IS NULL OR host = $3) ORDER BY time_ns DESC, id DESC LIMIT $4" :
				      "SELECT id, time_ns, host, rule_id, rule_title, rule_level, rule_author, event_kind,"
				      " pid, executable, command_line, target, action, verdict, agent_id FROM incidents"
				      " WHERE time_ns >= $1 AND (CAST($2 AS TEXT) IS NULL OR rule_id = $2)"
				      " AND (CAST($3 AS TEXT) IS NULL OR host = $3) ORDER BY time_ns DESC, id DESC LIMIT $4");
	if (!q)
		return ctl_error(reply, "incidents query: %s", store_err(H.st));
	sq_i64(q, 1, since > 0 ? since : 0);
	sq_text(q, 2, rule);
	sq_text(q, 3, host);
	sq_i64(q, 4, limit);
	static const char *const text[] = { NULL,	    NULL,	  "host",	"rule_id",	"rule_title",
					    "rule_level",  "rule_author", "event_kind", NULL,		"executable",
					    "command_line", "target",	  "action",	"verdict",	"agent_id" };
	cJSON *arr = cJSON_CreateArray();
	int rc;
	while ((rc = sq_step(q)) == ST_ROW) {
		cJSON *o = cJSON_CreateObject();
		cJSON_AddNumberToObject(o, "id", (double)sq_col_i64(q, 0));
		cJSON_AddNumberToObject(o, "time_ns", (double)sq_col_i64(q, 1));
		for (int i = 2; i < 15; i++) {
			if (i == 8)
				cJSON_AddNumberToObject(o, "pid", (double)sq_col_i64(q, 8));
			else if (!sq_col_null(q, i))
				cJSON_AddStringToObject(o, text[i], sq_col_text(q, i));
		}
		cJSON_InsertItemInArray(arr, 0, o);
	}
	if (rc != ST_DONE) {
		cJSON_Delete(arr);
		return ctl_error(reply, "incidents query: %s", store_err(H.st));
	}
	cJSON_AddItemToObject(reply, "incidents", arr);
	return 0;
}

void hive_incidents_register(struct ctlsock *cs)
{
	ctlsock_register(cs, "incidents", cmd_incidents, NULL, 0);
}
