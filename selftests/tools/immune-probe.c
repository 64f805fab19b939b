/*
 * immune-probe: one real syscall per call, its outcome on stdout, for the
 * enforcement scenarios (host and VM share them; the VM has no python).
 *   immune-probe exec PATH [ARG...]   fork+exec; "exit N", "signal N" or "errno NAME"
 *   immune-probe open PATH            "fd" or "errno NAME"; killed shows as a signal to the caller
 *   immune-probe connect ADDR PORT    "ok" or "errno NAME" (IPv4 or IPv6 literal)
 *   immune-probe listen ADDR PORT S   accept for S seconds, print "listening" first and
 *                                     "accepted" per connection
 *   immune-probe true [ARG...]        exit 0 (copies of this binary are the exec targets)
 * Exit status: 0 when the syscall succeeded, 1 when it failed, 2 on bad usage.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int addr_of(const char *ip, const char *port, struct sockaddr_storage *ss, socklen_t *len)
{
	struct sockaddr_in *a4 = (void *)ss;
	struct sockaddr_in6 *a6 = (void *)ss;
	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, ip, &a4->sin_addr) == 1) {
		a4->sin_family = AF_INET;
		a4->sin_port = htons(atoi(port));
		*len = sizeof(*a4);
		return AF_INET;
	}
	if (inet_pton(AF_INET6, ip, &a6->sin6_addr) == 1) {
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons(atoi(port));
		*len = sizeof(*a6);
		return AF_INET6;
	}
	fprintf(stderr, "immune-probe: %s is not an IP address\n", ip);
	exit(2);
}

int main(int argc, char **argv)
{
	if (argc >= 2 && !strcmp(argv[1], "true"))
		return 0;
	if (argc >= 3 && !strcmp(argv[1], "exec")) {
		pid_t p = fork();
		if (p == 0) {
			execv(argv[2], argv + 2);
			printf("errno %s\n", strerrorname_np(errno));
			fflush(stdout);
			_exit(126);
		}
		int st;
		waitpid(p, &st, 0);
		if (WIFSIGNALED(st)) {
			printf("signal %d\n", WTERMSIG(st));
			return 1;
		}
		if (WEXITSTATUS(st) != 126)
			printf("exit %d\n", WEXITSTATUS(st));
		return WEXITSTATUS(st) == 0 ? 0 : 1;
	}
	if (argc == 3 && !strcmp(argv[1], "open")) {
		int fd = open(argv[2], O_RDONLY);
		if (fd < 0) {
			printf("errno %s\n", strerrorname_np(errno));
			return 1;
		}
		char b[1];
		if (read(fd, b, 1) < 0) { /* use the fd: a fallback kill lands before this */
			printf("errno %s\n", strerrorname_np(errno));
			return 1;
		}
		printf("fd\n");
		return 0;
	}
	if (argc == 4 && !strcmp(argv[1], "connect")) {
		struct sockaddr_storage ss;
		socklen_t len;
		int fam = addr_of(argv[2], argv[3], &ss, &len);
		int s = socket(fam, SOCK_STREAM, 0);
		if (connect(s, (struct sockaddr *)&ss, len) != 0) {
			printf("errno %s\n", strerrorname_np(errno));
			return 1;
		}
		printf("ok\n");
		return 0;
	}
	if (argc == 5 && !strcmp(argv[1], "listen")) {
		struct sockaddr_storage ss;
		socklen_t len;
		int fam = addr_of(argv[2], argv[3], &ss, &len);
		int s = socket(fam, SOCK_STREAM, 0), one = 1;
		setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(s, (struct sockaddr *)&ss, len) || listen(s, 64)) {
			printf("errno %s\n", strerrorname_np(errno));
			return 1;
		}
		printf("listening\n");
		fflush(stdout);
		time_t end = time(NULL) + atoi(argv[4]);
		while (time(NULL) < end) {
			struct pollfd p = { .fd = s, .events = POLLIN };
			if (poll(&p, 1, 200) > 0) {
				int c = accept(s, NULL, NULL);
				if (c >= 0) {
					/* one line per connection: a test asserts a refused connect never arrived */
					printf("accepted\n");
					fflush(stdout);
					close(c);
				}
			}
		}
		return 0;
	}
	fprintf(stderr, "usage: immune-probe exec PATH [ARG...] | open PATH | connect ADDR PORT | listen ADDR PORT SECONDS\n");
	return 2;
}
