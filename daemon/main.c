/*
 * immuned: kernel → decode → enrich → match → verdict/incident → output/hive.
 */
#include "decode.h"
#include "enforce.h"
#include "ebpf.h"
#include "interest.h"
#include "event_json.h"
#include "immune.h"
#include "jsonw.h"
#include "proc.h"
#include "users.h"
#include "ctlsock.h"
#include "verdict.h"
#include "verdict_ctl.h"
#include "detect.h"
#include "tuning.h"
#include "tuning_ctl.h"
#include "incident_ctl.h"
#include "replay.h"
#include "sd_notify.h"
#include "hive.h"
#include "hive_addrs.h"
#include "gate.h"
#include "gate_net.h"
#include "gate_proc.h"
#include "gate_fleet.h"
#include "protected.h"
#include "config.h"
#include "reload.h"
#include "metrics.h"
#include "counters.h"

#include <grp.h>
#include <poll.h>
#include <sqlite3.h>

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* the local override file, read when present (--overrides names another) */
#define DEFAULT_OVERRIDES "/etc/immune/overrides.yml"

enum fmt { FMT_TEXT, FMT_JSON };

static struct {
	bool print[EBPF_EVENT_TYPES];
	bool print_any;
	enum fmt format;
	const char *output;
	double duration;
	enum ebpf_buffer buffer;
	const char *pin_dir;
	unsigned ring_kb;
	double stats_interval;
	enum enforce_mode enforce;
	const char *socket;
	const char *db;
	const char *admin_group;
	const char *rules[64];
	int nrules;
	const char *iocs[64];
	int niocs;
	bool no_builtin;
	const char *disable[64];
	int ndisable;
	const char *overrides;
	int min_level;
	bool min_level_set;
	bool check_rules;
	const char *replay;
	bool db_given;
	const char *hive, *hive_ca, *hive_cert, *hive_key, *agent_id;
	bool share_verdicts;
	double hive_drain;
	unsigned hive_hold_down;
	bool pin_given;
	bool no_gate, gate_fail_closed;
	int gate_timeout_ms;
	const char *protect[64];
	int nprotect;
	const char *config;
	bool config_given, print_config;
	const char *metrics;
} opt = {
	.format = FMT_TEXT,
	.stats_interval = 60,
	.db = "/var/lib/immune/immune.db",
	.hive_drain = 30,
	.hive_hold_down = 30,
	.config = CONFIG_DEFAULT_PATH,
};

static volatile sig_atomic_t stop;
static FILE *out;
static struct proc_table *procs;
static struct users *users;
static struct arena arena;
static struct jw line;
static struct imm_event ev;
static uint64_t decode_errors;
static struct detect *detector;
static struct verdicts *verdicts;
static struct hive_agent *hive;
static struct gate *gate;
static struct protected_set *protect;
static struct interest interest; /* the opens the sensor sends (none of it with --events open) */
static bool open_filter;
static struct metrics *metrics;
static volatile sig_atomic_t reload_asked;
static uint64_t reloads, reload_failures;

static void on_signal(int sig)
{
	if (sig == SIGHUP)
		reload_asked = 1;
	else
		stop = 1;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: immuned [OPTIONS]\n"
		"IMMUNE runtime-security agent: eBPF sensor, detection and enforcement.\n\n"
		"  --events LIST        stream raw events: comma list of exec,open,connect,fork,exit\n"
		"                       (default: none)\n"
		"  --format text|json   output format (default text; json is ECS, one object per line)\n"
		"  --output FILE        write events and incidents to FILE (default stdout)\n"
		"  --duration SECONDS   stop after this long (default: until SIGINT/SIGTERM)\n"
		"  --buffer ring|perf   kernel-to-daemon buffer (default ring, perf where ring is missing)\n"
		"  --ring-kb N          ring buffer size in KiB (default 8192)\n"
		"  --pin-dir DIR        where the verdict maps are pinned (default /sys/fs/bpf/immune)\n"
		"  --enforce MODE       lsm, fallback, off or auto (default auto: lsm where the kernel\n"
		"                       runs BPF-LSM, else cgroup connect hooks and SIGKILL)\n"
		"  --socket PATH        control socket for immunectl (default /run/immune/immune.sock)\n"
		"  --admin-group NAME   this group may also change verdicts over the socket\n"
		"  --db PATH            SQLite database of verdicts and incidents\n"
		"                       (default /var/lib/immune/immune.db)\n"
		"  --rules PATH         Sigma rules (file or directory), repeatable; beside the built-in ones\n"
		"  --no-builtin-rules   do not load the shipped rules (IMMUNE's and the vendored SigmaHQ ones)\n"
		"  --disable-rule ID    leave out a rule, or a folder such as rules-threat-hunting; repeatable\n"
		"  --min-level LEVEL    rules below it raise signals, not alerts (default medium)\n"
		"  --overrides FILE     local disable:, levels: and exceptions: (default " DEFAULT_OVERRIDES " if present)\n"
		"  --ioc PATH           IOC file (sha256/path/ip/cidr per line), repeatable\n"
		"  --check-rules PATH...  load rules, print loaded/skipped per rule, exit (no root needed)\n"
		"  --replay FILE        match recorded JSON events (--events json output; - for stdin),\n"
		"                       print the incidents, exit (no root or BPF needed)\n"
		"  --hive HOST:PORT[,HOST:PORT...]  report incidents to a Hive over mutual TLS 1.3 and\n"
		"                       take its fleet verdicts; with --hive-ca F --hive-cert F --hive-key F;\n"
		"                       several instances: a stable primary per agent id, failover in order\n"
		"  --hive-hold-down S   a recovered preferred instance is taken back only after S s on\n"
		"                       another (default 30)\n"
		"  --agent-id ID        this agent's name at the Hive: exactly its certificate's CN or a\n"
		"                       SAN URI (default: the hostname)\n"
		"  --share-verdicts     propose this agent's rule blocks to the Hive for the fleet\n"
		"  --hive-drain-seconds S  with --replay: wait up to S s for the Hive to take every\n"
		"                       incident (default 30)\n"
		"  --role hive ...      run as the Hive instead (immuned --role hive --help)\n"
		"  --stats-interval S   seconds between stats records (default 60; 0: only at exit)\n"
		"  --gate on|off        hold execs and opens of named files with fanotify until the\n"
		"                       rules have judged them (default on)\n"
		"  --gate-timeout-ms N  longest a held exec or open waits (default 2000)\n"
		"  --gate-fail open|closed  answer when that wait runs out (default open, with an incident)\n"
		"  --protect PATH       a binary no rule or indicator may block, repeatable\n"
		"  --config FILE        options from FILE, `key = value` per line, the keys being these\n"
		"                       options (default " CONFIG_DEFAULT_PATH ", may be missing);\n"
		"                       the command line overrides it. SIGHUP re-reads it with the rules\n"
		"  --print-config       print the options in force and where each came from, exit\n"
		"  --metrics ADDR:PORT  serve Prometheus metrics at /metrics (a bare PORT: 127.0.0.1)\n"
		"  --help               this text\n"
		"  --version            print the version\n");
}

enum { O_EVENTS = 256, O_FORMAT, O_OUTPUT, O_DURATION, O_BUFFER, O_RINGKB, O_PIN, O_STATS, O_HELP, O_VERSION, O_ENFORCE, O_SOCKET, O_DB, O_ADMIN, O_RULES, O_NOBUILTIN, O_IOC, O_CHECK, O_REPLAY, O_HIVE, O_HCA, O_HCERT, O_HKEY, O_AGENTID, O_SHARE, O_DRAIN, O_HOLDDOWN, O_ROLE, O_CONFIG, O_PRINTCONFIG, O_METRICS, O_GATE, O_GATE_TIMEOUT, O_GATE_FAIL, O_PROTECT, O_DISABLE, O_MINLEVEL, O_OVERRIDES };
static const struct option lo[] = {
	{ "events", required_argument, 0, O_EVENTS },	{ "format", required_argument, 0, O_FORMAT },
	{ "output", required_argument, 0, O_OUTPUT },	{ "duration", required_argument, 0, O_DURATION },
	{ "buffer", required_argument, 0, O_BUFFER },	{ "ring-kb", required_argument, 0, O_RINGKB },
	{ "pin-dir", required_argument, 0, O_PIN },	{ "stats-interval", required_argument, 0, O_STATS },
	{ "enforce", required_argument, 0, O_ENFORCE },
	{ "socket", required_argument, 0, O_SOCKET },	{ "db", required_argument, 0, O_DB },
	{ "admin-group", required_argument, 0, O_ADMIN },
	{ "rules", required_argument, 0, O_RULES },	{ "no-builtin-rules", no_argument, 0, O_NOBUILTIN },
	{ "disable-rule", required_argument, 0, O_DISABLE }, { "min-level", required_argument, 0, O_MINLEVEL },
	{ "overrides", required_argument, 0, O_OVERRIDES },
	{ "ioc", required_argument, 0, O_IOC },		{ "check-rules", no_argument, 0, O_CHECK },
	{ "replay", required_argument, 0, O_REPLAY },
	{ "hive", required_argument, 0, O_HIVE },	{ "hive-ca", required_argument, 0, O_HCA },
	{ "hive-cert", required_argument, 0, O_HCERT },	{ "hive-key", required_argument, 0, O_HKEY },
	{ "agent-id", required_argument, 0, O_AGENTID },	{ "share-verdicts", no_argument, 0, O_SHARE },
	{ "hive-drain-seconds", required_argument, 0, O_DRAIN }, { "hive-hold-down", required_argument, 0, O_HOLDDOWN }, { "role", required_argument, 0, O_ROLE },
	{ "config", required_argument, 0, O_CONFIG },	{ "print-config", no_argument, 0, O_PRINTCONFIG },
	{ "metrics", required_argument, 0, O_METRICS },
	{ "gate", required_argument, 0, O_GATE },	{ "gate-timeout-ms", required_argument, 0, O_GATE_TIMEOUT },
	{ "gate-fail", required_argument, 0, O_GATE_FAIL }, { "protect", required_argument, 0, O_PROTECT },
	{ "help", no_argument, 0, O_HELP },		{ "version", no_argument, 0, O_VERSION },
	{ 0, 0, 0, 0 },
};

/* Option errors are kept, not printed: a reload refused over the socket returns them. */
static char opt_err[768];
static const char *opt_where; /* "FILE:LINE" while applying a config file */

static int opt_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int opt_error(const char *fmt, ...)
{
	char why[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	snprintf(opt_err, sizeof(opt_err), "%s%s%s", opt_where ? opt_where : "", opt_where ? ": " : "", why);
	return -1;
}

static int parse_events(const char *s)
{
	char buf[256];
	snprintf(buf, sizeof(buf), "%s", s);
	for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		int k = event_kind_from_name(t);
		if (k < 0)
			return opt_error("--events: unknown event '%s' (known: exec,open,connect,fork,exit)", t);
		opt.print[k] = true;
		opt.print_any = true;
	}
	return 0;
}

/* One option, from the command line or a config file: the value is in getopt's optarg either way. */
static int apply_opt(int c)
{
	char *end;

	switch (c) {
	case O_EVENTS:
		if (parse_events(optarg))
			return -1;
		break;
	case O_FORMAT:
		if (strcmp(optarg, "text") == 0)
			opt.format = FMT_TEXT;
		else if (strcmp(optarg, "json") == 0)
			opt.format = FMT_JSON;
		else {
			return opt_error("--format must be text or json, not '%s'", optarg);
		}
		break;
	case O_OUTPUT:
		opt.output = optarg;
		break;
	case O_DURATION:
		opt.duration = strtod(optarg, &end);
		if (*end || opt.duration <= 0) {
			return opt_error("--duration needs a positive number of seconds, not '%s'", optarg);
		}
		break;
	case O_BUFFER:
		if (strcmp(optarg, "ring") == 0)
			opt.buffer = EBPF_BUFFER_RING;
		else if (strcmp(optarg, "perf") == 0)
			opt.buffer = EBPF_BUFFER_PERF;
		else {
			return opt_error("--buffer must be ring or perf, not '%s'", optarg);
		}
		break;
	case O_RINGKB:
		opt.ring_kb = strtoul(optarg, &end, 10);
		if (*end || opt.ring_kb < 4 || (opt.ring_kb & (opt.ring_kb - 1))) {
			return opt_error("--ring-kb needs a power of two >= 4, not '%s'", optarg);
		}
		break;
	case O_ENFORCE:
		if (enforce_parse_mode(optarg, &opt.enforce)) {
			return opt_error("--enforce must be lsm, fallback, off or auto, not '%s'", optarg);
		}
		break;
	case O_SOCKET:
		opt.socket = optarg;
		break;
	case O_DB:
		opt.db = optarg;
		opt.db_given = true;
		break;
	case O_RULES:
	case O_IOC: {
		const char **v = c == O_RULES ? opt.rules : opt.iocs;
		int *n = c == O_RULES ? &opt.nrules : &opt.niocs;
		if (*n == 64) {
			return opt_error("at most 64 --%s", c == O_RULES ? "rules" : "ioc");
		}
		v[(*n)++] = optarg;
		break;
	}
	case O_NOBUILTIN:
		opt.no_builtin = true;
		break;
	case O_DISABLE:
		if (opt.ndisable == 64)
			return opt_error("at most 64 --disable-rule (use the overrides file)");
		opt.disable[opt.ndisable++] = optarg;
		break;
	case O_MINLEVEL:
		if ((opt.min_level = level_parse(optarg)) < 0)
			return opt_error("--min-level must be informational, low, medium, high or critical, not '%s'", optarg);
		opt.min_level_set = true;
		break;
	case O_OVERRIDES:
		opt.overrides = optarg;
		break;
	case O_CHECK:
		opt.check_rules = true;
		break;
	case O_REPLAY:
		opt.replay = optarg;
		break;
	case O_HIVE: {
		struct hive_addr a[HIVE_ADDRS_MAX];
		char why[400];
		if (hive_addrs_parse(optarg, a, HIVE_ADDRS_MAX, why, sizeof(why)) < 0)
			return opt_error("--hive: %s", why);
		opt.hive = optarg;
		break;
	}
	case O_HCA: opt.hive_ca = optarg; break;
	case O_HCERT: opt.hive_cert = optarg; break;
	case O_HKEY: opt.hive_key = optarg; break;
	case O_AGENTID: opt.agent_id = optarg; break;
	case O_SHARE: opt.share_verdicts = true; break;
	case O_CONFIG:
		opt.config = optarg;
		opt.config_given = true;
		break;
	case O_PRINTCONFIG: opt.print_config = true; break;
	case O_METRICS: {
		char why[256];
		if (metrics_parse_addr(optarg, NULL, why, sizeof(why)))
			return opt_error("--metrics %s", why);
		opt.metrics = optarg;
		break;
	}
	case O_ROLE:
		if (strcmp(optarg, "agent")) {
			return opt_error("--role must be agent or hive, not '%s'", optarg);
		}
		break;
	case O_DRAIN:
		opt.hive_drain = strtod(optarg, &end);
		if (*end || opt.hive_drain < 0) {
			return opt_error("--hive-drain-seconds needs seconds >= 0, not '%s'", optarg);
		}
		break;
	case O_HOLDDOWN: {
		unsigned long v = strtoul(optarg, &end, 10);
		if (*end || !*optarg || optarg[0] == '-' || v > 3600)
			return opt_error("--hive-hold-down needs seconds from 0 to 3600, not '%s'", optarg);
		opt.hive_hold_down = (unsigned)v;
		break;
	}
	case O_ADMIN:
		opt.admin_group = optarg;
		break;
	case O_GATE:
		if (strcmp(optarg, "on") && strcmp(optarg, "off"))
			return opt_error("--gate must be on or off, not '%s'", optarg);
		opt.no_gate = strcmp(optarg, "off") == 0;
		break;
	case O_GATE_TIMEOUT:
		opt.gate_timeout_ms = (int)strtol(optarg, &end, 10);
		if (*end || opt.gate_timeout_ms < 1 || opt.gate_timeout_ms > 60000)
			return opt_error("--gate-timeout-ms needs 1..60000, not '%s'", optarg);
		break;
	case O_GATE_FAIL:
		if (strcmp(optarg, "open") && strcmp(optarg, "closed"))
			return opt_error("--gate-fail must be open or closed, not '%s'", optarg);
		opt.gate_fail_closed = strcmp(optarg, "closed") == 0;
		break;
	case O_PROTECT:
		if (opt.nprotect == 64)
			return opt_error("at most 64 --protect");
		opt.protect[opt.nprotect++] = optarg;
		break;
	case O_PIN:
		opt.pin_given = true;
		opt.pin_dir = optarg;
		break;
	case O_STATS:
		opt.stats_interval = strtod(optarg, &end);
		if (*end || opt.stats_interval < 0) {
			return opt_error("--stats-interval needs seconds >= 0, not '%s'", optarg);
		}
		break;
	case O_HELP:
		usage(stdout);
		exit(0);
	case O_VERSION:
		printf("immuned %s\n", IMMUNE_VERSION);
		exit(0);
	default:
		return opt_error("see --help");
	}
	return 0;
}

/* Checks across options, once the command line and the config file are both in. */
static int check_opts(void)
{
	/* --check-rules connects nowhere: --hive there only names the link its blocks must spare */
	if (opt.hive && !opt.check_rules && (!opt.hive_ca || !opt.hive_cert || !opt.hive_key)) {
		return opt_error("--hive needs --hive-ca, --hive-cert and --hive-key");
	}
	if (opt.replay && opt.hive && !opt.db_given) {
		return opt_error("--replay with --hive needs --db: incidents wait there for the Hive");
	}
	return 0;
}

/* The command line: each option applied and its origin kept, so the config file cannot override it. */
static int parse_args(int argc, char **argv, struct config_origins *co)
{
	int c, li;

	optind = 0; /* glibc: start over, a reload parses the command line again */
	while ((c = getopt_long(argc, argv, "", lo, &li)) != -1) {
		if (c != '?' && config_origin_add(co, li, optarg, "command line"))
			return opt_error("out of memory");
		if (apply_opt(c))
			return -1;
	}
	if (opt.check_rules) {
		if (optind == argc) {
			return opt_error("--check-rules needs at least one rule file or directory");
		}
		return 0;
	}
	if (optind < argc) {
		return opt_error("unexpected argument '%s' (see --help)", argv[optind]);
	}
	return 0;
}

/* What is in force and where it came from: the command line, then the config file for the rest. */
static __typeof__(opt) opt_initial;
static struct config cfg;
static struct config_origins origins;
static const char *const cfg_repeatable[] = { "rules", "ioc", "protect", NULL };
static const char *const cfg_refused[] = { "config", "print-config", "help", "version", "check-rules", "role", NULL };
static const struct config_schema cfg_schema = { lo, cfg_repeatable, cfg_refused };

/* Into opt, cfg and origins, which the caller has emptied; opt_err says why not. */
static int options_load(int argc, char **argv)
{
	char e[600];
	if (config_origins_init(&origins, lo))
		return opt_error("out of memory");
	if (parse_args(argc, argv, &origins))
		return -1;
	/* --check-rules is for anyone's rule files: it reads no config */
	if (!opt.check_rules && config_read(&cfg, opt.config, opt.config_given, &cfg_schema, e, sizeof(e)))
		return opt_error("%s", e);
	for (int i = 0; i < cfg.n; i++) {
		const struct config_entry *ce = &cfg.e[i];
		char where[300];
		if (config_origin_cli(&origins, ce->opt))
			continue;
		snprintf(where, sizeof(where), "%s:%u", cfg.path, ce->line);
		if (config_origin_add(&origins, ce->opt, ce->value, where))
			return opt_error("out of memory");
		if (lo[ce->opt].has_arg == no_argument && strcmp(ce->value, "true"))
			continue;
		opt_where = where;
		optarg = (char *)ce->value;
		int r = apply_opt(lo[ce->opt].val);
		opt_where = NULL;
		if (r)
			return -1;
	}
	return check_opts();
}

static const char *opt_default(const char *name)
{
	static const char *const d[][2] = {
		{ "events", "none" }, { "format", "text" }, { "output", "stdout" }, { "duration", "until SIGINT/SIGTERM" },
		{ "buffer", "ring (perf where the kernel has no ring buffer)" }, { "ring-kb", "8192" },
		{ "pin-dir", "/sys/fs/bpf/immune" }, { "stats-interval", "60" }, { "enforce", "auto" },
		{ "socket", CTLSOCK_PATH }, { "db", "/var/lib/immune/immune.db" }, { "admin-group", "none (root only)" },
		{ "rules", "none (the built-in rules only)" }, { "no-builtin-rules", "false" }, { "ioc", "none" },
		{ "disable-rule", "none" }, { "min-level", "medium" }, { "overrides", DEFAULT_OVERRIDES " if present" },
		{ "hive", "none" }, { "agent-id", "the hostname" }, { "share-verdicts", "false" },
		{ "hive-drain-seconds", "30" }, { "hive-hold-down", "30" }, { "metrics", "off" }, { "gate", "on" }, { "gate-timeout-ms", "2000" },
		{ "gate-fail", "open" }, { "protect", "none (the built-in protected set only)" },
	};
	for (size_t i = 0; i < sizeof(d) / sizeof(d[0]); i++)
		if (strcmp(d[i][0], name) == 0)
			return d[i][1];
	return NULL;
}

static void emit_line(void)
{
	jw_append(&line, "\n", 1);
	fwrite(line.buf, 1, line.len, out);
}

static int on_event(ebpf_event_type_t type, const void *data, size_t size, void *ctx)
{
	(void)ctx;
	(void)type;
	arena_reset(&arena);
	if (decode_record(data, size, &ev, &arena)) {
		decode_errors++;
		return 0;
	}
	proc_apply(procs, &ev, &arena);
	ev.user_name = users_name(users, ev.uid);
	gate_take_judged(gate, &ev);
	if (detector)
		detect_event(detector, &ev);
	if (opt.print[ev.type]) {
		jw_reset(&line);
		if (opt.format == FMT_JSON)
			event_write_json(&line, &ev);
		else
			event_write_text(&line, &ev);
		emit_line();
	}
	return 0;
}

/* "status" of the control socket: what runs, what it saw, what it lost. */
static void status_fields(cJSON *r, void *ctx)
{
	struct counter_snap cs;
	(void)ctx;
	counter_snap_take(&cs, detector, procs, decode_errors);
	cJSON_AddStringToObject(r, "mode", enforce_mode_name(enforce_mode()));
	cJSON_AddStringToObject(r, "mode_reason", enforce_reason());
	if (verdicts && enforce_mode() == ENFORCE_FALLBACK) {
		uint64_t checks, empty;
		cJSON *q = cJSON_AddObjectToObject(r, "file_verdict_lookup");
		cJSON_AddBoolToObject(q, "skipped", verdicts_quiet_status(verdicts, &checks, &empty));
		cJSON_AddNumberToObject(q, "checks", (double)checks);
		cJSON_AddNumberToObject(q, "found_empty", (double)empty);
	}
	cJSON_AddStringToObject(r, "buffer", ebpf_buffer_name());
	counters_status(r, &cs, CP_TOP);
	counters_status(r, &cs, CP_KIND);
	if (cs.have_sensor && open_filter)
		interest_status(&interest, cs.sensor.filtered, r);
	counters_status(r, &cs, CP_SENSOR);
	if (detector) {
		cJSON *d = cJSON_AddObjectToObject(r, "detection");
		counters_status(d, &cs, CP_DETECT);
		tuning_status_json(detect_tuning(detector), cJSON_AddObjectToObject(d, "policy"));
		counters_status(d, &cs, CP_CORR);
	}
	gate_status(gate, r);
}

/* What a rule's block does here: verdicts in the pinned maps, under verdict.c's policy. */
static int act_block_inode(void *ctx, const char *kind, uint64_t dev, uint64_t ino, const char *path,
			   const char *source)
{
	char err[256];
	(void)ctx;
	int r = verdict_rule_block_inode(verdicts, strcmp(kind, "exec") == 0 ? VK_EXEC : VK_FILE, dev, ino, source, err,
					 sizeof(err));
	if (r == -EPERM)
		fprintf(stderr, "immuned: %s: not blocking %s: %s\n", source, path, err);
	else if (r)
		fprintf(stderr, "immuned: %s: %s\n", source, err);
	else if (hive && opt.share_verdicts && path && path[0] == '/')
		hive_agent_share(hive, "block", kind, path, source);
	return r;
}

static int act_block_net(void *ctx, const char *ip, uint16_t port, const char *source)
{
	char target[80], err[256];
	(void)ctx;
	/* the link to the Hive: detect refused it already (detect_opts.guard) */
	int r = verdict_rule_block_net(verdicts, ip, port, source, target, sizeof(target), err, sizeof(err));
	if (r == -EPERM)
		fprintf(stderr, "immuned: %s: not blocking %s: %s\n", source, ip, err);
	else if (r)
		fprintf(stderr, "immuned: %s: %s\n", source, err);
	else if (hive && opt.share_verdicts)
		hive_agent_share(hive, "block", "net", target, source);
	return r;
}

/* Whether a net target covers the agent's link to its Hive: the address configured (a literal) or on
 * the link now. The one check: no rule, indicator (at load and at a match), operator's or fleet block
 * cuts it (gate_net, detect, verdict_guard). */
static bool hive_link_in(void *ctx, const struct verdict_net *t)
{
	(void)ctx;
	return opt.hive && (gate_net_covers_hosts(opt.hive, t) || (hive && hive_agent_link_in(hive, t)));
}

static struct verdict_guard guard = { .hive_link_in = hive_link_in };

/* Destinations named by the rules and indicators in force are refused before the first connect. */
static void net_verdicts_refresh(void)
{
	if (verdicts && detector)
		gate_net_apply(detector, verdicts, hive_link_in, NULL, stderr);
}

static int act_kill(void *ctx, uint32_t pid)
{
	(void)ctx;
	return kill((pid_t)pid, SIGKILL) ? -errno : 0;
}

static void detect_opts_fill(struct detect_opts *d, FILE *o)
{
	memset(d, 0, sizeof(*d));
	d->rule_paths = opt.rules;
	d->nrule_paths = opt.nrules;
	d->no_builtin = opt.no_builtin;
	d->disable = opt.disable;
	d->ndisable = opt.ndisable;
	d->min_level = opt.min_level;
	d->min_level_set = opt.min_level_set;
	d->overrides = opt.overrides ? opt.overrides : access(DEFAULT_OVERRIDES, F_OK) == 0 ? DEFAULT_OVERRIDES : NULL;
	d->ioc_paths = opt.iocs;
	d->nioc_paths = opt.niocs;
	d->out = o;
	d->format = opt.format == FMT_JSON ? DETECT_OUT_JSON : DETECT_OUT_TEXT;
}

/* The tuning of the detector in force: a reload replaces it. */
static struct tuning *live_tuning(void *ctx)
{
	(void)ctx;
	return detector ? detect_tuning(detector) : NULL;
}

/* What the live daemon's detector gets, at start and at each reload. */
static void live_detect_opts(struct detect_opts *d)
{
	detect_opts_fill(d, out);
	d->db_path = opt.db;
	d->hash_via_proc = true;
	d->protect = protect;
	guard.protect = protect;
	d->guard = &guard;
	d->actions = (struct detect_actions){ .block_inode = act_block_inode, .block_net = act_block_net,
					      .kill_pid = act_kill };
	if (metrics) {
		d->on_incident = metrics_count_incident;
		d->on_incident_ctx = metrics;
	}
}

/* Events keep flowing through the detector in force while a reload builds the next one. */
static void reload_pump(void *ctx)
{
	(void)ctx;
	ebpf_poll_events(on_event, 20);
	detect_flush(detector);
	fflush(out);
}

/* A reload changes only these; the rest needs a restart (sockets, maps, buffers, the database). */
static const char *const reloadable[] = { "events", "format", "rules", "no-builtin-rules", "ioc", "stats-interval",
					    "disable-rule", "min-level", "overrides", NULL };

static void take_reloadable(__typeof__(opt) *to, const __typeof__(opt) *from)
{
	memcpy(to->print, from->print, sizeof(to->print));
	to->print_any = from->print_any;
	to->format = from->format;
	memcpy(to->rules, from->rules, sizeof(to->rules));
	to->nrules = from->nrules;
	memcpy(to->iocs, from->iocs, sizeof(to->iocs));
	to->niocs = from->niocs;
	to->no_builtin = from->no_builtin;
	memcpy(to->disable, from->disable, sizeof(to->disable));
	to->ndisable = from->ndisable;
	to->min_level = from->min_level;
	to->min_level_set = from->min_level_set;
	to->overrides = from->overrides;
	to->stats_interval = from->stats_interval;
}

static int saved_argc;
static char **saved_argv;
static char last_reload_error[1024];

/* "status": which config file is in force and how the reloads went. */
static void config_status(cJSON *r, void *ctx)
{
	(void)ctx;
	cJSON *c = cJSON_AddObjectToObject(r, "config");
	if (cfg.path)
		cJSON_AddStringToObject(c, "file", cfg.path);
	else
		cJSON_AddNullToObject(c, "file");
	cJSON_AddNumberToObject(c, "reloads", (double)reloads);
	cJSON_AddNumberToObject(c, "reloads_refused", (double)reload_failures);
	if (last_reload_error[0])
		cJSON_AddStringToObject(c, "last_refusal", last_reload_error);
}

/*
 * SIGHUP or `immunectl reload`: the command line and the config file read
 * again, then rules and IOC files swapped in whole (reload.c). Anything
 * wrong and what is in force stays: 0, or -1 with the reason in err.
 * restart lists (comma-separated) the changed options that wait for a restart.
 */
static int reload(char *err, size_t n, char *restart, size_t rn)
{
	__typeof__(opt) old = opt;
	struct config old_cfg = cfg;
	struct config_origins old_origins = origins;
	restart[0] = 0;
	opt = opt_initial;
	memset(&cfg, 0, sizeof(cfg));
	memset(&origins, 0, sizeof(origins));
	int rc = options_load(saved_argc, saved_argv);
	__typeof__(opt) next = opt;
	opt = old;
	if (rc == 0) {
		struct detect_opts d;
		take_reloadable(&opt, &next);
		live_detect_opts(&d);
		rc = reload_detector(&detector, &d, reload_pump, NULL, err, n);
		if (rc)
			take_reloadable(&opt, &old);
		else if (gate)
			gate_set_detect(gate, detector); /* the holds follow the new rules */
		if (rc == 0)
			net_verdicts_refresh();
	} else {
		snprintf(err, n, "%s", opt_err);
	}
	if (rc) {
		config_free(&cfg);
		config_origins_free(&origins);
		cfg = old_cfg;
		origins = old_origins;
		reload_failures++;
		snprintf(last_reload_error, sizeof(last_reload_error), "%s", err);
		return -1;
	}
	last_reload_error[0] = 0;
	for (int i = 0; lo[i].name; i++) {
		bool r = false;
		for (int k = 0; reloadable[k]; k++)
			r |= strcmp(reloadable[k], lo[i].name) == 0;
		if (!r && !config_origin_same(&old_origins, &origins, i))
			snprintf(restart + strlen(restart), rn - strlen(restart), "%s%s", restart[0] ? "," : "", lo[i].name);
	}
	config_origins_free(&old_origins);
	config_free(&old_cfg);
	reloads++;
	return 0;
}

/* A reload, logged whichever way it was asked for (how: "" or " over the control socket"). */
static int reload_logged(const char *how, char *err, size_t n, char *restart, size_t rn, struct detect_stats *ds)
{
	double t0 = now_s();
	if (reload(err, n, restart, rn)) {
		fprintf(stderr, "immuned: reload refused, the rules, indicators and options in force stay: %s\n", err);
		return -1;
	}
	/* the new rules and indicators decide which opens the kernel sends */
	if (open_filter && interest_refresh(&interest, detector, ebpf_object(), false, err, n) < 0)
		fprintf(stderr, "immuned: %s\n", err);
	detect_get_stats(detector, ds);
	fprintf(stderr, "immuned: reloaded%s: %u rules loaded (%u skipped), %lu indicators in %.0f ms\n", how,
		ds->rules_loaded, ds->rules_skipped, (unsigned long)ds->iocs, (now_s() - t0) * 1e3);
	if (restart[0])
		fprintf(stderr, "immuned: reload: changed options that take effect at the next start: %s\n", restart);
	return 0;
}

static int ctl_reload(const cJSON *req, cJSON *reply, const struct ctl_peer *peer, void *ctx)
{
	char err[1024], restart[512];
	struct detect_stats ds;
	(void)req;
	(void)peer;
	(void)ctx;
	if (reload_logged(" over the control socket", err, sizeof(err), restart, sizeof(restart), &ds))
		return ctl_error(reply, "%s", err);
	cJSON_AddNumberToObject(reply, "rules", ds.rules_loaded);
	cJSON_AddNumberToObject(reply, "rules_skipped", ds.rules_skipped);
	cJSON_AddNumberToObject(reply, "indicators", (double)ds.iocs);
	cJSON *a = cJSON_AddArrayToObject(reply, "restart_needed");
	for (char *save = NULL, *t = strtok_r(restart, ",", &save); t; t = strtok_r(NULL, ",", &save))
		cJSON_AddItemToArray(a, cJSON_CreateString(t));
	return 0;
}

/*
 * A fleet verdict set from the Hive: checked whole before anything changes
 * (a bad set is refused and the one in force stays), then applied: what the
 * Hive set before and dropped is removed, the rest is put with source "hive".
 */
static void apply_hive_push(cJSON *m)
{
	const char *type = cJSON_GetObjectItemCaseSensitive(m, "type")->valuestring;
	if (strcmp(type, "ioc") == 0) {
		const cJSON *name = cJSON_GetObjectItemCaseSensitive(m, "name"), *text = cJSON_GetObjectItemCaseSensitive(m, "text");
		const cJSON *ver = cJSON_GetObjectItemCaseSensitive(m, "version");
		char err[512];
		if (!cJSON_IsString(name) || !cJSON_IsString(text) || !cJSON_IsNumber(ver)) {
			fprintf(stderr, "immuned: hive: an IOC push without name, version or text: refused\n");
		} else if (!detector) {
			fprintf(stderr, "immuned: hive: IOC set %s received; no detection runs in this mode\n", name->valuestring);
		} else if (detect_set_fleet_ioc(detector, name->valuestring, (uint64_t)ver->valuedouble, text->valuestring,
						err, sizeof(err))) {
			fprintf(stderr, "immuned: hive: IOC set %s version %.0f refused, the set in force stays: %s\n",
				name->valuestring, ver->valuedouble, err);
		} else {
			fprintf(stderr, "immuned: hive: IOC set %s version %.0f applied\n", name->valuestring, ver->valuedouble);
			net_verdicts_refresh();
			if (gate)
				gate_refresh(gate);
		}
		return;
	}
	if (strcmp(type, "verdicts") != 0) {
		fprintf(stderr, "immuned: hive: push of type '%.40s' is not applied by this agent\n", type);
		return;
	}
	const cJSON *ver = cJSON_GetObjectItemCaseSensitive(m, "version");
	cJSON *arr = cJSON_GetObjectItemCaseSensitive(m, "verdicts"), *v;
	char err[256];
	if (!cJSON_IsNumber(ver) || !cJSON_IsArray(arr)) {
		fprintf(stderr, "immuned: hive: a verdict set without version or list: refused, the set in force stays\n");
		return;
	}
	int nset = cJSON_GetArraySize(arr), i = 0;
	struct verdict_want *set = calloc(nset ? (size_t)nset : 1, sizeof(*set));
	if (!set) {
		fprintf(stderr, "immuned: hive: out of memory for a verdict set: refused, the set in force stays\n");
		return;
	}
	cJSON_ArrayForEach(v, arr)
	{
		const cJSON *k = cJSON_GetObjectItemCaseSensitive(v, "kind"), *t = cJSON_GetObjectItemCaseSensitive(v, "target");
		const cJSON *a = cJSON_GetObjectItemCaseSensitive(v, "action");
		struct verdict_want *w = &set[i++];
		if (!cJSON_IsString(k) || !cJSON_IsString(t) || !cJSON_IsString(a) ||
		    verdict_parse_kind(k->valuestring, &w->kind) || verdict_parse_action(a->valuestring, &w->action) ||
		    (verdict_check_target(w->kind, t->valuestring, err, sizeof(err)) &&
		     !(w->kind == VK_EXEC && gate_fleet_is_hash(t->valuestring)))) {
			fprintf(stderr, "immuned: hive: verdict set version %.0f has a bad entry: refused, the set in force stays\n",
				ver->valuedouble);
			free(set);
			return;
		}
		w->target = t->valuestring;
		if (gate_fleet_is_hash(w->target))
			i--; /* by content: the gate's, below, not an inode's */
	}
	if (!verdicts) {
		free(set);
		return;
	}
	int applied, removed, hashes = 0;
	verdict_replace_source(verdicts, "hive", set, (size_t)i, stderr, &applied, &removed);
	free(set);
	if (detector && gate_fleet_apply(detector, arr, (uint64_t)ver->valuedouble, &hashes, err, sizeof(err)))
		fprintf(stderr, "immuned: hive: fleet exec hashes not applied: %s\n", err);
	else if (hashes)
		fprintf(stderr, "immuned: hive: %d fleet exec hashes in force (the gate denies them at exec)\n", hashes);
	if (gate)
		gate_refresh(gate);
	if (hive)
		hive_agent_set_verdict_version(hive, (uint64_t)ver->valuedouble);
	fprintf(stderr, "immuned: hive: fleet verdicts version %.0f applied (%d verdicts, %d removed)\n", ver->valuedouble,
		applied, removed);
}

static void drain_hive_pushes(void)
{
	cJSON *m;
	while (hive && (m = hive_agent_take(hive))) {
		apply_hive_push(m);
		cJSON_Delete(m);
	}
}

/* `immunectl block ... --fleet` on an agent: applied here, then sent to the Hive. */
static int fleet_forward(const char *verb, enum verdict_kind kind, const char *target, const struct ctl_peer *peer,
			 cJSON *reply, void *ctx)
{
	char source[64];
	(void)ctx;
	/* the Hive takes only blocks from agents, as proposals: say so here */
	if (strcmp(verb, "block"))
		return ctl_error(reply, "--fleet: applied here only; an agent may only propose blocks to the Hive, "
					"%s for the fleet is done on the Hive", verb);
	snprintf(source, sizeof(source), "operator:%u", (unsigned)peer->uid);
	hive_agent_share(hive, verb, verdict_kind_name(kind), target, source);
	return 0;
}

static void hive_status(cJSON *r, void *ctx)
{
	(void)ctx;
	if (hive)
		hive_agent_status(hive, r);
}

static int start_hive(char *err, size_t n)
{
	struct hive_agent_opts ho = { .addr = opt.hive, .ca = opt.hive_ca, .cert = opt.hive_cert,
				      .key = opt.hive_key, .db_path = opt.db, .agent_id = opt.agent_id,
				      .hold_down_s = opt.hive_hold_down, .protect = protect, .guard = &guard };
	hive = hive_agent_start(&ho, err, n);
	return hive ? 0 : -1;
}

static void write_stats(bool final)
{
	struct counter_snap cs;
	char ts[64];
	struct timespec rt;

	counter_snap_take(&cs, detector, procs, decode_errors);
	if (!cs.have_sensor)
		return;
	clock_gettime(CLOCK_REALTIME, &rt);
	event_timestamp(rt.tv_sec * 1000000000LL + rt.tv_nsec, ts, sizeof(ts));
	jw_reset(&line);
	jw_obj(&line, NULL);
	jw_str(&line, "@timestamp", ts);
	jw_obj(&line, "event");
	jw_str(&line, "kind", "metric");
	jw_str(&line, "action", final ? "stats-final" : "stats");
	jw_end_obj(&line);
	jw_obj(&line, "immune");
	jw_obj(&line, "stats");
	jw_str(&line, "buffer", ebpf_buffer_name());
	for (enum counter_part p = CP_KIND; p <= CP_CORR; p++)
		counters_stats(&line, &cs, p);
	jw_end_obj(&line);
	jw_end_obj(&line);
	jw_end_obj(&line);
	if (opt.print_any && opt.format == FMT_JSON) {
		emit_line();
	} else {
		fprintf(stderr, "immuned: %s\n", line.buf);
	}
}

/* The built-in protected set and --protect's additions; exits on a bad path. */
static struct protected_set *protect_new_or_exit(void)
{
	char err[512];
	struct protected_set *p = protected_new();
	if (!p) {
		fprintf(stderr, "immuned: out of memory\n");
		exit(1);
	}
	for (int i = 0; i < opt.nprotect; i++)
		if (protected_add(p, opt.protect[i], err, sizeof(err))) {
			fprintf(stderr, "immuned: --protect: %s\n", err);
			exit(2);
		}
	/* the daemon's own files: no block may cut it off from them */
	char db[4224];
	int bad = protected_add_own(p, opt.config, "immuned's config") |
		  protected_add_own(p, opt.hive_ca, "the Hive CA") | protected_add_own(p, opt.hive_cert, "the agent's certificate") |
		  protected_add_own(p, opt.hive_key, "the agent's key");
	for (const char *const *sfx = (const char *const[]){ "", "-wal", "-shm", "-journal", NULL }; *sfx; sfx++) {
		snprintf(db, sizeof(db), "%s%s", opt.db, *sfx);
		bad |= protected_add_own_db(p, db);
	}
	if (bad) {
		fprintf(stderr, "immuned: out of memory\n");
		exit(1);
	}
	return p;
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_signal };
	int err;

	/* a peer that goes away must be an error to handle, not a signal that kills */
	signal(SIGPIPE, SIG_IGN);
	/* what immuned creates is root's alone unless made wider on purpose (the socket's directory) */
	umask(077);
	for (int i = 1; i + 1 < argc; i++)
		if (strcmp(argv[i], "--role") == 0 && strcmp(argv[i + 1], "hive") == 0)
			return hive_main(argc, argv);
	opt_initial = opt;
	if (options_load(argc, argv)) {
		fprintf(stderr, "immuned: %s\n", opt_err);
		return 2;
	}
	if (opt.print_config) {
		config_print(stdout, &cfg_schema, &origins, &cfg, opt_default);
		return 0;
	}
	protect = protect_new_or_exit();
	if (opt.check_rules)
		return detect_check_rules(argc - optind, argv + optind, protect, opt.hive, !opt.no_gate, !opt.no_gate,
					  stdout) |
				       gate_iocs_check(opt.niocs, (char **)opt.iocs, protect, opt.hive, stdout) ?
			       1 :
			       0;
	if (opt.replay) {
		struct replay_cmd rc = { .file = opt.replay, .output = opt.output, .db = opt.db_given ? opt.db : NULL,
					 .hive = opt.hive != NULL, .drain_s = opt.hive_drain,
					 .pin_dir = opt.pin_given ? opt.pin_dir : NULL, .agent = &hive,
					 .verdicts = &verdicts, .start_hive = start_hive, .apply_push = apply_hive_push };
		detect_opts_fill(&rc.detect, NULL);
		return replay_cmd_run(&rc);
	}

	out = stdout;
	if (opt.output) {
		out = fopen(opt.output, "we");
		if (!out) {
			fprintf(stderr, "immuned: cannot open --output %s: %s\n", opt.output, strerror(errno));
			return 1;
		}
	}
	setvbuf(out, NULL, _IOFBF, 1 << 20);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	saved_argc = argc;
	saved_argv = argv;

	struct ebpf_options eo = {
		.buffer = opt.buffer,
		.ring_kb = opt.ring_kb,
		.pin_dir = opt.pin_dir,
		.open_filter = !opt.print[EBPF_EVENT_OPEN],
	};
	open_filter = eo.open_filter;
	ebpf_set_options(&eo);
	if ((err = ebpf_init())) {
		fprintf(stderr, "immuned: %s\n", ebpf_last_error());
		return 1;
	}
	char why[512];
	if ((err = enforce_start(opt.enforce, opt.pin_dir, why, sizeof(why)))) {
		fprintf(stderr, "immuned: enforcement: %s\n", why);
		return 1;
	}
	fprintf(stderr, "immuned: enforcement mode %s: %s\n", enforce_mode_name(enforce_mode()), enforce_reason());
	eo.enforce_fallback = enforce_mode() == ENFORCE_FALLBACK;
	ebpf_set_options(&eo);
	if ((err = ebpf_load_programs()) || (err = ebpf_attach())) {
		fprintf(stderr, "immuned: %s\n", ebpf_last_error());
		ebpf_detach();
		return 1;
	}
	/* verdicts: the pinned maps exist now (both objects pin them by name) */
	sqlite3 *db = NULL;
	struct ctlsock *cs = NULL;
	struct verdict_ctl *vctl = NULL;
	char e2[512];
	db = verdict_db_open(opt.db, e2, sizeof(e2));
	if (!db) {
		fprintf(stderr, "immuned: --db %s: %s\n", opt.db, e2);
		return 1;
	}
	verdicts = verdicts_open(opt.pin_dir, db, e2, sizeof(e2));
	if (!verdicts) {
		fprintf(stderr, "immuned: verdict maps: %s\n", e2);
		return 1;
	}
	int reapplied = verdict_reapply_all(verdicts);
	if (reapplied > 0)
		fprintf(stderr, "immuned: %d verdicts re-applied from %s\n", reapplied, opt.db);
	gid_t admin_gid = CTLSOCK_NO_GROUP;
	if (opt.admin_group) {
		struct group *gr = getgrnam(opt.admin_group);
		if (!gr) {
			fprintf(stderr, "immuned: --admin-group %s: no such group\n", opt.admin_group);
			return 1;
		}
		admin_gid = gr->gr_gid;
	}
	cs = ctlsock_open(opt.socket, admin_gid, e2, sizeof(e2));
	if (!cs) {
		fprintf(stderr, "immuned: control socket: %s\n", e2);
		return 1;
	}
	vctl = verdict_ctl_register(cs, verdicts);
	guard.protect = protect;
	if (vctl)
		verdict_ctl_set_guard(vctl, &guard);
	struct incident_ctl *ictl = incident_ctl_register(cs, opt.db);

	if (opt.metrics) {
		static const struct metrics_sources ms = { .detector = &detector, .procs = &procs, .hive = &hive,
							   .verdicts = &verdicts, .enforce_object = enforce_object,
							   .reloads = &reloads, .reload_failures = &reload_failures,
							   .decode_errors = &decode_errors };
		if (!(metrics = metrics_open(opt.metrics, &ms, e2, sizeof(e2)))) {
			fprintf(stderr, "immuned: --metrics %s\n", e2);
			return 1;
		}
		fprintf(stderr, "immuned: metrics at http://%s/metrics\n", opt.metrics);
	}
	struct detect_opts dopt;
	live_detect_opts(&dopt);
	detector = detect_new(&dopt, e2, sizeof(e2));
	if (!detector) {
		fprintf(stderr, "immuned: detection: %s\n", e2);
		return 1;
	}
	struct detect_stats ds;
	detect_get_stats(detector, &ds);
	fprintf(stderr, "immuned: %u rules loaded (%u skipped, %u disabled): %u alert, %u signal; %lu indicators\n",
		ds.rules_loaded, ds.rules_skipped, ds.rules_disabled, ds.rules_alert, ds.rules_signal,
		(unsigned long)ds.iocs);
	if (open_filter) {
		if (interest_refresh(&interest, detector, ebpf_object(), true, e2, sizeof(e2)) < 0)
			fprintf(stderr, "immuned: %s\n", e2);
		interest_summary(&interest, stderr);
	}
	ctlsock_add_status(cs, status_fields, NULL);
	ctlsock_register(cs, "reload", ctl_reload, NULL, CTL_ADMIN);
	tuning_ctl_register(cs, live_tuning, NULL);
	ctlsock_add_status(cs, config_status, NULL);
	if (opt.hive) {
		if (start_hive(e2, sizeof(e2))) {
			fprintf(stderr, "immuned: --hive: %s\n", e2);
			return 1;
		}
		verdict_ctl_set_fleet(vctl, fleet_forward, NULL);
		ctlsock_add_status(cs, hive_status, NULL);
	}

	net_verdicts_refresh();
	procs = proc_new(0);
	users = users_new();
	if (!procs || !users) {
		fprintf(stderr, "immuned: out of memory\n");
		return 1;
	}
	int seeded = proc_seed(procs, "/proc");
	if (!opt.no_gate) {
		struct gate_opts go = { .detect = detector, .procs = procs, .users = users,
					.timeout_ms = opt.gate_timeout_ms, .fail_closed = opt.gate_fail_closed,
					.protect = protect, .exec_maps = gate_proc_exec_maps(ebpf_object()) };
		gate = gate_start(&go, e2, sizeof(e2));
		if (!gate)
			fprintf(stderr, "immuned: gate: %s: blocks act after the match\n", e2);
		else
			fprintf(stderr, "immuned: gate: exec hold %s, open hold %s, %s on timeout after %d ms\n",
				gate_exec_hold(gate) ? "on" : "off (no blocking exec rule or indicator)",
				gate_open_hold(gate) ? "on" : "off (no file named by a blocking rule or indicator)",
				opt.gate_fail_closed ? "deny" : "allow", opt.gate_timeout_ms ? opt.gate_timeout_ms : 2000);
	}
	fprintf(stderr, "immuned: %d programs attached, %s buffer, open arguments read at %s, "
		"%d processes seeded from /proc\n", ebpf_programs_attached(), ebpf_buffer_name(),
		ebpf_open_args_from_regs() ? "sys_exit" : "sys_enter", seeded);
	if (sd_notify_state("READY=1", e2, sizeof(e2)))
		fprintf(stderr, "immuned: %s\n", e2);
	fflush(stderr);

	double start = now_s(), last_stats = start, last_interest = start;
	struct pollfd pfd[5] = { { .fd = ebpf_epoll_fd(), .events = POLLIN }, { .fd = ctlsock_fd(cs), .events = POLLIN },
				 { .fd = hive ? hive_agent_fd(hive) : -1, .events = POLLIN },
				 { .fd = metrics ? metrics_fd(metrics) : -1, .events = POLLIN },
				 { .fd = gate_fd(gate), .events = POLLIN } };
	while (!stop) {
		/* the kernel wakes us past a batch; the timeout takes what is below it.
		 * Asleep, the loop lets the gate's reader judge held syscalls itself. */
		gate_loop_leave(gate);
		poll(pfd, 5, 100);
		gate_loop_enter(gate);
		if (pfd[4].revents)
			gate_dispatch(gate);
		if (reload_asked) {
			char e[1024], restart[512];
			struct detect_stats ds;
			reload_asked = 0;
			reload_logged("", e, sizeof(e), restart, sizeof(restart), &ds);
		}
		if (metrics)
			metrics_dispatch(metrics);
		if (pfd[1].revents)
			ctlsock_dispatch(cs);
		if (pfd[2].revents)
			drain_hive_pushes();
		/* indicator sets may have changed, and a directory a rule names may be
		 * made or replaced (a new inode): the keys follow within seconds */
		if (open_filter && (pfd[2].revents || now_s() - last_interest >= 5)) {
			if (interest_refresh(&interest, detector, ebpf_object(), false, e2, sizeof(e2)) < 0)
				fprintf(stderr, "immuned: %s\n", e2);
			last_interest = now_s();
		}
		if (verdicts && enforce_mode() == ENFORCE_FALLBACK)
			verdicts_quiet_tick(verdicts);
		err = ebpf_poll_events(on_event, 0);
		detect_flush(detector);
		if (err < 0) {
			fprintf(stderr, "immuned: polling events failed: %s\n", strerror(-err));
			break;
		}
		fflush(out);
		double t = now_s();
		if (opt.duration && t - start >= opt.duration)
			break;
		if (opt.stats_interval > 0 && t - last_stats >= opt.stats_interval) {
			write_stats(false);
			last_stats = t;
		}
	}
	sd_notify_state("STOPPING=1", e2, sizeof(e2));
	/* drain what the kernel queued before we stop */
	ebpf_poll_events(on_event, 0);
	detect_finish(detector);
	write_stats(true);
	fflush(out);
	gate_stop(gate);
	ebpf_detach();
	enforce_stop();
	detect_free(detector);
	protected_free(protect);
	interest_free(&interest);
	metrics_close(metrics);
	hive_agent_stop(hive);
	incident_ctl_free(ictl);
	verdict_ctl_free(vctl);
	ctlsock_close(cs);
	verdicts_close(verdicts);
	sqlite3_close(db);
	proc_free(procs);
	users_free(users);
	arena_free(&arena);
	jw_free(&line);
	config_free(&cfg);
	config_origins_free(&origins);
	config_strings_free();
	if (out != stdout)
		fclose(out);
	return err < 0 ? 1 : 0;
}
