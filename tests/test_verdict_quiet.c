/*
 * The verdict_file emptiness protocol (verdict_quiet.c) against real BPF maps
 * of the pinned ones' shapes: the skip is set only on an empty map, ended by
 * every daemon write before the entry lands, and a check racing a write in
 * another thread never turns it back on for that entry. Needs CAP_BPF for the
 * maps (no program is loaded): SKIPPED without.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <bpf/bpf.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "immune.h"
#include "verdict_quiet.h"

/* jiffies a second; the protocol is the same for any */
#define HZ 250
#define CHECK (HZ / 2)
#define QUIET HZ

struct maps {
	int quiet, file;
	struct verdict_quiet q;
};

static struct maps M;

static int setup(void)
{
	M.quiet = bpf_map_create(BPF_MAP_TYPE_ARRAY, "t_quiet", 4, sizeof(struct imm_verdict_quiet), 1, NULL);
	M.file = bpf_map_create(BPF_MAP_TYPE_HASH, "t_file", sizeof(struct imm_inode_key), sizeof(struct imm_verdict),
				16, NULL);
	if (M.quiet < 0 || M.file < 0) {
		printf("SKIPPED: cannot create BPF maps (%s): the protocol needs the kernel's maps\n", strerror(errno));
		return -1;
	}
	verdict_quiet_init(&M.q, M.quiet, M.file, HZ);
	return 0;
}

static uint64_t until(struct maps *m)
{
	uint32_t zero = 0;
	struct imm_verdict_quiet v;
	assert_int_equal(bpf_map_lookup_elem(m->quiet, &zero, &v), 0);
	return v.file_empty_until;
}

static void put_deny(struct maps *m, uint64_t ino)
{
	struct imm_inode_key k = { .dev = 1, .ino = ino };
	struct imm_verdict v = { .action = IMM_ACT_DENY };
	assert_int_equal(bpf_map_update_elem(m->file, &k, &v, BPF_ANY), 0);
}

static void del_deny(struct maps *m, uint64_t ino)
{
	struct imm_inode_key k = { .dev = 1, .ino = ino };
	assert_int_equal(bpf_map_delete_elem(m->file, &k), 0);
}

static void test_empty_map_skips_for_a_second(void **state)
{
	struct maps *m = &M;
	(void)state;
	uint64_t now = verdict_quiet_now(&m->q);
	/* times(2)'s jiffies at this HZ: a second later is HZ more */
	assert_true(now > 0);
	verdict_quiet_tick(&m->q, now);
	assert_int_equal(until(m), now + QUIET);
	assert_true(verdict_quiet_skipping(&m->q, now));
	assert_true(verdict_quiet_skipping(&m->q, now + QUIET - 1));
	assert_false(verdict_quiet_skipping(&m->q, now + QUIET));
	assert_int_equal(m->q.checks, 1);
	assert_int_equal(m->q.found_empty, 1);
	/* not checked again before CHECK: the value stays */
	verdict_quiet_tick(&m->q, now + CHECK - 1);
	assert_int_equal(m->q.checks, 1);
	/* then extended from the new now */
	verdict_quiet_tick(&m->q, now + CHECK);
	assert_int_equal(m->q.checks, 2);
	assert_int_equal(until(m), now + CHECK + QUIET);
}

static void test_write_ends_skip_first(void **state)
{
	struct maps *m = &M;
	(void)state;
	uint64_t now = verdict_quiet_now(&m->q);
	m->q.next_check = 0;
	verdict_quiet_tick(&m->q, now);
	assert_true(verdict_quiet_skipping(&m->q, now));
	verdict_quiet_write_begin(&m->q);
	/* before the entry exists, the sensor already looks up */
	assert_int_equal(until(m), 0);
	put_deny(m, 7);
	verdict_quiet_write_end(&m->q);
	verdict_quiet_tick(&m->q, now + CHECK);
	assert_int_equal(until(m), 0);
	assert_false(verdict_quiet_skipping(&m->q, now + CHECK));
	/* a deny another tool wrote: the next check finds it and ends the skip */
	del_deny(m, 7);
	verdict_quiet_tick(&m->q, now + 2 * CHECK);
	assert_true(verdict_quiet_skipping(&m->q, now + 2 * CHECK));
	put_deny(m, 8);
	verdict_quiet_tick(&m->q, now + 3 * CHECK);
	assert_int_equal(until(m), 0);
	del_deny(m, 8);
}

struct race {
	struct maps *m;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int began;
};

static void *writer(void *arg)
{
	struct race *r = arg;
	verdict_quiet_write_begin(&r->m->q);
	pthread_mutex_lock(&r->mu);
	r->began = 1;
	pthread_cond_signal(&r->cv);
	pthread_mutex_unlock(&r->mu);
	/* the check runs now, in the other thread, and must wait for the entry */
	usleep(50000);
	put_deny(r->m, 9);
	verdict_quiet_write_end(&r->m->q);
	return NULL;
}

static void test_check_racing_a_write(void **state)
{
	struct maps *m = &M;
	(void)state;
	struct race r = { .m = m, .mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER };
	pthread_t th;
	uint64_t now = verdict_quiet_now(&m->q);

	m->q.next_check = 0;
	assert_int_equal(pthread_create(&th, NULL, writer, &r), 0);
	pthread_mutex_lock(&r.mu);
	while (!r.began)
		pthread_cond_wait(&r.cv, &r.mu);
	pthread_mutex_unlock(&r.mu);
	/* the map is still empty here: without the mutex this would set the skip over the writer's 0 */
	verdict_quiet_tick(&m->q, now);
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_int_equal(until(m), 0);
	assert_false(verdict_quiet_skipping(&m->q, now));
	del_deny(m, 9);
}

static void test_off_for_good_and_bounds(void **state)
{
	struct maps *m = &M;
	(void)state;
	uint64_t now = verdict_quiet_now(&m->q);
	uint32_t zero = 0;

	m->q.next_check = 0;
	verdict_quiet_tick(&m->q, now);
	assert_true(verdict_quiet_skipping(&m->q, now));
	verdict_quiet_off(&m->q);
	assert_int_equal(until(m), 0);
	verdict_quiet_tick(&m->q, now + 100 * CHECK);
	assert_int_equal(until(m), 0);
	/* a value further ahead than 2 s (a wrong value) skips nothing, as in BPF */
	struct imm_verdict_quiet v = { .file_empty_until = now + 2 * HZ + 1 };
	assert_int_equal(bpf_map_update_elem(m->quiet, &zero, &v, BPF_ANY), 0);
	assert_false(verdict_quiet_skipping(&m->q, now));
	v.file_empty_until = now + 2 * HZ;
	assert_int_equal(bpf_map_update_elem(m->quiet, &zero, &v, BPF_ANY), 0);
	assert_true(verdict_quiet_skipping(&m->q, now));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty_map_skips_for_a_second),
		cmocka_unit_test(test_write_ends_skip_first),
		cmocka_unit_test(test_check_racing_a_write),
		cmocka_unit_test(test_off_for_good_and_bounds),
	};
	if (setup())
		return 0;
	int r = cmocka_run_group_tests(tests, NULL, NULL);
	verdict_quiet_destroy(&M.q);
	close(M.quiet);
	close(M.file);
	return r;
}
