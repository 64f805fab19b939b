/*
 * Kernel objects by plain loads instead of helper calls: the file open as an
 * fd and the registers saved at syscall entry. Shared by the sensor and the
 * benchmark's floor programs that measure what reading them costs. On this
 * PTI guest a helper call costs ~20 ns and a bpf_probe_read_kernel ~30 ns,
 * against ~1 ns a load.
 */
#ifndef IMMUNE_PLAIN_LOAD_BPF_H
#define IMMUNE_PLAIN_LOAD_BPF_H

#include <bpf/bpf_core_read.h>

/*
 * An address as a read-only BTF pointer (kernels 6.2 and later): its loads
 * are plain loads that the JIT makes fault-safe, as bpf_probe_read_kernel is,
 * at a load's cost. Weak: where the kernel lacks it the address reads 0 and
 * the verifier drops the branches that use it.
 */
extern void *bpf_rdonly_cast(const void *obj, __u32 btf_id) __ksym __weak;

/*
 * fd's file as a BTF pointer, whose fields are then plain loads. With
 * bpf_rdonly_cast any fd in the table is read so, however large the table
 * grew (a process started from a shell script inherits a table grown by its
 * fd 255, closed at exec but never shrunk). Without it the verifier refuses a
 * variable index into a BTF object, so each index of the files_struct's own
 * fd_array is a constant load behind a compare, and NULL is returned where
 * that array is not the table (more than 64 fds at some point) or fd is past
 * it: the caller then reads the table by bpf_probe_read_kernel.
 */
#define FD_CASE(n) case n: return files->fd_array[n];
#define FD_CASE8(n) FD_CASE(n) FD_CASE(n + 1) FD_CASE(n + 2) FD_CASE(n + 3) \
		    FD_CASE(n + 4) FD_CASE(n + 5) FD_CASE(n + 6) FD_CASE(n + 7)
static __always_inline struct file *fd_file_btf(struct task_struct *task, long fd)
{
	struct files_struct *files = task->files;

	if (!files)
		return NULL;
	if (bpf_rdonly_cast) {
		struct fdtable *fdt = files->fdt;
		if (fd < 0 || fd >= fdt->max_fds)
			return NULL;
		/* the entry, read as a struct kiocb's ki_filp: a struct whose member is a struct file * */
		__u64 at = (__u64)fdt->fd + fd * sizeof(void *) - bpf_core_field_offset(struct kiocb, ki_filp);
		struct kiocb *entry = bpf_rdonly_cast((void *)at, bpf_core_type_id_kernel(struct kiocb));
		return entry->ki_filp;
	}
	if ((void *)files->fdt->fd != (void *)files->fd_array)
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

/*
 * Where a task's saved registers sit from its stack's base: the same for
 * every task (THREAD_SIZE less the architecture's padding), learnt from
 * bpf_task_pt_regs's first answer. 0 until then; the daemon reads it
 * (ebpf_plain_loads) to say which way the sensor reads.
 */
__u64 regs_from_stack;

/*
 * The registers the task saved at syscall entry. bpf_task_pt_regs is a
 * helper call (~20 ns here, a quarter of the default mode's open program);
 * with bpf_rdonly_cast they are found from task->stack by one add, after
 * the helper's first answer has told the offset.
 */
static __always_inline struct pt_regs *task_regs(struct task_struct *task)
{
	__u64 off = regs_from_stack;

	if (bpf_rdonly_cast && off)
		return bpf_rdonly_cast((void *)((__u64)task->stack + off), bpf_core_type_id_kernel(struct pt_regs));
	struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(task);
	if (bpf_rdonly_cast) {
		off = (__u64)regs - (__u64)task->stack;
		/* within the stack, as task_pt_regs always is: anything else is not learnt */
		if (off > 0 && off < 64 * 1024)
			regs_from_stack = off;
	}
	return regs;
}

#endif
