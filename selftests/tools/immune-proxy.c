/*
 * immune-proxy LISTEN_PORT TARGET_PORT: a loopback TCP relay for the Hive
 * tests, one child per connection. SIGUSR1 cuts every relayed connection at
 * once (the children are killed: both ends see the link die mid-stream while
 * the Hive stays up); new connections are relayed again.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAXC 256

static volatile sig_atomic_t cut;
static void on_usr1(int s)
{
	(void)s;
	cut = 1;
}

static void relay(int a, int b)
{
	struct linger lg = { 1, 0 }; /* when killed: RST, a link that breaks */
	setsockopt(a, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	setsockopt(b, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	for (;;) {
		struct pollfd p[2] = { { .fd = a, .events = POLLIN }, { .fd = b, .events = POLLIN } };
		if (poll(p, 2, -1) < 0)
			_exit(1);
		for (int i = 0; i < 2; i++) {
			if (!p[i].revents)
				continue;
			char buf[65536];
			ssize_t r = read(p[i].fd, buf, sizeof(buf));
			if (r <= 0)
				_exit(0);
			for (ssize_t off = 0; off < r;) {
				ssize_t w = write(p[!i].fd, buf + off, r - off);
				if (w <= 0)
					_exit(0);
				off += w;
			}
		}
	}
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: immune-proxy LISTEN_PORT TARGET_PORT\n");
		return 2;
	}
	struct sockaddr_in la = { .sin_family = AF_INET, .sin_port = htons(atoi(argv[1])) };
	struct sockaddr_in ta = { .sin_family = AF_INET, .sin_port = htons(atoi(argv[2])) };
	la.sin_addr.s_addr = ta.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	int l = socket(AF_INET, SOCK_STREAM, 0), one = 1;
	setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(l, (struct sockaddr *)&la, sizeof(la)) || listen(l, 64)) {
		perror("immune-proxy");
		return 1;
	}
	struct sigaction sa = { .sa_handler = on_usr1 };
	sigaction(SIGUSR1, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	pid_t kids[MAXC];
	int n = 0;
	printf("relaying\n");
	fflush(stdout);
	for (;;) {
		while (waitpid(-1, NULL, WNOHANG) > 0)
			;
		if (cut) {
			for (int i = 0; i < n; i++)
				kill(kids[i], SIGKILL);
			fprintf(stderr, "immune-proxy: cut %d links\n", n);
			n = 0;
			cut = 0;
		}
		struct pollfd p = { .fd = l, .events = POLLIN };
		if (poll(&p, 1, 100) <= 0)
			continue;
		int c = accept(l, NULL, NULL);
		if (c < 0)
			continue;
		int t = socket(AF_INET, SOCK_STREAM, 0);
		if (connect(t, (struct sockaddr *)&ta, sizeof(ta)) != 0) {
			close(c);
			close(t);
			continue;
		}
		pid_t k = fork();
		if (k == 0) {
			close(l);
			relay(c, t);
		}
		close(c);
		close(t);
		if (k > 0 && n < MAXC)
			kids[n++] = k;
	}
}
