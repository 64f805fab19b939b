/*
 * The detection pipeline: event → IOC lookups and compiled Sigma matcher →
 * action through the caller's callbacks → incident printed and stored.
 */
#include "detect.h"
#include "gate_net.h"
#include "gate_rules.h"
#include "event_json.h"
#include "correlate.h"
#include "interest.h"
#include "incident.h"
#include "ioc.h"
#include "protected.h"
#include "match.h"
#include "sigma.h"
#include "tuning.h"
#include "verdict.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAX_HITS 64
#define HIVE_LOG_ONCE 64

struct detect {
	struct detect_opts o;
	FILE *log;
	char host[256];
	struct sigma_ruleset rs;
	struct matcher *m;
	struct correlator *corr;
	struct ioc_set *ioc;
	/* IOC sets pushed by the Hive, by name; each replaced whole */
	struct fleet_ioc {
		char name[64];
		uint64_t version;
		struct ioc_set *set;
	} fleet[DETECT_FLEET_IOC_SETS];
	struct ioc_hasher *hasher;
	struct incident_store *store;
	struct tuning *tuning;
	struct detect_stats st;
	/* the block and kill rules alone, for the gate's holds */
	struct sigma_ruleset hold_rs;
	struct matcher *hold_m;
	bool exec_hold, open_hold;
	bool deny; /* the held event's answer, set by enforce() */
	/* regex error lines: at most REGEX_LOG_LINES a minute, the rest counted */
	struct timespec re_window;
	unsigned re_logged;
	uint64_t re_unlogged;
	/* the rules and indicators whose block of the Hive's link was refused and
	 * logged: one line each (hashes of FILE ID / FILE:LINE), the rest counted */
	uint64_t hive_logged[HIVE_LOG_ONCE];
	unsigned nhive_logged;
};

#define REGEX_LOG_LINES 10

/* ------------------------------------------------------------ event copies for the hasher */

static size_t slen(const char *s)
{
	return s ? strlen(s) + 1 : 0;
}

static const char *put(char **p, const char *s)
{
	if (!s)
		return NULL;
	size_t n = strlen(s) + 1;
	memcpy(*p, s, n);
	const char *r = *p;
	*p += n;
	return r;
}

/* One allocation holding the event and its strings: the arena is reset before the hash is done. */
static struct imm_event *event_clone(const struct imm_event *ev)
{
	size_t n = slen(ev->executable) + slen(ev->name) + slen(ev->command_line) + slen(ev->cwd) +
		   slen(ev->parent_executable) + slen(ev->parent_command_line) + slen(ev->user_name) +
		   slen(ev->filename) + slen(ev->path) + slen(ev->abs_path) + slen(ev->unix_path) +
		   slen(ev->transport);
	for (int i = 0; i < ev->argc; i++)
		n += slen(ev->argv[i]);
	/* the chain's strings are the process table's, which may drop them before the hash is done */
	for (int i = 0; i < ev->nancestors; i++)
		n += slen(ev->ancestors[i].executable) + slen(ev->ancestors[i].command_line);
	struct imm_event *c = malloc(sizeof(*c) + n);
	if (!c)
		return NULL;
	*c = *ev;
	char *p = (char *)(c + 1);
	c->executable = put(&p, ev->executable);
	c->name = put(&p, ev->name);
	c->command_line = put(&p, ev->command_line);
	c->cwd = put(&p, ev->cwd);
	c->parent_executable = put(&p, ev->parent_executable);
	c->parent_command_line = put(&p, ev->parent_command_line);
	c->user_name = put(&p, ev->user_name);
	c->filename = put(&p, ev->filename);
	c->path = put(&p, ev->path);
	c->abs_path = put(&p, ev->abs_path);
	c->unix_path = put(&p, ev->unix_path);
	c->transport = put(&p, ev->transport);
	for (int i = 0; i < ev->argc; i++)
		c->argv[i] = put(&p, ev->argv[i]);
	for (int i = 0; i < ev->nancestors; i++) {
		c->ancestors[i].executable = put(&p, ev->ancestors[i].executable);
		c->ancestors[i].command_line = put(&p, ev->ancestors[i].command_line);
	}
	return c;
}

/* ------------------------------------------------------------ actions and incidents */

static const char *errtext(int rc)
{
	return rc == -EOPNOTSUPP   ? "no enforcement in this mode" :
	       rc == -ENOENT       ? "the event has no inode" :
	       rc == -EAFNOSUPPORT ? "unix sockets are not blocked" :
				     strerror(-rc);
}

/*
 * The file an exec rule on identity named: for a #! script or a symlink the
 * path as passed, not the interpreter or target the kernel ran. st_dev/ino.
 */
static void exec_object(const struct imm_event *ev, uint64_t *dev, uint64_t *ino, const char **path)
{
	char p[8192];
	struct stat st;
	*dev = ev->exe_dev;
	*ino = ev->exe_ino;
	*path = ev->executable;
	if (ev->gate_held || !ev->filename || !ev->filename[0] ||
	    (ev->executable && strcmp(ev->filename, ev->executable) == 0))
		return;
	if (ev->filename[0] == '/' || !ev->cwd || !ev->cwd[0])
		snprintf(p, sizeof(p), "%s", ev->filename);
	else
		snprintf(p, sizeof(p), "%s/%s", ev->cwd, ev->filename);
	if (stat(p, &st) == 0 && S_ISREG(st.st_mode)) {
		*dev = st.st_dev;
		*ino = st.st_ino;
		*path = ev->filename;
	}
}

static void add_why(char *why, size_t whylen, const char *fmt, const char *a, const char *b)
{
	size_t l = strlen(why);
	snprintf(why + l, whylen - l, "%s", l ? "; " : "");
	l = strlen(why);
	snprintf(why + l, whylen - l, fmt, a, b);
}

/* Whether the guard refuses a block of this connect's destination (it covers
 * the agent's link to its Hive: the one check operators' and fleet blocks
 * pass too). Counted each time; logged once per rule or indicator (where). */
static bool hive_link_refused(struct detect *d, const struct imm_event *ev, const char *where, char *why,
			      size_t whylen)
{
	char err[256];
	if (verdict_guard_deny(d->o.guard, VK_NET, ev->dst_ip, err, sizeof(err)) != -EPERM)
		return false;
	add_why(why, whylen, "block refused: %s%s", err, "");
	d->st.protected_refusals++;
	uint64_t h = 14695981039346656037ull; /* FNV-1a */
	for (const char *p = where; *p; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ull;
	for (unsigned i = 0; i < d->nhive_logged; i++)
		if (d->hive_logged[i] == h)
			return true;
	if (d->nhive_logged < HIVE_LOG_ONCE) {
		d->hive_logged[d->nhive_logged++] = h;
		fprintf(d->log, "immuned: %s: not blocking %s: %s; alerts only (logged once)\n", where, ev->dst_ip,
			err);
	}
	return true;
}

/*
 * Act on a match. obj is what the rule identified: a file (inode verdict on
 * that file), a destination (connect verdict) or only this event's process.
 * A held event (the gate judges it before it completes) is denied by the
 * gate's answer; a file verdict is also put so that later attempts stop in
 * the kernel. After the match, a process-only rule kills that process and
 * never puts its binary in a verdict map.
 */
static void enforce(struct detect *d, const struct imm_event *ev, enum imm_rule_action act, enum gate_object obj,
		    const char *source, const char *where, const char **verdict, char *why, size_t whylen)
{
	const struct detect_actions *a = &d->o.actions;
	int rc = 0;
	bool held = ev->gate_held;
	*verdict = "alerted";
	why[0] = 0;
	if (act == IMM_ACTION_ALERT)
		return;

	if (obj == GATE_OBJ_FILE && (ev->type == EBPF_EVENT_EXEC || ev->type == EBPF_EVENT_OPEN)) {
		bool exec = ev->type == EBPF_EVENT_EXEC;
		uint64_t dev = ev->file_dev, ino = ev->file_ino;
		const char *path = ev->abs_path, *pwhy;
		if (exec)
			exec_object(ev, &dev, &ino, &path);
		if (ino && protected_inode(d->o.protect, (dev_t)dev, ino, &pwhy)) {
			add_why(why, whylen, "block refused: %s is protected (%s)", path ? path : "", pwhy);
			d->st.protected_refusals++;
			return;
		}
		if (!a->block_inode)
			rc = -EOPNOTSUPP;
		else if (!ino)
			rc = -ENOENT;
		else
			rc = a->block_inode(a->ctx, exec ? "exec" : "file", dev, ino, path ? path : "", source);
		/* -EPERM: an operator's allow covers the file, and outranks the rule */
		if (rc == 0 || (held && rc != -EPERM)) {
			*verdict = "denied";
			d->st.blocks++;
			d->deny |= held;
		}
		if (rc) {
			add_why(why, whylen, "block: %s%s", errtext(rc), "");
			d->st.action_errors++;
		}
	} else if (obj == GATE_OBJ_NET && ev->type == EBPF_EVENT_CONNECT) {
		if (ev->outcome == IMM_OUTCOME_DENIED)
			rc = 0; /* a verdict refused it already (put at load): nothing more to put */
		else if (!a->block_net)
			rc = -EOPNOTSUPP;
		else if (ev->family == AF_UNIX || !ev->dst_ip[0])
			rc = -EAFNOSUPPORT;
		else if (hive_link_refused(d, ev, where, why, whylen))
			return;
		else
			rc = a->block_net(a->ctx, ev->dst_ip, ev->dst_port, source);
		if (rc) {
			add_why(why, whylen, "block: %s%s", errtext(rc), "");
			d->st.action_errors++;
		} else {
			*verdict = "denied";
			d->st.blocks++;
		}
	} else if (held) {
		/* this process's exec or open fails; nothing else is touched */
		d->deny = true;
		*verdict = "denied";
		d->st.blocks++;
	} else {
		act = IMM_ACTION_KILL; /* too late to deny: stop that process, only it */
	}
	if (held)
		d->st.first_attempt++;
	else
		d->st.after_match++;
	if (act != IMM_ACTION_KILL)
		return;
	if (!a->kill_pid)
		rc = -EOPNOTSUPP;
	else if (!ev->pid)
		rc = -ESRCH;
	else
		rc = a->kill_pid(a->ctx, ev->pid);
	if (rc) {
		add_why(why, whylen, "kill: %s%s", errtext(rc), "");
		d->st.action_errors++;
	} else {
		*verdict = "killed";
		d->st.kills++;
	}
}

static void emit(struct detect *d, struct incident *in, bool signal)
{
	struct jw w = { 0 };
	jw_reset(&w);
	incident_write_json(&w, in);
	const char *doc = w.buf;
	if (signal) {
		/* stored and counted, never printed or sent as an alert */
		if (d->store && incident_store_add_signal(d->store, in, doc ? doc : "{}"))
			d->st.db_errors++;
		jw_free(&w);
		return;
	}
	if (d->o.out && d->o.format == DETECT_OUT_JSON && doc) {
		fputs(doc, d->o.out);
		fputc('\n', d->o.out);
		fflush(d->o.out);
	} else if (d->o.out && d->o.format == DETECT_OUT_TEXT) {
		incident_write_text(d->o.out, in);
		fputc('\n', d->o.out);
		fflush(d->o.out);
	}
	if (d->store && incident_store_add(d->store, in, doc ? doc : "{}"))
		d->st.db_errors++;
	jw_free(&w);
	d->st.incidents++;
	if (d->o.on_incident)
		d->o.on_incident(d->o.on_incident_ctx, in->rule_id, in->rule_level);
}

/*
 * A Sigma rule's or a correlation's incident: both rule kinds carry the same
 * header (id, title, level, author, description, tags, file, builtin), so one
 * filling serves both; the caller says what differs.
 */
#define RULE_INCIDENT(d, e, r, cat, act, verd)                                                                     \
	((struct incident){ .ev = (e),                                                                             \
			    .host = (d)->host,                                                                     \
			    .rule_id = (r)->id,                                                                    \
			    .rule_title = (r)->title,                                                              \
			    .rule_level = (r)->level,                                                              \
			    .rule_author = (r)->author,                                                            \
			    .rule_description = (r)->description,                                                  \
			    .tags = (const char *const *)(r)->tags,                                                \
			    .ntags = (r)->ntags,                                                                   \
			    .ruleset = (r)->builtin ? "builtin" : "sigma",                                         \
			    .rule_file = (r)->file,                                                                \
			    .category = (cat),                                                                     \
			    .action = (act),                                                                       \
			    .verdict = (verd) })

static void raise_rule(struct detect *d, const struct sigma_rule *r, const struct imm_event *ev)
{
	char source[64], where[300], why[256];
	const char *verdict = "signal";
	if (d->tuning && tuning_suppressed(d->tuning, r, ev))
		return;
	bool signal = d->tuning && tuning_is_signal(d->tuning, r);
	snprintf(source, sizeof(source), "rule:%s", r->id);
	snprintf(where, sizeof(where), "%s %s", r->file, r->id);
	why[0] = 0;
	if (!signal)
		enforce(d, ev, r->action, gate_rule_object(r), source, where, &verdict, why, sizeof(why));
	if (d->tuning)
		tuning_count(d->tuning, r, signal);
	struct incident in = RULE_INCIDENT(d, ev, r, sig_logsource_name(r->ls), r->action, verdict);
	in.verdict_error = why[0] ? why : NULL;
	emit(d, &in, signal);
}

static void raise_ioc(struct detect *d, const struct ioc_hit *h, const struct imm_event *ev, const char *sha)
{
	char source[64], why[256], id[32], title[128], ref[4200];
	const char *verdict, *base = strrchr(h->file, '/');
	base = base ? base + 1 : h->file;
	snprintf(source, sizeof(source), "ioc:%s", base);
	snprintf(id, sizeof(id), "ioc:%s", ioc_kind_name(h->kind));
	snprintf(title, sizeof(title), "Known-bad %s indicator", ioc_kind_name(h->kind));
	snprintf(ref, sizeof(ref), "%s:%u", h->file, h->line);
	enforce(d, ev, h->action, h->kind == IOC_SHA256 || h->kind == IOC_PATH ? GATE_OBJ_FILE : GATE_OBJ_NET, source,
		ref, &verdict, why, sizeof(why));
	struct incident in = {
		.ev = ev,
		.host = d->host,
		.rule_id = id,
		.rule_title = title,
		.rule_level = "high",
		.rule_author = "IMMUNE",
		.ruleset = "ioc",
		.rule_file = ref,
		.category = ioc_kind_name(h->kind),
		.action = h->action,
		.verdict = verdict,
		.verdict_error = why[0] ? why : NULL,
		.indicator = h->value,
		.sha256 = sha,
	};
	emit(d, &in, false);
}

/* A correlation alerts on the event that completed it; immune.correlation lists the ones that made it. */
static void raise_corr(struct detect *d, const struct corr_fire *f, const struct imm_event *ev)
{
	struct incident in = RULE_INCIDENT(d, ev, corr_fire_rule(f), "correlation", IMM_ACTION_ALERT, "alerted");
	in.correlation = f;
	emit(d, &in, false);
	d->st.correlations_fired++;
}

/* ------------------------------------------------------------ pipeline */

/* The file sets (--ioc) and the Hive's, in that order. */
static int ioc_sets(struct detect *d, struct ioc_set **out)
{
	int n = 0;
	if (d->ioc)
		out[n++] = d->ioc;
	for (int i = 0; i < DETECT_FLEET_IOC_SETS; i++)
		if (d->fleet[i].set)
			out[n++] = d->fleet[i].set;
	return n;
}

/* The gate already ran the blocking rules on this syscall, before it completed. */
static bool judged_skip(const struct imm_event *ev, enum imm_rule_action a)
{
	return ev->gate_judged && a != IMM_ACTION_ALERT;
}

/* A rule whose regex failed on an event may have missed it: say which, never silently. */
static void report_regex_errors(struct detect *d, const struct imm_event *ev)
{
	struct match_error errs[8];
	int n = matcher_errors(d->m, errs, 8);
	if (!n)
		return;
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (now.tv_sec - d->re_window.tv_sec >= 60) {
		if (d->re_unlogged)
			fprintf(d->log, "immuned: %llu more rule evaluations with a regex error in the last minute not shown\n",
				(unsigned long long)d->re_unlogged);
		d->re_window = now;
		d->re_logged = 0;
		d->re_unlogged = 0;
	}
	for (int i = 0; i < n; i++) {
		if (i >= 8 || d->re_logged >= REGEX_LOG_LINES) {
			d->re_unlogged++;
			continue;
		}
		char why[128];
		matcher_error_text(errs[i].code, why, sizeof(why));
		fprintf(d->log, "immuned: rule %s (%s) may have missed an event (%s, pid %u): its regex on %s failed: %s\n",
			errs[i].rule->id, errs[i].rule->file, event_kind_name(ev->type), ev->pid,
			sig_field_name(errs[i].field), why);
		d->re_logged++;
	}
}

int detect_event(struct detect *d, const struct imm_event *ev)
{
	const struct sigma_rule *hits[MAX_HITS];
	uint64_t before = d->st.incidents;
	static struct ioc_hit h; /* large: kept off the stack; detect is single-threaded */

	d->st.events++;
	unsigned ls = match_event_logsources(ev);
	if (!ls)
		return 0;
	struct ioc_set *sets[1 + DETECT_FLEET_IOC_SETS];
	int nsets = ioc_sets(d, sets);
	bool hashed = false;
	for (int si = 0; si < nsets; si++) {
		struct ioc_set *set = sets[si];
		if (ev->type == EBPF_EVENT_EXEC) {
			if (ioc_match_path(set, ev->executable ? ev->executable : "", &h) && !judged_skip(ev, h.action))
				raise_ioc(d, &h, ev, NULL);
			/* one hash per exec, matched against every set when it is done */
			if (!hashed && d->hasher && ioc_count(set, IOC_SHA256) && ev->executable && ev->executable[0]) {
				hashed = true;
				struct imm_event *c = event_clone(ev);
				if (c && !ioc_hasher_submit(d->hasher, ev->executable, d->o.hash_via_proc ? (pid_t)ev->pid : 0,
							    c))
					free(c);
			}
		} else if (ev->type == EBPF_EVENT_OPEN) {
			if (ioc_match_path(set, ev->abs_path && ev->abs_path[0] ? ev->abs_path : ev->path ? ev->path : "",
					   &h) &&
			    !judged_skip(ev, h.action))
				raise_ioc(d, &h, ev, NULL);
		} else if (ev->type == EBPF_EVENT_CONNECT) {
			if (ioc_match_ip(set, ev->dst_ip, &h))
				raise_ioc(d, &h, ev, NULL);
		}
	}
	int n = matcher_match(d->m, ev, hits, MAX_HITS);
	report_regex_errors(d, ev);
	if (n > MAX_HITS) {
		fprintf(d->log, "immuned: %d rules matched one event; incidents for the first %d only\n", n, MAX_HITS);
		n = MAX_HITS;
	}
	for (int i = 0; i < n; i++) {
		struct corr_fire *fires[8];
		/* a blocking rule the gate ran at the hold has its incident already */
		if (corr_rule_generates(d->corr, hits[i]) && !judged_skip(ev, hits[i]->action))
			raise_rule(d, hits[i], ev);
		int nf = corr_feed(d->corr, hits[i], ev, d->host, fires, 8);
		for (int k = 0; k < nf; k++) {
			raise_corr(d, fires[k], ev);
			corr_fire_free(fires[k]);
		}
	}
	corr_expire(d->corr, ev->time_ns);
	return (int)(d->st.incidents - before);
}

static void collect_hashes(struct detect *d)
{
	struct ioc_hash_result res[64];
	static struct ioc_hit h;
	int n;
	if (!d->hasher)
		return;
	while ((n = ioc_hasher_poll(d->hasher, res, 64)) > 0) {
		for (int i = 0; i < n; i++) {
			struct imm_event *ev = res[i].cookie;
			struct ioc_set *sets[1 + DETECT_FLEET_IOC_SETS];
			int nsets = ioc_sets(d, sets);
			for (int si = 0; si < nsets && !res[i].err; si++) {
				if (ioc_match_sha256(sets[si], res[i].sha256, &h) && !judged_skip(ev, h.action)) {
					char hex[65];
					ioc_hex(res[i].sha256, 32, hex);
					raise_ioc(d, &h, ev, hex);
				}
			}
			free(ev);
		}
	}
}

void detect_flush(struct detect *d)
{
	collect_hashes(d);
	if (d->store && incident_store_flush(d->store))
		d->st.db_errors++;
}

void detect_finish(struct detect *d)
{
	if (d->hasher)
		ioc_hasher_wait(d->hasher);
	detect_flush(d);
}

/* ------------------------------------------------------------ setup */

/*
 * The SigmaHQ corpus ships whole, so most of its skips (auditd, sshd, ...)
 * are expected: said only with report_loaded; a count otherwise.
 */
static int load_vendored(struct detect *d)
{
	if (d->o.report_loaded)
		return sigma_load_vendored(&d->rs, d->log, true);
	char *msg = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&msg, &len);
	if (!m)
		return -1;
	int rc = sigma_load_vendored(&d->rs, m, false);
	fclose(m);
	if (rc)
		fputs(msg, d->log);
	free(msg);
	return rc;
}

struct disabled {
	const char *const *cli;
	int ncli;
	char **file;
	int nfile;
};

static bool is_disabled(const struct sigma_rule *r, void *ctx)
{
	const struct disabled *x = ctx;
	for (int i = 0; i < x->ncli; i++)
		if (rule_selected_by(r, x->cli[i]))
			return true;
	for (int i = 0; i < x->nfile; i++)
		if (rule_selected_by(r, x->file[i]))
			return true;
	return false;
}

struct detect *detect_new(const struct detect_opts *o, char *err, size_t errlen)
{
	struct detect *d = calloc(1, sizeof(*d));
	if (!d) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	d->o = *o;
	d->log = o->log ? o->log : stderr;
	if (o->host)
		snprintf(d->host, sizeof(d->host), "%s", o->host);
	else if (gethostname(d->host, sizeof(d->host) - 1))
		snprintf(d->host, sizeof(d->host), "localhost");
	sigma_ruleset_init(&d->rs);

	struct overrides ov = { 0 };
	if (!o->no_builtin && overrides_load_shipped(&ov, d->log, err, errlen))
		goto fail_ov;
	if (o->overrides && overrides_load(&ov, o->overrides, d->log, err, errlen))
		goto fail_ov;
	if (!o->no_builtin && sigma_load_builtin(&d->rs, d->log, o->report_loaded)) {
		snprintf(err, errlen, "the built-in rules do not load (see above)");
		goto fail_ov;
	}
	if (!o->no_builtin && load_vendored(d)) {
		snprintf(err, errlen, "the vendored SigmaHQ rules do not load (see above)");
		goto fail_ov;
	}
	for (int i = 0; i < o->nrule_paths; i++) {
		if (sigma_load_path(&d->rs, o->rule_paths[i], d->log, o->report_loaded)) {
			snprintf(err, errlen, "--rules %s: malformed or unreadable rules (see above)", o->rule_paths[i]);
			goto fail_ov;
		}
	}
	struct disabled dis = { o->disable, o->ndisable, ov.disable, ov.ndisable };
	d->st.rules_disabled = (unsigned)sigma_ruleset_drop(&d->rs, is_disabled, &dis);
	overrides_apply_levels(&ov, &d->rs, d->log);
	if (o->protect)
		d->st.rules_refused = gate_rules_protect(&d->rs, o->protect, d->log);
	corr_resolve(&d->rs, d->log, o->report_loaded);
	if (!(d->tuning = tuning_new(&d->rs, o->min_level_set ? o->min_level : LEVEL_MEDIUM, &ov, o->db_path, d->log,
				     err, errlen)))
		goto fail_ov;
	overrides_free(&ov);
	if (!(d->m = matcher_new(&d->rs)) || !(d->corr = corr_new(&d->rs, NULL))) {
		snprintf(err, errlen, "out of memory compiling the rules");
		goto fail;
	}
	/* the gate's rules: those that block or kill, and say so themselves */
	sigma_ruleset_init(&d->hold_rs);
	for (int i = 0; i < d->rs.n; i++) {
		if (d->rs.rules[i]->action == IMM_ACTION_ALERT || !corr_rule_generates(d->corr, d->rs.rules[i]))
			continue;
		if (d->hold_rs.n == d->hold_rs.cap) {
			int cap = d->hold_rs.cap ? d->hold_rs.cap * 2 : 16;
			struct sigma_rule **nr = realloc(d->hold_rs.rules, cap * sizeof(*nr));
			if (!nr) {
				snprintf(err, errlen, "out of memory");
				goto fail;
			}
			d->hold_rs.rules = nr;
			d->hold_rs.cap = cap;
		}
		d->hold_rs.rules[d->hold_rs.n++] = d->rs.rules[i];
	}
	if (!(d->hold_m = matcher_new(&d->hold_rs))) {
		snprintf(err, errlen, "out of memory compiling the rules");
		goto fail;
	}
	if (o->nioc_paths) {
		if (!(d->ioc = ioc_new(o->ioc_fp_rate))) {
			snprintf(err, errlen, "out of memory");
			goto fail;
		}
		for (int i = 0; i < o->nioc_paths; i++) {
			if (ioc_load_file(d->ioc, o->ioc_paths[i], d->log) < 0) {
				snprintf(err, errlen, "--ioc %s: cannot be read", o->ioc_paths[i]);
				goto fail;
			}
		}
		d->st.rules_refused += gate_iocs_protect(d->ioc, o->protect, d->log);
		if (ioc_finalize(d->ioc)) {
			snprintf(err, errlen, "out of memory building the IOC filter");
			goto fail;
		}
		if (ioc_count(d->ioc, IOC_SHA256) && !(d->hasher = ioc_hasher_new(4096, 16384))) {
			snprintf(err, errlen, "cannot start the hashing thread");
			goto fail;
		}
	}
	if (o->db_path && !(d->store = incident_store_open(o->db_path, err, errlen)))
		goto fail;
	return d;
fail_ov:
	overrides_free(&ov);
fail:
	detect_free(d);
	return NULL;
}

void detect_free(struct detect *d)
{
	if (!d)
		return;
	if (d->hasher) {
		/* results not collected own an event copy each */
		ioc_hasher_wait(d->hasher);
		struct ioc_hash_result res[64];
		int n;
		while ((n = ioc_hasher_poll(d->hasher, res, 64)) > 0)
			for (int i = 0; i < n; i++)
				free(res[i].cookie);
		ioc_hasher_free(d->hasher);
	}
	incident_store_close(d->store);
	tuning_free(d->tuning);
	ioc_free(d->ioc);
	for (int i = 0; i < DETECT_FLEET_IOC_SETS; i++)
		ioc_free(d->fleet[i].set);
	matcher_free(d->m);
	matcher_free(d->hold_m);
	free(d->hold_rs.rules); /* the rules are d->rs's */
	corr_free(d->corr);
	sigma_ruleset_free(&d->rs);
	free(d);
}

void detect_get_stats(const struct detect *d, struct detect_stats *st)
{
	*st = d->st;
	st->rules_loaded = d->rs.loaded;
	st->rules_skipped = d->rs.skipped;
	st->yaml_errors = d->rs.yaml_errors;
	for (int i = 0; i < d->rs.n && i >= 0; i++)
		st->rules_by_logsource[d->rs.rules[i]->ls]++;
	if (d->ioc) {
		struct ioc_stats is;
		ioc_get_stats(d->ioc, &is);
		for (int k = 0; k < IOC_KINDS; k++)
			st->iocs += is.count[k];
		st->ioc_malformed = is.malformed;
	}
	if (d->hasher) {
		struct ioc_hasher_stats hs;
		ioc_hasher_get_stats(d->hasher, &hs);
		st->hash_submitted += hs.submitted;
		st->hash_dropped += hs.dropped;
		st->hash_cache_hits += hs.cache_hits;
		st->hash_errors += hs.errors;
	}
	st->db_errors += incident_store_errors(d->store);
	for (int i = 0; i < d->hold_rs.n; i++) {
		const char *why;
		if (gate_rule_first_attempt(d->hold_rs.rules[i], d->exec_hold, d->open_hold, &why))
			st->rules_first_attempt++;
		else
			st->rules_after_match++;
	}
	if (d->m) {
		struct matcher_stats ms;
		matcher_get_stats(d->m, &ms);
		st->regex_errors += ms.regex_errors;
	}
	if (d->tuning) {
		struct tuning_stats ts;
		tuning_get_stats(d->tuning, &ts);
		st->rules_alert = ts.rules_alert;
		st->rules_signal = ts.rules_signal;
		st->signals = ts.signals;
		st->suppressed = ts.suppressed;
	}
	struct corr_stats cs;
	corr_get_stats(d->corr, &cs);
	st->correlations = cs.rules;
	st->correlation_groups = cs.groups;
	st->correlation_events_held = cs.events_held;
	st->correlation_groups_expired += cs.groups_expired;
	st->correlation_groups_evicted += cs.groups_evicted;
	st->correlation_silent_matches += cs.silent_matches;
}

int detect_adopt(struct detect *d, struct detect *old, char *err, size_t errlen)
{
	bool sha = false;
	for (int i = 0; i < DETECT_FLEET_IOC_SETS; i++)
		sha |= old->fleet[i].set && ioc_count(old->fleet[i].set, IOC_SHA256);
	if (sha && !d->hasher && !(d->hasher = ioc_hasher_new(4096, 16384))) {
		snprintf(err, errlen, "cannot start the hashing worker");
		return -1;
	}
	for (int i = 0; i < DETECT_FLEET_IOC_SETS; i++) {
		d->fleet[i] = old->fleet[i];
		old->fleet[i].set = NULL;
	}
	/* counts run on across reloads: what they say is the daemon's, not one rule set's */
	struct detect_stats os;
	detect_get_stats(old, &os);
	d->st.events += os.events;
	d->st.incidents += os.incidents;
	d->st.blocks += os.blocks;
	d->st.kills += os.kills;
	d->st.action_errors += os.action_errors;
	d->st.db_errors += os.db_errors;
	d->st.hash_submitted += os.hash_submitted;
	d->st.hash_dropped += os.hash_dropped;
	d->st.hash_cache_hits += os.hash_cache_hits;
	d->st.hash_errors += os.hash_errors;
	d->st.first_attempt += os.first_attempt;
	d->st.after_match += os.after_match;
	d->st.protected_refusals += os.protected_refusals;
	d->st.regex_errors += os.regex_errors;
	/* correlation windows in flight are not carried: the new rules may group differently */
	d->st.correlations_fired += os.correlations_fired;
	d->st.correlation_groups_expired += os.correlation_groups_expired;
	d->st.correlation_groups_evicted += os.correlation_groups_evicted;
	d->st.correlation_silent_matches += os.correlation_silent_matches;
	return 0;
}

void detect_interest(const struct detect *d, struct interest *in)
{
	interest_add_rules(in, &d->rs, NULL);
	interest_add_iocs(in, d->ioc, "--ioc");
	for (int i = 0; i < DETECT_FLEET_IOC_SETS; i++)
		interest_add_iocs(in, d->fleet[i].set, d->fleet[i].name);
}

struct tuning *detect_tuning(struct detect *d)
{
	return d->tuning;
}

int detect_check_rules(int npaths, char **paths, const struct protected_set *protect, const char *hive, bool exec_hold,
		       bool open_hold, FILE *out)
{
	struct sigma_ruleset rs;
	int rc = 0;
	sigma_ruleset_init(&rs);
	/* correlations may name the built-in rules, as they can in the daemon: load those unreported */
	FILE *quiet = fopen("/dev/null", "w");
	if (quiet) {
		sigma_load_builtin(&rs, quiet, false);
		corr_resolve(&rs, quiet, false);
		fclose(quiet);
	}
	rs.loaded = rs.skipped = 0;
	int first = rs.n;
	for (int i = 0; i < npaths; i++)
		if (sigma_load_path(&rs, paths[i], out, true))
			rc = 1;
	corr_resolve(&rs, out, true);
	/* every report below (protection, holds, interest) is about the rules given, not the quiet built-ins */
	struct sigma_ruleset given = rs;
	given.rules += first;
	given.n -= first;
	unsigned refused = protect ? gate_rules_protect(&given, protect, out) : 0;
	gate_rules_report(&given, exec_hold, open_hold, hive, out);
	/* which opens these rules make the sensor send, and which rule sends them all */
	struct interest in;
	interest_init(&in);
	interest_add_rules(&in, &given, out);
	interest_summary(&in, out);
	interest_free(&in);
	fprintf(out, "%u loaded, %u skipped", rs.loaded, rs.skipped);
	if (refused)
		fprintf(out, ", %u refused to block a protected binary or immuned's own files", refused);
	fputc('\n', out);
	sigma_ruleset_free(&rs);
	return rc;
}

int detect_set_fleet_ioc(struct detect *d, const char *name, uint64_t version, const char *text, char *err,
			 size_t errlen)
{
	char file[96];
	int slot = -1, free_slot = -1;
	for (int i = 0; i < DETECT_FLEET_IOC_SETS; i++) {
		if (d->fleet[i].set && strcmp(d->fleet[i].name, name) == 0)
			slot = i;
		else if (!d->fleet[i].set && free_slot < 0)
			free_slot = i;
	}
	if (slot < 0 && free_slot < 0) {
		snprintf(err, errlen, "more than %d fleet IOC sets", DETECT_FLEET_IOC_SETS);
		return -1;
	}
	snprintf(file, sizeof(file), "hive-%s", name);
	/* build the whole new set aside: one bad line and the set in force stays */
	struct ioc_set *set = ioc_new(d->o.ioc_fp_rate);
	if (!set) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (ioc_add_text(set, text, file, err, errlen) < 0) {
		ioc_free(set);
		return -1;
	}
	gate_iocs_protect(set, d->o.protect, d->log);
	if (ioc_finalize(set)) {
		snprintf(err, errlen, "%s: cannot build its Bloom filter", file);
		ioc_free(set);
		return -1;
	}
	if (ioc_count(set, IOC_SHA256) && !d->hasher && !(d->hasher = ioc_hasher_new(4096, 16384))) {
		snprintf(err, errlen, "cannot start the hashing worker");
		ioc_free(set);
		return -1;
	}
	int i = slot >= 0 ? slot : free_slot;
	struct ioc_set *old = d->fleet[i].set;
	d->fleet[i].set = set;
	d->fleet[i].version = version;
	snprintf(d->fleet[i].name, sizeof(d->fleet[i].name), "%s", name);
	ioc_free(old);
	return 0;
}

/* ------------------------------------------------------------ the gate's questions */

bool detect_judge(struct detect *d, const struct imm_event *ev, const uint8_t *sha)
{
	const struct sigma_rule *hits[MAX_HITS];
	static struct ioc_hit h;
	struct ioc_set *sets[1 + DETECT_FLEET_IOC_SETS];
	int nsets = ioc_sets(d, sets);

	d->deny = false;
	for (int si = 0; si < nsets; si++) {
		const char *p = ev->type == EBPF_EVENT_EXEC ? ev->executable : ev->abs_path;
		if (ioc_match_path(sets[si], p ? p : "", &h) && h.action != IMM_ACTION_ALERT)
			raise_ioc(d, &h, ev, NULL);
		if (sha && ioc_match_sha256(sets[si], sha, &h) && h.action != IMM_ACTION_ALERT) {
			char hex[65];
			ioc_hex(sha, 32, hex);
			raise_ioc(d, &h, ev, hex);
		}
	}
	int n = matcher_match(d->hold_m, ev, hits, MAX_HITS);
	for (int i = 0; i < n && i < MAX_HITS; i++)
		raise_rule(d, hits[i], ev);
	return d->deny;
}

bool detect_would_act(struct detect *d, const struct imm_event *ev, const uint8_t *sha)
{
	const struct sigma_rule *hits[MAX_HITS];
	static struct ioc_hit h;
	struct ioc_set *sets[1 + DETECT_FLEET_IOC_SETS];
	int nsets = ioc_sets(d, sets);
	for (int si = 0; si < nsets; si++) {
		const char *p = ev->type == EBPF_EVENT_EXEC ? ev->executable : ev->abs_path;
		if (ioc_match_path(sets[si], p ? p : "", &h) && h.action != IMM_ACTION_ALERT)
			return true;
		if (sha && ioc_match_sha256(sets[si], sha, &h) && h.action != IMM_ACTION_ALERT)
			return true;
	}
	return matcher_match(d->hold_m, ev, hits, MAX_HITS) > 0;
}

struct blocking {
	bool any;
};

static void any_blocking(void *ctx, const char *value, enum imm_rule_action a)
{
	(void)value;
	if (a != IMM_ACTION_ALERT)
		((struct blocking *)ctx)->any = true;
}

static bool ioc_blocks(struct detect *d, enum ioc_kind k)
{
	struct ioc_set *sets[1 + DETECT_FLEET_IOC_SETS];
	struct blocking b = { 0 };
	int n = ioc_sets(d, sets);
	for (int i = 0; i < n && !b.any; i++)
		ioc_each(sets[i], k, any_blocking, &b);
	return b.any;
}

bool detect_wants_sha256(struct detect *d)
{
	return ioc_blocks(d, IOC_SHA256);
}

bool detect_exec_content_only(struct detect *d)
{
	for (int i = 0; i < d->hold_rs.n; i++)
		if (d->hold_rs.rules[i]->ls == SIG_LS_PROCESS_CREATION)
			return false;
	return !ioc_blocks(d, IOC_PATH);
}

bool detect_exec_identity_only(struct detect *d)
{
	for (int i = 0; i < d->hold_rs.n; i++)
		if (d->hold_rs.rules[i]->ls == SIG_LS_PROCESS_CREATION && gate_rule_object(d->hold_rs.rules[i]) != GATE_OBJ_FILE)
			return false;
	return true;
}

bool detect_hold_reads_exec_path(struct detect *d)
{
	for (int i = 0; i < d->hold_rs.n; i++)
		for (int k = 0; k < d->hold_rs.rules[i]->natoms; k++)
			if (d->hold_rs.rules[i]->atoms[k]->field == SIG_F_IMAGE)
				return true;
	return ioc_blocks(d, IOC_PATH);
}

bool detect_wants_exec_hold(struct detect *d)
{
	return !detect_exec_content_only(d) || detect_wants_sha256(d);
}

struct marks {
	gate_mark_fn fn;
	void *ctx;
};

static void mark_path(void *ctx, const char *value, enum imm_rule_action a)
{
	struct marks *m = ctx;
	if (a != IMM_ACTION_ALERT && value[0] == '/')
		gate_mark_file_and_folder(m->fn, m->ctx, value);
}

void detect_open_marks(struct detect *d, gate_mark_fn fn, void *ctx)
{
	struct ioc_set *sets[1 + DETECT_FLEET_IOC_SETS];
	struct marks m = { fn, ctx };
	for (int i = 0; i < d->hold_rs.n; i++)
		gate_rule_marks(d->hold_rs.rules[i], fn, ctx);
	int n = ioc_sets(d, sets);
	for (int i = 0; i < n; i++)
		ioc_each(sets[i], IOC_PATH, mark_path, &m);
}

void detect_net_dests(struct detect *d, gate_net_fn fn, void *ctx)
{
	struct ioc_set *sets[1 + DETECT_FLEET_IOC_SETS];
	for (int i = 0; i < d->hold_rs.n; i++)
		if (!d->tuning || !tuning_is_signal(d->tuning, d->hold_rs.rules[i]))
			gate_rule_net_dests(d->hold_rs.rules[i], fn, ctx);
	int n = ioc_sets(d, sets);
	for (int i = 0; i < n; i++)
		gate_ioc_net_dests(sets[i], fn, ctx);
}

void detect_set_holds(struct detect *d, bool exec_hold, bool open_hold)
{
	d->exec_hold = exec_hold;
	d->open_hold = open_hold;
}

void detect_gate_incident(struct detect *d, const struct imm_event *ev, const char *what, const char *title,
			  bool denied)
{
	char id[64];
	snprintf(id, sizeof(id), "gate:%s", what);
	struct incident in = {
		.ev = ev,
		.host = d->host,
		.rule_id = id,
		.rule_title = title,
		.rule_level = "medium",
		.rule_author = "IMMUNE",
		.ruleset = "gate",
		.rule_file = "gate",
		.category = ev->type == EBPF_EVENT_EXEC ? "process_creation" : "file_access",
		.action = denied ? IMM_ACTION_BLOCK : IMM_ACTION_ALERT,
		.verdict = denied ? "denied" : "alerted",
	};
	emit(d, &in, false);
}
