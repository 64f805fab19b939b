/*
 * Verdict commands of the control socket. Operator verdicts are persisted
 * and carry "operator:<uid>" of the peer that set them.
 */
#include "verdict_ctl.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

struct verdict_ctl {
	struct verdicts *v;
	verdict_fleet_fn fleet;
	void *fleet_ctx;
	const struct verdict_guard *guard;
};

/* kind and target of a request, target made canonical for net */
static int req_target(const cJSON *req, cJSON *reply, enum verdict_kind *kind, const char **target,
		      char *canon, size_t n)
{
	const char *k = ctl_str(req, "kind");
	char err[256];

	if (!k || verdict_parse_kind(k, kind))
		return ctl_error(reply, "\"kind\" must be \"exec\", \"file\" or \"net\"");
	*target = ctl_str(req, "target");
	if (!*target || !**target)
		return ctl_error(reply, "\"target\" must be a non-empty string");
	if (*kind == VK_NET) {
		struct verdict_net t;
		if (verdict_parse_net(*target, &t, err, sizeof(err)))
			return ctl_error(reply, "%s", err);
		verdict_format_net(&t, canon, n);
		*target = canon;
	} else if ((*target)[0] != '/') {
		return ctl_error(reply, "%s: need an absolute path (the daemon's working directory is not yours)",
				 *target);
	}
	return 0;
}

static void add_u64(cJSON *o, const char *key, uint64_t v)
{
	/* a double: counts are exact up to 2^53; epoch ns (~1.7e18) keep ~256 ns steps */
	cJSON_AddNumberToObject(o, key, (double)v);
}

static void describe(cJSON *o, enum verdict_kind kind, const char *target)
{
	struct stat st;

	if (kind == VK_NET) {
		struct verdict_net t;
		if (verdict_parse_net(target, &t, NULL, 0) == 0)
			cJSON_AddStringToObject(o, "map", verdict_map_names[verdict_net_is_exact(&t) ? VM_NET : VM_CIDR]);
	} else {
		cJSON_AddStringToObject(o, "map", verdict_map_names[kind == VK_EXEC ? VM_EXEC : VM_FILE]);
		if (stat(target, &st) == 0) {
			char dev[32];
			snprintf(dev, sizeof(dev), "%u:%u", major(st.st_dev), minor(st.st_dev));
			cJSON_AddStringToObject(o, "dev", dev);
			add_u64(o, "ino", st.st_ino);
		}
	}
}

static int do_put(struct verdict_ctl *vc, const char *verb, enum imm_action act, const cJSON *req,
		  cJSON *reply, const struct ctl_peer *peer)
{
	enum verdict_kind kind;
	const char *target;
	char canon[96], source[IMM_SOURCE_LEN], err[512];
	bool fleet = ctl_bool(req, "fleet", false);
	int ret;

	if (req_target(req, reply, &kind, &target, canon, sizeof(canon)))
		return -1;
	if (fleet && !vc->fleet)
		return ctl_error(reply, "--fleet: this agent has no Hive to forward the verdict to");
	if (act == IMM_ACT_DENY && verdict_guard_deny(vc->guard, kind, target, err, sizeof(err))) {
		fprintf(stderr, "immuned: block %s %s by uid %u (pid %d) refused: %s\n", verdict_kind_name(kind), target,
			(unsigned)peer->uid, (int)peer->pid, err);
		return ctl_error(reply, "refused: %s", err);
	}
	snprintf(source, sizeof(source), "operator:%u", (unsigned)peer->uid);
	ret = verdict_put(vc->v, kind, target, act, source, true, err, sizeof(err));
	if (ret)
		return ctl_error(reply, "%s", err);
	fprintf(stderr, "immuned: %s %s %s by uid %u (pid %d)\n", verb, verdict_kind_name(kind), target,
		(unsigned)peer->uid, (int)peer->pid);
	cJSON_AddStringToObject(reply, "kind", verdict_kind_name(kind));
	cJSON_AddStringToObject(reply, "target", target);
	cJSON_AddStringToObject(reply, "action", verdict_action_name(act));
	cJSON_AddStringToObject(reply, "source", source);
	cJSON_AddBoolToObject(reply, "persisted", verdicts_db(vc->v) != NULL);
	describe(reply, kind, target);
	cJSON_AddBoolToObject(reply, "fleet", fleet);
	if (fleet)
		return vc->fleet(verb, kind, target, peer, reply, vc->fleet_ctx);
	return 0;
}

static int cmd_block(const cJSON *req, cJSON *reply, const struct ctl_peer *peer, void *ctx)
{
	return do_put(ctx, "block", IMM_ACT_DENY, req, reply, peer);
}

static int cmd_allow(const cJSON *req, cJSON *reply, const struct ctl_peer *peer, void *ctx)
{
	return do_put(ctx, "allow", IMM_ACT_ALLOW, req, reply, peer);
}

static int cmd_unblock(const cJSON *req, cJSON *reply, const struct ctl_peer *peer, void *ctx)
{
	struct verdict_ctl *vc = ctx;
	enum verdict_kind kind;
	const char *target;
	char canon[96], err[512];
	bool fleet = ctl_bool(req, "fleet", false);

	if (req_target(req, reply, &kind, &target, canon, sizeof(canon)))
		return -1;
	if (fleet && !vc->fleet)
		return ctl_error(reply, "--fleet: this agent has no Hive to forward the verdict to");
	if (verdict_delete(vc->v, kind, target, err, sizeof(err)))
		return ctl_error(reply, "%s", err);
	fprintf(stderr, "immuned: unblock %s %s by uid %u (pid %d)\n", verdict_kind_name(kind), target,
		(unsigned)peer->uid, (int)peer->pid);
	cJSON_AddStringToObject(reply, "kind", verdict_kind_name(kind));
	cJSON_AddStringToObject(reply, "target", target);
	cJSON_AddBoolToObject(reply, "removed", true);
	cJSON_AddBoolToObject(reply, "fleet", fleet);
	if (fleet)
		return vc->fleet("unblock", kind, target, peer, reply, vc->fleet_ctx);
	return 0;
}

struct list_ctx {
	cJSON *arr;
	int kind; /* -1: all */
	long long count;
};

static int list_one(const struct verdict_entry *e, void *ctx)
{
	struct list_ctx *lc = ctx;
	cJSON *o;

	if (lc->kind >= 0 && (int)e->kind != lc->kind)
		return 0;
	o = cJSON_CreateObject();
	if (!o || !cJSON_AddItemToArray(lc->arr, o)) {
		cJSON_Delete(o);
		return -ENOMEM;
	}
	cJSON_AddStringToObject(o, "kind", verdict_kind_name(e->kind));
	cJSON_AddStringToObject(o, "target", e->target);
	cJSON_AddStringToObject(o, "action", verdict_action_name(e->val.action));
	cJSON_AddStringToObject(o, "source", e->val.source);
	add_u64(o, "set_ns", e->val.set_ns);
	add_u64(o, "hits", e->val.hits);
	cJSON_AddStringToObject(o, "map", verdict_map_names[e->map]);
	cJSON_AddBoolToObject(o, "enforced", e->in_map);
	cJSON_AddBoolToObject(o, "persisted", e->persisted);
	if (e->kind == VK_NET) {
		cJSON_AddNumberToObject(o, "prefixlen", e->net.prefixlen);
		cJSON_AddNumberToObject(o, "port", e->net.port);
	} else if (e->dev || e->ino) {
		char dev[32];
		dev_t d = verdict_dev_to_st(e->dev);
		snprintf(dev, sizeof(dev), "%u:%u", major(d), minor(d));
		cJSON_AddStringToObject(o, "dev", dev);
		add_u64(o, "ino", e->ino);
	}
	lc->count++;
	return 0;
}

static int cmd_verdicts(const cJSON *req, cJSON *reply, const struct ctl_peer *peer, void *ctx)
{
	struct verdict_ctl *vc = ctx;
	struct list_ctx lc = { .kind = -1 };
	const char *k = ctl_str(req, "kind");
	enum verdict_kind kind;
	int ret;

	(void)peer;
	if (k) {
		if (verdict_parse_kind(k, &kind))
			return ctl_error(reply, "\"kind\" must be \"exec\", \"file\" or \"net\"");
		lc.kind = kind;
	}
	lc.arr = cJSON_AddArrayToObject(reply, "verdicts");
	if (!lc.arr)
		return ctl_error(reply, "out of memory");
	ret = verdict_foreach(vc->v, list_one, &lc);
	if (ret)
		return ctl_error(reply, "listing verdicts: %s", strerror(ret < 0 ? -ret : ret));
	cJSON_AddNumberToObject(reply, "count", (double)lc.count);
	return 0;
}

static int cmd_reapply(const cJSON *req, cJSON *reply, const struct ctl_peer *peer, void *ctx)
{
	struct verdict_ctl *vc = ctx;
	int n;

	(void)req;
	(void)peer;
	n = verdict_reapply_all(vc->v);
	if (n < 0)
		return ctl_error(reply, "re-applying verdicts: %s", strerror(-n));
	cJSON_AddNumberToObject(reply, "applied", n);
	return 0;
}

static void status_verdicts(cJSON *reply, void *ctx)
{
	struct verdict_ctl *vc = ctx;
	struct verdict_counts c;
	cJSON *o = cJSON_AddObjectToObject(reply, "verdicts");

	if (!o)
		return;
	if (verdict_count(vc->v, &c)) {
		cJSON_AddStringToObject(o, "error", "cannot count the verdict maps");
		return;
	}
	for (int m = 0; m < VM_COUNT; m++)
		add_u64(o, verdict_map_names[m] + strlen("verdict_"), c.entries[m]);
	add_u64(o, "deny", c.deny);
	add_u64(o, "allow", c.allow);
	add_u64(o, "hits", c.hits);
	add_u64(o, "persisted", c.persisted);
}

struct verdict_ctl *verdict_ctl_register(struct ctlsock *cs, struct verdicts *v)
{
	struct verdict_ctl *vc = calloc(1, sizeof(*vc));

	if (!vc)
		return NULL;
	vc->v = v;
	if (ctlsock_register(cs, "block", cmd_block, vc, CTL_ADMIN) ||
	    ctlsock_register(cs, "allow", cmd_allow, vc, CTL_ADMIN) ||
	    ctlsock_register(cs, "unblock", cmd_unblock, vc, CTL_ADMIN) ||
	    ctlsock_register(cs, "reapply", cmd_reapply, vc, CTL_ADMIN) ||
	    ctlsock_register(cs, "verdicts", cmd_verdicts, vc, 0) ||
	    ctlsock_add_status(cs, status_verdicts, vc)) {
		/* not freed: the commands registered so far point at it */
		return NULL;
	}
	return vc;
}

void verdict_ctl_set_fleet(struct verdict_ctl *vc, verdict_fleet_fn fn, void *ctx)
{
	vc->fleet = fn;
	vc->fleet_ctx = ctx;
}

void verdict_ctl_set_guard(struct verdict_ctl *vc, const struct verdict_guard *g)
{
	vc->guard = g;
}

void verdict_ctl_free(struct verdict_ctl *vc)
{
	free(vc);
}
