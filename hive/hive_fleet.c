/*
 * Fleet trust: agents propose, the Hive decides. An agent's `verdict`
 * message is a proposal that waits for an operator (`immunectl proposals`,
 * `approve`, `reject`) unless the policy accepts it (the same SHA-256 from
 * --accept-agents K distinct agents); agents never allow or unblock for the
 * fleet and never change an operator's verdict. Every fleet verdict, the
 * operator's included, passes the guard rails first: no network wider than
 * --min-prefix4/6, nothing that covers the Hive's own addresses, no
 * protected binary and never the agent's. Revoked agents are refused at
 * hello and dropped at once.
 */
#include "hive_int.h"
#include "verdict.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void save_version(void)
{
	sqlite3_stmt *m;
	if (sqlite3_prepare_v2(H.db, "INSERT OR REPLACE INTO fleet_meta VALUES ('verdict_version', ?)", -1, &m,
			       NULL) == SQLITE_OK) {
		sqlite3_bind_int64(m, 1, (sqlite3_int64)H.verdict_version);
		sqlite3_step(m);
		sqlite3_finalize(m);
	}
}

int hive_fleet_init(char *err, size_t n)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(H.db, "SELECT value FROM fleet_meta WHERE key='verdict_version'", -1, &st, NULL) ==
	    SQLITE_OK) {
		if (sqlite3_step(st) == SQLITE_ROW)
			H.verdict_version = (uint64_t)sqlite3_column_int64(st, 0);
		sqlite3_finalize(st);
	}
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
	sqlite3_stmt *st;
	bool found = false;
	source[0] = 0;
	if (sqlite3_prepare_v2(H.db, "SELECT source FROM fleet_verdicts WHERE kind = ? AND target = ?", -1, &st, NULL) ==
	    SQLITE_OK) {
		sqlite3_bind_text(st, 1, kind, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(st, 2, target, -1, SQLITE_TRANSIENT);
		if (sqlite3_step(st) == SQLITE_ROW) {
			found = true;
			snprintf(source, n, "%s", (const char *)sqlite3_column_text(st, 0));
		}
		sqlite3_finalize(st);
	}
	return found;
}

int64_t hive_count(const char *sql)
{
	sqlite3_stmt *st;
	int64_t v = 0;
	if (sqlite3_prepare_v2(H.db, sql, -1, &st, NULL) == SQLITE_OK) {
		if (sqlite3_step(st) == SQLITE_ROW)
			v = sqlite3_column_int64(st, 0);
		sqlite3_finalize(st);
	}
	return v;
}

/* Write (or with action NULL remove) one fleet verdict, bump the version, send it out. */
static int write_verdict(const char *kind, const char *target, const char *action, const char *source, char *err,
			 size_t n)
{
	char had[160];
	if (action && !current(kind, target, had, sizeof(had)) &&
	    hive_count("SELECT count(*) FROM fleet_verdicts") >= HIVE_VERDICTS_MAX) {
		snprintf(err, n, "the fleet set holds %d verdicts, its most: remove some first", HIVE_VERDICTS_MAX);
		return -1;
	}
	sqlite3_stmt *st;
	const char *sql = !action ? "DELETE FROM fleet_verdicts WHERE kind=?1 AND target=?2" :
				    "INSERT OR REPLACE INTO fleet_verdicts (kind, target, action, source, created_ns)"
				    " VALUES (?1, ?2, ?3, ?4, ?5)";
	if (sqlite3_prepare_v2(H.db, sql, -1, &st, NULL) != SQLITE_OK) {
		snprintf(err, n, "%s", sqlite3_errmsg(H.db));
		return -1;
	}
	sqlite3_bind_text(st, 1, kind, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, target, -1, SQLITE_TRANSIENT);
	if (action) {
		sqlite3_bind_text(st, 3, action, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 4, source, -1, SQLITE_TRANSIENT);
		sqlite3_bind_int64(st, 5, hive_now_ns());
	}
	int rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		snprintf(err, n, "%s", sqlite3_errmsg(H.db));
		return -1;
	}
	H.verdict_version++;
	save_version();
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

bool hive_revoked(const char *agent_id)
{
	sqlite3_stmt *st;
	bool r = false;
	if (sqlite3_prepare_v2(H.db, "SELECT 1 FROM fleet_revoked WHERE agent_id = ?", -1, &st, NULL) == SQLITE_OK) {
		sqlite3_bind_text(st, 1, agent_id, -1, SQLITE_TRANSIENT);
		r = sqlite3_step(st) == SQLITE_ROW;
		sqlite3_finalize(st);
	}
	return r;
}

static int set_state(int64_t id, const char *state, const char *by, const char *reason)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(H.db, "UPDATE fleet_proposals SET state = ?2, decided_by = ?3, decided_ns = ?4,"
				     " reason = ?5 WHERE id = ?1 AND state = 'pending'", -1, &st, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_text(st, 2, state, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, by, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 4, hive_now_ns());
	if (reason)
		sqlite3_bind_text(st, 5, reason, -1, SQLITE_TRANSIENT);
	int rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE && sqlite3_changes(H.db) ? 0 : -1;
}

/* --accept-agents K: the same content reported by K distinct agents becomes a fleet block. */
static void policy(const char *kind, const char *target, const char *sha)
{
	if (!H.o.accept_k || !sha)
		return;
	sqlite3_stmt *st;
	int64_t agents = 0;
	if (sqlite3_prepare_v2(H.db, "SELECT count(DISTINCT agent_id) FROM fleet_proposals WHERE kind = ? AND target = ?"
				     " AND sha256 = ? AND state = 'pending'", -1, &st, NULL) != SQLITE_OK)
		return;
	sqlite3_bind_text(st, 1, kind, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, target, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 3, sha, -1, SQLITE_TRANSIENT);
	if (sqlite3_step(st) == SQLITE_ROW)
		agents = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
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
	if (sqlite3_prepare_v2(H.db, "UPDATE fleet_proposals SET state = 'approved', decided_by = ?4, decided_ns = ?5"
				     " WHERE kind = ?1 AND target = ?2 AND sha256 = ?3 AND state = 'pending'", -1, &st,
			       NULL) == SQLITE_OK) {
		sqlite3_bind_text(st, 1, kind, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(st, 2, target, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(st, 3, sha, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(st, 4, by, -1, SQLITE_TRANSIENT);
		sqlite3_bind_int64(st, 5, hive_now_ns());
		sqlite3_step(st);
		sqlite3_finalize(st);
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
	if (!why) {
		sqlite3_stmt *st;
		int64_t pending = 0;
		if (sqlite3_prepare_v2(H.db, "SELECT count(*) FROM fleet_proposals WHERE state = 'pending' AND agent_id = ?",
				       -1, &st, NULL) == SQLITE_OK) {
			sqlite3_bind_text(st, 1, c->agent_id, -1, SQLITE_TRANSIENT);
			if (sqlite3_step(st) == SQLITE_ROW)
				pending = sqlite3_column_int64(st, 0);
			sqlite3_finalize(st);
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
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(H.db, "INSERT OR IGNORE INTO fleet_proposals (agent_id, kind, target, sha256, source,"
				     " created_ns) VALUES (?, ?, ?, ?, ?, ?)", -1, &st, NULL) != SQLITE_OK)
		return;
	sqlite3_bind_text(st, 1, c->agent_id, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, kind, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 3, canon, -1, SQLITE_TRANSIENT);
	if (sha)
		sqlite3_bind_text(st, 4, sha, -1, SQLITE_TRANSIENT);
	char source[160];
	snprintf(source, sizeof(source), "%.150s", src ? src : "?");
	sqlite3_bind_text(st, 5, source, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 6, hive_now_ns());
	int rc = sqlite3_step(st);
	bool added = rc == SQLITE_DONE && sqlite3_changes(H.db);
	sqlite3_finalize(st);
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
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(H.db, "SELECT kind, target, action, source, created_ns FROM fleet_verdicts"
				     " WHERE ?1 IS NULL OR kind = ?1 ORDER BY kind, target", -1, &st, NULL) != SQLITE_OK)
		return ctl_error(reply, "%s", sqlite3_errmsg(H.db));
	if (kind)
		sqlite3_bind_text(st, 1, kind, -1, SQLITE_TRANSIENT);
	while (sqlite3_step(st) == SQLITE_ROW) {
		cJSON *v = cJSON_CreateObject();
		static const char *const k[] = { "kind", "target", "action", "source" };
		for (int i = 0; i < 4; i++)
			cJSON_AddStringToObject(v, k[i], (const char *)sqlite3_column_text(st, i));
		frame_add_i64(v, "set_ns", sqlite3_column_int64(st, 4));
		cJSON_AddItemToArray(arr, v);
	}
	sqlite3_finalize(st);
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
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(H.db, "SELECT id, agent_id, kind, target, sha256, source, created_ns, state, decided_by,"
				     " reason FROM fleet_proposals WHERE ?1 = 'all' OR state = ?1 ORDER BY id LIMIT 10000",
			       -1, &st, NULL) != SQLITE_OK)
		return ctl_error(reply, "%s", sqlite3_errmsg(H.db));
	sqlite3_bind_text(st, 1, state, -1, SQLITE_TRANSIENT);
	while (sqlite3_step(st) == SQLITE_ROW) {
		cJSON *p = cJSON_CreateObject();
		frame_add_i64(p, "id", sqlite3_column_int64(st, 0));
		static const char *const k[] = { NULL, "agent_id", "kind", "target", "sha256", "source" };
		for (int i = 1; i < 6; i++)
			if (sqlite3_column_type(st, i) != SQLITE_NULL)
				cJSON_AddStringToObject(p, k[i], (const char *)sqlite3_column_text(st, i));
		frame_add_i64(p, "created_ns", sqlite3_column_int64(st, 6));
		cJSON_AddStringToObject(p, "state", (const char *)sqlite3_column_text(st, 7));
		if (sqlite3_column_type(st, 8) != SQLITE_NULL)
			cJSON_AddStringToObject(p, "decided_by", (const char *)sqlite3_column_text(st, 8));
		if (sqlite3_column_type(st, 9) != SQLITE_NULL)
			cJSON_AddStringToObject(p, "reason", (const char *)sqlite3_column_text(st, 9));
		cJSON_AddItemToArray(arr, p);
	}
	sqlite3_finalize(st);
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
	sqlite3_stmt *st;
	bool pending = false;
	if (sqlite3_prepare_v2(H.db, "SELECT kind, target, agent_id, state FROM fleet_proposals WHERE id = ?", -1, &st,
			       NULL) != SQLITE_OK)
		return ctl_error(reply, "%s", sqlite3_errmsg(H.db));
	sqlite3_bind_int64(st, 1, id);
	bool found = sqlite3_step(st) == SQLITE_ROW;
	if (found) {
		snprintf(kind, sizeof(kind), "%s", (const char *)sqlite3_column_text(st, 0));
		snprintf(target, sizeof(target), "%s", (const char *)sqlite3_column_text(st, 1));
		snprintf(agent, sizeof(agent), "%s", (const char *)sqlite3_column_text(st, 2));
		pending = strcmp((const char *)sqlite3_column_text(st, 3), "pending") == 0;
	}
	sqlite3_finalize(st);
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
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(H.db, "INSERT OR IGNORE INTO fleet_revoked VALUES (?, ?, ?)", -1, &st, NULL) != SQLITE_OK)
		return ctl_error(reply, "%s", sqlite3_errmsg(H.db));
	sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 2, hive_now_ns());
	sqlite3_bind_text(st, 3, by, -1, SQLITE_TRANSIENT);
	int rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return ctl_error(reply, "%s", sqlite3_errmsg(H.db));
	/* what it proposed is not trusted any more either */
	if (sqlite3_prepare_v2(H.db, "UPDATE fleet_proposals SET state = 'rejected', decided_by = ?2, decided_ns = ?3,"
				     " reason = 'agent revoked' WHERE agent_id = ?1 AND state = 'pending'", -1, &st,
			       NULL) == SQLITE_OK) {
		sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(st, 2, by, -1, SQLITE_TRANSIENT);
		sqlite3_bind_int64(st, 3, hive_now_ns());
		sqlite3_step(st);
		sqlite3_finalize(st);
	}
	int closed = 0;
	for (struct conn *c = H.conns; c; c = c->next)
		if (!c->dead && strcmp(c->agent_id, id) == 0) {
			hive_conn_kill(c, "agent revoked");
			closed++;
		}
	hive_log("agent %s revoked by %s (%d connection%s closed)", id, by, closed, closed == 1 ? "" : "s");
	cJSON_AddStringToObject(reply, "agent_id", id);
	cJSON_AddTrueToObject(reply, "revoked");
	cJSON_AddNumberToObject(reply, "closed", closed);
	return 0;
}

/* Revocation undone: the agent id may say hello again. Its proposals
 * rejected at the revocation stay rejected. */
static int cmd_unrevoke(const cJSON *req, cJSON *reply, const struct ctl_peer *peer, void *ctx)
{
	(void)ctx;
	const char *id = ctl_str(req, "agent_id");
	char by[48], was[48] = "";
	if (!id || !*id || strlen(id) >= 128)
		return ctl_error(reply, "\"agent_id\" is needed");
	snprintf(by, sizeof(by), "operator:%u", (unsigned)peer->uid);
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(H.db, "DELETE FROM fleet_revoked WHERE agent_id = ? RETURNING revoked_by", -1, &st, NULL) !=
	    SQLITE_OK)
		return ctl_error(reply, "%s", sqlite3_errmsg(H.db));
	sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		snprintf(was, sizeof(was), "%s", (const char *)sqlite3_column_text(st, 0));
	while (rc == SQLITE_ROW)
		rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return ctl_error(reply, "%s", sqlite3_errmsg(H.db));
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
