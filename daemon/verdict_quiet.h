/*
 * Whether the fallback sensor may skip its verdict_file lookup on opens
 * (struct imm_verdict_quiet in bpf/immune.h). The daemon proves the map
 * empty every VERDICT_QUIET_CHECK_NS and lets the sensor skip for
 * IMM_QUIET_NS after; before any verdict_file write of the daemon the skip
 * is turned off first, under the same mutex as the check, so a check can
 * never re-enable it between that and the write. A deny another tool
 * (bpftool) writes into the pinned map is enforced within
 * VERDICT_QUIET_CHECK_NS + IMM_QUIET_NS.
 */
#ifndef IMMUNE_VERDICT_QUIET_H
#define IMMUNE_VERDICT_QUIET_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#define VERDICT_QUIET_CHECK_NS 500000000ull

struct verdict_quiet {
	pthread_mutex_t mu;
	int quiet_fd; /* the pinned verdict_quiet map, -1: none (all calls do nothing) */
	int file_fd;  /* verdict_file */
	uint64_t next_check;
	uint64_t until; /* what this process last wrote */
	int64_t clock_off; /* this time namespace's CLOCK_MONOTONIC offset, taken off */
	uint64_t checks, found_empty, set_errors;
};

/* Takes neither fd. */
void verdict_quiet_init(struct verdict_quiet *q, int quiet_fd, int file_fd, int64_t clock_off);
void verdict_quiet_destroy(struct verdict_quiet *q);
/* The kernel's CLOCK_MONOTONIC_COARSE in ns (bpf_ktime_get_coarse_ns()). */
uint64_t verdict_quiet_now(const struct verdict_quiet *q);
/* Before writing verdict_file: the skip is off when this returns; call
 * verdict_quiet_write_end() after the write. */
void verdict_quiet_write_begin(struct verdict_quiet *q);
void verdict_quiet_write_end(struct verdict_quiet *q);
/* From the daemon's loop: at most every VERDICT_QUIET_CHECK_NS, checks the
 * map and sets (empty) or clears the skip. now from verdict_quiet_now(). */
void verdict_quiet_tick(struct verdict_quiet *q, uint64_t now);
/* The skip off for good (the daemon stops: pinned programs outlive it). */
void verdict_quiet_off(struct verdict_quiet *q);
/* Whether the sensor skips now, as the kernel sees the map. */
bool verdict_quiet_skipping(struct verdict_quiet *q, uint64_t now);

#endif
