/*
 * The paths a rule's condition can only match through (rule_paths.h): the
 * one reading of TargetFilename shapes that the interest filter and the
 * gate's marks share.
 */
#include "rule_paths.h"

#include <stdlib.h>
#include <string.h>

void rule_paths_add(struct rule_paths *p, enum rp_type t, const char *s, size_t len)
{
	if (p->n == p->cap) {
		int cap = p->cap ? 2 * p->cap : 16;
		struct rule_path *v = realloc(p->v, (size_t)cap * sizeof(*v));
		if (!v)
			abort(); /* the daemon cannot run its rules without memory */
		p->v = v;
		p->cap = cap;
	}
	struct rule_path *e = &p->v[p->n];
	e->type = t;
	e->text = strndup(s, len);
	if (!e->text)
		abort();
	p->n++;
}

void rule_paths_clear(struct rule_paths *p)
{
	for (int i = 0; i < p->n; i++)
		free(p->v[i].text);
	p->n = 0;
}

void rule_paths_free(struct rule_paths *p)
{
	rule_paths_clear(p);
	free(p->v);
	memset(p, 0, sizeof(*p));
}

/* the keys of from, appended to to; from is left empty */
static void move_all(struct rule_paths *to, struct rule_paths *from)
{
	for (int i = 0; i < from->n; i++)
		rule_paths_add(to, from->v[i].type, from->v[i].text, strlen(from->v[i].text));
	rule_paths_clear(from);
}

const char *rule_path_type_name(enum rp_type t)
{
	static const char *const names[RP_TYPES] = { "file", "dir", "name", "dir-name", "exe-name" };
	return t < RP_TYPES ? names[t] : "?";
}

static bool is_wild(char c)
{
	return c == SIG_GLOB_STAR || c == SIG_GLOB_ONE;
}

bool rule_path_keyable_name(const char *s, size_t len)
{
	if (len == 0 || len >= RP_NAME_MAX || (len == 1 && s[0] == '.') || (len == 2 && s[0] == '.' && s[1] == '.'))
		return false;
	for (size_t i = 0; i < len; i++)
		if (s[i] == '/' || is_wild(s[i]))
			return false;
	return true;
}

/* The longest whole /name/ of p[0..n) with literal slashes on both sides, or NULL. */
static const char *dir_name_in(const char *p, size_t n, size_t *len)
{
	const char *best = NULL;
	*len = 0;
	for (size_t i = 0; i < n; i++) {
		if (p[i] != '/')
			continue;
		size_t j = i + 1;
		while (j < n && p[j] != '/')
			j++;
		if (j < n && rule_path_keyable_name(p + i + 1, j - i - 1) && j - i - 1 >= *len) { /* ties: the deeper */
			best = p + i + 1;
			*len = j - i - 1;
		}
	}
	return best;
}

static bool want(unsigned mask, enum rp_type t)
{
	return (mask >> t) & 1;
}

/*
 * A wildcard pattern matches the whole path; '*' may span slashes. Keys, the
 * tightest first: a literal last name after the last wildcard ('* /.netrc'
 * is named .netrc), the directory of a literal prefix two levels deep or more
 * ('/etc/ssh/ssh_host_*_key' lies under /etc/ssh), a literal /name/ anywhere
 * ('/home/ * /.ssh/id_*' lies under a .ssh), or a one-level prefix directory.
 */
static bool glob_keys(const char *p, unsigned mask, struct rule_paths *k, const char **why)
{
	size_t n = strlen(p), first = n, last = 0;
	for (size_t i = 0; i < n; i++)
		if (is_wild(p[i])) {
			if (first == n)
				first = i;
			last = i + 1;
		}
	const char *slash = strrchr(p, '/');
	if (want(mask, RP_NAME) && slash && (size_t)(slash - p) >= last &&
	    rule_path_keyable_name(slash + 1, strlen(slash + 1))) {
		rule_paths_add(k, RP_NAME, slash + 1, strlen(slash + 1));
		return true;
	}
	const char *dir_end = NULL;
	for (size_t i = 1; p[0] == '/' && i < first; i++)
		if (p[i] == '/')
			dir_end = p + i;
	if (want(mask, RP_DIR) && dir_end && memchr(p + 1, '/', (size_t)(dir_end - p - 1))) {
		rule_paths_add(k, RP_DIR, p, (size_t)(dir_end - p));
		return true;
	}
	size_t len;
	const char *name = dir_name_in(p, n, &len);
	if (want(mask, RP_DIR_NAME) && name) {
		rule_paths_add(k, RP_DIR_NAME, name, len);
		return true;
	}
	if (want(mask, RP_DIR) && dir_end) {
		rule_paths_add(k, RP_DIR, p, (size_t)(dir_end - p));
		return true;
	}
	*why = "a wildcard pattern on TargetFilename with no whole name or directory in it";
	return false;
}

/* an exact TargetFilename: the path itself, else its name, else its folder */
static bool exact_keys(const char *p, unsigned mask, struct rule_paths *k, const char **why)
{
	const char *slash = strrchr(p, '/');
	if (p[0] != '/' || !slash) {
		*why = "an exact TargetFilename that is not an absolute path";
		return false;
	}
	if (want(mask, RP_FILE) && !strstr(p, "/../")) { /* ".." after a symlink is not the folder it names */
		rule_paths_add(k, RP_FILE, p, strlen(p));
		return true;
	}
	if (want(mask, RP_NAME) && rule_path_keyable_name(slash + 1, strlen(slash + 1))) {
		rule_paths_add(k, RP_NAME, slash + 1, strlen(slash + 1));
		return true;
	}
	if (want(mask, RP_DIR) && slash != p) {
		rule_paths_add(k, RP_DIR, p, (size_t)(slash - p));
		return true;
	}
	*why = want(mask, RP_FILE) ? "an exact TargetFilename with /../ in it" :
				     "an exact TargetFilename in / whose name cannot be keyed";
	return false;
}

/* Keys one of which an event matching atom a must hit; false with why when there are none. */
static bool atom_keys(const struct sig_atom *a, unsigned mask, struct rule_paths *k, const char **why)
{
	const char *p = a->pat, *slash;
	if (want(mask, RP_EXE_NAME) && a->field == SIG_F_IMAGE && (a->op == SIG_OP_EQ || a->op == SIG_OP_ENDSWITH) &&
	    (slash = strrchr(p, '/')) && rule_path_keyable_name(slash + 1, strlen(slash + 1))) {
		/* the executable's own name: the opening process's mm->exe_file */
		rule_paths_add(k, RP_EXE_NAME, slash + 1, strlen(slash + 1));
		return true;
	}
	if (a->field != SIG_F_TARGETFILENAME) {
		*why = want(mask, RP_EXE_NAME) ?
			       "a condition on a field other than TargetFilename or an Image name stands alone" :
			       "a condition on a field other than TargetFilename stands alone";
		return false;
	}
	switch (a->op) {
	case SIG_OP_EQ:
		return exact_keys(p, mask, k, why);
	case SIG_OP_ENDSWITH:
		slash = strrchr(p, '/');
		if (!want(mask, RP_NAME) || !slash || !rule_path_keyable_name(slash + 1, strlen(slash + 1))) {
			*why = want(mask, RP_NAME) ? "|endswith of part of a file name (no whole /name at its end)" :
						     "|endswith names no exact path";
			return false;
		}
		rule_paths_add(k, RP_NAME, slash + 1, strlen(slash + 1));
		return true;
	case SIG_OP_STARTSWITH:
		slash = strrchr(p, '/');
		if (!want(mask, RP_DIR) || p[0] != '/' || slash == p) {
			*why = want(mask, RP_DIR) ? "|startswith that names no directory below /" :
						    "|startswith names no exact path";
			return false;
		}
		rule_paths_add(k, RP_DIR, p, (size_t)(slash - p));
		return true;
	case SIG_OP_CONTAINS: {
		/* the longest whole /name/ inside: a directory of that name is on the way */
		size_t blen;
		const char *best = dir_name_in(p, strlen(p), &blen);
		if (!want(mask, RP_DIR_NAME) || !best) {
			*why = want(mask, RP_DIR_NAME) ? "|contains without a whole /directory/ in it" :
							 "|contains names no exact path";
			return false;
		}
		rule_paths_add(k, RP_DIR_NAME, best, blen);
		return true;
	}
	case SIG_OP_RE:
		*why = "a regular expression on TargetFilename";
		return false;
	case SIG_OP_GLOB:
		return glob_keys(p, mask, k, why);
	default:
		*why = "a TargetFilename condition that names no path";
		return false;
	}
}

bool rule_paths_of(const struct sig_node *n, unsigned mask, struct rule_paths *out, const char **why)
{
	switch (n->type) {
	case SIG_N_ATOM:
		return atom_keys(n->atom, mask, out, why);
	case SIG_N_AND: {
		/* every kid must hold: the one with the fewest keys guards the whole */
		struct rule_paths best = { 0 }, t = { 0 };
		bool found = false;
		const char *first = NULL;
		for (int i = 0; i < n->n; i++) {
			const char *w = NULL;
			if (rule_paths_of(n->kids[i], mask, &t, &w) && (!found || t.n < best.n)) {
				rule_paths_clear(&best);
				move_all(&best, &t);
				found = true;
			} else if (!first) {
				first = w;
			}
			rule_paths_clear(&t);
		}
		if (found)
			move_all(out, &best);
		else
			*why = first ? first : "an empty 'and'";
		rule_paths_free(&best);
		rule_paths_free(&t);
		return found;
	}
	case SIG_N_OR: {
		/* every kid must be keyed: out is only touched when all are */
		struct rule_paths all = { 0 };
		bool ok = n->n > 0;
		for (int i = 0; ok && i < n->n; i++)
			ok = rule_paths_of(n->kids[i], mask, &all, why);
		if (ok)
			move_all(out, &all);
		else if (n->n == 0)
			*why = "an empty 'or'";
		rule_paths_free(&all);
		return ok;
	}
	default:
		*why = "a 'not' or a bare negation: what it leaves out is no key";
		return false;
	}
}

bool rule_path_folder(const char *path, char *out, size_t n)
{
	const char *slash = strrchr(path, '/');
	if (!slash)
		return false;
	size_t len = slash == path ? 1 : (size_t)(slash - path);
	snprintf(out, n, "%.*s", (int)len, path);
	return true;
}
