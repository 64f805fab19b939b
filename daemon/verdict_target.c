/*
 * The vocabulary of verdicts, shared by immuned, the Hive and immunectl:
 * kinds, actions, network targets, addresses and device numbers. Plain libc
 * only (no libbpf, no SQLite), so that immunectl links this and cJSON alone.
 */
#include "verdict_target.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/sysmacros.h>

int verdict_fail(char *err, size_t n, int ret, const char *fmt, ...)
{
	va_list ap;

	if (err && n) {
		va_start(ap, fmt);
		vsnprintf(err, n, fmt, ap);
		va_end(ap);
	}
	return ret;
}

uint64_t verdict_dev_from_st(dev_t st_dev)
{
	return ((uint64_t)major(st_dev) << 20) | (minor(st_dev) & 0xfffff);
}

dev_t verdict_dev_to_st(uint64_t kdev)
{
	return makedev((unsigned)(kdev >> 20), (unsigned)(kdev & 0xfffff));
}

/* ---- names ---------------------------------------------------------------- */

static const char *const kind_names[VK_KINDS] = { "exec", "file", "net" };

int verdict_parse_kind(const char *s, enum verdict_kind *k)
{
	for (int i = 0; i < VK_KINDS; i++) {
		if (s && !strcmp(s, kind_names[i])) {
			*k = i;
			return 0;
		}
	}
	return -EINVAL;
}

const char *verdict_kind_name(enum verdict_kind k)
{
	return (unsigned)k < VK_KINDS ? kind_names[k] : "?";
}

int verdict_parse_action(const char *s, enum imm_action *a)
{
	if (!s)
		return -EINVAL;
	if (!strcmp(s, "deny") || !strcmp(s, "block"))
		*a = IMM_ACT_DENY;
	else if (!strcmp(s, "allow"))
		*a = IMM_ACT_ALLOW;
	else
		return -EINVAL;
	return 0;
}

const char *verdict_action_name(uint32_t action)
{
	switch (action) {
	case IMM_ACT_DENY: return "deny";
	case IMM_ACT_ALLOW: return "allow";
	case IMM_ACT_NONE: return "none";
	}
	return "?";
}

/* ---- addresses ---------------------------------------------------------------- */

int net_parse_addr(const char *s, uint8_t addr[16])
{
	struct in_addr a4;

	if (inet_pton(AF_INET, s, &a4) == 1) {
		memset(addr, 0, 10);
		addr[10] = addr[11] = 0xff;
		memcpy(addr + 12, &a4, 4);
		return 4;
	}
	if (inet_pton(AF_INET6, s, addr) == 1)
		return 6;
	return -1;
}

/* ---- network targets --------------------------------------------------------- */

/* Decimal digits only (no sign, no spaces), at most max. */
static int parse_uint(const char *s, size_t len, unsigned long max, unsigned long *out)
{
	unsigned long v = 0;

	if (len == 0 || len > 6)
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

bool verdict_net_is_v4(const struct verdict_net *t)
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

	return t->prefixlen >= 96 && !memcmp(t->addr, mapped, sizeof(mapped));
}

bool verdict_net_covers(const struct verdict_net *t, const uint8_t addr[16])
{
	unsigned full = t->prefixlen / 8, rest = t->prefixlen % 8;

	if (t->prefixlen > 128 || memcmp(t->addr, addr, full))
		return false;
	return !rest || ((t->addr[full] ^ addr[full]) & (uint8_t)(0xff << (8 - rest))) == 0;
}

bool verdict_net_is_exact(const struct verdict_net *t)
{
	return t->prefixlen == 128;
}

int verdict_parse_net(const char *s, struct verdict_net *out, char *err, size_t n)
{
	char buf[128], addr[INET6_ADDRSTRLEN + 8];
	const char *rest, *pfx = NULL, *p;
	size_t alen, pfxlen = 0;
	bool v4;
	unsigned long prefix = 0, port = 0;

	memset(out, 0, sizeof(*out));
	if (!s || !*s)
		return verdict_fail(err, n, -EINVAL, "empty network target");
	if (strlen(s) >= sizeof(buf))
		return verdict_fail(err, n, -EINVAL, "network target too long");
	strcpy(buf, s);

	if (buf[0] == '[') {
		char *close = strchr(buf, ']');
		if (!close)
			return verdict_fail(err, n, -EINVAL, "%s: missing ']'", s);
		*close = '\0';
		rest = close + 1;
		char *slash = strchr(buf + 1, '/');
		if (slash) {
			*slash = '\0';
			pfx = slash + 1;
			pfxlen = strlen(pfx);
		}
		p = buf + 1;
		alen = strlen(p);
	} else {
		char *slash = strchr(buf, '/');
		char *colon = strchr(buf, ':');
		p = buf;
		if (slash) {
			alen = (size_t)(slash - buf);
			rest = slash;
		} else if (colon && !strchr(colon + 1, ':')) {
			/* one colon: IPv4:PORT; more: a bare IPv6 address, no port */
			alen = (size_t)(colon - buf);
			rest = colon;
		} else {
			alen = strlen(buf);
			rest = buf + alen;
		}
	}
	if (*rest == '/') {
		if (pfx)
			return verdict_fail(err, n, -EINVAL, "%s: two prefixes", s);
		pfx = rest + 1;
		pfxlen = strcspn(pfx, ":");
		rest = pfx + pfxlen;
	}
	if (*rest == ':') {
		int r = parse_uint(rest + 1, strlen(rest + 1), 65535, &port);
		if (r || port == 0)
			return verdict_fail(err, n, -EINVAL, "%s: port must be 1-65535", s);
		rest += strlen(rest);
	}
	if (*rest)
		return verdict_fail(err, n, -EINVAL, "%s: unexpected '%s' after the address", s, rest);
	if (alen == 0 || alen >= sizeof(addr))
		return verdict_fail(err, n, -EINVAL, "%s: missing or malformed address", s);
	memcpy(addr, p, alen);
	addr[alen] = '\0';

	switch (net_parse_addr(addr, out->addr)) {
	case 4: v4 = true; break;
	case 6: v4 = false; break;
	default: return verdict_fail(err, n, -EINVAL, "%s: '%s' is not an IPv4 or IPv6 address", s, addr);
	}
	if (pfx) {
		if (parse_uint(pfx, pfxlen, v4 ? 32 : 128, &prefix))
			return verdict_fail(err, n, -EINVAL, "%s: prefix must be 0-%d", s, v4 ? 32 : 128);
		out->prefixlen = (unsigned)prefix + (v4 ? 96 : 0);
	} else {
		out->prefixlen = 128;
	}
	out->port = (uint16_t)port;

	/* The LPM trie ignores bits past the prefix; refuse them rather than guess. */
	for (unsigned bit = out->prefixlen; bit < 128; bit++) {
		if (out->addr[bit / 8] & (0x80 >> (bit % 8))) {
			struct verdict_net net = *out;
			char canon[96];
			for (unsigned b = out->prefixlen; b < 128; b++)
				net.addr[b / 8] &= (uint8_t)~(0x80 >> (b % 8));
			verdict_format_net(&net, canon, sizeof(canon));
			return verdict_fail(err, n, -EINVAL, "%s: host bits set past the prefix (network is %s)", s, canon);
		}
	}
	return 0;
}

/* RFC 5952 text: glibc's inet_ntop prints ::1:22 as the deprecated "::0.1.0.34". */
static void format_v6(const uint8_t *a, char *buf, size_t n)
{
	int best = -1, best_len = 1, run = 0, off = 0;
	unsigned g[8];

	for (int i = 0; i < 8; i++) {
		g[i] = (unsigned)a[2 * i] << 8 | a[2 * i + 1];
		run = g[i] ? 0 : run + 1;
		if (run > best_len) {
			best_len = run;
			best = i - run + 1;
		}
	}
	buf[0] = '\0';
	for (int i = 0; i < 8 && (size_t)off < n; i++) {
		if (i == best) {
			off += snprintf(buf + off, n - (size_t)off, "::");
			i += best_len - 1;
			continue;
		}
		bool sep = i > 0 && i != best + best_len;
		off += snprintf(buf + off, n - (size_t)off, "%s%x", sep ? ":" : "", g[i]);
	}
}

void verdict_format_net(const struct verdict_net *t, char *buf, size_t n)
{
	char a[INET6_ADDRSTRLEN], pfx[8] = "", port[8] = "";

	if (verdict_net_is_v4(t)) {
		inet_ntop(AF_INET, t->addr + 12, a, sizeof(a));
		if (t->prefixlen < 128)
			snprintf(pfx, sizeof(pfx), "/%u", t->prefixlen - 96);
		if (t->port)
			snprintf(port, sizeof(port), ":%u", t->port);
		snprintf(buf, n, "%s%s%s", a, pfx, port);
		return;
	}
	format_v6(t->addr, a, sizeof(a));
	if (t->prefixlen < 128)
		snprintf(pfx, sizeof(pfx), "/%u", t->prefixlen);
	if (t->port) {
		snprintf(port, sizeof(port), ":%u", t->port);
		snprintf(buf, n, "[%s]%s%s", a, pfx, port);
	} else {
		snprintf(buf, n, "%s%s", a, pfx);
	}
}

int verdict_check_target(enum verdict_kind kind, const char *target, char *err, size_t n)
{
	struct verdict_net t;

	if (!target)
		return verdict_fail(err, n, -EINVAL, "no target");
	if (kind == VK_NET)
		return verdict_parse_net(target, &t, err, n);
	if ((unsigned)kind >= VK_KINDS)
		return verdict_fail(err, n, -EINVAL, "unknown verdict kind");
	if (target[0] != '/')
		return verdict_fail(err, n, -EINVAL, "%s: need an absolute path", target);
	return 0;
}
