/* The Hive link's framing: whole, split, oversized, truncated and malformed frames. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "frame.h"
#include "hive_tls.h"

static unsigned char *raw(const char *json, size_t *n)
{
	size_t l = strlen(json);
	unsigned char *f = malloc(l + 4);
	f[0] = l >> 24;
	f[1] = l >> 16;
	f[2] = l >> 8;
	f[3] = l;
	memcpy(f + 4, json, l);
	*n = l + 4;
	return f;
}

static void test_round_trip_byte_by_byte(void **state)
{
	(void)state;
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "type", "hello");
	cJSON_AddStringToObject(o, "agent_id", "a\"1\n");
	size_t n;
	unsigned char *f = frame_encode(o, &n);
	cJSON_Delete(o);
	assert_non_null(f);
	struct frame_buf b = { 0 };
	cJSON *m = NULL;
	char err[128];
	/* two frames fed one byte at a time: nothing until each is whole */
	for (int rep = 0; rep < 2; rep++) {
		for (size_t i = 0; i < n; i++) {
			assert_int_equal(frame_next(&b, &m, err, sizeof(err)), FRAME_NEED);
			assert_int_equal(frame_feed(&b, f + i, 1), 0);
		}
		assert_int_equal(frame_next(&b, &m, err, sizeof(err)), FRAME_OK);
		assert_string_equal(cJSON_GetObjectItem(m, "agent_id")->valuestring, "a\"1\n");
		cJSON_Delete(m);
	}
	assert_int_equal(b.len, 0);
	frame_buf_free(&b);
	free(f);
}

static void test_oversized_refused_before_reading(void **state)
{
	(void)state;
	unsigned char hdr[4] = { 0x00, 0x10, 0x00, 0x01 }; /* FRAME_MAX + 1 */
	struct frame_buf b = { 0 };
	cJSON *m;
	char err[128];
	frame_feed(&b, hdr, 4);
	assert_int_equal(frame_next(&b, &m, err, sizeof(err)), FRAME_TOO_BIG);
	assert_non_null(strstr(err, "1048577"));
	unsigned char zero[4] = { 0 };
	frame_buf_free(&b);
	frame_feed(&b, zero, 4);
	assert_int_equal(frame_next(&b, &m, err, sizeof(err)), FRAME_TOO_BIG);
	frame_buf_free(&b);
}

static void test_malformed_and_truncated(void **state)
{
	(void)state;
	const char *bad[] = { "not json", "[1,2]", "{\"no_type\":1}", "{\"type\":3}", "{\"type\":\"x\"} trailing",
			      "{\"type\":\"x\"" };
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		size_t n, used;
		unsigned char *f = raw(bad[i], &n);
		cJSON *m;
		char err[128];
		assert_int_equal(frame_parse(f, n, &used, &m, err, sizeof(err)), FRAME_BAD_JSON);
		assert_null(m);
		/* and cut short: only ever "need more" */
		assert_int_equal(frame_parse(f, n - 1, &used, &m, err, sizeof(err)), FRAME_NEED);
		free(f);
	}
}

static void test_encode_refuses_huge(void **state)
{
	(void)state;
	cJSON *o = cJSON_CreateObject();
	char *big = malloc(FRAME_MAX + 10);
	memset(big, 'a', FRAME_MAX + 9);
	big[FRAME_MAX + 9] = 0;
	cJSON_AddStringToObject(o, "type", big);
	size_t n;
	assert_null(frame_encode(o, &n));
	cJSON_Delete(o);
	free(big);
}

static void test_split_addr(void **state)
{
	(void)state;
	char h[64], p[16];
	assert_int_equal(hive_split_addr("hive.example:7443", h, sizeof(h), p, sizeof(p)), 0);
	assert_string_equal(h, "hive.example");
	assert_string_equal(p, "7443");
	assert_int_equal(hive_split_addr("[::1]:443", h, sizeof(h), p, sizeof(p)), 0);
	assert_string_equal(h, "::1");
	assert_int_equal(hive_split_addr("nohost", h, sizeof(h), p, sizeof(p)), -1);
	assert_int_equal(hive_split_addr("h:port", h, sizeof(h), p, sizeof(p)), -1);
	assert_int_equal(hive_split_addr("[::1]443", h, sizeof(h), p, sizeof(p)), -1);
}

static cJSON *parse_one(const char *json)
{
	size_t n, used;
	unsigned char *f = raw(json, &n);
	cJSON *m = NULL;
	char err[128];
	assert_int_equal(frame_parse(f, n, &used, &m, err, sizeof(err)), FRAME_OK);
	free(f);
	return m;
}

/* seqs and times are exact 64-bit integers: doubles would merge 2^53 and 2^53+1 */
static void test_exact_integers(void **state)
{
	(void)state;
	cJSON *m = parse_one("{\"type\":\"t\",\"s\":\"9\",\"a\":[9007199254740992,9007199254740993,"
			     "9223372036854775807,9223372036854775808,18446744073709551615,18446744073709551616,"
			     "1.5,1e3,-9223372036854775808,-0,007,-1]}");
	const cJSON *a = cJSON_GetObjectItem(m, "a");
	int64_t i;
	uint64_t u;
	assert_int_equal(frame_i64(cJSON_GetArrayItem(a, 0), 0, INT64_MAX, &i), 0);
	assert_true(i == 9007199254740992LL);
	assert_int_equal(frame_i64(cJSON_GetArrayItem(a, 1), 0, INT64_MAX, &i), 0);
	assert_true(i == 9007199254740993LL);
	assert_int_equal(frame_i64(cJSON_GetArrayItem(a, 2), 0, INT64_MAX, &i), 0);
	assert_true(i == INT64_MAX);
	assert_int_equal(frame_i64(cJSON_GetArrayItem(a, 3), INT64_MIN, INT64_MAX, &i), -1); /* 2^63 */
	assert_int_equal(frame_u64(cJSON_GetArrayItem(a, 3), &u), 0);
	assert_true(u == 9223372036854775808ULL);
	assert_int_equal(frame_u64(cJSON_GetArrayItem(a, 4), &u), 0);
	assert_true(u == UINT64_MAX);
	assert_int_equal(frame_u64(cJSON_GetArrayItem(a, 5), &u), -1); /* 2^64 */
	assert_int_equal(frame_i64(cJSON_GetArrayItem(a, 6), INT64_MIN, INT64_MAX, &i), -1); /* 1.5 */
	assert_int_equal(frame_i64(cJSON_GetArrayItem(a, 7), INT64_MIN, INT64_MAX, &i), -1); /* 1e3 */
	assert_int_equal(frame_i64(cJSON_GetArrayItem(a, 8), INT64_MIN, INT64_MAX, &i), 0);
	assert_true(i == INT64_MIN);
	assert_int_equal(frame_i64(cJSON_GetArrayItem(a, 9), INT64_MIN, INT64_MAX, &i), 0);
	assert_true(i == 0);
	/* cJSON refuses leading zeros itself only sometimes: we always do */
	assert_int_equal(frame_i64(cJSON_GetArrayItem(a, 10), INT64_MIN, INT64_MAX, &i), -1);
	assert_int_equal(frame_i64(cJSON_GetArrayItem(a, 11), 1, INT64_MAX, &i), -1); /* range */
	assert_int_equal(frame_i64(cJSON_GetObjectItem(m, "s"), INT64_MIN, INT64_MAX, &i), -1); /* a string */
	cJSON_Delete(m);

	/* printed exactly, and read back exactly */
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "type", "t");
	frame_add_i64(o, "x", INT64_MAX);
	frame_add_u64(o, "y", UINT64_MAX);
	frame_add_i64(o, "z", -9007199254740993LL);
	char *s = cJSON_PrintUnformatted(o);
	assert_string_equal(s, "{\"type\":\"t\",\"x\":9223372036854775807,\"y\":18446744073709551615,"
			       "\"z\":-9007199254740993}");
	m = parse_one(s);
	assert_int_equal(frame_i64(cJSON_GetObjectItem(m, "z"), INT64_MIN, INT64_MAX, &i), 0);
	assert_true(i == -9007199254740993LL);
	free(s);
	cJSON_Delete(o);
	cJSON_Delete(m);

	/* numbers in strings are skipped, whatever their escapes: an escaped quote, an escaped
	 * backslash before the closing quote, a document of escaped JSON */
	m = parse_one("{\"type\":\"t\",\"a\":\"1\\\"2\",\"b\":\"3\\\\\",\"c\":9007199254740993,"
		      "\"d\":\"{\\\"n\\\":4,\\\"s\\\":\\\"5\\\\\\\"\\\"}\",\"e\":-9007199254740993}");
	assert_int_equal(frame_i64(cJSON_GetObjectItem(m, "c"), INT64_MIN, INT64_MAX, &i), 0);
	assert_true(i == 9007199254740993LL);
	assert_int_equal(frame_i64(cJSON_GetObjectItem(m, "e"), INT64_MIN, INT64_MAX, &i), 0);
	assert_true(i == -9007199254740993LL);
	cJSON_Delete(m);

	/* numbers inside strings are not numbers: the texts stay in step with the tree */
	m = parse_one("{\"type\":\"1 2 \\\" 3\",\"k-4\":[true,null,{\"5\":6}],\"v\":7}");
	const cJSON *six = cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(m, "k-4"), 2), "5");
	assert_int_equal(frame_i64(six, 0, 100, &i), 0);
	assert_int_equal(i, 6);
	assert_int_equal(frame_i64(cJSON_GetObjectItem(m, "v"), 0, 100, &i), 0);
	assert_int_equal(i, 7);
	cJSON_Delete(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip_byte_by_byte),
		cmocka_unit_test(test_oversized_refused_before_reading),
		cmocka_unit_test(test_malformed_and_truncated),
		cmocka_unit_test(test_encode_refuses_huge),
		cmocka_unit_test(test_split_addr),
		cmocka_unit_test(test_exact_integers),
	};
	return cmocka_run_group_tests_name("frame", tests, NULL, NULL);
}
