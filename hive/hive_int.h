/*
 * Inside `immuned --role hive`: the state shared by the event loop
 * (hive_server.c), incident storage (hive_store.c), the fleet verdicts,
 * proposals and guard rails (hive_fleet.c) and the sets sent in chunks
 * (hive_sync.c). One thread: no locks.
 */
#ifndef IMMUNE_HIVE_INT_H
#define IMMUNE_HIVE_INT_H

#include "ctlsock.h"
#include "frame.h"
#include "protected.h"
#include "store.h"

#include <netinet/in.h>
#include <openssl/ssl.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

/* Bounds a hostile peer meets; see docs/hive-protocol.md "Limits". */
#define HIVE_IDLE_TIMEOUT_S 90       /* agents send a heartbeat every 10 s */
#define HIVE_HANDSHAKE_TIMEOUT_S 10
#define HIVE_OUT_MAX (4u << 20)      /* queued output of one connection: over it the peer is dropped */
#define HIVE_OUT_LOW (256u << 10)    /* sets are sent in chunks while the queue is under this */
#define HIVE_READ_TURN (256u << 10)  /* bytes read from one connection per loop turn */
#define HIVE_WRITE_TURN (1u << 20)   /* bytes written to one connection per loop turn */
#define HIVE_VERDICTS_PART 128       /* fleet verdicts per `verdicts` frame */
#define HIVE_VERDICTS_MAX 16384      /* the fleet set's size */
#define HIVE_IOC_PART (256u << 10)   /* IOC text per `ioc` frame */
#define HIVE_IOC_SET_MAX (1u << 20)  /* one IOC set (the control socket takes requests up to 1 MiB) */
#define HIVE_IOC_TOTAL_MAX (32u << 20) /* every IOC set together */
#define HIVE_PROPOSALS_PER_AGENT 1024 /* pending proposals one agent may have */
#define HIVE_TARGET_MAX 4096

enum conn_state { CS_HANDSHAKE, CS_OPEN };

struct conn {
	int fd;
	SSL *ssl;
	enum conn_state state;
	const char *dead;  /* set: closed at the end of this loop turn, with this reason */
	bool more;         /* input left unread this turn */
	bool reading;      /* EPOLLIN armed (off while the peer does not read its output) */
	bool quiet;        /* closed without a log line (flood control) */
	time_t refused;    /* set: a `refused` frame went out; input is dropped until the peer closes */
	char why[200];     /* the refusal, for the close */
	struct frame_buf in;
	unsigned char *out;
	size_t out_len, out_off;
	struct sockaddr_storage addr;
	char peer[80];
	char cn[128];
	char uris[512];    /* the certificate's SAN URIs, NUL-separated, "" ending */
	char agent_id[128];
	char host[256];
	char version[64];
	time_t since, last_seen;
	uint64_t incidents, batches, nacked;
	/* the sets being sent, a chunk at a time (hive_sync.c) */
	uint64_t vhave;           /* the verdict set version the agent has (UINT64_MAX: unknown) */
	uint64_t vsend_version;   /* the version whose parts are going out */
	unsigned vsend_part;      /* the next part, 0 when none is going out */
	int64_t ioc_sent_ns;      /* IOC sets created up to this are sent */
	char ioc_name[64];        /* the set whose parts are going out, "" when none */
	unsigned ioc_part;
	int64_t ioc_version;
	struct conn *next;
};

struct hive_opts {
	unsigned max_conns, max_conns_per_addr, max_handshakes;
	unsigned min_prefix4, min_prefix6;   /* fleet net verdicts no wider than these */
	unsigned accept_k;                   /* 0: off; else auto-accept the same SHA-256 from k agents */
	const char *crl, *ca;
};

struct hive {
	SSL_CTX *ctx;
	int ep, lfd;
	struct store *st;       /* SQLite (--db) or PostgreSQL (--store), hive/store.h */
	const char *instance;   /* this instance's name in the shared store (--instance) */
	bool txn;               /* a transaction of this loop turn's incidents is open */
	struct pending_ack *acks; /* sent once that transaction commits */
	unsigned store_gen;     /* the store connection whose notifications are polled */
	int store_fd;
	struct conn *conns;
	unsigned nconns, nhandshakes;
	struct ctlsock *cs;
	struct protected_set *protect;
	struct hive_opts o;
	struct sockaddr_storage listen_addr;
	uint64_t verdict_version;
	int64_t verdict_count;  /* rows of that version of fleet_verdicts */
	int64_t ioc_last_ns;
	time_t accept_paused_until;
	struct timespec crl_mtim; /* to the ns: a CRL rewritten within the second it was read is noticed */
	/* counters for status */
	uint64_t stored, duplicates, refused, malformed, nacked, conns_refused, accept_paused;
	uint64_t proposals, proposals_refused, verdicts_refused, revoked_refused;
	uint64_t store_failures, notifications;
};

extern struct hive H;
/* schema/hive.sql's migrations, NULL-ended (store.c applies them) */
extern const char *const hive_migrations[];

void hive_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int64_t hive_now_ns(void);
const char *hive_jstr(const cJSON *o, const char *k);
/* The first column of the first row of a query (a count); 0 when none. */
int64_t hive_count(const char *sql);
/* A statement of H.st, reset; NULL (logged) when it cannot be prepared. */
struct sq *hive_q(const char *sql);

/* hive_server.c: queue a frame (obj is consumed). -1 marks the connection
 * dead when its output is over HIVE_OUT_MAX or the object cannot be framed. */
int hive_send(struct conn *c, cJSON *obj);
/* Mark c to be closed after this loop turn (never freed inside a handler). */
void hive_conn_kill(struct conn *c, const char *why);
/* Send the `refused` frame of a revoked agent id (code "revoked"); what c sends
 * next is dropped unread and it is closed when the peer closes, or in 5 s. */
void hive_refuse_revoked(struct conn *c, const char *id);

/* hive_args.c: the command line, then the config file for what it left out */
struct hive_args {
	const char *listen_at, *ca, *cert, *key, *db, *sock, *store, *instance, *config;
};
/* Into a and H.o: 0, 1 (--help printed: exit 0) or 2 (refused, said on stderr). */
int hive_args(int argc, char **argv, struct hive_args *a);

/* hive_store.c */
int hive_store_open(const char *where, char *err, size_t n);
void hive_store_close(void);
/* Stores a batch in this turn's transaction; its ack waits for hive_store_commit. */
int hive_handle_incidents(struct conn *c, const cJSON *m);
/* Commit this turn's incidents and send their acks (nothing is acked when the commit fails);
 * called before anything else writes. Returns with everything committed and acked. */
void hive_store_commit(void);
/* The same at the end of a loop turn, without waiting on PostgreSQL: the turn's rows and
 * COMMIT go out in a pipeline, their acks when it answers (hive_store_poll, or the next turn's
 * send, which waits for it). SQLite: hive_store_commit. */
void hive_store_send(void);
/* The pipelined turn's answer, if it is in: its acks sent. */
void hive_store_poll(void);
/* Acks of c wait for this turn's commit. */
bool hive_store_pending(const struct conn *c);
/* The connection c goes away: its pending acks are dropped. */
void hive_store_forget(struct conn *c);
/* Open this turn's transaction if it is not (small writes ride in it). false: the store failed. */
bool hive_store_begin(void);

/* hive_agents.c: the fleet's agents in the store, with their instance and link */
void hive_agents_start(void);
void hive_agent_link(struct conn *c, bool up);
void hive_agents_refresh(void);
void hive_agents_status(cJSON *agents);
/* --instance, or HOSTNAME:PORT of --listen; -1 when the given name is unusable. */
int hive_instance_name(const char *given, const char *listen_at, char *out, size_t n);

/* hive_incidents.c: `immunectl incidents` from the store */
void hive_incidents_register(struct ctlsock *cs);

/* hive_notify.c: what other instances changed (LISTEN/NOTIFY), and this one's changes announced */
#define HIVE_CHANNEL "immune_fleet"
void hive_notify_start(void);
void hive_notify_poll(void);
void hive_notify_send(const char *what);
void hive_fleet_reload(void);

/* hive_fleet.c */
int hive_fleet_init(char *err, size_t n);
/* Set or remove an operator's fleet verdict, guard rails first. 0 or -1 with err. */
int hive_fleet_set(const char *verb, const char *kind, const char *target, const char *source, char *err,
		   size_t n);
/* An agent's `verdict` message: a proposal, or refused. */
void hive_fleet_proposal(struct conn *c, const cJSON *m);
/* 1 revoked, 0 not, -1 the store cannot say; hive_revoked counts -1 as revoked. */
int hive_revocation(const char *agent_id);
bool hive_revoked(const char *agent_id);
/* Close the connections of a revoked agent; how many. */
int hive_fleet_drop_revoked(const char *agent_id);
void hive_fleet_register(struct ctlsock *cs);
void hive_fleet_status(cJSON *r);

/* hive_sync.c: send what the connection lacks of the fleet sets, while its
 * output queue is short; called after hello, after a change and as it drains. */
void hive_sync_pump(struct conn *c);
void hive_sync_all(void);
void hive_sync_register(struct ctlsock *cs);

#endif
