/*
 * `immunectl incidents` on the Hive: the fleet's incidents from the store,
 * whichever instance stored them, with the filters and the reply of the
 * agent's command (daemon/incident_ctl.c, docs/control-socket.md).
 */
#include "hive_int.h"
#include "incident_ctl.h"

static int cmd_incidents(const cJSON *req, cJSON *reply, const struct ctl_peer *peer, void *ctx)
{
	(void)peer;
	(void)ctx;
	struct incident_filter f;
	if (incident_ctl_filter(req, reply, &f))
		return -1;
	struct sq *q = hive_q(incident_ctl_sql(f.signals));
	if (!q)
		return ctl_error(reply, "incidents query: %s", store_err(H.st));
	sq_i64(q, 1, f.since);
	sq_text(q, 2, f.rule);
	sq_text(q, 3, f.host);
	sq_i64(q, 4, f.limit);
	cJSON *arr = cJSON_CreateArray();
	int rc;
	while ((rc = sq_step(q)) == ST_ROW) {
		cJSON *o = cJSON_CreateObject();
		for (int i = 0; i < 15; i++) {
			if (i < 2 || i == 8)
				cJSON_AddNumberToObject(o, incident_ctl_fields[i], (double)sq_col_i64(q, i));
			else if (!sq_col_null(q, i))
				cJSON_AddStringToObject(o, incident_ctl_fields[i], sq_col_text(q, i));
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
