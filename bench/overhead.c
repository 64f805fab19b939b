/*
 * bench/overhead: what tracing costs the traced syscall, side by side in one
 * run. For openat, execve and connect it measures ns per call with no
 * tracing, with trivial BPF programs on the same tracepoints (the floor),
 * with immuned, and with libbpf-tools' opensnoop/execsnoop and a bpftrace
 * one-liner when installed; then prints each one's added cost divided by the
 * floor's. Usage: bench/overhead BUILD_DIR [--quick] [--open]
 * (--open: openat only, and only the configurations its two targets compare)
 */
#include "floor.skel.h"
#include "immune.h"
#include "sysfs.h"
#include "ebpf.h"

#include <bpf/bpf.h>

#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum op { OP_OPEN, OP_EXEC, OP_CONNECT, OP_N };
static const char *op_name[] = { "openat", "execve", "connect" };
static long iters[OP_N] = { 100000, 300, 100000 };
static int reps = 9;
static bool open_only;

static double now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static int udp_fd = -1;
static struct sockaddr_in udp_dst;

static double run_once(enum op op)
{
	long n = iters[op];
	double t0 = now_ns();
	switch (op) {
	case OP_OPEN:
		for (long i = 0; i < n; i++) {
			long fd = syscall(SYS_openat, AT_FDCWD, "/dev/null", O_RDONLY, 0);
			if (fd >= 0)
				close(fd);
		}
		break;
	case OP_EXEC:
		for (long i = 0; i < n; i++) {
			pid_t p = fork();
			if (p == 0) {
				char *argv[] = { "true", NULL }, *envp[] = { NULL };
				execve("/bin/true", argv, envp);
				_exit(127);
			}
			int st;
			waitpid(p, &st, 0);
		}
		break;
	case OP_CONNECT:
		/* UDP connect: a real connect(2) without a handshake's noise */
		for (long i = 0; i < n; i++)
			connect(udp_fd, (struct sockaddr *)&udp_dst, sizeof(udp_dst));
		break;
	default:
		break;
	}
	return (now_ns() - t0) / n;
}

struct tracer {
	pid_t pid;
	int out_fd; /* drained by a child so the pipe never fills */
};

/* Start cmd, wait until a line containing ready appears on stream (1 stdout, 2 stderr). */
static int start_tracer(char *const argv[], const char *ready, int stream, struct tracer *t, char *err_line,
			size_t errn)
{
	int p[2];
	if (pipe(p))
		return -1;
	pid_t pid = fork();
	if (pid == 0) {
		int devnull = open("/dev/null", O_WRONLY);
		dup2(p[1], stream);
		dup2(devnull, stream == 1 ? 2 : 1);
		close(p[0]);
		execvp(argv[0], argv);
		_exit(127);
	}
	close(p[1]);
	FILE *f = fdopen(p[0], "r");
	/* unbuffered: a ready line read ahead into stdio's buffer would leave poll waiting on an empty pipe */
	setvbuf(f, NULL, _IONBF, 0);
	char line[4096];
	bool ok = false;
	double deadline = now_ns() + 30e9;
	/* wait for the ready line, 30 s at most: a tracer that never says it is ready is skipped */
	while (now_ns() < deadline) {
		struct pollfd pf = { .fd = p[0], .events = POLLIN };
		if (poll(&pf, 1, 500) <= 0)
			continue;
		if (!fgets(line, sizeof(line), f))
			break;
		if (strstr(line, ready)) {
			ok = true;
			break;
		}
		snprintf(err_line, errn, "%s", line);
	}
	if (!ok) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		fclose(f);
		return -1;
	}
	/* drain the rest in a child of ours: the tracer must never block on output */
	pid_t drain = fork();
	if (drain == 0) {
		char buf[65536];
		FILE *keep = fopen("/tmp/immune-bench-tracer.log", "w");
		ssize_t r;
		while ((r = read(fileno(f), buf, sizeof(buf))) > 0)
			if (keep)
				fwrite(buf, 1, r, keep);
		if (keep)
			fclose(keep);
		_exit(0);
	}
	fclose(f);
	t->pid = pid;
	t->out_fd = drain;
	return 0;
}

static void stop_tracer(struct tracer *t)
{
	kill(t->pid, SIGINT);
	waitpid(t->pid, NULL, 0);
	waitpid(t->out_fd, NULL, 0);
}

/* immuned's final stats record: what it lost while measured. */
static void report_losses(void)
{
	FILE *f = fopen("/tmp/immune-bench-tracer.log", "r");
	char line[8192];
	while (f && fgets(line, sizeof(line), f)) {
		char *p = strstr(line, "\"lost_total\":"), *q = strstr(line, "\"received\":{");
		if (p && q) {
			long lost = strtol(p + 13, NULL, 10);
			char *o = strstr(q, "\"open\":");
			printf("immuned during the run: %ld open events received, %ld lost (all kinds)\n",
			       o ? strtol(o + 7, NULL, 10) : -1L, lost);
		}
	}
	if (f)
		fclose(f);
}

static void clear_pins(const char *pin)
{
	char cmd[512];
	snprintf(cmd, sizeof(cmd), "rm -rf %s /tmp/immune-bench.db*", pin);
	if (system(cmd) != 0)
		fprintf(stderr, "bench: could not clear %s\n", pin);
}

/* n verdicts that match nothing the benchmark does, in every verdict map */
static int fill_verdicts(const char *pin, int n)
{
	const char *names[] = { "verdict_exec", "verdict_file", "verdict_net", "verdict_cidr" };
	struct imm_verdict v = { .action = IMM_ACT_DENY };
	snprintf(v.source, sizeof(v.source), "bench");
	for (int m = 0; m < 4; m++) {
		char p[256];
		snprintf(p, sizeof(p), "%s/%s", pin, names[m]);
		int fd = bpf_obj_get(p);
		if (fd < 0) {
			fprintf(stderr, "bench: %s: %s\n", p, strerror(errno));
			return -1;
		}
		for (int i = 0; i < n; i++) {
			int rc;
			if (m < 2) {
				struct imm_inode_key k = { .dev = 0xfff00000u + (i % 7), .ino = 1000000000ull + i };
				rc = bpf_map_update_elem(fd, &k, &v, BPF_ANY);
			} else if (m == 2) {
				struct imm_net_key k = { .port = 1 + i % 60000 };
				k.addr[0] = 0x20; k.addr[1] = 0x01; k.addr[2] = 0x0d; k.addr[3] = 0xb8; /* 2001:db8::/32 */
				memcpy(&k.addr[12], &i, 4);
				rc = bpf_map_update_elem(fd, &k, &v, BPF_ANY);
			} else {
				struct imm_cidr_key k = { .prefixlen = 120 };
				k.addr[0] = 0x20; k.addr[1] = 0x01; k.addr[2] = 0x0d; k.addr[3] = 0xb9;
				memcpy(&k.addr[11], &i, 4);
				rc = bpf_map_update_elem(fd, &k, &v, BPF_ANY);
			}
			if (rc) {
				fprintf(stderr, "bench: filling %s: %s\n", names[m], strerror(errno));
				close(fd);
				return -1;
			}
		}
		close(fd);
	}
	return 0;
}

enum cfg { C_NONE, C_FLOOR, C_RING, C_IMMUNED, C_SNOOP, C_BPFTRACE, C_IM_OFF, C_IM_FILLED, C_IM_ALL,
	   C_IM_ALL_OFF, C_STEP_ARGS, C_STEP_FILE, C_STEP_LOOKUP, C_IM_NOGATE, C_N };
static const char *cfg_name[C_N] = { "no tracing", "floor (empty BPF programs)",
				     "minimal open event (time, pid, path)", "immuned",
				     "libbpf-tools opensnoop/execsnoop", "bpftrace one-liner",
				     "immuned --enforce off", "immuned, 100,000 verdicts per map",
				     "immuned --events open", "immuned --events open --enforce off",
				     "step: open's arguments", "step: + fd table, file's key",
				     "step: + its slot compared, counted", "immuned --gate off" };
#define MAX_REPS 16
/* ns[cfg][op][round]; 0 where the config does not cover the op or did not start */
static double ns[C_N][OP_N][MAX_REPS];

static double median(double *v, int n)
{
	for (int i = 0; i < n; i++)
		for (int j = i + 1; j < n; j++)
			if (v[j] < v[i]) {
				double t = v[i];
				v[i] = v[j];
				v[j] = t;
			}
	return n ? (n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2) : 0;
}

/* Median over rounds of what cfg added to the untraced call in the same round:
 * this host's speed drifts by more than the costs measured, so each config is
 * compared only with its own round's baseline. */
static double added(enum cfg c, enum op op)
{
	double d[MAX_REPS];
	int n = 0;
	for (int r = 0; r < reps; r++)
		if (ns[c][op][r] > 0 && ns[C_NONE][op][r] > 0)
			d[n++] = ns[c][op][r] - ns[C_NONE][op][r];
	return n ? median(d, n) : NAN;
}

static double plain(enum cfg c, enum op op)
{
	double d[MAX_REPS];
	int n = 0;
	for (int r = 0; r < reps; r++)
		if (ns[c][op][r] > 0)
			d[n++] = ns[c][op][r];
	return n ? median(d, n) : 0;
}

static double plain_or_nan(enum cfg c, enum op op)
{
	return plain(c, op) ? plain(c, op) : NAN;
}

static double floor_ratio(enum cfg c, enum op op)
{
	double f = added(C_FLOOR, op);
	return f > 0 ? added(c, op) / f : NAN; /* NaN propagates a missing figure */
}

/* One row per configuration measured, from the order's entry `from` on; a
 * figure val gives as NaN prints as "-". */
static void print_table(unsigned from, double (*val)(enum cfg, enum op), const char *fmt)
{
	static const enum cfg order[] = { C_NONE,      C_FLOOR,     C_STEP_ARGS, C_STEP_FILE,  C_STEP_LOOKUP,
					  C_RING,      C_IMMUNED,   C_IM_NOGATE, C_IM_ALL,     C_IM_ALL_OFF, C_SNOOP,
					  C_BPFTRACE,  C_IM_OFF,    C_IM_FILLED };
	_Static_assert(sizeof(order) / sizeof(order[0]) == C_N, "every configuration in the order");
	for (unsigned i = from; i < C_N; i++) {
		enum cfg c = order[i];
		if (!plain(c, OP_OPEN) && !plain(c, OP_EXEC))
			continue;
		printf("%-36s", cfg_name[c]);
		for (int op = 0; op < OP_N; op++) {
			double v = val(c, op);
			if (isnan(v))
				printf(" %12s", "-");
			else
				printf(fmt, v);
		}
		printf("\n");
	}
}

static void measure_all(enum cfg c, int round, bool open, bool exec, bool conn)
{
	bool want[OP_N] = { open, exec, conn };
	/* the better of two back-to-back runs: this host's hiccups only ever add */
	for (int op = 0; op < OP_N; op++)
		if (want[op]) {
			double a = run_once(op), b = run_once(op);
			ns[c][op][round] = a < b ? a : b;
		}
}

static const char *pin = "/sys/fs/bpf/immune-bench";

static volatile bool ring_stop;
static int ring_count(void *ctx, void *data, size_t size)
{
	(void)data;
	(void)size;
	++*(long *)ctx;
	return 0;
}

/* drains the minimal events as immuned's reader would: in batches */
static void *ring_reader(void *arg)
{
	while (!ring_stop) {
		ring_buffer__consume(arg);
		usleep(5000);
	}
	ring_buffer__consume(arg);
	return NULL;
}

/* immuned with its own pin dir, socket and db, so that a running agent is not disturbed */
/* BPF run time per openat, all programs together, by kernel.bpf_stats_enabled:
 * unlike the whole syscall's time it does not drift with the host. */
static double bpf_ns[C_N][MAX_REPS];
/* what bpf_stats itself adds to each program run (its clock reads), from the
 * floor's empty program: subtracted per run, or small programs look big */
static double stats_ns_per_run[MAX_REPS];

/* on: enable and remember what was set; off: put that back */
static int bpf_stats(bool on)
{
	static char was = '0';
	int fd = open("/proc/sys/kernel/bpf_stats_enabled", O_RDWR);
	if (fd < 0)
		return -1;
	if (on && read(fd, &was, 1) != 1)
		was = '0';
	char v = on ? '1' : was;
	int rc = pwrite(fd, &v, 1, 0) == 1 ? 0 : -1;
	close(fd);
	return rc;
}

static double bpf_run_ns_total(double *runs)
{
	double total = 0;
	*runs = 0;
	for (__u32 id = 0; bpf_prog_get_next_id(id, &id) == 0;) {
		int fd = bpf_prog_get_fd_by_id(id);
		if (fd < 0)
			continue;
		struct bpf_prog_info info = {};
		__u32 len = sizeof(info);
		if (bpf_obj_get_info_by_fd(fd, &info, &len) == 0) {
			total += info.run_time_ns;
			*runs += info.run_cnt;
		}
		close(fd);
	}
	return total;
}

static void measure_bpf_time(enum cfg c, int round)
{
	if (bpf_stats(true))
		return;
	double runs0, runs1;
	double before = bpf_run_ns_total(&runs0);
	run_once(OP_OPEN);
	double ns_total = bpf_run_ns_total(&runs1) - before, runs = runs1 - runs0;
	bpf_stats(false);
	if (c == C_FLOOR) {
		stats_ns_per_run[round] = runs > 0 ? ns_total / runs : 0;
		return;
	}
	bpf_ns[c][round] = (ns_total - runs * stats_ns_per_run[round]) / iters[OP_OPEN];
}

static double bpf_median(enum cfg c)
{
	double d[MAX_REPS];
	int n = 0;
	for (int r = 0; r < reps; r++)
		if (bpf_ns[c][r] > 0)
			d[n++] = bpf_ns[c][r];
	return median(d, n);
}

/* opens the default mode's interest filter kept in the kernel, and those it sent, over all rounds */
static double open_filtered, open_sent;

/* the daemon's own count, from its status: the whole host's opens while measured */
static void count_filtered(const char *immuned)
{
	char cmd[1024], line[65536];
	/* immunectl sits beside immuned */
	int dir = (int)(strrchr(immuned, '/') ? strrchr(immuned, '/') - immuned + 1 : 0);
	snprintf(cmd, sizeof(cmd), "%.*simmunectl --socket /tmp/immune-bench.sock --json status 2>/dev/null", dir,
		 immuned);
	FILE *p = popen(cmd, "r");
	size_t n = p ? fread(line, 1, sizeof(line) - 1, p) : 0;
	if (p)
		pclose(p);
	line[n] = 0;
	char *f = strstr(line, "\"open_filtered\":"), *o = strstr(line, "\"open\":"), *e = o ? strstr(o, "\"emitted\":") : NULL;
	if (f && e) {
		open_filtered += strtod(f + 16, NULL);
		open_sent += strtod(e + 10, NULL);
	}
}

static void round_immuned(enum cfg c, int round, const char *immuned, bool report)
{
	const char *enforce = c == C_IM_OFF || c == C_IM_ALL_OFF ? "off" : "auto";
	bool all = c == C_IM_ALL || c == C_IM_ALL_OFF;
	char *argv[] = { (char *)immuned, "--stats-interval", "0", "--pin-dir", (char *)pin, "--socket",
			 "/tmp/immune-bench.sock", "--db", "/tmp/immune-bench.db", "--enforce", (char *)enforce,
			 "--output", "/dev/null", "--gate", c == C_IM_NOGATE ? "off" : "on",
			 /* every open sent and decoded, none printed */
			 all ? "--events" : NULL, "open", NULL };
	struct tracer t;
	char err[4096] = "";
	clear_pins(pin);
	if (start_tracer(argv, "programs attached", 2, &t, err, sizeof(err)) != 0) {
		fprintf(stderr, "bench: immuned did not start: %s", err);
		return;
	}
	if (c == C_IM_FILLED && fill_verdicts(pin, 100000)) {
		stop_tracer(&t);
		return;
	}
	measure_all(c, round, true, !all && !open_only, !all && !open_only);
	measure_bpf_time(c, round);
	if (c == C_IMMUNED)
		count_filtered(immuned);
	stop_tracer(&t);
	if (report)
		report_losses();
	clear_pins(pin);
}

/* Tracing links already on the host (another agent, or pins a killed
 * immuned left in fallback mode): with one on any syscall tracepoint the
 * "no tracing" baseline already pays the tracing path and every figure
 * over it shrinks. Counted so that the output says so. */
static int foreign_tracing_links(void)
{
	int n = 0;
	for (__u32 id = 0; bpf_link_get_next_id(id, &id) == 0;) {
		int fd = bpf_link_get_fd_by_id(id);
		if (fd < 0)
			continue;
		struct bpf_link_info info = {};
		__u32 len = sizeof(info);
		if (bpf_obj_get_info_by_fd(fd, &info, &len) == 0 &&
		    (info.type == BPF_LINK_TYPE_PERF_EVENT || info.type == BPF_LINK_TYPE_RAW_TRACEPOINT ||
		     info.type == BPF_LINK_TYPE_TRACING))
			n++;
		close(fd);
	}
	return n;
}

int main(int argc, char **argv)
{
	const char *build = argc > 1 ? argv[1] : "build";
	bool quick = false;
	for (int i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--quick") == 0) {
			quick = true;
		} else if (strcmp(argv[i], "--open") == 0) {
			open_only = true;
		} else {
			fprintf(stderr, "usage: bench/overhead BUILD_DIR [--quick] [--open]\n");
			return 2;
		}
	}
	char immuned[512];

	if (geteuid() != 0) {
		printf("SKIPPED: bench/overhead needs root to load BPF programs\n");
		return 0;
	}
	if (quick) {
		for (int i = 0; i < OP_N; i++)
			iters[i] /= 5;
		reps = 5;
	} else if (open_only) {
		/* the open targets' figures are tens of ns on a floor this host moves by as much: more rounds */
		reps = 15;
	}
	/* A typical process's fd table: an fd inherited from the caller (a
	 * shell's 255) grows the table past the 64 entries the sensor reads
	 * directly, for good. A child made after closing it gets a small one. */
	closefrom(3);
	pid_t measured = fork();
	if (measured > 0) {
		int st;
		waitpid(measured, &st, 0);
		return WIFEXITED(st) ? WEXITSTATUS(st) : 1;
	}
	int foreign = foreign_tracing_links();
	if (foreign)
		fprintf(stderr, "bench: WARNING: %d tracing links are already attached on this host: "
				"'no tracing' is not untraced and every added cost reads low (bpftool link show)\n",
			foreign);
	char why[512];
	if (sysfs_ensure_tracefs(why, sizeof(why))) {
		fprintf(stderr, "bench: %s\n", why);
		return 1;
	}
	udp_fd = socket(AF_INET, SOCK_DGRAM, 0);
	udp_dst.sin_family = AF_INET;
	udp_dst.sin_port = htons(9);
	udp_dst.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	snprintf(immuned, sizeof(immuned), "%s/immuned", build);

	/* The floor sits on the tracepoints immuned uses: open's sys_enter only
	 * where immuned needs it (kernels without bpf_task_pt_regs). */
	bool open_enter = !ebpf_kernel_reads_regs_at_exit();
	struct floor_bpf *fl = floor_bpf__open();
	if (fl) {
		bpf_program__set_autoload(fl->progs.floor_enter_openat, open_enter);
		struct bpf_program *own[] = { fl->progs.min_event_exit_openat, fl->progs.step_args_exit_openat,
					      fl->progs.step_file_exit_openat, fl->progs.step_lookup_exit_openat };
		for (unsigned i = 0; i < sizeof(own) / sizeof(own[0]); i++) {
			bpf_program__set_autoattach(own[i], false);
			bpf_program__set_autoload(own[i], !open_enter);
		}
	}
	if (!fl || floor_bpf__load(fl)) {
		fprintf(stderr, "bench: cannot load the floor programs\n");
		return 1;
	}
	long ring_records = 0;
	struct ring_buffer *ring = ring_buffer__new(bpf_map__fd(fl->maps.floor_ring), ring_count, &ring_records, NULL);
	if (!ring) {
		fprintf(stderr, "bench: cannot open the ring buffer\n");
		return 1;
	}
	bool snoop = access("/usr/sbin/opensnoop", X_OK) == 0, bt = access("/usr/bin/bpftrace", X_OK) == 0;

	/* warm caches */
	for (int op = 0; op < OP_N; op++)
		run_once(op);

	for (int r = 0; r < reps; r++) {
		measure_all(C_NONE, r, true, !open_only, !open_only);

		if (floor_bpf__attach(fl)) {
			fprintf(stderr, "bench: cannot attach the floor programs\n");
			return 1;
		}
		measure_all(C_FLOOR, r, true, !open_only, !open_only);
		measure_bpf_time(C_FLOOR, r);

		if (!open_enter) {
			/* The steps and the minimal event each take the place of
			 * the floor's open program, with the rest of the floor
			 * still attached: a program on any sys_enter tracepoint
			 * (immuned's execve and connect) sends every syscall,
			 * open and close included, through the tracing path,
			 * and immuned pays that too. */
			bpf_link__destroy(fl->links.floor_exit_openat);
			fl->links.floor_exit_openat = NULL;
			struct { enum cfg c; struct bpf_program *p; } steps[] = {
				{ C_STEP_ARGS, fl->progs.step_args_exit_openat },
				{ C_STEP_FILE, fl->progs.step_file_exit_openat },
				{ C_STEP_LOOKUP, fl->progs.step_lookup_exit_openat },
			};
			for (unsigned i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
				struct bpf_link *sl = bpf_program__attach(steps[i].p);
				if (!sl) {
					fprintf(stderr, "bench: cannot attach %s\n", bpf_program__name(steps[i].p));
					return 1;
				}
				measure_all(steps[i].c, r, true, false, false);
				measure_bpf_time(steps[i].c, r);
				bpf_link__destroy(sl);
			}
			struct bpf_link *rl = bpf_program__attach(fl->progs.min_event_exit_openat);
			pthread_t rt;
			ring_stop = false;
			if (!rl || pthread_create(&rt, NULL, ring_reader, ring)) {
				fprintf(stderr, "bench: cannot attach the minimal open event program\n");
				return 1;
			}
			measure_all(C_RING, r, true, false, false);
			measure_bpf_time(C_RING, r);
			bpf_link__destroy(rl);
			ring_stop = true;
			pthread_join(rt, NULL);
		}
		floor_bpf__detach(fl);

		round_immuned(C_IMMUNED, r, immuned, r == reps - 1);
		round_immuned(C_IM_ALL, r, immuned, false);
		round_immuned(C_IM_ALL_OFF, r, immuned, false);
		round_immuned(C_IM_NOGATE, r, immuned, false);

		/* the untraced baseline again, after the configurations the
		 * ratio is made of: their baseline is the mean of both */
		double first[OP_N];
		for (int op = 0; op < OP_N; op++)
			first[op] = ns[C_NONE][op][r];
		measure_all(C_NONE, r, true, !open_only, !open_only);
		for (int op = 0; op < OP_N; op++)
			ns[C_NONE][op][r] = (first[op] + ns[C_NONE][op][r]) / 2;
		if (open_only)
			continue;

		round_immuned(C_IM_OFF, r, immuned, false);
		round_immuned(C_IM_FILLED, r, immuned, false);

		struct tracer t;
		char err[4096] = "";
		if (snoop) {
			char *a[] = { "stdbuf", "-oL", "/usr/sbin/opensnoop", NULL };
			if (start_tracer(a, "PID", 1, &t, err, sizeof(err)) == 0) {
				measure_all(C_SNOOP, r, true, false, false);
				stop_tracer(&t);
			}
			char *b[] = { "stdbuf", "-oL", "/usr/sbin/execsnoop", NULL };
			if (start_tracer(b, "PCOMM", 1, &t, err, sizeof(err)) == 0) {
				measure_all(C_SNOOP, r, false, true, false);
				stop_tracer(&t);
			}
		}
		if (bt) {
			char *a[] = { "bpftrace", "-e",
				      "tracepoint:syscalls:sys_enter_openat, tracepoint:syscalls:sys_enter_execve, "
				      "tracepoint:syscalls:sys_enter_connect { @[probe] = count(); }",
				      NULL };
			if (start_tracer(a, "Attaching", 1, &t, err, sizeof(err)) == 0) {
				sleep(1); /* "Attaching" comes before the probes are live */
				measure_all(C_BPFTRACE, r, true, true, true);
				stop_tracer(&t);
			}
		}
	}
	ring_buffer__free(ring);
	floor_bpf__destroy(fl);

	printf("bench/overhead: ns per call, %d rounds (openat %ld, execve %ld, connect %ld calls each),\n"
	       "every tracer measured once per round; medians over rounds. floor: empty programs on %s\n",
	       reps, iters[OP_OPEN], iters[OP_EXEC], iters[OP_CONNECT],
	       open_enter ? "the same tracepoints as immuned" :
			    "the same tracepoints as immuned (open: sys_exit only, as immuned)");
	printf("%-36s %12s %12s %12s\n", "", op_name[0], op_name[1], op_name[2]);
	print_table(0, plain_or_nan, " %12.0f");
	printf("added cost over no tracing (median of per-round differences):\n");
	print_table(1, added, " %12.0f");
	printf("added cost divided by the floor's added cost:\n");
	print_table(2, floor_ratio, " %11.2fx");
	if (plain(C_IMMUNED, OP_OPEN) && plain(C_IM_OFF, OP_OPEN) && plain(C_IM_FILLED, OP_OPEN)) {
		printf("enforcement path: added cost over immuned --enforce off, as a share of the sensor's own cost:\n");
		enum cfg e[] = { C_IMMUNED, C_IM_FILLED };
		for (int i = 0; i < 2; i++) {
			printf("%-36s", i == 0 ? "empty verdict maps" : "100,000 verdicts per map");
			for (int op = 0; op < OP_N; op++) {
				double sensor = added(C_IM_OFF, op);
				printf(" %11.1f%%", sensor > 0 ? 100.0 * (added(e[i], op) - sensor) / sensor : 0.0);
			}
			printf("\n");
		}
		if (bpf_median(C_IM_OFF) > 0) {
			double off = bpf_median(C_IM_OFF);
			printf("BPF run time per openat, all programs (kernel.bpf_stats_enabled, less an empty\n"
			       "program's measured run time per program run; medians over rounds):\n"
			       "  --enforce off %.0f ns, enforcing with empty maps %.0f ns (%+.1f%%), "
			       "with 100,000 verdicts per map %.0f ns (%+.1f%%)\n",
			       off, bpf_median(C_IMMUNED), 100.0 * (bpf_median(C_IMMUNED) - off) / off,
			       bpf_median(C_IM_FILLED), 100.0 * (bpf_median(C_IM_FILLED) - off) / off);
		}
		printf("(target: a verdict lookup adds <= 10%%; the mode is the one immuned chose: see its log)\n");
	}
	if (plain(C_RING, OP_OPEN) && added(C_FLOOR, OP_OPEN) > 0)
		printf("the minimal open event (boot time, pid, result, path; one ring buffer record) costs\n"
		       "%.2fx the floor here: the least a sensor that sends every open through a ring buffer adds\n",
		       added(C_RING, OP_OPEN) / added(C_FLOOR, OP_OPEN));
	if (plain(C_IMMUNED, OP_OPEN)) {
		double f = added(C_FLOOR, OP_OPEN), ratio = added(C_IMMUNED, OP_OPEN) / f;
		if (!(f > 0))
			printf("immuned openat ratio: cannot tell, the floor's cost was lost in this host's noise\n");
		else
			printf("default mode (built-in rules, interest filter): immuned adds %.2fx what empty programs "
			       "add per openat (target <= 1.50): %s\n",
			       ratio, ratio <= 1.5 ? "met" : "NOT met");
	}
	for (enum cfg c = C_IM_ALL; c <= C_IM_ALL_OFF; c++)
		if (plain(c, OP_OPEN) && added(C_RING, OP_OPEN) > 0) {
			double ratio = added(c, OP_OPEN) / added(C_RING, OP_OPEN);
			printf("%s (every open sent): immuned adds %.2fx what the minimal open event adds "
			       "(target <= 1.20): %s\n",
			       c == C_IM_ALL ? "--events open" : "--events open --enforce off", ratio,
			       ratio <= 1.2 ? "met" : "NOT met");
		}
	if (plain(C_STEP_LOOKUP, OP_OPEN) && added(C_FLOOR, OP_OPEN) > 0) {
		/* where the default mode's cost over the floor goes, and what the target leaves */
		double f = added(C_FLOOR, OP_OPEN);
		printf("the default mode's open program cut at each step, each in the place of the floor's open program\n"
		       "(ns per openat added over no tracing; BPF run time per openat by bpf_stats):\n");
		enum cfg st[] = { C_FLOOR, C_STEP_ARGS, C_STEP_FILE, C_STEP_LOOKUP, C_IM_NOGATE, C_IMMUNED };
		for (unsigned i = 0; i < sizeof(st) / sizeof(st[0]); i++)
			printf("  %-40s %6.0f ns (%.2fx the floor)  BPF %4.0f ns\n",
			       st[i] == C_IMMUNED ? "immuned, default mode (all of it)" : cfg_name[st[i]],
			       added(st[i], OP_OPEN), added(st[i], OP_OPEN) / f,
			       st[i] == C_FLOOR ? 0.0 : bpf_median(st[i]));
		printf("  the 1.50x target leaves %.0f ns over the floor for all of the filter\n", 0.5 * f);
	}
	if (bpf_median(C_RING) > 0 && bpf_median(C_IM_ALL) > 0)
		printf("BPF run time per openat (bpf_stats, less the statistics' own cost per program run):\n"
		       "  minimal open event %.0f ns, immuned --events open %.0f ns (%.2fx), with --enforce off "
		       "%.0f ns (%.2fx), default mode %.0f ns\n",
		       bpf_median(C_RING), bpf_median(C_IM_ALL), bpf_median(C_IM_ALL) / bpf_median(C_RING),
		       bpf_median(C_IM_ALL_OFF), bpf_median(C_IM_ALL_OFF) / bpf_median(C_RING), bpf_median(C_IMMUNED));
	if (foreign)
		printf("WARNING: %d tracing links were attached before the benchmark started: the baseline was "
		       "traced, these figures are not comparable\n", foreign);
	if (open_filtered + open_sent > 0)
		printf("opens filtered in the kernel in the default mode: %.0f of %.0f (%.1f%%; the whole host's "
		       "opens while measured)\n",
		       open_filtered, open_filtered + open_sent, 100.0 * open_filtered / (open_filtered + open_sent));
	return 0;
}
