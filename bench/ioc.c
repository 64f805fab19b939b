/*
 * bench/ioc: load N SHA-256 indicators (default 10 million) through the IOC
 * line parser, build the Bloom filter, then time lookups (90% absent, 10%
 * present). Reports load time, lookups/s and bytes per indicator.
 * Usage: bench/ioc [BUILD_DIR] [--count N] [--fp RATE]
 */
#include "ioc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* A deterministic pseudo-hash per index: what a real feed of SHA-256 looks like to the table. */
static void fake_sha(uint64_t i, uint8_t out[32])
{
	uint64_t x = i * 0x9e3779b97f4a7c15ull + 0x632be59bd9b4e019ull;
	for (int k = 0; k < 4; k++) {
		x ^= x >> 31;
		x *= 0xbf58476d1ce4e5b9ull;
		x ^= x >> 27;
		memcpy(out + 8 * k, &x, 8);
	}
}

int main(int argc, char **argv)
{
	long n = 10000000;
	double fp = 0.001;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--count") == 0 && i + 1 < argc)
			n = atol(argv[++i]);
		else if (strcmp(argv[i], "--fp") == 0 && i + 1 < argc)
			fp = atof(argv[++i]);
	}
	struct ioc_set *s = ioc_new(fp);
	enum imm_rule_action act = IMM_ACTION_ALERT;
	char line[80], err[160];
	uint8_t sha[32];
	double t0 = now();
	ioc_reserve(s, n);
	for (long i = 0; i < n; i++) {
		fake_sha(i, sha);
		memcpy(line, "sha256:", 7);
		ioc_hex(sha, 32, line + 7);
		if (ioc_add_line(s, line, "bench", i + 1, &act, err, sizeof(err)) != 1) {
			fprintf(stderr, "bench/ioc: line %ld: %s\n", i + 1, err);
			return 1;
		}
	}
	double tl = now() - t0;
	t0 = now();
	ioc_finalize(s);
	double tb = now() - t0;
	struct ioc_stats st;
	ioc_get_stats(s, &st);
	printf("loaded %ld SHA-256 indicators (parsed from text) in %.2f s, Bloom filter built in %.2f s\n", n, tl, tb);
	printf("memory: %.1f bytes/indicator (exact table + Bloom filter; Bloom alone %.2f bytes, target FP %.4f)\n",
	       (double)st.bytes / n, (double)st.bloom_bytes / n, fp);

	long lookups = 20000000, found = 0;
	t0 = now();
	for (long i = 0; i < lookups; i++) {
		/* 10% present, 90% absent */
		uint64_t k = i % 10 == 0 ? (uint64_t)(i * 7919) % n : (uint64_t)n + i;
		fake_sha(k, sha);
		found += ioc_match_sha256(s, sha, NULL);
	}
	double tq = now() - t0;
	ioc_get_stats(s, &st);
	printf("lookups: %.0f/s (%ld found of %ld; %llu absent keys passed the Bloom filter and were rejected exactly)\n",
	       lookups / tq, found, lookups, (unsigned long long)(st.bloom_maybe - found));
	int ok = found == lookups / 10;
	printf("every present key found, no absent key reported: %s\n", ok ? "yes" : "NO");
	ioc_free(s);
	return ok ? 0 : 1;
}
