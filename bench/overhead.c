/*
 * bench/overhead: what tracing costs the traced syscall, side by side in one
 * run. For openat, execve and connect it measures ns per call with no
 * tracing, with trivial BPF programs on the same tracepoints (the floor),
 * with immuned, and with libbpf-tools' opensnoop/execsnoop and a bpftrace
 * one-liner when installed; then prints each one's added cost divided by the
 * floor's. Usage: bench/overhead BUILD_DIR [--quick]
 */
#include "floor.skel.h"
#include "immune.h"
#include "sysfs.h"

#include <bpf/bpf.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
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
static long iters[OP_N] = { 400000, 1500, 400000 };
static int reps = 5;

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

/* Median of reps runs: the other core's noise shows in the mean. */
static double measure(enum op op)
{
	double v[16];
	for (int r = 0; r < reps; r++)
		v[r] = run_once(op);
	for (int i = 0; i < reps; i++)
		for (int j = i + 1; j < reps; j++)
			if (v[j] < v[i]) {
				double t = v[i];
				v[i] = v[j];
				v[j] = t;
			}
	return v[reps / 2];
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

struct result {
	const char *name;
	double ns[OP_N];
	bool have;
};

int main(int argc, char **argv)
{
	const char *build = argc > 1 ? argv[1] : "build";
	bool quick = argc > 2 && strcmp(argv[2], "--quick") == 0;
	char immuned[512];
	struct result res[8] = { { .name = "no tracing" }, { .name = "floor (empty BPF programs)" },
				 { .name = "immuned" }, { .name = "libbpf-tools opensnoop/execsnoop" },
				 { .name = "bpftrace one-liner" }, { .name = "immuned --enforce off" },
				 { .name = "immuned, 100,000 verdicts per map" } };
	int nres = 7;

	if (geteuid() != 0) {
		printf("SKIPPED: bench/overhead needs root to load BPF programs\n");
		return 0;
	}
	if (quick) {
		for (int i = 0; i < OP_N; i++)
			iters[i] /= 10;
		reps = 3;
	}
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

	/* warm caches */
	run_once(OP_OPEN);

	for (int op = 0; op < OP_N; op++)
		res[0].ns[op] = measure(op);
	res[0].have = true;

	struct floor_bpf *fl = floor_bpf__open_and_load();
	if (!fl || floor_bpf__attach(fl)) {
		fprintf(stderr, "bench: cannot load the floor programs\n");
		return 1;
	}
	for (int op = 0; op < OP_N; op++)
		res[1].ns[op] = measure(op);
	res[1].have = true;
	floor_bpf__destroy(fl);

	struct tracer t;
	char err[4096] = "";
	/* immuned three ways: enforcement off, on with empty verdict maps (the
	 * default), on with 100,000 verdicts in each map; its own pin dir,
	 * socket and db so that a running agent is not disturbed */
	const char *pin = "/sys/fs/bpf/immune-bench";
	char *im_argv[] = { immuned, "--stats-interval", "0", "--pin-dir", (char *)pin, "--socket",
			    "/tmp/immune-bench.sock", "--db", "/tmp/immune-bench.db", "--enforce", "auto", NULL };
	struct { int res; const char *enforce; int fill; } runs[] = { { 5, "off", 0 }, { 2, "auto", 0 }, { 6, "auto", 100000 } };
	for (unsigned r = 0; r < sizeof(runs) / sizeof(runs[0]); r++) {
		im_argv[10] = (char *)runs[r].enforce;
		clear_pins(pin);
		if (start_tracer(im_argv, "programs attached", 2, &t, err, sizeof(err)) != 0) {
			fprintf(stderr, "bench: immuned did not start: %s", err);
			continue;
		}
		if (runs[r].fill && fill_verdicts(pin, runs[r].fill)) {
			stop_tracer(&t);
			continue;
		}
		for (int op = 0; op < OP_N; op++)
			res[runs[r].res].ns[op] = measure(op);
		res[runs[r].res].have = true;
		stop_tracer(&t);
		if (runs[r].res == 2)
			report_losses();
	}
	clear_pins(pin);

	/* peers measured on each op they cover */
	if (access("/usr/sbin/opensnoop", X_OK) == 0) {
		char *a[] = { "stdbuf", "-oL", "/usr/sbin/opensnoop", NULL };
		if (start_tracer(a, "PID", 1, &t, err, sizeof(err)) == 0) {
			res[3].ns[OP_OPEN] = measure(OP_OPEN);
			stop_tracer(&t);
			res[3].have = true;
		}
		char *b[] = { "stdbuf", "-oL", "/usr/sbin/execsnoop", NULL };
		if (start_tracer(b, "PCOMM", 1, &t, err, sizeof(err)) == 0) {
			res[3].ns[OP_EXEC] = measure(OP_EXEC);
			stop_tracer(&t);
		}
	}
	if (access("/usr/bin/bpftrace", X_OK) == 0) {
		char *a[] = { "bpftrace", "-e",
			      "tracepoint:syscalls:sys_enter_openat, tracepoint:syscalls:sys_enter_execve, "
			      "tracepoint:syscalls:sys_enter_connect { @[probe] = count(); }",
			      NULL };
		if (start_tracer(a, "Attaching", 1, &t, err, sizeof(err)) == 0) {
			sleep(1); /* "Attaching" comes before the probes are live */
			for (int op = 0; op < OP_N; op++)
				res[4].ns[op] = measure(op);
			res[4].have = true;
			stop_tracer(&t);
		}
	}

	printf("bench/overhead: ns per call, median of %d runs (openat %ld, execve %ld, connect %ld calls each)\n",
	       reps, iters[OP_OPEN], iters[OP_EXEC], iters[OP_CONNECT]);
	printf("%-36s %12s %12s %12s\n", "", op_name[0], op_name[1], op_name[2]);
	for (int i = 0; i < nres; i++) {
		if (!res[i].have)
			continue;
		printf("%-36s", res[i].name);
		for (int op = 0; op < OP_N; op++)
			if (res[i].ns[op])
				printf(" %12.0f", res[i].ns[op]);
			else
				printf(" %12s", "-");
		printf("\n");
	}
	printf("added cost over no tracing, divided by the floor's added cost:\n");
	for (int i = 2; i < nres; i++) {
		if (!res[i].have)
			continue;
		printf("%-36s", res[i].name);
		for (int op = 0; op < OP_N; op++) {
			double floor = res[1].ns[op] - res[0].ns[op];
			if (!res[i].ns[op] || floor <= 0)
				printf(" %12s", "-");
			else
				printf(" %11.2fx", (res[i].ns[op] - res[0].ns[op]) / floor);
		}
		printf("\n");
	}
	if (res[2].have && res[5].have && res[6].have) {
		printf("enforcement path: added cost over immuned --enforce off, as a share of the sensor's own cost:\n");
		for (int i = 2; i <= 6; i += 4) {
			printf("%-36s", i == 2 ? "empty verdict maps" : "100,000 verdicts per map");
			for (int op = 0; op < OP_N; op++) {
				double sensor = res[5].ns[op] - res[0].ns[op];
				printf(" %11.1f%%", sensor > 0 ? 100.0 * (res[i].ns[op] - res[5].ns[op]) / sensor : 0.0);
			}
			printf("\n");
		}
		printf("(target: a verdict lookup adds <= 10%%; the mode is the one immuned chose: see its log)\n");
	}
	if (res[2].have) {
		double floor = res[1].ns[OP_OPEN] - res[0].ns[OP_OPEN];
		double ratio = (res[2].ns[OP_OPEN] - res[0].ns[OP_OPEN]) / floor;
		printf("immuned openat ratio %.2f (target <= 2.00): %s\n", ratio, ratio <= 2.0 ? "met" : "NOT met");
	}
	return 0;
}
