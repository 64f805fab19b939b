/* The Hive's parts without a network: its schema copy, the incident columns
 * on the wire (refusals, shortening), the guard rails on fleet verdicts and
 * the proposal queue. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../hive/hive_int.h"
#include "hive.h"
#include "incident.h"
#include "incident_wire.h"
#include "testutil.h"

/* schema/hive.sql without its comment lines is hive_migrations, one after the other */
static void test_schema_matches(void **s)
{
	(void)s;
	char *text = read_source("schema/hive.sql"), *o = text;
	for (char *line = text, *nl; *line; line = nl) {
		nl = strchr(line, '\n');
		nl = nl ? nl + 1 : line + strlen(line);
		if (strncmp(line, "--", 2) != 0) {
			memmove(o, line, (size_t)(nl - line));
			o += nl - line;
		}
	}
	*o = 0;
	static char all[1 << 16];
	all[0] = 0;
	for (int i = 0; hive_migrations[i]; i++)
		strcat(all, hive_migrations[i]);
	char *file = squash(text, strlen(text)), *mine = squash(all, strlen(all));
	if (strcmp(file, mine))
		fail_msg("hive/hive_schema.c differs from schema/hive.sql:\n%s\n%s", mine, file);
	free(file);
	free(mine);
	text = read_source("schema/immune.sql");
	const char *start = strstr(text, "CREATE TABLE IF NOT EXISTS hive_dead_letters (");
	assert_non_null(start);
	const char *end = strstr(start, ");");
	file = squash(start, (size_t)(end + 2 - start));
	mine = squash(hive_dead_letter_sql, strlen(hive_dead_letter_sql));
	if (strcmp(file, mine))
		fail_msg("hive_dead_letter_sql differs from schema/immune.sql:\n%s\n%s", mine, file);
	free(file);
	free(mine);
}

static sqlite3 *agent_db(void)
{
	sqlite3 *db;
	assert_int_equal(sqlite3_open(":memory:", &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, incident_schema_sql, NULL, NULL, NULL), SQLITE_OK);
	return db;
}

static cJSON *item_of(sqlite3 *db, const char *insert)
{
	char sql[512];
	sqlite3_stmt *st;
	assert_int_equal(sqlite3_exec(db, insert, NULL, NULL, NULL), SQLITE_OK);
	snprintf(sql, sizeof(sql), "SELECT id, %s FROM incidents ORDER BY id DESC LIMIT 1", INCIDENT_COLUMNS);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	cJSON *it = incident_wire_item(st);
	sqlite3_finalize(st);
	return it;
}

/* what the agent sends, the Hive binds: the same columns, exact integers */
static void test_wire_round_trip(void **s)
{
	(void)s;
	sqlite3 *db = agent_db();
	cJSON *it = item_of(db, "INSERT INTO incidents (id, host, time_ns, rule_id, rule_title, event_kind, pid, action,"
				" doc) VALUES (9007199254740993, 'h', 1733000000123456789, 'r', 't', 'exec', 42, 'alert',"
				" '{\"a\":1}')");
	char *text = cJSON_PrintUnformatted(it);
	assert_non_null(strstr(text, "\"seq\":9007199254740993"));
	assert_non_null(strstr(text, "\"time_ns\":1733000000123456789"));
	assert_null(strstr(text, "shortened"));
	free(text);

	sqlite3 *hive = agent_db();
	sqlite3_stmt *ins;
	char sql[1024], why[160];
	/* the wire's columns are INCIDENT_COLUMNS, in its order */
	assert_string_equal(incident_wire_names(), INCIDENT_COLUMNS);
	snprintf(sql, sizeof(sql), "INSERT INTO incidents (host, %s) VALUES ('h', %s)", INCIDENT_COLUMNS,
		 INCIDENT_PLACEHOLDERS);
	assert_int_equal(sqlite3_prepare_v2(hive, sql, -1, &ins, NULL), SQLITE_OK);
	assert_int_equal(incident_wire_bind(&wire_bind_sqlite, ins, 1, it, why, sizeof(why)), 0);
	assert_int_equal(sqlite3_step(ins), SQLITE_DONE);
	sqlite3_stmt *q;
	assert_int_equal(sqlite3_prepare_v2(hive, "SELECT time_ns, pid FROM incidents", -1, &q, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(q), SQLITE_ROW);
	assert_true(sqlite3_column_int64(q, 0) == 1733000000123456789LL);
	assert_int_equal(sqlite3_column_int64(q, 1), 42);
	sqlite3_finalize(q);

	/* what the Hive refuses, each with its reason */
	static const struct {
		const char *item, *why;
	} bad[] = {
		{ "{\"time_ns\":1.5,\"rule_id\":\"r\",\"rule_title\":\"t\",\"event_kind\":\"e\",\"action\":\"a\",\"doc\":\"{}\"}",
		  "\"time_ns\" must be an integer" },
		{ "{\"time_ns\":1,\"rule_title\":\"t\",\"event_kind\":\"e\",\"action\":\"a\",\"doc\":\"{}\"}",
		  "\"rule_id\" is missing" },
		{ "{\"time_ns\":1,\"rule_id\":\"r\",\"rule_title\":\"t\",\"event_kind\":\"e\",\"action\":\"a\",\"doc\":\"[]\"}",
		  "\"doc\" must be the text of a JSON object" },
		{ "{\"time_ns\":1,\"rule_id\":\"r\",\"rule_title\":\"t\",\"event_kind\":\"e\",\"action\":\"a\",\"doc\":\"{} x\"}",
		  "\"doc\" must be the text of a JSON object" },
		{ "{\"time_ns\":1,\"rule_id\":7,\"rule_title\":\"t\",\"event_kind\":\"e\",\"action\":\"a\",\"doc\":\"{}\"}",
		  "\"rule_id\" must be a string" },
		{ "{\"time_ns\":1,\"rule_id\":\"r\",\"rule_title\":\"t\",\"event_kind\":\"e\",\"action\":\"a\",\"doc\":\"{}\","
		  "\"pid\":4294967296}",
		  "\"pid\" must be an integer from 0 to 4294967295" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char frame[512];
		size_t used;
		cJSON *m;
		snprintf(frame + 4, sizeof(frame) - 4, "{\"type\":\"x\",\"i\":%s}", bad[i].item);
		size_t l = strlen(frame + 4);
		frame[0] = 0, frame[1] = 0, frame[2] = (char)(l >> 8), frame[3] = (char)l;
		assert_int_equal(frame_parse((unsigned char *)frame, l + 4, &used, &m, why, sizeof(why)), FRAME_OK);
		sqlite3_reset(ins);
		sqlite3_clear_bindings(ins);
		assert_int_equal(incident_wire_bind(&wire_bind_sqlite, ins, 1, cJSON_GetObjectItem(m, "i"), why, sizeof(why)), -1);
		if (!strstr(why, bad[i].why))
			fail_msg("item %zu: '%s', expected '%s'", i, why, bad[i].why);
		cJSON_Delete(m);
	}
	sqlite3_finalize(ins);
	sqlite3_close(hive);
	cJSON_Delete(it);
	sqlite3_close(db);
}

/* an incident too big for a frame is shortened and says so, never dropped */
static void test_shortened(void **s)
{
	(void)s;
	sqlite3 *db = agent_db();
	cJSON *it = item_of(db, "INSERT INTO incidents (host, time_ns, rule_id, rule_title, event_kind, action,"
				" command_line, doc) VALUES ('h', 1, 'r', 't', 'exec', 'alert',"
				" 'é' || replace(hex(zeroblob(200000)), '00', 'x'),"
				" '{\"process\":{\"command_line\":\"' || replace(hex(zeroblob(200000)), '00', 'y') ||"
				" '\"},\"immune\":{\"truncated\":[]}}')");
	char *text = cJSON_PrintUnformatted(it);
	assert_true(strlen(text) < INCIDENT_WIRE_ITEM_MAX);
	free(text);
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(it, "shortened")));
	const char *cl = cJSON_GetObjectItem(it, "command_line")->valuestring;
	assert_true(strlen(cl) <= INCIDENT_WIRE_SHORT && strlen(cl) > INCIDENT_WIRE_SHORT - 4);
	assert_true(strncmp(cl, "é", 2) == 0);
	cJSON *doc = cJSON_Parse(cJSON_GetObjectItem(it, "doc")->valuestring);
	assert_true(cJSON_IsObject(doc));
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetObjectItem(doc, "immune"), "shortened")));
	assert_int_equal(strlen(cJSON_GetObjectItem(cJSON_GetObjectItem(doc, "process"), "command_line")->valuestring),
			 INCIDENT_WIRE_SHORT);
	cJSON_Delete(doc);
	cJSON_Delete(it);
	sqlite3_close(db);
}

static int hive_setup(void **s)
{
	(void)s;
	char err[256];
	memset(&H, 0, sizeof(H));
	H.ep = -1;
	H.o.min_prefix4 = 16;
	H.o.min_prefix6 = 48;
	if (hive_store_open(":memory:", err, sizeof(err)) || hive_fleet_init(err, sizeof(err)))
		fail_msg("%s", err);
	return 0;
}

static int hive_teardown(void **s)
{
	(void)s;
	hive_store_close();
	protected_free(H.protect);
	H.protect = NULL;
	return 0;
}

/* every fleet verdict, an operator's included, passes the guard rails */
static void test_guard_rails(void **s)
{
	(void)s;
	static const struct {
		const char *verb, *kind, *target, *why;
	} refused[] = {
		{ "block", "net", "0.0.0.0/0", "wider than /16" },
		{ "block", "net", "::/0", "wider than /48" },
		{ "allow", "net", "10.0.0.0/8", "wider than /16" },
		{ "block", "net", "2001:db8::/32", "wider than /48" },
		{ "block", "net", "127.0.0.1", "covers the Hive's own address 127.0.0.1" },
		{ "block", "net", "127.0.0.0/16", "covers the Hive's own address" },
		{ "block", "exec", "/bin/sh", "is protected" },
		{ "block", "file", "/usr/sbin/immuned", "the agent's own binary" },
		{ "block", "exec", "relative", "absolute paths" },
		{ "block", "proc", "/x", "kind must be exec, file or net" },
	};
	char err[512];
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		assert_int_equal(hive_fleet_set(refused[i].verb, refused[i].kind, refused[i].target, "operator:0", err,
						sizeof(err)),
				 -1);
		if (!strstr(err, refused[i].why))
			fail_msg("%s %s %s: '%s', expected '%s'", refused[i].verb, refused[i].kind, refused[i].target,
				 err, refused[i].why);
	}
	assert_int_equal(H.verdict_version, 0);
	assert_int_equal(hive_fleet_set("block", "net", "10.1.0.0/16", "operator:0", err, sizeof(err)), 0);
	assert_int_equal(hive_fleet_set("block", "net", "2001:db8:1::/48", "operator:0", err, sizeof(err)), 0);
	assert_int_equal(hive_fleet_set("allow", "exec", "/bin/sh", "operator:0", err, sizeof(err)), 0);
	assert_int_equal(H.verdict_version, 3);
	assert_int_equal(hive_fleet_set("unblock", "net", "10.2.0.0/16", "operator:0", err, sizeof(err)), -1);
	assert_int_equal(hive_fleet_set("unblock", "net", "10.1.0.0/16", "operator:0", err, sizeof(err)), 0);
	assert_int_equal(H.verdict_version, 4);
}

static int64_t count(const char *sql)
{
	return store_i64(H.st, sql, -1);
}

static cJSON *msg(const char *json)
{
	cJSON *m = cJSON_Parse(json);
	assert_non_null(m);
	return m;
}

/* agents propose; only blocks; the policy needs K distinct agents */
static void test_proposals(void **s)
{
	(void)s;
	struct conn a = { .fd = -1 }, b = { .fd = -1 };
	snprintf(a.agent_id, sizeof(a.agent_id), "a");
	snprintf(b.agent_id, sizeof(b.agent_id), "b");
	H.o.accept_k = 2;
	const char *sha = "\"sha256\":\"00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\"";
	char j[512];
	snprintf(j, sizeof(j), "{\"type\":\"verdict\",\"kind\":\"exec\",\"target\":\"/tmp/evil\",\"source\":\"rule:x\",%s}", sha);
	cJSON *m = msg(j);
	hive_fleet_proposal(&a, m);
	hive_fleet_proposal(&a, m); /* the same agent twice is one proposal */
	assert_int_equal(count("SELECT count(*) FROM fleet_proposals WHERE state = 'pending'"), 1);
	assert_int_equal(count("SELECT count(*) FROM fleet_verdicts"), 0);
	/* refused outright: allow, unblock, the guard rails, a bad hash */
	static const char *const no[] = {
		"{\"type\":\"verdict\",\"verb\":\"unblock\",\"kind\":\"net\",\"target\":\"10.1.2.3\"}",
		"{\"type\":\"verdict\",\"verb\":\"allow\",\"kind\":\"exec\",\"target\":\"/tmp/evil\"}",
		"{\"type\":\"verdict\",\"kind\":\"net\",\"target\":\"0.0.0.0/0\"}",
		"{\"type\":\"verdict\",\"kind\":\"exec\",\"target\":\"/bin/sh\"}",
		"{\"type\":\"verdict\",\"kind\":\"exec\",\"target\":\"/tmp/x\",\"sha256\":\"ABC\"}",
	};
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
		cJSON *n = msg(no[i]);
		hive_fleet_proposal(&a, n);
		cJSON_Delete(n);
	}
	assert_int_equal(H.proposals_refused, 5);
	assert_int_equal(count("SELECT count(*) FROM fleet_proposals"), 1);
	/* a second agent with the same content: the policy accepts it */
	hive_fleet_proposal(&b, m);
	assert_int_equal(count("SELECT count(*) FROM fleet_verdicts WHERE target = '/tmp/evil' AND action = 'deny'"
			       " AND source = 'policy:2-agents'"),
			 1);
	assert_int_equal(count("SELECT count(*) FROM fleet_proposals WHERE state = 'approved'"), 2);
	cJSON_Delete(m);
	/* the operator's verdict is never changed by the policy */
	char err[256];
	assert_int_equal(hive_fleet_set("allow", "exec", "/tmp/other", "operator:0", err, sizeof(err)), 0);
	snprintf(j, sizeof(j), "{\"type\":\"verdict\",\"kind\":\"exec\",\"target\":\"/tmp/other\",%s}", sha);
	m = msg(j);
	hive_fleet_proposal(&a, m);
	hive_fleet_proposal(&b, m);
	cJSON_Delete(m);
	assert_int_equal(count("SELECT count(*) FROM fleet_verdicts WHERE target = '/tmp/other' AND action = 'allow'"
			       " AND source = 'operator:0'"),
			 1);
	/* a revoked agent is known as such */
	assert_false(hive_revoked("a"));
	assert_int_equal(store_exec(H.st, "INSERT INTO fleet_revoked VALUES ('a', 1, 'operator:0')"), 0);
	assert_true(hive_revoked("a"));
	assert_false(hive_revoked("a-web"));
	H.o.accept_k = 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_schema_matches),
		cmocka_unit_test(test_wire_round_trip),
		cmocka_unit_test(test_shortened),
		cmocka_unit_test_setup_teardown(test_guard_rails, hive_setup, hive_teardown),
		cmocka_unit_test_setup_teardown(test_proposals, hive_setup, hive_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
