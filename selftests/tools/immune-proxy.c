/*
 * immune-proxy LISTEN_PORT TARGET_PORT: a loopback TCP relay for the Hive
 * tests. SIGUSR1 cuts every relayed connection at once (both sides see the
 * link die mid-stream, the Hive stays up); new connections are relayed again.
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
#include <unistd.h>

#define MAXP 256

static volatile sig_atomic_t cut;
static void on_usr1(int s)
{
	(void)s;
	cut = 1;
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
	int pair[MAXP][2], n = 0;
	printf("relaying\n");
	fflush(stdout);
	for (;;) {
		if (cut) {
			for (int i = 0; i < n; i++) {
				/* RST, not FIN: a link that breaks */
				struct linger lg = { 1, 0 };
				setsockopt(pair[i][0], SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
				setsockopt(pair[i][1], SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
				close(pair[i][0]);
				close(pair[i][1]);
			}
			fprintf(stderr, "immune-proxy: cut %d links\n", n);
			n = 0;
			cut = 0;
		}
		struct pollfd pf[1 + 2 * MAXP];
		pf[0] = (struct pollfd){ .fd = l, .events = POLLIN };
		for (int i = 0; i < n; i++) {
			pf[1 + 2 * i] = (struct pollfd){ .fd = pair[i][0], .events = POLLIN };
			pf[2 + 2 * i] = (struct pollfd){ .fd = pair[i][1], .events = POLLIN };
		}
		if (poll(pf, 1 + 2 * n, 200) < 0 && errno != EINTR)
			return 1;
		if (pf[0].revents & POLLIN && n < MAXP) {
			int c = accept(l, NULL, NULL), t = socket(AF_INET, SOCK_STREAM, 0);
			if (c >= 0 && connect(t, (struct sockaddr *)&ta, sizeof(ta)) == 0) {
				pair[n][0] = c;
				pair[n][1] = t;
				n++;
			} else {
				if (c >= 0)
					close(c);
				close(t);
			}
		}
		for (int i = 0; i < n; i++) {
			for (int side = 0; side < 2; side++) {
				if (!(pf[1 + 2 * i + side].revents & (POLLIN | POLLHUP | POLLERR)))
					continue;
				char buf[65536];
				ssize_t r = read(pair[i][side], buf, sizeof(buf));
				if (r <= 0 || write(pair[i][!side], buf, r) != r) {
					close(pair[i][0]);
					close(pair[i][1]);
					pair[i][0] = pair[n - 1][0];
					pair[i][1] = pair[n - 1][1];
					n--;
					i = n; /* the poll slots moved: take the rest next turn */
					break;
				}
			}
		}
	}
}
