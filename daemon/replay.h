/*
 * `immuned --replay FILE`: recorded JSON events (the `--events json` output,
 * one object per line) through the full detection pipeline, without root or
 * BPF. Incidents are printed (and stored when opts->db_path is set).
 */
#ifndef IMMUNE_REPLAY_H
#define IMMUNE_REPLAY_H

#include <stdint.h>
#include <stdio.h>
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

#endif
