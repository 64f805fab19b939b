/*
 * Whether the fallback sensor may skip its verdict_file lookup on opens
 * (struct imm_verdict_quiet in bpf/immune.h). The daemon proves the map
 * empty every half second and lets the sensor skip for a second after;
 * before any verdict_file write of the daemon the skip is turned off first,
 * under the same mutex as the check, so a check can never re-enable it
 * between that and the write. A deny another tool (bpftool) writes into the
 * pinned map is enforced within 1.5 s. Times are jiffies (bpf_jiffies64()),
 * which the daemon reads through times(2) and converts with the kernel's HZ.
 */
#ifndef IMMUNE_VERDICT_QUIET_H
#define IMMUNE_VERDICT_QUIET_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

struct verdict_quiet {
	pthread_mutex_t mu;
	int quiet_fd; /* the pinned verdict_quiet map, -1: none (all calls do nothing) */
	int file_fd;  /* verdict_file */
	uint64_t hz;  /* the kernel's; 0: unknown, never skip */
	uint64_t next_check;
	uint64_t checks, found_empty, set_errors;
};

/* The kernel's CONFIG_HZ from /boot/config-RELEASE or /proc/config.gz, 0 if
 * neither says (then nothing is ever skipped); read once. */
uint64_t verdict_quiet_kernel_hz(void);
/* Takes neither fd. */
void verdict_quiet_init(struct verdict_quiet *q, int quiet_fd, int file_fd, uint64_t hz);
void verdict_quiet_destroy(struct verdict_quiet *q);
/* The kernel's jiffies as times(2) gives them, rounded down (up to 10 ms behind). */
uint64_t verdict_quiet_now(const struct verdict_quiet *q);
/* Before writing verdict_file: the skip is off when this returns; call
 * verdict_quiet_write_end() after the write. */
void verdict_quiet_write_begin(struct verdict_quiet *q);
void verdict_quiet_write_end(struct verdict_quiet *q);
/* From the daemon's loop: at most every half second, checks the map and
 * sets (empty: until now + 1 s) or clears the skip. now from verdict_quiet_now(). */
void verdict_quiet_tick(struct verdict_quiet *q, uint64_t now);
/* The skip off for good (the daemon stops: pinned programs outlive it). */
void verdict_quiet_off(struct verdict_quiet *q);
/* Whether the sensor skips at now, as it reads the map (2 s at most ahead). */
bool verdict_quiet_skipping(struct verdict_quiet *q, uint64_t now);

#endif
