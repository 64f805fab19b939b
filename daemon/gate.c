/*
 * The gate's fanotify machinery. The reader thread answers the daemon's own
 * events at once, keeps every held syscall's deadline, so a busy or stuck
 * loop costs the caller at most timeout_ms, and queues the rest for the event
 * loop. While the loop sleeps (it then lets go of loop_mu: detect is
 * single-threaded, and that lock makes the reader its only user meanwhile)
 * the reader judges a held syscall itself when nothing would act on it, and
 * answers without the hop; what would act goes to the loop, which judges it
 * in full. Whoever answers first wins, under g->mu.
 */
#include "gate.h"
#include "arena.h"
#include "detect.h"
#include "gate_proc.h"
#include "ioc.h"
#include "protected.h"
#include "users.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/fanotify.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define HELD_MAX 1024
#define JUDGED_MAX 256
#define FS_MAX 128

enum { H_FREE = 0, H_NEW, H_HASHING, H_QUEUED };

struct held {
	int state;
	int fd;
	pid_t tid;
	bool exec;
	bool answered, timed_out;
	bool st_ok; /* st: the file's fstat at the hold, for the reader's judgement */
	struct stat st;
	uint64_t t0;
	uint32_t gen;
};

/* A syscall the gate judged, so the sensor's event of it runs only the alert rules. */
struct judged {
	uint32_t id; /* exec: the process; open: the thread */
	bool exec;
	uint64_t ino;
	uint64_t t;
};

struct gate {
	struct gate_opts o;
	int fan, efd, stopfd;
	pid_t self; /* our tgid (immuned does not fork) */
	pthread_t th;
	bool running;
	pthread_mutex_t mu;
	/* held by the event loop except while it sleeps; see gate_loop_leave */
	pthread_mutex_t loop_mu;
	struct held h[HELD_MAX];
	struct gate_stats st;
	/* execs the loop allowed, by thread: the same execve's next hold (its
	 * ELF or #! interpreter) on a protected file is answered by the reader */
	struct cont {
		pid_t tid;
		uint64_t t;
		long nr;
		unsigned long args[6];
	} cont[64];
	/* under loop_mu: the event loop's, or the reader's while the loop sleeps */
	struct ioc_hasher *hasher;
	bool exec_hold, open_hold, identity_only, want_sha, exec_strings;
	bool exec_path; /* a blocking rule or indicator reads a held exec's path */
	dev_t fs[FS_MAX];
	int nfs;
	struct judged j[JUDGED_MAX];
	unsigned jnext;
	struct last_exec {
		pid_t tid;
		uint64_t t;
		char path[256];
	} last[64];
	struct arena arena;
	struct imm_event ev;
};

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void wake(int fd)
{
	uint64_t one = 1;
	if (write(fd, &one, sizeof(one)) < 0) {
		/* a saturated counter already wakes the reader */
	}
}

static void bump(struct gate *g, uint64_t *counter)
{
	pthread_mutex_lock(&g->mu);
	(*counter)++;
	pthread_mutex_unlock(&g->mu);
}

static void respond(struct gate *g, int fd, bool allow)
{
	struct fanotify_response r = { .fd = fd, .response = allow ? FAN_ALLOW : FAN_DENY };
	if (write(g->fan, &r, sizeof(r)) != sizeof(r))
		g->st.errors++;
}

/* Is tid one of this daemon's threads? A signal 0 to (our tgid, tid) fails
 * unless tid is in our thread group: no /proc path walk on every hold. */
static bool is_self(const struct gate *g, pid_t tid)
{
	return tid == g->self || syscall(SYS_tgkill, g->self, tid, 0) == 0;
}

/* ------------------------------------------------------------ the reader thread */

/*
 * The same execve's next hold: its file is protected (ld.so, a shell as a
 * script's interpreter: no rule may block them by identity) and the thread
 * still waits in the very execve the loop judged and allowed (same syscall
 * and arguments, within 100 ms), so its command line was judged already.
 */
static bool continues_allowed(struct gate *g, const struct fanotify_event_metadata *m, const struct stat *st)
{
	long nr;
	unsigned long args[6];
	if (!g->o.protect || !st || !protected_inode(g->o.protect, st->st_dev, st->st_ino, NULL))
		return false;
	pthread_mutex_lock(&g->mu);
	struct cont c = g->cont[(unsigned)m->pid % 64];
	pthread_mutex_unlock(&g->mu);
	if (c.tid != m->pid || now_ns() - c.t > 100000000ull)
		return false;
	return gate_proc_exec_call(&g->o.exec_maps, m->pid, &nr, args, NULL) == 0 && nr == c.nr &&
	       memcmp(args, c.args, sizeof(args)) == 0;
}

static bool judge_fast(struct gate *g, int slot);

/* The file at fd (st: its fstat) is not held again until it is written (the
 * kernel drops the mark then); a second hard link is another name the rules
 * must see, unless the file is protected (no rule or indicator may block it
 * under any name: Debian's ld.so has two links). */
static bool ignore_mark(struct gate *g, int fd, const struct stat *st)
{
	return st &&
	       (st->st_nlink <= 1 || (g->o.protect && protected_inode(g->o.protect, st->st_dev, st->st_ino, NULL))) &&
	       fanotify_mark(g->fan, FAN_MARK_ADD | FAN_MARK_IGNORED_MASK, FAN_OPEN_EXEC_PERM, fd, NULL) == 0;
}

static void take(struct gate *g, const struct fanotify_event_metadata *m)
{
	bool exec = m->mask & FAN_OPEN_EXEC_PERM;
	/* one fstat a hold: the interpreter check, the hash cache, the event and the ignore mark share it */
	struct stat st;
	bool self = is_self(g, m->pid), st_ok = !self && fstat(m->fd, &st) == 0;
	bool cont = !self && exec && continues_allowed(g, m, st_ok ? &st : NULL);
	if (self || cont) {
		respond(g, m->fd, true);
		/* a protected interpreter, while only identity is judged, gets the same answer
		 * every time: no more holds (gate_refresh, under loop_mu, flushes the marks) */
		if (cont && pthread_mutex_trylock(&g->loop_mu) == 0) {
			if (g->identity_only && ignore_mark(g, m->fd, st_ok ? &st : NULL))
				bump(g, &g->st.ignore_marks);
			pthread_mutex_unlock(&g->loop_mu);
		}
		close(m->fd);
		pthread_mutex_lock(&g->mu);
		if (self)
			g->st.self_allowed++;
		else
			g->st.continued++;
		pthread_mutex_unlock(&g->mu);
		return;
	}
	pthread_mutex_lock(&g->mu);
	int slot = -1;
	for (int i = 0; i < HELD_MAX; i++)
		if (g->h[i].state == H_FREE) {
			slot = i;
			break;
		}
	if (slot < 0) {
		/* more held syscalls than slots: the default answer, counted */
		g->st.overflow++;
		respond(g, m->fd, !g->o.fail_closed);
		pthread_mutex_unlock(&g->mu);
		close(m->fd);
		return;
	}
	struct held *h = &g->h[slot];
	*h = (struct held){ .state = H_NEW, .fd = m->fd, .tid = m->pid, .exec = exec, .st_ok = st_ok, .t0 = now_ns(),
			    .gen = h->gen + 1 };
	if (st_ok)
		h->st = st;
	if (exec)
		g->st.exec_held++;
	else
		g->st.open_held++;
	pthread_mutex_unlock(&g->mu);
	/* the loop sleeps: judge here, no hop (the loop cannot take the slot meanwhile) */
	if (pthread_mutex_trylock(&g->loop_mu) == 0) {
		bool done = judge_fast(g, slot);
		pthread_mutex_unlock(&g->loop_mu);
		if (done)
			return;
	}
	wake(g->efd);
}

/* Answer what waited too long; the loop reports it and frees the slot. Under g->mu. */
static int expire(struct gate *g, uint64_t now)
{
	uint64_t limit = (uint64_t)g->o.timeout_ms * 1000000ull, next = limit;
	bool any = false;
	for (int i = 0; i < HELD_MAX; i++) {
		struct held *h = &g->h[i];
		if (h->state == H_FREE || h->answered)
			continue;
		if (now - h->t0 >= limit) {
			respond(g, h->fd, !g->o.fail_closed);
			h->answered = h->timed_out = true;
			g->st.timeouts++;
			any = true;
		} else if (limit - (now - h->t0) < next) {
			next = limit - (now - h->t0);
		}
	}
	if (any)
		wake(g->efd);
	return (int)(next / 1000000) + 1;
}

static void *reader(void *arg)
{
	struct gate *g = arg;
	char buf[8192] __attribute__((aligned(__alignof__(struct fanotify_event_metadata))));
	for (;;) {
		pthread_mutex_lock(&g->mu);
		int wait_ms = expire(g, now_ns());
		pthread_mutex_unlock(&g->mu);
		struct pollfd p[2] = { { .fd = g->fan, .events = POLLIN }, { .fd = g->stopfd, .events = POLLIN } };
		if (poll(p, 2, wait_ms) < 0 && errno != EINTR)
			break;
		if (p[1].revents)
			break;
		if (!(p[0].revents & POLLIN))
			continue;
		ssize_t n;
		do {
			n = read(g->fan, buf, sizeof(buf));
			if (n < 0 && errno != EAGAIN && errno != EINTR)
				bump(g, &g->st.errors); /* e.g. no fd left for the event: the kernel denies it */
			const struct fanotify_event_metadata *m = (const void *)buf;
			for (; n > 0 && FAN_EVENT_OK(m, n); m = FAN_EVENT_NEXT(m, n)) {
				if (m->vers != FANOTIFY_METADATA_VERSION || m->fd < 0) {
					bump(g, &g->st.errors);
					continue;
				}
				if (m->mask & (FAN_OPEN_EXEC_PERM | FAN_OPEN_PERM))
					take(g, m);
				else
					close(m->fd);
			}
			/* a read with room for one more event left had emptied the queue:
			 * no second read to learn it (poll says when there is more) */
		} while (n > (ssize_t)(sizeof(buf) - FAN_EVENT_METADATA_LEN));
	}
	return NULL;
}

/* ------------------------------------------------------------ marks */

static const char *const pseudo_fs[] = {
	"proc", "sysfs", "cgroup", "cgroup2", "bpf", "tracefs", "debugfs", "securityfs", "devpts", "mqueue",
	"pstore", "configfs", "fusectl", "hugetlbfs", "autofs", "binfmt_misc", "efivarfs", "nsfs", "rpc_pipefs",
	"selinuxfs", "devtmpfs",
};

static bool is_pseudo(const char *type)
{
	for (size_t i = 0; i < sizeof(pseudo_fs) / sizeof(pseudo_fs[0]); i++)
		if (strcmp(type, pseudo_fs[i]) == 0)
			return true;
	return false;
}

/* FAN_OPEN_EXEC_PERM on every filesystem a program can be run from. */
static int mark_filesystems(struct gate *g, char *err, size_t n)
{
	FILE *f = fopen("/proc/self/mounts", "re");
	char dev[512], dir[4096], type[64];
	if (!f) {
		snprintf(err, n, "cannot read /proc/self/mounts: %s", strerror(errno));
		return -1;
	}
	while (fscanf(f, "%511s %4095s %63s %*[^\n]", dev, dir, type) == 3) {
		struct stat st;
		if (is_pseudo(type) || stat(dir, &st))
			continue;
		bool seen = false;
		for (int i = 0; i < g->nfs; i++)
			seen |= g->fs[i] == st.st_dev;
		if (seen || g->nfs == FS_MAX)
			continue;
		/* octal escapes (\040) in mount points are left: such a mount is reached by stat failing above */
		if (fanotify_mark(g->fan, FAN_MARK_ADD | FAN_MARK_FILESYSTEM, FAN_OPEN_EXEC_PERM, AT_FDCWD, dir)) {
			fprintf(stderr, "immuned: gate: cannot hold execs on %s (%s): %s\n", dir, type, strerror(errno));
			continue;
		}
		g->fs[g->nfs++] = st.st_dev;
	}
	fclose(f);
	g->st.filesystems = (unsigned)g->nfs;
	if (!g->nfs) {
		snprintf(err, n, "no filesystem accepted an exec hold");
		return -1;
	}
	return 0;
}

static void unmark_filesystems(struct gate *g)
{
	fanotify_mark(g->fan, FAN_MARK_FLUSH | FAN_MARK_FILESYSTEM, 0, AT_FDCWD, NULL);
	g->nfs = 0;
	g->st.filesystems = 0;
}

static void mark_one(void *ctx, const char *path, bool dir)
{
	struct gate *g = ctx;
	uint64_t mask = FAN_OPEN_PERM | (dir ? FAN_EVENT_ON_CHILD : 0);
	if (fanotify_mark(g->fan, FAN_MARK_ADD | (dir ? FAN_MARK_ONLYDIR : 0), mask, AT_FDCWD, path)) {
		if (errno != ENOENT)
			fprintf(stderr, "immuned: gate: cannot hold opens of %s: %s\n", path, strerror(errno));
		return;
	}
	if (dir)
		g->st.marked_dirs++;
	else
		g->st.marked_files++;
}

void gate_refresh(struct gate *g)
{
	char err[256];
	/* inode marks go: the open marks are re-made and judged inodes are held again */
	fanotify_mark(g->fan, FAN_MARK_FLUSH, 0, AT_FDCWD, NULL);
	g->st.marked_files = g->st.marked_dirs = 0;
	detect_open_marks(g->o.detect, mark_one, g);
	g->open_hold = g->st.marked_files + g->st.marked_dirs > 0;
	g->want_sha = detect_wants_sha256(g->o.detect);
	g->identity_only = detect_exec_identity_only(g->o.detect);
	g->exec_path = detect_hold_reads_exec_path(g->o.detect);
	bool want_exec = detect_wants_exec_hold(g->o.detect);
	if (want_exec && !g->nfs && mark_filesystems(g, err, sizeof(err)))
		fprintf(stderr, "immuned: gate: %s: execs are judged after they run\n", err);
	else if (!want_exec && g->nfs)
		unmark_filesystems(g);
	g->exec_hold = g->nfs > 0;
	/* a held exec's argv and cwd from the sensor's copy at entry, not /proc:
	 * while execs are held for more than the file's identity */
	g->exec_strings = gate_proc_exec_strings(&g->o.exec_maps, g->exec_hold && !g->identity_only);
	if (g->want_sha && !g->hasher) {
		g->hasher = ioc_hasher_new_workers(HELD_MAX, 16384, g->o.hash_workers);
		if (g->hasher)
			ioc_hasher_set_notify(g->hasher, g->efd);
		else
			fprintf(stderr, "immuned: gate: cannot start the hashing workers: sha256 blocks act after the match\n");
	}
	detect_set_holds(g->o.detect, g->exec_hold, g->open_hold);
}

/* ------------------------------------------------------------ judging, in the event loop */

static void remember(struct gate *g, uint32_t id, bool exec, uint64_t ino)
{
	g->j[g->jnext++ % JUDGED_MAX] = (struct judged){ .id = id, .exec = exec, .ino = ino, .t = now_ns() };
}

bool gate_take_judged(struct gate *g, struct imm_event *ev)
{
	uint64_t now = now_ns();
	bool exec = ev->type == EBPF_EVENT_EXEC;
	if (!g || (!exec && ev->type != EBPF_EVENT_OPEN))
		return false;
	uint32_t id = exec ? ev->pid : ev->tid;
	uint64_t ino = exec ? 0 : ev->file_ino;
	for (unsigned i = 0; i < JUDGED_MAX; i++) {
		struct judged *j = &g->j[i];
		if (!j->t || now - j->t > 5000000000ull || j->id != id || j->exec != exec)
			continue;
		if (!exec && ino && j->ino != ino)
			continue;
		j->t = 0;
		ev->gate_judged = 1;
		return true;
	}
	return false;
}

/* The second hold of one exec (a #! script's interpreter): the rules ran on the script. */
static bool interpreter_of_last(struct gate *g, pid_t tid, const char *filename)
{
	struct last_exec *l = &g->last[(unsigned)tid % 64];
	bool again = l->tid == tid && now_ns() - l->t < 2000000000ull && strcmp(l->path, filename) == 0;
	l->tid = tid;
	l->t = now_ns();
	snprintf(l->path, sizeof(l->path), "%s", filename);
	return again;
}

static void finish(struct gate *g, int slot, bool allow, bool judged)
{
	struct held *h = &g->h[slot];
	bool late;
	pthread_mutex_lock(&g->mu);
	late = h->answered;
	if (!late) {
		respond(g, h->fd, allow);
		h->answered = true;
		uint64_t w = now_ns() - h->t0;
		g->st.wait_ns_total += w;
		if (w > g->st.wait_ns_max)
			g->st.wait_ns_max = w;
		if (allow)
			g->st.allowed++;
		else
			g->st.denied++;
	}
	pthread_mutex_unlock(&g->mu);
	if (late && judged && !allow)
		detect_gate_incident(g->o.detect, &g->ev, "late",
				     "Held syscall judged deny after its deadline: it was already answered", false);
	/* only the file's identity was judged: the same inode gets the same answer until it is written
	 * (a second hard link is another name the rules must see) */
	if (!late && allow && h->exec && judged && g->identity_only && ignore_mark(g, h->fd, h->st_ok ? &h->st : NULL))
		bump(g, &g->st.ignore_marks);
	close(h->fd);
	pthread_mutex_lock(&g->mu);
	h->state = H_FREE;
	pthread_mutex_unlock(&g->mu);
}

/*
 * Judge the held syscall in slot and answer it. fast (the reader, while the
 * loop sleeps): only an allow with nothing to report is answered here; false,
 * with nothing changed, leaves it to the loop.
 */
static bool judge(struct gate *g, int slot, const uint8_t *sha, bool fast)
{
	struct held *h = &g->h[slot];
	uint64_t t0 = now_ns();
	arena_reset(&g->arena);
	struct gate_call call = { .ok = false };
	/* the reader opens no file (NSS would): an open the gate holds would wait on the reader itself */
	/* the reader's allow needs the path only for what reads it (Image, a path:
	 * indicator); the loop's judgement, with its incident, reads everything */
	if (gate_proc_event(&g->ev, h->exec, h->fd, h->st_ok ? &h->st : NULL, h->tid, !fast || g->exec_path, g->o.procs,
			    fast ? NULL : g->o.users, &g->arena, &g->o.exec_maps, &call)) {
		if (fast)
			return false;
		bump(g, &g->st.errors);
		finish(g, slot, !g->o.fail_closed, false);
		return true;
	}
	if (fast && g->o.users && !(g->ev.user_name = users_cached(g->o.users, g->ev.uid)))
		return false; /* an unknown user: the loop looks the name up */
	struct last_exec *last = &g->last[(unsigned)h->tid % 64], was = *last;
	if (h->exec && interpreter_of_last(g, h->tid, g->ev.filename))
		g->ev.filename = g->ev.executable; /* judged as itself: the script was judged already */
	uint64_t t1 = now_ns();
	if (fast && detect_would_act(g->o.detect, &g->ev, sha)) {
		*last = was; /* the loop judges it again, as the first hold */
		return false;
	}
	bool deny = !fast && detect_judge(g->o.detect, &g->ev, sha);
	uint64_t t2 = now_ns();
	bool exec = h->exec;
	if (exec && !deny && call.ok) {
		/* the thread still waits in the syscall read above: no second read;
		 * before the answer, which lets it reach its interpreter's hold */
		struct cont c = { .tid = h->tid, .t = t2, .nr = call.nr };
		memcpy(c.args, call.args, sizeof(c.args));
		pthread_mutex_lock(&g->mu);
		g->cont[(unsigned)h->tid % 64] = c;
		pthread_mutex_unlock(&g->mu);
	}
	/* the answer, then the bookkeeping: the caller waits for nothing below */
	finish(g, slot, !deny, true);
	pthread_mutex_lock(&g->mu);
	if (fast)
		g->st.reader_judged++;
	if (call.from_record)
		g->st.exec_from_record++;
	if (call.from_pointers)
		g->st.args_from_pointers++;
	g->st.read_ns_total += t1 - t0;
	g->st.match_ns_total += t2 - t1;
	pthread_mutex_unlock(&g->mu);
	if (!deny)
		remember(g, exec ? g->ev.pid : g->ev.tid, exec, exec ? 0 : g->ev.file_ino);
	else if (!exec)
		remember(g, g->ev.tid, false, 0);
	return true;
}

static bool judge_fast(struct gate *g, int slot)
{
	struct held *h = &g->h[slot];
	uint8_t sha[32];
	bool have = false;
	if (h->exec && g->want_sha) {
		if (!g->hasher || !h->st_ok || !ioc_hasher_cached_st(g->hasher, &h->st, sha))
			return false; /* to be hashed: the loop's */
		have = true;
	}
	if (!judge(g, slot, have ? sha : NULL, true))
		return false;
	if (have)
		bump(g, &g->st.hash_cached);
	return true;
}

static void report_timeout(struct gate *g, int slot)
{
	struct held *h = &g->h[slot];
	arena_reset(&g->arena);
	if (gate_proc_event(&g->ev, h->exec, h->fd, NULL, h->tid, true, g->o.procs, g->o.users, &g->arena,
			    &g->o.exec_maps, NULL) == 0)
		detect_gate_incident(g->o.detect, &g->ev, "timeout",
				     g->o.fail_closed ? "Held syscall not judged in time: denied (fail-closed)" :
							"Held syscall not judged in time: allowed (fail-open)",
				     g->o.fail_closed);
	close(h->fd);
	pthread_mutex_lock(&g->mu);
	h->state = H_FREE;
	pthread_mutex_unlock(&g->mu);
}

void gate_dispatch(struct gate *g)
{
	uint64_t v;
	int todo[HELD_MAX], late[HELD_MAX], ntodo = 0, nlate = 0;
	if (read(g->efd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		bump(g, &g->st.errors);
	if (g->hasher) {
		struct ioc_hash_result res[64];
		int n;
		while ((n = ioc_hasher_poll(g->hasher, res, 64)) > 0) {
			for (int i = 0; i < n; i++) {
				uintptr_t c = (uintptr_t)res[i].cookie;
				int slot = (int)(c & 0xffff);
				struct held *h = &g->h[slot];
				if (h->state != H_HASHING || h->gen != (uint32_t)(c >> 16))
					continue;
				bump(g, &g->st.hashed);
				if (h->answered)
					h->state = H_QUEUED; /* timed out: reported below */
				else
					judge(g, slot, res[i].err ? NULL : res[i].sha256, false);
			}
		}
	}
	pthread_mutex_lock(&g->mu);
	for (int i = 0; i < HELD_MAX; i++) {
		struct held *h = &g->h[i];
		if (h->timed_out && h->state != H_HASHING && h->state != H_FREE)
			late[nlate++] = i;
		else if (h->state == H_NEW && !h->answered) {
			h->state = H_QUEUED;
			todo[ntodo++] = i;
		}
	}
	pthread_mutex_unlock(&g->mu);
	for (int k = 0; k < ntodo; k++) {
		struct held *h = &g->h[todo[k]];
		uint8_t sha[32];
		if (!h->exec || !g->want_sha || !g->hasher) {
			judge(g, todo[k], NULL, false);
		} else if (ioc_hasher_cached(g->hasher, h->fd, sha)) {
			bump(g, &g->st.hash_cached);
			judge(g, todo[k], sha, false);
		} else {
			int dupfd = fcntl(h->fd, F_DUPFD_CLOEXEC, 0);
			h->state = H_HASHING;
			if (dupfd < 0 ||
			    !ioc_hasher_submit_fd(g->hasher, dupfd, (void *)(uintptr_t)((uintptr_t)todo[k] |
											  ((uintptr_t)h->gen << 16)))) {
				bump(g, &g->st.errors);
				h->state = H_QUEUED;
				judge(g, todo[k], NULL, false); /* rules and paths still judge it; the hash cannot */
			}
		}
	}
	for (int k = 0; k < nlate; k++)
		report_timeout(g, late[k]);
}

/* ------------------------------------------------------------ life */

struct gate *gate_start(const struct gate_opts *o, char *err, size_t n)
{
	struct gate *g = calloc(1, sizeof(*g));
	if (!g) {
		snprintf(err, n, "out of memory");
		return NULL;
	}
	g->o = *o;
	g->self = getpid();
	/* a held exec's strings (the sensor's copy, 12.5 KB at most, and what is
	 * read beside it) in one chunk: no malloc and free on every hold */
	g->arena.chunk = 64 * 1024;
	if (g->o.timeout_ms <= 0)
		g->o.timeout_ms = 2000;
	if (!g->o.hash_workers)
		g->o.hash_workers = 2;
	g->efd = g->stopfd = -1;
	g->fan = fanotify_init(FAN_CLASS_CONTENT | FAN_CLOEXEC | FAN_NONBLOCK | FAN_REPORT_TID,
			       O_RDONLY | O_LARGEFILE | O_CLOEXEC);
	if (g->fan < 0) {
		snprintf(err, n, "fanotify permission events unavailable (fanotify_init: %s)", strerror(errno));
		free(g);
		return NULL;
	}
	g->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	g->stopfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (g->efd < 0 || g->stopfd < 0) {
		snprintf(err, n, "eventfd: %s", strerror(errno));
		gate_stop(g);
		return NULL;
	}
	pthread_mutex_init(&g->mu, NULL);
	pthread_mutex_init(&g->loop_mu, NULL);
	pthread_mutex_lock(&g->loop_mu); /* the caller's, until it sleeps */
	gate_refresh(g);
	if (pthread_create(&g->th, NULL, reader, g)) {
		snprintf(err, n, "cannot start the gate's reader thread");
		gate_stop(g);
		return NULL;
	}
	g->running = true;
	return g;
}

void gate_stop(struct gate *g)
{
	if (!g)
		return;
	gate_proc_exec_strings(&g->o.exec_maps, false);
	if (g->running) {
		wake(g->stopfd);
		pthread_join(g->th, NULL);
	}
	/* whatever is still held goes on: closing the fanotify fd allows it */
	for (int i = 0; i < HELD_MAX; i++)
		if (g->h[i].state != H_FREE) {
			if (!g->h[i].answered)
				respond(g, g->h[i].fd, true);
			if (g->h[i].state != H_HASHING)
				close(g->h[i].fd);
		}
	if (g->hasher) {
		ioc_hasher_wait(g->hasher);
		ioc_hasher_free(g->hasher);
	}
	for (int i = 0; i < HELD_MAX; i++)
		if (g->h[i].state == H_HASHING)
			close(g->h[i].fd);
	if (g->fan >= 0)
		close(g->fan);
	if (g->efd >= 0)
		close(g->efd);
	if (g->stopfd >= 0)
		close(g->stopfd);
	if (g->running) {
		pthread_mutex_destroy(&g->mu);
		pthread_mutex_unlock(&g->loop_mu);
		pthread_mutex_destroy(&g->loop_mu);
	}
	arena_free(&g->arena);
	free(g);
}

void gate_loop_leave(struct gate *g)
{
	if (g)
		pthread_mutex_unlock(&g->loop_mu);
}

void gate_loop_enter(struct gate *g)
{
	if (g)
		pthread_mutex_lock(&g->loop_mu);
}

void gate_set_detect(struct gate *g, struct detect *d)
{
	g->o.detect = d;
	gate_refresh(g);
}

int gate_fd(const struct gate *g)
{
	return g ? g->efd : -1;
}

bool gate_exec_hold(const struct gate *g)
{
	return g && g->exec_hold;
}

bool gate_open_hold(const struct gate *g)
{
	return g && g->open_hold;
}

void gate_get_stats(struct gate *g, struct gate_stats *st)
{
	pthread_mutex_lock(&g->mu);
	*st = g->st;
	pthread_mutex_unlock(&g->mu);
}

void gate_status(struct gate *g, cJSON *r)
{
	struct gate_stats st;
	cJSON *o = cJSON_AddObjectToObject(r, "gate");
	if (!g) {
		cJSON_AddBoolToObject(o, "exec_hold", false);
		cJSON_AddBoolToObject(o, "open_hold", false);
		return;
	}
	gate_get_stats(g, &st);
	cJSON_AddBoolToObject(o, "exec_hold", g->exec_hold);
	cJSON_AddBoolToObject(o, "open_hold", g->open_hold);
	cJSON_AddBoolToObject(o, "content_gate", g->want_sha && g->hasher);
	cJSON_AddStringToObject(o, "on_timeout", g->o.fail_closed ? "deny" : "allow");
	cJSON_AddNumberToObject(o, "timeout_ms", g->o.timeout_ms);
	cJSON_AddNumberToObject(o, "filesystems", st.filesystems);
	cJSON_AddNumberToObject(o, "marked_files", st.marked_files);
	cJSON_AddNumberToObject(o, "marked_dirs", st.marked_dirs);
	cJSON_AddNumberToObject(o, "exec_held", (double)st.exec_held);
	cJSON_AddNumberToObject(o, "open_held", (double)st.open_held);
	cJSON_AddNumberToObject(o, "self_allowed", (double)st.self_allowed);
	cJSON_AddNumberToObject(o, "continued", (double)st.continued);
	cJSON_AddNumberToObject(o, "allowed", (double)st.allowed);
	cJSON_AddNumberToObject(o, "denied", (double)st.denied);
	cJSON_AddNumberToObject(o, "timeouts", (double)st.timeouts);
	cJSON_AddNumberToObject(o, "overflow", (double)st.overflow);
	cJSON_AddNumberToObject(o, "errors", (double)st.errors);
	cJSON_AddNumberToObject(o, "hashed", (double)st.hashed);
	cJSON_AddNumberToObject(o, "hash_cached", (double)st.hash_cached);
	cJSON_AddNumberToObject(o, "ignore_marks", (double)st.ignore_marks);
	cJSON_AddNumberToObject(o, "judged_by_reader", (double)st.reader_judged);
	cJSON_AddBoolToObject(o, "exec_strings_from_sensor", g->exec_strings);
	cJSON_AddNumberToObject(o, "exec_from_record", (double)st.exec_from_record);
	cJSON_AddNumberToObject(o, "args_from_pointers", (double)st.args_from_pointers);
	uint64_t judged = st.allowed + st.denied;
	cJSON_AddNumberToObject(o, "wait_us_mean", judged ? (double)(st.wait_ns_total / judged / 1000) : 0);
	cJSON_AddNumberToObject(o, "wait_us_max", (double)(st.wait_ns_max / 1000));
	/* of the wait: reading the held syscall from /proc, and the rules */
	cJSON_AddNumberToObject(o, "read_us_mean", judged ? (double)(st.read_ns_total / judged / 1000) : 0);
	cJSON_AddNumberToObject(o, "match_us_mean", judged ? (double)(st.match_ns_total / judged / 1000) : 0);
}
