/*
 * Reload: the new rule and IOC set swapped in whole while the caller's pump
 * keeps running, a bad set refused with the old one kept, the Hive's IOC sets
 * and the counts carried over.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "reload.h"

static char dir[64], rules[128], iocf[128];
static FILE *devnull;
static struct detect *cur;
static int pumped;
static struct imm_event ev;

static void put_file(const char *p, const char *text)
{
	FILE *f = fopen(p, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void rule_for(const char *id, const char *image)
{
	char y[512];
	snprintf(y, sizeof(y),
		 "title: t %s\nid: %s\nlevel: high\nlogsource: {category: process_creation, product: linux}\n"
		 "detection: {sel: {Image: '%s'}, condition: sel}\n",
		 id, id, image);
	put_file(rules, y);
}

static int incidents_for(const char *exe)
{
	memset(&ev, 0, sizeof(ev));
	ev.type = EBPF_EVENT_EXEC;
	ev.outcome = IMM_OUTCOME_SUCCESS;
	ev.pid = 4242;
	ev.executable = ev.filename = exe;
	ev.name = strrchr(exe, '/') + 1;
	ev.command_line = exe;
	ev.cwd = ev.user_name = ev.parent_executable = ev.parent_command_line = "";
	return detect_event(cur, &ev);
}

/* What the daemon's pump does: handle events through the detector in force. */
static void pump(void *ctx)
{
	(void)ctx;
	pumped++;
	incidents_for("/usr/bin/old-one");
	usleep(1000);
}

static struct detect_opts opts(void)
{
	static const char *rp[1], *ip[1];
	rp[0] = rules;
	ip[0] = iocf;
	return (struct detect_opts){ .rule_paths = rp, .nrule_paths = 1, .no_builtin = true, .ioc_paths = ip,
				     .nioc_paths = 1, .log = devnull };
}

static int setup(void **s)
{
	(void)s;
	snprintf(dir, sizeof(dir), "/tmp/immune-reload-XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(rules, sizeof(rules), "%s/rules.yml", dir);
	snprintf(iocf, sizeof(iocf), "%s/iocs.txt", dir);
	devnull = fopen("/dev/null", "w");
	rule_for("old-one", "/usr/bin/old-one");
	put_file(iocf, "path:/tmp/evil-a\n");
	struct detect_opts o = opts();
	char err[256];
	cur = detect_new(&o, err, sizeof(err));
	assert_non_null(cur);
	return 0;
}

static int teardown(void **s)
{
	(void)s;
	detect_free(cur);
	fclose(devnull);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd);
}

static void test_swap_refuse_carry(void **s)
{
	(void)s;
	char err[512];
	struct detect_stats st;
	assert_int_equal(incidents_for("/usr/bin/old-one"), 1);
	assert_int_equal(incidents_for("/tmp/evil-a"), 1);
	/* a fleet set from the Hive is not in any file: a reload keeps it */
	assert_int_equal(detect_set_fleet_ioc(cur, "fleet", 3, "path:/tmp/fleet-bad\n", err, sizeof(err)), 0);

	rule_for("new-one", "/usr/bin/new-one");
	put_file(iocf, "path:/tmp/evil-b\n");
	struct detect_opts o = opts();
	struct detect *before = cur;
	pumped = 0;
	assert_int_equal(reload_detector(&cur, &o, pump, NULL, err, sizeof(err)), 0);
	assert_ptr_not_equal(cur, before);
	assert_true(pumped >= 1);
	/* the new set is in force, whole */
	assert_int_equal(incidents_for("/usr/bin/old-one"), 0);
	assert_int_equal(incidents_for("/usr/bin/new-one"), 1);
	assert_int_equal(incidents_for("/tmp/evil-a"), 0);
	assert_int_equal(incidents_for("/tmp/evil-b"), 1);
	assert_int_equal(incidents_for("/tmp/fleet-bad"), 1);
	/* counts ran on: 2 before, the pump's (one each), 3 now */
	detect_get_stats(cur, &st);
	assert_int_equal(st.incidents, 2 + (uint64_t)pumped + 3);
	assert_int_equal(st.rules_loaded, 1);

	/* malformed YAML: refused, the reason names the file, the set in force stays */
	uint64_t inc = st.incidents;
	put_file(rules, "title: broken\nid: x\nlogsource:\n    category: process_creation\n  product: linux\n");
	before = cur;
	assert_int_equal(reload_detector(&cur, &o, pump, NULL, err, sizeof(err)), -1);
	assert_ptr_equal(cur, before);
	assert_non_null(strstr(err, rules));
	assert_int_equal(incidents_for("/usr/bin/new-one"), 1);

	/* a malformed IOC line: refused too, though a start would skip it */
	rule_for("new-one", "/usr/bin/new-one");
	put_file(iocf, "path:/tmp/evil-c\nnot an indicator\n");
	assert_int_equal(reload_detector(&cur, &o, pump, NULL, err, sizeof(err)), -1);
	assert_string_equal(err, "1 malformed lines in the IOC files (each named above)");
	assert_ptr_equal(cur, before);
	assert_int_equal(incidents_for("/tmp/evil-b"), 1);
	assert_int_equal(incidents_for("/tmp/evil-c"), 0);

	/* a missing IOC file */
	unlink(iocf);
	assert_int_equal(reload_detector(&cur, &o, pump, NULL, err, sizeof(err)), -1);
	assert_non_null(strstr(err, iocf));
	detect_get_stats(cur, &st);
	assert_true(st.incidents > inc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_swap_refuse_carry, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
