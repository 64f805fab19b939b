/*
 * The fleet's agents in the store (fleet_agents): which instance each is
 * connected to and when that instance last saw it, so `immunectl status`
 * on any instance shows the whole fleet. Writes ride in the loop turn's
 * transaction; an instance refreshes its agents' last_seen_ns together,
 * one statement every HIVE_AGENTS_REFRESH_S, and an agent whose instance
 * stopped refreshing (killed) shows as "lost".
 */
#include "hive_int.h"
#include "hive_tls.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define HIVE_AGENTS_REFRESH_S 10
#define HIVE_AGENTS_LOST_S (3 * HIVE_AGENTS_REFRESH_S)

static void failed(const char *what)
{
	hive_log("store: %s: %s", what, store_err(H.st));
}

/* Links this instance held before it stopped (or was killed) have ended. */
void hive_agents_start(void)
{
	struct sq *q = hive_q("UPDATE fleet_agents SET link = 'disconnected', since_ns = $2"
			      " WHERE instance = $1 AND link = 'connected'");
	if (!q)
		return;
	sq_text(q, 1, H.instance);
	sq_i64(q, 2, hive_now_ns());
	if (sq_step(q) != ST_DONE)
		failed("ending the links of this instance's last run");
}

void hive_agent_link(struct conn *c, bool up)
{
	if (!c->agent_id[0] || !hive_store_begin())
		return;
	struct sq *q = up ? hive_q("INSERT INTO fleet_agents (agent_id, host, instance, link, since_ns, last_seen_ns)"
				   " VALUES ($1, $2, $3, 'connected', $4, $4) ON CONFLICT (agent_id) DO UPDATE SET"
				   " host = excluded.host, instance = excluded.instance, link = 'connected',"
				   " since_ns = excluded.since_ns, last_seen_ns = excluded.last_seen_ns") :
			    /* only its own: the agent may be on another instance already */
			    hive_q("UPDATE fleet_agents SET link = 'disconnected', since_ns = $4, last_seen_ns = $4"
				   " WHERE agent_id = $1 AND instance = $3 AND CAST($2 AS TEXT) IS NOT NULL");
	if (!q)
		return;
	sq_text(q, 1, c->agent_id);
	sq_text(q, 2, c->host[0] ? c->host : c->agent_id);
	sq_text(q, 3, H.instance);
	sq_i64(q, 4, hive_now_ns());
	if (sq_step(q) != ST_DONE)
		failed(up ? "recording a link" : "ending a link");
}

void hive_agents_refresh(void)
{
	static time_t last;
	time_t now = time(NULL);
	if (now - last < HIVE_AGENTS_REFRESH_S || !hive_store_begin())
		return;
	last = now;
	struct sq *q = hive_q("UPDATE fleet_agents SET last_seen_ns = $2 WHERE instance = $1 AND link = 'connected'");
	if (!q)
		return;
	sq_text(q, 1, H.instance);
	sq_i64(q, 2, hive_now_ns());
	if (sq_step(q) != ST_DONE)
		failed("refreshing the agents' last_seen_ns");
}

/* Agents not connected to this instance: on others, lost, gone or revoked. */
void hive_agents_status(cJSON *arr)
{
	struct sq *q = hive_q("SELECT a.agent_id, a.host, a.instance, a.link, a.since_ns, a.last_seen_ns,"
			      " (SELECT count(*) FROM incidents i WHERE i.agent_id = a.agent_id),"
			      " EXISTS (SELECT 1 FROM fleet_revoked r WHERE r.agent_id = a.agent_id)"
			      " FROM fleet_agents a ORDER BY a.agent_id LIMIT 100000");
	if (!q)
		return;
	int64_t now = hive_now_ns();
	while (sq_step(q) == ST_ROW) {
		const char *id = sq_col_text(q, 0), *instance = sq_col_text(q, 2), *link = sq_col_text(q, 3);
		bool live = false;
		for (struct conn *c = H.conns; c && !live; c = c->next)
			live = !c->dead && strcmp(c->agent_id, id) == 0;
		if (live)
			continue;
		int64_t seen = sq_col_i64(q, 5);
		if (sq_col_i64(q, 7))
			link = "revoked";
		else if (strcmp(link, "connected") == 0 && now - seen > (int64_t)HIVE_AGENTS_LOST_S * 1000000000)
			link = "lost"; /* its instance stopped refreshing: killed, or cut from the database */
		cJSON *a = cJSON_CreateObject();
		cJSON_AddStringToObject(a, "agent_id", id);
		cJSON_AddStringToObject(a, "host", sq_col_text(q, 1));
		if (instance[0])
			cJSON_AddStringToObject(a, "instance", instance);
		cJSON_AddStringToObject(a, "link", link);
		frame_add_i64(a, "last_seen_s", (now - seen) / 1000000000);
		frame_add_i64(a, "incidents", sq_col_i64(q, 6));
		cJSON_AddItemToArray(arr, a);
	}
}

int hive_instance_name(const char *given, const char *listen_at, char *out, size_t n)
{
	if (given) {
		size_t len = strlen(given);
		if (!len || len > 128)
			return -1;
		for (const char *p = given; *p; p++)
			if ((unsigned char)*p < 0x21 || (unsigned char)*p > 0x7e)
				return -1;
		snprintf(out, n, "%s", given);
		return 0;
	}
	char host[256] = "", lhost[256], port[16] = "";
	if (gethostname(host, sizeof(host) - 1))
		snprintf(host, sizeof(host), "hive");
	if (hive_split_addr(listen_at, lhost, sizeof(lhost), port, sizeof(port)))
		port[0] = 0;
	snprintf(out, n, "%.200s:%s", host, port);
	return 0;
}
