/*
 * The file open as an fd, by plain BTF loads: shared by the sensor and the
 * benchmark's floor programs that measure what reading it costs.
 */
#ifndef IMMUNE_FD_FILE_BPF_H
#define IMMUNE_FD_FILE_BPF_H

/*
 * fd's file as a BTF pointer, whose fields are then plain loads instead of
 * bpf_probe_read_kernel calls (a helper call each: on this PTI guest the
 * four of them were half of an open record's cost). The verifier refuses a
 * variable index into a BTF object, so each index of the files_struct's own
 * fd_array is a constant load behind a compare. NULL where that array is
 * not the table (more than 64 fds at some point) or fd is past it: the
 * caller then reads the table by bpf_probe_read_kernel.
 */
#define FD_CASE(n) case n: return files->fd_array[n];
#define FD_CASE8(n) FD_CASE(n) FD_CASE(n + 1) FD_CASE(n + 2) FD_CASE(n + 3) \
		    FD_CASE(n + 4) FD_CASE(n + 5) FD_CASE(n + 6) FD_CASE(n + 7)
static __always_inline struct file *fd_file_btf(struct task_struct *task, long fd)
{
	struct files_struct *files = task->files;

	if (!files || (void *)files->fdt->fd != (void *)files->fd_array)
		return NULL;
	switch (fd) {
	FD_CASE8(0) FD_CASE8(8) FD_CASE8(16) FD_CASE8(24)
	FD_CASE8(32) FD_CASE8(40) FD_CASE8(48) FD_CASE8(56)
	}
	return NULL;
}
_Static_assert(sizeof(((struct files_struct *)0)->fd_array) == 64 * sizeof(void *), "fd_array has 64 entries");

/* d's d_name.hash_len by BTF loads: 6.1's verifier walks a union by its first
 * member, so the u64 is made of its two u32 halves (the kernel's
 * HASH_LEN_DECLARE order) */
static __always_inline __u64 dentry_hash_len(struct dentry *d)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	return (__u64)d->d_name.len << 32 | d->d_name.hash;
#else
	return (__u64)d->d_name.hash << 32 | d->d_name.len;
#endif
}

#endif
