/*
 * `immuned --role hive`: one event loop (epoll, non-blocking OpenSSL) for
 * every agent. No peer can stop it: connections are counted and capped (in
 * total, per address, in handshake), each gets a bounded share of reading
 * and writing per turn, its output queue is bounded, accept pauses when
 * descriptors run out, and a connection is never freed inside its own
 * handler: it is marked, and reaped when the turn is over.
 */
#include "config.h"
#include "sd_notify.h"
#include "hive.h"
#include "hive_int.h"
#include "hive_tls.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <getopt.h>
#include <netdb.h>
#include <openssl/err.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

struct hive H;
static volatile sig_atomic_t stop;

static void on_signal(int s)
{
	(void)s;
	stop = 1;
}

void hive_log(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "immuned-hive: ");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

int64_t hive_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

const char *hive_jstr(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* ---------------------------------------------------------- connections */

/* Whether a connection died, or has input left, this turn: the lists of 10,000 are walked only then. */
static bool some_dead, some_more;

void hive_conn_kill(struct conn *c, const char *why)
{
	if (c->dead)
		return;
	c->dead = why ? why : "closed";
	some_dead = true;
	/* counted out now: the slot is free for this turn's accepts */
	if (c->state == CS_HANDSHAKE)
		H.nhandshakes--;
	H.nconns--;
	epoll_ctl(H.ep, EPOLL_CTL_DEL, c->fd, NULL);
}

static void conn_free(struct conn *c, bool say)
{
	if (say && !c->quiet)
		hive_log("%s%s%s: closed: %s", c->peer, c->agent_id[0] ? " agent " : "", c->agent_id, c->dead);
	hive_store_forget(c);
	hive_agent_link(c, false);
	SSL_free(c->ssl);
	close(c->fd);
	frame_buf_free(&c->in);
	free(c->out);
	free(c);
}

/* The turn is over: free what was marked. */
static void reap(void)
{
	if (!some_dead)
		return;
	some_dead = false;
	for (struct conn **p = &H.conns; *p;) {
		struct conn *c = *p;
		if (c->dead) {
			*p = c->next;
			conn_free(c, true);
		} else {
			p = &c->next;
		}
	}
}

static void arm(struct conn *c)
{
	if (c->dead)
		return;
	size_t queued = c->out_len - c->out_off;
	/* a peer that does not read what it is sent is not read either */
	c->reading = queued < HIVE_OUT_MAX / 2;
	struct epoll_event ev = { .events = (c->reading ? EPOLLIN : 0) | (queued ? EPOLLOUT : 0), .data.ptr = c };
	epoll_ctl(H.ep, EPOLL_CTL_MOD, c->fd, &ev);
}

int hive_send(struct conn *c, cJSON *o)
{
	size_t n;
	unsigned char *f = o ? frame_encode(o, &n) : NULL;
	cJSON_Delete(o);
	if (c->dead) {
		free(f);
		return -1;
	}
	if (!f) {
		hive_conn_kill(c, "a reply could not be framed (out of memory, or over 1 MiB)");
		return -1;
	}
	if (c->out_len - c->out_off + n > HIVE_OUT_MAX) {
		free(f);
		hive_conn_kill(c, "the peer does not read what it is sent");
		return -1;
	}
	if (c->out_off) {
		memmove(c->out, c->out + c->out_off, c->out_len - c->out_off);
		c->out_len -= c->out_off;
		c->out_off = 0;
	}
	unsigned char *o2 = realloc(c->out, c->out_len + n);
	if (!o2) {
		free(f);
		hive_conn_kill(c, "out of memory");
		return -1;
	}
	c->out = o2;
	memcpy(c->out + c->out_len, f, n);
	c->out_len += n;
	free(f);
	arm(c);
	return 0;
}

/*
 * A refused agent is told why before its link closes: one `refused` frame
 * (docs/hive-protocol.md), then what it sends is dropped unread until it
 * closes, or for 5 s (sweep). Closing at once, with its next frames unread,
 * would reset the connection and could lose the frame on the way.
 */
static void refuse(struct conn *c, const char *code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void refuse(struct conn *c, const char *code, const char *fmt, ...)
{
	if (c->refused || c->dead)
		return; /* told once */
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(c->why, sizeof(c->why), fmt, ap);
	va_end(ap);
	c->refused = time(NULL);
	cJSON *r = cJSON_CreateObject();
	cJSON_AddStringToObject(r, "type", "refused");
	cJSON_AddStringToObject(r, "code", code);
	cJSON_AddStringToObject(r, "reason", c->why);
	hive_send(c, r);
}

/* At hello, and on a live link when the agent is revoked here or on another
 * instance: the same frame, so the agent learns why at once, not at its next hello. */
void hive_refuse_revoked(struct conn *c, const char *id)
{
	refuse(c, "revoked", "agent %.100s is revoked at this Hive (immunectl agent revoke)", id);
}

/* Write a bounded share of what is queued. */
static void flush_out(struct conn *c)
{
	size_t budget = HIVE_WRITE_TURN;
	while (!c->dead && c->out_off < c->out_len && budget) {
		size_t len = c->out_len - c->out_off;
		if (len > budget)
			len = budget;
		int w = SSL_write(c->ssl, c->out + c->out_off, (int)len);
		if (w <= 0) {
			int e = SSL_get_error(c->ssl, w);
			if (e != SSL_ERROR_WANT_WRITE && e != SSL_ERROR_WANT_READ)
				hive_conn_kill(c, "write failed");
			break;
		}
		c->out_off += (size_t)w;
		budget -= (size_t)w;
	}
	if (c->out_off == c->out_len)
		c->out_len = c->out_off = 0;
	hive_sync_pump(c);
	arm(c);
}

/* A certificate refused only for being in the CRL completes the handshake,
 * so that the agent can be told why (refuse); any other fault still fails it. */
static int revoked_through(int ok, X509_STORE_CTX *x)
{
	return ok || X509_STORE_CTX_get_error(x) == X509_V_ERR_CERT_REVOKED;
}

/* The certificate names the agent, exactly: its CN or one of its SAN URIs. */
static bool identity_matches(const struct conn *c, const char *id)
{
	if (c->cn[0] && strcmp(id, c->cn) == 0)
		return true;
	for (const char *u = c->uris; *u; u += strlen(u) + 1)
		if (strcmp(id, u) == 0)
			return true;
	return false;
}

static int handle_hello(struct conn *c, const cJSON *m)
{
	const char *id = hive_jstr(m, "agent_id"), *host = hive_jstr(m, "hostname");
	if (c->agent_id[0]) {
		hive_log("%s agent %s: a second hello: refused", c->peer, c->agent_id);
		return -1;
	}
	if (!id || !*id || strlen(id) >= sizeof(c->agent_id)) {
		hive_log("%s: hello without a usable agent_id: refused", c->peer);
		H.refused++;
		refuse(c, "hello", "a hello needs an agent_id of 1 to %zu bytes", sizeof(c->agent_id) - 1);
		return 0;
	}
	if (!identity_matches(c, id)) {
		hive_log("%s: agent id '%.60s' is not its certificate's identity (CN '%s'%s): refused", c->peer, id,
			 c->cn, c->uris[0] ? " or a SAN URI" : "");
		H.refused++;
		refuse(c, "identity", "agent id '%.60s' is not this certificate's identity (CN '%.60s'%s)", id, c->cn,
		       c->uris[0] ? " or a SAN URI" : "");
		return 0;
	}
	int revoked = hive_revocation(id);
	if (revoked < 0) {
		/* not a refusal: the link fails and the agent comes back after its usual backoff */
		hive_conn_kill(c, "its revocation cannot be checked now (the store is unreachable)");
		return 0;
	}
	if (revoked) {
		hive_log("%s: agent %s is revoked: refused", c->peer, id);
		H.revoked_refused++;
		hive_refuse_revoked(c, id);
		return 0;
	}
	snprintf(c->agent_id, sizeof(c->agent_id), "%s", id);
	snprintf(c->host, sizeof(c->host), "%s", host ? host : id);
	snprintf(c->version, sizeof(c->version), "%s", hive_jstr(m, "version") ? hive_jstr(m, "version") : "");
	hive_log("%s: agent %s (%s, version %s) connected", c->peer, c->agent_id, c->host, c->version);
	hive_agent_link(c, true);
	/* the agent gets what it lacks of the fleet's verdicts and every IOC set, in chunks */
	if (frame_u64(cJSON_GetObjectItemCaseSensitive(m, "verdict_version"), &c->vhave))
		c->vhave = UINT64_MAX;
	c->ioc_sent_ns = 0;
	hive_sync_pump(c);
	return 0;
}

static int handle(struct conn *c, cJSON *m)
{
	const char *type = hive_jstr(m, "type");
	c->last_seen = time(NULL);
	if (strcmp(type, "hello") == 0)
		return handle_hello(c, m);
	if (!c->agent_id[0]) {
		hive_log("%s: '%.40s' before hello: refused", c->peer, type);
		return -1;
	}
	if (strcmp(type, "incidents") == 0)
		return hive_handle_incidents(c, m);
	/* replies in the order of the frames: this agent's acks waiting for the turn's commit go first */
	if (hive_store_pending(c))
		hive_store_commit();
	if (strcmp(type, "heartbeat") == 0) {
		cJSON *r = cJSON_CreateObject();
		cJSON_AddStringToObject(r, "type", "heartbeat");
		hive_send(c, r);
		return 0;
	}
	if (strcmp(type, "verdict") == 0) {
		hive_fleet_proposal(c, m);
		return 0;
	}
	hive_log("%s agent %s: unknown message type '%.40s' ignored", c->peer, c->agent_id, type);
	return 0;
}

static void handshake(struct conn *c)
{
	char err[256];
	int r = SSL_accept(c->ssl);
	if (r == 1) {
		c->state = CS_OPEN;
		H.nhandshakes--;
		hive_tls_peer_ids(c->ssl, c->cn, sizeof(c->cn), c->uris, sizeof(c->uris));
		arm(c);
		/* a certificate in --crl passes the handshake (revoked_through) only to be told so */
		if (SSL_get_verify_result(c->ssl) == X509_V_ERR_CERT_REVOKED || hive_tls_peer_revoked(H.ctx, c->ssl)) {
			hive_log("%s: certificate revoked (CN '%s', in --crl): refused", c->peer, c->cn);
			H.refused++;
			refuse(c, "certificate_revoked", "this agent's certificate (CN '%.60s') is revoked in the Hive's CRL",
			       c->cn);
		}
		return;
	}
	int e = SSL_get_error(c->ssl, r);
	if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
		struct epoll_event ev = { .events = e == SSL_ERROR_WANT_WRITE ? EPOLLOUT : EPOLLIN, .data.ptr = c };
		epoll_ctl(H.ep, EPOLL_CTL_MOD, c->fd, &ev);
		return;
	}
	hive_tls_error(c->ssl, err, sizeof(err));
	H.refused++;
	/* the reason outlives the handler: keep it in the connection */
	snprintf(c->host, sizeof(c->host), "%s", err[0] ? err : "TLS handshake failed");
	hive_conn_kill(c, c->host);
}

/* Read a bounded share; what is left is read next turn (c->more). */
static void on_readable(struct conn *c)
{
	char err[256];
	c->more = false;
	if (c->state == CS_HANDSHAKE) {
		handshake(c);
		if (c->state == CS_HANDSHAKE)
			return;
	}
	size_t budget = HIVE_READ_TURN;
	while (!c->dead && c->reading) {
		if (!budget) {
			c->more = some_more = true;
			break;
		}
		unsigned char buf[16384];
		int r = SSL_read(c->ssl, buf, sizeof(buf));
		if (r <= 0) {
			int e = SSL_get_error(c->ssl, r);
			if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
				break;
			if (e == SSL_ERROR_ZERO_RETURN || (e == SSL_ERROR_SYSCALL && ERR_peek_error() == 0)) {
				hive_conn_kill(c, c->refused ? c->why : "peer closed");
				break;
			}
			hive_tls_error(c->ssl, err, sizeof(err));
			snprintf(c->host, sizeof(c->host), "%s", err);
			hive_conn_kill(c, c->host);
			break;
		}
		budget -= (size_t)r < budget ? (size_t)r : budget;
		if (frame_feed(&c->in, buf, (size_t)r)) {
			hive_conn_kill(c, "out of memory");
			break;
		}
		cJSON *m;
		enum frame_status st = FRAME_NEED;
		while (!c->dead && (st = frame_next(&c->in, &m, err, sizeof(err))) == FRAME_OK) {
			int hr = c->refused ? 0 : handle(c, m);
			cJSON_Delete(m);
			if (hr) {
				H.malformed++;
				hive_conn_kill(c, "malformed message");
			}
		}
		if (!c->dead && st != FRAME_NEED) {
			H.malformed++;
			snprintf(c->host, sizeof(c->host), "%s", err);
			hive_conn_kill(c, c->host);
		}
	}
	/* no frame begun: its buffer goes back to the heap, where the next connection's read takes
	 * it warm, instead of idling until the agent's next batch (as SSL_MODE_RELEASE_BUFFERS) */
	if (!c->in.len)
		frame_buf_free(&c->in);
	if (!c->dead && c->out_len > c->out_off)
		flush_out(c);
}

static unsigned conns_from(const struct sockaddr_storage *ss)
{
	unsigned n = 0;
	for (struct conn *c = H.conns; c; c = c->next) {
		if (c->dead || c->addr.ss_family != ss->ss_family)
			continue;
		if (ss->ss_family == AF_INET)
			n += memcmp(&((struct sockaddr_in *)&c->addr)->sin_addr, &((const struct sockaddr_in *)ss)->sin_addr,
				    4) == 0;
		else
			n += memcmp(&((struct sockaddr_in6 *)&c->addr)->sin6_addr,
				    &((const struct sockaddr_in6 *)ss)->sin6_addr, 16) == 0;
	}
	return n;
}

static void pause_accept(const char *why)
{
	/* the listening socket stays readable: without a pause the loop would spin */
	if (!H.accept_paused_until)
		hive_log("accept paused for 1 s: %s", why);
	H.accept_paused_until = time(NULL) + 1;
	H.accept_paused++;
	struct epoll_event ev = { .events = 0, .data.ptr = NULL };
	epoll_ctl(H.ep, EPOLL_CTL_MOD, H.lfd, &ev);
}

static void accept_all(void)
{
	for (int i = 0; i < 64; i++) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		int fd = accept4(H.lfd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
				pause_accept(strerror(errno));
			return;
		}
		char host[64] = "?", port[16] = "?";
		getnameinfo((struct sockaddr *)&ss, sl, host, sizeof(host), port, sizeof(port),
			    NI_NUMERICHOST | NI_NUMERICSERV);
		const char *cap = H.nconns >= H.o.max_conns		       ? "connections"
				  : conns_from(&ss) >= H.o.max_conns_per_addr ? "connections from this address"
									       : NULL;
		/* handshakes in flight: the oldest gives way, so idle connections
		 * cannot keep a real agent's handshake out */
		if (!cap && H.nhandshakes >= H.o.max_handshakes) {
			struct conn *old = NULL;
			for (struct conn *c = H.conns; c; c = c->next)
				if (!c->dead && c->state == CS_HANDSHAKE)
					old = c; /* the list is newest first */
			if (old) {
				H.conns_refused++;
				old->quiet = true; /* a flood must not fill the log */
				hive_conn_kill(old, "too many handshakes in flight: the oldest gives way");
			}
		}
		if (cap) {
			/* said once per second at most: a flood must not fill the log */
			static time_t said;
			if (said != time(NULL))
				hive_log("%s:%s: refused: too many %s", host, port, cap);
			said = time(NULL);
			H.conns_refused++;
			close(fd);
			continue;
		}
		struct conn *c = calloc(1, sizeof(*c));
		SSL *ssl = c ? SSL_new(H.ctx) : NULL;
		if (!ssl) {
			free(c);
			close(fd);
			pause_accept("out of memory");
			return;
		}
		snprintf(c->peer, sizeof(c->peer), strchr(host, ':') ? "[%s]:%s" : "%s:%s", host, port);
		c->addr = ss;
		c->fd = fd;
		c->ssl = ssl;
		SSL_set_fd(c->ssl, fd);
		c->since = c->last_seen = time(NULL);
		c->reading = true;
		c->next = H.conns;
		H.conns = c;
		H.nconns++;
		H.nhandshakes++;
		struct epoll_event ev = { .events = EPOLLIN, .data.ptr = c };
		epoll_ctl(H.ep, EPOLL_CTL_ADD, fd, &ev);
		on_readable(c); /* the ClientHello may already be here */
	}
}

/* Once a second: timeouts, accept resumed, the CRL re-read when it changed. */
static void sweep(time_t now)
{
	for (struct conn *c = H.conns; c; c = c->next) {
		if (c->state == CS_HANDSHAKE && now - c->since > HIVE_HANDSHAKE_TIMEOUT_S)
			hive_conn_kill(c, "handshake timed out");
		else if (now - c->last_seen > HIVE_IDLE_TIMEOUT_S)
			hive_conn_kill(c, "silent for too long");
		else if (c->refused && now - c->refused >= 5)
			hive_conn_kill(c, c->why);
	}
	if (H.accept_paused_until && now >= H.accept_paused_until) {
		H.accept_paused_until = 0;
		struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };
		epoll_ctl(H.ep, EPOLL_CTL_MOD, H.lfd, &ev);
	}
	struct stat st;
	if (H.o.crl && stat(H.o.crl, &st) == 0 &&
	    (st.st_mtim.tv_sec != H.crl_mtim.tv_sec || st.st_mtim.tv_nsec != H.crl_mtim.tv_nsec)) {
		char err[512];
		H.crl_mtim = st.st_mtim;
		if (hive_tls_load_crl(H.ctx, H.o.ca, H.o.crl, err, sizeof(err))) {
			hive_log("--crl: %s; the list loaded before stays", err);
			return;
		}
		hive_log("--crl %s re-read", H.o.crl);
		for (struct conn *c = H.conns; c; c = c->next)
			if (c->state == CS_OPEN && !c->dead && hive_tls_peer_revoked(H.ctx, c->ssl)) {
				hive_log("%s agent %s: its certificate is in the CRL now: refused", c->peer, c->agent_id);
				H.refused++;
				/* told as at a handshake, then closed by the sweep (c->refused) */
				refuse(c, "certificate_revoked",
				       "this agent's certificate (CN '%.60s') is revoked in the Hive's CRL", c->cn);
			}
	}
}

/* -------------------------------------------------------- control socket */

static void status_fields(cJSON *r, void *ctx)
{
	(void)ctx;
	cJSON_AddStringToObject(r, "role", "hive");
	cJSON_AddStringToObject(r, "instance", H.instance);
	cJSON_AddStringToObject(r, "store", store_is_pg(H.st) ? "postgresql" : "sqlite");
	frame_add_u64(r, "store_failures", H.store_failures);
	frame_add_u64(r, "notifications", H.notifications);
	frame_add_u64(r, "verdict_version", H.verdict_version);
	frame_add_u64(r, "incidents_stored", H.stored);
	frame_add_u64(r, "duplicates_ignored", H.duplicates);
	frame_add_u64(r, "incidents_refused", H.nacked);
	frame_add_u64(r, "clients_refused", H.refused);
	frame_add_u64(r, "revoked_refused", H.revoked_refused);
	frame_add_u64(r, "malformed_closed", H.malformed);
	frame_add_u64(r, "connections", H.nconns);
	frame_add_u64(r, "connections_refused", H.conns_refused);
	frame_add_u64(r, "accept_paused", H.accept_paused);
	hive_fleet_status(r);
	cJSON *arr = cJSON_AddArrayToObject(r, "agents");
	for (struct conn *c = H.conns; c; c = c->next) {
		if (!c->agent_id[0] || c->dead)
			continue;
		cJSON *a = cJSON_CreateObject();
		cJSON_AddStringToObject(a, "agent_id", c->agent_id);
		cJSON_AddStringToObject(a, "host", c->host);
		cJSON_AddStringToObject(a, "peer", c->peer);
		cJSON_AddStringToObject(a, "certificate", c->cn);
		cJSON_AddStringToObject(a, "instance", H.instance);
		cJSON_AddStringToObject(a, "link", "connected");
		frame_add_i64(a, "connected_s", time(NULL) - c->since);
		frame_add_i64(a, "last_seen_s", time(NULL) - c->last_seen);
		frame_add_u64(a, "incidents", c->incidents);
		frame_add_u64(a, "refused", c->nacked);
		cJSON_AddItemToArray(arr, a);
	}
	/* and the rest of the fleet, from the store: on other instances, gone, revoked */
	hive_store_commit();
	hive_agents_status(arr);
}

/* ------------------------------------------------------------------ main */

static int listen_on(const char *listen_at)
{
	char host[256], port[16];
	if (hive_split_addr(listen_at, host, sizeof(host), port, sizeof(port))) {
		fprintf(stderr, "immuned --role hive: --listen %s: expected ADDR:PORT\n", listen_at);
		return -1;
	}
	struct addrinfo hints = { .ai_flags = AI_PASSIVE, .ai_socktype = SOCK_STREAM }, *ai;
	int gr = getaddrinfo(host, port, &hints, &ai);
	if (gr) {
		fprintf(stderr, "immuned --role hive: --listen %s: %s\n", listen_at, gai_strerror(gr));
		return -1;
	}
	H.lfd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int one = 1;
	if (H.lfd >= 0)
		setsockopt(H.lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (H.lfd < 0 || bind(H.lfd, ai->ai_addr, ai->ai_addrlen) || listen(H.lfd, 4096)) {
		fprintf(stderr, "immuned --role hive: --listen %s: %s\n", listen_at, strerror(errno));
		freeaddrinfo(ai);
		return -1;
	}
	memcpy(&H.listen_addr, ai->ai_addr, ai->ai_addrlen);
	freeaddrinfo(ai);
	return 0;
}

static void loop(void)
{
	time_t last_sweep = time(NULL);
	bool more = false;
	while (!stop) {
		struct epoll_event evs[256];
		/* connections with input left from the last turn are served without waiting */
		int n = epoll_wait(H.ep, evs, 256, more ? 0 : 1000);
		for (int i = 0; i < n; i++) {
			void *p = evs[i].data.ptr;
			if (p == NULL) {
				accept_all();
			} else if (p == &H.cs) {
				/* commands see, and write after, what this turn stored */
				hive_store_commit();
				ctlsock_dispatch(H.cs);
			} else if (p == &H.st) {
				hive_notify_poll();
			} else {
				struct conn *c = p;
				if (c->dead)
					continue;
				if (evs[i].events & (EPOLLERR | EPOLLHUP) && !(evs[i].events & EPOLLIN)) {
					hive_conn_kill(c, "connection reset");
					continue;
				}
				if ((evs[i].events & EPOLLOUT) && c->state == CS_OPEN)
					flush_out(c);
				if (!c->dead && (evs[i].events & (EPOLLIN | EPOLLOUT | EPOLLHUP | EPOLLERR)))
					on_readable(c);
			}
		}
		more = false;
		for (struct conn *c = some_more ? H.conns : NULL; c; c = c->next) {
			if (c->more && !c->dead) {
				bool seen = false;
				for (int i = 0; i < n; i++)
					seen |= evs[i].data.ptr == c;
				if (!seen)
					on_readable(c);
				more |= c->more;
			}
		}
		some_more = more;
		time_t now = time(NULL);
		if (now != last_sweep) {
			last_sweep = now;
			sweep(now);
			hive_agents_refresh();
		}
		/* one durable commit for the turn's batches, then their acks (PostgreSQL: while
		 * the next turn is read) */
		hive_store_send();
		hive_notify_poll();
		reap();
		/* the links that ended, now: another instance's status must not see them connected */
		hive_store_send();
	}
}

int hive_main(int argc, char **argv)
{
	char err[512];

	memset(&H, 0, sizeof(H));
	stop = 0;
	struct hive_args args;
	int rc = hive_args(argc, argv, &args);
	if (rc)
		return rc == 1 ? 0 : 2;
	/* a turn frees megabytes of parsed batches and the next one takes as much again: kept in
	 * the heap, not handed back to the kernel to be faulted in and zeroed afresh every turn */
	mallopt(M_MMAP_THRESHOLD, 4 << 20);
	mallopt(M_TRIM_THRESHOLD, 64 << 20);
	const char *listen_at = args.listen_at, *ca = args.ca, *cert = args.cert, *key = args.key, *db = args.db,
		   *sock = args.sock, *store = args.store, *instance = args.instance;
	if (!listen_at || !ca || !cert || !key) {
		fprintf(stderr, "immuned --role hive: --listen, --ca, --cert and --key are needed, on the command line or"
				" in the config file (see --help)\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	struct sigaction sa = { .sa_handler = on_signal };
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	H.ctx = hive_tls_ctx(true, ca, cert, key, err, sizeof(err));
	if (H.ctx)
		SSL_CTX_set_verify(H.ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, revoked_through);
	if (!H.ctx) {
		fprintf(stderr, "immuned --role hive: %s\n", err);
		return 1;
	}
	if (H.o.crl) {
		struct stat st;
		if (stat(H.o.crl, &st) || hive_tls_load_crl(H.ctx, H.o.ca, H.o.crl, err, sizeof(err))) {
			fprintf(stderr, "immuned --role hive: --crl %s: %s\n", H.o.crl,
				errno && access(H.o.crl, R_OK) ? strerror(errno) : err);
			SSL_CTX_free(H.ctx);
			return 1;
		}
		H.crl_mtim = st.st_mtim;
	}
	if (store && strncmp(store, "postgresql://", 13) && strncmp(store, "postgres://", 11)) {
		fprintf(stderr, "immuned --role hive: --store takes a postgresql:// URI (a SQLite file is --db)\n");
		return 2;
	}
	char name[300];
	if (hive_instance_name(instance, listen_at, name, sizeof(name))) {
		fprintf(stderr, "immuned --role hive: --instance needs 1 to 128 printable ASCII characters, no spaces\n");
		return 2;
	}
	H.instance = name;
	if (hive_store_open(store ? store : db, err, sizeof(err)) || hive_fleet_init(err, sizeof(err))) {
		fprintf(stderr, "immuned --role hive: %s %s\n", store ? "--store" : "--db", err);
		return 1;
	}
	hive_agents_start();
	hive_notify_start();
	if (listen_on(listen_at))
		return 1;
	H.cs = ctlsock_open(sock, CTLSOCK_NO_GROUP, err, sizeof(err));
	if (!H.cs) {
		fprintf(stderr, "immuned --role hive: control socket: %s\n", err);
		return 1;
	}
	ctlsock_add_status(H.cs, status_fields, NULL);
	hive_incidents_register(H.cs);
	hive_fleet_register(H.cs);
	hive_sync_register(H.cs);

	H.ep = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event lev = { .events = EPOLLIN, .data.ptr = NULL };
	epoll_ctl(H.ep, EPOLL_CTL_ADD, H.lfd, &lev);
	struct epoll_event cev = { .events = EPOLLIN, .data.ptr = &H.cs };
	epoll_ctl(H.ep, EPOLL_CTL_ADD, ctlsock_fd(H.cs), &cev);
	hive_log("instance %s listening on %s, %s %s, control socket %s, fleet verdicts version %llu", H.instance,
		 listen_at, store ? "PostgreSQL" : "database", store ? "store" : db, sock,
		 (unsigned long long)H.verdict_version);
	hive_notify_poll();
	char why[256];
	if (sd_notify_state("READY=1", why, sizeof(why)))
		hive_log("%s", why);

	loop();

	sd_notify_state("STOPPING=1", why, sizeof(why));
	hive_log("stopping: %llu incidents stored, %llu duplicates ignored", (unsigned long long)H.stored,
		 (unsigned long long)H.duplicates);
	for (struct conn *c = H.conns; c; c = c->next)
		hive_conn_kill(c, "stopping");
	while (H.conns) {
		struct conn *c = H.conns;
		H.conns = c->next;
		conn_free(c, false);
	}
	ctlsock_close(H.cs);
	hive_store_close();
	protected_free(H.protect);
	SSL_CTX_free(H.ctx);
	close(H.lfd);
	close(H.ep);
	config_strings_free();
	return 0;
}
