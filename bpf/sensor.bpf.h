/* Kernel-side only: scratch buffers and the arguments kept from sys_enter to sys_exit. */
#ifndef IMMUNE_SENSOR_BPF_H
#define IMMUNE_SENSOR_BPF_H

#define IMM_NAME_MAX     256            /* one path component, as the kernel's NAME_MAX + 1 */
#define IMM_DATA_SLOT    16384          /* strings start below this offset... */
#define IMM_DATA_MAX     (IMM_DATA_SLOT + 2 * IMM_PATH_MAX) /* ...and may run this far */
#define IMM_FAILED_ARGS  64             /* argv entries read for a failed exec */

/* Room for the largest fixed part (imm_connect) and the strings after any record. */
#define IMM_FIXED_MAX 256

/* The per-CPU scratch buffer: 32 KiB, the most a per-CPU map value may be.
 * A power of two, so that "size & (IMM_EV_BUF - 1)" bounds a record. */
#define IMM_EV_BUF  32768
#define IMM_EV_HEAD 64 /* the buffer's own state, before the record */
_Static_assert(IMM_FIXED_MAX + IMM_DATA_MAX <= IMM_EV_BUF - IMM_EV_HEAD, "records fit the scratch buffer");

/* Kept beside the record, on the page the program writes anyway (the stats
 * map's would be one more TLB miss per record on a host without PCID). */
struct ev_buf {
	/* bytes this CPU emitted since it last looked at the ring's fill */
	__u64 unchecked;
	/* records this CPU emitted, by kind: the daemon adds them to stats'
	 * IMM_ST_EVENTS slots, which the programs leave at 0 */
	__u64 emitted[IMM_K_MAX];
	__u64 _pad[IMM_EV_HEAD / 8 - 1 - IMM_K_MAX];
	char raw[IMM_EV_BUF - IMM_EV_HEAD];
};

/*
 * Loop state lives here, not on the stack: values read back from a map are
 * unknown to the verifier, so each bpf_loop step verifies once instead of
 * once per distinct position.
 */
struct path_buf {
	char buf[2 * IMM_PATH_MAX];
	__u64 dentry, vfsmnt, mnt, mnt_parent; /* walk_path */
	__u32 pos, trunc, done;
	__u32 argv_start, argv_used, argc;     /* failed-exec argv */
	__u64 argv;
};

/* Per-task storage from sys_enter to sys_exit; valid is cleared on use. */
struct open_args {
	__u32 valid;
	const char *filename;
	__u32 flags;
	__u32 mode;
	int dfd;
	__u32 syscall;
};

struct exec_args {
	__u32 valid;
	const char *filename;
	const char *const *argv;
	int dfd;
	__u32 syscall;
	/* who called it, at entry: the gate reads this record by pidfd while the
	 * exec is held (daemon/gate_proc.c mirrors the layout), not /proc */
	struct imm_hdr caller;
};

/* The head shared by gate_exec, gate_exec_small and gate_exec_build. argp:
 * the pointers of the arguments from argc on, where the copy could not read
 * them (a page the probe cannot fault in): the daemon reads those strings
 * without reading the pointer array again. */
#define GATE_EXEC_HEAD       \
	struct exec_args a;  \
	__u32 valid;         \
	__u32 size;          \
	__u64 argp[8];       \
	__u32 argp_n;        \
	__u32 pad;

/*
 * The strings of a pending exec, for the gate: made at sys_enter_execve only
 * while gate_exec_on says the gate judges command lines, deleted at the exec's
 * end. rec is the record a failed exec would send (struct imm_exec with its
 * filename, argv and cwd), so the daemon decodes it with the sensor's decoder
 * instead of reading /proc/<tid>/mem and /proc/<tid>/cwd while the exec is
 * held. daemon/gate_proc.c mirrors the layout.
 */
#define IMM_GATE_REC_MAX (IMM_FIXED_MAX + 2 * IMM_PATH_MAX + IMM_ARGS_MAX)
struct gate_exec {
	GATE_EXEC_HEAD
	char rec[IMM_GATE_REC_MAX];
};

/* The same for a record that fits in IMM_GATE_REC_SMALL bytes (most execs:
 * a short path, a few arguments): the map update at entry and the daemon's
 * lookup while the exec is held each copy the whole value, and 12.5 KB of it
 * cost a held exec ~4 µs on the development machine. */
#define IMM_GATE_REC_SMALL 1536
struct gate_exec_small {
	GATE_EXEC_HEAD
	char rec[IMM_GATE_REC_SMALL];
};
_Static_assert(__builtin_offsetof(struct gate_exec_small, rec) == __builtin_offsetof(struct gate_exec, rec),
	       "a small gate_exec is a gate_exec's head");

/* The per-CPU buffer a gate_exec is built in: the same head, then room for
 * any record (the string helpers' bounds, as in struct ev_buf), so the record is made in place
 * and the map update copies the first sizeof(struct gate_exec) bytes. */
struct gate_exec_build {
	GATE_EXEC_HEAD
	char b[IMM_FIXED_MAX + IMM_DATA_MAX]; /* a per-CPU value stays under 32 KB */
};
_Static_assert(__builtin_offsetof(struct gate_exec, rec) == __builtin_offsetof(struct gate_exec_build, b) &&
		       sizeof(struct gate_exec) <= sizeof(struct gate_exec_build),
	       "a built gate_exec is a gate_exec");

struct connect_args {
	__u32 valid;
	int fd;
	__u32 addrlen;
	__u8 addr[128]; /* struct sockaddr_storage */
};

#endif
