/*
 * `immuned --role hive`: one event loop (epoll, non-blocking OpenSSL) for
 * every agent. Incidents are stored exactly once, keyed by (agent, sequence),
 * and acknowledged only after the transaction that stored them committed.
 * Fleet verdicts are kept and pushed to every agent, now and on connect.
 */
#include "sd_notify.h"
#include "hive.h"
#include "ctlsock.h"
#include "db.h"
#include "frame.h"
#include "hive_tls.h"
#include "incident.h"
#include "incident_ctl.h"
#include "ioc.h"
#include "verdict.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netdb.h>
#include <openssl/err.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define HIVE_IDLE_TIMEOUT_S 90  /* agents send a heartbeat every 10 s */
#define HIVE_HANDSHAKE_TIMEOUT_S 10
#define HIVE_MAX_OUT (64u << 20) /* a peer that does not read is dropped */


enum conn_state { CS_HANDSHAKE, CS_OPEN };

struct conn {
	int fd;
	SSL *ssl;
	enum conn_state state;
	struct frame_buf in;
	unsigned char *out;
	size_t out_len, out_off;
	char peer[80];
	char cn[128];
	char agent_id[128];
	char host[256];
	char version[64];
	time_t since, last_seen;
	uint64_t incidents, batches;
	struct conn *next;
};

static struct {
	SSL_CTX *ctx;
	int ep, lfd;
	sqlite3 *db;
	sqlite3_stmt *ins;
	struct conn *conns;
	struct ctlsock *cs;
	uint64_t verdict_version;
	uint64_t stored, duplicates, refused, malformed;
	volatile sig_atomic_t stop;
} H;

static void on_signal(int s)
{
	(void)s;
	H.stop = 1;
}

static void logf_(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void logf_(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "immuned-hive: ");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* ------------------------------------------------------------- storage */

static int store_open(const char *path, char *err, size_t n)
{
	char *e = NULL;
	if (!(H.db = db_open(path, incident_schema_sql, err, n)))
		return -1;
	const char *ddl = "PRAGMA synchronous=NORMAL;"
			  "CREATE TABLE IF NOT EXISTS fleet_verdicts (kind TEXT NOT NULL, target TEXT NOT NULL,"
			  " action TEXT NOT NULL, source TEXT NOT NULL, created_ns INTEGER NOT NULL,"
			  " PRIMARY KEY (kind, target));"
			  "CREATE TABLE IF NOT EXISTS fleet_meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);"
			  "CREATE TABLE IF NOT EXISTS fleet_iocs (name TEXT PRIMARY KEY, version INTEGER NOT NULL,"
			  " text TEXT NOT NULL, created_ns INTEGER NOT NULL);";
	if (sqlite3_exec(H.db, ddl, NULL, NULL, &e) != SQLITE_OK) {
		snprintf(err, n, "%s: %s", path, e ? e : "schema");
		sqlite3_free(e);
		return -1;
	}
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(H.db, "SELECT value FROM fleet_meta WHERE key='verdict_version'", -1, &st, NULL) ==
	    SQLITE_OK) {
		if (sqlite3_step(st) == SQLITE_ROW)
			H.verdict_version = sqlite3_column_int64(st, 0);
		sqlite3_finalize(st);
	}
	const char *ins = "INSERT OR IGNORE INTO incidents (host, agent_id, agent_seq, " INCIDENT_COLUMNS ", hive_acked)"
			  " VALUES (?,?,?," INCIDENT_PLACEHOLDERS ",1)";
	if (sqlite3_prepare_v2(H.db, ins, -1, &H.ins, NULL) != SQLITE_OK) {
		snprintf(err, n, "%s: %s", path, sqlite3_errmsg(H.db));
		return -1;
	}
	return 0;
}

static const char *jstr(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static double jnum(const cJSON *o, const char *k, double d)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	return cJSON_IsNumber(v) ? v->valuedouble : d;
}

static void bind_str(int i, const cJSON *o, const char *k)
{
	const char *s = jstr(o, k);
	if (s)
		sqlite3_bind_text(H.ins, i, s, -1, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(H.ins, i);
}

/* ---------------------------------------------------------- connections */

static void conn_close(struct conn *c, const char *why)
{
	if (why)
		logf_("%s%s%s: closed: %s", c->peer, c->agent_id[0] ? " agent " : "", c->agent_id, why);
	epoll_ctl(H.ep, EPOLL_CTL_DEL, c->fd, NULL);
	SSL_free(c->ssl);
	close(c->fd);
	frame_buf_free(&c->in);
	free(c->out);
	for (struct conn **p = &H.conns; *p; p = &(*p)->next)
		if (*p == c) {
			*p = c->next;
			break;
		}
	free(c);
}

static void want(struct conn *c, bool wr)
{
	struct epoll_event ev = { .events = EPOLLIN | (wr ? EPOLLOUT : 0), .data.ptr = c };
	epoll_ctl(H.ep, EPOLL_CTL_MOD, c->fd, &ev);
}

static int send_obj(struct conn *c, cJSON *o)
{
	size_t n;
	unsigned char *f = frame_encode(o, &n);
	cJSON_Delete(o);
	if (!f)
		return -1;
	if (c->out_len - c->out_off + n > HIVE_MAX_OUT) {
		free(f);
		return -1;
	}
	if (c->out_off && c->out_off == c->out_len)
		c->out_len = c->out_off = 0;
	unsigned char *o2 = realloc(c->out, c->out_len + n);
	if (!o2) {
		free(f);
		return -1;
	}
	c->out = o2;
	memcpy(c->out + c->out_len, f, n);
	c->out_len += n;
	free(f);
	want(c, true);
	return 0;
}

/* Write what is queued; -1 when the connection failed. */
static int flush_out(struct conn *c)
{
	while (c->out_off < c->out_len) {
		int w = SSL_write(c->ssl, c->out + c->out_off, (int)(c->out_len - c->out_off));
		if (w <= 0) {
			int e = SSL_get_error(c->ssl, w);
			if (e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ)
				return 0;
			return -1;
		}
		c->out_off += w;
	}
	c->out_len = c->out_off = 0;
	want(c, false);
	return 0;
}

/* The whole fleet verdict set, versioned: agents replace what the Hive set before. */
static cJSON *verdict_set_msg(void)
{
	cJSON *m = cJSON_CreateObject();
	cJSON_AddStringToObject(m, "type", "verdicts");
	cJSON_AddNumberToObject(m, "version", (double)H.verdict_version);
	cJSON *arr = cJSON_AddArrayToObject(m, "verdicts");
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(H.db, "SELECT kind, target, action, source FROM fleet_verdicts ORDER BY kind, target",
			       -1, &st, NULL) == SQLITE_OK) {
		while (sqlite3_step(st) == SQLITE_ROW) {
			cJSON *v = cJSON_CreateObject();
			cJSON_AddStringToObject(v, "kind", (const char *)sqlite3_column_text(st, 0));
			cJSON_AddStringToObject(v, "target", (const char *)sqlite3_column_text(st, 1));
			cJSON_AddStringToObject(v, "action", (const char *)sqlite3_column_text(st, 2));
			cJSON_AddStringToObject(v, "source", (const char *)sqlite3_column_text(st, 3));
			cJSON_AddItemToArray(arr, v);
		}
		sqlite3_finalize(st);
	}
	return m;
}

static cJSON *ioc_msg(const char *name, int64_t version, const char *text)
{
	cJSON *m = cJSON_CreateObject();
	cJSON_AddStringToObject(m, "type", "ioc");
	cJSON_AddStringToObject(m, "name", name);
	cJSON_AddNumberToObject(m, "version", (double)version);
	cJSON_AddStringToObject(m, "text", text);
	return m;
}

/* Every fleet IOC set to one agent (after its hello). */
static int push_iocs(struct conn *c)
{
	sqlite3_stmt *st;
	int r = 0;
	if (sqlite3_prepare_v2(H.db, "SELECT name, version, text FROM fleet_iocs ORDER BY name", -1, &st, NULL) !=
	    SQLITE_OK)
		return 0;
	while (r == 0 && sqlite3_step(st) == SQLITE_ROW)
		r = send_obj(c, ioc_msg((const char *)sqlite3_column_text(st, 0), sqlite3_column_int64(st, 1),
					(const char *)sqlite3_column_text(st, 2)));
	sqlite3_finalize(st);
	return r;
}

static void push_verdicts_all(void)
{
	for (struct conn *c = H.conns, *n; c; c = n) {
		n = c->next;
		if (c->state == CS_OPEN && c->agent_id[0] && send_obj(c, verdict_set_msg()))
			conn_close(c, "cannot queue the verdict push");
	}
}

/* Store or remove one fleet verdict and bump the version; 0 or -1 with err. */
static int fleet_set(const char *verb, const char *kind, const char *target, const char *source, char *err,
		     size_t n)
{
	enum verdict_kind k;
	if (verdict_parse_kind(kind, &k)) {
		snprintf(err, n, "kind must be exec, file or net, not '%s'", kind);
		return -1;
	}
	char canon[128];
	if (k == VK_NET) {
		struct verdict_net t;
		if (verdict_parse_net(target, &t, err, n))
			return -1;
		verdict_format_net(&t, canon, sizeof(canon));
		target = canon;
	} else if (target[0] != '/') {
		snprintf(err, n, "%s: exec and file targets are absolute paths", target);
		return -1;
	}
	sqlite3_stmt *st;
	const char *sql = strcmp(verb, "unblock") == 0 ?
				  "DELETE FROM fleet_verdicts WHERE kind=?1 AND target=?2" :
				  "INSERT OR REPLACE INTO fleet_verdicts (kind, target, action, source, created_ns)"
				  " VALUES (?1, ?2, ?3, ?4, ?5)";
	if (sqlite3_prepare_v2(H.db, sql, -1, &st, NULL) != SQLITE_OK) {
		snprintf(err, n, "%s", sqlite3_errmsg(H.db));
		return -1;
	}
	sqlite3_bind_text(st, 1, kind, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, target, -1, SQLITE_TRANSIENT);
	if (strcmp(verb, "unblock")) {
		sqlite3_bind_text(st, 3, strcmp(verb, "allow") == 0 ? "allow" : "deny", -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 4, source, -1, SQLITE_TRANSIENT);
		sqlite3_bind_int64(st, 5, now_ns());
	}
	int rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		snprintf(err, n, "%s", sqlite3_errmsg(H.db));
		return -1;
	}
	H.verdict_version++;
	sqlite3_stmt *m;
	if (sqlite3_prepare_v2(H.db, "INSERT OR REPLACE INTO fleet_meta VALUES ('verdict_version', ?)", -1, &m,
			       NULL) == SQLITE_OK) {
		sqlite3_bind_int64(m, 1, (sqlite3_int64)H.verdict_version);
		sqlite3_step(m);
		sqlite3_finalize(m);
	}
	logf_("fleet verdict %s %s %s (%s), version %llu", verb, kind, target, source,
	      (unsigned long long)H.verdict_version);
	push_verdicts_all();
	return 0;
}

static int handle_incidents(struct conn *c, const cJSON *m)
{
	const cJSON *batch = cJSON_GetObjectItemCaseSensitive(m, "batch"), *it;
	if (!cJSON_IsArray(batch))
		return -1;
	if (!c->agent_id[0])
		return -1; /* hello first */
	cJSON *ack = cJSON_CreateObject();
	cJSON_AddStringToObject(ack, "type", "ack");
	cJSON *seqs = cJSON_AddArrayToObject(ack, "seqs");
	sqlite3_exec(H.db, "BEGIN", NULL, NULL, NULL);
	cJSON_ArrayForEach(it, batch)
	{
		double seq = jnum(it, "seq", -1);
		/* the incident document travels as the JSON text the agent stored:
		 * the Hive keeps it as it is instead of parsing and printing it again */
		const char *doc = jstr(it, "doc");
		if (seq < 0 || !doc || doc[0] != '{' || !jstr(it, "rule_id")) {
			sqlite3_exec(H.db, "ROLLBACK", NULL, NULL, NULL);
			cJSON_Delete(ack);
			return -1;
		}
		sqlite3_reset(H.ins);
		sqlite3_clear_bindings(H.ins);
		sqlite3_bind_text(H.ins, 1, c->host[0] ? c->host : c->agent_id, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(H.ins, 2, c->agent_id, -1, SQLITE_TRANSIENT);
		sqlite3_bind_int64(H.ins, 3, (sqlite3_int64)seq);
		sqlite3_bind_int64(H.ins, 4, (sqlite3_int64)jnum(it, "time_ns", 0));
		bind_str(5, it, "rule_id");
		sqlite3_bind_text(H.ins, 6, jstr(it, "rule_title") ? jstr(it, "rule_title") : "", -1,
				  SQLITE_TRANSIENT);
		bind_str(7, it, "rule_level");
		bind_str(8, it, "rule_tags");
		bind_str(9, it, "rule_author");
		sqlite3_bind_text(H.ins, 10, jstr(it, "event_kind") ? jstr(it, "event_kind") : "", -1,
				  SQLITE_TRANSIENT);
		sqlite3_bind_int64(H.ins, 11, (sqlite3_int64)jnum(it, "pid", 0));
		sqlite3_bind_int64(H.ins, 12, (sqlite3_int64)jnum(it, "ppid", 0));
		sqlite3_bind_int64(H.ins, 13, (sqlite3_int64)jnum(it, "uid", 0));
		bind_str(14, it, "executable");
		bind_str(15, it, "command_line");
		bind_str(16, it, "parent_executable");
		bind_str(17, it, "target");
		sqlite3_bind_text(H.ins, 18, jstr(it, "action") ? jstr(it, "action") : "alert", -1, SQLITE_TRANSIENT);
		bind_str(19, it, "verdict");
		sqlite3_bind_text(H.ins, 20, doc, -1, SQLITE_STATIC);
		int rc = sqlite3_step(H.ins);
		if (rc != SQLITE_DONE) {
			logf_("%s agent %s: storing seq %.0f: %s", c->peer, c->agent_id, seq, sqlite3_errmsg(H.db));
			sqlite3_exec(H.db, "ROLLBACK", NULL, NULL, NULL);
			cJSON_Delete(ack);
			return 0; /* no ack: the agent sends them again */
		}
		if (sqlite3_changes(H.db))
			H.stored++;
		else
			H.duplicates++;
		cJSON_AddItemToArray(seqs, cJSON_CreateNumber(seq));
		c->incidents++;
	}
	if (sqlite3_exec(H.db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		logf_("commit failed: %s", sqlite3_errmsg(H.db));
		sqlite3_exec(H.db, "ROLLBACK", NULL, NULL, NULL);
		cJSON_Delete(ack);
		return 0;
	}
	c->batches++;
	/* committed: now the agent may forget them */
	return send_obj(c, ack);
}

static int handle(struct conn *c, cJSON *m)
{
	const char *type = jstr(m, "type");
	c->last_seen = time(NULL);
	if (strcmp(type, "hello") == 0) {
		const char *id = jstr(m, "agent_id"), *host = jstr(m, "hostname");
		if (!id || !*id || strlen(id) >= sizeof(c->agent_id))
			return -1;
		/* the certificate says who this is: an agent may not speak for another
		 * (its id is the CN, or CN-suffix for several agents behind one certificate) */
		size_t cl = strlen(c->cn);
		if (!cl || strncmp(id, c->cn, cl) != 0 || (id[cl] != 0 && id[cl] != '-')) {
			logf_("%s: agent id '%.60s' does not match its certificate '%s': refused", c->peer, id, c->cn);
			return -1;
		}
		snprintf(c->agent_id, sizeof(c->agent_id), "%s", id);
		snprintf(c->host, sizeof(c->host), "%s", host ? host : id);
		snprintf(c->version, sizeof(c->version), "%s", jstr(m, "version") ? jstr(m, "version") : "");
		logf_("%s: agent %s (%s, certificate %s, version %s) connected", c->peer, c->agent_id, c->host, c->cn,
		      c->version);
		/* a new agent gets the fleet's verdicts and IOC sets now */
		if (jnum(m, "verdict_version", -1) != (double)H.verdict_version && send_obj(c, verdict_set_msg()))
			return -1;
		return push_iocs(c);
	}
	if (strcmp(type, "incidents") == 0)
		return handle_incidents(c, m);
	if (strcmp(type, "heartbeat") == 0) {
		cJSON *r = cJSON_CreateObject();
		cJSON_AddStringToObject(r, "type", "heartbeat");
		return send_obj(c, r);
	}
	if (strcmp(type, "verdict") == 0) { /* an agent's block to spread (--share-verdicts, --fleet) */
		const char *kind = jstr(m, "kind"), *target = jstr(m, "target"), *src = jstr(m, "source");
		const char *verb = jstr(m, "verb") ? jstr(m, "verb") : "block";
		char err[256], source[160];
		if (!kind || !target || !c->agent_id[0])
			return -1;
		if (strcmp(verb, "block") && strcmp(verb, "allow") && strcmp(verb, "unblock"))
			return -1;
		snprintf(source, sizeof(source), "agent:%s:%s", c->agent_id, src ? src : "?");
		if (fleet_set(verb, kind, target, source, err, sizeof(err)))
			logf_("%s agent %s: shared verdict refused: %s", c->peer, c->agent_id, err);
		return 0;
	}
	logf_("%s: unknown message type '%.40s' ignored", c->peer, type);
	return 0;
}

static void on_readable(struct conn *c)
{
	char err[256];
	if (c->state == CS_HANDSHAKE) {
		int r = SSL_accept(c->ssl);
		if (r == 1) {
			c->state = CS_OPEN;
			hive_tls_peer_cn(c->ssl, c->cn, sizeof(c->cn));
			want(c, false);
		} else {
			int e = SSL_get_error(c->ssl, r);
			if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
				want(c, e == SSL_ERROR_WANT_WRITE);
				return;
			}
			hive_tls_error(c->ssl, err, sizeof(err));
			H.refused++;
			conn_close(c, err[0] ? err : "TLS handshake failed");
			return;
		}
	}
	for (;;) {
		unsigned char buf[16384];
		int r = SSL_read(c->ssl, buf, sizeof(buf));
		if (r <= 0) {
			int e = SSL_get_error(c->ssl, r);
			if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
				break;
			if (e == SSL_ERROR_ZERO_RETURN || (e == SSL_ERROR_SYSCALL && ERR_peek_error() == 0)) {
				conn_close(c, "peer closed");
				return;
			}
			hive_tls_error(c->ssl, err, sizeof(err));
			conn_close(c, err);
			return;
		}
		if (frame_feed(&c->in, buf, r)) {
			conn_close(c, "out of memory");
			return;
		}
		cJSON *m;
		enum frame_status st;
		while ((st = frame_next(&c->in, &m, err, sizeof(err))) == FRAME_OK) {
			int hr = handle(c, m);
			cJSON_Delete(m);
			if (hr) {
				H.malformed++;
				conn_close(c, "malformed message");
				return;
			}
		}
		if (st != FRAME_NEED) {
			H.malformed++;
			conn_close(c, err);
			return;
		}
	}
	if (c->out_len > c->out_off && flush_out(c))
		conn_close(c, "write failed");
}

static void accept_all(void)
{
	for (;;) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		int fd = accept4(H.lfd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return;
		struct conn *c = calloc(1, sizeof(*c));
		if (!c) {
			close(fd);
			return;
		}
		char host[64] = "?", port[16] = "?";
		getnameinfo((struct sockaddr *)&ss, sl, host, sizeof(host), port, sizeof(port),
			    NI_NUMERICHOST | NI_NUMERICSERV);
		snprintf(c->peer, sizeof(c->peer), "%s:%s", host, port);
		c->fd = fd;
		c->ssl = SSL_new(H.ctx);
		SSL_set_fd(c->ssl, fd);
		c->since = c->last_seen = time(NULL);
		c->next = H.conns;
		H.conns = c;
		struct epoll_event ev = { .events = EPOLLIN, .data.ptr = c };
		epoll_ctl(H.ep, EPOLL_CTL_ADD, fd, &ev);
		on_readable(c); /* the ClientHello may already be here */
	}
}

/* -------------------------------------------------------- control socket */

static void status_fields(cJSON *r, void *ctx)
{
	(void)ctx;
	cJSON_AddStringToObject(r, "role", "hive");
	cJSON_AddNumberToObject(r, "verdict_version", (double)H.verdict_version);
	cJSON_AddNumberToObject(r, "incidents_stored", (double)H.stored);
	cJSON_AddNumberToObject(r, "duplicates_ignored", (double)H.duplicates);
	cJSON_AddNumberToObject(r, "clients_refused", (double)H.refused);
	cJSON_AddNumberToObject(r, "malformed_closed", (double)H.malformed);
	cJSON *arr = cJSON_AddArrayToObject(r, "agents");
	for (struct conn *c = H.conns; c; c = c->next) {
		if (!c->agent_id[0])
			continue;
		cJSON *a = cJSON_CreateObject();
		cJSON_AddStringToObject(a, "agent_id", c->agent_id);
		cJSON_AddStringToObject(a, "host", c->host);
		cJSON_AddStringToObject(a, "peer", c->peer);
		cJSON_AddStringToObject(a, "certificate", c->cn);
		cJSON_AddStringToObject(a, "link", "connected");
		cJSON_AddNumberToObject(a, "connected_s", (double)(time(NULL) - c->since));
		cJSON_AddNumberToObject(a, "last_seen_s", (double)(time(NULL) - c->last_seen));
		cJSON_AddNumberToObject(a, "incidents", (double)c->incidents);
		cJSON_AddItemToArray(arr, a);
	}
	/* agents seen before and not connected now */
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(H.db, "SELECT agent_id, host, count(*), max(time_ns) FROM incidents"
				     " WHERE agent_id IS NOT NULL GROUP BY agent_id", -1, &st, NULL) == SQLITE_OK) {
		while (sqlite3_step(st) == SQLITE_ROW) {
			const char *id = (const char *)sqlite3_column_text(st, 0);
			bool live = false;
			for (struct conn *c = H.conns; c; c = c->next)
				live |= strcmp(c->agent_id, id) == 0;
			if (live)
				continue;
			cJSON *a = cJSON_CreateObject();
			cJSON_AddStringToObject(a, "agent_id", id);
			cJSON_AddStringToObject(a, "host", (const char *)sqlite3_column_text(st, 1));
			cJSON_AddStringToObject(a, "link", "disconnected");
			cJSON_AddNumberToObject(a, "incidents", (double)sqlite3_column_int64(st, 2));
			cJSON_AddItemToArray(arr, a);
		}
		sqlite3_finalize(st);
	}
}

static int cmd_fleet(const cJSON *req, cJSON *reply, const struct ctl_peer *peer, void *ctx)
{
	const char *verb = ctx;
	const char *kind = ctl_str(req, "kind"), *target = ctl_str(req, "target");
	char err[256], source[64];
	if (!kind || !target)
		return ctl_error(reply, "\"kind\" and \"target\" are needed");
	snprintf(source, sizeof(source), "operator:%u", (unsigned)peer->uid);
	if (fleet_set(verb, kind, target, source, err, sizeof(err)))
		return ctl_error(reply, "%s", err);
	cJSON_AddStringToObject(reply, "applied", "fleet");
	cJSON_AddNumberToObject(reply, "verdict_version", (double)H.verdict_version);
	return 0;
}

/* `immunectl ioc-push NAME FILE` on the Hive: checked whole, stored, pushed to every agent. */
static int cmd_ioc_push(const cJSON *req, cJSON *reply, const struct ctl_peer *peer, void *ctx)
{
	(void)peer;
	(void)ctx;
	const char *name = ctl_str(req, "name"), *text = ctl_str(req, "text");
	if (!name || !*name || strlen(name) > 60 || strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789-_.") != strlen(name))
		return ctl_error(reply, "\"name\" must be 1 to 60 of [a-z0-9-_.]");
	if (!text)
		return ctl_error(reply, "\"text\" (the IOC file) is needed");
	if (strlen(text) > FRAME_MAX - 4096)
		return ctl_error(reply, "an IOC set pushed through the Hive must stay under 1 MiB: split it");
	struct ioc_set *set = ioc_new(0);
	char file[96], why[512];
	snprintf(file, sizeof(file), "hive-%s", name);
	long count = set ? ioc_add_text(set, text, file, why, sizeof(why)) : -1;
	if (count < 0) {
		ioc_free(set);
		return ctl_error(reply, "%s", set ? why : "out of memory");
	}
	ioc_free(set);
	sqlite3_stmt *st;
	int64_t version = 1;
	if (sqlite3_prepare_v2(H.db, "SELECT version FROM fleet_iocs WHERE name = ?", -1, &st, NULL) == SQLITE_OK) {
		sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
		if (sqlite3_step(st) == SQLITE_ROW)
			version = sqlite3_column_int64(st, 0) + 1;
		sqlite3_finalize(st);
	}
	if (sqlite3_prepare_v2(H.db, "INSERT OR REPLACE INTO fleet_iocs VALUES (?, ?, ?, ?)", -1, &st, NULL) != SQLITE_OK)
		return ctl_error(reply, "%s", sqlite3_errmsg(H.db));
	sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 2, version);
	sqlite3_bind_text(st, 3, text, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 4, now_ns());
	int rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return ctl_error(reply, "%s", sqlite3_errmsg(H.db));
	logf_("fleet IOC set %s version %lld: %ld indicators", name, (long long)version, count);
	for (struct conn *c = H.conns, *nx; c; c = nx) {
		nx = c->next;
		if (c->state == CS_OPEN && c->agent_id[0] && send_obj(c, ioc_msg(name, version, text)))
			conn_close(c, "cannot queue the IOC push");
	}
	cJSON_AddNumberToObject(reply, "version", (double)version);
	cJSON_AddNumberToObject(reply, "indicators", (double)count);
	return 0;
}

static int cmd_verdicts(const cJSON *req, cJSON *reply, const struct ctl_peer *peer, void *ctx)
{
	(void)req;
	(void)peer;
	(void)ctx;
	cJSON *m = verdict_set_msg();
	cJSON *arr = cJSON_DetachItemFromObject(m, "verdicts");
	cJSON_Delete(m);
	cJSON_AddItemToObject(reply, "verdicts", arr);
	return 0;
}

/* ------------------------------------------------------------------ main */

static void usage(FILE *f)
{
	fprintf(f, "Usage: immuned --role hive --listen ADDR:PORT --ca FILE --cert FILE --key FILE [--db PATH] "
		   "[--socket PATH]\n"
		   "Receives incidents from agents over mutual TLS 1.3 and pushes fleet verdicts to them.\n"
		   "  --listen ADDR:PORT  where agents connect (e.g. 0.0.0.0:7443, [::]:7443)\n"
		   "  --ca FILE           the fleet CA that signs agent certificates\n"
		   "  --cert FILE --key FILE  the Hive's certificate (its SAN is what agents verify)\n"
		   "  --db PATH           SQLite database (default /var/lib/immune/hive.db)\n"
		   "  --socket PATH       control socket for immunectl (default /run/immune/hive.sock)\n");
}

int hive_main(int argc, char **argv)
{
	const char *listen_at = NULL, *ca = NULL, *cert = NULL, *key = NULL;
	const char *db = "/var/lib/immune/hive.db", *sock = "/run/immune/hive.sock";
	static const struct option lo[] = {
		{ "role", required_argument, 0, 'r' }, { "listen", required_argument, 0, 'l' },
		{ "ca", required_argument, 0, 'a' },   { "cert", required_argument, 0, 'c' },
		{ "key", required_argument, 0, 'k' },  { "db", required_argument, 0, 'd' },
		{ "socket", required_argument, 0, 's' }, { "help", no_argument, 0, 'h' },
		{ 0, 0, 0, 0 },
	};
	int o;
	char err[512];

	optind = 1;
	while ((o = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (o) {
		case 'r': break;
		case 'l': listen_at = optarg; break;
		case 'a': ca = optarg; break;
		case 'c': cert = optarg; break;
		case 'k': key = optarg; break;
		case 'd': db = optarg; break;
		case 's': sock = optarg; break;
		case 'h': usage(stdout); return 0;
		default: fprintf(stderr, "immuned --role hive: see --help\n"); return 2;
		}
	}
	if (!listen_at || !ca || !cert || !key) {
		fprintf(stderr, "immuned --role hive: --listen, --ca, --cert and --key are needed (see --help)\n");
		return 2;
	}
	char host[256], port[16];
	if (hive_split_addr(listen_at, host, sizeof(host), port, sizeof(port))) {
		fprintf(stderr, "immuned --role hive: --listen %s: expected ADDR:PORT\n", listen_at);
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	struct sigaction sa = { .sa_handler = on_signal };
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	H.ctx = hive_tls_ctx(true, ca, cert, key, err, sizeof(err));
	if (!H.ctx) {
		fprintf(stderr, "immuned --role hive: %s\n", err);
		return 1;
	}
	if (store_open(db, err, sizeof(err))) {
		fprintf(stderr, "immuned --role hive: --db %s\n", err);
		return 1;
	}
	struct addrinfo hints = { .ai_flags = AI_PASSIVE, .ai_socktype = SOCK_STREAM }, *ai;
	int gr = getaddrinfo(host, port, &hints, &ai);
	if (gr) {
		fprintf(stderr, "immuned --role hive: --listen %s: %s\n", listen_at, gai_strerror(gr));
		return 1;
	}
	H.lfd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int one = 1;
	setsockopt(H.lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (H.lfd < 0 || bind(H.lfd, ai->ai_addr, ai->ai_addrlen) || listen(H.lfd, 4096)) {
		fprintf(stderr, "immuned --role hive: --listen %s: %s\n", listen_at, strerror(errno));
		freeaddrinfo(ai);
		return 1;
	}
	freeaddrinfo(ai);
	H.cs = ctlsock_open(sock, CTLSOCK_NO_GROUP, err, sizeof(err));
	if (!H.cs) {
		fprintf(stderr, "immuned --role hive: control socket: %s\n", err);
		return 1;
	}
	ctlsock_add_status(H.cs, status_fields, NULL);
	struct incident_ctl *ic = incident_ctl_register(H.cs, db);
	ctlsock_register(H.cs, "block", cmd_fleet, "block", CTL_ADMIN);
	ctlsock_register(H.cs, "allow", cmd_fleet, "allow", CTL_ADMIN);
	ctlsock_register(H.cs, "unblock", cmd_fleet, "unblock", CTL_ADMIN);
	ctlsock_register(H.cs, "verdicts", cmd_verdicts, NULL, 0);
	ctlsock_register(H.cs, "ioc_push", cmd_ioc_push, NULL, CTL_ADMIN);

	H.ep = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event lev = { .events = EPOLLIN, .data.ptr = NULL };
	epoll_ctl(H.ep, EPOLL_CTL_ADD, H.lfd, &lev);
	struct epoll_event cev = { .events = EPOLLIN, .data.ptr = &H.cs };
	epoll_ctl(H.ep, EPOLL_CTL_ADD, ctlsock_fd(H.cs), &cev);
	logf_("listening on %s, database %s, control socket %s, fleet verdicts version %llu", listen_at, db, sock,
	      (unsigned long long)H.verdict_version);
	char why[256];
	if (sd_notify_state("READY=1", why, sizeof(why)))
		logf_("%s", why);

	time_t last_sweep = time(NULL);
	while (!H.stop) {
		struct epoll_event evs[256];
		int n = epoll_wait(H.ep, evs, 256, 1000);
		for (int i = 0; i < n; i++) {
			void *p = evs[i].data.ptr;
			if (p == NULL) {
				accept_all();
			} else if (p == &H.cs) {
				ctlsock_dispatch(H.cs);
			} else {
				struct conn *c = p;
				if (evs[i].events & (EPOLLERR | EPOLLHUP)) {
					conn_close(c, "connection reset");
					continue;
				}
				if ((evs[i].events & EPOLLOUT) && c->state == CS_OPEN && flush_out(c)) {
					conn_close(c, "write failed");
					continue;
				}
				if (evs[i].events & (EPOLLIN | EPOLLOUT))
					on_readable(c);
			}
		}
		time_t now = time(NULL);
		if (now != last_sweep) {
			last_sweep = now;
			for (struct conn *c = H.conns, *nx; c; c = nx) {
				nx = c->next;
				if (c->state == CS_HANDSHAKE && now - c->since > HIVE_HANDSHAKE_TIMEOUT_S)
					conn_close(c, "handshake timed out");
				else if (now - c->last_seen > HIVE_IDLE_TIMEOUT_S)
					conn_close(c, "silent for too long");
			}
		}
	}
	sd_notify_state("STOPPING=1", why, sizeof(why));
	logf_("stopping: %llu incidents stored, %llu duplicates ignored", (unsigned long long)H.stored,
	      (unsigned long long)H.duplicates);
	while (H.conns)
		conn_close(H.conns, NULL);
	incident_ctl_free(ic);
	ctlsock_close(H.cs);
	sqlite3_finalize(H.ins);
	sqlite3_close(H.db);
	SSL_CTX_free(H.ctx);
	close(H.lfd);
	close(H.ep);
	return 0;
}
