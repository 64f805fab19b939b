/* A task's open file by descriptor, and its inode's identity: for the sensor
 * and for the fallback's open guard. */
#ifndef IMMUNE_FD_FILE_BPF_H
#define IMMUNE_FD_FILE_BPF_H

static __always_inline struct file *fd_file(struct task_struct *task, int fd)
{
	struct fdtable *fdt = task->files->fdt;
	struct file **fds = fdt->fd;
	unsigned int max = fdt->max_fds;
	struct file *f = NULL;

	if (fd < 0 || (unsigned int)fd >= max)
		return NULL;
	bpf_probe_read_kernel(&f, sizeof(f), &fds[fd]);
	return f;
}

/* dev and ino of f's inode, with as few reads as the chain allows */
static __always_inline void file_id(struct file *f, __u64 *dev, __u64 *ino)
{
	struct inode *inode = BPF_CORE_READ(f, f_inode);
	*ino = BPF_CORE_READ(inode, i_ino);
	*dev = BPF_CORE_READ(inode, i_sb, s_dev);
}

#endif
