/*
 * Rule shapes for the gate: which object a block or kill stops, which paths
 * the open hold must mark, and which rules may not block at all because they
 * would stop a protected binary.
 */
#include "gate_rules.h"
#include "gate_net.h"
#include "ioc.h"
#include "protected.h"
#include "rule_paths.h"

#include <ctype.h>
#include <string.h>

static bool identity_field(enum sig_logsource ls, enum sig_field f)
{
	switch (ls) {
	case SIG_LS_PROCESS_CREATION:
		return f == SIG_F_IMAGE;
	case SIG_LS_FILE_EVENT:
	case SIG_LS_FILE_ACCESS:
		return f == SIG_F_TARGETFILENAME;
	case SIG_LS_NETWORK_CONNECTION:
		return f == SIG_F_DESTINATIONIP || f == SIG_F_DESTINATIONPORT || f == SIG_F_DESTINATIONISIPV6 ||
		       f == SIG_F_INITIATED;
	default:
		return false;
	}
}

enum gate_object gate_rule_object(const struct sigma_rule *r)
{
	for (int i = 0; i < r->natoms; i++)
		if (!identity_field(r->ls, r->atoms[i]->field))
			return GATE_OBJ_PROCESS;
	if (!r->natoms)
		return GATE_OBJ_PROCESS;
	return r->ls == SIG_LS_NETWORK_CONNECTION ? GATE_OBJ_NET : GATE_OBJ_FILE;
}

const char *gate_object_name(enum gate_object o)
{
	return o == GATE_OBJ_FILE ? "file" : o == GATE_OBJ_NET ? "destination" : "process";
}

void gate_mark_file_and_folder(gate_mark_fn fn, void *ctx, const char *path)
{
	char dir[4100];
	fn(ctx, path, false);
	/* the folder too: a file put there later (or renamed over it) is a new inode */
	if (rule_path_folder(path, dir, sizeof(dir)))
		fn(ctx, dir, true);
}

/* The open hold marks exact absolute paths (and their folders): rule_paths
 * says whether the rule can match without one of them. */
bool gate_rule_marks(const struct sigma_rule *r, gate_mark_fn fn, void *ctx)
{
	if (r->ls != SIG_LS_FILE_EVENT && r->ls != SIG_LS_FILE_ACCESS)
		return false;
	struct rule_paths rp = { 0 };
	const char *why;
	bool ok = r->root && rule_paths_of(r->root, 1u << RP_FILE, &rp, &why);
	for (int i = 0; ok && fn && i < rp.n; i++)
		gate_mark_file_and_folder(fn, ctx, rp.v[i].text);
	rule_paths_free(&rp);
	return ok;
}

static void too_wide(void *ctx, const struct gate_net_dest *d)
{
	const char **wide = ctx;
	if (!*wide)
		*wide = gate_net_refusal(d);
}

bool gate_rule_first_attempt(const struct sigma_rule *r, bool exec_hold, bool open_hold, const char **why)
{
	switch (r->ls) {
	case SIG_LS_PROCESS_CREATION:
		if (exec_hold) {
			*why = "the exec hold judges every exec before it runs";
			return true;
		}
		*why = "no exec hold here (fanotify unavailable or --gate off): the first exec runs";
		return false;
	case SIG_LS_FILE_EVENT:
	case SIG_LS_FILE_ACCESS:
		if (!gate_rule_marks(r, NULL, NULL)) {
			*why = "its condition does not name exact absolute TargetFilename paths to hold";
			return false;
		}
		if (open_hold) {
			*why = "the open hold judges opens of the files it names";
			return true;
		}
		*why = "no open hold here (fanotify unavailable or --gate off): the first open completes";
		return false;
	default: {
		const char *wide = NULL;
		if (gate_rule_net_dests(r, too_wide, &wide) && !wide) {
			*why = "its destinations are connect verdicts from load: the first connect is refused in the kernel";
			return true;
		}
		*why = wide ? wide :
		       gate_rule_object(r) == GATE_OBJ_NET ?
			      "not addresses by equality or |cidr alone: the first connect completes; later connects to the "
			      "destination are refused in the kernel" :
			      "the first connect completes; the process is killed on the match";
		return false;
	}
	}
}

/* ------------------------------------------------------------ the protected set */

struct protect_ctx {
	const struct sig_atom *a;
	const char *hit;
};

static bool atom_names(const struct sig_atom *a, const char *path)
{
	char lc[4096];
	size_t n = strlen(path);
	if (n >= sizeof(lc))
		return false;
	for (size_t i = 0; i <= n; i++)
		lc[i] = a->cased ? path[i] : (char)tolower((unsigned char)path[i]);
	switch (a->op) {
	case SIG_OP_EQ: return strcmp(lc, a->pat) == 0;
	case SIG_OP_ENDSWITH: return n >= a->len && memcmp(lc + n - a->len, a->pat, a->len) == 0;
	case SIG_OP_STARTSWITH: return n >= a->len && memcmp(lc, a->pat, a->len) == 0;
	case SIG_OP_CONTAINS: return strstr(lc, a->pat) != NULL;
	case SIG_OP_GLOB: return sig_glob(a->pat, a->len, lc, n);
	default: return false;
	}
}

static void protect_one(const char *path, void *ctx)
{
	struct protect_ctx *c = ctx;
	if (!c->hit && atom_names(c->a, path))
		c->hit = path;
}

/* ------------------------------------------------------------ the daemon's own files */

struct own_mark {
	const struct protected_set *p;
	char path[4100]; /* the first mark that would hold one of them */
	const char *why;
	bool dir;
};

static void own_one(void *ctx, const char *path, bool dir)
{
	struct own_mark *o = ctx;
	if (!o->why && protected_own_marked(o->p, path, dir, &o->why)) {
		snprintf(o->path, sizeof(o->path), "%s", path);
		o->dir = dir;
	}
}

/* The one line of a refusal: what the open hold would have marked, and whose file it is. */
static void own_refusal(FILE *log, const char *what, enum imm_rule_action a, const struct own_mark *o)
{
	if (o->dir)
		fprintf(log, "refused %s: %s would hold opens in %s, the folder of %s: each held open hands immuned a "
			     "descriptor there, and closing one of its database drops its SQLite locks; kept as an alert\n",
			what, imm_action_name(a), o->path, o->why);
	else
		fprintf(log, "refused %s: %s would hold opens of %s, %s: no block covers immuned's own files; kept as "
			     "an alert\n",
			what, imm_action_name(a), o->path, o->why);
}

/* A file rule whose open hold would mark one of the daemon's own files or its database's folder. */
static bool own_files_refused(struct sigma_rule *r, const struct protected_set *p, FILE *log)
{
	char what[4200];
	struct own_mark o = { .p = p };
	if (r->ls != SIG_LS_FILE_EVENT && r->ls != SIG_LS_FILE_ACCESS)
		return false;
	gate_rule_marks(r, own_one, &o);
	if (!o.why)
		return false;
	snprintf(what, sizeof(what), "%s %s", r->file, r->id);
	own_refusal(log, what, r->action, &o);
	r->action = IMM_ACTION_ALERT;
	return true;
}

unsigned gate_rules_protect(struct sigma_ruleset *rs, const struct protected_set *p, FILE *log)
{
	unsigned refused = 0;
	for (int i = 0; i < rs->n; i++) {
		struct sigma_rule *r = rs->rules[i];
		if (r->action == IMM_ACTION_ALERT)
			continue;
		if (own_files_refused(r, p, log)) {
			refused++;
			continue;
		}
		if (r->ls != SIG_LS_PROCESS_CREATION || gate_rule_object(r) != GATE_OBJ_FILE)
			continue;
		const char *hit = NULL;
		for (int k = 0; k < r->natoms && !hit; k++) {
			struct protect_ctx c = { .a = r->atoms[k] };
			/* an exact path may be another name (a symlink) of a protected inode */
			if (c.a->op == SIG_OP_EQ && protected_path(p, c.a->pat, &hit))
				break;
			protected_each(p, protect_one, &c);
			hit = c.hit;
		}
		if (!hit)
			continue;
		fprintf(log, "refused %s %s: %s would block %s, a protected binary; kept as an alert\n", r->file, r->id,
			imm_action_name(r->action), hit);
		r->action = IMM_ACTION_ALERT;
		refused++;
	}
	return refused;
}

struct ioc_protect {
	const struct protected_set *p;
	FILE *log;
};

static bool ioc_refuse(void *ctx, const struct ioc_hit *h)
{
	struct ioc_protect *c = ctx;
	const char *hit = NULL;
	if (h->action == IMM_ACTION_ALERT)
		return false;
	if (h->value[0] == '/') {
		/* what the open hold would mark for it (detect_open_marks) */
		struct own_mark o = { .p = c->p };
		char what[4400];
		gate_mark_file_and_folder(own_one, &o, h->value);
		if (o.why) {
			snprintf(what, sizeof(what), "%s:%u path:%s", h->file, h->line, h->value);
			own_refusal(c->log, what, h->action, &o);
			return true;
		}
	}
	if (!protected_path(c->p, h->value, &hit))
		return false;
	fprintf(c->log, "refused %s:%u path:%s: %s would block %s, a protected binary; kept as an alert\n", h->file,
		h->line, h->value, imm_action_name(h->action), hit ? hit : h->value);
	return true;
}

unsigned gate_iocs_protect(struct ioc_set *s, const struct protected_set *p, FILE *log)
{
	struct ioc_protect c = { p, log };
	return s && p ? ioc_each_hit(s, IOC_PATH, ioc_refuse, &c) : 0;
}

struct hive_cover {
	const char *hive;
	char target[96];
};

static void covers_hive(void *ctx, const struct gate_net_dest *d)
{
	struct hive_cover *c = ctx;
	if (!c->target[0] && gate_net_covers_hosts(c->hive, &d->net))
		verdict_format_net(&d->net, c->target, sizeof(c->target));
}

void gate_rules_report(const struct sigma_ruleset *rs, bool exec_hold, bool open_hold, const char *hive, FILE *out)
{
	for (int i = 0; i < rs->n; i++) {
		const struct sigma_rule *r = rs->rules[i];
		const char *why;
		if (r->action == IMM_ACTION_ALERT)
			continue;
		struct hive_cover hc = { .hive = hive };
		if (hive && gate_rule_net_dests(r, covers_hive, &hc) && hc.target[0]) {
			fprintf(out, "refused %s %s: %s of the destination %s would cut this agent's link to the Hive (%s); "
				     "kept as an alert\n",
				r->file, r->id, imm_action_name(r->action), hc.target, hive);
			continue;
		}
		bool first = gate_rule_first_attempt(r, exec_hold, open_hold, &why);
		fprintf(out, "%-13s %s %s: %s stops the %s; %s\n", first ? "first-attempt" : "after-match", r->file, r->id,
			imm_action_name(r->action), gate_object_name(gate_rule_object(r)), why);
	}
}
