/*
 * The verdict maps themselves: their shapes (the same as bpf/verdict.bpf.h),
 * hand-built BTF so that bpftool prints their fields, creating and pinning
 * them, and opening a pinned one after checking it has that shape.
 */
#include "verdict.h"
#include "sysfs.h"

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <limits.h>
#include <linux/magic.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/statfs.h>
#include <unistd.h>

const char *const verdict_map_names[VM_COUNT] = {
	"verdict_exec", "verdict_file", "verdict_net", "verdict_cidr",
};

/* Must match bpf/verdict.bpf.h, or libbpf refuses to reuse what we pinned. */
static const struct {
	enum bpf_map_type type;
	uint32_t key_size, value_size, flags;
} shapes[VM_COUNT] = {
	[VM_EXEC] = { BPF_MAP_TYPE_HASH, sizeof(struct imm_inode_key), sizeof(struct imm_verdict), 0 },
	[VM_FILE] = { BPF_MAP_TYPE_HASH, sizeof(struct imm_inode_key), sizeof(struct imm_verdict), 0 },
	[VM_NET] = { BPF_MAP_TYPE_HASH, sizeof(struct imm_net_key), sizeof(struct imm_verdict), 0 },
	[VM_CIDR] = { BPF_MAP_TYPE_LPM_TRIE, sizeof(struct imm_cidr_key), sizeof(struct imm_verdict),
		      BPF_F_NO_PREALLOC },
};

static int check_shape(int fd, enum verdict_map m, const char *path, char *err, size_t n)
{
	struct bpf_map_info info;
	uint32_t len = sizeof(info);

	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		return verdict_fail(err, n, -errno, "%s: cannot read map info: %s", path, strerror(errno));
	if (info.type != shapes[m].type || info.key_size != shapes[m].key_size ||
	    info.value_size != shapes[m].value_size)
		return verdict_fail(err, n, -EINVAL,
			    "%s: pinned map has type %u key %u value %u bytes, expected type %u key %u value %u "
			    "(built from another bpf/immune.h? remove the pin and restart)",
			    path, info.type, info.key_size, info.value_size, shapes[m].type,
			    shapes[m].key_size, shapes[m].value_size);
	return 0;
}

/* BTF of the key and value structs, so bpftool prints field names. */
static struct btf *verdict_btf(int type_ids[VM_COUNT][2])
{
	struct btf *b = btf__new_empty();
	int u8, u16, u32, u64, chr, u8x16, chrsrc, inode, net, cidr, val;

	if (!b)
		return NULL;
	u8 = btf__add_int(b, "__u8", 1, 0);
	u16 = btf__add_int(b, "__u16", 2, 0);
	u32 = btf__add_int(b, "__u32", 4, 0);
	u64 = btf__add_int(b, "__u64", 8, 0);
	chr = btf__add_int(b, "char", 1, BTF_INT_SIGNED);
	u8x16 = btf__add_array(b, u32, u8, 16);
	chrsrc = btf__add_array(b, u32, chr, IMM_SOURCE_LEN);

#define FIELD(s, f, t) btf__add_field(b, #f, t, offsetof(struct s, f) * 8, 0)
	inode = btf__add_struct(b, "imm_inode_key", sizeof(struct imm_inode_key));
	FIELD(imm_inode_key, dev, u64);
	FIELD(imm_inode_key, ino, u64);
	net = btf__add_struct(b, "imm_net_key", sizeof(struct imm_net_key));
	FIELD(imm_net_key, addr, u8x16);
	FIELD(imm_net_key, port, u16);
	FIELD(imm_net_key, _pad, u16);
	cidr = btf__add_struct(b, "imm_cidr_key", sizeof(struct imm_cidr_key));
	FIELD(imm_cidr_key, prefixlen, u32);
	FIELD(imm_cidr_key, addr, u8x16);
	val = btf__add_struct(b, "imm_verdict", sizeof(struct imm_verdict));
	FIELD(imm_verdict, action, u32);
	FIELD(imm_verdict, port, u16);
	FIELD(imm_verdict, _pad, u16);
	FIELD(imm_verdict, set_ns, u64);
	FIELD(imm_verdict, hits, u64);
	int last = FIELD(imm_verdict, source, chrsrc);
#undef FIELD
	if (u8 < 0 || u16 < 0 || u32 < 0 || u64 < 0 || chr < 0 || u8x16 < 0 || chrsrc < 0 ||
	    inode < 0 || net < 0 || cidr < 0 || val < 0 || last < 0) {
		btf__free(b);
		return NULL;
	}
	type_ids[VM_EXEC][0] = type_ids[VM_FILE][0] = inode;
	type_ids[VM_NET][0] = net;
	type_ids[VM_CIDR][0] = cidr;
	for (int m = 0; m < VM_COUNT; m++)
		type_ids[m][1] = val;
	return b;
}

static int pin_path(char *buf, size_t n, const char *dir, enum verdict_map m)
{
	int len = snprintf(buf, n, "%s/%s", dir, verdict_map_names[m]);
	return len < 0 || (size_t)len >= n ? -ENAMETOOLONG : 0;
}

int verdict_maps_create(const char *pin_dir, char *err, size_t n)
{
	char path[PATH_MAX], why[256];
	struct btf *btf = NULL;
	int ids[VM_COUNT][2], ret = 0;
	struct statfs sfs;

	if (!pin_dir)
		pin_dir = VERDICT_PIN_DIR;
	if (sysfs_ensure_bpffs(pin_dir, why, sizeof(why)))
		return verdict_fail(err, n, -EIO, "%s", why);
	if (statfs(pin_dir, &sfs) || sfs.f_type != BPF_FS_MAGIC)
		return verdict_fail(err, n, -ENOTSUP, "%s: not on a bpffs mount", pin_dir);

	for (int m = 0; m < VM_COUNT && !ret; m++) {
		if (pin_path(path, sizeof(path), pin_dir, m))
			return verdict_fail(err, n, -ENAMETOOLONG, "%s: path too long", pin_dir);
		int fd = bpf_obj_get(path);
		if (fd >= 0) {
			ret = check_shape(fd, m, path, err, n);
			close(fd);
			continue;
		}
		if (errno != ENOENT) {
			ret = verdict_fail(err, n, -errno, "%s: %s", path, strerror(errno));
			break;
		}
		if (!btf) {
			btf = verdict_btf(ids);
			if (!btf) {
				ret = verdict_fail(err, n, -ENOMEM, "cannot build the verdict maps' BTF");
				break;
			}
			/* A kernel without BTF still gets the maps, only without names in dumps. */
			if (btf__load_into_kernel(btf))
				fprintf(stderr, "immuned: kernel refused the verdict maps' BTF (%s); "
					"bpftool will dump them as hex\n", strerror(errno));
		}
		LIBBPF_OPTS(bpf_map_create_opts, mo, .map_flags = shapes[m].flags);
		if (btf__fd(btf) >= 0) {
			mo.btf_fd = btf__fd(btf);
			mo.btf_key_type_id = ids[m][0];
			mo.btf_value_type_id = ids[m][1];
		}
		fd = bpf_map_create(shapes[m].type, verdict_map_names[m], shapes[m].key_size,
				    shapes[m].value_size, IMM_VERDICT_MAX, &mo);
		if (fd < 0) {
			ret = verdict_fail(err, n, -errno, "creating map %s: %s", verdict_map_names[m], strerror(errno));
			break;
		}
		if (bpf_obj_pin(fd, path))
			ret = verdict_fail(err, n, -errno, "pinning %s: %s", path, strerror(errno));
		close(fd);
	}
	btf__free(btf);
	return ret;
}

int verdict_map_open(const char *pin_dir, enum verdict_map m, char *err, size_t n)
{
	char path[PATH_MAX];
	int fd;

	if (pin_path(path, sizeof(path), pin_dir ? pin_dir : VERDICT_PIN_DIR, m))
		return verdict_fail(err, n, -ENAMETOOLONG, "%s: path too long", pin_dir);
	fd = bpf_obj_get(path);
	if (fd < 0)
		return verdict_fail(err, n, -errno, "cannot open pinned map %s: %s%s", path, strerror(errno),
				    errno == ENOENT ? " (the BPF object pins it at load)" : "");
	int ret = check_shape(fd, m, path, err, n);
	if (ret) {
		close(fd);
		return ret;
	}
	return fd;
}

void verdict_self_unpin_stale(const char *pin_dir, FILE *log)
{
	char path[PATH_MAX];
	struct bpf_map_info info;
	uint32_t len = sizeof(info);
	snprintf(path, sizeof(path), "%s/verdict_self", pin_dir ? pin_dir : VERDICT_PIN_DIR);
	int fd = bpf_obj_get(path);
	if (fd < 0)
		return;
	memset(&info, 0, sizeof(info));
	bool stale = bpf_obj_get_info_by_fd(fd, &info, &len) == 0 && info.value_size != sizeof(struct imm_self);
	close(fd);
	/* the links pinned with it hold it until they are replaced: only the name goes */
	if (stale && unlink(path) == 0)
		fprintf(log, "immuned: %s: a %u-byte entry of an older daemon, unpinned: the new one keys the "
			     "exemption on pid and start time\n",
			path, info.value_size);
}
