/*
 * The counters' three renderings from one snapshot whose every value is
 * distinct: the status members, the --stats record and the /metrics families
 * are exactly the golden files (tests/data/counters.*), which were checked
 * against the renderings before the table (selftests/tools/counters_shape.sh gives
 * the live shapes to compare); and every row of the table is in at least one.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "counters.h"
#include "metrics.h"
#include "testutil.h"

static struct counter_snap snap(void)
{
	struct counter_snap s;
	memset(&s, 0, sizeof(s));
	s.have_sensor = s.have_detect = s.have_procs = true;
	for (int k = 0; k < EBPF_EVENT_TYPES; k++) {
		s.sensor.events[k] = 100 + k;
		s.sensor.drops[k] = 110 + k;
		s.sensor.enter_miss[k] = 120 + k;
		s.sensor.received[k] = 130 + k;
		s.sensor.filtered[k] = 140 + k;
	}
	s.sensor.scratch_miss = 150;
	s.sensor.perf_lost = 151;
	s.sensor.malformed = 152;
	s.processes = 160;
	s.processes_evicted = 161;
	s.decode_errors = 162;
	s.programs_attached = 163;
	struct detect_stats *d = &s.detect;
	d->rules_loaded = 200;
	d->rules_skipped = 201;
	d->iocs = 202;
	d->events = 203;
	d->incidents = 204;
	d->blocks = 205;
	d->kills = 206;
	d->action_errors = 207;
	d->db_errors = 208;
	d->hash_submitted = 209;
	d->hash_dropped = 210;
	d->hash_cache_hits = 211;
	d->hash_errors = 212;
	d->first_attempt = 213;
	d->after_match = 214;
	d->protected_refusals = 215;
	d->rules_first_attempt = 216;
	d->rules_after_match = 217;
	d->rules_refused = 218;
	d->regex_errors = 219;
	d->signals = 220;
	d->suppressed = 221;
	d->correlations = 222;
	d->correlations_fired = 223;
	d->correlation_groups = 224;
	d->correlation_events_held = 225;
	d->correlation_groups_expired = 226;
	d->correlation_groups_evicted = 227;
	d->correlation_silent_matches = 228;
	return s;
}

static void same(const char *golden, const char *got)
{
	const char *want = read_source(golden);
	if (strcmp(want, got)) {
		/* the output as it is, to compare or to adopt after checking it by hand */
		fprintf(stderr, "%s differs; got:\n%s", golden, got);
		fail_msg("%s differs", golden);
	}
}

/* status's layout: what main.c's status handler does around the hooks */
static void test_status(void **st)
{
	(void)st;
	struct counter_snap s = snap();
	cJSON *r = cJSON_CreateObject();
	counters_status(r, &s, CP_TOP);
	counters_status(r, &s, CP_KIND);
	counters_status(r, &s, CP_SENSOR);
	cJSON *d = cJSON_AddObjectToObject(r, "detection");
	counters_status(d, &s, CP_DETECT);
	cJSON_AddObjectToObject(d, "policy");
	counters_status(d, &s, CP_CORR);
	char *txt = cJSON_Print(r);
	size_t n = strlen(txt);
	char *got = malloc(n + 2);
	memcpy(got, txt, n);
	memcpy(got + n, "\n", 2);
	same("tests/data/counters.status.json", got);
	free(got);
	free(txt);
	cJSON_Delete(r);
}

static void test_stats(void **st)
{
	(void)st;
	struct counter_snap s = snap();
	struct jw w = { 0 };
	jw_reset(&w);
	jw_obj(&w, NULL);
	for (enum counter_part p = CP_KIND; p <= CP_CORR; p++)
		counters_stats(&w, &s, p);
	jw_end_obj(&w);
	jw_append(&w, "\n", 1);
	same("tests/data/counters.stats.json", w.buf);
	/* without the detector, its counters are left out, the sensor's stay */
	s.have_detect = false;
	jw_reset(&w);
	jw_obj(&w, NULL);
	counters_stats(&w, &s, CP_DETECT);
	counters_stats(&w, &s, CP_CORR);
	jw_end_obj(&w);
	assert_string_equal(w.buf, "{}");
	jw_free(&w);
}

static void test_metrics(void **st)
{
	(void)st;
	struct counter_snap s = snap();
	/* two CPUs: slot k's values are 1000 * k + cpu */
	uint64_t percpu[IMM_ST_MAX * 2];
	for (int k = 0; k < IMM_ST_MAX; k++)
		for (int c = 0; c < 2; c++)
			percpu[k * 2 + c] = 1000 * (uint64_t)k + c;
	struct jw w = { 0 };
	jw_reset(&w);
	for (enum counter_part p = CP_TOP; p <= CP_SENSOR; p++)
		metrics_counters(&w, &s, p, percpu, 2);
	metrics_counters(&w, &s, CP_DETECT, NULL, 0);
	metrics_counters(&w, &s, CP_CORR, NULL, 0);
	same("tests/data/counters.metrics.txt", w.buf);
	/* without the per-CPU map, the by-CPU families are left out and nothing else */
	jw_reset(&w);
	metrics_counters(&w, &s, CP_KIND, NULL, 0);
	assert_null(strstr(w.buf, "cpu="));
	assert_non_null(strstr(w.buf, "immune_events_received_total{kind=\"exec\"} 130\n"));
	jw_free(&w);
}

/* Every row shows somewhere, has a family's type and help where it opens one, and reads its own field. */
static void test_table(void **st)
{
	(void)st;
	struct counter_snap s = snap();
	for (size_t i = 0; i < ncounters; i++) {
		const struct counter *c = &counters[i];
		assert_true(c->status || c->stats || c->metric);
		if (c->metric) {
			assert_non_null(c->type);
			if (i == 0 || !counters[i - 1].metric || strcmp(counters[i - 1].metric, c->metric))
				assert_non_null(c->help);
			/* a family's rows are adjacent */
			for (size_t j = i + 2; j < ncounters; j++)
				if (counters[j].metric && !strcmp(counters[j].metric, c->metric))
					assert_true(counters[j - 1].metric && !strcmp(counters[j - 1].metric, c->metric));
		}
		assert_true(counter_value(c, &s, 1) != 0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_status),
		cmocka_unit_test(test_stats),
		cmocka_unit_test(test_metrics),
		cmocka_unit_test(test_table),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
