/*
 * The sd_notify(3) protocol is one datagram of "KEY=VALUE" lines to the
 * AF_UNIX socket systemd names in $NOTIFY_SOCKET (a path, or "@name" for an
 * abstract socket). Written here rather than linked from libsystemd: it is
 * a dozen lines, and the agent then runs the same on hosts without systemd.
 */
#include "sd_notify.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int sd_notify_state(const char *state, char *why, size_t n)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	size_t len;

	if (!path || !*path)
		return 0;
	len = strlen(path);
	if ((path[0] != '/' && path[0] != '@') || len >= sizeof(sa.sun_path)) {
		snprintf(why, n, "NOTIFY_SOCKET=%s: not an absolute path or @abstract name that fits a socket address",
			 path);
		return -EINVAL;
	}
	memcpy(sa.sun_path, path, len);
	if (path[0] == '@')
		sa.sun_path[0] = 0;
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(why, n, "sd_notify: socket: %s", strerror(errno));
		return -errno;
	}
	ssize_t r = sendto(fd, state, strlen(state), MSG_NOSIGNAL, (struct sockaddr *)&sa,
			   offsetof(struct sockaddr_un, sun_path) + len);
	int err = r < 0 ? -errno : 0;
	if (err)
		snprintf(why, n, "sd_notify to %s: %s", path, strerror(-err));
	close(fd);
	return err;
}
