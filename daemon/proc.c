#include "proc.h"
#include "immune.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct proc_table {
	struct proc_entry *slots; /* pid 0 = empty */
	unsigned cap;             /* power of two, twice the limit */
	unsigned count, max;
	unsigned evict_cursor;
	uint64_t evicted;
};

static char *xstrdup(const char *s)
{
	char *d = strdup(s ? s : "");
	if (!d)
		abort();
	return d;
}

static void entry_free(struct proc_entry *e)
{
	free(e->exe);
	free(e->cmdline);
	free(e->cwd);
	memset(e, 0, sizeof(*e));
}

struct proc_table *proc_new(unsigned max_entries)
{
	struct proc_table *t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->max = max_entries ? max_entries : 65536;
	t->cap = 16;
	while (t->cap < t->max * 2)
		t->cap <<= 1;
	t->slots = calloc(t->cap, sizeof(*t->slots));
	if (!t->slots) {
		free(t);
		return NULL;
	}
	return t;
}

void proc_free(struct proc_table *t)
{
	if (!t)
		return;
	for (unsigned i = 0; i < t->cap; i++)
		if (t->slots[i].pid)
			entry_free(&t->slots[i]);
	free(t->slots);
	free(t);
}

static unsigned hash_pid(uint32_t pid)
{
	return pid * 2654435761u;
}

static struct proc_entry *find(const struct proc_table *t, uint32_t pid)
{
	unsigned m = t->cap - 1;
	for (unsigned i = hash_pid(pid) & m;; i = (i + 1) & m) {
		if (t->slots[i].pid == pid)
			return &t->slots[i];
		if (!t->slots[i].pid)
			return NULL;
	}
}

/* Linear-probing delete: shift later members of the cluster back. */
static void remove_at(struct proc_table *t, unsigned i)
{
	unsigned m = t->cap - 1, j = i;

	entry_free(&t->slots[i]);
	t->count--;
	for (;;) {
		j = (j + 1) & m;
		if (!t->slots[j].pid)
			return;
		unsigned home = hash_pid(t->slots[j].pid) & m;
		/* can slot j move to i? only if its home is not in (i, j] cyclically */
		if ((j > i && (home <= i || home > j)) || (j < i && (home <= i && home > j))) {
			t->slots[i] = t->slots[j];
			memset(&t->slots[j], 0, sizeof(t->slots[j]));
			i = j;
		}
	}
}

static void evict_one(struct proc_table *t)
{
	/* prefer a pid that is gone; after a bounded scan, take any */
	for (unsigned n = 0; n < t->cap; n++) {
		unsigned i = t->evict_cursor++ & (t->cap - 1);
		if (t->slots[i].pid && (n > 256 || (kill(t->slots[i].pid, 0) != 0 && errno == ESRCH))) {
			remove_at(t, i);
			t->evicted++;
			return;
		}
	}
}

static struct proc_entry *upsert(struct proc_table *t, uint32_t pid)
{
	struct proc_entry *e = find(t, pid);
	if (e)
		return e;
	if (t->count >= t->max)
		evict_one(t);
	unsigned m = t->cap - 1;
	for (unsigned i = hash_pid(pid) & m;; i = (i + 1) & m) {
		if (!t->slots[i].pid) {
			t->slots[i].pid = pid;
			t->count++;
			return &t->slots[i];
		}
	}
}

static void set_str(char **dst, const char *s)
{
	free(*dst);
	*dst = xstrdup(s);
}

const struct proc_entry *proc_get(const struct proc_table *t, uint32_t pid)
{
	return pid ? find(t, pid) : NULL;
}

unsigned proc_count(const struct proc_table *t)
{
	return t->count;
}

uint64_t proc_evicted(const struct proc_table *t)
{
	return t->evicted;
}

int proc_ancestors(const struct proc_table *t, uint32_t pid, uint32_t *out, int max)
{
	int n = 0;
	const struct proc_entry *e = proc_get(t, pid);
	while (e && n < max && e->ppid && e->ppid != e->pid) {
		out[n++] = e->ppid;
		e = proc_get(t, e->ppid);
	}
	return n;
}

static ssize_t read_file(const char *path, char *buf, size_t n)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t r = read(fd, buf, n - 1);
	close(fd);
	if (r < 0)
		return -1;
	buf[r] = 0;
	return r;
}

/* The boottime offset of the reader's time namespace, in ns: 0 without one. */
static int64_t timens_boottime_ns(const char *root)
{
	char path[256], buf[256];
	snprintf(path, sizeof(path), "%s/self/timens_offsets", root);
	if (read_file(path, buf, sizeof(buf)) <= 0)
		return 0;
	for (char *l = buf; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		long long sec;
		long nsec;
		/* "boottime <sec> <nsec>", or the clock's number (7) on some kernels */
		if ((sscanf(l, "boottime %lld %ld", &sec, &nsec) == 2 || sscanf(l, "7 %lld %ld", &sec, &nsec) == 2) &&
		    nsec >= 0 && nsec < 1000000000)
			return (int64_t)sec * 1000000000 + nsec;
	}
	return 0;
}

int proc_start_ticks(const char *root, uint32_t pid, long hz, uint64_t *ticks)
{
	char path[256], buf[1024];
	snprintf(path, sizeof(path), "%s/%u/stat", root, pid);
	if (read_file(path, buf, sizeof(buf)) <= 0)
		return -1;
	/* comm may hold spaces and parentheses: from the last ')' (field 2's end), each space starts the next field */
	char *p = strrchr(buf, ')');
	for (int field = 2; p && field < 22; field++)
		p = strchr(p + 1, ' ');
	unsigned long long v;
	if (!p || sscanf(p + 1, "%llu", &v) != 1 || hz <= 0)
		return -1;
	int64_t off = timens_boottime_ns(root), npt = 1000000000 / hz;
	if (off) {
		static bool told;
		if (off % npt && !told) {
			told = true;
			fprintf(stderr, "immuned: this time namespace's boottime offset is not a whole number of clock ticks: "
					"start times read from /proc may be one tick off the kernel's\n");
		}
		/* /proc gave floor((start + off) / npt); off whole ticks: exact */
		int64_t k = (int64_t)v - off / npt;
		if (k < 0)
			return -1;
		v = (unsigned long long)k;
	}
	*ticks = v;
	return 0;
}

static void seed_one(struct proc_table *t, const char *root, uint32_t pid)
{
	char path[256], buf[8192], link[4096];
	ssize_t r;

	snprintf(path, sizeof(path), "%s/%u/stat", root, pid);
	if (read_file(path, buf, sizeof(buf)) <= 0)
		return;
	/* comm may hold spaces and parentheses: parse after the last ')' */
	char *rp = strrchr(buf, ')');
	unsigned ppid = 0;
	char state;
	if (!rp || sscanf(rp + 1, " %c %u", &state, &ppid) != 2)
		return;

	struct proc_entry *e = upsert(t, pid);
	e->ppid = ppid;

	snprintf(path, sizeof(path), "%s/%u/exe", root, pid);
	r = readlink(path, link, sizeof(link) - 1);
	link[r > 0 ? r : 0] = 0;
	set_str(&e->exe, link);

	snprintf(path, sizeof(path), "%s/%u/cwd", root, pid);
	r = readlink(path, link, sizeof(link) - 1);
	link[r > 0 ? r : 0] = 0;
	set_str(&e->cwd, link);

	snprintf(path, sizeof(path), "%s/%u/cmdline", root, pid);
	r = read_file(path, buf, sizeof(buf));
	if (r > 0) {
		for (ssize_t i = 0; i < r; i++)
			if (!buf[i])
				buf[i] = ' ';
		while (r > 0 && buf[r - 1] == ' ')
			buf[--r] = 0;
	} else {
		buf[0] = 0;
	}
	set_str(&e->cmdline, buf);

	snprintf(path, sizeof(path), "%s/%u/status", root, pid);
	if (read_file(path, buf, sizeof(buf)) > 0) {
		char *u = strstr(buf, "\nUid:");
		if (u)
			e->uid = strtoul(u + 5, NULL, 10);
	}
}

int proc_seed(struct proc_table *t, const char *root)
{
	DIR *d = opendir(root ? root : "/proc");
	struct dirent *de;
	int n = 0;

	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		seed_one(t, root ? root : "/proc", strtoul(de->d_name, NULL, 10));
		n++;
	}
	closedir(d);
	return n;
}

static void fill_from(struct imm_event *ev, const struct proc_entry *self, const struct proc_entry *parent,
		      struct arena *a)
{
	if (self && !ev->executable[0] && self->exe)
		ev->executable = arena_strdup(a, self->exe);
	if (self && !ev->command_line[0] && self->cmdline)
		ev->command_line = arena_strdup(a, self->cmdline);
	if (self && !ev->cwd[0] && self->cwd)
		ev->cwd = arena_strdup(a, self->cwd);
	if (parent) {
		ev->parent_executable = parent->exe ? arena_strdup(a, parent->exe) : "";
		ev->parent_command_line = parent->cmdline ? arena_strdup(a, parent->cmdline) : "";
	}
	if (!ev->name[0]) {
		const char *s = strrchr(ev->executable, '/');
		ev->name = s && s[1] ? s + 1 : (ev->executable[0] ? ev->executable : ev->comm);
	}
}

void proc_attach_ancestors(const struct proc_table *t, struct imm_event *ev)
{
	uint32_t pid = ev->ppid;
	int n = 0;

	while (pid && n < IMM_EVENT_MAX_ANCESTORS) {
		const struct proc_entry *p = proc_get(t, pid);
		ev->ancestors[n].pid = pid;
		ev->ancestors[n].executable = p ? p->exe : NULL;
		ev->ancestors[n].command_line = p ? p->cmdline : NULL;
		n++;
		if (!p || p->ppid == p->pid)
			break;
		pid = p->ppid;
	}
	ev->nancestors = n;
}

void proc_apply(struct proc_table *t, struct imm_event *ev, struct arena *a)
{
	struct proc_entry *e;

	switch (ev->type) {
	case EBPF_EVENT_EXEC:
		if (ev->outcome == IMM_OUTCOME_FAILURE)
			break;
		e = upsert(t, ev->pid);
		e->ppid = ev->ppid;
		e->uid = ev->uid;
		e->start_ns = ev->ts_boot_ns;
		set_str(&e->exe, ev->executable);
		set_str(&e->cmdline, ev->command_line);
		set_str(&e->cwd, ev->cwd);
		break;
	case EBPF_EVENT_FORK: {
		const struct proc_entry *p = find(t, ev->ppid);
		char *exe = p ? xstrdup(p->exe) : NULL, *cl = p ? xstrdup(p->cmdline) : NULL;
		char *cwd = p ? xstrdup(p->cwd) : NULL;
		e = upsert(t, ev->pid); /* may move p: copies were taken first */
		e->ppid = ev->ppid;
		e->uid = ev->uid;
		e->start_ns = ev->ts_boot_ns;
		free(e->exe);
		free(e->cmdline);
		free(e->cwd);
		e->exe = exe ? exe : xstrdup("");
		e->cmdline = cl ? cl : xstrdup("");
		e->cwd = cwd ? cwd : xstrdup("");
		break;
	}
	default:
		break;
	}

	e = find(t, ev->pid);
	if (e && e->ppid != ev->ppid && ev->ppid)
		e->ppid = ev->ppid; /* reparented */
	fill_from(ev, e, proc_get(t, ev->ppid), a);
	proc_attach_ancestors(t, ev);

	if (ev->type == EBPF_EVENT_EXIT) {
		e = find(t, ev->pid);
		if (e)
			remove_at(t, (unsigned)(e - t->slots));
	}
}
