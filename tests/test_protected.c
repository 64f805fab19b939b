/* The protected set: shells and the agent itself by inode, operator additions, refusals. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "protected.h"

static void test_shells_and_self(void **s)
{
	(void)s;
	struct protected_set *p = protected_new();
	const char *why = NULL;
	assert_non_null(p);
	assert_true(protected_path(p, "/bin/sh", &why));
	assert_non_null(why);
	/* /usr/bin/sh and /bin/sh are one inode on a merged-/usr host */
	struct stat st;
	if (stat("/usr/bin/sh", &st) == 0)
		assert_true(protected_inode(p, st.st_dev, st.st_ino, NULL));
	assert_true(protected_path(p, "/proc/self/exe", NULL));
	assert_false(protected_path(p, "/usr/bin/true", NULL));
	assert_false(protected_path(p, "/nonexistent/evil", NULL));
	protected_free(p);
}

static void test_operator_addition(void **s)
{
	(void)s;
	struct protected_set *p = protected_new();
	char err[256], path[] = "/tmp/immune-protected-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	assert_false(protected_path(p, path, NULL));
	assert_int_equal(protected_add(p, path, err, sizeof(err)), 0);
	assert_true(protected_path(p, path, NULL));
	/* a hard link is the same file */
	char link_path[64];
	snprintf(link_path, sizeof(link_path), "%s.lnk", path);
	assert_int_equal(link(path, link_path), 0);
	assert_true(protected_path(p, link_path, NULL));
	unlink(link_path);
	unlink(path);
	assert_int_equal(protected_add(p, "relative/path", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "relative/path"));
	assert_int_equal(protected_add(p, "/nonexistent/x", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "/nonexistent/x"));
	protected_free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_shells_and_self),
		cmocka_unit_test(test_operator_addition),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
