/* Replay: recorded events through rules, IOCs, actions and the store, with the incidents expected. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ioc.h"
#include "replay.h"
#include "verdict.h"

#define EVENTS "tests/data/replay_events.jsonl"

static FILE *devnull;

/* Run a replay; returns the JSON lines printed as one cJSON array. */
static cJSON *replay_json(struct detect_opts *o, const char *file, struct replay_stats *st, char **log)
{
	char *out = NULL, *lbuf = NULL;
	size_t olen = 0, llen = 0;
	FILE *of = open_memstream(&out, &olen);
	FILE *lf = open_memstream(&lbuf, &llen);
	o->format = DETECT_OUT_JSON;
	o->log = lf;
	o->host = "replay-host";
	assert_int_equal(replay_run(file, o, of, st), 0);
	fclose(of);
	fclose(lf);
	cJSON *arr = cJSON_CreateArray();
	for (char *save = NULL, *l = strtok_r(out, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		cJSON *j = cJSON_Parse(l);
		if (!j)
			fail_msg("not JSON: %s", l);
		cJSON_AddItemToArray(arr, j);
	}
	free(out);
	if (log)
		*log = lbuf;
	else
		free(lbuf);
	return arr;
}

static const char *str(const cJSON *j, const char *a, const char *b)
{
	const cJSON *o = cJSON_GetObjectItem(j, a);
	o = b ? cJSON_GetObjectItem(o, b) : o;
	return cJSON_IsString(o) ? o->valuestring : "";
}

static void test_builtin_incidents(void **s)
{
	(void)s;
	/* IMMUNE's own rules: the vendored SigmaHQ ones are left out by folder */
	static const char *const no_sigma[] = { "sigma" };
	struct detect_opts o = { .disable = no_sigma, .ndisable = 1 };
	struct replay_stats st;
	char *log;
	cJSON *arr = replay_json(&o, EVENTS, &st, &log);
	assert_int_equal(st.lines, 12);
	assert_int_equal(st.events, 10);
	assert_int_equal(st.malformed, 2);
	/* malformed lines: file:line and the reason, and the replay goes on */
	assert_non_null(strstr(log, EVENTS ":8: not a JSON object, skipped\n"));
	assert_non_null(strstr(log, EVENTS ":9: event.action 'teleport' is not exec"));
	free(log);
	static const struct {
		int pid;
		const char *rule;
	} want[] = {
		{ 4001, "6f1e0a01-3c2d-4b8e-9a01-000000000001" }, /* exec from /tmp */
		{ 4003, "6f1e0a01-3c2d-4b8e-9a01-000000000007" }, /* cat /etc/shadow */
		{ 4005, "6f1e0a01-3c2d-4b8e-9a01-000000000011" }, /* authorized_keys */
		{ 4006, "6f1e0a01-3c2d-4b8e-9a01-000000000018" }, /* port 4444 */
		{ 4006, "6f1e0a01-3c2d-4b8e-9a01-000000000004" }, /* bash connect */
		/* the correlation: cat /etc/shadow, then a connect out, both under bash 4000 */
		{ 4006, "5d1c3a0e-7f2b-4c8e-9a61-1c0de5c0a020" },
		{ 4007, "6f1e0a01-3c2d-4b8e-9a01-000000000006" }, /* /dev/tcp */
		{ 4007, "6f1e0a01-3c2d-4b8e-9a01-000000000003" }, /* nginx → bash */
		{ 4010, "6f1e0a01-3c2d-4b8e-9a01-000000000012" }, /* ld.so.preload */
	};
	int n = sizeof(want) / sizeof(want[0]);
	assert_int_equal(cJSON_GetArraySize(arr), n);
	assert_int_equal(st.incidents, (uint64_t)n);
	for (int i = 0; i < n; i++) {
		cJSON *j = cJSON_GetArrayItem(arr, i);
		assert_string_equal(str(j, "rule", "id"), want[i].rule);
		assert_int_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "process"), "pid")->valueint, want[i].pid);
		assert_string_equal(str(j, "rule", "author"), "IMMUNE");
		if (strcmp(want[i].rule, "5d1c3a0e-7f2b-4c8e-9a61-1c0de5c0a020") == 0) {
			const cJSON *c = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "immune"), "correlation");
			assert_string_equal(str(j, "rule", "category"), "correlation");
			assert_string_equal(cJSON_GetObjectItem(c, "type")->valuestring, "temporal_ordered");
			assert_string_equal(cJSON_GetObjectItem(c, "group")->valuestring, "ProcessTree=4000 /usr/bin/bash");
			const cJSON *evs = cJSON_GetObjectItem(c, "events");
			assert_int_equal(cJSON_GetArraySize(evs), 2);
			assert_int_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(evs, 0), "pid")->valueint, 4003);
			assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(evs, 0), "target")->valuestring,
					    "/etc/shadow");
			assert_int_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(evs, 1), "pid")->valueint, 4006);
			assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(evs, 1), "target")->valuestring,
					    "203.0.113.7:4444");
		}
		assert_string_equal(str(j, "immune", "verdict"), "alerted");
		assert_string_equal(str(j, "host", "name"), "replay-host");
		assert_string_equal(str(j, "event", "kind"), "alert");
	}
	cJSON_Delete(arr);
}

struct calls {
	int inode, net, kill;
	char last_kind[16], last_source[64], last_ip[64];
	uint64_t last_ino;
	uint16_t last_port;
	uint32_t last_pid;
};

static int cb_inode(void *ctx, const char *kind, uint64_t dev, uint64_t ino, const char *path, const char *source)
{
	struct calls *c = ctx;
	(void)dev;
	(void)path;
	c->inode++;
	snprintf(c->last_kind, sizeof(c->last_kind), "%s", kind);
	snprintf(c->last_source, sizeof(c->last_source), "%s", source);
	c->last_ino = ino;
	return strcmp(kind, "file") == 0 ? -EPERM : 0; /* file blocks fail: the incident must say so */
}

static int cb_net(void *ctx, const char *ip, uint16_t port, const char *source)
{
	struct calls *c = ctx;
	c->net++;
	snprintf(c->last_ip, sizeof(c->last_ip), "%s", ip);
	snprintf(c->last_source, sizeof(c->last_source), "%s", source);
	c->last_port = port;
	return 0;
}

static int cb_kill(void *ctx, uint32_t pid)
{
	struct calls *c = ctx;
	c->kill++;
	c->last_pid = pid;
	return 0;
}

static void test_actions_and_store(void **s)
{
	(void)s;
	struct calls c = { 0 };
	char dir[] = "/tmp/immune-replay-XXXXXX", db[600];
	assert_non_null(mkdtemp(dir));
	snprintf(db, sizeof(db), "%s/immune.db", dir);
	const char *rules[] = { "tests/data/rules_actions.yml" };
	struct detect_opts o = {
		.rule_paths = rules, .nrule_paths = 1, .no_builtin = true, .db_path = db,
		.actions = { .ctx = &c, .block_inode = cb_inode, .block_net = cb_net, .kill_pid = cb_kill },
	};
	struct replay_stats st;
	cJSON *arr = replay_json(&o, EVENTS, &st, NULL);
	assert_int_equal(cJSON_GetArraySize(arr), 3);
	cJSON *j = cJSON_GetArrayItem(arr, 0);
	assert_string_equal(str(j, "rule", "id"), "test-block-exec");
	assert_string_equal(str(j, "immune", "action"), "block");
	assert_string_equal(str(j, "immune", "verdict"), "denied");
	j = cJSON_GetArrayItem(arr, 1);
	assert_string_equal(str(j, "rule", "id"), "test-kill-net");
	assert_string_equal(str(j, "immune", "verdict"), "killed");
	j = cJSON_GetArrayItem(arr, 2);
	assert_string_equal(str(j, "rule", "id"), "test-block-file");
	assert_string_equal(str(j, "immune", "verdict"), "alerted");
	assert_string_equal(str(j, "immune", "verdict_error"), "block: Operation not permitted");
	cJSON_Delete(arr);
	assert_int_equal(c.inode, 2);
	/* program plus destination: that process is killed, the address is not blocked for everyone */
	assert_int_equal(c.net, 0);
	assert_int_equal(c.kill, 1);
	assert_int_equal(c.last_pid, 4006);
	assert_int_equal(c.last_ino, 1001);
	assert_string_equal(c.last_source, "rule:test-block-file");

	sqlite3 *q;
	sqlite3_stmt *stmt;
	assert_int_equal(sqlite3_open(db, &q), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(q, "SELECT rule_id, action, verdict, target, rule_author FROM incidents ORDER BY id",
					    -1, &stmt, NULL),
			 SQLITE_OK);
	static const char *want[3][4] = {
		{ "test-block-exec", "block", "denied", "/tmp/.x/payload" },
		{ "test-kill-net", "kill", "killed", "203.0.113.7:4444" },
		{ "test-block-file", "block", "alerted", "/etc/ld.so.preload" },
	};
	for (int i = 0; i < 3; i++) {
		assert_int_equal(sqlite3_step(stmt), SQLITE_ROW);
		for (int k = 0; k < 4; k++)
			assert_string_equal((const char *)sqlite3_column_text(stmt, k), want[i][k]);
		assert_string_equal((const char *)sqlite3_column_text(stmt, 4), "IMMUNE tests");
	}
	assert_int_equal(sqlite3_step(stmt), SQLITE_DONE);
	sqlite3_finalize(stmt);
	sqlite3_close(q);
	char cmd[700];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

/* IOCs: a path, an IP and the SHA-256 of a real file, found through replay. */
static void test_iocs(void **s)
{
	(void)s;
	char dir[] = "/tmp/immune-ioc-XXXXXX", exe[600], iocf[600], evf[600];
	assert_non_null(mkdtemp(dir));
	snprintf(exe, sizeof(exe), "%s/evil-bin", dir);
	snprintf(iocf, sizeof(iocf), "%s/iocs.txt", dir);
	snprintf(evf, sizeof(evf), "%s/events.jsonl", dir);
	FILE *f = fopen(exe, "w");
	fputs("#!/bin/sh\necho pwned\n", f);
	fclose(f);
	uint8_t sha[32];
	char hex[65];
	int fd = open(exe, O_RDONLY);
	assert_int_equal(ioc_sha256_fd(fd, sha, NULL), 0);
	close(fd);
	ioc_hex(sha, 32, hex);
	f = fopen(iocf, "w");
	fprintf(f, "# test set\nsha256:%s\npath:/etc/ld.so.preload\naction: block\n198.51.100.0/24\nbad line here\n", hex);
	fclose(f);
	f = fopen(evf, "w");
	/* evil-bin's parent exits before the hash is done: the incident still names it (the chain is copied) */
	fprintf(f,
		"{\"@timestamp\":\"2026-11-24T04:59:59Z\",\"event\":{\"action\":\"exec\",\"outcome\":\"success\"},"
		"\"process\":{\"pid\":9,\"executable\":\"/usr/bin/launcher-%s\",\"command_line\":\"launcher\"}}\n"
		"{\"@timestamp\":\"2026-11-24T05:00:00Z\",\"event\":{\"action\":\"exec\",\"outcome\":\"success\"},"
		"\"process\":{\"pid\":10,\"executable\":\"%s\",\"command_line\":\"evil-bin\",\"parent\":{\"pid\":9}},"
		"\"file\":{\"path\":\"%s\"}}\n"
		"{\"@timestamp\":\"2026-11-24T05:00:00Z\",\"event\":{\"action\":\"exit\"},\"process\":{\"pid\":9}}\n"
		"{\"@timestamp\":\"2026-11-24T05:00:01Z\",\"event\":{\"action\":\"connect\",\"outcome\":\"success\"},"
		"\"process\":{\"pid\":11,\"executable\":\"/usr/bin/curl\"},\"destination\":{\"ip\":\"198.51.100.9\",\"port\":443},"
		"\"network\":{\"transport\":\"tcp\",\"type\":\"ipv4\"},\"immune\":{\"connect\":{\"family\":\"AF_INET\"}}}\n"
		"{\"@timestamp\":\"2026-11-24T05:00:02Z\",\"event\":{\"action\":\"connect\",\"outcome\":\"success\"},"
		"\"process\":{\"pid\":12,\"executable\":\"/usr/bin/curl\"},\"destination\":{\"ip\":\"198.51.101.9\",\"port\":443},"
		"\"network\":{\"transport\":\"tcp\",\"type\":\"ipv4\"},\"immune\":{\"connect\":{\"family\":\"AF_INET\"}}}\n",
		"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", exe, exe);
	fclose(f);
	const char *iocs[] = { iocf };
	struct detect_opts o = { .no_builtin = true, .ioc_paths = iocs, .nioc_paths = 1 };
	struct replay_stats st;
	char *log;
	cJSON *arr = replay_json(&o, evf, &st, &log);
	char want[700];
	snprintf(want, sizeof(want), "%s:6: cannot tell the kind", iocf);
	assert_non_null(strstr(log, want));
	free(log);
	assert_int_equal(st.events, 5);
	assert_int_equal(cJSON_GetArraySize(arr), 2);
	/* the IP match is immediate, the hash arrives from the worker after it */
	cJSON *j = cJSON_GetArrayItem(arr, 0);
	assert_string_equal(str(j, "rule", "id"), "ioc:cidr");
	assert_string_equal(str(j, "immune", "indicator"), "198.51.100.0/24");
	assert_string_equal(str(j, "immune", "action"), "block");
	assert_string_equal(str(j, "immune", "verdict"), "alerted"); /* no enforcement in replay */
	assert_string_equal(str(j, "immune", "verdict_error"), "block: no enforcement in this mode");
	j = cJSON_GetArrayItem(arr, 1);
	assert_string_equal(str(j, "rule", "id"), "ioc:sha256");
	assert_string_equal(str(j, "immune", "indicator"), hex);
	assert_string_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "process"), "hash"), "sha256")
				    ->valuestring,
			    hex);
	const cJSON *anc = cJSON_GetArrayItem(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "process"), "ancestors"), 0);
	assert_non_null(anc);
	assert_int_equal(cJSON_GetObjectItem(anc, "pid")->valueint, 9);
	assert_non_null(strstr(cJSON_GetObjectItem(anc, "executable")->valuestring, "/usr/bin/launcher-xxxx"));
	cJSON_Delete(arr);
	char cmd[700];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

/* The Hive's address as the daemon's one check knows it (hive_link_in in main.c): 198.51.100.9. */
static bool hive_at_9(void *ctx, const struct verdict_net *t)
{
	uint8_t a[16] = { [10] = 0xff, [11] = 0xff, [12] = 198, [13] = 51, [14] = 100, [15] = 9 };
	(void)ctx;
	return verdict_net_covers(t, a);
}

/* A blocking indicator's match on the Hive's address alerts only, logs one line naming FILE:LINE, and
 * never reaches block_net; a neighbour in the same network is blocked. */
static void test_hive_link_guard(void **s)
{
	(void)s;
	char dir[] = "/tmp/immune-guard-XXXXXX", iocf[600], evf[600];
	assert_non_null(mkdtemp(dir));
	snprintf(iocf, sizeof(iocf), "%s/iocs.txt", dir);
	snprintf(evf, sizeof(evf), "%s/events.jsonl", dir);
	FILE *f = fopen(iocf, "w");
	fputs("action: block\n198.51.100.0/24\n", f);
	fclose(f);
	f = fopen(evf, "w");
	for (int i = 0; i < 3; i++)
		fprintf(f,
			"{\"@timestamp\":\"2026-11-24T05:00:0%dZ\",\"event\":{\"action\":\"connect\",\"outcome\":"
			"\"success\"},\"process\":{\"pid\":%d,\"executable\":\"/usr/bin/curl\"},\"destination\":{\"ip\":"
			"\"198.51.100.%d\",\"port\":443},\"network\":{\"transport\":\"tcp\",\"type\":\"ipv4\"},"
			"\"immune\":{\"connect\":{\"family\":\"AF_INET\"}}}\n",
			i, 20 + i, i < 2 ? 9 : 10);
	fclose(f);
	const char *iocs[] = { iocf };
	struct calls c = { 0 };
	struct verdict_guard g = { .hive_link_in = hive_at_9 };
	struct detect_opts o = { .no_builtin = true, .ioc_paths = iocs, .nioc_paths = 1, .guard = &g,
				 .actions = { .ctx = &c, .block_net = cb_net } };
	struct replay_stats st;
	char *log, want[1000];
	cJSON *arr = replay_json(&o, evf, &st, &log);
	assert_int_equal(cJSON_GetArraySize(arr), 3);
	for (int i = 0; i < 2; i++) {
		cJSON *j = cJSON_GetArrayItem(arr, i);
		assert_string_equal(str(j, "immune", "action"), "block");
		assert_string_equal(str(j, "immune", "verdict"), "alerted");
		assert_string_equal(str(j, "immune", "verdict_error"),
				    "block refused: net 198.51.100.9 covers this agent's link to the Hive");
	}
	assert_string_equal(str(cJSON_GetArrayItem(arr, 2), "immune", "verdict"), "denied");
	cJSON_Delete(arr);
	assert_int_equal(c.net, 1);
	assert_string_equal(c.last_ip, "198.51.100.10");
	/* one line for two refused matches, naming the indicator's file and line */
	snprintf(want, sizeof(want),
		 "immuned: %s:2: not blocking 198.51.100.9: net 198.51.100.9 covers this agent's link to the Hive; "
		 "alerts only (logged once)\n",
		 iocf);
	char *at1 = strstr(log, want);
	assert_non_null(at1);
	assert_null(strstr(at1 + strlen(want), "not blocking"));
	free(log);
	char cmd[700];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

static void test_missing_file(void **s)
{
	(void)s;
	struct detect_opts o = { .log = devnull };
	assert_int_equal(replay_run("/nonexistent/events.jsonl", &o, devnull, NULL), -1);
}

static const cJSON *at(const cJSON *j, const char *a, const char *b)
{
	return cJSON_GetObjectItem(cJSON_GetObjectItem(j, a), b);
}

/* The built-in correlations on a recording: a reverse shell's discovery burst and its dropper are one
 * incident each; the same commands scattered over cron jobs, a lone uname, and the dropper's steps in
 * the wrong order are none. Stored like any incident. The reverse shell itself (python3 starting
 * /bin/sh -i) is the first incident, from the built-in rule for shells started by interpreters. */
static void test_correlations(void **s)
{
	(void)s;
	char db[] = "/tmp/immune-test-corr-XXXXXX";
	int fd = mkstemp(db);
	assert_true(fd >= 0);
	close(fd);
	struct detect_opts o = { .db_path = db };
	struct replay_stats st;
	cJSON *arr = replay_json(&o, "tests/data/correlate_events.jsonl", &st, NULL);
	assert_int_equal(st.malformed, 0);
	assert_int_equal(cJSON_GetArraySize(arr), 3);

	const cJSON *shell = cJSON_GetArrayItem(arr, 0);
	assert_string_equal(str(shell, "rule", "id"), "6f1e0a01-3c2d-4b8e-9a01-000000000116");
	assert_int_equal(at(shell, "process", "pid")->valueint, 7001);

	const cJSON *burst = cJSON_GetArrayItem(arr, 1);
	assert_string_equal(str(burst, "rule", "id"), "5d1c3a0e-7f2b-4c8e-9a61-1c0de5c0a001");
	assert_string_equal(str(burst, "rule", "category"), "correlation");
	assert_string_equal(str(burst, "rule", "ruleset"), "builtin");
	assert_string_equal(str(burst, "rule", "level"), "high");
	const cJSON *c = at(burst, "immune", "correlation");
	assert_string_equal(cJSON_GetObjectItem(c, "type")->valuestring, "value_count");
	assert_string_equal(cJSON_GetObjectItem(c, "group")->valuestring, "ProcessTree=7000 /usr/bin/python3");
	assert_int_equal(cJSON_GetObjectItem(c, "count")->valueint, 5);
	assert_int_equal(cJSON_GetObjectItem(c, "timespan_s")->valueint, 300);
	assert_string_equal(cJSON_GetArrayItem(cJSON_GetObjectItem(c, "rules"), 0)->valuestring,
			    "immune_discovery_command");
	/* id twice is one tool: whoami, uname, id, hostname, cat */
	const cJSON *evs = cJSON_GetObjectItem(c, "events");
	assert_int_equal(cJSON_GetArraySize(evs), 5);
	for (int i = 0; i < 5; i++) {
		const cJSON *e = cJSON_GetArrayItem(evs, i);
		assert_string_equal(cJSON_GetObjectItem(e, "rule_id")->valuestring, "5d1c3a0e-7f2b-4c8e-9a61-1c0de5c0a002");
		assert_string_equal(cJSON_GetObjectItem(e, "action")->valuestring, "exec");
		assert_int_equal(cJSON_GetObjectItem(e, "ppid")->valueint, 7001);
	}
	/* the first id's event is kept for the value; the later id -u only refreshed its time */
	assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(evs, 0), "command_line")->valuestring, "whoami");
	assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(evs, 2), "command_line")->valuestring, "id");
	assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(evs, 4), "command_line")->valuestring,
			    "cat /etc/os-release");
	/* the incident is the event that completed the burst, with its ancestors from the recording */
	assert_int_equal(at(burst, "process", "pid")->valueint, 7007);
	assert_int_equal(cJSON_GetArraySize(at(burst, "process", "ancestors")), 4);

	const cJSON *drop = cJSON_GetArrayItem(arr, 2);
	assert_string_equal(str(drop, "rule", "id"), "5d1c3a0e-7f2b-4c8e-9a61-1c0de5c0a010");
	c = at(drop, "immune", "correlation");
	assert_string_equal(cJSON_GetObjectItem(c, "type")->valuestring, "temporal_ordered");
	evs = cJSON_GetObjectItem(c, "events");
	/* keyed on the file: the download of it, then its run (the chmod between is not needed) */
	assert_string_equal(cJSON_GetObjectItem(c, "group")->valuestring, "payload=/home/alice/.cache/upd");
	assert_int_equal(cJSON_GetArraySize(evs), 2);
	assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(evs, 0), "action")->valuestring, "open");
	assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(evs, 0), "target")->valuestring,
			    "/home/alice/.cache/upd");
	assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(evs, 1), "executable")->valuestring,
			    "/home/alice/.cache/upd");
	cJSON_Delete(arr);

	/* stored: the correlation's row, its document holding the events */
	sqlite3 *h;
	sqlite3_stmt *q;
	assert_int_equal(sqlite3_open(db, &h), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(h,
					    "SELECT rule_id, pid, json_array_length(doc, '$.immune.correlation.events') "
					    "FROM incidents ORDER BY id",
					    -1, &q, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_step(q), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(q, 0), "6f1e0a01-3c2d-4b8e-9a01-000000000116");
	assert_int_equal(sqlite3_step(q), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(q, 0), "5d1c3a0e-7f2b-4c8e-9a61-1c0de5c0a001");
	assert_int_equal(sqlite3_column_int(q, 1), 7007);
	assert_int_equal(sqlite3_column_int(q, 2), 5);
	assert_int_equal(sqlite3_step(q), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(q, 2), 2);
	assert_int_equal(sqlite3_step(q), SQLITE_DONE);
	sqlite3_finalize(q);
	sqlite3_close(h);
	unlink(db);
	char side[64];
	snprintf(side, sizeof(side), "%s-wal", db);
	unlink(side);
	snprintf(side, sizeof(side), "%s-shm", db);
	unlink(side);
}

int main(void)
{
	devnull = fopen("/dev/null", "w");
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_builtin_incidents),
		cmocka_unit_test(test_actions_and_store),
		cmocka_unit_test(test_iocs),
		cmocka_unit_test(test_hive_link_guard),
		cmocka_unit_test(test_missing_file),
		cmocka_unit_test(test_correlations),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	fclose(devnull);
	return rc;
}
