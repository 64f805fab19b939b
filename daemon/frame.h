/*
 * The Hive link's framing: a 4-byte big-endian length, then that many bytes
 * of one JSON object. Frames over FRAME_MAX are refused before any is read.
 */
#ifndef IMMUNE_FRAME_H
#define IMMUNE_FRAME_H

#include <stddef.h>
#include <stdint.h>
#include <cjson/cJSON.h>

#define FRAME_MAX (1u << 20)

/* An input buffer that frames are cut from as bytes arrive. */
struct frame_buf {
	unsigned char *data;
	size_t len, cap;
};

enum frame_status {
	FRAME_OK = 0,      /* *out is a parsed object; the caller frees it */
	FRAME_NEED = 1,    /* not a whole frame yet */
	FRAME_TOO_BIG = -1,
	FRAME_BAD_JSON = -2, /* not a JSON object, or not "type": string */
};

/* Append n received bytes. -1 on out of memory. */
int frame_feed(struct frame_buf *b, const void *p, size_t n);
/* Take the next frame. On an error the connection must be closed: the
 * stream cannot be resynchronised. err gets a one-line reason. */
enum frame_status frame_next(struct frame_buf *b, cJSON **out, char *err, size_t errlen);
/* Parse exactly one frame from a complete buffer (what the fuzzer drives). */
enum frame_status frame_parse(const unsigned char *p, size_t n, size_t *used, cJSON **out, char *err,
			      size_t errlen);
void frame_buf_free(struct frame_buf *b);

/*
 * Exact integers. cJSON keeps numbers as doubles, which round above 2^53 and
 * take 1.5 for 1: frame_parse keeps each number's text beside it, and these
 * read it as an integer. 0, or -1 when v is not a number that is exactly an
 * integer in range (1.5, 1e3, 2^63 for an int64). Numbers made in-process
 * with cJSON (no text kept) are taken when their double is an integer below
 * 2^53; raw items made by frame_create_*() are read from their text.
 */
int frame_i64(const cJSON *v, int64_t min, int64_t max, int64_t *out);
int frame_u64(const cJSON *v, uint64_t *out);
/* Numbers printed exactly, as integers (cJSON would print doubles). */
cJSON *frame_create_i64(int64_t v);
cJSON *frame_create_u64(uint64_t v);
cJSON *frame_add_i64(cJSON *obj, const char *key, int64_t v);
cJSON *frame_add_u64(cJSON *obj, const char *key, uint64_t v);

/* Serialise obj as a frame into a malloc'd buffer; NULL if it would exceed FRAME_MAX. */
unsigned char *frame_encode(const cJSON *obj, size_t *len);

#endif
