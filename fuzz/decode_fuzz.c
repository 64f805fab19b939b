/*
 * libFuzzer target: the event decoder on one ring-buffer record (the kernel
 * writes them, but a record is data, not trusted), then everything an event
 * goes through: the JSON and text lines, the replay parser on that JSON (it
 * must read back what was written) and the built-in rules.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "arena.h"
#include "decode.h"
#include "event_json.h"
#include "jsonw.h"
#include "match.h"
#include "sigma.h"

static struct sigma_ruleset rs;
static struct matcher *m;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!m) {
		FILE *devnull = fopen("/dev/null", "w");
		sigma_ruleset_init(&rs);
		sigma_load_builtin(&rs, devnull, false);
		fclose(devnull);
		m = matcher_new(&rs);
	}
	/* ring-buffer records are 8-byte aligned */
	uint64_t *rec = malloc(size + 8);
	memcpy(rec, data, size);
	struct imm_event ev;
	struct arena a = { 0 };
	if (decode_record(rec, size, &ev, &a) == 0) {
		struct jw w = { 0 };
		event_write_json(&w, &ev);
		char err[256];
		struct imm_event back;
		struct arena b = { 0 };
		if (event_from_json(w.buf, &back, &b, err, sizeof(err))) {
			fprintf(stderr, "decode_fuzz: the replay parser refused our own line: %s\n%s\n", err, w.buf);
			abort();
		}
		arena_free(&b);
		jw_reset(&w);
		event_write_text(&w, &ev);
		if (memchr(w.buf, '\n', w.len))
			abort();
		jw_free(&w);
		const struct sigma_rule *hits[16];
		matcher_match(m, &ev, hits, 16);
	}
	arena_free(&a);
	free(rec);
	return 0;
}
