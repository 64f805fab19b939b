/*
 * bench/hive: N simulated agents over loopback TLS against a real
 * `immuned --role hive`; each sends batches of incidents and waits for its
 * acknowledgement, as agents do. Prints incidents/s stored (counted in the
 * Hive's database afterwards) and the p50/p99 time from sending a batch to
 * its ack, which the Hive sends only after the batch is committed.
 * The same agents against one instance on SQLite and against two instances
 * on one PostgreSQL (a throwaway cluster, selftests/tools/pg-temp; needs
 * root), agents spread over the instances; prints the ratio.
 * Usage: bench/hive BUILD_DIR [--quick] [--agents N] [--only sqlite|pg2|pg1]
 */
#include "frame.h"
#include "hive_tls.h"
#include "../hive/store.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/epoll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct agent {
	int fd;
	SSL *ssl;
	struct frame_buf in;
	uint64_t seq;
	double sent_at;
	int rounds_left;
	bool waiting;
};

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static int sh(const char *cmd)
{
	int r = system(cmd);
	if (r != 0)
		fprintf(stderr, "bench/hive: failed: %s\n", cmd);
	return r;
}

static int send_all(SSL *ssl, const unsigned char *p, size_t n)
{
	size_t off = 0;
	while (off < n) {
		int w = SSL_write(ssl, p + off, (int)(n - off));
		if (w <= 0) {
			int e = SSL_get_error(ssl, w);
			if (e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ) {
				struct pollfd pf = { .fd = SSL_get_fd(ssl), .events = POLLOUT | POLLIN };
				poll(&pf, 1, 100);
				continue;
			}
			return -1;
		}
		off += w;
	}
	return 0;
}

/* One item's text after its "seq" value, printed once: the bench measures the Hive, not our
 * JSON printing (its core is shared with the Hive on a small machine). */
static char *item_tail;

static void make_item_tail(const char *doc_text)
{
	cJSON *it = cJSON_CreateObject();
	frame_add_i64(it, "time_ns", 1800000000000000000LL);
	cJSON_AddStringToObject(it, "rule_id", "6f1e0a01-3c2d-4b8e-9a01-000000000001");
	cJSON_AddStringToObject(it, "rule_title", "Execution From a World-Writable Temporary Directory");
	cJSON_AddStringToObject(it, "rule_level", "high");
	cJSON_AddStringToObject(it, "rule_author", "IMMUNE");
	cJSON_AddStringToObject(it, "event_kind", "exec");
	cJSON_AddNumberToObject(it, "pid", 4242);
	cJSON_AddStringToObject(it, "executable", "/tmp/x");
	cJSON_AddStringToObject(it, "command_line", "/tmp/x --flag");
	cJSON_AddStringToObject(it, "target", "/tmp/x");
	cJSON_AddStringToObject(it, "action", "alert");
	cJSON_AddStringToObject(it, "verdict", "alerted");
	cJSON_AddStringToObject(it, "doc", doc_text);
	char *t = cJSON_PrintUnformatted(it);
	cJSON_Delete(it);
	/* "{...}" becomes ",...}" after {"seq":N */
	t[0] = ',';
	item_tail = t;
}

/* A frame of n incidents: 4 bytes of length, then {"type":"incidents","batch":[...]}. */
static unsigned char *make_batch(struct agent *a, int n, size_t *len)
{
	size_t tl = strlen(item_tail), cap = 64 + (size_t)n * (tl + 32), o = 4;
	unsigned char *f = malloc(cap);
	o += (size_t)snprintf((char *)f + o, cap - o, "{\"type\":\"incidents\",\"batch\":[");
	for (int i = 0; i < n; i++) {
		o += (size_t)snprintf((char *)f + o, cap - o, "%s{\"seq\":%llu", i ? "," : "",
				      (unsigned long long)++a->seq);
		memcpy(f + o, item_tail, tl);
		o += tl;
	}
	o += (size_t)snprintf((char *)f + o, cap - o, "]}");
	size_t body = o - 4;
	f[0] = (unsigned char)(body >> 24), f[1] = (unsigned char)(body >> 16), f[2] = (unsigned char)(body >> 8),
	f[3] = (unsigned char)body;
	*len = o;
	return f;
}

static void send_batch(struct agent *a, int batch)
{
	size_t fl;
	unsigned char *f = make_batch(a, batch, &fl);
	a->sent_at = now_s();
	send_all(a->ssl, f, fl);
	free(f);
	a->waiting = true;
}

/* Every agent sends a batch, waits for its ack, rounds times; latencies into lat when given.
 * -1 when an ack did not come within 10 s. */
static int exchange(struct agent *ag, int n, int ep, int rounds, int batch, double *lat, size_t *nlat)
{
	struct epoll_event evs[1024];
	char err[256];
	int active = n;
	for (int i = 0; i < n; i++) {
		ag[i].rounds_left = rounds;
		send_batch(&ag[i], batch);
	}
	while (active > 0) {
		int ready = epoll_wait(ep, evs, 1024, 10000);
		if (ready <= 0) {
			fprintf(stderr, "bench/hive: no ack within 10 s\n");
			return -1;
		}
		for (int e = 0; e < ready; e++) {
			int i = (int)evs[e].data.u32;
			if (!ag[i].waiting)
				continue;
			unsigned char buf[16384];
			int r;
			while ((r = SSL_read(ag[i].ssl, buf, sizeof(buf))) > 0)
				frame_feed(&ag[i].in, buf, r);
			cJSON *m;
			while (frame_next(&ag[i].in, &m, err, sizeof(err)) == FRAME_OK) {
				const char *t = cJSON_GetObjectItem(m, "type")->valuestring;
				if (strcmp(t, "ack") == 0 && ag[i].waiting) {
					if (lat)
						lat[(*nlat)++] = now_s() - ag[i].sent_at;
					ag[i].waiting = false;
					if (--ag[i].rounds_left > 0)
						send_batch(&ag[i], batch);
					else
						active--;
				}
				cJSON_Delete(m);
			}
			/* as the Hive does: memory idle for seconds is taken back by the kernel here */
			if (!ag[i].in.len)
				frame_buf_free(&ag[i].in);
		}
	}
	return 0;
}

#define MAX_INSTANCES 2

/* One run: n agents spread over `instances` Hives on store (NULL: SQLite), rounds batches of `batch` incidents
 * each. */
/* A loopback port nothing listens on now (the machine is shared: fixed ports collide). */
static int free_port(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t l = sizeof(sa);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port = -1;
	if (fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&sa, &l) == 0)
		port = ntohs(sa.sin_port);
	close(fd);
	return port;
}

static int run(const char *build, const char *dir, const char *store, int instances, int n, int rounds,
	       int batch)
{
	char cmd[2048], err[512], db[600], maxc[16];
	snprintf(cmd, sizeof(cmd), "rm -f %s/hive.db*", dir);
	sh(cmd);
	snprintf(db, sizeof(db), "%s/hive.db", dir);
	snprintf(maxc, sizeof(maxc), "%d", n + 64);
	struct store *count_in = NULL;
	if (store) {
		/* a fresh database each run */
		if (!(count_in = store_open(store, err, sizeof(err))) ||
		    store_exec(count_in, "DROP SCHEMA public CASCADE; CREATE SCHEMA public")) {
			fprintf(stderr, "bench/hive: %s\n", count_in ? store_err(count_in) : err);
			return -1;
		}
	}
	pid_t hives[MAX_INSTANCES];
	int ports[MAX_INSTANCES];
	for (int k = 0; k < instances; k++)
		ports[k] = free_port();
	for (int k = 0; k < instances; k++) {
		/* started together: the store's migration lock sorts them out */
		if ((hives[k] = fork()))
			continue;
		char listen_at[64], sock[600], ca[600], cert[600], key[600], bin[600], name[32];
		snprintf(listen_at, sizeof(listen_at), "127.0.0.1:%d", ports[k]);
		snprintf(sock, sizeof(sock), "%s/hive%d.sock", dir, k);
		snprintf(name, sizeof(name), "bench-%d", k);
		snprintf(ca, sizeof(ca), "%s/ca.pem", dir);
		snprintf(cert, sizeof(cert), "%s/hive.pem", dir);
		snprintf(key, sizeof(key), "%s/hive.key", dir);
		snprintf(bin, sizeof(bin), "%s/immuned", build);
		char logp[600];
		snprintf(logp, sizeof(logp), "%s/hive%d.log", dir, k);
		int log = open(logp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		dup2(log, 2);
		/* every simulated agent comes from 127.0.0.1 */
		execl(bin, bin, "--role", "hive", "--listen", listen_at, "--ca", ca, "--cert", cert, "--key", key,
		      store ? "--store" : "--db", store ? store : db, "--instance", name, "--socket", sock,
		      "--max-connections", maxc, "--max-per-address", maxc, (char *)NULL);
		_exit(127);
	}
	/* each instance is up when its control socket answers connect */
	for (int k = 0; k < instances; k++) {
		struct sockaddr_un su = { .sun_family = AF_UNIX };
		snprintf(su.sun_path, sizeof(su.sun_path), "%s/hive%d.sock", dir, k);
		int up = 0;
		for (int t = 0; t < 300 && !up; t++) {
			int fd = socket(AF_UNIX, SOCK_STREAM, 0);
			up = connect(fd, (struct sockaddr *)&su, sizeof(su)) == 0;
			close(fd);
			if (!up)
				usleep(50000);
		}
		if (!up) {
			snprintf(cmd, sizeof(cmd), "tail -3 %s/hive%d.log >&2", dir, k);
			sh(cmd);
		}
	}

	snprintf(cmd, sizeof(cmd), "%s/ca.pem", dir);
	char certp[600], keyp[600];
	snprintf(certp, sizeof(certp), "%s/agent.pem", dir);
	snprintf(keyp, sizeof(keyp), "%s/agent.key", dir);
	SSL_CTX *ctx = hive_tls_ctx(false, cmd, certp, keyp, err, sizeof(err));
	if (!ctx) {
		fprintf(stderr, "bench/hive: %s\n", err);
		return -1;
	}
	struct agent *ag = calloc(n, sizeof(*ag));
	struct sockaddr_in sa = { .sin_family = AF_INET };
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	double t_conn = now_s();
	int made = 0;
	bool failed = false;
	for (int i = 0; i < n && !failed; i++, made++) {
		sa.sin_port = htons(ports[i % instances]); /* spread over the instances */
		ag[i].fd = socket(AF_INET, SOCK_STREAM, 0);
		int one = 1;
		setsockopt(ag[i].fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		int tries = 0;
		while (connect(ag[i].fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
			if (++tries > 50 || ag[i].fd < 0) {
				fprintf(stderr, "bench/hive: agent %d: connect: %s\n", i, strerror(errno));
				failed = true;
				break;
			}
			close(ag[i].fd);
			usleep(100000);
			ag[i].fd = socket(AF_INET, SOCK_STREAM, 0);
		}
		if (failed)
			break;
		ag[i].ssl = SSL_new(ctx);
		SSL_set_fd(ag[i].ssl, ag[i].fd);
		SSL_set1_host(ag[i].ssl, "localhost");
		if (SSL_connect(ag[i].ssl) != 1) {
			hive_tls_error(ag[i].ssl, err, sizeof(err));
			fprintf(stderr, "bench/hive: agent %d: TLS: %s\n", i, err);
			failed = true;
			break;
		}
		cJSON *hello = cJSON_CreateObject();
		char host[32];
		snprintf(host, sizeof(host), "agent-%d", i);
		/* one certificate for all: the id is exactly its CN, the sequences of
		 * each simulated agent are kept apart in their own range */
		ag[i].seq = (uint64_t)i << 32;
		cJSON_AddStringToObject(hello, "type", "hello");
		cJSON_AddStringToObject(hello, "agent_id", "agent");
		cJSON_AddStringToObject(hello, "hostname", host);
		cJSON_AddNumberToObject(hello, "verdict_version", 0);
		size_t fl;
		unsigned char *f = frame_encode(hello, &fl);
		cJSON_Delete(hello);
		send_all(ag[i].ssl, f, fl);
		free(f);
		fcntl(ag[i].fd, F_SETFL, O_NONBLOCK);
	}
	double connected = now_s() - t_conn;
	if (failed)
		n = made; /* what was connected is cleaned up below, the Hives stopped */

	/* prebuilt frames: the bench measures the Hive, not our JSON printing */
	size_t total_batches = (size_t)n * rounds, nlat = 0;
	double *lat = calloc(total_batches, sizeof(double));
	/* epoll, not poll: a poll over 10,000 sockets per ack would take the Hive's CPU */
	int ep = epoll_create1(EPOLL_CLOEXEC);
	for (int i = 0; i < n; i++) {
		struct epoll_event ev = { .events = EPOLLIN, .data.u32 = (uint32_t)i };
		epoll_ctl(ep, EPOLL_CTL_ADD, ag[i].fd, &ev);
	}
	/* a first batch from every agent, acked before the clock starts: each connection's buffers
	 * (its TLS records, its frame at the Hive) are made then, as on a fleet connected for days */
	double t_first = now_s();
	bool ok = !failed && exchange(ag, n, ep, 1, batch, NULL, NULL) == 0;
	double t0 = now_s();
	if (ok)
		exchange(ag, n, ep, rounds, batch, lat, &nlat);
	double elapsed = now_s() - t0;
	for (int i = 0; i < n; i++) {
		SSL_free(ag[i].ssl);
		if (ag[i].fd >= 0)
			close(ag[i].fd);
		frame_buf_free(&ag[i].in);
	}
	for (int k = 0; k < instances; k++) {
		kill(hives[k], SIGTERM);
		waitpid(hives[k], NULL, 0);
	}
	SSL_CTX_free(ctx);

	/* counted in the database: what was stored, once per (agent, seq) */
	if (!count_in)
		count_in = store_open(db, err, sizeof(err));
	long all = count_in ? (long)store_i64(count_in, "SELECT count(*) FROM incidents", -1) : -1;
	store_close(count_in);
	/* the first batches were acked, so stored, before the clock started */
	long stored = all - (long)n * batch;
	bool whole = ok && all == (long)n * (rounds + 1) * batch;
	qsort(lat, nlat, sizeof(double), cmp_d);
	double rate = stored / elapsed;
	printf("%-26s %5d agents, %7ld incidents (batches of %d): %8.0f incidents/s stored, ack p50 %6.1f ms, p99 %6.1f "
	       "ms (connect+TLS for all: %.1f s, first batches %.1f s)%s\n",
	       store ? (instances > 1 ? "2 instances, PostgreSQL:" : "1 instance, PostgreSQL:") : "1 instance, SQLite:", n,
	       stored, batch, rate, nlat ? lat[nlat / 2] * 1e3 : 0, nlat ? lat[(size_t)(nlat * 0.99)] * 1e3 : 0,
	       connected, t0 - t_first, whole ? "" : "  MISSING INCIDENTS");
	free(lat);
	close(ep);
	free(ag);
	return whole ? (int)rate : -1;
}

int main(int argc, char **argv)
{
	const char *build = argc > 1 ? argv[1] : "build";
	bool quick = false;
	int agents = 10000;
	const char *only = NULL; /* sqlite, pg2 or pg1: that configuration alone (profiling one) */
	for (int i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--quick") == 0)
			quick = true;
		else if (strcmp(argv[i], "--agents") == 0 && i + 1 < argc)
			agents = atoi(argv[++i]);
		else if (strcmp(argv[i], "--only") == 0 && i + 1 < argc)
			only = argv[++i];
	}
	if (only && strcmp(only, "sqlite") && strcmp(only, "pg2") && strcmp(only, "pg1")) {
		fprintf(stderr, "bench/hive: --only sqlite, pg2 or pg1\n");
		return 2;
	}
	if (agents < 1 || agents > 60000) {
		fprintf(stderr, "bench/hive: --agents from 1 to 60000\n");
		return 2;
	}
	/* selftests/tools/pg-temp: run from the source tree, as bench/run does */
	const char *src = getenv("IMMUNE_SRC") ? getenv("IMMUNE_SRC") : ".";
	char dir[] = "/tmp/immune-bench-hive.XXXXXX", cmd[4096];
	if (!mkdtemp(dir))
		return 1;
	/* every agent is a socket here and at a Hive (which inherits this): as many as allowed */
	struct rlimit rl;
	getrlimit(RLIMIT_NOFILE, &rl);
	rl.rlim_cur = rl.rlim_max;
	setrlimit(RLIMIT_NOFILE, &rl);
	if (rl.rlim_cur < (rlim_t)agents + 256) {
		fprintf(stderr, "bench/hive: %d agents need %d descriptors, RLIMIT_NOFILE allows %llu: fewer agents, "
				"or raise the hard limit\n", agents, agents + 256, (unsigned long long)rl.rlim_cur);
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	snprintf(cmd, sizeof(cmd),
		 "cd %s && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.pem"
		 " -days 2 -subj /CN=bench-ca 2>/dev/null && "
		 "for n in hive agent; do openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout $n.key"
		 " -out $n.csr -subj /CN=$n 2>/dev/null && printf 'subjectAltName=DNS:localhost\\n' > $n.ext &&"
		 " openssl x509 -req -in $n.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out $n.pem -days 2"
		 " -extfile $n.ext 2>/dev/null; done",
		 dir);
	if (sh(cmd))
		return 1;
	/* a realistic incident document, ~1 KiB */
	const char *doc = "{\"@timestamp\":\"2026-11-24T06:00:00.000000000Z\",\"event\":{\"kind\":\"alert\",\"category\":"
			  "[\"process\"],\"type\":[\"start\"],\"action\":\"exec\",\"outcome\":\"success\",\"severity\":73},"
			  "\"process\":{\"pid\":4242,\"thread\":{\"id\":4242},\"executable\":\"/tmp/x\",\"name\":\"x\","
			  "\"args\":[\"/tmp/x\",\"--flag\"],\"args_count\":2,\"command_line\":\"/tmp/x --flag\","
			  "\"working_directory\":\"/root\",\"parent\":{\"pid\":1,\"executable\":\"/usr/bin/bash\","
			  "\"command_line\":\"bash -i\"}},\"user\":{\"id\":\"0\",\"name\":\"root\"},\"group\":{\"id\":\"0\"},"
			  "\"file\":{\"path\":\"/tmp/x\",\"inode\":\"123\",\"device\":\"65024\"},\"host\":{\"name\":\"h\"},"
			  "\"rule\":{\"id\":\"6f1e0a01-3c2d-4b8e-9a01-000000000001\",\"name\":\"Execution From a World-"
			  "Writable Temporary Directory\",\"level\":\"high\",\"author\":\"IMMUNE\",\"ruleset\":\"builtin\","
			  "\"tags\":[\"attack.execution\",\"attack.t1059\"]},\"threat\":{\"framework\":\"MITRE ATT&CK\","
			  "\"technique\":{\"id\":[\"T1059\"]}},\"immune\":{\"truncated\":[],\"action\":\"alert\","
			  "\"verdict\":\"alerted\"}}";
	make_item_tail(doc);
	setvbuf(stdout, NULL, _IOLBF, 0); /* each line as it is measured */
	printf("bench/hive: simulated agents over loopback mutual TLS 1.3 against immuned --role hive: one instance on "
	       "SQLite (WAL) beside two instances on one PostgreSQL(synchronous_commit on: acks after a durable "
	       "commit), on this machine; each agent sends a batch and waits for its ack\n");
	int n = quick ? 1000 : agents, rounds = quick ? 2 : 3, batch = quick ? 25 : 20;
	int lite = !only || strcmp(only, "sqlite") == 0 ? run(build, dir, NULL, 1, n, rounds, batch) : -1;
	/* its own directory: the cluster's owner (nobody) cannot enter ours (0700) */
	char pgdir[] = "/tmp/immune-bench-pg.XXXXXX", uri[700] = "";
	if (!mkdtemp(pgdir))
		return 1;
	/* tuned for the load, durability kept: big WAL buffers, rare checkpoints, group commit */
	snprintf(cmd, sizeof(cmd),
		 "IMMUNE_PG_OWNER=%d %s/selftests/tools/pg-temp start %s shared_buffers=512MB wal_buffers=64MB max_wal_size=8GB "
		 "checkpoint_timeout=30min commit_delay=200 max_connections=50 wal_init_zero=off",
		 (int)getpid(), src, pgdir);
	bool pg = !only || strncmp(only, "pg", 2) == 0;
	FILE *p = pg && geteuid() == 0 ? popen(cmd, "r") : NULL;
	if (!pg) {
		/* --only sqlite */
	} else if (!p || !fgets(uri, sizeof(uri), p) || pclose(p) != 0 || strncmp(uri, "postgresql://", 13)) {
		printf("PostgreSQL: SKIPPED (%s)\n", geteuid() ? "needs root: initdb runs as nobody" : "pg-temp failed");
	} else {
		uri[strcspn(uri, "\n")] = 0;
		/* its shared buffers in use, as on a server that has run a while: a fresh cluster pays
		 * the first touch of each of their 512 MB inside the first measured run (an unlogged
		 * table of 600 MB through them, then dropped; no WAL) */
		char err[512];
		struct store *w = store_open(uri, err, sizeof(err));
		if (!w || store_exec(w, "CREATE UNLOGGED TABLE bench_warm (t TEXT); INSERT INTO bench_warm SELECT"
					" repeat('x', 1500) FROM generate_series(1, 400000); DROP TABLE bench_warm"))
			printf("PostgreSQL: the shared buffers were not warmed: %s\n", w ? store_err(w) : err);
		store_close(w);
		bool all = !only;
		int two = all || strcmp(only, "pg2") == 0 ? run(build, dir, uri, 2, n, rounds, batch) : -1;
		int one = (all && !quick) || (only && strcmp(only, "pg1") == 0) ?
				  run(build, dir, uri, 1, n, rounds, batch) : -1;
		if (lite > 0 && two > 0)
			printf("two instances on PostgreSQL / one on SQLite: %.2fx incidents/s\n", (double)two / lite);
		if (one > 0 && two > 0)
			printf("two instances / one instance, both on PostgreSQL: %.2fx\n", (double)two / one);
		if (all || strcmp(only, "pg2") == 0)
			printf("target >= 50,000 incidents/s stored with %d agents over two instances on PostgreSQL: %s\n",
			       n, two >= 50000 ? "met" : two < 0 ? "NOT met (incidents missing)" : "NOT met");
		snprintf(cmd, sizeof(cmd), "%s/selftests/tools/pg-temp stop %s", src, pgdir);
		sh(cmd);
	}
	snprintf(cmd, sizeof(cmd), "rm -rf %s", pgdir);
	sh(cmd);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	sh(cmd);
	return 0;
}
