/* Rule shapes for the gate: the object a block stops, the paths the open hold marks, protected refusals. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gate_rules.h"
#include "protected.h"

static const char RULES[] =
	"title: script\nid: by-image\nlogsource: {category: process_creation, product: linux}\n"
	"immune: {action: block}\ndetection:\n  sel:\n    Image|endswith: '/first-evil'\n  condition: sel\n"
	"---\ntitle: cmdline\nid: by-cmdline\nlogsource: {category: process_creation, product: linux}\n"
	"immune: {action: kill}\ndetection:\n  sel:\n    Image|endswith: '/python3'\n    CommandLine|contains: 'pty'\n"
	"  condition: sel\n"
	"---\ntitle: file\nid: by-file\nlogsource: {category: file_access, product: linux}\n"
	"immune: {action: block}\ndetection:\n  a:\n    TargetFilename: /srv/a/secret\n  b:\n"
	"    TargetFilename: /srv/b/key\n  condition: a or b\n"
	"---\ntitle: file and user\nid: file-and-user\nlogsource: {category: file_access, product: linux}\n"
	"immune: {action: block}\ndetection:\n  f:\n    TargetFilename: /srv/c/x\n  u:\n    User: bob\n"
	"  condition: f and u\n"
	"---\ntitle: suffix\nid: by-suffix\nlogsource: {category: file_access, product: linux}\n"
	"immune: {action: block}\ndetection:\n  sel:\n    TargetFilename|endswith: '/guarded-secret.txt'\n"
	"  condition: sel\n"
	"---\ntitle: one path or a suffix\nid: path-or-suffix\nlogsource: {category: file_access, product: linux}\n"
	"immune: {action: block}\ndetection:\n  a:\n    TargetFilename: /srv/d/x\n  b:\n"
	"    TargetFilename|endswith: '.pem'\n  condition: a or b\n"
	"---\ntitle: net\nid: by-dest\nlogsource: {category: network_connection, product: linux}\n"
	"immune: {action: block}\ndetection:\n  sel:\n    DestinationIp: 203.0.113.9\n  condition: sel\n"
	"---\ntitle: program and net\nid: prog-dest\nlogsource: {category: network_connection, product: linux}\n"
	"immune: {action: block}\ndetection:\n  sel:\n    DestinationIp: 203.0.113.9\n    Image|endswith: '/nc'\n"
	"  condition: sel\n"
	"---\ntitle: a shell\nid: a-shell\nlogsource: {category: process_creation, product: linux}\n"
	"immune: {action: block}\ndetection:\n  sel:\n    Image|endswith: '/bash'\n  condition: sel\n"
	"---\ntitle: exact sh\nid: exact-sh\nlogsource: {category: process_creation, product: linux}\n"
	"immune: {action: kill}\ndetection:\n  sel:\n    Image: /bin/sh\n  condition: sel\n";

static struct sigma_ruleset rs;

static const struct sigma_rule *rule(const char *id)
{
	for (int i = 0; i < rs.n; i++)
		if (strcmp(rs.rules[i]->id, id) == 0)
			return rs.rules[i];
	fail_msg("no rule %s", id);
	return NULL;
}

static int setup(void **s)
{
	(void)s;
	FILE *log = fopen("/dev/null", "w");
	sigma_ruleset_init(&rs);
	int rc = sigma_load_text(&rs, "t.yml", RULES, sizeof(RULES) - 1, false, log, false);
	fclose(log);
	return rc || rs.n != 10;
}

static int teardown(void **s)
{
	(void)s;
	sigma_ruleset_free(&rs);
	return 0;
}

static void test_objects(void **s)
{
	(void)s;
	assert_int_equal(gate_rule_object(rule("by-image")), GATE_OBJ_FILE);
	assert_int_equal(gate_rule_object(rule("by-cmdline")), GATE_OBJ_PROCESS);
	assert_int_equal(gate_rule_object(rule("by-file")), GATE_OBJ_FILE);
	assert_int_equal(gate_rule_object(rule("file-and-user")), GATE_OBJ_PROCESS);
	assert_int_equal(gate_rule_object(rule("by-dest")), GATE_OBJ_NET);
	assert_int_equal(gate_rule_object(rule("prog-dest")), GATE_OBJ_PROCESS);
}

struct marks {
	char got[16][128];
	int n;
};

static void on_mark(void *ctx, const char *path, bool dir)
{
	struct marks *m = ctx;
	if (m->n < 16)
		snprintf(m->got[m->n++], 128, "%s%s", dir ? "dir:" : "", path);
}

static void test_marks(void **s)
{
	(void)s;
	struct marks m = { 0 };
	assert_true(gate_rule_marks(rule("by-file"), on_mark, &m));
	assert_int_equal(m.n, 4); /* either path can match: both files and both folders */
	assert_string_equal(m.got[0], "/srv/a/secret");
	assert_string_equal(m.got[1], "dir:/srv/a");
	assert_string_equal(m.got[2], "/srv/b/key");
	assert_string_equal(m.got[3], "dir:/srv/b");
	m.n = 0;
	assert_true(gate_rule_marks(rule("file-and-user"), on_mark, &m)); /* the AND needs the path */
	assert_int_equal(m.n, 2);
	/* no exact path to mark, or one branch without one: after the match */
	assert_false(gate_rule_marks(rule("by-suffix"), NULL, NULL));
	assert_false(gate_rule_marks(rule("path-or-suffix"), NULL, NULL));
	assert_false(gate_rule_marks(rule("by-image"), NULL, NULL));

	const char *why;
	assert_true(gate_rule_first_attempt(rule("by-image"), true, true, &why));
	assert_true(gate_rule_first_attempt(rule("by-cmdline"), true, true, &why));
	assert_false(gate_rule_first_attempt(rule("by-cmdline"), false, true, &why));
	assert_true(gate_rule_first_attempt(rule("by-file"), true, true, &why));
	assert_false(gate_rule_first_attempt(rule("by-suffix"), true, true, &why));
	/* a destination alone is a connect verdict from load; with the program it is that process's */
	assert_true(gate_rule_first_attempt(rule("by-dest"), true, true, &why));
	assert_false(gate_rule_first_attempt(rule("prog-dest"), true, true, &why));
}

static void test_protected(void **s)
{
	(void)s;
	struct protected_set *p = protected_new();
	char *buf = NULL;
	size_t len = 0;
	FILE *log = open_memstream(&buf, &len);
	unsigned n = gate_rules_protect(&rs, p, log);
	fclose(log);
	/* /bin/bash and /bin/sh are protected; the script, the command line and the files are not */
	assert_int_equal(n, 2);
	assert_int_equal(rule("a-shell")->action, IMM_ACTION_ALERT);
	assert_int_equal(rule("exact-sh")->action, IMM_ACTION_ALERT);
	assert_int_equal(rule("by-image")->action, IMM_ACTION_BLOCK);
	assert_int_equal(rule("by-cmdline")->action, IMM_ACTION_KILL);
	assert_non_null(strstr(buf, "refused t.yml a-shell: block would block "));
	assert_non_null(strstr(buf, "refused t.yml exact-sh: kill would block /bin/sh, a protected binary"));
	free(buf);
	protected_free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_objects),
		cmocka_unit_test(test_marks),
		cmocka_unit_test(test_protected),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
