/* `--hive` instance lists and the rendezvous order that picks each agent's primary. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "hive_addrs.h"

static int parse(const char *list, struct hive_addr *a, char *err)
{
	return hive_addrs_parse(list, a, HIVE_ADDRS_MAX, err, 400);
}

static void test_parse_lists(void **state)
{
	(void)state;
	struct hive_addr a[HIVE_ADDRS_MAX];
	char err[400];
	assert_int_equal(parse("hive.example:7443", a, err), 1);
	assert_string_equal(a[0].host, "hive.example");
	assert_string_equal(a[0].port, "7443");
	assert_string_equal(a[0].name, "hive.example:7443");
	assert_int_equal(parse("10.0.0.1:7443, [::1]:7444 ,[fe80::1%eth0]:1", a, err), 3);
	assert_string_equal(a[0].name, "10.0.0.1:7443");
	assert_string_equal(a[1].host, "::1");
	assert_string_equal(a[1].port, "7444");
	assert_string_equal(a[1].name, "[::1]:7444");
	assert_string_equal(a[2].host, "fe80::1%eth0");
	/* a port written with leading zeros is the same instance, named one way */
	assert_int_equal(parse("h:07443", a, err), 1);
	assert_string_equal(a[0].name, "h:7443");
}

static void test_parse_errors_name_the_entry(void **state)
{
	(void)state;
	struct hive_addr a[HIVE_ADDRS_MAX];
	char err[400];
	static const struct {
		const char *list, *says;
	} bad[] = {
		{ "", "expected HOST:PORT" },
		{ "a:1,,b:2", "entry 2 is empty" },
		{ "a:1,", "entry 2 is empty" },
		{ "a:1,b", "entry 2 'b' is not HOST:PORT" },
		{ "a:1,b:0", "entry 2 'b:0' is not HOST:PORT" },
		{ "a:65536", "entry 1 'a:65536' is not" },
		{ "a:123456", "entry 1 'a:123456' is not" },
		{ "::1:7443", "entry 1 '::1:7443' is not HOST:PORT or [IPV6]:PORT" },
		{ "[host]:1", "entry 1 '[host]:1' is not" },
		{ "[::1]7443", "entry 1 '[::1]7443' is not" },
		{ ":7443", "entry 1 ':7443' is not" },
		{ "a:1,b:2,a:01", "entry 3 'a:01' repeats entry 1" },
		{ "a:1,b\n:2", "entry 2 has a byte 0x0a" },
		{ "a:1,\"b\":2", "entry 2 has a byte 0x22" },
		{ "a:1,b\xc3\xa9:2", "entry 2 has a byte 0xc3" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = 0;
		assert_int_equal(parse(bad[i].list, a, err), -1);
		if (!strstr(err, bad[i].says))
			fail_msg("'%s': said '%s', expected '%s'", bad[i].list, err, bad[i].says);
		assert_null(strchr(err, '\n'));
	}
	char many[512] = "";
	for (int i = 0; i <= HIVE_ADDRS_MAX; i++)
		snprintf(many + strlen(many), sizeof(many) - strlen(many), "%sh%d:1", i ? "," : "", i);
	assert_int_equal(parse(many, a, err), -1);
	assert_non_null(strstr(err, "entry 17 'h16:1': more than 16 Hive instances"));
}

/* The primary of agent k over the first n instances of a. */
static int primary(const struct hive_addr *a, int n, int k)
{
	char id[32];
	int order[HIVE_ADDRS_MAX];
	snprintf(id, sizeof(id), "web-%05d", k);
	hive_addrs_order(id, a, n, order);
	return order[0];
}

static void test_order_is_a_stable_permutation(void **state)
{
	(void)state;
	struct hive_addr a[HIVE_ADDRS_MAX];
	char err[400];
	int n = parse("hive-a:7443,hive-b:7443,hive-c:7443,[2001:db8::7]:7443", a, err);
	assert_int_equal(n, 4);
	for (int k = 0; k < 200; k++) {
		char id[32];
		int o1[HIVE_ADDRS_MAX], o2[HIVE_ADDRS_MAX], seen = 0;
		snprintf(id, sizeof(id), "agent-%d", k);
		hive_addrs_order(id, a, n, o1);
		hive_addrs_order(id, a, n, o2);
		assert_memory_equal(o1, o2, sizeof(int) * (size_t)n);
		for (int i = 0; i < n; i++)
			seen |= 1 << o1[i];
		assert_int_equal(seen, 15);
		/* by falling weight */
		for (int i = 1; i < n; i++)
			assert_true(hive_addrs_weight(id, a[o1[i - 1]].name) >= hive_addrs_weight(id, a[o1[i]].name));
	}
	/* the list's order does not matter: the same agent picks the same instance */
	struct hive_addr b[HIVE_ADDRS_MAX];
	assert_int_equal(parse("[2001:db8::7]:7443,hive-c:7443,hive-a:7443,hive-b:7443", b, err), 4);
	for (int k = 0; k < 200; k++)
		assert_string_equal(a[primary(a, n, k)].name, b[primary(b, n, k)].name);
}

/* 10,000 agents spread about evenly over 2 and 3 instances (within 5% of n/k). */
static void test_distribution_is_even(void **state)
{
	(void)state;
	struct hive_addr a[HIVE_ADDRS_MAX];
	char err[400];
	assert_int_equal(parse("10.1.0.1:7443,10.1.0.2:7443,10.1.0.3:7443", a, err), 3);
	for (int n = 2; n <= 3; n++) {
		int count[3] = { 0 };
		for (int k = 0; k < 10000; k++)
			count[primary(a, n, k)]++;
		for (int i = 0; i < n; i++) {
			print_message("%d instances: %s is primary for %d of 10000 agents\n", n, a[i].name, count[i]);
			assert_true(count[i] > 10000 / n * 95 / 100 && count[i] < 10000 / n * 105 / 100);
		}
	}
}

/* Adding a third instance moves about a third of the agents, all of them to
 * the new instance; the others keep their primary. */
static void test_adding_an_instance_moves_about_1_in_n(void **state)
{
	(void)state;
	struct hive_addr a[HIVE_ADDRS_MAX];
	char err[400];
	assert_int_equal(parse("hive-a.example:7443,hive-b.example:7443,hive-c.example:7443,hive-d.example:7443", a, err),
			 4);
	for (int n = 2; n <= 3; n++) {
		int moved = 0;
		for (int k = 0; k < 10000; k++) {
			int before = primary(a, n, k), after = primary(a, n + 1, k);
			if (before != after) {
				assert_int_equal(after, n);
				moved++;
			}
		}
		print_message("%d -> %d instances: %d of 10000 agents move\n", n, n + 1, moved);
		assert_true(moved > 10000 / (n + 1) * 90 / 100 && moved < 10000 / (n + 1) * 110 / 100);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_lists),
		cmocka_unit_test(test_parse_errors_name_the_entry),
		cmocka_unit_test(test_order_is_a_stable_permutation),
		cmocka_unit_test(test_distribution_is_even),
		cmocka_unit_test(test_adding_an_instance_moves_about_1_in_n),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
