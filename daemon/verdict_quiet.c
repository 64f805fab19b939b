/*
 * The verdict_file emptiness protocol of verdict_quiet.h. The mutex is what
 * makes it safe: the check (map empty? then until = now + 1 s) and every
 * write (until = 0, then the entry) exclude each other, so a check that saw
 * the map empty cannot land after a writer's 0 and before its entry.
 */
#include "verdict_quiet.h"
#include "immune.h"

#include <bpf/bpf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/times.h>
#include <sys/utsname.h>
#include <unistd.h>
#include <zlib.h>

static uint64_t config_hz(const char *path)
{
	gzFile f = gzopen(path, "r");
	char line[256];
	uint64_t hz = 0;
	if (!f)
		return 0;
	while (!hz && gzgets(f, line, sizeof(line)))
		if (strncmp(line, "CONFIG_HZ=", 10) == 0)
			hz = strtoull(line + 10, NULL, 10);
	gzclose(f);
	return hz;
}

uint64_t verdict_quiet_kernel_hz(void)
{
	static uint64_t hz;
	static bool read;
	if (!read) {
		struct utsname u;
		char path[300];
		read = true;
		if (uname(&u) == 0) {
			snprintf(path, sizeof(path), "/boot/config-%s", u.release);
			hz = config_hz(path);
		}
		if (!hz)
			hz = config_hz("/proc/config.gz");
	}
	return hz;
}

void verdict_quiet_init(struct verdict_quiet *q, int quiet_fd, int file_fd, uint64_t hz)
{
	memset(q, 0, sizeof(*q));
	pthread_mutex_init(&q->mu, NULL);
	q->quiet_fd = quiet_fd;
	q->file_fd = file_fd;
	q->hz = hz;
}

void verdict_quiet_destroy(struct verdict_quiet *q)
{
	pthread_mutex_destroy(&q->mu);
}

uint64_t verdict_quiet_now(const struct verdict_quiet *q)
{
	struct tms t;
	long user_hz = sysconf(_SC_CLK_TCK);
	/* the kernel returns jiffies_64 in USER_HZ ticks, rounded down: so is this */
	uint64_t ticks = (uint64_t)times(&t);
	return user_hz > 0 ? ticks * q->hz / (uint64_t)user_hz : 0;
}

/* Under mu. */
static void set_until(struct verdict_quiet *q, uint64_t until)
{
	uint32_t zero = 0;
	struct imm_verdict_quiet v = { .file_empty_until = until };
	if (bpf_map_update_elem(q->quiet_fd, &zero, &v, BPF_ANY)) {
		/* a skip we could not end: the next write or check tries again */
		if (q->set_errors++ == 0)
			fprintf(stderr, "immuned: verdict_quiet: %s\n", strerror(errno));
		return;
	}
}

void verdict_quiet_write_begin(struct verdict_quiet *q)
{
	if (q->quiet_fd < 0)
		return;
	pthread_mutex_lock(&q->mu);
	/* always written: another tool may have set it */
	set_until(q, 0);
}

void verdict_quiet_write_end(struct verdict_quiet *q)
{
	if (q->quiet_fd >= 0)
		pthread_mutex_unlock(&q->mu);
}

void verdict_quiet_tick(struct verdict_quiet *q, uint64_t now)
{
	if (q->quiet_fd < 0 || !q->hz || now < q->next_check)
		return;
	pthread_mutex_lock(&q->mu);
	q->next_check = now + q->hz / 2;
	q->checks++;
	struct imm_inode_key k;
	/* one key is enough to know it is not empty */
	bool empty = bpf_map_get_next_key(q->file_fd, NULL, &k) && errno == ENOENT;
	if (empty) {
		q->found_empty++;
		set_until(q, now + q->hz);
	} else {
		set_until(q, 0);
	}
	pthread_mutex_unlock(&q->mu);
}

void verdict_quiet_off(struct verdict_quiet *q)
{
	verdict_quiet_write_begin(q);
	q->next_check = UINT64_MAX;
	verdict_quiet_write_end(q);
}

bool verdict_quiet_skipping(struct verdict_quiet *q, uint64_t now)
{
	uint32_t zero = 0;
	struct imm_verdict_quiet v;
	if (q->quiet_fd < 0 || bpf_map_lookup_elem(q->quiet_fd, &zero, &v))
		return false;
	return now < v.file_empty_until && v.file_empty_until - now <= 2 * q->hz;
}
