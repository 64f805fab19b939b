// SPDX-License-Identifier: GPL-2.0
/*
 * The benchmark's floor: programs that do nothing on the tracepoints the
 * sensor uses, so that bench/overhead can tell the cost of a tracepoint from
 * the cost of what the sensor does there.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "immune.h"
#include "plain_load.bpf.h"

char LICENSE[] SEC("license") = "GPL";

/* Not part of the floor: the least an open event can be, a boot-time stamp,
 * pid and tid, the result and the path as passed, sent through a ring buffer of
 * immuned's default size. bench/overhead attaches it in the place of the
 * floor's open program, the rest of the floor attached: what it adds to the
 * floor bounds what any sensor of opens can do on the host. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 8 * 1024 * 1024);
} floor_ring SEC(".maps");

struct min_open {
	__u64 ts;
	__u64 pid_tgid;
	__s64 ret;
	char path[256];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct min_open);
} floor_scratch SEC(".maps");

SEC("tp/syscalls/sys_exit_openat")
int min_event_exit_openat(struct trace_event_raw_sys_exit *ctx)
{
	__u32 zero = 0;
	struct min_open *e = bpf_map_lookup_elem(&floor_scratch, &zero);
	if (!e)
		return 0;
	struct pt_regs *regs = task_regs(bpf_get_current_task_btf());
	e->ts = bpf_ktime_get_boot_ns();
	e->pid_tgid = bpf_get_current_pid_tgid();
	e->ret = ctx->ret;
	long n = bpf_probe_read_user_str(e->path, sizeof(e->path), (const char *)PT_REGS_PARM2_SYSCALL(regs));
	if (n < 1)
		n = 1;
	bpf_ringbuf_output(&floor_ring, e, (24 + n) & 511, BPF_RB_NO_WAKEUP);
	return 0;
}

/*
 * Not part of the floor either: the default mode's open program cut at each
 * of its steps, so that bench/overhead can show where its cost over the
 * floor goes. Each step does what the sensor does for a filtered open of a
 * file decided before, up to that point (each in the place of the floor's
 * open program, like the minimal event): the arguments from the saved
 * registers; then the opened file from the fd table and the key that names
 * it (dentry, parent, name, mount); then the key compared with this CPU's
 * slot for it in a seen_fast of the sensor's size (a hit, as for a file
 * opened before on this CPU) and the open counted there.
 */

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct imm_seen_key);
} step_scratch SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct imm_seen_fast);
} step_seen SEC(".maps");

static __always_inline int open_step(struct trace_event_raw_sys_exit *ctx, int upto)
{
	__u32 zero = 0;
	struct imm_seen_key *k = bpf_map_lookup_elem(&step_scratch, &zero);
	if (!k)
		return 0;
	struct task_struct *task = bpf_get_current_task_btf();
	struct pt_regs *regs = task_regs(task);
	/* kept where the compiler cannot drop them */
	k->cls = PT_REGS_PARM3_SYSCALL(regs) & 3;
	k->hash_len = PT_REGS_PARM2_SYSCALL(regs);
	if (upto < 2)
		return 0;
	struct file *f = fd_file_btf(task, ctx->ret);
	if (!f)
		return 0;
	struct dentry *d = f->f_path.dentry;
	k->dentry = (__u64)d;
	k->parent = (__u64)d->d_parent;
	k->hash_len = dentry_hash_len(d);
	k->mnt = (__u64)f->f_path.mnt;
	if (upto < 3)
		return 0;
	struct imm_seen_fast *fast = bpf_map_lookup_elem(&step_seen, &zero);
	if (!fast)
		return 0;
	struct imm_seen_slot *s = &fast->slot[imm_seen_fast_index(k->hash_len)];
	if (s->v.gen != 1 || !imm_seen_key_eq(&s->k, k)) {
		s->k = *k;
		s->v.gen = 1;
	}
	s->filtered += 1;
	return 0;
}

SEC("tp/syscalls/sys_exit_openat")
int step_args_exit_openat(struct trace_event_raw_sys_exit *ctx) { return open_step(ctx, 1); }
SEC("tp/syscalls/sys_exit_openat")
int step_file_exit_openat(struct trace_event_raw_sys_exit *ctx) { return open_step(ctx, 2); }
SEC("tp/syscalls/sys_exit_openat")
int step_lookup_exit_openat(struct trace_event_raw_sys_exit *ctx) { return open_step(ctx, 3); }

SEC("tp/syscalls/sys_enter_openat")
int floor_enter_openat(void *ctx) { (void)ctx; return 0; }
SEC("tp/syscalls/sys_exit_openat")
int floor_exit_openat(void *ctx) { (void)ctx; return 0; }
SEC("tp/syscalls/sys_enter_execve")
int floor_enter_execve(void *ctx) { (void)ctx; return 0; }
SEC("tp/syscalls/sys_exit_execve")
int floor_exit_execve(void *ctx) { (void)ctx; return 0; }
SEC("tp_btf/sched_process_exec")
int floor_sched_exec(void *ctx) { (void)ctx; return 0; }
SEC("tp/syscalls/sys_enter_connect")
int floor_enter_connect(void *ctx) { (void)ctx; return 0; }
SEC("tp/syscalls/sys_exit_connect")
int floor_exit_connect(void *ctx) { (void)ctx; return 0; }
SEC("tp_btf/sched_process_fork")
int floor_sched_fork(void *ctx) { (void)ctx; return 0; }
SEC("tp_btf/sched_process_exit")
int floor_sched_exit(void *ctx) { (void)ctx; return 0; }
