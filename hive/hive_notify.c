/*
 * Several instances on one PostgreSQL: each LISTENs on HIVE_CHANNEL and
 * its changes NOTIFY the others when they commit. "verdicts" and "iocs":
 * the fleet sets changed, re-read and sent to this instance's agents;
 * "revoked ID": that agent's connections here are closed. When the store's
 * connection was made again, notifications may have been lost: everything
 * is re-read and every connected agent checked against fleet_revoked.
 * SQLite has one instance: none of this runs.
 */
#include "hive_int.h"

#include <string.h>
#include <sys/epoll.h>

void hive_notify_start(void)
{
	H.store_fd = -1;
	H.store_gen = store_generation(H.st);
	if (store_is_pg(H.st) && store_listen(H.st, HIVE_CHANNEL))
		hive_log("store: LISTEN %s: %s", HIVE_CHANNEL, store_err(H.st));
}

static void on_note(const char *channel, const char *payload, void *ctx)
{
	(void)ctx;
	if (strcmp(channel, HIVE_CHANNEL))
		return;
	H.notifications++;
	if (strncmp(payload, "revoked ", 8) == 0) {
		int n = hive_fleet_drop_revoked(payload + 8);
		if (n)
			hive_log("agent %s revoked on another instance: %d connection%s closed", payload + 8, n,
				 n == 1 ? "" : "s");
		return;
	}
	/* "verdicts", "iocs": what changed is read from the database, never from the payload */
	uint64_t v = H.verdict_version;
	hive_fleet_reload();
	if (v != H.verdict_version)
		hive_log("fleet verdicts version %llu, changed on another instance", (unsigned long long)H.verdict_version);
	hive_sync_all();
}

/* Called every loop turn (cheap: a non-blocking read when the socket was readable). */
void hive_notify_poll(void)
{
	if (!store_is_pg(H.st))
		return;
	/* outside a transaction: a notification is only delivered between them (a turn's
	 * pipeline may be out: its results are read with the notifications) */
	hive_store_send();
	store_notifications(H.st, on_note, NULL);
	hive_store_poll();
	int fd = store_fd(H.st);
	if (fd != H.store_fd) {
		if (H.store_fd >= 0)
			epoll_ctl(H.ep, EPOLL_CTL_DEL, H.store_fd, NULL);
		struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &H.st };
		if (fd >= 0 && epoll_ctl(H.ep, EPOLL_CTL_ADD, fd, &ev))
			fd = -1;
		H.store_fd = fd;
	}
	if (store_generation(H.st) != H.store_gen) {
		H.store_gen = store_generation(H.st);
		hive_log("store: connected again; re-reading the fleet state");
		hive_fleet_reload();
		hive_agents_start();
		for (struct conn *c = H.conns; c; c = c->next)
			if (!c->dead && c->agent_id[0] && c->state == CS_OPEN) {
				if (hive_revoked(c->agent_id))
					hive_conn_kill(c, "agent revoked");
				else
					hive_agent_link(c, true);
			}
		hive_sync_all();
	}
}
