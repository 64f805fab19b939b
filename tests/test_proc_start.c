/* A process's start time from ROOT/PID/stat (proc_start_ticks): what keys the daemon's exemption in BPF. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "proc.h"

static void put_stat(const char *root, unsigned pid, const char *text)
{
	char path[300];
	snprintf(path, sizeof(path), "%s/%u", root, pid);
	assert_int_equal(mkdir(path, 0700), 0);
	snprintf(path, sizeof(path), "%s/%u/stat", root, pid);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void test_fields(void **s)
{
	(void)s;
	char root[] = "/tmp/immune-procstat-XXXXXX", cmd[300];
	uint64_t t = 0;
	assert_non_null(mkdtemp(root));
	/* field 22 after a comm holding spaces and parentheses: only the last ')' ends it */
	put_stat(root, 10,
		 "10 (a) b (c) S 1 10 10 0 -1 4194560 100 0 0 0 5 6 0 0 20 0 1 0 2179595 1000 200 "
		 "18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0\n");
	assert_int_equal(proc_start_ticks(root, 10, 100, &t), 0);
	assert_int_equal(t, 2179595);
	/* truncated before field 22, no ')', not a number: -1, t untouched */
	put_stat(root, 11, "11 (x) S 1 11 11 0 -1 4194560 100 0 0 0 5 6 0 0 20 0 1 0\n");
	put_stat(root, 12, "12 x S 1 12 12 0 -1 4194560 100 0 0 0 5 6 0 0 20 0 1 0 77 1\n");
	put_stat(root, 13, "13 (x) S 1 13 13 0 -1 4194560 100 0 0 0 5 6 0 0 20 0 1 0 zz 1\n");
	t = 5;
	assert_int_equal(proc_start_ticks(root, 11, 100, &t), -1);
	assert_int_equal(proc_start_ticks(root, 12, 100, &t), -1);
	assert_int_equal(proc_start_ticks(root, 13, 100, &t), -1);
	assert_int_equal(proc_start_ticks(root, 14, 100, &t), -1); /* no such process */
	assert_int_equal(t, 5);
	/* this process: what ps and the kernel say */
	assert_int_equal(proc_start_ticks("/proc", (uint32_t)getpid(), 100, &t), 0);
	assert_true(t > 0);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	assert_int_equal(system(cmd), 0);
}

static void put_offsets(const char *root, const char *text)
{
	char path[300];
	snprintf(path, sizeof(path), "%s/self", root);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/self/timens_offsets", root);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

/* In a time namespace /proc adds its boottime offset to field 22; the kernel's
 * start_boottime, which BPF compares, has none: the offset comes off */
static void test_time_namespace(void **s)
{
	(void)s;
	char root[] = "/tmp/immune-procstat-XXXXXX", cmd[300];
	uint64_t t = 0;
	assert_non_null(mkdtemp(root));
	put_stat(root, 20, "20 (d) S 1 20 20 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 1002179 1000 200\n");
	put_offsets(root, "monotonic 0 0\nboottime 10000 0\n");
	assert_int_equal(proc_start_ticks(root, 20, 100, &t), 0);
	assert_int_equal(t, 2179); /* 10,000 s at 100 Hz taken off */
	put_offsets(root, "monotonic 5 0\nboottime -50 0\n");
	assert_int_equal(proc_start_ticks(root, 20, 100, &t), 0);
	assert_int_equal(t, 1002179 + 5000);
	/* an offset larger than the start time cannot be ours: not a start time */
	put_offsets(root, "boottime 20000 0\n");
	assert_int_equal(proc_start_ticks(root, 20, 100, &t), -1);
	/* the clock's number instead of its name */
	put_offsets(root, "1 0 0\n7 10000 0\n");
	assert_int_equal(proc_start_ticks(root, 20, 100, &t), 0);
	assert_int_equal(t, 2179);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	assert_int_equal(system(cmd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fields),
		cmocka_unit_test(test_time_namespace),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
