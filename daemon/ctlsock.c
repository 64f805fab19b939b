/*
 * The control socket server. One epoll set holds the listener, the clients
 * and an idle timer, so the daemon's loop watches a single fd however many
 * clients there are. Replies are buffered and written as the socket drains,
 * so a slow client never blocks the sensor.
 */
#include "ctlsock.h"
#include "mkdir_p.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#ifndef IMMUNE_VERSION
#define IMMUNE_VERSION "0"
#endif

#define MAX_CLIENTS   64
#define MAX_REQUEST   (1 << 20)  /* bytes of one request line */
#define IDLE_SECONDS  30         /* a client silent this long is dropped */
#define MAX_EVENTS    32
#define MAX_GROUPS    256

struct command {
	char *name;
	ctl_handler_fn fn;
	void *ctx;
	unsigned flags;
};

struct status_fn {
	ctl_status_fn fn;
	void *ctx;
};

struct client {
	int fd;
	struct ctl_peer peer;
	char *in;
	size_t in_len, in_cap;
	char *out;
	size_t out_len, out_off, out_cap;
	bool eof;       /* peer shut its side: answer what is left, then close */
	uint32_t events; /* what epoll watches for it now */
	time_t last;
	struct client *next;
};

struct ctlsock {
	int ep, lfd, tfd;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	gid_t admin_gid;
	struct command *cmds;
	size_t ncmds;
	struct status_fn *status;
	size_t nstatus;
	struct client *clients;
	int nclients;
	struct timespec started;
	int64_t started_ns;
};

/* epoll tags for the two fds that are not clients */
static char tag_listen, tag_timer;

/* reply_error() is used before its definition by the size guard in client_read() */
static void reply_error(struct client *c, const char *code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

int ctl_error(cJSON *reply, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	cJSON *f = cJSON_CreateFalse();
	if (cJSON_GetObjectItemCaseSensitive(reply, "ok"))
		cJSON_ReplaceItemInObjectCaseSensitive(reply, "ok", f);
	else
		cJSON_AddItemToObject(reply, "ok", f);
	cJSON_DeleteItemFromObjectCaseSensitive(reply, "error");
	cJSON_AddStringToObject(reply, "error", msg);
	return -1;
}

const char *ctl_str(const cJSON *req, const char *key)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(req, key);
	return cJSON_IsString(it) ? it->valuestring : NULL;
}

bool ctl_bool(const cJSON *req, const char *key, bool dflt)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(req, key);
	return cJSON_IsBool(it) ? cJSON_IsTrue(it) : dflt;
}

long long ctl_int(const cJSON *req, const char *key)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(req, key);

	if (!it)
		return -1;
	/* cJSON keeps numbers as doubles: epoch ns (~1.7e18) come with ~256 ns steps, fine for filters */
	if (!cJSON_IsNumber(it) || it->valuedouble < 0 || it->valuedouble >= 9.2e18 ||
	    it->valuedouble != (double)(long long)it->valuedouble)
		return -2;
	return (long long)it->valuedouble;
}

/* ---- commands -------------------------------------------------------------- */

static struct command *find_cmd(struct ctlsock *cs, const char *name)
{
	for (size_t i = 0; i < cs->ncmds; i++)
		if (!strcmp(cs->cmds[i].name, name))
			return &cs->cmds[i];
	return NULL;
}

int ctlsock_register(struct ctlsock *cs, const char *cmd, ctl_handler_fn fn, void *ctx, unsigned flags)
{
	struct command *c;

	if (!cs || !cmd || !*cmd || !fn)
		return -EINVAL;
	c = find_cmd(cs, cmd);
	if (!c) {
		struct command *n = realloc(cs->cmds, (cs->ncmds + 1) * sizeof(*n));
		if (!n)
			return -ENOMEM;
		cs->cmds = n;
		c = &cs->cmds[cs->ncmds];
		c->name = strdup(cmd);
		if (!c->name)
			return -ENOMEM;
		cs->ncmds++;
	}
	c->fn = fn;
	c->ctx = ctx;
	c->flags = flags;
	return 0;
}

int ctlsock_add_status(struct ctlsock *cs, ctl_status_fn fn, void *ctx)
{
	struct status_fn *n;

	if (!cs || !fn)
		return -EINVAL;
	n = realloc(cs->status, (cs->nstatus + 1) * sizeof(*n));
	if (!n)
		return -ENOMEM;
	cs->status = n;
	cs->status[cs->nstatus++] = (struct status_fn){ fn, ctx };
	return 0;
}

static int cmd_status(const cJSON *req, cJSON *reply, const struct ctl_peer *peer, void *ctx)
{
	struct ctlsock *cs = ctx;
	struct timespec now;

	(void)req;
	(void)peer;
	clock_gettime(CLOCK_MONOTONIC, &now);
	double up = (double)(now.tv_sec - cs->started.tv_sec) + (now.tv_nsec - cs->started.tv_nsec) / 1e9;
	cJSON_AddStringToObject(reply, "version", IMMUNE_VERSION);
	cJSON_AddNumberToObject(reply, "pid", getpid());
	cJSON_AddNumberToObject(reply, "uptime_s", (double)(long long)(up * 1000) / 1000);
	cJSON_AddNumberToObject(reply, "started_ns", (double)cs->started_ns);
	for (size_t i = 0; i < cs->nstatus; i++)
		cs->status[i].fn(reply, cs->status[i].ctx);
	return 0;
}

static int cmd_help(const cJSON *req, cJSON *reply, const struct ctl_peer *peer, void *ctx)
{
	struct ctlsock *cs = ctx;
	cJSON *arr = cJSON_AddArrayToObject(reply, "commands");

	(void)req;
	(void)peer;
	for (size_t i = 0; arr && i < cs->ncmds; i++) {
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "cmd", cs->cmds[i].name);
		cJSON_AddBoolToObject(o, "admin", (cs->cmds[i].flags & CTL_ADMIN) != 0);
		cJSON_AddItemToArray(arr, o);
	}
	return 0;
}

/* ---- clients --------------------------------------------------------------- */

static void peer_log(const struct ctl_peer *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void peer_log(const struct ctl_peer *p, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "immuned: control socket: peer pid %d uid %u: %s\n", (int)p->pid, (unsigned)p->uid, msg);
}

static void client_close(struct ctlsock *cs, struct client *c)
{
	struct client **pp;

	for (pp = &cs->clients; *pp; pp = &(*pp)->next) {
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	}
	epoll_ctl(cs->ep, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	free(c->in);
	free(c->out);
	free(c);
	cs->nclients--;
}

static int out_append(struct client *c, const char *s, size_t n)
{
	if (c->out_off && c->out_off == c->out_len)
		c->out_off = c->out_len = 0;
	if (c->out_len + n > c->out_cap) {
		size_t cap = c->out_cap ? c->out_cap : 4096;
		while (cap < c->out_len + n)
			cap *= 2;
		char *p = realloc(c->out, cap);
		if (!p)
			return -ENOMEM;
		c->out = p;
		c->out_cap = cap;
	}
	memcpy(c->out + c->out_len, s, n);
	c->out_len += n;
	return 0;
}

/* Write what the socket takes; 0 while the client stays, -1 to close it. */
static int client_flush(struct ctlsock *cs, struct client *c)
{
	while (c->out_off < c->out_len) {
		ssize_t w = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			return -1;
		}
		c->out_off += (size_t)w;
	}
	bool pending = c->out_off < c->out_len;
	/* a half-closed socket stays readable: stop watching it or the loop spins */
	uint32_t want = (c->eof ? 0 : EPOLLIN | EPOLLRDHUP) | (pending ? EPOLLOUT : 0);
	if (want != c->events) {
		struct epoll_event ev = { .events = want, .data.ptr = c };
		epoll_ctl(cs->ep, EPOLL_CTL_MOD, c->fd, &ev);
		c->events = want;
	}
	if (!pending)
		c->out_off = c->out_len = 0;
	return !pending && c->eof ? -1 : 0;
}

static void reply_json(struct client *c, cJSON *reply)
{
	char *s = cJSON_PrintUnformatted(reply);

	if (!s) {
		static const char oom[] = "{\"ok\":false,\"error\":\"out of memory building the reply\"}\n";
		out_append(c, oom, sizeof(oom) - 1);
		return;
	}
	if (out_append(c, s, strlen(s)) == 0)
		out_append(c, "\n", 1);
	cJSON_free(s);
}

static void reply_error(struct client *c, const char *code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void reply_error(struct client *c, const char *code, const char *fmt, ...)
{
	cJSON *r = cJSON_CreateObject();
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (r) {
		ctl_error(r, "%s", msg);
		if (code)
			cJSON_AddStringToObject(r, "code", code);
		reply_json(c, r);
		cJSON_Delete(r);
	}
}

static void handle_line(struct ctlsock *cs, struct client *c, const char *line, size_t len)
{
	const char *end = NULL;
	cJSON *req, *reply;
	const char *name;
	struct command *cmd;

	while (len && (line[len - 1] == '\r' || line[len - 1] == ' ' || line[len - 1] == '\t'))
		len--;
	if (len == 0)
		return; /* blank keep-alive lines are not requests */
	req = cJSON_ParseWithLengthOpts(line, len, &end, 0);
	if (!req || !cJSON_IsObject(req)) {
		const char *where = req ? end : cJSON_GetErrorPtr();
		size_t at = where && where >= line && where <= line + len ? (size_t)(where - line) : 0;
		peer_log(&c->peer, "request is not a JSON object (byte %zu)", at);
		reply_error(c, "bad-request", "request is not a JSON object (byte %zu of %zu)", at, len);
		cJSON_Delete(req);
		return;
	}
	name = ctl_str(req, "cmd");
	reply = cJSON_CreateObject();
	if (!reply) {
		cJSON_Delete(req);
		reply_error(c, NULL, "out of memory");
		return;
	}
	const cJSON *id = cJSON_GetObjectItemCaseSensitive(req, "id");
	/* "ok" first, so that a human reading a raw reply sees it at once */
	cJSON_AddTrueToObject(reply, "ok");
	if (!name) {
		ctl_error(reply, "request has no \"cmd\" string");
		cJSON_AddStringToObject(reply, "code", "bad-request");
	} else if (!(cmd = find_cmd(cs, name))) {
		ctl_error(reply, "unknown command \"%.64s\" (\"help\" lists them)", name);
		cJSON_AddStringToObject(reply, "code", "unknown-command");
	} else if ((cmd->flags & CTL_ADMIN) && !c->peer.admin) {
		peer_log(&c->peer, "refused \"%s\": not root nor in the admin group", name);
		ctl_error(reply, "permission denied: \"%s\" needs root or the admin group (peer uid %u)", name,
			  (unsigned)c->peer.uid);
		cJSON_AddStringToObject(reply, "code", "denied");
	} else {
		if (cmd->fn(req, reply, &c->peer, cmd->ctx) != 0 &&
		    !cJSON_GetObjectItemCaseSensitive(reply, "error"))
			ctl_error(reply, "\"%s\" failed", name);
	}
	if (id && (cJSON_IsNumber(id) || cJSON_IsString(id)))
		cJSON_AddItemToObject(reply, "id", cJSON_Duplicate(id, 0));
	reply_json(c, reply);
	cJSON_Delete(reply);
	cJSON_Delete(req);
}

/* Answer every complete line; returns requests answered. */
static int client_process(struct ctlsock *cs, struct client *c)
{
	size_t start = 0;
	int served = 0;

	for (;;) {
		char *nl = memchr(c->in + start, '\n', c->in_len - start);
		if (!nl)
			break;
		handle_line(cs, c, c->in + start, (size_t)(nl - (c->in + start)));
		start = (size_t)(nl - c->in) + 1;
		served++;
	}
	/* A last request without its newline, ended by shutdown(SHUT_WR), counts too. */
	if (c->eof && start < c->in_len) {
		handle_line(cs, c, c->in + start, c->in_len - start);
		start = c->in_len;
		served++;
	}
	memmove(c->in, c->in + start, c->in_len - start);
	c->in_len -= start;
	return served;
}

/* Read what is there; -1 to close the client now. */
static int client_read(struct ctlsock *cs, struct client *c, int *served)
{
	for (;;) {
		if (c->in_cap - c->in_len < 4096) {
			size_t cap = c->in_cap ? c->in_cap * 2 : 8192;
			if (cap > MAX_REQUEST + 8192) {
				peer_log(&c->peer, "request longer than %d bytes, dropped", MAX_REQUEST);
				reply_error(c, "bad-request", "request longer than %d bytes", MAX_REQUEST);
				c->eof = true;
				c->in_len = 0;
				shutdown(c->fd, SHUT_RD);
				return 0;
			}
			char *p = realloc(c->in, cap);
			if (!p)
				return -1;
			c->in = p;
			c->in_cap = cap;
		}
		ssize_t r = recv(c->fd, c->in + c->in_len, c->in_cap - c->in_len, 0);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			return -1;
		}
		if (r == 0) {
			c->eof = true;
			break;
		}
		c->in_len += (size_t)r;
		*served += client_process(cs, c);
	}
	*served += client_process(cs, c);
	return 0;
}

static bool in_group(const gid_t *groups, int n, gid_t g)
{
	for (int i = 0; i < n; i++)
		if (groups[i] == g)
			return true;
	return false;
}

static void accept_clients(struct ctlsock *cs)
{
	for (;;) {
		int fd = accept4(cs->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				fprintf(stderr, "immuned: control socket: accept: %s\n", strerror(errno));
			return;
		}
		struct ucred cred;
		socklen_t len = sizeof(cred);
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len)) {
			fprintf(stderr, "immuned: control socket: SO_PEERCRED: %s; client dropped\n", strerror(errno));
			close(fd);
			continue;
		}
		struct client *c = calloc(1, sizeof(*c));
		if (!c) {
			close(fd);
			continue;
		}
		c->fd = fd;
		c->peer.pid = cred.pid;
		c->peer.uid = cred.uid;
		c->peer.gid = cred.gid;
		c->peer.admin = cred.uid == 0;
		if (!c->peer.admin && cs->admin_gid != CTLSOCK_NO_GROUP) {
			gid_t groups[MAX_GROUPS];
			socklen_t glen = sizeof(groups);
			c->peer.admin = cred.gid == cs->admin_gid;
			/* the supplementary groups the peer had at connect(), not now */
			if (!c->peer.admin && getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &glen) == 0)
				c->peer.admin = in_group(groups, (int)(glen / sizeof(gid_t)), cs->admin_gid);
		}
		c->last = time(NULL);
		if (cs->nclients >= MAX_CLIENTS) {
			static const char busy[] = "{\"ok\":false,\"error\":\"too many control clients, try again\"}\n";
			peer_log(&c->peer, "dropped: %d clients already connected", MAX_CLIENTS);
			send(fd, busy, sizeof(busy) - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
			close(fd);
			free(c);
			continue;
		}
		struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP, .data.ptr = c };
		c->events = ev.events;
		if (epoll_ctl(cs->ep, EPOLL_CTL_ADD, fd, &ev)) {
			close(fd);
			free(c);
			continue;
		}
		c->next = cs->clients;
		cs->clients = c;
		cs->nclients++;
	}
}

static void sweep_idle(struct ctlsock *cs)
{
	uint64_t ticks;
	time_t now = time(NULL);
	struct client *c, *next;

	while (read(cs->tfd, &ticks, sizeof(ticks)) > 0)
		;
	for (c = cs->clients; c; c = next) {
		next = c->next;
		if (now - c->last > IDLE_SECONDS)
			client_close(cs, c);
	}
}

int ctlsock_dispatch(struct ctlsock *cs)
{
	struct epoll_event evs[MAX_EVENTS];
	int served = 0, rounds = 0, n;

	/* Bounded, so a flood of clients cannot starve the event loop. */
	while (rounds++ < 8 && (n = epoll_wait(cs->ep, evs, MAX_EVENTS, 0)) > 0) {
		for (int i = 0; i < n; i++) {
			void *tag = evs[i].data.ptr;
			if (tag == &tag_listen) {
				accept_clients(cs);
				continue;
			}
			if (tag == &tag_timer) {
				sweep_idle(cs);
				/* the sweep may have freed clients named later in evs */
				goto next_round;
			}
			struct client *c = tag;
			c->last = time(NULL);
			if (evs[i].events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP)) {
				if (client_read(cs, c, &served)) {
					client_close(cs, c);
					continue;
				}
			}
			if (evs[i].events & EPOLLERR) {
				client_close(cs, c);
				continue;
			}
			if (client_flush(cs, c))
				client_close(cs, c);
		}
	next_round:;
	}
	return served;
}

/* ---- open / close ---------------------------------------------------------- */

static int fail(char *err, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t n, const char *fmt, ...)
{
	va_list ap;

	if (err && n) {
		va_start(ap, fmt);
		vsnprintf(err, n, fmt, ap);
		va_end(ap);
	}
	return -1;
}

/* Remove a socket file nobody listens on; refuse to take over a live one. */
static int clear_stale(const char *path, char *err, size_t n)
{
	struct stat st;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, r;

	if (lstat(path, &st)) {
		if (errno == ENOENT)
			return 0;
		return fail(err, n, "%s: %s", path, strerror(errno));
	}
	if (!S_ISSOCK(st.st_mode))
		return fail(err, n, "%s exists and is not a socket; not removing it", path);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return fail(err, n, "socket: %s", strerror(errno));
	r = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
	close(fd);
	if (r == 0)
		return fail(err, n, "%s: another daemon is serving it", path);
	if (unlink(path) && errno != ENOENT)
		return fail(err, n, "removing stale %s: %s", path, strerror(errno));
	return 0;
}

struct ctlsock *ctlsock_open(const char *path, gid_t admin_gid, char *err, size_t n)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct ctlsock *cs;
	char dir[sizeof(sa.sun_path)];
	char *slash;

	if (!path)
		path = CTLSOCK_PATH;
	if (strlen(path) >= sizeof(sa.sun_path)) {
		fail(err, n, "socket path %s is longer than %zu bytes", path, sizeof(sa.sun_path) - 1);
		return NULL;
	}
	cs = calloc(1, sizeof(*cs));
	if (!cs) {
		fail(err, n, "out of memory");
		return NULL;
	}
	cs->ep = cs->lfd = cs->tfd = -1;
	cs->admin_gid = admin_gid;
	snprintf(cs->path, sizeof(cs->path), "%s", path);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	clock_gettime(CLOCK_MONOTONIC, &cs->started);
	struct timespec rt;
	clock_gettime(CLOCK_REALTIME, &rt);
	cs->started_ns = (int64_t)rt.tv_sec * 1000000000 + rt.tv_nsec;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		int r = mkdir_p(dir, 0755);
		if (r) {
			fail(err, n, "cannot create %s: %s", dir, strerror(-r));
			goto err;
		}
	}
	if (clear_stale(cs->path, err, n))
		goto err;

	cs->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (cs->lfd < 0) {
		fail(err, n, "socket: %s", strerror(errno));
		goto err;
	}
	/* bind() creates the file with the umask: make it 0600 from the start, no window */
	mode_t old = umask(0177);
	int r = bind(cs->lfd, (struct sockaddr *)&sa, sizeof(sa));
	int bind_errno = errno;
	umask(old);
	if (r) {
		fail(err, n, "bind %s: %s", cs->path, strerror(bind_errno));
		goto err;
	}
	if (admin_gid != CTLSOCK_NO_GROUP) {
		if (chown(cs->path, (uid_t)-1, admin_gid) || chmod(cs->path, 0660)) {
			fail(err, n, "giving %s to group %u: %s", cs->path, (unsigned)admin_gid, strerror(errno));
			unlink(cs->path);
			goto err;
		}
	}
	if (listen(cs->lfd, 64)) {
		fail(err, n, "listen %s: %s", cs->path, strerror(errno));
		unlink(cs->path);
		goto err;
	}

	cs->ep = epoll_create1(EPOLL_CLOEXEC);
	cs->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	struct itimerspec its = { .it_interval = { IDLE_SECONDS / 3, 0 }, .it_value = { IDLE_SECONDS / 3, 0 } };
	struct epoll_event le = { .events = EPOLLIN, .data.ptr = &tag_listen };
	struct epoll_event te = { .events = EPOLLIN, .data.ptr = &tag_timer };
	if (cs->ep < 0 || cs->tfd < 0 || timerfd_settime(cs->tfd, 0, &its, NULL) ||
	    epoll_ctl(cs->ep, EPOLL_CTL_ADD, cs->lfd, &le) || epoll_ctl(cs->ep, EPOLL_CTL_ADD, cs->tfd, &te)) {
		fail(err, n, "control socket event set: %s", strerror(errno));
		unlink(cs->path);
		goto err;
	}
	if (ctlsock_register(cs, "status", cmd_status, cs, 0) || ctlsock_register(cs, "help", cmd_help, cs, 0)) {
		fail(err, n, "out of memory");
		unlink(cs->path);
		goto err;
	}
	return cs;
err:
	if (cs->lfd >= 0)
		close(cs->lfd);
	if (cs->tfd >= 0)
		close(cs->tfd);
	if (cs->ep >= 0)
		close(cs->ep);
	for (size_t i = 0; i < cs->ncmds; i++)
		free(cs->cmds[i].name);
	free(cs->cmds);
	free(cs);
	return NULL;
}

void ctlsock_close(struct ctlsock *cs)
{
	if (!cs)
		return;
	while (cs->clients)
		client_close(cs, cs->clients);
	close(cs->lfd);
	close(cs->tfd);
	close(cs->ep);
	unlink(cs->path);
	for (size_t i = 0; i < cs->ncmds; i++)
		free(cs->cmds[i].name);
	free(cs->cmds);
	free(cs->status);
	free(cs);
}

int ctlsock_fd(const struct ctlsock *cs)
{
	return cs->ep;
}

const char *ctlsock_path(const struct ctlsock *cs)
{
	return cs->path;
}
