/*
 * The paths a rule can only match through, as the interest filter (every key
 * type but exact files) and the gate (exact files only) ask for them: each
 * pattern shape, AND/OR/NOT, and what a consumer that cannot use a type gets.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rule_paths.h"

#define INTEREST ((1u << RP_DIR) | (1u << RP_NAME) | (1u << RP_DIR_NAME) | (1u << RP_EXE_NAME))
#define GATE     (1u << RP_FILE)

static FILE *devnull;

/* "type:text type:text", or "none: why" */
static void paths(const char *category, const char *detection, unsigned mask, char *out, size_t n)
{
	char yaml[2048];
	struct sigma_ruleset rs;
	snprintf(yaml, sizeof(yaml),
		 "title: t\nid: r1\nlogsource:\n    category: %s\n    product: linux\ndetection:\n%s", category,
		 detection);
	sigma_ruleset_init(&rs);
	assert_int_equal(sigma_load_text(&rs, "t.yml", yaml, strlen(yaml), false, devnull, false), 0);
	assert_int_equal(rs.n, 1);
	struct rule_paths rp = { 0 };
	const char *why = NULL;
	size_t o = 0;
	out[0] = 0;
	if (!rule_paths_of(rs.rules[0]->root, mask, &rp, &why)) {
		assert_int_equal(rp.n, 0);
		assert_non_null(why);
		snprintf(out, n, "none: %s", why);
	}
	for (int i = 0; i < rp.n && o < n; i++) {
		assert_true((mask >> rp.v[i].type) & 1);
		o += (size_t)snprintf(out + o, n - o, "%s%s:%s", i ? " " : "", rule_path_type_name(rp.v[i].type),
				      rp.v[i].text);
	}
	rule_paths_free(&rp);
	sigma_ruleset_free(&rs);
}

#define SEL(x) "    sel:\n        " x "\n    condition: sel\n"

static void test_shapes(void **s)
{
	(void)s;
	struct { const char *det; unsigned mask; const char *want; } cases[] = {
		/* exact: the gate holds the path; the filter keys its name, or its folder when the name cannot be keyed */
		{ SEL("TargetFilename: '/etc/shadow'"), GATE, "file:/etc/shadow" },
		{ SEL("TargetFilename: '/etc/shadow'"), INTEREST, "name:shadow" },
		{ SEL("TargetFilename: '/srv/a-name-longer-than-thirty-one-bytes.txt'"), INTEREST, "dir:/srv" },
		{ SEL("TargetFilename: '/srv/x/../shadow'"), GATE, "none: an exact TargetFilename with /../ in it" },
		{ SEL("TargetFilename: 'shadow'"), GATE, "none: an exact TargetFilename that is not an absolute path" },
		/* suffix, prefix, infix */
		{ SEL("TargetFilename|endswith: '/.bashrc'"), INTEREST, "name:.bashrc" },
		{ SEL("TargetFilename|endswith: 'rc'"), INTEREST,
		  "none: |endswith of part of a file name (no whole /name at its end)" },
		{ SEL("TargetFilename|endswith: '/.bashrc'"), GATE, "none: |endswith names no exact path" },
		{ SEL("TargetFilename|startswith: '/etc/cron.d/'"), INTEREST, "dir:/etc/cron.d" },
		{ SEL("TargetFilename|startswith: '/etc/cron'"), INTEREST, "dir:/etc" },
		{ SEL("TargetFilename|startswith: '/tmp'"), INTEREST, "none: |startswith that names no directory below /" },
		{ SEL("TargetFilename|contains: '/.ssh/id_'"), INTEREST, "dir-name:.ssh" },
		{ SEL("TargetFilename|contains: 'base64'"), INTEREST, "none: |contains without a whole /directory/ in it" },
		{ SEL("TargetFilename|re: '^/tmp/\\.'"), INTEREST, "none: a regular expression on TargetFilename" },
		/* wildcards: the last literal name, a deep prefix, a /name/, a shallow prefix */
		{ SEL("TargetFilename: '*/.netrc'"), INTEREST, "name:.netrc" },
		{ SEL("TargetFilename: '/etc/ssh/ssh_host_*_key'"), INTEREST, "dir:/etc/ssh" },
		{ SEL("TargetFilename: '/home/*/.ssh/id_*'"), INTEREST, "dir-name:.ssh" },
		{ SEL("TargetFilename: '/tmp/*.sh'"), INTEREST, "dir-name:tmp" }, /* a /name/ before a one-level prefix */
		{ SEL("TargetFilename: '*.s?'"), INTEREST,
		  "none: a wildcard pattern on TargetFilename with no whole name or directory in it" },
		/* Image: the executable's name, for the filter only */
		{ "    sel:\n        Image|endswith: '/curl'\n    condition: sel\n", INTEREST, "exe-name:curl" },
		{ "    sel:\n        Image|endswith: '/curl'\n    condition: sel\n", GATE,
		  "none: a condition on a field other than TargetFilename stands alone" },
	};
	char got[1024];
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		paths("file_event", cases[i].det, cases[i].mask, got, sizeof(got));
		if (strcmp(got, cases[i].want))
			fail_msg("case %zu: got '%s', want '%s'", i, got, cases[i].want);
	}
}

static void test_conditions(void **s)
{
	(void)s;
	char got[1024];
	/* AND: the kid with the fewest keys guards the whole; the others need not be keyed */
	paths("file_access",
	      "    a:\n        TargetFilename|endswith:\n            - '/a'\n            - '/b'\n"
	      "    b:\n        TargetFilename|startswith: '/srv/data/'\n    c:\n        User: bob\n"
	      "    condition: a and b and c\n",
	      INTEREST, got, sizeof(got));
	assert_string_equal(got, "dir:/srv/data");
	/* the gate: an exact path in an AND with anything is held by that path */
	paths("file_access",
	      "    f:\n        TargetFilename: /srv/c/x\n    u:\n        User: bob\n    condition: f and u\n", GATE, got,
	      sizeof(got));
	assert_string_equal(got, "file:/srv/c/x");
	/* OR: every kid must be keyed, and then all keys count */
	paths("file_access",
	      "    a:\n        TargetFilename: /srv/a/secret\n    b:\n        TargetFilename: /srv/b/key\n"
	      "    condition: a or b\n",
	      GATE, got, sizeof(got));
	assert_string_equal(got, "file:/srv/a/secret file:/srv/b/key");
	paths("file_access",
	      "    a:\n        TargetFilename: /srv/d/x\n    b:\n        TargetFilename|endswith: '.pem'\n"
	      "    condition: a or b\n",
	      GATE, got, sizeof(got));
	assert_string_equal(got, "none: |endswith names no exact path");
	/* a list of values is an OR of atoms */
	paths("file_event", SEL("TargetFilename|endswith:\n            - '/.bashrc'\n            - '/.zshrc'"),
	      INTEREST, got, sizeof(got));
	assert_string_equal(got, "name:.bashrc name:.zshrc");
	/* NOT leaves out what no key can say */
	paths("file_event",
	      "    a:\n        TargetFilename|startswith: '/srv/'\n    condition: not a\n", INTEREST, got, sizeof(got));
	assert_string_equal(got, "none: a 'not' or a bare negation: what it leaves out is no key");
	/* an AND of which no kid is keyed says why from its first kid */
	paths("file_event",
	      "    a:\n        TargetFilename|contains: 'x'\n    u:\n        User: bob\n    condition: a and u\n",
	      INTEREST, got, sizeof(got));
	assert_string_equal(got, "none: |contains without a whole /directory/ in it");
}

static void test_keyable(void **s)
{
	(void)s;
	assert_true(rule_path_keyable_name(".ssh", 4));
	assert_false(rule_path_keyable_name(".", 1));
	assert_false(rule_path_keyable_name("..", 2));
	assert_false(rule_path_keyable_name("a/b", 3));
	assert_false(rule_path_keyable_name("", 0));
	char longname[RP_NAME_MAX + 1];
	memset(longname, 'a', sizeof(longname));
	assert_true(rule_path_keyable_name(longname, RP_NAME_MAX - 1));
	assert_false(rule_path_keyable_name(longname, RP_NAME_MAX));
}

/* The open hold's folder beside a file, as the gate marks it and the own-files refusal reads it. */
static void test_folder(void **s)
{
	(void)s;
	char out[64] = "unchanged";
	assert_true(rule_path_folder("/var/lib/immune/immune.db", out, sizeof(out)));
	assert_string_equal(out, "/var/lib/immune");
	assert_true(rule_path_folder("/x", out, sizeof(out)));
	assert_string_equal(out, "/");
	assert_false(rule_path_folder("relative", out, sizeof(out)));
	assert_string_equal(out, "/");
}

int main(void)
{
	devnull = fopen("/dev/null", "w");
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_shapes),
		cmocka_unit_test(test_conditions),
		cmocka_unit_test(test_keyable),
		cmocka_unit_test(test_folder),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	fclose(devnull);
	return rc;
}
