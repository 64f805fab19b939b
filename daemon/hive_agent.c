/*
 * The agent's end of the Hive link, on a thread of its own so that the event
 * loop never waits for the network. Incidents are read from SQLite where
 * detection stored them (hive_acked = 0), sent in batches, and marked only
 * when the Hive acknowledges them: at-least-once, and the Hive's unique
 * (agent, sequence) index makes storage exactly-once. Pushes from the Hive
 * are handed to the daemon's loop through a queue and an eventfd.
 */
#include "hive.h"
#include "hive_addrs.h"
#include "frame.h"
#include "hive_tls.h"
#include "incident.h"
#include "incident_wire.h"
#include "db.h"
#include "protected.h"
#include "verdict.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <openssl/evp.h>

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
/* a batch stops before this many bytes of items: well under a frame */
#define BATCH_BYTES (512u << 10)
/* what the agent takes of a fleet set arriving in parts */
#define SET_ITEMS_MAX 65536
#define SET_TEXT_MAX (16u << 20)

const char hive_dead_letter_sql[] =
	"CREATE TABLE IF NOT EXISTS hive_dead_letters (\n"
	"    incident_id INTEGER PRIMARY KEY,  -- incidents.id, the seq the Hive refused\n"
	"    reason      TEXT    NOT NULL,     -- the Hive's nack\n"
	"    refused_ns  INTEGER NOT NULL\n"
	");\n";

struct msgq {
	cJSON *v[256];
	unsigned head, n;
};

/* One instance of the Hive as this agent sees it. */
struct inst {
	struct hive_addr a;
	char state[32], last_error[512];
	time_t since;      /* wall clock of the last change of state */
	int64_t next_ms;   /* monotonic: no attempt before */
	int backoff;       /* ms: the next wait after a failure */
	uint64_t connects, failures;
	uint8_t addr[16];  /* its address, once known: no fleet verdict may cut it */
	bool addr_known;
};

/* A set the Hive sends in parts 1..N, taken whole or not at all. */
struct assembly {
	char name[64];     /* IOC sets: the set's name */
	int64_t version;
	unsigned next, parts;
	cJSON *items;      /* verdicts */
	char *text;        /* IOC text */
	size_t len;
};

struct hive_agent {
	struct hive_agent_opts o;
	char agent_id[256], hostname[256];
	struct inst inst[HIVE_ADDRS_MAX];
	int ninst, order[HIVE_ADDRS_MAX], rank[HIVE_ADDRS_MAX];
	int cur;        /* the instance of the session now, -1 between sessions */
	int last;       /* the instance of the last session, -1 before the first */
	int vset_from;  /* the instance whose verdict set was handed over last, -1: none this run */
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
	uint64_t sent, acked, connects, dead_letters, shortened, fleet_skipped, failovers, returns;
	time_t since;
	sqlite3 *db;
	/* the link thread's own */
	struct assembly vset, iset;
	struct protected_set *protect;
	char refusal[512];     /* this session's `refused` frame, "" when none */
};

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/*
 * The state of instance i (NULL: leave it) and of the link as a whole. A
 * failure is said when its reason changes, so an instance that keeps
 * failing the same way is said once.
 */
static void set_state(struct hive_agent *h, int i, const char *ist, const char *st, const char *err)
{
	bool say = false;
	pthread_mutex_lock(&h->mu);
	if (st) {
		if (strcmp(h->state, st))
			h->since = time(NULL);
		snprintf(h->state, sizeof(h->state), "%s", st);
		if (err)
			snprintf(h->last_error, sizeof(h->last_error), "%s", err);
	}
	struct inst *in = &h->inst[i];
	if (ist) {
		say = strcmp(in->state, ist) && (strcmp(ist, "connected") == 0 || strcmp(in->state, "connected") == 0);
		if (strcmp(in->state, ist))
			in->since = time(NULL);
		snprintf(in->state, sizeof(in->state), "%s", ist);
	}
	if (err) {
		say |= strcmp(in->last_error, err) != 0;
		snprintf(in->last_error, sizeof(in->last_error), "%s", err);
	}
	pthread_mutex_unlock(&h->mu);
	/* a failure reads "down: why" whatever the instance does next */
	if (say)
		fprintf(stderr, "immuned: hive %s: %s%s%s\n", in->a.name, err ? "down" : ist ? ist : "", err ? ": " : "",
			err ? err : "");
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
	int inst; /* which instance */
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

static int link_open(struct hive_agent *h, int i, struct link *l, char *err, size_t n)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *ai, *p;
	struct inst *in = &h->inst[i];
	int r = getaddrinfo(in->a.host, in->a.port, &hints, &ai);
	memset(l, 0, sizeof(*l));
	l->inst = i;
	l->fd = -1;
	if (r) {
		snprintf(err, n, "cannot resolve %s: %s", in->a.host, gai_strerror(r));
		return -1;
	}
	for (p = ai; p; p = p->ai_next) {
		l->fd = socket(p->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
		struct timeval tv = { .tv_sec = 5 };
		setsockopt(l->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		setsockopt(l->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		if (connect(l->fd, p->ai_addr, p->ai_addrlen) == 0) {
			pthread_mutex_lock(&h->mu);
			memset(in->addr, 0, 16);
			if (p->ai_family == AF_INET) {
				in->addr[10] = in->addr[11] = 0xff;
				memcpy(in->addr + 12, &((struct sockaddr_in *)p->ai_addr)->sin_addr, 4);
			} else {
				memcpy(in->addr, &((struct sockaddr_in6 *)p->ai_addr)->sin6_addr, 16);
			}
			in->addr_known = true;
			pthread_mutex_unlock(&h->mu);
			break;
		}
		snprintf(err, n, "connect: %s", strerror(errno));
		close(l->fd);
		l->fd = -1;
	}
	freeaddrinfo(ai);
	if (l->fd < 0)
		return -1;
	l->ssl = SSL_new(h->ctx);
	SSL_set_fd(l->ssl, l->fd);
	SSL_set_tlsext_host_name(l->ssl, in->a.host);
	/* the Hive must carry the name (or address) we dialled */
	SSL_set1_host(l->ssl, in->a.host);
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

/* A refused incident is kept, out of the queue, with the Hive's reason. */
static void dead_letter(struct hive_agent *h, int64_t seq, const char *reason)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(h->db, "INSERT OR REPLACE INTO hive_dead_letters VALUES (?, ?, ?)", -1, &st, NULL) ==
	    SQLITE_OK) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		sqlite3_bind_int64(st, 1, seq);
		sqlite3_bind_text(st, 2, reason ? reason : "refused", -1, SQLITE_TRANSIENT);
		sqlite3_bind_int64(st, 3, ts.tv_sec * 1000000000LL + ts.tv_nsec);
		sqlite3_step(st);
		sqlite3_finalize(st);
	}
	if (sqlite3_prepare_v2(h->db, "UPDATE incidents SET hive_acked = 2 WHERE id = ?", -1, &st, NULL) == SQLITE_OK) {
		sqlite3_bind_int64(st, 1, seq);
		sqlite3_step(st);
		sqlite3_finalize(st);
	}
	fprintf(stderr, "immuned: hive: incident %lld refused by the Hive, kept in hive_dead_letters: %s\n",
		(long long)seq, reason ? reason : "no reason given");
}

/* Mark what the ack says: stored (or already stored) rows are done, refused ones dead letters. */
static long take_ack(struct hive_agent *h, const cJSON *r, const int64_t *sent, int count)
{
	const cJSON *seqs = cJSON_GetObjectItemCaseSensitive(r, "seqs"), *s;
	const cJSON *nacks = cJSON_GetObjectItemCaseSensitive(r, "nacks");
	long acked = 0, dead = 0;
	sqlite3_stmt *up;
	sqlite3_exec(h->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
	if (sqlite3_prepare_v2(h->db, "UPDATE incidents SET hive_acked = 1 WHERE id = ? AND hive_acked = 0", -1, &up,
			       NULL) == SQLITE_OK) {
		cJSON_ArrayForEach(s, seqs)
		{
			int64_t seq;
			if (frame_i64(s, 1, INT64_MAX, &seq))
				continue;
			sqlite3_reset(up);
			sqlite3_bind_int64(up, 1, seq);
			if (sqlite3_step(up) == SQLITE_DONE && sqlite3_changes(h->db))
				acked++;
		}
		sqlite3_finalize(up);
	}
	cJSON_ArrayForEach(s, nacks)
	{
		int64_t seq, index;
		const char *why = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(s, "reason"));
		/* the index names the item when the Hive could not read its seq */
		if (frame_i64(cJSON_GetObjectItemCaseSensitive(s, "seq"), 1, INT64_MAX, &seq) &&
		    (frame_i64(cJSON_GetObjectItemCaseSensitive(s, "index"), 0, count - 1, &index) ||
		     (seq = sent[index]) < 1))
			continue;
		dead_letter(h, seq, why);
		dead++;
	}
	sqlite3_exec(h->db, "COMMIT", NULL, NULL, NULL);
	pthread_mutex_lock(&h->mu);
	h->acked += acked;
	h->dead_letters += dead;
	pthread_mutex_unlock(&h->mu);
	return acked + dead;
}

static int handle_push(struct hive_agent *h, cJSON *r, int from);
static long count_rows(struct hive_agent *h, const char *sql);

/* Send one batch of unacknowledged incidents, bounded by count and bytes, and
 * wait for its ack; pushes that arrive meanwhile are handled. Returns the
 * number acknowledged or refused, or -1. */
static long send_batch(struct hive_agent *h, struct link *l, char *err, size_t n)
{
	sqlite3_stmt *st;
	const char *sql = "SELECT id, " INCIDENT_COLUMNS " FROM incidents WHERE hive_acked = 0 ORDER BY id LIMIT ?";
	if (sqlite3_prepare_v2(h->db, sql, -1, &st, NULL) != SQLITE_OK) {
		snprintf(err, n, "reading incidents: %s", sqlite3_errmsg(h->db));
		return -1;
	}
	int max = (int)(h->o.batch ? h->o.batch : 500);
	sqlite3_bind_int(st, 1, max);
	cJSON *m = cJSON_CreateObject();
	cJSON_AddStringToObject(m, "type", "incidents");
	cJSON *arr = cJSON_AddArrayToObject(m, "batch");
	int count = 0;
	size_t bytes = 0;
	int64_t *sent = calloc((size_t)max, sizeof(*sent));
	uint64_t shortened = 0;
	while (sent && sqlite3_step(st) == SQLITE_ROW) {
		cJSON *it = incident_wire_item(st);
		char *text = it ? cJSON_PrintUnformatted(it) : NULL;
		size_t len = text ? strlen(text) + 1 : 0;
		free(text);
		/* the first item always goes (shortened items fit); the rest while the batch stays small */
		if (!it || (count && bytes + len > BATCH_BYTES)) {
			cJSON_Delete(it);
			break;
		}
		shortened += cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(it, "shortened"));
		sent[count++] = sqlite3_column_int64(st, 0);
		bytes += len;
		cJSON_AddItemToArray(arr, it);
	}
	sqlite3_finalize(st);
	if (!count) {
		free(sent);
		cJSON_Delete(m);
		return 0;
	}
	if (link_send(l, m)) {
		free(sent);
		snprintf(err, n, "sending a batch failed");
		return -1;
	}
	pthread_mutex_lock(&h->mu);
	h->sent += count;
	h->shortened += shortened;
	pthread_mutex_unlock(&h->mu);
	int64_t deadline = now_ms() + ACK_TIMEOUT_S * 1000;
	for (;;) {
		cJSON *r;
		int got = link_recv(l, &r, (int)(deadline - now_ms()), err, n);
		if (got <= 0) {
			if (got == 0)
				snprintf(err, n, "no acknowledgement within %d s", ACK_TIMEOUT_S);
			free(sent);
			return -1;
		}
		const cJSON *type = cJSON_GetObjectItemCaseSensitive(r, "type");
		if (strcmp(type->valuestring, "ack") == 0) {
			long k = take_ack(h, r, sent, count);
			cJSON_Delete(r);
			free(sent);
			return k;
		}
		handle_push(h, r, l->inst);
		if (h->refusal[0]) {
			snprintf(err, n, "%s", h->refusal);
			free(sent);
			return -1;
		}
	}
}

/* Hand a message to the daemon's loop (it applies verdicts and IOC sets);
 * a verdict set is marked as instance from's. */
static void to_daemon(struct hive_agent *h, cJSON *m, int from)
{
	bool vset = strcmp(cJSON_GetObjectItemCaseSensitive(m, "type")->valuestring, "verdicts") == 0;
	pthread_mutex_lock(&h->mu);
	bool queued = q_push(&h->in, m);
	if (vset)
		h->vset_from = queued ? from : -1;
	pthread_mutex_unlock(&h->mu);
	if (queued) {
		wake(h);
		return;
	}
	fprintf(stderr, "immuned: hive: the daemon is behind, a '%s' push is dropped (sent again at reconnect)\n",
		cJSON_GetObjectItemCaseSensitive(m, "type")->valuestring);
	cJSON_Delete(m);
}

static void assembly_reset(struct assembly *a)
{
	cJSON_Delete(a->items);
	free(a->text);
	memset(a, 0, sizeof(*a));
}

static bool link_in(void *h, const struct verdict_net *t)
{
	return hive_agent_link_in(h, t);
}

/* This agent's own link and files are never the fleet's to block, whatever
 * the Hive sends: the guard every local block passes (verdict_guard_deny). */
static bool exempt(struct hive_agent *h, const cJSON *v)
{
	const char *kind = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(v, "kind"));
	const char *target = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(v, "target"));
	const char *action = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(v, "action"));
	struct verdict_guard own = { .protect = h->o.protect ? h->o.protect : h->protect, .hive_link_in = link_in,
				     .ctx = h };
	const struct verdict_guard *g = h->o.guard ? h->o.guard : &own;
	enum verdict_kind k;
	char err[512];
	if (!kind || !target || !action || strcmp(action, "deny") || verdict_parse_kind(kind, &k) ||
	    verdict_guard_deny(g, k, target, err, sizeof(err)) != -EPERM)
		return false;
	fprintf(stderr, "immuned: hive: fleet verdict deny %s %s not applied here: %s\n", kind, target, err);
	pthread_mutex_lock(&h->mu);
	h->fleet_skipped++;
	pthread_mutex_unlock(&h->mu);
	return true;
}

static bool part_of(const cJSON *r, struct assembly *a, int64_t version, const char *name)
{
	int64_t part, parts;
	/* a Hive of before the parts: the message is the whole set */
	if (!cJSON_GetObjectItemCaseSensitive(r, "parts"))
		part = parts = 1;
	else if (frame_i64(cJSON_GetObjectItemCaseSensitive(r, "part"), 1, 1000000, &part) ||
		 frame_i64(cJSON_GetObjectItemCaseSensitive(r, "parts"), part, 1000000, &parts))
		return false;
	if (part == 1) {
		assembly_reset(a);
		a->version = version;
		a->parts = (unsigned)parts;
		a->next = 1;
		snprintf(a->name, sizeof(a->name), "%s", name ? name : "");
	}
	/* parts of another version or out of order: wait for the next part 1 */
	if (a->next != part || a->version != version || a->parts != parts || strcmp(a->name, name ? name : ""))
		return false;
	a->next++;
	return true;
}

/* A message from instance from outside an ack: sets in parts are put together here. */
static int handle_push(struct hive_agent *h, cJSON *r, int from)
{
	const char *t = cJSON_GetObjectItemCaseSensitive(r, "type")->valuestring;
	int64_t version;
	if (strcmp(t, "heartbeat") == 0 || strcmp(t, "ack") == 0) {
		cJSON_Delete(r);
		return 0;
	}
	if (strcmp(t, "refused") == 0) {
		/* the Hive will not serve this agent: the session ends here */
		const char *code = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(r, "code"));
		const char *why = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(r, "reason"));
		snprintf(h->refusal, sizeof(h->refusal), "refused by the Hive: %.40s: %.400s", code ? code : "?",
			 why ? why : "no reason given");
		/* one log line, whatever the Hive sent */
		for (char *p = h->refusal; *p; p++)
			if ((unsigned char)*p < 0x20 || *p == 0x7f)
				*p = '?';
		cJSON_Delete(r);
		return 0;
	}
	if (strcmp(t, "verdicts") == 0) {
		cJSON *arr = cJSON_GetObjectItemCaseSensitive(r, "verdicts"), *v;
		struct assembly *a = &h->vset;
		if (frame_i64(cJSON_GetObjectItemCaseSensitive(r, "version"), 0, INT64_MAX, &version) ||
		    !cJSON_IsArray(arr) || !part_of(r, a, version, NULL)) {
			fprintf(stderr, "immuned: hive: a verdict set part out of order or malformed: ignored\n");
			cJSON_Delete(r);
			return 0;
		}
		if (!a->items)
			a->items = cJSON_CreateArray();
		while ((v = cJSON_DetachItemFromArray(arr, 0))) {
			if (cJSON_GetArraySize(a->items) >= SET_ITEMS_MAX || exempt(h, v))
				cJSON_Delete(v);
			else
				cJSON_AddItemToArray(a->items, v);
		}
		cJSON_Delete(r);
		if (a->next <= a->parts)
			return 0;
		cJSON *m = cJSON_CreateObject();
		cJSON_AddStringToObject(m, "type", "verdicts");
		/* in-process: the daemon reads a number (versions stay far below 2^53) */
		cJSON_AddNumberToObject(m, "version", (double)a->version);
		cJSON_AddItemToObject(m, "verdicts", a->items);
		a->items = NULL;
		assembly_reset(a);
		to_daemon(h, m, from);
		return 0;
	}
	if (strcmp(t, "ioc") == 0) {
		const char *name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(r, "name"));
		const char *text = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(r, "text"));
		struct assembly *a = &h->iset;
		if (!name || !text || frame_i64(cJSON_GetObjectItemCaseSensitive(r, "version"), 0, INT64_MAX, &version) ||
		    !part_of(r, a, version, name)) {
			fprintf(stderr, "immuned: hive: an IOC set part out of order or malformed: ignored\n");
			cJSON_Delete(r);
			return 0;
		}
		size_t len = strlen(text);
		char *grown = a->len + len <= SET_TEXT_MAX ? realloc(a->text, a->len + len + 1) : NULL;
		if (!grown) {
			fprintf(stderr, "immuned: hive: IOC set %s is over %u MiB: ignored\n", name, SET_TEXT_MAX >> 20);
			assembly_reset(a);
			cJSON_Delete(r);
			return 0;
		}
		memcpy(grown + a->len, text, len + 1);
		a->text = grown;
		a->len += len;
		cJSON_Delete(r);
		if (a->next <= a->parts)
			return 0;
		cJSON *m = cJSON_CreateObject();
		cJSON_AddStringToObject(m, "type", "ioc");
		cJSON_AddStringToObject(m, "name", a->name);
		/* in-process: the daemon reads a number (versions stay far below 2^53) */
		cJSON_AddNumberToObject(m, "version", (double)a->version);
		cJSON_AddStringToObject(m, "text", a->text);
		assembly_reset(a);
		to_daemon(h, m, from);
		return 0;
	}
	to_daemon(h, r, from);
	return 0;
}

/* The SHA-256 of a file as 64 hex digits; -1 when it cannot be read. */
static int file_sha256(const char *path, char out[65])
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return -1;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned char buf[65536], md[32];
	unsigned mdlen = 0;
	ssize_t r = -1;
	if (ctx && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1)
		while ((r = read(fd, buf, sizeof(buf))) > 0)
			EVP_DigestUpdate(ctx, buf, (size_t)r);
	close(fd);
	if (r < 0 || EVP_DigestFinal_ex(ctx, md, &mdlen) != 1 || mdlen != 32) {
		EVP_MD_CTX_free(ctx);
		return -1;
	}
	EVP_MD_CTX_free(ctx);
	for (int i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
	return 0;
}

/* A proposal for the Hive: exec and file targets carry the content's hash. */
static int send_proposal(struct link *l, cJSON *m)
{
	const char *kind = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(m, "kind"));
	const char *target = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(m, "target"));
	char sha[65];
	if (kind && target && strcmp(kind, "net") && file_sha256(target, sha) == 0)
		cJSON_AddStringToObject(m, "sha256", sha);
	return link_send(l, m);
}

/* ------------------------------------------------------------- failover */

/*
 * Instance i failed (err) or its session ended: no attempt on it before a
 * wait, exponential from 0.5 s to 30 s with jitter so that the agents of a
 * fleet do not return in step. A session that was healthy (answered, and
 * lasted) starts the wait over from the shortest.
 */
static void inst_failed(struct hive_agent *h, int i, const char *err, bool healthy, unsigned *seed)
{
	struct inst *in = &h->inst[i];
	if (healthy)
		in->backoff = BACKOFF_MIN_MS;
	int wait = in->backoff / 2 + (int)(rand_r(seed) % (unsigned)(in->backoff / 2 + 1));
	in->backoff = in->backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : in->backoff * 2;
	pthread_mutex_lock(&h->mu);
	in->failures++;
	in->next_ms = now_ms() + wait;
	pthread_mutex_unlock(&h->mu);
	set_state(h, i, "backing off", h->cur < 0 ? "down" : NULL, err);
}

/* The most preferred instance that may be tried now; -1 when every one waits. */
static int inst_ready(struct hive_agent *h, int below_rank)
{
	int64_t now = now_ms();
	for (int r = 0; r < below_rank; r++)
		if (h->inst[h->order[r]].next_ms <= now)
			return h->order[r];
	return -1;
}

/* Sleep until an instance may be tried, waking early when the agent is stopped. */
static void wait_ready(struct hive_agent *h)
{
	int64_t first = INT64_MAX;
	for (int i = 0; i < h->ninst; i++)
		if (h->inst[i].next_ms < first)
			first = h->inst[i].next_ms;
	while (!h->stop && now_ms() < first)
		usleep(100000);
}

/* Connect to instance i and say hello. The fleet verdict version goes only
 * to the instance whose set is in force: another instance (separate
 * stores number their sets apart) sends its whole set, which then replaces
 * the one in force, so a verdict removed there never comes back from here. */
static int session_open(struct hive_agent *h, int i, struct link *l, char *err, size_t n)
{
	set_state(h, i, "connecting", h->cur < 0 ? "connecting" : NULL, NULL);
	if (link_open(h, i, l, err, n))
		return -1;
	pthread_mutex_lock(&h->mu);
	h->connects++;
	h->inst[i].connects++;
	uint64_t vv = h->verdict_version;
	bool same = h->vset_from == i;
	pthread_mutex_unlock(&h->mu);
	cJSON *hello = cJSON_CreateObject();
	cJSON_AddStringToObject(hello, "type", "hello");
	cJSON_AddStringToObject(hello, "agent_id", h->agent_id);
	cJSON_AddStringToObject(hello, "hostname", h->hostname);
	cJSON_AddStringToObject(hello, "version", IMMUNE_VERSION);
	if (same)
		frame_add_u64(hello, "verdict_version", vv);
	cJSON_AddStringToObject(hello, "ruleset_version", IMMUNE_VERSION);
	if (link_send(l, hello)) {
		snprintf(err, n, "sending hello failed");
		link_close(l);
		return -1;
	}
	return 0;
}

/*
 * On a fallback instance for hold_down_s: take a preferred one back when it
 * may be tried again. The new link must say hello and survive a second
 * (a refused certificate or hello shows then) before the old one, idle
 * between batches, is closed; until then nothing moves.
 */
static void try_return(struct hive_agent *h, struct link *l, int64_t *session_start, unsigned *seed)
{
	char err[512];
	int j = inst_ready(h, h->rank[l->inst]);
	if (j < 0 || now_ms() - *session_start < (int64_t)h->o.hold_down_s * 1000)
		return;
	struct link nl;
	cJSON *first = NULL;
	int got = -1;
	if (session_open(h, j, &nl, err, sizeof(err)) == 0) {
		got = link_recv(&nl, &first, 1000, err, sizeof(err));
		/* the Hive's refusal of this hello: that instance waits the longest */
		if (got > 0 && strcmp(cJSON_GetObjectItemCaseSensitive(first, "type")->valuestring, "refused") == 0) {
			handle_push(h, first, j);
			snprintf(err, sizeof(err), "%s", h->refusal);
			h->refusal[0] = 0;
			h->inst[j].backoff = BACKOFF_MAX_MS;
			got = -1;
		}
		if (got < 0)
			link_close(&nl);
	}
	if (got < 0) {
		inst_failed(h, j, err, false, seed);
		return;
	}
	int old = l->inst;
	link_close(l);
	*l = nl;
	*session_start = now_ms();
	/* a set half received from the old instance is not completed by the new one's parts */
	assembly_reset(&h->vset);
	assembly_reset(&h->iset);
	pthread_mutex_lock(&h->mu);
	h->returns++;
	h->cur = h->last = j;
	h->inst[old].next_ms = 0;
	pthread_mutex_unlock(&h->mu);
	set_state(h, old, "standby", NULL, NULL);
	set_state(h, j, "connected", "connected", NULL);
	fprintf(stderr, "immuned: hive: back on %s (preferred to %s)\n", h->inst[j].a.name, h->inst[old].a.name);
	if (first)
		handle_push(h, first, j);
}

/* A session on l until it fails or the agent stops; false when it failed (err says why). */
static bool session_run(struct hive_agent *h, struct link *l, int64_t *session_start, bool *heard, unsigned *seed,
			char *err, size_t n)
{
	int64_t last_tx = now_ms();
	while (!h->stop) {
		if (h->rank[l->inst] > 0)
			try_return(h, l, session_start, seed);
		/* shared verdicts first: they are small and urgent */
		pthread_mutex_lock(&h->mu);
		cJSON *sv = q_pop(&h->out);
		pthread_mutex_unlock(&h->mu);
		if (sv) {
			if (send_proposal(l, sv)) {
				snprintf(err, n, "sending a proposal failed");
				return false;
			}
			last_tx = now_ms();
			continue;
		}
		long k = send_batch(h, l, err, n);
		if (k < 0)
			return false;
		if (k > 0) {
			*heard = true;
			last_tx = now_ms();
			continue;
		}
		if (now_ms() - last_tx > HEARTBEAT_S * 1000) {
			cJSON *hb = cJSON_CreateObject();
			cJSON_AddStringToObject(hb, "type", "heartbeat");
			if (link_send(l, hb)) {
				snprintf(err, n, "sending a heartbeat failed");
				return false;
			}
			last_tx = now_ms();
		}
		cJSON *r;
		int got = link_recv(l, &r, 200, err, n);
		if (got < 0)
			return false;
		if (got > 0) {
			*heard = true;
			handle_push(h, r, l->inst);
			if (h->refusal[0]) {
				snprintf(err, n, "%s", h->refusal);
				return false;
			}
		}
	}
	return true;
}

/*
 * The link: the most preferred instance that may be tried, the next one in
 * this agent's order when it is down or refuses us, and back to a preferred
 * one after the hold-down. Incidents wait in SQLite whatever happens and go
 * to whichever instance is up, oldest first.
 */
static void *agent_thread(void *arg)
{
	struct hive_agent *h = arg;
	struct link l = { .fd = -1 };
	char err[512];
	unsigned seed = (unsigned)time(NULL) ^ (unsigned)getpid();

	while (!h->stop) {
		int i = inst_ready(h, h->ninst);
		if (i < 0) {
			wait_ready(h);
			continue;
		}
		if (session_open(h, i, &l, err, sizeof(err))) {
			inst_failed(h, i, err, false, &seed);
			continue;
		}
		int64_t session_start = now_ms();
		h->refusal[0] = 0;
		assembly_reset(&h->vset);
		assembly_reset(&h->iset);
		bool heard = false; /* the Hive answered at least once */
		/* down the order from the last session's instance (the primary's at start) is a failover, up it a return */
		int from = h->last >= 0 ? h->last : h->order[0];
		pthread_mutex_lock(&h->mu);
		h->failovers += h->rank[i] > h->rank[from];
		h->returns += h->rank[i] < h->rank[from];
		h->cur = h->last = i;
		pthread_mutex_unlock(&h->mu);
		if (i != from)
			fprintf(stderr, "immuned: hive: %s from %s to %s\n",
				h->rank[i] > h->rank[from] ? "failed over" : "back", h->inst[from].a.name, h->inst[i].a.name);
		set_state(h, i, "connected", "connected", NULL);
		bool ok = session_run(h, &l, &session_start, &heard, &seed, err, sizeof(err));
		i = l.inst; /* a return may have moved the session */
		link_close(&l);
		pthread_mutex_lock(&h->mu);
		h->cur = -1;
		pthread_mutex_unlock(&h->mu);
		if (ok)
			break;
		/* refused: the same hello would be refused again at once; the longest wait */
		if (h->refusal[0])
			h->inst[i].backoff = BACKOFF_MAX_MS;
		/* a link that fails right after the handshake (a refused certificate
		 * shows only then under TLS 1.3) backs off like one that never opened */
		inst_failed(h, i, err, heard && !h->refusal[0] && now_ms() - session_start > 2000, &seed);
	}
	for (int i = 0; i < h->ninst; i++)
		set_state(h, i, "stopped", "stopped", NULL);
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
	struct hive_addr a[HIVE_ADDRS_MAX];
	char why[400];
	if ((h->ninst = hive_addrs_parse(o->addr, a, HIVE_ADDRS_MAX, why, sizeof(why))) < 0) {
		snprintf(err, n, "%s", why);
		free(h);
		return NULL;
	}
	h->ctx = hive_tls_ctx(false, o->ca, o->cert, o->key, err, n);
	if (!h->ctx) {
		free(h);
		return NULL;
	}
	if (!(h->db = db_open(o->db_path, hive_dead_letter_sql, err, n))) {
		SSL_CTX_free(h->ctx);
		free(h);
		return NULL;
	}
	if (!o->protect)
		h->protect = protected_new();
	gethostname(h->hostname, sizeof(h->hostname) - 1);
	snprintf(h->agent_id, sizeof(h->agent_id), "%s", o->agent_id ? o->agent_id : h->hostname);
	hive_addrs_order(h->agent_id, a, h->ninst, h->order);
	h->cur = h->last = h->vset_from = -1;
	for (int i = 0; i < h->ninst; i++) {
		struct inst *in = &h->inst[i];
		in->a = a[i];
		in->backoff = BACKOFF_MIN_MS;
		h->rank[h->order[i]] = i;
		snprintf(in->state, sizeof(in->state), "standby");
		in->since = time(NULL);
		/* an instance given by address is known before the first connect: no
		 * block may cover it while the link is down either */
		struct in_addr v4;
		if (inet_pton(AF_INET6, in->a.host, in->addr) == 1) {
			in->addr_known = true;
		} else if (inet_pton(AF_INET, in->a.host, &v4) == 1) {
			in->addr[10] = in->addr[11] = 0xff;
			memcpy(in->addr + 12, &v4, 4);
			in->addr_known = true;
		}
	}
	pthread_mutex_init(&h->mu, NULL);
	h->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	snprintf(h->state, sizeof(h->state), "starting");
	if (pthread_create(&h->thr, NULL, agent_thread, h)) {
		snprintf(err, n, "cannot start the Hive thread");
		protected_free(h->protect);
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
	assembly_reset(&h->vset);
	assembly_reset(&h->iset);
	protected_free(h->protect);
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
	cJSON_AddStringToObject(o, "address", h->inst[h->cur >= 0 ? h->cur : h->order[0]].a.name);
	cJSON_AddStringToObject(o, "agent_id", h->agent_id);
	if (h->cur >= 0)
		cJSON_AddStringToObject(o, "current", h->inst[h->cur].a.name);
	else
		cJSON_AddNullToObject(o, "current");
	/* in this agent's order: the first is its primary */
	cJSON *list = cJSON_AddArrayToObject(o, "instances");
	int64_t now = now_ms();
	for (int r = 0; r < h->ninst; r++) {
		const struct inst *in = &h->inst[h->order[r]];
		cJSON *e = cJSON_CreateObject();
		cJSON_AddStringToObject(e, "address", in->a.name);
		cJSON_AddStringToObject(e, "link", in->state);
		cJSON_AddNumberToObject(e, "link_since_s", (double)(time(NULL) - in->since));
		if (strcmp(in->state, "backing off") == 0)
			cJSON_AddNumberToObject(e, "next_attempt_ms", (double)(in->next_ms > now ? in->next_ms - now : 0));
		if (in->last_error[0])
			cJSON_AddStringToObject(e, "last_error", in->last_error);
		frame_add_u64(e, "connects", in->connects);
		frame_add_u64(e, "failures", in->failures);
		cJSON_AddItemToArray(list, e);
	}
	frame_add_u64(o, "failovers", h->failovers);
	frame_add_u64(o, "returns", h->returns);
	cJSON_AddStringToObject(o, "link", h->state);
	cJSON_AddNumberToObject(o, "link_since_s", (double)(time(NULL) - h->since));
	if (h->last_error[0])
		cJSON_AddStringToObject(o, "last_error", h->last_error);
	frame_add_u64(o, "sent", h->sent);
	frame_add_u64(o, "acknowledged", h->acked);
	frame_add_u64(o, "refused", h->dead_letters);
	frame_add_u64(o, "shortened", h->shortened);
	frame_add_u64(o, "fleet_verdicts_exempted", h->fleet_skipped);
	frame_add_u64(o, "connects", h->connects);
	frame_add_u64(o, "verdict_version", h->verdict_version);
	pthread_mutex_unlock(&h->mu);
	cJSON_AddNumberToObject(o, "unacknowledged", (double)hive_agent_unacked(h));
	/* every incident the Hive ever refused, kept in hive_dead_letters */
	cJSON_AddNumberToObject(o, "dead_letters", (double)count_rows(h, "SELECT count(*) FROM hive_dead_letters"));
}

/* count(*) on a connection of the caller's thread: the link's own belongs to its thread. */
static long count_rows(struct hive_agent *h, const char *sql)
{
	sqlite3 *db;
	long n = -1;
	char err[600];
	if ((db = db_open_readonly(h->o.db_path, err, sizeof(err)))) {
		sqlite3_stmt *st;
		if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK) {
			if (sqlite3_step(st) == SQLITE_ROW)
				n = (long)sqlite3_column_int64(st, 0);
			sqlite3_finalize(st);
		}
	}
	sqlite3_close(db);
	return n;
}

bool hive_agent_link_in(struct hive_agent *h, const struct verdict_net *t)
{
	bool in = false;
	pthread_mutex_lock(&h->mu);
	for (int i = 0; i < h->ninst && !in; i++)
		in = h->inst[i].addr_known && verdict_net_covers(t, h->inst[i].addr);
	pthread_mutex_unlock(&h->mu);
	return in;
}

long hive_agent_unacked(struct hive_agent *h)
{
	return count_rows(h, "SELECT count(*) FROM incidents WHERE hive_acked = 0");
}
