/* Destinations as connect verdicts from load: which rule shapes name them, indicators, the guard rails. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gate_net.h"
#include "gate_rules.h"
#include "ioc.h"
#include "protected.h"

#define NET(id, sel, cond)                                                                                      \
	"---\ntitle: " id "\nid: " id "\nlogsource: {category: network_connection, product: linux}\n"           \
	"immune: {action: block}\ndetection:\n" sel "  condition: " cond "\n"

static const char RULES[] =
	NET("ip", "  sel:\n    DestinationIp: 203.0.113.9\n", "sel")
	NET("ip-port", "  sel:\n    DestinationIp: 203.0.113.9\n    DestinationPort: 4444\n    Initiated: 'true'\n", "sel")
	NET("ips-ports", "  sel:\n    DestinationIp:\n      - 198.51.100.1\n      - '2001:db8::7'\n"
			 "    DestinationPort:\n      - 80\n      - 443\n", "sel")
	NET("cidr", "  sel:\n    DestinationIp|cidr: 198.51.100.0/24\n", "sel")
	NET("wide", "  sel:\n    DestinationIp|cidr: 10.0.0.0/8\n", "sel")
	NET("alternatives", "  a:\n    DestinationIp: 192.0.2.1\n  b:\n    DestinationIp: 192.0.2.2\n"
			    "    DestinationPort: 22\n", "a or b")
	NET("program", "  sel:\n    DestinationIp: 203.0.113.9\n    Image|endswith: '/nc'\n", "sel")
	NET("prefix", "  sel:\n    DestinationIp|startswith: '203.0.'\n", "sel")
	NET("not-canonical", "  sel:\n    DestinationIp: '2001:DB8:0::7'\n    DestinationIp|cased: '2001:DB8::7'\n",
	    "sel")
	NET("port-only", "  sel:\n    DestinationPort: 4444\n", "sel")
	NET("negated", "  sel:\n    DestinationIp: 203.0.113.9\n  f:\n    DestinationPort: 22\n", "sel and not f");

static struct sigma_ruleset rs;

static const struct sigma_rule *rule(const char *id)
{
	for (int i = 0; i < rs.n; i++)
		if (strcmp(rs.rules[i]->id, id) == 0)
			return rs.rules[i];
	fail_msg("no rule %s", id);
	return NULL;
}

static int setup(void **s)
{
	(void)s;
	FILE *log = fopen("/dev/null", "w");
	sigma_ruleset_init(&rs);
	int rc = sigma_load_text(&rs, "n.yml", RULES, sizeof(RULES) - 1, false, log, false);
	fclose(log);
	return rc || rs.n != 11;
}

static int teardown(void **s)
{
	(void)s;
	sigma_ruleset_free(&rs);
	return 0;
}

struct got {
	char t[16][512];
	int n;
};

static void on_dest(void *ctx, const struct gate_net_dest *d)
{
	struct got *g = ctx;
	char target[96];
	verdict_format_net(&d->net, target, sizeof(target));
	if (g->n < 16)
		snprintf(g->t[g->n++], 512, "%s %s %s%s", target, d->source, d->where,
			 gate_net_refusal(d) ? " (too wide)" : "");
}

static void test_rule_shapes(void **s)
{
	(void)s;
	struct got g = { .n = 0 };
	assert_true(gate_rule_net_dests(rule("ip"), on_dest, &g));
	assert_int_equal(g.n, 1);
	assert_string_equal(g.t[0], "203.0.113.9 rule:ip n.yml ip");
	g.n = 0;
	assert_true(gate_rule_net_dests(rule("ip-port"), on_dest, &g));
	assert_int_equal(g.n, 1);
	assert_string_equal(g.t[0], "203.0.113.9:4444 rule:ip-port n.yml ip-port");
	g.n = 0;
	/* every address with every port */
	assert_true(gate_rule_net_dests(rule("ips-ports"), on_dest, &g));
	assert_int_equal(g.n, 4);
	assert_string_equal(g.t[0], "198.51.100.1:80 rule:ips-ports n.yml ips-ports");
	assert_string_equal(g.t[1], "198.51.100.1:443 rule:ips-ports n.yml ips-ports");
	assert_string_equal(g.t[2], "[2001:db8::7]:80 rule:ips-ports n.yml ips-ports");
	assert_string_equal(g.t[3], "[2001:db8::7]:443 rule:ips-ports n.yml ips-ports");
	g.n = 0;
	assert_true(gate_rule_net_dests(rule("cidr"), on_dest, &g));
	assert_string_equal(g.t[0], "198.51.100.0/24 rule:cidr n.yml cidr");
	g.n = 0;
	assert_true(gate_rule_net_dests(rule("wide"), on_dest, &g));
	assert_string_equal(g.t[0], "10.0.0.0/8 rule:wide n.yml wide (too wide)");
	g.n = 0;
	assert_true(gate_rule_net_dests(rule("alternatives"), on_dest, &g));
	assert_int_equal(g.n, 2);
	assert_string_equal(g.t[0], "192.0.2.1 rule:alternatives n.yml alternatives");
	assert_string_equal(g.t[1], "192.0.2.2:22 rule:alternatives n.yml alternatives");
	/* anything else: the destination is not blocked for everyone before a match */
	g.n = 0;
	assert_false(gate_rule_net_dests(rule("program"), on_dest, &g));
	assert_false(gate_rule_net_dests(rule("prefix"), on_dest, &g));
	assert_false(gate_rule_net_dests(rule("not-canonical"), on_dest, &g));
	assert_false(gate_rule_net_dests(rule("port-only"), on_dest, &g));
	assert_false(gate_rule_net_dests(rule("negated"), on_dest, &g));
	assert_int_equal(g.n, 0);

	const char *why;
	assert_true(gate_rule_first_attempt(rule("ip-port"), false, false, &why));
	assert_non_null(strstr(why, "connect verdicts from load"));
	assert_false(gate_rule_first_attempt(rule("wide"), true, true, &why));
	assert_non_null(strstr(why, "wider than /16"));
	assert_false(gate_rule_first_attempt(rule("prefix"), true, true, &why));
	assert_false(gate_rule_first_attempt(rule("program"), true, true, &why));
	assert_non_null(strstr(why, "killed"));
}

static void test_indicators(void **s)
{
	(void)s;
	struct ioc_set *set = ioc_new(0);
	char err[256];
	struct got g = { .n = 0 };
	assert_int_equal(ioc_add_text(set,
				      "action: block\nip:203.0.113.7\ncidr:2001:db8::/32\ncidr:172.16.0.0/12\n"
				      "action: alert\nip:203.0.113.8\n",
				      "/etc/immune/bad.ioc", err, sizeof(err)),
			 4);
	gate_ioc_net_dests(set, on_dest, &g);
	/* the alert indicator names no verdict; a /12 and a v6 /32 are wider than may be put */
	assert_int_equal(g.n, 3);
	assert_string_equal(g.t[0], "203.0.113.7 ioc:bad.ioc /etc/immune/bad.ioc:2");
	assert_string_equal(g.t[1], "2001:db8::/32 ioc:bad.ioc /etc/immune/bad.ioc:3 (too wide)");
	assert_string_equal(g.t[2], "172.16.0.0/12 ioc:bad.ioc /etc/immune/bad.ioc:4 (too wide)");
	ioc_free(set);
}

static void test_protected_paths(void **s)
{
	(void)s;
	struct protected_set *p = protected_new();
	struct ioc_set *set = ioc_new(0);
	char err[256], *buf = NULL;
	size_t len = 0;
	struct ioc_hit h;
	assert_int_equal(ioc_add_text(set, "action: block\npath:/tmp/not-protected\npath:/bin/sh\n# a comment\n"
					   "action: alert\npath:/bin/bash\n",
				      "my.ioc", err, sizeof(err)),
			 3);
	assert_int_equal(ioc_finalize(set), 0);
	FILE *log = open_memstream(&buf, &len);
	unsigned n = gate_iocs_protect(set, p, log);
	fclose(log);
	/* the alert one blocks nothing: only /bin/sh is refused, in one line naming file and line */
	assert_int_equal(n, 1);
	assert_non_null(strstr(buf, "refused my.ioc:3 path:/bin/sh: block would block "));
	assert_non_null(strstr(buf, ", a protected binary; kept as an alert\n"));
	assert_ptr_equal(strchr(buf, '\n') + 1, buf + len); /* one line */
	assert_true(ioc_match_path(set, "/bin/sh", &h));
	assert_int_equal(h.action, IMM_ACTION_ALERT);
	assert_true(ioc_match_path(set, "/tmp/not-protected", &h));
	assert_int_equal(h.action, IMM_ACTION_BLOCK);
	free(buf);
	ioc_free(set);
	protected_free(p);
}

static void test_hive_hosts(void **s)
{
	(void)s;
	struct verdict_net t;
	char err[128];
	assert_int_equal(verdict_parse_net("10.1.0.0/16", &t, err, sizeof(err)), 0);
	assert_true(gate_net_covers_hosts("10.1.2.3:7443", &t));
	assert_true(gate_net_covers_hosts("hive.example:7443,10.1.9.9:7443", &t));
	assert_false(gate_net_covers_hosts("10.2.0.1:7443,hive.example:7443", &t));
	assert_int_equal(verdict_parse_net("2001:db8::/48", &t, err, sizeof(err)), 0);
	assert_true(gate_net_covers_hosts("[2001:db8::5]:7443", &t));
	assert_false(gate_net_covers_hosts("[2001:db9::5]:7443", &t));
	assert_false(gate_net_covers_hosts("", &t));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rule_shapes),
		cmocka_unit_test(test_indicators),
		cmocka_unit_test(test_protected_paths),
		cmocka_unit_test(test_hive_hosts),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
