/*
 * The Hive instances an agent may report to (`--hive A:P,B:P,...`) and the
 * order in which this agent tries them: rendezvous (highest-random-weight)
 * hashing of the agent id with each instance, so every agent has a stable
 * primary, agents spread evenly, and adding an instance moves only the
 * agents whose new first choice it is (about 1/n of them).
 */
#ifndef IMMUNE_HIVE_ADDRS_H
#define IMMUNE_HIVE_ADDRS_H

#include <stddef.h>
#include <stdint.h>

#define HIVE_ADDRS_MAX 16

struct hive_addr {
	char host[256];  /* the name (or address) the instance's certificate must carry; IPv6 without brackets */
	char port[8];
	char name[272];  /* HOST:PORT, [V6]:PORT: how it is shown and what is hashed */
};

/* Parse a comma list of HOST:PORT and [V6]:PORT (spaces around entries are
 * allowed). The number of instances, or -1 with a one-line reason naming
 * the bad entry. */
int hive_addrs_parse(const char *list, struct hive_addr *out, int max, char *err, size_t n);
/* The weight of an instance for an agent: the highest comes first. */
uint64_t hive_addrs_weight(const char *agent_id, const char *name);
/* order[0..n-1]: the indexes of a by falling weight for this agent (ties by index). */
void hive_addrs_order(const char *agent_id, const struct hive_addr *a, int n, int *order);

#endif
