/* Tells systemd (Type=notify) that the daemon is ready or stopping, over the
 * datagram socket named in $NOTIFY_SOCKET; no libsystemd. */
#ifndef IMMUNE_SD_NOTIFY_H
#define IMMUNE_SD_NOTIFY_H

#include <stddef.h>

/* Send state ("READY=1", "STOPPING=1", "STATUS=...", newline-separated).
 * 0 when sent or when no NOTIFY_SOCKET is set (not run by systemd); -errno
 * otherwise, with one line in why. */
int sd_notify_state(const char *state, char *why, size_t n);

#endif
