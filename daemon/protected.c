#include "protected.h"
#include "rule_paths.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* What a host cannot lose. Names that are symlinks resolve to one inode. */
static const char *const builtin[] = {
	"/sbin/init", "/lib/systemd/systemd", "/usr/lib/systemd/systemd",
	"/bin/sh", "/bin/bash", "/bin/dash", "/bin/zsh", "/usr/bin/zsh", "/bin/ksh", "/usr/bin/fish",
	"/usr/sbin/sshd", "/usr/bin/ssh",
	"/usr/bin/apt", "/usr/bin/apt-get", "/usr/bin/dpkg", "/usr/bin/rpm", "/usr/bin/dnf",
	"/usr/bin/yum", "/usr/bin/sudo", "/bin/login", "/usr/bin/login",
	"/lib64/ld-linux-x86-64.so.2", "/lib/ld-linux-aarch64.so.1",
	"/usr/sbin/immuned", "/usr/bin/immunectl", "/usr/sbin/immunectl",
};

struct entry {
	char *path;
	char *label; /* what a refusal names: the path, or "immuned's database PATH" */
	dev_t dev;
	uint64_t ino;
	bool have_inode;
	bool locked; /* the daemon holds POSIX locks on it (its database): see protected_own_marked */
};

struct protected_set {
	struct entry *e;
	size_t n, cap;
};

static int push_as(struct protected_set *p, const char *path, const char *what, bool must_exist, char *err,
		   size_t n)
{
	struct stat st;
	bool ok = stat(path, &st) == 0;

	if (!ok && must_exist) {
		snprintf(err, n, "protected path %s: cannot stat it: %m", path);
		return -1;
	}
	/* binaries that are not on this host are skipped; the daemon's own files
	 * are kept by name (a database not created yet, a WAL file) */
	if (!ok && !what)
		return 0;
	for (size_t i = 0; i < p->n; i++)
		if (ok ? p->e[i].have_inode && p->e[i].dev == st.st_dev && p->e[i].ino == st.st_ino
		       : strcmp(p->e[i].path, path) == 0)
			return 0;
	if (p->n == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 32;
		struct entry *ne = realloc(p->e, cap * sizeof(*ne));
		if (!ne) {
			snprintf(err, n, "protected path %s: out of memory", path);
			return -1;
		}
		p->e = ne;
		p->cap = cap;
	}
	char *dup = strdup(path), *label = NULL;
	if (dup && what && asprintf(&label, "%s %s", what, path) < 0)
		label = NULL;
	if (!dup || (what && !label)) {
		free(dup);
		snprintf(err, n, "protected path %s: out of memory", path);
		return -1;
	}
	p->e[p->n++] = (struct entry){ .path = dup, .label = label ? label : dup, .dev = ok ? st.st_dev : 0,
				       .ino = ok ? st.st_ino : 0, .have_inode = ok };
	return 0;
}

static int push(struct protected_set *p, const char *path, bool must_exist, char *err, size_t n)
{
	return push_as(p, path, NULL, must_exist, err, n);
}

static int add_own(struct protected_set *p, const char *path, const char *what, bool locked)
{
	char err[256], abs[PATH_MAX];
	if (!path || !*path)
		return 0;
	/* verdict targets are absolute: a relative option is named as the daemon resolves it now */
	if (path[0] != '/' && !realpath(path, abs))
		return 0;
	size_t before = p->n;
	int r = push_as(p, path[0] == '/' ? path : abs, what, false, err, sizeof(err));
	if (!r && locked && p->n > before)
		p->e[p->n - 1].locked = true;
	return r;
}

int protected_add_own(struct protected_set *p, const char *path, const char *what)
{
	return add_own(p, path, what, false);
}

int protected_add_own_db(struct protected_set *p, const char *path)
{
	return add_own(p, path, "immuned's database", true);
}

struct protected_set *protected_new(void)
{
	struct protected_set *p = calloc(1, sizeof(*p));
	char err[256], self[PATH_MAX], sib[PATH_MAX + 16];

	if (!p)
		return NULL;
	for (size_t i = 0; i < sizeof(builtin) / sizeof(builtin[0]); i++)
		push(p, builtin[i], false, err, sizeof(err));
	FILE *f = fopen("/etc/shells", "re");
	if (f) {
		char line[PATH_MAX];
		while (fgets(line, sizeof(line), f)) {
			line[strcspn(line, " \t\r\n#")] = 0;
			if (line[0] == '/')
				push(p, line, false, err, sizeof(err));
		}
		fclose(f);
	}
	ssize_t l = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (l > 0) {
		self[l] = 0;
		push(p, self, false, err, sizeof(err));
		/* immunectl is installed (and built) beside immuned */
		char *slash = strrchr(self, '/');
		if (slash) {
			*slash = 0;
			snprintf(sib, sizeof(sib), "%s/immunectl", self);
			push(p, sib, false, err, sizeof(err));
			snprintf(sib, sizeof(sib), "%s/immuned", self);
			push(p, sib, false, err, sizeof(err));
		}
	}
	return p;
}

void protected_free(struct protected_set *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->n; i++) {
		if (p->e[i].label != p->e[i].path)
			free(p->e[i].label);
		free(p->e[i].path);
	}
	free(p->e);
	free(p);
}

int protected_add(struct protected_set *p, const char *path, char *err, size_t n)
{
	if (!path || path[0] != '/') {
		snprintf(err, n, "protected path %s: not an absolute path", path ? path : "(null)");
		return -1;
	}
	return push(p, path, true, err, n);
}

bool protected_inode(const struct protected_set *p, dev_t dev, uint64_t ino, const char **why)
{
	for (size_t i = 0; p && i < p->n; i++)
		if (p->e[i].have_inode && p->e[i].dev == dev && p->e[i].ino == ino) {
			if (why)
				*why = p->e[i].label;
			return true;
		}
	return false;
}

bool protected_path(const struct protected_set *p, const char *path, const char **why)
{
	struct stat st;

	if (!p || !path)
		return false;
	if (stat(path, &st) == 0 && protected_inode(p, st.st_dev, st.st_ino, why))
		return true;
	/* by name too: an entry kept by name, or a file replaced since (an upgrade) */
	for (size_t i = 0; i < p->n; i++)
		if (strcmp(p->e[i].path, path) == 0) {
			if (why)
				*why = p->e[i].label;
			return true;
		}
	return false;
}

void protected_each(const struct protected_set *p, void (*fn)(const char *path, void *ctx), void *ctx)
{
	/* the binaries only: a rule on Image naming the config's folder blocks no file of ours */
	for (size_t i = 0; p && i < p->n; i++)
		if (p->e[i].label == p->e[i].path)
			fn(p->e[i].path, ctx);
}

static bool same_folder(const char *a, const char *b)
{
	struct stat sa, sb;
	size_t la = strlen(a), lb = strlen(b);
	while (la > 1 && a[la - 1] == '/')
		la--;
	while (lb > 1 && b[lb - 1] == '/')
		lb--;
	if (la == lb && memcmp(a, b, la) == 0)
		return true;
	return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

bool protected_own_marked(const struct protected_set *p, const char *path, bool dir, const char **why)
{
	char folder[PATH_MAX];
	struct stat st;
	bool have = !dir && stat(path, &st) == 0;
	for (size_t i = 0; p && path && i < p->n; i++) {
		const struct entry *e = &p->e[i];
		if (e->label == e->path)
			continue; /* a binary: the exec side's business (gate_rules_protect) */
		bool hit;
		if (dir) {
			/* the folder's mark holds every open of the files in it */
			hit = e->locked && rule_path_folder(e->path, folder, sizeof(folder)) && same_folder(folder, path);
		} else {
			hit = (have && e->have_inode && e->dev == st.st_dev && e->ino == st.st_ino) ||
			      strcmp(e->path, path) == 0;
		}
		if (hit) {
			if (why)
				*why = e->label;
			return true;
		}
	}
	return false;
}
