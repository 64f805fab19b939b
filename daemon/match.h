/*
 * The compiled matcher: the rules of a ruleset grouped by the event kind
 * that feeds them (exec, open, connect), their atoms deduplicated, and per
 * field an Aho-Corasick automaton over the literals each rule needs, so an
 * event only evaluates the rules one of whose required literals it contains.
 * Single-threaded: one matcher per thread.
 */
#ifndef IMMUNE_MATCH_H
#define IMMUNE_MATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "event.h"
#include "sigma.h"

struct matcher;

struct matcher_stats {
	unsigned rules[SIG_LS_MAX];  /* per logsource */
	unsigned atoms;              /* distinct atoms over all groups */
	unsigned literals;           /* distinct prefilter literals */
	unsigned ac_states;          /* automaton states, all fields */
	unsigned always;             /* rules without a literal guard: evaluated on every event of their kind */
	uint64_t events, candidates, hits;
};

/* The ruleset must outlive the matcher. NULL on OOM. */
struct matcher *matcher_new(const struct sigma_ruleset *rs);
void matcher_free(struct matcher *m);
/* Rules matching ev, in ruleset order; returns how many (at most max are stored). */
int matcher_match(struct matcher *m, const struct imm_event *ev, const struct sigma_rule **hits, int max);
/* The same answer by evaluating every rule of the event's kind: the reference for tests and bench. */
int matcher_match_naive(struct matcher *m, const struct imm_event *ev, const struct sigma_rule **hits, int max);
void matcher_get_stats(const struct matcher *m, struct matcher_stats *st);
/*
 * The values of Sigma field f on ev (at most two: Image is also the path as
 * exec'd); num holds a number's text. Returns how many.
 */
int match_field_values(const struct imm_event *ev, int f, const char *vals[2], char num[24]);
/* Bit i set when ev feeds logsource i (e.g. a successful exec → process_creation). */
unsigned match_event_logsources(const struct imm_event *ev);

/* Aho-Corasick over ASCII-case-folded bytes (match_ac.c). */
struct ac;
struct ac *ac_new(void);
/* Add a literal (any case); returns its id (ids count from 0 in add order). */
int ac_add(struct ac *a, const char *lit, size_t len);
int ac_build(struct ac *a);
/* Calls hit(ctx, id) for each literal occurrence (an id may repeat). */
void ac_scan(const struct ac *a, const char *s, size_t n, void (*hit)(void *ctx, int id), void *ctx);
unsigned ac_states(const struct ac *a);
void ac_free(struct ac *a);

#endif
