/*
 * Regexes under hostile input (issue 11): padding that exhausted PCRE2's
 * default 32 KiB JIT stack and read as "no match" now matches; a pattern
 * that backtracks past the match limit is a counted, reported error naming
 * the rule, for every rule sharing the regex, in both matchers and in the
 * detection pipeline's log and counters.
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "detect.h"
#include "match.h"
#include "sigma.h"

static const char rules[] =
	"title: padded\nid: re-pad\nlogsource: {product: linux, category: process_creation}\n"
	"detection: {sel: {CommandLine|re: '(\\w|\\s)*evil'}, condition: sel}\n"
	"---\n"
	"title: backtracking one\nid: re-bt1\nlogsource: {product: linux, category: process_creation}\n"
	"detection: {sel: {CommandLine|re: '^(a+)+$'}, condition: sel}\n"
	"---\n"
	"title: backtracking two\nid: re-bt2\nlogsource: {product: linux, category: process_creation}\n"
	"detection: {sel: {CommandLine|re: '^(a+)+$'}, other: {Image: /bin/never}, condition: sel or other}\n"
	"---\n"
	"title: plain\nid: plain\nlogsource: {product: linux, category: process_creation}\n"
	"detection: {sel: {CommandLine|contains: 'aaaa'}, condition: sel}\n";

static struct imm_event ev;

static void ev_exec(const char *cmd)
{
	memset(&ev, 0, sizeof(ev));
	ev.type = EBPF_EVENT_EXEC;
	ev.outcome = IMM_OUTCOME_SUCCESS;
	ev.pid = 4242;
	ev.executable = ev.filename = "/usr/bin/x";
	ev.name = "x";
	ev.command_line = cmd;
	ev.cwd = ev.parent_executable = ev.parent_command_line = ev.user_name = "";
	ev.path = ev.abs_path = ev.unix_path = ev.transport = "";
}

static char *repeat(char c, size_t n, const char *tail)
{
	char *s = malloc(n + strlen(tail) + 1);
	memset(s, c, n);
	strcpy(s + n, tail);
	return s;
}

static void load(struct sigma_ruleset *rs)
{
	sigma_ruleset_init(rs);
	FILE *log = fopen("/dev/null", "w");
	assert_int_equal(sigma_load_text(rs, "re.yml", rules, strlen(rules), false, log, false), 0);
	fclose(log);
	assert_int_equal(rs->loaded, 4);
}

static bool has(const struct sigma_rule **hits, int n, const char *id)
{
	for (int i = 0; i < n; i++)
		if (strcmp(hits[i]->id, id) == 0)
			return true;
	return false;
}

/* The reproduction: 2 KB of padding evaded the rule. Up to 4 KB (a whole argv) it matches now. */
static void test_padding_matches(void **s)
{
	(void)s;
	struct sigma_ruleset rs;
	load(&rs);
	struct matcher *m = matcher_new(&rs);
	assert_non_null(m);
	const struct sigma_rule *hits[8];
	for (size_t pad = 0; pad <= 4096; pad += 1024) {
		char *cmd = repeat('b', pad, " evil");
		ev_exec(cmd);
		int n = matcher_match(m, &ev, hits, 8);
		assert_true(has(hits, n, "re-pad"));
		assert_int_equal(matcher_errors(m, NULL, 0), 0);
		n = matcher_match_naive(m, &ev, hits, 8);
		assert_true(has(hits, n, "re-pad"));
		free(cmd);
	}
	struct matcher_stats st;
	matcher_get_stats(m, &st);
	assert_int_equal(st.regex_errors, 0);
	matcher_free(m);
	sigma_ruleset_free(&rs);
}

/* Catastrophic backtracking hits the match limit: each rule using the regex is reported. */
static void test_limit_is_reported(void **s)
{
	(void)s;
	struct sigma_ruleset rs;
	load(&rs);
	struct matcher *m = matcher_new(&rs);
	const struct sigma_rule *hits[8];
	struct match_error errs[8];
	char *cmd = repeat('a', 40, "!");
	ev_exec(cmd);
	for (int naive = 0; naive < 2; naive++) {
		int n = naive ? matcher_match_naive(m, &ev, hits, 8) : matcher_match(m, &ev, hits, 8);
		/* the rule without a regex still matches */
		assert_int_equal(n, 1);
		assert_string_equal(hits[0]->id, "plain");
		int ne = matcher_errors(m, errs, 8);
		assert_int_equal(ne, 2);
		assert_string_equal(errs[0].rule->id, "re-bt1");
		assert_string_equal(errs[1].rule->id, "re-bt2");
		for (int i = 0; i < 2; i++) {
			assert_int_equal(errs[i].field, SIG_F_COMMANDLINE);
			assert_int_equal(errs[i].code, PCRE2_ERROR_MATCHLIMIT);
		}
	}
	char why[128];
	matcher_error_text(PCRE2_ERROR_MATCHLIMIT, why, sizeof(why));
	assert_string_equal(why, "match limit exceeded");
	struct matcher_stats st;
	matcher_get_stats(m, &st);
	/* the compiled matcher evaluates the shared atom once, the naive one per rule */
	assert_int_equal(st.regex_errors, 3);
	/* the next, harmless event clears the list */
	ev_exec("ls");
	matcher_match(m, &ev, hits, 8);
	assert_int_equal(matcher_errors(m, errs, 8), 0);
	free(cmd);
	matcher_free(m);
	sigma_ruleset_free(&rs);
}

/* The pipeline logs one line per rule that may have missed, counts every error, and keeps going. */
static void test_detect_reports(void **s)
{
	(void)s;
	char path[] = "/tmp/immune-re-XXXXXX.yml", *logbuf = NULL, err[256];
	size_t loglen = 0;
	int fd = mkstemps(path, 4);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, rules, strlen(rules)), (ssize_t)strlen(rules));
	close(fd);
	FILE *log = open_memstream(&logbuf, &loglen);
	const char *rp[] = { path };
	struct detect_opts o = { .rule_paths = rp, .nrule_paths = 1, .no_builtin = true, .log = log, .host = "h" };
	struct detect *d = detect_new(&o, err, sizeof(err));
	assert_non_null(d);
	char *cmd = repeat('a', 40, "!");
	ev_exec(cmd);
	for (int i = 0; i < 20; i++)
		assert_int_equal(detect_event(d, &ev), 1);
	struct detect_stats st;
	detect_get_stats(d, &st);
	assert_int_equal(st.regex_errors, 20);
	assert_int_equal(st.incidents, 20);
	detect_free(d);
	fclose(log);
	char want[512];
	snprintf(want, sizeof(want),
		 "immuned: rule re-bt1 (%s) may have missed an event (exec, pid 4242): its regex on CommandLine "
		 "failed: match limit exceeded\n",
		 path);
	assert_non_null(strstr(logbuf, want));
	/* at most 10 lines a minute: 40 possible misses, 10 shown */
	int lines = 0;
	for (char *p = logbuf; (p = strstr(p, "may have missed")); p++)
		lines++;
	assert_int_equal(lines, 10);
	free(logbuf);
	free(cmd);
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_padding_matches),
		cmocka_unit_test(test_limit_is_reported),
		cmocka_unit_test(test_detect_reports),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
