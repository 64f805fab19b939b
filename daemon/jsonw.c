#include "jsonw.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void grow(struct jw *w, size_t need)
{
	if (w->len + need + 1 <= w->cap)
		return;
	size_t cap = w->cap ? w->cap : 1024;
	while (cap < w->len + need + 1)
		cap *= 2;
	char *b = realloc(w->buf, cap);
	if (!b)
		abort();
	w->buf = b;
	w->cap = cap;
}

static void put(struct jw *w, const char *s, size_t n)
{
	grow(w, n);
	memcpy(w->buf + w->len, s, n);
	w->len += n;
	w->buf[w->len] = 0;
}

void jw_append(struct jw *w, const char *s, size_t n)
{
	put(w, s, n);
}

static void putc_(struct jw *w, char c)
{
	grow(w, 1);
	w->buf[w->len++] = c;
	w->buf[w->len] = 0;
}

void jw_reset(struct jw *w)
{
	w->len = 0;
	w->depth = 0;
	w->first[0] = true;
	if (w->buf)
		w->buf[0] = 0;
}

void jw_free(struct jw *w)
{
	free(w->buf);
	memset(w, 0, sizeof(*w));
}

size_t utf8_len(const unsigned char *s, size_t n)
{
	unsigned c = s[0];
	size_t len;
	unsigned min;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf) {
		len = 2;
		min = 0x80;
	} else if (c >= 0xe0 && c <= 0xef) {
		len = 3;
		min = 0x800;
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4;
		min = 0x10000;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	unsigned cp = c & (0x7f >> len);
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

void jw_escape(struct jw *w, const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0;

	grow(w, n + 2);
	while (i < n) {
		unsigned char c = s[i];
		if (c >= 0x20 && c != '"' && c != '\\' && c < 0x80) {
			/* escapes and U+FFFD write more than they read: keep room for the rest */
			if (w->len + 2 > w->cap)
				grow(w, n - i + 2);
			w->buf[w->len++] = c;
			i++;
			continue;
		}
		if (c >= 0x80) {
			size_t l = utf8_len(s + i, n - i);
			if (l) {
				put(w, (const char *)s + i, l);
				i += l;
			} else {
				put(w, "\\ufffd", 6);
				i++;
			}
			continue;
		}
		char esc[8];
		switch (c) {
		case '"': put(w, "\\\"", 2); break;
		case '\\': put(w, "\\\\", 2); break;
		case '\n': put(w, "\\n", 2); break;
		case '\r': put(w, "\\r", 2); break;
		case '\t': put(w, "\\t", 2); break;
		default:
			snprintf(esc, sizeof(esc), "\\u%04x", c);
			put(w, esc, 6);
		}
		i++;
	}
	grow(w, 0);
	w->buf[w->len] = 0;
}

static void key(struct jw *w, const char *k)
{
	if (w->depth > 0) {
		if (!w->first[w->depth])
			putc_(w, ',');
		w->first[w->depth] = false;
	}
	if (k) {
		putc_(w, '"');
		jw_escape(w, k, strlen(k));
		put(w, "\":", 2);
	}
}

static void open_(struct jw *w, const char *k, char c)
{
	key(w, k);
	putc_(w, c);
	if (w->depth < JW_DEPTH - 1)
		w->depth++;
	w->first[w->depth] = true;
}

static void close_(struct jw *w, char c)
{
	putc_(w, c);
	if (w->depth > 0)
		w->depth--;
}

void jw_obj(struct jw *w, const char *k) { open_(w, k, '{'); }
void jw_end_obj(struct jw *w) { close_(w, '}'); }
void jw_arr(struct jw *w, const char *k) { open_(w, k, '['); }
void jw_end_arr(struct jw *w) { close_(w, ']'); }

void jw_strn(struct jw *w, const char *k, const char *s, size_t n)
{
	key(w, k);
	putc_(w, '"');
	jw_escape(w, s, n);
	putc_(w, '"');
}

void jw_str(struct jw *w, const char *k, const char *s)
{
	jw_strn(w, k, s ? s : "", s ? strlen(s) : 0);
}

void jw_int(struct jw *w, const char *k, int64_t v)
{
	char b[32];
	key(w, k);
	put(w, b, snprintf(b, sizeof(b), "%" PRId64, v));
}

void jw_uint(struct jw *w, const char *k, uint64_t v)
{
	char b[32];
	key(w, k);
	put(w, b, snprintf(b, sizeof(b), "%" PRIu64, v));
}

void jw_bool(struct jw *w, const char *k, bool v)
{
	key(w, k);
	put(w, v ? "true" : "false", v ? 4 : 5);
}

void jw_raw(struct jw *w, const char *k, const char *json)
{
	key(w, k);
	put(w, json, strlen(json));
}
