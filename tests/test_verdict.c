/*
 * Verdict targets without the kernel: network target parsing (good and bad),
 * canonical text, the kernel dev_t encoding, and the embedded schema.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "verdict.h"
#include "testutil.h"

static void expect_net(const char *in, const char *canon, unsigned prefixlen, uint16_t port,
		       const char *addr_v6)
{
	struct verdict_net t, again;
	char err[256] = "", out[96], again_txt[96];
	uint8_t want[16];

	if (verdict_parse_net(in, &t, err, sizeof(err)))
		fail_msg("%s: refused: %s", in, err);
	assert_int_equal(inet_pton(AF_INET6, addr_v6, want), 1);
	assert_memory_equal(t.addr, want, 16);
	assert_int_equal(t.prefixlen, prefixlen);
	assert_int_equal(t.port, port);
	verdict_format_net(&t, out, sizeof(out));
	assert_string_equal(out, canon);
	/* the canonical text parses back to the same target */
	assert_int_equal(verdict_parse_net(out, &again, err, sizeof(err)), 0);
	assert_memory_equal(&again, &t, sizeof(t));
	verdict_format_net(&again, again_txt, sizeof(again_txt));
	assert_string_equal(again_txt, canon);
}

static void test_net_ipv4(void **state)
{
	(void)state;
	expect_net("1.2.3.4", "1.2.3.4", 128, 0, "::ffff:1.2.3.4");
	expect_net("1.2.3.4:80", "1.2.3.4:80", 128, 80, "::ffff:1.2.3.4");
	expect_net("1.2.3.4/32", "1.2.3.4", 128, 0, "::ffff:1.2.3.4");
	expect_net("10.0.0.0/8", "10.0.0.0/8", 104, 0, "::ffff:10.0.0.0");
	expect_net("10.0.0.0/8:443", "10.0.0.0/8:443", 104, 443, "::ffff:10.0.0.0");
	expect_net("0.0.0.0/0", "0.0.0.0/0", 96, 0, "::ffff:0.0.0.0");
	expect_net("192.168.1.128/25:65535", "192.168.1.128/25:65535", 121, 65535, "::ffff:192.168.1.128");
	/* an IPv4-mapped IPv6 address is the same key as the IPv4 address */
	expect_net("::ffff:1.2.3.4", "1.2.3.4", 128, 0, "::ffff:1.2.3.4");
	expect_net("[::ffff:1.2.3.4]:8080", "1.2.3.4:8080", 128, 8080, "::ffff:1.2.3.4");
}

static void test_net_ipv6(void **state)
{
	(void)state;
	expect_net("::1", "::1", 128, 0, "::1");
	expect_net("[::1]:22", "[::1]:22", 128, 22, "::1");
	expect_net("2001:db8::/32", "2001:db8::/32", 32, 0, "2001:db8::");
	expect_net("[2001:db8::]/32:443", "[2001:db8::]/32:443", 32, 443, "2001:db8::");
	expect_net("[2001:db8::/32]:443", "[2001:db8::]/32:443", 32, 443, "2001:db8::");
	expect_net("2001:db8::/32:443", "[2001:db8::]/32:443", 32, 443, "2001:db8::");
	expect_net("::/0", "::/0", 0, 0, "::");
	expect_net("2001:DB8:0:0:0:0:0:1", "2001:db8::1", 128, 0, "2001:db8::1");
	/* a bare IPv6 address has no port: the last group is part of the address */
	expect_net("::1:22", "::1:22", 128, 0, "::1:22");
	/* RFC 5952: the longest run of zero groups is compressed, the first of equals */
	expect_net("1:0:0:2:0:0:0:3", "1:0:0:2::3", 128, 0, "1:0:0:2::3");
	expect_net("1:0:0:2:3:0:0:4", "1::2:3:0:0:4", 128, 0, "1::2:3:0:0:4");
	expect_net("1:0:2:3:4:5:6:7", "1:0:2:3:4:5:6:7", 128, 0, "1:0:2:3:4:5:6:7");
	expect_net("fe80::/10", "fe80::/10", 10, 0, "fe80::");
	expect_net("2001:db8:1:2:3:4:5:0", "2001:db8:1:2:3:4:5:0", 128, 0, "2001:db8:1:2:3:4:5:0");
}

static void expect_bad(const char *in, const char *why)
{
	struct verdict_net t;
	char err[256] = "";

	if (verdict_parse_net(in, &t, err, sizeof(err)) != -EINVAL)
		fail_msg("'%s' was accepted", in ? in : "(null)");
	/* one line naming the input and the problem */
	assert_null(strchr(err, '\n'));
	if (!strstr(err, why))
		fail_msg("'%s': error '%s' does not say '%s'", in ? in : "(null)", err, why);
}

static void test_net_bad(void **state)
{
	(void)state;
	expect_bad(NULL, "empty");
	expect_bad("", "empty");
	expect_bad("1.2.3", "not an IPv4 or IPv6 address");
	expect_bad("1.2.3.4.5", "not an IPv4 or IPv6 address");
	expect_bad("256.1.1.1", "not an IPv4 or IPv6 address");
	expect_bad("example.com", "not an IPv4 or IPv6 address");
	expect_bad("1.2.3.4/33", "prefix must be 0-32");
	expect_bad("::1/129", "prefix must be 0-128");
	expect_bad("1.2.3.4/", "prefix must be");
	expect_bad("1.2.3.4/-1", "prefix must be");
	expect_bad("1.2.3.4/8x", "prefix must be");
	expect_bad("1.2.3.4:0", "port must be 1-65535");
	expect_bad("1.2.3.4:65536", "port must be 1-65535");
	expect_bad("1.2.3.4:", "port must be 1-65535");
	expect_bad("1.2.3.4:http", "port must be 1-65535");
	expect_bad("1.2.3.4:+80", "port must be 1-65535");
	expect_bad("[::1", "missing ']'");
	expect_bad("[::1]x", "unexpected 'x'");
	expect_bad("[::1/64]/64", "two prefixes");
	expect_bad("[::1]/64/64", "prefix must be 0-128");
	expect_bad("[]:22", "missing or malformed address");
	expect_bad(":80", "missing or malformed address");
	expect_bad("/8", "missing or malformed address");
	expect_bad("10.0.0.1/8", "host bits set past the prefix (network is 10.0.0.0/8)");
	expect_bad("2001:db8::1/32", "network is 2001:db8::/32");
	expect_bad("1.2.3.4 ", "not an IPv4 or IPv6 address");
	char longs[300];
	memset(longs, '1', sizeof(longs) - 1);
	longs[sizeof(longs) - 1] = '\0';
	expect_bad(longs, "too long");
}

static void test_net_exact(void **state)
{
	struct verdict_net t;

	(void)state;
	assert_int_equal(verdict_parse_net("1.2.3.4:80", &t, NULL, 0), 0);
	assert_true(verdict_net_is_exact(&t));
	assert_true(verdict_net_is_v4(&t));
	assert_int_equal(verdict_parse_net("1.2.3.0/24", &t, NULL, 0), 0);
	assert_false(verdict_net_is_exact(&t));
	assert_int_equal(verdict_parse_net("::1", &t, NULL, 0), 0);
	assert_true(verdict_net_is_exact(&t));
	assert_false(verdict_net_is_v4(&t));
}

static void test_dev_encoding(void **state)
{
	(void)state;
	/* MKDEV(major, minor) = major << 20 | minor, what inode->i_sb->s_dev holds */
	assert_int_equal(verdict_dev_from_st(makedev(8, 1)), (8u << 20) | 1);
	assert_int_equal(verdict_dev_from_st(makedev(0, 27)), 27);
	assert_int_equal(verdict_dev_from_st(makedev(259, 3)), (259ull << 20) | 3);
	/* minors past 255: glibc splits them in st_dev, the kernel does not */
	assert_int_equal(verdict_dev_from_st(makedev(0, 300)), 300);
	assert_int_equal(verdict_dev_from_st(makedev(253, 0xfffff)), (253ull << 20) | 0xfffff);
	assert_int_not_equal(verdict_dev_from_st(makedev(0, 300)), (uint64_t)makedev(0, 300));
	for (unsigned ma = 0; ma < 4096; ma += 7)
		for (unsigned mi = 0; mi < (1u << 20); mi += 4099) {
			dev_t d = makedev(ma, mi);
			assert_int_equal(verdict_dev_to_st(verdict_dev_from_st(d)), d);
		}
	/* a real device of this machine round-trips too */
	struct stat st;
	assert_int_equal(stat("/", &st), 0);
	uint64_t k = verdict_dev_from_st(st.st_dev);
	assert_int_equal(k >> 20, major(st.st_dev));
	assert_int_equal(k & 0xfffff, minor(st.st_dev));
}

static void test_names(void **state)
{
	enum verdict_kind k;
	enum imm_action a;

	(void)state;
	assert_int_equal(verdict_parse_kind("exec", &k), 0);
	assert_int_equal(k, VK_EXEC);
	assert_int_equal(verdict_parse_kind("net", &k), 0);
	assert_int_equal(k, VK_NET);
	assert_int_equal(verdict_parse_kind("Exec", &k), -EINVAL);
	assert_int_equal(verdict_parse_kind(NULL, &k), -EINVAL);
	assert_int_equal(verdict_parse_action("block", &a), 0);
	assert_int_equal(a, IMM_ACT_DENY);
	assert_int_equal(verdict_parse_action("allow", &a), 0);
	assert_int_equal(a, IMM_ACT_ALLOW);
	assert_int_equal(verdict_parse_action("kill", &a), -EINVAL);
	assert_string_equal(verdict_action_name(IMM_ACT_DENY), "deny");
	assert_string_equal(verdict_kind_name(VK_FILE), "file");
	assert_string_equal(verdict_map_names[VM_CIDR], "verdict_cidr");
}

/* Collapse runs of white space so that indentation changes do not matter. */

static void test_schema_matches(void **state)
{
	const char *src = getenv("IMMUNE_SRC");
	char path[4096];
	FILE *f;
	static char text[1 << 16];
	size_t n;

	(void)state;
	snprintf(path, sizeof(path), "%s/schema/immune.sql", src ? src : ".");
	f = fopen(path, "r");
	if (!f)
		fail_msg("%s: %s (run from the source tree or set IMMUNE_SRC)", path, strerror(errno));
	n = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	text[n] = '\0';
	const char *start = strstr(text, "CREATE TABLE IF NOT EXISTS verdicts (");
	assert_non_null(start);
	const char *end = strstr(start, ");");
	assert_non_null(end);
	char *file = squash(start, (size_t)(end + 2 - start));
	char *mine = squash(verdict_schema_sql, strlen(verdict_schema_sql));
	if (strcmp(file, mine))
		fail_msg("daemon/verdict.c's verdict_schema_sql differs from schema/immune.sql:\n%s\n%s", mine, file);
	free(file);
	free(mine);
}

static void test_schema_applies(void **state)
{
	sqlite3 *db;
	char err[256];
	sqlite3_stmt *st;

	(void)state;
	assert_int_equal(sqlite3_open(":memory:", &db), SQLITE_OK);
	assert_int_equal(verdict_db_init(db, err, sizeof(err)), 0);
	/* twice: it is applied at every start */
	assert_int_equal(verdict_db_init(db, err, sizeof(err)), 0);
	assert_int_equal(sqlite3_exec(db, "INSERT INTO verdicts (kind, target, action, source, created_ns) "
				      "VALUES ('net', '1.2.3.4', 'deny', 'operator:0', 1)", NULL, NULL, NULL),
			 SQLITE_OK);
	/* the CHECK constraints hold */
	assert_int_not_equal(sqlite3_exec(db, "INSERT INTO verdicts (kind, target, action, source, created_ns) "
					  "VALUES ('dns', 'x', 'deny', 'operator:0', 1)", NULL, NULL, NULL),
			     SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT count(*) FROM verdicts", -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(st, 0), 1);
	sqlite3_finalize(st);
	sqlite3_close(db);
}

static void test_db_open_creates_dir(void **state)
{
	char dir[] = "/tmp/immune-verdict-XXXXXX", path[256], err[256];
	sqlite3 *db;
	struct stat st;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/a/b/immune.db", dir);
	db = verdict_db_open(path, err, sizeof(err));
	if (!db)
		fail_msg("%s", err);
	assert_int_equal(stat(path, &st), 0);
	sqlite3_close(db);
	/* a path that cannot be a directory gives a one-line error, no crash */
	snprintf(path, sizeof(path), "%s/a/b/immune.db/x/y.db", dir);
	assert_null(verdict_db_open(path, err, sizeof(err)));
	assert_non_null(strstr(err, "immune.db"));
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_net_ipv4),
		cmocka_unit_test(test_net_ipv6),
		cmocka_unit_test(test_net_bad),
		cmocka_unit_test(test_net_exact),
		cmocka_unit_test(test_dev_encoding),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_schema_matches),
		cmocka_unit_test(test_schema_applies),
		cmocka_unit_test(test_db_open_creates_dir),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
