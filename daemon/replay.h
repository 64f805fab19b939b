/*
 * `immuned --replay FILE`: recorded JSON events (the `--events json` output,
 * one object per line) through the full detection pipeline, without root or
 * BPF. Incidents are printed (and stored when opts->db_path is set).
 */
#ifndef IMMUNE_REPLAY_H
#define IMMUNE_REPLAY_H

#include <stdint.h>
#include <stdio.h>
#include <cjson/cJSON.h>
#include <stdbool.h>
#include "detect.h"

struct replay_stats {
	uint64_t lines, events, malformed, incidents;
};

/*
 * file "-" reads stdin. out overrides opts->out when non-NULL. A malformed
 * line is reported as "FILE:LINE: reason" on opts->log (stderr) and skipped.
 * 0 when the file was read to its end, -1 when it (or the rules) could not be
 * loaded. st may be NULL.
 */
int replay_run(const char *file, const struct detect_opts *opts, FILE *out, struct replay_stats *st);

struct hive_agent;
struct verdicts;

/* The whole of `immuned --replay` (replay_cmd.c): what main() parsed, and its parts to wire. */
struct replay_cmd {
	const char *file;
	const char *output;         /* --output, or NULL: stdout */
	struct detect_opts detect;  /* the rules, IOCs and format; out and db_path are set here */
	const char *db;             /* --db when given: the incidents are stored there; NULL: not stored */
	/* --hive: the stored incidents go to the Hive; up to drain_s seconds for its acknowledgements */
	bool hive;
	double drain_s;
	const char *pin_dir;        /* --pin-dir given (root): the fleet's verdicts land in maps pinned there */
	struct hive_agent **agent;  /* the daemon's link, set by start_hive, what apply_push sees */
	struct verdicts **verdicts; /* the daemon's verdicts, open while the link runs */
	int (*start_hive)(char *err, size_t n);
	void (*apply_push)(cJSON *m); /* a push from the Hive: verdicts, IOC sets */
};

/* Replay, print the summary on stderr, and with --hive drain to the Hive. The exit status: 0, or 1 (said why). */
int replay_cmd_run(const struct replay_cmd *c);

#endif
