/* Incidents: ECS document, text line, SQLite rows; see incident.h. */
#include "incident.h"
#include "jsonw.h"
#include "correlate.h"
#include "event_json.h"
#include "db.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>

/* One row per rule or IOC match; the columns after agent_seq are INCIDENT_COLUMN_LIST's. */
const char incident_schema_sql[] =
	"CREATE TABLE IF NOT EXISTS incidents (\n"
	"    -- the agent's sequence number for the Hive\n"
	"    id INTEGER PRIMARY KEY,\n"
	"    host TEXT NOT NULL,\n"
	"    -- Hive side: which agent sent it\n"
	"    agent_id TEXT,\n"
	"    -- Hive side: the agent's id for the row\n"
	"    agent_seq INTEGER,\n" INCIDENT_COLUMN_DEFS ",\n"
	"    hive_acked INTEGER NOT NULL DEFAULT 0\n"
	");\n"
	"CREATE INDEX IF NOT EXISTS incidents_time ON incidents (time_ns);\n"
	"CREATE INDEX IF NOT EXISTS incidents_rule ON incidents (rule_id);\n"
	"CREATE INDEX IF NOT EXISTS incidents_exe  ON incidents (executable);\n"
	"CREATE INDEX IF NOT EXISTS incidents_unacked ON incidents (hive_acked) WHERE hive_acked = 0;\n"
	"CREATE UNIQUE INDEX IF NOT EXISTS incidents_agent_seq ON incidents (agent_id, agent_seq) WHERE agent_id IS NOT "
	"NULL;\n";

/* The signals: an incident's columns without the Hive's (a signal never leaves the agent). */
const char signal_schema_sql[] =
	"CREATE TABLE IF NOT EXISTS signals (\n"
	"    id INTEGER PRIMARY KEY,\n"
	"    host TEXT NOT NULL,\n" INCIDENT_COLUMN_DEFS "\n"
	");\n"
	"CREATE INDEX IF NOT EXISTS signals_time ON signals (time_ns);\n"
	"CREATE INDEX IF NOT EXISTS signals_rule ON signals (rule_id);\n";

const char *incident_event_kind(const struct imm_event *ev)
{
	return event_kind_name(ev->type);
}

void incident_target(const struct imm_event *ev, char *buf, size_t n)
{
	switch (ev->type) {
	case EBPF_EVENT_OPEN:
		snprintf(buf, n, "%s", ev->abs_path && ev->abs_path[0] ? ev->abs_path : ev->path ? ev->path : "");
		break;
	case EBPF_EVENT_CONNECT:
		if (ev->family == AF_UNIX)
			snprintf(buf, n, "%s", ev->unix_path ? ev->unix_path : "");
		else if (ev->family == AF_INET6)
			snprintf(buf, n, "[%s]:%u", ev->dst_ip, ev->dst_port);
		else
			snprintf(buf, n, "%s:%u", ev->dst_ip, ev->dst_port);
		break;
	default:
		snprintf(buf, n, "%s", ev->executable ? ev->executable : "");
		break;
	}
}

static int severity(const char *level)
{
	static const struct {
		const char *l;
		int s;
	} t[] = { { "informational", 0 }, { "low", 21 }, { "medium", 47 }, { "high", 73 }, { "critical", 99 } };
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (level && strcmp(level, t[i].l) == 0)
			return t[i].s;
	return -1;
}

/* "attack.t1059.004" → "T1059.004"; other ATT&CK tags name tactics; groups and software are neither. */
static bool attack_tag(const char *tag, bool technique, char *out, size_t n)
{
	const char *t = tag + 7;

	if (strncmp(tag, "attack.", 7))
		return false;
	bool is_tech = (t[0] == 't' || t[0] == 'T') && isdigit((unsigned char)t[1]);
	bool is_other = (t[0] == 'g' || t[0] == 's') && isdigit((unsigned char)t[1]);
	if (technique ? !is_tech : is_tech || is_other)
		return false;
	snprintf(out, n, "%s", t);
	if (technique)
		for (char *p = out; *p; p++)
			*p = (char)toupper((unsigned char)*p);
	return true;
}

/* The ATT&CK ids or tactic names among the tags as an array under key; nothing when none. */
static bool write_attack(struct jw *w, const struct incident *in, bool technique, const char *obj, const char *key)
{
	char id[64];
	bool any = false;

	for (int i = 0; i < in->ntags; i++) {
		if (!attack_tag(in->tags[i], technique, id, sizeof(id)))
			continue;
		if (!any) {
			jw_obj(w, obj);
			jw_arr(w, key);
			any = true;
		}
		jw_str(w, NULL, id);
	}
	if (any) {
		jw_end_arr(w);
		jw_end_obj(w);
	}
	return any;
}

static bool has_attack(const struct incident *in, bool technique)
{
	char id[64];

	for (int i = 0; i < in->ntags; i++)
		if (attack_tag(in->tags[i], technique, id, sizeof(id)))
			return true;
	return false;
}

/* An incident's fields, in the event's objects and after them. */
static void incident_more(struct jw *w, enum event_json_at at, void *ctx)
{
	const struct incident *in = ctx;
	const struct imm_event *ev = in->ev;

	switch (at) {
	case EJ_EVENT: {
		int sev = severity(in->rule_level);
		if (sev >= 0)
			jw_int(w, "severity", sev);
		break;
	}
	case EJ_PROCESS:
		if (in->sha256) {
			jw_obj(w, "hash");
			jw_str(w, "sha256", in->sha256);
			jw_end_obj(w);
		}
		/* the chain enrichment attached to the event, parent first */
		if (ev->nancestors > 0) {
			jw_arr(w, "ancestors");
			for (int i = 0; i < ev->nancestors; i++) {
				jw_obj(w, NULL);
				jw_uint(w, "pid", ev->ancestors[i].pid);
				if (ev->ancestors[i].executable) {
					jw_str(w, "executable", ev->ancestors[i].executable);
					jw_str(w, "command_line", ev->ancestors[i].command_line);
				}
				jw_end_obj(w);
			}
			jw_end_arr(w);
		}
		break;
	case EJ_IMMUNE:
		jw_str(w, "action", imm_action_name(in->action));
		jw_str(w, "verdict", in->verdict);
		if (in->verdict_error)
			jw_str(w, "verdict_error", in->verdict_error);
		if (in->indicator)
			jw_str(w, "indicator", in->indicator);
		if (in->correlation)
			corr_fire_write_json(w, "correlation", in->correlation);
		break;
	case EJ_TOP:
		jw_obj(w, "host");
		jw_str(w, "name", in->host);
		jw_end_obj(w);
		jw_obj(w, "rule");
		jw_str(w, "id", in->rule_id);
		jw_str(w, "name", in->rule_title);
		jw_str(w, "level", in->rule_level);
		if (in->rule_description && in->rule_description[0])
			jw_str(w, "description", in->rule_description);
		jw_str(w, "author", in->rule_author);
		jw_str(w, "ruleset", in->ruleset);
		if (in->category)
			jw_str(w, "category", in->category);
		if (in->rule_file)
			jw_str(w, "reference", in->rule_file);
		jw_arr(w, "tags");
		for (int i = 0; i < in->ntags; i++)
			jw_str(w, NULL, in->tags[i]);
		jw_end_arr(w);
		jw_end_obj(w);
		if (has_attack(in, true) || has_attack(in, false)) {
			jw_obj(w, "threat");
			jw_str(w, "framework", "MITRE ATT&CK");
			write_attack(w, in, true, "technique", "id");
			write_attack(w, in, false, "tactic", "name");
			jw_end_obj(w);
		}
		break;
	}
}

void incident_write_json(struct jw *w, const struct incident *in)
{
	event_write_json_more(w, in->ev, "alert", incident_more, (void *)in);
}

/* key="value" with the value escaped (jw_text): a command line cannot close its quotes and fake a field. */
static void put_field(struct jw *w, const char *key, const char *v)
{
	jw_append(w, " ", 1);
	jw_append(w, key, strlen(key));
	jw_append(w, "=\"", 2);
	jw_text(w, v ? v : "");
	jw_append(w, "\"", 1);
}

void incident_write_text(FILE *out, const struct incident *in)
{
	char ts[64], target[4200], head[512];
	struct jw w = { 0 };
	event_timestamp(in->ev->time_ns, ts, sizeof(ts));
	incident_target(in->ev, target, sizeof(target));
	snprintf(head, sizeof(head), "%s ALERT ", ts);
	jw_append(&w, head, strlen(head));
	size_t at = w.len;
	jw_text(&w, in->rule_level && in->rule_level[0] ? in->rule_level : "-");
	while (w.len < at + 8)
		jw_append(&w, " ", 1);
	snprintf(head, sizeof(head), " %s [", incident_event_kind(in->ev));
	jw_append(&w, head, strlen(head));
	jw_text(&w, in->rule_id);
	jw_append(&w, "] ", 2);
	jw_text(&w, imm_action_name(in->action));
	jw_append(&w, "/", 1);
	jw_text(&w, in->verdict);
	snprintf(head, sizeof(head), " pid=%u", in->ev->pid);
	jw_append(&w, head, strlen(head));
	put_field(&w, "exe", in->ev->executable);
	put_field(&w, "target", target);
	put_field(&w, "cmd", in->ev->command_line);
	put_field(&w, "rule", in->rule_title);
	if (in->correlation) {
		snprintf(head, sizeof(head), " correlation=%s events=%u", corr_type_name(corr_fire_rule(in->correlation)->type),
			 corr_fire_events(in->correlation));
		jw_append(&w, head, strlen(head));
		put_field(&w, "group", corr_fire_group(in->correlation));
	}
	if (in->indicator)
		put_field(&w, "indicator", in->indicator);
	if (in->verdict_error)
		put_field(&w, "error", in->verdict_error);
	fwrite(w.buf, 1, w.len, out);
	jw_free(&w);
}

/* ------------------------------------------------------------ store */

struct incident_store {
	sqlite3 *db;
	sqlite3_stmt *ins, *ins_signal; /* incidents, signals */
	bool in_txn;
	unsigned pending;
	uint64_t errors;
	char path[PATH_MAX];
};

struct incident_store *incident_store_open(const char *path, char *err, size_t errlen)
{
	struct incident_store *s = calloc(1, sizeof(*s));
	char *msg = NULL;
	if (!s) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	snprintf(s->path, sizeof(s->path), "%s", path);
	if (!(s->db = db_open(path, incident_schema_sql, err, errlen)))
		goto fail;
	/* a power cut may lose the last batch, never corrupt the file (WAL) */
	if (sqlite3_exec(s->db, "PRAGMA synchronous = NORMAL", NULL, NULL, &msg) != SQLITE_OK ||
	    sqlite3_exec(s->db, signal_schema_sql, NULL, NULL, &msg) != SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", path, msg ? msg : "?");
		sqlite3_free(msg);
		goto fail;
	}
	if (sqlite3_prepare_v2(s->db,
			       "INSERT INTO incidents (host, " INCIDENT_COLUMNS ") VALUES (?," INCIDENT_PLACEHOLDERS ")",
			       -1, &s->ins, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(s->db,
			       "INSERT INTO signals (host, " INCIDENT_COLUMNS ") VALUES (?," INCIDENT_PLACEHOLDERS ")",
			       -1, &s->ins_signal, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", path, sqlite3_errmsg(s->db));
		goto fail;
	}
	return s;
fail:
	if (s->db)
		sqlite3_close(s->db);
	free(s);
	return NULL;
}

static int exec1(struct incident_store *s, const char *sql)
{
	char *msg = NULL;
	if (sqlite3_exec(s->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		fprintf(stderr, "immuned: %s: %s: %s\n", s->path, sql, msg ? msg : "?");
		sqlite3_free(msg);
		s->errors++;
		return -1;
	}
	return 0;
}

int incident_store_flush(struct incident_store *s)
{
	if (!s || !s->in_txn)
		return 0;
	if (exec1(s, "COMMIT"))
		return -1;
	s->in_txn = false;
	s->pending = 0;
	return 0;
}

static int store_add(struct incident_store *s, sqlite3_stmt *q, const struct incident *in, const char *doc)
{
	char target[4200];
	const struct imm_event *ev = in->ev;
	if (!s->in_txn) {
		if (exec1(s, "BEGIN"))
			return -1;
		s->in_txn = true;
	}
	cJSON *tags = cJSON_CreateArray();
	for (int i = 0; i < in->ntags; i++)
		cJSON_AddItemToArray(tags, cJSON_CreateString(in->tags[i]));
	char *tj = cJSON_PrintUnformatted(tags);
	cJSON_Delete(tags);
	incident_target(ev, target, sizeof(target));
	int64_t t = ev->time_ns;
	if (!t) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		t = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
	}

	int i = 1;
	sqlite3_bind_text(q, i++, in->host ? in->host : "", -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, i++, t);
	sqlite3_bind_text(q, i++, in->rule_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, i++, in->rule_title ? in->rule_title : "", -1, SQLITE_STATIC);
	sqlite3_bind_text(q, i++, in->rule_level, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, i++, tj ? tj : "[]", -1, SQLITE_STATIC);
	sqlite3_bind_text(q, i++, in->rule_author, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, i++, incident_event_kind(ev), -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, i++, ev->pid);
	sqlite3_bind_int64(q, i++, ev->ppid);
	sqlite3_bind_int64(q, i++, ev->uid);
	sqlite3_bind_text(q, i++, ev->executable, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, i++, ev->command_line, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, i++, ev->parent_executable, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, i++, target, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, i++, imm_action_name(in->action), -1, SQLITE_STATIC);
	sqlite3_bind_text(q, i++, in->verdict, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, i++, doc, -1, SQLITE_STATIC);
	int rc = sqlite3_step(q);
	sqlite3_reset(q);
	sqlite3_clear_bindings(q);
	free(tj);
	if (rc != SQLITE_DONE) {
		fprintf(stderr, "immuned: %s: inserting an incident: %s\n", s->path, sqlite3_errmsg(s->db));
		s->errors++;
		return -1;
	}
	if (++s->pending >= 512)
		incident_store_flush(s);
	return 0;
}

int incident_store_add(struct incident_store *s, const struct incident *in, const char *doc)
{
	return store_add(s, s->ins, in, doc);
}

int incident_store_add_signal(struct incident_store *s, const struct incident *in, const char *doc)
{
	return store_add(s, s->ins_signal, in, doc);
}

void incident_store_close(struct incident_store *s)
{
	if (!s)
		return;
	incident_store_flush(s);
	sqlite3_finalize(s->ins);
	sqlite3_finalize(s->ins_signal);
	sqlite3_close(s->db);
	free(s);
}

unsigned incident_store_pending(const struct incident_store *s)
{
	return s ? s->pending : 0;
}

uint64_t incident_store_errors(const struct incident_store *s)
{
	return s ? s->errors : 0;
}
