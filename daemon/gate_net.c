/*
 * Connect verdicts from the rules and indicators in force. A connect cannot
 * be held the way fanotify holds an exec, but a destination that a rule or
 * indicator names on its own is known before anyone connects: it goes into
 * the connect verdict maps when it loads, and leaves them when it is gone.
 */
#include "gate_net.h"
#include "detect.h"
#include "gate_rules.h"
#include "hive_addrs.h"
#include "verdict.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define RULE_DESTS_MAX 64

/* ------------------------------------------------------------ rule shapes */

struct dest_set {
	struct verdict_net ip[RULE_DESTS_MAX];
	int nip;
	uint16_t port[RULE_DESTS_MAX];
	int nport;
};

/* An address the rule's equality would match exactly as the event shows it. */
static bool ip_atom(const struct sig_atom *a, struct verdict_net *out)
{
	char canon[96];
	memset(out, 0, sizeof(*out));
	if (a->field != SIG_F_DESTINATIONIP)
		return false;
	if (a->op == SIG_OP_CIDR) {
		if (a->prefix < 0 || a->prefix > 128)
			return false;
		memcpy(out->addr, a->addr, 16);
		out->prefixlen = (unsigned)a->prefix;
		/* the network the rule matches: host bits under the prefix do not count (the trie refuses them) */
		for (unsigned b = out->prefixlen; b < 128; b++)
			out->addr[b / 8] &= (uint8_t)~(0x80 >> (b % 8));
		return true;
	}
	if (a->op != SIG_OP_EQ || net_parse_addr(a->pat, out->addr) < 0)
		return false;
	out->prefixlen = 128;
	/* events carry inet_ntop's text: "010.1.1.1" or "::FFFF:1.2.3.4" would never match it */
	verdict_format_net(out, canon, sizeof(canon));
	return strcmp(canon, a->pat) == 0;
}

static bool port_atom(const struct sig_atom *a, uint16_t *port)
{
	char *end;
	if (a->field != SIG_F_DESTINATIONPORT || a->op != SIG_OP_EQ || !isdigit((unsigned char)a->pat[0]))
		return false;
	unsigned long p = strtoul(a->pat, &end, 10);
	*port = (uint16_t)p;
	return !*end && p > 0 && p < 65536;
}

/* An atom, or an OR of atoms, of one field into s. */
static bool leaf_set(const struct sig_node *n, struct dest_set *s, bool *is_ip)
{
	if (n->type == SIG_N_OR) {
		bool ip = false;
		for (int i = 0; i < n->n; i++) {
			if (!leaf_set(n->kids[i], s, &ip) || (i && ip != *is_ip))
				return false;
			*is_ip = ip;
		}
		return n->n > 0;
	}
	if (n->type != SIG_N_ATOM)
		return false;
	if (s->nip < RULE_DESTS_MAX && ip_atom(n->atom, &s->ip[s->nip])) {
		s->nip++;
		*is_ip = true;
		return true;
	}
	if (s->nport < RULE_DESTS_MAX && port_atom(n->atom, &s->port[s->nport])) {
		s->nport++;
		*is_ip = false;
		return true;
	}
	return false;
}

static bool initiated(const struct sig_node *n)
{
	/* the sensor sees connect(): always outbound */
	return n->type == SIG_N_ATOM && n->atom->field == SIG_F_INITIATED && n->atom->op == SIG_OP_EQ &&
	       strcmp(n->atom->pat, "true") == 0;
}

/* One alternative of the condition: addresses, optionally ports, nothing else. */
static bool dest_alt(const struct sig_node *n, struct dest_set *s)
{
	const struct sig_node *one = n;
	int nk = 1;
	bool have_ip = false, have_port = false;
	if (n->type == SIG_N_AND) {
		one = NULL;
		nk = n->n;
	}
	for (int i = 0; i < nk; i++) {
		const struct sig_node *k = one ? one : n->kids[i];
		bool ip = false;
		if (initiated(k))
			continue;
		if (!leaf_set(k, s, &ip))
			return false;
		if (ip ? have_ip : have_port)
			return false; /* two sets of one field: an intersection, not a list */
		if (ip)
			have_ip = true;
		else
			have_port = true;
	}
	return have_ip;
}

static void emit_conj(const struct sigma_rule *r, const struct dest_set *s, gate_net_fn fn, void *ctx)
{
	struct gate_net_dest d;
	snprintf(d.source, sizeof(d.source), "rule:%s", r->id);
	snprintf(d.where, sizeof(d.where), "%s %s", r->file, r->id);
	for (int i = 0; i < s->nip; i++)
		for (int k = 0; k < (s->nport ? s->nport : 1); k++) {
			d.net = s->ip[i];
			d.net.port = s->nport ? s->port[k] : 0;
			fn(ctx, &d);
		}
}

bool gate_rule_net_dests(const struct sigma_rule *r, gate_net_fn fn, void *ctx)
{
	struct dest_set s = { .nip = 0 };
	if (r->ls != SIG_LS_NETWORK_CONNECTION || !r->root)
		return false;
	const struct sig_node *root = r->root;
	if (dest_alt(root, &s)) {
		if (fn)
			emit_conj(r, &s, fn, ctx);
		return true;
	}
	/* an OR of alternatives, each addresses (and ports) alone */
	if (root->type != SIG_N_OR)
		return false;
	for (int pass = 0; pass < 2; pass++)
		for (int i = 0; i < root->n; i++) {
			s = (struct dest_set){ .nip = 0 };
			if (!dest_alt(root->kids[i], &s))
				return false;
			if (pass && fn)
				emit_conj(r, &s, fn, ctx);
		}
	return true;
}

/* ------------------------------------------------------------ indicators */

struct ioc_ctx {
	gate_net_fn fn;
	void *ctx;
};

static bool ioc_dest(void *ctx, const struct ioc_hit *h)
{
	struct ioc_ctx *c = ctx;
	struct gate_net_dest d;
	char err[128];
	if (h->action == IMM_ACTION_ALERT || verdict_parse_net(h->value, &d.net, err, sizeof(err)))
		return false;
	const char *base = strrchr(h->file, '/');
	snprintf(d.source, sizeof(d.source), "ioc:%s", base ? base + 1 : h->file);
	snprintf(d.where, sizeof(d.where), "%s:%u", h->file, h->line);
	c->fn(c->ctx, &d);
	return false;
}

void gate_ioc_net_dests(struct ioc_set *s, gate_net_fn fn, void *ctx)
{
	struct ioc_ctx c = { fn, ctx };
	if (!s)
		return;
	ioc_each_hit(s, IOC_IP, ioc_dest, &c);
	ioc_each_hit(s, IOC_CIDR, ioc_dest, &c);
}

const char *gate_net_refusal(const struct gate_net_dest *d)
{
	bool v4 = verdict_net_is_v4(&d->net);
	unsigned len = v4 ? d->net.prefixlen - 96 : d->net.prefixlen;
	if (len < (v4 ? GATE_NET_MIN_PREFIX4 : GATE_NET_MIN_PREFIX6))
		return v4 ? "wider than /16, the widest a rule or indicator may block before a match" :
			    "wider than /48, the widest a rule or indicator may block before a match";
	return NULL;
}

/* ------------------------------------------------------------ applying */

struct want {
	char target[96];
	struct gate_net_dest d;
};

struct have {
	char target[96];
	char source[IMM_SOURCE_LEN];
	uint32_t action;
};

struct apply {
	struct want *w;
	size_t nw, cw;
	struct have *h;
	size_t nh, ch;
	bool (*hive_in)(void *ctx, const struct verdict_net *t);
	void *hctx;
	FILE *log;
	unsigned refused;
	bool oom;
};

static bool ours(const char *source)
{
	return strncmp(source, "rule:", 5) == 0 || strncmp(source, "ioc:", 4) == 0;
}

static void want_one(void *ctx, const struct gate_net_dest *d)
{
	struct apply *a = ctx;
	char target[96];
	const char *why = gate_net_refusal(d), *then = "it acts after the match";
	verdict_format_net(&d->net, target, sizeof(target));
	if (!why && a->hive_in && a->hive_in(a->hctx, &d->net)) {
		why = "it covers this agent's link to the Hive";
		then = "a match on it alerts only"; /* detect asks the same check (detect_opts.guard) */
	}
	if (why) {
		fprintf(a->log, "immuned: %s: not blocking %s before a match: %s; %s\n", d->where, target, why, then);
		a->refused++;
		return;
	}
	for (size_t i = 0; i < a->nw; i++)
		if (strcmp(a->w[i].target, target) == 0)
			return; /* named twice: the first name is the verdict's source */
	if (a->nw == a->cw) {
		size_t c = a->cw ? a->cw * 2 : 16;
		struct want *n = realloc(a->w, c * sizeof(*n));
		if (!n) {
			a->oom = true;
			return;
		}
		a->w = n;
		a->cw = c;
	}
	snprintf(a->w[a->nw].target, sizeof(a->w[a->nw].target), "%s", target);
	a->w[a->nw++].d = *d;
}

static int have_one(const struct verdict_entry *e, void *ctx)
{
	struct apply *a = ctx;
	char target[96];
	if (e->kind != VK_NET || !e->in_map)
		return 0;
	if (a->nh == a->ch) {
		size_t c = a->ch ? a->ch * 2 : 16;
		struct have *n = realloc(a->h, c * sizeof(*n));
		if (!n)
			return -ENOMEM;
		a->h = n;
		a->ch = c;
	}
	verdict_format_net(&e->net, target, sizeof(target));
	struct have *h = &a->h[a->nh++];
	snprintf(h->target, sizeof(h->target), "%s", target);
	snprintf(h->source, sizeof(h->source), "%s", e->val.source);
	h->action = e->val.action;
	return 0;
}

static const struct have *find_have(const struct apply *a, const char *target)
{
	for (size_t i = 0; i < a->nh; i++)
		if (strcmp(a->h[i].target, target) == 0)
			return &a->h[i];
	return NULL;
}

void gate_net_apply(struct detect *d, struct verdicts *v, bool (*hive_in)(void *ctx, const struct verdict_net *t),
		    void *hctx, FILE *log)
{
	struct apply a = { .hive_in = hive_in, .hctx = hctx, .log = log };
	char err[256];
	unsigned put = 0, kept = 0, removed = 0, failed = 0;
	if (!d || !v)
		return;
	detect_net_dests(d, want_one, &a);
	if (a.oom || verdict_foreach(v, have_one, &a)) {
		fprintf(log, "immuned: connect verdicts of rules and indicators: out of memory; none changed\n");
		goto out;
	}
	/* gone from the rules and indicators: their verdicts go too */
	for (size_t i = 0; i < a.nh; i++) {
		bool named = false;
		if (a.h[i].action != IMM_ACT_DENY || !ours(a.h[i].source))
			continue;
		for (size_t k = 0; k < a.nw && !named; k++)
			named = strcmp(a.w[k].target, a.h[i].target) == 0;
		if (named)
			continue;
		if (verdict_delete(v, VK_NET, a.h[i].target, err, sizeof(err)) == 0)
			removed++;
		else
			fprintf(log, "immuned: %s %s not removed: %s\n", a.h[i].source, a.h[i].target, err);
	}
	for (size_t i = 0; i < a.nw; i++) {
		const struct have *h = find_have(&a, a.w[i].target);
		if (h && h->action == IMM_ACT_ALLOW) {
			fprintf(log, "immuned: %s: not blocking %s: an operator's allow covers it\n", a.w[i].d.where,
				a.w[i].target);
			a.refused++;
			continue;
		}
		if (h && (strcmp(h->source, a.w[i].d.source) == 0 || !ours(h->source))) {
			kept++; /* already denied (its count of denials stays), or an operator's or the fleet's deny */
			continue;
		}
		if (verdict_put(v, VK_NET, a.w[i].target, IMM_ACT_DENY, a.w[i].d.source, true, err, sizeof(err)) == 0) {
			put++;
		} else {
			fprintf(log, "immuned: %s: %s not blocked before a match: %s\n", a.w[i].d.where, a.w[i].target, err);
			failed++;
		}
	}
	if (a.nw || removed || a.refused)
		fprintf(log,
			"immuned: connect verdicts of rules and indicators: %zu in force (%u new, %u kept), %u removed, "
			"%u refused, %u failed\n",
			a.nw - failed, put, kept, removed, a.refused, failed);
out:
	free(a.w);
	free(a.h);
}

bool gate_net_covers_hosts(const char *hostports, const struct verdict_net *t)
{
	struct hive_addr a[HIVE_ADDRS_MAX];
	char why[400];
	uint8_t addr[16];
	int n = hostports ? hive_addrs_parse(hostports, a, HIVE_ADDRS_MAX, why, sizeof(why)) : -1;
	for (int i = 0; i < n; i++)
		if (net_parse_addr(a[i].host, addr) > 0 && verdict_net_covers(t, addr))
			return true;
	return false;
}

/* ------------------------------------------------------------ --check-rules */

struct check_ctx {
	FILE *out;
	const char *hive; /* --hive, or NULL */
};

static void check_dest(void *ctx, const struct gate_net_dest *d)
{
	struct check_ctx *c = ctx;
	FILE *out = c->out;
	char target[96];
	const char *why = gate_net_refusal(d);
	verdict_format_net(&d->net, target, sizeof(target));
	if (!why && c->hive && gate_net_covers_hosts(c->hive, &d->net))
		fprintf(out, "refused %s: block of the destination %s would cut this agent's link to the Hive (%s); kept "
			     "as an alert\n",
			d->where, target, c->hive);
	else if (why)
		fprintf(out, "%-13s %s: block stops the destination %s; %s\n", "after-match", d->where, target, why);
	else
		fprintf(out, "%-13s %s: block stops the destination %s; a connect verdict from load refuses the first "
			     "connect in the kernel\n",
			"first-attempt", d->where, target);
}

int gate_iocs_check(int n, char **paths, const struct protected_set *p, const char *hive, FILE *out)
{
	int rc = 0;
	struct check_ctx cc = { out, hive };
	for (int i = 0; i < n; i++) {
		struct ioc_set *s = ioc_new(0);
		if (!s) {
			fprintf(out, "--ioc %s: out of memory\n", paths[i]);
			return 1;
		}
		long added = ioc_load_file(s, paths[i], out);
		if (added < 0) {
			fprintf(out, "--ioc %s: cannot be read\n", paths[i]);
			rc = 1;
		} else {
			unsigned refused = p ? gate_iocs_protect(s, p, out) : 0;
			gate_ioc_net_dests(s, check_dest, &cc);
			fprintf(out, "%s: %ld indicators", paths[i], added);
			if (refused)
				fprintf(out, ", %u refused to block a protected binary or immuned's own files", refused);
			fputc('\n', out);
		}
		ioc_free(s);
	}
	return rc;
}
