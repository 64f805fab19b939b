/*
 * immuned's config file (/etc/immune/immuned.conf or --config F): one
 * "key = value" per line, the keys being immuned's long options without
 * "--" (docs/config.md). This unit reads and checks the file against the
 * option table getopt_long uses, so every long option is a key and a new
 * option needs no change here; the daemon applies the entries through the
 * same code as its command line. It also keeps where each value came from
 * (default, FILE:LINE, command line) for --print-config and for reload.
 */
#ifndef IMMUNE_CONFIG_H
#define IMMUNE_CONFIG_H

#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#define CONFIG_DEFAULT_PATH "/etc/immune/immuned.conf"
#define CONFIG_MAX_BYTES (1 << 20)
#define CONFIG_MAX_LINE 4096

/* What the file may hold: the getopt table, the keys that may repeat and the keys a file may not set. */
struct config_schema {
	const struct option *lo;      /* ends with a zero entry */
	const char *const *repeatable; /* NULL-terminated */
	const char *const *refused;    /* NULL-terminated: --help, --config, ... */
};

struct config_entry {
	int opt;           /* index into lo */
	const char *value; /* a flag's is "true" or "false" */
	unsigned line;
};

struct config {
	char *path; /* NULL: no file was read (the default one is missing) */
	struct config_entry *e; /* values are kept until config_strings_free() */
	int n;
};

/*
 * Read and check path. A missing file is fine (c->path stays NULL) unless
 * explicit; any other problem fills err with "FILE:LINE: reason" (or "FILE:
 * reason") and returns -1. Nothing of a refused file is kept.
 */
int config_read(struct config *c, const char *path, bool explicit, const struct config_schema *s, char *err,
		size_t errlen);
/* The same check of text[0..len) (changed in place; text has room for len + 1 bytes), path naming it in errors. */
int config_parse(struct config *c, const char *path, char *text, size_t len, const struct config_schema *s, char *err,
		 size_t errlen);
void config_free(struct config *c);
/* At exit: the values of every file read. */
void config_strings_free(void);

/* Whether option i was given on the command line (then the file's value is not used). */
struct config_origins {
	int nopt;
	struct origin {
		const char *value; /* as given; a flag's "true" or "false" */
		char where[300];   /* "command line" or "FILE:LINE" */
		struct origin *next;
	} **o;                     /* per option, in the order given */
};

int config_origins_init(struct config_origins *co, const struct option *lo);
void config_origins_free(struct config_origins *co);
int config_origin_add(struct config_origins *co, int opt, const char *value, const char *where);
bool config_origin_cli(const struct config_origins *co, int opt);
/* Two origin sets give option opt the same values. */
bool config_origin_same(const struct config_origins *a, const struct config_origins *b, int opt);

/*
 * --print-config: every option a file may set, in table order: its values
 * and where each came from, or its default (dflt(name), NULL: "not set").
 */
void config_print(FILE *f, const struct config_schema *s, const struct config_origins *co, const struct config *c,
		  const char *(*dflt)(const char *name));

#endif
