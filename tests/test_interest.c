/*
 * The interest set for opens: the keys rules give, and the filter's
 * correctness: events replayed through the matcher with and without the
 * filter (interest_wants, the kernel's decision taken on this host's files)
 * raise identical incidents, over the built-in rules and the SigmaHQ corpus,
 * for this host's real files and for paths made from every rule's patterns.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#define _XOPEN_SOURCE_EXTENDED 1
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "interest.h"
#include "ioc.h"
#include "match.h"

static FILE *devnull;

static const char *sigma_root(void)
{
	const char *r = getenv("IMMUNE_SIGMA");
	return r ? r : "../shared/sigma";
}

static void load(struct sigma_ruleset *rs, const char *yaml)
{
	sigma_ruleset_init(rs);
	assert_int_equal(sigma_load_text(rs, "t.yml", yaml, strlen(yaml), false, devnull, false), 0);
}

static const char *key_list(const struct interest *in, char *buf, size_t n)
{
	size_t o = 0;
	static const char *const t[] = { "dir", "name", "dir-name", "exe-name" };
	buf[0] = 0;
	for (int i = 0; i < in->n && o < n; i++)
		o += (size_t)snprintf(buf + o, n - o, "%s%s:%s", i ? " " : "", t[in->keys[i].type], in->keys[i].text);
	return buf;
}

#define RULE(cat, det)                                                                                          \
	"title: t\nid: r1\nlogsource:\n    category: " cat "\n    product: linux\ndetection:\n" det

static void test_keys_from_shapes(void **s)
{
	(void)s;
	struct { const char *yaml, *keys; unsigned read, write; } cases[] = {
		{ RULE("file_event", "    sel:\n        TargetFilename|endswith: '/.bashrc'\n    condition: sel\n"),
		  "name:.bashrc", IMM_INT_NONE, IMM_INT_KEYS },
		{ RULE("file_access", "    sel:\n        TargetFilename: '/etc/shadow'\n    condition: sel\n"),
		  "name:shadow", IMM_INT_KEYS, IMM_INT_KEYS },
		{ RULE("file_event", "    sel:\n        TargetFilename|startswith: '/etc/cron'\n    condition: sel\n"),
		  "dir:/etc", IMM_INT_NONE, IMM_INT_KEYS },
		{ RULE("file_access", "    sel:\n        TargetFilename|contains: '/.ssh/id_'\n    condition: sel\n"),
		  "dir-name:.ssh", IMM_INT_KEYS, IMM_INT_KEYS },
		/* and: the kid with the fewest keys guards the rule; not: no key */
		{ RULE("file_event", "    a:\n        TargetFilename|endswith: ['.ko', '.ko.xz']\n"
				     "    b:\n        TargetFilename|startswith: '/lib/modules/'\n"
				     "    f:\n        Image|endswith: '/dpkg'\n    condition: a and b and not f\n"),
		  "dir:/lib/modules", IMM_INT_NONE, IMM_INT_KEYS },
		/* or: every kid must be keyed, else the class sends all */
		{ RULE("file_event", "    a:\n        TargetFilename|endswith: '/x'\n"
				     "    b:\n        TargetFilename|contains: 'evil'\n    condition: a or b\n"),
		  "", IMM_INT_NONE, IMM_INT_ALL },
		{ RULE("file_access", "    a:\n        TargetFilename|re: '^/etc/.*'\n    condition: a\n"), "",
		  IMM_INT_ALL, IMM_INT_ALL },
		/* the opening process's executable by name; other process fields give none */
		{ RULE("file_event", "    a:\n        Image: '/usr/bin/vi'\n    condition: a\n"), "exe-name:vi",
		  IMM_INT_NONE, IMM_INT_KEYS },
		{ RULE("file_event", "    a:\n        Image|contains: 'vi'\n    condition: a\n"), "", IMM_INT_NONE,
		  IMM_INT_ALL },
		/* wildcards: a literal last name, a deep literal prefix, a literal /name/ */
		{ RULE("file_access", "    a:\n        TargetFilename:\n            - '*/.aws/credentials'\n"
				      "            - '/etc/ssh/ssh_host_*_key'\n            - '/home/*/.ssh/id_*'\n"
				      "    condition: a\n"),
		  "name:credentials dir:/etc/ssh dir-name:.ssh", IMM_INT_KEYS, IMM_INT_KEYS },
		/* a name too long to key, exactly: its directory instead */
		{ RULE("file_event", "    a:\n        TargetFilename: '/etc/a-name-longer-than-thirty-one-bytes'\n"
				     "    condition: a\n"),
		  "dir:/etc", IMM_INT_NONE, IMM_INT_KEYS },
		/* process_creation and network rules do not touch opens */
		{ RULE("process_creation", "    a:\n        Image|contains: 'x'\n    condition: a\n"), "",
		  IMM_INT_NONE, IMM_INT_NONE },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct sigma_ruleset rs;
		struct interest in;
		char buf[512];
		load(&rs, cases[i].yaml);
		assert_int_equal(rs.loaded, 1);
		interest_init(&in);
		interest_add_rules(&in, &rs, NULL);
		assert_string_equal(key_list(&in, buf, sizeof(buf)), cases[i].keys);
		assert_int_equal(in.mode[IMM_OC_READ], cases[i].read);
		assert_int_equal(in.mode[IMM_OC_WRITE], cases[i].write);
		if (in.mode[IMM_OC_WRITE] == IMM_INT_ALL)
			assert_non_null(strstr(in.why_all[IMM_OC_WRITE], "r1")); /* the rule is named */
		interest_free(&in);
		sigma_ruleset_free(&rs);
	}
}

static struct imm_event open_ev(const char *path, bool write)
{
	struct imm_event ev = { 0 };
	ev.type = EBPF_EVENT_OPEN;
	ev.outcome = IMM_OUTCOME_SUCCESS;
	ev.path = ev.abs_path = path;
	ev.open_flags = write ? O_WRONLY | O_CREAT | O_TRUNC : O_RDONLY;
	ev.ret = 3;
	ev.executable = "/usr/bin/cat";
	ev.name = "cat";
	ev.command_line = "cat";
	ev.cwd = "/";
	ev.parent_executable = "/usr/bin/bash";
	ev.parent_command_line = "bash";
	ev.user_name = "root";
	return ev;
}

/* A directory made after the keys were resolved is covered: by its ancestor's
 * key, or by its name. A file of another name elsewhere is not sent. */
static void test_new_directories(void **s)
{
	(void)s;
	char dir[] = "/tmp/immune-interest-XXXXXX", yaml[1024], p[512];
	assert_non_null(mkdtemp(dir));
	snprintf(yaml, sizeof(yaml),
		 RULE("file_event", "    a:\n        TargetFilename|startswith: '%s/spool/cron/'\n"
				    "    b:\n        TargetFilename|contains: '/.ssh/'\n    condition: a or b\n"),
		 dir);
	struct sigma_ruleset rs;
	struct interest in;
	load(&rs, yaml);
	interest_init(&in);
	interest_add_rules(&in, &rs, NULL);
	interest_resolve(&in);
	assert_int_equal(in.mode[IMM_OC_WRITE], IMM_INT_KEYS);
	assert_int_equal(in.mode[IMM_OC_READ], IMM_INT_NONE);
	/* made after: spool/cron under the keyed dir, and a new home's .ssh */
	snprintf(p, sizeof(p), "%s/spool", dir);
	assert_int_equal(mkdir(p, 0700), 0);
	snprintf(p, sizeof(p), "%s/spool/cron", dir);
	assert_int_equal(mkdir(p, 0700), 0);
	snprintf(p, sizeof(p), "%s/spool/cron/root", dir);
	struct imm_event ev = open_ev(p, true);
	assert_true(interest_wants(&in, &ev));
	snprintf(p, sizeof(p), "%s/newhome/.ssh/authorized_keys", dir);
	ev = open_ev(p, true);
	assert_true(interest_wants(&in, &ev));
	ev = open_ev(p, false); /* a read: no rule reads */
	assert_false(interest_wants(&in, &ev));
	ev = open_ev("/usr/share/doc/README", true);
	assert_false(interest_wants(&in, &ev));
	/* a failed open has no file to key: sent when its class has keys */
	ev = open_ev("/nonexistent", true);
	ev.outcome = IMM_OUTCOME_FAILURE;
	ev.ret = -2;
	in.mode[IMM_OC_READ] = IMM_INT_KEYS;
	assert_true(interest_wants(&in, &ev));
	interest_free(&in);
	sigma_ruleset_free(&rs);
	char cmd[600];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

/* ------------------------------------------------------------ replay: identical incidents */

struct corpus {
	char **paths;
	size_t n, cap;
};

static struct corpus corpus, exes;

static void add_to(struct corpus *c, const char *p)
{
	if (c->n == c->cap) {
		c->cap = c->cap ? c->cap * 2 : 4096;
		c->paths = realloc(c->paths, c->cap * sizeof(char *));
		assert_non_null(c->paths);
	}
	c->paths[c->n++] = strdup(p);
}

static void add_path(const char *p)
{
	add_to(&corpus, p);
}

static int on_file(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	(void)st;
	(void)f;
	if (flag == FTW_F || flag == FTW_SL)
		add_path(p);
	return corpus.n > 60000; /* enough: a bounded test */
}

/* Paths a rule's own patterns describe: what an attack on it would open. */
static void add_pattern_paths(const struct sigma_ruleset *rs)
{
	char buf[4096 + 64], pat[4096];
	for (int i = 0; i < rs->n; i++) {
		const struct sigma_rule *r = rs->rules[i];
		if (r->ls != SIG_LS_FILE_EVENT && r->ls != SIG_LS_FILE_ACCESS)
			continue;
		for (int j = 0; j < r->natoms; j++) {
			const struct sig_atom *a = r->atoms[j];
			if (a->field == SIG_F_IMAGE && a->pat && (a->op == SIG_OP_EQ || a->op == SIG_OP_ENDSWITH)) {
				snprintf(buf, sizeof(buf), "%s%s", a->op == SIG_OP_EQ ? "" : "/usr/bin", a->pat);
				add_to(&exes, buf);
			}
			if (a->field != SIG_F_TARGETFILENAME || a->op == SIG_OP_RE || !a->pat || a->len >= sizeof(pat))
				continue;
			snprintf(pat, sizeof(pat), "%s", a->pat);
			for (char *c = pat; *c; c++)
				if (*c == SIG_GLOB_STAR || *c == SIG_GLOB_ONE)
					*c = 'x';
			const char *home = pat[0] == '/' ? "/home/u" : "/home/u/x";
			switch (a->op) {
			case SIG_OP_EQ:
				add_path(pat);
				break;
			case SIG_OP_STARTSWITH:
				snprintf(buf, sizeof(buf), "%sx", pat);
				add_path(buf);
				snprintf(buf, sizeof(buf), "%sd/x", pat);
				add_path(buf);
				break;
			case SIG_OP_ENDSWITH:
				snprintf(buf, sizeof(buf), "%s%s", home, pat);
				add_path(buf);
				break;
			case SIG_OP_CONTAINS:
				snprintf(buf, sizeof(buf), "%s%sx", home, pat);
				add_path(buf);
				snprintf(buf, sizeof(buf), "%s%s/x", home, pat);
				add_path(buf);
				break;
			case SIG_OP_GLOB:
				snprintf(buf, sizeof(buf), "%s%s", pat[0] == '/' ? "" : "/", pat);
				add_path(buf);
				break;
			default:
				break;
			}
		}
	}
}

/* Every path read and written, matched with and without the filter. */
static void replay_same(const struct sigma_ruleset *rs, const struct ioc_set *ioc, const char *what)
{
	struct interest in;
	struct matcher *m = matcher_new(rs);
	const struct sigma_rule *hits[64];
	uint64_t all = 0, kept = 0, events = 0, sent = 0;
	assert_non_null(m);
	interest_init(&in);
	interest_add_rules(&in, rs, NULL);
	interest_add_iocs(&in, ioc, "test");
	interest_resolve(&in);
	for (size_t i = 0; i < corpus.n; i++) {
		for (int w = 0; w < 2; w++) {
			struct imm_event ev = open_ev(corpus.paths[i], w);
			int n = matcher_match(m, &ev, hits, 64);
			if (ioc && ioc_match_path((struct ioc_set *)ioc, corpus.paths[i], NULL))
				n++;
			bool wanted = interest_wants(&in, &ev);
			events++;
			sent += wanted;
			all += (uint64_t)n;
			kept += wanted ? (uint64_t)n : 0;
			if (n && !wanted)
				fail_msg("%s: %s (%s) raises %d incidents (first %s) but the filter drops it", what,
					 corpus.paths[i], w ? "write" : "read", n, hits[0]->id);
		}
	}
	/* the programs rules name, opening ordinary files */
	const char *files[] = { "/tmp/dl.bin", "/home/u/notes.txt", "/dev/null", "/etc/hostname" };
	for (size_t i = 0; i < exes.n; i++) {
		for (size_t f = 0; f < sizeof(files) / sizeof(files[0]); f++) {
			for (int w = 0; w < 2; w++) {
				struct imm_event ev = open_ev(files[f], w);
				ev.executable = exes.paths[i];
				ev.name = strrchr(exes.paths[i], '/') + 1;
				int n = matcher_match(m, &ev, hits, 64);
				bool wanted = interest_wants(&in, &ev);
				events++;
				sent += wanted;
				all += (uint64_t)n;
				kept += wanted ? (uint64_t)n : 0;
				if (n && !wanted)
					fail_msg("%s: %s opening %s (%s) raises %d incidents (first %s) but the filter "
						 "drops it", what, exes.paths[i], files[f], w ? "write" : "read", n,
						 hits[0]->id);
			}
		}
	}
	print_message("%s: %lu events, %lu sent (%.1f%% filtered), %lu incidents with the filter and without\n", what,
		      (unsigned long)events, (unsigned long)sent, 100.0 * (double)(events - sent) / (double)events,
		      (unsigned long)all);
	assert_int_equal(all, kept);
	assert_true(all > 0);
	interest_free(&in);
	matcher_free(m);
}

static void build_corpus(const struct sigma_ruleset *rs)
{
	for (size_t i = 0; i < corpus.n; i++)
		free(corpus.paths[i]);
	corpus.n = 0;
	for (size_t i = 0; i < exes.n; i++)
		free(exes.paths[i]);
	exes.n = 0;
	const char *roots[] = { "/etc", "/root", "/home", "/usr/lib/systemd", "/usr/lib/modules", "/var/spool", "/tmp" };
	for (size_t i = 0; i < sizeof(roots) / sizeof(roots[0]); i++)
		nftw(roots[i], on_file, 32, FTW_PHYS);
	add_pattern_paths(rs);
}

static void test_replay_builtin(void **s)
{
	(void)s;
	struct sigma_ruleset rs;
	sigma_ruleset_init(&rs);
	assert_int_equal(sigma_load_builtin(&rs, devnull, false), 0);
	build_corpus(&rs);
	/* and an indicator set with paths: matched against every open */
	struct ioc_set *ioc = ioc_new(0);
	char err[256];
	assert_true(ioc_add_text(ioc, "path:/usr/bin/nc.traditional\npath:/tmp/.x/payload\n", "t", err, sizeof(err)) ==
		    2);
	assert_int_equal(ioc_finalize(ioc), 0);
	add_path("/tmp/.x/payload");
	replay_same(&rs, ioc, "built-in rules");
	ioc_free(ioc);
	sigma_ruleset_free(&rs);
}

static void test_replay_sigmahq(void **s)
{
	(void)s;
	char dir[512];
	snprintf(dir, sizeof(dir), "%s/rules/linux", sigma_root());
	if (access(dir, R_OK)) {
		print_message("%s not found: set IMMUNE_SIGMA\n", dir);
		skip();
	}
	struct sigma_ruleset rs;
	sigma_ruleset_init(&rs);
	sigma_load_path(&rs, dir, devnull, false);
	assert_int_equal(sigma_load_builtin(&rs, devnull, false), 0);
	build_corpus(&rs);
	replay_same(&rs, NULL, "SigmaHQ linux + built-in rules");
	sigma_ruleset_free(&rs);
}

int main(void)
{
	devnull = fopen("/dev/null", "w");
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_keys_from_shapes),
		cmocka_unit_test(test_new_directories),
		cmocka_unit_test(test_replay_builtin),
		cmocka_unit_test(test_replay_sigmahq),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
