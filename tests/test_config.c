/* The config file: every key an option, each refusal with FILE:LINE, origins, --print-config. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"

static const struct option lo[] = {
	{ "format", required_argument, 0, 1 }, { "rules", required_argument, 0, 2 },
	{ "no-builtin-rules", no_argument, 0, 3 }, { "help", no_argument, 0, 4 },
	{ "output", required_argument, 0, 5 }, { 0, 0, 0, 0 },
};
static const char *const repeatable[] = { "rules", NULL };
static const char *const refused[] = { "help", NULL };
static const struct config_schema schema = { lo, repeatable, refused };

static char path[64];

static void write_conf(const char *text, size_t n)
{
	snprintf(path, sizeof(path), "/tmp/immune-config-XXXXXX");
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, n), (ssize_t)n);
	close(fd);
}

/* The file's one error, without the path. */
static const char *refusal(const char *text, size_t n)
{
	static char err[512];
	struct config c;
	write_conf(text, n);
	int rc = config_read(&c, path, true, &schema, err, sizeof(err));
	unlink(path);
	assert_int_equal(rc, -1);
	assert_null(c.e);
	assert_memory_equal(err, path, strlen(path));
	return err + strlen(path);
}
#define REFUSE(s) refusal(s, sizeof(s) - 1)

static void test_good_file(void **s)
{
	(void)s;
	static const char text[] = "# comment\n\n  format = json  \r\nrules = /a\nrules = \" /b c \"\n"
				   "no-builtin-rules = yes\noutput = /tmp/o#1\n";
	char err[256];
	struct config c;
	write_conf(text, sizeof(text) - 1);
	assert_int_equal(config_read(&c, path, true, &schema, err, sizeof(err)), 0);
	unlink(path);
	assert_string_equal(c.path, path);
	assert_int_equal(c.n, 5);
	assert_int_equal(c.e[0].opt, 0);
	assert_string_equal(c.e[0].value, "json");
	assert_int_equal(c.e[0].line, 3);
	assert_string_equal(c.e[1].value, "/a");
	assert_string_equal(c.e[2].value, " /b c ");
	assert_int_equal(c.e[2].line, 5);
	assert_int_equal(c.e[3].opt, 2);
	assert_string_equal(c.e[3].value, "true");
	assert_string_equal(c.e[4].value, "/tmp/o#1");
	config_free(&c);
}

static void test_refusals(void **s)
{
	(void)s;
	assert_string_equal(REFUSE("format json\n"), ":1: expected 'key = value'");
	assert_string_equal(REFUSE("\n\nbogus = 1\n"), ":3: unknown key 'bogus' (the keys are immuned's long options)");
	assert_string_equal(REFUSE("--format = json\n"), ":1: write the key without '--': 'format'");
	assert_string_equal(REFUSE("Format = json\n"), ":1: a key is an option name: lower-case letters, digits and '-'");
	assert_string_equal(REFUSE("format = a\nformat = b\n"), ":2: 'format' is already set on line 1");
	assert_string_equal(REFUSE("help = true\n"), ":1: 'help' cannot be set in a config file");
	assert_string_equal(REFUSE("no-builtin-rules = maybe\n"), ":1: 'no-builtin-rules' is true or false, not 'maybe'");
	assert_string_equal(REFUSE("output =\n"), ":1: 'output' needs a value");
	assert_string_equal(REFUSE("output = \"/a\n"), ":1: unbalanced '\"' in the value of 'output'");
	assert_string_equal(REFUSE("output = /a\xff\n"), ":1: the value of 'output' has invalid UTF-8");
	assert_string_equal(REFUSE("output = /a\x1b[2J\n"), ":1: the value of 'output' has a control character");
	/* a tab is allowed, and what follows it is still checked (the fuzzer found it was not) */
	assert_string_equal(REFUSE("output = a\tb\x19" "c\n"), ":1: the value of 'output' has a control character");
	assert_string_equal(refusal("format = j\0son\n", 15), ":1: a NUL byte");
	char *longline = malloc(CONFIG_MAX_LINE + 64);
	memset(longline, 'a', CONFIG_MAX_LINE + 10);
	memcpy(longline, "output = ", 9);
	longline[CONFIG_MAX_LINE + 10] = '\n';
	assert_string_equal(refusal(longline, CONFIG_MAX_LINE + 11), ":1: line longer than 4096 bytes");
	free(longline);
}

static void test_missing_and_not_a_file(void **s)
{
	(void)s;
	char err[256];
	struct config c;
	/* the default file may be missing; an explicit one may not */
	assert_int_equal(config_read(&c, "/nonexistent/immuned.conf", false, &schema, err, sizeof(err)), 0);
	assert_null(c.path);
	assert_int_equal(c.n, 0);
	assert_int_equal(config_read(&c, "/nonexistent/immuned.conf", true, &schema, err, sizeof(err)), -1);
	assert_string_equal(err, "/nonexistent/immuned.conf: No such file or directory");
	assert_int_equal(config_read(&c, "/tmp", false, &schema, err, sizeof(err)), -1);
	assert_string_equal(err, "/tmp: not a regular file");
	/* a file others may write is not trusted */
	snprintf(path, sizeof(path), "/tmp/immune-config-XXXXXX");
	int wfd = mkstemp(path);
	assert_int_equal(fchmod(wfd, 0666), 0);
	close(wfd);
	assert_int_equal(config_read(&c, path, true, &schema, err, sizeof(err)), -1);
	unlink(path);
	assert_non_null(strstr(err, ": writable by others than its owner, or owned by another user (mode 0666, uid "));
	/* a file too big to be a config */
	snprintf(path, sizeof(path), "/tmp/immune-config-XXXXXX");
	int fd = mkstemp(path);
	assert_int_equal(ftruncate(fd, CONFIG_MAX_BYTES + 1), 0);
	close(fd);
	assert_int_equal(config_read(&c, path, true, &schema, err, sizeof(err)), -1);
	unlink(path);
	assert_non_null(strstr(err, ": larger than 1048576 bytes"));
}

static void test_origins_and_print(void **s)
{
	(void)s;
	static const char text[] = "format = json\nrules = /a\nrules = /b\nno-builtin-rules = false\n";
	char err[256], *buf = NULL;
	size_t len = 0;
	struct config c;
	struct config_origins a, b;
	write_conf(text, sizeof(text) - 1);
	assert_int_equal(config_read(&c, path, true, &schema, err, sizeof(err)), 0);
	unlink(path);
	assert_int_equal(config_origins_init(&a, lo), 0);
	assert_int_equal(config_origins_init(&b, lo), 0);
	/* the command line gave format: the file's is not taken */
	config_origin_add(&a, 0, "text", "command line");
	assert_true(config_origin_cli(&a, 0));
	assert_false(config_origin_cli(&a, 1));
	for (int i = 0; i < c.n; i++) {
		char where[300];
		snprintf(where, sizeof(where), "%s:%u", c.path, c.e[i].line);
		if (!config_origin_cli(&a, c.e[i].opt))
			config_origin_add(&a, c.e[i].opt, c.e[i].value, where);
		config_origin_add(&b, c.e[i].opt, c.e[i].value, where);
	}
	assert_false(config_origin_same(&a, &b, 0));
	assert_true(config_origin_same(&a, &b, 1));
	assert_true(config_origin_same(&a, &b, 4));

	FILE *f = open_memstream(&buf, &len);
	config_print(f, &schema, &a, &c, NULL);
	fclose(f);
	char want[400];
	assert_non_null(strstr(buf, "format               = text                           # command line\n"));
	snprintf(want, sizeof(want), "rules                = /a                             # %s:2\n"
				     "rules                = /b                             # %s:3\n", path, path);
	assert_non_null(strstr(buf, want));
	snprintf(want, sizeof(want), "no-builtin-rules     = false                          # %s:4\n", path);
	assert_non_null(strstr(buf, want));
	snprintf(want, sizeof(want), "# %-18s   %-30s # not set\n", "output", "");
	assert_non_null(strstr(buf, want));
	assert_null(strstr(buf, "help"));
	free(buf);
	config_origins_free(&a);
	config_origins_free(&b);
	config_free(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good_file),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_missing_and_not_a_file),
		cmocka_unit_test(test_origins_and_print),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	config_strings_free();
	return rc;
}
