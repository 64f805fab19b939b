/* "incidents" over the control socket, read from the SQLite incidents table. */
#ifndef IMMUNE_INCIDENT_CTL_H
#define IMMUNE_INCIDENT_CTL_H

#include "ctlsock.h"

struct incident_ctl;
/* The database is opened read-only on first use. NULL on out of memory. */
struct incident_ctl *incident_ctl_register(struct ctlsock *cs, const char *db_path);
void incident_ctl_free(struct incident_ctl *ic);

/* The request's filters, shared with the Hive's command (hive/hive_incidents.c). */
struct incident_filter {
	long long since, limit;
	const char *rule, *host;
	bool signals;
};
/* 0, or -1 with the error put in reply. */
int incident_ctl_filter(const cJSON *req, cJSON *reply, struct incident_filter *f);
/* The query: $1 since_ns, $2 rule (or NULL), $3 host (or NULL), $4 limit; the columns
 * id, time_ns, host, rule_id, rule_title, rule_level, rule_author, event_kind, pid,
 * executable, command_line, target, action, verdict, agent_id. */
const char *incident_ctl_sql(bool signals);
/* The reply's names of those columns, in that order. */
extern const char *const incident_ctl_fields[15];

#endif
