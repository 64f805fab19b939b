/* Decode, JSON output and parse, and the process table: no kernel needed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "decode.h"
#include "event_json.h"
#include "immune.h"
#include "proc.h"
#include "incident.h"

/* Build an exec record with the given strings; returns its size. */
static size_t make_exec(unsigned char *buf, const char *filename, const char *exe, const char *args, size_t args_len,
			const char *cwd)
{
	struct imm_exec *e = (void *)buf;
	memset(e, 0, sizeof(*e));
	e->h.kind = IMM_K_EXEC;
	e->h.pid = 100;
	e->h.tid = 100;
	e->h.ppid = 1;
	e->h.uid = 1000;
	e->h.gid = 1000;
	e->h.loginuid = 1000;
	e->h.ts_ns = 5000000000ULL;
	memcpy(e->h.comm, "evil", 5);
	e->dev = (8ULL << 20) | 1; /* kernel MKDEV(8, 1) */
	e->ino = 42;
	e->argc = 3;
	char *p = e->data;
	e->filename_len = strlen(filename) + 1;
	memcpy(p, filename, e->filename_len);
	p += e->filename_len;
	e->exe_len = strlen(exe) + 1;
	memcpy(p, exe, e->exe_len);
	p += e->exe_len;
	e->args_len = args_len;
	memcpy(p, args, args_len);
	p += args_len;
	e->cwd_len = strlen(cwd) + 1;
	memcpy(p, cwd, e->cwd_len);
	p += e->cwd_len;
	e->h.size = p - (char *)buf;
	return e->h.size;
}

static void test_decode_exec(void **state)
{
	(void)state;
	unsigned char buf[4096];
	struct imm_event ev;
	struct arena a = { 0 };
	size_t n = make_exec(buf, "./x", "/usr/bin/x", "x\0-a\0two words\0", 15, "/home/u");

	assert_int_equal(decode_record(buf, n, &ev, &a), 0);
	assert_int_equal(ev.type, EBPF_EVENT_EXEC);
	assert_int_equal(ev.outcome, IMM_OUTCOME_SUCCESS);
	assert_string_equal(ev.filename, "./x");
	assert_string_equal(ev.executable, "/usr/bin/x");
	assert_string_equal(ev.name, "x");
	assert_int_equal(ev.argc, 3);
	assert_string_equal(ev.argv[2], "two words");
	assert_string_equal(ev.command_line, "x -a two words");
	assert_string_equal(ev.cwd, "/home/u");
	assert_int_equal(ev.exe_dev, makedev(8, 1));
	assert_int_equal(ev.exe_ino, 42);
	assert_int_equal(ev.truncated, 0);
	arena_free(&a);
}

/* Every declared length past the record's end is refused, never read. */
static void test_decode_rejects_bad_lengths(void **state)
{
	(void)state;
	unsigned char buf[4096];
	struct imm_event ev;
	struct arena a = { 0 };
	size_t n = make_exec(buf, "/x", "/x", "x\0", 2, "/");
	struct imm_exec *e = (void *)buf;

	e->cwd_len = 4000;
	assert_int_equal(decode_record(buf, n, &ev, &a), -EINVAL);
	n = make_exec(buf, "/x", "/x", "x\0", 2, "/");
	e->args_len = 60000;
	assert_int_equal(decode_record(buf, n, &ev, &a), -EINVAL);
	n = make_exec(buf, "/x", "/x", "x\0", 2, "/");
	assert_int_equal(decode_record(buf, sizeof(struct imm_hdr) - 1, &ev, &a), -EINVAL);
	e->h.kind = 77;
	assert_int_equal(decode_record(buf, n, &ev, &a), -EINVAL);
	n = make_exec(buf, "/x", "/x", "x\0", 2, "/");
	e->h.size = n + 100; /* claims more than was delivered */
	assert_int_equal(decode_record(buf, n, &ev, &a), -EINVAL);
	arena_free(&a);
}

static void test_decode_connect_unix_abstract(void **state)
{
	(void)state;
	struct imm_connect c = { 0 };
	struct imm_event ev;
	struct arena a = { 0 };
	c.h.kind = IMM_K_CONNECT;
	c.h.size = sizeof(c);
	c.family = AF_UNIX;
	c.addrlen = 2 + 5;
	memcpy(c.unix_path, "\0sock", 5);
	c.ret = -111;
	assert_int_equal(decode_record(&c, sizeof(c), &ev, &a), 0);
	assert_string_equal(ev.unix_path, "@sock");
	assert_string_equal(ev.transport, "unix");
	assert_int_equal(ev.outcome, IMM_OUTCOME_FAILURE);
	assert_int_equal(ev.error_code, 111);

	memset(&c, 0, sizeof(c));
	c.h.kind = IMM_K_CONNECT;
	c.h.size = sizeof(c);
	c.family = AF_INET6;
	c.sock_type = SOCK_STREAM;
	c.port = 443;
	inet_pton(AF_INET6, "2001:db8::1", c.addr);
	assert_int_equal(decode_record(&c, sizeof(c), &ev, &a), 0);
	assert_string_equal(ev.dst_ip, "2001:db8::1");
	assert_int_equal(ev.dst_port, 443);
	assert_string_equal(ev.transport, "tcp");
	arena_free(&a);
}

/* Hostile names (newline, quotes, invalid UTF-8) still give one valid JSON line, and replay reads it back. */
static void test_json_hostile_round_trip(void **state)
{
	(void)state;
	unsigned char buf[4096];
	struct imm_event ev, back;
	struct arena a = { 0 }, b = { 0 };
	struct jw w = { 0 };
	char err[256];
	const char *hostile = "/tmp/a\"b\nc\\d\x01\xff\xfe.sh";
	size_t n = make_exec(buf, hostile, hostile, "sh\0-c\0echo \"hi\"\n\0", 17, "/tmp");

	assert_int_equal(decode_record(buf, n, &ev, &a), 0);
	jw_reset(&w);
	event_write_json(&w, &ev);
	assert_null(strchr(w.buf, '\n'));
	cJSON *j = cJSON_Parse(w.buf);
	assert_non_null(j);
	const cJSON *exe = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "process"), "executable");
	/* control bytes escaped, invalid bytes as U+FFFD */
	assert_string_equal(exe->valuestring, "/tmp/a\"b\nc\\d\x01\xef\xbf\xbd\xef\xbf\xbd.sh");
	cJSON_Delete(j);

	assert_int_equal(event_from_json(w.buf, &back, &b, err, sizeof(err)), 0);
	assert_int_equal(back.type, EBPF_EVENT_EXEC);
	assert_int_equal(back.pid, 100);
	assert_int_equal(back.uid, 1000);
	assert_int_equal(back.loginuid, 1000);
	assert_int_equal(back.argc, 3);
	assert_string_equal(back.argv[2], "echo \"hi\"\n");
	assert_string_equal(back.cwd, "/tmp");
	assert_int_equal(back.exe_ino, 42);
	assert_int_equal(back.exe_dev, makedev(8, 1));
	assert_int_equal(back.time_ns, ev.time_ns);

	assert_int_equal(event_from_json("{\"event\":{\"action\":\"bogus\"}}", &back, &b, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "bogus"));
	assert_int_equal(event_from_json("not json", &back, &b, err, sizeof(err)), -EINVAL);
	jw_free(&w);
	arena_free(&a);
	arena_free(&b);
}

/* Long runs of bytes that grow when escaped: no write past the buffer. */
static void test_json_escape_growth(void **state)
{
	(void)state;
	struct jw w = { 0 };
	char *s = malloc(20001);
	for (int i = 0; i < 20000; i++)
		s[i] = i % 3 == 0 ? '\xff' : i % 3 == 1 ? '\n' : 'a';
	s[20000] = 0;
	jw_reset(&w);
	jw_obj(&w, NULL);
	jw_str(&w, "k", s);
	jw_end_obj(&w);
	cJSON *j = cJSON_Parse(w.buf);
	assert_non_null(j);
	assert_int_equal(strlen(cJSON_GetObjectItem(j, "k")->valuestring), 6667 * 3 + 6667 + 6666);
	cJSON_Delete(j);
	free(s);
	jw_free(&w);
}

static void test_text_line_escapes(void **state)
{
	(void)state;
	unsigned char buf[4096];
	struct imm_event ev;
	struct arena a = { 0 };
	struct jw w = { 0 };
	size_t n = make_exec(buf, "/x", "/tmp/new\nline", "x\0", 2, "/");
	assert_int_equal(decode_record(buf, n, &ev, &a), 0);
	jw_reset(&w);
	event_write_text(&w, &ev);
	assert_null(strchr(w.buf, '\n'));
	assert_non_null(strstr(w.buf, "/tmp/new\\x0aline"));
	jw_free(&w);
	arena_free(&a);
}

static void test_proc_table_lineage(void **state)
{
	(void)state;
	struct proc_table *t = proc_new(8);
	struct arena a = { 0 };
	struct imm_event ev;

	/* 10 execs → exec 11 → fork 12 → open from 12 sees parent 11 */
	event_clear(&ev);
	ev.type = EBPF_EVENT_EXEC;
	ev.pid = 11;
	ev.ppid = 10;
	ev.executable = "/usr/sbin/sshd";
	ev.command_line = "sshd -D";
	proc_apply(t, &ev, &a);
	event_clear(&ev);
	ev.type = EBPF_EVENT_FORK;
	ev.pid = 12;
	ev.ppid = 11;
	proc_apply(t, &ev, &a);
	assert_string_equal(proc_get(t, 12)->exe, "/usr/sbin/sshd");
	event_clear(&ev);
	ev.type = EBPF_EVENT_EXEC;
	ev.pid = 12;
	ev.ppid = 11;
	ev.executable = "/bin/bash";
	ev.command_line = "bash -i";
	proc_apply(t, &ev, &a);
	event_clear(&ev);
	ev.type = EBPF_EVENT_OPEN;
	ev.pid = 12;
	ev.ppid = 11;
	proc_apply(t, &ev, &a);
	assert_string_equal(ev.executable, "/bin/bash");
	assert_string_equal(ev.command_line, "bash -i");
	assert_string_equal(ev.parent_executable, "/usr/sbin/sshd");
	assert_string_equal(ev.parent_command_line, "sshd -D");
	uint32_t anc[4];
	assert_int_equal(proc_ancestors(t, 12, anc, 4), 2);
	assert_int_equal(anc[0], 11);
	assert_int_equal(anc[1], 10);

	/* exit removes; the table stays bounded */
	event_clear(&ev);
	ev.type = EBPF_EVENT_EXIT;
	ev.pid = 12;
	ev.ppid = 11;
	proc_apply(t, &ev, &a);
	assert_null(proc_get(t, 12));
	for (uint32_t pid = 1000; pid < 1100; pid++) {
		event_clear(&ev);
		ev.type = EBPF_EVENT_FORK;
		ev.pid = 4000000 + pid; /* no such pid: evictable */
		ev.ppid = 11;
		proc_apply(t, &ev, &a);
	}
	assert_true(proc_count(t) <= 8);
	assert_true(proc_evicted(t) > 0);
	proc_free(t);
	arena_free(&a);
}

/* Enrichment attaches the chain the process table knows, parent first; incidents write it as valid UTF-8. */
static void test_enrich_ancestors(void **state)
{
	(void)state;
	struct proc_table *t = proc_new(0);
	struct arena a = { 0 };
	struct imm_event ev;
	const char *exes[] = { "/sbin/init", "/usr/sbin/sshd", "/bin/ba\xffsh" };
	for (uint32_t pid = 1; pid <= 3; pid++) {
		event_clear(&ev);
		ev.type = EBPF_EVENT_EXEC;
		ev.pid = pid;
		ev.ppid = pid - 1;
		ev.executable = exes[pid - 1];
		ev.command_line = exes[pid - 1];
		proc_apply(t, &ev, &a);
	}
	event_clear(&ev);
	ev.type = EBPF_EVENT_OPEN;
	ev.pid = 4;
	ev.ppid = 3;
	ev.path = ev.abs_path = "/etc/shadow";
	proc_apply(t, &ev, &a);
	assert_int_equal(ev.nancestors, 3);
	assert_int_equal(ev.ancestors[0].pid, 3);
	assert_string_equal(ev.ancestors[0].executable, "/bin/ba\xffsh");
	assert_int_equal(ev.ancestors[1].pid, 2);
	assert_string_equal(ev.ancestors[1].command_line, "/usr/sbin/sshd");
	assert_int_equal(ev.ancestors[2].pid, 1);
	assert_string_equal(ev.ancestors[2].executable, "/sbin/init");

	/* the output only writes what enrichment attached */
	struct incident in = { .ev = &ev, .host = "h", .rule_id = "r", .rule_title = "t", .rule_level = "low",
			       .action = IMM_ACTION_ALERT, .verdict = "alerted" };
	struct jw w = { 0 };
	jw_reset(&w);
	incident_write_json(&w, &in);
	cJSON *j = cJSON_Parse(w.buf);
	jw_free(&w);
	assert_non_null(j);
	const cJSON *anc = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "process"), "ancestors");
	assert_int_equal(cJSON_GetArraySize(anc), 3);
	assert_int_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(anc, 0), "pid")->valueint, 3);
	assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(anc, 0), "executable")->valuestring,
			    "/bin/ba\xef\xbf\xbdsh");
	assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(anc, 2), "executable")->valuestring, "/sbin/init");
	cJSON_Delete(j);

	/* a pid the table does not know: listed, with nothing more */
	event_clear(&ev);
	ev.type = EBPF_EVENT_OPEN;
	ev.pid = 40;
	ev.ppid = 39;
	proc_apply(t, &ev, &a);
	assert_int_equal(ev.nancestors, 1);
	assert_int_equal(ev.ancestors[0].pid, 39);
	assert_null(ev.ancestors[0].executable);
	proc_free(t);
	arena_free(&a);
}

static void test_proc_seed_self(void **state)
{
	(void)state;
	struct proc_table *t = proc_new(0);
	assert_true(proc_seed(t, "/proc") > 0);
	const struct proc_entry *me = proc_get(t, getpid());
	assert_non_null(me);
	assert_int_equal(me->ppid, getppid());
	char exe[4096];
	ssize_t r = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	exe[r > 0 ? r : 0] = 0;
	assert_string_equal(me->exe, exe);
	proc_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_decode_exec),
		cmocka_unit_test(test_decode_rejects_bad_lengths),
		cmocka_unit_test(test_decode_connect_unix_abstract),
		cmocka_unit_test(test_json_hostile_round_trip),
		cmocka_unit_test(test_json_escape_growth),
		cmocka_unit_test(test_text_line_escapes),
		cmocka_unit_test(test_proc_table_lineage),
		cmocka_unit_test(test_enrich_ancestors),
		cmocka_unit_test(test_proc_seed_self),
	};
	return cmocka_run_group_tests_name("event", tests, NULL, NULL);
}
