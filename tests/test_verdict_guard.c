/* What no deny may cover on an agent: its Hive link, its own files, the protected binaries. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "protected.h"
#include "verdict.h"

/* The Hive's address as hive_agent_link_in knows it: 10.1.2.3, IPv4-mapped. */
static bool link_in(void *ctx, const struct verdict_net *t)
{
	uint8_t a[16] = { [10] = 0xff, [11] = 0xff, [12] = 10, [13] = 1, [14] = 2, [15] = 3 };
	(*(int *)ctx)++;
	return verdict_net_covers(t, a);
}

static void test_hive_link(void **s)
{
	(void)s;
	int asked = 0;
	struct verdict_guard g = { .hive_link_in = link_in, .ctx = &asked };
	char err[512];

	assert_int_equal(verdict_guard_deny(&g, VK_NET, "10.1.2.3", err, sizeof(err)), -EPERM);
	assert_string_equal(err, "net 10.1.2.3 covers this agent's link to the Hive");
	assert_int_equal(verdict_guard_deny(&g, VK_NET, "10.1.0.0/16", err, sizeof(err)), -EPERM);
	assert_non_null(strstr(err, "10.1.0.0/16 covers this agent's link to the Hive"));
	assert_int_equal(verdict_guard_deny(&g, VK_NET, "0.0.0.0/0", err, sizeof(err)), -EPERM);
	assert_int_equal(verdict_guard_deny(&g, VK_NET, "::ffff:10.1.2.3", err, sizeof(err)), -EPERM);
	/* the Hive's port only is still the link */
	assert_int_equal(verdict_guard_deny(&g, VK_NET, "10.1.2.3:7443", err, sizeof(err)), -EPERM);
	/* a neighbour, another network, IPv6: allowed */
	assert_int_equal(verdict_guard_deny(&g, VK_NET, "10.1.2.4", err, sizeof(err)), 0);
	assert_int_equal(verdict_guard_deny(&g, VK_NET, "10.2.0.0/16", err, sizeof(err)), 0);
	assert_int_equal(verdict_guard_deny(&g, VK_NET, "2001:db8::/32", err, sizeof(err)), 0);
	assert_int_equal(verdict_guard_deny(&g, VK_NET, "not-an-address", err, sizeof(err)), -EINVAL);
	assert_int_equal(asked, 8);
	/* no Hive: nothing to cover */
	struct verdict_guard none = { 0 };
	assert_int_equal(verdict_guard_deny(&none, VK_NET, "10.1.2.3", err, sizeof(err)), 0);
	assert_int_equal(verdict_guard_deny(NULL, VK_NET, "10.1.2.3", err, sizeof(err)), 0);
}

static void count_path(const char *path, void *ctx)
{
	struct seen { const char *dbp; int hits; } *s = ctx;
	s->hits += strncmp(path, s->dbp, strlen(s->dbp)) == 0;
}

static void test_own_files(void **s)
{
	(void)s;
	struct protected_set *p = protected_new();
	struct verdict_guard g = { .protect = p };
	char err[512], dbp[] = "/tmp/immune-guard-XXXXXX", wal[64];
	int fd = mkstemp(dbp);
	assert_true(fd >= 0);
	close(fd);
	snprintf(wal, sizeof(wal), "%s-wal", dbp);

	assert_int_equal(verdict_guard_deny(&g, VK_FILE, dbp, err, sizeof(err)), 0);
	assert_int_equal(protected_add_own(p, dbp, "immuned's database"), 0);
	/* kept by name while it does not exist */
	assert_int_equal(protected_add_own(p, wal, "immuned's database"), 0);
	/* a relative name that does not exist names nothing a verdict could */
	assert_int_equal(protected_add_own(p, "relative-nonexistent.db", "immuned's database"), 0);

	assert_int_equal(verdict_guard_deny(&g, VK_FILE, dbp, err, sizeof(err)), -EPERM);
	char want[256];
	snprintf(want, sizeof(want), "%s is protected (immuned's database %s)", dbp, dbp);
	assert_string_equal(err, want);
	assert_int_equal(verdict_guard_deny(&g, VK_EXEC, dbp, err, sizeof(err)), -EPERM);
	/* a hard link is the same file */
	char lnk[64];
	snprintf(lnk, sizeof(lnk), "%s.lnk", dbp);
	assert_int_equal(link(dbp, lnk), 0);
	assert_int_equal(verdict_guard_deny(&g, VK_FILE, lnk, err, sizeof(err)), -EPERM);
	unlink(lnk);
	assert_int_equal(verdict_guard_deny(&g, VK_FILE, wal, err, sizeof(err)), -EPERM);
	/* once created, the WAL file is still refused by name */
	fd = open(wal, O_CREAT | O_WRONLY, 0600);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(verdict_guard_deny(&g, VK_FILE, wal, err, sizeof(err)), -EPERM);
	unlink(wal);

	/* the protected binaries and the daemon's own executable */
	assert_int_equal(verdict_guard_deny(&g, VK_EXEC, "/bin/sh", err, sizeof(err)), -EPERM);
	assert_non_null(strstr(err, "/bin/sh is protected"));
	char self[4096];
	ssize_t l = readlink("/proc/self/exe", self, sizeof(self) - 1);
	assert_true(l > 0);
	self[l] = 0;
	assert_int_equal(verdict_guard_deny(&g, VK_FILE, self, err, sizeof(err)), -EPERM);
	/* anything else may be blocked */
	assert_int_equal(verdict_guard_deny(&g, VK_EXEC, "/usr/bin/true", err, sizeof(err)), 0);
	assert_int_equal(verdict_guard_deny(&g, VK_FILE, "/nonexistent/evil", err, sizeof(err)), 0);
	/* the own files are not binaries: rules on Image are not checked against them */
	struct seen { const char *dbp; int hits; } seen = { dbp, 0 };
	protected_each(p, count_path, &seen);
	assert_int_equal(seen.hits, 0);
	unlink(dbp);
	protected_free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hive_link),
		cmocka_unit_test(test_own_files),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
