/*
 * The fleet's sets on their way to each agent, a chunk at a time and only
 * while the connection's output queue is short: no size of the verdict set
 * or of the IOC sets can make a hello fail or a slow agent hold them all in
 * memory. A verdict set is sent as parts 1..N of one version; a change while
 * it goes out starts the new version over. IOC sets go in creation order,
 * each as parts of its text cut at line ends.
 */
#include "hive_int.h"
#include "ioc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Part `part` (1-based) of the fleet verdict set now in force. */
static cJSON *verdicts_part(unsigned part, unsigned parts)
{
	cJSON *m = cJSON_CreateObject();
	cJSON_AddStringToObject(m, "type", "verdicts");
	frame_add_u64(m, "version", H.verdict_version);
	cJSON_AddNumberToObject(m, "part", part);
	cJSON_AddNumberToObject(m, "parts", parts);
	cJSON *arr = cJSON_AddArrayToObject(m, "verdicts");
	struct sq *q = hive_q("SELECT kind, target, action, source FROM fleet_verdicts ORDER BY kind, target"
			      " LIMIT $1 OFFSET $2");
	if (q) {
		sq_i64(q, 1, HIVE_VERDICTS_PART);
		sq_i64(q, 2, (int64_t)(part - 1) * HIVE_VERDICTS_PART);
		while (sq_step(q) == ST_ROW) {
			cJSON *v = cJSON_CreateObject();
			static const char *const k[] = { "kind", "target", "action", "source" };
			for (int i = 0; i < 4; i++)
				cJSON_AddStringToObject(v, k[i], sq_col_text(q, i));
			cJSON_AddItemToArray(arr, v);
		}
	}
	return m;
}

/* Where part `part` of text starts and how long it is: parts end after a newline. */
static unsigned ioc_cut(const char *text, size_t len, unsigned part, size_t *off, size_t *n)
{
	size_t o = 0;
	unsigned p = 1;
	for (;;) {
		size_t end = o + HIVE_IOC_PART;
		if (end >= len) {
			end = len;
		} else {
			const char *nl = memrchr(text + o, '\n', end - o);
			if (nl)
				end = (size_t)(nl - text) + 1;
		}
		if (p == part) {
			*off = o;
			*n = end - o;
		}
		if (end >= len)
			return p;
		o = end;
		p++;
	}
}

/* The next chunk of the IOC set after c->ioc_sent_ns (or the one going out). */
static cJSON *next_ioc_part(struct conn *c)
{
	cJSON *m = NULL;
	struct sq *q;
	if (c->ioc_name[0]) {
		if ((q = hive_q("SELECT name, version, text, created_ns FROM fleet_iocs WHERE name = $1")))
			sq_text(q, 1, c->ioc_name);
	} else if ((q = hive_q("SELECT name, version, text, created_ns FROM fleet_iocs WHERE created_ns > $1"
			       " ORDER BY created_ns LIMIT 1"))) {
		sq_i64(q, 1, c->ioc_sent_ns);
	}
	if (!q)
		return NULL;
	if (sq_step(q) != ST_ROW) {
		c->ioc_name[0] = 0; /* replaced or gone meanwhile: start from what is newer */
		return NULL;
	}
	const char *text = sq_col_text(q, 2);
	size_t len = strlen(text), off = 0, n = 0;
	int64_t created = sq_col_i64(q, 3);
	int64_t version = sq_col_i64(q, 1);
	if (!c->ioc_name[0] || version != c->ioc_version) {
		/* a set replaced while its parts went out starts over */
		snprintf(c->ioc_name, sizeof(c->ioc_name), "%s", sq_col_text(q, 0));
		c->ioc_part = 1;
		c->ioc_version = version;
	}
	unsigned parts = ioc_cut(text, len, c->ioc_part, &off, &n);
	m = cJSON_CreateObject();
	cJSON_AddStringToObject(m, "type", "ioc");
	cJSON_AddStringToObject(m, "name", c->ioc_name);
	frame_add_i64(m, "version", version);
	cJSON_AddNumberToObject(m, "part", c->ioc_part);
	cJSON_AddNumberToObject(m, "parts", parts);
	char *piece = strndup(text + off, n);
	cJSON_AddStringToObject(m, "text", piece ? piece : "");
	free(piece);
	if (c->ioc_part >= parts) {
		c->ioc_name[0] = 0;
		c->ioc_sent_ns = created;
	} else {
		c->ioc_part++;
	}
	return m;
}

void hive_sync_pump(struct conn *c)
{
	/* a refused link is sent nothing more */
	while (!c->dead && !c->refused && c->state == CS_OPEN && c->agent_id[0] && c->out_len - c->out_off < HIVE_OUT_LOW) {
		if (c->vsend_part || c->vhave != H.verdict_version) {
			/* a change while the parts go out starts the new version over */
			if (!c->vsend_part || c->vsend_version != H.verdict_version) {
				c->vsend_version = H.verdict_version;
				c->vsend_part = 1;
			}
			int64_t count = H.verdict_count;
			unsigned parts = count ? (unsigned)((count + HIVE_VERDICTS_PART - 1) / HIVE_VERDICTS_PART) : 1;
			cJSON *m = verdicts_part(c->vsend_part, parts);
			if (c->vsend_part >= parts) {
				c->vsend_part = 0;
				c->vhave = c->vsend_version;
			} else {
				c->vsend_part++;
			}
			hive_send(c, m);
			continue;
		}
		/* up to date: no query (this runs after every write) */
		if (!c->ioc_name[0] && c->ioc_sent_ns >= H.ioc_last_ns)
			break;
		cJSON *m = next_ioc_part(c);
		if (!m)
			break;
		hive_send(c, m);
	}
}

void hive_sync_all(void)
{
	for (struct conn *c = H.conns; c; c = c->next) {
		if (c->dead || c->state != CS_OPEN || !c->agent_id[0])
			continue;
		hive_sync_pump(c);
	}
}

static int64_t ioc_total(const char *except)
{
	char sql[160];
	snprintf(sql, sizeof(sql), "SELECT coalesce(sum(%s), 0) FROM fleet_iocs WHERE name != $1",
		 store_dialect(H.st, SW_OCTETS));
	struct sq *q = hive_q(sql);
	if (!q)
		return 0;
	sq_text(q, 1, except);
	return sq_step(q) == ST_ROW ? sq_col_i64(q, 0) : 0;
}

/* `immunectl ioc-push NAME FILE` on the Hive: checked whole, stored, sent to every agent. */
static int cmd_ioc_push(const cJSON *req, cJSON *reply, const struct ctl_peer *peer, void *ctx)
{
	(void)peer;
	(void)ctx;
	const char *name = ctl_str(req, "name"), *text = ctl_str(req, "text");
	if (!name || !*name || strlen(name) > 60 ||
	    strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789-_.") != strlen(name))
		return ctl_error(reply, "\"name\" must be 1 to 60 of [a-z0-9-_.]");
	if (!text)
		return ctl_error(reply, "\"text\" (the IOC file) is needed");
	size_t len = strlen(text);
	if (len > HIVE_IOC_SET_MAX)
		return ctl_error(reply, "an IOC set pushed through the Hive must stay under %u MiB: split it",
				 HIVE_IOC_SET_MAX >> 20);
	hive_store_commit();
	if (ioc_total(name) + (int64_t)len > HIVE_IOC_TOTAL_MAX)
		return ctl_error(reply, "the fleet's IOC sets would exceed %u MiB together: remove or shorten one",
				 HIVE_IOC_TOTAL_MAX >> 20);
	struct ioc_set *set = ioc_new(0);
	char file[96], why[512];
	snprintf(file, sizeof(file), "hive-%s", name);
	long count = set ? ioc_add_text(set, text, file, why, sizeof(why)) : -1;
	ioc_free(set);
	if (count < 0)
		return ctl_error(reply, "%s", set ? why : "out of memory");
	/* version and place in the order come from the database: another instance may have pushed */
	if (store_exec(H.st, "BEGIN"))
		return ctl_error(reply, "the store: %s", store_err(H.st));
	int64_t version = 1, created = hive_now_ns();
	struct sq *q = hive_q("SELECT version FROM fleet_iocs WHERE name = $1");
	if (q) {
		sq_text(q, 1, name);
		if (sq_step(q) == ST_ROW)
			version = sq_col_i64(q, 0) + 1;
	}
	/* strictly increasing: what an agent has is "every set created up to t" */
	int64_t last = store_i64(H.st, "SELECT coalesce(max(created_ns), 0) FROM fleet_iocs", 0);
	if (created <= last)
		created = last + 1;
	int rc = ST_ERR;
	if ((q = hive_q("INSERT INTO fleet_iocs (name, version, text, created_ns) VALUES ($1, $2, $3, $4)"
			" ON CONFLICT (name) DO UPDATE SET version = excluded.version, text = excluded.text,"
			" created_ns = excluded.created_ns"))) {
		sq_text(q, 1, name);
		sq_i64(q, 2, version);
		sq_text(q, 3, text);
		sq_i64(q, 4, created);
		rc = sq_step(q);
	}
	if (rc != ST_DONE || store_notify(H.st, HIVE_CHANNEL, "iocs") || store_exec(H.st, "COMMIT")) {
		char e[512];
		snprintf(e, sizeof(e), "%s", store_err(H.st));
		store_exec(H.st, "ROLLBACK");
		return ctl_error(reply, "the store: %s%s", e,
				 rc == ST_REFUSED ? " (another instance pushed at the same time: push again)" : "");
	}
	H.ioc_last_ns = created;
	hive_log("fleet IOC set %s version %lld: %ld indicators", name, (long long)version, count);
	hive_sync_all();
	cJSON_AddStringToObject(reply, "name", name);
	frame_add_i64(reply, "version", version);
	cJSON_AddNumberToObject(reply, "indicators", (double)count);
	return 0;
}

void hive_sync_register(struct ctlsock *cs)
{
	ctlsock_register(cs, "ioc_push", cmd_ioc_push, NULL, CTL_ADMIN);
}
