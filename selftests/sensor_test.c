/*
 * The sensor against the live kernel: one test per syscall shape, each
 * asserting every field of the record it produces. IMMUNE_BUFFER=perf runs
 * the same tests through the perf buffer.
 */
#include "selftest.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include "sysfs.h"

struct shared {
	long v[8];
	char s[256];
};

static struct shared *sh;
static char tmpdir[PATH_MAX];
/* The exec target: a copy of this test binary, which exits 0 when argv[0] is
 * "true". Self-contained, so the same test runs in the busybox VM. */
static char true_bin[PATH_MAX + 16];
static char pin_dir[128];
static struct arena ar;
static uint32_t my_loginuid;
static uint64_t my_cgroup;

static uint64_t cgroup_id_of(pid_t pid)
{
	char path[64], line[4096], mnt[1024], full[PATH_MAX + 1100];
	struct stat st;
	snprintf(path, sizeof(path), "/proc/%d/cgroup", pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return 0;
	uint64_t id = 0;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "0::", 3) != 0)
			continue;
		line[strcspn(line, "\n")] = 0;
		if (sysfs_cgroup2_path(mnt, sizeof(mnt)) == 0) {
			snprintf(full, sizeof(full), "%s%s", mnt, line + 3);
			if (stat(full, &st) == 0)
				id = st.st_ino; /* a cgroup's id is its kernfs inode number */
		}
	}
	fclose(f);
	return id;
}

static int setup(void **state)
{
	(void)state;
	if (geteuid() != 0)
		return 0;
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/immune-selftest-XXXXXX");
	if (!mkdtemp(tmpdir))
		return -1;
	/* the realpath: /tmp may itself be a link */
	char rp[PATH_MAX];
	if (realpath(tmpdir, rp))
		snprintf(tmpdir, sizeof(tmpdir), "%s", rp);
	snprintf(pin_dir, sizeof(pin_dir), "/sys/fs/bpf/immune-selftest-%d", getpid());
	snprintf(true_bin, sizeof(true_bin), "%s/true", tmpdir);
	{
		char cmd[2 * PATH_MAX + 32];
		snprintf(cmd, sizeof(cmd), "cp /proc/%d/exe '%s'", getpid(), true_bin);
		if (system(cmd) != 0)
			return -1;
	}

	const char *buf = getenv("IMMUNE_BUFFER");
	const char *oa = getenv("IMMUNE_OPEN_ARGS");
	struct ebpf_options o = {
		.buffer = buf && !strcmp(buf, "perf") ? EBPF_BUFFER_PERF : EBPF_BUFFER_RING,
		.pin_dir = pin_dir,
		.open_args_at_enter = oa && !strcmp(oa, "enter"),
	};
	ebpf_set_options(&o);
	if (ebpf_init() || ebpf_load_programs() || ebpf_attach()) {
		fprintf(stderr, "sensor_test: %s\n", ebpf_last_error());
		return -1;
	}
	fprintf(stderr, "sensor_test: %d programs attached, %s buffer, open arguments at %s\n",
		ebpf_programs_attached(), ebpf_buffer_name(), ebpf_open_args_from_regs() ? "sys_exit" : "sys_enter");
	if (o.open_args_at_enter && ebpf_open_args_from_regs()) {
		fprintf(stderr, "sensor_test: open arguments were asked at sys_enter but are read at sys_exit\n");
		return -1;
	}
	if (!o.open_args_at_enter && ebpf_kernel_reads_regs_at_exit() && !ebpf_open_args_from_regs()) {
		fprintf(stderr, "sensor_test: this kernel has bpf_task_pt_regs but open arguments are read at sys_enter\n");
		return -1;
	}
	FILE *f = fopen("/proc/self/loginuid", "r");
	my_loginuid = (uint32_t)-1;
	if (f) {
		if (fscanf(f, "%u", &my_loginuid) != 1)
			my_loginuid = (uint32_t)-1;
		fclose(f);
	}
	my_cgroup = cgroup_id_of(getpid());
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	if (geteuid() != 0)
		return 0;
	ebpf_detach();
	st_rm_pins(pin_dir);
	char cmd[PATH_MAX + 16];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		fprintf(stderr, "sensor_test: could not remove %s\n", tmpdir);
	st_clear();
	arena_free(&ar);
	return 0;
}

/* Fields every record carries, for a child of this process. */
static void assert_common(const struct imm_event *ev, pid_t child, uint32_t uid, const char *comm,
			  uint64_t t0, uint64_t t1)
{
	assert_int_equal(ev->pid, child);
	assert_int_equal(ev->tid, child);
	assert_int_equal(ev->ppid, getpid());
	assert_int_equal(ev->uid, uid);
	assert_int_equal(ev->gid, uid);
	assert_int_equal(ev->loginuid, my_loginuid);
	assert_string_equal(ev->comm, comm);
	assert_true(ev->ts_boot_ns >= t0 && ev->ts_boot_ns <= t1);
	if (my_cgroup)
		assert_int_equal(ev->cgroup_id, my_cgroup);
	assert_int_equal(ev->flags, 0);
}

/* ---------------------------------------------------------------- exec */

#define LONG_ARG 5000

static char *long_arg(void)
{
	static char a[LONG_ARG + 1];
	memset(a, 'A', LONG_ARG);
	a[LONG_ARG] = 0;
	return a;
}

static void do_exec_true(void *arg)
{
	const char *path = arg;
	if (chdir(tmpdir) != 0)
		_exit(10);
	char *argv[] = { "true", "two words", "quo\"te'd", "n\xc3\xafve \xe2\x9c\x93", long_arg(), NULL };
	char *envp[] = { NULL };
	execve(path, argv, envp);
	_exit(11);
}

static void test_exec_argv(void **state)
{
	(void)state;
	ST_SKIP_UNLESS_ROOT();
	struct imm_event ev;
	struct stat st;
	char real[PATH_MAX];
	assert_int_equal(stat(true_bin, &st), 0);
	assert_non_null(realpath(true_bin, real));

	st_clear();
	uint64_t t0 = st_boot_ns();
	pid_t child = st_child(do_exec_true, true_bin);
	uint64_t t1 = st_boot_ns();
	st_drain();

	assert_int_equal(st_find(child, IMM_K_EXEC, &ev, &ar, NULL, NULL), 0);
	assert_int_equal(ev.type, EBPF_EVENT_EXEC);
	assert_common(&ev, child, 0, "true", t0, t1);
	assert_int_equal(ev.outcome, IMM_OUTCOME_SUCCESS);
	assert_int_equal(ev.error_code, 0);
	assert_int_equal(ev.ret, 0);
	assert_int_equal(ev.syscall, IMM_SYS_EXECVE);
	assert_string_equal(ev.filename, true_bin);
	assert_string_equal(ev.executable, real);
	assert_string_equal(ev.name, "true");
	assert_string_equal(ev.cwd, tmpdir);
	assert_int_equal(ev.exe_ino, st.st_ino);
	assert_int_equal(ev.exe_dev, st.st_dev);
	/* argv: the first four whole, the fifth cut at the 4096-byte bound */
	assert_int_equal(ev.argc, 5);
	assert_string_equal(ev.argv[0], "true");
	assert_string_equal(ev.argv[1], "two words");
	assert_string_equal(ev.argv[2], "quo\"te'd");
	assert_string_equal(ev.argv[3], "n\xc3\xafve \xe2\x9c\x93");
	size_t used = 5 + 10 + 9 + strlen("n\xc3\xafve \xe2\x9c\x93") + 1;
	assert_int_equal(strlen(ev.argv[4]), IMM_ARGS_MAX - used - 1);
	assert_true(ev.truncated & IMM_TRUNC_ARGS);
	assert_false(ev.truncated & (IMM_TRUNC_PATH | IMM_TRUNC_FILENAME | IMM_TRUNC_CWD | IMM_TRUNC_DEPTH));
	assert_non_null(strstr(ev.command_line, "true two words quo\"te'd n\xc3\xafve"));
}

static void do_exec_missing(void *arg)
{
	(void)arg;
	if (chdir(tmpdir) != 0)
		_exit(10);
	char *argv[] = { "immune-missing", "a b", NULL };
	char *envp[] = { NULL };
	execve("/nonexistent/immune-missing", argv, envp);
	_exit(errno == ENOENT ? 0 : 12);
}

static void test_exec_enoent(void **state)
{
	(void)state;
	ST_SKIP_UNLESS_ROOT();
	struct imm_event ev;
	st_clear();
	uint64_t t0 = st_boot_ns();
	pid_t child = st_child(do_exec_missing, NULL);
	uint64_t t1 = st_boot_ns();
	st_drain();
	assert_int_equal(st_find(child, IMM_K_EXEC, &ev, &ar, NULL, NULL), 0);
	char comm[16];
	snprintf(comm, sizeof(comm), "%s", program_invocation_short_name);
	assert_common(&ev, child, 0, comm, t0, t1);
	assert_int_equal(ev.outcome, IMM_OUTCOME_FAILURE);
	assert_int_equal(ev.error_code, ENOENT);
	assert_int_equal(ev.ret, -ENOENT);
	assert_int_equal(ev.syscall, IMM_SYS_EXECVE);
	assert_string_equal(ev.filename, "/nonexistent/immune-missing");
	assert_string_equal(ev.executable, ""); /* the caller's: the process table fills it */
	assert_string_equal(ev.cwd, tmpdir);
	assert_int_equal(ev.exe_ino, 0);
	assert_int_equal(ev.exe_dev, 0);
	assert_int_equal(ev.argc, 2);
	assert_string_equal(ev.argv[0], "immune-missing");
	assert_string_equal(ev.argv[1], "a b");
	assert_int_equal(ev.truncated, 0);
}

static void test_exec_symlink(void **state)
{
	(void)state;
	ST_SKIP_UNLESS_ROOT();
	struct imm_event ev;
	struct stat st;
	char link[PATH_MAX + 32], real[PATH_MAX];
	snprintf(link, sizeof(link), "%s/link-to-true", tmpdir);
	assert_int_equal(symlink(true_bin, link), 0);
	assert_int_equal(stat(true_bin, &st), 0);
	assert_non_null(realpath(true_bin, real));

	st_clear();
	uint64_t t0 = st_boot_ns();
	pid_t child = st_child(do_exec_true, link);
	uint64_t t1 = st_boot_ns();
	st_drain();
	assert_int_equal(st_find(child, IMM_K_EXEC, &ev, &ar, NULL, NULL), 0);
	assert_common(&ev, child, 0, "link-to-true", t0, t1);
	assert_int_equal(ev.outcome, IMM_OUTCOME_SUCCESS);
	assert_string_equal(ev.filename, link);
	assert_string_equal(ev.executable, real);
	assert_string_not_equal(ev.filename, ev.executable);
	assert_int_equal(ev.exe_ino, st.st_ino);
	assert_int_equal(ev.exe_dev, st.st_dev);
}

static void do_execveat(void *arg)
{
	(void)arg;
	int dfd = open(tmpdir, O_PATH | O_DIRECTORY);
	char *argv[] = { "true", NULL };
	char *envp[] = { NULL };
	syscall(SYS_execveat, dfd, "true", argv, envp, 0);
	_exit(13);
}

static void test_execveat(void **state)
{
	(void)state;
	ST_SKIP_UNLESS_ROOT();
	struct imm_event ev;
	st_clear();
	uint64_t t0 = st_boot_ns();
	pid_t child = st_child(do_execveat, NULL);
	uint64_t t1 = st_boot_ns();
	st_drain();
	assert_int_equal(st_find(child, IMM_K_EXEC, &ev, &ar, NULL, NULL), 0);
	assert_common(&ev, child, 0, "true", t0, t1);
	assert_int_equal(ev.syscall, IMM_SYS_EXECVEAT);
	assert_int_equal(ev.outcome, IMM_OUTCOME_SUCCESS);
	assert_string_equal(ev.executable, true_bin);
	/* the kernel names a dirfd-relative exec /dev/fd/N/NAME */
	assert_non_null(strstr(ev.filename, "/true"));
	assert_int_equal(ev.argc, 1);
}

/* ---------------------------------------------------------------- open */

#define HOSTILE "new \"file\"\nx.txt"

static void do_openat_dirfd(void *arg)
{
	(void)arg;
	struct stat st;
	int dfd = open(tmpdir, O_DIRECTORY | O_RDONLY);
	long fd = syscall(SYS_openat, dfd, HOSTILE, O_CREAT | O_WRONLY, 0640);
	if (fd < 0 || fstat(fd, &st))
		_exit(14);
	sh->v[0] = fd;
	sh->v[1] = st.st_ino;
	sh->v[2] = st.st_dev;
	sh->v[3] = dfd;
}

static int is_path(const struct imm_event *ev, const void *arg)
{
	return strcmp(ev->path, arg) == 0;
}

static void test_openat_dirfd_creat(void **state)
{
	(void)state;
	ST_SKIP_UNLESS_ROOT();
	struct imm_event ev;
	char abs[PATH_MAX + 64];
	snprintf(abs, sizeof(abs), "%s/%s", tmpdir, HOSTILE);
	st_clear();
	uint64_t t0 = st_boot_ns();
	pid_t child = st_child(do_openat_dirfd, NULL);
	uint64_t t1 = st_boot_ns();
	st_drain();
	assert_int_equal(st_find(child, IMM_K_OPEN, &ev, &ar, is_path, HOSTILE), 0);
	char comm[16];
	snprintf(comm, sizeof(comm), "%s", program_invocation_short_name);
	assert_common(&ev, child, 0, comm, t0, t1);
	assert_int_equal(ev.type, EBPF_EVENT_OPEN);
	assert_int_equal(ev.syscall, IMM_SYS_OPENAT);
	assert_int_equal(ev.outcome, IMM_OUTCOME_SUCCESS);
	assert_int_equal(ev.error_code, 0);
	assert_int_equal(ev.ret, sh->v[0]);
	assert_string_equal(ev.path, HOSTILE);
	assert_string_equal(ev.abs_path, abs);
	assert_int_equal(ev.open_flags, O_CREAT | O_WRONLY);
	assert_int_equal(ev.open_mode, 0640);
	assert_int_equal(ev.file_ino, (uint64_t)sh->v[1]);
	assert_int_equal(ev.file_dev, (uint64_t)sh->v[2]);
	assert_int_equal(ev.truncated, 0);
}

static void do_open_missing(void *arg)
{
	(void)arg;
	if (chdir(tmpdir) != 0)
		_exit(10);
	long fd = syscall(SYS_openat, AT_FDCWD, "missing/dir/x", O_RDONLY, 0);
	_exit(fd == -1 && errno == ENOENT ? 0 : 15);
}

static void test_open_enoent_relative_cwd(void **state)
{
	(void)state;
	ST_SKIP_UNLESS_ROOT();
	struct imm_event ev;
	char abs[PATH_MAX + 32];
	snprintf(abs, sizeof(abs), "%s/missing/dir/x", tmpdir);
	st_clear();
	uint64_t t0 = st_boot_ns();
	pid_t child = st_child(do_open_missing, NULL);
	uint64_t t1 = st_boot_ns();
	st_drain();
	assert_int_equal(st_find(child, IMM_K_OPEN, &ev, &ar, is_path, "missing/dir/x"), 0);
	char comm[16];
	snprintf(comm, sizeof(comm), "%s", program_invocation_short_name);
	assert_common(&ev, child, 0, comm, t0, t1);
	assert_int_equal(ev.outcome, IMM_OUTCOME_FAILURE);
	assert_int_equal(ev.error_code, ENOENT);
	assert_int_equal(ev.ret, -ENOENT);
	assert_string_equal(ev.abs_path, abs);
	assert_int_equal(ev.open_flags, O_RDONLY);
	assert_int_equal(ev.open_mode, 0);
	assert_int_equal(ev.file_ino, 0);
	assert_int_equal(ev.file_dev, 0);
}

static void do_open_eacces(void *arg)
{
	if (setgid(65534) || setuid(65534))
		_exit(16);
	long fd = syscall(SYS_openat, AT_FDCWD, (const char *)arg, O_RDONLY, 0);
	_exit(fd == -1 && errno == EACCES ? 0 : 17);
}

static void test_open_eacces_nonroot(void **state)
{
	(void)state;
	ST_SKIP_UNLESS_ROOT();
	struct imm_event ev;
	char secret[PATH_MAX + 16];
	/* root's file, mode 0600, in a directory anyone may traverse */
	snprintf(secret, sizeof(secret), "%s/secret", tmpdir);
	int sfd = open(secret, O_CREAT | O_WRONLY, 0600);
	assert_true(sfd >= 0);
	close(sfd);
	assert_int_equal(chmod(tmpdir, 0755), 0);
	st_clear();
	uint64_t t0 = st_boot_ns();
	pid_t child = st_child(do_open_eacces, secret);
	uint64_t t1 = st_boot_ns();
	st_drain();
	assert_int_equal(chmod(tmpdir, 0700), 0);
	assert_int_equal(st_find(child, IMM_K_OPEN, &ev, &ar, is_path, secret), 0);
	char comm[16];
	snprintf(comm, sizeof(comm), "%s", program_invocation_short_name);
	assert_common(&ev, child, 65534, comm, t0, t1);
	assert_int_equal(ev.outcome, IMM_OUTCOME_FAILURE);
	assert_int_equal(ev.error_code, EACCES);
	assert_int_equal(ev.ret, -EACCES);
	assert_string_equal(ev.abs_path, secret);
	assert_int_equal(ev.open_flags, O_RDONLY);
}

static void do_open_variants(void *arg)
{
	(void)arg;
	char p[PATH_MAX + 16];
	snprintf(p, sizeof(p), "%s/creat.txt", tmpdir);
	long fd = syscall(SYS_creat, p, 0600);
	sh->v[0] = fd;
	struct open_how how = { .flags = O_RDONLY | O_CLOEXEC, .mode = 0, .resolve = RESOLVE_NO_SYMLINKS };
	sh->v[1] = syscall(SYS_openat2, AT_FDCWD, "/etc/passwd", &how, sizeof(how));
	sh->v[2] = syscall(SYS_open, "/etc/group", O_RDONLY | O_NOFOLLOW, 0);
	if (fd < 0 || sh->v[1] < 0 || sh->v[2] < 0)
		_exit(18);
}

static void test_open_creat_openat2_open(void **state)
{
	(void)state;
	ST_SKIP_UNLESS_ROOT();
	struct imm_event ev;
	char p[PATH_MAX + 16];
	snprintf(p, sizeof(p), "%s/creat.txt", tmpdir);
	st_clear();
	pid_t child = st_child(do_open_variants, NULL);
	st_drain();

	assert_int_equal(st_find(child, IMM_K_OPEN, &ev, &ar, is_path, p), 0);
	assert_int_equal(ev.syscall, IMM_SYS_CREAT);
	assert_int_equal(ev.open_flags, O_CREAT | O_WRONLY | O_TRUNC);
	assert_int_equal(ev.open_mode, 0600);
	assert_int_equal(ev.ret, sh->v[0]);
	assert_string_equal(ev.abs_path, p);

	assert_int_equal(st_find(child, IMM_K_OPEN, &ev, &ar, is_path, "/etc/passwd"), 0);
	assert_int_equal(ev.syscall, IMM_SYS_OPENAT2);
	assert_int_equal(ev.open_flags, O_RDONLY | O_CLOEXEC);
	assert_int_equal(ev.ret, sh->v[1]);
	assert_int_equal(ev.outcome, IMM_OUTCOME_SUCCESS);

	assert_int_equal(st_find(child, IMM_K_OPEN, &ev, &ar, is_path, "/etc/group"), 0);
	assert_int_equal(ev.syscall, IMM_SYS_OPEN);
	assert_int_equal(ev.open_flags, O_RDONLY | O_NOFOLLOW);
	assert_int_equal(ev.ret, sh->v[2]);
}

/* The sensor reads the opened file from the files_struct's own 64-entry
 * array directly and from a grown table by probe reads (or both by plain
 * loads where the kernel has bpf_rdonly_cast): both must give the
 * file's dev and ino. Closing the inherited fds and forking gives a process
 * whose table is that array; a dup2 to fd 200 then grows it. */
static void do_open_fd_tables(void *arg)
{
	const char *dir = arg;
	char a[PATH_MAX + 16], b[PATH_MAX + 16];
	snprintf(a, sizeof(a), "%s/fdtab-small", dir);
	snprintf(b, sizeof(b), "%s/fdtab-grown", dir);
	closefrom(3);
	pid_t g = fork();
	if (g == 0) {
		struct stat st;
		long fa = syscall(SYS_openat, AT_FDCWD, a, O_RDONLY, 0);
		if (fa < 0 || fstat(fa, &st) || dup2(fa, 200) != 200)
			_exit(20);
		sh->v[0] = fa;
		sh->v[1] = st.st_ino;
		sh->v[2] = st.st_dev;
		long fb = syscall(SYS_openat, AT_FDCWD, b, O_RDONLY, 0);
		if (fb < 0 || fstat(fb, &st))
			_exit(21);
		sh->v[3] = fb;
		sh->v[4] = st.st_ino;
		sh->v[5] = st.st_dev;
		_exit(0);
	}
	int status = 0;
	sh->v[6] = g;
	if (g < 0 || waitpid(g, &status, 0) != g || !WIFEXITED(status) || WEXITSTATUS(status))
		_exit(22);
}

static void test_open_fd_tables(void **state)
{
	(void)state;
	ST_SKIP_UNLESS_ROOT();
	struct imm_event ev;
	char a[PATH_MAX + 16], b[PATH_MAX + 16];
	snprintf(a, sizeof(a), "%s/fdtab-small", tmpdir);
	snprintf(b, sizeof(b), "%s/fdtab-grown", tmpdir);
	for (int i = 0; i < 2; i++) {
		int fd = open(i ? b : a, O_CREAT | O_WRONLY, 0600);
		assert_true(fd >= 0);
		close(fd);
	}
	st_clear();
	pid_t child = st_child(do_open_fd_tables, tmpdir);
	st_drain();
	pid_t g = (pid_t)sh->v[6];
	assert_int_equal(st_find(g, IMM_K_OPEN, &ev, &ar, is_path, a), 0);
	assert_int_equal(ev.ppid, child);
	assert_int_equal(ev.ret, sh->v[0]);
	assert_true(ev.ret < 64);
	assert_int_equal(ev.file_ino, (uint64_t)sh->v[1]);
	assert_int_equal(ev.file_dev, (uint64_t)sh->v[2]);
	assert_int_equal(st_find(g, IMM_K_OPEN, &ev, &ar, is_path, b), 0);
	assert_int_equal(ev.ppid, child);
	assert_int_equal(ev.ret, sh->v[3]);
	assert_int_equal(ev.file_ino, (uint64_t)sh->v[4]);
	assert_int_equal(ev.file_dev, (uint64_t)sh->v[5]);
	assert_true(sh->v[1] != sh->v[4]);
	/* where the kernel can and open's arguments come from the saved
	 * registers, those are read by plain loads (bpf/plain_load.bpf.h) */
	assert_int_equal(ebpf_plain_loads(), ebpf_kernel_has_rdonly_cast() && ebpf_open_args_from_regs());
	fprintf(stderr, "sensor_test: fd table read by %s\n",
		ebpf_kernel_has_rdonly_cast() ? "plain loads (bpf_rdonly_cast)"
					      : "BTF loads up to fd 63, probe reads past it (no bpf_rdonly_cast)");
}

/* The loader's own process is excluded in the kernel. */
static void test_self_excluded(void **state)
{
	(void)state;
	ST_SKIP_UNLESS_ROOT();
	struct imm_event ev;
	st_clear();
	int fd = open("/etc/passwd", O_RDONLY);
	assert_true(fd >= 0);
	close(fd);
	st_drain();
	assert_int_equal(st_find(getpid(), IMM_K_OPEN, &ev, &ar, is_path, "/etc/passwd"), -ENOENT);
}

/* ------------------------------------------------------------- connect */

struct conn_arg {
	int family;
	struct sockaddr_storage ss;
	socklen_t len;
	int expect_errno;
};

static void do_connect(void *arg)
{
	struct conn_arg *c = arg;
	int s = socket(c->family, SOCK_STREAM, 0);
	int r = connect(s, (struct sockaddr *)&c->ss, c->len);
	sh->v[0] = s;
	if (c->expect_errno ? (r == 0 || errno != c->expect_errno) : r != 0)
		_exit(19);
}

static void check_connect(struct conn_arg *c, const char *ip, int port, const char *unix_path)
{
	struct imm_event ev;
	st_clear();
	uint64_t t0 = st_boot_ns();
	pid_t child = st_child(do_connect, c);
	uint64_t t1 = st_boot_ns();
	st_drain();
	assert_int_equal(st_find(child, IMM_K_CONNECT, &ev, &ar, NULL, NULL), 0);
	char comm[16];
	snprintf(comm, sizeof(comm), "%s", program_invocation_short_name);
	assert_common(&ev, child, 0, comm, t0, t1);
	assert_int_equal(ev.type, EBPF_EVENT_CONNECT);
	assert_int_equal(ev.family, c->family);
	assert_int_equal(ev.sock_type, SOCK_STREAM);
	assert_int_equal(ev.error_code, c->expect_errno);
	assert_int_equal(ev.ret, -c->expect_errno);
	assert_int_equal(ev.outcome, c->expect_errno ? IMM_OUTCOME_FAILURE : IMM_OUTCOME_SUCCESS);
	if (unix_path) {
		assert_string_equal(ev.unix_path, unix_path);
		assert_string_equal(ev.transport, "unix");
		assert_string_equal(ev.dst_ip, "");
		assert_int_equal(ev.dst_port, 0);
	} else {
		assert_string_equal(ev.dst_ip, ip);
		assert_int_equal(ev.dst_port, port);
		assert_string_equal(ev.transport, "tcp");
		assert_string_equal(ev.unix_path, "");
	}
}

static int listen_on(int family, struct sockaddr_storage *ss, socklen_t *len)
{
	int s = socket(family, SOCK_STREAM, 0);
	memset(ss, 0, sizeof(*ss));
	if (family == AF_INET) {
		struct sockaddr_in *a = (void *)ss;
		a->sin_family = AF_INET;
		a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		*len = sizeof(*a);
	} else {
		struct sockaddr_in6 *a = (void *)ss;
		a->sin6_family = AF_INET6;
		a->sin6_addr = in6addr_loopback;
		*len = sizeof(*a);
	}
	assert_int_equal(bind(s, (struct sockaddr *)ss, *len), 0);
	assert_int_equal(listen(s, 16), 0);
	assert_int_equal(getsockname(s, (struct sockaddr *)ss, len), 0);
	return s;
}

static void test_connect_ipv4_listening(void **state)
{
	(void)state;
	ST_SKIP_UNLESS_ROOT();
	struct conn_arg c = { .family = AF_INET };
	int s = listen_on(AF_INET, &c.ss, &c.len);
	check_connect(&c, "127.0.0.1", ntohs(((struct sockaddr_in *)&c.ss)->sin_port), NULL);
	close(s);
}

static void test_connect_ipv4_refused(void **state)
{
	(void)state;
	ST_SKIP_UNLESS_ROOT();
	struct conn_arg c = { .family = AF_INET, .expect_errno = ECONNREFUSED };
	int s = listen_on(AF_INET, &c.ss, &c.len);
	close(s); /* the port is now free: nothing listens */
	check_connect(&c, "127.0.0.1", ntohs(((struct sockaddr_in *)&c.ss)->sin_port), NULL);
}

static void test_connect_ipv6_loopback(void **state)
{
	(void)state;
	ST_SKIP_UNLESS_ROOT();
	struct conn_arg c = { .family = AF_INET6 };
	int s = listen_on(AF_INET6, &c.ss, &c.len);
	check_connect(&c, "::1", ntohs(((struct sockaddr_in6 *)&c.ss)->sin6_port), NULL);
	close(s);
}

static void test_connect_unix(void **state)
{
	(void)state;
	ST_SKIP_UNLESS_ROOT();
	struct conn_arg c = { .family = AF_UNIX };
	struct sockaddr_un *u = (void *)&c.ss;
	u->sun_family = AF_UNIX;
	/* tmpdir is short (/tmp/immune-selftest-XXXXXX) */
	assert_true(strlen(tmpdir) + 6 < sizeof(u->sun_path));
	memcpy(u->sun_path, tmpdir, strlen(tmpdir));
	memcpy(u->sun_path + strlen(tmpdir), "/sock", 6);
	c.len = sizeof(*u);
	int s = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_int_equal(bind(s, (struct sockaddr *)u, sizeof(*u)), 0);
	assert_int_equal(listen(s, 4), 0);
	char expect[sizeof(u->sun_path)];
	snprintf(expect, sizeof(expect), "%s", u->sun_path);
	check_connect(&c, NULL, 0, expect);
	close(s);
}

/* ------------------------------------------------------------- lifecycle */

static void do_exit_7(void *arg)
{
	(void)arg;
	pid_t p = fork();
	if (p == 0)
		_exit(7);
	int status;
	waitpid(p, &status, 0);
	sh->v[0] = p;
}

static void test_fork_exit(void **state)
{
	(void)state;
	ST_SKIP_UNLESS_ROOT();
	struct imm_event ev;
	st_clear();
	pid_t child = st_child(do_exit_7, NULL);
	st_drain();
	pid_t grandchild = sh->v[0];
	assert_int_equal(st_find(grandchild, IMM_K_FORK, &ev, &ar, NULL, NULL), 0);
	assert_int_equal(ev.pid, grandchild);
	assert_int_equal(ev.ppid, child);
	assert_int_equal(st_find(grandchild, IMM_K_EXIT, &ev, &ar, NULL, NULL), 0);
	assert_int_equal(ev.exit_code, 7 << 8);
	assert_int_equal(ev.ppid, child);
	assert_int_equal(st_find(child, IMM_K_EXIT, &ev, &ar, NULL, NULL), 0);
	assert_int_equal(ev.exit_code, 0);
}

/* ----------------------------------------------------------------- flood */

/* 1,000,000 on the host; IMMUNE_FLOOD lowers it in the emulated VM */
static long flood_n = 1000000;

static void do_flood(void *arg)
{
	(void)arg;
	for (long i = 0; i < flood_n; i++) {
		long fd = syscall(SYS_openat, AT_FDCWD, "/dev/null", O_RDONLY, 0);
		if (fd >= 0)
			close(fd);
	}
}

static uint64_t flood_seen;
static pid_t flood_pid;

static int flood_cb(ebpf_event_type_t type, const void *data, size_t size, void *ctx)
{
	(void)ctx;
	(void)size;
	const struct imm_hdr *h = data;
	if (type == EBPF_EVENT_OPEN && (pid_t)h->pid == flood_pid)
		flood_seen++;
	return 0;
}

static void test_flood_accounted(void **state)
{
	(void)state;
	ST_SKIP_UNLESS_ROOT();
	struct ebpf_stats a, b;
	st_drain();
	st_clear();
	assert_int_equal(ebpf_get_stats(&a), 0);
	if (getenv("IMMUNE_FLOOD"))
		flood_n = atol(getenv("IMMUNE_FLOOD"));
	flood_seen = 0;
	flood_pid = fork();
	assert_true(flood_pid >= 0);
	if (flood_pid == 0) {
		do_flood(NULL);
		_exit(0);
	}
	int status;
	while (waitpid(flood_pid, &status, WNOHANG) == 0)
		ebpf_poll_events(flood_cb, 50);
	for (int i = 0; i < 5; i++)
		ebpf_poll_events(flood_cb, 20);
	/*
	 * The rest of the host opens files too, while we read: the kernel counts a
	 * record just after submitting it, and records keep coming. So bracket:
	 * what was emitted by the first reading has arrived (or was counted lost)
	 * by the second, and what had arrived by the first was counted emitted by
	 * the second.
	 */
	struct ebpf_stats b1;
	assert_int_equal(ebpf_get_stats(&b1), 0);
	for (int i = 0; i < 5; i++)
		ebpf_poll_events(flood_cb, 20);
	assert_int_equal(ebpf_get_stats(&b), 0);
	uint64_t emitted = b1.events[EBPF_EVENT_OPEN] - a.events[EBPF_EVENT_OPEN];
	uint64_t emitted2 = b.events[EBPF_EVENT_OPEN] - a.events[EBPF_EVENT_OPEN];
	uint64_t dropped = b.drops[EBPF_EVENT_OPEN] - a.drops[EBPF_EVENT_OPEN];
	uint64_t received1 = b1.received[EBPF_EVENT_OPEN] - a.received[EBPF_EVENT_OPEN];
	uint64_t received = b.received[EBPF_EVENT_OPEN] - a.received[EBPF_EVENT_OPEN];
	uint64_t perf_lost1 = b1.perf_lost - a.perf_lost;
	uint64_t perf_lost = b.perf_lost - a.perf_lost;
	fprintf(stderr, "flood (%s): issued %ld, delivered from the flooder %lu, kernel drops %lu, perf lost %lu, "
		"emitted %lu, received %lu (then %lu and %lu)\n", ebpf_buffer_name(), flood_n,
		(unsigned long)flood_seen, (unsigned long)dropped, (unsigned long)perf_lost, (unsigned long)emitted,
		(unsigned long)received1, (unsigned long)emitted2, (unsigned long)received);
	/* every record the kernel emitted reached us or was counted lost on the way */
	assert_true(emitted <= received + perf_lost);
	/* and nothing reached us that the kernel did not count */
	assert_true(received1 + perf_lost1 <= emitted2);
	/* every open the flooder issued was delivered or counted as a loss */
	assert_true(flood_seen <= (uint64_t)flood_n);
	assert_true(flood_seen + dropped + perf_lost >= (uint64_t)flood_n);
}

int main(int argc, char **argv)
{
	if (argc > 0 && strcmp(argv[0], "true") == 0)
		return 0; /* exec'd by the tests as their "true" */
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exec_argv),
		cmocka_unit_test(test_exec_enoent),
		cmocka_unit_test(test_exec_symlink),
		cmocka_unit_test(test_execveat),
		cmocka_unit_test(test_openat_dirfd_creat),
		cmocka_unit_test(test_open_enoent_relative_cwd),
		cmocka_unit_test(test_open_eacces_nonroot),
		cmocka_unit_test(test_open_creat_openat2_open),
		cmocka_unit_test(test_open_fd_tables),
		cmocka_unit_test(test_self_excluded),
		cmocka_unit_test(test_connect_ipv4_listening),
		cmocka_unit_test(test_connect_ipv4_refused),
		cmocka_unit_test(test_connect_ipv6_loopback),
		cmocka_unit_test(test_connect_unix),
		cmocka_unit_test(test_fork_exit),
		cmocka_unit_test(test_flood_accounted),
	};
	const char *buf = getenv("IMMUNE_BUFFER");
	char name[64];
	snprintf(name, sizeof(name), "sensor (%s buffer)", buf && !strcmp(buf, "perf") ? "perf" : "ring");
	return cmocka_run_group_tests_name(name, tests, setup, teardown);
}
