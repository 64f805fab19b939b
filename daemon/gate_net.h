/*
 * Destinations that block rules and indicators name, as connect verdicts put
 * when they load (and at every reload and IOC change), so the first connect
 * to them is refused in the kernel: blocking ip:/cidr: indicators, and
 * network_connection rules whose whole condition is DestinationIp (equality
 * or |cidr), optionally with DestinationPort equality and Initiated: 'true'.
 * A rule on anything more (the program, the user...) stays after-match: it
 * kills that process and blocks the destination for no one else.
 */
#ifndef IMMUNE_GATE_NET_H
#define IMMUNE_GATE_NET_H

#include <stdbool.h>
#include <stdio.h>
#include "ioc.h"
#include "sigma.h"
#include "verdict_target.h"

struct detect;
struct protected_set;
struct verdicts;

/* One destination to refuse, and who names it. */
struct gate_net_dest {
	struct verdict_net net;
	char source[80]; /* the verdict's source: "ioc:<file>" or "rule:<id>" */
	char where[300]; /* for people: "FILE:LINE" or "FILE ID" */
};

typedef void (*gate_net_fn)(void *ctx, const struct gate_net_dest *d);

/* The widest networks put from rules and indicators, as the Hive's defaults
 * for fleet verdicts: a wider one is refused at load and acts after the match. */
#define GATE_NET_MIN_PREFIX4 16
#define GATE_NET_MIN_PREFIX6 48

/* Whether r's condition is destinations only; fn (may be NULL) gets each. */
bool gate_rule_net_dests(const struct sigma_rule *r, gate_net_fn fn, void *ctx);
/* The blocking ip:/cidr: indicators of s. */
void gate_ioc_net_dests(struct ioc_set *s, gate_net_fn fn, void *ctx);
/* NULL, or why d may not be put from a rule or indicator (too wide). */
const char *gate_net_refusal(const struct gate_net_dest *d);

/*
 * Make the connect verdicts of rules and indicators exactly what d names now:
 * each put (persisted, with its source) unless too wide, covering the Hive's
 * address (hive_in, may be NULL) or under an operator's allow of the same
 * target; the net verdicts with a rule:/ioc: source that no longer are named
 * are removed. One line on log says how many; refusals name file and line.
 */
void gate_net_apply(struct detect *d, struct verdicts *v, bool (*hive_in)(void *ctx, const struct verdict_net *t),
		    void *hctx, FILE *log);

/* Whether one of hostports ("A:P,B:P", "[v6]:P") is a literal address inside t. */
bool gate_net_covers_hosts(const char *hostports, const struct verdict_net *t);

/* --check-rules for indicator files: refused path: indicators (protected
 * binaries) and blocking destinations, one line each. Malformed lines are
 * reported as the daemon reports them. 0, or 1 if a file cannot be read. */
int gate_iocs_check(int n, char **paths, const struct protected_set *p, const char *hive, FILE *out);

#endif
