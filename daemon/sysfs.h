/* The pseudo file systems the daemon needs, mounted when missing. */
#ifndef IMMUNE_SYSFS_H
#define IMMUNE_SYSFS_H

#include <stdbool.h>
#include <stddef.h>

/* Mount tracefs at /sys/kernel/tracing unless it (or debugfs' tracing) is there. */
int sysfs_ensure_tracefs(char *why, size_t n);
/* Mount bpffs at /sys/fs/bpf unless mounted, then create dir (mode 0700). */
int sysfs_ensure_bpffs(const char *dir, char *why, size_t n);
/* Find the cgroup v2 mount point from /proc/mounts; 0 and the path, or -ENOENT. */
int sysfs_cgroup2_path(char *out, size_t n);
bool sysfs_have_bpf_caps(void);

#endif
