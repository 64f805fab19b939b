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

/* Thread → kind of the action an enforcement program just refused (-EPERM). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} denials SEC(".maps");

/*
 * The daemon's own process (struct imm_self: tgid and start time; tgid 0:
 * none). The enforcement programs never deny it, whatever the verdict maps
 * say (an old pinned map, a bpftool edit), so no verdict cuts immuned off
 * from its Hive, its database or its files. Pinned: links that outlive a
 * daemon see the next one's, written at its start; cleared at its stop. A
 * daemon that dies without clearing it leaves its pid there: the start time
 * keeps a later process that reuses the pid from being exempt.
 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct imm_self);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} verdict_self SEC(".maps");

static __always_inline bool verdict_exempt(void)
{
	__u32 zero = 0;
	struct imm_self *self = bpf_map_lookup_elem(&verdict_self, &zero);
	if (!self || !self->tgid || !self->ns_per_tick || self->tgid != (__u32)(bpf_get_current_pid_tgid() >> 32))
		return false;
	/* the group leader's: every thread of the daemon, as /proc/PID/stat says it */
	struct task_struct *t = (struct task_struct *)bpf_get_current_task();
	__u64 born = BPF_CORE_READ(t, group_leader, start_boottime);
	return born / self->ns_per_tick == self->start_ticks;
}

static __always_inline bool verdict_denies(struct imm_verdict *v)
{
	/* asked only on a match: no cost on the allowed path */
	if (!v || v->action != IMM_ACT_DENY || verdict_exempt())
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

/* addr is the IPv4-mapped or IPv6 address; exact entries win over prefixes. */
static __always_inline bool net_denied(const __u8 *addr, __u16 port)
{
	struct imm_net_key k = {};
	struct imm_verdict *v;

	__builtin_memcpy(k.addr, addr, 16);
	k.port = port;
	v = bpf_map_lookup_elem(&verdict_net, &k);
	if (!v) {
		k.port = 0;
		v = bpf_map_lookup_elem(&verdict_net, &k);
	}
	if (v)
		return verdict_denies(v);
	struct imm_cidr_key ck = { .prefixlen = 128 };
	__builtin_memcpy(ck.addr, addr, 16);
	v = bpf_map_lookup_elem(&verdict_cidr, &ck);
	if (v && (v->port == 0 || v->port == port))
		return verdict_denies(v);
	return false;
}

/* Was this thread's failed syscall refused by a verdict? Consumes the note. */
static __always_inline bool take_denial(__u32 kind)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	__u32 *k = bpf_map_lookup_elem(&denials, &tid);
	if (!k)
		return false;
	bool match = *k == kind;
	bpf_map_delete_elem(&denials, &tid);
	return match;
}

#endif
