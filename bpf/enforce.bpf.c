// SPDX-License-Identifier: GPL-2.0
/*
 * Enforcement: deny what the verdict maps say, before it happens.
 *  - BPF-LSM (bprm_check_security, file_open, socket_connect) where the
 *    kernel runs BPF-LSM programs;
 *  - elsewhere cgroup/connect4 and connect6 on the cgroup v2 root, while the
 *    sensor kills denied execs and opens (enforce_fallback in sensor.bpf.c).
 * A denial is noted in the pinned `denials` map by thread, so that the
 * sensor's syscall-exit record says "denied" with all its usual fields.
 * The daemon itself is never denied (verdict_exempt in verdict.bpf.h).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_endian.h>
#include "immune.h"
#include "verdict.bpf.h"

char LICENSE[] SEC("license") = "GPL";

#define EPERM 1
#define AF_INET 2
#define AF_INET6 10

static __always_inline void note_denial(__u32 kind)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	bpf_map_update_elem(&denials, &tid, &kind, BPF_ANY);
}

/* Direct loads through the hook's BTF-typed file: no helper call per field,
 * which on every open is most of what this hook costs. */
static __always_inline bool inode_denied(void *map, struct file *file)
{
	struct inode *inode = file->f_inode;
	struct imm_inode_key k = {
		.dev = inode->i_sb->s_dev,
		.ino = inode->i_ino,
	};
	return verdict_denies(bpf_map_lookup_elem(map, &k));
}

SEC("lsm/bprm_check_security")
int BPF_PROG(lsm_bprm_check, struct linux_binprm *bprm, int ret)
{
	if (ret)
		return ret;
	if (inode_denied(&verdict_exec, bprm->file)) {
		note_denial(IMM_K_EXEC);
		return -EPERM;
	}
	return 0;
}

SEC("lsm/file_open")
int BPF_PROG(lsm_file_open, struct file *file, int ret)
{
	if (ret)
		return ret;
	if (inode_denied(&verdict_file, file)) {
		note_denial(IMM_K_OPEN);
		return -EPERM;
	}
	return 0;
}

SEC("lsm/socket_connect")
int BPF_PROG(lsm_socket_connect, struct socket *sock, struct sockaddr *address, int addrlen, int ret)
{
	__u8 addr[16] = {};
	__u16 family = 0, port = 0;

	if (ret)
		return ret;
	bpf_probe_read_kernel(&family, sizeof(family), &address->sa_family);
	if (family == AF_INET && addrlen >= (int)sizeof(struct sockaddr_in)) {
		struct sockaddr_in *sin = (void *)address;
		addr[10] = addr[11] = 0xff;
		bpf_probe_read_kernel(&addr[12], 4, &sin->sin_addr);
		port = bpf_ntohs(BPF_CORE_READ(sin, sin_port));
	} else if (family == AF_INET6 && addrlen >= (int)sizeof(struct sockaddr_in6)) {
		struct sockaddr_in6 *sin6 = (void *)address;
		bpf_probe_read_kernel(addr, 16, &sin6->sin6_addr);
		port = bpf_ntohs(BPF_CORE_READ(sin6, sin6_port));
	} else {
		return 0;
	}
	if (net_denied(addr, port)) {
		note_denial(IMM_K_CONNECT);
		return -EPERM;
	}
	return 0;
}

/* cgroup sock_addr programs: return 0 to refuse (connect fails with EPERM), 1 to allow. */
SEC("cgroup/connect4")
int cg_connect4(struct bpf_sock_addr *ctx)
{
	__u8 addr[16] = {};
	__u32 ip = ctx->user_ip4;

	addr[10] = addr[11] = 0xff;
	__builtin_memcpy(&addr[12], &ip, 4);
	if (net_denied(addr, bpf_ntohs((__u16)ctx->user_port))) {
		note_denial(IMM_K_CONNECT);
		return 0;
	}
	return 1;
}

SEC("cgroup/connect6")
int cg_connect6(struct bpf_sock_addr *ctx)
{
	__u32 a[4];

	a[0] = ctx->user_ip6[0];
	a[1] = ctx->user_ip6[1];
	a[2] = ctx->user_ip6[2];
	a[3] = ctx->user_ip6[3];
	if (net_denied((__u8 *)a, bpf_ntohs((__u16)ctx->user_port))) {
		note_denial(IMM_K_CONNECT);
		return 0;
	}
	return 1;
}
