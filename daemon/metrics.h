/*
 * The Prometheus endpoint (--metrics ADDR:PORT): a non-blocking HTTP/1.0
 * server in the daemon's loop that answers GET /metrics with the text
 * exposition format (docs/metrics.md lists every family). It reads the
 * sensor's per-CPU counters, the verdict maps and the BPF programs' run
 * statistics itself, and the daemon's parts through the pointers it is
 * given, so a reload's new detector is what it reads.
 */
#ifndef IMMUNE_METRICS_H
#define IMMUNE_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include "counters.h"
#include "jsonw.h"

struct detect;
struct proc_table;
struct hive_agent;
struct verdicts;

/* What the daemon has; each pointer is read at every scrape (NULL: that part is not running). */
struct metrics_sources {
	struct detect *const *detector;
	struct proc_table *const *procs;
	struct hive_agent *const *hive;
	struct verdicts *const *verdicts;
	struct bpf_object *(*enforce_object)(void); /* the enforcement programs, or NULL */
	const uint64_t *reloads, *reload_failures;
	const uint64_t *decode_errors;
};

/*
 * "PORT", ":PORT", "ADDR:PORT" or "[ADDR6]:PORT"; no address means
 * 127.0.0.1 (loopback unless the operator names another). out may be NULL
 * (only check). 0, or -1 with the reason in err.
 */
int metrics_parse_addr(const char *s, struct sockaddr_storage *out, char *err, size_t n);

struct metrics;

struct metrics *metrics_open(const char *addr, const struct metrics_sources *src, char *err, size_t n);
void metrics_close(struct metrics *m);
/* Poll this for POLLIN; then call metrics_dispatch(). */
int metrics_fd(const struct metrics *m);
/* Accept, read requests and answer, without blocking; a client is given at most 2 s. */
void metrics_dispatch(struct metrics *m);
/* For detect_opts.on_incident: incidents by rule and level. */
void metrics_count_incident(void *m, const char *rule_id, const char *level);
/*
 * The families of one part of the counters' table (counters.h), in its order:
 * by-CPU rows from percpu (ncpu values a sensor stats slot; NULL: those rows
 * are left out), the others from s.
 */
void metrics_counters(struct jw *w, const struct counter_snap *s, enum counter_part part, const uint64_t *percpu,
		      int ncpu);
/* The whole exposition, as a scrape gets it (malloc'd, NUL-terminated; NULL when out of memory). */
char *metrics_render(struct metrics *m, size_t *len);

#endif
