/*
 * `immuned --replay` as a whole command; see replay.h. With --hive the
 * replaying process is an agent without BPF: what the replay stored goes to
 * the Hive, and the run waits for the acknowledgements (and, with --pin-dir,
 * the fleet's verdicts) so that its exit status says whether all arrived.
 */
#include "replay.h"
#include "hive.h"
#include "verdict.h"

#include <errno.h>
#include <poll.h>
#include <sqlite3.h>
#include <string.h>
#include <time.h>

static double mono_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Unacknowledged incidents left when the drain ended (0: all arrived), -1 if never known. */
static long drain(const struct replay_cmd *c)
{
	double t0 = mono_s();
	long left = -1;
	bool got_set = !c->pin_dir;
	while (mono_s() - t0 < c->drain_s) {
		struct pollfd p = { .fd = hive_agent_fd(*c->agent), .events = POLLIN };
		if (poll(&p, 1, 200) > 0) {
			cJSON *m;
			while ((m = hive_agent_take(*c->agent))) {
				c->apply_push(m);
				got_set = true;
				cJSON_Delete(m);
			}
		}
		left = hive_agent_unacked(*c->agent);
		if (left == 0 && got_set)
			break;
	}
	return left;
}

/* 0 when the Hive acknowledged every stored incident; 1 otherwise, the reason on stderr. */
static int to_hive(const struct replay_cmd *c)
{
	char err[512];
	sqlite3 *vdb = NULL;
	if (c->pin_dir &&
	    (verdict_maps_create(c->pin_dir, err, sizeof(err)) || !(vdb = verdict_db_open(c->db, err, sizeof(err))) ||
	     !(*c->verdicts = verdicts_open(c->pin_dir, vdb, err, sizeof(err))))) {
		fprintf(stderr, "immuned: --pin-dir %s: %s\n", c->pin_dir, err);
		return 1;
	}
	if (c->start_hive(err, sizeof(err))) {
		fprintf(stderr, "immuned: --hive: %s\n", err);
		return 1;
	}
	long left = drain(c);
	fprintf(stderr, "immuned: hive: %ld incidents not acknowledged after the drain\n", left);
	hive_agent_stop(*c->agent);
	*c->agent = NULL;
	verdicts_close(*c->verdicts);
	*c->verdicts = NULL;
	sqlite3_close(vdb);
	return left != 0;
}

int replay_cmd_run(const struct replay_cmd *c)
{
	struct replay_stats rs = { 0 };
	FILE *ro = stdout;
	if (c->output && !(ro = fopen(c->output, "we"))) {
		fprintf(stderr, "immuned: cannot open --output %s: %s\n", c->output, strerror(errno));
		return 1;
	}
	struct detect_opts d = c->detect;
	d.db_path = c->db; /* replay stores only when asked */
	int r = replay_run(c->file, &d, ro, &rs) ? 1 : 0;
	if (r == 0 && c->hive)
		r = to_hive(c);
	if (r == 0)
		fprintf(stderr, "immuned: replay: %lu lines, %lu events, %lu malformed, %lu incidents\n",
			(unsigned long)rs.lines, (unsigned long)rs.events, (unsigned long)rs.malformed,
			(unsigned long)rs.incidents);
	if (ro != stdout)
		fclose(ro);
	return r;
}
