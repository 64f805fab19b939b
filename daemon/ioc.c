/*
 * IOC sets: an append-only blob of records and an open-addressing index of
 * (32-bit hash tag, record offset) pairs for the exact answer, plus a Bloom
 * filter in front of it. Records are 4-byte aligned and addressed in 4-byte
 * units, so 32-bit offsets reach 16 GiB of indicators.
 */
#include "ioc.h"
#include "bloom.h"
#include "verdict_target.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct rec {
	uint8_t kind;
	uint8_t action;
	uint16_t file;
	uint32_t line;
	uint16_t len;
	uint8_t key[];
} __attribute__((packed));

struct ioc_set {
	char *blob;
	size_t blen, bcap;   /* bytes */
	uint64_t *slots;     /* tag << 32 | (offset/4 + 1); 0 empty */
	size_t nslots, nrecs;
	struct bloom bloom;
	double fp;
	bool built;
	char **files;
	int nfiles;
	bool prefix_used[129];
	struct ioc_stats st;
};

static const char *const kind_names[IOC_KINDS] = { "sha256", "path", "ip", "cidr" };

const char *ioc_kind_name(enum ioc_kind k)
{
	return k < IOC_KINDS ? kind_names[k] : "?";
}

struct ioc_set *ioc_new(double fp_rate)
{
	struct ioc_set *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->fp = fp_rate > 0 && fp_rate < 1 ? fp_rate : 0.001;
	s->nslots = 1024;
	s->slots = calloc(s->nslots, sizeof(*s->slots));
	if (!s->slots) {
		free(s);
		return NULL;
	}
	return s;
}

void ioc_free(struct ioc_set *s)
{
	if (!s)
		return;
	free(s->blob);
	free(s->slots);
	bloom_free(&s->bloom);
	for (int i = 0; i < s->nfiles; i++)
		free(s->files[i]);
	free(s->files);
	free(s);
}

static inline struct rec *rec_at(const struct ioc_set *s, uint64_t slot)
{
	return (struct rec *)(s->blob + ((slot & 0xffffffffu) - 1) * 4);
}

static inline uint64_t keyhash(uint8_t kind, const void *key, size_t len)
{
	return bloom_hash(key, len, 0x1000 + kind);
}

/* Index of the slot holding (kind, key), or of the empty slot where it would go. */
static size_t probe(const struct ioc_set *s, uint8_t kind, const void *key, size_t len, uint64_t h, bool *found)
{
	uint32_t tag = (uint32_t)(h >> 32);
	size_t mask = s->nslots - 1, i = h & mask;
	for (;;) {
		uint64_t v = s->slots[i];
		if (!v) {
			*found = false;
			return i;
		}
		if ((uint32_t)(v >> 32) == tag) {
			const struct rec *r = rec_at(s, v);
			if (r->kind == kind && r->len == len && memcmp(r->key, key, len) == 0) {
				*found = true;
				return i;
			}
		}
		i = (i + 1) & mask;
	}
}

static int grow(struct ioc_set *s)
{
	size_t n = s->nslots * 2;
	uint64_t *ns = calloc(n, sizeof(*ns));
	if (!ns)
		return -1;
	for (size_t i = 0; i < s->nslots; i++) {
		uint64_t v = s->slots[i];
		if (!v)
			continue;
		/* the tag is the hash's top half; the low half decides the slot */
		const struct rec *r = rec_at(s, v);
		size_t j = keyhash(r->kind, r->key, r->len) & (n - 1);
		while (ns[j])
			j = (j + 1) & (n - 1);
		ns[j] = v;
	}
	free(s->slots);
	s->slots = ns;
	s->nslots = n;
	return 0;
}

int ioc_reserve(struct ioc_set *s, size_t n)
{
	/* grow once to the final size instead of rehashing log2(n) times */
	while ((n + 1) * 10 > s->nslots * 7)
		if (grow(s))
			return -1;
	return 0;
}

static int insert(struct ioc_set *s, uint8_t kind, const void *key, size_t len, uint8_t action, uint16_t file,
		  uint32_t line)
{
	if ((s->nrecs + 1) * 10 > s->nslots * 7 && grow(s))
		return -ENOMEM;
	uint64_t h = keyhash(kind, key, len);
	bool found;
	size_t i = probe(s, kind, key, len, h, &found);
	if (found) {
		s->st.duplicates++;
		return 0;
	}
	size_t need = (sizeof(struct rec) + len + 3) & ~(size_t)3;
	if (s->blen + need > s->bcap) {
		size_t cap = s->bcap ? s->bcap * 2 : 1 << 16;
		while (cap < s->blen + need)
			cap *= 2;
		char *nb = realloc(s->blob, cap);
		if (!nb)
			return -ENOMEM;
		s->blob = nb;
		s->bcap = cap;
	}
	if ((s->blen / 4 + 1) > 0xffffffffu)
		return -E2BIG;
	struct rec *r = (struct rec *)(s->blob + s->blen);
	r->kind = kind;
	r->action = action;
	r->file = file;
	r->line = line;
	r->len = (uint16_t)len;
	memcpy(r->key, key, len);
	s->slots[i] = (h >> 32 << 32) | (s->blen / 4 + 1);
	s->blen += need;
	s->nrecs++;
	s->st.count[kind]++;
	s->built = false;
	return 1;
}

static int unhex(int c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

static bool parse_sha(const char *v, size_t n, uint8_t out[32])
{
	if (n != 64)
		return false;
	for (int i = 0; i < 32; i++) {
		int hi = unhex(v[2 * i]), lo = unhex(v[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return false;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return true;
}

static uint16_t file_id(struct ioc_set *s, const char *file)
{
	for (int i = 0; i < s->nfiles; i++)
		if (strcmp(s->files[i], file) == 0)
			return (uint16_t)i;
	if (s->nfiles >= 65535)
		return 65535;
	char **nf = realloc(s->files, (s->nfiles + 1) * sizeof(*nf));
	if (!nf)
		abort();
	s->files = nf;
	if (!(s->files[s->nfiles] = strdup(file)))
		abort();
	return (uint16_t)s->nfiles++;
}

int ioc_add_line(struct ioc_set *s, const char *line, const char *file, unsigned lineno,
		 enum imm_rule_action *action, char *err, size_t errlen)
{
	const char *p = line, *e;
	while (isspace((unsigned char)*p))
		p++;
	if (!*p || *p == '#')
		return 0;
	/* a comment starts at whitespace followed by '#' */
	for (e = p; *e; e++)
		if (*e == '#' && isspace((unsigned char)e[-1]))
			break;
	while (e > p && isspace((unsigned char)e[-1]))
		e--;
	size_t n = (size_t)(e - p);

	int kind = -1;
	static const char *const prefixes[] = { "sha256:", "path:", "ip:", "cidr:", "action:" };
	for (int k = 0; k < 5; k++) {
		size_t pl = strlen(prefixes[k]);
		if (n >= pl && strncasecmp(p, prefixes[k], pl) == 0) {
			kind = k;
			p += pl;
			n -= pl;
			while (n && isspace((unsigned char)*p)) {
				p++;
				n--;
			}
			break;
		}
	}
	char v[4100];
	if (n >= sizeof(v)) {
		snprintf(err, errlen, "indicator longer than %zu bytes", sizeof(v) - 1);
		return -1;
	}
	memcpy(v, p, n);
	v[n] = 0;
	if (!n) {
		snprintf(err, errlen, "empty value after the kind prefix");
		return -1;
	}
	if (kind == 4) {
		if (strcmp(v, "alert") == 0)
			*action = IMM_ACTION_ALERT;
		else if (strcmp(v, "block") == 0)
			*action = IMM_ACTION_BLOCK;
		else if (strcmp(v, "kill") == 0)
			*action = IMM_ACTION_KILL;
		else {
			snprintf(err, errlen, "action '%.40s' is not alert, block or kill", v);
			return -1;
		}
		return 0;
	}
	uint8_t key[17], sha[32];
	if (kind < 0) {
		if (parse_sha(v, n, sha))
			kind = IOC_SHA256;
		else if (v[0] == '/')
			kind = IOC_PATH;
		else if (strchr(v, '/'))
			kind = IOC_CIDR;
		else if (net_parse_addr(v, key) > 0)
			kind = IOC_IP;
		else {
			snprintf(err, errlen, "cannot tell the kind of '%.60s' (prefix it with sha256:, path:, ip: or cidr:)", v);
			return -1;
		}
	}
	uint16_t fid = file_id(s, file ? file : "-");
	int rc;
	switch (kind) {
	case IOC_SHA256:
		if (!parse_sha(v, n, sha)) {
			snprintf(err, errlen, "sha256 '%.70s' is not 64 hex digits", v);
			return -1;
		}
		rc = insert(s, IOC_SHA256, sha, 32, *action, fid, lineno);
		break;
	case IOC_PATH:
		if (v[0] != '/') {
			snprintf(err, errlen, "path '%.60s' is not absolute", v);
			return -1;
		}
		rc = insert(s, IOC_PATH, v, n, *action, fid, lineno);
		break;
	case IOC_IP:
		if (net_parse_addr(v, key) < 0) {
			snprintf(err, errlen, "'%.60s' is not an IP address", v);
			return -1;
		}
		rc = insert(s, IOC_IP, key, 16, *action, fid, lineno);
		break;
	default: {
		int prefix;
		if (!strchr(v, '/') || sig_parse_cidr(v, key + 1, &prefix) < 0) {
			snprintf(err, errlen, "'%.60s' is not a CIDR (address/length)", v);
			return -1;
		}
		key[0] = (uint8_t)prefix;
		s->prefix_used[prefix] = true;
		rc = insert(s, IOC_CIDR, key, 17, *action, fid, lineno);
		break;
	}
	}
	if (rc < 0) {
		snprintf(err, errlen, "%s", strerror(-rc));
		return -1;
	}
	return rc;
}

/* One line of a file being loaded; too_long when it was cut at IOC_MAX_LINE. */
struct ioc_reader {
	struct ioc_set *s;
	const char *path;
	FILE *log;
	unsigned lineno;
	enum imm_rule_action act;
	long added;
	char line[IOC_MAX_LINE + 1];
	size_t len;
	bool too_long;
};

static void reader_line(struct ioc_reader *r)
{
	r->lineno++;
	size_t len = r->len;
	r->len = 0;
	if (r->too_long) {
		r->too_long = false;
		fprintf(r->log, "%s:%u: line longer than %d bytes, skipped\n", r->path, r->lineno, IOC_MAX_LINE);
		r->s->st.malformed++;
		return;
	}
	while (len && r->line[len - 1] == '\r')
		len--;
	r->line[len] = 0;
	if (memchr(r->line, 0, len)) {
		fprintf(r->log, "%s:%u: NUL byte in line, skipped\n", r->path, r->lineno);
		r->s->st.malformed++;
		return;
	}
	char err[160];
	int rc = ioc_add_line(r->s, r->line, r->path, r->lineno, &r->act, err, sizeof(err));
	if (rc < 0) {
		fprintf(r->log, "%s:%u: %s, skipped\n", r->path, r->lineno, err);
		r->s->st.malformed++;
	} else {
		r->added += rc;
	}
}

long ioc_load_file(struct ioc_set *s, const char *path, FILE *log)
{
	/* non-blocking: a FIFO named as an IOC file must not hang the start */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	struct stat st;
	if (fd < 0 || fstat(fd, &st)) {
		fprintf(log, "%s: %s\n", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		fprintf(log, "%s: not a regular file, not read\n", path);
		close(fd);
		return -1;
	}
	/* a SHA-256 line is 72 bytes: a lower bound on the count, so never an overshoot */
	if (st.st_size > 0)
		ioc_reserve(s, s->nrecs + (size_t)st.st_size / 72);
	struct ioc_reader *r = calloc(1, sizeof(*r));
	char *chunk = malloc(1 << 16);
	if (!r || !chunk)
		abort();
	*r = (struct ioc_reader){ .s = s, .path = path, .log = log, .act = IMM_ACTION_ALERT };
	ssize_t got;
	while ((got = read(fd, chunk, 1 << 16)) != 0) {
		if (got < 0) {
			if (errno == EINTR)
				continue;
			fprintf(log, "%s:%u: read failed: %s\n", path, r->lineno + 1, strerror(errno));
			break;
		}
		/* lines are cut at IOC_MAX_LINE bytes: a file without newlines costs no more memory than that */
		for (const char *p = chunk, *end = chunk + got; p < end;) {
			const char *nl = memchr(p, '\n', (size_t)(end - p));
			size_t n = (size_t)((nl ? nl : end) - p);
			if (r->len + n > IOC_MAX_LINE)
				r->too_long = true;
			else if (!r->too_long) {
				memcpy(r->line + r->len, p, n);
				r->len += n;
			}
			if (!nl)
				break;
			reader_line(r);
			p = nl + 1;
		}
	}
	if (r->len || r->too_long)
		reader_line(r);
	long added = r->added;
	free(chunk);
	free(r);
	close(fd);
	return added;
}

static void rec_key(const struct rec *r, const void **k, size_t *n)
{
	*k = r->key;
	*n = r->len;
}

int ioc_finalize(struct ioc_set *s)
{
	bloom_free(&s->bloom);
	if (bloom_init(&s->bloom, s->nrecs, s->fp))
		return -1;
	for (size_t off = 0; off < s->blen;) {
		const struct rec *r = (const struct rec *)(s->blob + off);
		const void *k;
		size_t n;
		rec_key(r, &k, &n);
		bloom_add(&s->bloom, k, n, r->kind);
		off += (sizeof(struct rec) + r->len + 3) & ~(size_t)3;
	}
	s->built = true;
	return 0;
}

static void fill_hit(const struct ioc_set *s, const struct rec *r, struct ioc_hit *hit)
{
	if (!hit)
		return;
	hit->kind = r->kind;
	hit->action = r->action;
	hit->file = r->file < s->nfiles ? s->files[r->file] : "-";
	hit->line = r->line;
	switch (r->kind) {
	case IOC_SHA256:
		ioc_hex(r->key, 32, hit->value);
		break;
	case IOC_PATH:
		memcpy(hit->value, r->key, r->len);
		hit->value[r->len] = 0;
		break;
	case IOC_IP:
	case IOC_CIDR: {
		const uint8_t *a = r->kind == IOC_IP ? r->key : r->key + 1;
		static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
		bool v4 = memcmp(a, mapped, 12) == 0;
		inet_ntop(v4 ? AF_INET : AF_INET6, v4 ? a + 12 : a, hit->value, sizeof(hit->value));
		if (r->kind == IOC_CIDR) {
			size_t l = strlen(hit->value);
			snprintf(hit->value + l, sizeof(hit->value) - l, "/%d", v4 ? r->key[0] - 96 : r->key[0]);
		}
		break;
	}
	}
}

static bool lookup(struct ioc_set *s, uint8_t kind, const void *key, size_t len, struct ioc_hit *hit)
{
	if (!s->st.count[kind])
		return false;
	s->st.lookups++;
	if (s->built && !bloom_test(&s->bloom, key, len, kind))
		return false;
	s->st.bloom_maybe++;
	bool found;
	size_t i = probe(s, kind, key, len, keyhash(kind, key, len), &found);
	if (!found)
		return false;
	s->st.confirmed++;
	fill_hit(s, rec_at(s, s->slots[i]), hit);
	return true;
}

bool ioc_match_sha256(struct ioc_set *s, const uint8_t sha[32], struct ioc_hit *hit)
{
	return lookup(s, IOC_SHA256, sha, 32, hit);
}

bool ioc_match_path(struct ioc_set *s, const char *path, struct ioc_hit *hit)
{
	size_t n = strlen(path);
	return n && n < 65535 && lookup(s, IOC_PATH, path, n, hit);
}

bool ioc_match_ip(struct ioc_set *s, const char *ip, struct ioc_hit *hit)
{
	uint8_t a[16], key[17];
	if (!ip[0] || net_parse_addr(ip, a) < 0)
		return false;
	if (lookup(s, IOC_IP, a, 16, hit))
		return true;
	if (!s->st.count[IOC_CIDR])
		return false;
	/* longest prefix first: the most specific network is the one reported */
	for (int p = 128; p >= 0; p--) {
		if (!s->prefix_used[p])
			continue;
		key[0] = (uint8_t)p;
		memcpy(key + 1, a, 16);
		for (int b = p; b < 128; b++)
			key[1 + b / 8] &= (uint8_t)~(0x80 >> (b % 8));
		if (lookup(s, IOC_CIDR, key, 17, hit))
			return true;
	}
	return false;
}

uint64_t ioc_count(const struct ioc_set *s, enum ioc_kind k)
{
	return k < IOC_KINDS ? s->st.count[k] : 0;
}

void ioc_get_stats(const struct ioc_set *s, struct ioc_stats *st)
{
	*st = s->st;
	st->bloom_bytes = bloom_bytes(&s->bloom);
	st->bytes = s->bcap + s->nslots * sizeof(uint64_t) + st->bloom_bytes;
}

void ioc_each(const struct ioc_set *s, enum ioc_kind kind, ioc_each_fn fn, void *ctx)
{
	char v[4100];
	for (size_t off = 0; s && off < s->blen;) {
		const struct rec *r = (const struct rec *)(s->blob + off);
		if (r->kind == kind) {
			if (kind == IOC_SHA256)
				ioc_hex(r->key, r->len, v);
			else
				snprintf(v, sizeof(v), "%.*s", (int)r->len, (const char *)r->key);
			fn(ctx, v, (enum imm_rule_action)r->action);
		}
		off += (sizeof(struct rec) + r->len + 3) & ~(size_t)3;
	}
}

unsigned ioc_each_hit(struct ioc_set *s, enum ioc_kind kind, ioc_hit_fn fn, void *ctx)
{
	static struct ioc_hit h; /* 4 KiB: not on the stack */
	unsigned demoted = 0;
	for (size_t off = 0; s && off < s->blen;) {
		struct rec *r = (struct rec *)(s->blob + off);
		if (r->kind == kind) {
			fill_hit(s, r, &h);
			if (fn(ctx, &h)) {
				r->action = IMM_ACTION_ALERT;
				demoted++;
			}
		}
		off += (sizeof(struct rec) + r->len + 3) & ~(size_t)3;
	}
	return demoted;
}

void ioc_hex(const uint8_t *b, size_t n, char *out)
{
	static const char hx[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = hx[b[i] >> 4];
		out[2 * i + 1] = hx[b[i] & 15];
	}
	out[2 * n] = 0;
}

long ioc_add_text(struct ioc_set *s, const char *text, const char *file, char *err, size_t errlen)
{
	enum imm_rule_action action = IMM_ACTION_ALERT; /* an "action:" line applies to the lines after it */
	unsigned lineno = 0;
	char line[4096], why[256];
	uint64_t before = 0, after = 0;

	for (int k = 0; k < IOC_KINDS; k++)
		before += ioc_count(s, k);
	for (const char *p = text; *p;) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		lineno++;
		if (len >= sizeof(line)) {
			snprintf(err, errlen, "%s:%u: line too long", file, lineno);
			return -1;
		}
		memcpy(line, p, len);
		line[len] = 0;
		if (ioc_add_line(s, line, file, lineno, &action, why, sizeof(why)) < 0) {
			snprintf(err, errlen, "%s:%u: %s", file, lineno, why);
			return -1;
		}
		p += len + (nl ? 1 : 0);
	}
	for (int k = 0; k < IOC_KINDS; k++)
		after += ioc_count(s, k);
	return (long)(after - before);
}
