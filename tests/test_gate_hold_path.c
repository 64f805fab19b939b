/* Whether the reader's allow of a held exec must read the file's resolved path:
 * only when a blocking rule selects on Image or a blocking path: indicator is
 * loaded; otherwise the judgement without the path is the one with it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "detect.h"
#include "decode.h"

#define RULE(id, action, sel)                                                                                  \
	"---\ntitle: " id "\nid: " id "\nlogsource: {category: process_creation, product: linux}\n"            \
	"immune: {action: " action "}\ndetection:\n  sel:\n" sel "  condition: sel\n"

static char dir[] = "/tmp/immune-test-hold-path.XXXXXX";

static const char *put(const char *name, const char *text)
{
	static char path[4][256];
	static int k;
	char *p = path[k++ % 4];
	snprintf(p, sizeof(path[0]), "%s/%s", dir, name);
	FILE *f = fopen(p, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	return p;
}

static struct detect *load(const char *rules, const char *iocs)
{
	static FILE *log;
	char err[256];
	const char *r = put("rules.yml", rules), *i = iocs ? put("iocs", iocs) : NULL;
	if (!log)
		log = fopen("/dev/null", "w");
	struct detect_opts o = { .rule_paths = &r, .nrule_paths = 1, .no_builtin = true, .log = log,
				 .ioc_paths = &i, .nioc_paths = iocs ? 1 : 0 };
	struct detect *d = detect_new(&o, err, sizeof(err));
	if (!d)
		fail_msg("%s", err);
	return d;
}

/* a held exec as the reader reads it, with or without the resolved path */
static void held_exec(struct imm_event *ev, const char *cmdline, bool path)
{
	static const char *argv[3];
	event_clear(ev);
	ev->type = EBPF_EVENT_EXEC;
	ev->outcome = IMM_OUTCOME_SUCCESS;
	ev->gate_held = 1;
	ev->pid = ev->tid = 4242;
	ev->ppid = 1;
	ev->filename = "/usr/local/bin/tool"; /* a symlink to what runs */
	ev->executable = path ? "/opt/tool/bin/tool-1.2" : "";
	ev->name = path ? "tool-1.2" : "";
	argv[0] = "tool";
	argv[1] = cmdline;
	ev->argv[0] = argv[0];
	ev->argv[1] = argv[1];
	ev->argc = 2;
	ev->command_line = cmdline;
	ev->cwd = "/home/alice";
	ev->parent_executable = "/usr/bin/bash";
	ev->parent_command_line = "-bash";
}

static void test_cmdline_rules_need_no_path(void **s)
{
	(void)s;
	struct detect *d = load(RULE("cmd", "block", "    CommandLine|contains: 'evil-argument'\n")
				RULE("parent", "kill", "    ParentImage|endswith: '/never-parent'\n")
				RULE("image-alert", "alert", "    Image|endswith: '/tool-1.2'\n"),
				"action: alert\npath:/opt/tool/bin/tool-1.2\n");
	assert_false(detect_hold_reads_exec_path(d));
	struct imm_event with, without;
	const char *lines[] = { "tool --fine", "tool evil-argument", "" };
	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		held_exec(&with, lines[i], true);
		held_exec(&without, lines[i], false);
		assert_int_equal(detect_would_act(d, &with, NULL), detect_would_act(d, &without, NULL));
	}
	held_exec(&without, "tool evil-argument", false);
	assert_true(detect_would_act(d, &without, NULL));
	detect_free(d);
}

static void test_image_rules_and_path_indicators_need_it(void **s)
{
	(void)s;
	/* the symlinked name alone would not match: the resolved path must be read */
	struct detect *d = load(RULE("image-and-cmd", "block",
				     "    Image|endswith: '/tool-1.2'\n    CommandLine|contains: 'x'\n"),
				NULL);
	assert_true(detect_hold_reads_exec_path(d));
	struct imm_event ev;
	held_exec(&ev, "tool x", true);
	assert_true(detect_would_act(d, &ev, NULL));
	held_exec(&ev, "tool x", false);
	assert_false(detect_would_act(d, &ev, NULL));
	detect_free(d);

	d = load(RULE("cmd", "block", "    CommandLine|contains: 'never'\n"), "action: block\npath:/opt/tool/bin/tool-1.2\n");
	assert_true(detect_hold_reads_exec_path(d));
	held_exec(&ev, "tool x", true);
	assert_true(detect_would_act(d, &ev, NULL));
	detect_free(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cmdline_rules_need_no_path),
		cmocka_unit_test(test_image_rules_and_path_indicators_need_it),
	};
	if (!mkdtemp(dir))
		return 1;
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		rc = rc ? rc : 1;
	return rc;
}
