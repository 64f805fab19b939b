/*
 * `--hive` lists and the rendezvous order of their instances
 * (hive_addrs.h). The weight depends only on the agent id and the
 * instance's HOST:PORT as written, so every agent of a fleet given the same
 * list agrees with the others without talking to them.
 */
#include "hive_addrs.h"
#include "hive_tls.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* letters, digits and what host names, IPv4 and bracketed IPv6 addresses use */
static const char addr_chars[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_:[]%";

int hive_addrs_parse(const char *list, struct hive_addr *out, int max, char *err, size_t n)
{
	int count = 0, entry = 0;
	const char *p = list;
	if (!list || !*list) {
		snprintf(err, n, "expected HOST:PORT[,HOST:PORT...]");
		return -1;
	}
	for (;;) {
		const char *end = strchr(p, ',');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		entry++;
		while (len && *p == ' ') {
			p++;
			len--;
		}
		while (len && p[len - 1] == ' ')
			len--;
		if (!len) {
			snprintf(err, n, "entry %d is empty (expected HOST:PORT[,HOST:PORT...])", entry);
			return -1;
		}
		for (size_t i = 0; i < len; i++)
			if (!strchr(addr_chars, p[i]) || !p[i]) {
				snprintf(err, n, "entry %d has a byte 0x%02x that no host name or address holds", entry,
					 (unsigned char)p[i]);
				return -1;
			}
		if (len >= sizeof(out->host)) {
			snprintf(err, n, "entry %d is longer than %zu bytes", entry, sizeof(out->host) - 1);
			return -1;
		}
		char text[256], host[256], port[16];
		memcpy(text, p, len);
		text[len] = 0;
		unsigned long pn = 0;
		if (hive_split_addr(text, host, sizeof(host), port, sizeof(port)) || !host[0] ||
		    (text[0] != '[' && strchr(host, ':')) || (text[0] == '[' && !strchr(host, ':')) ||
		    strlen(port) > 5 || (pn = strtoul(port, NULL, 10)) < 1 || pn > 65535) {
			snprintf(err, n, "entry %d '%s' is not HOST:PORT or [IPV6]:PORT with a port of 1-65535", entry,
				 text);
			return -1;
		}
		if (count == max) {
			snprintf(err, n, "entry %d '%s': more than %d Hive instances", entry, text, max);
			return -1;
		}
		struct hive_addr *a = &out[count];
		snprintf(a->host, sizeof(a->host), "%s", host);
		snprintf(a->port, sizeof(a->port), "%lu", pn);
		snprintf(a->name, sizeof(a->name), strchr(host, ':') ? "[%s]:%s" : "%s:%s", host, a->port);
		for (int i = 0; i < count; i++)
			if (strcmp(out[i].name, a->name) == 0) {
				snprintf(err, n, "entry %d '%s' repeats entry %d", entry, text, i + 1);
				return -1;
			}
		count++;
		if (!end)
			return count;
		p = end + 1;
	}
}

/* FNV-1a over "AGENT\0NAME", then the splitmix64 finalizer: FNV alone leaves
 * the high bits of near-equal names too close for a fair choice. */
uint64_t hive_addrs_weight(const char *agent_id, const char *name)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	for (const unsigned char *s = (const unsigned char *)agent_id;; s++) {
		h = (h ^ *s) * 0x100000001b3ULL;
		if (!*s)
			break;
	}
	for (const unsigned char *s = (const unsigned char *)name; *s; s++)
		h = (h ^ *s) * 0x100000001b3ULL;
	h ^= h >> 30;
	h *= 0xbf58476d1ce4e5b9ULL;
	h ^= h >> 27;
	h *= 0x94d049bb133111ebULL;
	h ^= h >> 31;
	return h;
}

void hive_addrs_order(const char *agent_id, const struct hive_addr *a, int n, int *order)
{
	uint64_t w[HIVE_ADDRS_MAX];
	for (int i = 0; i < n && i < HIVE_ADDRS_MAX; i++) {
		w[i] = hive_addrs_weight(agent_id, a[i].name);
		/* insertion by falling weight; an equal weight keeps the list's order */
		int j = i;
		while (j > 0 && w[order[j - 1]] < w[i]) {
			order[j] = order[j - 1];
			j--;
		}
		order[j] = i;
	}
}
