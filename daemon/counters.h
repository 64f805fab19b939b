/*
 * The daemon's counters, in one table: each row says where the value is read
 * (a field of a snapshot), its key in `immunectl status`, its key in the
 * --stats record and its Prometheus family (name, label, type, help). The
 * three renderings walk the table, so a new counter is one row here
 * (docs/metrics.md, schema/socket.schema.json and schema/event.schema.json
 * say what each shows). Rows come in parts, placed by each rendering where
 * its layout wants them; within a part, every rendering keeps the row order.
 */
#ifndef IMMUNE_COUNTERS_H
#define IMMUNE_COUNTERS_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "detect.h"
#include "ebpf.h"
#include "jsonw.h"

struct proc_table;

/* Everything the counters are read from, taken at once for one rendering. */
struct counter_snap {
	bool have_sensor, have_detect, have_procs;
	struct ebpf_stats sensor;
	struct detect_stats detect;
	uint64_t processes, processes_evicted;
	uint64_t decode_errors;
	uint64_t programs_attached;
};

/* Read the sensor's sums, the detector's and the process table's counts (d, p may be NULL). */
void counter_snap_take(struct counter_snap *s, const struct detect *d, const struct proc_table *p,
		       uint64_t decode_errors);

enum counter_part {
	CP_TOP,    /* status: before the events */
	CP_KIND,   /* by event kind: status events.<kind>.<key>, stats <key>.<kind>, metrics kind="..." */
	CP_SENSOR, /* the losses and the daemon's own counts */
	CP_DETECT, /* status: in "detection", before the policy */
	CP_CORR,   /* status: in "detection", after the policy */
};

enum counter_needs { CN_NONE, CN_SENSOR, CN_DETECT, CN_PROCS };

struct counter {
	enum counter_part part;
	enum counter_needs needs;  /* the snapshot half without which the row is left out */
	const char *status;        /* key in `status`, or NULL */
	const char *stats;         /* key in the --stats record, or NULL */
	const char *metric;        /* Prometheus family, or NULL */
	const char *label_key, *label_val; /* the sample's one label (besides kind and cpu), or NULL */
	const char *type;          /* "counter" or "gauge" */
	const char *help;          /* the family's HELP (on its first row) */
	int percpu;                /* 1 + the sensor's per-CPU stats slot: the family is by CPU, read from the map */
	size_t off, size;          /* the value in struct counter_snap (CP_KIND: an array by kind) */
	uint64_t (*get)(const struct counter_snap *s); /* instead of off: a value made of others */
};

extern const struct counter counters[];
extern const size_t ncounters;

/* Is the row's value in s? */
bool counter_present(const struct counter *c, const struct counter_snap *s);
/* The row's value (kind: the event kind, for CP_KIND). */
uint64_t counter_value(const struct counter *c, const struct counter_snap *s, int kind);
/* The part's rows with a status key into obj (CP_KIND: an "events" object by kind). */
void counters_status(cJSON *obj, const struct counter_snap *s, enum counter_part part);
/* The part's rows with a stats key, as members of the open object (CP_KIND: one object by kind each). */
void counters_stats(struct jw *w, const struct counter_snap *s, enum counter_part part);

#endif
