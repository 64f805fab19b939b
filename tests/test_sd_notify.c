/* sd_notify: the datagram systemd would read, on a path and an abstract socket. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "sd_notify.h"

/* A datagram socket bound at name (a path, or "@x" abstract), as systemd's. */
static int bind_notify(const char *name)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	size_t len = strlen(name);
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	memcpy(sa.sun_path, name, len);
	if (name[0] == '@')
		sa.sun_path[0] = 0;
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, offsetof(struct sockaddr_un, sun_path) + len), 0);
	return fd;
}

static void expect_datagram(int fd, const char *want)
{
	char buf[256];
	ssize_t n = recv(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);
	assert_true(n >= 0);
	buf[n] = 0;
	assert_string_equal(buf, want);
}

static void test_path_socket(void **s)
{
	(void)s;
	char dir[] = "/tmp/immune-notify-XXXXXX", path[64], why[256] = "";
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/notify", dir);
	int fd = bind_notify(path);
	setenv("NOTIFY_SOCKET", path, 1);
	assert_int_equal(sd_notify_state("READY=1\nSTATUS=running", why, sizeof(why)), 0);
	expect_datagram(fd, "READY=1\nSTATUS=running");
	assert_int_equal(sd_notify_state("STOPPING=1", why, sizeof(why)), 0);
	expect_datagram(fd, "STOPPING=1");
	close(fd);
	unlink(path);
	/* nobody listens any more: an error naming the socket, not a crash */
	assert_true(sd_notify_state("READY=1", why, sizeof(why)) < 0);
	assert_non_null(strstr(why, path));
	rmdir(dir);
	unsetenv("NOTIFY_SOCKET");
}

static void test_abstract_socket(void **s)
{
	(void)s;
	char name[64], why[256] = "";
	snprintf(name, sizeof(name), "@immune-notify-test-%d", getpid());
	int fd = bind_notify(name);
	setenv("NOTIFY_SOCKET", name, 1);
	assert_int_equal(sd_notify_state("READY=1", why, sizeof(why)), 0);
	expect_datagram(fd, "READY=1");
	close(fd);
	unsetenv("NOTIFY_SOCKET");
}

static void test_not_under_systemd(void **s)
{
	(void)s;
	char why[256] = "";
	unsetenv("NOTIFY_SOCKET");
	assert_int_equal(sd_notify_state("READY=1", why, sizeof(why)), 0);
	setenv("NOTIFY_SOCKET", "relative/path", 1);
	assert_int_equal(sd_notify_state("READY=1", why, sizeof(why)), -22);
	assert_non_null(strstr(why, "NOTIFY_SOCKET=relative/path"));
	unsetenv("NOTIFY_SOCKET");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_path_socket),
		cmocka_unit_test(test_abstract_socket),
		cmocka_unit_test(test_not_under_systemd),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
