/*
 * immunectl: talk to immuned over its control socket. One JSON request, one
 * JSON reply; human-readable output unless --json.
 *
 * Exit status: 0 done, 1 the daemon refused or failed the request, 2 bad
 * arguments, 3 daemon unreachable, 4 permission denied.
 */
#include "ctlsock.h"
#include "jsonw.h"
#include "verdict_target.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include "suppress.h"

enum { EX_OK = 0, EX_FAILED = 1, EX_USAGE = 2, EX_UNREACHABLE = 3, EX_DENIED = 4 };

#define REPLY_TIMEOUT_MS 30000

static const char *prog = "immunectl";

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: immunectl [--socket PATH] [--json] COMMAND\n"
		"Control immuned over its socket (default " CTLSOCK_PATH ").\n\n"
		"  status                               mode, programs, events, verdicts, uptime\n"
		"  block exec PATH [--fleet]            deny executing the file PATH names (its inode)\n"
		"  block file PATH [--fleet]            deny opening it\n"
		"  block net ADDR[/PREFIX][:PORT] [--fleet]\n"
		"                                       deny connecting there (IPv6 with a port: [ADDR]:PORT)\n"
		"  allow exec|file|net TARGET [--fleet] set an allow verdict instead\n"
		"  unblock exec|file|net TARGET         remove a verdict\n"
		"  verdicts [exec|file|net]             list verdicts\n"
		"  incidents [--since T] [--rule ID] [--limit N] [--host H]\n"
		"                                       T: epoch seconds, 2026-01-31[T12:00[:00]][Z], or 30m, 2h, 7d ago\n"
		"  ioc-push NAME FILE                   on the Hive: push an IOC set (the --ioc format) to the fleet\n"
		"  suppress RULE [--exe P] [--parent P] [--cmdline-contains S] [--for DURATION]\n"
		"                                       stop alerting on RULE's matches (all, or those of exe P,\n"
		"                                       parent P, command lines containing S), now, kept across\n"
		"                                       restarts; DURATION: 90s, 30m, 2h, 7d (default: until removed)\n"
		"  unsuppress ID                        lift a suppression\n"
		"  suppressions                         list them, with the matches each suppressed\n"
		"  incidents --signals ...              the signals (matches below --min-level) instead\n"
		"  proposals [pending|approved|rejected|all]  on the Hive: blocks agents proposed for the fleet\n"
		"  approve ID | reject ID [REASON]      on the Hive: decide a proposal\n"
		"  agent revoke ID                      on the Hive: refuse agent ID from now on, close its link\n"
		"  agent unrevoke ID                    on the Hive: serve agent ID again\n"
		"  reload                               re-read the config file, rules and IOC files (as SIGHUP);\n"
		"                                       a set that does not load is refused and the old one stays\n"
		"  help                                 the commands the daemon serves\n\n"
		"  --socket PATH   the daemon's socket\n"
		"  --json          print the daemon's reply as JSON\n"
		"  --fleet         block/allow/unblock: ask the Hive to apply it on every agent too\n"
		"  --help, --version\n"
		"Exit status: 0 ok, 1 request failed, 2 bad arguments, 3 daemon unreachable, 4 permission denied.\n");
}

static int die_usage(const char *fmt, const char *arg)
{
	fprintf(stderr, "%s: ", prog);
	fprintf(stderr, fmt, arg);
	fprintf(stderr, " (try --help)\n");
	return EX_USAGE;
}

/* ---- arguments ------------------------------------------------------------- */

static int parse_limit(const char *s, long long *out)
{
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno || *end || end == s || v < 1 || v > 10000000)
		return -1;
	*out = v;
	return 0;
}

/* T as epoch ns: "1700000000", "2026-01-31", "2026-01-31T12:00[:00][Z]", "30s", "10m", "2h", "7d". */
static int parse_since(const char *s, long long *ns)
{
	char *end;
	struct tm tm;
	time_t now = time(NULL), t;

	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (!errno && end != s && v >= 0) {
		long long mult = 0;
		if (!*end)
			mult = -1; /* epoch seconds */
		else if (!strcmp(end, "s"))
			mult = 1;
		else if (!strcmp(end, "m"))
			mult = 60;
		else if (!strcmp(end, "h"))
			mult = 3600;
		else if (!strcmp(end, "d"))
			mult = 86400;
		if (mult == -1 && v < 100000000000LL) {
			*ns = v * 1000000000LL;
			return 0;
		}
		if (mult > 0 && v <= 36500LL * 86400 / mult) {
			*ns = ((long long)now - v * mult) * 1000000000LL;
			return 0;
		}
	}
	static const char *const fmts[] = { "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M:%S",
					    "%Y-%m-%d %H:%M", "%Y-%m-%d" };
	for (size_t i = 0; i < sizeof(fmts) / sizeof(fmts[0]); i++) {
		memset(&tm, 0, sizeof(tm));
		const char *rest = strptime(s, fmts[i], &tm);
		if (!rest || (*rest && strcmp(rest, "Z")))
			continue;
		tm.tm_isdst = -1;
		t = *rest == 'Z' ? timegm(&tm) : mktime(&tm);
		if (t == (time_t)-1)
			return -1;
		*ns = (long long)t * 1000000000LL;
		return 0;
	}
	return -1;
}

/* The daemon's working directory is not ours: send absolute paths. */
static int absolute(const char *path, char *out, size_t n)
{
	char cwd[PATH_MAX];
	int len;

	if (path[0] == '/')
		len = snprintf(out, n, "%s", path);
	else if (getcwd(cwd, sizeof(cwd)))
		len = snprintf(out, n, "%s/%s", strcmp(cwd, "/") ? cwd : "", path);
	else
		return -1;
	return len < 0 || (size_t)len >= n ? -1 : 0;
}

/* ---- transport --------------------------------------------------------------- */

static int connect_daemon(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "%s: socket path %s is too long\n", prog, path);
		return -EX_USAGE;
	}
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		fprintf(stderr, "%s: socket: %s\n", prog, strerror(errno));
		return -EX_UNREACHABLE;
	}
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		int e = errno;
		close(fd);
		if (e == EACCES || e == EPERM) {
			fprintf(stderr, "%s: cannot connect to %s: %s (the socket is root's: run as root or "
				"as a member of immuned's admin group)\n", prog, path, strerror(e));
			return -EX_DENIED;
		}
		fprintf(stderr, "%s: cannot connect to %s: %s (is immuned running? --socket PATH)\n", prog, path,
			strerror(e));
		return -EX_UNREACHABLE;
	}
	return fd;
}

static int send_all(int fd, const char *s, size_t n)
{
	while (n) {
		ssize_t w = send(fd, s, n, MSG_NOSIGNAL);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		s += w;
		n -= (size_t)w;
	}
	return 0;
}

/* One request, one reply line. The reply, or NULL after a one-line error (*ex set). */
static cJSON *transact(const char *path, cJSON *req, int *ex)
{
	char *text = cJSON_PrintUnformatted(req), *buf = NULL;
	size_t len = 0, cap = 0;
	cJSON *reply = NULL;
	int fd;

	if (!text) {
		fprintf(stderr, "%s: out of memory\n", prog);
		*ex = EX_FAILED;
		return NULL;
	}
	fd = connect_daemon(path);
	if (fd < 0) {
		*ex = -fd;
		cJSON_free(text);
		return NULL;
	}
	if (send_all(fd, text, strlen(text)) || send_all(fd, "\n", 1)) {
		fprintf(stderr, "%s: sending to %s: %s\n", prog, path, strerror(errno));
		*ex = EX_UNREACHABLE;
		goto out;
	}
	cJSON_free(text);
	text = NULL;
	shutdown(fd, SHUT_WR);
	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int r = poll(&p, 1, REPLY_TIMEOUT_MS);
		if (r == 0) {
			fprintf(stderr, "%s: no reply from %s within %d s\n", prog, path, REPLY_TIMEOUT_MS / 1000);
			*ex = EX_UNREACHABLE;
			goto out;
		}
		if (r < 0 && errno == EINTR)
			continue;
		if (len + 65536 > cap) {
			cap = cap ? cap * 2 : 65536 * 2;
			char *nb = realloc(buf, cap);
			if (!nb) {
				fprintf(stderr, "%s: out of memory\n", prog);
				*ex = EX_FAILED;
				goto out;
			}
			buf = nb;
		}
		ssize_t n = recv(fd, buf + len, cap - len - 1, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "%s: reading from %s: %s\n", prog, path, strerror(errno));
			*ex = EX_UNREACHABLE;
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (memchr(buf + len - (size_t)n, '\n', (size_t)n))
			break;
	}
	if (!len) {
		fprintf(stderr, "%s: %s closed the connection without a reply\n", prog, path);
		*ex = EX_UNREACHABLE;
		goto out;
	}
	buf[len] = '\0';
	reply = cJSON_Parse(buf);
	if (!cJSON_IsObject(reply)) {
		fprintf(stderr, "%s: the daemon's reply is not a JSON object\n", prog);
		cJSON_Delete(reply);
		reply = NULL;
		*ex = EX_FAILED;
	}
out:
	cJSON_free(text);
	free(buf);
	close(fd);
	return reply;
}

/* ---- output ------------------------------------------------------------------ */

static const char *jstr(const cJSON *o, const char *key, const char *dflt)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, key);
	return cJSON_IsString(it) ? it->valuestring : dflt;
}

/*
 * A string from the daemon for a person's terminal: paths and command lines
 * are whatever a process chose, so control bytes, quotes and bad UTF-8 are
 * escaped (jw_text) and a name cannot break the table or fake a row. The
 * last few results stay valid, for the columns of one printf.
 */
static const char *shown(const char *s)
{
	static struct jw w[8];
	static unsigned next;
	struct jw *b = &w[next++ % 8];
	jw_reset(b);
	jw_text(b, s ? s : "");
	return b->buf;
}

static double jnum(const cJSON *o, const char *key, double dflt)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, key);
	return cJSON_IsNumber(it) ? it->valuedouble : dflt;
}

static void fmt_time(double ns, char *buf, size_t n)
{
	time_t t = (time_t)(ns / 1e9);
	struct tm tm;

	if (ns <= 0 || !localtime_r(&t, &tm) || !strftime(buf, n, "%Y-%m-%d %H:%M:%S", &tm))
		snprintf(buf, n, "-");
}

static void print_scalar(const cJSON *it)
{
	if (cJSON_IsString(it))
		fputs(it->valuestring, stdout);
	else if (cJSON_IsBool(it))
		fputs(cJSON_IsTrue(it) ? "yes" : "no", stdout);
	else if (cJSON_IsNumber(it)) {
		double d = it->valuedouble;
		if (d == (double)(long long)d)
			printf("%lld", (long long)d);
		else
			printf("%.3f", d);
	} else if (cJSON_IsNull(it))
		fputs("-", stdout);
	else {
		char *s = cJSON_PrintUnformatted(it);
		fputs(s ? s : "?", stdout);
		cJSON_free(s);
	}
}

/* Generic "key: value" tree, for status and whatever modules add to it. */
static void print_tree(const cJSON *o, int depth)
{
	const cJSON *it;

	cJSON_ArrayForEach(it, o) {
		if (depth == 0 && (!strcmp(it->string, "ok") || !strcmp(it->string, "id")))
			continue;
		printf("%*s%s:", depth * 2, "", it->string);
		if (cJSON_IsObject(it)) {
			putchar('\n');
			print_tree(it, depth + 1);
			continue;
		}
		if (cJSON_IsArray(it) && cJSON_IsObject(it->child)) {
			/* a list of records (the Hive instances...): one line each */
			const cJSON *e, *f;
			putchar('\n');
			cJSON_ArrayForEach(e, it) {
				bool first = true;
				printf("%*s-", depth * 2 + 2, "");
				cJSON_ArrayForEach(f, e) {
					printf("%s%s: ", first ? " " : ", ", f->string);
					print_scalar(f);
					first = false;
				}
				putchar('\n');
			}
			continue;
		}
		if (cJSON_IsArray(it)) {
			const cJSON *e;
			bool first = true;
			cJSON_ArrayForEach(e, it) {
				fputs(first ? " " : ", ", stdout);
				print_scalar(e);
				first = false;
			}
			putchar('\n');
			continue;
		}
		putchar(' ');
		if (!strcmp(it->string, "uptime_s") && cJSON_IsNumber(it)) {
			long long s = (long long)it->valuedouble;
			printf("%lldd %02lld:%02lld:%02lld", s / 86400, s / 3600 % 24, s / 60 % 60, s % 60);
		} else if (strstr(it->string, "_ns") && cJSON_IsNumber(it)) {
			char t[32];
			fmt_time(it->valuedouble, t, sizeof(t));
			fputs(t, stdout);
		} else {
			print_scalar(it);
		}
		putchar('\n');
	}
}

static void print_put(const cJSON *r)
{
	const char *action = jstr(r, "action", "?");
	printf("%s %s %s", !strcmp(action, "deny") ? "blocked" : "allowed", jstr(r, "kind", "?"),
	       shown(jstr(r, "target", "?")));
	if (jstr(r, "dev", NULL))
		printf(" (dev %s inode %.0f, %s)", jstr(r, "dev", ""), jnum(r, "ino", 0), jstr(r, "map", "?"));
	else if (!jstr(r, "map", NULL) && jstr(r, "applied", NULL)) /* the Hive's reply */
		printf(" (fleet verdicts version %.0f)", jnum(r, "verdict_version", 0));
	else
		printf(" (%s)", jstr(r, "map", "?"));
	if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r, "fleet")))
		printf(", sent to the fleet");
	putchar('\n');
}

static void print_verdicts(const cJSON *r)
{
	const cJSON *arr = cJSON_GetObjectItemCaseSensitive(r, "verdicts"), *e;

	if (!cJSON_GetArraySize(arr)) {
		printf("no verdicts\n");
		return;
	}
	printf("%-6s %-5s %-40s %-16s %-19s %8s %s\n", "ACTION", "KIND", "TARGET", "SOURCE", "SET", "HITS",
	       "STATE");
	cJSON_ArrayForEach(e, arr) {
		char t[32], state[64] = "";
		fmt_time(jnum(e, "set_ns", 0), t, sizeof(t));
		/* the Hive's fleet verdicts have neither: they are enforced on the agents */
		if (cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(e, "enforced")))
			snprintf(state, sizeof(state), "not in the map");
		else if (cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(e, "persisted")))
			snprintf(state, sizeof(state), "not persisted");
		printf("%-6s %-5s %-40s %-16s %-19s %8.0f %s\n", jstr(e, "action", "?"), jstr(e, "kind", "?"),
		       shown(jstr(e, "target", "?")), shown(jstr(e, "source", "?")), t, jnum(e, "hits", 0), state);
	}
}

static void print_incidents(const cJSON *r)
{
	const cJSON *arr = cJSON_GetObjectItemCaseSensitive(r, "incidents"), *e;

	if (!cJSON_GetArraySize(arr)) {
		printf("no incidents\n");
		return;
	}
	printf("%-19s %-24s %-8s %-12s %-7s %-30s %s\n", "TIME", "RULE", "LEVEL", "HOST", "VERDICT", "EXECUTABLE",
	       "TARGET");
	cJSON_ArrayForEach(e, arr) {
		char t[32];
		fmt_time(jnum(e, "time_ns", 0), t, sizeof(t));
		printf("%-19s %-24s %-8s %-12s %-7s %-30s %s\n", t, shown(jstr(e, "rule_id", "?")),
		       shown(jstr(e, "rule_level", "-")), shown(jstr(e, "host", "-")),
		       shown(jstr(e, "verdict", jstr(e, "action", "-"))), shown(jstr(e, "executable", "-")),
		       shown(jstr(e, "target", "-")));
	}
}

static void print_proposals(const cJSON *r)
{
	const cJSON *arr = cJSON_GetObjectItemCaseSensitive(r, "proposals"), *e;

	if (!cJSON_GetArraySize(arr)) {
		printf("no proposals\n");
		return;
	}
	printf("%-6s %-9s %-16s %-5s %-40s %-12s %s\n", "ID", "STATE", "AGENT", "KIND", "TARGET", "SHA256", "SOURCE");
	cJSON_ArrayForEach(e, arr) {
		printf("%-6.0f %-9s %-16s %-5s %-40s %-12.12s %s\n", jnum(e, "id", 0), jstr(e, "state", "?"),
		       jstr(e, "agent_id", "?"), jstr(e, "kind", "?"), jstr(e, "target", "?"), jstr(e, "sha256", "-"),
		       jstr(e, "source", "?"));
	}
}

static void print_help(const cJSON *r)
{
	const cJSON *arr = cJSON_GetObjectItemCaseSensitive(r, "commands"), *e;

	cJSON_ArrayForEach(e, arr)
		printf("%-12s%s\n", jstr(e, "cmd", "?"),
		       cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(e, "admin")) ? " (root or admin group)" : "");
}

/* ---- main -------------------------------------------------------------------- */

int main(int argc, char **argv)
{
	const char *socket_path = CTLSOCK_PATH, *rule = NULL, *host = NULL, *since = NULL, *limit = NULL;
	const char *pos[8];
	int npos = 0, ex = EX_OK;
	bool json = false, fleet = false, signals = false;
	struct suppress_args sa = { 0 };
	char abspath[PATH_MAX];

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char **val = NULL;
		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			usage(stdout);
			return EX_OK;
		} else if (!strcmp(a, "--version")) {
			printf("immunectl %s\n", IMMUNE_VERSION);
			return EX_OK;
		} else if (!strcmp(a, "--json")) {
			json = true;
		} else if (!strcmp(a, "--fleet")) {
			fleet = true;
		} else if (!strcmp(a, "--socket")) {
			val = &socket_path;
		} else if (!strcmp(a, "--since")) {
			val = &since;
		} else if (!strcmp(a, "--rule")) {
			val = &rule;
		} else if (!strcmp(a, "--limit")) {
			val = &limit;
		} else if (!strcmp(a, "--host")) {
			val = &host;
		} else if (!strcmp(a, "--signals")) {
			signals = true;
		} else if (!strcmp(a, "--exe")) {
			val = &sa.exe;
		} else if (!strcmp(a, "--parent")) {
			val = &sa.parent;
		} else if (!strcmp(a, "--cmdline-contains")) {
			val = &sa.cmdline_contains;
		} else if (!strcmp(a, "--for")) {
			val = &sa.for_;
		} else if (!strcmp(a, "--")) {
			for (i++; i < argc && npos < 8; i++)
				pos[npos++] = argv[i];
			if (i < argc)
				return die_usage("too many arguments", "");
			break;
		} else if (a[0] == '-' && a[1] == '-') {
			return die_usage("unknown option %s", a);
		} else {
			if (npos == 8)
				return die_usage("too many arguments", "");
			pos[npos++] = a;
		}
		if (val) {
			if (i + 1 >= argc || !argv[i + 1][0])
				return die_usage("%s needs a value", a);
			*val = argv[++i];
		}
	}
	if (npos == 0)
		return die_usage("no command given%s", "");

	const char *cmd = pos[0];
	bool is_put = !strcmp(cmd, "block") || !strcmp(cmd, "allow");
	bool is_verdict = is_put || !strcmp(cmd, "unblock");
	bool is_incidents = !strcmp(cmd, "incidents");
	if (fleet && !is_verdict)
		return die_usage("--fleet is for block, allow and unblock, not %s", cmd);
	if ((sa.exe || sa.parent || sa.cmdline_contains || sa.for_) && strcmp(cmd, "suppress"))
		return die_usage("--exe, --parent, --cmdline-contains and --for are for suppress, not %s", cmd);
	if ((since || rule || limit || host || signals) && !is_incidents)
		return die_usage("--since, --rule, --limit and --host are for incidents, not %s", cmd);

	cJSON *req = cJSON_CreateObject();
	if (!req) {
		fprintf(stderr, "%s: out of memory\n", prog);
		return EX_FAILED;
	}
	cJSON_AddStringToObject(req, "cmd", cmd);
	if (!strcmp(cmd, "status") || !strcmp(cmd, "help") || !strcmp(cmd, "reload")) {
		if (npos != 1)
			ex = die_usage("%s takes no arguments", cmd);
	} else if (is_verdict) {
		enum verdict_kind kind;
		const char *target;
		if (npos != 3) {
			ex = die_usage("usage: immunectl %s exec|file|net TARGET", cmd);
			goto done;
		}
		if (verdict_parse_kind(pos[1], &kind)) {
			ex = die_usage("unknown verdict kind '%s': exec, file or net", pos[1]);
			goto done;
		}
		target = pos[2];
		if (kind == VK_NET) {
			struct verdict_net t;
			char err[256];
			if (verdict_parse_net(target, &t, err, sizeof(err))) {
				fprintf(stderr, "%s: %s\n", prog, err);
				ex = EX_USAGE;
				goto done;
			}
		} else {
			if (!*target || absolute(target, abspath, sizeof(abspath))) {
				ex = die_usage("bad path '%s'", target);
				goto done;
			}
			target = abspath;
		}
		cJSON_AddStringToObject(req, "kind", pos[1]);
		cJSON_AddStringToObject(req, "target", target);
		if (fleet)
			cJSON_AddTrueToObject(req, "fleet");
	} else if (!strcmp(cmd, "ioc-push")) {
		/* on the Hive: an IOC set for the whole fleet, replaced whole by name */
		if (npos != 3) {
			ex = die_usage("usage: immunectl ioc-push NAME FILE%s", "");
			goto done;
		}
		FILE *f = fopen(pos[2], "re");
		if (!f) {
			fprintf(stderr, "%s: %s: %s\n", prog, pos[2], strerror(errno));
			ex = EX_USAGE;
			goto done;
		}
		static char text[1 << 20];
		size_t n = fread(text, 1, sizeof(text) - 1, f);
		bool more = fgetc(f) != EOF;
		fclose(f);
		if (more) {
			fprintf(stderr, "%s: %s: an IOC set pushed through the Hive must stay under 1 MiB\n", prog, pos[2]);
			ex = EX_USAGE;
			goto done;
		}
		text[n] = 0;
		cJSON_SetValuestring(cJSON_GetObjectItem(req, "cmd"), "ioc_push");
		cJSON_AddStringToObject(req, "name", pos[1]);
		cJSON_AddStringToObject(req, "text", text);
	} else if (suppress_is_cmd(cmd)) {
		ex = suppress_request(npos, pos, &sa, req);
	} else if (!strcmp(cmd, "proposals")) {
		if (npos > 2) {
			ex = die_usage("usage: immunectl proposals [pending|approved|rejected|all]%s", "");
			goto done;
		}
		if (npos == 2)
			cJSON_AddStringToObject(req, "state", pos[1]);
	} else if (!strcmp(cmd, "approve") || !strcmp(cmd, "reject")) {
		long long v;
		if (npos < 2 || npos > (!strcmp(cmd, "reject") ? 3 : 2) || parse_limit(pos[1], &v)) {
			ex = die_usage("usage: immunectl %s ID (the number `immunectl proposals` shows)", cmd);
			goto done;
		}
		cJSON_AddNumberToObject(req, "proposal", (double)v);
		if (npos == 3)
			cJSON_AddStringToObject(req, "reason", pos[2]);
	} else if (!strcmp(cmd, "agent")) {
		if (npos != 3 || (strcmp(pos[1], "revoke") && strcmp(pos[1], "unrevoke"))) {
			ex = die_usage("usage: immunectl agent revoke|unrevoke ID%s", "");
			goto done;
		}
		cJSON_SetValuestring(cJSON_GetObjectItem(req, "cmd"), strcmp(pos[1], "revoke") ? "agent_unrevoke" : "agent_revoke");
		cJSON_AddStringToObject(req, "agent_id", pos[2]);
	} else if (!strcmp(cmd, "verdicts")) {
		enum verdict_kind kind;
		if (npos > 2) {
			ex = die_usage("usage: immunectl verdicts [exec|file|net]%s", "");
			goto done;
		}
		if (npos == 2) {
			if (verdict_parse_kind(pos[1], &kind)) {
				ex = die_usage("unknown verdict kind '%s': exec, file or net", pos[1]);
				goto done;
			}
			cJSON_AddStringToObject(req, "kind", pos[1]);
		}
	} else if (is_incidents) {
		long long v;
		if (npos != 1) {
			ex = die_usage("incidents takes options only, not '%s'", pos[1]);
			goto done;
		}
		if (since) {
			if (parse_since(since, &v)) {
				ex = die_usage("--since '%s': epoch seconds, YYYY-MM-DD[THH:MM[:SS]][Z], or Ns/Nm/Nh/Nd", since);
				goto done;
			}
			cJSON_AddNumberToObject(req, "since_ns", (double)v);
		}
		if (limit) {
			if (parse_limit(limit, &v)) {
				ex = die_usage("--limit '%s': a number from 1 to 10000000", limit);
				goto done;
			}
			cJSON_AddNumberToObject(req, "limit", (double)v);
		}
		if (rule)
			cJSON_AddStringToObject(req, "rule", rule);
		if (host)
			cJSON_AddStringToObject(req, "host", host);
		if (signals)
			cJSON_AddTrueToObject(req, "signals");
	} else {
		ex = die_usage("unknown command '%s'", cmd);
		goto done;
	}
	if (ex)
		goto done;

	cJSON *reply = transact(socket_path, req, &ex);
	if (!reply)
		goto done;
	if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(reply, "ok"))) {
		const char *code = jstr(reply, "code", "");
		ex = !strcmp(code, "denied") ? EX_DENIED : !strcmp(code, "unknown-command") || !strcmp(code, "bad-request") ? EX_USAGE : EX_FAILED;
		if (json) {
			char *s = cJSON_Print(reply);
			if (s)
				puts(s);
			cJSON_free(s);
		}
		fprintf(stderr, "%s: %s\n", prog, jstr(reply, "error", "the daemon refused the request"));
	} else if (json) {
		char *s = cJSON_Print(reply);
		if (s)
			puts(s);
		cJSON_free(s);
	} else if (is_put) {
		print_put(reply);
	} else if (!strcmp(cmd, "unblock")) {
		printf("removed the verdict on %s %s%s\n", jstr(reply, "kind", "?"), jstr(reply, "target", "?"),
		       cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(reply, "fleet")) ? ", sent to the fleet" : "");
	} else if (!strcmp(cmd, "verdicts")) {
		print_verdicts(reply);
	} else if (!strcmp(cmd, "proposals")) {
		print_proposals(reply);
	} else if (!strcmp(cmd, "approve") || !strcmp(cmd, "reject")) {
		printf("proposal %.0f (%s %s from %s) %s\n", jnum(reply, "proposal", 0), jstr(reply, "kind", "?"),
		       jstr(reply, "target", "?"), jstr(reply, "agent_id", "?"), jstr(reply, "state", "?"));
	} else if (!strcmp(cmd, "agent")) {
		if (cJSON_IsFalse(cJSON_GetObjectItem(reply, "revoked")))
			printf("agent %s unrevoked: its hello is served again\n", jstr(reply, "agent_id", "?"));
		else
			printf("agent %s revoked (%.0f connection(s) closed)\n", jstr(reply, "agent_id", "?"),
			       jnum(reply, "closed", 0));
	} else if (is_incidents) {
		print_incidents(reply);
	} else if (suppress_is_cmd(cmd)) {
		suppress_print(cmd, reply);
	} else if (!strcmp(cmd, "help")) {
		print_help(reply);
	} else {
		print_tree(reply, 0);
	}
	cJSON_Delete(reply);
done:
	cJSON_Delete(req);
	if (fflush(stdout) && ex == EX_OK) {
		fprintf(stderr, "%s: writing output: %s\n", prog, strerror(errno));
		ex = EX_FAILED;
	}
	return ex;
}
