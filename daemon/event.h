/*
 * The decoded event: what the matcher, output, store and replay see. Built
 * from a kernel record (decode.c) or from a JSON line (replay). Strings are
 * owned by the event's arena and valid until the next decode into it.
 */
#ifndef IMMUNE_EVENT_H
#define IMMUNE_EVENT_H

#include <stdint.h>
#include <stddef.h>
#include "ebpf.h"

enum imm_outcome { IMM_OUTCOME_SUCCESS = 0, IMM_OUTCOME_FAILURE, IMM_OUTCOME_DENIED, IMM_OUTCOME_UNKNOWN };

#define IMM_EVENT_MAX_ARGS 256
#define IMM_EVENT_MAX_ANCESTORS 8

struct imm_event {
	ebpf_event_type_t type;
	enum imm_outcome outcome;
	int error_code;          /* positive errno when the syscall failed, else 0 */
	uint64_t ts_boot_ns;     /* kernel boot-time clock */
	int64_t time_ns;         /* wall clock (UNIX epoch, ns) */
	uint32_t pid, tid, ppid;
	uint32_t uid, gid, loginuid; /* loginuid (u32)-1 when unset */
	uint64_t cgroup_id;
	char comm[16];
	uint32_t truncated;      /* IMM_TRUNC_* from bpf/immune.h */
	uint32_t flags;          /* IMM_F_* */

	/* process (exec: the new image; others: from the process table) */
	const char *executable;  /* resolved absolute path, "" if unknown */
	const char *name;        /* basename of executable, or comm */
	int argc;
	const char *argv[IMM_EVENT_MAX_ARGS];
	const char *command_line; /* argv joined with spaces */
	const char *cwd;
	const char *parent_executable;
	const char *parent_command_line;
	const char *user_name;   /* from uid, "" if unknown */

	/* exec */
	const char *filename;    /* path as passed to execve */
	uint64_t exe_dev, exe_ino;  /* st_dev encoding, as stat(2) gives */

	/* open */
	const char *path;        /* as passed */
	const char *abs_path;    /* absolute (== path when it was absolute) */
	uint32_t open_flags, open_mode;
	int64_t ret;             /* syscall return: fd / 0 / -errno */
	uint64_t file_dev, file_ino;
	int syscall;             /* enum imm_open_syscall / imm_exec_syscall */

	/* connect */
	int family;              /* AF_INET, AF_INET6, AF_UNIX */
	char dst_ip[46];         /* textual address, "" for unix */
	uint16_t dst_port;
	const char *unix_path;
	int sock_type;           /* SOCK_STREAM ... */
	const char *transport;   /* "tcp", "udp", "unix", ... */

	/* the parent chain, parent first, attached by enrichment (proc_apply) as
	 * far as the process table knows it (in replay, the recording's own table).
	 * Incidents list it. */
	int nancestors;
	struct imm_ancestor {
		uint32_t pid;
		const char *executable;   /* NULL: the table does not know the pid */
		const char *command_line;
	} ancestors[IMM_EVENT_MAX_ANCESTORS];

	/* exit */
	int exit_code;
	uint32_t child_pid;      /* fork */
};

#endif
