/*
 * The Sigma loader against hostile rule files (issue 11): 200,000 nested
 * parentheses, a long run of 'not', long and/or chains, conditions that
 * expand a selection too often, YAML alias bombs and cycles, symlink loops,
 * FIFOs, devices and oversized files. Each is refused with one line naming
 * the file and the reason, and what is fine next to it still loads.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sigma.h"

static const char hdr[] = "title: t\nid: r1\nlogsource: {product: linux, category: process_creation}\n"
			  "detection:\n  sel: {Image: /bin/x}\n  sel2: {Image: /bin/y}\n  condition: '";

/* Load text as one rule file; the log goes to *log (caller frees). */
static int load(struct sigma_ruleset *rs, const char *text, char **log)
{
	size_t n = 0;
	FILE *f = open_memstream(log, &n);
	sigma_ruleset_init(rs);
	int rc = sigma_load_text(rs, "t.yml", text, strlen(text), false, f, true);
	fclose(f);
	return rc;
}

/* hdr + a + b*reps + c + "'\n" */
static char *cond(const char *a, const char *b, int reps, const char *c)
{
	size_t n = strlen(hdr) + strlen(a) + strlen(b) * reps + strlen(c) + 3;
	char *s = malloc(n), *p = s;
	p = stpcpy(p, hdr);
	p = stpcpy(p, a);
	for (int i = 0; i < reps; i++)
		p = stpcpy(p, b);
	p = stpcpy(p, c);
	strcpy(p, "'\n");
	return s;
}

static void expect_skip(const char *text, const char *why)
{
	struct sigma_ruleset rs;
	char *log = NULL;
	assert_int_equal(load(&rs, text, &log), 0);
	assert_int_equal(rs.loaded, 0);
	assert_int_equal(rs.skipped, 1);
	char want[256];
	snprintf(want, sizeof(want), "skipped t.yml r1: %s", why);
	if (!strstr(log, want))
		fail_msg("log '%s' lacks '%s'", log, want);
	/* one line */
	assert_ptr_equal(strchr(log, '\n'), log + strlen(log) - 1);
	free(log);
	sigma_ruleset_free(&rs);
}

static void expect_load(const char *text)
{
	struct sigma_ruleset rs;
	char *log = NULL;
	assert_int_equal(load(&rs, text, &log), 0);
	if (rs.loaded != 1)
		fail_msg("not loaded: %s", log);
	free(log);
	sigma_ruleset_free(&rs);
}

/* The reproductions of the issue: these crashed --check-rules on the stack. */
static void test_deep_conditions(void **s)
{
	(void)s;
	char *t = cond("", "(", 200000, "sel");
	expect_skip(t, "condition: 200003 bytes long, more than the 4096 allowed");
	free(t);
	t = cond("", "not ", 200000, "sel");
	expect_skip(t, "condition: 800003 bytes long, more than the 4096 allowed");
	free(t);
	/* under the length bound, the depth bound */
	t = cond("", "(", 2000, "sel");
	expect_skip(t, "condition: nested deeper than 32 levels of parentheses and 'not'");
	free(t);
	t = cond("", "not ", 1000, "sel");
	expect_skip(t, "condition: nested deeper than 32 levels of parentheses and 'not'");
	free(t);
	t = cond("", "not (", 17, "sel");
	expect_skip(t, "condition: nested deeper than 32 levels of parentheses and 'not'");
	free(t);
	/* 32 levels are fine: a condition an author writes is far shallower */
	char *c = cond("", "(", 32, "sel");
	char *closed = malloc(strlen(c) + 40);
	sprintf(closed, "%.*s", (int)(strlen(c) - 2), c);
	for (int i = 0; i < 32; i++)
		strcat(closed, ")");
	strcat(closed, "'\n");
	expect_load(closed);
	free(c);
	free(closed);
	t = cond("", "not ", 32, "sel");
	expect_load(t);
	free(t);
}

/* A chain of or/and is one node with every operand: memory linear in the chain. */
static void test_long_chains(void **s)
{
	(void)s;
	struct sigma_ruleset rs;
	char *log = NULL;
	char *t = cond("sel", " or sel2", 500, "");
	assert_int_equal(load(&rs, t, &log), 0);
	assert_int_equal(rs.loaded, 1);
	const struct sig_node *root = rs.rules[0]->root;
	assert_int_equal(root->type, SIG_N_OR);
	assert_int_equal(root->n, 501);
	free(log);
	free(t);
	sigma_ruleset_free(&rs);

	/* precedence survives the gathering: a or b and c or (a and b) = or(a, and(b, c), and(a, b)) */
	t = cond("sel or sel2 and sel or (sel and sel2) or sel", "", 0, "");
	assert_int_equal(load(&rs, t, &log), 0);
	assert_int_equal(rs.loaded, 1);
	root = rs.rules[0]->root;
	assert_int_equal(root->type, SIG_N_OR);
	assert_int_equal(root->n, 4);
	assert_int_equal(root->kids[1]->type, SIG_N_AND);
	assert_int_equal(root->kids[1]->n, 2);
	assert_int_equal(root->kids[2]->type, SIG_N_AND);
	free(log);
	free(t);
	sigma_ruleset_free(&rs);

	t = cond("sel", " or sel2", 1000, "");
	expect_skip(t, "condition: 8003 bytes long, more than the 4096 allowed");
	free(t);
	/* errors inside a chain still name the token */
	t = cond("sel or sel2 and", "", 0, "");
	expect_skip(t, "condition: condition ends too early");
	free(t);
	t = cond("sel or (sel2", "", 0, "");
	expect_skip(t, "condition: missing ')'");
	free(t);
}

/* A selection named again and again in the condition is counted at each use. */
static void test_expansion_bound(void **s)
{
	(void)s;
	size_t cap = 200000;
	char *t = malloc(cap), *p = t;
	p += sprintf(p, "title: t\nid: r1\nlogsource: {product: linux, category: process_creation}\n"
			"detection:\n  s:\n    Image:\n");
	for (int i = 0; i < 2000; i++)
		p += sprintf(p, "      - /bin/a%d\n", i);
	p += sprintf(p, "  condition: 's");
	for (int i = 0; i < 60; i++)
		p += sprintf(p, " and s");
	strcpy(p, "'\n");
	expect_skip(t, "the condition uses more than 100000 nodes of selections");
	/* the same selection used a few times is fine */
	p = strstr(t, "  condition:");
	strcpy(p, "  condition: 's and s or s'\n");
	expect_load(t);
	free(t);
}

static void test_yaml_aliases(void **s)
{
	(void)s;
	/* a billion laughs: nine levels of nine aliases */
	char bomb[4096], *p = bomb;
	p += sprintf(p, "title: t\nid: r1\nlogsource: {product: linux, category: process_creation}\n"
			"l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
	for (int i = 1; i < 9; i++)
		p += sprintf(p, "l%d: &l%d [*l%d, *l%d, *l%d, *l%d, *l%d, *l%d, *l%d, *l%d, *l%d]\n", i, i, i - 1, i - 1,
			     i - 1, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1);
	p += sprintf(p, "detection:\n  sel: {Image: *l8}\n  condition: sel\n");
	expect_skip(bomb, "YAML alias to the node at line 4 refused");
	/* a cycle: the detection contains itself */
	expect_skip("title: t\nid: r1\nlogsource: {product: linux, category: process_creation}\n"
		    "detection: &d\n  sel: {Image: /bin/x}\n  again: *d\n  condition: sel\n",
		    "YAML alias to the node at line 4 refused");
	/* a single alias is refused too: a rule file has no need of one */
	expect_skip("title: t\nid: r1\nlogsource: {product: linux, category: process_creation}\n"
		    "detection:\n  sel: {Image: &x /bin/x}\n  sel2: {CommandLine: *x}\n  condition: sel or sel2\n",
		    "YAML alias to the node at line 5 refused");
	/* a correlation rule too */
	expect_skip("title: c\nid: r1\ncorrelation: &c\n  type: event_count\n  rules: [x]\n  again: *c\n"
		    "  timespan: 5m\n  condition: {gte: 2}\n",
		    "YAML alias to the node at line 3 refused");
	/* an anchor without an alias is harmless */
	expect_load("title: t\nid: r1\nlogsource: {product: linux, category: process_creation}\n"
		    "detection:\n  sel: {Image: &x /bin/x}\n  condition: sel\n");
}

/* libyaml's scanner slows with the square of flow nesting: 2 MB of '[' ran for over ten minutes. Refused up front. */
static void test_yaml_depth_and_size(void **s)
{
	(void)s;
	struct sigma_ruleset rs;
	char *log = NULL;
	size_t n = 1000000;
	char *t = malloc(2 * n + 64), *p = t;
	p += sprintf(p, "title: t\nid: r1\nx: ");
	memset(p, '[', n);
	memset(p + n, ']', n);
	strcpy(p + 2 * n, "\n");
	assert_int_equal(load(&rs, t, &log), -1);
	assert_string_equal(log, "error t.yml:3: YAML nested deeper than 64 levels\n");
	assert_int_equal(rs.yaml_errors, 1);
	free(log);
	sigma_ruleset_free(&rs);
	/* maps in maps, in block style over lines: the same bound */
	p = t + sprintf(t, "title: t\nid: r1\nx:\n");
	for (int i = 0; i < 70; i++)
		p += sprintf(p, "%*sa:\n", i + 1, "");
	strcpy(p, "                                                                             1\n");
	assert_int_equal(load(&rs, t, &log), -1);
	assert_string_equal(log, "error t.yml:67: YAML nested deeper than 64 levels\n");
	free(log);
	sigma_ruleset_free(&rs);
	/* 64 levels are fine (the rule is then skipped for what it is) */
	p = t + sprintf(t, "title: t\nid: r1\nlogsource: {product: linux, category: process_creation}\nx: ");
	memset(p, '[', 63);
	memset(p + 63, ']', 63);
	strcpy(p + 126, "\ndetection: {sel: {Image: /x}, condition: sel}\n");
	assert_int_equal(load(&rs, t, &log), 0);
	assert_int_equal(rs.loaded, 1);
	free(log);
	sigma_ruleset_free(&rs);
	/* more nodes than a rule file has any need of */
	p = t + sprintf(t, "title: t\nid: r1\nx: [a");
	for (int i = 0; i < SIG_YAML_MAX_NODES; i++)
		p = stpcpy(p, ",a");
	strcpy(p, "]\n");
	assert_int_equal(load(&rs, t, &log), -1);
	assert_string_equal(log, "error t.yml:3: more than 200000 YAML nodes in one file\n");
	free(log);
	sigma_ruleset_free(&rs);
	free(t);
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static char *load_dir(const char *path, struct sigma_ruleset *rs, int *rc)
{
	char *log = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&log, &n);
	sigma_ruleset_init(rs);
	*rc = sigma_load_path(rs, path, f, false);
	fclose(f);
	return log;
}

/* Symlink loops load each directory once; FIFOs, devices and oversized files are refused. */
static void test_files(void **s)
{
	(void)s;
	char dir[] = "/tmp/immune-sigma-limits-XXXXXX", p[300], q[700];
	assert_non_null(mkdtemp(dir));
	snprintf(p, sizeof(p), "%s/sub", dir);
	assert_int_equal(mkdir(p, 0700), 0);
	snprintf(p, sizeof(p), "%s/sub/r.yml", dir);
	write_file(p, "title: t\nid: r1\nlogsource: {product: linux, category: process_creation}\n"
		      "detection: {sel: {Image: /bin/x}, condition: sel}\n");
	snprintf(p, sizeof(p), "%s/sub/up", dir);
	assert_int_equal(symlink("..", p), 0);
	snprintf(p, sizeof(p), "%s/sub/self", dir);
	assert_int_equal(symlink(".", p), 0);
	struct sigma_ruleset rs;
	int rc;
	char *log = load_dir(dir, &rs, &rc);
	assert_int_equal(rc, 0);
	assert_int_equal(rs.loaded, 1);
	snprintf(q, sizeof(q), "skipped %s/sub/self: a symlink loop back to a directory above it\n", dir);
	assert_non_null(strstr(log, q));
	snprintf(q, sizeof(q), "skipped %s/sub/up: a symlink loop back to a directory above it\n", dir);
	assert_non_null(strstr(log, q));
	free(log);
	sigma_ruleset_free(&rs);

	/* a FIFO named like a rule: refused, never opened for a blocking read */
	snprintf(p, sizeof(p), "%s/sub/fifo.yml", dir);
	assert_int_equal(mkfifo(p, 0600), 0);
	log = load_dir(dir, &rs, &rc);
	assert_int_equal(rc, -1);
	assert_int_equal(rs.loaded, 1);
	assert_int_equal(rs.yaml_errors, 1);
	snprintf(q, sizeof(q), "error %s: not a regular file, not read\n", p);
	assert_non_null(strstr(log, q));
	free(log);
	sigma_ruleset_free(&rs);
	unlink(p);
	log = load_dir("/dev/zero", &rs, &rc);
	assert_int_equal(rc, -1);
	assert_string_equal(log, "error /dev/zero: not a regular file, not read\n");
	free(log);
	sigma_ruleset_free(&rs);

	/* one byte over the bound */
	snprintf(p, sizeof(p), "%s/big.yml", dir);
	int fd = open(p, O_WRONLY | O_CREAT, 0600);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, SIG_MAX_FILE_BYTES + 1), 0);
	close(fd);
	log = load_dir(p, &rs, &rc);
	assert_int_equal(rc, -1);
	snprintf(q, sizeof(q), "error %s: %d bytes, more than the %d a rule file may have\n", p,
		 SIG_MAX_FILE_BYTES + 1, SIG_MAX_FILE_BYTES);
	assert_string_equal(log, q);
	free(log);
	sigma_ruleset_free(&rs);
	unlink(p);

	/* a file that is a symlink loop itself */
	snprintf(p, sizeof(p), "%s/a.yml", dir);
	snprintf(q, sizeof(q), "%s/b.yml", dir);
	assert_int_equal(symlink(q, p), 0);
	assert_int_equal(symlink(p, q), 0);
	log = load_dir(p, &rs, &rc);
	assert_int_equal(rc, -1);
	assert_non_null(strstr(log, "Too many levels of symbolic links"));
	free(log);
	sigma_ruleset_free(&rs);
	unlink(p);
	unlink(q);

	static const char *const left[] = { "sub/r.yml", "sub/up", "sub/self", "sub" };
	for (size_t i = 0; i < sizeof(left) / sizeof(left[0]); i++) {
		snprintf(p, sizeof(p), "%s/%s", dir, left[i]);
		assert_int_equal(remove(p), 0);
	}
	assert_int_equal(rmdir(dir), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_deep_conditions),
		cmocka_unit_test(test_long_chains),
		cmocka_unit_test(test_expansion_bound),
		cmocka_unit_test(test_yaml_aliases),
		cmocka_unit_test(test_yaml_depth_and_size),
		cmocka_unit_test(test_files),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
