/* IOC sets: parser (kinds, comments, directives, malformed lines), lookups, hashing worker. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ioc.h"

static const char *fixture(void)
{
	return "tests/data/iocs.txt";
}

static void test_load_fixture(void **s)
{
	(void)s;
	struct ioc_set *set = ioc_new(0.01);
	char *buf = NULL;
	size_t len = 0;
	FILE *log = open_memstream(&buf, &len);
	long n = ioc_load_file(set, fixture(), log);
	fclose(log);
	assert_int_equal(n, 12);
	assert_int_equal(ioc_finalize(set), 0);
	assert_int_equal(ioc_count(set, IOC_SHA256), 2);
	assert_int_equal(ioc_count(set, IOC_PATH), 3);
	assert_int_equal(ioc_count(set, IOC_IP), 4);
	assert_int_equal(ioc_count(set, IOC_CIDR), 3);
	/* 7 malformed lines, each "FILE:LINE: reason, skipped" */
	struct ioc_stats st;
	ioc_get_stats(set, &st);
	assert_int_equal(st.malformed, 7);
	static const int lines[] = { 20, 21, 22, 23, 24, 25, 26 };
	for (int i = 0; i < 7; i++) {
		char want[128];
		snprintf(want, sizeof(want), "%s:%d: ", fixture(), lines[i]);
		if (!strstr(buf, want))
			fail_msg("no report for line %d in:\n%s", lines[i], buf);
	}
	assert_non_null(strstr(buf, "is not 64 hex digits"));
	assert_non_null(strstr(buf, "is not absolute"));
	assert_non_null(strstr(buf, "cannot tell the kind"));
	free(buf);

	struct ioc_hit h;
	uint8_t sha[32];
	static const uint8_t abc[32] = { 0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea, 0x41, 0x41, 0x40,
					 0xde, 0x5d, 0xae, 0x22, 0x23, 0xb0, 0x03, 0x61, 0xa3, 0x96, 0x17,
					 0x7a, 0x9c, 0xb4, 0x10, 0xff, 0x61, 0xf2, 0x00, 0x15, 0xad };
	assert_true(ioc_match_sha256(set, abc, &h));
	assert_int_equal(h.kind, IOC_SHA256);
	assert_int_equal(h.line, 2);
	assert_string_equal(h.file, fixture());
	assert_string_equal(h.value, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	memcpy(sha, abc, 32);
	sha[31] ^= 1;
	assert_false(ioc_match_sha256(set, sha, &h));

	assert_true(ioc_match_path(set, "/usr/local/bin/evil", &h));
	assert_int_equal(h.action, IMM_ACTION_ALERT);
	assert_true(ioc_match_path(set, "/opt/dropper/stage2", &h));
	assert_false(ioc_match_path(set, "/opt/dropper/stage", &h));
	assert_true(ioc_match_path(set, "/usr/bin/blocked-by-ioc", &h));
	assert_int_equal(h.action, IMM_ACTION_BLOCK);

	assert_true(ioc_match_ip(set, "203.0.113.7", &h));
	assert_string_equal(h.value, "203.0.113.7");
	assert_true(ioc_match_ip(set, "203.0.113.99", &h));
	assert_int_equal(h.action, IMM_ACTION_KILL);
	assert_true(ioc_match_ip(set, "2001:db8::bad", &h));
	assert_true(ioc_match_ip(set, "192.0.2.200", &h));
	assert_int_equal(h.kind, IOC_CIDR);
	assert_string_equal(h.value, "192.0.2.0/24");
	assert_true(ioc_match_ip(set, "10.66.255.1", &h));
	assert_true(ioc_match_ip(set, "2001:db8:dead:beef::1", &h));
	assert_string_equal(h.value, "2001:db8:dead::/48");
	assert_false(ioc_match_ip(set, "10.67.0.1", &h));
	assert_false(ioc_match_ip(set, "192.0.3.1", &h));
	assert_false(ioc_match_ip(set, "", &h));
	assert_false(ioc_match_ip(set, "garbage", &h));
	ioc_free(set);
}

static void test_lines(void **s)
{
	(void)s;
	struct ioc_set *set = ioc_new(0);
	enum imm_rule_action act = IMM_ACTION_ALERT;
	char err[160];
	assert_int_equal(ioc_add_line(set, "", "f", 1, &act, err, sizeof(err)), 0);
	assert_int_equal(ioc_add_line(set, "   # only a comment", "f", 2, &act, err, sizeof(err)), 0);
	assert_int_equal(ioc_add_line(set, "  /a/b c  # trailing comment", "f", 3, &act, err, sizeof(err)), 1);
	assert_int_equal(ioc_add_line(set, "/a/b c", "f", 4, &act, err, sizeof(err)), 0); /* duplicate */
	assert_int_equal(ioc_add_line(set, "/a/b#not-a-comment", "f", 5, &act, err, sizeof(err)), 1);
	assert_int_equal(ioc_add_line(set, "PATH:/x", "f", 6, &act, err, sizeof(err)), 1);
	assert_int_equal(ioc_add_line(set, "path:", "f", 7, &act, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "empty"));
	assert_int_equal(ioc_add_line(set, "ip: ::1", "f", 8, &act, err, sizeof(err)), 1);
	assert_int_equal(ioc_add_line(set, "::ffff:1.2.3.4", "f", 9, &act, err, sizeof(err)), 1);
	assert_int_equal(ioc_add_line(set, "1.2.3.4", "f", 10, &act, err, sizeof(err)), 0); /* same address */
	assert_int_equal(ioc_add_line(set, "cidr:10.1.2.3/8", "f", 11, &act, err, sizeof(err)), 1);
	assert_int_equal(ioc_add_line(set, "10.0.0.0/8", "f", 12, &act, err, sizeof(err)), 0); /* same network */
	assert_int_equal(ioc_add_line(set, "action: block", "f", 13, &act, err, sizeof(err)), 0);
	assert_int_equal(act, IMM_ACTION_BLOCK);
	assert_int_equal(ioc_finalize(set), 0);
	struct ioc_stats st;
	ioc_get_stats(set, &st);
	assert_int_equal(st.duplicates, 3);
	assert_true(ioc_match_path(set, "/a/b c", NULL));
	assert_true(ioc_match_path(set, "/a/b#not-a-comment", NULL));
	assert_true(ioc_match_ip(set, "1.2.3.4", NULL));
	assert_true(ioc_match_ip(set, "::1", NULL));
	assert_true(ioc_match_ip(set, "10.200.0.1", NULL));
	assert_false(ioc_match_path(set, "/a/b", NULL));
	/* the exact table confirms every Bloom "maybe": a miss never becomes a hit */
	assert_int_equal(st.confirmed, 0);
	ioc_get_stats(set, &st);
	assert_int_equal(st.confirmed, 5);
	assert_true(st.bytes > 0);
	ioc_free(set);
	FILE *devnull = fopen("/dev/null", "w");
	assert_int_equal(ioc_load_file((set = ioc_new(0)), "/nonexistent/iocs", devnull), -1);
	fclose(devnull);
	ioc_free(set);
}

/* Many indicators: every one found, no false match among as many absent ones. */
static void test_many_no_false_positive(void **s)
{
	(void)s;
	struct ioc_set *set = ioc_new(0.01);
	enum imm_rule_action act = IMM_ACTION_ALERT;
	char line[128], err[160];
	for (int i = 0; i < 200000; i++) {
		snprintf(line, sizeof(line), "/srv/bad/%d", i);
		assert_int_equal(ioc_add_line(set, line, "gen", i + 1, &act, err, sizeof(err)), 1);
	}
	assert_int_equal(ioc_finalize(set), 0);
	for (int i = 0; i < 200000; i++) {
		snprintf(line, sizeof(line), "/srv/bad/%d", i);
		assert_true(ioc_match_path(set, line, NULL));
	}
	int false_hits = 0;
	for (int i = 200000; i < 400000; i++) {
		snprintf(line, sizeof(line), "/srv/bad/%d", i);
		false_hits += ioc_match_path(set, line, NULL);
	}
	assert_int_equal(false_hits, 0);
	struct ioc_stats st;
	ioc_get_stats(set, &st);
	/* about 1% of the absent ones went past the Bloom filter, and were rejected exactly */
	uint64_t maybe_absent = st.bloom_maybe - 200000;
	print_message("bloom maybes among 200000 absent paths: %llu\n", (unsigned long long)maybe_absent);
	assert_true(maybe_absent < 200000 * 0.02);
	ioc_free(set);
}

static void test_hasher(void **s)
{
	(void)s;
	char path[] = "/tmp/immune-hash-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "abc", 3), 3);
	close(fd);
	uint8_t sha[32];
	fd = open(path, O_RDONLY);
	assert_int_equal(ioc_sha256_fd(fd, sha, NULL), 0);
	close(fd);
	char hex[65];
	ioc_hex(sha, 32, hex);
	assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");

	struct ioc_hasher *h = ioc_hasher_new(8, 64);
	assert_non_null(h);
	int cookies[3] = { 1, 2, 3 };
	assert_true(ioc_hasher_submit(h, path, 0, &cookies[0]));
	ioc_hasher_wait(h);
	assert_true(ioc_hasher_submit(h, path, 0, &cookies[1]));
	assert_true(ioc_hasher_submit(h, "/nonexistent/exe", 0, &cookies[2]));
	ioc_hasher_wait(h);
	struct ioc_hash_result r[8];
	int n = ioc_hasher_poll(h, r, 8);
	assert_int_equal(n, 3);
	assert_ptr_equal(r[0].cookie, &cookies[0]);
	assert_int_equal(r[0].err, 0);
	assert_false(r[0].cached);
	assert_memory_equal(r[0].sha256, sha, 32);
	assert_true(r[1].cached); /* same dev, ino, size, mtime */
	assert_memory_equal(r[1].sha256, sha, 32);
	assert_int_equal(r[2].err, ENOENT);

	/* a changed file (size and mtime) is hashed again */
	fd = open(path, O_WRONLY | O_APPEND);
	assert_int_equal(write(fd, "d", 1), 1);
	close(fd);
	assert_true(ioc_hasher_submit(h, path, 0, NULL));
	ioc_hasher_wait(h);
	assert_int_equal(ioc_hasher_poll(h, r, 8), 1);
	assert_false(r[0].cached);
	ioc_hex(r[0].sha256, 32, hex);
	assert_string_equal(hex, "88d4266fd4e6338d13b845fcf289579d209c897823b9217da3e161936f031589");

	/* a full queue drops (and counts) instead of blocking the event loop */
	int accepted = 0;
	for (int i = 0; i < 64; i++)
		accepted += ioc_hasher_submit(h, path, 0, NULL);
	ioc_hasher_wait(h);
	struct ioc_hasher_stats st;
	ioc_hasher_get_stats(h, &st);
	assert_true(accepted <= 8);
	assert_int_equal(st.dropped, 64 - accepted);
	assert_int_equal(st.submitted, 4 + accepted);
	ioc_hasher_free(h);
	unlink(path);
}

/* A whole set from text (what the Hive pushes): counted, and the first bad line named. */
static void test_add_text(void **state)
{
	(void)state;
	struct ioc_set *s = ioc_new(0);
	char err[256];
	struct ioc_hit h;
	assert_int_equal(ioc_add_text(s, "# fleet\nip:10.9.8.10\ncidr:192.0.2.0/24\n\npath:/tmp/evil", "hive-x", err,
				      sizeof(err)), 3);
	assert_int_equal(ioc_finalize(s), 0);
	assert_true(ioc_match_ip(s, "192.0.2.7", &h));
	assert_true(ioc_match_path(s, "/tmp/evil", &h));
	assert_string_equal(h.file, "hive-x");
	ioc_free(s);
	s = ioc_new(0);
	assert_int_equal(ioc_add_text(s, "ip:10.0.0.1\nnot-an-indicator\n", "hive-y", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "hive-y:2:"));
	ioc_free(s);
}

/* Hostile files: a line without end, CRLF, a last line without newline, NUL bytes, a FIFO, a device. */
static void test_hostile_files(void **s)
{
	(void)s;
	char path[] = "/tmp/immune-ioc-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	FILE *f = fdopen(fd, "w");
	fputs("path:/etc/a\r\n", f);
	for (int i = 0; i < 1 << 20; i++)
		fputc('/', f);
	fputs("\npath:/etc/b\n", f);
	fwrite("path:/etc/\0c\n", 1, 13, f);
	for (int i = 0; i < IOC_MAX_LINE; i++) /* exactly the bound: read, then refused by the parser */
		fputc('x', f);
	fputs("\n1.2.3.4", f);
	fclose(f);
	struct ioc_set *set = ioc_new(0);
	char *buf = NULL;
	size_t len = 0;
	FILE *log = open_memstream(&buf, &len);
	assert_int_equal(ioc_load_file(set, path, log), 3);
	fclose(log);
	assert_int_equal(ioc_finalize(set), 0);
	assert_true(ioc_match_path(set, "/etc/a", NULL));
	assert_true(ioc_match_path(set, "/etc/b", NULL));
	assert_true(ioc_match_ip(set, "1.2.3.4", NULL));
	char want[512];
	snprintf(want, sizeof(want), "%s:2: line longer than %d bytes, skipped\n%s:4: NUL byte in line, skipped\n"
		 "%s:5: indicator longer than 4099 bytes, skipped\n", path, IOC_MAX_LINE, path, path);
	assert_string_equal(buf, want);
	struct ioc_stats st;
	ioc_get_stats(set, &st);
	assert_int_equal(st.malformed, 3);
	free(buf);
	ioc_free(set);
	unlink(path);

	/* a FIFO would block the start for ever; a device never ends */
	assert_int_equal(mkfifo(path, 0600), 0);
	const char *const bad[] = { path, "/dev/zero" };
	for (int i = 0; i < 2; i++) {
		set = ioc_new(0);
		buf = NULL;
		log = open_memstream(&buf, &len);
		assert_int_equal(ioc_load_file(set, bad[i], log), -1);
		fclose(log);
		snprintf(want, sizeof(want), "%s: not a regular file, not read\n", bad[i]);
		assert_string_equal(buf, want);
		free(buf);
		ioc_free(set);
	}
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_load_fixture),
		cmocka_unit_test(test_lines),
		cmocka_unit_test(test_add_text),
		cmocka_unit_test(test_many_no_false_positive),
		cmocka_unit_test(test_hasher),
		cmocka_unit_test(test_hostile_files),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
