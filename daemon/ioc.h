/*
 * Indicator-of-compromise sets: SHA-256 of executables, file paths, IP
 * addresses and CIDRs, loaded from `--ioc` files. A Bloom filter answers the
 * common "not an indicator" without touching the exact table; every Bloom
 * "maybe" is confirmed against the exact table, so a match is never a false
 * positive.
 *
 * File format, one indicator per line:
 *   # comment                    (also after whitespace at the end of a line)
 *   sha256:<64 hex> | path:/abs/path | ip:<v4 or v6> | cidr:<addr>/<len>
 *   <value>                      (kind inferred: 64 hex, /path, addr/len, addr)
 *   action: alert|block|kill     (for the indicators that follow in this file)
 */
#ifndef IMMUNE_IOC_H
#define IMMUNE_IOC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/types.h>
#include "sigma.h"

enum ioc_kind { IOC_SHA256 = 0, IOC_PATH, IOC_IP, IOC_CIDR, IOC_KINDS };

struct ioc_hit {
	enum ioc_kind kind;
	enum imm_rule_action action;
	const char *file; /* the IOC file it came from */
	unsigned line;
	char value[4100]; /* the indicator as text: hex, path, address or network */
};

struct ioc_stats {
	uint64_t count[IOC_KINDS];
	uint64_t duplicates, malformed;
	uint64_t lookups, bloom_maybe, confirmed;
	size_t bytes; /* exact table + Bloom filter */
	size_t bloom_bytes;
};

struct ioc_set;

/* fp_rate: the Bloom filter's target false-positive rate (0 → 0.001). */
struct ioc_set *ioc_new(double fp_rate);
void ioc_free(struct ioc_set *s);
/* Longest line of an IOC file; a longer one is reported and skipped. */
#define IOC_MAX_LINE 8192
/* Load a regular file; malformed lines go to log as "FILE:LINE: reason, skipped".
 * Returns indicators added, or -1 if the file cannot be read (or is a FIFO, a device...). */
long ioc_load_file(struct ioc_set *s, const char *path, FILE *log);
/* One line (already without its newline). 0 added or blank/comment/directive, -1 malformed (err set). */
int ioc_add_line(struct ioc_set *s, const char *line, const char *file, unsigned lineno,
		 enum imm_rule_action *action, char *err, size_t errlen);
/* Every line of text (the --ioc file format), named `file` in hits and errors.
 * Stops at the first malformed line: -1 with "FILE:LINE: reason" in err.
 * Returns the indicators added. All or nothing is the caller's to keep. */
long ioc_add_text(struct ioc_set *s, const char *text, const char *file, char *err, size_t errlen);
/* Size the exact table for n indicators in all (optional: loading grows it as needed). */
int ioc_reserve(struct ioc_set *s, size_t n);
/* Build the Bloom filter over everything loaded; call after loading, before lookups. */
int ioc_finalize(struct ioc_set *s);

bool ioc_match_sha256(struct ioc_set *s, const uint8_t sha[32], struct ioc_hit *hit);
bool ioc_match_path(struct ioc_set *s, const char *path, struct ioc_hit *hit);
/* Exact address first, then every prefix length present among the CIDRs. */
bool ioc_match_ip(struct ioc_set *s, const char *ip, struct ioc_hit *hit);
uint64_t ioc_count(const struct ioc_set *s, enum ioc_kind k);
void ioc_get_stats(const struct ioc_set *s, struct ioc_stats *st);
/* Every sha256 (as hex) or path indicator, with its action. */
typedef void (*ioc_each_fn)(void *ctx, const char *value, enum imm_rule_action action);
void ioc_each(const struct ioc_set *s, enum ioc_kind kind, ioc_each_fn fn, void *ctx);
/* Every indicator of kind as a hit (text, file, line, action); one for which
 * fn returns true becomes an alert (refused to block). Returns how many did. */
typedef bool (*ioc_hit_fn)(void *ctx, const struct ioc_hit *h);
unsigned ioc_each_hit(struct ioc_set *s, enum ioc_kind kind, ioc_hit_fn fn, void *ctx);
const char *ioc_kind_name(enum ioc_kind k);

/*
 * Executable hashing off the event loop: worker threads, a bounded job
 * queue, and a cache keyed by (device, inode, size, mtime) so an unchanged
 * binary is hashed once. Results are collected with ioc_hasher_poll.
 */
struct ioc_hasher;

struct ioc_hash_result {
	void *cookie;
	int err;         /* 0, or a positive errno (file gone, too big, ...) */
	bool cached;
	uint8_t sha256[32];
	uint64_t dev, ino; /* as stat(2) saw the file hashed */
};

struct ioc_hasher_stats {
	uint64_t submitted, dropped, hashed, cache_hits, errors, bytes;
};

#define IOC_HASHER_MAX_WORKERS 8
struct ioc_hasher *ioc_hasher_new(unsigned queue_max, unsigned cache_max);
struct ioc_hasher *ioc_hasher_new_workers(unsigned queue_max, unsigned cache_max, unsigned workers);
void ioc_hasher_free(struct ioc_hasher *h);
/* Hash path (or /proc/<pid>/exe first when pid > 0: the exact image even if
 * the path was replaced). false when the queue is full: the job is dropped and counted. */
bool ioc_hasher_submit(struct ioc_hasher *h, const char *path, pid_t pid, void *cookie);
/* Hash the file open at fd (the hasher closes it), whatever its name now. */
bool ioc_hasher_submit_fd(struct ioc_hasher *h, int fd, void *cookie);
/* The cached hash of the file open at fd, if it is unchanged since hashed: no queue, no wait. */
bool ioc_hasher_cached(struct ioc_hasher *h, int fd, uint8_t sha[32]);
/* The same by the file's fstat just taken (the gate's reader has one per hold). */
bool ioc_hasher_cached_st(struct ioc_hasher *h, const struct stat *st, uint8_t sha[32]);
/* Write 1 to this eventfd after each result (-1: stop). */
void ioc_hasher_set_notify(struct ioc_hasher *h, int fd);
/* Up to max finished jobs, without blocking. */
int ioc_hasher_poll(struct ioc_hasher *h, struct ioc_hash_result *out, int max);
/* Block until every submitted job has finished (its result still waits for poll). */
void ioc_hasher_wait(struct ioc_hasher *h);
void ioc_hasher_get_stats(struct ioc_hasher *h, struct ioc_hasher_stats *st);
/* SHA-256 of a whole file; 0 or -errno. */
int ioc_sha256_fd(int fd, uint8_t out[32], uint64_t *bytes);
void ioc_hex(const uint8_t *b, size_t n, char *out);

#endif
