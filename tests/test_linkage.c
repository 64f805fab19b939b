/*
 * Each program links what it uses: immunectl is the socket protocol, the
 * verdict vocabulary and cJSON, none of the daemon's libraries or code. Run
 * on the immunectl built beside this test (build/ or build/asan/).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <limits.h>
#include <libgen.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static char ctl[PATH_MAX];

static int find_ctl(void **state)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	(void)state;
	if (n <= 0)
		return -1;
	self[n] = '\0';
	/* BUILD/tests/test_linkage → BUILD/immunectl */
	snprintf(ctl, sizeof(ctl), "%s/immunectl", dirname(dirname(self)));
	if (access(ctl, X_OK)) {
		fprintf(stderr, "%s: not built (make all builds it)\n", ctl);
		return -1;
	}
	return 0;
}

/* The whole output of a command, or fail the test. */
static void run(const char *cmd, char *out, size_t n)
{
	FILE *p = popen(cmd, "r");
	size_t len;

	assert_non_null(p);
	len = fread(out, 1, n - 1, p);
	out[len] = '\0';
	assert_int_equal(pclose(p), 0);
	assert_true(len > 0);
}

static void test_ldd_names_only_cjson(void **state)
{
	static const char *const daemon_libs[] = { "libbpf", "libsqlite3", "libpcre2", "libyaml", "libssl",
						   "libcrypto", "libelf" };
	char cmd[PATH_MAX + 32], out[8192];

	(void)state;
	snprintf(cmd, sizeof(cmd), "ldd '%s'", ctl);
	run(cmd, out, sizeof(out));
	for (size_t i = 0; i < sizeof(daemon_libs) / sizeof(daemon_libs[0]); i++) {
		if (strstr(out, daemon_libs[i]))
			fail_msg("immunectl links %s:\n%s", daemon_libs[i], out);
	}
	/* and it did list the libraries it does use */
	assert_non_null(strstr(out, "libcjson"));
}

static void test_no_daemon_code(void **state)
{
	static const char *const daemon_syms[] = { "hive_main", "sigma_load_path", "matcher_match", "ebpf_attach",
						   "verdicts_open", "ctlsock_open", "detect_new" };
	char cmd[PATH_MAX + 32], out[1 << 16], needle[64];

	(void)state;
	snprintf(cmd, sizeof(cmd), "nm --defined-only '%s'", ctl);
	run(cmd, out, sizeof(out));
	for (size_t i = 0; i < sizeof(daemon_syms) / sizeof(daemon_syms[0]); i++) {
		snprintf(needle, sizeof(needle), " %s\n", daemon_syms[i]);
		if (strstr(out, needle))
			fail_msg("immunectl carries the daemon's %s", daemon_syms[i]);
	}
	/* the vocabulary it does need is there */
	assert_non_null(strstr(out, " verdict_parse_net\n"));
	assert_non_null(strstr(out, " verdict_parse_kind\n"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ldd_names_only_cjson),
		cmocka_unit_test(test_no_daemon_code),
	};
	return cmocka_run_group_tests(tests, find_ctl, NULL);
}
