/*
 * The control socket: a Unix stream socket speaking one JSON object per line
 * each way (docs/control-socket.md, schema/socket.schema.json). Non-blocking
 * and driven by the daemon's loop: ctlsock_fd() is an epoll fd that becomes
 * readable when a client connects or sends, then call ctlsock_dispatch().
 * Modules add commands with ctlsock_register().
 */
#ifndef IMMUNE_CTLSOCK_H
#define IMMUNE_CTLSOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <cjson/cJSON.h>

#define CTLSOCK_PATH "/run/immune/immune.sock"
#define CTLSOCK_NO_GROUP ((gid_t)-1)

/* Who is asking, from SO_PEERCRED / SO_PEERGROUPS at connect time. */
struct ctl_peer {
	pid_t pid;
	uid_t uid;
	gid_t gid;
	bool admin; /* root, or in the admin group: may change verdicts */
};

/*
 * Fill reply (an object) for req. Return 0 on success ("ok": true is added),
 * or the value of ctl_error() which has set "ok": false and "error".
 */
typedef int (*ctl_handler_fn)(const cJSON *req, cJSON *reply, const struct ctl_peer *peer, void *ctx);
/* Add fields to the reply of "status". */
typedef void (*ctl_status_fn)(cJSON *reply, void *ctx);

#define CTL_ADMIN 1u /* the command changes state: root or the admin group only */

struct ctlsock;

/*
 * Listen on path (NULL: CTLSOCK_PATH), creating its directory. The socket is
 * mode 0600 owned by root; with admin_gid != CTLSOCK_NO_GROUP it is group
 * admin_gid and mode 0660, and that group may also use CTL_ADMIN commands.
 * A stale socket is replaced; a live one (another daemon) is an error.
 * Registers "status" and "help". NULL with a one-line reason in err.
 */
struct ctlsock *ctlsock_open(const char *path, gid_t admin_gid, char *err, size_t n);
/* Close every client, stop listening and unlink the socket. */
void ctlsock_close(struct ctlsock *cs);
/* Poll this (POLLIN / EPOLLIN) in the daemon's loop. */
int ctlsock_fd(const struct ctlsock *cs);
/* Requests answered per client, and in all, by one ctlsock_dispatch(). */
#define CTLSOCK_CLIENT_REQUESTS 16
#define CTLSOCK_TURN_REQUESTS   64
/*
 * Accept, read, answer and write what is ready, without blocking and with
 * bounded work (the caller's loop has a ring buffer to drain too): what is
 * left keeps ctlsock_fd() readable. Call when ctlsock_fd() is readable, or on
 * every turn of the loop. Returns the number of requests answered.
 */
int ctlsock_dispatch(struct ctlsock *cs);
/* Add or replace a command. 0, or -ENOMEM / -EINVAL. */
int ctlsock_register(struct ctlsock *cs, const char *cmd, ctl_handler_fn fn, void *ctx, unsigned flags);
/* Add a contributor to "status" (called in registration order). */
int ctlsock_add_status(struct ctlsock *cs, ctl_status_fn fn, void *ctx);
const char *ctlsock_path(const struct ctlsock *cs);

/* Set "ok": false and "error" in reply; returns -1 for the handler to return. */
int ctl_error(cJSON *reply, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Request helpers: the string / bool / integer member, or the default. */
const char *ctl_str(const cJSON *req, const char *key);
bool ctl_bool(const cJSON *req, const char *key, bool dflt);
/* -1 when absent; -2 when present but not a non-negative integer below 9.2e18. */
long long ctl_int(const cJSON *req, const char *key);

#endif
