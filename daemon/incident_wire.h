/*
 * The incident as it travels to the Hive: one column list for the agent's
 * SELECT, the `incidents` message's items and the Hive's INSERT, so the three
 * cannot drift apart (docs/hive-protocol.md).
 */
#ifndef IMMUNE_INCIDENT_WIRE_H
#define IMMUNE_INCIDENT_WIRE_H

#include <cjson/cJSON.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>

/* An item of an `incidents` batch larger than this is shortened before it is sent. */
#define INCIDENT_WIRE_ITEM_MAX (256u << 10)
/* What a shortened item keeps of each long string (command lines, paths, doc strings). */
#define INCIDENT_WIRE_SHORT 4096

/* "time_ns, rule_id, ..., doc": the columns after the sequence number, in order. */
extern const char incident_wire_columns[];
/* "?, ?, ...": as many parameters as incident_wire_columns has columns. */
extern const char incident_wire_params[];

/* Agent: one batch item from a row of "SELECT id, <incident_wire_columns> ...".
 * Integers are printed exactly; an item over INCIDENT_WIRE_ITEM_MAX is
 * shortened (long strings cut, "shortened": true, immune.shortened in doc). */
cJSON *incident_wire_item(sqlite3_stmt *st);

/* Hive: check one batch item and bind its columns to st from parameter
 * `first` on. 0, or -1 with the reason the item is refused (the nack's). */
int incident_wire_bind(sqlite3_stmt *st, int first, const cJSON *item, char *why, size_t n);

#endif
