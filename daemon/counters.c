/* The counters' table and its status and --stats renderings; see counters.h (metrics.c renders /metrics). */
#include "counters.h"
#include "event_json.h"
#include "immune.h"
#include "proc.h"

#include <string.h>

#define F(field) .off = offsetof(struct counter_snap, field), .size = sizeof(((struct counter_snap *)0)->field)

/* drops in the kernel, perf losses and unreadable records: everything lost before detection */
static uint64_t lost_total(const struct counter_snap *s)
{
	uint64_t lost = s->sensor.perf_lost + s->sensor.malformed;
	for (int k = 0; k < EBPF_EVENT_TYPES; k++)
		lost += s->sensor.drops[k];
	return lost;
}

const struct counter counters[] = {
	{ CP_TOP, CN_NONE, "programs_attached", NULL, "immune_bpf_programs_attached", NULL, NULL, "gauge",
	  "Sensor programs attached.", 0, F(programs_attached), NULL },

	{ CP_KIND, CN_SENSOR, "emitted", "events", "immune_events_total", NULL, NULL, "counter",
	  "Records the kernel emitted, by kind and CPU.", 1 + IMM_ST_EVENTS, F(sensor.events), NULL },
	{ CP_KIND, CN_SENSOR, "received", "received", "immune_events_received_total", NULL, NULL, "counter",
	  "Records the daemon read from the buffer, by kind.", 0, F(sensor.received), NULL },
	{ CP_KIND, CN_SENSOR, "lost", "drops", "immune_events_dropped_total", NULL, NULL, "counter",
	  "Records lost in the kernel (ring or perf buffer full), by kind and CPU.", 1 + IMM_ST_DROPS, F(sensor.drops),
	  NULL },
	{ CP_KIND, CN_SENSOR, NULL, "enter_miss", "immune_events_enter_missed_total", NULL, NULL, "counter",
	  "Syscall exits seen without their entry, by kind and CPU.", 1 + IMM_ST_ENTER_MISS, F(sensor.enter_miss), NULL },
	{ CP_KIND, CN_SENSOR, "filtered", "filtered", "immune_events_filtered_total", NULL, NULL, "counter",
	  "Events no loaded rule or indicator could use, left in the kernel without a record (opens, without --events "
	  "open), by kind. Not a loss.",
	  0, F(sensor.filtered), NULL },

	{ CP_SENSOR, CN_SENSOR, "perf_lost", "perf_lost", "immune_perf_lost_total", NULL, NULL, "counter",
	  "Perf buffer samples lost in transit (all kinds).", 0, F(sensor.perf_lost), NULL },
	{ CP_SENSOR, CN_SENSOR, "malformed", "malformed", "immune_records_malformed_total", NULL, NULL, "counter",
	  "Records the daemon could not read.", 0, F(sensor.malformed), NULL },
	{ CP_SENSOR, CN_SENSOR, NULL, "lost_total", "immune_events_lost_total", NULL, NULL, "counter",
	  "Everything lost between the kernel and detection: drops, perf losses and malformed records.", 0, 0, 0,
	  lost_total },
	{ CP_SENSOR, CN_SENSOR, NULL, "scratch_miss", "immune_scratch_missed_total", NULL, NULL, "counter",
	  "Events lost for want of per-CPU scratch space, by CPU.", 1 + IMM_ST_SCRATCH_MISS, F(sensor.scratch_miss),
	  NULL },
	{ CP_SENSOR, CN_NONE, NULL, "decode_errors", "immune_decode_errors_total", NULL, NULL, "counter",
	  "Records that did not decode.", 0, F(decode_errors), NULL },
	{ CP_SENSOR, CN_PROCS, "processes", "processes", "immune_processes", NULL, NULL, "gauge",
	  "Processes in the daemon's process table.", 0, F(processes), NULL },
	{ CP_SENSOR, CN_PROCS, NULL, "processes_evicted", "immune_processes_evicted_total", NULL, NULL, "counter",
	  "Processes evicted from a full process table.", 0, F(processes_evicted), NULL },

	{ CP_DETECT, CN_DETECT, "rules", "rules", "immune_rules", "state", "loaded", "gauge",
	  "Sigma rules in the set in force, loaded or skipped.", 0, F(detect.rules_loaded), NULL },
	{ CP_DETECT, CN_DETECT, "rules_skipped", NULL, "immune_rules", "state", "skipped", "gauge", NULL, 0,
	  F(detect.rules_skipped), NULL },
	{ CP_DETECT, CN_DETECT, "indicators", NULL, "immune_indicators", NULL, NULL, "gauge",
	  "IOC indicators loaded from --ioc files.", 0, F(detect.iocs), NULL },
	{ CP_DETECT, CN_DETECT, NULL, NULL, "immune_detection_events_total", NULL, NULL, "counter",
	  "Events matched against the rules and indicators.", 0, F(detect.events), NULL },
	{ CP_DETECT, CN_DETECT, "incidents", "incidents", NULL, NULL, NULL, NULL, NULL, 0, F(detect.incidents), NULL },
	{ CP_DETECT, CN_DETECT, NULL, "signals", NULL, NULL, NULL, NULL, NULL, 0, F(detect.signals), NULL },
	{ CP_DETECT, CN_DETECT, NULL, "suppressed", NULL, NULL, NULL, NULL, NULL, 0, F(detect.suppressed), NULL },
	{ CP_DETECT, CN_DETECT, "blocks", "blocks", "immune_actions_total", "action", "block", "counter",
	  "Blocks and kills the rules and indicators carried out.", 0, F(detect.blocks), NULL },
	{ CP_DETECT, CN_DETECT, "kills", "kills", "immune_actions_total", "action", "kill", "counter", NULL, 0,
	  F(detect.kills), NULL },
	{ CP_DETECT, CN_DETECT, "first_attempt", NULL, NULL, NULL, NULL, NULL, NULL, 0, F(detect.first_attempt), NULL },
	{ CP_DETECT, CN_DETECT, "after_match", NULL, NULL, NULL, NULL, NULL, NULL, 0, F(detect.after_match), NULL },
	{ CP_DETECT, CN_DETECT, "rules_first_attempt", NULL, NULL, NULL, NULL, NULL, NULL, 0,
	  F(detect.rules_first_attempt), NULL },
	{ CP_DETECT, CN_DETECT, "rules_after_match", NULL, NULL, NULL, NULL, NULL, NULL, 0, F(detect.rules_after_match),
	  NULL },
	{ CP_DETECT, CN_DETECT, "rules_refused", NULL, NULL, NULL, NULL, NULL, NULL, 0, F(detect.rules_refused), NULL },
	{ CP_DETECT, CN_DETECT, "protected_refusals", NULL, NULL, NULL, NULL, NULL, NULL, 0,
	  F(detect.protected_refusals), NULL },
	{ CP_DETECT, CN_DETECT, NULL, "action_errors", "immune_action_errors_total", NULL, NULL, "counter",
	  "Blocks or kills that could not be carried out.", 0, F(detect.action_errors), NULL },
	{ CP_DETECT, CN_DETECT, NULL, "db_errors", "immune_incident_store_errors_total", NULL, NULL, "counter",
	  "Incidents the database could not store.", 0, F(detect.db_errors), NULL },
	{ CP_DETECT, CN_DETECT, NULL, NULL, "immune_hash_jobs_total", "outcome", "submitted", "counter",
	  "Executables queued for SHA-256 against the indicators, by outcome.", 0, F(detect.hash_submitted), NULL },
	{ CP_DETECT, CN_DETECT, NULL, "hash_dropped", "immune_hash_jobs_total", "outcome", "dropped", "counter", NULL, 0,
	  F(detect.hash_dropped), NULL },
	{ CP_DETECT, CN_DETECT, NULL, NULL, "immune_hash_jobs_total", "outcome", "cached", "counter", NULL, 0,
	  F(detect.hash_cache_hits), NULL },
	{ CP_DETECT, CN_DETECT, NULL, NULL, "immune_hash_jobs_total", "outcome", "error", "counter", NULL, 0,
	  F(detect.hash_errors), NULL },
	{ CP_DETECT, CN_DETECT, "regex_errors", "regex_errors", NULL, NULL, NULL, NULL, NULL, 0, F(detect.regex_errors),
	  NULL },

	{ CP_CORR, CN_DETECT, "correlations", NULL, "immune_correlation_rules", NULL, NULL, "gauge",
	  "Correlation rules in the set in force.", 0, F(detect.correlations), NULL },
	{ CP_CORR, CN_DETECT, "correlations_fired", NULL, "immune_correlations_fired_total", NULL, NULL, "counter",
	  "Correlation rules that fired (each an incident).", 0, F(detect.correlations_fired), NULL },
	{ CP_CORR, CN_DETECT, "correlation_groups", NULL, "immune_correlation_groups", NULL, NULL, "gauge",
	  "Correlation groups whose window is open.", 0, F(detect.correlation_groups), NULL },
	{ CP_CORR, CN_DETECT, NULL, NULL, "immune_correlation_events_held", NULL, NULL, "gauge",
	  "Events held by open correlation groups.", 0, F(detect.correlation_events_held), NULL },
	{ CP_CORR, CN_DETECT, "correlation_groups_expired", NULL, "immune_correlation_groups_closed_total", "reason",
	  "expired", "counter",
	  "Correlation groups closed: expired at the end of their window, or evicted for room before it (their state "
	  "lost).",
	  0, F(detect.correlation_groups_expired), NULL },
	{ CP_CORR, CN_DETECT, "correlation_groups_evicted", "correlation_groups_evicted",
	  "immune_correlation_groups_closed_total", "reason", "evicted", "counter", NULL, 0,
	  F(detect.correlation_groups_evicted), NULL },
	{ CP_CORR, CN_DETECT, "correlation_silent_matches", NULL, "immune_correlation_silent_matches_total", NULL, NULL,
	  "counter", "Matches of rules that only feed correlations (no incident of their own).", 0,
	  F(detect.correlation_silent_matches), NULL },
};
const size_t ncounters = sizeof(counters) / sizeof(counters[0]);

void counter_snap_take(struct counter_snap *s, const struct detect *d, const struct proc_table *p,
		       uint64_t decode_errors)
{
	memset(s, 0, sizeof(*s));
	s->have_sensor = ebpf_get_stats(&s->sensor) == 0;
	if ((s->have_detect = d != NULL))
		detect_get_stats(d, &s->detect);
	if ((s->have_procs = p != NULL)) {
		s->processes = proc_count(p);
		s->processes_evicted = proc_evicted(p);
	}
	s->decode_errors = decode_errors;
	s->programs_attached = (uint64_t)ebpf_programs_attached();
}

bool counter_present(const struct counter *c, const struct counter_snap *s)
{
	switch (c->needs) {
	case CN_SENSOR:
		return s->have_sensor;
	case CN_DETECT:
		return s->have_detect;
	case CN_PROCS:
		return s->have_procs;
	default:
		return true;
	}
}

uint64_t counter_value(const struct counter *c, const struct counter_snap *s, int kind)
{
	const char *at = (const char *)s + c->off;
	uint64_t v64;
	unsigned v32;

	if (c->get)
		return c->get(s);
	if (c->part == CP_KIND) {
		memcpy(&v64, at + (size_t)kind * sizeof(uint64_t), sizeof(v64));
		return v64;
	}
	if (c->size == sizeof(v32)) {
		memcpy(&v32, at, sizeof(v32));
		return v32;
	}
	memcpy(&v64, at, sizeof(v64));
	return v64;
}

void counters_status(cJSON *obj, const struct counter_snap *s, enum counter_part part)
{
	if (part == CP_KIND) {
		if (!s->have_sensor)
			return;
		cJSON *ev = cJSON_AddObjectToObject(obj, "events");
		for (int k = 0; k < EBPF_EVENT_TYPES; k++) {
			cJSON *o = cJSON_AddObjectToObject(ev, event_kind_name(k));
			for (size_t i = 0; i < ncounters; i++)
				if (counters[i].part == CP_KIND && counters[i].status)
					cJSON_AddNumberToObject(o, counters[i].status, (double)counter_value(&counters[i], s, k));
		}
		return;
	}
	for (size_t i = 0; i < ncounters; i++)
		if (counters[i].part == part && counters[i].status && counter_present(&counters[i], s))
			cJSON_AddNumberToObject(obj, counters[i].status, (double)counter_value(&counters[i], s, 0));
}

void counters_stats(struct jw *w, const struct counter_snap *s, enum counter_part part)
{
	for (size_t i = 0; i < ncounters; i++) {
		const struct counter *c = &counters[i];
		if (c->part != part || !c->stats || !counter_present(c, s))
			continue;
		if (part != CP_KIND) {
			jw_uint(w, c->stats, counter_value(c, s, 0));
			continue;
		}
		jw_obj(w, c->stats);
		for (int k = 0; k < EBPF_EVENT_TYPES; k++)
			jw_uint(w, event_kind_name(k), counter_value(c, s, k));
		jw_end_obj(w);
	}
}
