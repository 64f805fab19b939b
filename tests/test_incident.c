/* Incidents: the schema copy agrees with schema/immune.sql, the ECS document, text, SQLite batches. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "incident.h"
#include "testutil.h"


/* The statements about one table, from its CREATE TABLE to the last statement ON it, squashed. */
static char *table_text(const char *text, const char *table)
{
	char head[128], on[64];
	snprintf(head, sizeof(head), "CREATE TABLE IF NOT EXISTS %s (", table);
	snprintf(on, sizeof(on), "ON %s ", table);
	const char *start = strstr(text, head);
	assert_non_null(start);
	const char *end = start, *p;
	while ((p = strstr(end, on)))
		end = p + 1;
	end = strchr(end, ';');
	assert_non_null(end);
	return squash(start, (size_t)(end + 1 - start));
}

/* Both tables made from INCIDENT_COLUMN_LIST are exactly what schema/immune.sql says. */
static void test_schema_matches(void **s)
{
	(void)s;
	const char *text = read_source("schema/immune.sql");
	const struct {
		const char *table, *sql;
	} t[] = { { "incidents", incident_schema_sql }, { "signals", signal_schema_sql } };
	for (size_t i = 0; i < 2; i++) {
		char *file = table_text(text, t[i].table);
		char *mine = table_text(t[i].sql, t[i].table);
		if (strcmp(file, mine))
			fail_msg("daemon/incident.c's %s schema differs from schema/immune.sql:\n%s\n%s", t[i].table, mine,
				 file);
		free(file);
		free(mine);
	}
}

/* PRAGMA table_info of a table as one line per column: name, type, notnull, default, pk. */
static char *columns_of(sqlite3 *db, const char *table)
{
	char sql[128], *buf = NULL;
	size_t len = 0;
	sqlite3_stmt *st;
	FILE *out = open_memstream(&buf, &len);
	snprintf(sql, sizeof(sql), "PRAGMA table_info(%s)", table);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	while (sqlite3_step(st) == SQLITE_ROW)
		fprintf(out, "%s %s %d %s %d\n", sqlite3_column_text(st, 1), sqlite3_column_text(st, 2),
			sqlite3_column_int(st, 3), sqlite3_column_text(st, 4) ? (const char *)sqlite3_column_text(st, 4) : "-",
			sqlite3_column_int(st, 5));
	sqlite3_finalize(st);
	fclose(out);
	return buf;
}

static int count_rows(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st;
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	int n = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return n;
}

static struct incident sample(void);

/*
 * A database made by the previous schema (tests/data/immune-schema-v1.sql, the
 * two tables written out by hand) opens as it is: the tables made from the one
 * column list have the same columns, so the old rows stay readable and new
 * incidents and signals go in beside them; the Hive link's and `immunectl
 * incidents`' queries run on it.
 */
static void test_previous_schema_upgrades(void **s)
{
	(void)s;
	char dir[] = "/tmp/immune-inc-XXXXXX", old[600], fresh[600], err[256];
	sqlite3 *db;
	assert_non_null(mkdtemp(dir));
	snprintf(old, sizeof(old), "%s/old.db", dir);
	snprintf(fresh, sizeof(fresh), "%s/fresh.db", dir);
	assert_int_equal(sqlite3_open(old, &db), SQLITE_OK);
	char *msg = NULL;
	if (sqlite3_exec(db, read_source("tests/data/immune-schema-v1.sql"), NULL, NULL, &msg) != SQLITE_OK)
		fail_msg("the previous schema: %s", msg);
	/* rows as the previous immuned wrote them */
	assert_int_equal(sqlite3_exec(db,
				      "INSERT INTO incidents (host, " INCIDENT_COLUMNS ") VALUES ('old', 1, 'r-old', 't', "
				      "'high', '[]', 'a', 'exec', 1, 0, 0, '/x', 'x', '/p', '/x', 'alert', 'alerted', '{}');"
				      "INSERT INTO signals (host, " INCIDENT_COLUMNS ") VALUES ('old', 1, 's-old', 't', "
				      "'low', '[]', 'a', 'open', 1, 0, 0, '/x', 'x', '/p', '/etc/x', 'alert', 'signal', '{}');",
				      NULL, NULL, &msg),
			 SQLITE_OK);
	sqlite3_close(db);

	struct incident_store *st = incident_store_open(old, err, sizeof(err));
	if (!st)
		fail_msg("%s", err);
	struct incident in = sample();
	assert_int_equal(incident_store_add(st, &in, "{\"new\":1}"), 0);
	in.action = IMM_ACTION_ALERT;
	in.verdict = "signal";
	assert_int_equal(incident_store_add_signal(st, &in, "{\"new\":2}"), 0);
	incident_store_close(st);
	assert_non_null(st = incident_store_open(fresh, err, sizeof(err)));
	incident_store_close(st);

	sqlite3 *f;
	assert_int_equal(sqlite3_open(old, &db), SQLITE_OK);
	assert_int_equal(sqlite3_open(fresh, &f), SQLITE_OK);
	const char *tables[] = { "incidents", "signals" };
	for (int i = 0; i < 2; i++) {
		char *a = columns_of(db, tables[i]), *b = columns_of(f, tables[i]);
		assert_string_equal(a, b);
		free(a);
		free(b);
	}
	assert_int_equal(count_rows(db, "SELECT count(*) FROM incidents WHERE rule_id IN ('r-old', 'r-1')"), 2);
	assert_int_equal(count_rows(db, "SELECT count(*) FROM signals WHERE rule_id IN ('s-old', 'r-1')"), 2);
	assert_int_equal(count_rows(db, "SELECT count(*) FROM signals WHERE verdict = 'signal' AND doc = '{\"new\":2}'"),
			 1);
	/* the Hive link's batch query and the control socket's, on the old file */
	assert_int_equal(count_rows(db, "SELECT count(*) FROM (SELECT id, " INCIDENT_COLUMNS
					" FROM incidents WHERE hive_acked = 0 ORDER BY id)"),
			 2);
	assert_int_equal(count_rows(db, "SELECT count(*) FROM (SELECT id, time_ns, host, rule_id, rule_title, rule_level, "
					"rule_author, event_kind, pid, executable, command_line, target, action, verdict "
					"FROM signals)"),
			 2);
	sqlite3_close(db);
	sqlite3_close(f);
	char cmd[700];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

static struct imm_event ev;
static const char *tags[] = { "attack.execution", "attack.t1059.004", "attack.g0032", "cve.2021-1234" };

static struct incident sample(void)
{
	memset(&ev, 0, sizeof(ev));
	ev.type = EBPF_EVENT_EXEC;
	ev.time_ns = 1795000000123456789LL;
	ev.pid = 77;
	ev.ppid = 1;
	ev.uid = 1000;
	ev.executable = "/tmp/x";
	ev.name = "x";
	ev.command_line = "x --evil\x01";
	ev.cwd = "/tmp";
	ev.parent_executable = "/usr/sbin/nginx";
	ev.parent_command_line = "nginx: worker";
	ev.user_name = "www-data";
	ev.filename = "/tmp/x";
	ev.argc = 2;
	ev.argv[0] = "x";
	ev.argv[1] = "--evil\x01";
	struct incident in = {
		.ev = &ev, .host = "web1", .rule_id = "r-1", .rule_title = "Exec from tmp", .rule_level = "high",
		.rule_author = "Jane Doe (ACME)", .rule_description = "d", .tags = tags, .ntags = 4,
		.ruleset = "sigma", .rule_file = "rules/x.yml", .category = "process_creation",
		.action = IMM_ACTION_KILL, .verdict = "killed",
	};
	return in;
}

static void test_json_doc(void **s)
{
	(void)s;
	struct incident in = sample();
	struct jw w = { 0 };
	jw_reset(&w);
	incident_write_json(&w, &in);
	assert_null(strchr(w.buf, '\n'));
	cJSON *d = cJSON_Parse(w.buf);
	jw_free(&w);
	assert_non_null(d);
	const cJSON *r = cJSON_GetObjectItem(d, "rule");
	assert_string_equal(cJSON_GetObjectItem(r, "id")->valuestring, "r-1");
	assert_string_equal(cJSON_GetObjectItem(r, "name")->valuestring, "Exec from tmp");
	assert_string_equal(cJSON_GetObjectItem(r, "level")->valuestring, "high");
	assert_string_equal(cJSON_GetObjectItem(r, "author")->valuestring, "Jane Doe (ACME)");
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(r, "tags")), 4);
	const cJSON *th = cJSON_GetObjectItem(d, "threat");
	const cJSON *tech = cJSON_GetObjectItem(cJSON_GetObjectItem(th, "technique"), "id");
	assert_int_equal(cJSON_GetArraySize(tech), 1);
	assert_string_equal(cJSON_GetArrayItem(tech, 0)->valuestring, "T1059.004");
	const cJSON *tact = cJSON_GetObjectItem(cJSON_GetObjectItem(th, "tactic"), "name");
	assert_int_equal(cJSON_GetArraySize(tact), 1);
	assert_string_equal(cJSON_GetArrayItem(tact, 0)->valuestring, "execution");
	const cJSON *e = cJSON_GetObjectItem(d, "event");
	assert_string_equal(cJSON_GetObjectItem(e, "kind")->valuestring, "alert");
	assert_int_equal(cJSON_GetObjectItem(e, "severity")->valueint, 73);
	assert_string_equal(cJSON_GetObjectItem(e, "action")->valuestring, "exec");
	const cJSON *im = cJSON_GetObjectItem(d, "immune");
	assert_string_equal(cJSON_GetObjectItem(im, "action")->valuestring, "kill");
	assert_string_equal(cJSON_GetObjectItem(im, "verdict")->valuestring, "killed");
	assert_string_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(d, "host"), "name")->valuestring, "web1");
	const cJSON *pp = cJSON_GetObjectItem(cJSON_GetObjectItem(d, "process"), "parent");
	assert_string_equal(cJSON_GetObjectItem(pp, "executable")->valuestring, "/usr/sbin/nginx");
	cJSON_Delete(d);
}

static void test_text_line(void **s)
{
	(void)s;
	struct incident in = sample();
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	incident_write_text(f, &in);
	fclose(f);
	assert_null(strchr(buf, '\n'));
	assert_null(strchr(buf, '\x01')); /* control bytes escaped */
	assert_non_null(strstr(buf, "ALERT high"));
	assert_non_null(strstr(buf, "[r-1] kill/killed pid=77 exe=\"/tmp/x\" target=\"/tmp/x\""));
	assert_non_null(strstr(buf, "cmd=\"x --evil\\x01\" rule=\"Exec from tmp\""));
	free(buf);

	/* issue 11: a command line that closes its quotes and writes the next field itself */
	ev.command_line = "x\" rule=\"benign\" exe=\"/usr/bin/true";
	ev.executable = "/tmp/a b\\\" verdict=\"allowed";
	buf = NULL;
	f = open_memstream(&buf, &len);
	incident_write_text(f, &in);
	fclose(f);
	assert_non_null(strstr(buf, " exe=\"/tmp/a b\\\\\\\" verdict=\\\"allowed\" "));
	assert_non_null(strstr(buf, " cmd=\"x\\\" rule=\\\"benign\\\" exe=\\\"/usr/bin/true\" rule=\"Exec from tmp\""));
	/* split on unescaped quotes, the line has exactly its own fields */
	int fields = 0;
	for (const char *p = buf; *p; p++) {
		if (*p == '\\' && p[1]) {
			p++;
			continue;
		}
		if (*p == '"')
			fields++;
	}
	assert_int_equal(fields, 2 * 4); /* exe, target, cmd, rule */
	free(buf);
}

static void test_store_batches(void **s)
{
	(void)s;
	char dir[] = "/tmp/immune-inc-XXXXXX", db[600], err[256];
	assert_non_null(mkdtemp(dir));
	snprintf(db, sizeof(db), "%s/a/b/immune.db", dir); /* directories are created */
	struct incident_store *st = incident_store_open(db, err, sizeof(err));
	if (!st)
		fail_msg("%s", err);
	struct incident in = sample();
	for (int i = 0; i < 1000; i++)
		assert_int_equal(incident_store_add(st, &in, "{\"x\":1}"), 0);
	/* 512 committed on their own, the rest wait for the flush */
	assert_int_equal(incident_store_pending(st), 1000 - 512);
	sqlite3 *q;
	assert_int_equal(sqlite3_open(db, &q), SQLITE_OK);
	sqlite3_stmt *c;
	assert_int_equal(sqlite3_prepare_v2(q, "SELECT count(*) FROM incidents", -1, &c, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(c), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(c, 0), 512);
	sqlite3_reset(c);
	assert_int_equal(incident_store_flush(st), 0);
	assert_int_equal(incident_store_pending(st), 0);
	assert_int_equal(sqlite3_step(c), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(c, 0), 1000);
	sqlite3_finalize(c);
	assert_int_equal(sqlite3_prepare_v2(q,
					    "SELECT host, time_ns, rule_id, rule_title, rule_level, rule_tags, rule_author, "
					    "event_kind, pid, ppid, uid, executable, parent_executable, target, action, verdict, "
					    "hive_acked, doc FROM incidents WHERE id = 1",
					    -1, &c, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_step(c), SQLITE_ROW);
	int i = 0;
	assert_string_equal((const char *)sqlite3_column_text(c, i++), "web1");
	assert_true(sqlite3_column_int64(c, i++) == 1795000000123456789LL);
	assert_string_equal((const char *)sqlite3_column_text(c, i++), "r-1");
	assert_string_equal((const char *)sqlite3_column_text(c, i++), "Exec from tmp");
	assert_string_equal((const char *)sqlite3_column_text(c, i++), "high");
	assert_string_equal((const char *)sqlite3_column_text(c, i++),
			    "[\"attack.execution\",\"attack.t1059.004\",\"attack.g0032\",\"cve.2021-1234\"]");
	assert_string_equal((const char *)sqlite3_column_text(c, i++), "Jane Doe (ACME)");
	assert_string_equal((const char *)sqlite3_column_text(c, i++), "exec");
	assert_int_equal(sqlite3_column_int(c, i++), 77);
	assert_int_equal(sqlite3_column_int(c, i++), 1);
	assert_int_equal(sqlite3_column_int(c, i++), 1000);
	assert_string_equal((const char *)sqlite3_column_text(c, i++), "/tmp/x");
	assert_string_equal((const char *)sqlite3_column_text(c, i++), "/usr/sbin/nginx");
	assert_string_equal((const char *)sqlite3_column_text(c, i++), "/tmp/x");
	assert_string_equal((const char *)sqlite3_column_text(c, i++), "kill");
	assert_string_equal((const char *)sqlite3_column_text(c, i++), "killed");
	assert_int_equal(sqlite3_column_int(c, i++), 0);
	assert_string_equal((const char *)sqlite3_column_text(c, i++), "{\"x\":1}");
	sqlite3_finalize(c);
	assert_int_equal(sqlite3_prepare_v2(q, "PRAGMA journal_mode", -1, &c, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(c), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(c, 0), "wal");
	sqlite3_finalize(c);
	sqlite3_close(q);
	incident_store_close(st);
	/* reopening applies the schema again without harm */
	assert_non_null(st = incident_store_open(db, err, sizeof(err)));
	incident_store_close(st);
	/* an impossible path is a one-line error */
	assert_null(incident_store_open("/proc/immune/x.db", err, sizeof(err)));
	assert_non_null(strstr(err, "/proc/immune/x.db"));
	char cmd[700];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_schema_matches),
		cmocka_unit_test(test_json_doc),
		cmocka_unit_test(test_text_line),
		cmocka_unit_test(test_store_batches),
		cmocka_unit_test(test_previous_schema_upgrades),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
