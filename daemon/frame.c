#include "frame.h"

#include <stdbool.h>
#include <stddef.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int frame_feed(struct frame_buf *b, const void *p, size_t n)
{
	if (!n)
		return 0; /* nothing to copy, and b->data may still be NULL */
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		while (cap < b->len + n)
			cap *= 2;
		unsigned char *d = realloc(b->data, cap);
		if (!d)
			return -1;
		b->data = d;
		b->cap = cap;
	}
	memcpy(b->data + b->len, p, n);
	b->len += n;
	return 0;
}

/* The quote that closes the string whose text starts at q, or end: found with memchr, an
 * incident's document is a kilobyte of escaped JSON and this ran a byte at a time. */
static const char *string_end(const char *q, const char *end)
{
	for (const char *from = q; from < end;) {
		const char *e = memchr(from, '"', (size_t)(end - from));
		if (!e)
			break;
		size_t bs = 0;
		while (e - bs > q && e[-1 - (ptrdiff_t)bs] == '\\')
			bs++;
		if (bs % 2 == 0)
			return e;
		from = e + 1;
	}
	return end;
}

/* The next number token at or after *p (strings skipped): its text in [*b, *p). */
static bool next_number(const char **p, const char *end, const char **b)
{
	const char *q = *p;
	while (q < end) {
		if (*q == '"') {
			q = string_end(q + 1, end) + 1;
		} else if (*q == '-' || (*q >= '0' && *q <= '9')) {
			*b = q;
			while (q < end && strchr("0123456789+-.eE", *q))
				q++;
			*p = q;
			return true;
		} else {
			q++;
		}
	}
	*p = q;
	return false;
}

/* cJSON's tree in document order meets the text's numbers in the same order:
 * each number node gets its literal as valuestring (cJSON_Delete frees it). */
static void keep_number_text(cJSON *node, const char **p, const char *end)
{
	for (; node; node = node->next) {
		const char *b;
		if (cJSON_IsNumber(node) && next_number(p, end, &b))
			node->valuestring = strndup(b, (size_t)(*p - b));
		if (node->child)
			keep_number_text(node->child, p, end);
	}
}

enum frame_status frame_parse(const unsigned char *p, size_t n, size_t *used, cJSON **out, char *err,
			      size_t errlen)
{
	*out = NULL;
	*used = 0;
	if (n < 4)
		return FRAME_NEED;
	uint32_t len = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
	if (len > FRAME_MAX || len == 0) {
		snprintf(err, errlen, "frame of %u bytes (allowed: 1 to %u)", len, FRAME_MAX);
		return FRAME_TOO_BIG;
	}
	if (n - 4 < len)
		return FRAME_NEED;
	const char *end = NULL;
	cJSON *j = cJSON_ParseWithLengthOpts((const char *)p + 4, len, &end, 0);
	if (!j || !cJSON_IsObject(j) || !cJSON_IsString(cJSON_GetObjectItemCaseSensitive(j, "type"))) {
		snprintf(err, errlen, "frame of %u bytes is not a JSON object with a \"type\"", len);
		cJSON_Delete(j);
		return FRAME_BAD_JSON;
	}
	/* trailing bytes inside the frame are refused too: one object per frame */
	if (end && end < (const char *)p + 4 + len) {
		const char *q = end;
		while (q < (const char *)p + 4 + len && (*q == ' ' || *q == '\n' || *q == '\r' || *q == '\t'))
			q++;
		if (q != (const char *)p + 4 + len) {
			snprintf(err, errlen, "frame of %u bytes has data after its JSON object", len);
			cJSON_Delete(j);
			return FRAME_BAD_JSON;
		}
	}
	const char *scan = (const char *)p + 4;
	keep_number_text(j->child, &scan, (const char *)p + 4 + len);
	*used = 4 + (size_t)len;
	*out = j;
	return FRAME_OK;
}

enum frame_status frame_next(struct frame_buf *b, cJSON **out, char *err, size_t errlen)
{
	size_t used;
	enum frame_status st = frame_parse(b->data, b->len, &used, out, err, errlen);
	if (st == FRAME_OK) {
		memmove(b->data, b->data + used, b->len - used);
		b->len -= used;
	}
	return st;
}

void frame_buf_free(struct frame_buf *b)
{
	free(b->data);
	memset(b, 0, sizeof(*b));
}

unsigned char *frame_encode(const cJSON *obj, size_t *len)
{
	char *s = cJSON_PrintUnformatted(obj);
	if (!s)
		return NULL;
	size_t n = strlen(s);
	if (n == 0 || n > FRAME_MAX) {
		free(s);
		return NULL;
	}
	unsigned char *f = malloc(n + 4);
	if (f) {
		f[0] = n >> 24;
		f[1] = n >> 16;
		f[2] = n >> 8;
		f[3] = n;
		memcpy(f + 4, s, n);
		*len = n + 4;
	}
	free(s);
	return f;
}

int frame_i64(const cJSON *v, int64_t min, int64_t max, int64_t *out)
{
	/* a raw item is one this process printed with frame_create_*() */
	if (!cJSON_IsNumber(v) && !(cJSON_IsRaw(v) && v->valuestring))
		return -1;
	const char *s = v->valuestring;
	int64_t r;
	if (!s) {
		double d = v->valuedouble;
		if (!(d > -9007199254740992.0 && d < 9007199254740992.0) || d != (double)(int64_t)d)
			return -1;
		r = (int64_t)d;
	} else {
		bool neg = *s == '-';
		const char *q = s + neg;
		uint64_t m = 0, lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
		if (!*q || (q[0] == '0' && q[1]))
			return -1;
		for (; *q; q++) {
			if (*q < '0' || *q > '9' || m > (lim - (uint64_t)(*q - '0')) / 10)
				return -1;
			m = m * 10 + (uint64_t)(*q - '0');
		}
		r = neg ? (m == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)m) : (int64_t)m;
	}
	if (r < min || r > max)
		return -1;
	*out = r;
	return 0;
}

int frame_u64(const cJSON *v, uint64_t *out)
{
	if (!cJSON_IsNumber(v) && !(cJSON_IsRaw(v) && v->valuestring))
		return -1;
	const char *q = v->valuestring;
	if (!q) {
		int64_t r;
		if (frame_i64(v, 0, INT64_MAX, &r))
			return -1;
		*out = (uint64_t)r;
		return 0;
	}
	uint64_t m = 0;
	if (!*q || (q[0] == '0' && q[1]))
		return -1;
	for (; *q; q++) {
		if (*q < '0' || *q > '9' || m > (UINT64_MAX - (uint64_t)(*q - '0')) / 10)
			return -1;
		m = m * 10 + (uint64_t)(*q - '0');
	}
	*out = m;
	return 0;
}

cJSON *frame_create_i64(int64_t v)
{
	char b[24];
	snprintf(b, sizeof(b), "%" PRId64, v);
	return cJSON_CreateRaw(b);
}

cJSON *frame_create_u64(uint64_t v)
{
	char b[24];
	snprintf(b, sizeof(b), "%" PRIu64, v);
	return cJSON_CreateRaw(b);
}

/* n under key in obj; NULL (n freed) when it cannot be added */
static cJSON *add_item(cJSON *obj, const char *key, cJSON *n)
{
	if (n && !cJSON_AddItemToObject(obj, key, n)) {
		cJSON_Delete(n);
		return NULL;
	}
	return n;
}

cJSON *frame_add_i64(cJSON *obj, const char *key, int64_t v)
{
	return add_item(obj, key, frame_create_i64(v));
}

cJSON *frame_add_u64(cJSON *obj, const char *key, uint64_t v)
{
	return add_item(obj, key, frame_create_u64(v));
}
