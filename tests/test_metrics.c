/* The metrics endpoint: addresses, the exposition's escaping, HTTP answers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "metrics.h"

static void test_parse_addr(void **s)
{
	(void)s;
	struct sockaddr_storage ss;
	char err[256], ip[64];
	struct sockaddr_in *v4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&ss;
	/* no address: loopback */
	assert_int_equal(metrics_parse_addr("9101", &ss, err, sizeof(err)), 0);
	assert_int_equal(ss.ss_family, AF_INET);
	assert_string_equal(inet_ntop(AF_INET, &v4->sin_addr, ip, sizeof(ip)), "127.0.0.1");
	assert_int_equal(ntohs(v4->sin_port), 9101);
	assert_int_equal(metrics_parse_addr(":9102", &ss, err, sizeof(err)), 0);
	assert_string_equal(inet_ntop(AF_INET, &v4->sin_addr, ip, sizeof(ip)), "127.0.0.1");
	assert_int_equal(metrics_parse_addr("0.0.0.0:9103", &ss, err, sizeof(err)), 0);
	assert_string_equal(inet_ntop(AF_INET, &v4->sin_addr, ip, sizeof(ip)), "0.0.0.0");
	assert_int_equal(metrics_parse_addr("[::1]:9104", &ss, err, sizeof(err)), 0);
	assert_int_equal(ss.ss_family, AF_INET6);
	assert_int_equal(ntohs(v6->sin6_port), 9104);
	assert_int_equal(metrics_parse_addr("::1:9104", NULL, err, sizeof(err)), -1);
	assert_string_equal(err, "'::1:9104': an IPv6 address goes in brackets: [ADDR6]:PORT");
	assert_int_equal(metrics_parse_addr("localhost:9104", NULL, err, sizeof(err)), -1);
	assert_string_equal(err, "'localhost:9104': 'localhost' is not an IP address (names are not resolved)");
	assert_int_equal(metrics_parse_addr("127.0.0.1:0", NULL, err, sizeof(err)), -1);
	assert_string_equal(err, "'127.0.0.1:0': the port must be 1-65535");
	assert_int_equal(metrics_parse_addr("127.0.0.1:", NULL, err, sizeof(err)), -1);
	assert_int_equal(metrics_parse_addr("[::1]9104", NULL, err, sizeof(err)), -1);
	assert_string_equal(err, "'[::1]9104': expected PORT, ADDR:PORT or [ADDR6]:PORT");
}

/* A free loopback port, found by binding port 0. */
static int free_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t l = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &l), 0);
	close(fd);
	return ntohs(a.sin_port);
}

/* One request, answered while the server is driven as the daemon's loop drives it. */
static char *http(struct metrics *m, int port, const char *req)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	connect(fd, (struct sockaddr *)&a, sizeof(a));
	size_t cap = 1 << 20, got = 0;
	char *buf = calloc(1, cap);
	bool sent = false;
	for (int i = 0; i < 2000; i++) {
		metrics_dispatch(m);
		if (!sent && write(fd, req, strlen(req)) == (ssize_t)strlen(req))
			sent = true;
		ssize_t r = read(fd, buf + got, cap - 1 - got);
		if (r == 0)
			break;
		if (r > 0)
			got += r;
		usleep(1000);
	}
	close(fd);
	buf[got] = 0;
	return buf;
}

static void test_endpoint(void **s)
{
	(void)s;
	char err[256], addr[32];
	int port = free_port();
	snprintf(addr, sizeof(addr), "127.0.0.1:%d", port);
	uint64_t reloads = 3, refused = 1, decode = 0;
	struct metrics_sources src = { .reloads = &reloads, .reload_failures = &refused, .decode_errors = &decode };
	struct metrics *m = metrics_open(addr, &src, err, sizeof(err));
	assert_non_null(m);
	/* the port is taken now */
	assert_null(metrics_open(addr, &src, err, sizeof(err)));
	assert_non_null(strstr(err, "Address already in use"));

	metrics_count_incident(m, "r-1", "high");
	metrics_count_incident(m, "r-1", "high");
	metrics_count_incident(m, "we\"ird\\\nrule\xff", "low");
	char *r = http(m, port, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
	assert_non_null(strstr(r, "HTTP/1.0 200 OK\r\n"));
	assert_non_null(strstr(r, "Content-Type: text/plain; version=0.0.4; charset=utf-8\r\n"));
	assert_non_null(strstr(r, "# TYPE immune_incidents_total counter\n"));
	assert_non_null(strstr(r, "immune_incidents_total{rule=\"r-1\",level=\"high\"} 2\n"));
	assert_non_null(strstr(r, "immune_incidents_total{rule=\"we\\\"ird\\\\\\nrule\xef\xbf\xbd\",level=\"low\"} 1\n"));
	assert_non_null(strstr(r, "immune_reloads_total{outcome=\"applied\"} 3\n"));
	assert_non_null(strstr(r, "immune_reloads_total{outcome=\"refused\"} 1\n"));
	assert_non_null(strstr(r, "# TYPE process_resident_memory_bytes gauge\n"));
	/* the body is as long as it says */
	const char *cl = strstr(r, "Content-Length: "), *body = strstr(r, "\r\n\r\n");
	assert_non_null(cl);
	assert_int_equal(strtoul(cl + 16, NULL, 10), strlen(body + 4));
	free(r);

	/* HEAD: the length a GET would get, no body */
	r = http(m, port, "HEAD /metrics HTTP/1.0\r\n\r\n");
	assert_non_null(strstr(r, "HTTP/1.0 200 OK\r\n"));
	assert_true(strtoul(strstr(r, "Content-Length: ") + 16, NULL, 10) > 1000);
	assert_string_equal(strstr(r, "\r\n\r\n"), "\r\n\r\n");
	free(r);
	r = http(m, port, "GET /other HTTP/1.0\r\n\r\n");
	assert_non_null(strstr(r, "HTTP/1.0 404 Not Found\r\n"));
	free(r);
	r = http(m, port, "POST /metrics HTTP/1.0\r\n\r\n");
	assert_non_null(strstr(r, "HTTP/1.0 405 Method Not Allowed\r\n"));
	free(r);
	r = http(m, port, "\x01\x02garbage\r\n\r\n");
	assert_non_null(strstr(r, "HTTP/1.0 400 Bad Request\r\n"));
	free(r);
	r = http(m, port, "GET /metrics HTTP/1.0\r\n\r\n");
	assert_non_null(strstr(r, "immune_metrics_scrapes_total{outcome=\"served\"} 2\n"));
	assert_non_null(strstr(r, "immune_metrics_scrapes_total{outcome=\"refused\"} 3\n"));
	free(r);
	metrics_close(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_addr),
		cmocka_unit_test(test_endpoint),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
