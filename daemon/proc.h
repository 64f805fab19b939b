/*
 * The process table: pid → image, command line, parent. Fed by exec, fork
 * and exit, seeded from /proc so that processes older than the daemon have a
 * parent chain. Bounded: past the limit the oldest exited-or-stale entries go.
 */
#ifndef IMMUNE_PROC_H
#define IMMUNE_PROC_H

#include <stdint.h>
#include "event.h"
#include "arena.h"

struct proc_entry {
	uint32_t pid, ppid, uid;
	char *exe;
	char *cmdline;
	char *cwd;
	uint64_t start_ns; /* boot-time of the exec or fork that made this entry */
};

struct proc_table;

struct proc_table *proc_new(unsigned max_entries);
void proc_free(struct proc_table *t);
/* Read /proc; returns the number of processes seeded. */
int proc_seed(struct proc_table *t, const char *proc_root);
/* A process's start time as ROOT/PID/stat gives it (field 22: clock ticks
 * since boot, its group leader's start_boottime): with the pid, what tells
 * it from a later process given the same pid. 0, or -1. In the kernel's
 * terms, as BPF reads start_boottime: a boottime offset of the reader's time
 * namespace (ROOT/self/timens_offsets), which /proc adds, is taken off, to
 * the tick (hz ticks a second; a sub-tick part of the offset is logged once
 * as a possible one-tick error). */
int proc_start_ticks(const char *root, uint32_t pid, long hz, uint64_t *ticks);
/* Update the table from ev (exec, fork, exit) and fill ev's process and parent fields and its ancestors. */
void proc_apply(struct proc_table *t, struct imm_event *ev, struct arena *a);
/*
 * Attach the chain from ev->ppid up, as far as the table knows it, to ev
 * (proc_apply does; an event made elsewhere calls it itself). The strings are
 * the table's: they stay until a later update changes or drops that pid.
 */
void proc_attach_ancestors(const struct proc_table *t, struct imm_event *ev);
const struct proc_entry *proc_get(const struct proc_table *t, uint32_t pid);
/* pids from pid's parent up, at most max; returns how many. */
int proc_ancestors(const struct proc_table *t, uint32_t pid, uint32_t *out, int max);
unsigned proc_count(const struct proc_table *t);
uint64_t proc_evicted(const struct proc_table *t);

#endif
