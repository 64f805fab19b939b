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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip_byte_by_byte),
		cmocka_unit_test(test_oversized_refused_before_reading),
		cmocka_unit_test(test_malformed_and_truncated),
		cmocka_unit_test(test_encode_refuses_huge),
		cmocka_unit_test(test_split_addr),
	};
	return cmocka_run_group_tests_name("frame", tests, NULL, NULL);
}
