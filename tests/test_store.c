/* The Hive's store on both backends: SQLite always, PostgreSQL from a
 * throwaway cluster (selftests/tools/pg-temp, as root) or IMMUNE_TEST_PG;
 * parameters, upserts, refusals, the migrations (a store made by the
 * schema before them upgrades), and incidents stored exactly once with
 * their acks sent only after the commit. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../hive/hive_int.h"
#include "db.h"
#include "incident.h"

#include <sqlite3.h>

static char pg_uri[512], pg_dir[64];
static const char *pg_skip;

static int pg_up(void **s)
{
	(void)s;
	const char *env = getenv("IMMUNE_TEST_PG");
	if (env) {
		snprintf(pg_uri, sizeof(pg_uri), "%s", env);
		return 0;
	}
	if (getuid() != 0) {
		pg_skip = "the PostgreSQL half needs root (initdb runs as nobody) or IMMUNE_TEST_PG=URI";
		return 0;
	}
	snprintf(pg_dir, sizeof(pg_dir), "/tmp/immune-test-pg.XXXXXX");
	if (!mkdtemp(pg_dir)) {
		pg_skip = "no temporary directory";
		return 0;
	}
	char cmd[256];
	/* stopped by pg-temp's watcher if this test dies before pg_down */
	snprintf(cmd, sizeof(cmd), "IMMUNE_PG_OWNER=%d selftests/tools/pg-temp start %s 2>&1", (int)getpid(), pg_dir);
	FILE *p = popen(cmd, "r");
	if (!p || !fgets(pg_uri, sizeof(pg_uri), p) || pclose(p) != 0 || strncmp(pg_uri, "postgresql://", 13)) {
		static char why[600];
		snprintf(why, sizeof(why), "no PostgreSQL: %s", pg_uri[0] ? pg_uri : "pg-temp failed");
		why[strcspn(why, "\n")] = 0;
		pg_skip = why;
		pg_uri[0] = 0;
		return 0;
	}
	pg_uri[strcspn(pg_uri, "\n")] = 0;
	return 0;
}

static int pg_down(void **s)
{
	(void)s;
	if (pg_dir[0] && pg_uri[0]) {
		char cmd[256];
		snprintf(cmd, sizeof(cmd), "selftests/tools/pg-temp stop %s; rm -rf %s", pg_dir, pg_dir);
		if (system(cmd) != 0)
			fprintf(stderr, "stopping the test PostgreSQL failed\n");
	}
	return 0;
}

/* The backend of a test: ":memory:" or the PostgreSQL URI; NULL (skipped) without one. */
static const char *where(void **s)
{
	const char *w = *s;
	if (strcmp(w, "pg"))
		return w;
	if (!pg_uri[0]) {
		printf("SKIPPED: %s\n", pg_skip ? pg_skip : "no PostgreSQL");
		return NULL;
	}
	return pg_uri;
}

/* A clean database each test: PostgreSQL's public schema dropped and made again. */
static struct store *fresh(const char *w)
{
	char err[512];
	struct store *s = store_open(w, err, sizeof(err));
	if (!s)
		fail_msg("%s", err);
	if (store_is_pg(s))
		assert_int_equal(store_exec(s, "DROP SCHEMA public CASCADE; CREATE SCHEMA public"), 0);
	return s;
}

static void test_statements(void **st)
{
	const char *w = where(st);
	if (!w)
		return;
	struct store *s = fresh(w);
	char err[512];
	assert_int_equal(store_migrate(s, err, sizeof(err)), 0);
	assert_int_equal(store_i64(s, "SELECT max(version) FROM hive_migrations", -1), 2);
	/* parameters by number, in any order; NULL binds NULL */
	struct sq *q = store_q(s, "INSERT INTO fleet_verdicts (kind, target, action, source, created_ns)"
				  " VALUES ($2, $1, 'deny', $3, $4) ON CONFLICT DO NOTHING");
	assert_non_null(q);
	sq_text(q, 1, "/tmp/a");
	sq_text(q, 2, "exec");
	sq_text(q, 3, "operator:0");
	sq_i64(q, 4, 9007199254740993LL);
	assert_int_equal(sq_step(q), ST_DONE);
	assert_int_equal(sq_changes(q), 1);
	/* the same key again: nothing changed, no error */
	q = store_q(s, "INSERT INTO fleet_verdicts (kind, target, action, source, created_ns)"
		       " VALUES ($2, $1, 'deny', $3, $4) ON CONFLICT DO NOTHING");
	sq_text(q, 1, "/tmp/a");
	sq_text(q, 2, "exec");
	sq_text(q, 3, "operator:0");
	sq_i64(q, 4, 1);
	assert_int_equal(sq_step(q), ST_DONE);
	assert_int_equal(sq_changes(q), 0);
	assert_true(store_i64(s, "SELECT created_ns FROM fleet_verdicts", -1) == 9007199254740993LL);
	/* a constraint: the row is refused, not the database */
	q = store_q(s, "INSERT INTO fleet_verdicts (kind, target, action, source, created_ns) VALUES ($1, 'x', 'deny', 's', 1)");
	sq_text(q, 1, "bogus");
	assert_int_equal(sq_step(q), ST_REFUSED);
	/* NULL and rows, with RETURNING */
	q = store_q(s, "UPDATE fleet_meta SET value = value + 1 WHERE key = 'verdict_version' RETURNING value");
	assert_int_equal(sq_step(q), ST_ROW);
	assert_int_equal(sq_col_i64(q, 0), 1);
	assert_int_equal(sq_step(q), ST_DONE);
	q = store_q(s, "SELECT CAST($1 AS TEXT) IS NULL, sha256 FROM fleet_proposals RIGHT JOIN fleet_meta ON 1 = 1");
	if (!q) /* SQLite before 3.39 has no RIGHT JOIN */
		q = store_q(s, "SELECT CAST($1 AS TEXT) IS NULL, NULL FROM fleet_meta");
	sq_text(q, 1, NULL);
	assert_int_equal(sq_step(q), ST_ROW);
	assert_int_equal(sq_col_i64(q, 0), 1);
	assert_true(sq_col_null(q, 1));
	assert_null(sq_col_text(q, 1));
	/* a store newer than this code is refused */
	assert_int_equal(store_exec(s, "INSERT INTO hive_migrations VALUES (99, 1)"), 0);
	assert_int_equal(store_migrate(s, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "newer than this immuned knows"));
	store_close(s);
}

static struct conn *agent(const char *id)
{
	struct conn *c = calloc(1, sizeof(*c));
	c->fd = -1;
	snprintf(c->agent_id, sizeof(c->agent_id), "%s", id);
	snprintf(c->host, sizeof(c->host), "%s.example", id);
	snprintf(c->peer, sizeof(c->peer), "test");
	c->state = CS_OPEN;
	return c;
}

static void hive_up(const char *w)
{
	char err[512];
	memset(&H, 0, sizeof(H));
	H.ep = -1;
	H.instance = "test-1";
	H.o.min_prefix4 = 16;
	H.o.min_prefix6 = 48;
	store_close(fresh(w)); /* PostgreSQL: an empty database; ":memory:" is new each time */
	if (hive_store_open(w, err, sizeof(err)) || hive_fleet_init(err, sizeof(err)))
		fail_msg("%s", err);
}

static void hive_down(void)
{
	hive_store_close();
	protected_free(H.protect);
	H.protect = NULL;
}

/* The ack queued on c: its "seqs" and "nacks" counts; -1 when none was sent. */
static int acked(struct conn *c, int *nacks)
{
	if (c->out_len - c->out_off < 4)
		return -1;
	unsigned char *f = c->out + c->out_off;
	size_t n = (size_t)f[0] << 24 | (size_t)f[1] << 16 | (size_t)f[2] << 8 | f[3];
	cJSON *m = cJSON_ParseWithLength((const char *)f + 4, n);
	c->out_off += 4 + n;
	int seqs = cJSON_GetArraySize(cJSON_GetObjectItem(m, "seqs"));
	*nacks = cJSON_GetArraySize(cJSON_GetObjectItem(m, "nacks"));
	cJSON_Delete(m);
	return seqs;
}

static cJSON *batch(int first, int count, const char *odd)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	fprintf(f, "{\"type\":\"incidents\",\"batch\":[");
	for (int i = 0; i < count; i++)
		fprintf(f, "%s{\"seq\":%d,\"time_ns\":%d,\"rule_id\":\"r\",\"rule_title\":\"t\",\"event_kind\":\"exec\","
			   "\"action\":\"alert\",\"executable\":\"/tmp/x\",\"doc\":\"{}\"}",
			i ? "," : "", first + i, 1000 + i);
	if (odd)
		fprintf(f, ",%s", odd);
	fprintf(f, "]}");
	fclose(f);
	cJSON *m = cJSON_Parse(text);
	free(text);
	assert_non_null(m);
	return m;
}

static void test_incidents_once(void **st)
{
	const char *w = where(st);
	if (!w)
		return;
	hive_up(w);
	struct conn *a = agent("a"), *b = agent("b");
	int nacks;
	/* 150 items: more than one INSERT's rows; acked only after the commit */
	cJSON *m = batch(1, 150, NULL);
	assert_int_equal(hive_handle_incidents(a, m), 0);
	assert_int_equal(acked(a, &nacks), -1);
	hive_store_commit();
	assert_int_equal(acked(a, &nacks), 150);
	assert_int_equal(nacks, 0);
	/* sent again (the ack was lost): acked, stored once */
	assert_int_equal(hive_handle_incidents(a, m), 0);
	/* another agent, the same seqs: its own */
	assert_int_equal(hive_handle_incidents(b, m), 0);
	hive_store_commit();
	cJSON_Delete(m);
	assert_int_equal(acked(a, &nacks), 150);
	assert_int_equal(acked(b, &nacks), 150);
	assert_int_equal(store_i64(H.st, "SELECT count(*) FROM incidents", -1), 300);
	assert_int_equal(store_i64(H.st, "SELECT count(*) FROM incidents WHERE stored_by = 'test-1'", -1), 300);
	assert_int_equal(H.stored, 300);
	assert_int_equal(H.duplicates, 150);
	/* an item the wire refuses, and one only PostgreSQL refuses (not UTF-8): nacked alone */
	m = batch(151, 3, "{\"seq\":160,\"rule_id\":\"r\"},{\"seq\":161,\"time_ns\":1,\"rule_id\":\"r\xff\","
			  "\"rule_title\":\"t\",\"event_kind\":\"exec\",\"action\":\"alert\",\"doc\":\"{}\"}");
	assert_int_equal(hive_handle_incidents(a, m), 0);
	hive_store_commit();
	cJSON_Delete(m);
	int seqs = acked(a, &nacks);
	if (store_is_pg(H.st)) {
		assert_int_equal(seqs, 3);
		assert_int_equal(nacks, 2);
	} else {
		assert_int_equal(seqs, 4);
		assert_int_equal(nacks, 1);
	}
	assert_int_equal(store_i64(H.st, "SELECT count(*) FROM incidents WHERE agent_id = 'a'", -1),
			 store_is_pg(H.st) ? 153 : 154);
	/* a connection gone before the commit gets no ack, and breaks nothing */
	m = batch(200, 2, NULL);
	assert_int_equal(hive_handle_incidents(b, m), 0);
	cJSON_Delete(m);
	hive_store_forget(b);
	hive_store_commit();
	assert_int_equal(acked(b, &nacks), -1);
	/* links: the instance and the agent's state, for every instance to show */
	hive_agent_link(a, true);
	hive_store_commit();
	assert_int_equal(store_i64(H.st, "SELECT count(*) FROM fleet_agents WHERE agent_id = 'a' AND instance = 'test-1'"
					 " AND link = 'connected'", -1), 1);
	hive_agent_link(a, false);
	hive_store_commit();
	assert_int_equal(store_i64(H.st, "SELECT count(*) FROM fleet_agents WHERE link = 'connected'", -1), 0);
	free(a->out);
	free(b->out);
	free(a);
	free(b);
	hive_down();
}

/* Rows a test trigger turns down: seq 1000 as the database failing (not the row: an
 * integer overflow in SQLite, an I/O error's SQLSTATE in PostgreSQL), seq 2000 as a row
 * the database refuses (a constraint). */
static void failing_trigger(bool on)
{
	static const char *const lite[] = {
		"CREATE TEMP TRIGGER boom BEFORE INSERT ON incidents WHEN NEW.agent_seq IN (1000, 2000) BEGIN"
		" SELECT CASE NEW.agent_seq WHEN 2000 THEN RAISE(ABORT, 'refused by the test')"
		" ELSE abs(NEW.agent_seq * 0 - 9223372036854775807 - 1) END; END",
		"DROP TRIGGER boom",
	};
	static const char *const pg[] = {
		"CREATE FUNCTION boom() RETURNS trigger LANGUAGE plpgsql AS $f$ BEGIN"
		" IF NEW.agent_seq = 1000 THEN RAISE EXCEPTION 'the disk is gone' USING ERRCODE = '58030';"
		" ELSIF NEW.agent_seq = 2000 THEN RAISE EXCEPTION 'refused by the test' USING ERRCODE = '23514';"
		" END IF; RETURN NEW; END $f$;"
		"CREATE TRIGGER boom BEFORE INSERT ON incidents FOR EACH ROW EXECUTE FUNCTION boom()",
		"DROP TRIGGER boom ON incidents; DROP FUNCTION boom()",
	};
	hive_store_commit();
	assert_int_equal(store_exec(H.st, (store_is_pg(H.st) ? pg : lite)[on ? 0 : 1]), 0);
}

/* A turn's batches from several agents go into the store together: duplicates across them
 * stored once; a row the database refuses nacked alone, the other agents' batches stored;
 * the database failing under the turn acks none of it, and what the agents send again on
 * their next links is stored once. */
static void test_turn_batches(void **st)
{
	const char *w = where(st);
	if (!w)
		return;
	hive_up(w);
	struct conn *a = agent("a"), *b = agent("b"), *c = agent("c");
	int nacks;
	cJSON *m1 = batch(1, 40, NULL), *m2 = batch(21, 40, NULL);
	/* a sends 1..40 and, before their ack, 21..60; b sends 1..40: one turn */
	assert_int_equal(hive_handle_incidents(a, m1), 0);
	assert_int_equal(hive_handle_incidents(a, m2), 0);
	assert_int_equal(hive_handle_incidents(b, m1), 0);
	assert_int_equal(acked(a, &nacks), -1);
	hive_store_commit();
	cJSON_Delete(m1);
	cJSON_Delete(m2);
	assert_int_equal(acked(a, &nacks), 40);
	assert_int_equal(acked(a, &nacks), 40);
	assert_int_equal(acked(b, &nacks), 40);
	assert_int_equal(nacks, 0);
	assert_int_equal(store_i64(H.st, "SELECT count(*) FROM incidents WHERE agent_id = 'a'", -1), 60);
	assert_int_equal(store_i64(H.st, "SELECT count(*) FROM incidents WHERE agent_id = 'b'", -1), 40);
	assert_int_equal(H.stored, 100);
	assert_int_equal(H.duplicates, 20);
	assert_int_equal(a->incidents, 80);

	failing_trigger(true);
	/* a row the database refuses, in c's batch: nacked alone, a's batch beside it stored */
	m1 = batch(61, 10, NULL);
	m2 = batch(1995, 10, NULL);
	assert_int_equal(hive_handle_incidents(a, m1), 0);
	assert_int_equal(hive_handle_incidents(c, m2), 0);
	hive_store_commit();
	cJSON_Delete(m1);
	cJSON_Delete(m2);
	assert_int_equal(acked(a, &nacks), 10);
	assert_int_equal(nacks, 0);
	assert_int_equal(acked(c, &nacks), 9);
	assert_int_equal(nacks, 1);
	assert_int_equal(store_i64(H.st, "SELECT count(*) FROM incidents WHERE agent_id = 'a'", -1), 70);
	assert_int_equal(store_i64(H.st, "SELECT count(*) FROM incidents WHERE agent_id = 'c'", -1), 9);
	assert_int_equal(H.nacked, 1);

	/* the database fails under the turn, in the rows of its second batch: nothing acked,
	 * nothing stored, both links closed so the agents send again at once */
	uint64_t failures = H.store_failures;
	m1 = batch(71, 10, NULL);
	m2 = batch(990, 20, NULL);
	assert_int_equal(hive_handle_incidents(a, m1), 0);
	assert_int_equal(hive_handle_incidents(c, m2), 0);
	hive_store_commit();
	assert_int_equal(acked(a, &nacks), -1);
	assert_int_equal(acked(c, &nacks), -1);
	assert_non_null(a->dead);
	assert_non_null(c->dead);
	assert_true(H.store_failures > failures);
	assert_int_equal(store_i64(H.st, "SELECT count(*) FROM incidents WHERE agent_id = 'a'", -1), 70);
	assert_int_equal(store_i64(H.st, "SELECT count(*) FROM incidents WHERE agent_id = 'c'", -1), 9);
	assert_int_equal(H.stored, 119);
	failing_trigger(false);
	/* sent again on new links, with c's first batch again: stored once */
	struct conn *a2 = agent("a"), *c2 = agent("c");
	cJSON *m3 = batch(1995, 10, NULL);
	assert_int_equal(hive_handle_incidents(a2, m1), 0);
	assert_int_equal(hive_handle_incidents(c2, m2), 0);
	assert_int_equal(hive_handle_incidents(c2, m3), 0);
	hive_store_commit();
	cJSON_Delete(m1);
	cJSON_Delete(m2);
	cJSON_Delete(m3);
	assert_int_equal(acked(a2, &nacks), 10);
	assert_int_equal(acked(c2, &nacks), 20);
	assert_int_equal(acked(c2, &nacks), 10);
	assert_int_equal(store_i64(H.st, "SELECT count(*) FROM incidents WHERE agent_id = 'a'", -1), 80);
	assert_int_equal(store_i64(H.st, "SELECT count(*) FROM incidents WHERE agent_id = 'c'", -1), 30);
	assert_int_equal(store_i64(H.st, "SELECT count(*) FROM incidents", -1), 150);
	assert_int_equal(H.stored, 150);
	assert_int_equal(H.duplicates, 29);
	struct conn *all[] = { a, b, c, a2, c2 };
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		free(all[i]->out);
		free(all[i]);
	}
	hive_down();
}

/* PostgreSQL gone in the middle of a turn's pipeline (its backend ends itself at seq 3000):
 * nothing of the turn acked, its agents' links closed; the store connects again (out of
 * pipeline mode) and what the agents send again is stored once. */
static void test_turn_lost(void **st)
{
	const char *w = where(st);
	if (!w)
		return;
	char err[512];
	hive_up(w);
	struct store *other = store_open(w, err, sizeof(err));
	assert_non_null(other);
	assert_int_equal(store_exec(other, "CREATE FUNCTION gone() RETURNS trigger LANGUAGE plpgsql AS $f$ BEGIN"
					   " IF NEW.agent_seq = 3000 THEN PERFORM pg_terminate_backend(pg_backend_pid());"
					   " PERFORM pg_sleep(5); END IF; RETURN NEW; END $f$;"
					   "CREATE TRIGGER gone BEFORE INSERT ON incidents FOR EACH ROW EXECUTE FUNCTION gone()"),
			 0);
	struct conn *a = agent("a"), *b = agent("b");
	int nacks;
	cJSON *m1 = batch(1, 30, NULL), *m2 = batch(2990, 20, NULL);
	assert_int_equal(hive_handle_incidents(a, m1), 0);
	hive_store_commit();
	assert_int_equal(acked(a, &nacks), 30);
	uint64_t failures = H.store_failures;
	assert_int_equal(hive_handle_incidents(b, m1), 0);
	assert_int_equal(hive_handle_incidents(a, m2), 0);
	hive_store_commit();
	assert_int_equal(acked(a, &nacks), -1);
	assert_int_equal(acked(b, &nacks), -1);
	assert_non_null(a->dead);
	assert_non_null(b->dead);
	assert_true(H.store_failures > failures);
	assert_int_equal(store_i64(other, "SELECT count(*) FROM incidents", -1), 30);
	assert_int_equal(store_exec(other, "DROP TRIGGER gone ON incidents; DROP FUNCTION gone()"), 0);
	usleep(1100000); /* the store connects again at most once a second */
	struct conn *a2 = agent("a"), *b2 = agent("b");
	assert_int_equal(hive_handle_incidents(b2, m1), 0);
	assert_int_equal(hive_handle_incidents(a2, m2), 0);
	hive_store_commit();
	assert_int_equal(acked(b2, &nacks), 30);
	assert_int_equal(acked(a2, &nacks), 20);
	assert_int_equal(store_i64(other, "SELECT count(*) FROM incidents WHERE agent_id = 'a'", -1), 50);
	assert_int_equal(store_i64(other, "SELECT count(*) FROM incidents WHERE agent_id = 'b'", -1), 30);
	assert_int_equal(H.stored, 80);
	assert_int_equal(H.duplicates, 0);
	cJSON_Delete(m1);
	cJSON_Delete(m2);
	struct conn *all[] = { a, b, a2, b2 };
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		free(all[i]->out);
		free(all[i]);
	}
	store_close(other);
	hive_down();
}

/* Every agent of a turn out in a pipeline gone before its answer: the answer is still read,
 * and the store goes on (the next turn stored and acked). */
static void test_turn_forgotten(void **st)
{
	const char *w = where(st);
	if (!w)
		return;
	hive_up(w);
	struct conn *a = agent("a"), *b = agent("b");
	int nacks;
	cJSON *m = batch(1, 40, NULL);
	assert_int_equal(hive_handle_incidents(a, m), 0);
	hive_store_send();
	hive_store_forget(a);
	assert_int_equal(hive_handle_incidents(b, m), 0);
	hive_store_commit();
	/* SQLite stores a turn before the send returns */
	assert_int_equal(acked(a, &nacks), store_is_pg(H.st) ? -1 : 40);
	assert_int_equal(acked(b, &nacks), 40);
	/* a's rows committed without their ack: sent again, they are duplicates */
	assert_int_equal(store_i64(H.st, "SELECT count(*) FROM incidents", -1), 80);
	assert_int_equal(H.store_failures, 0);
	cJSON_Delete(m);
	free(a->out);
	free(b->out);
	free(a);
	free(b);
	hive_down();
}

/* A SQLite store made by the schema before migrations (immune.sql and the first fleet tables). */
static void test_upgrade(void **st)
{
	(void)st;
	char path[] = "/tmp/immune-test-store.XXXXXX", file[64], err[512];
	assert_non_null(mkdtemp(path));
	snprintf(file, sizeof(file), "%s/hive.db", path);
	sqlite3 *db = db_open(file, incident_schema_sql, err, sizeof(err));
	assert_non_null(db);
	assert_int_equal(sqlite3_exec(db, hive_migrations[0], NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db,
				      "INSERT INTO incidents (host, agent_id, agent_seq, time_ns, rule_id, rule_title,"
				      " event_kind, action, doc) VALUES ('h1', 'old-agent', 7, 5, 'r', 't', 'exec', 'alert', '{}');"
				      "INSERT INTO fleet_verdicts VALUES ('exec', '/tmp/bad', 'deny', 'operator:0', 1);"
				      "INSERT INTO fleet_meta VALUES ('verdict_version', 4);",
				      NULL, NULL, NULL),
			 SQLITE_OK);
	sqlite3_close(db);
	memset(&H, 0, sizeof(H));
	H.ep = -1;
	H.instance = "test-1";
	if (hive_store_open(file, err, sizeof(err)) || hive_fleet_init(err, sizeof(err)))
		fail_msg("%s", err);
	assert_int_equal(H.verdict_version, 4);
	assert_int_equal(H.verdict_count, 1);
	assert_int_equal(store_i64(H.st, "SELECT max(version) FROM hive_migrations", -1), 2);
	assert_int_equal(store_i64(H.st, "SELECT count(*) FROM fleet_agents WHERE agent_id = 'old-agent'"
					 " AND link = 'disconnected'", -1), 1);
	assert_int_equal(store_i64(H.st, "SELECT count(*) FROM incidents WHERE stored_by IS NULL", -1), 1);
	hive_down();
	/* and opened again: nothing to do */
	memset(&H, 0, sizeof(H));
	H.instance = "test-1";
	if (hive_store_open(file, err, sizeof(err)) || hive_fleet_init(err, sizeof(err)))
		fail_msg("%s", err);
	assert_int_equal(store_i64(H.st, "SELECT count(*) FROM hive_migrations", -1), 2);
	hive_down();
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", path);
	assert_int_equal(system(cmd), 0);
}

static void on_note(const char *ch, const char *payload, void *ctx)
{
	if (strcmp(ch, HIVE_CHANNEL) == 0 && strcmp(payload, "verdicts") == 0)
		(*(int *)ctx)++;
}

/* Two instances on one PostgreSQL: a change on one is announced to the other. */
static void test_notify(void **st)
{
	const char *w = where(st);
	if (!w)
		return;
	char err[512];
	struct store *other = store_open(w, err, sizeof(err));
	assert_non_null(other);
	hive_up(w);
	assert_int_equal(store_listen(other, HIVE_CHANNEL), 0);
	assert_int_equal(hive_fleet_set("block", "net", "10.9.0.0/16", "operator:0", err, sizeof(err)), 0);
	int got = 0;
	for (int i = 0; i < 50 && !got; i++) {
		store_notifications(other, on_note, &got);
		usleep(20000);
	}
	assert_int_equal(got, 1);
	assert_int_equal(store_i64(other, "SELECT value FROM fleet_meta WHERE key = 'verdict_version'", -1), 1);
	store_close(other);
	hive_down();
}

/* The connection lost inside a transaction: its COMMIT fails (never answered by a new
 * connection), nothing of it is there, and the store connects again after the ROLLBACK. */
static void test_lost_in_transaction(void **st)
{
	const char *w = where(st);
	if (!w)
		return;
	char err[512], sql[128];
	struct store *s = fresh(w), *other = store_open(w, err, sizeof(err));
	assert_non_null(other);
	assert_int_equal(store_migrate(s, err, sizeof(err)), 0);
	unsigned gen = store_generation(s);
	snprintf(sql, sizeof(sql), "SELECT pg_terminate_backend(%lld)",
		 (long long)store_i64(s, "SELECT pg_backend_pid()", -1));
	assert_int_equal(store_exec(s, "BEGIN"), 0);
	assert_int_equal(store_exec(s, "INSERT INTO fleet_revoked VALUES ('x', 1, 'operator:0')"), 0);
	assert_int_equal(store_i64(other, sql, -1), 1);
	usleep(200000);
	assert_int_equal(store_exec(s, "INSERT INTO fleet_revoked VALUES ('y', 1, 'operator:0')"), ST_ERR);
	assert_int_equal(store_exec(s, "COMMIT"), ST_ERR);
	assert_int_equal(store_exec(s, "ROLLBACK"), 0);
	usleep(1100000); /* reconnects at most once a second */
	assert_int_equal(store_i64(s, "SELECT count(*) FROM fleet_revoked", -1), 0);
	assert_int_not_equal(store_generation(s), gen);
	store_close(other);
	store_close(s);
}

/* Proposals and the K-agent policy through either store. */
static void test_trust(void **st)
{
	const char *w = where(st);
	if (!w)
		return;
	hive_up(w);
	H.o.accept_k = 2;
	struct conn *a = agent("a"), *b = agent("b");
	cJSON *m = cJSON_Parse("{\"type\":\"verdict\",\"kind\":\"exec\",\"target\":\"/tmp/evil\",\"source\":\"rule:x\","
			       "\"sha256\":\"00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\"}");
	hive_fleet_proposal(a, m);
	hive_fleet_proposal(a, m);
	assert_int_equal(store_i64(H.st, "SELECT count(*) FROM fleet_proposals WHERE state = 'pending'", -1), 1);
	hive_fleet_proposal(b, m);
	cJSON_Delete(m);
	assert_int_equal(store_i64(H.st, "SELECT count(*) FROM fleet_verdicts WHERE source = 'policy:2-agents'", -1), 1);
	assert_int_equal(store_i64(H.st, "SELECT count(*) FROM fleet_proposals WHERE state = 'approved'", -1), 2);
	assert_int_equal(H.verdict_version, 1);
	assert_int_equal(H.verdict_count, 1);
	assert_false(hive_revoked("a"));
	assert_int_equal(store_exec(H.st, "INSERT INTO fleet_revoked VALUES ('a', 1, 'operator:0')"), 0);
	assert_true(hive_revoked("a"));
	free(a);
	free(b);
	hive_down();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_prestate(test_statements, ":memory:"),
		cmocka_unit_test_prestate(test_statements, "pg"),
		cmocka_unit_test_prestate(test_incidents_once, ":memory:"),
		cmocka_unit_test_prestate(test_incidents_once, "pg"),
		cmocka_unit_test_prestate(test_turn_batches, ":memory:"),
		cmocka_unit_test_prestate(test_turn_batches, "pg"),
		cmocka_unit_test_prestate(test_turn_lost, "pg"),
		cmocka_unit_test_prestate(test_turn_forgotten, ":memory:"),
		cmocka_unit_test_prestate(test_turn_forgotten, "pg"),
		cmocka_unit_test(test_upgrade),
		cmocka_unit_test_prestate(test_notify, "pg"),
		cmocka_unit_test_prestate(test_lost_in_transaction, "pg"),
		cmocka_unit_test_prestate(test_trust, ":memory:"),
		cmocka_unit_test_prestate(test_trust, "pg"),
	};
	return cmocka_run_group_tests(tests, pg_up, pg_down);
}
