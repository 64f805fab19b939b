/* Bloom filter: sizing, no false negatives, measured false-positive rate. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdint.h>
#include <stdio.h>

#include "bloom.h"

static void measure(uint64_t n, double target)
{
	struct bloom b;
	assert_int_equal(bloom_init(&b, n, target), 0);
	for (uint64_t i = 0; i < n; i++)
		bloom_add(&b, &i, sizeof(i), 7);
	for (uint64_t i = 0; i < n; i++)
		assert_true(bloom_test(&b, &i, sizeof(i), 7));
	uint64_t probes = 2000000, fp = 0;
	for (uint64_t i = n; i < n + probes; i++)
		fp += bloom_test(&b, &i, sizeof(i), 7);
	double rate = (double)fp / (double)probes;
	print_message("n=%llu target=%.4f measured=%.5f expected=%.5f k=%u bits/key=%.2f\n", (unsigned long long)n,
		      target, rate, bloom_expected_fp(&b), b.k, (double)b.nbits / (double)n);
	/* within 30% of the target (2M probes make the noise far smaller than that) */
	assert_true(rate < target * 1.3);
	assert_true(rate > target * 0.7);
	/* the same keys under another seed are other keys */
	uint64_t other = 0;
	for (uint64_t i = 0; i < 100000; i++)
		other += bloom_test(&b, &i, sizeof(i), 8);
	assert_true(other < 100000 * target * 1.5 + 10);
	bloom_free(&b);
}

static void test_fp_rate_1pct(void **s)
{
	(void)s;
	measure(200000, 0.01);
}

static void test_fp_rate_01pct(void **s)
{
	(void)s;
	measure(200000, 0.001);
}

static void test_sizing(void **s)
{
	(void)s;
	struct bloom b;
	/* 1%: about 9.6 bits and 7 probes per key */
	assert_int_equal(bloom_init(&b, 1000000, 0.01), 0);
	assert_true(b.nbits >= 9500000 && b.nbits <= 9700000);
	assert_int_equal(b.k, 7);
	assert_int_equal(bloom_bytes(&b), b.nbits / 8);
	bloom_free(&b);
	assert_int_equal(bloom_init(&b, 0, 0.01), 0); /* empty sets still work */
	assert_false(bloom_test(&b, "x", 1, 0));
	bloom_free(&b);
	assert_int_equal(bloom_init(&b, 10, 0), -1);
	assert_int_equal(bloom_init(&b, 10, 1.5), -1);
}

static void test_strings(void **s)
{
	(void)s;
	struct bloom b;
	char k[64];
	assert_int_equal(bloom_init(&b, 1000, 0.001), 0);
	for (int i = 0; i < 1000; i++) {
		int n = snprintf(k, sizeof(k), "/usr/lib/evil/%d.so", i);
		bloom_add(&b, k, n, 1);
	}
	for (int i = 0; i < 1000; i++) {
		int n = snprintf(k, sizeof(k), "/usr/lib/evil/%d.so", i);
		assert_true(bloom_test(&b, k, n, 1));
	}
	assert_int_equal(b.n, 1000);
	bloom_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fp_rate_1pct),
		cmocka_unit_test(test_fp_rate_01pct),
		cmocka_unit_test(test_sizing),
		cmocka_unit_test(test_strings),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
