/*
 * A Bloom filter sized from the expected count and a target false-positive
 * rate: m = -n ln p / ln²2 bits, k = m/n ln 2 probes, derived by double
 * hashing from one 128-bit hash. A "no" is certain; a "yes" must be
 * confirmed by an exact lookup (see ioc.c).
 */
#ifndef IMMUNE_BLOOM_H
#define IMMUNE_BLOOM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct bloom {
	uint64_t *bits;
	uint64_t nbits;
	unsigned k;
	uint64_t n; /* keys added */
};

/* 0, or -1 on bad arguments / OOM. n 0 is treated as 1. */
int bloom_init(struct bloom *b, uint64_t n, double fp_rate);
void bloom_free(struct bloom *b);
void bloom_add(struct bloom *b, const void *key, size_t len, uint64_t seed);
bool bloom_test(const struct bloom *b, const void *key, size_t len, uint64_t seed);
size_t bloom_bytes(const struct bloom *b);
/* The false-positive rate expected for the keys added so far. */
double bloom_expected_fp(const struct bloom *b);
/* 64-bit hash used by the filter and by ioc.c's exact table. */
uint64_t bloom_hash(const void *key, size_t len, uint64_t seed);

#endif
