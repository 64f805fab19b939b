/* struct imm_event ⇄ ECS JSON (schema/event.schema.json), and the text line. */
#include "event_json.h"
#include "immune.h"
#include "decode.h"

#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

static const char *const kind_names[] = { "exec", "open", "connect", "fork", "exit" };

const char *event_kind_name(ebpf_event_type_t t)
{
	return (unsigned)t < sizeof(kind_names) / sizeof(kind_names[0]) ? kind_names[t] : "unknown";
}

int event_kind_from_name(const char *s)
{
	for (unsigned i = 0; i < sizeof(kind_names) / sizeof(kind_names[0]); i++)
		if (strcmp(s, kind_names[i]) == 0)
			return (int)i;
	return -1;
}

static const char *const outcome_names[] = { "success", "failure", "denied", "unknown" };

static const struct { uint32_t bit; const char *name; } trunc_names[] = {
	{ IMM_TRUNC_ARGS, "args" },   { IMM_TRUNC_FILENAME, "filename" }, { IMM_TRUNC_PATH, "path" },
	{ IMM_TRUNC_CWD, "cwd" },     { IMM_TRUNC_DEPTH, "depth" },       { IMM_TRUNC_ARGC, "argc" },
};

static const struct { uint32_t bit; const char *name; } open_flag_names[] = {
	{ O_CREAT, "O_CREAT" },	    { O_EXCL, "O_EXCL" },	{ O_NOCTTY, "O_NOCTTY" },
	{ O_TRUNC, "O_TRUNC" },	    { O_APPEND, "O_APPEND" },	{ O_NONBLOCK, "O_NONBLOCK" },
	{ O_DSYNC, "O_DSYNC" },	    { O_DIRECT, "O_DIRECT" },	{ 0100000 /* the kernel's O_LARGEFILE; 0 in x86-64 userspace */, "O_LARGEFILE" },
	{ O_DIRECTORY, "O_DIRECTORY" }, { O_NOFOLLOW, "O_NOFOLLOW" }, { O_NOATIME, "O_NOATIME" },
	{ O_CLOEXEC, "O_CLOEXEC" }, { O_SYNC, "O_SYNC" },	{ O_PATH, "O_PATH" },
	{ O_TMPFILE, "O_TMPFILE" },
};

static const char *const open_syscalls[] = { "openat", "open", "creat", "openat2" };
static const char *const exec_syscalls[] = { "execve", "execveat" };

void event_timestamp(int64_t ns, char *buf, size_t n)
{
	time_t s = ns / 1000000000LL;
	struct tm tm;
	gmtime_r(&s, &tm);
	size_t k = strftime(buf, n, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + k, n - k, ".%09lld" "Z", (long long)(ns % 1000000000LL));
}

static const char *errno_name(int e)
{
	const char *n = e ? strerrorname_np(e) : NULL;
	return n ? n : "E?";
}

static const char *family_name(int f)
{
	return f == AF_INET ? "AF_INET" : f == AF_INET6 ? "AF_INET6" : f == AF_UNIX ? "AF_UNIX" : "AF_?";
}

static const char *socktype_name(int t)
{
	switch (t) {
	case SOCK_STREAM: return "SOCK_STREAM";
	case SOCK_DGRAM: return "SOCK_DGRAM";
	case SOCK_RAW: return "SOCK_RAW";
	case SOCK_SEQPACKET: return "SOCK_SEQPACKET";
	default: return "";
	}
}

void event_write_json(struct jw *w, const struct imm_event *ev)
{
	event_write_json_more(w, ev, NULL, NULL, NULL);
}

void event_write_json_more(struct jw *w, const struct imm_event *ev, const char *kind, event_json_more_fn more,
			   void *ctx)
{
	char ts[64];

	event_timestamp(ev->time_ns, ts, sizeof(ts));
	jw_obj(w, NULL);
	jw_str(w, "@timestamp", ts);

	jw_obj(w, "event");
	jw_str(w, "kind", kind ? kind : "event");
	jw_arr(w, "category");
	jw_str(w, NULL, ev->type == EBPF_EVENT_OPEN ? "file" : ev->type == EBPF_EVENT_CONNECT ? "network" : "process");
	jw_end_arr(w);
	jw_arr(w, "type");
	switch (ev->type) {
	case EBPF_EVENT_EXEC: jw_str(w, NULL, "start"); break;
	case EBPF_EVENT_OPEN:
		jw_str(w, NULL, (ev->open_flags & O_CREAT) ? "creation" : "access");
		break;
	case EBPF_EVENT_CONNECT: jw_str(w, NULL, "connection"); jw_str(w, NULL, "start"); break;
	case EBPF_EVENT_FORK: jw_str(w, NULL, "start"); break;
	case EBPF_EVENT_EXIT: jw_str(w, NULL, "end"); break;
	}
	jw_end_arr(w);
	jw_str(w, "action", event_kind_name(ev->type));
	jw_str(w, "outcome", outcome_names[ev->outcome <= IMM_OUTCOME_UNKNOWN ? ev->outcome : IMM_OUTCOME_UNKNOWN]);
	if (more)
		more(w, EJ_EVENT, ctx);
	jw_end_obj(w);

	if (ev->error_code) {
		jw_obj(w, "error");
		jw_str(w, "code", errno_name(ev->error_code));
		jw_int(w, "id", ev->error_code);
		jw_end_obj(w);
	}

	jw_obj(w, "process");
	jw_uint(w, "pid", ev->pid);
	jw_obj(w, "thread");
	jw_uint(w, "id", ev->tid);
	jw_end_obj(w);
	jw_str(w, "executable", ev->executable);
	jw_str(w, "name", ev->name);
	if (ev->type == EBPF_EVENT_EXEC && ev->outcome != IMM_OUTCOME_FAILURE) {
		jw_arr(w, "args");
		for (int i = 0; i < ev->argc; i++)
			jw_str(w, NULL, ev->argv[i]);
		jw_end_arr(w);
		jw_int(w, "args_count", ev->argc);
	}
	jw_str(w, "command_line", ev->command_line);
	jw_str(w, "working_directory", ev->cwd);
	if (ev->type == EBPF_EVENT_EXIT)
		jw_int(w, "exit_code", ev->exit_code);
	jw_obj(w, "parent");
	jw_uint(w, "pid", ev->ppid);
	jw_str(w, "executable", ev->parent_executable);
	jw_str(w, "command_line", ev->parent_command_line);
	jw_end_obj(w);
	if (more)
		more(w, EJ_PROCESS, ctx);
	jw_end_obj(w);

	char num[24];
	jw_obj(w, "user");
	snprintf(num, sizeof(num), "%u", ev->uid);
	jw_str(w, "id", num);
	if (ev->user_name[0])
		jw_str(w, "name", ev->user_name);
	jw_end_obj(w);
	jw_obj(w, "group");
	snprintf(num, sizeof(num), "%u", ev->gid);
	jw_str(w, "id", num);
	jw_end_obj(w);

	if (ev->type == EBPF_EVENT_OPEN || ev->type == EBPF_EVENT_EXEC) {
		jw_obj(w, "file");
		jw_str(w, "path", ev->type == EBPF_EVENT_OPEN ? ev->abs_path : ev->path);
		if (ev->file_ino) {
			snprintf(num, sizeof(num), "%" PRIu64, ev->file_ino);
			jw_str(w, "inode", num);
			snprintf(num, sizeof(num), "%" PRIu64, ev->file_dev);
			jw_str(w, "device", num);
		}
		jw_end_obj(w);
	}
	if (ev->type == EBPF_EVENT_CONNECT) {
		jw_obj(w, "destination");
		if (ev->family == AF_UNIX) {
			jw_str(w, "address", ev->unix_path);
		} else {
			jw_str(w, "ip", ev->dst_ip);
			jw_uint(w, "port", ev->dst_port);
			jw_str(w, "address", ev->dst_ip);
		}
		jw_end_obj(w);
		jw_obj(w, "network");
		jw_str(w, "transport", ev->transport);
		if (ev->family != AF_UNIX)
			jw_str(w, "type", ev->family == AF_INET6 ? "ipv6" : "ipv4");
		jw_end_obj(w);
	}

	jw_obj(w, "immune");
	jw_arr(w, "truncated");
	for (unsigned i = 0; i < sizeof(trunc_names) / sizeof(trunc_names[0]); i++)
		if (ev->truncated & trunc_names[i].bit)
			jw_str(w, NULL, trunc_names[i].name);
	jw_end_arr(w);
	jw_uint(w, "loginuid", ev->loginuid);
	jw_uint(w, "cgroup_id", ev->cgroup_id);
	jw_str(w, "comm", ev->comm);
	jw_uint(w, "boot_ns", ev->ts_boot_ns);
	if (ev->flags & IMM_F_KILLED)
		jw_bool(w, "killed", true);
	switch (ev->type) {
	case EBPF_EVENT_EXEC:
		jw_obj(w, "exec");
		jw_str(w, "filename", ev->filename);
		jw_str(w, "syscall", exec_syscalls[ev->syscall == IMM_SYS_EXECVEAT]);
		jw_int(w, "ret", ev->ret);
		jw_end_obj(w);
		break;
	case EBPF_EVENT_OPEN:
		jw_obj(w, "open");
		jw_arr(w, "flags");
		jw_str(w, NULL, (ev->open_flags & O_ACCMODE) == O_RDONLY ? "O_RDONLY" :
				(ev->open_flags & O_ACCMODE) == O_WRONLY ? "O_WRONLY" :
				(ev->open_flags & O_ACCMODE) == O_RDWR ? "O_RDWR" : "O_ACCMODE");
		for (unsigned i = 0; i < sizeof(open_flag_names) / sizeof(open_flag_names[0]); i++)
			if ((ev->open_flags & open_flag_names[i].bit) == open_flag_names[i].bit)
				jw_str(w, NULL, open_flag_names[i].name);
		jw_end_arr(w);
		jw_uint(w, "flags_raw", ev->open_flags);
		jw_uint(w, "mode", ev->open_mode);
		jw_str(w, "path_as_passed", ev->path);
		jw_str(w, "syscall", open_syscalls[(unsigned)ev->syscall < 4 ? ev->syscall : 0]);
		jw_int(w, "ret", ev->ret);
		jw_end_obj(w);
		break;
	case EBPF_EVENT_CONNECT:
		jw_obj(w, "connect");
		jw_str(w, "family", family_name(ev->family));
		jw_str(w, "sock_type", socktype_name(ev->sock_type));
		jw_int(w, "ret", ev->ret);
		jw_end_obj(w);
		break;
	case EBPF_EVENT_FORK:
		break;
	case EBPF_EVENT_EXIT:
		break;
	}
	if (more)
		more(w, EJ_IMMUNE, ctx);
	jw_end_obj(w);
	if (more)
		more(w, EJ_TOP, ctx);
	jw_end_obj(w);
}

/* Text: one aligned line per event, like execsnoop. Control bytes are shown escaped. */
static void put_text(struct jw *w, const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p < 0x20 || *p == 0x7f) {
			char b[8];
			jw_append(w, b, snprintf(b, sizeof(b), "\\x%02x", *p));
		} else {
			jw_append(w, (const char *)p, 1);
		}
	}
}

void event_write_text(struct jw *w, const struct imm_event *ev)
{
	char ts[64], head[160];
	time_t s = ev->time_ns / 1000000000LL;
	struct tm tm;

	localtime_r(&s, &tm);
	strftime(ts, sizeof(ts), "%H:%M:%S", &tm);
	int ret = ev->error_code ? -ev->error_code : (int)ev->ret;
	if (ev->type == EBPF_EVENT_EXIT)
		ret = ev->exit_code;
	snprintf(head, sizeof(head), "%s.%03d %-7s %-7u %-7u %-6u %-16s %5d%s ", ts,
		 (int)(ev->time_ns / 1000000 % 1000), event_kind_name(ev->type), ev->pid, ev->ppid, ev->uid,
		 ev->comm, ret, ev->outcome == IMM_OUTCOME_DENIED ? " DENIED" : "");
	put_text(w, head); /* comm is the process's own: escaped too */
	switch (ev->type) {
	case EBPF_EVENT_EXEC:
		put_text(w, ev->outcome == IMM_OUTCOME_FAILURE ? ev->filename : ev->executable);
		for (int i = 1; i < ev->argc; i++) {
			put_text(w, " ");
			put_text(w, ev->argv[i]);
		}
		break;
	case EBPF_EVENT_OPEN:
		put_text(w, ev->abs_path);
		break;
	case EBPF_EVENT_CONNECT:
		if (ev->family == AF_UNIX) {
			put_text(w, "unix:");
			put_text(w, ev->unix_path);
		} else {
			char b[80];
			snprintf(b, sizeof(b), ev->family == AF_INET6 ? "[%s]:%u" : "%s:%u", ev->dst_ip, ev->dst_port);
			put_text(w, b);
		}
		break;
	case EBPF_EVENT_FORK:
	case EBPF_EVENT_EXIT:
		put_text(w, ev->executable);
		break;
	}
	if (ev->truncated)
		put_text(w, " [truncated]");
}

/* ---------------------------------------------------------------- parse */

static const cJSON *get(const cJSON *o, const char *path)
{
	char part[64];
	const char *p = path;
	while (o && *p) {
		const char *dot = strchr(p, '.');
		size_t n = dot ? (size_t)(dot - p) : strlen(p);
		if (n >= sizeof(part))
			return NULL;
		memcpy(part, p, n);
		part[n] = 0;
		o = cJSON_GetObjectItemCaseSensitive(o, part);
		p += n + (dot ? 1 : 0);
	}
	return o;
}

static const char *gstr(const cJSON *o, const char *path, struct arena *a)
{
	const cJSON *v = get(o, path);
	return cJSON_IsString(v) ? arena_strdup(a, v->valuestring) : "";
}

static int64_t gnum(const cJSON *o, const char *path, int64_t def)
{
	const cJSON *v = get(o, path);
	if (cJSON_IsNumber(v))
		return (int64_t)v->valuedouble;
	if (cJSON_IsString(v) && v->valuestring[0])
		return strtoll(v->valuestring, NULL, 10);
	return def;
}

static int64_t parse_ts(const char *s)
{
	struct tm tm = { 0 };
	const char *p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	if (!p)
		return -1;
	int64_t ns = (int64_t)timegm(&tm) * 1000000000LL;
	if (*p == '.') {
		int64_t frac = 0, scale = 1000000000LL;
		for (p++; *p >= '0' && *p <= '9'; p++) {
			scale /= 10;
			frac += (*p - '0') * scale;
		}
		ns += frac;
	}
	return ns;
}

int event_from_json(const char *line, struct imm_event *ev, struct arena *a, char *err, size_t errlen)
{
	cJSON *j = cJSON_Parse(line);
	int rc = -EINVAL;

	event_clear(ev);
	if (!j || !cJSON_IsObject(j)) {
		snprintf(err, errlen, "not a JSON object");
		goto out;
	}
	const char *action = gstr(j, "event.action", a);
	int kind = event_kind_from_name(action);
	if (kind < 0) {
		snprintf(err, errlen, "event.action '%.40s' is not exec, open, connect, fork or exit", action);
		goto out;
	}
	ev->type = kind;
	const char *ts = gstr(j, "@timestamp", a);
	ev->time_ns = ts[0] ? parse_ts(ts) : 0;
	if (ev->time_ns < 0) {
		snprintf(err, errlen, "@timestamp '%.40s' is not RFC 3339", ts);
		goto out;
	}
	const char *oc = gstr(j, "event.outcome", a);
	ev->outcome = IMM_OUTCOME_SUCCESS;
	for (int i = 0; i <= IMM_OUTCOME_UNKNOWN; i++)
		if (strcmp(oc, outcome_names[i]) == 0)
			ev->outcome = i;
	ev->error_code = gnum(j, "error.id", 0);
	ev->pid = gnum(j, "process.pid", 0);
	ev->tid = gnum(j, "process.thread.id", ev->pid);
	ev->ppid = gnum(j, "process.parent.pid", 0);
	ev->uid = gnum(j, "user.id", 0);
	ev->gid = gnum(j, "group.id", 0);
	ev->loginuid = gnum(j, "immune.loginuid", (uint32_t)-1);
	ev->cgroup_id = gnum(j, "immune.cgroup_id", 0);
	ev->ts_boot_ns = gnum(j, "immune.boot_ns", 0);
	snprintf(ev->comm, sizeof(ev->comm), "%s", gstr(j, "immune.comm", a));
	ev->executable = gstr(j, "process.executable", a);
	ev->name = gstr(j, "process.name", a);
	ev->command_line = gstr(j, "process.command_line", a);
	ev->cwd = gstr(j, "process.working_directory", a);
	ev->parent_executable = gstr(j, "process.parent.executable", a);
	ev->parent_command_line = gstr(j, "process.parent.command_line", a);
	ev->user_name = gstr(j, "user.name", a);
	ev->exit_code = gnum(j, "process.exit_code", 0);
	const cJSON *args = get(j, "process.args"), *it;
	ev->argc = 0;
	cJSON_ArrayForEach(it, args)
	{
		if (ev->argc < IMM_EVENT_MAX_ARGS && cJSON_IsString(it))
			ev->argv[ev->argc++] = arena_strdup(a, it->valuestring);
	}
	const cJSON *tr = get(j, "immune.truncated");
	cJSON_ArrayForEach(it, tr)
	{
		for (unsigned i = 0; i < sizeof(trunc_names) / sizeof(trunc_names[0]); i++)
			if (cJSON_IsString(it) && strcmp(it->valuestring, trunc_names[i].name) == 0)
				ev->truncated |= trunc_names[i].bit;
	}
	if (cJSON_IsTrue(get(j, "immune.killed")))
		ev->flags |= IMM_F_KILLED;
	if (ev->outcome == IMM_OUTCOME_DENIED)
		ev->flags |= IMM_F_DENIED;
	ev->file_ino = gnum(j, "file.inode", 0);
	ev->file_dev = gnum(j, "file.device", 0);

	switch (kind) {
	case EBPF_EVENT_EXEC:
		ev->filename = gstr(j, "immune.exec.filename", a);
		ev->syscall = strcmp(gstr(j, "immune.exec.syscall", a), "execveat") == 0;
		ev->ret = gnum(j, "immune.exec.ret", ev->error_code ? -ev->error_code : 0);
		ev->path = ev->abs_path = gstr(j, "file.path", a);
		ev->exe_dev = ev->file_dev;
		ev->exe_ino = ev->file_ino;
		break;
	case EBPF_EVENT_OPEN:
		ev->abs_path = gstr(j, "file.path", a);
		ev->path = gstr(j, "immune.open.path_as_passed", a);
		if (!ev->path[0])
			ev->path = ev->abs_path;
		ev->open_flags = gnum(j, "immune.open.flags_raw", 0);
		ev->open_mode = gnum(j, "immune.open.mode", 0);
		ev->ret = gnum(j, "immune.open.ret", ev->error_code ? -ev->error_code : 0);
		for (int i = 0; i < 4; i++)
			if (strcmp(gstr(j, "immune.open.syscall", a), open_syscalls[i]) == 0)
				ev->syscall = i;
		break;
	case EBPF_EVENT_CONNECT: {
		const char *fam = gstr(j, "immune.connect.family", a);
		const char *ip = gstr(j, "destination.ip", a);
		ev->ret = gnum(j, "immune.connect.ret", ev->error_code ? -ev->error_code : 0);
		ev->transport = gstr(j, "network.transport", a);
		if (strcmp(fam, "AF_UNIX") == 0 || strcmp(ev->transport, "unix") == 0) {
			ev->family = AF_UNIX;
			ev->unix_path = gstr(j, "destination.address", a);
		} else {
			unsigned char bin[16];
			ev->family = inet_pton(AF_INET6, ip, bin) == 1 ? AF_INET6 : AF_INET;
			if (ip[0] && inet_pton(ev->family, ip, bin) != 1) {
				snprintf(err, errlen, "destination.ip '%.46s' is not an IP address", ip);
				goto out;
			}
			snprintf(ev->dst_ip, sizeof(ev->dst_ip), "%s", ip);
			ev->dst_port = gnum(j, "destination.port", 0);
		}
		const char *st = gstr(j, "immune.connect.sock_type", a);
		ev->sock_type = strcmp(st, "SOCK_DGRAM") == 0 ? SOCK_DGRAM : strcmp(st, "SOCK_RAW") == 0 ? SOCK_RAW :
				strcmp(ev->transport, "udp") == 0 ? SOCK_DGRAM : SOCK_STREAM;
		break;
	}
	}
	if (!ev->command_line[0] && ev->argc) {
		size_t n = 0;
		for (int i = 0; i < ev->argc; i++)
			n += strlen(ev->argv[i]) + 1;
		char *cl = arena_alloc(a, n + 1), *q = cl;
		for (int i = 0; i < ev->argc; i++)
			q += sprintf(q, i ? " %s" : "%s", ev->argv[i]);
		ev->command_line = cl;
	}
	rc = 0;
out:
	cJSON_Delete(j);
	return rc;
}
