/*
 * The incident as it travels to the Hive: the columns of INCIDENT_COLUMNS
 * with their types and bounds, for the agent's batch items and the Hive's
 * checks before its INSERT (docs/hive-protocol.md).
 */
#ifndef IMMUNE_INCIDENT_WIRE_H
#define IMMUNE_INCIDENT_WIRE_H

#include <cjson/cJSON.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* An item of an `incidents` batch larger than this is shortened before it is sent. */
#define INCIDENT_WIRE_ITEM_MAX (256u << 10)
/* What a shortened item keeps of each long string (command lines, paths, doc strings). */
#define INCIDENT_WIRE_SHORT 4096

/* The columns are INCIDENT_COLUMNS (incident.h), in its order (a test checks). */
/* The wire's names of the columns, ", "-separated: for that test. */
extern const char *incident_wire_names(void);

/* Agent: one batch item from a row of "SELECT id, " INCIDENT_COLUMNS " ...".
 * Integers are printed exactly; an item over INCIDENT_WIRE_ITEM_MAX is
 * shortened (long strings cut, "shortened": true, immune.shortened in doc). */
cJSON *incident_wire_item(sqlite3_stmt *st);

/* Where incident_wire_bind puts the values: a statement of either of the Hive's stores. */
struct wire_binder {
	void (*null)(void *st, int p);
	void (*i64)(void *st, int p, int64_t v);
	void (*text)(void *st, int p, const char *v);
};
extern const struct wire_binder wire_bind_sqlite; /* st is a sqlite3_stmt */

/* Hive: check one batch item and bind its columns to st from parameter
 * `first` on. 0, or -1 with the reason the item is refused (the nack's). */
int incident_wire_bind(const struct wire_binder *b, void *st, int first, const cJSON *item, char *why, size_t n);

#endif
