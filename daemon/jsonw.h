/*
 * A small streaming JSON writer: events go out at the rate the kernel makes
 * them, so no tree is built. Strings are escaped and invalid UTF-8 bytes are
 * written as U+FFFD, so hostile file names always give valid JSON.
 */
#ifndef IMMUNE_JSONW_H
#define IMMUNE_JSONW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define JW_DEPTH 16

struct jw {
	char *buf;
	size_t len, cap;
	int depth;
	bool first[JW_DEPTH];
};

void jw_reset(struct jw *w);
void jw_free(struct jw *w);
void jw_obj(struct jw *w, const char *key);   /* key NULL inside arrays / at top */
void jw_end_obj(struct jw *w);
void jw_arr(struct jw *w, const char *key);
void jw_end_arr(struct jw *w);
void jw_str(struct jw *w, const char *key, const char *s);
void jw_strn(struct jw *w, const char *key, const char *s, size_t n);
void jw_int(struct jw *w, const char *key, int64_t v);
void jw_uint(struct jw *w, const char *key, uint64_t v);
void jw_bool(struct jw *w, const char *key, bool v);
void jw_raw(struct jw *w, const char *key, const char *json); /* already valid JSON */
/* Append n bytes as they are. */
void jw_append(struct jw *w, const char *s, size_t n);
/* Append s escaped for a JSON string body (no quotes). */
void jw_escape(struct jw *w, const char *s, size_t n);
/* Length of a valid UTF-8 sequence at s (n bytes left), 0 if invalid. */
size_t utf8_len(const unsigned char *s, size_t n);

#endif
