/* Kernel record → struct imm_event. Validates every length: a record is data, not trusted. */
#include "decode.h"
#include "immune.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/sysmacros.h>
#include <time.h>

static int64_t boot_to_real_offset_ns(void)
{
	static int64_t off;
	static time_t last;
	struct timespec rt, bt;
	time_t now = time(NULL);

	/* refresh now and then: the wall clock may be stepped */
	if (off && now - last < 10)
		return off;
	clock_gettime(CLOCK_REALTIME, &rt);
	clock_gettime(CLOCK_BOOTTIME, &bt);
	off = (rt.tv_sec - bt.tv_sec) * 1000000000LL + (rt.tv_nsec - bt.tv_nsec);
	last = now;
	return off;
}

/* Take the next string of declared length len (NUL included) from [*p, end). */
static int take_str(const char **p, const char *end, uint32_t len, struct arena *a, const char **out)
{
	if (len == 0) {
		*out = "";
		return 0;
	}
	if (len > (size_t)(end - *p))
		return -EINVAL;
	/* the kernel terminates each string; stop at the first NUL regardless */
	*out = arena_strndup(a, *p, strnlen(*p, len));
	*p += len;
	return 0;
}

/* The kernel's internal dev_t (major << 20 | minor) as stat(2) shows it. */
uint64_t decode_dev(uint64_t kdev)
{
	return kdev ? makedev(kdev >> 20, kdev & 0xfffff) : 0;
}

static const char *basename_of(const char *path)
{
	const char *s = strrchr(path, '/');
	return s && s[1] ? s + 1 : path;
}

void decode_args(struct imm_event *ev, const char *args, uint32_t len, struct arena *a)
{
	uint32_t i = 0;
	size_t total = 0;

	ev->argc = 0;
	while (i < len && ev->argc < IMM_EVENT_MAX_ARGS) {
		size_t l = strnlen(args + i, len - i);
		if (i + l == len && l == 0)
			break;
		ev->argv[ev->argc++] = arena_strndup(a, args + i, l);
		total += l + 1;
		i += l + 1;
	}
	if (i < len)
		ev->truncated |= IMM_TRUNC_ARGC;
	char *cl = arena_alloc(a, total + 1), *q = cl;
	for (int k = 0; k < ev->argc; k++) {
		size_t l = strlen(ev->argv[k]);
		if (k)
			*q++ = ' ';
		memcpy(q, ev->argv[k], l);
		q += l;
	}
	*q = 0;
	ev->command_line = cl;
}

static void fill_common(struct imm_event *ev, const struct imm_hdr *h)
{
	ev->type = (ebpf_event_type_t)h->kind;
	ev->ts_boot_ns = h->ts_ns;
	ev->time_ns = (int64_t)h->ts_ns + boot_to_real_offset_ns();
	ev->pid = h->pid;
	ev->tid = h->tid;
	ev->ppid = h->ppid;
	ev->uid = h->uid;
	ev->gid = h->gid;
	ev->loginuid = h->loginuid;
	ev->cgroup_id = h->cgroup_id;
	memcpy(ev->comm, h->comm, sizeof(ev->comm));
	ev->comm[sizeof(ev->comm) - 1] = 0;
	ev->truncated = h->truncated;
	ev->flags = h->flags;
	ev->outcome = (h->flags & IMM_F_DENIED) ? IMM_OUTCOME_DENIED : IMM_OUTCOME_SUCCESS;
}

/* -EINVAL when ret is negative but no errno (the kernel's are 1..4095). */
static int set_result(struct imm_event *ev, int64_t ret)
{
	if (ret < -4095)
		return -EINVAL;
	ev->ret = ret;
	if (ret < 0) {
		ev->error_code = (int)-ret;
		if (ev->outcome != IMM_OUTCOME_DENIED)
			ev->outcome = IMM_OUTCOME_FAILURE;
	}
	return 0;
}

void event_clear(struct imm_event *ev)
{
	memset(ev, 0, sizeof(*ev));
	ev->executable = ev->name = ev->command_line = ev->cwd = "";
	ev->parent_executable = ev->parent_command_line = ev->user_name = "";
	ev->filename = ev->path = ev->abs_path = ev->unix_path = ev->transport = "";
	ev->loginuid = (uint32_t)-1;
}

int decode_record(const void *data, size_t size, struct imm_event *ev, struct arena *a)
{
	const struct imm_hdr *h = data;

	event_clear(ev);
	/* a boot-time stamp past 2^62 ns (146 years up) is no kernel's: it would overflow the wall time */
	if (size < sizeof(*h) || h->size > size || h->kind >= IMM_K_MAX || h->ts_ns > (1ull << 62))
		return -EINVAL;
	fill_common(ev, h);

	switch (h->kind) {
	case IMM_K_EXEC: {
		const struct imm_exec *e = data;
		if (h->size < sizeof(*e)) /* h->size <= size: checked above */
			return -EINVAL;
		const char *p = e->data, *end = (const char *)data + h->size;
		const char *args;
		if (set_result(ev, e->ret))
			return -EINVAL;
		ev->syscall = e->syscall;
		ev->exe_dev = decode_dev(e->dev);
		ev->exe_ino = e->ino;
		if (take_str(&p, end, e->filename_len, a, &ev->filename) ||
		    take_str(&p, end, e->exe_len, a, &ev->executable))
			return -EINVAL;
		if (e->args_len > (size_t)(end - p))
			return -EINVAL;
		args = p;
		p += e->args_len;
		decode_args(ev, args, e->args_len, a);
		if (e->ret == 0 && (uint32_t)ev->argc < e->argc)
			ev->truncated |= IMM_TRUNC_ARGC;
		if (take_str(&p, end, e->cwd_len, a, &ev->cwd))
			return -EINVAL;
		/* a failed exec leaves the caller's image: the process table names it */
		if (ev->executable[0])
			ev->name = basename_of(ev->executable);
		ev->file_dev = ev->exe_dev;
		ev->file_ino = e->ino;
		ev->path = ev->executable[0] ? ev->executable : ev->filename;
		ev->abs_path = ev->path;
		return 0;
	}
	case IMM_K_OPEN: {
		const struct imm_open *o = data;
		if (h->size < sizeof(*o)) /* h->size <= size: checked above */
			return -EINVAL;
		const char *p = o->data, *end = (const char *)data + h->size;
		if (set_result(ev, o->ret))
			return -EINVAL;
		ev->open_flags = o->flags;
		ev->open_mode = o->mode;
		ev->syscall = o->syscall;
		ev->file_dev = decode_dev(o->dev);
		ev->file_ino = o->ino;
		if (take_str(&p, end, o->path_len, a, &ev->path) || take_str(&p, end, o->abs_len, a, &ev->abs_path))
			return -EINVAL;
		if (!ev->abs_path[0])
			ev->abs_path = ev->path;
		return 0;
	}
	case IMM_K_CONNECT: {
		const struct imm_connect *c = data;
		if (h->size < sizeof(*c)) /* h->size <= size: checked above */
			return -EINVAL;
		if (set_result(ev, c->ret))
			return -EINVAL;
		ev->family = c->family;
		ev->sock_type = c->sock_type;
		ev->dst_port = c->port;
		if (c->family == AF_INET) {
			inet_ntop(AF_INET, c->addr, ev->dst_ip, sizeof(ev->dst_ip));
		} else if (c->family == AF_INET6) {
			inet_ntop(AF_INET6, c->addr, ev->dst_ip, sizeof(ev->dst_ip));
		} else if (c->family == AF_UNIX) {
			/* sun_path bytes given: addrlen minus the family field */
			size_t n = c->addrlen > 2 ? c->addrlen - 2 : 0;
			if (n > sizeof(c->unix_path))
				n = sizeof(c->unix_path);
			if (n && c->unix_path[0] == 0) { /* abstract: shown as @name */
				char *s = arena_alloc(a, n + 1);
				s[0] = '@';
				memcpy(s + 1, c->unix_path + 1, n - 1);
				s[n] = 0;
				ev->unix_path = s;
			} else {
				ev->unix_path = arena_strndup(a, c->unix_path, strnlen(c->unix_path, n));
			}
		}
		if (c->family == AF_UNIX)
			ev->transport = "unix";
		else if (c->sock_type == SOCK_STREAM)
			ev->transport = "tcp";
		else if (c->sock_type == SOCK_DGRAM)
			ev->transport = "udp";
		else if (c->sock_type == SOCK_RAW)
			ev->transport = "raw";
		else
			ev->transport = "";
		return 0;
	}
	case IMM_K_FORK: {
		const struct imm_fork *f = data;
		if (h->size < sizeof(*f)) /* h->size <= size: checked above */
			return -EINVAL;
		ev->child_pid = f->h.pid;
		return 0;
	}
	case IMM_K_EXIT: {
		const struct imm_exit *x = data;
		if (h->size < sizeof(*x)) /* h->size <= size: checked above */
			return -EINVAL;
		ev->exit_code = x->exit_code;
		return 0;
	}
	}
	return -EINVAL;
}
