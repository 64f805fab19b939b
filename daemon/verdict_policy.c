/*
 * What may be put in the verdict maps, and over what: an operator's allow
 * outranks a rule's block, and a fleet set replaces what its source set
 * before. The maps themselves are verdict.c's; this only asks and puts.
 */
#include "verdict.h"
#include "protected.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int verdict_rule_block_inode(struct verdicts *v, enum verdict_kind kind, uint64_t st_dev, uint64_t ino,
			     const char *source, char *err, size_t n)
{
	struct imm_verdict cur;
	/* events carry st_dev; the maps key on the kernel's dev_t */
	uint64_t kdev = verdict_dev_from_st((dev_t)st_dev);

	if (verdict_get_inode(v, kind, kdev, ino, &cur) && cur.action == IMM_ACT_ALLOW)
		return verdict_fail(err, n, -EPERM, "an allow verdict covers it");
	return verdict_put_inode(v, kind, kdev, ino, IMM_ACT_DENY, source, err, n);
}

int verdict_rule_block_net(struct verdicts *v, const char *ip, uint16_t port, const char *source,
			   char *target, size_t tn, char *err, size_t n)
{
	struct imm_verdict cur;
	uint8_t addr[16];
	int fam = net_parse_addr(ip, addr);

	if (fam < 0)
		return verdict_fail(err, n, -EINVAL, "'%s' is not an IPv4 or IPv6 address", ip);
	if ((verdict_get_net(v, addr, port, &cur) && cur.action == IMM_ACT_ALLOW) ||
	    (verdict_get_net(v, addr, 0, &cur) && cur.action == IMM_ACT_ALLOW))
		return verdict_fail(err, n, -EPERM, "an allow verdict covers it");
	if (port)
		snprintf(target, tn, fam == 6 ? "[%s]:%u" : "%s:%u", ip, port);
	else
		snprintf(target, tn, "%s", ip);
	return verdict_put(v, VK_NET, target, IMM_ACT_DENY, source, true, err, n);
}

int verdict_guard_deny(const struct verdict_guard *g, enum verdict_kind kind, const char *target, char *err,
		       size_t n)
{
	const char *why = NULL;

	if (!g)
		return 0;
	if (kind == VK_NET) {
		struct verdict_net t;
		if (verdict_parse_net(target, &t, err, n))
			return -EINVAL;
		if (g->hive_link_in && g->hive_link_in(g->ctx, &t))
			return verdict_fail(err, n, -EPERM, "net %s covers this agent's link to the Hive", target);
		return 0;
	}
	if (protected_path(g->protect, target, &why))
		return verdict_fail(err, n, -EPERM, "%s is protected (%s)", target, why ? why : "");
	return 0;
}

struct stale {
	const char *source;
	const struct verdict_want *set;
	size_t nset;
	struct { enum verdict_kind kind; char *target; } *list;
	size_t n, cap;
};

/* Verdicts of this source that the new set no longer has. */
static int collect_stale(const struct verdict_entry *e, void *ctx)
{
	struct stale *s = ctx;

	if (strcmp(e->val.source, s->source) != 0 || !e->target)
		return 0;
	for (size_t i = 0; i < s->nset; i++)
		if (s->set[i].kind == e->kind && strcmp(s->set[i].target, e->target) == 0)
			return 0;
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 16;
		void *l = realloc(s->list, cap * sizeof(*s->list));
		if (!l)
			return -ENOMEM;
		s->list = l;
		s->cap = cap;
	}
	if (!(s->list[s->n].target = strdup(e->target)))
		return -ENOMEM;
	s->list[s->n++].kind = e->kind;
	return 0;
}

void verdict_replace_source(struct verdicts *v, const char *source, const struct verdict_want *set, size_t nset,
			    FILE *log, int *applied, int *removed)
{
	struct stale s = { .source = source, .set = set, .nset = nset };
	char err[256];

	*applied = *removed = 0;
	if (verdict_foreach(v, collect_stale, &s))
		fprintf(log, "immuned: %s: listing the verdicts it set before failed; none removed\n", source);
	else
		for (size_t i = 0; i < s.n; i++) {
			if (verdict_delete(v, s.list[i].kind, s.list[i].target, err, sizeof(err)) == 0)
				(*removed)++;
			else
				fprintf(log, "immuned: %s: %s %s not removed: %s\n", source,
					verdict_kind_name(s.list[i].kind), s.list[i].target, err);
		}
	for (size_t i = 0; i < s.n; i++)
		free(s.list[i].target);
	free(s.list);
	for (size_t i = 0; i < nset; i++) {
		if (verdict_put(v, set[i].kind, set[i].target, set[i].action, source, true, err, sizeof(err)) == 0)
			(*applied)++;
		else
			fprintf(log, "immuned: %s: %s %s not applied here: %s\n", source, verdict_kind_name(set[i].kind),
				set[i].target, err);
	}
}
