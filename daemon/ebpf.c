/*
 * The loader: open → configure → load → attach the sensor skeleton, and hand
 * its records to the caller from the ring buffer or the perf buffer.
 */
#include "ebpf.h"
#include "verdict.h"
#include "verdict_quiet.h"
#include "immune.h"
#include "pinned_links.h"
#include "proc.h"
#include "sensor.bpf.h"
#include "sensor.skel.h"
#include "sysfs.h"

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <linux/perf_event.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

/* 8 MiB: big enough that a 1,000,000-open burst from one process loses nothing
 * (the reader drains 1M open records in ~0.16 s of CPU, several times faster than
 * one producer makes them), small enough to stay warm in cache: with 32 MiB each
 * record lands on lines long evicted and an open cost ~150 ns more
 * (bench/overhead, this host). */
#define DEFAULT_RING_KB    (8 * 1024)
#define DEFAULT_PERF_PAGES 1024 /* 4 MiB per CPU */
#define DEFAULT_WAKEUP     (256 * 1024)

static struct {
	struct ebpf_options opt;
	bool opt_set;
	struct sensor_bpf *skel;
	struct ring_buffer *rb;
	struct perf_buffer *pb;
	bool ring;
	bool open_regs;
	bool loaded, attached;
	int nattached;
	ebpf_callback_t cb;
	void *cb_ctx;
	int cb_err;
	uint64_t received[EBPF_EVENT_TYPES];
	uint64_t perf_lost;
	uint64_t bad_records;
	char err[1024];
	/* the tail of libbpf's log, for the verifier's last lines */
	char log[32768];
	size_t log_len;
} g;

static void set_err(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(g.err, sizeof(g.err), fmt, ap);
	va_end(ap);
}

const char *ebpf_last_error(void)
{
	return g.err;
}

static int libbpf_log(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	static char line[65536]; /* a verifier log comes as one message */
	int n;

	if (level == LIBBPF_DEBUG)
		return 0;
	if (getenv("IMMUNE_BPF_LOG")) { /* the whole verifier log, for developers */
		va_list cp;
		va_copy(cp, ap);
		vfprintf(stderr, fmt, cp);
		va_end(cp);
	}
	n = vsnprintf(line, sizeof(line), fmt, ap);
	if (n <= 0)
		return 0;
	if ((size_t)n >= sizeof(line))
		n = sizeof(line) - 1;
	const char *src = line;
	if ((size_t)n >= sizeof(g.log)) {
		/* keep the newest part: the verifier's verdict is at the end */
		src += n - (sizeof(g.log) - 1);
		n = sizeof(g.log) - 1;
		g.log_len = 0;
	} else if (g.log_len + n >= sizeof(g.log)) {
		size_t keep = sizeof(g.log) - 1 - n;
		memmove(g.log, g.log + g.log_len - keep, keep);
		g.log_len = keep;
	}
	memcpy(g.log + g.log_len, src, n);
	g.log_len += n;
	g.log[g.log_len] = 0;
	return 0;
}

/*
 * The verifier's verdict: the lines just before "processed N insns" of the
 * last program log, and the name of the program libbpf says failed.
 */
static void log_tail(char *out, size_t n, int lines)
{
	const char *end = g.log + g.log_len, *stop = NULL, *p;
	const char *prog = NULL;

	for (p = g.log; (p = strstr(p, "\nprocessed ")); p++)
		stop = p;
	for (p = g.log; (p = strstr(p, "prog '")); p++)
		prog = p;
	if (!stop)
		stop = end;
	p = stop;
	for (int seen = 0; p > g.log && seen < lines;) {
		p--;
		if (*p == '\n')
			seen++;
	}
	size_t k = 0;
	if (prog) {
		const char *q = strchr(prog + 6, '\'');
		if (q)
			k = snprintf(out, n, "%.*s: ", (int)(q - prog + 1), prog);
	}
	for (; p < stop && k + 4 < n; p++) {
		if (*p == '\n') {
			if (k && p + 1 < stop) {
				memcpy(out + k, " | ", 3);
				k += 3;
			}
		} else {
			out[k++] = *p;
		}
	}
	out[k < n ? k : n - 1] = 0;
}

void ebpf_set_options(const struct ebpf_options *opts)
{
	g.opt = *opts;
	g.opt_set = true;
}

int ebpf_init(void)
{
	struct rlimit rl = { RLIM_INFINITY, RLIM_INFINITY };
	char why[512];

	if (!g.opt_set)
		memset(&g.opt, 0, sizeof(g.opt));
	libbpf_set_print(libbpf_log);
	if (geteuid() != 0 && !sysfs_have_bpf_caps()) {
		set_err("not root: immuned needs CAP_BPF and CAP_PERFMON (run it as root)");
		return -EPERM;
	}
	if (access("/sys/kernel/btf/vmlinux", R_OK) != 0) {
		set_err("no kernel BTF at /sys/kernel/btf/vmlinux: a kernel built with CONFIG_DEBUG_INFO_BTF=y is needed");
		return -ENOENT;
	}
	if (sysfs_ensure_tracefs(why, sizeof(why)) != 0) {
		set_err("%s", why);
		return -ENOENT;
	}
	/* kernels before 5.11 charge BPF memory to RLIMIT_MEMLOCK */
	setrlimit(RLIMIT_MEMLOCK, &rl);
	return 0;
}

static bool want(int kind)
{
	bool any = false;
	for (int i = 0; i < EBPF_EVENT_TYPES; i++)
		any |= g.opt.want[i];
	return !any || g.opt.want[kind];
}

/* tracefs at its own mount point, or under debugfs on older systems */
static bool tracepoint_exists(const char *name)
{
	char p[256];
	snprintf(p, sizeof(p), "/sys/kernel/tracing/events/syscalls/%s", name);
	if (access(p, F_OK) == 0)
		return true;
	snprintf(p, sizeof(p), "/sys/kernel/debug/tracing/events/syscalls/%s", name);
	return access(p, F_OK) == 0;
}

int ebpf_load_programs(void)
{
	struct sensor_bpf *s;
	int err;

	const char *pin = g.opt.pin_dir ? g.opt.pin_dir : "/sys/fs/bpf/immune";
	char why[512];
	if (sysfs_ensure_bpffs(pin, why, sizeof(why)) != 0) {
		set_err("%s", why);
		return -ENOENT;
	}
	verdict_self_unpin_stale(pin, stderr);
	LIBBPF_OPTS(bpf_object_open_opts, oo, .pin_root_path = pin);
	s = sensor_bpf__open_opts(&oo);
	if (!s) {
		err = -errno;
		set_err("cannot open the BPF object: %s", strerror(-err));
		return err;
	}
	g.skel = s;

	switch (g.opt.buffer) {
	case EBPF_BUFFER_RING:
		g.ring = true;
		break;
	case EBPF_BUFFER_PERF:
		g.ring = false;
		break;
	default:
		g.ring = libbpf_probe_bpf_map_type(BPF_MAP_TYPE_RINGBUF, NULL) == 1;
		if (!g.ring)
			fprintf(stderr, "immuned: this kernel has no BPF ring buffer; using the perf buffer\n");
	}
	s->rodata->self_tgid = g.opt.self_pid ? g.opt.self_pid : (uint32_t)getpid();
	uint64_t ticks;
	long hz = sysconf(_SC_CLK_TCK);
	if (hz > 0 && proc_start_ticks("/proc", s->rodata->self_tgid, hz, &ticks) == 0) {
		s->rodata->self_start_ticks = ticks;
		s->rodata->self_ns_per_tick = 1000000000ull / (uint64_t)hz;
	}
	s->rodata->use_ringbuf = g.ring;
	s->rodata->enforce_fallback = g.opt.enforce_fallback;
	s->rodata->quiet_max_jiffies = 2 * verdict_quiet_kernel_hz();
	if (g.opt.enforce_fallback && !s->rodata->quiet_max_jiffies)
		fprintf(stderr, "immuned: the kernel's HZ is unknown (no /boot/config-RELEASE or /proc/config.gz): "
				"every open looks up verdict_file\n");
	s->rodata->wakeup_bytes = g.opt.wakeup_bytes ? g.opt.wakeup_bytes : DEFAULT_WAKEUP;
	/* the ring holds at most wakeup_bytes + CPUs * this before a check wakes the reader */
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	uint64_t check = s->rodata->wakeup_bytes / (ncpu > 0 ? ncpu : 1);
	s->rodata->wakeup_check_bytes = check < 16384 ? 16384 : check;
	if (g.ring) {
		unsigned kb = g.opt.ring_kb ? g.opt.ring_kb : DEFAULT_RING_KB;
		bpf_map__set_max_entries(s->maps.events, kb * 1024u);
	} else {
		/* The same programs must load where the ring buffer map type does not
		 * exist: a one-slot array stands in, its uses are dead code. */
		bpf_map__set_type(s->maps.events, BPF_MAP_TYPE_ARRAY);
		bpf_map__set_key_size(s->maps.events, 4);
		bpf_map__set_value_size(s->maps.events, 4);
		bpf_map__set_max_entries(s->maps.events, 1);
	}
	g.open_regs = !g.opt.open_args_at_enter && ebpf_kernel_reads_regs_at_exit();
	s->rodata->open_args_from_regs = g.open_regs;
	s->rodata->open_filter = g.opt.open_filter;
	if (g.open_regs) {
		bpf_program__set_autoload(s->progs.sys_enter_openat, false);
		bpf_program__set_autoload(s->progs.sys_enter_open, false);
		bpf_program__set_autoload(s->progs.sys_enter_creat, false);
		bpf_program__set_autoload(s->progs.sys_enter_openat2, false);
	}
	if (!want(EBPF_EVENT_EXEC)) {
		bpf_program__set_autoload(s->progs.sys_enter_execve, false);
		bpf_program__set_autoload(s->progs.sys_enter_execveat, false);
		bpf_program__set_autoload(s->progs.sys_exit_execve, false);
		bpf_program__set_autoload(s->progs.sys_exit_execveat, false);
	}
	if (!want(EBPF_EVENT_OPEN)) {
		bpf_program__set_autoload(s->progs.sys_enter_openat, false);
		bpf_program__set_autoload(s->progs.sys_enter_open, false);
		bpf_program__set_autoload(s->progs.sys_enter_creat, false);
		bpf_program__set_autoload(s->progs.sys_enter_openat2, false);
		bpf_program__set_autoload(s->progs.sys_exit_openat, false);
		bpf_program__set_autoload(s->progs.sys_exit_open, false);
		bpf_program__set_autoload(s->progs.sys_exit_creat, false);
		bpf_program__set_autoload(s->progs.sys_exit_openat2, false);
	}
	if (!want(EBPF_EVENT_CONNECT)) {
		bpf_program__set_autoload(s->progs.sys_enter_connect, false);
		bpf_program__set_autoload(s->progs.sys_exit_connect, false);
	}
	/* open/creat exist only on some architectures */
	if (!tracepoint_exists("sys_enter_open")) {
		bpf_program__set_autoload(s->progs.sys_enter_open, false);
		bpf_program__set_autoload(s->progs.sys_exit_open, false);
	}
	if (!tracepoint_exists("sys_enter_creat")) {
		bpf_program__set_autoload(s->progs.sys_enter_creat, false);
		bpf_program__set_autoload(s->progs.sys_exit_creat, false);
	}
	if (!tracepoint_exists("sys_enter_openat2")) {
		bpf_program__set_autoload(s->progs.sys_enter_openat2, false);
		bpf_program__set_autoload(s->progs.sys_exit_openat2, false);
	}

	g.log_len = 0;
	err = sensor_bpf__load(s);
	if (err) {
		char tail[900];
		log_tail(tail, sizeof(tail), 3);
		set_err("the kernel refused the BPF programs (%s): %s", strerror(-err),
			tail[0] ? tail : "no verifier output");
		return err;
	}
	g.loaded = true;
	return 0;
}

static int dispatch(const void *data, size_t size)
{
	const struct imm_hdr *h = data;

	if (size < sizeof(*h) || h->kind >= IMM_K_MAX || h->size > size) {
		g.bad_records++;
		return 0;
	}
	g.received[h->kind]++;
	int r = g.cb((ebpf_event_type_t)h->kind, data, h->size, g.cb_ctx);
	if (r < 0)
		g.cb_err = r;
	return r < 0 ? r : 0;
}

static int ring_sample(void *ctx, void *data, size_t size)
{
	(void)ctx;
	return dispatch(data, size);
}

static enum bpf_perf_event_ret perf_event(void *ctx, int cpu, struct perf_event_header *ev)
{
	(void)ctx;
	(void)cpu;
	if (ev->type == PERF_RECORD_SAMPLE) {
		struct { struct perf_event_header h; uint32_t size; char data[]; } *s = (void *)ev;
		/* perf puts the record 4 bytes off an 8-byte boundary: copy it where
		 * its u64 fields are aligned (the ring buffer path needs no copy) */
		static _Alignas(8) unsigned char aligned[32768];
		size_t n = s->size < sizeof(aligned) ? s->size : sizeof(aligned);
		memcpy(aligned, s->data, n);
		if (dispatch(aligned, n) < 0)
			return LIBBPF_PERF_EVENT_ERROR;
	} else if (ev->type == PERF_RECORD_LOST) {
		struct { struct perf_event_header h; uint64_t id; uint64_t lost; } *l = (void *)ev;
		g.perf_lost += l->lost;
	}
	return LIBBPF_PERF_EVENT_CONT;
}

static int open_buffer(void)
{
	if (g.ring) {
		g.rb = ring_buffer__new(bpf_map__fd(g.skel->maps.events), ring_sample, NULL, NULL);
		if (!g.rb) {
			int err = -errno;
			set_err("cannot open the ring buffer: %s", strerror(-err));
			return err;
		}
		return 0;
	}
	struct perf_event_attr attr = {
		.type = PERF_TYPE_SOFTWARE,
		.config = PERF_COUNT_SW_BPF_OUTPUT,
		.sample_type = PERF_SAMPLE_RAW,
		.sample_period = 1,
		/* batch wakeups, as the ring buffer path does */
		.watermark = 1,
		.wakeup_watermark = g.opt.wakeup_bytes ? g.opt.wakeup_bytes : DEFAULT_WAKEUP / 4,
	};
	unsigned pages = g.opt.perf_pages ? g.opt.perf_pages : DEFAULT_PERF_PAGES;
	if (attr.wakeup_watermark >= pages * 4096u / 2)
		attr.wakeup_watermark = pages * 4096u / 4;
	g.pb = perf_buffer__new_raw(bpf_map__fd(g.skel->maps.perf_events), pages, &attr, perf_event,
				    NULL, NULL);
	if (!g.pb) {
		int err = -errno;
		set_err("cannot open the perf buffer: %s", strerror(-err));
		return err;
	}
	return 0;
}

/*
 * In fallback mode the sensor's own programs kill denied execs and opens, so
 * their links are pinned (under <pin-dir>/sensor) as the enforcement links
 * are: they go on enforcing while no daemon runs, and the next daemon's
 * sensor replaces them once it is attached. Their records meanwhile fill a
 * ring buffer nobody reads, counted as drops in a stats map nobody reports.
 * In any other mode no earlier run's sensor may go on killing.
 */
static void pin_sensor_links(void)
{
	const char *pin = g.opt.pin_dir ? g.opt.pin_dir : "/sys/fs/bpf/immune";
	struct bpf_link *links[64];
	const char *names[64];
	char dir[300];
	int n = 0;

	snprintf(dir, sizeof(dir), "%s/sensor", pin);
	if (!g.opt.enforce_fallback) {
		pinned_links_remove(dir);
		return;
	}
	for (int i = 0; i < g.skel->skeleton->prog_cnt && n < 64; i++) {
		struct bpf_link *l = *g.skel->skeleton->progs[i].link;
		if (l) {
			links[n] = l;
			names[n++] = g.skel->skeleton->progs[i].name;
		}
	}
	pinned_links_replace(dir, links, names, n, "sensor");
}

int ebpf_attach(void)
{
	struct bpf_program *p;
	int err;

	if (!g.loaded) {
		set_err("ebpf_attach called before ebpf_load_programs");
		return -EINVAL;
	}
	g.nattached = 0;
	bpf_object__for_each_program(p, g.skel->obj)
	{
		if (!bpf_program__autoload(p))
			continue;
		struct bpf_link *l = bpf_program__attach(p);
		if (!l) {
			err = -errno;
			set_err("cannot attach %s (%s): %s", bpf_program__name(p), bpf_program__section_name(p),
				strerror(-err));
			ebpf_detach();
			return err;
		}
		/* the skeleton destroys links it knows of: hand it this one */
		for (int i = 0; i < g.skel->skeleton->prog_cnt; i++)
			if (*g.skel->skeleton->progs[i].prog == p)
				*g.skel->skeleton->progs[i].link = l;
		g.nattached++;
	}
	g.attached = true;
	pin_sensor_links();
	return open_buffer();
}

void ebpf_detach(void)
{
	ring_buffer__free(g.rb);
	g.rb = NULL;
	perf_buffer__free(g.pb);
	g.pb = NULL;
	if (g.skel)
		sensor_bpf__destroy(g.skel);
	g.skel = NULL;
	g.loaded = g.attached = false;
	g.nattached = 0;
}

int ebpf_poll_events(ebpf_callback_t cb, int timeout_ms)
{
	int n;

	if (!g.attached) {
		set_err("ebpf_poll_events called before ebpf_attach");
		return -EINVAL;
	}
	g.cb = cb;
	g.cb_ctx = g.opt.cb_ctx;
	g.cb_err = 0;
	n = g.ring ? ring_buffer__poll(g.rb, timeout_ms) : perf_buffer__poll(g.pb, timeout_ms);
	if (n == -EINTR)
		n = 0;
	/* The kernel wakes us only past wakeup_bytes: whatever is queued below
	 * that is taken here, when the poll timed out. */
	if (n >= 0 && !g.cb_err) {
		int m = g.ring ? ring_buffer__consume(g.rb) : perf_buffer__consume(g.pb);
		n = m < 0 ? m : n + m;
	}
	if (g.cb_err)
		return g.cb_err;
	return n;
}

/* Counters kept in a per-CPU map's only value (vsz bytes): n u64s from byte
 * off, step bytes apart, each added to row row0 + i * row_step of vals
 * (ncpu values a row). */
static int add_percpu_counts(struct bpf_map *m, size_t vsz, size_t off, size_t step, size_t n, uint64_t *vals,
			     uint32_t row0, uint32_t row_step, int ncpu)
{
	unsigned char *buf = calloc((size_t)ncpu, vsz);
	uint32_t zero = 0;
	if (!buf)
		return -ENOMEM;
	if (bpf_map_lookup_elem(bpf_map__fd(m), &zero, buf)) {
		int e = errno;
		free(buf);
		return -e;
	}
	for (int c = 0; c < ncpu; c++)
		for (size_t i = 0; i < n; i++) {
			uint64_t v;
			memcpy(&v, buf + (size_t)c * vsz + off + i * step, sizeof(v));
			vals[(row0 + i * row_step) * (size_t)ncpu + c] += v;
		}
	free(buf);
	return 0;
}

int ebpf_stat_slots(uint64_t *vals, int ncpu)
{
	if (!g.skel || ncpu != libbpf_num_possible_cpus())
		return -EINVAL;
	int fd = bpf_map__fd(g.skel->maps.stats);
	for (uint32_t k = 0; k < IMM_ST_MAX; k++)
		if (bpf_map_lookup_elem(fd, &k, vals + (size_t)k * ncpu))
			return -errno;
	/* records emitted, kept in the record scratch's head */
	int r = add_percpu_counts(g.skel->maps.ev_scratch, sizeof(struct ev_buf), offsetof(struct ev_buf, emitted),
				  sizeof(uint64_t), IMM_K_MAX, vals, IMM_ST_EVENTS, 1, ncpu);
	/* opens filtered after their seen_fast slot was looked at, counted there */
	return r ? r :
		   add_percpu_counts(g.skel->maps.seen_fast, sizeof(struct imm_seen_fast),
				     offsetof(struct imm_seen_fast, slot) + offsetof(struct imm_seen_slot, filtered),
				     sizeof(struct imm_seen_slot), IMM_SEEN_FAST, vals, IMM_ST_FILTERED + IMM_K_OPEN, 0, ncpu);
}

int ebpf_get_stats(struct ebpf_stats *st)
{
	int ncpu = libbpf_num_possible_cpus();
	memset(st, 0, sizeof(*st));
	if (!g.skel || ncpu <= 0)
		return -EINVAL;
	uint64_t *vals = calloc((size_t)ncpu * IMM_ST_MAX, sizeof(uint64_t));
	if (!vals)
		return -ENOMEM;
	int r = ebpf_stat_slots(vals, ncpu);
	for (uint32_t k = 0; k < IMM_ST_MAX && !r; k++) {
		uint64_t sum = 0;
		for (int c = 0; c < ncpu; c++)
			sum += vals[(size_t)k * ncpu + c];
		if (k < IMM_ST_DROPS)
			st->events[k] = sum;
		else if (k < IMM_ST_ENTER_MISS)
			st->drops[k - IMM_ST_DROPS] = sum;
		else if (k < IMM_ST_SCRATCH_MISS)
			st->enter_miss[k - IMM_ST_ENTER_MISS] = sum;
		else if (k == IMM_ST_SCRATCH_MISS)
			st->scratch_miss = sum;
		else
			st->filtered[k - IMM_ST_FILTERED] = sum;
	}
	free(vals);
	if (r)
		return r;
	st->perf_lost = g.perf_lost;
	st->malformed = g.bad_records;
	memcpy(st->received, g.received, sizeof(st->received));
	return 0;
}

const char *ebpf_buffer_name(void)
{
	return g.ring ? "ring" : "perf";
}

bool ebpf_kernel_reads_regs_at_exit(void)
{
	return libbpf_probe_bpf_helper(BPF_PROG_TYPE_TRACEPOINT, BPF_FUNC_task_pt_regs, NULL) == 1;
}

bool ebpf_plain_loads(void)
{
	return g.skel && g.skel->bss && g.skel->bss->regs_from_stack;
}

bool ebpf_kernel_has_rdonly_cast(void)
{
	static int has = -1;
	if (has < 0) {
		struct btf *vmlinux = btf__load_vmlinux_btf();
		has = vmlinux && btf__find_by_name_kind(vmlinux, "bpf_rdonly_cast", BTF_KIND_FUNC) >= 0;
		btf__free(vmlinux);
	}
	return has;
}

bool ebpf_open_args_from_regs(void)
{
	return g.open_regs;
}

int ebpf_epoll_fd(void)
{
	if (g.rb)
		return ring_buffer__epoll_fd(g.rb);
	if (g.pb)
		return perf_buffer__epoll_fd(g.pb);
	return -1;
}

int ebpf_programs_attached(void)
{
	return g.nattached;
}

struct bpf_object *ebpf_object(void)
{
	return g.skel ? g.skel->obj : NULL;
}
