/* The control socket's "suppress", "unsuppress" and "suppressions" (docs/control-socket.md). */
#ifndef IMMUNE_TUNING_CTL_H
#define IMMUNE_TUNING_CTL_H

#include "ctlsock.h"
#include "tuning.h"

/*
 * get returns the tuning in force when a request comes (a reload replaces
 * the detector and its tuning; the suppressions carry over in SQLite).
 * 0, or -1 when a command cannot be registered.
 */
int tuning_ctl_register(struct ctlsock *cs, struct tuning *(*get)(void *ctx), void *ctx);

#endif
