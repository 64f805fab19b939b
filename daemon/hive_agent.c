/*
 * The agent's end of the Hive link, on a thread of its own so that the event
 * loop never waits for the network. Incidents are read from SQLite where
 * detection stored them (hive_acked = 0), sent in batches, and marked only
 * when the Hive acknowledges them: at-least-once, and the Hive's unique
 * (agent, sequence) index makes storage exactly-once. Pushes from the Hive
 * are handed to the daemon's loop through a queue and an eventfd.
 */
#include "hive.h"
#include "frame.h"
#include "hive_tls.h"
#include "incident.h"
#include "db.h"

#include <errno.h>
#include <netdb.h>
#include <openssl/err.h>
#include <poll.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BACKOFF_MIN_MS 500
#define BACKOFF_MAX_MS 30000
#define HEARTBEAT_S 10
#define ACK_TIMEOUT_S 30

struct msgq {
	cJSON *v[256];
	unsigned head, n;
};

struct hive_agent {
	struct hive_agent_opts o;
	char host[256], port[16], agent_id[256], hostname[256];
	SSL_CTX *ctx;
	pthread_t thr;
	pthread_mutex_t mu;
	int efd;
	volatile int stop;
	struct msgq in;   /* pushes for the daemon */
	struct msgq out;  /* shared verdicts for the Hive */
	uint64_t verdict_version;
	/* status, under mu */
	char state[64], last_error[512];
	uint64_t sent, acked, connects;
	time_t since;
	sqlite3 *db;
};

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static void set_state(struct hive_agent *h, const char *st, const char *err)
{
	pthread_mutex_lock(&h->mu);
	bool changed = strcmp(h->state, st) != 0 || (err && strcmp(h->last_error, err) != 0);
	snprintf(h->state, sizeof(h->state), "%s", st);
	if (err)
		snprintf(h->last_error, sizeof(h->last_error), "%s", err);
	h->since = time(NULL);
	pthread_mutex_unlock(&h->mu);
	/* a link that keeps failing the same way is said once */
	if (changed)
		fprintf(stderr, "immuned: hive %s:%s: %s%s%s\n", h->host, h->port, st, err ? ": " : "", err ? err : "");
}

/* Tell the daemon's loop that a push is queued (an eventfd cannot be full here). */
static void wake(struct hive_agent *h)
{
	uint64_t one = 1;
	ssize_t r = write(h->efd, &one, sizeof(one));
	(void)r;
}

static bool q_push(struct msgq *q, cJSON *m)
{
	if (q->n == 256)
		return false;
	q->v[(q->head + q->n++) % 256] = m;
	return true;
}

static cJSON *q_pop(struct msgq *q)
{
	if (!q->n)
		return NULL;
	cJSON *m = q->v[q->head];
	q->head = (q->head + 1) % 256;
	q->n--;
	return m;
}

/* ------------------------------------------------------------- the link */

struct link {
	int fd;
	SSL *ssl;
	struct frame_buf in;
};

static void link_close(struct link *l)
{
	if (l->ssl) {
		SSL_shutdown(l->ssl);
		SSL_free(l->ssl);
	}
	if (l->fd >= 0)
		close(l->fd);
	frame_buf_free(&l->in);
	l->ssl = NULL;
	l->fd = -1;
}

static int link_open(struct hive_agent *h, struct link *l, char *err, size_t n)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *ai, *p;
	int r = getaddrinfo(h->host, h->port, &hints, &ai);
	l->fd = -1;
	l->ssl = NULL;
	if (r) {
		snprintf(err, n, "cannot resolve %s: %s", h->host, gai_strerror(r));
		return -1;
	}
	for (p = ai; p; p = p->ai_next) {
		l->fd = socket(p->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
		struct timeval tv = { .tv_sec = 5 };
		setsockopt(l->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		setsockopt(l->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		if (connect(l->fd, p->ai_addr, p->ai_addrlen) == 0)
			break;
		snprintf(err, n, "connect: %s", strerror(errno));
		close(l->fd);
		l->fd = -1;
	}
	freeaddrinfo(ai);
	if (l->fd < 0)
		return -1;
	l->ssl = SSL_new(h->ctx);
	SSL_set_fd(l->ssl, l->fd);
	SSL_set_tlsext_host_name(l->ssl, h->host);
	/* the Hive must carry the name (or address) we dialled */
	SSL_set1_host(l->ssl, h->host);
	if (SSL_connect(l->ssl) != 1) {
		hive_tls_error(l->ssl, err, n);
		link_close(l);
		return -1;
	}
	return 0;
}

static int link_send(struct link *l, cJSON *m)
{
	size_t n;
	unsigned char *f = frame_encode(m, &n);
	cJSON_Delete(m);
	if (!f)
		return -1;
	size_t off = 0;
	while (off < n) {
		int w = SSL_write(l->ssl, f + off, (int)(n - off));
		if (w <= 0) {
			free(f);
			return -1;
		}
		off += w;
	}
	free(f);
	return 0;
}

/* The next frame, waiting up to timeout_ms: 1 got one, 0 timed out, -1 error. */
static int link_recv(struct link *l, cJSON **m, int timeout_ms, char *err, size_t n)
{
	int64_t deadline = now_ms() + timeout_ms;
	for (;;) {
		enum frame_status st = frame_next(&l->in, m, err, n);
		if (st == FRAME_OK)
			return 1;
		if (st != FRAME_NEED)
			return -1;
		if (!SSL_pending(l->ssl)) {
			int left = (int)(deadline - now_ms());
			if (left <= 0)
				return 0;
			struct pollfd p = { .fd = l->fd, .events = POLLIN };
			int r = poll(&p, 1, left);
			if (r == 0)
				return 0;
			if (r < 0 && errno != EINTR) {
				snprintf(err, n, "poll: %s", strerror(errno));
				return -1;
			}
		}
		unsigned char buf[16384];
		int r = SSL_read(l->ssl, buf, sizeof(buf));
		if (r <= 0) {
			int e = SSL_get_error(l->ssl, r);
			if (e == SSL_ERROR_WANT_READ)
				continue;
			if (e == SSL_ERROR_ZERO_RETURN || e == SSL_ERROR_SYSCALL)
				snprintf(err, n, "the Hive closed the link");
			else
				hive_tls_error(l->ssl, err, n);
			return -1;
		}
		frame_feed(&l->in, buf, r);
	}
}

/* ------------------------------------------------------------- the queue */

static cJSON *incident_item(sqlite3_stmt *st)
{
	cJSON *it = cJSON_CreateObject();
	const char *cols[] = { NULL, NULL, "rule_id", "rule_title", "rule_level", "rule_tags", "rule_author",
			       "event_kind", NULL, NULL, NULL, "executable", "command_line", "parent_executable",
			       "target", "action", "verdict" };
	cJSON_AddNumberToObject(it, "seq", (double)sqlite3_column_int64(st, 0));
	cJSON_AddNumberToObject(it, "time_ns", (double)sqlite3_column_int64(st, 1));
	for (int i = 2; i < 17; i++) {
		if (!cols[i])
			continue;
		const unsigned char *t = sqlite3_column_text(st, i);
		if (t)
			cJSON_AddStringToObject(it, cols[i], (const char *)t);
	}
	cJSON_AddNumberToObject(it, "pid", (double)sqlite3_column_int64(st, 8));
	cJSON_AddNumberToObject(it, "ppid", (double)sqlite3_column_int64(st, 9));
	cJSON_AddNumberToObject(it, "uid", (double)sqlite3_column_int64(st, 10));
	const unsigned char *doc = sqlite3_column_text(st, 17);
	cJSON_AddStringToObject(it, "doc", doc ? (const char *)doc : "{}");
	return it;
}

/* Send one batch of unacknowledged incidents and wait for its ack; pushes
 * that arrive meanwhile are queued. Returns the number acknowledged, or -1. */
static long send_batch(struct hive_agent *h, struct link *l, char *err, size_t n)
{
	sqlite3_stmt *st;
	const char *sql = "SELECT id, " INCIDENT_COLUMNS " FROM incidents WHERE hive_acked = 0 ORDER BY id LIMIT ?";
	if (sqlite3_prepare_v2(h->db, sql, -1, &st, NULL) != SQLITE_OK) {
		snprintf(err, n, "reading incidents: %s", sqlite3_errmsg(h->db));
		return -1;
	}
	sqlite3_bind_int(st, 1, (int)(h->o.batch ? h->o.batch : 500));
	cJSON *m = cJSON_CreateObject();
	cJSON_AddStringToObject(m, "type", "incidents");
	cJSON *arr = cJSON_AddArrayToObject(m, "batch");
	int count = 0;
	while (sqlite3_step(st) == SQLITE_ROW) {
		cJSON_AddItemToArray(arr, incident_item(st));
		count++;
	}
	sqlite3_finalize(st);
	if (!count) {
		cJSON_Delete(m);
		return 0;
	}
	if (link_send(l, m)) {
		snprintf(err, n, "sending a batch failed");
		return -1;
	}
	pthread_mutex_lock(&h->mu);
	h->sent += count;
	pthread_mutex_unlock(&h->mu);
	int64_t deadline = now_ms() + ACK_TIMEOUT_S * 1000;
	for (;;) {
		cJSON *r;
		int got = link_recv(l, &r, (int)(deadline - now_ms()), err, n);
		if (got <= 0) {
			if (got == 0)
				snprintf(err, n, "no acknowledgement within %d s", ACK_TIMEOUT_S);
			return -1;
		}
		const cJSON *type = cJSON_GetObjectItemCaseSensitive(r, "type");
		if (strcmp(type->valuestring, "ack") == 0) {
			const cJSON *seqs = cJSON_GetObjectItemCaseSensitive(r, "seqs"), *s;
			long acked = 0;
			sqlite3_stmt *up;
			sqlite3_exec(h->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
			if (sqlite3_prepare_v2(h->db, "UPDATE incidents SET hive_acked = 1 WHERE id = ?", -1, &up,
					       NULL) == SQLITE_OK) {
				cJSON_ArrayForEach(s, seqs)
				{
					if (!cJSON_IsNumber(s))
						continue;
					sqlite3_reset(up);
					sqlite3_bind_int64(up, 1, (sqlite3_int64)s->valuedouble);
					if (sqlite3_step(up) == SQLITE_DONE)
						acked++;
				}
				sqlite3_finalize(up);
			}
			sqlite3_exec(h->db, "COMMIT", NULL, NULL, NULL);
			cJSON_Delete(r);
			pthread_mutex_lock(&h->mu);
			h->acked += acked;
			pthread_mutex_unlock(&h->mu);
			return acked;
		}
		pthread_mutex_lock(&h->mu);
		bool queued = q_push(&h->in, r);
		pthread_mutex_unlock(&h->mu);
		if (queued) {
			wake(h);
		} else {
			cJSON_Delete(r);
		}
	}
}

/* Exponential backoff with jitter (agents of a fleet do not return in step);
 * wakes early when the agent is stopped. */
static void back_off(struct hive_agent *h, int *backoff, unsigned *seed)
{
	int wait = *backoff / 2 + (int)(rand_r(seed) % (unsigned)(*backoff / 2 + 1));
	for (int t = 0; t < wait && !h->stop; t += 100)
		usleep(100000);
	*backoff = *backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : *backoff * 2;
}

static void *agent_thread(void *arg)
{
	struct hive_agent *h = arg;
	struct link l = { .fd = -1 };
	char err[512];
	int backoff = BACKOFF_MIN_MS;
	unsigned seed = (unsigned)time(NULL) ^ (unsigned)getpid();

	while (!h->stop) {
		set_state(h, "connecting", NULL);
		if (link_open(h, &l, err, sizeof(err))) {
			set_state(h, "down", err);
			back_off(h, &backoff, &seed);
			continue;
		}
		int64_t session_start = now_ms();
		bool heard = false; /* the Hive answered at least once */
		pthread_mutex_lock(&h->mu);
		h->connects++;
		uint64_t vv = h->verdict_version;
		pthread_mutex_unlock(&h->mu);
		cJSON *hello = cJSON_CreateObject();
		cJSON_AddStringToObject(hello, "type", "hello");
		cJSON_AddStringToObject(hello, "agent_id", h->agent_id);
		cJSON_AddStringToObject(hello, "hostname", h->hostname);
		cJSON_AddStringToObject(hello, "version", IMMUNE_VERSION);
		cJSON_AddNumberToObject(hello, "verdict_version", (double)vv);
		cJSON_AddStringToObject(hello, "ruleset_version", IMMUNE_VERSION);
		if (link_send(&l, hello)) {
			set_state(h, "down", "sending hello failed");
			link_close(&l);
			continue;
		}
		set_state(h, "connected", NULL);
		int64_t last_tx = now_ms();
		bool ok = true;
		while (!h->stop && ok) {
			/* shared verdicts first: they are small and urgent */
			pthread_mutex_lock(&h->mu);
			cJSON *sv = q_pop(&h->out);
			pthread_mutex_unlock(&h->mu);
			if (sv) {
				ok = link_send(&l, sv) == 0;
				last_tx = now_ms();
				continue;
			}
			long k = send_batch(h, &l, err, sizeof(err));
			if (k < 0) {
				ok = false;
				break;
			}
			if (k > 0) {
				heard = true;
				last_tx = now_ms();
				continue;
			}
			if (now_ms() - last_tx > HEARTBEAT_S * 1000) {
				cJSON *hb = cJSON_CreateObject();
				cJSON_AddStringToObject(hb, "type", "heartbeat");
				ok = link_send(&l, hb) == 0;
				last_tx = now_ms();
			}
			cJSON *r;
			int got = link_recv(&l, &r, 200, err, sizeof(err));
			if (got < 0) {
				ok = false;
			} else if (got > 0) {
				heard = true;
				const char *t = cJSON_GetObjectItemCaseSensitive(r, "type")->valuestring;
				if (strcmp(t, "heartbeat") == 0 || strcmp(t, "ack") == 0) {
					cJSON_Delete(r);
				} else {
					pthread_mutex_lock(&h->mu);
					bool queued = q_push(&h->in, r);
					pthread_mutex_unlock(&h->mu);
					if (!queued)
						cJSON_Delete(r);
					else
						wake(h);
				}
			}
		}
		if (!ok)
			set_state(h, "down", err);
		link_close(&l);
		/* a link that fails right after the handshake (a refused certificate
		 * shows only then under TLS 1.3) backs off like one that never opened */
		if (heard && now_ms() - session_start > 2000) {
			backoff = BACKOFF_MIN_MS;
		} else {
			back_off(h, &backoff, &seed);
		}
	}
	set_state(h, "stopped", NULL);
	return NULL;
}

/* --------------------------------------------------------------- the API */

struct hive_agent *hive_agent_start(const struct hive_agent_opts *o, char *err, size_t n)
{
	struct hive_agent *h = calloc(1, sizeof(*h));
	if (!h) {
		snprintf(err, n, "out of memory");
		return NULL;
	}
	h->o = *o;
	if (!o->addr || hive_split_addr(o->addr, h->host, sizeof(h->host), h->port, sizeof(h->port))) {
		snprintf(err, n, "--hive %s: expected HOST:PORT", o->addr ? o->addr : "");
		free(h);
		return NULL;
	}
	h->ctx = hive_tls_ctx(false, o->ca, o->cert, o->key, err, n);
	if (!h->ctx) {
		free(h);
		return NULL;
	}
	if (!(h->db = db_open(o->db_path, NULL, err, n))) {
		SSL_CTX_free(h->ctx);
		free(h);
		return NULL;
	}
	gethostname(h->hostname, sizeof(h->hostname) - 1);
	snprintf(h->agent_id, sizeof(h->agent_id), "%s", o->agent_id ? o->agent_id : h->hostname);
	pthread_mutex_init(&h->mu, NULL);
	h->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	snprintf(h->state, sizeof(h->state), "starting");
	if (pthread_create(&h->thr, NULL, agent_thread, h)) {
		snprintf(err, n, "cannot start the Hive thread");
		sqlite3_close(h->db);
		SSL_CTX_free(h->ctx);
		close(h->efd);
		free(h);
		return NULL;
	}
	return h;
}

void hive_agent_stop(struct hive_agent *h)
{
	if (!h)
		return;
	h->stop = 1;
	pthread_join(h->thr, NULL);
	cJSON *m;
	while ((m = q_pop(&h->in)))
		cJSON_Delete(m);
	while ((m = q_pop(&h->out)))
		cJSON_Delete(m);
	sqlite3_close(h->db);
	SSL_CTX_free(h->ctx);
	close(h->efd);
	pthread_mutex_destroy(&h->mu);
	free(h);
}

int hive_agent_fd(const struct hive_agent *h)
{
	return h->efd;
}

cJSON *hive_agent_take(struct hive_agent *h)
{
	uint64_t v;
	ssize_t r = read(h->efd, &v, sizeof(v)); /* EAGAIN when nothing was signalled: fine */
	(void)r;
	pthread_mutex_lock(&h->mu);
	cJSON *m = q_pop(&h->in);
	pthread_mutex_unlock(&h->mu);
	return m;
}

void hive_agent_share(struct hive_agent *h, const char *verb, const char *kind, const char *target,
		      const char *source)
{
	cJSON *m = cJSON_CreateObject();
	cJSON_AddStringToObject(m, "type", "verdict");
	cJSON_AddStringToObject(m, "verb", verb);
	cJSON_AddStringToObject(m, "kind", kind);
	cJSON_AddStringToObject(m, "target", target);
	cJSON_AddStringToObject(m, "source", source);
	pthread_mutex_lock(&h->mu);
	bool ok = q_push(&h->out, m);
	pthread_mutex_unlock(&h->mu);
	if (!ok) {
		fprintf(stderr, "immuned: hive: too many verdicts waiting to be shared; %s %s not shared\n", kind,
			target);
		cJSON_Delete(m);
	}
}

void hive_agent_set_verdict_version(struct hive_agent *h, uint64_t v)
{
	pthread_mutex_lock(&h->mu);
	h->verdict_version = v;
	pthread_mutex_unlock(&h->mu);
}

void hive_agent_status(struct hive_agent *h, cJSON *out)
{
	cJSON *o = cJSON_AddObjectToObject(out, "hive");
	pthread_mutex_lock(&h->mu);
	char addr[300];
	snprintf(addr, sizeof(addr), "%s:%s", h->host, h->port);
	cJSON_AddStringToObject(o, "address", addr);
	cJSON_AddStringToObject(o, "agent_id", h->agent_id);
	cJSON_AddStringToObject(o, "link", h->state);
	cJSON_AddNumberToObject(o, "link_since_s", (double)(time(NULL) - h->since));
	if (h->last_error[0])
		cJSON_AddStringToObject(o, "last_error", h->last_error);
	cJSON_AddNumberToObject(o, "sent", (double)h->sent);
	cJSON_AddNumberToObject(o, "acknowledged", (double)h->acked);
	cJSON_AddNumberToObject(o, "connects", (double)h->connects);
	cJSON_AddNumberToObject(o, "verdict_version", (double)h->verdict_version);
	pthread_mutex_unlock(&h->mu);
	cJSON_AddNumberToObject(o, "unacknowledged", (double)hive_agent_unacked(h));
}

long hive_agent_unacked(struct hive_agent *h)
{
	sqlite3 *db;
	long n = -1;
	/* a connection of the caller's thread: the link's own belongs to its thread */
	char err[600];
	if ((db = db_open_readonly(h->o.db_path, err, sizeof(err)))) {
		sqlite3_stmt *st;
		if (sqlite3_prepare_v2(db, "SELECT count(*) FROM incidents WHERE hive_acked = 0", -1, &st, NULL) ==
		    SQLITE_OK) {
			if (sqlite3_step(st) == SQLITE_ROW)
				n = (long)sqlite3_column_int64(st, 0);
			sqlite3_finalize(st);
		}
	}
	sqlite3_close(db);
	return n;
}
