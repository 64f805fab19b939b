/*
 * The gate: fanotify permission events hold an exec (FAN_OPEN_EXEC_PERM on
 * every real filesystem) or an open of a file the blocking rules name
 * (FAN_OPEN_PERM on those files and their folders) until the matcher has
 * judged it, so a block stops the first attempt. A reader thread takes the
 * events and keeps the deadline (a held syscall waits at most timeout_ms,
 * then the default answer goes out: allow unless fail_closed); the event
 * loop judges them with detect_judge, hashing executables in worker threads
 * when sha256 blocks are loaded (or the reader does, while the loop sleeps,
 * when nothing would match: see gate_loop_leave). The daemon's own opens and execs are
 * answered at once by the reader, so the daemon never waits on itself.
 */
#ifndef IMMUNE_GATE_H
#define IMMUNE_GATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <cjson/cJSON.h>
#include "event.h"
#include "gate_proc.h"

struct detect;
struct proc_table;
struct users;

struct gate_opts {
	struct detect *detect;
	struct proc_table *procs;
	struct users *users;
	int timeout_ms;   /* bounded wait per held syscall (0 → 2000) */
	bool fail_closed; /* deny what is not judged in time (default: allow, with an incident) */
	unsigned hash_workers; /* 0 → 2 */
	const struct protected_set *protect;
	struct gate_exec_maps exec_maps; /* the sensor's (gate_proc_exec_maps); -1s: /proc alone */
};

struct gate_stats {
	uint64_t exec_held, open_held, self_allowed, continued, denied, allowed, timeouts, overflow, errors;
	uint64_t hashed, hash_cached, ignore_marks;
	uint64_t reader_judged; /* allowed by the reader thread while the loop slept: no hop */
	uint64_t exec_from_record; /* judged execs whose argv and cwd came from the sensor's copy, not /proc */
	uint64_t args_from_pointers; /* of those: unread strings read through the copy's kept argv pointers */
	uint64_t wait_ns_total, wait_ns_max; /* hold time of judged syscalls */
	uint64_t read_ns_total, match_ns_total; /* of it: the /proc reads, the rules */
	unsigned filesystems, marked_files, marked_dirs;
};

struct gate;

/* NULL with a one-line reason when fanotify permission events are not available. */
struct gate *gate_start(const struct gate_opts *o, char *err, size_t n);
/* By the holder of the loop lock (gate_start's caller). */
void gate_stop(struct gate *g);
/*
 * The event loop's lock: the caller of gate_start holds it from then on and
 * lets go only to sleep (poll). While it sleeps, the reader thread judges a
 * held syscall itself when no rule or indicator would act on it (the common
 * case) and answers at once; anything that would act, or needs hashing, goes
 * to the loop as before. The reader only tries the lock: it never waits on it.
 */
void gate_loop_leave(struct gate *g);
void gate_loop_enter(struct gate *g);
/* Readable when held syscalls or hash results wait for gate_dispatch. */
int gate_fd(const struct gate *g);
void gate_dispatch(struct gate *g);
/* The rules or indicators changed: marks follow them (and judged inodes are held again). */
void gate_refresh(struct gate *g);
/* A reload put a new detector in force (the old one is gone): judge with it, refresh. */
void gate_set_detect(struct gate *g, struct detect *d);
bool gate_exec_hold(const struct gate *g);
bool gate_open_hold(const struct gate *g);
/* Whether the sensor's event ev is of a syscall the gate judged (then ev->gate_judged is set). */
bool gate_take_judged(struct gate *g, struct imm_event *ev);
void gate_get_stats(struct gate *g, struct gate_stats *st);
void gate_status(struct gate *g, cJSON *r);

#endif
