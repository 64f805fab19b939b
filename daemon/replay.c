/* Replay of recorded events; see replay.h. */
#include "replay.h"
#include "arena.h"
#include "event_json.h"
#include "proc.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int replay_run(const char *file, const struct detect_opts *opts, FILE *out, struct replay_stats *st)
{
	struct detect_opts o = *opts;
	struct replay_stats s = { 0 };
	FILE *log = opts->log ? opts->log : stderr;
	char err[512];

	if (out)
		o.out = out;
	o.hash_via_proc = false; /* recorded pids are not this machine's processes */
	FILE *in = strcmp(file, "-") == 0 ? stdin : fopen(file, "r");
	if (!in) {
		fprintf(log, "immuned: --replay %s: %s\n", file, strerror(errno));
		return -1;
	}
	struct detect *d = detect_new(&o, err, sizeof(err));
	if (!d) {
		fprintf(log, "immuned: %s\n", err);
		if (in != stdin)
			fclose(in);
		return -1;
	}
	struct arena a = { 0 };
	static struct imm_event ev, scratch;
	/* the recording's own lineage, for incidents' ancestors and correlation's ProcessTree; never this host's /proc */
	struct proc_table *procs = proc_new(65536);
	if (!procs) {
		fprintf(log, "immuned: out of memory\n");
		detect_free(d);
		if (in != stdin)
			fclose(in);
		return -1;
	}
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	while ((len = getline(&line, &cap, in)) >= 0) {
		s.lines++;
		while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			line[--len] = 0;
		const char *p = line;
		while (*p == ' ' || *p == '\t')
			p++;
		if (!*p)
			continue;
		if ((size_t)len != strlen(line)) {
			fprintf(log, "%s:%llu: NUL byte in line, skipped\n", file, (unsigned long long)s.lines);
			s.malformed++;
			continue;
		}
		arena_reset(&a);
		if (event_from_json(line, &ev, &a, err, sizeof(err))) {
			fprintf(log, "%s:%llu: %s, skipped\n", file, (unsigned long long)s.lines, err);
			s.malformed++;
			continue;
		}
		s.events++;
		/* the table learns from a copy: the recorded fields stay as they were, the chain is added */
		scratch = ev;
		proc_apply(procs, &scratch, &a);
		ev.nancestors = scratch.nancestors;
		memcpy(ev.ancestors, scratch.ancestors, sizeof(ev.ancestors));
		detect_event(d, &ev);
		if (s.events % 4096 == 0)
			detect_flush(d);
	}
	bool rerr = ferror(in);
	free(line);
	arena_free(&a);
	if (in != stdin)
		fclose(in);
	detect_finish(d);
	struct detect_stats ds;
	detect_get_stats(d, &ds);
	s.incidents = ds.incidents;
	detect_free(d);
	proc_free(procs);
	if (rerr)
		fprintf(log, "%s:%llu: read error\n", file, (unsigned long long)s.lines);
	if (st)
		*st = s;
	return rerr ? -1 : 0;
}
