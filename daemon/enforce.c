/*
 * Chooses and starts enforcement: BPF-LSM where the kernel runs it, the
 * fallback (cgroup connect hooks + the sensor's SIGKILL) elsewhere. Links are
 * pinned under <pin-dir>/links so that enforcement outlives a daemon restart:
 * the new links are attached before the old pins are removed.
 */
#include "enforce.h"
#include "enforce.skel.h"
#include "immune.h"
#include "pinned_links.h"
#include "proc.h"
#include "sysfs.h"
#include "verdict.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#ifndef SECURITYFS_MAGIC
#define SECURITYFS_MAGIC 0x73636673
#endif

static struct {
	enum enforce_mode mode;
	char reason[1024];
	struct enforce_bpf *skel;
	struct bpf_link *links[8];
	const char *link_names[8]; /* the program each link runs, for its pin */
	int nlinks;
	char pin_dir[256];
} g;

const char *enforce_mode_name(enum enforce_mode m)
{
	switch (m) {
	case ENFORCE_LSM: return "lsm";
	case ENFORCE_FALLBACK: return "fallback";
	case ENFORCE_OFF: return "off";
	default: return "auto";
	}
}

enum enforce_mode enforce_mode(void)
{
	return g.mode;
}

const char *enforce_reason(void)
{
	return g.reason;
}

int enforce_parse_mode(const char *s, enum enforce_mode *m)
{
	for (int i = ENFORCE_AUTO; i <= ENFORCE_OFF; i++)
		if (strcmp(s, enforce_mode_name(i)) == 0) {
			*m = i;
			return 0;
		}
	return -EINVAL;
}

/* Is "bpf" in the active LSM list? Mounts securityfs to find out. */
static bool bpf_lsm_active(char *why, size_t n)
{
	const char *dir = "/sys/kernel/security";
	struct statfs st;
	char list[1024] = "";

	if (statfs(dir, &st) != 0 || st.f_type != SECURITYFS_MAGIC) {
		if (mount("securityfs", dir, "securityfs", 0, NULL) != 0) {
			snprintf(why, n, "securityfs is not mounted and mounting it at %s failed: %s", dir,
				 strerror(errno));
			return false;
		}
	}
	FILE *f = fopen("/sys/kernel/security/lsm", "re");
	if (!f || !fgets(list, sizeof(list), f)) {
		snprintf(why, n, "cannot read the active LSM list from /sys/kernel/security/lsm");
		if (f)
			fclose(f);
		return false;
	}
	fclose(f);
	list[strcspn(list, "\n")] = 0;
	for (char *save = NULL, *t = strtok_r(list, ",", &save); t; t = strtok_r(NULL, ",", &save))
		if (strcmp(t, "bpf") == 0)
			return true;
	snprintf(why, n, "bpf is not in the active LSM list (boot with lsm=...,bpf to enable BPF-LSM)");
	return false;
}

static int open_skel(bool lsm, char *why, size_t n)
{
	verdict_self_unpin_stale(g.pin_dir, stderr);
	LIBBPF_OPTS(bpf_object_open_opts, oo, .pin_root_path = g.pin_dir);
	struct enforce_bpf *s = enforce_bpf__open_opts(&oo);
	if (!s) {
		snprintf(why, n, "cannot open the enforcement BPF object: %s", strerror(errno));
		return -errno;
	}
	bpf_program__set_autoload(s->progs.lsm_bprm_check, lsm);
	bpf_program__set_autoload(s->progs.lsm_file_open, lsm);
	bpf_program__set_autoload(s->progs.lsm_socket_connect, lsm);
	bpf_program__set_autoload(s->progs.cg_connect4, !lsm);
	bpf_program__set_autoload(s->progs.cg_connect6, !lsm);
	int err = enforce_bpf__load(s);
	if (err) {
		snprintf(why, n, "the kernel refused the %s programs: %s", lsm ? "BPF-LSM" : "cgroup connect",
			 strerror(-err));
		enforce_bpf__destroy(s);
		return err;
	}
	g.skel = s;
	return 0;
}

static int attach_all(bool lsm, char *why, size_t n)
{
	struct bpf_program *p;
	int cg = -1;

	if (!lsm) {
		char cgpath[512];
		if (sysfs_cgroup2_path(cgpath, sizeof(cgpath)) != 0) {
			snprintf(why, n, "no cgroup v2 mount in /proc/mounts: connect cannot be enforced");
			return -ENOENT;
		}
		cg = open(cgpath, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (cg < 0) {
			snprintf(why, n, "cannot open the cgroup v2 root %s: %s", cgpath, strerror(errno));
			return -errno;
		}
	}
	bpf_object__for_each_program(p, g.skel->obj)
	{
		if (!bpf_program__autoload(p))
			continue;
		struct bpf_link *l = lsm ? bpf_program__attach_lsm(p) : bpf_program__attach_cgroup(p, cg);
		if (!l) {
			int err = -errno;
			snprintf(why, n, "cannot attach %s: %s", bpf_program__name(p), strerror(-err));
			if (cg >= 0)
				close(cg);
			return err;
		}
		g.link_names[g.nlinks] = bpf_program__name(p);
		g.links[g.nlinks++] = l;
	}
	if (cg >= 0)
		close(cg);
	return 0;
}

static void release(void)
{
	for (int i = 0; i < g.nlinks; i++)
		bpf_link__destroy(g.links[i]);
	g.nlinks = 0;
	if (g.skel)
		enforce_bpf__destroy(g.skel);
	g.skel = NULL;
}

/* The process the enforcement never denies (verdict_self): this daemon, by
 * pid and start time, or nobody at its stop. The map is pinned, so the links
 * this run leaves behind see the next daemon's entry; one a crash left
 * behind names a process that no longer exists, whoever gets its pid. */
static void set_self(bool on)
{
	uint32_t zero = 0;
	struct imm_self self = { 0 };
	uint64_t ticks = 0;
	long hz = sysconf(_SC_CLK_TCK);
	if (on && (hz <= 0 || proc_start_ticks("/proc", (uint32_t)getpid(), hz, &ticks))) {
		fprintf(stderr, "immuned: cannot read this process's start time: the daemon is not exempt from "
				"its own verdicts\n");
		on = false;
	}
	if (on) {
		self.tgid = (uint32_t)getpid();
		self.start_ticks = ticks;
		self.ns_per_tick = 1000000000ull / (uint64_t)hz;
	}
	if (g.skel && bpf_map_update_elem(bpf_map__fd(g.skel->maps.verdict_self), &zero, &self, BPF_ANY))
		fprintf(stderr, "immuned: cannot %s the enforcement's exemption of the daemon: %s\n",
			on ? "set" : "clear", strerror(errno));
}

/* Pin this run's links, then drop the previous run's pins. */
static void pin_links(void)
{
	set_self(true);
	char dir[300];
	snprintf(dir, sizeof(dir), "%s/links", g.pin_dir);
	pinned_links_replace(dir, g.links, g.link_names, g.nlinks, "enforcement");
}

int enforce_start(enum enforce_mode want, const char *pin_dir, char *why, size_t n)
{
	char lsm_why[512] = "";
	int err;

	snprintf(g.pin_dir, sizeof(g.pin_dir), "%s", pin_dir ? pin_dir : "/sys/fs/bpf/immune");
	if ((err = sysfs_ensure_bpffs(g.pin_dir, why, n)))
		return err;
	if (want == ENFORCE_OFF) {
		char dir[300];
		snprintf(dir, sizeof(dir), "%s/links", g.pin_dir);
		pinned_links_remove(dir);
		g.mode = ENFORCE_OFF;
		snprintf(g.reason, sizeof(g.reason), "--enforce off: verdicts are kept but not enforced");
		return 0;
	}
	if (want == ENFORCE_AUTO || want == ENFORCE_LSM) {
		if (bpf_lsm_active(lsm_why, sizeof(lsm_why)) && open_skel(true, lsm_why, sizeof(lsm_why)) == 0) {
			if (attach_all(true, lsm_why, sizeof(lsm_why)) == 0) {
				g.mode = ENFORCE_LSM;
				snprintf(g.reason, sizeof(g.reason), "BPF-LSM is active and accepted our programs");
				pin_links();
				return 0;
			}
			release();
		}
		if (want == ENFORCE_LSM) {
			snprintf(why, n, "--enforce lsm: %s", lsm_why);
			return -EPERM;
		}
	}
	err = open_skel(false, why, n);
	if (!err)
		err = attach_all(false, why, n);
	if (err) {
		release();
		return err;
	}
	g.mode = ENFORCE_FALLBACK;
	if (want == ENFORCE_FALLBACK)
		snprintf(g.reason, sizeof(g.reason), "--enforce fallback");
	else
		snprintf(g.reason, sizeof(g.reason), "no BPF-LSM (%s)", lsm_why);
	pin_links();
	return 0;
}

void enforce_stop(void)
{
	/* the pinned links keep enforcing; only our references go */
	set_self(false);
	release();
}

struct bpf_object *enforce_object(void)
{
	return g.skel ? g.skel->obj : NULL;
}
