/*
 * What the gate's holds cost. Interleaved rounds (this host drifts), each
 * measuring fork+exec+wait and open+close against immuned with the gate off:
 *  (a) only file-identity rules (an Image rule and a sha256 block: every exec
 *      held, the hash from the verified-inode cache),
 *  (b) command-line rules: every exec held and judged with its argv (also
 *      for a static binary: no ELF interpreter, so one hold per exec),
 *  the daemon's CPU time per exec (all its threads, from schedstat) with each,
 *  then the first exec of a 100 MB binary while a sha256 block is loaded
 *  (the time to hash it) against its second exec (cached), and an open of a
 *  marked file and of an unmarked one against no marks.
 *   bench/gate BUILD_DIR [--quick]
 */
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fanotify.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define DIR "/tmp/immune-bench-gate"
#define ROUNDS_MAX 9

enum cfg { C_OFF, C_IDENTITY, C_CMDLINE, C_N };
static const char *const cfg_name[C_N] = { "gate off (same rules, judged after the exec)",
					   "(a) file-identity rules, warm cache",
					   "(b) command-line rules, every exec judged" };

static double now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, n, sizeof(*v), cmp_d);
	return n ? v[n / 2] : 0;
}

static pid_t daemon_pid;

static int start(const char *immuned, enum cfg c, bool sha_only)
{
	char *argv[32];
	int n = 0, p[2];
	argv[n++] = (char *)immuned;
	char *fixed[] = { "--no-builtin-rules", "--stats-interval", "0", "--pin-dir", "/sys/fs/bpf/immune-bench-gate",
			  "--socket", DIR "/sock", "--db", DIR "/db", "--output", "/dev/null" };
	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		argv[n++] = fixed[i];
	argv[n++] = "--ioc";
	argv[n++] = DIR "/iocs";
	if (!sha_only) {
		argv[n++] = "--rules";
		argv[n++] = c == C_CMDLINE ? DIR "/cmdline.yml" : DIR "/identity.yml";
	}
	if (c == C_OFF) {
		argv[n++] = "--gate";
		argv[n++] = "off";
	}
	argv[n] = NULL;
	if (pipe(p))
		return -1;
	daemon_pid = fork();
	if (daemon_pid == 0) {
		dup2(p[1], 2);
		close(p[0]);
		execv(immuned, argv);
		_exit(127);
	}
	close(p[1]);
	FILE *f = fdopen(p[0], "r");
	char line[1024];
	int rc = -1;
	while (fgets(line, sizeof(line), f))
		if (strstr(line, "processes seeded")) {
			rc = 0;
			break;
		}
	/* keep draining its log so it never blocks on a full pipe */
	if (rc == 0 && fork() == 0) {
		while (fgets(line, sizeof(line), f))
			;
		_exit(0);
	}
	fclose(f);
	return rc;
}

static void stop(void)
{
	kill(daemon_pid, SIGTERM);
	waitpid(daemon_pid, NULL, 0);
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
}

/* mean µs per fork+exec+wait of path */
static double execs(const char *path, int n)
{
	double t0 = now_us();
	for (int i = 0; i < n; i++) {
		pid_t p = fork();
		if (p == 0) {
			/* "true" first: the static probe runs as true(1) with it */
			execl(path, path, "true", "bench-argument", (char *)NULL);
			_exit(127);
		}
		waitpid(p, NULL, 0);
	}
	return (now_us() - t0) / n;
}

/* CPU time of all the daemon's threads so far, ns (schedstat: exact, not ticks). */
static double daemon_cpu_ns(void)
{
	char p[128];
	double sum = 0;
	glob_t g;
	snprintf(p, sizeof(p), "/proc/%d/task/*/schedstat", (int)daemon_pid);
	if (glob(p, 0, NULL, &g))
		return 0;
	for (size_t i = 0; i < g.gl_pathc; i++) {
		FILE *f = fopen(g.gl_pathv[i], "r");
		double ns;
		if (f && fscanf(f, "%lf", &ns) == 1)
			sum += ns;
		if (f)
			fclose(f);
	}
	globfree(&g);
	return sum;
}

/* The running daemon's gate counters: proof that a configuration holds what it says, and where a hold's time goes. */
struct gstat {
	double held, continued, reader, ignore_marks, wait_us, read_us, match_us, allowed, denied, from_record, pointers;
};

static struct gstat gate_counts(const char *build)
{
	static const char *const keys[] = { "exec_held",    "continued",	 "judged_by_reader", "ignore_marks",
					    "wait_us_mean", "read_us_mean", "match_us_mean", "allowed",
					    "denied",	    "exec_from_record", "args_from_pointers" };
	char cmd[600], line[256], fmt[64];
	struct gstat g = { -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1 };
	double *v = &g.held;
	snprintf(cmd, sizeof(cmd), "%s/immunectl --socket " DIR "/sock --json status", build);
	FILE *p = popen(cmd, "r");
	while (p && fgets(line, sizeof(line), p))
		for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
			snprintf(fmt, sizeof(fmt), " \"%s\": %%lf", keys[k]);
			sscanf(line, fmt, &v[k]);
		}
	if (p)
		pclose(p);
	return g;
}

static double opens(const char *path, int n)
{
	double t0 = now_us();
	for (int i = 0; i < n; i++) {
		int fd = open(path, O_RDONLY);
		if (fd >= 0)
			close(fd);
	}
	return (now_us() - t0) / n;
}

static void sh(const char *cmd)
{
	if (system(cmd) != 0)
		fprintf(stderr, "bench: failed: %s\n", cmd);
}

/* The floor of a hold on this host: a responder that allows every event at
 * once, judging nothing (the kernel's permission path, the event's fd, and
 * the sleep and wake of the caller and of the responder). */
static int floor_fan = -1;
static volatile int floor_stop;
static double floor_events;

static void *floor_responder(void *arg)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct fanotify_event_metadata))));
	(void)arg;
	while (!floor_stop) {
		struct pollfd p = { .fd = floor_fan, .events = POLLIN };
		if (poll(&p, 1, 100) <= 0)
			continue;
		ssize_t n;
		while ((n = read(floor_fan, buf, sizeof(buf))) > 0) {
			const struct fanotify_event_metadata *m = (const void *)buf;
			for (; FAN_EVENT_OK(m, n); m = FAN_EVENT_NEXT(m, n)) {
				struct fanotify_response r = { .fd = m->fd, .response = FAN_ALLOW };
				if (write(floor_fan, &r, sizeof(r)) != sizeof(r))
					fprintf(stderr, "bench: fanotify response failed\n");
				close(m->fd);
				floor_events++;
			}
		}
	}
	return NULL;
}

/* Pairs of nf execs without and with the responder's mark (the same
 * filesystem-wide FAN_OPEN_EXEC_PERM the gate puts); µs per exec, medians. */
static void hold_floor(int pairs, int nf, double *none, double *held, double *holds_per_exec)
{
	double t_none[64], t_held[64], ev0, n = 0;
	pthread_t th;
	*none = *held = *holds_per_exec = 0;
	floor_fan = fanotify_init(FAN_CLASS_CONTENT | FAN_CLOEXEC | FAN_NONBLOCK, O_RDONLY | O_LARGEFILE | O_CLOEXEC);
	if (floor_fan < 0 || pthread_create(&th, NULL, floor_responder, NULL)) {
		fprintf(stderr, "bench: no fanotify responder: %s\n", strerror(errno));
		return;
	}
	for (int k = 0; k < pairs; k++) {
		t_none[k] = execs(DIR "/target", nf);
		if (fanotify_mark(floor_fan, FAN_MARK_ADD | FAN_MARK_FILESYSTEM, FAN_OPEN_EXEC_PERM, AT_FDCWD, DIR))
			break;
		ev0 = floor_events;
		t_held[k] = execs(DIR "/target", nf);
		n += (floor_events - ev0) / nf;
		fanotify_mark(floor_fan, FAN_MARK_FLUSH | FAN_MARK_FILESYSTEM, 0, AT_FDCWD, NULL);
	}
	floor_stop = 1;
	pthread_join(th, NULL);
	close(floor_fan);
	*none = median(t_none, pairs);
	*held = median(t_held, pairs);
	*holds_per_exec = n / pairs;
}

static const char cmdline_rule[] =
	"title: bench cmdline\nid: bench-cmdline\nlogsource: {category: process_creation, product: linux}\n"
	"immune: {action: %s}\ndetection:\n    sel:\n        CommandLine|contains: 'never-this-argument'\n"
	"        ParentImage|endswith: '/never-this-parent'\n    condition: sel\n";

/* The command-line rule and the sha256 indicator as blocks (every exec held)
 * or as alerts (nothing held), in force through a reload. */
static void reload_as(const char *build, bool hold)
{
	char cmd[700];
	FILE *f = fopen(DIR "/cmdline.yml", "w");
	if (f) {
		fprintf(f, cmdline_rule, hold ? "block" : "alert");
		fclose(f);
	}
	snprintf(cmd, sizeof(cmd), "printf 'action: %s\\nsha256:%%064d\\n' 0 >" DIR "/iocs && %s/immunectl --socket " DIR
		 "/sock reload >/dev/null", hold ? "block" : "alert", build);
	sh(cmd);
}

int main(int argc, char **argv)
{
	const char *build = argc > 1 ? argv[1] : "build";
	bool quick = argc > 2 && strcmp(argv[2], "--quick") == 0;
	int rounds = quick ? 3 : ROUNDS_MAX, nexec = quick ? 100 : 300, nopen = quick ? 20000 : 100000;
	char immuned[512], cmd[1024];
	struct gstat gs[C_N];
	double held[C_N] = { 0 }, cont[C_N] = { 0 }, rdr[C_N] = { 0 }, rec[C_N] = { 0 }, ptr[C_N] = { 0 }, cpu[C_N][ROUNDS_MAX], ex[C_N][ROUNDS_MAX], exs[C_N][ROUNDS_MAX], op_marked[ROUNDS_MAX], op_unmarked[ROUNDS_MAX], op_none[ROUNDS_MAX];

	if (geteuid() != 0) {
		printf("SKIPPED: bench/gate needs root (BPF, fanotify)\n");
		return 0;
	}
	snprintf(immuned, sizeof(immuned), "%s/immuned", build);
	snprintf(cmd, sizeof(cmd), "rm -rf " DIR " && mkdir -p " DIR " && cp %s/tools/immune-probe " DIR "/static", build);
	sh(cmd);
	sh("cp /bin/true " DIR "/target && "
	   "mkdir " DIR "/guarded && echo x >" DIR "/guarded/marked.txt");
	/* a sha256 block that nothing here matches: the content gate runs on every exec */
	sh("printf 'action: block\\nsha256:%064d\\n' 0 >" DIR "/iocs");
	FILE *f = fopen(DIR "/identity.yml", "w");
	fprintf(f, "title: bench identity\nid: bench-identity\nlogsource: {category: process_creation, product: linux}\n"
		   "immune: {action: block}\ndetection:\n    sel:\n        Image|endswith: '/never-run-this'\n"
		   "    condition: sel\n---\ntitle: bench file\nid: bench-file\n"
		   "logsource: {category: file_access, product: linux}\nimmune: {action: block}\ndetection:\n"
		   "    sel:\n        TargetFilename: '" DIR "/guarded/not-this'\n    condition: sel\n");
	fclose(f);
	f = fopen(DIR "/cmdline.yml", "w");
	fprintf(f, cmdline_rule, "block");
	fclose(f);

	printf("fork+exec+wait of /bin/true (copy), %d per run, median of %d interleaved rounds; µs per exec\n", nexec,
	       rounds);
	for (int r = 0; r < rounds; r++) {
		for (int c = 0; c < C_N; c++) {
			if (start(immuned, c, false)) {
				fprintf(stderr, "bench: immuned did not start\n");
				return 1;
			}
			execs(DIR "/target", 20); /* warm: the cache, the process table */
			struct gstat g0 = gate_counts(build);
			double cpu0 = daemon_cpu_ns();
			ex[c][r] = execs(DIR "/target", nexec);
			cpu[c][r] = (daemon_cpu_ns() - cpu0) / 1000 / nexec;
			if (r == 0) {
				struct gstat g1 = gate_counts(build);
				held[c] = (g1.held - g0.held) / nexec;
				cont[c] = (g1.continued - g0.continued) / nexec;
				rdr[c] = (g1.reader - g0.reader) / nexec;
				rec[c] = (g1.from_record - g0.from_record) / nexec;
				ptr[c] = (g1.pointers - g0.pointers) / nexec;
				/* the means over this run alone: the daemon's cover its start too (the first hashes) */
				double n0 = g0.allowed + g0.denied, n1 = g1.allowed + g1.denied, n = n1 - n0;
				gs[c] = g1;
				gs[c].wait_us = n > 0 ? (g1.wait_us * n1 - g0.wait_us * n0) / n : 0;
				gs[c].read_us = n > 0 ? (g1.read_us * n1 - g0.read_us * n0) / n : 0;
				gs[c].match_us = n > 0 ? (g1.match_us * n1 - g0.match_us * n0) / n : 0;
			}
			/* a static binary has no ELF interpreter: one hold per exec instead of two */
			if (c != C_IDENTITY)
				exs[c][r] = execs(DIR "/static", nexec);
			if (c == C_OFF)
				op_none[r] = opens(DIR "/guarded/marked.txt", nopen);
			if (c == C_IDENTITY) {
				op_marked[r] = opens(DIR "/guarded/marked.txt", nopen);
				op_unmarked[r] = opens("/etc/hostname", nopen);
			}
			stop();
		}
	}
	double m[C_N];
	for (int c = 0; c < C_N; c++) {
		m[c] = median(ex[c], rounds);
		printf("  %-48s %9.1f   (per exec: %.2f holds: %.2f judged, %.2f of them by the reader, %.2f with argv "
		       "and cwd from the sensor's copy, %.2f through its kept pointers; %.2f continued (its interpreter); "
		       "daemon CPU %.1f µs)\n",
		       cfg_name[c], m[c], held[c] + cont[c], held[c], rdr[c], rec[c], ptr[c], cont[c],
		       median(cpu[c], rounds));
	}
	/* where a judged hold's time goes, from the daemon's own counters (first round) */
	for (int c = C_IDENTITY; c < C_N; c++)
		printf("  %s: a judged hold waits %.0f µs (of it /proc %.0f µs, rules %.0f µs); %.0f ignore marks\n",
		       c == C_IDENTITY ? "(a)" : "(b)", gs[c].wait_us, gs[c].read_us, gs[c].match_us, gs[c].ignore_marks);
	printf("  (a) against off: %+.1f%% (target <= 3%%)\n", 100 * (m[C_IDENTITY] / m[C_OFF] - 1));
	printf("  (b) against off: %+.1f%% (target <= 10%%)\n", 100 * (m[C_CMDLINE] / m[C_OFF] - 1));
	double s_off = median(exs[C_OFF], rounds), s_b = median(exs[C_CMDLINE], rounds);
	printf("  (b) with a static binary (no ELF interpreter, one hold per exec): %.1f against %.1f off, %+.1f%%\n", s_b,
	       s_off, 100 * (s_b / s_off - 1));

	/* (b) again, interleaved finely: one daemon, reloaded every 100 execs
	 * between the command-line block (with the sha256 block) and the same
	 * rule and indicator as alerts (nothing blocks: no hold, as with --gate
	 * off). A busy shared host drifts in seconds; the daemon restarts above
	 * take seconds each, these reloads a few milliseconds. */
	if (start(immuned, C_CMDLINE, false) == 0) {
		int fine = quick ? 8 : 30, nf = 100;
		double t_hold[64], t_none[64], ratio[64], c_hold[64], c_none[64];
		for (int k = 0; k < fine; k++) {
			for (int hold = 1; hold >= 0; hold--) {
				reload_as(build, hold);
				execs(DIR "/target", 10);
				double c0 = daemon_cpu_ns(), t = execs(DIR "/target", nf);
				double c = (daemon_cpu_ns() - c0) / 1000 / nf;
				if (hold) {
					t_hold[k] = t;
					c_hold[k] = c;
				} else {
					t_none[k] = t;
					c_none[k] = c;
				}
			}
			ratio[k] = t_hold[k] / t_none[k];
		}
		stop();
		sh("printf 'action: block\\nsha256:%064d\\n' 0 >" DIR "/iocs");
		double fn, fh, fhe;
		hold_floor(fine, nf, &fn, &fh, &fhe);
		printf("  the floor of a hold here: a responder that allows at once, %d pairs of %d execs: %.1f µs held (%.2f "
		       "holds per exec) against %.1f, %+.1f%%\n",
		       fine, nf, fh, fhe, fn, 100 * (fh / fn - 1));
		printf("  (b) interleaved by reload, %d pairs of %d execs: %.1f µs held against %.1f without a hold, %+.1f%% "
		       "(median of the pairs: %+.1f%%); daemon CPU per exec %.1f µs against %.1f\n",
		       fine, nf, median(t_hold, fine), median(t_none, fine), 100 * (median(t_hold, fine) / median(t_none, fine) - 1),
		       100 * (median(ratio, fine) - 1), median(c_hold, fine), median(c_none, fine));
	}

	/* The marked directory holds opens of every file in it; the unmarked file is elsewhere. */
	double none = median(op_none, rounds), marked = median(op_marked, rounds), unmarked = median(op_unmarked, rounds);
	printf("open+close, %d per run, µs: no marks %.2f, a file in a marked folder %.2f (%.1fx), an unmarked file %.2f "
	       "(%+.1f%%)\n",
	       nopen, none, marked, marked / none, unmarked, 100 * (unmarked / none - 1));

	/* the content gate on a new 100 MB binary: its first exec waits for the hash */
	sh("cp /bin/true " DIR "/big && head -c 100000000 /dev/urandom >>" DIR "/big");
	if (start(immuned, C_IDENTITY, true) == 0) {
		double first = execs(DIR "/big", 1), second = execs(DIR "/big", 1);
		double small = execs(DIR "/target", 50);
		printf("first exec of a 100 MB binary with a sha256 block loaded: %.1f ms (hashing), second %.2f ms "
		       "(verified inode: not held again), a small cached binary %.2f ms\n",
		       first / 1000, second / 1000, small / 1000);
		stop();
	}
	snprintf(cmd, sizeof(cmd), "rm -rf " DIR " /sys/fs/bpf/immune-bench-gate");
	sh(cmd);
	return 0;
}
