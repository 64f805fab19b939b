/* Bloom filter; see bloom.h. */
#include "bloom.h"

#include <stdlib.h>
#include <string.h>

static inline uint64_t rd64(const uint8_t *p)
{
	uint64_t v;
	memcpy(&v, p, 8);
	return v;
}

static inline uint64_t mix(uint64_t h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ull;
	h ^= h >> 33;
	return h;
}

/* Word-at-a-time multiply-xorshift: fast on 32-byte hashes and short paths. */
uint64_t bloom_hash(const void *key, size_t len, uint64_t seed)
{
	const uint8_t *p = key;
	uint64_t h = seed ^ (len * 0x9e3779b97f4a7c15ull);
	while (len >= 8) {
		h = (h ^ mix(rd64(p))) * 0x9e3779b97f4a7c15ull;
		h = (h << 27) | (h >> 37);
		p += 8;
		len -= 8;
	}
	uint64_t t = 0;
	memcpy(&t, p, len);
	h ^= mix(t ^ len);
	return mix(h);
}

/*
 * ln and exp by series: the Makefile links no libm, and these run once per
 * filter, so a few dozen multiplications are nothing.
 */
static double ln(double x)
{
	int e = 0;
	while (x >= 2) {
		x /= 2;
		e++;
	}
	while (x < 1) {
		x *= 2;
		e--;
	}
	double y = (x - 1) / (x + 1), y2 = y * y, term = y, sum = 0;
	for (int i = 1; i < 60; i += 2) {
		sum += term / i;
		term *= y2;
	}
	return 2 * sum + e * 0.69314718055994530942;
}

static double expo(double x)
{
	int halvings = 0;
	while (x > 0.5 || x < -0.5) {
		x /= 2;
		halvings++;
	}
	double sum = 1, term = 1;
	for (int i = 1; i < 30; i++) {
		term *= x / i;
		sum += term;
	}
	while (halvings--)
		sum *= sum;
	return sum;
}

int bloom_init(struct bloom *b, uint64_t n, double fp_rate)
{
	memset(b, 0, sizeof(*b));
	if (!(fp_rate > 0 && fp_rate < 1))
		return -1;
	if (!n)
		n = 1;
	double ln2 = 0.69314718055994530942;
	double m = -(double)n * ln(fp_rate) / (ln2 * ln2) + 1;
	if (m < 64)
		m = 64;
	b->nbits = ((uint64_t)m + 63) & ~63ull;
	b->k = (unsigned)((double)b->nbits / (double)n * ln2 + 0.5);
	if (b->k < 1)
		b->k = 1;
	if (b->k > 30)
		b->k = 30;
	b->bits = calloc(b->nbits / 64, sizeof(uint64_t));
	return b->bits ? 0 : -1;
}

void bloom_free(struct bloom *b)
{
	free(b->bits);
	memset(b, 0, sizeof(*b));
}

/* Lemire's range reduction: uniform over nbits without a division. */
static inline uint64_t reduce(uint64_t h, uint64_t n)
{
	return (uint64_t)(((unsigned __int128)h * n) >> 64);
}

void bloom_add(struct bloom *b, const void *key, size_t len, uint64_t seed)
{
	uint64_t h1 = bloom_hash(key, len, seed), h2 = mix(h1 ^ 0x6a09e667f3bcc909ull) | 1;
	for (unsigned i = 0; i < b->k; i++) {
		uint64_t bit = reduce(h1 + i * h2, b->nbits);
		b->bits[bit / 64] |= 1ull << (bit % 64);
	}
	b->n++;
}

bool bloom_test(const struct bloom *b, const void *key, size_t len, uint64_t seed)
{
	if (!b->bits)
		return false;
	uint64_t h1 = bloom_hash(key, len, seed), h2 = mix(h1 ^ 0x6a09e667f3bcc909ull) | 1;
	for (unsigned i = 0; i < b->k; i++) {
		uint64_t bit = reduce(h1 + i * h2, b->nbits);
		if (!(b->bits[bit / 64] & (1ull << (bit % 64))))
			return false;
	}
	return true;
}

size_t bloom_bytes(const struct bloom *b)
{
	return b->nbits / 8;
}

double bloom_expected_fp(const struct bloom *b)
{
	if (!b->nbits)
		return 1;
	double one = 1 - expo(-(double)b->k * (double)b->n / (double)b->nbits), r = 1;
	for (unsigned i = 0; i < b->k; i++)
		r *= one;
	return r;
}
