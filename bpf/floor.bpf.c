// SPDX-License-Identifier: GPL-2.0
/*
 * The benchmark's floor: programs that do nothing on the tracepoints the
 * sensor uses, so that bench/overhead can tell the cost of a tracepoint from
 * the cost of what the sensor does there.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

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
