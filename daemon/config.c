/*
 * The config file: read whole, checked line by line against the option
 * table, refused whole at the first bad line with FILE:LINE: reason.
 */
#include "config.h"
#include "jsonw.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/*
 * Values live as long as the process: options that a reload does not change
 * keep pointing at the value read at start. Kept once per distinct text, so
 * reloading the same file again and again adds nothing.
 */
static struct {
	char **v;
	size_t n, cap;
} strings;

static const char *intern(const char *s)
{
	for (size_t i = 0; i < strings.n; i++)
		if (strcmp(strings.v[i], s) == 0)
			return strings.v[i];
	if (strings.n == strings.cap) {
		size_t cap = strings.cap ? strings.cap * 2 : 32;
		char **v = realloc(strings.v, cap * sizeof(*v));
		if (!v)
			return NULL;
		strings.v = v;
		strings.cap = cap;
	}
	char *d = strdup(s);
	if (d)
		strings.v[strings.n++] = d;
	return d;
}

void config_strings_free(void)
{
	for (size_t i = 0; i < strings.n; i++)
		free(strings.v[i]);
	free(strings.v);
	memset(&strings, 0, sizeof(strings));
}

static bool in_list(const char *const *l, const char *name)
{
	for (; l && *l; l++)
		if (strcmp(*l, name) == 0)
			return true;
	return false;
}

static int find_opt(const struct option *lo, const char *name)
{
	for (int i = 0; lo[i].name; i++)
		if (strcmp(lo[i].name, name) == 0)
			return i;
	return -1;
}

static int fail(char *err, size_t n, const char *path, unsigned line, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
static int fail(char *err, size_t n, const char *path, unsigned line, const char *fmt, ...)
{
	char why[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	if (line)
		snprintf(err, n, "%s:%u: %s", path, line, why);
	else
		snprintf(err, n, "%s: %s", path, why);
	return -1;
}

static char *trim(char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	size_t n = strlen(s);
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		s[--n] = 0;
	return s;
}

/* A value is printable UTF-8: no control bytes, so it prints and logs as it is. */
static const char *bad_value(const char *v)
{
	const unsigned char *s = (const unsigned char *)v;
	size_t n = strlen(v);
	for (size_t i = 0; i < n;) {
		if (s[i] == '\t') {
			i++;
			continue;
		}
		if (s[i] < 0x20 || s[i] == 0x7f)
			return "a control character";
		size_t l = utf8_len(s + i, n - i);
		if (!l)
			return "invalid UTF-8";
		i += l;
	}
	return NULL;
}

static int parse_bool(const char *v, bool *b)
{
	static const char *const yes[] = { "true", "yes", "on", "1", NULL }, *const no[] = { "false", "no", "off", "0", NULL };
	if (in_list(yes, v))
		*b = true;
	else if (in_list(no, v))
		*b = false;
	else
		return -1;
	return 0;
}

static char *slurp(const char *path, bool explicit, bool *missing, size_t *len, char *err, size_t n)
{
	*missing = false;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		if (errno == ENOENT && !explicit) {
			*missing = true;
			return NULL;
		}
		fail(err, n, path, 0, "%s", strerror(errno));
		return NULL;
	}
	struct stat st;
	char *buf = NULL;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		fail(err, n, path, 0, "not a regular file");
		goto out;
	}
	/* whoever may write the file decides what the agent runs and blocks */
	if ((st.st_uid != 0 && st.st_uid != geteuid()) || (st.st_mode & 022)) {
		fail(err, n, path, 0, "writable by others than its owner, or owned by another user (mode %04o, uid %u): refused",
		     (unsigned)(st.st_mode & 07777), (unsigned)st.st_uid);
		goto out;
	}
	if (st.st_size > CONFIG_MAX_BYTES) {
		fail(err, n, path, 0, "larger than %d bytes", CONFIG_MAX_BYTES);
		goto out;
	}
	buf = malloc(st.st_size + 1);
	size_t got = 0;
	while (buf && got < (size_t)st.st_size) {
		ssize_t r = read(fd, buf + got, st.st_size - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			fail(err, n, path, 0, "%s", r < 0 ? strerror(errno) : "shorter than its size");
			free(buf);
			buf = NULL;
			goto out;
		}
		got += r;
	}
	if (!buf) {
		fail(err, n, path, 0, "out of memory");
		goto out;
	}
	buf[got] = 0;
	*len = got;
out:
	close(fd);
	return buf;
}

int config_read(struct config *c, const char *path, bool explicit, const struct config_schema *s, char *err,
		size_t errlen)
{
	bool missing;
	size_t len = 0;
	memset(c, 0, sizeof(*c));
	char *text = slurp(path, explicit, &missing, &len, err, errlen);
	if (!text)
		return missing ? 0 : -1;
	int rc = config_parse(c, path, text, len, s, err, errlen);
	free(text);
	return rc;
}

int config_parse(struct config *c, const char *path, char *text, size_t len, const struct config_schema *s, char *err,
		 size_t errlen)
{
	memset(c, 0, sizeof(*c));
	int nopt = 0;
	while (s->lo[nopt].name)
		nopt++;
	unsigned *seen = calloc(nopt, sizeof(*seen));
	struct config_entry *e = NULL;
	int ne = 0, cap = 0;
	unsigned lineno = 0;
	char *p = text, *end = text + len;
	int rc = -1;
	if (!seen) {
		fail(err, errlen, path, 0, "out of memory");
		goto out;
	}
	while (p < end) {
		char *nl = memchr(p, '\n', end - p);
		char *eol = nl ? nl : end;
		lineno++;
		if (memchr(p, 0, eol - p)) {
			fail(err, errlen, path, lineno, "a NUL byte");
			goto out;
		}
		if (eol - p > CONFIG_MAX_LINE) {
			fail(err, errlen, path, lineno, "line longer than %d bytes", CONFIG_MAX_LINE);
			goto out;
		}
		*eol = 0;
		if (eol > p && eol[-1] == '\r')
			eol[-1] = 0;
		char *line = trim(p);
		p = nl ? nl + 1 : end;
		if (!*line || *line == '#')
			continue;
		char *eq = strchr(line, '=');
		if (!eq) {
			fail(err, errlen, path, lineno, "expected 'key = value'");
			goto out;
		}
		*eq = 0;
		char *key = trim(line), *val = trim(eq + 1);
		if (strncmp(key, "--", 2) == 0) {
			fail(err, errlen, path, lineno, "write the key without '--': '%s'", key + 2);
			goto out;
		}
		if (!*key || strspn(key, "abcdefghijklmnopqrstuvwxyz0123456789-") != strlen(key)) {
			fail(err, errlen, path, lineno, "a key is an option name: lower-case letters, digits and '-'");
			goto out;
		}
		int i = find_opt(s->lo, key);
		if (i < 0) {
			fail(err, errlen, path, lineno, "unknown key '%s' (the keys are immuned's long options)", key);
			goto out;
		}
		if (in_list(s->refused, key)) {
			fail(err, errlen, path, lineno, "'%s' cannot be set in a config file", key);
			goto out;
		}
		if (seen[i] && !in_list(s->repeatable, key)) {
			fail(err, errlen, path, lineno, "'%s' is already set on line %u", key, seen[i]);
			goto out;
		}
		seen[i] = lineno;
		size_t vl = strlen(val);
		if (vl >= 2 && val[0] == '"' && val[vl - 1] == '"') {
			/* quotes keep what trimming would take: leading or trailing blanks, a lone '#' */
			val[vl - 1] = 0;
			val++;
		} else if (val[0] == '"' || (vl && val[vl - 1] == '"')) {
			fail(err, errlen, path, lineno, "unbalanced '\"' in the value of '%s'", key);
			goto out;
		}
		const char *why = bad_value(val);
		if (why) {
			fail(err, errlen, path, lineno, "the value of '%s' has %s", key, why);
			goto out;
		}
		if (s->lo[i].has_arg == no_argument) {
			bool b;
			if (parse_bool(val, &b)) {
				fail(err, errlen, path, lineno, "'%s' is true or false, not '%s'", key, val);
				goto out;
			}
			val = b ? "true" : "false";
		} else if (!*val) {
			fail(err, errlen, path, lineno, "'%s' needs a value", key);
			goto out;
		}
		if (ne == cap) {
			cap = cap ? cap * 2 : 16;
			struct config_entry *ne2 = realloc(e, cap * sizeof(*e));
			if (!ne2) {
				fail(err, errlen, path, lineno, "out of memory");
				goto out;
			}
			e = ne2;
		}
		const char *kept = intern(val);
		if (!kept) {
			fail(err, errlen, path, lineno, "out of memory");
			goto out;
		}
		e[ne++] = (struct config_entry){ .opt = i, .value = kept, .line = lineno };
	}
	c->path = strdup(path);
	if (!c->path) {
		fail(err, errlen, path, 0, "out of memory");
		goto out;
	}
	c->e = e;
	c->n = ne;
	e = NULL;
	rc = 0;
out:
	free(seen);
	free(e);
	return rc;
}

void config_free(struct config *c)
{
	free(c->path);
	free(c->e);
	memset(c, 0, sizeof(*c));
}

int config_origins_init(struct config_origins *co, const struct option *lo)
{
	co->nopt = 0;
	while (lo[co->nopt].name)
		co->nopt++;
	co->o = calloc(co->nopt, sizeof(*co->o));
	return co->o ? 0 : -1;
}

void config_origins_free(struct config_origins *co)
{
	for (int i = 0; co->o && i < co->nopt; i++) {
		for (struct origin *x = co->o[i], *next; x; x = next) {
			next = x->next;
			free(x);
		}
	}
	free(co->o);
	co->o = NULL;
}

int config_origin_add(struct config_origins *co, int opt, const char *value, const char *where)
{
	if (opt < 0 || opt >= co->nopt)
		return -1;
	struct origin *x = calloc(1, sizeof(*x)), **tail = &co->o[opt];
	if (!x)
		return -1;
	x->value = value;
	snprintf(x->where, sizeof(x->where), "%s", where);
	while (*tail)
		tail = &(*tail)->next;
	*tail = x;
	return 0;
}

bool config_origin_cli(const struct config_origins *co, int opt)
{
	return opt >= 0 && opt < co->nopt && co->o[opt] && strcmp(co->o[opt]->where, "command line") == 0;
}

bool config_origin_same(const struct config_origins *a, const struct config_origins *b, int opt)
{
	const struct origin *x = a->o[opt], *y = b->o[opt];
	for (; x && y; x = x->next, y = y->next)
		if ((x->value == NULL) != (y->value == NULL) || (x->value && strcmp(x->value, y->value)))
			return false;
	return !x && !y;
}

/* A value printed so that the file format reads it back: quoted when trimming would change it. */
static int print_value(FILE *f, const char *v)
{
	size_t n = strlen(v);
	bool quote = !n || v[0] == ' ' || v[0] == '\t' || v[n - 1] == ' ' || v[n - 1] == '\t' || v[0] == '#' ||
		     v[0] == '"' || v[n - 1] == '"';
	return fprintf(f, quote ? "\"%s\"" : "%s", v);
}

void config_print(FILE *f, const struct config_schema *s, const struct config_origins *co, const struct config *c,
		  const char *(*dflt)(const char *name))
{
	fprintf(f, "# immuned configuration in force; config file: %s\n",
		c->path ? c->path : "none (" CONFIG_DEFAULT_PATH " is missing)");
	for (int i = 0; s->lo[i].name; i++) {
		const char *name = s->lo[i].name;
		if (in_list(s->refused, name))
			continue;
		if (!co->o[i]) {
			const char *d = dflt ? dflt(name) : NULL;
			if (d) /* commented out: the output reads back as a config file */
				fprintf(f, "# %-18s = %-30s # default\n", name, d);
			else
				fprintf(f, "# %-18s   %-30s # not set\n", name, "");
			continue;
		}
		for (const struct origin *x = co->o[i]; x; x = x->next) {
			fprintf(f, "%-20s = ", name);
			int w = print_value(f, x->value ? x->value : "true");
			fprintf(f, "%*s # %s\n", w < 30 ? 30 - w : 0, "", x->where);
		}
	}
}
