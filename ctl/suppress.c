/*
 * immunectl's tuning commands: suppress a rule (for an executable, a parent,
 * a command line fragment, for a while), lift a suppression, list them.
 */
#include "suppress.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define EX_USAGE 2

bool suppress_is_cmd(const char *cmd)
{
	return !strcmp(cmd, "suppress") || !strcmp(cmd, "unsuppress") || !strcmp(cmd, "suppressions");
}

static int bad(const char *fmt, const char *arg)
{
	fprintf(stderr, "immunectl: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, " (try --help)\n");
	return EX_USAGE;
}

/* "90", "90s", "30m", "2h", "7d" → seconds; -1 if malformed or out of range. */
static long long parse_duration(const char *s)
{
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno || end == s || v <= 0)
		return -1;
	long long mul = !*end || !strcmp(end, "s") ? 1 : !strcmp(end, "m") ? 60 : !strcmp(end, "h") ? 3600 :
							       !strcmp(end, "d") ? 86400 : 0;
	if (!mul || v > 10LL * 365 * 86400 / mul)
		return -1;
	return v * mul;
}

int suppress_request(int npos, const char *const *pos, const struct suppress_args *a, cJSON *req)
{
	const char *cmd = pos[0];
	bool filters = a->exe || a->parent || a->cmdline_contains || a->for_;
	if (!strcmp(cmd, "suppressions")) {
		if (npos != 1 || filters)
			return bad("%s takes no arguments", cmd);
		return 0;
	}
	if (!strcmp(cmd, "unsuppress")) {
		char *end;
		if (npos != 2 || filters)
			return bad("usage: immunectl unsuppress ID%s", "");
		long long id = strtoll(pos[1], &end, 10);
		if (*end || id < 0 || end == pos[1])
			return bad("'%s' is not a suppression id", pos[1]);
		cJSON_AddNumberToObject(req, "suppression", (double)id);
		return 0;
	}
	if (npos != 2)
		return bad("usage: immunectl suppress RULE [--exe P] [--parent P] [--cmdline-contains S] [--for DURATION]%s",
			   "");
	cJSON_AddStringToObject(req, "rule", pos[1]);
	if (a->exe)
		cJSON_AddStringToObject(req, "exe", a->exe);
	if (a->parent)
		cJSON_AddStringToObject(req, "parent", a->parent);
	if (a->cmdline_contains)
		cJSON_AddStringToObject(req, "cmdline_contains", a->cmdline_contains);
	if (a->for_) {
		long long s = parse_duration(a->for_);
		if (s < 0)
			return bad("--for '%s': a duration such as 90s, 30m, 2h or 7d (at most ten years)", a->for_);
		cJSON_AddNumberToObject(req, "for_s", (double)s);
	}
	return 0;
}

static const char *str(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static void when(double ns, char *buf, size_t n)
{
	if (ns <= 0) {
		snprintf(buf, n, "never");
		return;
	}
	time_t t = (time_t)(ns / 1e9);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

void suppress_print(const char *cmd, const cJSON *reply)
{
	char buf[64];
	if (!strcmp(cmd, "suppress")) {
		when(cJSON_GetObjectItemCaseSensitive(reply, "expires_ns")->valuedouble, buf, sizeof(buf));
		printf("suppression %.0f in force (expires: %s)\n",
		       cJSON_GetObjectItemCaseSensitive(reply, "suppression")->valuedouble, buf);
		return;
	}
	if (!strcmp(cmd, "unsuppress")) {
		printf("suppression removed\n");
		return;
	}
	const cJSON *it, *arr = cJSON_GetObjectItemCaseSensitive(reply, "suppressions");
	printf("%-5s %-38s %-10s %-20s %s\n", "ID", "RULE", "SUPPRESSED", "EXPIRES", "WHEN");
	cJSON_ArrayForEach(it, arr)
	{
		const cJSON *e = cJSON_GetObjectItemCaseSensitive(it, "expires_ns");
		when(e ? e->valuedouble : 0, buf, sizeof(buf));
		printf("%-5.0f %-38s %-10.0f %-20s", cJSON_GetObjectItemCaseSensitive(it, "id")->valuedouble,
		       str(it, "rule") ? str(it, "rule") : "?",
		       cJSON_GetObjectItemCaseSensitive(it, "suppressed")->valuedouble, buf);
		if (str(it, "exe"))
			printf(" exe=%s", str(it, "exe"));
		if (str(it, "parent"))
			printf(" parent=%s", str(it, "parent"));
		if (str(it, "cmdline_contains"))
			printf(" cmdline contains \"%s\"", str(it, "cmdline_contains"));
		if (!str(it, "exe") && !str(it, "parent") && !str(it, "cmdline_contains"))
			printf(" (every match)");
		printf("\n");
	}
}
