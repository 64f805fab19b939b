/* Rule shapes for the gate: the object a block stops, the paths the open hold marks, the destinations put
 * before the first connect, protected refusals of rules and indicators. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gate_net.h"
#include "gate_rules.h"
#include "ioc.h"
#include "protected.h"

static const char RULES[] =
	"title: script\nid: by-image\nlogsource: {category: process_creation, product: linux}\n"
	"immune: {action: block}\ndetection:\n  sel:\n    Image|endswith: '/first-evil'\n  condition: sel\n"
	"---\ntitle: cmdline\nid: by-cmdline\nlogsource: {category: process_creation, product: linux}\n"
	"immune: {action: kill}\ndetection:\n  sel:\n    Image|endswith: '/python3'\n    CommandLine|contains: 'pty'\n"
	"  condition: sel\n"
	"---\ntitle: file\nid: by-file\nlogsource: {category: file_access, product: linux}\n"
	"immune: {action: block}\ndetection:\n  a:\n    TargetFilename: /srv/a/secret\n  b:\n"
	"    TargetFilename: /srv/b/key\n  condition: a or b\n"
	"---\ntitle: file and user\nid: file-and-user\nlogsource: {category: file_access, product: linux}\n"
	"immune: {action: block}\ndetection:\n  f:\n    TargetFilename: /srv/c/x\n  u:\n    User: bob\n"
	"  condition: f and u\n"
	"---\ntitle: suffix\nid: by-suffix\nlogsource: {category: file_access, product: linux}\n"
	"immune: {action: block}\ndetection:\n  sel:\n    TargetFilename|endswith: '/guarded-secret.txt'\n"
	"  condition: sel\n"
	"---\ntitle: one path or a suffix\nid: path-or-suffix\nlogsource: {category: file_access, product: linux}\n"
	"immune: {action: block}\ndetection:\n  a:\n    TargetFilename: /srv/d/x\n  b:\n"
	"    TargetFilename|endswith: '.pem'\n  condition: a or b\n"
	"---\ntitle: net\nid: by-dest\nlogsource: {category: network_connection, product: linux}\n"
	"immune: {action: block}\ndetection:\n  sel:\n    DestinationIp: 203.0.113.9\n  condition: sel\n"
	"---\ntitle: program and net\nid: prog-dest\nlogsource: {category: network_connection, product: linux}\n"
	"immune: {action: block}\ndetection:\n  sel:\n    DestinationIp: 203.0.113.9\n    Image|endswith: '/nc'\n"
	"  condition: sel\n"
	"---\ntitle: a shell\nid: a-shell\nlogsource: {category: process_creation, product: linux}\n"
	"immune: {action: block}\ndetection:\n  sel:\n    Image|endswith: '/bash'\n  condition: sel\n"
	"---\ntitle: exact sh\nid: exact-sh\nlogsource: {category: process_creation, product: linux}\n"
	"immune: {action: kill}\ndetection:\n  sel:\n    Image: /bin/sh\n  condition: sel\n";

#define NET(id, sel, cond)                                                                                      \
	"---\ntitle: " id "\nid: " id "\nlogsource: {category: network_connection, product: linux}\n"           \
	"immune: {action: block}\ndetection:\n" sel "  condition: " cond "\n"

static const char NET_RULES[] =
	NET("ip", "  sel:\n    DestinationIp: 203.0.113.9\n", "sel")
	NET("ip-port", "  sel:\n    DestinationIp: 203.0.113.9\n    DestinationPort: 4444\n    Initiated: 'true'\n", "sel")
	NET("ips-ports", "  sel:\n    DestinationIp:\n      - 198.51.100.1\n      - '2001:db8::7'\n"
			 "    DestinationPort:\n      - 80\n      - 443\n", "sel")
	NET("cidr", "  sel:\n    DestinationIp|cidr: 198.51.100.77/24\n", "sel")
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
	int rc = sigma_load_text(&rs, "t.yml", RULES, sizeof(RULES) - 1, false, log, false) ||
		 sigma_load_text(&rs, "n.yml", NET_RULES, sizeof(NET_RULES) - 1, false, log, false);
	fclose(log);
	return rc || rs.n != 21;
}

static int teardown(void **s)
{
	(void)s;
	sigma_ruleset_free(&rs);
	return 0;
}

static void test_objects(void **s)
{
	(void)s;
	assert_int_equal(gate_rule_object(rule("by-image")), GATE_OBJ_FILE);
	assert_int_equal(gate_rule_object(rule("by-cmdline")), GATE_OBJ_PROCESS);
	assert_int_equal(gate_rule_object(rule("by-file")), GATE_OBJ_FILE);
	assert_int_equal(gate_rule_object(rule("file-and-user")), GATE_OBJ_PROCESS);
	assert_int_equal(gate_rule_object(rule("by-dest")), GATE_OBJ_NET);
	assert_int_equal(gate_rule_object(rule("prog-dest")), GATE_OBJ_PROCESS);
}

struct marks {
	char got[16][128];
	int n;
};

static void on_mark(void *ctx, const char *path, bool dir)
{
	struct marks *m = ctx;
	if (m->n < 16)
		snprintf(m->got[m->n++], 128, "%s%s", dir ? "dir:" : "", path);
}

static void test_marks(void **s)
{
	(void)s;
	struct marks m = { 0 };
	assert_true(gate_rule_marks(rule("by-file"), on_mark, &m));
	assert_int_equal(m.n, 4); /* either path can match: both files and both folders */
	assert_string_equal(m.got[0], "/srv/a/secret");
	assert_string_equal(m.got[1], "dir:/srv/a");
	assert_string_equal(m.got[2], "/srv/b/key");
	assert_string_equal(m.got[3], "dir:/srv/b");
	m.n = 0;
	assert_true(gate_rule_marks(rule("file-and-user"), on_mark, &m)); /* the AND needs the path */
	assert_int_equal(m.n, 2);
	/* no exact path to mark, or one branch without one: after the match */
	assert_false(gate_rule_marks(rule("by-suffix"), NULL, NULL));
	assert_false(gate_rule_marks(rule("path-or-suffix"), NULL, NULL));
	assert_false(gate_rule_marks(rule("by-image"), NULL, NULL));

	const char *why;
	assert_true(gate_rule_first_attempt(rule("by-image"), true, true, &why));
	assert_true(gate_rule_first_attempt(rule("by-cmdline"), true, true, &why));
	assert_false(gate_rule_first_attempt(rule("by-cmdline"), false, true, &why));
	assert_true(gate_rule_first_attempt(rule("by-file"), true, true, &why));
	assert_false(gate_rule_first_attempt(rule("by-suffix"), true, true, &why));
	/* a destination alone is a connect verdict from load; with the program it is that process's */
	assert_true(gate_rule_first_attempt(rule("by-dest"), true, true, &why));
	assert_false(gate_rule_first_attempt(rule("prog-dest"), true, true, &why));
}

static void test_protected(void **s)
{
	(void)s;
	struct protected_set *p = protected_new();
	char *buf = NULL;
	size_t len = 0;
	FILE *log = open_memstream(&buf, &len);
	unsigned n = gate_rules_protect(&rs, p, log);
	fclose(log);
	/* /bin/bash and /bin/sh are protected; the script, the command line and the files are not */
	assert_int_equal(n, 2);
	assert_int_equal(rule("a-shell")->action, IMM_ACTION_ALERT);
	assert_int_equal(rule("exact-sh")->action, IMM_ACTION_ALERT);
	assert_int_equal(rule("by-image")->action, IMM_ACTION_BLOCK);
	assert_int_equal(rule("by-cmdline")->action, IMM_ACTION_KILL);
	assert_non_null(strstr(buf, "refused t.yml a-shell: block would block "));
	assert_non_null(strstr(buf, "refused t.yml exact-sh: kill would block /bin/sh, a protected binary"));
	free(buf);
	protected_free(p);
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

/* The open hold would hand immuned descriptors of its own files: a rule or indicator naming its database
 * (or its -wal), its config, or any file beside its database is refused at load, naming FILE ID or
 * FILE:LINE; one beside its config (a folder it holds no lock in) is not. */
static void test_own_files(void **s)
{
	(void)s;
	/* lower case: a rule's TargetFilename is case-insensitive, its marks are lowercased */
	char dir[64], db[100], wal[120], cfg[100], rules[2000], ioc[600], err[256];
	snprintf(dir, sizeof(dir), "/tmp/immune-own-%d", (int)getpid());
	assert_int_equal(mkdir(dir, 0700), 0);
	snprintf(db, sizeof(db), "%s/db/immune.db", dir);
	snprintf(wal, sizeof(wal), "%s-wal", db);
	snprintf(cfg, sizeof(cfg), "%s/etc/immuned.conf", dir);
	struct protected_set *p = protected_new();
	assert_int_equal(protected_add_own_db(p, db), 0);
	assert_int_equal(protected_add_own_db(p, wal), 0);
	assert_int_equal(protected_add_own(p, cfg, "immuned's config"), 0);
	const char *why;
	assert_true(protected_own_marked(p, db, false, &why));
	assert_non_null(strstr(why, "immuned's database"));
	char folder[100];
	snprintf(folder, sizeof(folder), "%s/db", dir);
	assert_true(protected_own_marked(p, folder, true, &why));
	snprintf(folder, sizeof(folder), "%s/db/", dir);
	assert_true(protected_own_marked(p, folder, true, &why));
	snprintf(folder, sizeof(folder), "%s/etc", dir);
	assert_false(protected_own_marked(p, folder, true, &why));
	assert_true(protected_own_marked(p, cfg, false, &why));
	assert_false(protected_own_marked(p, "/bin/sh", false, &why)); /* a binary: the exec side's */

	struct sigma_ruleset own;
	sigma_ruleset_init(&own);
	snprintf(rules, sizeof(rules),
		 "title: db\nid: on-db\nlogsource: {category: file_access, product: linux}\n"
		 "immune: {action: block}\ndetection:\n  sel:\n    TargetFilename: %s\n  condition: sel\n"
		 "---\ntitle: beside\nid: beside-db\nlogsource: {category: file_event, product: linux}\n"
		 "immune: {action: kill}\ndetection:\n  sel:\n    TargetFilename: %s/db/other\n  condition: sel\n"
		 "---\ntitle: cfg\nid: on-cfg\nlogsource: {category: file_access, product: linux}\n"
		 "immune: {action: block}\ndetection:\n  sel:\n    TargetFilename: %s\n  condition: sel\n"
		 "---\ntitle: beside cfg\nid: beside-cfg\nlogsource: {category: file_access, product: linux}\n"
		 "immune: {action: block}\ndetection:\n  sel:\n    TargetFilename: %s/etc/other\n  condition: sel\n"
		 "---\ntitle: alert\nid: alert-db\nlogsource: {category: file_access, product: linux}\n"
		 "detection:\n  sel:\n    TargetFilename: %s\n  condition: sel\n",
		 wal, dir, cfg, dir, db);
	char *buf = NULL;
	size_t len = 0;
	FILE *log = open_memstream(&buf, &len);
	assert_int_equal(sigma_load_text(&own, "own.yml", rules, strlen(rules), false, log, false), 0);
	fclose(log);
	free(buf);
	log = open_memstream(&buf, &len);
	unsigned n = gate_rules_protect(&own, p, log);
	fclose(log);
	assert_int_equal(n, 3);
	char want[1000];
	snprintf(want, sizeof(want),
		 "refused own.yml on-db: block would hold opens of %s, immuned's database %s: no block covers "
		 "immuned's own files; kept as an alert\n",
		 wal, wal);
	assert_non_null(strstr(buf, want));
	snprintf(want, sizeof(want),
		 "refused own.yml beside-db: kill would hold opens in %s/db, the folder of immuned's database %s: each "
		 "held open hands immuned a descriptor there, and closing one of its database drops its SQLite locks; "
		 "kept as an alert\n",
		 dir, db);
	assert_non_null(strstr(buf, want));
	assert_non_null(strstr(buf, "refused own.yml on-cfg: block would hold opens of "));
	assert_null(strstr(buf, "beside-cfg"));
	assert_null(strstr(buf, "alert-db"));
	free(buf);
	for (int i = 0; i < own.n; i++) {
		const struct sigma_rule *r = own.rules[i];
		bool refused = !strcmp(r->id, "on-db") || !strcmp(r->id, "beside-db") || !strcmp(r->id, "on-cfg");
		if (strcmp(r->id, "alert-db"))
			assert_int_equal(r->action == IMM_ACTION_ALERT, refused);
	}
	sigma_ruleset_free(&own);

	/* indicators: the database by name, a file beside it; one elsewhere stays a block */
	struct ioc_set *set = ioc_new(0);
	snprintf(ioc, sizeof(ioc), "action: block\npath:%s\npath:%s/db/x\npath:%s/elsewhere\n", db, dir, dir);
	assert_int_equal(ioc_add_text(set, ioc, "own.ioc", err, sizeof(err)), 3);
	assert_int_equal(ioc_finalize(set), 0);
	log = open_memstream(&buf, &len);
	n = gate_iocs_protect(set, p, log);
	fclose(log);
	assert_int_equal(n, 2);
	snprintf(want, sizeof(want), "refused own.ioc:2 path:%s: block would hold opens of %s, immuned's database %s:",
		 db, db, db);
	assert_non_null(strstr(buf, want));
	snprintf(want, sizeof(want), "refused own.ioc:3 path:%s/db/x: block would hold opens in %s/db, the folder of",
		 dir, dir);
	assert_non_null(strstr(buf, want));
	struct ioc_hit h;
	snprintf(want, sizeof(want), "%s/elsewhere", dir);
	assert_true(ioc_match_path(set, want, &h));
	assert_int_equal(h.action, IMM_ACTION_BLOCK);
	assert_true(ioc_match_path(set, db, &h));
	assert_int_equal(h.action, IMM_ACTION_ALERT);
	free(buf);
	ioc_free(set);
	protected_free(p);
	snprintf(want, sizeof(want), "rm -rf '%s'", dir);
	assert_int_equal(system(want), 0);
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

/* --check-rules --ioc --hive: a blocking indicator whose network holds the
 * Hive's address is reported refused, the others first-attempt */
static void test_iocs_check_hive(void **s)
{
	(void)s;
	char path[] = "/tmp/immune-test-ioc-XXXXXX", *buf = NULL, want[300];
	size_t len = 0;
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	static const char t[] = "action: block\ncidr:10.20.0.0/16\nip:10.30.1.1\n";
	assert_int_equal(write(fd, t, sizeof(t) - 1), (ssize_t)(sizeof(t) - 1));
	close(fd);
	char *paths[] = { path };
	FILE *out = open_memstream(&buf, &len);
	assert_int_equal(gate_iocs_check(1, paths, NULL, "10.20.3.4:7443", out), 0);
	fclose(out);
	snprintf(want, sizeof(want),
		 "refused %s:2: block of the destination 10.20.0.0/16 would cut this agent's link to the Hive "
		 "(10.20.3.4:7443); kept as an alert\n",
		 path);
	assert_non_null(strstr(buf, want));
	snprintf(want, sizeof(want), "first-attempt %s:3: block stops the destination 10.30.1.1;", path);
	assert_non_null(strstr(buf, want));
	free(buf);
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_objects),
		cmocka_unit_test(test_marks),
		cmocka_unit_test(test_protected),
		cmocka_unit_test(test_rule_shapes),
		cmocka_unit_test(test_indicators),
		cmocka_unit_test(test_protected_paths),
		cmocka_unit_test(test_own_files),
		cmocka_unit_test(test_hive_hosts),
		cmocka_unit_test(test_iocs_check_hive),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
