/*
 * The held syscall as an event, read while its thread waits in the kernel:
 * the file from the fanotify fd (its path and inode, whatever name was
 * used), the parent chain from the process table, and for an exec the
 * sensor's copy of its filename, argv, cwd and caller made at
 * sys_enter_execve (gate_exec) while command lines are judged. Otherwise,
 * or for what that copy had to cut, the arguments from the sensor's
 * pending_exec record or /proc/<tid>/syscall, their strings from the
 * caller's memory (exec's argv is still in the old image: the exec has not
 * reached its point of no return), identity from /proc/<tid>/status. The
 * thread cannot run, so nothing here races it but its siblings, exactly as
 * a sys_enter probe's read would.
 */
#include "gate_proc.h"
#include "immune.h"
#include "decode.h"
#include "proc.h"
#include "users.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
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

static const char *readlinkat_a(int dir, const char *path, struct arena *a)
{
	char buf[4096];
	ssize_t n = readlinkat(dir, path, buf, sizeof(buf) - 1);
	if (n <= 0)
		return "";
	return arena_strndup(a, buf, (size_t)n);
}

static const char *readlink_a(const char *path, struct arena *a)
{
	return readlinkat_a(AT_FDCWD, path, a);
}

/* /proc/self/fd, opened once: a held file's path is then one lookup of its
 * number, not a walk of /proc/self/fd/N (~1.5 µs less a hold here). The fd
 * table is the process's, so any thread may use it. */
static int fd_dir = -1;
static pthread_once_t fd_dir_once = PTHREAD_ONCE_INIT;

static void fd_dir_open(void)
{
	fd_dir = open("/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

/* The path of this process's fd: what the kernel resolved, symlinks and all. */
static const char *fd_path(int fd, struct arena *a)
{
	char p[64];
	pthread_once(&fd_dir_once, fd_dir_open);
	if (fd_dir >= 0) {
		snprintf(p, sizeof(p), "%d", fd);
		return readlinkat_a(fd_dir, p, a);
	}
	snprintf(p, sizeof(p), "/proc/self/fd/%d", fd);
	return readlink_a(p, a);
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

/* bpf/sensor.bpf.h's struct exec_args and struct gate_exec as userspace lays them out (pointers are 8 bytes on both sides). */
struct sensor_exec_args {
	uint32_t valid;
	uint64_t filename;
	uint64_t argv;
	int32_t dfd;
	uint32_t syscall;
	struct imm_hdr caller;
};

/* struct gate_exec's head (GATE_EXEC_HEAD); argp: the pointers of
 * argv[argc...], where the copy could not read the strings */
#define SENSOR_GATE_EXEC_HEAD       \
	struct sensor_exec_args a;  \
	uint32_t valid;             \
	uint32_t size;              \
	uint64_t argp[8];           \
	uint32_t argp_n;            \
	uint32_t pad;

#define SENSOR_GATE_REC_MAX (256 + 2 * IMM_PATH_MAX + IMM_ARGS_MAX)
struct sensor_gate_exec {
	SENSOR_GATE_EXEC_HEAD
	char rec[SENSOR_GATE_REC_MAX] __attribute__((aligned(8)));
};

/* struct gate_exec_small: the same head, a record of at most this many bytes */
#define SENSOR_GATE_REC_SMALL 1536
struct sensor_gate_exec_small {
	SENSOR_GATE_EXEC_HEAD
	char rec[SENSOR_GATE_REC_SMALL] __attribute__((aligned(8)));
};
_Static_assert(offsetof(struct sensor_gate_exec_small, rec) == offsetof(struct sensor_gate_exec, rec),
	       "a small copy is a copy's head");

static int map_fd(struct bpf_object *sensor, const char *name, size_t value_size)
{
	struct bpf_map *m = sensor ? bpf_object__find_map_by_name(sensor, name) : NULL;
	if (!m || bpf_map__value_size(m) != value_size)
		return -1;
	return bpf_map__fd(m);
}

struct gate_exec_maps gate_proc_exec_maps(struct bpf_object *sensor)
{
	struct gate_exec_maps m = { .args = map_fd(sensor, "pending_exec", sizeof(struct sensor_exec_args)),
				    .strings = map_fd(sensor, "gate_exec", sizeof(struct sensor_gate_exec)),
				    .strings_small = map_fd(sensor, "gate_exec_small", sizeof(struct sensor_gate_exec_small)),
				    .on = map_fd(sensor, "gate_exec_on", sizeof(uint32_t)) };
	if (m.strings < 0 || m.strings_small < 0 || m.on < 0)
		m.strings = m.strings_small = m.on = -1;
	return m;
}

/* Entries of execs that never ended (a task killed in the middle) would be
 * read for a later exec of the same thread id made while the copy was off. */
static void exec_strings_clear(const struct gate_exec_maps *m)
{
	uint32_t tid;
	int fds[2] = { m->strings_small, m->strings };
	for (int i = 0; i < 2; i++)
		while (bpf_map_get_next_key(fds[i], NULL, &tid) == 0)
			if (bpf_map_delete_elem(fds[i], &tid))
				break;
}

bool gate_proc_exec_strings(const struct gate_exec_maps *m, bool on)
{
	uint32_t zero = 0, v = on, was = 0;
	if (m->on < 0 || bpf_map_lookup_elem(m->on, &zero, &was))
		return false;
	if (on && !was)
		exec_strings_clear(m); /* before the first copy is made */
	if (bpf_map_update_elem(m->on, &zero, &v, BPF_ANY))
		return false;
	if (!on)
		exec_strings_clear(m);
	return on;
}

static void call_of(const struct sensor_exec_args *e, long *nr, unsigned long args[6])
{
	memset(args, 0, 6 * sizeof(*args));
	if (e->syscall == IMM_SYS_EXECVEAT) {
		*nr = SYS_execveat;
		args[0] = (unsigned long)(long)e->dfd;
		args[1] = e->filename;
		args[2] = e->argv;
	} else {
		*nr = SYS_execve;
		args[0] = e->filename;
		args[1] = e->argv;
	}
}

/*
 * The sensor's records of tid's pending exec: its strings (gx, by tid, while
 * the gate has them copied; gx->valid says whether they came) or else its
 * arguments (task storage, by pidfd). 0, or -1 with nothing from the sensor.
 */
static int exec_records(const struct gate_exec_maps *m, pid_t tid, struct sensor_exec_args *e,
			struct sensor_gate_exec *gx)
{
	uint32_t key = (uint32_t)tid;
	gx->valid = 0;
	/* the small copy first (most execs'): its lookup copies 1.6 KB, not 12.5 */
	if (m->strings >= 0 &&
	    ((bpf_map_lookup_elem(m->strings_small, &key, gx) == 0 && gx->size <= SENSOR_GATE_REC_SMALL) ||
	     (bpf_map_lookup_elem(m->strings, &key, gx) == 0 && gx->size <= sizeof(gx->rec))) &&
	    gx->valid && gx->a.valid && gx->a.caller.tid == key) {
		*e = gx->a;
		return 0;
	}
	gx->valid = 0;
	/* a thread other than the leader has no pidfd before 6.9 (PIDFD_THREAD): /proc then */
	int pfd = m->args < 0 ? -1 : (int)syscall(SYS_pidfd_open, tid, 0);
	if (pfd < 0)
		return -1;
	bool ok = bpf_map_lookup_elem(m->args, &pfd, e) == 0 && e->valid;
	close(pfd);
	return ok ? 0 : -1;
}

int gate_proc_exec_call(const struct gate_exec_maps *m, pid_t tid, long *nr, unsigned long args[6],
			struct imm_hdr *caller)
{
	struct sensor_exec_args e;
	struct sensor_gate_exec gx; /* a map lookup (of 1.6 KB, mostly): cheaper than a pidfd to open and close */
	if (caller)
		caller->kind = (uint32_t)-1; /* not from the sensor */
	if (exec_records(m, tid, &e, &gx))
		return gate_proc_syscall(tid, nr, args);
	call_of(&e, nr, args);
	if (caller)
		*caller = e.caller;
	return 0;
}

/* n bytes of tid's memory at addr, in one call: no /proc/<tid>/mem to open,
 * and a page not present is faulted in, as a read of that file would. */
static ssize_t remote_read(pid_t tid, void *out, size_t n, unsigned long addr)
{
	struct iovec l = { .iov_base = out, .iov_len = n }, r = { .iov_base = (void *)addr, .iov_len = n };
	return process_vm_readv(tid, &l, 1, &r, 1, 0);
}

/* A NUL-terminated string of the caller's at addr, at most max bytes with the NUL; length or -1. */
static ssize_t mem_str(pid_t tid, unsigned long addr, char *out, size_t max)
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
		ssize_t r = remote_read(tid, out + got, chunk, addr + got);
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

/* The first bytes of up to 64 strings, in one call (most arguments are short):
 * len[k] is how many of string k's came, 0 when none did. */
#define HEAD_MAX 128
struct heads {
	char buf[64][HEAD_MAX];
	size_t len[64];
};

static void read_heads(pid_t tid, const unsigned long *ptrs, int n, struct heads *h)
{
	struct iovec l[64], r[64];
	int k = 0;
	memset(h->len, 0, sizeof(h->len));
	for (; k < n && ptrs[k]; k++) {
		/* within the string's page: the next one may be unmapped */
		size_t want = 4096 - (ptrs[k] & 4095);
		l[k] = (struct iovec){ .iov_base = h->buf[k], .iov_len = want < HEAD_MAX ? want : HEAD_MAX };
		r[k] = (struct iovec){ .iov_base = (void *)ptrs[k], .iov_len = l[k].iov_len };
	}
	ssize_t got = k ? process_vm_readv(tid, l, (unsigned long)k, r, (unsigned long)k, 0) : 0;
	/* a partial read stops at the first string it could not read: those before it came whole */
	for (int i = 0; i < k && got > 0; i++) {
		h->len[i] = (size_t)got < l[i].iov_len ? (size_t)got : l[i].iov_len;
		got -= (ssize_t)h->len[i];
	}
}

/*
 * The filename (unless ev has it) and argv from the caller's memory; the
 * first `from` entries of ev->argv are kept (what the sensor's copy could
 * read) and the rest read here. true when a string came through the copy's
 * kept pointers argp.
 */
static bool exec_args(struct imm_event *ev, pid_t tid, long nr, const unsigned long *args, struct arena *a, int from,
		      const uint64_t *argp, int argp_n)
{
	unsigned long fname, argv;
	if (nr == SYS_execve) {
		fname = args[0];
		argv = args[1];
	} else if (nr == SYS_execveat) {
		fname = args[1];
		argv = args[2];
		ev->syscall = IMM_SYS_EXECVEAT;
	} else {
		return false;
	}
	char *buf = arena_alloc(a, IMM_ARGS_MAX + IMM_PATH_MAX);
	ssize_t n;
	if (!ev->filename[0] && (n = mem_str(tid, fname, buf, IMM_PATH_MAX)) > 0)
		ev->filename = arena_strndup(a, buf, (size_t)n);
	uint32_t used = 0;
	for (int i = 0; i < from && i < ev->argc; i++) {
		size_t l = strlen(ev->argv[i]);
		if (used + l + 1 > IMM_ARGS_MAX)
			break;
		memcpy(buf + used, ev->argv[i], l + 1);
		used += (uint32_t)l + 1;
	}
	unsigned long ptrs[64];
	struct heads heads;
	int nptr = 0, at = 0;
	bool kept = false;
	if (argv && argp_n > 0) {
		/* the sensor's copy has the pointers from argv[from] on: not read again */
		for (int k = 0; k < argp_n && k < 64; k++)
			ptrs[k] = (unsigned long)argp[k];
		nptr = argp_n < 64 ? argp_n : 64;
		read_heads(tid, ptrs, nptr, &heads);
		kept = heads.len[0] > 0;
	}
	for (int i = from; argv && i < IMM_EVENT_MAX_ARGS; i++) {
		if (at == nptr) {
			/* the pointers a page holds at a time, not one read each */
			unsigned long at_addr = argv + i * sizeof(ptrs[0]);
			size_t want = sizeof(ptrs), page = 4096 - (at_addr & 4095);
			ssize_t r = remote_read(tid, ptrs, want < page ? want : page, at_addr);
			if (r < (ssize_t)sizeof(ptrs[0]))
				break;
			nptr = (int)(r / (ssize_t)sizeof(ptrs[0]));
			at = 0;
			read_heads(tid, ptrs, nptr, &heads);
		}
		const char *head = heads.len[at] ? heads.buf[at] : NULL;
		size_t hlen = heads.len[at];
		unsigned long ptr = ptrs[at++];
		if (!ptr)
			break;
		if (used >= IMM_ARGS_MAX - 1) {
			ev->truncated |= IMM_TRUNC_ARGS;
			break;
		}
		const char *z = head ? memchr(head, 0, hlen) : NULL;
		if (z && (size_t)(z - head) < IMM_ARGS_MAX - 1 - used) {
			memcpy(buf + used, head, (size_t)(z - head) + 1);
			used += (uint32_t)(z - head) + 1;
			continue;
		}
		n = mem_str(tid, ptr, buf + used, IMM_ARGS_MAX - used);
		if (n < 0)
			break;
		buf[used + n] = 0;
		used += (uint32_t)n + 1;
	}
	decode_args(ev, buf, used, a);
	return kept;
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
		uint64_t how[2];
		if (remote_read(tid, how, sizeof(how), args[2]) == sizeof(how)) {
			ev->open_flags = (uint32_t)how[0];
			ev->open_mode = (uint32_t)how[1];
		}
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

/*
 * The exec's filename, argv and cwd from the sensor's copy at sys_enter_execve
 * (decoded as the failed-exec record it is laid out as). What it had to cut
 * (more than its 64 arguments, an unreadable page, a path too long or deep)
 * is read from the caller's memory and /proc/<tid>/cwd as without it: the
 * rules never see less. false when the record does not decode or is not
 * tid's.
 */
static bool exec_from_record(struct imm_event *ev, const struct sensor_gate_exec *gx, pid_t tid, long nr,
			     const unsigned long *args, struct arena *a, bool *from_pointers)
{
	const struct imm_exec *e = (const void *)gx->rec;
	if (gx->size < sizeof(*e) || e->h.size > gx->size || e->h.kind != IMM_K_EXEC || e->h.tid != (uint32_t)tid ||
	    decode_record(gx->rec, e->h.size, ev, a))
		return false;
	const uint32_t strings = IMM_TRUNC_ARGS | IMM_TRUNC_ARGC | IMM_TRUNC_FILENAME;
	if ((ev->truncated & strings) || !ev->filename[0]) {
		/* a page the probe could not fault in (a fork's child has not
		 * touched the string literals it passes), or more than it copies */
		ev->truncated &= ~strings;
		/* the pointers are of argv[e->argc...]: only where the decoder kept every argument */
		bool argp = gx->argp_n <= 8 && ev->argc == (int)e->argc;
		*from_pointers = exec_args(ev, tid, nr, args, a, ev->argc, argp ? gx->argp : NULL, argp ? (int)gx->argp_n : 0);
	}
	if (ev->truncated & (IMM_TRUNC_PATH | IMM_TRUNC_DEPTH) || !ev->cwd[0]) {
		char p[64];
		ev->truncated &= ~(IMM_TRUNC_PATH | IMM_TRUNC_DEPTH);
		snprintf(p, sizeof(p), "/proc/%d/cwd", (int)tid);
		ev->cwd = readlink_a(p, a);
	}
	/* the held exec's file is the fanotify fd's: set by the caller */
	ev->path = ev->abs_path = "";
	ev->file_dev = ev->file_ino = 0;
	return true;
}

int gate_proc_event(struct imm_event *ev, bool exec, int fd, const struct stat *fd_st, pid_t tid, bool exec_path,
		    const struct proc_table *procs, struct users *users, struct arena *a, const struct gate_exec_maps *maps,
		    struct gate_call *call)
{
	char p[64];
	struct stat st;
	long nr = -1;
	unsigned long args[6] = { 0 };
	struct timespec ts;

	struct sensor_exec_args rec;
	bool strings = false, from_pointers = false;

	if (exec) {
		/* before the fields: a decoded record starts the event */
		struct sensor_gate_exec *gx = arena_alloc(a, sizeof(*gx));
		if (exec_records(maps, tid, &rec, gx) == 0) {
			call_of(&rec, &nr, args);
			strings = gx->valid && exec_from_record(ev, gx, tid, nr, args, a, &from_pointers);
		}
	}
	if (!strings)
		event_clear(ev);
	ev->type = exec ? EBPF_EVENT_EXEC : EBPF_EVENT_OPEN;
	ev->outcome = IMM_OUTCOME_SUCCESS;
	ev->gate_held = 1;
	ev->tid = (uint32_t)tid;
	if (!strings) {
		ev->pid = (uint32_t)tid;
		ev->loginuid = (uint32_t)-1;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	ev->time_ns = ts.tv_sec * 1000000000LL + ts.tv_nsec;
	clock_gettime(CLOCK_BOOTTIME, &ts);
	ev->ts_boot_ns = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
	if (fd_st)
		st = *fd_st;
	else if (fstat(fd, &st))
		return -errno;
	struct imm_hdr caller = { .kind = (uint32_t)-1 };
	bool have_args;
	if (strings) {
		have_args = true; /* and the caller's fields came with the record */
	} else if (exec && nr >= 0) {
		have_args = true;
		caller = rec.caller;
	} else {
		have_args = gate_proc_syscall(tid, &nr, args) == 0;
	}
	if (strings) {
		/* decoded above */
	} else if (exec && have_args && caller.kind == IMM_K_EXEC && caller.tid == (uint32_t)tid) {
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
	const char *path = exec && !exec_path ? "" : fd_path(fd, a);
	if (call) {
		call->ok = have_args;
		call->from_record = strings;
		call->from_pointers = from_pointers;
		call->nr = nr;
		memcpy(call->args, args, sizeof(args));
	}
	const struct proc_entry *self = proc_get(procs, ev->pid), *parent = proc_get(procs, ev->ppid);
	if (exec) {
		ev->executable = path;
		ev->exe_dev = st.st_dev;
		ev->exe_ino = st.st_ino;
		if (!strings) {
			if (have_args)
				exec_args(ev, tid, nr, args, a, 0, NULL, 0);
			snprintf(p, sizeof(p), "/proc/%d/cwd", (int)tid);
			ev->cwd = readlink_a(p, a);
		}
		if (!ev->filename[0])
			ev->filename = path;
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
