/*
 * Incidents: a rule or IOC match on an event, as one ECS JSON document
 * (printed as a line, or as text) and as a row of the SQLite table
 * `incidents` (schema/immune.sql), written in batched transactions so that a
 * burst of matches costs one commit, not one fsync per row.
 */
#ifndef IMMUNE_INCIDENT_H
#define IMMUNE_INCIDENT_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdio.h>
#include "event.h"
#include "jsonw.h"
#include "sigma.h"

struct corr_fire;

struct incident {
	const struct imm_event *ev;
	const char *host;
	const char *rule_id, *rule_title, *rule_level, *rule_author, *rule_description;
	const char *const *tags;
	int ntags;
	const char *ruleset;  /* "sigma", "builtin" or "ioc" */
	const char *rule_file;
	const char *category; /* Sigma logsource category, or the IOC kind */
	enum imm_rule_action action;
	const char *verdict;  /* "alerted", "denied", "killed" */
	const char *verdict_error; /* why a block/kill could not be done, or NULL */
	const char *indicator; /* IOC matches: the indicator as text */
	const char *sha256;   /* the executable's hash when known */
	const struct corr_fire *correlation; /* a correlation's: the matches that made it, or NULL */
};

/* "exec", "open", "connect", ... */
const char *incident_event_kind(const struct imm_event *ev);
/* The file path or destination the event is about (exec: the executable). */
void incident_target(const struct imm_event *ev, char *buf, size_t n);
/*
 * The ECS document: the event's, with the rule, verdict, host and ancestors
 * in it, appended to w (no newline). Tags "attack.tNNNN[.NNN]" become
 * threat.technique.id, the other ATT&CK tags threat.tactic.name.
 */
void incident_write_json(struct jw *w, const struct incident *in);
/* One aligned text line (no newline). */
void incident_write_text(FILE *out, const struct incident *in);

/*
 * An incident's columns, in this order, wherever one is written or read: the
 * agent's incidents and signals tables, the Hive link's batches and the Hive's
 * store (which add host, and agent_id, agent_seq, in front). The one list:
 * X(name, SQL type, NULLABLE or NOT_NULL, wire kind INT/TEXT/DOC, min, max (INT), "-- comment\n" or "")
 * with SEP between; the schemas, the column names, the placeholders and the
 * wire's checks are all made from it.
 */
#define INCIDENT_COLUMN_LIST(X, SEP)                                                                                \
	X(time_ns, INTEGER, NOT_NULL, INT, INT64_MIN, INT64_MAX, "-- UNIX epoch ns of the event\n") SEP             \
	X(rule_id, TEXT, NOT_NULL, TEXT, 0, 0, "") SEP                                                              \
	X(rule_title, TEXT, NOT_NULL, TEXT, 0, 0, "") SEP                                                           \
	X(rule_level, TEXT, NULLABLE, TEXT, 0, 0, "") SEP                                                           \
	X(rule_tags, TEXT, NULLABLE, TEXT, 0, 0, "-- JSON array\n") SEP                                             \
	X(rule_author, TEXT, NULLABLE, TEXT, 0, 0, "") SEP                                                          \
	X(event_kind, TEXT, NOT_NULL, TEXT, 0, 0, "-- exec, open, connect\n") SEP                                   \
	X(pid, INTEGER, NULLABLE, INT, 0, UINT32_MAX, "") SEP                                                       \
	X(ppid, INTEGER, NULLABLE, INT, 0, UINT32_MAX, "") SEP                                                      \
	X(uid, INTEGER, NULLABLE, INT, 0, UINT32_MAX, "") SEP                                                       \
	X(executable, TEXT, NULLABLE, TEXT, 0, 0, "") SEP                                                           \
	X(command_line, TEXT, NULLABLE, TEXT, 0, 0, "") SEP                                                         \
	X(parent_executable, TEXT, NULLABLE, TEXT, 0, 0, "") SEP                                                    \
	X(target, TEXT, NULLABLE, TEXT, 0, 0, "-- file path or destination\n") SEP                                  \
	X(action, TEXT, NOT_NULL, TEXT, 0, 0, "-- alert, block, kill (a signal: always alert, never enforced)\n") SEP \
	X(verdict, TEXT, NULLABLE, TEXT, 0, 0, "-- what was done: 'alerted', 'denied', 'killed' (a signal: 'signal')\n") SEP \
	X(doc, TEXT, NOT_NULL, DOC, 0, 0, "-- the incident (or signal) as one ECS JSON object\n")

#define INCIDENT_SQL_NULLABLE ""
#define INCIDENT_SQL_NOT_NULL " NOT NULL"
#define INCIDENT_COL_NAME_(name, type, nul, wire, min, max, comment) #name
#define INCIDENT_COL_Q_(name, type, nul, wire, min, max, comment) "?"
#define INCIDENT_COL_DEF_(name, type, nul, wire, min, max, comment)                                         \
	"    " comment "    " #name " " #type INCIDENT_SQL_##nul
#define INCIDENT_COMMA_ ", "
#define INCIDENT_QSEP_ ","
#define INCIDENT_DEFSEP_ ",\n"

#define INCIDENT_COLUMNS INCIDENT_COLUMN_LIST(INCIDENT_COL_NAME_, INCIDENT_COMMA_)
#define INCIDENT_PLACEHOLDERS INCIDENT_COLUMN_LIST(INCIDENT_COL_Q_, INCIDENT_QSEP_)
/* The shared columns as CREATE TABLE lines (no comma after the last). */
#define INCIDENT_COLUMN_DEFS INCIDENT_COLUMN_LIST(INCIDENT_COL_DEF_, INCIDENT_DEFSEP_)

/* The incidents table and its indexes exactly as in schema/immune.sql (a test compares them). */
extern const char incident_schema_sql[];
/* The signals table and its indexes exactly as in schema/immune.sql (a test compares them). */
extern const char signal_schema_sql[];

struct incident_store;

/* Open (creating the directories), apply the schema, WAL; NULL with err. */
struct incident_store *incident_store_open(const char *path, char *err, size_t errlen);
/* Insert into the open transaction (begun if needed); commits itself every 512 rows. 0 or -1. */
int incident_store_add(struct incident_store *s, const struct incident *in, const char *doc);
/* The same into `signals`: matches of rules below the alerting level (stored, never alerts). */
int incident_store_add_signal(struct incident_store *s, const struct incident *in, const char *doc);
/* Commit what is pending; 0, or -1 (kept for the next flush, e.g. while the db is busy). */
int incident_store_flush(struct incident_store *s);
void incident_store_close(struct incident_store *s);
unsigned incident_store_pending(const struct incident_store *s);
uint64_t incident_store_errors(const struct incident_store *s);

#endif
