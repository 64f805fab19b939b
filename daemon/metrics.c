/*
 * The Prometheus text exposition (format 0.0.4) over a small non-blocking
 * HTTP/1.0 server. Every family is written on each scrape from the live
 * state: nothing is cached, so a scrape never shows a count older than the
 * request.
 */
#include "metrics.h"
#include "counters.h"
#include "detect.h"
#include "ebpf.h"
#include "enforce.h"
#include "event_json.h"
#include "frame.h"
#include "hive.h"
#include "hive_tls.h"
#include "immune.h"
#include "jsonw.h"
#include "proc.h"
#include "verdict.h"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#define MAX_CLIENTS 16
#define REQ_MAX 8192
#define CLIENT_TIMEOUT_S 2.0

struct client {
	int fd;
	double since;
	char req[REQ_MAX];
	size_t got;
	char *resp;
	size_t resp_len, sent;
};

struct rule_count {
	char *rule, *level;
	uint64_t n;
};

struct metrics {
	int lfd, ep;
	struct metrics_sources src;
	struct client c[MAX_CLIENTS];
	struct rule_count *rc;
	size_t nrc, caprc;
	uint64_t scrapes, refused;
};

static double mono(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int metrics_parse_addr(const char *s, struct sockaddr_storage *out, char *err, size_t n)
{
	char host[128] = "127.0.0.1", portbuf[16];
	const char *port = s;
	struct sockaddr_storage ss;
	memset(&ss, 0, sizeof(ss));
	if (s[0] == ':' && !strchr(s + 1, ':')) {
		port = s + 1;
	} else if (strchr(s, ':')) {
		if (hive_split_addr(s, host, sizeof(host), portbuf, sizeof(portbuf))) {
			snprintf(err, n, "'%s': expected PORT, ADDR:PORT or [ADDR6]:PORT", s);
			return -1;
		}
		if (s[0] != '[' && strchr(host, ':')) {
			snprintf(err, n, "'%s': an IPv6 address goes in brackets: [ADDR6]:PORT", s);
			return -1;
		}
		port = portbuf;
	}
	char *end;
	errno = 0;
	unsigned long p = strtoul(port, &end, 10);
	if (!*port || *end || errno || p == 0 || p > 65535) {
		snprintf(err, n, "'%s': the port must be 1-65535", s);
		return -1;
	}
	struct sockaddr_in *v4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&ss;
	if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
		v4->sin_family = AF_INET;
		v4->sin_port = htons(p);
	} else if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
		v6->sin6_family = AF_INET6;
		v6->sin6_port = htons(p);
	} else {
		snprintf(err, n, "'%s': '%s' is not an IP address (names are not resolved)", s, host);
		return -1;
	}
	if (out)
		*out = ss;
	return 0;
}

struct metrics *metrics_open(const char *addr, const struct metrics_sources *src, char *err, size_t n)
{
	struct sockaddr_storage ss;
	if (metrics_parse_addr(addr, &ss, err, n))
		return NULL;
	struct metrics *m = calloc(1, sizeof(*m));
	if (!m) {
		snprintf(err, n, "out of memory");
		return NULL;
	}
	m->src = *src;
	for (int i = 0; i < MAX_CLIENTS; i++)
		m->c[i].fd = -1;
	int one = 1;
	m->lfd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	m->ep = epoll_create1(EPOLL_CLOEXEC);
	if (m->lfd < 0 || m->ep < 0 || setsockopt(m->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(m->lfd, (struct sockaddr *)&ss,
		 ss.ss_family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6)) ||
	    listen(m->lfd, 16)) {
		snprintf(err, n, "%s: %s", addr, strerror(errno));
		goto fail;
	}
	struct epoll_event ev = { .events = EPOLLIN, .data.u32 = UINT32_MAX };
	if (epoll_ctl(m->ep, EPOLL_CTL_ADD, m->lfd, &ev)) {
		snprintf(err, n, "epoll: %s", strerror(errno));
		goto fail;
	}
	return m;
fail:
	if (m->lfd >= 0)
		close(m->lfd);
	if (m->ep >= 0)
		close(m->ep);
	free(m);
	return NULL;
}

static void client_close(struct metrics *m, struct client *c)
{
	if (c->fd < 0)
		return;
	epoll_ctl(m->ep, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	free(c->resp);
	c->fd = -1;
	c->resp = NULL;
}

void metrics_close(struct metrics *m)
{
	if (!m)
		return;
	for (int i = 0; i < MAX_CLIENTS; i++)
		client_close(m, &m->c[i]);
	close(m->lfd);
	close(m->ep);
	for (size_t i = 0; i < m->nrc; i++) {
		free(m->rc[i].rule);
		free(m->rc[i].level);
	}
	free(m->rc);
	free(m);
}

int metrics_fd(const struct metrics *m)
{
	return m->ep;
}

void metrics_count_incident(void *ctx, const char *rule_id, const char *level)
{
	struct metrics *m = ctx;
	rule_id = rule_id ? rule_id : "";
	level = level ? level : "";
	for (size_t i = 0; i < m->nrc; i++) {
		if (strcmp(m->rc[i].rule, rule_id) == 0 && strcmp(m->rc[i].level, level) == 0) {
			m->rc[i].n++;
			return;
		}
	}
	if (m->nrc == m->caprc) {
		size_t cap = m->caprc ? m->caprc * 2 : 32;
		struct rule_count *r = realloc(m->rc, cap * sizeof(*r));
		if (!r)
			return;
		m->rc = r;
		m->caprc = cap;
	}
	char *a = strdup(rule_id), *b = strdup(level);
	if (!a || !b) {
		free(a);
		free(b);
		return;
	}
	m->rc[m->nrc++] = (struct rule_count){ .rule = a, .level = b, .n = 1 };
}

/* ------------------------------------------------------------ exposition */

static void put(struct jw *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(struct jw *w, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n > 0)
		jw_append(w, buf, (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1);
}

static void family(struct jw *w, const char *name, const char *type, const char *help)
{
	put(w, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* A label value as the format wants it: \\, \" and \n escaped, invalid UTF-8 as U+FFFD. */
static void label(struct jw *w, const char *v)
{
	const unsigned char *s = (const unsigned char *)v;
	size_t n = strlen(v);
	jw_append(w, "\"", 1);
	for (size_t i = 0; i < n;) {
		size_t l = utf8_len(s + i, n - i);
		if (!l) {
			jw_append(w, "\xef\xbf\xbd", 3);
			i++;
		} else if (s[i] == '\\' || s[i] == '"') {
			jw_append(w, "\\", 1);
			jw_append(w, (const char *)s + i, 1);
			i++;
		} else if (s[i] == '\n') {
			jw_append(w, "\\n", 2);
			i++;
		} else {
			jw_append(w, (const char *)s + i, l);
			i += l;
		}
	}
	jw_append(w, "\"", 1);
}

/* name{key="value"} value — one label, the common case here. */
static void sample1(struct jw *w, const char *name, const char *key, const char *val, double v)
{
	put(w, "%s{%s=", name, key);
	label(w, val);
	put(w, "} %.17g\n", v);
}

static void sample(struct jw *w, const char *name, double v)
{
	put(w, "%s %.17g\n", name, v);
}

/* The sensor's per-CPU slots (ncpu values each, IMM_ST_MAX slots), or NULL when the map cannot be read. */
static uint64_t *percpu_stats(int *ncpu)
{
	*ncpu = libbpf_num_possible_cpus();
	if (*ncpu <= 0)
		return NULL;
	uint64_t *vals = calloc((size_t)*ncpu * IMM_ST_MAX, sizeof(uint64_t));
	if (vals && ebpf_stat_slots(vals, *ncpu)) {
		free(vals);
		return NULL;
	}
	return vals;
}

/* A by-CPU family: its slot (and the kinds' after it) straight from the map. */
static void percpu_samples(struct jw *w, const struct counter *c, const uint64_t *vals, int ncpu)
{
	int kinds = c->part == CP_KIND ? EBPF_EVENT_TYPES : 1;
	for (int kind = 0; kind < kinds; kind++) {
		const uint64_t *v = vals + (size_t)(c->percpu - 1 + kind) * ncpu;
		for (int cpu = 0; cpu < ncpu; cpu++) {
			if (c->part == CP_KIND)
				put(w, "%s{kind=\"%s\",cpu=\"%d\"} %llu\n", c->metric, event_kind_name(kind), cpu,
				    (unsigned long long)v[cpu]);
			else
				put(w, "%s{cpu=\"%d\"} %llu\n", c->metric, cpu, (unsigned long long)v[cpu]);
		}
	}
}

void metrics_counters(struct jw *w, const struct counter_snap *s, enum counter_part part, const uint64_t *percpu,
		      int ncpu)
{
	const char *last = NULL;
	for (size_t i = 0; i < ncounters; i++) {
		const struct counter *c = &counters[i];
		if (c->part != part || !c->metric || !counter_present(c, s) || (c->percpu && !percpu))
			continue;
		if (!last || strcmp(last, c->metric))
			family(w, c->metric, c->type, c->help);
		last = c->metric;
		if (c->percpu)
			percpu_samples(w, c, percpu, ncpu);
		else if (c->part == CP_KIND)
			for (int kind = 0; kind < EBPF_EVENT_TYPES; kind++)
				sample1(w, c->metric, "kind", event_kind_name(kind), (double)counter_value(c, s, kind));
		else if (c->label_key)
			sample1(w, c->metric, c->label_key, c->label_val, (double)counter_value(c, s, 0));
		else
			sample(w, c->metric, (double)counter_value(c, s, 0));
	}
}

static void sensor(struct jw *w, const struct counter_snap *s)
{
	int ncpu = 0;
	uint64_t *vals = percpu_stats(&ncpu);
	for (enum counter_part p = CP_TOP; p <= CP_SENSOR; p++)
		metrics_counters(w, s, p, vals, ncpu);
	free(vals);
}

static void detection(struct metrics *m, struct jw *w, const struct counter_snap *s)
{
	family(w, "immune_incidents_total", "counter", "Incidents raised, by rule and level.");
	for (size_t i = 0; i < m->nrc; i++) {
		put(w, "immune_incidents_total{rule=");
		label(w, m->rc[i].rule);
		put(w, ",level=");
		label(w, m->rc[i].level);
		put(w, "} %llu\n", (unsigned long long)m->rc[i].n);
	}
	metrics_counters(w, s, CP_DETECT, NULL, 0);
	metrics_counters(w, s, CP_CORR, NULL, 0);
}

struct map_sums {
	uint64_t n[VM_COUNT][2];
	uint64_t hits[VM_COUNT];
};

static int sum_verdict(const struct verdict_entry *e, void *ctx)
{
	struct map_sums *s = ctx;
	if (!e->in_map || (unsigned)e->map >= VM_COUNT)
		return 0;
	s->n[e->map][e->val.action == IMM_ACT_ALLOW]++;
	s->hits[e->map] += e->val.hits;
	return 0;
}

static void enforcement(struct metrics *m, struct jw *w)
{
	family(w, "immune_enforcement_mode", "gauge", "The enforcement mode in force (1 for the one running).");
	sample1(w, "immune_enforcement_mode", "mode", enforce_mode_name(enforce_mode()), 1);
	struct verdicts *v = m->src.verdicts ? *m->src.verdicts : NULL;
	if (!v)
		return;
	struct map_sums s;
	memset(&s, 0, sizeof(s));
	verdict_foreach(v, sum_verdict, &s);
	family(w, "immune_verdicts", "gauge", "Verdicts in the pinned maps, by map and action.");
	for (int i = 0; i < VM_COUNT; i++) {
		for (int a = 0; a < 2; a++) {
			put(w, "immune_verdicts{map=\"%s\",action=\"%s\"} %llu\n", verdict_map_names[i], a ? "allow" : "deny",
			    (unsigned long long)s.n[i][a]);
		}
	}
	family(w, "immune_enforcement_denials", "gauge",
	       "Denials counted on the verdicts now in each map (a deleted verdict takes its count with it).");
	for (int i = 0; i < VM_COUNT; i++)
		sample1(w, "immune_enforcement_denials", "map", verdict_map_names[i], (double)s.hits[i]);
}

static void hive_link(struct metrics *m, struct jw *w)
{
	struct hive_agent *h = m->src.hive ? *m->src.hive : NULL;
	if (!h)
		return;
	cJSON *r = cJSON_CreateObject();
	if (!r)
		return;
	hive_agent_status(h, r);
	const cJSON *o = cJSON_GetObjectItemCaseSensitive(r, "hive");
	const cJSON *link = cJSON_GetObjectItemCaseSensitive(o, "link");
	static const char *const states[] = { "starting", "connecting", "connected", "down", "stopped" };
	family(w, "immune_hive_link_up", "gauge", "1 while the link to the Hive is connected.");
	sample(w, "immune_hive_link_up", cJSON_IsString(link) && strcmp(link->valuestring, "connected") == 0);
	family(w, "immune_hive_link_state", "gauge", "The link's state (1 for the current one).");
	for (size_t i = 0; i < sizeof(states) / sizeof(states[0]); i++)
		sample1(w, "immune_hive_link_state", "state", states[i],
			cJSON_IsString(link) && strcmp(link->valuestring, states[i]) == 0);
	const char *const nums[][4] = {
		{ "sent", "immune_hive_incidents_sent_total", "counter", "Incidents sent to the Hive." },
		{ "acknowledged", "immune_hive_incidents_acknowledged_total", "counter",
		  "Incidents the Hive acknowledged after its commit." },
		{ "connects", "immune_hive_connects_total", "counter", "Connections made to the Hive." },
		{ "unacknowledged", "immune_hive_backlog_incidents", "gauge",
		  "Incidents waiting in the agent's database for the Hive's acknowledgement." },
		{ "verdict_version", "immune_hive_verdict_version", "gauge", "Version of the fleet verdict set applied." },
		{ "refused", "immune_hive_incidents_refused_total", "counter",
		  "Incidents the Hive refused (kept as dead letters) since the start." },
		{ "dead_letters", "immune_hive_dead_letters", "gauge", "Incidents the Hive ever refused, kept in the database." },
		{ "failovers", "immune_hive_failovers_total", "counter",
		  "Sessions opened on a Hive instance further down this agent's order than the last one's." },
		{ "returns", "immune_hive_returns_total", "counter",
		  "Sessions moved back up this agent's order (to a preferred instance after the hold-down)." },
	};
	for (size_t i = 0; i < sizeof(nums) / sizeof(nums[0]); i++) {
		uint64_t v;
		/* exact 64-bit integers on the Hive's side are raw JSON numbers */
		if (frame_u64(cJSON_GetObjectItemCaseSensitive(o, nums[i][0]), &v))
			continue;
		family(w, nums[i][1], nums[i][2], nums[i][3]);
		sample(w, nums[i][1], (double)v);
	}
	/* per instance, in the agent's order */
	const cJSON *insts = cJSON_GetObjectItemCaseSensitive(o, "instances"), *e;
	family(w, "immune_hive_instance_up", "gauge",
	       "1 for the Hive instance the link is connected to now, by instance and rank (0: the primary).");
	int rank = 0;
	cJSON_ArrayForEach(e, insts)
	{
		const char *addr = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "address"));
		const char *st = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "link"));
		put(w, "immune_hive_instance_up{instance=");
		label(w, addr ? addr : "");
		put(w, ",rank=\"%d\"} %d\n", rank++, st && strcmp(st, "connected") == 0);
	}
	family(w, "immune_hive_instance_failures_total", "counter",
	       "Failed attempts and sessions on each Hive instance (each is followed by a backoff).");
	cJSON_ArrayForEach(e, insts)
	{
		const char *addr = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "address"));
		uint64_t v = 0;
		frame_u64(cJSON_GetObjectItemCaseSensitive(e, "failures"), &v);
		sample1(w, "immune_hive_instance_failures_total", "instance", addr ? addr : "", (double)v);
	}
	cJSON_Delete(r);
}

static bool bpf_stats_on(void)
{
	char b[8] = "";
	FILE *f = fopen("/proc/sys/kernel/bpf_stats_enabled", "re");
	if (!f)
		return false;
	bool on = fgets(b, sizeof(b), f) && b[0] == '1';
	fclose(f);
	return on;
}

static void programs(struct metrics *m, struct jw *w)
{
	bool on = bpf_stats_on();
	family(w, "immune_bpf_stats_enabled", "gauge",
	       "1 when kernel.bpf_stats_enabled is on and the programs' run time and count below are kept.");
	sample(w, "immune_bpf_stats_enabled", on);
	if (!on)
		return;
	struct bpf_object *objs[2] = { ebpf_object(), m->src.enforce_object ? m->src.enforce_object() : NULL };
	family(w, "immune_bpf_program_run_seconds_total", "counter", "Time the kernel spent in each program.");
	struct jw runs = { 0 };
	family(&runs, "immune_bpf_program_runs_total", "counter", "Runs of each program.");
	for (int i = 0; i < 2; i++) {
		struct bpf_program *p;
		if (!objs[i])
			continue;
		bpf_object__for_each_program(p, objs[i])
		{
			struct bpf_prog_info info;
			__u32 len = sizeof(info);
			int fd = bpf_program__fd(p);
			memset(&info, 0, sizeof(info));
			if (fd < 0 || bpf_obj_get_info_by_fd(fd, &info, &len))
				continue;
			sample1(w, "immune_bpf_program_run_seconds_total", "program", bpf_program__name(p),
				info.run_time_ns / 1e9);
			sample1(&runs, "immune_bpf_program_runs_total", "program", bpf_program__name(p), (double)info.run_cnt);
		}
	}
	if (runs.len)
		jw_append(w, runs.buf, runs.len);
	jw_free(&runs);
}

static void process(struct metrics *m, struct jw *w)
{
	long pages = 0, rss = 0;
	FILE *f = fopen("/proc/self/statm", "re");
	if (f) {
		if (fscanf(f, "%ld %ld", &pages, &rss) != 2)
			rss = -1;
		fclose(f);
	}
	if (rss >= 0) {
		family(w, "process_resident_memory_bytes", "gauge", "Resident memory of immuned.");
		sample(w, "process_resident_memory_bytes", (double)rss * sysconf(_SC_PAGESIZE));
	}
	family(w, "immune_reloads_total", "counter", "Reloads (SIGHUP or immunectl reload), by outcome.");
	sample1(w, "immune_reloads_total", "outcome", "applied", m->src.reloads ? (double)*m->src.reloads : 0);
	sample1(w, "immune_reloads_total", "outcome", "refused",
		m->src.reload_failures ? (double)*m->src.reload_failures : 0);
	family(w, "immune_metrics_scrapes_total", "counter", "Requests to this endpoint, by outcome.");
	sample1(w, "immune_metrics_scrapes_total", "outcome", "served", (double)m->scrapes);
	sample1(w, "immune_metrics_scrapes_total", "outcome", "refused", (double)m->refused);
}

char *metrics_render(struct metrics *m, size_t *len)
{
	struct jw w = { 0 };
	family(&w, "immune_build_info", "gauge", "The running version of immuned.");
	put(&w, "immune_build_info{version=");
	label(&w, IMMUNE_VERSION);
	put(&w, "} 1\n");
	struct counter_snap cs;
	counter_snap_take(&cs, m->src.detector ? *m->src.detector : NULL, m->src.procs ? *m->src.procs : NULL,
			  m->src.decode_errors ? *m->src.decode_errors : 0);
	sensor(&w, &cs);
	detection(m, &w, &cs);
	enforcement(m, &w);
	hive_link(m, &w);
	programs(m, &w);
	process(m, &w);
	if (!w.buf)
		return NULL;
	*len = w.len;
	return w.buf; /* jw keeps its buffer NUL-terminated */
}

/* ------------------------------------------------------------ HTTP */

/* head_only: a HEAD request, the length said but the body not sent */
static void respond(struct metrics *m, struct client *c, int code, const char *reason, const char *type,
		    const char *body, size_t blen, bool head_only)
{
	char head[256];
	int h = snprintf(head, sizeof(head),
			 "HTTP/1.0 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n", code,
			 reason, type, blen);
	if (head_only)
		blen = 0;
	c->resp = malloc(h + blen);
	if (!c->resp) {
		client_close(m, c);
		return;
	}
	memcpy(c->resp, head, h);
	memcpy(c->resp + h, body, blen);
	c->resp_len = h + blen;
	c->sent = 0;
	struct epoll_event ev = { .events = EPOLLOUT, .data.u32 = (uint32_t)(c - m->c) };
	epoll_ctl(m->ep, EPOLL_CTL_MOD, c->fd, &ev);
}

static void handle_request(struct metrics *m, struct client *c)
{
	static const char text[] = "text/plain; charset=utf-8";
	char method[16], path[256];
	if (sscanf(c->req, "%15s %255s HTTP/1.", method, path) != 2) {
		m->refused++;
		respond(m, c, 400, "Bad Request", text, "bad request\n", 12, false);
		return;
	}
	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
		m->refused++;
		respond(m, c, 405, "Method Not Allowed", text, "GET /metrics\n", 13, false);
		return;
	}
	char *q = strchr(path, '?');
	if (q)
		*q = 0;
	if (strcmp(path, "/metrics") != 0) {
		m->refused++;
		respond(m, c, 404, "Not Found", text, "see /metrics\n", 13, false);
		return;
	}
	size_t len = 0;
	char *body = metrics_render(m, &len);
	if (!body) {
		client_close(m, c);
		return;
	}
	m->scrapes++;
	respond(m, c, 200, "OK", "text/plain; version=0.0.4; charset=utf-8", body, len, strcmp(method, "HEAD") == 0);
	free(body);
}

static void client_io(struct metrics *m, struct client *c)
{
	if (c->resp) {
		while (c->sent < c->resp_len) {
			ssize_t r = write(c->fd, c->resp + c->sent, c->resp_len - c->sent);
			if (r < 0 && errno == EINTR)
				continue;
			if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
				return;
			if (r <= 0)
				break;
			c->sent += r;
		}
		client_close(m, c);
		return;
	}
	for (;;) {
		ssize_t r = read(c->fd, c->req + c->got, sizeof(c->req) - 1 - c->got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (r <= 0) {
			client_close(m, c);
			return;
		}
		c->got += r;
		c->req[c->got] = 0;
		if (strstr(c->req, "\r\n\r\n") || strstr(c->req, "\n\n")) {
			handle_request(m, c);
			if (c->fd >= 0 && c->resp)
				client_io(m, c);
			return;
		}
		if (c->got == sizeof(c->req) - 1) {
			m->refused++;
			respond(m, c, 400, "Bad Request", "text/plain; charset=utf-8", "request too long\n", 17, false);
			return;
		}
	}
}

void metrics_dispatch(struct metrics *m)
{
	struct epoll_event evs[MAX_CLIENTS + 1];
	double now = mono();
	/* a client that holds a slot past its time is closed: a slow scraper cannot starve the others */
	for (int i = 0; i < MAX_CLIENTS; i++)
		if (m->c[i].fd >= 0 && now - m->c[i].since > CLIENT_TIMEOUT_S) {
			m->refused++;
			client_close(m, &m->c[i]);
		}
	int n = epoll_wait(m->ep, evs, MAX_CLIENTS + 1, 0);
	for (int i = 0; i < n; i++) {
		uint32_t id = evs[i].data.u32;
		if (id != UINT32_MAX) {
			if (id < MAX_CLIENTS && m->c[id].fd >= 0)
				client_io(m, &m->c[id]);
			continue;
		}
		int fd;
		while ((fd = accept4(m->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
			int slot = -1;
			for (int k = 0; k < MAX_CLIENTS && slot < 0; k++)
				if (m->c[k].fd < 0)
					slot = k;
			if (slot < 0) {
				m->refused++;
				close(fd);
				continue;
			}
			struct client *c = &m->c[slot];
			c->fd = fd;
			c->since = now;
			c->got = 0;
			c->req[0] = 0;
			struct epoll_event ev = { .events = EPOLLIN, .data.u32 = (uint32_t)slot };
			if (epoll_ctl(m->ep, EPOLL_CTL_ADD, fd, &ev)) {
				close(fd);
				c->fd = -1;
			}
		}
	}
}
