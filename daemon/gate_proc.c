/*
 * The held syscall as an event, read from /proc while its thread waits in
 * the kernel: the file from the fanotify fd (its path and inode, whatever
 * name was used), the arguments from /proc/<tid>/syscall and the caller's
 * memory (exec's argv is still in the old image: the exec has not reached
 * its point of no return), identity from /proc/<tid>/status, the parent
 * chain from the process table. The thread cannot run, so nothing here
 * races it but its siblings, exactly as a sys_enter probe's read would.
 */
#include "gate_proc.h"
#include "immune.h"
#include "decode.h"
#include "proc.h"
#include "users.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <sched.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#ifndef SYS_openat2
#define SYS_openat2 437
#endif

static ssize_t read_small(const char *path, char *buf, size_t n)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t r = read(fd, buf, n - 1);
	close(fd);
	if (r < 0)
		return -1;
	buf[r] = 0;
	return r;
}

static const char *readlink_a(const char *path, struct arena *a)
{
	char buf[4096];
	ssize_t n = readlink(path, buf, sizeof(buf) - 1);
	if (n <= 0)
		return "";
	return arena_strndup(a, buf, (size_t)n);
}

int gate_proc_syscall(pid_t tid, long *nr, unsigned long args[6])
{
	char p[64], buf[512];
	snprintf(p, sizeof(p), "/proc/%d/syscall", (int)tid);
	/* fanotify queues the event before the caller sleeps: until it does,
	 * the kernel says "running"; it sleeps within microseconds */
	for (int i = 0;; i++) {
		if (read_small(p, buf, sizeof(buf)) <= 0)
			return -1;
		if (strncmp(buf, "running", 7) != 0)
			break;
		if (i == 400)
			return -1;
		if (i < 200)
			sched_yield();
		else
			usleep(50);
	}
	if (sscanf(buf, "%ld %lx %lx %lx %lx %lx %lx", nr, &args[0], &args[1], &args[2], &args[3], &args[4],
		   &args[5]) != 7)
		return -1;
	return 0;
}

/* bpf/sensor.bpf.h's struct exec_args as userspace lays it out (pointers are 8 bytes on both sides). */
struct sensor_exec_args {
	uint32_t valid;
	uint64_t filename;
	uint64_t argv;
	int32_t dfd;
	uint32_t syscall;
	struct imm_hdr caller;
};

int gate_proc_exec_map(struct bpf_object *sensor)
{
	struct bpf_map *m = sensor ? bpf_object__find_map_by_name(sensor, "pending_exec") : NULL;
	if (!m || bpf_map__value_size(m) != sizeof(struct sensor_exec_args))
		return -1;
	return bpf_map__fd(m);
}

int gate_proc_exec_call(int map_fd, pid_t tid, long *nr, unsigned long args[6], struct imm_hdr *caller)
{
	struct sensor_exec_args e;
	if (caller)
		caller->kind = (uint32_t)-1; /* not from the sensor */
	/* a thread other than the leader has no pidfd before 6.9 (PIDFD_THREAD): /proc then */
	int pfd = map_fd < 0 ? -1 : (int)syscall(SYS_pidfd_open, tid, 0);
	bool ok = pfd >= 0 && bpf_map_lookup_elem(map_fd, &pfd, &e) == 0 && e.valid;
	if (pfd >= 0)
		close(pfd);
	if (!ok)
		return gate_proc_syscall(tid, nr, args);
	memset(args, 0, 6 * sizeof(*args));
	if (e.syscall == IMM_SYS_EXECVEAT) {
		*nr = SYS_execveat;
		args[0] = (unsigned long)(long)e.dfd;
		args[1] = e.filename;
		args[2] = e.argv;
	} else {
		*nr = SYS_execve;
		args[0] = e.filename;
		args[1] = e.argv;
	}
	if (caller)
		*caller = e.caller;
	return 0;
}

/* A NUL-terminated string of the caller's at addr, at most max bytes with the NUL; length or -1. */
static ssize_t mem_str(int mem, unsigned long addr, char *out, size_t max)
{
	size_t got = 0;
	while (got < max - 1) {
		/* stay within a page: the next one may be unmapped; and start small,
		 * most arguments are short (each byte read is copied from the caller) */
		size_t chunk = 4096 - ((addr + got) & 4095);
		if (!got && chunk > 256)
			chunk = 256;
		if (chunk > max - 1 - got)
			chunk = max - 1 - got;
		ssize_t r = pread(mem, out + got, chunk, (off_t)(addr + got));
		if (r <= 0)
			return got ? (ssize_t)got : -1;
		char *z = memchr(out + got, 0, (size_t)r);
		if (z)
			return z - out;
		got += (size_t)r;
	}
	out[got] = 0;
	return (ssize_t)got;
}

static void exec_args(struct imm_event *ev, pid_t tid, long nr, const unsigned long *args, struct arena *a)
{
	char p[64];
	unsigned long fname, argv;
	if (nr == SYS_execve) {
		fname = args[0];
		argv = args[1];
	} else if (nr == SYS_execveat) {
		fname = args[1];
		argv = args[2];
		ev->syscall = IMM_SYS_EXECVEAT;
	} else {
		return;
	}
	snprintf(p, sizeof(p), "/proc/%d/mem", (int)tid);
	int mem = open(p, O_RDONLY | O_CLOEXEC);
	if (mem < 0)
		return;
	char *buf = arena_alloc(a, IMM_ARGS_MAX + IMM_PATH_MAX);
	ssize_t n = mem_str(mem, fname, buf, IMM_PATH_MAX);
	if (n > 0)
		ev->filename = arena_strndup(a, buf, (size_t)n);
	uint32_t used = 0;
	unsigned long ptrs[64];
	int nptr = 0, at = 0;
	for (int i = 0; argv && i < IMM_EVENT_MAX_ARGS; i++) {
		if (at == nptr) {
			/* the pointers a page holds at a time, not one read each */
			unsigned long from = argv + i * sizeof(ptrs[0]);
			size_t want = sizeof(ptrs), page = 4096 - (from & 4095);
			ssize_t r = pread(mem, ptrs, want < page ? want : page, (off_t)from);
			if (r < (ssize_t)sizeof(ptrs[0]))
				break;
			nptr = (int)(r / (ssize_t)sizeof(ptrs[0]));
			at = 0;
		}
		unsigned long ptr = ptrs[at++];
		if (!ptr)
			break;
		if (used >= IMM_ARGS_MAX - 1) {
			ev->truncated |= IMM_TRUNC_ARGS;
			break;
		}
		n = mem_str(mem, ptr, buf + used, IMM_ARGS_MAX - used);
		if (n < 0)
			break;
		buf[used + n] = 0;
		used += (uint32_t)n + 1;
	}
	close(mem);
	decode_args(ev, buf, used, a);
}

static void open_flags(struct imm_event *ev, pid_t tid, long nr, const unsigned long *args)
{
	if (nr == SYS_openat) {
		ev->open_flags = (uint32_t)args[2];
		ev->open_mode = (uint32_t)args[3];
	}
#ifdef SYS_open
	else if (nr == SYS_open) {
		ev->open_flags = (uint32_t)args[1];
		ev->open_mode = (uint32_t)args[2];
	}
#endif
#ifdef SYS_creat
	else if (nr == SYS_creat) {
		ev->open_flags = O_CREAT | O_WRONLY | O_TRUNC;
		ev->open_mode = (uint32_t)args[1];
	}
#endif
	else if (nr == SYS_openat2) {
		char p[64];
		uint64_t how[2];
		snprintf(p, sizeof(p), "/proc/%d/mem", (int)tid);
		int mem = open(p, O_RDONLY | O_CLOEXEC);
		if (mem >= 0 && pread(mem, how, sizeof(how), (off_t)args[2]) == sizeof(how)) {
			ev->open_flags = (uint32_t)how[0];
			ev->open_mode = (uint32_t)how[1];
		}
		if (mem >= 0)
			close(mem);
	}
}

static void status_ids(struct imm_event *ev, pid_t tid)
{
	char p[64], buf[4096];
	snprintf(p, sizeof(p), "/proc/%d/status", (int)tid);
	if (read_small(p, buf, sizeof(buf)) <= 0)
		return;
	for (char *save = NULL, *l = strtok_r(buf, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		unsigned v;
		if (sscanf(l, "Tgid: %u", &v) == 1)
			ev->pid = v;
		else if (sscanf(l, "PPid: %u", &v) == 1)
			ev->ppid = v;
		else if (sscanf(l, "Uid: %u", &v) == 1)
			ev->uid = v;
		else if (sscanf(l, "Gid: %u", &v) == 1)
			ev->gid = v;
		else if (strncmp(l, "Name:\t", 6) == 0)
			snprintf(ev->comm, sizeof(ev->comm), "%s", l + 6);
	}
	snprintf(p, sizeof(p), "/proc/%d/loginuid", (int)tid);
	if (read_small(p, buf, sizeof(buf)) > 0)
		ev->loginuid = (uint32_t)strtoul(buf, NULL, 10);
}

int gate_proc_event(struct imm_event *ev, bool exec, int fd, pid_t tid, const struct proc_table *procs,
		    struct users *users, struct arena *a, int exec_map, struct gate_call *call)
{
	char p[64];
	struct stat st;
	long nr = -1;
	unsigned long args[6] = { 0 };
	struct timespec ts;

	event_clear(ev);
	ev->type = exec ? EBPF_EVENT_EXEC : EBPF_EVENT_OPEN;
	ev->outcome = IMM_OUTCOME_SUCCESS;
	ev->gate_held = 1;
	ev->tid = (uint32_t)tid;
	ev->pid = (uint32_t)tid;
	ev->loginuid = (uint32_t)-1;
	clock_gettime(CLOCK_REALTIME, &ts);
	ev->time_ns = ts.tv_sec * 1000000000LL + ts.tv_nsec;
	clock_gettime(CLOCK_BOOTTIME, &ts);
	ev->ts_boot_ns = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
	if (fstat(fd, &st))
		return -errno;
	struct imm_hdr caller;
	bool have_args = (exec ? gate_proc_exec_call(exec_map, tid, &nr, args, &caller) : gate_proc_syscall(tid, &nr, args)) == 0;
	if (exec && have_args && caller.kind == IMM_K_EXEC && caller.tid == (uint32_t)tid) {
		/* the sensor saw the caller at sys_enter_execve: no /proc/<tid>/status */
		ev->pid = caller.pid;
		ev->ppid = caller.ppid;
		ev->uid = caller.uid;
		ev->gid = caller.gid;
		ev->loginuid = caller.loginuid;
		memcpy(ev->comm, caller.comm, sizeof(ev->comm) < sizeof(caller.comm) ? sizeof(ev->comm) : sizeof(caller.comm));
		ev->comm[sizeof(ev->comm) - 1] = 0;
	} else {
		status_ids(ev, tid);
	}
	snprintf(p, sizeof(p), "/proc/self/fd/%d", fd);
	const char *path = readlink_a(p, a);
	if (call) {
		call->ok = have_args;
		call->nr = nr;
		memcpy(call->args, args, sizeof(args));
	}
	const struct proc_entry *self = proc_get(procs, ev->pid), *parent = proc_get(procs, ev->ppid);
	if (exec) {
		ev->executable = path;
		ev->exe_dev = st.st_dev;
		ev->exe_ino = st.st_ino;
		if (have_args)
			exec_args(ev, tid, nr, args, a);
		if (!ev->filename[0])
			ev->filename = path;
		snprintf(p, sizeof(p), "/proc/%d/cwd", (int)tid);
		ev->cwd = readlink_a(p, a);
		if (!ev->argc) {
			/* argv unreadable (a 32-bit caller, a racing sibling): the file alone */
			ev->argv[ev->argc++] = ev->filename;
			ev->truncated |= IMM_TRUNC_ARGS;
			ev->command_line = ev->filename;
		}
		const char *s = strrchr(path, '/');
		ev->name = s && s[1] ? s + 1 : path;
	} else {
		ev->path = ev->abs_path = path;
		ev->file_dev = st.st_dev;
		ev->file_ino = st.st_ino;
		if (have_args)
			open_flags(ev, tid, nr, args);
		ev->syscall = nr == SYS_openat2 ? IMM_SYS_OPENAT2 : IMM_SYS_OPENAT;
		if (self) {
			ev->executable = self->exe ? arena_strdup(a, self->exe) : "";
			ev->command_line = self->cmdline ? arena_strdup(a, self->cmdline) : "";
			ev->cwd = self->cwd ? arena_strdup(a, self->cwd) : "";
		} else {
			snprintf(p, sizeof(p), "/proc/%d/exe", (int)tid);
			ev->executable = readlink_a(p, a);
		}
		const char *s = strrchr(ev->executable, '/');
		ev->name = s && s[1] ? s + 1 : ev->comm;
	}
	if (parent) {
		ev->parent_executable = parent->exe ? arena_strdup(a, parent->exe) : "";
		ev->parent_command_line = parent->cmdline ? arena_strdup(a, parent->cmdline) : "";
	}
	ev->user_name = users ? users_name(users, ev->uid) : "";
	proc_attach_ancestors(procs, ev);
	return 0;
}
