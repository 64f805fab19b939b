/*
 * Sigma loading: the ../shared/sigma corpus with its counts, malformed YAML
 * reported with file:line, --check-rules output, the built-in ruleset.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "detect.h"
#include "sigma.h"
#include "verdict_target.h"

extern const char *const imm_builtin_rules[][2];

static const char *sigma_root(void)
{
	const char *r = getenv("IMMUNE_SIGMA");
	return r ? r : "../shared/sigma";
}

static int count_lines(const char *buf, const char *prefix, const char *needle)
{
	int n = 0;
	for (const char *p = buf; p && *p;) {
		const char *e = strchr(p, '\n');
		size_t len = e ? (size_t)(e - p) : strlen(p);
		if (strncmp(p, prefix, strlen(prefix)) == 0 && (!needle || memmem(p, len, needle, strlen(needle))))
			n++;
		p = e ? e + 1 : NULL;
	}
	return n;
}

/* The 167 active rules of process_creation (144), file_event (18), network_connection (5). */
static void test_corpus_counts(void **s)
{
	(void)s;
	static const char *dirs[] = { "rules/linux", "rules-emerging-threats", "rules-threat-hunting" };
	struct sigma_ruleset rs;
	char *buf = NULL, path[512];
	size_t len = 0;
	char probe[512];
	snprintf(probe, sizeof(probe), "%s/rules/linux", sigma_root());
	if (access(probe, R_OK)) {
		print_message("%s not found: set IMMUNE_SIGMA\n", probe);
		skip();
	}
	sigma_ruleset_init(&rs);
	FILE *log = open_memstream(&buf, &len);
	for (size_t i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), "%s/%s", sigma_root(), dirs[i]);
		assert_int_equal(sigma_load_path(&rs, path, log, true), 0);
	}
	fclose(log);
	assert_int_equal(rs.yaml_errors, 0);

	unsigned by[SIG_LS_MAX] = { 0 };
	for (int i = 0; i < rs.n; i++)
		by[rs.rules[i]->ls]++;
	/* skipped rules of the three categories: every skip that is not about the log source */
	int skipped_ours = count_lines(buf, "skipped ", NULL) - count_lines(buf, "skipped ", ": logsource ");
	print_message("corpus: %u loaded (process_creation %u, file_event %u, network_connection %u), "
		      "%d of those categories skipped, %u skipped in all\n",
		      rs.loaded, by[SIG_LS_PROCESS_CREATION], by[SIG_LS_FILE_EVENT], by[SIG_LS_NETWORK_CONNECTION],
		      skipped_ours, rs.skipped);
	assert_int_equal(rs.loaded + skipped_ours, 167);
	assert_true(rs.loaded >= 160);
	assert_int_equal(by[SIG_LS_FILE_ACCESS], 0);
	assert_true(by[SIG_LS_PROCESS_CREATION] >= 140 && by[SIG_LS_PROCESS_CREATION] <= 144);
	assert_true(by[SIG_LS_FILE_EVENT] >= 17 && by[SIG_LS_FILE_EVENT] <= 18);
	assert_true(by[SIG_LS_NETWORK_CONNECTION] <= 5);
	/* the skips we know of, each with its reason */
	assert_int_equal(count_lines(buf, "skipped ", "field DestinationHostname not produced"), 3);
	assert_int_equal(count_lines(buf, "skipped ", "Windows backslash path"), 2);
	/* every rule line names its file and id */
	assert_int_equal(count_lines(buf, "loaded  ", NULL), (int)rs.loaded);
	assert_int_equal(count_lines(buf, "skipped ", NULL), (int)rs.skipped);
	/* DRL: the author survives loading */
	for (int i = 0; i < rs.n; i++)
		assert_true(rs.rules[i]->author[0] != 0);
	free(buf);
	sigma_ruleset_free(&rs);
}

static void test_check_rules_output(void **s)
{
	(void)s;
	char path[512], *buf = NULL;
	size_t len = 0;
	snprintf(path, sizeof(path), "%s/rules/linux/network_connection", sigma_root());
	if (access(path, R_OK))
		skip();
	char *paths[] = { path };
	FILE *out = open_memstream(&buf, &len);
	assert_int_equal(detect_check_rules(1, paths, NULL, NULL, true, true, out), 0);
	fclose(out);
	/* 5 rules: 2 loaded, 3 need DestinationHostname */
	const char *last = buf + len - 1;
	while (last > buf && last[-1] != '\n')
		last--;
	assert_string_equal(last, "2 loaded, 3 skipped\n");
	assert_int_equal(count_lines(buf, "loaded  ", NULL), 2);
	assert_int_equal(count_lines(buf, "skipped ", NULL), 3);
	free(buf);
}

/* --check-rules reports interest, holds and protection for the rules given only: the built-in open rules,
 * loaded quietly for correlations to name, never appear (one decision: detect_check_rules' view) */
static void test_check_rules_reports_given_only(void **s)
{
	(void)s;
	char path[] = "/tmp/immune-test-given-XXXXXX.yml", want[600], *buf = NULL;
	size_t len = 0;
	int fd = mkstemps(path, 4);
	assert_true(fd >= 0);
	static const char y[] = "title: given open\nid: g-open\nlogsource: {category: file_event, product: linux}\n"
				"detection:\n  sel: {TargetFilename|startswith: '/etc/given-'}\n  condition: sel\n";
	assert_int_equal(write(fd, y, sizeof(y) - 1), (ssize_t)(sizeof(y) - 1));
	close(fd);
	char *paths[] = { path };
	FILE *out = open_memstream(&buf, &len);
	assert_int_equal(detect_check_rules(1, paths, NULL, NULL, true, true, out), 0);
	fclose(out);
	snprintf(want, sizeof(want), "interest %s g-open: ", path);
	assert_non_null(strstr(buf, want));
	assert_int_equal(count_lines(buf, "interest /tmp/immune-test-given-", NULL), 1);
	assert_int_equal(count_lines(buf, "interest builtin:", NULL), 0);
	assert_null(strstr(buf, "builtin:"));
	assert_non_null(strstr(buf, "1 loaded, 0 skipped\n"));
	free(buf);
	unlink(path);
}

/* --check-rules --hive: a block of a destination that covers the Hive's address
 * is reported refused (the daemon keeps it as an alert); without --hive, or
 * for another address, it is a first-attempt connect verdict */
static void test_check_rules_hive_link(void **s)
{
	(void)s;
	char path[] = "/tmp/immune-test-hive-XXXXXX.yml", want[700], *buf = NULL;
	size_t len = 0;
	int fd = mkstemps(path, 4);
	assert_true(fd >= 0);
	static const char y[] = "title: c2\nid: c2-net\nlogsource: {category: network_connection, product: linux}\n"
				"immune: {action: block}\ndetection:\n  sel:\n    DestinationIp|cidr: 10.20.0.0/16\n"
				"  condition: sel\n";
	assert_int_equal(write(fd, y, sizeof(y) - 1), (ssize_t)(sizeof(y) - 1));
	close(fd);
	char *paths[] = { path };
	const char *hives[] = { "10.20.3.4:7443", "hive.example:7443,10.20.3.4:7443", NULL, "10.21.0.1:7443" };
	for (size_t i = 0; i < sizeof(hives) / sizeof(hives[0]); i++) {
		FILE *out = open_memstream(&buf, &len);
		assert_int_equal(detect_check_rules(1, paths, NULL, hives[i], true, true, out), 0);
		fclose(out);
		if (i < 2) {
			snprintf(want, sizeof(want),
				 "refused %s c2-net: block of the destination 10.20.0.0/16 would cut this agent's link to "
				 "the Hive (%s); kept as an alert\n",
				 path, hives[i]);
			assert_non_null(strstr(buf, want));
			assert_null(strstr(buf, "first-attempt"));
		} else {
			snprintf(want, sizeof(want), "first-attempt %s c2-net: block stops the", path);
			assert_non_null(strstr(buf, want));
			assert_int_equal(count_lines(buf, "refused ", NULL), 0);
		}
		free(buf);
		buf = NULL;
	}
	unlink(path);
}

static void test_malformed_yaml(void **s)
{
	(void)s;
	char dir[] = "/tmp/immune-sigma-XXXXXX", f1[600], f2[600], *buf = NULL;
	size_t len = 0;
	assert_non_null(mkdtemp(dir));
	snprintf(f1, sizeof(f1), "%s/bad.yml", dir);
	snprintf(f2, sizeof(f2), "%s/good.yml", dir);
	FILE *f = fopen(f1, "w");
	fputs("title: bad\nid: b\nlogsource:\n    category: process_creation\n  product: linux\n", f);
	fclose(f);
	f = fopen(f2, "w");
	fputs("title: good\nid: g\nlogsource:\n    category: process_creation\n    product: linux\n"
	      "detection:\n    sel:\n        Image|endswith: '/x'\n    condition: sel\n",
	      f);
	fclose(f);
	char *paths[] = { dir };
	FILE *out = open_memstream(&buf, &len);
	assert_int_not_equal(detect_check_rules(1, paths, NULL, NULL, true, true, out), 0);
	fclose(out);
	/* the error names file and line, and the good file still loads */
	char want[700];
	snprintf(want, sizeof(want), "error %s:5: malformed YAML", f1);
	assert_non_null(strstr(buf, want));
	assert_non_null(strstr(buf, "1 loaded, 0 skipped\n"));
	free(buf);

	/* detect_new refuses a --rules path with malformed YAML */
	char err[256];
	const char *rp[] = { f1 };
	FILE *devnull = fopen("/dev/null", "w");
	struct detect_opts o = { .rule_paths = rp, .nrule_paths = 1, .log = devnull };
	assert_null(detect_new(&o, err, sizeof(err)));
	assert_non_null(strstr(err, f1));
	/* a missing path too */
	const char *missing[] = { "/nonexistent/rules.yml" };
	o.rule_paths = missing;
	assert_null(detect_new(&o, err, sizeof(err)));
	fclose(devnull);
	unlink(f1);
	unlink(f2);
	rmdir(dir);
}

static void test_multi_document_and_actions(void **s)
{
	(void)s;
	const char *y = "title: one\nid: r1\nlogsource: {category: process_creation, product: linux}\n"
			"immune: {action: block}\ndetection: {sel: {Image: /a}, condition: sel}\n"
			"---\n"
			"title: two\nid: r2\nlogsource: {category: process_creation, product: linux}\n"
			"immune:\n    action: kill\ndetection: {sel: {Image: /b}, condition: sel}\n"
			"---\n"
			"title: three\nid: r3\nlogsource: {category: process_creation, product: linux}\n"
			"immune: {action: explode}\ndetection: {sel: {Image: /c}, condition: sel}\n"
			"---\n"
			"title: four\nid: r4\nlogsource: {category: process_creation, product: windows}\n"
			"detection: {sel: {Image: /c}, condition: sel}\n";
	struct sigma_ruleset rs;
	char *buf = NULL;
	size_t len = 0;
	sigma_ruleset_init(&rs);
	FILE *log = open_memstream(&buf, &len);
	assert_int_equal(sigma_load_text(&rs, "m.yml", y, strlen(y), false, log, false), 0);
	fclose(log);
	assert_int_equal(rs.loaded, 2);
	assert_int_equal(rs.skipped, 2);
	assert_int_equal(rs.rules[0]->action, IMM_ACTION_BLOCK);
	assert_int_equal(rs.rules[1]->action, IMM_ACTION_KILL);
	assert_non_null(strstr(buf, "skipped m.yml r3: immune.action 'explode' is not alert, block or kill\n"));
	assert_non_null(strstr(buf, "skipped m.yml r4: logsource product 'windows' is not linux\n"));
	free(buf);
	sigma_ruleset_free(&rs);
}

static void test_builtin_rules(void **s)
{
	(void)s;
	struct sigma_ruleset rs;
	char *buf = NULL;
	size_t len = 0;
	int files = 0;
	for (; imm_builtin_rules[files][0]; files++)
		;
	sigma_ruleset_init(&rs);
	FILE *log = open_memstream(&buf, &len);
	assert_int_equal(sigma_load_builtin(&rs, log, false), 0);
	fclose(log);
	if (rs.skipped)
		fail_msg("built-in rules skipped: %s", buf);
	/* one rule per file, and the base rules of the correlations (rules/correlations/mr_*) */
	assert_true(rs.loaded >= (unsigned)files);
	assert_true(files >= 15);
	bool cat[SIG_LS_MAX] = { 0 };
	for (int i = 0; i < rs.n; i++) {
		const struct sigma_rule *r = rs.rules[i];
		assert_string_equal(r->author, "IMMUNE");
		assert_true(r->builtin);
		assert_true(r->level[0]);
		bool technique = false;
		for (int t = 0; t < r->ntags; t++)
			if (strncmp(r->tags[t], "attack.t", 8) == 0 && r->tags[t][8] >= '0' && r->tags[t][8] <= '9')
				technique = true;
		if (!technique)
			fail_msg("built-in rule %s (%s) has no ATT&CK technique tag", r->id, r->file);
		for (int j = 0; j < i; j++)
			assert_string_not_equal(r->id, rs.rules[j]->id);
		cat[r->ls] = true;
	}
	assert_true(cat[SIG_LS_PROCESS_CREATION] && cat[SIG_LS_FILE_EVENT] && cat[SIG_LS_FILE_ACCESS] &&
		    cat[SIG_LS_NETWORK_CONNECTION]);
	free(buf);
	sigma_ruleset_free(&rs);
}

static void test_glob_and_cidr_helpers(void **s)
{
	(void)s;
	const char star[] = { SIG_GLOB_STAR, 'a', SIG_GLOB_ONE, 'c', SIG_GLOB_STAR, 0 };
	assert_true(sig_glob(star, 5, "xxabcyy", 7));
	assert_true(sig_glob(star, 5, "abc", 3));
	assert_false(sig_glob(star, 5, "ac", 2));
	assert_true(sig_glob("", 0, "", 0));
	assert_false(sig_glob("", 0, "a", 1));
	uint8_t net[16], ip[16];
	int pfx;
	assert_int_equal(sig_parse_cidr("10.0.0.0/8", net, &pfx), 4);
	assert_int_equal(pfx, 104);
	assert_int_equal(net_parse_addr("10.255.0.1", ip), 4);
	assert_true(sig_cidr_contains(net, pfx, ip));
	assert_int_equal(net_parse_addr("11.0.0.1", ip), 4);
	assert_false(sig_cidr_contains(net, pfx, ip));
	assert_int_equal(sig_parse_cidr("fe80::/10", net, &pfx), 6);
	assert_int_equal(net_parse_addr("febf::1", ip), 6);
	assert_true(sig_cidr_contains(net, pfx, ip));
	assert_int_equal(sig_parse_cidr("10.0.0.0/33", net, &pfx), -1);
	assert_int_equal(sig_parse_cidr("10.0.0.0/", net, &pfx), -1);
	assert_int_equal(net_parse_addr("example.com", ip), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_corpus_counts),
		cmocka_unit_test(test_check_rules_output),
		cmocka_unit_test(test_check_rules_reports_given_only),
		cmocka_unit_test(test_check_rules_hive_link),
		cmocka_unit_test(test_malformed_yaml),
		cmocka_unit_test(test_multi_document_and_actions),
		cmocka_unit_test(test_builtin_rules),
		cmocka_unit_test(test_glob_and_cidr_helpers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
