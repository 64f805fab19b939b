/*
 * The Hive link (docs/hive-protocol.md): `immuned --role hive` receives
 * incidents from many agents and pushes fleet verdicts; the agent side sends
 * its SQLite incidents at least once and applies what the Hive pushes.
 */
#ifndef IMMUNE_HIVE_H
#define IMMUNE_HIVE_H

#include <stdbool.h>
#include <stdint.h>
#include <cjson/cJSON.h>

/* `immuned --role hive ...`: parses its own options; returns the exit status. */
int hive_main(int argc, char **argv);

struct protected_set;
struct verdict_guard;
struct hive_agent_opts {
	const char *addr;       /* HOST:PORT[,HOST:PORT...]: the Hive's instances (hive_addrs.h);
				 * HOST is the name the instance's certificate must carry */
	const char *ca, *cert, *key;
	const char *db_path;    /* the agent's database: incidents wait there until acknowledged */
	const char *agent_id;   /* NULL: the hostname */
	unsigned batch;         /* incidents per frame; 0: 500 */
	unsigned hold_down_s;   /* time on a fallback instance before a preferred one is taken back */
	/* what no fleet verdict may block here (the daemon's set, with --protect
	 * and its own files); NULL: the built-in set */
	const struct protected_set *protect;
	/* the daemon's one check of what no block may cover (its link to the
	 * Hive, protect); NULL: protect and this agent's link (hive_agent_link_in) */
	const struct verdict_guard *guard;
};

struct hive_agent;

/* Start the link's thread. NULL with a one-line reason (bad files, bad address). */
struct hive_agent *hive_agent_start(const struct hive_agent_opts *o, char *err, size_t n);
void hive_agent_stop(struct hive_agent *h);
/* Readable when the Hive pushed something: then call hive_agent_take until NULL. */
int hive_agent_fd(const struct hive_agent *h);
/* The next push ("verdicts", ...), to be applied by the caller; NULL when none. */
cJSON *hive_agent_take(struct hive_agent *h);
/* Propose a verdict to the Hive (--share-verdicts, and `immunectl ... --fleet`
 * on an agent): exec and file proposals carry the file's SHA-256. The Hive
 * queues blocks as proposals and refuses "allow" and "unblock" from agents. */
void hive_agent_share(struct hive_agent *h, const char *verb, const char *kind, const char *target,
		      const char *source);
/* Tell the Hive the version of the fleet verdicts now applied (sent at hello to
 * the instance that sent the set; another instance is asked for its whole set). */
void hive_agent_set_verdict_version(struct hive_agent *h, uint64_t v);
/* Whether the network t holds the address of one of the Hive instances (known
 * as written, or once connected):
 * no block may cut it. */
struct verdict_net;
bool hive_agent_link_in(struct hive_agent *h, const struct verdict_net *t);
/* For `immunectl status`. */
void hive_agent_status(struct hive_agent *h, cJSON *out);
/* The hive_dead_letters table exactly as in schema/immune.sql (a test compares them). */
extern const char hive_dead_letter_sql[];
/* Incidents stored here and not yet acknowledged; -1 on a database error. */
long hive_agent_unacked(struct hive_agent *h);

#endif
