/*
 * The verdict maps, pinned by name under the pin dir so that a restarted
 * daemon reuses them (no window without enforcement) and bpftool shows them
 * with BTF. Included by every object that enforces.
 */
#ifndef IMMUNE_VERDICT_BPF_H
#define IMMUNE_VERDICT_BPF_H

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, IMM_VERDICT_MAX);
	__type(key, struct imm_inode_key);
	__type(value, struct imm_verdict);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} verdict_exec SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, IMM_VERDICT_MAX);
	__type(key, struct imm_inode_key);
	__type(value, struct imm_verdict);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} verdict_file SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, IMM_VERDICT_MAX);
	__type(key, struct imm_net_key);
	__type(value, struct imm_verdict);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} verdict_net SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, IMM_VERDICT_MAX);
	__type(key, struct imm_cidr_key);
	__type(value, struct imm_verdict);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} verdict_cidr SEC(".maps");

static __always_inline bool verdict_denies(struct imm_verdict *v)
{
	if (!v || v->action != IMM_ACT_DENY)
		return false;
	__sync_fetch_and_add(&v->hits, 1);
	return true;
}

static __always_inline bool verdict_exec_denied(__u64 dev, __u64 ino)
{
	struct imm_inode_key k = { .dev = dev, .ino = ino };
	return verdict_denies(bpf_map_lookup_elem(&verdict_exec, &k));
}

static __always_inline bool verdict_file_denied(__u64 dev, __u64 ino)
{
	struct imm_inode_key k = { .dev = dev, .ino = ino };
	return verdict_denies(bpf_map_lookup_elem(&verdict_file, &k));
}

#endif
