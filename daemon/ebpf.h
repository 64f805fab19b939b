/* The loader API named by the specification, plus options and stats. */
#ifndef IMMUNE_EBPF_H
#define IMMUNE_EBPF_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#include "immune.h"

/* The loader API's names for the kinds of bpf/immune.h: one enum, two spellings. */
typedef enum {
	EBPF_EVENT_EXEC = IMM_K_EXEC,
	EBPF_EVENT_OPEN = IMM_K_OPEN,
	EBPF_EVENT_CONNECT = IMM_K_CONNECT,
	EBPF_EVENT_FORK = IMM_K_FORK,
	EBPF_EVENT_EXIT = IMM_K_EXIT,
} ebpf_event_type_t;

#define EBPF_EVENT_TYPES IMM_K_MAX
_Static_assert(EBPF_EVENT_EXIT + 1 == EBPF_EVENT_TYPES, "a kind in bpf/immune.h has no EBPF_EVENT_ name");

/* Called for each raw record (struct imm_* from bpf/immune.h). */
typedef int (*ebpf_callback_t)(ebpf_event_type_t type, const void *data, size_t size, void *ctx);

enum ebpf_buffer { EBPF_BUFFER_AUTO = 0, EBPF_BUFFER_RING, EBPF_BUFFER_PERF };

struct ebpf_options {
	enum ebpf_buffer buffer;
	unsigned ring_kb;        /* ring buffer size; 0: default */
	unsigned perf_pages;     /* per-CPU perf buffer pages; 0: default */
	unsigned wakeup_bytes;   /* wake the reader when this much is queued; 0: default */
	bool want[EBPF_EVENT_TYPES]; /* which event kinds to attach; all false means all */
	const char *pin_dir;     /* verdict maps pinned here; NULL: /sys/fs/bpf/immune */
	bool enforce_fallback;   /* the sensor SIGKILLs denied execs and opens, and
	                            its links are pinned under pin_dir/sensor */
	uint32_t self_pid;       /* tgid excluded in the kernel; 0: getpid() */
	bool open_args_at_enter; /* keep open's sys_enter programs even where the
	                            kernel lets sys_exit read the saved registers */
	bool open_filter;        /* send only the opens the interest maps name (daemon/interest.h) */
	void *cb_ctx;            /* passed to the callback */
};

struct ebpf_stats {
	uint64_t events[EBPF_EVENT_TYPES];   /* emitted by the kernel */
	uint64_t drops[EBPF_EVENT_TYPES];    /* failed reserve/output in the kernel */
	uint64_t enter_miss[EBPF_EVENT_TYPES];
	uint64_t scratch_miss;
	uint64_t perf_lost;                  /* perf buffer: samples lost (all kinds) */
	uint64_t malformed;                  /* records too short or of no known kind: dropped */
	uint64_t received[EBPF_EVENT_TYPES]; /* delivered to the callback */
	uint64_t filtered[EBPF_EVENT_TYPES]; /* no loaded rule could use it: no record made */
};

int ebpf_init(void);
int ebpf_load_programs(void);
int ebpf_attach(void);
void ebpf_detach(void);
int ebpf_poll_events(ebpf_callback_t cb, int timeout_ms);

/* Additions: set options before ebpf_init (defaults otherwise). */
void ebpf_set_options(const struct ebpf_options *opts);
int ebpf_get_stats(struct ebpf_stats *st);
/* The sensor's per-CPU counters, ncpu (libbpf_num_possible_cpus) values per
 * IMM_ST_* slot, including those the programs keep beside their data. */
int ebpf_stat_slots(uint64_t *vals, int ncpu);
const char *ebpf_buffer_name(void);   /* "ring" or "perf" once loaded */
bool ebpf_open_args_from_regs(void);  /* open's arguments read at sys_exit */
bool ebpf_kernel_reads_regs_at_exit(void); /* bpf_task_pt_regs: what that needs */
/* The sensor reads the saved registers by plain loads (bpf/plain_load.bpf.h):
 * the kernel has bpf_rdonly_cast, open's arguments come from the registers
 * and an open has shown where they sit. Until then, or without it, by
 * bpf_task_pt_regs. The fd table takes plain loads wherever the kernel has
 * bpf_rdonly_cast (ebpf_kernel_has_rdonly_cast). */
bool ebpf_plain_loads(void);
bool ebpf_kernel_has_rdonly_cast(void);
const char *ebpf_last_error(void);    /* one line: what failed and what to do */
int ebpf_programs_attached(void);
/* An fd that polls readable when the kernel woke the reader (epoll). */
int ebpf_epoll_fd(void);
struct bpf_object *ebpf_object(void); /* for the enforcement and map code */

#endif
