/*
 * The control socket's verdict commands: block, allow, unblock, verdicts,
 * reapply, and the verdict counts in "status".
 */
#ifndef IMMUNE_VERDICT_CTL_H
#define IMMUNE_VERDICT_CTL_H

#include "ctlsock.h"
#include "verdict.h"

/*
 * Called after a request with "fleet": true was applied here; verb is
 * "block", "allow" or "unblock" and target is canonical. Return 0, or
 * ctl_error(reply, ...) when the fleet could not be told.
 */
typedef int (*verdict_fleet_fn)(const char *verb, enum verdict_kind kind, const char *target,
				const struct ctl_peer *peer, cJSON *reply, void *ctx);

struct verdict_ctl;

/* Register the commands on cs; v stays the caller's. NULL on out of memory. */
struct verdict_ctl *verdict_ctl_register(struct ctlsock *cs, struct verdicts *v);
/* Who forwards "fleet": true requests (the Hive client); without one they are refused. */
void verdict_ctl_set_fleet(struct verdict_ctl *vc, verdict_fleet_fn fn, void *ctx);
/* What a block may not cover (verdict_guard_deny); g stays the caller's. */
void verdict_ctl_set_guard(struct verdict_ctl *vc, const struct verdict_guard *g);
void verdict_ctl_free(struct verdict_ctl *vc);

#endif
