#include "frame.h"

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
