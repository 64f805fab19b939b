/*
 * The detection pipeline: event → IOC lookups and compiled Sigma matcher →
 * action through the caller's callbacks → incident printed and stored.
 */
#include "detect.h"
#include "correlate.h"
#include "incident.h"
#include "ioc.h"
#include "match.h"
#include "sigma.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_HITS 64

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
	struct detect_stats st;
};

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

static void enforce(struct detect *d, const struct imm_event *ev, enum imm_rule_action act, const char *source,
		    const char **verdict, char *why, size_t whylen)
{
	const struct detect_actions *a = &d->o.actions;
	int rc = 0;
	*verdict = "alerted";
	why[0] = 0;
	if (act == IMM_ACTION_ALERT)
		return;

	switch (ev->type) {
	case EBPF_EVENT_EXEC:
	case EBPF_EVENT_OPEN: {
		bool exec = ev->type == EBPF_EVENT_EXEC;
		uint64_t dev = exec ? ev->exe_dev : ev->file_dev, ino = exec ? ev->exe_ino : ev->file_ino;
		const char *path = exec ? ev->executable : ev->abs_path;
		if (!a->block_inode)
			rc = -EOPNOTSUPP;
		else if (!ino)
			rc = -ENOENT;
		else
			rc = a->block_inode(a->ctx, exec ? "exec" : "file", dev, ino, path ? path : "", source);
		break;
	}
	case EBPF_EVENT_CONNECT:
		if (!a->block_net)
			rc = -EOPNOTSUPP;
		else if (ev->family == AF_UNIX || !ev->dst_ip[0])
			rc = -EAFNOSUPPORT;
		else
			rc = a->block_net(a->ctx, ev->dst_ip, ev->dst_port, source);
		break;
	default:
		rc = -EINVAL;
	}
	if (rc) {
		snprintf(why, whylen, "block: %s", rc == -EOPNOTSUPP ? "no enforcement in this mode" :
						   rc == -ENOENT	  ? "the event has no inode" :
						   rc == -EAFNOSUPPORT ? "unix sockets are not blocked" :
									 strerror(-rc));
		d->st.action_errors++;
	} else {
		*verdict = "denied";
		d->st.blocks++;
	}
	if (act != IMM_ACTION_KILL)
		return;
	if (!a->kill_pid)
		rc = -EOPNOTSUPP;
	else if (!ev->pid)
		rc = -ESRCH;
	else
		rc = a->kill_pid(a->ctx, ev->pid);
	if (rc) {
		size_t l = strlen(why);
		snprintf(why + l, whylen - l, "%skill: %s", l ? "; " : "",
			 rc == -EOPNOTSUPP ? "no enforcement in this mode" : strerror(-rc));
		d->st.action_errors++;
	} else {
		*verdict = "killed";
		d->st.kills++;
	}
}

static void emit(struct detect *d, struct incident *in)
{
	struct jw w = { 0 };
	jw_reset(&w);
	incident_write_json(&w, in);
	const char *doc = w.buf;
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

static void raise_rule(struct detect *d, const struct sigma_rule *r, const struct imm_event *ev)
{
	char source[64], why[256];
	const char *verdict;
	snprintf(source, sizeof(source), "rule:%s", r->id);
	enforce(d, ev, r->action, source, &verdict, why, sizeof(why));
	struct incident in = {
		.ev = ev,
		.host = d->host,
		.rule_id = r->id,
		.rule_title = r->title,
		.rule_level = r->level,
		.rule_author = r->author,
		.rule_description = r->description,
		.tags = (const char *const *)r->tags,
		.ntags = r->ntags,
		.ruleset = r->builtin ? "builtin" : "sigma",
		.rule_file = r->file,
		.category = sig_logsource_name(r->ls),
		.action = r->action,
		.verdict = verdict,
		.verdict_error = why[0] ? why : NULL,
	};
	emit(d, &in);
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
	enforce(d, ev, h->action, source, &verdict, why, sizeof(why));
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
	emit(d, &in);
}

/* A correlation alerts on the event that completed it; immune.correlation lists the ones that made it. */
static void raise_corr(struct detect *d, const struct corr_fire *f, const struct imm_event *ev)
{
	const struct corr_rule *r = corr_fire_rule(f);
	struct incident in = {
		.ev = ev,
		.host = d->host,
		.rule_id = r->id,
		.rule_title = r->title,
		.rule_level = r->level,
		.rule_author = r->author,
		.rule_description = r->description,
		.tags = (const char *const *)r->tags,
		.ntags = r->ntags,
		.ruleset = r->builtin ? "builtin" : "sigma",
		.rule_file = r->file,
		.category = "correlation",
		.action = IMM_ACTION_ALERT,
		.verdict = "alerted",
		.correlation = f,
	};
	emit(d, &in);
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
			if (ioc_match_path(set, ev->executable ? ev->executable : "", &h))
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
					   &h))
				raise_ioc(d, &h, ev, NULL);
		} else if (ev->type == EBPF_EVENT_CONNECT) {
			if (ioc_match_ip(set, ev->dst_ip, &h))
				raise_ioc(d, &h, ev, NULL);
		}
	}
	int n = matcher_match(d->m, ev, hits, MAX_HITS);
	if (n > MAX_HITS) {
		fprintf(d->log, "immuned: %d rules matched one event; incidents for the first %d only\n", n, MAX_HITS);
		n = MAX_HITS;
	}
	for (int i = 0; i < n; i++) {
		struct corr_fire *fires[8];
		if (corr_rule_generates(d->corr, hits[i]))
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
				if (ioc_match_sha256(sets[si], res[i].sha256, &h)) {
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

	if (!o->no_builtin && sigma_load_builtin(&d->rs, d->log, o->report_loaded)) {
		snprintf(err, errlen, "the built-in rules do not load (see above)");
		goto fail;
	}
	for (int i = 0; i < o->nrule_paths; i++) {
		if (sigma_load_path(&d->rs, o->rule_paths[i], d->log, o->report_loaded)) {
			snprintf(err, errlen, "--rules %s: malformed or unreadable rules (see above)", o->rule_paths[i]);
			goto fail;
		}
	}
	corr_resolve(&d->rs, d->log, o->report_loaded);
	if (!(d->m = matcher_new(&d->rs)) || !(d->corr = corr_new(&d->rs, NULL))) {
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
	ioc_free(d->ioc);
	for (int i = 0; i < DETECT_FLEET_IOC_SETS; i++)
		ioc_free(d->fleet[i].set);
	matcher_free(d->m);
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
	struct corr_stats cs;
	corr_get_stats(d->corr, &cs);
	st->correlations = cs.rules;
	st->correlation_groups = cs.groups;
	st->correlation_events_held = cs.events_held;
	st->correlation_groups_expired = cs.groups_expired;
	st->correlation_groups_evicted = cs.groups_evicted;
	st->correlation_silent_matches = cs.silent_matches;
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
	return 0;
}

int detect_check_rules(int npaths, char **paths, FILE *out)
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
	for (int i = 0; i < npaths; i++)
		if (sigma_load_path(&rs, paths[i], out, true))
			rc = 1;
	corr_resolve(&rs, out, true);
	fprintf(out, "%u loaded, %u skipped\n", rs.loaded, rs.skipped);
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
