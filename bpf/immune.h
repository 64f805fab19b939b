/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Records shared by the BPF programs and the daemon. One plain struct per
 * record, fixed part first, then a packed data area of NUL-terminated strings
 * whose lengths (NUL included) are given in the fixed part, in the order the
 * fields are declared. Both sides include this file; keep it free of libc.
 */
#ifndef IMMUNE_H
#define IMMUNE_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define IMM_COMM_LEN      16
#define IMM_PATH_MAX      4096  /* bytes of one path, NUL included */
#define IMM_ARGS_MAX      4096  /* bytes of argv, NULs included */
#define IMM_PATH_DEPTH    48    /* directory components walked per path */
#define IMM_UNIX_PATH_MAX 108

/* daemon/ebpf.h names these for the loader API (ebpf_event_type_t). */
enum imm_kind {
	IMM_K_EXEC = 0,
	IMM_K_OPEN = 1,
	IMM_K_CONNECT = 2,
	IMM_K_FORK = 3,
	IMM_K_EXIT = 4,
	IMM_K_MAX = 5,
};

/* hdr.truncated bits: a field was cut at its bound */
#define IMM_TRUNC_ARGS     (1u << 0)
#define IMM_TRUNC_FILENAME (1u << 1) /* path as passed */
#define IMM_TRUNC_PATH     (1u << 2) /* resolved / absolute path */
#define IMM_TRUNC_CWD      (1u << 3)
#define IMM_TRUNC_DEPTH    (1u << 4) /* more components than IMM_PATH_DEPTH */
#define IMM_TRUNC_ARGC     (1u << 5)

/* hdr.flags */
#define IMM_F_DENIED  (1u << 0) /* the action was denied by a verdict */
#define IMM_F_KILLED  (1u << 1) /* the process was sent SIGKILL by a verdict */

enum imm_open_syscall {
	IMM_SYS_OPENAT = 0,
	IMM_SYS_OPEN = 1,
	IMM_SYS_CREAT = 2,
	IMM_SYS_OPENAT2 = 3,
};

enum imm_exec_syscall {
	IMM_SYS_EXECVE = 0,
	IMM_SYS_EXECVEAT = 1,
};

struct imm_hdr {
	__u32 kind;      /* enum imm_kind */
	__u32 size;      /* bytes of the whole record */
	__u64 ts_ns;     /* bpf_ktime_get_boot_ns() */
	__u32 pid;       /* tgid */
	__u32 tid;
	__u32 ppid;      /* real parent's tgid */
	__u32 uid;
	__u32 gid;
	__u32 loginuid;  /* (u32)-1 when unset or without audit */
	__u32 truncated; /* IMM_TRUNC_* */
	__u32 flags;     /* IMM_F_* */
	__u64 cgroup_id;
	char comm[IMM_COMM_LEN];
};

struct imm_exec {
	struct imm_hdr h;
	__s32 ret;        /* 0, or -errno for a failed exec */
	__u32 syscall;    /* enum imm_exec_syscall */
	__u32 argc;       /* arguments present in args (may be cut) */
	__u32 old_tid;    /* the thread that called exec (differs when a non-leader exec'd) */
	__u64 dev;        /* executable's device: the kernel's dev_t, major << 20 | minor; 0 on failure */
	__u64 ino;        /* executable's inode, 0 on failure */
	__u16 filename_len;
	__u16 exe_len;
	__u16 args_len;
	__u16 cwd_len;
	char data[];      /* filename, exe, args (NUL separated), cwd */
};

struct imm_open {
	struct imm_hdr h;
	__s64 ret;        /* fd, or -errno */
	__u64 dev;        /* opened file's device, 0 on failure */
	__u64 ino;        /* opened file's inode, 0 on failure */
	__u32 flags;
	__u32 mode;
	__s32 dfd;
	__u32 syscall;    /* enum imm_open_syscall */
	__u16 path_len;   /* path as passed */
	__u16 abs_len;    /* absolute path: 0 bytes when path was absolute */
	__u32 _pad;
	char data[];      /* path, abs */
};

struct imm_connect {
	struct imm_hdr h;
	__s32 ret;
	__s32 fd;
	__u16 family;     /* AF_INET, AF_INET6, AF_UNIX */
	__u16 port;       /* host order */
	__u32 sock_type;  /* SOCK_STREAM, SOCK_DGRAM, ... 0 if unknown */
	__u32 protocol;   /* IPPROTO_TCP, ... 0 if unknown */
	__u32 addrlen;
	__u8 addr[16];    /* network order; IPv4 in the first 4 bytes */
	char unix_path[IMM_UNIX_PATH_MAX]; /* abstract sockets start with '@' */
};

struct imm_fork {
	struct imm_hdr h; /* the child's identity */
	__u32 parent_pid;
	__u32 clone_flags_thread; /* 1 when a thread, not a process, was made */
};

struct imm_exit {
	struct imm_hdr h;
	__s32 exit_code;  /* as wait(2) reports it: (code << 8) | signal */
	__u32 _pad;
};

/* Per-CPU counters the daemon sums (map "stats"). */
enum imm_stat {
	IMM_ST_EVENTS = 0,                 /* + kind: records emitted */
	IMM_ST_DROPS = IMM_K_MAX,          /* + kind: reserve/output failed */
	IMM_ST_ENTER_MISS = 2 * IMM_K_MAX, /* + kind: exit seen without its enter */
	IMM_ST_SCRATCH_MISS = 3 * IMM_K_MAX,
	IMM_ST_FILTERED = 3 * IMM_K_MAX + 1, /* + kind: no rule can use it, no record made */
	IMM_ST_MAX = 4 * IMM_K_MAX + 1,
};

/*
 * The interest set for opens (daemon/interest.c fills it from the loaded
 * rules and indicators): an open is sent when its class's mode says all, or
 * when one of its keys is in the maps
 *   interest_cfg   array[1]  imm_interest_cfg
 *   interest_dir   hash      imm_inode_key -> __u32 class bits (a directory the
 *                            opened file lies under, at any depth walked)
 *   interest_name  hash      imm_name_key -> __u32 class bits (the file's own
 *                            name, the name of a directory it lies under, or
 *                            the name of the opening process's executable)
 *   interest_seen  lru hash  imm_seen_key -> imm_seen_val (decisions taken)
 * An all-zero cfg (before the daemon filled it) sends everything.
 */
enum imm_open_class {
	IMM_OC_READ = 0,  /* any open that feeds only file_access: read-only, or failed */
	IMM_OC_WRITE = 1, /* a successful open for write, create or truncate (file_event too) */
	IMM_OC_MAX = 2,
};

enum imm_interest_mode { IMM_INT_ALL = 0, IMM_INT_KEYS = 1, IMM_INT_NONE = 2 };

#define IMM_INTEREST_NAME  32 /* names keyed: 1..31 bytes */
#define IMM_INTEREST_DEPTH 24 /* directories walked up from the file; deeper: sent */

/* Masks per class (index enum imm_open_class), so a class skips the reads no
 * key of its own needs: a read-only open does not look at the executable
 * because some write rule names one. */
struct imm_interest_cfg {
	__u32 mode[IMM_OC_MAX];          /* enum imm_interest_mode */
	__u32 name_lens[IMM_OC_MAX];     /* bit n: a file-name key of n bytes exists */
	__u32 dir_name_lens[IMM_OC_MAX]; /* bit n: a directory-name key of n bytes exists */
	__u32 dirs[IMM_OC_MAX];          /* interest_dir holds keys */
	__u32 exe_name_lens[IMM_OC_MAX]; /* bit n: an executable-name key of n bytes exists */
	__u32 gen;                       /* never 0 once set; bumped on every change */
	__u32 _pad;
};

/*
 * The decision about a file, remembered (LRU hash "interest_seen") so that a
 * file opened again costs one lookup. Keyed by what names the file where it
 * was opened: its dentry with that dentry's parent and name (a rename or a
 * hard link is another key), the mount, and the class. The executable is not
 * part of it, so exe-name keys are tested on every open. An entry of another
 * gen than interest_cfg's is not used.
 */
struct imm_seen_key {
	__u64 dentry, parent, hash_len, mnt;
	__u32 cls, _pad;
};

struct imm_seen_val {
	__u32 gen, wanted;
};

#define IMM_SEEN_MAX 16384

/*
 * In front of interest_seen, per CPU (map "seen_fast", one value): the last
 * decision for each of IMM_SEEN_FAST slots picked by a hash of the dentry.
 * A hit is a compare on a line of this CPU's own (no helper call, no hash of
 * the key, none of the LRU's shared pages, which each cost a TLB miss after a
 * syscall on a host without PCID). The slot also counts the opens filtered
 * through it (the sum over slots and CPUs is the open kind's filtered count,
 * with stats' IMM_ST_FILTERED + IMM_K_OPEN for opens filtered before a slot
 * was looked at), so a filtered open touches that one line. Per CPU because
 * the programs do not nest on a CPU (the scratch buffers rely on it too): a
 * slot is never written by two programs at once, so it is never torn.
 */
#define IMM_SEEN_FAST_BITS 5
#define IMM_SEEN_FAST      (1 << IMM_SEEN_FAST_BITS)
struct imm_seen_slot {
	struct imm_seen_key k;
	struct imm_seen_val v;
	__u64 filtered;
	__u64 _pad;
};
_Static_assert(sizeof(struct imm_seen_slot) == 64, "a slot is a cache line");

struct imm_seen_fast {
	struct imm_seen_slot slot[IMM_SEEN_FAST];
};

static inline int imm_seen_key_eq(const struct imm_seen_key *a, const struct imm_seen_key *b)
{
	return a->dentry == b->dentry && a->parent == b->parent && a->hash_len == b->hash_len && a->mnt == b->mnt &&
	       a->cls == b->cls;
}

/* the slot of a key, by the name's hash (struct qstr's, which the kernel
 * salts with the parent dentry: the verifier allows no arithmetic on the
 * dentry's address itself) */
static inline __u32 imm_seen_fast_index(__u64 hash_len)
{
	return ((__u32)hash_len * 0x9E3779B9u) >> (32 - IMM_SEEN_FAST_BITS);
}

/* FILE: the opened file's name; DIR: a directory above it; EXE: the name of
 * the executable of the process that opens (Image) */
enum imm_name_where { IMM_NAME_FILE = 0, IMM_NAME_DIR = 1, IMM_NAME_EXE = 2 };

struct imm_name_key {
	__u64 hash;  /* imm_name_hash of the name */
	__u32 where; /* enum imm_name_where */
	__u32 _pad;
};

/* FNV-1a over ASCII-lowercased bytes: Sigma compares without case, so the
 * key of ".bashrc" also stands for ".BashRC". Both sides use this one. */
static inline __u64 imm_name_hash(const unsigned char *s, __u32 len)
{
	__u64 h = 0xcbf29ce484222325ULL;
	for (__u32 i = 0; i < IMM_INTEREST_NAME - 1; i++) {
		if (i >= len)
			break;
		unsigned char c = s[i];
		if (c >= 'A' && c <= 'Z')
			c += 'a' - 'A';
		h = (h ^ c) * 0x100000001b3ULL;
	}
	return h;
}

/*
 * Verdicts. Pinned under the pin dir (default /sys/fs/bpf/immune/) as
 *   verdict_exec  hash  imm_inode_key -> imm_verdict   (exec of that inode)
 *   verdict_file  hash  imm_inode_key -> imm_verdict   (open of that inode)
 *   verdict_net   hash  imm_net_key   -> imm_verdict   (exact address, port 0 = any port)
 *   verdict_cidr  lpm   imm_cidr_key  -> imm_verdict   (prefix; verdict.port 0 = any port)
 * IPv4 addresses are stored IPv4-mapped (::ffff:a.b.c.d) so one map serves both.
 */
#define IMM_VERDICT_MAX 262144
#define IMM_SOURCE_LEN  48

enum imm_action { IMM_ACT_NONE = 0, IMM_ACT_DENY = 1, IMM_ACT_ALLOW = 2 };

struct imm_inode_key {
	__u64 dev;  /* i_sb->s_dev: the kernel's dev_t, major << 20 | minor (not stat's st_dev) */
	__u64 ino;
};

struct imm_net_key {
	__u8 addr[16];
	__u16 port; /* host order; 0 = any */
	__u16 _pad;
};

struct imm_cidr_key {
	__u32 prefixlen; /* over the 128-bit mapped address */
	__u8 addr[16];
};

struct imm_verdict {
	__u32 action;     /* enum imm_action */
	__u16 port;       /* cidr map only: 0 = any */
	__u16 _pad;
	__u64 set_ns;     /* UNIX epoch ns when set */
	__u64 hits;       /* denials so far (updated without locking: approximate) */
	char source[IMM_SOURCE_LEN]; /* "operator:0", "rule:<id>", "hive", ... */
};

/*
 * verdict_self's one entry: the daemon's process, by tgid and start time, so
 * that a process reusing the pid of a daemon that died without clearing it
 * is not exempt. start_ticks is /proc/PID/stat's starttime (field 22: the
 * group leader's start_boottime in clock ticks); BPF compares it with the
 * current group leader's start_boottime / ns_per_tick. tgid 0: no exemption.
 */
struct imm_self {
	__u32 tgid;
	__u32 _pad;
	__u64 start_ticks;
	__u64 ns_per_tick; /* 10^9 / sysconf(_SC_CLK_TCK) */
};

/*
 * The pinned one-entry map verdict_quiet (fallback enforcement only): while
 * bpf_jiffies64() is below file_empty_until, the sensor's open programs skip
 * their verdict_file lookup. The daemon sets it to about a second ahead after
 * verifying verdict_file empty, to 0 before it writes any verdict_file entry
 * and at its stop. Jiffies, not a clock: bpf_ktime_get_coarse_ns is refused
 * to tracepoint programs, and the other clocks cost a clock source read. A
 * value more than quiet_max_jiffies (the sensor's .rodata: 2 s) ahead is not
 * believed, so a wrong value skips nothing.
 */
struct imm_verdict_quiet {
	__u64 file_empty_until;
};

#endif
