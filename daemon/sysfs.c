#include "sysfs.h"
#include "mkdir_p.h"

#include <errno.h>
#include <linux/capability.h>
#include <linux/magic.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef TRACEFS_MAGIC
#define TRACEFS_MAGIC 0x74726163
#endif
#ifndef BPF_FS_MAGIC
#define BPF_FS_MAGIC 0xcafe4a11
#endif
#ifndef CAP_BPF
#define CAP_BPF 39
#define CAP_PERFMON 38
#endif

static bool is_fs(const char *path, long magic)
{
	struct statfs st;
	return statfs(path, &st) == 0 && (long)st.f_type == magic;
}

int sysfs_ensure_tracefs(char *why, size_t n)
{
	const char *dir = "/sys/kernel/tracing";

	if (is_fs(dir, TRACEFS_MAGIC) || access("/sys/kernel/debug/tracing/events", F_OK) == 0)
		return 0;
	if (mount("tracefs", dir, "tracefs", 0, NULL) != 0) {
		snprintf(why, n, "tracefs is not mounted and mounting it at %s failed: %s "
			 "(mount it with: mount -t tracefs tracefs %s)", dir, strerror(errno), dir);
		return -errno;
	}
	fprintf(stderr, "immuned: mounted tracefs at %s\n", dir);
	return 0;
}

int sysfs_ensure_bpffs(const char *dir, char *why, size_t n)
{
	const char *root = "/sys/fs/bpf";
	int err;

	if (!is_fs(root, BPF_FS_MAGIC)) {
		if (mount("bpf", root, "bpf", 0, "mode=0700") != 0) {
			snprintf(why, n, "bpffs is not mounted and mounting it at %s failed: %s "
				 "(mount it with: mount -t bpf bpf %s)", root, strerror(errno), root);
			return -errno;
		}
		fprintf(stderr, "immuned: mounted bpffs at %s\n", root);
	}
	err = mkdir_p(dir, 0700);
	if (err) {
		snprintf(why, n, "cannot create the pin directory %s: %s", dir, strerror(-err));
		return err;
	}
	if (!is_fs(dir, BPF_FS_MAGIC)) {
		snprintf(why, n, "the pin directory %s is not on a bpf file system", dir);
		return -EINVAL;
	}
	return 0;
}

int sysfs_cgroup2_path(char *out, size_t n)
{
	FILE *f = fopen("/proc/mounts", "re");
	char dev[256], dir[4096], type[64];
	int found = -ENOENT;

	if (!f)
		return -errno;
	while (fscanf(f, "%255s %4095s %63s %*[^\n]\n", dev, dir, type) == 3) {
		if (strcmp(type, "cgroup2") == 0) {
			snprintf(out, n, "%s", dir);
			found = 0;
			break;
		}
	}
	fclose(f);
	return found;
}

bool sysfs_have_bpf_caps(void)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[2];

	if (syscall(SYS_capget, &h, d) != 0)
		return false;
	unsigned long long eff = d[0].effective | ((unsigned long long)d[1].effective << 32);
	bool admin = eff & (1ULL << CAP_SYS_ADMIN);
	bool bpf = eff & (1ULL << CAP_BPF), perfmon = eff & (1ULL << CAP_PERFMON);
	return admin || (bpf && perfmon);
}
