/*
 * The interest set for opens: the keys rule_paths reads from each rule's
 * conditions (one of which every matching open must hit), resolved on this
 * host and put in the sensor's maps. A rule left without keys makes every
 * open of its classes be sent.
 */
#include "interest.h"
#include "detect.h"
#include "ioc.h"
#include "rule_paths.h"
#include "verdict_target.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

_Static_assert(RP_NAME_MAX == IMM_INTEREST_NAME, "rule_paths keys the names the sensor hashes");

#define MAP_KEYS 4096 /* the sensor's interest_dir and interest_name hold this many */

struct keys {
	struct interest_key *v;
	int n, cap;
};

static void keys_add(struct keys *k, enum interest_key_type t, const char *s, size_t len)
{
	if (k->n == k->cap) {
		int cap = k->cap ? 2 * k->cap : 16;
		struct interest_key *v = realloc(k->v, (size_t)cap * sizeof(*v));
		if (!v)
			abort(); /* the daemon cannot run its rules without memory */
		k->v = v;
		k->cap = cap;
	}
	struct interest_key *e = &k->v[k->n++];
	memset(e, 0, sizeof(*e));
	e->type = t;
	e->text = strndup(s, len);
	if (!e->text)
		abort();
}

static void keys_clear(struct keys *k)
{
	for (int i = 0; i < k->n; i++) {
		free(k->v[i].text);
		free(k->v[i].at);
	}
	k->n = 0;
}

/* the interest filter keys what the kernel can look up; an exact path becomes its name or folder */
#define INTEREST_PATHS ((1u << RP_DIR) | (1u << RP_NAME) | (1u << RP_DIR_NAME) | (1u << RP_EXE_NAME))

static const enum interest_key_type ik_of[RP_TYPES] = {
	[RP_DIR] = IK_DIR, [RP_NAME] = IK_NAME, [RP_DIR_NAME] = IK_DIR_NAME, [RP_EXE_NAME] = IK_EXE_NAME,
};

static unsigned rule_classes(enum sig_logsource ls)
{
	/* file_access is every open, file_event only a successful write or create */
	return ls == SIG_LS_FILE_ACCESS ? (1u << IMM_OC_READ | 1u << IMM_OC_WRITE) :
	       ls == SIG_LS_FILE_EVENT	 ? 1u << IMM_OC_WRITE :
					   0;
}

static void send_all(struct interest *in, unsigned classes, const char *fmt, const char *a, const char *b,
		     const char *c)
{
	for (int cl = 0; cl < IMM_OC_MAX; cl++) {
		if (!(classes & (1u << cl)))
			continue;
		if (in->mode[cl] != IMM_INT_ALL)
			snprintf(in->why_all[cl], sizeof(in->why_all[cl]), fmt, a, b, c);
		in->mode[cl] = IMM_INT_ALL;
		in->nall[cl]++;
	}
}

static void want_keys(struct interest *in, unsigned classes)
{
	for (int cl = 0; cl < IMM_OC_MAX; cl++)
		if ((classes & (1u << cl)) && in->mode[cl] == IMM_INT_NONE)
			in->mode[cl] = IMM_INT_KEYS;
}

static void add_keys(struct interest *in, struct keys *k, unsigned classes)
{
	struct keys all = { in->keys, in->n, in->cap };
	for (int i = 0; i < k->n; i++) {
		keys_add(&all, k->v[i].type, k->v[i].text, strlen(k->v[i].text));
		all.v[all.n - 1].classes = classes;
	}
	in->keys = all.v;
	in->n = all.n;
	in->cap = all.cap;
	want_keys(in, classes);
}

static const char *const type_names[IK_TYPES] = { "dir", "name", "dir-name", "exe-name" };

void interest_init(struct interest *in)
{
	memset(in, 0, sizeof(*in));
	for (int cl = 0; cl < IMM_OC_MAX; cl++)
		in->mode[cl] = IMM_INT_NONE;
}

void interest_free(struct interest *in)
{
	struct keys all = { in->keys, in->n, in->cap };
	keys_clear(&all);
	free(in->keys);
	memset(in, 0, sizeof(*in));
}

void interest_add_rules(struct interest *in, const struct sigma_ruleset *rs, FILE *report)
{
	struct keys k = { 0 };
	struct rule_paths rp = { 0 };
	for (int i = 0; i < rs->n; i++) {
		const struct sigma_rule *r = rs->rules[i];
		unsigned cls = rule_classes(r->ls);
		const char *why = "no condition";
		if (!cls)
			continue;
		FILE *rep = report; /* which rules are reported is the caller's view (detect_check_rules: those given) */
		keys_clear(&k);
		rule_paths_clear(&rp);
		if (r->root && rule_paths_of(r->root, INTEREST_PATHS, &rp, &why)) {
			for (int j = 0; j < rp.n; j++)
				keys_add(&k, ik_of[rp.v[j].type], rp.v[j].text, strlen(rp.v[j].text));
			if (rep) {
				fprintf(rep, "interest %s %s: %d keys:", r->file, r->id, k.n);
				for (int j = 0; j < k.n; j++)
					fprintf(rep, " %s %s", type_names[k.v[j].type], k.v[j].text);
				fputc('\n', rep);
			}
			add_keys(in, &k, cls);
		} else {
			send_all(in, cls, "rule %s %s: %s", r->file, r->id, why);
			if (rep)
				fprintf(rep, "interest %s %s: sends every %s: %s\n", r->file, r->id,
					cls & 1 ? "open" : "open for write", why);
		}
	}
	keys_clear(&k);
	free(k.v);
	rule_paths_free(&rp);
}

struct ioc_ctx {
	struct interest *in;
	struct keys k;
	const char *name;
	bool all;
};

static void ioc_path(void *p, const char *s, enum imm_rule_action action)
{
	struct ioc_ctx *c = p;
	size_t len = strlen(s);
	const char *slash = memrchr(s, '/', len);
	(void)action; /* an alert indicator needs the event as much as a blocking one */
	if (c->all)
		return;
	if (!slash || !rule_path_keyable_name(slash + 1, len - (size_t)(slash + 1 - s))) {
		c->all = true;
		return;
	}
	keys_add(&c->k, IK_NAME, slash + 1, len - (size_t)(slash + 1 - s));
}

void interest_add_iocs(struct interest *in, const struct ioc_set *set, const char *name)
{
	struct ioc_ctx c = { .in = in, .name = name };
	unsigned cls = 1u << IMM_OC_READ | 1u << IMM_OC_WRITE; /* matched against every open */
	if (!set || !ioc_count(set, IOC_PATH))
		return;
	ioc_each(set, IOC_PATH, ioc_path, &c);
	if (c.all || in->n + c.k.n > MAP_KEYS)
		send_all(in, cls, "indicators %s%s%s: a path indicator whose file name cannot be keyed", name, "", "");
	else
		add_keys(in, &c.k, cls);
	keys_clear(&c.k);
	free(c.k.v);
}

/*
 * The directory as the sensor sees it (symlinks resolved). One that does not
 * exist yet becomes the name of its first missing component: whatever is made
 * there later lies under a directory of that name (a new /root/.ssh is a
 * .ssh), which no inode could say today. If that name cannot be keyed, its
 * deepest existing ancestor stands for it.
 */
static void resolve_dir(struct interest_key *k)
{
	char buf[PATH_MAX], real[PATH_MAX], missing[IMM_INTEREST_NAME + 1] = "";
	bool keyable = true;
	struct stat st;
	snprintf(buf, sizeof(buf), "%s", k->text);
	for (;;) {
		if (realpath(buf, real) && stat(real, &st) == 0 && S_ISDIR(st.st_mode))
			break;
		char *slash = strrchr(buf, '/');
		if (!slash || slash == buf) {
			snprintf(real, sizeof(real), "/");
			if (stat(real, &st))
				return;
			break;
		}
		size_t len = strlen(slash + 1);
		keyable = rule_path_keyable_name(slash + 1, len);
		if (keyable)
			memcpy(missing, slash + 1, len + 1); /* keyable: shorter than IMM_INTEREST_NAME */
		*slash = 0;
	}
	if (missing[0] && keyable) {
		char *t = strdup(missing);
		if (!t)
			abort();
		free(k->text);
		k->text = t;
		k->type = IK_DIR_NAME;
		return;
	}
	free(k->at);
	k->at = strdup(real);
	k->dev = verdict_dev_from_st(st.st_dev);
	k->ino = st.st_ino;
	k->resolved = true;
}

void interest_resolve(struct interest *in)
{
	for (int i = 0; i < in->n; i++)
		if (in->keys[i].type == IK_DIR)
			resolve_dir(&in->keys[i]);
}

static struct bpf_map *map_of(struct bpf_object *obj, const char *name, char *err, size_t errlen)
{
	struct bpf_map *m = obj ? bpf_object__find_map_by_name(obj, name) : NULL;
	if (!m)
		snprintf(err, errlen, "the sensor has no map %s", name);
	return m;
}

static int clear_map(int fd, size_t ksz)
{
	unsigned char key[64], next[64];
	if (ksz > sizeof(key))
		return -1;
	while (bpf_map_get_next_key(fd, NULL, next) == 0) {
		memcpy(key, next, ksz);
		if (bpf_map_delete_elem(fd, key))
			return -1;
	}
	return 0;
}

int interest_apply(const struct interest *in, struct bpf_object *obj, char *err, size_t errlen)
{
	struct bpf_map *mc = map_of(obj, "interest_cfg", err, errlen), *md = map_of(obj, "interest_dir", err, errlen),
		       *mn = map_of(obj, "interest_name", err, errlen);
	if (!mc || !md || !mn)
		return -1;
	int fc = bpf_map__fd(mc), fd = bpf_map__fd(md), fn = bpf_map__fd(mn);
	uint32_t zero = 0;
	/* everything is sent while the keys change: a superset is never wrong */
	struct imm_interest_cfg cfg = { 0 };
	if (bpf_map_update_elem(fc, &zero, &cfg, BPF_ANY) || clear_map(fd, sizeof(struct imm_inode_key)) ||
	    clear_map(fn, sizeof(struct imm_name_key))) {
		snprintf(err, errlen, "cannot reset the interest maps: %s", strerror(errno));
		return -1;
	}
	for (int cl = 0; cl < IMM_OC_MAX; cl++)
		cfg.mode[cl] = in->mode[cl];
	int ndir = 0, nname = 0;
	for (int i = 0; i < in->n; i++) {
		const struct interest_key *k = &in->keys[i];
		uint32_t v = 0;
		int r;
		if (k->type == IK_DIR) {
			if (!k->resolved)
				continue;
			struct imm_inode_key ik = { .dev = k->dev, .ino = k->ino };
			bpf_map_lookup_elem(fd, &ik, &v);
			v |= k->classes;
			r = bpf_map_update_elem(fd, &ik, &v, BPF_ANY);
			for (int cl = 0; cl < IMM_OC_MAX; cl++)
				if (k->classes & (1u << cl))
					cfg.dirs[cl] = 1;
			ndir++;
		} else {
			size_t len = strlen(k->text);
			struct imm_name_key nk = { .hash = imm_name_hash((const unsigned char *)k->text, (uint32_t)len),
						   .where = k->type == IK_NAME     ? IMM_NAME_FILE :
							    k->type == IK_DIR_NAME ? IMM_NAME_DIR :
										     IMM_NAME_EXE };
			bpf_map_lookup_elem(fn, &nk, &v);
			v |= k->classes;
			r = bpf_map_update_elem(fn, &nk, &v, BPF_ANY);
			uint32_t *lens = k->type == IK_NAME ? cfg.name_lens :
					 k->type == IK_DIR_NAME ? cfg.dir_name_lens : cfg.exe_name_lens;
			for (int cl = 0; cl < IMM_OC_MAX; cl++)
				if (k->classes & (1u << cl))
					lens[cl] |= 1u << len;
			nname++;
		}
		if (r) {
			/* the map is full or refused: send everything rather than miss */
			snprintf(err, errlen, "interest key %s %s not stored (%s): every open is sent",
				 type_names[k->type], k->text, strerror(errno));
			return -1;
		}
	}
	(void)ndir;
	(void)nname;
	/* the kernel's remembered decisions were taken with the old keys */
	static uint32_t gen;
	if (++gen == 0)
		gen = 1;
	cfg.gen = gen;
	if (bpf_map_update_elem(fc, &zero, &cfg, BPF_ANY)) {
		snprintf(err, errlen, "cannot set the interest: %s", strerror(errno));
		return -1;
	}
	return 0;
}

const char *interest_mode_name(unsigned mode)
{
	return mode == IMM_INT_ALL ? "all" : mode == IMM_INT_KEYS ? "keys" : "none";
}

void interest_summary(const struct interest *in, FILE *out)
{
	static const char *const cls[IMM_OC_MAX] = { "read", "write" };
	int nk[IK_TYPES] = { 0 };
	for (int i = 0; i < in->n; i++)
		nk[in->keys[i].type]++;
	fprintf(out, "interest: %d dir, %d name, %d dir-name, %d exe-name keys\n", nk[IK_DIR], nk[IK_NAME],
		nk[IK_DIR_NAME], nk[IK_EXE_NAME]);
	for (int cl = 0; cl < IMM_OC_MAX; cl++) {
		fprintf(out, "interest: %s opens: %s", cls[cl], interest_mode_name(in->mode[cl]));
		if (in->mode[cl] == IMM_INT_ALL)
			fprintf(out, " (%u rules or sets; first: %s)", in->nall[cl], in->why_all[cl]);
		fputc('\n', out);
	}
}

/* ------------------------------------------------------------ the kernel's decision, in user space */

static bool has_key(const struct interest *in, enum interest_key_type t, const char *name, size_t len, unsigned bit)
{
	if (len == 0 || len >= IMM_INTEREST_NAME)
		return false;
	uint64_t h = imm_name_hash((const unsigned char *)name, (uint32_t)len);
	for (int i = 0; i < in->n; i++) {
		const struct interest_key *k = &in->keys[i];
		if (k->type == t && (k->classes & bit) && strlen(k->text) == len &&
		    imm_name_hash((const unsigned char *)k->text, (uint32_t)len) == h)
			return true;
	}
	return false;
}

static bool has_dir(const struct interest *in, const char *dir, unsigned bit)
{
	struct stat st;
	if (stat(dir, &st))
		return false; /* not here: a directory made later has an inode no key names */
	uint64_t dev = verdict_dev_from_st(st.st_dev);
	for (int i = 0; i < in->n; i++) {
		const struct interest_key *k = &in->keys[i];
		if (k->type == IK_DIR && k->resolved && (k->classes & bit) && k->dev == dev && k->ino == st.st_ino)
			return true;
	}
	return false;
}

/* path with its existing part resolved (symlinks, ".."), the rest as written */
static void canonical(const char *path, char *out, size_t n)
{
	char buf[PATH_MAX], real[PATH_MAX];
	snprintf(buf, sizeof(buf), "%s", path);
	for (;;) {
		size_t cut = strlen(buf);
		if (realpath(buf, real)) {
			const char *rest = path + cut;
			if (real[strlen(real) - 1] == '/' && rest[0] == '/')
				rest++;
			snprintf(out, n, "%s%s", real, rest);
			return;
		}
		char *slash = strrchr(buf, '/');
		if (!slash) {
			snprintf(out, n, "%s", path);
			return;
		}
		slash[slash == buf ? 1 : 0] = 0;
	}
}

bool interest_wants(const struct interest *in, const struct imm_event *ev)
{
	if (ev->type != EBPF_EVENT_OPEN || ev->ret == -1)
		return true;
	bool ok = ev->outcome == IMM_OUTCOME_SUCCESS;
	unsigned cls = ok && ((ev->open_flags & 3) || (ev->open_flags & 0x240)) ? IMM_OC_WRITE : IMM_OC_READ;
	unsigned bit = 1u << cls;
	if (in->mode[cls] != IMM_INT_KEYS)
		return in->mode[cls] == IMM_INT_ALL;
	if (!ok)
		return true;
	const char *p = ev->abs_path && ev->abs_path[0] ? ev->abs_path : ev->path ? ev->path : "";
	char c[PATH_MAX];
	canonical(p, c, sizeof(c));
	char *slash = strrchr(c, '/');
	if (!slash)
		return true;
	if (has_key(in, IK_NAME, slash + 1, strlen(slash + 1), bit))
		return true;
	const char *exe = ev->executable ? strrchr(ev->executable, '/') : NULL;
	if (exe && has_key(in, IK_EXE_NAME, exe + 1, strlen(exe + 1), bit))
		return true;
	for (int depth = 0; slash && slash != c; depth++) {
		if (depth >= IMM_INTEREST_DEPTH)
			return true;
		*slash = 0;
		char *name = strrchr(c, '/');
		if (has_dir(in, c, bit) || (name && has_key(in, IK_DIR_NAME, name + 1, strlen(name + 1), bit)))
			return true;
		slash = name;
	}
	return has_dir(in, "/", bit);
}

/* ------------------------------------------------------------ the daemon's copy, kept current */

static bool same(const struct interest *a, const struct interest *b)
{
	if (a->n != b->n || memcmp(a->mode, b->mode, sizeof(a->mode)))
		return false;
	for (int i = 0; i < a->n; i++) {
		const struct interest_key *x = &a->keys[i], *y = &b->keys[i];
		if (x->type != y->type || x->classes != y->classes || strcmp(x->text, y->text) ||
		    x->resolved != y->resolved || x->dev != y->dev || x->ino != y->ino)
			return false;
	}
	return true;
}

int interest_refresh(struct interest *cur, const struct detect *d, struct bpf_object *obj, bool force, char *err,
		     size_t errlen)
{
	struct interest next;
	interest_init(&next);
	detect_interest(d, &next);
	interest_resolve(&next);
	if (!force && same(cur, &next)) {
		interest_free(&next);
		return 0;
	}
	interest_free(cur);
	*cur = next;
	return interest_apply(cur, obj, err, errlen) ? -1 : 1;
}

void interest_status(const struct interest *in, const uint64_t filtered[IMM_K_MAX], cJSON *r)
{
	static const char *const cls[IMM_OC_MAX] = { "read", "write" };
	cJSON *o = cJSON_AddObjectToObject(r, "interest");
	cJSON_AddNumberToObject(o, "open_filtered", (double)filtered[IMM_K_OPEN]);
	cJSON_AddNumberToObject(o, "keys", in->n);
	for (int cl = 0; cl < IMM_OC_MAX; cl++) {
		cJSON *c = cJSON_AddObjectToObject(o, cls[cl]);
		cJSON_AddStringToObject(c, "mode", interest_mode_name(in->mode[cl]));
		if (in->mode[cl] == IMM_INT_ALL)
			cJSON_AddStringToObject(c, "because", in->why_all[cl]);
	}
}
