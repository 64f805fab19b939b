/*
 * Fleet trust: agents propose, the Hive decides. An agent's `verdict`
 * message is a proposal that waits for an operator (`immunectl proposals`,
 * `approve`, `reject`) unless the policy accepts it (the same SHA-256 from
 * --accept-agents K distinct agents); agents never allow or unblock for the
 * fleet and never change an operator's verdict. Every fleet verdict, the
 * operator's included, passes the guard rails first: no network wider than
 * --min-prefix4/6, nothing that covers the Hive's own addresses, no
 * protected binary and never the agent's. Revoked agents are refused at
 * hello, and their live links are told why (a `refused` frame) and closed.
 */
#include "hive_int.h"
#include "verdict.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The fleet's state other instances may have changed: the verdict set's version and size, the
 * newest IOC set. Read at start, on their notifications and after the store reconnected. */
void hive_fleet_reload(void)
{
	int64_t v = store_i64(H.st, "SELECT value FROM fleet_meta WHERE key = 'verdict_version'", -1);
	if (v >= 0) {
		H.verdict_version = (uint64_t)v;
		H.verdict_count = store_i64(H.st, "SELECT count(*) FROM fleet_verdicts", H.verdict_count);
	}
	H.ioc_last_ns = store_i64(H.st, "SELECT coalesce(max(created_ns), 0) FROM fleet_iocs", H.ioc_last_ns);
}

int hive_fleet_init(char *err, size_t n)
{
	hive_fleet_reload();
	H.protect = protected_new();
	if (!H.protect) {
		snprintf(err, n, "out of memory");
		return -1;
	}
	return 0;
}

static void to16(const struct sockaddr *sa, uint8_t out[16])
{
	memset(out, 0, 16);
	if (sa->sa_family == AF_INET) {
		out[10] = out[11] = 0xff;
		memcpy(out + 12, &((const struct sockaddr_in *)sa)->sin_addr, 4);
	} else {
		memcpy(out, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
	}
}

/* An address of this Hive the net covers (its listening address, its interfaces), or false. */
static bool covers_hive(const struct verdict_net *t, char *which, size_t n)
{
	uint8_t a[16];
	struct ifaddrs *ifs, *i;
	bool hit = false;
	static const uint8_t any[16];
	to16((const struct sockaddr *)&H.listen_addr, a);
	if (H.listen_addr.ss_family && memcmp(a + (H.listen_addr.ss_family == AF_INET ? 12 : 0), any,
					      H.listen_addr.ss_family == AF_INET ? 4 : 16) &&
	    verdict_net_covers(t, a)) {
		inet_ntop(AF_INET6, a, which, (socklen_t)n);
		return true;
	}
	if (getifaddrs(&ifs))
		return false;
	for (i = ifs; i && !hit; i = i->ifa_next) {
		if (!i->ifa_addr || (i->ifa_addr->sa_family != AF_INET && i->ifa_addr->sa_family != AF_INET6))
			continue;
		to16(i->ifa_addr, a);
		if (verdict_net_covers(t, a)) {
			hit = true;
			if (i->ifa_addr->sa_family == AF_INET)
				inet_ntop(AF_INET, a + 12, which, (socklen_t)n);
			else
				inet_ntop(AF_INET6, a, which, (socklen_t)n);
		}
	}
	freeifaddrs(ifs);
	return hit;
}

/*
 * The checks every fleet verdict passes; target is made canonical (net) in
 * canon. 0, or -1 with the refusal.
 */
static int guard(const char *kind, const char *target, bool deny, char *canon, size_t cn, char *err, size_t n)
{
	enum verdict_kind k;
	if (verdict_parse_kind(kind, &k)) {
		snprintf(err, n, "kind must be exec, file or net, not '%.20s'", kind);
		return -1;
	}
	if (strlen(target) >= HIVE_TARGET_MAX) {
		snprintf(err, n, "a target of %zu bytes: at most %u", strlen(target), HIVE_TARGET_MAX - 1);
		return -1;
	}
	if (k == VK_NET) {
		struct verdict_net t;
		char which[INET6_ADDRSTRLEN];
		if (verdict_parse_net(target, &t, err, n))
			return -1;
		verdict_format_net(&t, canon, cn);
		bool v4 = verdict_net_is_v4(&t);
		unsigned len = v4 ? t.prefixlen - 96 : t.prefixlen;
		unsigned min = v4 ? H.o.min_prefix4 : H.o.min_prefix6;
		if (len < min) {
			snprintf(err, n, "net %s is wider than /%u, the widest a fleet verdict may be (--min-prefix%c)",
				 canon, min, v4 ? '4' : '6');
			return -1;
		}
		if (deny && covers_hive(&t, which, sizeof(which))) {
			snprintf(err, n, "net %s covers the Hive's own address %s", canon, which);
			return -1;
		}
		return 0;
	}
	if (target[0] != '/') {
		snprintf(err, n, "%.200s: exec and file targets are absolute paths", target);
		return -1;
	}
	snprintf(canon, cn, "%s", target);
	if (!deny)
		return 0;
	const char *base = strrchr(target, '/') + 1, *why = NULL;
	if (strcmp(base, "immuned") == 0 || strcmp(base, "immunectl") == 0) {
		snprintf(err, n, "%.200s is the agent's own binary", target);
		return -1;
	}
	if (protected_path(H.protect, target, &why)) {
		snprintf(err, n, "%.200s is protected (%s): blocking it would take hosts down", target, why ? why : "");
		return -1;
	}
	return 0;
}

/* The fleet verdict on (kind, target) and its source, if any; source gets "" when none. */
static bool current(const char *kind, const char *target, char *source, size_t n)
{
	struct sq *q = hive_q("SELECT source FROM fleet_verdicts WHERE kind = $1 AND target = $2");
	bool found = false;
	source[0] = 0;
	if (q) {
		sq_text(q, 1, kind);
		sq_text(q, 2, target);
		if (sq_step(q) == ST_ROW) {
			found = true;
			snprintf(source, n, "%s", sq_col_text(q, 0));
		}
	}
	return found;
}

int64_t hive_count(const char *sql)
{
	return store_i64(H.st, sql, 0);
}

/* Write (or with action NULL remove) one fleet verdict and bump the version, in one
 * transaction; every instance then sends it out (the others on the notification). */
static int write_verdict(const char *kind, const char *target, const char *action, const char *source, char *err,
			 size_t n)
{
	char had[160];
	hive_store_commit();
	if (store_exec(H.st, "BEGIN")) {
		snprintf(err, n, "the store: %s", store_err(H.st));
		return -1;
	}
	if (action && !current(kind, target, had, sizeof(had)) &&
	    hive_count("SELECT count(*) FROM fleet_verdicts") >= HIVE_VERDICTS_MAX) {
		store_exec(H.st, "ROLLBACK");
		snprintf(err, n, "the fleet set holds %d verdicts, its most: remove some first", HIVE_VERDICTS_MAX);
		return -1;
	}
	struct sq *q = hive_q(!action ? "DELETE FROM fleet_verdicts WHERE kind = $1 AND target = $2" :
					"INSERT INTO fleet_verdicts (kind, target, action, source, created_ns)"
					" VALUES ($1, $2, $3, $4, $5) ON CONFLICT (kind, target) DO UPDATE SET"
					" action = excluded.action, source = excluded.source, created_ns = excluded.created_ns");
	int rc = ST_ERR;
	if (q) {
		sq_text(q, 1, kind);
		sq_text(q, 2, target);
		if (action) {
			sq_text(q, 3, action);
			sq_text(q, 4, source);
			sq_i64(q, 5, hive_now_ns());
		}
		rc = sq_step(q);
	}
	struct sq *v = rc == ST_DONE ? hive_q("UPDATE fleet_meta SET value = value + 1 WHERE key = 'verdict_version'"
					       " RETURNING value") : NULL;
	if (!v || sq_step(v) != ST_ROW || store_notify(H.st, HIVE_CHANNEL, "verdicts") ||
	    store_exec(H.st, "COMMIT")) {
		snprintf(err, n, "the store: %s", store_err(H.st));
		store_exec(H.st, "ROLLBACK");
		return -1;
	}
	hive_fleet_reload();
	hive_log("fleet verdict %s %s %s (%s), version %llu", action ? action : "removed", kind, target, source,
		 (unsigned long long)H.verdict_version);
	hive_sync_all();
	return 0;
}

int hive_fleet_set(const char *verb, const char *kind, const char *target, const char *source, char *err,
		   size_t n)
{
	char canon[HIVE_TARGET_MAX];
	bool un = strcmp(verb, "unblock") == 0;
	if (guard(kind, target, strcmp(verb, "block") == 0, canon, sizeof(canon), err, n)) {
		H.verdicts_refused++;
		hive_log("fleet verdict %s %s %.200s refused: %s", verb, kind, target, err);
		return -1;
	}
	if (un) {
		char had[160];
		if (!current(kind, canon, had, sizeof(had))) {
			snprintf(err, n, "no fleet verdict on %s %s", kind, canon);
			return -1;
		}
	}
	return write_verdict(kind, canon, un ? NULL : strcmp(verb, "allow") == 0 ? "allow" : "deny", source, err, n);
}

int hive_revocation(const char *agent_id)
{
	struct sq *q = hive_q("SELECT 1 FROM fleet_revoked WHERE agent_id = $1");
	int rc = ST_ERR;
	if (q) {
		sq_text(q, 1, agent_id);
		rc = sq_step(q);
	}
	if (rc == ST_ROW || rc == ST_DONE)
		return rc == ST_ROW;
	hive_log("agent %s: its revocation cannot be checked (store: %s)", agent_id, store_err(H.st));
	return -1;
}

bool hive_revoked(const char *agent_id)
{
	/* unknown counts as revoked: a database outage must not let a revoked agent back in */
	return hive_revocation(agent_id) != 0;
}

static int set_state(int64_t id, const char *state, const char *by, const char *reason)
{
	struct sq *q = hive_q("UPDATE fleet_proposals SET state = $2, decided_by = $3, decided_ns = $4,"
			      " reason = $5 WHERE id = $1 AND state = 'pending'");
	if (!q)
		return -1;
	sq_i64(q, 1, id);
	sq_text(q, 2, state);
	sq_text(q, 3, by);
	sq_i64(q, 4, hive_now_ns());
	sq_text(q, 5, reason);
	return sq_step(q) == ST_DONE && sq_changes(q) ? 0 : -1;
}

/* --accept-agents K: the same content reported by K distinct agents becomes a fleet block. */
static void policy(const char *kind, const char *target, const char *sha)
{
	if (!H.o.accept_k || !sha)
		return;
	int64_t agents = 0;
	struct sq *q = hive_q("SELECT count(DISTINCT agent_id) FROM fleet_proposals WHERE kind = $1 AND target = $2"
			      " AND sha256 = $3 AND state = 'pending'");
	if (!q)
		return;
	sq_text(q, 1, kind);
	sq_text(q, 2, target);
	sq_text(q, 3, sha);
	if (sq_step(q) == ST_ROW)
		agents = sq_col_i64(q, 0);
	if (agents < (int64_t)H.o.accept_k)
		return;
	char had[160], by[48], err[256];
	snprintf(by, sizeof(by), "policy:%u-agents", H.o.accept_k);
	/* an operator's verdict on the same target stays as the operator set it */
	if (current(kind, target, had, sizeof(had)) && strncmp(had, "operator:", 9) == 0) {
		hive_log("policy: %s %s reported by %lld agents; the operator's verdict on it stays", kind, target,
			 (long long)agents);
		return;
	}
	if (write_verdict(kind, target, "deny", by, err, sizeof(err))) {
		hive_log("policy: %s %s: %s", kind, target, err);
		return;
	}
	if ((q = hive_q("UPDATE fleet_proposals SET state = 'approved', decided_by = $4, decided_ns = $5"
			" WHERE kind = $1 AND target = $2 AND sha256 = $3 AND state = 'pending'"))) {
		sq_text(q, 1, kind);
		sq_text(q, 2, target);
		sq_text(q, 3, sha);
		sq_text(q, 4, by);
		sq_i64(q, 5, hive_now_ns());
		if (sq_step(q) != ST_DONE)
			hive_log("policy: marking the proposals approved: %s", store_err(H.st));
	}
}

void hive_fleet_proposal(struct conn *c, const cJSON *m)
{
	const char *kind = hive_jstr(m, "kind"), *target = hive_jstr(m, "target"), *src = hive_jstr(m, "source");
	const char *verb = hive_jstr(m, "verb") ? hive_jstr(m, "verb") : "block", *sha = hive_jstr(m, "sha256");
	char canon[HIVE_TARGET_MAX], err[256];
	const char *why = NULL;
	if (strcmp(verb, "block") != 0)
		why = "agents may only propose blocks: allow and unblock for the fleet are the operator's";
	else if (!kind || !target)
		why = "a proposal needs \"kind\" and \"target\"";
	else if (sha && (strlen(sha) != 64 || strspn(sha, "0123456789abcdef") != 64))
		why = "\"sha256\" must be 64 lowercase hex digits";
	else if (guard(kind, target, true, canon, sizeof(canon), err, sizeof(err)))
		why = err;
	/* written at once, not with the turn's incidents: the policy may act on it */
	hive_store_commit();
	if (!why) {
		struct sq *q = hive_q("SELECT count(*) FROM fleet_proposals WHERE state = 'pending' AND agent_id = $1");
		int64_t pending = 0;
		if (q) {
			sq_text(q, 1, c->agent_id);
			if (sq_step(q) == ST_ROW)
				pending = sq_col_i64(q, 0);
		}
		if (pending >= HIVE_PROPOSALS_PER_AGENT)
			why = "this agent has too many proposals waiting";
	}
	if (why) {
		H.proposals_refused++;
		hive_log("%s agent %s: proposal %.10s %.10s %.200s refused: %s", c->peer, c->agent_id, verb,
			 kind ? kind : "?", target ? target : "?", why);
		return;
	}
	struct sq *q = hive_q("INSERT INTO fleet_proposals (agent_id, kind, target, sha256, source, created_ns)"
			      " VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING");
	if (!q)
		return;
	char source[160];
	snprintf(source, sizeof(source), "%.150s", src ? src : "?");
	sq_text(q, 1, c->agent_id);
	sq_text(q, 2, kind);
	sq_text(q, 3, canon);
	sq_text(q, 4, sha);
	sq_text(q, 5, source);
	sq_i64(q, 6, hive_now_ns());
	int rc = sq_step(q);
	bool added = rc == ST_DONE && sq_changes(q);
	if (rc != ST_DONE)
		hive_log("%s agent %s: storing a proposal: %s", c->peer, c->agent_id, store_err(H.st));
	if (added) {
		H.proposals++;
		hive_log("%s agent %s: proposes block %s %s (%s)%s", c->peer, c->agent_id, kind, canon, source,
			 H.o.accept_k && sha ? "" : ": waiting for an operator");
		policy(kind, canon, sha);
	}
}

/* ------------------------------------------------------------- commands */

static int cmd_fleet(const cJSON *req, cJSON *reply, const struct ctl_peer *peer, void *ctx)
{
	const char *verb = ctx;
	const char *kind = ctl_str(req, "kind"), *target = ctl_str(req, "target");
	char err[512], source[64], canon[HIVE_TARGET_MAX];
	if (!kind || !target)
		return ctl_error(reply, "\"kind\" and \"target\" are needed");
	snprintf(source, sizeof(source), "operator:%u", (unsigned)peer->uid);
	if (hive_fleet_set(verb, kind, target, source, err, sizeof(err)))
		return ctl_error(reply, "%s", err);
	/* what `verdicts` lists for it (net targets are made canonical) */
	if (guard(kind, target, false, canon, sizeof(canon), err, sizeof(err)))
		snprintf(canon, sizeof(canon), "%s", target);
	cJSON_AddStringToObject(reply, "kind", kind);
	cJSON_AddStringToObject(reply, "target", canon);
	if (strcmp(verb, "unblock"))
		cJSON_AddStringToObject(reply, "action", strcmp(verb, "allow") == 0 ? "allow" : "deny");
	cJSON_AddStringToObject(reply, "source", source);
	cJSON_AddStringToObject(reply, "applied", "fleet");
	cJSON_AddTrueToObject(reply, "fleet");
	frame_add_u64(reply, "verdict_version", H.verdict_version);
	return 0;
}

static int cmd_verdicts(const cJSON *req, cJSON *reply, const struct ctl_peer *peer, void *ctx)
{
	(void)peer;
	(void)ctx;
	const char *kind = ctl_str(req, "kind");
	cJSON *arr = cJSON_AddArrayToObject(reply, "verdicts");
	struct sq *q = hive_q("SELECT kind, target, action, source, created_ns FROM fleet_verdicts"
			      " WHERE CAST($1 AS TEXT) IS NULL OR kind = $1 ORDER BY kind, target");
	if (!q)
		return ctl_error(reply, "%s", store_err(H.st));
	sq_text(q, 1, kind);
	int rc;
	while ((rc = sq_step(q)) == ST_ROW) {
		cJSON *v = cJSON_CreateObject();
		static const char *const k[] = { "kind", "target", "action", "source" };
		for (int i = 0; i < 4; i++)
			cJSON_AddStringToObject(v, k[i], sq_col_text(q, i));
		frame_add_i64(v, "set_ns", sq_col_i64(q, 4));
		cJSON_AddItemToArray(arr, v);
	}
	if (rc != ST_DONE)
		return ctl_error(reply, "%s", store_err(H.st));
	frame_add_u64(reply, "verdict_version", H.verdict_version);
	return 0;
}

static int cmd_proposals(const cJSON *req, cJSON *reply, const struct ctl_peer *peer, void *ctx)
{
	(void)peer;
	(void)ctx;
	const char *state = ctl_str(req, "state");
	if (state && strcmp(state, "pending") && strcmp(state, "approved") && strcmp(state, "rejected") &&
	    strcmp(state, "all"))
		return ctl_error(reply, "\"state\" is pending, approved, rejected or all");
	if (!state)
		state = "pending";
	cJSON *arr = cJSON_AddArrayToObject(reply, "proposals");
	struct sq *q = hive_q("SELECT id, agent_id, kind, target, sha256, source, created_ns, state, decided_by,"
			      " reason FROM fleet_proposals WHERE $1 = 'all' OR state = $1 ORDER BY id LIMIT 10000");
	if (!q)
		return ctl_error(reply, "%s", store_err(H.st));
	sq_text(q, 1, state);
	int rc;
	while ((rc = sq_step(q)) == ST_ROW) {
		cJSON *p = cJSON_CreateObject();
		frame_add_i64(p, "id", sq_col_i64(q, 0));
		static const char *const k[] = { NULL, "agent_id", "kind", "target", "sha256", "source" };
		for (int i = 1; i < 6; i++)
			if (!sq_col_null(q, i))
				cJSON_AddStringToObject(p, k[i], sq_col_text(q, i));
		frame_add_i64(p, "created_ns", sq_col_i64(q, 6));
		cJSON_AddStringToObject(p, "state", sq_col_text(q, 7));
		if (!sq_col_null(q, 8))
			cJSON_AddStringToObject(p, "decided_by", sq_col_text(q, 8));
		if (!sq_col_null(q, 9))
			cJSON_AddStringToObject(p, "reason", sq_col_text(q, 9));
		cJSON_AddItemToArray(arr, p);
	}
	if (rc != ST_DONE)
		return ctl_error(reply, "%s", store_err(H.st));
	return 0;
}

/* approve / reject ID */
static int cmd_decide(const cJSON *req, cJSON *reply, const struct ctl_peer *peer, void *ctx)
{
	bool approve = strcmp(ctx, "approve") == 0;
	long long id = ctl_int(req, "proposal");
	char by[48], kind[16] = "", target[HIVE_TARGET_MAX] = "", agent[128] = "", err[512], had[160];
	if (id < 0)
		return ctl_error(reply, "\"proposal\": the number `immunectl proposals` shows is needed");
	snprintf(by, sizeof(by), "operator:%u", (unsigned)peer->uid);
	bool pending = false;
	struct sq *q = hive_q("SELECT kind, target, agent_id, state FROM fleet_proposals WHERE id = $1");
	if (!q)
		return ctl_error(reply, "%s", store_err(H.st));
	sq_i64(q, 1, id);
	bool found = sq_step(q) == ST_ROW;
	if (found) {
		snprintf(kind, sizeof(kind), "%s", sq_col_text(q, 0));
		snprintf(target, sizeof(target), "%s", sq_col_text(q, 1));
		snprintf(agent, sizeof(agent), "%s", sq_col_text(q, 2));
		pending = strcmp(sq_col_text(q, 3), "pending") == 0;
	}
	if (!found)
		return ctl_error(reply, "no proposal %lld", id);
	if (!pending)
		return ctl_error(reply, "proposal %lld was decided already", id);
	if (approve) {
		char source[200];
		if (current(kind, target, had, sizeof(had)) && strncmp(had, "operator:", 9) == 0)
			return ctl_error(reply, "an operator's verdict (%s) is set on %s %s: change that instead", had,
					 kind, target);
		snprintf(source, sizeof(source), "proposal:%lld:%.120s", id, agent);
		if (hive_fleet_set("block", kind, target, source, err, sizeof(err))) {
			set_state(id, "rejected", by, err);
			return ctl_error(reply, "proposal %lld cannot be applied, rejected: %s", id, err);
		}
	}
	const char *reason = ctl_str(req, "reason");
	if (set_state(id, approve ? "approved" : "rejected", by, approve ? NULL : reason))
		return ctl_error(reply, "proposal %lld was decided already", id);
	hive_log("proposal %lld (%s %s from %s) %s by %s", id, kind, target, agent, approve ? "approved" : "rejected", by);
	frame_add_i64(reply, "proposal", id);
	cJSON_AddStringToObject(reply, "state", approve ? "approved" : "rejected");
	cJSON_AddStringToObject(reply, "kind", kind);
	cJSON_AddStringToObject(reply, "target", target);
	cJSON_AddStringToObject(reply, "agent_id", agent);
	frame_add_u64(reply, "verdict_version", H.verdict_version);
	return 0;
}

static int cmd_revoke(const cJSON *req, cJSON *reply, const struct ctl_peer *peer, void *ctx)
{
	(void)ctx;
	const char *id = ctl_str(req, "agent_id");
	char by[48];
	if (!id || !*id || strlen(id) >= 128)
		return ctl_error(reply, "\"agent_id\" is needed");
	snprintf(by, sizeof(by), "operator:%u", (unsigned)peer->uid);
	hive_store_commit();
	struct sq *q = store_exec(H.st, "BEGIN") ? NULL :
		       hive_q("INSERT INTO fleet_revoked (agent_id, revoked_ns, revoked_by) VALUES ($1, $2, $3)"
			      " ON CONFLICT DO NOTHING");
	int rc = ST_ERR;
	if (q) {
		sq_text(q, 1, id);
		sq_i64(q, 2, hive_now_ns());
		sq_text(q, 3, by);
		rc = sq_step(q);
	}
	/* what it proposed is not trusted any more either */
	if (rc == ST_DONE &&
	    (q = hive_q("UPDATE fleet_proposals SET state = 'rejected', decided_by = $2, decided_ns = $3,"
			" reason = 'agent revoked' WHERE agent_id = $1 AND state = 'pending'"))) {
		sq_text(q, 1, id);
		sq_text(q, 2, by);
		sq_i64(q, 3, hive_now_ns());
		rc = sq_step(q);
	}
	/* the other instances drop it too, when this commits */
	char note[160];
	snprintf(note, sizeof(note), "revoked %s", id);
	if (rc != ST_DONE || store_notify(H.st, HIVE_CHANNEL, note) || store_exec(H.st, "COMMIT")) {
		const char *e = store_err(H.st);
		store_exec(H.st, "ROLLBACK");
		return ctl_error(reply, "the store: %s", e);
	}
	int closed = hive_fleet_drop_revoked(id);
	hive_log("agent %s revoked by %s (%d connection%s closed)", id, by, closed, closed == 1 ? "" : "s");
	cJSON_AddStringToObject(reply, "agent_id", id);
	cJSON_AddTrueToObject(reply, "revoked");
	cJSON_AddNumberToObject(reply, "closed", closed);
	return 0;
}

int hive_fleet_drop_revoked(const char *id)
{
	int closed = 0;
	for (struct conn *c = H.conns; c; c = c->next)
		if (!c->dead && !c->refused && c->agent_id[0] && strcmp(c->agent_id, id) == 0) {
			hive_refuse_revoked(c, id); /* told why, as at hello; closed when it closes */
			closed++;
		}
	return closed;
}

/* Revocation undone: the agent id may say hello again, at every instance (each reads
 * fleet_revoked at hello). Its proposals rejected at the revocation stay rejected. */
static int cmd_unrevoke(const cJSON *req, cJSON *reply, const struct ctl_peer *peer, void *ctx)
{
	(void)ctx;
	const char *id = ctl_str(req, "agent_id");
	char by[48], was[48] = "";
	if (!id || !*id || strlen(id) >= 128)
		return ctl_error(reply, "\"agent_id\" is needed");
	snprintf(by, sizeof(by), "operator:%u", (unsigned)peer->uid);
	hive_store_commit();
	struct sq *q = hive_q("DELETE FROM fleet_revoked WHERE agent_id = $1 RETURNING revoked_by");
	if (!q)
		return ctl_error(reply, "%s", store_err(H.st));
	sq_text(q, 1, id);
	int rc = sq_step(q);
	if (rc == ST_ROW)
		snprintf(was, sizeof(was), "%s", sq_col_text(q, 0));
	while (rc == ST_ROW)
		rc = sq_step(q);
	if (rc != ST_DONE)
		return ctl_error(reply, "%s", store_err(H.st));
	if (!was[0])
		return ctl_error(reply, "agent %.127s is not revoked", id);
	hive_log("agent %s unrevoked by %s (revoked by %s)", id, by, was);
	cJSON_AddStringToObject(reply, "agent_id", id);
	cJSON_AddFalseToObject(reply, "revoked");
	return 0;
}

void hive_fleet_register(struct ctlsock *cs)
{
	ctlsock_register(cs, "block", cmd_fleet, "block", CTL_ADMIN);
	ctlsock_register(cs, "allow", cmd_fleet, "allow", CTL_ADMIN);
	ctlsock_register(cs, "unblock", cmd_fleet, "unblock", CTL_ADMIN);
	ctlsock_register(cs, "verdicts", cmd_verdicts, NULL, 0);
	ctlsock_register(cs, "proposals", cmd_proposals, NULL, 0);
	ctlsock_register(cs, "approve", cmd_decide, "approve", CTL_ADMIN);
	ctlsock_register(cs, "reject", cmd_decide, "reject", CTL_ADMIN);
	ctlsock_register(cs, "agent_revoke", cmd_revoke, NULL, CTL_ADMIN);
	ctlsock_register(cs, "agent_unrevoke", cmd_unrevoke, NULL, CTL_ADMIN);
}

void hive_fleet_status(cJSON *r)
{
	cJSON *f = cJSON_AddObjectToObject(r, "fleet");
	frame_add_i64(f, "verdicts", hive_count("SELECT count(*) FROM fleet_verdicts"));
	frame_add_i64(f, "proposals_pending", hive_count("SELECT count(*) FROM fleet_proposals WHERE state = 'pending'"));
	frame_add_u64(f, "proposals_received", H.proposals);
	frame_add_u64(f, "proposals_refused", H.proposals_refused);
	frame_add_u64(f, "verdicts_refused", H.verdicts_refused);
	frame_add_i64(f, "agents_revoked", hive_count("SELECT count(*) FROM fleet_revoked"));
	cJSON_AddNumberToObject(f, "accept_agents", H.o.accept_k);
	cJSON_AddNumberToObject(f, "min_prefix4", H.o.min_prefix4);
	cJSON_AddNumberToObject(f, "min_prefix6", H.o.min_prefix6);
}
