/*
 * The vocabulary of verdicts: what a verdict is about (exec, file, net), what
 * it does (deny, allow), network targets as typed and as stored, addresses in
 * their IPv4-mapped 128-bit form, and device numbers as the kernel keys them.
 * Daemon-free: immunectl, the Hive and the daemon all speak it, and only this
 * file and libc are needed to do so.
 */
#ifndef IMMUNE_VERDICT_TARGET_H
#define IMMUNE_VERDICT_TARGET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "immune.h"

enum verdict_kind { VK_EXEC = 0, VK_FILE = 1, VK_NET = 2, VK_KINDS = 3 };

/*
 * Kernel-internal dev_t of a device number from stat(2). The BPF side keys on
 * inode->i_sb->s_dev, which is MKDEV(major, minor) = major << 20 | minor, not
 * the userspace st_dev encoding (glibc's gnu_dev_makedev splits the minor
 * around the major) nor the new_encode_dev() form the kernel shows in stat.
 */
uint64_t verdict_dev_from_st(dev_t st_dev);
/* The reverse, for printing a map key as major:minor. */
dev_t verdict_dev_to_st(uint64_t kdev);

/* A network target: IPv4 stored IPv4-mapped, prefix over the 128-bit address. */
struct verdict_net {
	uint8_t addr[16];
	unsigned prefixlen; /* 0..128; IPv4 /p is 96 + p */
	uint16_t port;      /* 0 = any */
};

/*
 * Parse ADDR[/PREFIX][:PORT]: "1.2.3.4", "1.2.3.4:80", "10.0.0.0/8:443",
 * "::1", "[::1]:22", "2001:db8::/32", "[2001:db8::]/32:443". Host bits under
 * the prefix are refused (they would be silently ignored by the LPM trie).
 * 0, or -EINVAL with a one-line reason in err.
 */
int verdict_parse_net(const char *s, struct verdict_net *out, char *err, size_t n);
/* The canonical text of a target (what is stored and listed). */
void verdict_format_net(const struct verdict_net *t, char *buf, size_t n);
/* Full-length prefix: keyed exactly in verdict_net, else in verdict_cidr. */
bool verdict_net_is_exact(const struct verdict_net *t);
bool verdict_net_is_v4(const struct verdict_net *t);
/* Whether the address (128-bit form) is inside t's prefix. */
bool verdict_net_covers(const struct verdict_net *t, const uint8_t addr[16]);

int verdict_parse_kind(const char *s, enum verdict_kind *k);
const char *verdict_kind_name(enum verdict_kind k);
/* "deny" (also "block") or "allow". */
int verdict_parse_action(const char *s, enum imm_action *a);
const char *verdict_action_name(uint32_t action);

/* A target of kind as a verdict takes it: an absolute path, or a network target. 0 or -EINVAL with err. */
int verdict_check_target(enum verdict_kind kind, const char *target, char *err, size_t n);

/*
 * The one address parser: IPv4 or IPv6 text into the 128-bit form the maps,
 * rules and indicators use (IPv4 as ::ffff:a.b.c.d). 4, 6, or -1.
 */
int net_parse_addr(const char *s, uint8_t addr[16]);

/* printf into err (when err and n) and return ret: the one-line error helper. */
int verdict_fail(char *err, size_t n, int ret, const char *fmt, ...) __attribute__((format(printf, 4, 5)));

#endif
