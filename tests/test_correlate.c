/*
 * Correlation rules over synthetic event sequences: each type, group-by,
 * timespan expiry, ordered against unordered, the quiet period after a fire,
 * chains, aliases, generate, the process tree key, the bounds on state, and
 * the loader's reasons for what it cannot evaluate.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "arena.h"
#include "correlate.h"
#include "detect.h"
#include "jsonw.h"
#include "proc.h"
#include "sigma.h"

#define S 1000000000LL

static const char BASES[] = "title: base a\n"
			    "id: base-a\n"
			    "name: a\n"
			    "logsource: {product: linux, category: process_creation}\n"
			    "detection: {sel: {Image|endswith: '/a'}, condition: sel}\n"
			    "---\n"
			    "title: base b\n"
			    "id: base-b\n"
			    "name: b\n"
			    "logsource: {product: linux, category: process_creation}\n"
			    "detection: {sel: {Image|endswith: '/b'}, condition: sel}\n"
			    "---\n"
			    "title: base c\n"
			    "id: base-c\n"
			    "name: c\n"
			    "logsource: {product: linux, category: network_connection}\n"
			    "detection: {sel: {DestinationPort: '443'}, condition: sel}\n"
			    "---\n"
			    "title: standalone\n"
			    "id: base-alone\n"
			    "logsource: {product: linux, category: process_creation}\n"
			    "detection: {sel: {Image|endswith: '/z'}, condition: sel}\n";

struct fx {
	struct sigma_ruleset rs;
	struct correlator *c;
	char *log;
	size_t loglen;
};

static struct fx *load(const char *corr, const struct corr_limits *lim)
{
	struct fx *f = calloc(1, sizeof(*f));
	char *text;
	assert_non_null(f);
	assert_true(asprintf(&text, "%s---\n%s", BASES, corr) > 0);
	FILE *log = open_memstream(&f->log, &f->loglen);
	sigma_ruleset_init(&f->rs);
	assert_int_equal(sigma_load_text(&f->rs, "t.yml", text, strlen(text), false, log, true), 0);
	corr_resolve(&f->rs, log, true);
	fclose(log);
	free(text);
	f->c = corr_new(&f->rs, lim);
	assert_non_null(f->c);
	return f;
}

static void unload(struct fx *f)
{
	corr_free(f->c);
	sigma_ruleset_free(&f->rs);
	free(f->log);
	free(f);
}

static const struct sigma_rule *rule(struct fx *f, const char *id)
{
	for (int i = 0; i < f->rs.n; i++)
		if (strcmp(f->rs.rules[i]->id, id) == 0)
			return f->rs.rules[i];
	fail_msg("no rule %s", id);
	return NULL;
}

static struct imm_event ev;

static void mk(const char *exe, const char *cmd, const char *user, uint32_t pid, uint32_t ppid, int64_t t)
{
	memset(&ev, 0, sizeof(ev));
	ev.type = EBPF_EVENT_EXEC;
	ev.time_ns = 1700000000 * S + t;
	ev.pid = pid;
	ev.ppid = ppid;
	ev.executable = ev.filename = ev.abs_path = ev.path = exe;
	ev.name = exe;
	ev.command_line = cmd;
	ev.cwd = "/";
	ev.parent_executable = "/usr/bin/bash";
	ev.parent_command_line = "bash";
	ev.user_name = user;
	ev.dst_ip[0] = 0;
}

/* immune.correlation as the incident writer writes it, parsed back */
static cJSON *fire_json(const struct corr_fire *f)
{
	struct jw w = { 0 };
	jw_reset(&w);
	jw_obj(&w, NULL);
	corr_fire_write_json(&w, "c", f);
	jw_end_obj(&w);
	cJSON *top = cJSON_Parse(w.buf);
	jw_free(&w);
	assert_non_null(top);
	cJSON *c = cJSON_DetachItemFromObject(top, "c");
	cJSON_Delete(top);
	assert_non_null(c);
	return c;
}

/* Feed ev as a match of rule id; returns how many correlations fired, the first in *out (else NULL). */
static int feed(struct fx *f, const char *id, struct corr_fire **first)
{
	struct corr_fire *out[8];
	int n = corr_feed(f->c, rule(f, id), &ev, "host1", out, 8);
	if (first)
		*first = n ? out[0] : NULL;
	for (int i = first && n ? 1 : 0; i < n; i++)
		corr_fire_free(out[i]);
	return n;
}

static int feed_exec(struct fx *f, const char *id, const char *exe, const char *cmd, const char *user, int64_t t)
{
	mk(exe, cmd, user, 500, 400, t);
	return feed(f, id, NULL);
}

static void test_event_count_window_and_quiet(void **s)
{
	(void)s;
	struct fx *f = load("title: three a\nid: c-count\ncorrelation:\n  type: event_count\n  rules: [a]\n"
			    "  group-by: [User]\n  timespan: 10s\n  condition: {gte: 3}\nlevel: high\n",
			    NULL);
	assert_non_null(strstr(f->log, "loaded  t.yml c-count: three a [correlation event_count, alert]"));
	/* two, then the third after the window: nothing */
	assert_int_equal(feed_exec(f, "base-a", "/x/a", "a", "alice", 0), 0);
	assert_int_equal(feed_exec(f, "base-a", "/x/a", "a", "alice", 5 * S), 0);
	assert_int_equal(feed_exec(f, "base-a", "/x/a", "a", "alice", 16 * S), 0);
	/* another user's do not count for alice */
	assert_int_equal(feed_exec(f, "base-a", "/x/a", "a", "bob", 17 * S), 0);
	assert_int_equal(feed_exec(f, "base-a", "/x/a", "a", "bob", 17 * S), 0);
	/* alice: 16, 18, 19 are within 10 s */
	assert_int_equal(feed_exec(f, "base-a", "/x/a", "a", "alice", 18 * S), 0);
	struct corr_fire *fi;
	mk("/x/a", "a 3", "alice", 501, 400, 19 * S);
	assert_int_equal(feed(f, "base-a", &fi), 1);
	assert_string_equal(corr_fire_rule(fi)->id, "c-count");
	assert_string_equal(corr_fire_group(fi), "User=alice");
	assert_int_equal(corr_fire_events(fi), 3);
	cJSON *j = fire_json(fi);
	assert_string_equal(cJSON_GetObjectItem(j, "type")->valuestring, "event_count");
	assert_int_equal(cJSON_GetObjectItem(j, "count")->valueint, 3);
	cJSON *evs = cJSON_GetObjectItem(j, "events");
	assert_int_equal(cJSON_GetArraySize(evs), 3);
	assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(evs, 2), "command_line")->valuestring, "a 3");
	assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(evs, 0), "rule_id")->valuestring, "base-a");
	cJSON_Delete(j);
	corr_fire_free(fi);
	/* the burst goes on: one incident per timespan, not one per event */
	for (int i = 0; i < 6; i++)
		assert_int_equal(feed_exec(f, "base-a", "/x/a", "a", "alice", (20 + i) * S), 0);
	/* after the quiet period the window (last 3 within 10 s) fires again */
	assert_int_equal(feed_exec(f, "base-a", "/x/a", "a", "alice", 30 * S), 1);
	struct corr_stats st;
	corr_get_stats(f->c, &st);
	assert_int_equal(st.fired, 2);
	assert_int_equal(st.rules, 1);
	/* base-a only feeds the correlation: its own matches raise nothing */
	assert_false(corr_rule_generates(f->c, rule(f, "base-a")));
	assert_true(corr_rule_generates(f->c, rule(f, "base-alone")));
	assert_true(st.silent_matches > 0);
	unload(f);
}

static void test_value_count_distinct(void **s)
{
	(void)s;
	struct fx *f = load("title: varied\nid: c-val\ncorrelation:\n  type: value_count\n  rules: [a, b]\n"
			    "  group-by: [User]\n  timespan: 1m\n  condition: {field: CommandLine, gt: 2}\n",
			    NULL);
	for (int i = 0; i < 5; i++) /* the same command again and again is one value */
		assert_int_equal(feed_exec(f, "base-a", "/x/a", "a -v", "alice", i * S), 0);
	assert_int_equal(feed_exec(f, "base-b", "/x/b", "b", "alice", 10 * S), 0);
	struct corr_fire *fi;
	mk("/x/a", "a -z", "alice", 502, 400, 11 * S);
	assert_int_equal(feed(f, "base-a", &fi), 1);
	assert_int_equal(corr_fire_events(fi), 3);
	cJSON *j = fire_json(fi);
	cJSON *evs = cJSON_GetObjectItem(j, "events");
	assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(evs, 0), "command_line")->valuestring, "a -v");
	assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(evs, 1), "command_line")->valuestring, "b");
	assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(evs, 2), "command_line")->valuestring, "a -z");
	cJSON_Delete(j);
	corr_fire_free(fi);
	/* values older than the window do not count */
	assert_int_equal(feed_exec(f, "base-a", "/x/a", "p", "bob", 0), 0);
	assert_int_equal(feed_exec(f, "base-a", "/x/a", "q", "bob", 30 * S), 0);
	assert_int_equal(feed_exec(f, "base-a", "/x/a", "r", "bob", 61 * S), 0);
	assert_int_equal(feed_exec(f, "base-a", "/x/a", "s", "bob", 62 * S), 1);
	unload(f);
}

static const char TEMPORAL[] = "title: all three\nid: c-any\ncorrelation:\n  type: temporal\n  rules: [a, b, c]\n"
			       "  group-by: [User]\n  timespan: 30s\n"
			       "---\n"
			       "title: in order\nid: c-ord\ncorrelation:\n  type: temporal_ordered\n  rules: [a, b, c]\n"
			       "  group-by: [User]\n  timespan: 30s\n";

static int feed_conn(struct fx *f, const char *user, int64_t t, const char **fired)
{
	struct corr_fire *out[8];
	mk("/x/nc", "nc", user, 600, 400, t);
	ev.type = EBPF_EVENT_CONNECT;
	ev.family = AF_INET;
	snprintf(ev.dst_ip, sizeof(ev.dst_ip), "198.51.100.9");
	ev.dst_port = 443;
	int n = corr_feed(f->c, rule(f, "base-c"), &ev, "host1", out, 8);
	for (int i = 0; i < n; i++) {
		if (fired)
			fired[i] = corr_fire_rule(out[i])->id;
		corr_fire_free(out[i]);
	}
	return n;
}

static void test_temporal_ordered_and_not(void **s)
{
	(void)s;
	struct fx *f = load(TEMPORAL, NULL);
	const char *fired[8];
	/* c, b, a: every rule within 30 s, but not in order */
	assert_int_equal(feed_conn(f, "alice", 0, NULL), 0);
	assert_int_equal(feed_exec(f, "base-b", "/x/b", "b", "alice", 1 * S), 0);
	struct corr_fire *fi;
	mk("/x/a", "a", "alice", 500, 400, 2 * S);
	assert_int_equal(feed(f, "base-a", &fi), 1);
	assert_string_equal(corr_fire_rule(fi)->id, "c-any");
	assert_int_equal(corr_fire_events(fi), 3);
	corr_fire_free(fi);
	/* a, c, b: ordered has a → nothing at c; b completes a,b; the next c completes the order */
	assert_int_equal(feed_exec(f, "base-a", "/x/a", "a", "bob", 0), 0);
	assert_int_equal(feed_conn(f, "bob", 1 * S, NULL), 0);
	assert_int_equal(feed_exec(f, "base-b", "/x/b", "b", "bob", 2 * S), 1); /* temporal: all three seen */
	assert_int_equal(feed_conn(f, "bob", 3 * S, fired), 1);
	assert_string_equal(fired[0], "c-ord");
	/* in order but spread over more than the timespan: nothing */
	assert_int_equal(feed_exec(f, "base-a", "/x/a", "a", "carol", 0), 0);
	assert_int_equal(feed_exec(f, "base-b", "/x/b", "b", "carol", 20 * S), 0);
	assert_int_equal(feed_conn(f, "carol", 31 * S, NULL), 0);
	/* unordered, b at 20, c at 31 and a at 32 are within 30 s */
	assert_int_equal(feed_exec(f, "base-a", "/x/a", "a", "carol", 32 * S), 1);
	/* and the newer a starts a sequence the ordered rule completes */
	assert_int_equal(feed_exec(f, "base-b", "/x/b", "b", "carol", 33 * S), 0);
	assert_int_equal(feed_conn(f, "carol", 34 * S, fired), 1);
	assert_string_equal(fired[0], "c-ord");
	/* a later step alone starts no sequence and holds no state: only the unordered rule's group is made */
	struct corr_stats st0, st1;
	corr_get_stats(f->c, &st0);
	assert_int_equal(feed_conn(f, "dave", 40 * S, NULL), 0);
	corr_get_stats(f->c, &st1);
	assert_int_equal(st1.groups, st0.groups + 1);
	unload(f);
}

static void test_chain_aliases_generate(void **s)
{
	(void)s;
	struct fx *f = load("title: two a\nid: c-two\nname: two_a\ncorrelation:\n  type: event_count\n  rules: [a]\n"
			    "  group-by: [User]\n  timespan: 1m\n  condition: {gte: 2}\n"
			    "---\n"
			    "title: two a then c\nid: c-chain\ncorrelation:\n  type: temporal_ordered\n"
			    "  rules: [two_a, c]\n  group-by: [User]\n  timespan: 1m\n"
			    "---\n"
			    "title: aliased\nid: c-alias\ngenerate: true\ncorrelation:\n  type: temporal\n  rules: [b, c]\n"
			    "  group-by: [who]\n  timespan: 1m\n"
			    "  aliases:\n    who:\n      b: CommandLine\n      c: User\n",
			    NULL);
	const char *fired[8];
	assert_int_equal(feed_exec(f, "base-a", "/x/a", "a", "alice", 0), 0);
	/* c-two fires, but only feeds c-chain, which does not generate it: no incident of its own */
	assert_int_equal(feed_exec(f, "base-a", "/x/a", "a", "alice", 1 * S), 0);
	struct corr_stats st;
	corr_get_stats(f->c, &st);
	assert_int_equal(st.fired, 1);
	/* the sequence: c-two's completion, then the connect */
	struct corr_fire *fi;
	mk("/x/nc", "nc", "alice", 601, 400, 2 * S);
	ev.type = EBPF_EVENT_CONNECT;
	ev.family = AF_INET;
	snprintf(ev.dst_ip, sizeof(ev.dst_ip), "198.51.100.9");
	ev.dst_port = 443;
	assert_int_equal(feed(f, "base-c", &fi), 1);
	assert_string_equal(corr_fire_rule(fi)->id, "c-chain");
	cJSON *j = fire_json(fi);
	cJSON *evs = cJSON_GetObjectItem(j, "events");
	assert_int_equal(cJSON_GetArraySize(evs), 2);
	assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(evs, 0), "rule_id")->valuestring, "c-two");
	assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(evs, 1), "rule_id")->valuestring, "base-c");
	cJSON_Delete(j);
	corr_fire_free(fi);
	/* a feeds only c-two (no generate); c and b feed c-alias, which says generate: true */
	assert_false(corr_rule_generates(f->c, rule(f, "base-a")));
	assert_true(corr_rule_generates(f->c, rule(f, "base-c")));
	assert_true(corr_rule_generates(f->c, rule(f, "base-b")));
	/* b's command line "mallory" meets c's user "mallory" */
	assert_int_equal(feed_exec(f, "base-b", "/x/b", "mallory", "root", 10 * S), 0);
	assert_int_equal(feed_conn(f, "mallory", 11 * S, fired), 1);
	assert_string_equal(fired[0], "c-alias");
	unload(f);
}

/* The chain enrichment attaches to ev, from t (ev itself enters the table, as in the daemon). */
static void attach(struct proc_table *t, struct arena *a)
{
	static struct imm_event sc;
	sc = ev;
	proc_apply(t, &sc, a);
	ev.nancestors = sc.nancestors;
	memcpy(ev.ancestors, sc.ancestors, sizeof(ev.ancestors));
}

/* exec events into a process table, as the daemon's */
static void spawn(struct proc_table *t, struct arena *a, uint32_t pid, uint32_t ppid, const char *exe)
{
	mk(exe, exe, "alice", pid, ppid, 0);
	proc_apply(t, &ev, a);
}

static void test_process_tree(void **s)
{
	(void)s;
	struct proc_table *t = proc_new(64);
	struct arena a = { 0 };
	char buf[128];
	spawn(t, &a, 100, 1, "/usr/sbin/sshd");
	spawn(t, &a, 101, 100, "/usr/bin/bash");
	spawn(t, &a, 102, 101, "/usr/bin/python3");     /* the reverse shell's launcher */
	spawn(t, &a, 103, 102, "/bin/sh");
	spawn(t, &a, 104, 103, "/usr/bin/dash");         /* sh -c inside it */
	spawn(t, &a, 106, 103, "/usr/bin/sudo");         /* sudo -i */
	spawn(t, &a, 107, 106, "/usr/bin/bash");
	const struct {
		uint32_t pid, ppid;
		const char *exe, *parent, *want;
	} cases[] = {
		{ 105, 104, "/usr/bin/uname", "/usr/bin/dash", "102 /usr/bin/python3" },
		{ 109, 103, "/usr/bin/id", "/bin/sh", "102 /usr/bin/python3" },
		{ 104, 103, "/usr/bin/dash", "/bin/sh", "102 /usr/bin/python3" },
		{ 103, 102, "/bin/sh", "/usr/bin/python3", "102 /usr/bin/python3" },
		/* python itself runs under the login shell: sshd's session */
		{ 102, 101, "/usr/bin/python3", "/usr/bin/bash", "100 /usr/sbin/sshd" },
		/* sudo -i inside the reverse shell keeps its tree */
		{ 108, 107, "/usr/bin/uname", "/usr/bin/bash", "102 /usr/bin/python3" },
		/* no shell above: the process is its own tree */
		{ 300, 1, "/usr/sbin/cron", "/sbin/init", "300 /usr/sbin/cron" },
		/* the chain ends in shells: the topmost one known */
		{ 401, 400, "/usr/bin/id", "/usr/bin/bash", "400 /usr/bin/bash" },
	};
	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		mk(cases[i].exe, cases[i].exe, "alice", cases[i].pid, cases[i].ppid, 0);
		ev.parent_executable = cases[i].parent;
		attach(t, &a);
		corr_tree_root(&ev, buf, sizeof(buf));
		assert_string_equal(buf, cases[i].want);
	}

	/* a burst under one tree fires; the same commands from separate trees do not */
	struct fx *f = load("title: burst\nid: c-burst\ncorrelation:\n  type: value_count\n  rules: [a, b]\n"
			    "  group-by: [ProcessTree]\n  timespan: 5m\n  condition: {field: Image, gte: 3}\n",
			    NULL);
	const char *tools[] = { "/x/a", "/y/a", "/z/b" };
	for (int i = 0; i < 3; i++) { /* each from its own launcher */
		spawn(t, &a, 500 + 10 * i, 1, "/usr/bin/timeout");
		spawn(t, &a, 501 + 10 * i, 500 + 10 * i, "/bin/sh");
		mk(tools[i], tools[i], "alice", 502 + 10 * i, 501 + 10 * i, i * S);
		ev.parent_executable = "/bin/sh";
		attach(t, &a);
		assert_int_equal(feed(f, i == 2 ? "base-b" : "base-a", NULL), 0);
	}
	struct corr_fire *fi = NULL;
	for (int i = 0; i < 3; i++) {
		mk(tools[i], tools[i], "alice", 110 + i, 103, (10 + i) * S);
		ev.parent_executable = "/bin/sh";
		attach(t, &a);
		assert_int_equal(feed(f, i == 2 ? "base-b" : "base-a", i == 2 ? &fi : NULL), i == 2);
	}
	assert_string_equal(corr_fire_group(fi), "ProcessTree=102 /usr/bin/python3");
	corr_fire_free(fi);
	unload(f);
	proc_free(t);
	arena_free(&a);
}

static void test_bounds_and_expiry(void **s)
{
	(void)s;
	struct corr_limits lim = { .max_groups = 4, .max_events = 6 };
	struct fx *f = load("title: five a\nid: c-five\ncorrelation:\n  type: event_count\n  rules: [a]\n"
			    "  group-by: [User]\n  timespan: 10s\n  condition: {gte: 5}\n",
			    &lim);
	char user[16];
	for (int i = 0; i < 10; i++) {
		snprintf(user, sizeof(user), "u%d", i);
		assert_int_equal(feed_exec(f, "base-a", "/x/a", "a", user, 0), 0);
	}
	struct corr_stats st;
	corr_get_stats(f->c, &st);
	assert_int_equal(st.groups, 4);
	assert_int_equal(st.groups_evicted, 6);
	assert_int_equal(st.events_held, 4);
	/* one group may hold at most what its condition needs; the budget evicts the others */
	for (int i = 0; i < 4; i++)
		assert_int_equal(feed_exec(f, "base-a", "/x/a", "a", "u9", i * S), i == 3);
	corr_get_stats(f->c, &st);
	assert_true(st.events_held <= 6);
	/* after the window (and the quiet period) every group goes, counted as expired */
	corr_expire(f->c, 1700000000 * S + 60 * S);
	corr_get_stats(f->c, &st);
	assert_int_equal(st.groups, 0);
	assert_int_equal(st.events_held, 0);
	assert_true(st.groups_expired >= 1);
	unload(f);
}

static void test_hostile_strings_stay_valid_json(void **s)
{
	(void)s;
	struct fx *f = load("title: two a\nid: c-two\ncorrelation:\n  type: event_count\n  rules: [a]\n"
			    "  group-by: [CommandLine]\n  timespan: 1m\n  condition: {gte: 2}\n",
			    NULL);
	char cmd[600];
	memset(cmd, 'x', sizeof(cmd) - 1);
	cmd[sizeof(cmd) - 1] = 0;
	memcpy(cmd, "a \"q\"\n\xff\xfe", 9);
	assert_int_equal(feed_exec(f, "base-a", "/x/a", cmd, "alice", 0), 0);
	struct corr_fire *fi;
	mk("/x/a", cmd, "alice", 9, 8, 1);
	assert_int_equal(feed(f, "base-a", &fi), 1);
	cJSON *j = fire_json(fi);
	assert_non_null(j);
	const char *c = cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "events"), 0), "command_line")
				->valuestring;
	assert_true(strncmp(c, "a \"q\"\n", 6) == 0);
	assert_true(strlen(c) < 300); /* kept bounded */
	cJSON_Delete(j);
	corr_fire_free(fi);
	unload(f);
}

static void test_loader_reasons(void **s)
{
	(void)s;
	static const struct {
		const char *yaml, *why;
	} cases[] = {
		{ "title: x\nid: k1\ncorrelation: {type: value_sum, rules: [a], group-by: [User], timespan: 1m, "
		  "condition: {field: User, gt: 1}}\n",
		  "skipped t.yml k1: correlation type 'value_sum' not supported" },
		{ "title: x\nid: k2\ncorrelation: {type: event_count, rules: [nope], group-by: [User], timespan: 1m, "
		  "condition: {gte: 2}}\n",
		  "skipped t.yml k2: rule 'nope' is not loaded" },
		{ "title: x\nid: k3\ncorrelation: {type: event_count, rules: [a], group-by: [User], timespan: 1m, "
		  "condition: {lt: 5}}\n",
		  "skipped t.yml k3: a condition without gt, gte or eq" },
		{ "title: x\nid: k4\ncorrelation: {type: event_count, rules: [a], group-by: [Hashes], timespan: 1m, "
		  "condition: {gte: 2}}\n",
		  "skipped t.yml k4: field Hashes not produced by the agent" },
		{ "title: x\nid: k5\ncorrelation: {type: event_count, rules: [a], group-by: [TargetFilename], "
		  "timespan: 1m, condition: {gte: 2}}\n",
		  "skipped t.yml k5: field TargetFilename not available for process_creation (rule a)" },
		{ "title: x\nid: k6\ncorrelation: {type: event_count, rules: [a], group-by: [User], timespan: 5w, "
		  "condition: {gte: 2}}\n",
		  "skipped t.yml k6: timespan must be" },
		{ "title: x\nid: k7\nname: l7\ncorrelation: {type: temporal, rules: [l8, a], group-by: [User], "
		  "timespan: 1m}\n---\ntitle: y\nid: k8\nname: l8\ncorrelation: {type: temporal, rules: [l7, a], "
		  "group-by: [User], timespan: 1m}\n",
		  "skipped t.yml k8: correlations refer to each other in a loop (through 'l7')" },
		{ "title: x\nid: k9\ncorrelation: {type: value_count, rules: [a], group-by: [User], timespan: 1m, "
		  "condition: {gte: 2}}\n",
		  "skipped t.yml k9: value_count needs condition.field" },
		{ "title: x\nid: k10\ncorrelation: {type: temporal, rules: [a, b], group-by: [User], timespan: 1m, "
		  "condition: {gte: 3}}\n",
		  "skipped t.yml k10: the condition asks for 3 rules of 2" },
		{ "title: x\nid: k11\nimmune: {action: block}\ncorrelation: {type: temporal, rules: [a, b], "
		  "group-by: [User], timespan: 1m}\n",
		  "skipped t.yml k11: immune.action: correlations only alert" },
		{ "title: x\nid: k12\ncorrelation: {type: event_count, rules: [a], group-by: [User], timespan: 1m, "
		  "condition: {gte: 5000}}\n",
		  "skipped t.yml k12: the condition holds for no count up to 1024" },
		{ "title: x\nid: k13\ncorrelation: 5\n", "skipped t.yml k13: correlation must be a map" },
		{ "title: x\nid: k14\ncorrelation: {type: temporal, rules: [{x: y}], group-by: [User], timespan: 1m}\n",
		  "skipped t.yml k14: rules: an item is not text" },
		{ "title: x\nid: k15\ncorrelation: {type: temporal, rules: [a, b], group-by: [User], timespan: 1m, "
		  "aliases: {User: {nope: User}}}\n",
		  "skipped t.yml k15: aliases.User: 'nope' is not one of the correlation's rules" },
		{ "title: x\nid: k16\ngenerate: maybe\ncorrelation: {type: temporal, rules: [a, b], group-by: [User], "
		  "timespan: 1m}\n",
		  "skipped t.yml k16: generate must be true or false" },
		{ "title: x\nid: k17\ncorrelation: {type: temporal, rules: [a, b, c, d, e, f, g, h, i, j, k, l, m, n, o, "
		  "p, q], group-by: [User], timespan: 1m}\n",
		  "skipped t.yml k17: rules: more than 16 entries" },
		{ "title: x\nid: k18\ncorrelation: {type: temporal, rules: [a, a], group-by: [User], timespan: 1m}\n",
		  "skipped t.yml k18: rule 'a' named twice" },
		{ "id: k19\ncorrelation: {type: temporal, rules: [a, b], group-by: [User], timespan: 1m}\n",
		  "skipped t.yml k19: no title" },
	};
	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct fx *f = load(cases[i].yaml, NULL);
		if (!strstr(f->log, cases[i].why))
			fail_msg("case %u: want '%s' in:\n%s", i, cases[i].why, f->log);
		struct corr_stats st;
		corr_get_stats(f->c, &st);
		assert_int_equal(st.rules, 0);
		/* the base rules stay, and generate again: nothing in force uses them */
		assert_true(corr_rule_generates(f->c, rule(f, "base-a")));
		unload(f);
	}
}

/* --check-rules resolves what a file names against the built-in rules too, as the daemon does, and lists
 * only the file's own rules and correlations */
static void test_check_rules_lists_correlations(void **s)
{
	(void)s;
	char path[] = "/tmp/immune-test-corr-XXXXXX.yml";
	int fd = mkstemps(path, 4);
	assert_true(fd >= 0);
	static const char y[] = "title: shadow twice\nid: u-1\ncorrelation:\n  type: event_count\n"
				"  rules: [6f1e0a01-3c2d-4b8e-9a01-000000000007]\n  group-by: [User]\n  timespan: 1h\n"
				"  condition: {gte: 2}\n"
				"---\n"
				"title: nothing\nid: u-2\ncorrelation: {type: temporal, rules: [u-3, u-1], group-by: [User], "
				"timespan: 1m}\n";
	assert_int_equal(write(fd, y, sizeof(y) - 1), (ssize_t)(sizeof(y) - 1));
	close(fd);
	char *buf = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&buf, &len);
	char *paths[] = { path };
	assert_int_equal(detect_check_rules(1, paths, NULL, NULL, true, true, out), 0);
	fclose(out);
	char want[512];
	snprintf(want, sizeof(want), "loaded  %s u-1: shadow twice [correlation event_count, alert]\n", path);
	assert_non_null(strstr(buf, want));
	snprintf(want, sizeof(want), "skipped %s u-2: rule 'u-3' is not loaded\n", path);
	assert_non_null(strstr(buf, want));
	assert_non_null(strstr(buf, "1 loaded, 1 skipped\n"));
	assert_null(strstr(buf, "builtin:"));
	free(buf);
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_event_count_window_and_quiet),
		cmocka_unit_test(test_value_count_distinct),
		cmocka_unit_test(test_temporal_ordered_and_not),
		cmocka_unit_test(test_chain_aliases_generate),
		cmocka_unit_test(test_process_tree),
		cmocka_unit_test(test_bounds_and_expiry),
		cmocka_unit_test(test_hostile_strings_stay_valid_json),
		cmocka_unit_test(test_loader_reasons),
		cmocka_unit_test(test_check_rules_lists_correlations),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
