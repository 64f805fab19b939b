/*
 * Helpers for tests against the live kernel: load the sensor in-process, fire
 * real syscalls from children, collect their records.
 */
#ifndef IMMUNE_SELFTEST_H
#define IMMUNE_SELFTEST_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "arena.h"
#include "decode.h"
#include "ebpf.h"
#include "immune.h"

struct rec {
	size_t size;
	unsigned char *data;
};

struct recs {
	struct rec *v;
	size_t n, cap;
};

static struct recs st_recs;

static int st_collect_cb(ebpf_event_type_t type, const void *data, size_t size, void *ctx)
{
	(void)type;
	(void)ctx;
	if (st_recs.n == st_recs.cap) {
		st_recs.cap = st_recs.cap ? st_recs.cap * 2 : 1024;
		st_recs.v = realloc(st_recs.v, st_recs.cap * sizeof(*st_recs.v));
	}
	struct rec *r = &st_recs.v[st_recs.n++];
	r->size = size;
	r->data = malloc(size);
	memcpy(r->data, data, size);
	return 0;
}

/* Remove a test's pin dir and everything pinned in it (maps, and links in
 * links/): a pinned link left behind would keep its program attached. */
static inline void st_rm_pins(const char *dir)
{
	char p[4096];
	struct dirent *e;
	DIR *d = opendir(dir);

	if (!d)
		return;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		if (snprintf(p, sizeof(p), "%s/%s", dir, e->d_name) >= (int)sizeof(p))
			continue;
		if (unlink(p) != 0 && errno == EISDIR)
			st_rm_pins(p);
	}
	closedir(d);
	if (rmdir(dir) != 0)
		fprintf(stderr, "cannot remove the pin dir %s: %s\n", dir, strerror(errno));
}

static void st_clear(void)
{
	for (size_t i = 0; i < st_recs.n; i++)
		free(st_recs.v[i].data);
	st_recs.n = 0;
}

static inline uint64_t st_boot_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_BOOTTIME, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/* Drain what the kernel has queued (records of a finished child are all there). */
static inline void st_drain(void)
{
	for (int i = 0; i < 3; i++)
		ebpf_poll_events(st_collect_cb, 20);
}

/* The first record of kind from pid (0: any) that pred accepts, decoded into ev. */
static inline int st_find(uint32_t pid, int kind, struct imm_event *ev, struct arena *a,
			  int (*pred)(const struct imm_event *ev, const void *arg), const void *arg)
{
	for (size_t i = 0; i < st_recs.n; i++) {
		const struct imm_hdr *h = (const void *)st_recs.v[i].data;
		if ((int)h->kind != kind || (pid && h->pid != pid))
			continue;
		if (decode_record(st_recs.v[i].data, st_recs.v[i].size, ev, a))
			continue;
		if (!pred || pred(ev, arg))
			return 0;
	}
	return -ENOENT;
}

/* Run fn in a child; returns its pid after it exited with status 0 (asserted). */
static inline pid_t st_child(void (*fn)(void *), void *arg)
{
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		fn(arg);
		_exit(0);
	}
	int status = 0;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	return pid;
}

#define ST_SKIP_UNLESS_ROOT()                                                                    \
	do {                                                                                     \
		if (geteuid() != 0) {                                                            \
			fprintf(stderr, "SKIPPED: needs root (CAP_BPF and CAP_PERFMON) to load BPF\n"); \
			skip();                                                                  \
		}                                                                                \
	} while (0)

#endif
