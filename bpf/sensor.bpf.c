// SPDX-License-Identifier: GPL-2.0
/*
 * The sensor: exec, open, connect, fork and exit from tracepoints, one record
 * per completed syscall, through a BPF ring buffer (or a perf buffer where the
 * ring buffer is missing or --buffer perf asks for it).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_endian.h>
#include "immune.h"
#include "sensor.bpf.h"
#include "plain_load.bpf.h"

char LICENSE[] SEC("license") = "GPL";

const volatile __u32 self_tgid = 0;
/* self_tgid's start time (struct imm_self's fields): pinned in fallback mode,
 * these programs outlive the daemon, and its pid may be another process's */
const volatile __u64 self_start_ticks = 0;
const volatile __u64 self_ns_per_tick = 0;
const volatile bool use_ringbuf = true;
const volatile __u64 wakeup_bytes = 256 * 1024;
/* how often a CPU looks at the ring's fill, in bytes it emitted (the loader
 * sets wakeup_bytes over the online CPUs, 16 KiB at least) */
const volatile __u64 wakeup_check_bytes = 128 * 1024;
const volatile bool enforce_fallback = false;
/* 2 s in jiffies (the loader knows HZ); 0: the verdict_file lookup is never skipped */
const volatile __u64 quiet_max_jiffies = 0;
/* Set where the kernel has bpf_task_pt_regs: open's arguments are then read at
 * sys_exit from the registers saved at syscall entry, which still hold them,
 * and the sys_enter programs for open are not loaded. That spares a program
 * run and a task-storage write and lookup per open, a third of what tracing an
 * open cost. execve keeps its sys_enter (the old image is gone at exit) and
 * so does connect (its address is copied before the call can block). */
const volatile bool open_args_from_regs = false;
/* Set in the default mode (no --events open): an open no loaded rule or
 * indicator can use is counted and not sent (the interest_* maps below). */
const volatile bool open_filter = false;

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 8 * 1024 * 1024); /* resized by the loader */
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
} perf_events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, IMM_ST_MAX);
	__type(key, __u32);
	__type(value, __u64);
} stats SEC(".maps");

/* One record being built, per CPU: programs on one CPU do not nest here. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct ev_buf);
} ev_scratch SEC(".maps");

/* Paths are assembled backwards from the leaf, so they need their own buffer. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct path_buf);
} path_scratch SEC(".maps");

/* Syscall arguments from sys_enter, in the thread's own storage (no hash
 * update or delete per call), consumed at sys_exit. */
struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct open_args);
} pending_open SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct exec_args);
} pending_exec SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct connect_args);
} pending_connect SEC(".maps");

/* The gate's copy of a pending exec's strings (struct gate_exec) by thread
 * id, while gate_exec_on[0] is set: only then does an exec pay for copying
 * them. A hash by tid, not task storage: the daemon reads it with one lookup,
 * no pidfd to open and close per hold. Made at sys_enter_execve, deleted at
 * the exec's end; the daemon empties it when it turns the copy off. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, struct gate_exec);
} gate_exec SEC(".maps");

/* A copy that fits the small value goes here instead (and not in gate_exec):
 * the daemon looks here first. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, struct gate_exec_small);
} gate_exec_small SEC(".maps");

/* Where the copy is assembled before it goes into gate_exec. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct gate_exec_build);
} gate_exec_scratch SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} gate_exec_on SEC(".maps");

#include "verdict.bpf.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct imm_interest_cfg);
} interest_cfg SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, struct imm_inode_key);
	__type(value, __u32);
} interest_dir SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, struct imm_name_key);
	__type(value, __u32);
} interest_name SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, IMM_SEEN_MAX);
	__type(key, struct imm_seen_key);
	__type(value, struct imm_seen_val);
} interest_seen SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct imm_seen_fast);
} seen_fast SEC(".maps");

static __always_inline void stat_inc(__u32 idx)
{
	__u64 *v = bpf_map_lookup_elem(&stats, &idx);
	if (v)
		*v += 1;
}

/* Is task the daemon? By loads from the task the caller holds, not
 * bpf_get_current_pid_tgid: a helper call is ~20 ns here, on every traced
 * syscall. */
static __always_inline bool skip_task(struct task_struct *task)
{
	if ((__u32)task->tgid != self_tgid)
		return false;
	if (!self_ns_per_tick)
		return true;
	/* only for the daemon's pid: a later process given it is not the daemon */
	return task->group_leader->start_boottime / self_ns_per_tick == self_start_ticks;
}

static __always_inline bool skip_self(void)
{
	return skip_task(bpf_get_current_task_btf());
}

static __always_inline void *scratch(void)
{
	__u32 zero = 0;
	struct ev_buf *b = bpf_map_lookup_elem(&ev_scratch, &zero);
	if (!b) {
		stat_inc(IMM_ST_SCRATCH_MISS);
		return NULL;
	}
	return b->raw;
}

static __always_inline void fill_hdr(struct imm_hdr *h, __u32 kind, struct task_struct *task)
{
	/* direct loads through the BTF task pointer: cheaper than helper calls */
	const struct cred *cred = task->cred;

	h->kind = kind;
	h->ts_ns = bpf_ktime_get_boot_ns();
	h->pid = task->tgid;
	h->tid = task->pid;
	h->uid = cred->uid.val;
	h->gid = cred->gid.val;
	h->ppid = task->real_parent->tgid;
	h->loginuid = (__u32)-1;
	if (bpf_core_field_exists(task->loginuid))
		h->loginuid = task->loginuid.val;
	h->truncated = 0;
	h->flags = 0;
	h->cgroup_id = task->cgroups->dfl_cgrp->kn->id;
	__builtin_memcpy(h->comm, task->comm, sizeof(h->comm));
}

/* data is a record built in scratch()'s buffer */
static __always_inline void emit(void *ctx, void *data, __u32 size, __u32 kind)
{
	long err;

	barrier_var(size);
	size &= IMM_EV_BUF - 1;
	if (size > IMM_EV_BUF - IMM_EV_HEAD) {
		stat_inc(IMM_ST_DROPS + kind); /* no record is built this big */
		return;
	}
	struct ev_buf *b = data - __builtin_offsetof(struct ev_buf, raw);
	if (use_ringbuf) {
		/* Wake the reader when wakeup_bytes are queued: a wakeup per
		 * event costs the traced syscall more than all the rest of
		 * this program. Asking the ring how full it is reads the line
		 * the reader writes, so each CPU asks once per
		 * wakeup_check_bytes it emitted, not per record. The reader
		 * also polls on a timer. */
		__u64 flags = BPF_RB_NO_WAKEUP;
		b->unchecked += size;
		if (b->unchecked >= wakeup_check_bytes) {
			b->unchecked = 0;
			if (bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) + size >= wakeup_bytes)
				flags = BPF_RB_FORCE_WAKEUP;
		}
		err = bpf_ringbuf_output(&events, data, size, flags);
	} else {
		err = bpf_perf_event_output(ctx, &perf_events, BPF_F_CURRENT_CPU, data, size);
	}
	if (err)
		stat_inc(IMM_ST_DROPS + kind);
	else
		b->emitted[kind < IMM_K_MAX ? kind : 0] += 1;
}

/* One step of walk_path, as a bpf_loop callback so the verifier checks it once. */
static long walk_step(__u32 i __attribute__((unused)), void *unused __attribute__((unused)))
{
	__u32 zero = 0;
	struct path_buf *p = bpf_map_lookup_elem(&path_scratch, &zero);
	if (!p)
		return 1;
	struct dentry *dentry = (void *)p->dentry;
	struct vfsmount *vfsmnt = (void *)p->vfsmnt;
	struct mount *mnt = (void *)p->mnt, *mnt_parent = (void *)p->mnt_parent;
	struct dentry *mnt_root = BPF_CORE_READ(vfsmnt, mnt_root);
	struct dentry *parent = BPF_CORE_READ(dentry, d_parent);

	if (dentry == mnt_root || dentry == parent) {
		if (dentry != mnt_root || mnt == mnt_parent) {
			p->done = 1; /* the root of the namespace, or of an unmounted fs */
			return 1;
		}
		p->dentry = (__u64)BPF_CORE_READ(mnt, mnt_mountpoint);
		p->mnt = (__u64)mnt_parent;
		p->mnt_parent = (__u64)BPF_CORE_READ(mnt_parent, mnt_parent);
		p->vfsmnt = (__u64)&mnt_parent->mnt;
		return 0;
	}
	struct qstr name = BPF_CORE_READ(dentry, d_name);
	__u32 len = name.len & (IMM_NAME_MAX - 1);
	__u32 pos = p->pos;
	if (len + 1 > pos || pos > IMM_PATH_MAX - 1) {
		p->trunc |= IMM_TRUNC_PATH;
		p->done = 1;
		return 1;
	}
	pos -= len;
	bpf_probe_read_kernel(&p->buf[pos & (IMM_PATH_MAX - 1)], len, name.name);
	pos -= 1;
	p->buf[pos & (IMM_PATH_MAX - 1)] = '/';
	p->pos = pos;
	p->dentry = (__u64)parent;
	return 0;
}

/*
 * Walk a struct path up to the global root, writing "/a/b/c" so that it
 * ends at p->buf[IMM_PATH_MAX - 1] (the NUL). Returns the start offset, and
 * sets truncation bits when the path is too long or too deep.
 */
static __always_inline __u32 walk_path(struct path_buf *p, const struct path *path, __u32 *trunc)
{
	struct vfsmount *vfsmnt = BPF_CORE_READ(path, mnt);
	struct mount *mnt = container_of(vfsmnt, struct mount, mnt);

	p->dentry = (__u64)BPF_CORE_READ(path, dentry);
	p->vfsmnt = (__u64)vfsmnt;
	p->mnt = (__u64)mnt;
	p->mnt_parent = (__u64)BPF_CORE_READ(mnt, mnt_parent);
	p->pos = IMM_PATH_MAX - 1;
	p->trunc = 0;
	p->done = 0;
	p->buf[IMM_PATH_MAX - 1] = 0;
	bpf_loop(IMM_PATH_DEPTH, walk_step, NULL, 0);
	*trunc |= p->trunc;
	if (!p->done)
		*trunc |= IMM_TRUNC_DEPTH;
	__u32 pos = p->pos;
	if (pos >= IMM_PATH_MAX - 1 || pos == 0) {
		pos = IMM_PATH_MAX - 2;
		p->buf[IMM_PATH_MAX - 2] = '/';
	}
	return pos;
}

/* Append the path p->buf[start..] (NUL included) at data[off]; returns bytes. */
static __always_inline __u32 put_walked(char *data, __u32 off, struct path_buf *p, __u32 start)
{
	__u32 len = IMM_PATH_MAX - (start & (IMM_PATH_MAX - 1));

	if (len > IMM_PATH_MAX)
		return 0;
	barrier_var(len);
	len &= 2 * IMM_PATH_MAX - 1;
	if (bpf_probe_read_kernel(&data[off & (IMM_DATA_SLOT - 1)], len,
				  &p->buf[start & (IMM_PATH_MAX - 1)]))
		return 0;
	return len;
}

static __always_inline __u32 put_path(char *data, __u32 off, const struct path *path, __u32 *trunc)
{
	__u32 zero = 0;
	struct path_buf *p = bpf_map_lookup_elem(&path_scratch, &zero);
	if (!p)
		return 0;
	return put_walked(data, off, p, walk_path(p, path, trunc));
}

/* A user string at data[off]; returns bytes with the NUL, 1 for an empty/failed read. */
static __always_inline __u32 put_user_str(char *data, __u32 off, const char *s, __u32 *trunc, __u32 bit)
{
	long n = bpf_probe_read_user_str(&data[off & (IMM_DATA_SLOT - 1)], IMM_PATH_MAX, s);
	if (n <= 0) {
		data[off & (IMM_DATA_SLOT - 1)] = 0;
		return 1;
	}
	if (n == IMM_PATH_MAX && bit == IMM_TRUNC_ARGS)
		*trunc |= bit;
	return n;
}

static __always_inline struct file *fd_file(struct task_struct *task, int fd)
{
	struct fdtable *fdt = task->files->fdt;
	struct file **fds = fdt->fd;
	unsigned int max = fdt->max_fds;
	struct file *f = NULL;

	if (fd < 0 || (unsigned int)fd >= max)
		return NULL;
	bpf_probe_read_kernel(&f, sizeof(f), &fds[fd]);
	return f;
}

/* dev and ino of f's inode, with as few reads as the chain allows */
static __always_inline void file_id(struct file *f, __u64 *dev, __u64 *ino)
{
	struct inode *inode = BPF_CORE_READ(f, f_inode);
	*ino = BPF_CORE_READ(inode, i_ino);
	*dev = BPF_CORE_READ(inode, i_sb, s_dev);
}

/* dev and ino of the file open as fd: 0 and false when there is none */
static __always_inline bool fd_file_id(struct task_struct *task, long fd, __u64 *dev, __u64 *ino)
{
	struct file *bf = fd_file_btf(task, fd);
	if (bf) {
		struct inode *inode = bf->f_inode;
		*ino = inode->i_ino;
		*dev = inode->i_sb->s_dev;
		return true;
	}
	struct file *f = fd_file(task, fd);
	if (!f)
		return false;
	file_id(f, dev, ino);
	return true;
}

/* ---------------------------------------------------------------- exec */

static __always_inline void gate_exec_keep(struct exec_args *a, struct task_struct *task);

static __always_inline int exec_enter(struct trace_event_raw_sys_enter *ctx, __u32 sc)
{
	if (skip_self())
		return 0;
	struct exec_args *a = bpf_task_storage_get(&pending_exec, bpf_get_current_task_btf(), 0,
						   BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!a) {
		stat_inc(IMM_ST_SCRATCH_MISS);
		return 0;
	}
	a->syscall = sc;
	fill_hdr(&a->caller, IMM_K_EXEC, bpf_get_current_task_btf());
	if (sc == IMM_SYS_EXECVEAT) {
		a->dfd = (int)ctx->args[0];
		a->filename = (const char *)ctx->args[1];
		a->argv = (const char *const *)ctx->args[2];
	} else {
		a->dfd = -100;
		a->filename = (const char *)ctx->args[0];
		a->argv = (const char *const *)ctx->args[1];
	}
	a->valid = 1;
	gate_exec_keep(a, bpf_get_current_task_btf());
	return 0;
}

SEC("tp/syscalls/sys_enter_execve")
int sys_enter_execve(struct trace_event_raw_sys_enter *ctx)
{
	return exec_enter(ctx, IMM_SYS_EXECVE);
}

SEC("tp/syscalls/sys_enter_execveat")
int sys_enter_execveat(struct trace_event_raw_sys_enter *ctx)
{
	return exec_enter(ctx, IMM_SYS_EXECVEAT);
}

/* One argv entry of an exec, copied after the ones before it into b (an
 * event's scratch or the gate's). An unreadable entry ends the list and says
 * the list was cut. */
static __always_inline long argv_into(__u32 i, void *b)
{
	__u32 zero = 0;
	struct path_buf *p = bpf_map_lookup_elem(&path_scratch, &zero);
	const char *const *argv;
	const char *arg = NULL;
	if (!b || !p)
		return 1;
	struct imm_exec *e = b;
	argv = (const char *const *)p->argv;
	if (bpf_probe_read_user(&arg, sizeof(arg), &argv[i & (IMM_FAILED_ARGS - 1)])) {
		p->trunc |= IMM_TRUNC_ARGS;
		return 1;
	}
	if (!arg)
		return 1;
	__u32 used = p->argv_used;
	if (used >= IMM_ARGS_MAX - 1) {
		p->trunc |= IMM_TRUNC_ARGS;
		return 1;
	}
	__u32 room = IMM_ARGS_MAX - used;
	long r = bpf_probe_read_user_str(&e->data[(p->argv_start + used) & (IMM_DATA_SLOT - 1)],
					 room & (IMM_ARGS_MAX * 2 - 1), arg);
	if (r <= 0) {
		p->trunc |= IMM_TRUNC_ARGS;
		return 1;
	}
	if ((__u32)r == room)
		p->trunc |= IMM_TRUNC_ARGS;
	p->argv_used = used + (r & (IMM_ARGS_MAX * 2 - 1));
	p->argc++;
	return 0;
}

static long argv_step(__u32 i, void *unused __attribute__((unused)))
{
	__u32 zero = 0;
	struct ev_buf *b = bpf_map_lookup_elem(&ev_scratch, &zero);
	return argv_into(i, b ? b->raw : NULL);
}

static long gate_argv_step(__u32 i, void *unused __attribute__((unused)))
{
	__u32 zero = 0;
	struct gate_exec_build *g = bpf_map_lookup_elem(&gate_exec_scratch, &zero);
	return argv_into(i, g ? g->b : NULL);
}

/*
 * The strings of an exec that has not replaced the caller's image (the
 * caller's memory is still there, so argv comes from its pointers): the
 * filename, no executable, argv and cwd, into e (its header filled). Sets
 * e->h.size.
 */
static __always_inline void exec_strings(struct imm_exec *e, const struct exec_args *a, struct task_struct *task,
					 bool gate)
{
	__u32 off = 0, n, argc = 0;

	n = put_user_str(e->data, off, a->filename, &e->h.truncated, IMM_TRUNC_FILENAME);
	e->filename_len = n;
	off += n;
	e->data[off & (IMM_DATA_SLOT - 1)] = 0; /* no executable */
	e->exe_len = 1;
	off += 1;
	e->argc = 0;
	e->args_len = 0;
	e->cwd_len = 0;
	e->h.size = sizeof(*e) + off;
	__u32 zero = 0;
	struct path_buf *p = bpf_map_lookup_elem(&path_scratch, &zero);
	if (!p)
		return;
	p->argv = (__u64)a->argv;
	p->argv_start = off;
	p->argv_used = 0;
	p->argc = 0;
	p->trunc = 0;
	if (gate) /* e is in gate_exec_scratch */
		bpf_loop(IMM_FAILED_ARGS, gate_argv_step, NULL, 0);
	else
		bpf_loop(IMM_FAILED_ARGS, argv_step, NULL, 0);
	e->h.truncated |= p->trunc;
	argc = p->argc;
	__u32 args_start = off, used = p->argv_used & (2 * IMM_ARGS_MAX - 1);
	if (argc == IMM_FAILED_ARGS) {
		const char *arg = NULL;
		if (!bpf_probe_read_user(&arg, sizeof(arg), &a->argv[IMM_FAILED_ARGS]) && arg)
			e->h.truncated |= IMM_TRUNC_ARGC;
	}
	off = args_start + used;
	e->argc = argc;
	e->args_len = used;
	n = put_path(e->data, off, &task->fs->pwd, &e->h.truncated);
	if (task->fs == NULL)
		n = 0;
	e->cwd_len = n;
	off += n;
	e->h.size = sizeof(*e) + off;
}

/* While the gate judges command lines: this exec's strings, for its hold. */
static __always_inline void gate_exec_keep(struct exec_args *a, struct task_struct *task)
{
	__u32 zero = 0, *on = bpf_map_lookup_elem(&gate_exec_on, &zero);
	if (!on || !*on)
		return;
	struct gate_exec_build *g = bpf_map_lookup_elem(&gate_exec_scratch, &zero);
	__u32 tid = task->pid;
	if (!g)
		goto fail;
	struct imm_exec *e = (void *)g->b; /* made in place: the update copies it once */
	fill_hdr(&e->h, IMM_K_EXEC, task);
	e->ret = 0;
	e->syscall = a->syscall;
	e->old_tid = tid;
	e->dev = 0;
	e->ino = 0;
	exec_strings(e, a, task, true);
	g->argp_n = 0;
	__u32 argc = e->argc;
	if ((e->h.truncated & IMM_TRUNC_ARGS) && argc < IMM_FAILED_ARGS) {
		/* up to 8 pointers, within the array's page (the next may be unmapped) */
		__u64 at = (__u64)&a->argv[argc & (IMM_FAILED_ARGS - 1)];
		__u32 n = (4096 - (at & 4095)) / 8;
		if (n > 8)
			n = 8;
		if (n && !bpf_probe_read_user(g->argp, (n * 8) & 127, (const void *)at))
			g->argp_n = n;
	}
	__u32 size = e->h.size;
	if (size > IMM_GATE_REC_MAX)
		goto fail; /* cannot happen: the strings' bounds add up to less */
	g->a = *a;
	g->size = size;
	g->valid = 1;
	/* one of the two maps holds it; the other none of an earlier exec's */
	if (size <= IMM_GATE_REC_SMALL) {
		if (bpf_map_update_elem(&gate_exec_small, &tid, g, BPF_ANY) == 0) {
			bpf_map_delete_elem(&gate_exec, &tid);
			return;
		}
	} else if (bpf_map_update_elem(&gate_exec, &tid, g, BPF_ANY) == 0) {
		bpf_map_delete_elem(&gate_exec_small, &tid);
		return;
	}
fail:
	/* no copy (the gate reads /proc, and counts it): and no stale one of an earlier exec */
	bpf_map_delete_elem(&gate_exec_small, &tid);
	bpf_map_delete_elem(&gate_exec, &tid);
}

static __always_inline void gate_exec_drop(__u32 tid)
{
	__u32 zero = 0, *on = bpf_map_lookup_elem(&gate_exec_on, &zero);
	if (on && *on) {
		bpf_map_delete_elem(&gate_exec_small, &tid);
		bpf_map_delete_elem(&gate_exec, &tid);
	}
}

/* A failed exec: reported from here, with the strings from the caller's memory. */
static __always_inline int exec_exit(struct trace_event_raw_sys_exit *ctx)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct task_struct *task = bpf_get_current_task_btf();
	struct exec_args *a = bpf_task_storage_get(&pending_exec, task, 0, 0);
	long ret = ctx->ret;

	gate_exec_drop(tid);
	if (!a || !a->valid) {
		if (ret < 0 && !skip_self())
			stat_inc(IMM_ST_ENTER_MISS + IMM_K_EXEC);
		return 0;
	}
	a->valid = 0;
	if (ret == 0) /* reported from sched_process_exec */
		return 0;
	void *b = scratch();
	if (!b)
		goto out;
	struct imm_exec *e = b;

	fill_hdr(&e->h, IMM_K_EXEC, task);
	if (ret == -1 /* EPERM */ && take_denial(IMM_K_EXEC))
		e->h.flags |= IMM_F_DENIED;
	e->ret = ret;
	e->syscall = a->syscall;
	e->old_tid = tid;
	e->dev = 0;
	e->ino = 0;
	exec_strings(e, a, task, false);
	emit(ctx, e, e->h.size, IMM_K_EXEC);
out:
	return 0;
}

SEC("tp/syscalls/sys_exit_execve")
int sys_exit_execve(struct trace_event_raw_sys_exit *ctx)
{
	return exec_exit(ctx);
}

SEC("tp/syscalls/sys_exit_execveat")
int sys_exit_execveat(struct trace_event_raw_sys_exit *ctx)
{
	return exec_exit(ctx);
}

/*
 * A successful exec, after the point of no return and before the new image
 * runs: argv from the new mm, the executable from bprm->file.
 */
SEC("tp_btf/sched_process_exec")
int BPF_PROG(sched_process_exec, struct task_struct *task, pid_t old_pid, struct linux_binprm *bprm)
{
	__u32 old_tid = old_pid;
	struct exec_args *a;
	__u32 off = 0, n;

	if (skip_self())
		return 0;
	a = bpf_task_storage_get(&pending_exec, task, 0, 0);
	if (a && !a->valid)
		a = NULL; /* an exec the kernel started itself, e.g. a usermode helper */
	if (a) {
		a->valid = 0;
		gate_exec_drop(old_tid); /* the key it was made under: a thread that exec'd now has the leader's id */
	}
	void *b = scratch();
	if (!b)
		goto out;
	struct imm_exec *e = b;
	struct file *file = BPF_CORE_READ(bprm, file);

	fill_hdr(&e->h, IMM_K_EXEC, task);
	e->ret = 0;
	e->syscall = a ? a->syscall : IMM_SYS_EXECVE;
	e->old_tid = old_tid;
	file_id(file, &e->dev, &e->ino);
	e->argc = BPF_CORE_READ(bprm, argc);

	n = bpf_probe_read_kernel_str(&e->data[0], IMM_PATH_MAX, BPF_CORE_READ(bprm, filename));
	if (n <= 0) {
		e->data[0] = 0;
		n = 1;
	}
	e->filename_len = n;
	off += n;

	n = put_path(e->data, off, &file->f_path, &e->h.truncated);
	e->exe_len = n;
	off += n;

	unsigned long arg_start = BPF_CORE_READ(task, mm, arg_start);
	unsigned long arg_end = BPF_CORE_READ(task, mm, arg_end);
	__u32 alen = arg_end - arg_start;
	if (arg_end <= arg_start)
		alen = 0;
	if (alen > IMM_ARGS_MAX) {
		alen = IMM_ARGS_MAX;
		e->h.truncated |= IMM_TRUNC_ARGS;
	}
	barrier_var(alen); /* keep the mask: the verifier needs to see the bound */
	alen &= 2 * IMM_ARGS_MAX - 1;
	if (alen && !bpf_probe_read_user(&e->data[off & (IMM_DATA_SLOT - 1)], alen,
					 (void *)arg_start)) {
		e->data[(off + alen - 1) & (IMM_DATA_SLOT - 1)] = 0;
	} else {
		alen = 0;
	}
	e->args_len = alen;
	off += alen;

	n = put_path(e->data, off, &task->fs->pwd, &e->h.truncated);
	e->cwd_len = n;
	off += n;
	e->h.size = sizeof(*e) + off;

	if (enforce_fallback && verdict_exec_denied(e->dev, e->ino)) {
		/* the new image has not run a single instruction yet */
		bpf_send_signal(9);
		e->h.flags |= IMM_F_DENIED | IMM_F_KILLED;
	}
	emit(ctx, e, e->h.size, IMM_K_EXEC);
out:
	return 0;
}

/* ---------------------------------------------------------------- open */

/* One reading of open's syscall arguments, whether they come from sys_enter's
 * record or from the registers saved at entry; a0..a3 as the syscall takes them. */
static __always_inline void open_decode(__u32 sc, __u64 a0, __u64 a1, __u64 a2, __u64 a3,
					struct open_args *out)
{
	out->syscall = sc;
	switch (sc) {
	case IMM_SYS_OPEN:
		out->dfd = -100;
		out->filename = (const char *)a0;
		out->flags = a1;
		out->mode = a2;
		break;
	case IMM_SYS_CREAT: /* creat(2) is open(O_CREAT|O_WRONLY|O_TRUNC) */
		out->dfd = -100;
		out->filename = (const char *)a0;
		out->flags = 0x241;
		out->mode = a1;
		break;
	default: /* openat, openat2 */
		out->dfd = (int)a0;
		out->filename = (const char *)a1;
		out->flags = a2;
		out->mode = a3;
		if (sc == IMM_SYS_OPENAT2) {
			struct open_how how = {};
			bpf_probe_read_user(&how, sizeof(how), (void *)a2);
			out->flags = how.flags;
			out->mode = how.mode;
		}
	}
}

static __always_inline int open_enter(__u32 sc, __u64 a0, __u64 a1, __u64 a2, __u64 a3)
{
	if (skip_self())
		return 0;
	struct open_args *a = bpf_task_storage_get(&pending_open, bpf_get_current_task_btf(), 0,
						   BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!a) {
		stat_inc(IMM_ST_SCRATCH_MISS);
		return 0;
	}
	open_decode(sc, a0, a1, a2, a3, a);
	a->valid = 1;
	return 0;
}

SEC("tp/syscalls/sys_enter_openat")
int sys_enter_openat(struct trace_event_raw_sys_enter *ctx)
{
	return open_enter(IMM_SYS_OPENAT, ctx->args[0], ctx->args[1], ctx->args[2], ctx->args[3]);
}

SEC("tp/syscalls/sys_enter_open")
int sys_enter_open(struct trace_event_raw_sys_enter *ctx)
{
	return open_enter(IMM_SYS_OPEN, ctx->args[0], ctx->args[1], ctx->args[2], 0);
}

SEC("tp/syscalls/sys_enter_creat")
int sys_enter_creat(struct trace_event_raw_sys_enter *ctx)
{
	return open_enter(IMM_SYS_CREAT, ctx->args[0], ctx->args[1], 0, 0);
}

SEC("tp/syscalls/sys_enter_openat2")
int sys_enter_openat2(struct trace_event_raw_sys_enter *ctx)
{
	return open_enter(IMM_SYS_OPENAT2, ctx->args[0], ctx->args[1], ctx->args[2], 0);
}

/* open's arguments as the syscall got them: from the saved registers, or from
 * what sys_enter left in task storage. */
static __always_inline bool open_args(struct task_struct *task, __u32 sc, struct open_args *out)
{
	if (open_args_from_regs) {
		if (skip_task(task))
			return false;
		struct pt_regs *regs = task_regs(task);
		open_decode(sc, PT_REGS_PARM1_SYSCALL(regs), PT_REGS_PARM2_SYSCALL(regs),
			    PT_REGS_PARM3_SYSCALL(regs), PT_REGS_PARM4_SYSCALL(regs), out);
		return true;
	}
	struct open_args *a = bpf_task_storage_get(&pending_open, task, 0, 0);
	if (!a || !a->valid) {
		if (!skip_self())
			stat_inc(IMM_ST_ENTER_MISS + IMM_K_OPEN);
		return false;
	}
	a->valid = 0;
	*out = *a;
	return true;
}

/* Is the name (of length len, at kernel address p) a key of where, for class bit? */
static __always_inline bool name_key(const unsigned char *p, __u32 len, __u32 lens, __u32 where, __u32 bit)
{
	unsigned char buf[IMM_INTEREST_NAME];

	if (len >= IMM_INTEREST_NAME || !((lens >> len) & 1))
		return false;
	if (bpf_probe_read_kernel(buf, sizeof(buf), p))
		return true; /* unreadable: send rather than guess */
	struct imm_name_key k = { .hash = imm_name_hash(buf, len), .where = where };
	__u32 *v = bpf_map_lookup_elem(&interest_name, &k);
	return v && (*v & bit);
}

/* Is the directory d (on device dev) a key, by its inode or by its name? */
static __always_inline bool dir_key(const struct imm_interest_cfg *c, struct dentry *d, __u64 dev, __u32 cls,
				    __u32 bit)
{
	if (c->dirs[cls & 1]) {
		struct imm_inode_key k = { .dev = dev, .ino = BPF_CORE_READ(d, d_inode, i_ino) };
		__u32 *v = bpf_map_lookup_elem(&interest_dir, &k);
		if (v && (*v & bit))
			return true;
	}
	if (c->dir_name_lens[cls & 1]) {
		struct qstr q = BPF_CORE_READ(d, d_name);
		return name_key(q.name, q.len, c->dir_name_lens[cls & 1], IMM_NAME_DIR, bit);
	}
	return false;
}

/* The key naming dentry d where it was reached (mount vfsmnt), and its name
 * in q; false when d cannot be read. */
static __always_inline bool seen_key(struct dentry *d, struct vfsmount *vfsmnt, __u32 cls, struct imm_seen_key *k,
				     struct qstr *q)
{
	struct {
		struct dentry *parent;
		struct qstr name;
	} dn;
	/* d_name follows d_parent in every struct dentry so far: one read, else two */
	if (bpf_core_field_offset(struct dentry, d_name) == bpf_core_field_offset(struct dentry, d_parent) + 8) {
		if (bpf_probe_read_kernel(&dn, sizeof(dn), (void *)d + bpf_core_field_offset(struct dentry, d_parent)))
			return false;
	} else if (BPF_CORE_READ_INTO(&dn.parent, d, d_parent) || BPF_CORE_READ_INTO(&dn.name, d, d_name)) {
		return false;
	}
	*q = dn.name;
	k->dentry = (__u64)d;
	k->parent = (__u64)dn.parent;
	k->hash_len = dn.name.hash_len;
	k->mnt = (__u64)vfsmnt;
	k->cls = cls;
	k->_pad = 0;
	return true;
}

/* A decision remembered for k in this gen of the keys: 1 wanted, 0 not, -1 none. */
static __always_inline int seen_get(const struct imm_seen_key *k, __u32 gen)
{
	struct imm_seen_val *v = bpf_map_lookup_elem(&interest_seen, k);
	return v && gen && v->gen == gen ? (int)v->wanted : -1;
}

static __always_inline bool seen_put(const struct imm_seen_key *k, __u32 gen, bool wanted)
{
	struct imm_seen_val v = { .gen = gen, .wanted = wanted };
	bpf_map_update_elem(&interest_seen, k, &v, BPF_ANY);
	return wanted;
}

/* Where the walk up from a file stands: a dentry, reached through a mount. */
struct walk_at {
	struct dentry *d, *root;
	struct mount *mnt;
	struct vfsmount *vfsmnt;
	__u64 dev;
};

/* One directory up, across a mount to the directory mounted on; false at the root. */
static __always_inline bool walk_up(struct walk_at *w)
{
	/* plain locals: CO-RE relocates the kernel's types, not struct walk_at */
	struct dentry *d = w->d;
	struct mount *mnt = w->mnt;
	struct dentry *parent = BPF_CORE_READ(d, d_parent);
	if (d == w->root || d == parent) {
		struct mount *up = BPF_CORE_READ(mnt, mnt_parent);
		if (d != w->root || mnt == up)
			return false;
		/* the directory mounted on: same path, the parent mount's inode and name */
		struct vfsmount *vfsmnt = &up->mnt;
		w->d = BPF_CORE_READ(mnt, mnt_mountpoint);
		w->mnt = up;
		w->vfsmnt = vfsmnt;
		w->root = BPF_CORE_READ(vfsmnt, mnt_root);
		w->dev = BPF_CORE_READ(vfsmnt, mnt_sb, s_dev);
	} else {
		w->d = parent;
	}
	return true;
}

/*
 * The file's part of the decision: its own name, then each directory above
 * it (by inode and by name), crossing mounts, up to IMM_INTEREST_DEPTH of
 * them. Too deep or unreadable: sent. The walk's answer is its folder's
 * (the file's own name aside), so it is remembered for the folder too: a
 * new file in a folder seen before costs its name and one lookup.
 */
static __always_inline bool file_wanted(const struct imm_interest_cfg *c, struct dentry *d, struct vfsmount *vfsmnt,
					const struct qstr *q, __u32 cls, __u32 bit, __u32 gen)
{
	if (name_key(q->name, q->len, c->name_lens[cls & 1], IMM_NAME_FILE, bit))
		return true;
	if (!c->dirs[cls & 1] && !c->dir_name_lens[cls & 1])
		return false;
	struct walk_at w = { .d = d, .vfsmnt = vfsmnt, .mnt = container_of(vfsmnt, struct mount, mnt) };
	w.root = BPF_CORE_READ(vfsmnt, mnt_root);
	w.dev = BPF_CORE_READ(vfsmnt, mnt_sb, s_dev);
	if (!walk_up(&w))
		return false; /* the file is the root: a directory, with no key above it */
	/* the folder: decided before? */
	struct imm_seen_key dk;
	struct qstr dq;
	if (!seen_key(w.d, w.vfsmnt, cls, &dk, &dq))
		return true;
	int was = seen_get(&dk, gen);
	if (was >= 0)
		return was;
	if (dir_key(c, w.d, w.dev, cls, bit))
		return seen_put(&dk, gen, true);
	for (int i = 1; i < IMM_INTEREST_DEPTH; i++) {
		if (!walk_up(&w))
			return seen_put(&dk, gen, false); /* the root, already looked up: no directory on the way was a key */
		if (dir_key(c, w.d, w.dev, cls, bit))
			return seen_put(&dk, gen, true);
	}
	return true;
}

/* This CPU's slot for a key in seen_fast: NULL only if the map has none */
static __always_inline struct imm_seen_slot *fast_slot(__u64 hash_len)
{
	__u32 zero = 0;
	struct imm_seen_fast *f = bpf_map_lookup_elem(&seen_fast, &zero);
	if (!f)
		return NULL;
	return &f->slot[imm_seen_fast_index(hash_len)];
}

/* The slot missed: the LRU's decision or file_wanted's, kept in the slot.
 * A subprogram, as every path a filtered open through a slot hit does not
 * take, so that the path it does take is a few contiguous lines of code:
 * by the syscall's next run they are out of the instruction cache, and each
 * line the program runs costs its fetch and, after the program, the kernel's
 * own line it evicted. On this host 512 adds in straight-line code cost
 * ~117 ns of run time and ~22 ns more of the syscall's; 128 adds in a loop
 * of a few lines ~39 ns and ~1. */
static __noinline bool file_decision_slow(const struct imm_interest_cfg *c, struct imm_seen_slot *s,
					  const struct imm_seen_key *k, const struct path *fp, const struct qstr *q)
{
	/* five arguments at most: bit and gen follow from the key's class and the config */
	__u32 bit = 1u << (k->cls & 1), gen = c->gen;
	int was = seen_get(k, gen);
	bool wanted = was >= 0 ? was : seen_put(k, gen, file_wanted(c, fp->dentry, fp->mnt, q, k->cls, bit, gen));
	if (s) {
		s->k = *k;
		s->v.gen = gen;
		s->v.wanted = wanted;
	}
	return wanted;
}

/* The file's decision: this CPU's slot if it holds the key in this gen, else
 * file_decision_slow's. */
static __always_inline bool file_decision(const struct imm_interest_cfg *c, struct imm_seen_slot *s,
					  const struct imm_seen_key *k, const struct path *fp, const struct qstr *q)
{
	if (s && s->v.gen == c->gen && imm_seen_key_eq(&s->k, k))
		return s->v.wanted;
	return file_decision_slow(c, s, k, fp, q);
}

/* Out of line (see file_decision_slow): is the executable's name a key? */
static __noinline bool exe_name_wanted(struct task_struct *task, __u32 lens, __u32 bit)
{
	struct qstr e = BPF_CORE_READ(task, mm, exe_file, f_path.dentry, d_name);
	return name_key(e.name, e.len, lens, IMM_NAME_EXE, bit);
}

/* Where the opened file was reached, and its name */
struct file_at {
	struct path fp;
	struct qstr q;
};

/* The open file's key by probe reads, where fd_file_btf cannot read the
 * table (no bpf_rdonly_cast and an fd past the first 64); false if unreadable. */
static __noinline bool file_key_probed(struct task_struct *task, long fd, __u32 cls, struct imm_seen_key *k,
				       struct file_at *at)
{
	struct file *f = fd_file(task, fd);
	return f && !BPF_CORE_READ_INTO(&at->fp, f, f_path) && seen_key(at->fp.dentry, at->fp.mnt, cls, k, &at->q);
}

/*
 * Can a loaded rule or indicator use this open? Decided by map lookups only,
 * the cheapest first: the class's mode (from the flags, no memory read), the
 * executable's name only when the class has such keys, then the file: a
 * decision taken before for the same dentry, name, parent and mount in this
 * gen of the keys (this CPU's slot, then the LRU), or else file_wanted's,
 * remembered. Whatever cannot be decided (no file, too deep, unreadable) is
 * sent. *count is where a filtered open is counted: the slot's counter, or
 * NULL for stats.
 */
static __always_inline bool open_wanted(struct task_struct *task, long ret, __u32 flags, __u64 **count)
{
	__u32 zero = 0;
	struct imm_interest_cfg *c = bpf_map_lookup_elem(&interest_cfg, &zero);
	if (!c)
		return true;
	__u32 cls = ret >= 0 && ((flags & 3) != 0 || (flags & 0x240 /* O_CREAT|O_TRUNC */)) ? IMM_OC_WRITE : IMM_OC_READ;
	__u32 mode = c->mode[cls & 1], bit = 1u << cls;
	if (mode != IMM_INT_KEYS)
		return mode == IMM_INT_ALL;
	if (ret < 0)
		return true; /* a failed open has no file to look at: file_access sees it */
	if (c->exe_name_lens[cls & 1] && exe_name_wanted(task, c->exe_name_lens[cls & 1], bit))
		return true;
	if (!c->name_lens[cls & 1] && !c->dirs[cls & 1] && !c->dir_name_lens[cls & 1])
		return false;
	struct file_at at;
	struct imm_seen_key k;
	struct file *bf = fd_file_btf(task, ret);
	if (bf) {
		/* the same key as seen_key's, by plain loads */
		struct dentry *d = bf->f_path.dentry;
		at.fp.dentry = d;
		at.fp.mnt = bf->f_path.mnt;
		at.q.hash_len = dentry_hash_len(d);
		at.q.name = d->d_name.name;
		k.dentry = (__u64)d;
		k.parent = (__u64)d->d_parent;
		k.hash_len = at.q.hash_len;
		k.mnt = (__u64)at.fp.mnt;
		k.cls = cls;
		k._pad = 0;
	} else if (!file_key_probed(task, ret, cls, &k, &at)) {
		return true;
	}
	struct imm_seen_slot *s = fast_slot(k.hash_len);
	if (s)
		*count = &s->filtered;
	return file_decision(c, s, &k, &at.fp, &at.q);
}

static __always_inline void count_filtered(__u64 *count)
{
	if (count)
		*count += 1;
	else
		stat_inc(IMM_ST_FILTERED + IMM_K_OPEN);
}

/* Pinned so that bpftool shows it; the daemon writes it (struct imm_verdict_quiet). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct imm_verdict_quiet);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} verdict_quiet SEC(".maps");

/* verdict_file was verified empty a moment ago: its lookup can only miss. */
static __always_inline bool file_verdicts_empty(void)
{
	__u32 zero = 0;
	struct imm_verdict_quiet *q = bpf_map_lookup_elem(&verdict_quiet, &zero);
	if (!q)
		return false;
	__u64 until = q->file_empty_until, now = bpf_jiffies64();
	return now < until && until - now <= quiet_max_jiffies;
}

/* A filtered open that fallback enforcement must still look up: is its
 * inode denied? Out of line (see file_decision_slow). */
static __noinline bool filtered_open_denied(struct task_struct *task, long ret)
{
	__u64 dev = 0, ino = 0;
	return fd_file_id(task, ret, &dev, &ino) && verdict_file_denied(dev, ino);
}

static int open_send(struct trace_event_raw_sys_exit *ctx, struct task_struct *task, struct open_args *a);

static __always_inline int open_exit(struct trace_event_raw_sys_exit *ctx, __u32 sc)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct open_args args;

	if (!open_args(task, sc, &args))
		return 0;
	__u64 *count = NULL;
	if (open_filter && ctx->ret != -1 /* EPERM: a denial is always reported */ &&
	    !open_wanted(task, ctx->ret, args.flags, &count)) {
		/* fallback enforcement still kills an open of a denied inode */
		if (!enforce_fallback || ctx->ret < 0 || file_verdicts_empty() || !filtered_open_denied(task, ctx->ret)) {
			count_filtered(count);
			return 0;
		}
	}
	return open_send(ctx, task, &args);
}

/* The open's record, built and sent: out of line (see file_decision_slow). */
static __noinline int open_send(struct trace_event_raw_sys_exit *ctx, struct task_struct *task, struct open_args *a)
{
	void *b;
	__u32 off = 0, n;

	b = scratch();
	if (!b)
		goto out;
	struct imm_open *e = b;
	fill_hdr(&e->h, IMM_K_OPEN, task);
	e->ret = ctx->ret;
	if (e->ret == -1 /* EPERM */ && take_denial(IMM_K_OPEN))
		e->h.flags |= IMM_F_DENIED;
	e->flags = a->flags;
	e->mode = a->mode;
	e->dfd = a->dfd;
	e->syscall = a->syscall;
	e->dev = 0;
	e->ino = 0;

	n = put_user_str(e->data, 0, a->filename, &e->h.truncated, IMM_TRUNC_FILENAME);
	e->path_len = n;
	off = n;

	bool f = e->ret >= 0 && fd_file_id(task, e->ret, &e->dev, &e->ino);

	/* A relative path is joined to its directory: the dirfd's or the cwd. */
	e->abs_len = 0;
	if (n > 1 && e->data[0] != '/') {
		__u32 zero = 0;
		struct path_buf *p = bpf_map_lookup_elem(&path_scratch, &zero);
		struct file *dir = NULL;
		if (p) {
			__u32 start;
			if (a->dfd == -100) {
				start = walk_path(p, &task->fs->pwd, &e->h.truncated);
			} else {
				dir = fd_file(task, a->dfd);
				start = dir ? walk_path(p, &dir->f_path, &e->h.truncated) : IMM_PATH_MAX - 1;
			}
			if (start < IMM_PATH_MAX - 1) {
				__u32 dl = put_walked(e->data, off, p, start);
				if (dl > 1) {
					__u32 rel = n;  /* path bytes, NUL included */
					__u32 at = off + dl - 1; /* over the dir's NUL */
					if (dl == 2)    /* the root: "/" already ends in a slash */
						at -= 1;
					e->data[at & (IMM_DATA_SLOT - 1)] = '/';
					at += 1;
					if (dl - 1 + rel > IMM_PATH_MAX) {
						rel = IMM_PATH_MAX - dl;
						e->h.truncated |= IMM_TRUNC_PATH;
					}
					barrier_var(rel);
					rel &= 2 * IMM_PATH_MAX - 1;
					bpf_probe_read_kernel(&e->data[at & (IMM_DATA_SLOT - 1)], rel, &e->data[0]);
					e->data[(at + rel - 1) & (IMM_DATA_SLOT - 1)] = 0;
					e->abs_len = at + rel - off;
					off += e->abs_len;
				}
			}
		}
	}
	e->h.size = sizeof(*e) + off;

	if (enforce_fallback && f && !file_verdicts_empty() && verdict_file_denied(e->dev, e->ino)) {
		/* kill before the caller can use the new fd */
		bpf_send_signal(9);
		e->h.flags |= IMM_F_DENIED | IMM_F_KILLED;
	}
	emit(ctx, e, e->h.size, IMM_K_OPEN);
out:
	return 0;
}

SEC("tp/syscalls/sys_exit_openat")
int sys_exit_openat(struct trace_event_raw_sys_exit *ctx)
{
	return open_exit(ctx, IMM_SYS_OPENAT);
}

SEC("tp/syscalls/sys_exit_open")
int sys_exit_open(struct trace_event_raw_sys_exit *ctx)
{
	return open_exit(ctx, IMM_SYS_OPEN);
}

SEC("tp/syscalls/sys_exit_creat")
int sys_exit_creat(struct trace_event_raw_sys_exit *ctx)
{
	return open_exit(ctx, IMM_SYS_CREAT);
}

SEC("tp/syscalls/sys_exit_openat2")
int sys_exit_openat2(struct trace_event_raw_sys_exit *ctx)
{
	return open_exit(ctx, IMM_SYS_OPENAT2);
}

/* ------------------------------------------------------------- connect */

SEC("tp/syscalls/sys_enter_connect")
int sys_enter_connect(struct trace_event_raw_sys_enter *ctx)
{
	if (skip_self())
		return 0;
	struct connect_args *a = bpf_task_storage_get(&pending_connect, bpf_get_current_task_btf(), 0,
						      BPF_LOCAL_STORAGE_GET_F_CREATE);
	__u64 len = (__u32)ctx->args[2];

	if (!a) {
		stat_inc(IMM_ST_SCRATCH_MISS);
		return 0;
	}
	a->valid = 0;
	a->fd = (int)ctx->args[0];
	a->addrlen = len;
	if (len > sizeof(a->addr))
		len = sizeof(a->addr);
	barrier_var(len);
	len &= sizeof(a->addr) * 2 - 1;
	if (len > sizeof(a->addr))
		return 0;
	__builtin_memset(a->addr, 0, sizeof(a->addr));
	/* copied at entry: the caller may rewrite its buffer while connect blocks */
	if (bpf_probe_read_user(a->addr, len, (void *)ctx->args[1]))
		return 0;
	__u16 fam = *(__u16 *)a->addr;
	if (fam != 2 /* AF_INET */ && fam != 10 /* AF_INET6 */ && fam != 1 /* AF_UNIX */)
		return 0;
	a->valid = 1;
	return 0;
}

SEC("tp/syscalls/sys_exit_connect")
int sys_exit_connect(struct trace_event_raw_sys_exit *ctx)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct connect_args *a = bpf_task_storage_get(&pending_connect, task, 0, 0);
	if (!a || !a->valid)
		return 0; /* not a family we report, or our own */
	a->valid = 0;
	void *b = scratch();
	if (!b)
		goto out;
	struct imm_connect *e = b;

	fill_hdr(&e->h, IMM_K_CONNECT, task);
	e->ret = ctx->ret;
	if (e->ret == -1 /* EPERM */ && take_denial(IMM_K_CONNECT))
		e->h.flags |= IMM_F_DENIED;
	e->fd = a->fd;
	e->addrlen = a->addrlen;
	e->family = *(__u16 *)a->addr;
	e->port = 0;
	e->sock_type = 0;
	e->protocol = 0;
	__builtin_memset(e->addr, 0, sizeof(e->addr));
	e->unix_path[0] = 0;
	if (e->family == 2) {
		struct sockaddr_in *sin = (void *)a->addr;
		e->port = bpf_ntohs(sin->sin_port);
		__builtin_memcpy(e->addr, &sin->sin_addr, 4);
	} else if (e->family == 10) {
		struct sockaddr_in6 *sin6 = (void *)a->addr;
		e->port = bpf_ntohs(sin6->sin6_port);
		__builtin_memcpy(e->addr, &sin6->sin6_addr, 16);
	} else {
		/* sun_path is not NUL-terminated when it fills addrlen; abstract starts with NUL */
		__builtin_memcpy(e->unix_path, a->addr + 2, IMM_UNIX_PATH_MAX);
	}
	struct file *f = fd_file(task, a->fd);
	if (f) {
		struct socket *sock = BPF_CORE_READ(f, private_data);
		if (sock) {
			e->sock_type = BPF_CORE_READ(sock, type);
			struct sock *sk = BPF_CORE_READ(sock, sk);
			if (sk)
				e->protocol = BPF_CORE_READ_BITFIELD_PROBED(sk, sk_protocol);
		}
	}
	e->h.size = sizeof(*e);
	emit(ctx, e, sizeof(*e), IMM_K_CONNECT);
out:
	return 0;
}

/* ----------------------------------------------------------- lifecycle */

SEC("tp_btf/sched_process_fork")
int BPF_PROG(sched_process_fork, struct task_struct *parent, struct task_struct *child)
{
	__u32 pid = BPF_CORE_READ(child, tgid);
	if ((__u32)BPF_CORE_READ(child, pid) != pid || skip_self())
		return 0; /* a thread: the process table keys on processes */
	void *b = scratch();
	if (!b)
		return 0;
	struct imm_fork *e = b;
	fill_hdr(&e->h, IMM_K_FORK, parent);
	e->h.pid = pid;
	e->h.tid = pid;
	e->h.ppid = BPF_CORE_READ(child, real_parent, tgid);
	e->parent_pid = BPF_CORE_READ(parent, tgid);
	e->clone_flags_thread = 0;
	e->h.size = sizeof(*e);
	emit(ctx, e, sizeof(*e), IMM_K_FORK);
	return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(sched_process_exit, struct task_struct *task)
{
	if (skip_self())
		return 0;
	/* only when the last thread leaves: signal->live drops before this tracepoint */
	if (BPF_CORE_READ(task, signal, live.counter) != 0)
		return 0;
	void *b = scratch();
	if (!b)
		return 0;
	struct imm_exit *e = b;
	fill_hdr(&e->h, IMM_K_EXIT, task);
	unsigned int sflags = BPF_CORE_READ(task, signal, flags);
	if (sflags & 0x4 /* SIGNAL_GROUP_EXIT */)
		e->exit_code = BPF_CORE_READ(task, signal, group_exit_code);
	else
		e->exit_code = BPF_CORE_READ(task, exit_code);
	e->h.size = sizeof(*e);
	emit(ctx, e, sizeof(*e), IMM_K_EXIT);
	return 0;
}
