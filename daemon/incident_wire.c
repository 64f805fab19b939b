/* The incident columns on the Hive link; see incident_wire.h. */
#include "incident_wire.h"
#include "frame.h"
#include "incident.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum wire_type { W_INT, W_TEXT, W_DOC };

static const struct wire_col {
	const char *name;
	enum wire_type type;
	bool required;     /* NOT NULL in the schema */
	int64_t min, max;  /* W_INT */
} cols[] = {
#define WIRE_REQ_NULLABLE false
#define WIRE_REQ_NOT_NULL true
#define WIRE_COL(name, type, nul, wire, min, max, comment) { #name, W_##wire, WIRE_REQ_##nul, min, max }
#define WIRE_SEP ,
	INCIDENT_COLUMN_LIST(WIRE_COL, WIRE_SEP)
};
#define NCOLS (sizeof(cols) / sizeof(cols[0]))

const char *incident_wire_names(void)
{
	static char names[512];
	size_t o = 0;
	for (size_t i = 0; i < NCOLS && o < sizeof(names); i++)
		o += (size_t)snprintf(names + o, sizeof(names) - o, "%s%s", i ? ", " : "", cols[i].name);
	return names;
}

/* Cut s to at most max bytes on a UTF-8 character boundary. */
static void cut_utf8(char *s, size_t max)
{
	size_t n = strlen(s);
	if (n <= max)
		return;
	while (max > 0 && ((unsigned char)s[max] & 0xc0) == 0x80)
		max--;
	s[max] = 0;
}

static void shorten_strings(cJSON *node)
{
	for (; node; node = node->next) {
		if (cJSON_IsString(node) && strlen(node->valuestring) > INCIDENT_WIRE_SHORT)
			cut_utf8(node->valuestring, INCIDENT_WIRE_SHORT);
		shorten_strings(node->child);
	}
}

static size_t item_size(const cJSON *it)
{
	char *s = cJSON_PrintUnformatted(it);
	size_t n = s ? strlen(s) : SIZE_MAX;
	free(s);
	return n;
}

/* Too big for a frame: long strings are cut and the cut is said, never hidden.
 * A doc that is still too big keeps only what names the incident. */
static void shorten(cJSON *it)
{
	cJSON *c;
	cJSON_ArrayForEach(c, it)
	{
		if (cJSON_IsString(c) && strcmp(c->string, "doc") && strlen(c->valuestring) > INCIDENT_WIRE_SHORT)
			cut_utf8(c->valuestring, INCIDENT_WIRE_SHORT);
	}
	cJSON *docs = cJSON_GetObjectItemCaseSensitive(it, "doc");
	cJSON *doc = cJSON_Parse(docs->valuestring);
	if (!cJSON_IsObject(doc)) {
		cJSON_Delete(doc);
		doc = cJSON_CreateObject();
	}
	shorten_strings(doc->child);
	cJSON *im = cJSON_GetObjectItemCaseSensitive(doc, "immune");
	if (!cJSON_IsObject(im)) {
		cJSON_DeleteItemFromObjectCaseSensitive(doc, "immune");
		im = cJSON_AddObjectToObject(doc, "immune");
	}
	cJSON_DeleteItemFromObjectCaseSensitive(im, "shortened");
	cJSON_AddTrueToObject(im, "shortened");
	char *s = cJSON_PrintUnformatted(doc);
	if (s && strlen(s) > INCIDENT_WIRE_ITEM_MAX / 2) {
		/* thousands of strings: keep the rule, the host and the flag */
		cJSON *small = cJSON_CreateObject();
		static const char *const keep[] = { "@timestamp", "event", "rule", "host", "immune" };
		for (size_t i = 0; i < sizeof(keep) / sizeof(keep[0]); i++) {
			cJSON *v = cJSON_DetachItemFromObjectCaseSensitive(doc, keep[i]);
			if (v)
				cJSON_AddItemToObject(small, keep[i], v);
		}
		free(s);
		s = cJSON_PrintUnformatted(small);
		cJSON_Delete(small);
	}
	cJSON_Delete(doc);
	cJSON_ReplaceItemInObjectCaseSensitive(it, "doc", cJSON_CreateString(s ? s : "{\"immune\":{\"shortened\":true}}"));
	free(s);
	cJSON_DeleteItemFromObjectCaseSensitive(it, "shortened");
	cJSON_AddTrueToObject(it, "shortened");
}

cJSON *incident_wire_item(sqlite3_stmt *st)
{
	cJSON *it = cJSON_CreateObject();
	if (!it)
		return NULL;
	frame_add_i64(it, "seq", sqlite3_column_int64(st, 0));
	for (size_t i = 0; i < NCOLS; i++) {
		int c = (int)i + 1;
		if (sqlite3_column_type(st, c) == SQLITE_NULL) {
			if (cols[i].type == W_DOC)
				cJSON_AddStringToObject(it, "doc", "{}");
			continue;
		}
		if (cols[i].type == W_INT)
			frame_add_i64(it, cols[i].name, sqlite3_column_int64(st, c));
		else
			cJSON_AddStringToObject(it, cols[i].name, (const char *)sqlite3_column_text(st, c));
	}
	if (item_size(it) > INCIDENT_WIRE_ITEM_MAX)
		shorten(it);
	return it;
}

int incident_wire_bind(sqlite3_stmt *st, int first, const cJSON *item, char *why, size_t n)
{
	if (!cJSON_IsObject(item)) {
		snprintf(why, n, "an incident must be a JSON object");
		return -1;
	}
	for (size_t i = 0; i < NCOLS; i++) {
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(item, cols[i].name);
		int p = first + (int)i;
		if (!v || cJSON_IsNull(v)) {
			if (cols[i].required) {
				snprintf(why, n, "\"%s\" is missing", cols[i].name);
				return -1;
			}
			sqlite3_bind_null(st, p);
			continue;
		}
		if (cols[i].type == W_INT) {
			int64_t x;
			if (frame_i64(v, cols[i].min, cols[i].max, &x)) {
				snprintf(why, n, "\"%s\" must be an integer from %lld to %lld", cols[i].name,
					 (long long)cols[i].min, (long long)cols[i].max);
				return -1;
			}
			sqlite3_bind_int64(st, p, x);
			continue;
		}
		if (!cJSON_IsString(v)) {
			snprintf(why, n, "\"%s\" must be a string", cols[i].name);
			return -1;
		}
		if (cols[i].type == W_DOC) {
			/* stored as the agent's text, so it must be one JSON object */
			cJSON *d = cJSON_ParseWithOpts(v->valuestring, NULL, true);
			bool obj = cJSON_IsObject(d);
			cJSON_Delete(d);
			if (!obj) {
				snprintf(why, n, "\"doc\" must be the text of a JSON object");
				return -1;
			}
		}
		sqlite3_bind_text(st, p, v->valuestring, -1, SQLITE_TRANSIENT);
	}
	return 0;
}
