// SPDX-License-Identifier: GPL-2.0
/*
 * The benchmark's floor: programs that do nothing on the tracepoints the
 * sensor uses, so that bench/overhead can tell the cost of a tracepoint from
 * the cost of what the sensor does there.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

/* Not part of the floor: the least an open event can be, a boot-time stamp,
 * pid and tid, the result and the path as passed, sent through a ring buffer of
 * immuned's default size. bench/overhead attaches it on its own: what it adds
 * to the floor bounds what any sensor of opens can do on the host. */
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
	struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());
	e->ts = bpf_ktime_get_boot_ns();
	e->pid_tgid = bpf_get_current_pid_tgid();
	e->ret = ctx->ret;
	long n = bpf_probe_read_user_str(e->path, sizeof(e->path), (const char *)PT_REGS_PARM2_SYSCALL(regs));
	if (n < 1)
		n = 1;
	bpf_ringbuf_output(&floor_ring, e, (24 + n) & 511, BPF_RB_NO_WAKEUP);
	return 0;
}

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
