/*
 * libFuzzer target: the control socket's reader and request parser, over a
 * real Unix socket. Each input is what one client writes before shutting its
 * side; the server is served in its bounded turns until the client sees the
 * end, and every line it got back must be a JSON object with "ok".
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include "ctlsock.h"

static struct ctlsock *cs;
static char path[108];

/* A command reading every kind of request member the daemon's commands read. */
static int cmd_probe(const cJSON *req, cJSON *reply, const struct ctl_peer *peer, void *ctx)
{
	(void)peer;
	(void)ctx;
	const char *k = ctl_str(req, "kind");
	long long since = ctl_int(req, "since_ns"), limit = ctl_int(req, "limit");
	if (since == -2 || limit == -2)
		return ctl_error(reply, "since_ns and limit must be non-negative integers");
	cJSON_AddStringToObject(reply, "kind", k ? k : "");
	cJSON_AddBoolToObject(reply, "fleet", ctl_bool(req, "fleet", false));
	cJSON_AddNumberToObject(reply, "limit", (double)limit);
	return 0;
}

static void cleanup(void)
{
	ctlsock_close(cs);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!cs) {
		char err[256];
		snprintf(path, sizeof(path), "/tmp/immune-ctl-fuzz-%d.sock", (int)getpid());
		if (!(cs = ctlsock_open(path, CTLSOCK_NO_GROUP, err, sizeof(err)))) {
			fprintf(stderr, "ctl_fuzz: %s\n", err);
			abort();
		}
		ctlsock_register(cs, "probe", cmd_probe, NULL, 0);
		atexit(cleanup);
	}
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)))
		abort();
	size_t off = 0, len = 0, cap = 1 << 16;
	char *in = malloc(cap);
	int turns = 0;
	bool shut = false;
	for (;;) {
		if (off < size) {
			ssize_t w = send(fd, data + off, size - off, MSG_NOSIGNAL);
			if (w > 0)
				off += (size_t)w;
		}
		if (off == size && !shut) {
			shutdown(fd, SHUT_WR);
			shut = true;
		}
		ctlsock_dispatch(cs);
		if (len == cap)
			in = realloc(in, cap *= 2);
		ssize_t r = recv(fd, in + len, cap - len, 0);
		if (r == 0)
			break;
		if (r > 0)
			len += (size_t)r;
		else if (errno != EAGAIN)
			break;
		/* a request over 1 MiB is refused by a close: nothing in the corpus gets near */
		if (++turns > 100000)
			abort();
	}
	close(fd);
	for (char *p = in, *end = in + len; p < end;) {
		char *nl = memchr(p, '\n', (size_t)(end - p));
		if (!nl)
			abort(); /* every reply ends its line */
		cJSON *j = cJSON_ParseWithLength(p, (size_t)(nl - p));
		if (!cJSON_IsObject(j) || !cJSON_IsBool(cJSON_GetObjectItemCaseSensitive(j, "ok")))
			abort();
		cJSON_Delete(j);
		p = nl + 1;
	}
	free(in);
	return 0;
}
