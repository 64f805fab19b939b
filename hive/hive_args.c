/*
 * `immuned --role hive`'s options: its command line, then its config file
 * (/etc/immune/hive.conf or --config FILE) for what the command line left
 * out, read by the agent's parser (daemon/config.c, docs/config.md) against
 * this table: every long option is a key. A PostgreSQL URI with a password
 * belongs in that file (mode 0600), not in a command line anyone can read
 * in /proc.
 */
#include "config.h"
#include "hive_int.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HIVE_CONFIG_DEFAULT_PATH "/etc/immune/hive.conf"

enum { O_K = 256, O_P4, O_P6, O_MC, O_MA, O_MH, O_CRL, O_STORE, O_INST, O_CONF };
static const struct option lo[] = {
	{ "role", required_argument, 0, 'r' },		    { "listen", required_argument, 0, 'l' },
	{ "ca", required_argument, 0, 'a' },		    { "cert", required_argument, 0, 'c' },
	{ "key", required_argument, 0, 'k' },		    { "db", required_argument, 0, 'd' },
	{ "socket", required_argument, 0, 's' },	    { "help", no_argument, 0, 'h' },
	{ "accept-agents", required_argument, 0, O_K },	    { "min-prefix4", required_argument, 0, O_P4 },
	{ "min-prefix6", required_argument, 0, O_P6 },	    { "max-connections", required_argument, 0, O_MC },
	{ "max-per-address", required_argument, 0, O_MA }, { "max-handshakes", required_argument, 0, O_MH },
	{ "crl", required_argument, 0, O_CRL },		    { "store", required_argument, 0, O_STORE },
	{ "instance", required_argument, 0, O_INST },	    { "config", required_argument, 0, O_CONF },
	{ 0, 0, 0, 0 },
};
static const char *const refused[] = { "role", "help", "config", NULL };
static const char *const repeatable[] = { NULL };
static const struct config_schema schema = { lo, repeatable, refused };

static void usage(FILE *f)
{
	fprintf(f, "Usage: immuned --role hive --listen ADDR:PORT --ca FILE --cert FILE --key FILE [OPTIONS]\n"
		   "Receives incidents from agents over mutual TLS 1.3 and pushes fleet verdicts to them.\n"
		   "  --listen ADDR:PORT  where agents connect (e.g. 0.0.0.0:7443, [::]:7443)\n"
		   "  --ca FILE           the fleet CA that signs agent certificates\n"
		   "  --cert FILE --key FILE  the Hive's certificate (its SAN is what agents verify)\n"
		   "  --crl FILE          revoked agent certificates (PEM CRL of the fleet CA), re-read when it changes\n"
		   "  --db PATH           SQLite database (default /var/lib/immune/hive.db)\n"
		   "  --store URI         PostgreSQL instead (postgresql://...; libpq's URI): several Hive\n"
		   "                      instances share its incidents, fleet verdicts, IOC sets and trust\n"
		   "  --instance NAME     this instance's name in the store (default HOSTNAME:PORT of --listen)\n"
		   "  --socket PATH       control socket for immunectl (default /run/immune/hive.sock)\n"
		   "  --accept-agents K   accept an exec/file block proposed with the same SHA-256 by K >= 2\n"
		   "                      distinct agents (default: off, every proposal waits for an operator)\n"
		   "  --min-prefix4 N     no fleet net verdict wider than /N for IPv4 (default 16)\n"
		   "  --min-prefix6 N     ... nor /N for IPv6 (default 48)\n"
		   "  --max-connections N (default 1024)  --max-per-address N (default 32)\n"
		   "  --max-handshakes N  TLS handshakes in flight (default 64)\n"
		   "  --config FILE       these options as KEY = VALUE lines, for what the command line leaves\n"
		   "                      out (default " HIVE_CONFIG_DEFAULT_PATH " if present; e.g. store = URI)\n");
}

static int num_opt(const char *where, const char *name, const char *s, unsigned lo, unsigned hi, unsigned *out)
{
	char *end;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (errno || *end || end == s || v < lo || v > hi) {
		fprintf(stderr, "immuned --role hive: %s%s--%s needs a number from %u to %u, not '%s'\n", where ? where : "",
			where ? ": " : "", name, lo, hi, s);
		return -1;
	}
	*out = (unsigned)v;
	return 0;
}

/* One option's value, from the command line or (where) the config file: 0, or -1 said. */
static int apply(struct hive_args *a, int o, const char *v, const char *where)
{
	switch (o) {
	case 'r': return 0;
	case 'l': a->listen_at = v; return 0;
	case 'a': a->ca = H.o.ca = v; return 0;
	case 'c': a->cert = v; return 0;
	case 'k': a->key = v; return 0;
	case 'd': a->db = v; return 0;
	case 's': a->sock = v; return 0;
	case O_CRL: H.o.crl = v; return 0;
	case O_STORE: a->store = v; return 0;
	case O_INST: a->instance = v; return 0;
	case O_CONF: a->config = v; return 0;
	case O_K: return num_opt(where, "accept-agents", v, 2, 1000, &H.o.accept_k);
	case O_P4: return num_opt(where, "min-prefix4", v, 0, 32, &H.o.min_prefix4);
	case O_P6: return num_opt(where, "min-prefix6", v, 0, 128, &H.o.min_prefix6);
	case O_MC: return num_opt(where, "max-connections", v, 1, 1000000, &H.o.max_conns);
	case O_MA: return num_opt(where, "max-per-address", v, 1, 1000000, &H.o.max_conns_per_addr);
	case O_MH: return num_opt(where, "max-handshakes", v, 1, 1000000, &H.o.max_handshakes);
	}
	fprintf(stderr, "immuned --role hive: see --help\n");
	return -1;
}

int hive_args(int argc, char **argv, struct hive_args *a)
{
	*a = (struct hive_args){ .db = "/var/lib/immune/hive.db", .sock = "/run/immune/hive.sock" };
	H.o = (struct hive_opts){ .max_conns = 1024, .max_conns_per_addr = 32, .max_handshakes = 64,
				  .min_prefix4 = 16, .min_prefix6 = 48 };
	bool given[sizeof(lo) / sizeof(lo[0])] = { false };
	int o, li;
	optind = 1;
	while ((o = getopt_long(argc, argv, "", lo, &li)) != -1) {
		if (o == 'h') {
			usage(stdout);
			return 1;
		}
		if (o == '?' || apply(a, o, optarg, NULL))
			return 2;
		given[li] = true;
	}
	if (optind < argc) {
		fprintf(stderr, "immuned --role hive: unexpected argument '%s' (see --help)\n", argv[optind]);
		return 2;
	}
	struct config cf = { 0 };
	char err[600];
	if (config_read(&cf, a->config ? a->config : HIVE_CONFIG_DEFAULT_PATH, a->config != NULL, &schema, err,
			sizeof(err))) {
		fprintf(stderr, "immuned --role hive: %s\n", err);
		return 2;
	}
	int rc = 0;
	for (int i = 0; i < cf.n && !rc; i++) {
		char where[300];
		snprintf(where, sizeof(where), "%s:%u", cf.path, cf.e[i].line);
		if (!given[cf.e[i].opt])
			rc = apply(a, lo[cf.e[i].opt].val, cf.e[i].value, where) ? 2 : 0;
	}
	config_free(&cf);
	return rc;
}
