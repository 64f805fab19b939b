/* A held exec or open as an event, read from the sensor and /proc while the caller waits. */
#ifndef IMMUNE_GATE_PROC_H
#define IMMUNE_GATE_PROC_H

#include <stdbool.h>
#include <sys/stat.h>
#include <sys/types.h>
#include "arena.h"
#include "event.h"

struct proc_table;
struct users;

/* The syscall a held thread waits in. */
struct gate_call {
	bool ok; /* read: nr and args are valid */
	bool from_record; /* exec: argv and cwd from the sensor's copy (gate_exec), not /proc */
	bool from_pointers; /* of those: strings the copy could not read, through the pointers it kept */
	long nr;
	unsigned long args[6];
};

/* The sensor's maps the gate reads a pending exec from; -1 where missing. */
struct gate_exec_maps {
	int args;    /* pending_exec: the syscall's pointers and the caller, always */
	int strings; /* gate_exec: its filename, argv and cwd, while gate_exec_on is set */
	int strings_small; /* gate_exec_small: the same, when it fits 1.5 KB (one or the other has it) */
	int on;      /* gate_exec_on */
};

/* fd is fanotify's for the file, fd_st its fstat if the caller has one (else
 * NULL: taken here); tid the waiting thread. 0 or -errno (strings in a). call
 * (may be NULL) gets the syscall read on the way. exec_path false: an exec's
 * resolved path (executable, name) is left empty, for a judgement that reads
 * no Image (an open's path is always read). */
int gate_proc_event(struct imm_event *ev, bool exec, int fd, const struct stat *fd_st, pid_t tid, bool exec_path,
		    const struct proc_table *procs, struct users *users, struct arena *a, const struct gate_exec_maps *maps,
		    struct gate_call *call);

/* The syscall tid waits in: number and arguments, from /proc/<tid>/syscall. 0 or -1. */
int gate_proc_syscall(pid_t tid, long *nr, unsigned long args[6]);

/*
 * The sensor's record of the execve a thread waits in (its pending_exec task
 * storage, filled at sys_enter_execve), read by pidfd: the filename and argv
 * pointers without waiting for the thread to sleep and without
 * /proc/<tid>/syscall. m: gate_proc_exec_maps. Falls back to gate_proc_syscall. For an exec: execve's or execveat's
 * number and its first three arguments (the rest 0); 0 or -1.
 */
struct imm_hdr;
/* caller (may be NULL) gets the sensor's header of the caller at entry, or kind (u32)-1 from /proc. */
int gate_proc_exec_call(const struct gate_exec_maps *m, pid_t tid, long *nr, unsigned long args[6],
			struct imm_hdr *caller);
/* The sensor object's maps, each checked to have the value the gate reads;
 * -1 for what is missing (the /proc fallback then). */
struct bpf_object;
struct gate_exec_maps gate_proc_exec_maps(struct bpf_object *sensor);
/* Whether the sensor copies each exec's strings for the gate (costs every
 * exec a copy of its argv and cwd at entry: only while command lines are
 * judged). Returns whether they are copied now. */
bool gate_proc_exec_strings(const struct gate_exec_maps *m, bool on);

#endif
