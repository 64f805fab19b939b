#ifndef IMMUNE_EVENT_JSON_H
#define IMMUNE_EVENT_JSON_H

#include <cjson/cJSON.h>
#include "arena.h"
#include "event.h"
#include "jsonw.h"

/* One ECS JSON object (no newline) appended to w. */
void event_write_json(struct jw *w, const struct imm_event *ev);
/* One aligned text line (no newline) appended to w. */
void event_write_text(struct jw *w, const struct imm_event *ev);
/*
 * The same object with more in it (an incident's fields): more is called
 * inside "event", "process" and "immune" after the event's own fields, and
 * at the top level last. kind is event.kind ("event" when NULL).
 */
enum event_json_at { EJ_EVENT, EJ_PROCESS, EJ_IMMUNE, EJ_TOP };
typedef void (*event_json_more_fn)(struct jw *w, enum event_json_at at, void *ctx);
void event_write_json_more(struct jw *w, const struct imm_event *ev, const char *kind, event_json_more_fn more,
			   void *ctx);
/* Parse a line of `--events json` output; 0, or -EINVAL with a reason in err. */
int event_from_json(const char *line, struct imm_event *ev, struct arena *a, char *err, size_t errlen);
const char *event_kind_name(ebpf_event_type_t t);
int event_kind_from_name(const char *s);
/* RFC 3339 UTC with nanoseconds. */
void event_timestamp(int64_t ns, char *buf, size_t n);

#endif
