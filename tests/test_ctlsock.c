/*
 * The control socket with a server in this process on a temporary path and
 * real clients: this process, forked children under other uids (when root),
 * and the immunectl binary.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ctlsock.h"

#define TEST_UID 1000
#define TEST_GID 1000
#define ADMIN_GID 4242

static char dir[40], sock_path[96];

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/immune-ctl-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	/* children under another uid must reach the socket to be refused by SO_PEERCRED */
	chmod(dir, 0755);
	snprintf(sock_path, sizeof(sock_path), "%s/run/immune.sock", dir);
	return 0;
}

static int teardown(void **state)
{
	char cmd[160];
	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static struct ctlsock *open_server(gid_t admin)
{
	char err[256] = "";
	struct ctlsock *cs = ctlsock_open(sock_path, admin, err, sizeof(err));
	if (!cs)
		fail_msg("ctlsock_open: %s", err);
	return cs;
}

static int connect_to(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

static void send_str(int fd, const char *s)
{
	size_t n = strlen(s);
	while (n) {
		ssize_t w = send(fd, s, n, MSG_NOSIGNAL);
		assert_true(w > 0);
		s += w;
		n -= (size_t)w;
	}
}

/*
 * Serve until the client has a whole reply line (or the peer closed), then
 * return that line parsed. *raw gets the text when asked.
 */
static cJSON *read_reply(struct ctlsock *cs, int fd, char **raw)
{
	static char *buf;
	static size_t cap;
	size_t len = 0;
	time_t deadline = time(NULL) + 10;

	for (;;) {
		struct pollfd p[2] = { { .fd = ctlsock_fd(cs), .events = POLLIN }, { .fd = fd, .events = POLLIN } };
		assert_true(time(NULL) < deadline);
		poll(p, 2, 50);
		ctlsock_dispatch(cs);
		if (!(p[1].revents & (POLLIN | POLLHUP)))
			continue;
		if (cap - len < 65536) {
			cap = cap ? cap * 2 : 1 << 17;
			buf = realloc(buf, cap);
			assert_non_null(buf);
		}
		ssize_t r = recv(fd, buf + len, cap - len - 1, MSG_DONTWAIT);
		if (r < 0 && errno == EAGAIN)
			continue;
		assert_true(r >= 0);
		if (r == 0)
			break;
		len += (size_t)r;
		if (memchr(buf, '\n', len))
			break;
	}
	buf[len] = '\0';
	char *nl = strchr(buf, '\n');
	if (!nl)
		return NULL;
	*nl = '\0';
	if (raw)
		*raw = buf;
	return cJSON_Parse(buf);
}

static cJSON *rpc(struct ctlsock *cs, const char *req)
{
	int fd = connect_to(sock_path);
	assert_true(fd >= 0);
	send_str(fd, req);
	send_str(fd, "\n");
	cJSON *r = read_reply(cs, fd, NULL);
	close(fd);
	assert_non_null(r);
	return r;
}

static bool ok(const cJSON *r)
{
	return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r, "ok"));
}

static const char *str(const cJSON *r, const char *k)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(r, k);
	return cJSON_IsString(it) ? it->valuestring : "";
}

/* ---- handlers used by the tests ---- */

struct seen {
	int calls;
	struct ctl_peer peer;
	char arg[64];
};

static int h_echo(const cJSON *req, cJSON *reply, const struct ctl_peer *peer, void *ctx)
{
	struct seen *s = ctx;
	s->calls++;
	s->peer = *peer;
	snprintf(s->arg, sizeof(s->arg), "%s", ctl_str(req, "arg") ? ctl_str(req, "arg") : "");
	cJSON_AddStringToObject(reply, "echo", s->arg);
	cJSON_AddNumberToObject(reply, "uid", peer->uid);
	return 0;
}

static int h_fail(const cJSON *req, cJSON *reply, const struct ctl_peer *peer, void *ctx)
{
	(void)req;
	(void)peer;
	(void)ctx;
	return ctl_error(reply, "nothing to %s", "do");
}

static int h_fail_silent(const cJSON *req, cJSON *reply, const struct ctl_peer *peer, void *ctx)
{
	(void)req;
	(void)reply;
	(void)peer;
	(void)ctx;
	return -1;
}

static int h_big(const cJSON *req, cJSON *reply, const struct ctl_peer *peer, void *ctx)
{
	(void)req;
	(void)peer;
	(void)ctx;
	cJSON *arr = cJSON_AddArrayToObject(reply, "items");
	for (int i = 0; i < 200000; i++)
		cJSON_AddItemToArray(arr, cJSON_CreateNumber(i));
	return 0;
}

static void status_extra(cJSON *reply, void *ctx)
{
	cJSON_AddStringToObject(reply, "mode", ctx);
}

/* ---- tests ---- */

static void test_socket_file(void **state)
{
	struct stat st;
	char err[256];

	(void)state;
	struct ctlsock *cs = open_server(CTLSOCK_NO_GROUP);
	assert_string_equal(ctlsock_path(cs), sock_path);
	assert_int_equal(lstat(sock_path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0600);
	/* a second server on a live socket is refused, the first keeps it */
	assert_null(ctlsock_open(sock_path, CTLSOCK_NO_GROUP, err, sizeof(err)));
	assert_non_null(strstr(err, "another daemon"));
	assert_int_equal(lstat(sock_path, &st), 0);
	ctlsock_close(cs);
	assert_int_equal(lstat(sock_path, &st), -1);

	/* a stale socket (nobody listening) is replaced */
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%.100s", sock_path);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(fd);
	cs = open_server(CTLSOCK_NO_GROUP);
	cJSON *r = rpc(cs, "{\"cmd\":\"status\"}");
	assert_true(ok(r));
	cJSON_Delete(r);
	ctlsock_close(cs);

	/* something that is not a socket is left alone */
	int f = open(sock_path, O_CREAT | O_WRONLY, 0600);
	assert_true(f >= 0);
	close(f);
	assert_null(ctlsock_open(sock_path, CTLSOCK_NO_GROUP, err, sizeof(err)));
	assert_non_null(strstr(err, "not a socket"));
	assert_int_equal(unlink(sock_path), 0);

	/* too long for sun_path */
	char longp[200];
	memset(longp, 'a', sizeof(longp) - 1);
	longp[0] = '/';
	longp[sizeof(longp) - 1] = '\0';
	assert_null(ctlsock_open(longp, CTLSOCK_NO_GROUP, err, sizeof(err)));
	assert_non_null(strstr(err, "longer than"));
}

static void test_status_and_help(void **state)
{
	(void)state;
	struct ctlsock *cs = open_server(CTLSOCK_NO_GROUP);
	assert_int_equal(ctlsock_add_status(cs, status_extra, "fallback"), 0);
	char *raw = NULL;
	int fd = connect_to(sock_path);
	send_str(fd, "{\"cmd\":\"status\",\"id\":7}\n");
	cJSON *r = read_reply(cs, fd, &raw);
	close(fd);
	assert_non_null(r);
	/* "ok" comes first in the text */
	assert_true(!strncmp(raw, "{\"ok\":true", 10));
	assert_true(ok(r));
	assert_true(cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(r, "uptime_s")));
	assert_true(cJSON_GetObjectItemCaseSensitive(r, "uptime_s")->valuedouble >= 0);
	assert_int_equal(cJSON_GetObjectItemCaseSensitive(r, "pid")->valueint, getpid());
	assert_string_equal(str(r, "mode"), "fallback");
	assert_int_equal(cJSON_GetObjectItemCaseSensitive(r, "id")->valueint, 7);
	cJSON_Delete(r);

	r = rpc(cs, "{\"cmd\":\"help\"}");
	assert_true(ok(r));
	const cJSON *cmds = cJSON_GetObjectItemCaseSensitive(r, "commands"), *c;
	int found = 0;
	cJSON_ArrayForEach(c, cmds) found += !strcmp(str(c, "cmd"), "status") || !strcmp(str(c, "cmd"), "help");
	assert_int_equal(found, 2);
	cJSON_Delete(r);
	ctlsock_close(cs);
}

static void test_bad_requests(void **state)
{
	(void)state;
	struct ctlsock *cs = open_server(CTLSOCK_NO_GROUP);
	static const struct {
		const char *req, *code, *msg;
	} cases[] = {
		{ "not json", "bad-request", "not a JSON object" },
		{ "[1,2]", "bad-request", "not a JSON object" },
		{ "{\"cmd\":", "bad-request", "not a JSON object" },
		{ "{}", "bad-request", "no \"cmd\"" },
		{ "{\"cmd\":42}", "bad-request", "no \"cmd\"" },
		{ "{\"cmd\":\"selfdestruct\"}", "unknown-command", "unknown command \"selfdestruct\"" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cJSON *r = rpc(cs, cases[i].req);
		assert_false(ok(r));
		assert_string_equal(str(r, "code"), cases[i].code);
		if (!strstr(str(r, "error"), cases[i].msg))
			fail_msg("%s: error '%s'", cases[i].req, str(r, "error"));
		cJSON_Delete(r);
	}
	/* the server is still there after all that */
	cJSON *r = rpc(cs, "{\"cmd\":\"status\"}");
	assert_true(ok(r));
	cJSON_Delete(r);
	ctlsock_close(cs);
}

static void test_handlers(void **state)
{
	struct seen s = { 0 };

	(void)state;
	struct ctlsock *cs = open_server(CTLSOCK_NO_GROUP);
	assert_int_equal(ctlsock_register(cs, "echo", h_echo, &s, 0), 0);
	assert_int_equal(ctlsock_register(cs, "fail", h_fail, NULL, 0), 0);
	assert_int_equal(ctlsock_register(cs, "silent", h_fail_silent, NULL, 0), 0);
	assert_int_equal(ctlsock_register(cs, "", h_fail, NULL, 0), -EINVAL);
	assert_int_equal(ctlsock_register(cs, "x", NULL, NULL, 0), -EINVAL);

	cJSON *r = rpc(cs, "{\"cmd\":\"echo\",\"arg\":\"hello\"}");
	assert_true(ok(r));
	assert_string_equal(str(r, "echo"), "hello");
	assert_int_equal(s.calls, 1);
	assert_int_equal(s.peer.uid, getuid());
	assert_int_equal(s.peer.pid, getpid());
	assert_int_equal(s.peer.admin, getuid() == 0);
	cJSON_Delete(r);

	r = rpc(cs, "{\"cmd\":\"fail\"}");
	assert_false(ok(r));
	assert_string_equal(str(r, "error"), "nothing to do");
	cJSON_Delete(r);
	r = rpc(cs, "{\"cmd\":\"silent\"}");
	assert_false(ok(r));
	assert_string_equal(str(r, "error"), "\"silent\" failed");
	cJSON_Delete(r);

	/* replacing a command */
	assert_int_equal(ctlsock_register(cs, "echo", h_fail, NULL, 0), 0);
	r = rpc(cs, "{\"cmd\":\"echo\"}");
	assert_false(ok(r));
	cJSON_Delete(r);
	ctlsock_close(cs);
}

static void test_pipelined_and_eof(void **state)
{
	struct seen s = { 0 };

	(void)state;
	struct ctlsock *cs = open_server(CTLSOCK_NO_GROUP);
	ctlsock_register(cs, "echo", h_echo, &s, 0);

	/* three requests and a blank line in one write, four replies in order: the blank line's is an error */
	int fd = connect_to(sock_path);
	send_str(fd, "{\"cmd\":\"echo\",\"arg\":\"a\"}\n\n{\"cmd\":\"echo\",\"arg\":\"b\"}\r\n{\"cmd\":\"echo\",\"arg\":\"c\"}\n");
	char got[5] = "";
	for (int i = 0; i < 4; i++) {
		/* read exactly one line at a time */
		char line[256];
		size_t n = 0;
		time_t deadline = time(NULL) + 10;
		while (n < sizeof(line) - 1) {
			ctlsock_dispatch(cs);
			ssize_t r = recv(fd, line + n, 1, MSG_DONTWAIT);
			if (r == 1 && line[n] == '\n')
				break;
			if (r == 1)
				n++;
			else
				assert_true(time(NULL) < deadline);
		}
		line[n] = '\0';
		cJSON *r = cJSON_Parse(line);
		if (i == 1) {
			assert_false(ok(r));
			assert_string_equal(str(r, "code"), "bad-request");
			assert_string_equal(str(r, "error"), "empty request line");
			got[i] = '-';
		} else {
			assert_true(ok(r));
			got[i] = str(r, "echo")[0];
		}
		cJSON_Delete(r);
	}
	assert_string_equal(got, "a-bc");
	close(fd);

	/* a last request without newline, ended by shutdown(SHUT_WR) */
	fd = connect_to(sock_path);
	send_str(fd, "{\"cmd\":\"echo\",\"arg\":\"eof\"}");
	shutdown(fd, SHUT_WR);
	cJSON *r = read_reply(cs, fd, NULL);
	assert_true(ok(r));
	assert_string_equal(str(r, "echo"), "eof");
	cJSON_Delete(r);
	close(fd);

	/* a request split across writes with the loop turning in between */
	fd = connect_to(sock_path);
	send_str(fd, "{\"cmd\":\"ec");
	for (int i = 0; i < 5; i++)
		ctlsock_dispatch(cs);
	send_str(fd, "ho\",\"arg\":\"split\"}\n");
	r = read_reply(cs, fd, NULL);
	assert_string_equal(str(r, "echo"), "split");
	cJSON_Delete(r);
	close(fd);
	assert_int_equal(s.calls, 5);
	ctlsock_close(cs);
}

static void test_big_reply_and_request(void **state)
{
	(void)state;
	struct ctlsock *cs = open_server(CTLSOCK_NO_GROUP);
	ctlsock_register(cs, "big", h_big, NULL, 0);

	/* more than the socket buffer: written as the client drains it */
	cJSON *r = rpc(cs, "{\"cmd\":\"big\"}");
	assert_true(ok(r));
	const cJSON *items = cJSON_GetObjectItemCaseSensitive(r, "items");
	assert_int_equal(cJSON_GetArraySize(items), 200000);
	assert_int_equal(cJSON_GetArrayItem(items, 199999)->valueint, 199999);
	cJSON_Delete(r);

	/* a request over the limit gets an error, and the server stays up */
	int fd = connect_to(sock_path);
	char *huge = malloc(2 << 20);
	assert_non_null(huge);
	memset(huge, 'x', (2 << 20) - 1);
	huge[(2 << 20) - 1] = '\0';
	size_t off = 0, len = strlen(huge);
	cJSON *err_reply = NULL;
	time_t deadline = time(NULL) + 10;
	fcntl(fd, F_SETFL, O_NONBLOCK);
	while (off < len && time(NULL) < deadline) {
		ssize_t w = send(fd, huge + off, len - off, MSG_NOSIGNAL);
		if (w > 0)
			off += (size_t)w;
		else if (errno != EAGAIN)
			break; /* the server stopped reading and closed: fine */
		ctlsock_dispatch(cs);
	}
	fcntl(fd, F_SETFL, 0);
	err_reply = read_reply(cs, fd, NULL);
	assert_non_null(err_reply);
	assert_false(ok(err_reply));
	assert_non_null(strstr(str(err_reply, "error"), "longer than"));
	cJSON_Delete(err_reply);
	close(fd);
	free(huge);
	r = rpc(cs, "{\"cmd\":\"status\"}");
	assert_true(ok(r));
	cJSON_Delete(r);
	ctlsock_close(cs);
}

static void test_many_clients(void **state)
{
	int fds[40];

	(void)state;
	struct ctlsock *cs = open_server(CTLSOCK_NO_GROUP);
	for (int i = 0; i < 40; i++) {
		fds[i] = connect_to(sock_path);
		assert_true(fds[i] >= 0);
	}
	for (int i = 39; i >= 0; i--) {
		send_str(fds[i], "{\"cmd\":\"status\"}\n");
		cJSON *r = read_reply(cs, fds[i], NULL);
		assert_true(ok(r));
		cJSON_Delete(r);
		close(fds[i]);
	}
	ctlsock_close(cs);
}

/*
 * In a child: become uid/gid (and supplementary groups), send req, and exit
 * 0 when the reply's ok and code are as expected, 10+ on the way.
 */
static void child_request(uid_t uid, gid_t gid, const gid_t *groups, int ngroups, const char *req,
			  bool want_ok, const char *want_code)
{
	if (setgroups((size_t)ngroups, groups) || setgid(gid) || setuid(uid))
		_exit(10);
	int fd = connect_to(sock_path);
	if (fd < 0)
		_exit(11);
	dprintf(fd, "%s\n", req);
	char buf[4096];
	size_t n = 0;
	ssize_t r;
	while (n < sizeof(buf) - 1 && (r = read(fd, buf + n, sizeof(buf) - 1 - n)) > 0) {
		n += (size_t)r;
		if (memchr(buf, '\n', n))
			break;
	}
	buf[n] = '\0';
	cJSON *reply = cJSON_Parse(buf);
	if (!reply)
		_exit(12);
	if (ok(reply) != want_ok)
		_exit(13);
	if (want_code && strcmp(str(reply, "code"), want_code))
		_exit(14);
	if (!want_ok && want_code && !strstr(str(reply, "error"), "permission denied"))
		_exit(15);
	_exit(0);
}

static int serve_child(struct ctlsock *cs, pid_t pid)
{
	int status;
	time_t deadline = time(NULL) + 10;

	for (;;) {
		struct pollfd p = { .fd = ctlsock_fd(cs), .events = POLLIN };
		poll(&p, 1, 20);
		ctlsock_dispatch(cs);
		pid_t w = waitpid(pid, &status, WNOHANG);
		if (w == pid)
			return WIFEXITED(status) ? WEXITSTATUS(status) : 100 + WTERMSIG(status);
		if (time(NULL) > deadline) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			return 99;
		}
	}
}

static int as_user(struct ctlsock *cs, uid_t uid, gid_t gid, const gid_t *groups, int ng, const char *req,
		   bool want_ok, const char *want_code)
{
	fflush(NULL);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		child_request(uid, gid, groups, ng, req, want_ok, want_code);
	return serve_child(cs, pid);
}

static void test_peer_refused(void **state)
{
	struct seen s = { 0 };

	(void)state;
	if (geteuid() != 0) {
		/* cmocka's skip() is counted by the harness */
		printf("SKIPPED: refusing a non-root peer needs root to fork a child under uid %d\n", TEST_UID);
		skip();
	}
	struct ctlsock *cs = open_server(CTLSOCK_NO_GROUP);
	ctlsock_register(cs, "change", h_echo, &s, CTL_ADMIN);
	ctlsock_register(cs, "look", h_echo, &s, 0);
	/* the file mode alone would stop uid 1000 at connect(): open it so SO_PEERCRED decides */
	assert_int_equal(chmod(sock_path, 0666), 0);
	chmod(dir, 0755);
	char rundir[160];
	snprintf(rundir, sizeof(rundir), "%s/run", dir);
	chmod(rundir, 0755);

	gid_t none[1] = { TEST_GID };
	assert_int_equal(as_user(cs, TEST_UID, TEST_GID, none, 1, "{\"cmd\":\"change\"}", false, "denied"), 0);
	assert_int_equal(s.calls, 0);
	/* read-only commands are open to whoever can connect */
	assert_int_equal(as_user(cs, TEST_UID, TEST_GID, none, 1, "{\"cmd\":\"look\"}", true, NULL), 0);
	assert_int_equal(s.calls, 1);
	assert_int_equal(s.peer.uid, TEST_UID);
	assert_false(s.peer.admin);
	/* root may */
	assert_int_equal(as_user(cs, 0, 0, none, 0, "{\"cmd\":\"change\"}", true, NULL), 0);
	assert_int_equal(s.calls, 2);
	assert_true(s.peer.admin);
	ctlsock_close(cs);
}

static void test_admin_group(void **state)
{
	struct seen s = { 0 };
	struct stat st;

	(void)state;
	if (geteuid() != 0) {
		printf("SKIPPED: the admin group test needs root to chown the socket and fork other uids\n");
		skip();
	}
	struct ctlsock *cs = open_server(ADMIN_GID);
	ctlsock_register(cs, "change", h_echo, &s, CTL_ADMIN);
	/* group-owned, 0660: the group can connect without the mode being opened */
	assert_int_equal(stat(sock_path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0660);
	assert_int_equal(st.st_gid, ADMIN_GID);
	char rundir[160];
	snprintf(rundir, sizeof(rundir), "%s/run", dir);
	chmod(rundir, 0755);

	gid_t primary[1] = { ADMIN_GID };
	assert_int_equal(as_user(cs, TEST_UID, ADMIN_GID, primary, 1, "{\"cmd\":\"change\"}", true, NULL), 0);
	assert_int_equal(s.calls, 1);
	assert_true(s.peer.admin);
	/* a supplementary membership counts too (SO_PEERGROUPS) */
	gid_t supp[2] = { TEST_GID, ADMIN_GID };
	assert_int_equal(as_user(cs, TEST_UID, TEST_GID, supp, 2, "{\"cmd\":\"change\"}", true, NULL), 0);
	assert_int_equal(s.calls, 2);
	/* another group cannot even connect: 0660 */
	gid_t other[1] = { TEST_GID };
	pid_t pid = fork();
	if (pid == 0) {
		if (setgroups(1, other) || setgid(TEST_GID) || setuid(TEST_UID))
			_exit(10);
		_exit(connect_to(sock_path) < 0 && errno == EACCES ? 0 : 1);
	}
	assert_int_equal(serve_child(cs, pid), 0);
	assert_int_equal(s.calls, 2);
	ctlsock_close(cs);
}

/* ---- immunectl against this server ---- */

static char immunectl[PATH_MAX];

static bool find_immunectl(void)
{
	char self[PATH_MAX];
	const char *env = getenv("IMMUNECTL");
	ssize_t n;

	if (env) {
		snprintf(immunectl, sizeof(immunectl), "%s", env);
		return access(immunectl, X_OK) == 0;
	}
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0)
		return false;
	self[n] = '\0';
	/* BUILD/tests/test_ctlsock -> BUILD/immunectl */
	char *slash = strrchr(self, '/');
	if (!slash)
		return false;
	*slash = '\0';
	slash = strrchr(self, '/');
	if (!slash)
		return false;
	*slash = '\0';
	snprintf(immunectl, sizeof(immunectl), "%.4000s/immunectl", self);
	return access(immunectl, X_OK) == 0;
}

/* Run immunectl with args while serving; its exit status, stdout in out. */
static int run_ctl(struct ctlsock *cs, char *out, size_t outn, const char *const *args)
{
	int pipefd[2];
	char *argv[16];
	int n = 0;

	argv[n++] = immunectl;
	for (; *args && n < 15; args++)
		argv[n++] = (char *)*args;
	argv[n] = NULL;
	assert_int_equal(pipe(pipefd), 0);
	fflush(NULL);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(pipefd[1], 1);
		close(pipefd[0]);
		execv(immunectl, argv);
		_exit(127);
	}
	close(pipefd[1]);
	fcntl(pipefd[0], F_SETFL, O_NONBLOCK);
	size_t len = 0;
	int status;
	time_t deadline = time(NULL) + 20;
	for (;;) {
		struct pollfd p = { .fd = ctlsock_fd(cs), .events = POLLIN };
		poll(&p, 1, 10);
		ctlsock_dispatch(cs);
		ssize_t r;
		while (len < outn - 1 && (r = read(pipefd[0], out + len, outn - 1 - len)) > 0)
			len += (size_t)r;
		if (waitpid(pid, &status, WNOHANG) == pid)
			break;
		if (time(NULL) > deadline) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			break;
		}
	}
	ssize_t r;
	while (len < outn - 1 && (r = read(pipefd[0], out + len, outn - 1 - len)) > 0)
		len += (size_t)r;
	out[len] = '\0';
	close(pipefd[0]);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static int h_incidents(const cJSON *req, cJSON *reply, const struct ctl_peer *peer, void *ctx)
{
	(void)peer;
	(void)ctx;
	/* hand the request back, so the test sees what immunectl sent */
	cJSON_AddItemToObject(reply, "request", cJSON_Duplicate(req, 1));
	cJSON *arr = cJSON_AddArrayToObject(reply, "incidents");
	cJSON *i = cJSON_CreateObject();
	cJSON_AddNumberToObject(i, "time_ns", 1.7e18);
	cJSON_AddStringToObject(i, "rule_id", "shell-from-web");
	cJSON_AddStringToObject(i, "host", "web1");
	cJSON_AddStringToObject(i, "executable", "/bin/sh");
	cJSON_AddItemToArray(arr, i);
	/* a name that would start a row of its own and color the terminal */
	i = cJSON_CreateObject();
	cJSON_AddNumberToObject(i, "time_ns", 1.7e18);
	cJSON_AddStringToObject(i, "rule_id", "exec-from-tmp");
	cJSON_AddStringToObject(i, "executable", "/tmp/x\n2023-11-14 22:13:20 fake-rule\x1b[8m");
	cJSON_AddItemToArray(arr, i);
	return 0;
}

static int h_block(const cJSON *req, cJSON *reply, const struct ctl_peer *peer, void *ctx)
{
	struct seen *s = ctx;
	s->calls++;
	s->peer = *peer;
	cJSON_AddItemToObject(reply, "request", cJSON_Duplicate(req, 1));
	return 0;
}

static void test_immunectl(void **state)
{
	char out[65536];
	struct seen s = { 0 };

	(void)state;
	if (!find_immunectl()) {
		printf("SKIPPED: %s is not built (make build/immunectl, or set IMMUNECTL)\n", immunectl);
		skip();
	}
	struct ctlsock *cs = open_server(CTLSOCK_NO_GROUP);
	ctlsock_add_status(cs, status_extra, "lsm");
	ctlsock_register(cs, "incidents", h_incidents, NULL, 0);
	ctlsock_register(cs, "block", h_block, &s, CTL_ADMIN);

	const char *status_human[] = { "--socket", sock_path, "status", NULL };
	assert_int_equal(run_ctl(cs, out, sizeof(out), status_human), 0);
	assert_non_null(strstr(out, "mode: lsm"));
	assert_non_null(strstr(out, "uptime_s:"));

	const char *status_json[] = { "--json", "--socket", sock_path, "status", NULL };
	assert_int_equal(run_ctl(cs, out, sizeof(out), status_json), 0);
	cJSON *r = cJSON_Parse(out);
	assert_true(ok(r));
	assert_string_equal(str(r, "mode"), "lsm");
	cJSON_Delete(r);

	const char *inc[] = { "--socket", sock_path, "--json", "incidents", "--since", "1700000000", "--rule",
			      "shell-from-web", "--limit", "5", "--host", "web1", NULL };
	assert_int_equal(run_ctl(cs, out, sizeof(out), inc), 0);
	r = cJSON_Parse(out);
	const cJSON *req = cJSON_GetObjectItemCaseSensitive(r, "request");
	assert_string_equal(str(req, "rule"), "shell-from-web");
	assert_string_equal(str(req, "host"), "web1");
	assert_int_equal(cJSON_GetObjectItemCaseSensitive(req, "limit")->valueint, 5);
	assert_true(cJSON_GetObjectItemCaseSensitive(req, "since_ns")->valuedouble == 1.7e18);
	cJSON_Delete(r);
	const char *inc_human[] = { "--socket", sock_path, "incidents", NULL };
	assert_int_equal(run_ctl(cs, out, sizeof(out), inc_human), 0);
	assert_non_null(strstr(out, "shell-from-web"));
	assert_non_null(strstr(out, "/bin/sh"));
	/* the header and two rows, the hostile name escaped */
	int rows = 0;
	for (const char *p = out; (p = strchr(p, '\n')); p++)
		rows++;
	assert_int_equal(rows, 3);
	assert_non_null(strstr(out, "/tmp/x\\x0a2023-11-14 22:13:20 fake-rule\\x1b[8m"));
	assert_null(strchr(out, '\x1b'));

	/* --fleet is passed through; a relative path goes out absolute */
	const char *blk[] = { "--socket", sock_path, "--json", "block", "exec", "relative/tool", "--fleet", NULL };
	/* as non-root, the same request is a refused peer: exit 4 */
	int blocked = geteuid() == 0;
	assert_int_equal(run_ctl(cs, out, sizeof(out), blk), blocked ? 0 : 4);
	assert_int_equal(s.calls, blocked);
	if (blocked) {
		char cwd[PATH_MAX], want[PATH_MAX + 32];
		cJSON *b = cJSON_Parse(out);
		const cJSON *q = cJSON_GetObjectItemCaseSensitive(b, "request");
		assert_non_null(getcwd(cwd, sizeof(cwd)));
		snprintf(want, sizeof(want), "%s/relative/tool", cwd);
		assert_string_equal(str(q, "target"), want);
		assert_string_equal(str(q, "kind"), "exec");
		assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(q, "fleet")));
		cJSON_Delete(b);
	}

	/* bad arguments: exit 2 without asking the daemon */
	const char *bad[][8] = {
		{ "--socket", sock_path, NULL },
		{ "--socket", sock_path, "frobnicate", NULL },
		{ "--socket", sock_path, "block", "net", "10.0.0.1/8", NULL },
		{ "--socket", sock_path, "block", "dns", "x", NULL },
		{ "--socket", sock_path, "block", "exec", NULL },
		{ "--socket", sock_path, "status", "--fleet", NULL },
		{ "--socket", sock_path, "incidents", "--limit", "0", NULL },
		{ "--socket", sock_path, "incidents", "--since", "yesterday", NULL },
		{ "--socket", sock_path, "status", "--bogus", NULL },
		{ "--socket", NULL },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(run_ctl(cs, out, sizeof(out), bad[i]), 2);
	assert_int_equal(s.calls, blocked);

	/* unreachable: exit 3 */
	char nowhere[160];
	snprintf(nowhere, sizeof(nowhere), "%s/nobody.sock", dir);
	const char *unreach[] = { "--socket", nowhere, "status", NULL };
	assert_int_equal(run_ctl(cs, out, sizeof(out), unreach), 3);

	/* the daemon's error: exit 1; unknown command to the daemon: 2 */
	const char *unblock[] = { "--socket", sock_path, "unblock", "net", "1.2.3.4", NULL };
	assert_int_equal(run_ctl(cs, out, sizeof(out), unblock), 2);
	ctlsock_register(cs, "unblock", h_fail, NULL, 0);
	assert_int_equal(run_ctl(cs, out, sizeof(out), unblock), 1);
	ctlsock_close(cs);
}

static void test_request_helpers(void **state)
{
	(void)state;
	cJSON *r = cJSON_Parse("{\"ns\":1732428000123456789,\"n\":5,\"neg\":-1,\"frac\":1.5,\"s\":\"x\","
			       "\"huge\":1e19,\"t\":true,\"f\":false}");
	assert_non_null(r);
	/* epoch ns arrive as doubles: accepted, within the double's 256 ns step */
	long long ns = ctl_int(r, "ns");
	assert_true(ns > 1732428000123456789LL - 512 && ns < 1732428000123456789LL + 512);
	assert_int_equal(ctl_int(r, "n"), 5);
	assert_int_equal(ctl_int(r, "absent"), -1);
	assert_int_equal(ctl_int(r, "neg"), -2);
	assert_int_equal(ctl_int(r, "frac"), -2);
	assert_int_equal(ctl_int(r, "s"), -2);
	assert_int_equal(ctl_int(r, "huge"), -2);
	assert_string_equal(ctl_str(r, "s"), "x");
	assert_null(ctl_str(r, "n"));
	assert_true(ctl_bool(r, "t", false));
	assert_false(ctl_bool(r, "f", true));
	assert_true(ctl_bool(r, "s", true));
	cJSON_Delete(r);
}

/* Read whatever replies are there without blocking; returns the count of whole lines seen so far. */
static int drain_lines(int fd, int *lines, char *last, size_t lastn, size_t *lastlen)
{
	char buf[65536];
	ssize_t r;
	while ((r = recv(fd, buf, sizeof(buf), MSG_DONTWAIT)) > 0) {
		for (ssize_t i = 0; i < r; i++) {
			if (buf[i] == '\n') {
				(*lines)++;
				last[*lastlen < lastn ? *lastlen : lastn - 1] = '\0';
				*lastlen = 0;
			} else if (*lastlen < lastn - 1) {
				last[(*lastlen)++] = buf[i];
			}
		}
	}
	return *lines;
}

/* Every line is answered: blank lines and text after the object are errors, not silence. */
static void test_blank_and_trailing(void **state)
{
	(void)state;
	struct ctlsock *cs = open_server(CTLSOCK_NO_GROUP);
	int fd = connect_to(sock_path);
	send_str(fd, "\n  \t\r\n{\"cmd\":\"status\"} {\"cmd\":\"help\"}\n{\"cmd\":\"help\"}  \n");
	static const char *const want[] = { "empty request line", "empty request line",
					    "text after the request object (byte 17 of 31)", NULL };
	char line[8192];
	size_t len = 0;
	for (int i = 0; i < 4; i++) {
		int lines = 0;
		time_t deadline = time(NULL) + 10;
		/* one byte at a time, so that each line is seen alone */
		while (!lines) {
			assert_true(time(NULL) < deadline);
			ctlsock_dispatch(cs);
			char ch;
			if (recv(fd, &ch, 1, MSG_DONTWAIT) != 1)
				continue;
			if (ch == '\n') {
				line[len] = '\0';
				len = 0;
				lines = 1;
			} else if (len < sizeof(line) - 1) {
				line[len++] = ch;
			}
		}
		cJSON *r = cJSON_Parse(line);
		assert_non_null(r);
		if (want[i]) {
			assert_false(ok(r));
			assert_string_equal(str(r, "code"), "bad-request");
			assert_string_equal(str(r, "error"), want[i]);
		} else {
			assert_true(ok(r));
			assert_non_null(cJSON_GetObjectItemCaseSensitive(r, "commands"));
		}
		cJSON_Delete(r);
	}
	close(fd);
	ctlsock_close(cs);
}

/*
 * The reproduction of issue 11: one client's stream of requests held the loop
 * (which also drains the ring buffer) for as long as it kept writing. Now one
 * turn answers at most CTLSOCK_CLIENT_REQUESTS of one client and
 * CTLSOCK_TURN_REQUESTS in all, the fd stays readable while work is left, and
 * another client is answered on the next turn.
 */
static void test_fair_turns(void **state)
{
	struct seen s = { 0 };
	(void)state;
	struct ctlsock *cs = open_server(CTLSOCK_NO_GROUP);
	ctlsock_register(cs, "echo", h_echo, &s, 0);

	enum { N = 1000 };
	size_t cap = N * 40, len = 0;
	char *flood = malloc(cap);
	for (int i = 0; i < N; i++)
		len += (size_t)snprintf(flood + len, cap - len, "{\"cmd\":\"echo\",\"arg\":\"%d\"}\n", i);
	int a = connect_to(sock_path);
	send_str(a, flood);
	free(flood);
	/* let the server accept and see the data */
	int served = 0, turns = 0;
	while (served == 0 && turns++ < 100) {
		struct pollfd p = { .fd = ctlsock_fd(cs), .events = POLLIN };
		poll(&p, 1, 10);
		served = ctlsock_dispatch(cs);
	}
	assert_int_equal(served, CTLSOCK_CLIENT_REQUESTS);
	/* work is left: the fd says so without any new byte arriving */
	struct pollfd p = { .fd = ctlsock_fd(cs), .events = POLLIN };
	assert_int_equal(poll(&p, 1, 0), 1);

	int b = connect_to(sock_path);
	send_str(b, "{\"cmd\":\"echo\",\"arg\":\"bystander\"}\n");
	int b_lines = 0, a_lines = 0, b_turn = -1;
	char last[256];
	size_t lastlen = 0, blastlen = 0;
	char blast[256];
	for (turns = 0; a_lines < N && turns < 10000; turns++) {
		p.fd = ctlsock_fd(cs);
		poll(&p, 1, 10);
		int n = ctlsock_dispatch(cs);
		assert_true(n <= CTLSOCK_TURN_REQUESTS);
		drain_lines(a, &a_lines, last, sizeof(last), &lastlen);
		if (b_turn < 0 && drain_lines(b, &b_lines, blast, sizeof(blast), &blastlen) == 1)
			b_turn = turns;
	}
	assert_int_equal(a_lines, N);
	/* in order, the last one last */
	assert_non_null(strstr(last, "\"echo\":\"999\""));
	/* the bystander did not wait for the flood: answered within a few turns of connecting */
	assert_true(b_turn >= 0 && b_turn <= 3);
	assert_non_null(strstr(blast, "bystander"));
	assert_true(turns >= N / CTLSOCK_CLIENT_REQUESTS);
	assert_int_equal(s.calls, N + 1);
	close(a);
	close(b);
	ctlsock_close(cs);
}

/* A client that keeps sending and never reads its replies is not read from either. */
static void test_backpressure(void **state)
{
	(void)state;
	struct ctlsock *cs = open_server(CTLSOCK_NO_GROUP);
	ctlsock_register(cs, "big", h_big, NULL, 0);
	int fd = connect_to(sock_path);
	fcntl(fd, F_SETFL, O_NONBLOCK);
	/* requests of 32 KiB, so that the socket fills after a few */
	size_t reqlen = 32 << 10;
	char *req = malloc(reqlen + 1);
	int h = snprintf(req, reqlen, "{\"cmd\":\"big\",\"pad\":\"");
	memset(req + h, 'x', reqlen - h - 3);
	memcpy(req + reqlen - 3, "\"}\n", 4);
	long sent = 0, served = 0;
	size_t off = 0;
	bool blocked = false;
	/* each reply is ~1.3 MB: past the first, the server stops taking this client's requests */
	for (int turn = 0; turn < 2000 && !blocked; turn++) {
		ssize_t w = send(fd, req + off, reqlen - off, MSG_NOSIGNAL);
		if (w > 0) {
			off += (size_t)w;
			if (off == reqlen) {
				sent++;
				off = 0;
			}
		} else if (w < 0 && errno == EAGAIN) {
			blocked = true;
		} else {
			fail_msg("send: %zd %s", w, strerror(errno));
		}
		served += ctlsock_dispatch(cs);
	}

	assert_true(blocked);
	assert_true(served <= 2);
	for (int i = 0; i < 50; i++)
		served += ctlsock_dispatch(cs);
	assert_true(served <= 2);
	/* it reads: every request is answered, in full */
	int lines = 0;
	char last[64];
	size_t lastlen = 0;
	time_t deadline = time(NULL) + 60;
	while ((off || lines < sent) && time(NULL) < deadline) {
		struct pollfd p = { .fd = ctlsock_fd(cs), .events = POLLIN };
		poll(&p, 1, 1);
		ctlsock_dispatch(cs);
		drain_lines(fd, &lines, last, sizeof(last), &lastlen);
		/* the rest of the request the full socket cut */
		ssize_t w = off ? send(fd, req + off, reqlen - off, MSG_NOSIGNAL) : 0;
		if (w > 0 && (off += (size_t)w) == reqlen) {
			off = 0;
			sent++;
		}
	}
	free(req);
	assert_int_equal(lines, sent);
	print_message("backpressure: %ld requests sent before the socket filled, %ld answered meanwhile\n", sent, served);
	close(fd);
	ctlsock_close(cs);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_request_helpers),
		cmocka_unit_test_setup_teardown(test_socket_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_status_and_help, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_requests, setup, teardown),
		cmocka_unit_test_setup_teardown(test_handlers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pipelined_and_eof, setup, teardown),
		cmocka_unit_test_setup_teardown(test_big_reply_and_request, setup, teardown),
		cmocka_unit_test_setup_teardown(test_many_clients, setup, teardown),
		cmocka_unit_test_setup_teardown(test_peer_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_admin_group, setup, teardown),
		cmocka_unit_test_setup_teardown(test_immunectl, setup, teardown),
		cmocka_unit_test_setup_teardown(test_blank_and_trailing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fair_turns, setup, teardown),
		cmocka_unit_test_setup_teardown(test_backpressure, setup, teardown),
	};
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
