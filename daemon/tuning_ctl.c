/*
 * Suppressions over the control socket: added and removed by root or the
 * admin group, applied at once (no restart), kept in SQLite.
 */
#include "tuning_ctl.h"

#include <stdio.h>
#include <time.h>

#define MAX_SUPPRESS_S (10LL * 365 * 86400)

struct tuning_src {
	struct tuning *(*get)(void *ctx);
	void *ctx;
};

/* The tuning in force, or an error reply when detection does not run. */
static struct tuning *current(void *src, cJSON *reply)
{
	struct tuning_src *ts = src;
	struct tuning *t = ts->get(ts->ctx);
	if (!t)
		ctl_error(reply, "no detection runs in this daemon");
	return t;
}

static int cmd_suppress(const cJSON *req, cJSON *reply, const struct ctl_peer *peer, void *ctx)
{
	struct tuning *t = current(ctx, reply);
	char by[64], err[512];
	if (!t)
		return -1;
	struct suppression s = {
		.rule = ctl_str(req, "rule"),
		.exe = ctl_str(req, "exe"),
		.parent = ctl_str(req, "parent"),
		.cmdline_contains = ctl_str(req, "cmdline_contains"),
		.by = by,
	};
	long long for_s = ctl_int(req, "for_s");
	if (!s.rule || !*s.rule)
		return ctl_error(reply, "\"rule\" (a rule id) is required");
	if (for_s == -2 || for_s == 0 || for_s > MAX_SUPPRESS_S)
		return ctl_error(reply, "\"for_s\" must be whole seconds from 1 to %lld", MAX_SUPPRESS_S);
	if (for_s > 0) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		s.expires_ns = ((long long)ts.tv_sec + for_s) * 1000000000LL + ts.tv_nsec;
	}
	snprintf(by, sizeof(by), "operator:%u", (unsigned)peer->uid);
	long long id = tuning_suppress(t, &s, err, sizeof(err));
	if (id < 0)
		return ctl_error(reply, "%s", err);
	cJSON_AddNumberToObject(reply, "suppression", (double)id);
	cJSON_AddNumberToObject(reply, "expires_ns", (double)s.expires_ns);
	return 0;
}

static int cmd_unsuppress(const cJSON *req, cJSON *reply, const struct ctl_peer *peer, void *ctx)
{
	char err[256];
	/* not "id": that one is the request's, echoed in every reply */
	long long id = ctl_int(req, "suppression");
	(void)peer;
	if (id < 0)
		return ctl_error(reply, "\"suppression\" (a suppression id) must be a non-negative integer");
	struct tuning *t = current(ctx, reply);
	if (!t)
		return -1;
	if (tuning_unsuppress(t, id, err, sizeof(err)))
		return ctl_error(reply, "%s", err);
	return 0;
}

static int cmd_suppressions(const cJSON *req, cJSON *reply, const struct ctl_peer *peer, void *ctx)
{
	(void)req;
	(void)peer;
	struct tuning *t = current(ctx, reply);
	if (!t)
		return -1;
	cJSON_AddItemToObject(reply, "suppressions", tuning_suppressions_json(t));
	return 0;
}

int tuning_ctl_register(struct ctlsock *cs, struct tuning *(*get)(void *ctx), void *ctx)
{
	static struct tuning_src src; /* one daemon, one control socket */
	src = (struct tuning_src){ get, ctx };
	return ctlsock_register(cs, "suppress", cmd_suppress, &src, CTL_ADMIN) ||
			       ctlsock_register(cs, "unsuppress", cmd_unsuppress, &src, CTL_ADMIN) ||
			       ctlsock_register(cs, "suppressions", cmd_suppressions, &src, 0)
		       ? -1
		       : 0;
}
