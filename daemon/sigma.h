/*
 * Sigma rules, loaded from YAML (libyaml) into a small boolean tree over
 * "atoms" (one field, one comparison, one value). Only what the agent's
 * exec, open and connect events can answer is loaded; everything else is
 * skipped with a one-line reason naming the file and the rule id.
 */
#ifndef IMMUNE_SIGMA_H
#define IMMUNE_SIGMA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "arena.h"

enum sig_logsource {
	SIG_LS_PROCESS_CREATION = 0, /* successful exec */
	SIG_LS_FILE_EVENT,           /* open with O_CREAT, O_WRONLY, O_RDWR or O_TRUNC that succeeded */
	SIG_LS_FILE_ACCESS,          /* any open */
	SIG_LS_NETWORK_CONNECTION,   /* connect */
	SIG_LS_MAX,
};

enum sig_field {
	SIG_F_IMAGE = 0,
	SIG_F_COMMANDLINE,
	SIG_F_PARENTIMAGE,
	SIG_F_PARENTCOMMANDLINE,
	SIG_F_CURRENTDIRECTORY,
	SIG_F_USER,
	SIG_F_LOGONID,
	SIG_F_PROCESSID,
	SIG_F_PARENTPROCESSID,
	SIG_F_TARGETFILENAME,
	SIG_F_DESTINATIONIP,
	SIG_F_DESTINATIONPORT,
	SIG_F_DESTINATIONISIPV6,
	SIG_F_INITIATED,
	SIG_F_MAX,
};

enum sig_op {
	SIG_OP_EQ = 0,
	SIG_OP_CONTAINS,
	SIG_OP_STARTSWITH,
	SIG_OP_ENDSWITH,
	SIG_OP_GLOB,   /* pat holds SIG_GLOB_STAR / SIG_GLOB_ONE for * and ? */
	SIG_OP_RE,     /* PCRE2, case-sensitive unless the rule says |re|i */
	SIG_OP_CIDR,
	SIG_OP_EMPTY,  /* null or '': the field is empty */
	SIG_OP_EXISTS, /* |exists: true/false (exists_want) */
};

#define SIG_GLOB_STAR '\x01'
#define SIG_GLOB_ONE  '\x02'

enum imm_rule_action { IMM_ACTION_ALERT = 0, IMM_ACTION_BLOCK, IMM_ACTION_KILL };

struct sig_atom {
	enum sig_field field;
	enum sig_op op;
	bool cased;        /* compare as written (|cased); otherwise pat is lowercase ASCII */
	bool exists_want;
	char *pat;         /* NUL-terminated; glob markers for SIG_OP_GLOB */
	size_t len;
	void *re;          /* pcre2_code * (JIT-compiled when possible) */
	uint8_t addr[16];  /* cidr: IPv4 as ::ffff:a.b.c.d */
	int prefix;        /* cidr: over the 128-bit form */
	char *key;         /* canonical text: equal keys mean equal atoms */
};

enum sig_node_type { SIG_N_ATOM = 0, SIG_N_AND, SIG_N_OR, SIG_N_NOT };

struct sig_node {
	enum sig_node_type type;
	int n;                 /* children (AND/OR), 1 for NOT */
	struct sig_node **kids;
	struct sig_atom *atom;
};


struct sigma_rule {
	char *file;        /* as given on the command line, or "builtin:<name>" */
	char *id, *title, *level, *author, *status, *description;
	char *name;        /* Sigma's `name`, by which correlations may refer to the rule; NULL if none */
	char **tags;
	int ntags;
	enum sig_logsource ls;
	enum imm_rule_action action;
	bool builtin;
	struct sig_node *root;
	struct sig_atom **atoms; /* every atom of the tree, for the matcher */
	int natoms;
	struct arena pool;       /* owns the nodes, atoms and strings */
};

struct corr_rule;

struct sigma_ruleset {
	struct sigma_rule **rules;
	int n, cap;
	struct corr_rule **corrs; /* correlation rules (correlate.h), resolved by corr_resolve */
	int ncorrs, capcorrs;
	unsigned loaded, skipped, yaml_errors;
};

const char *sig_logsource_name(enum sig_logsource ls);
const char *sig_field_name(enum sig_field f);
const char *imm_action_name(enum imm_rule_action a);
/* -1 if unknown; the match is exact, then case-insensitive. */
int sig_field_from_name(const char *s);
/* Can a rule of logsource ls use field f? */
bool sig_field_allowed(enum sig_logsource ls, enum sig_field f);

void sigma_ruleset_init(struct sigma_ruleset *rs);
void sigma_ruleset_free(struct sigma_ruleset *rs);

/*
 * Load every rule of a YAML text (one or more documents). Each skipped rule
 * writes "skipped FILE ID: reason" to log; with report_loaded each loaded one
 * writes "loaded FILE ID: title". Malformed YAML writes "error FILE:LINE: ..."
 * and returns -1 (rules before the error stay loaded); otherwise 0.
 */
int sigma_load_text(struct sigma_ruleset *rs, const char *name, const char *text, size_t len, bool builtin,
		    FILE *log, bool report_loaded);
/* A file, or a directory walked recursively for *.yml and *.yaml (in name order). */
int sigma_load_path(struct sigma_ruleset *rs, const char *path, FILE *log, bool report_loaded);
/* The rules of rules/builtin/, embedded at build time. */
int sigma_load_builtin(struct sigma_ruleset *rs, FILE *log, bool report_loaded);

/*
 * Parse a condition over the rule's named selections. names/sels are the
 * detection's selections; on error returns NULL and a reason in err.
 */
struct sig_node *sig_cond_parse(struct arena *pool, const char *cond, char **names, struct sig_node **sels,
				int nsels, char *err, size_t errlen);

/* A rule's pool grows by this much: rules are small and many are loaded. */
#define SIG_POOL_CHUNK 8192

/* Evaluate an atom's glob (markers in pat) on s; used by the matcher. */
bool sig_glob(const char *pat, size_t plen, const char *s, size_t slen);
/* Parse "a.b.c.d", "a.b.c.d/n", IPv6 and IPv6/n into the mapped 128-bit form. */
int sig_parse_cidr(const char *s, uint8_t addr[16], int *prefix);
bool sig_cidr_contains(const uint8_t net[16], int prefix, const uint8_t addr[16]);

#endif
