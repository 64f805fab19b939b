/* Sigma names, glob and CIDR helpers shared by loader and matcher. */
#include "sigma.h"
#include "verdict_target.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *const ls_names[SIG_LS_MAX] = {
	"process_creation", "file_event", "file_access", "network_connection",
};

static const char *const field_names[SIG_F_MAX] = {
	"Image",	    "CommandLine", "ParentImage",	"ParentCommandLine", "CurrentDirectory",
	"User",		    "LogonId",	   "ProcessId",		"ParentProcessId",   "TargetFilename",
	"DestinationIp", "DestinationPort", "DestinationIsIpv6", "Initiated",
};

const char *sig_logsource_name(enum sig_logsource ls)
{
	return ls < SIG_LS_MAX ? ls_names[ls] : "?";
}

const char *sig_field_name(enum sig_field f)
{
	return f < SIG_F_MAX ? field_names[f] : "?";
}

const char *imm_action_name(enum imm_rule_action a)
{
	return a == IMM_ACTION_BLOCK ? "block" : a == IMM_ACTION_KILL ? "kill" : "alert";
}

int sig_field_from_name(const char *s)
{
	for (int i = 0; i < SIG_F_MAX; i++)
		if (strcmp(s, field_names[i]) == 0)
			return i;
	for (int i = 0; i < SIG_F_MAX; i++)
		if (strcasecmp(s, field_names[i]) == 0)
			return i;
	return -1;
}

bool sig_field_allowed(enum sig_logsource ls, enum sig_field f)
{
	switch (f) {
	case SIG_F_TARGETFILENAME:
		return ls == SIG_LS_FILE_EVENT || ls == SIG_LS_FILE_ACCESS;
	case SIG_F_DESTINATIONIP:
	case SIG_F_DESTINATIONPORT:
	case SIG_F_DESTINATIONISIPV6:
	case SIG_F_INITIATED:
		return ls == SIG_LS_NETWORK_CONNECTION;
	default:
		/* every event carries its process, from the exec or the process table */
		return f < SIG_F_MAX;
	}
}

/* ------------------------------------------------------------ glob */

/* Iterative glob with backtracking to the last star: linear in practice. */
bool sig_glob(const char *pat, size_t plen, const char *s, size_t slen)
{
	size_t p = 0, i = 0, star_p = (size_t)-1, star_i = 0;

	while (i < slen) {
		if (p < plen && pat[p] == SIG_GLOB_STAR) {
			star_p = ++p;
			star_i = i;
		} else if (p < plen && (pat[p] == SIG_GLOB_ONE || pat[p] == s[i])) {
			p++;
			i++;
		} else if (star_p != (size_t)-1) {
			p = star_p;
			i = ++star_i;
		} else {
			return false;
		}
	}
	while (p < plen && pat[p] == SIG_GLOB_STAR)
		p++;
	return p == plen;
}

/* ------------------------------------------------------------ addresses */

int sig_parse_cidr(const char *s, uint8_t addr[16], int *prefix)
{
	char buf[64];
	const char *slash = strchr(s, '/');
	size_t n = slash ? (size_t)(slash - s) : strlen(s);
	if (n >= sizeof(buf))
		return -1;
	memcpy(buf, s, n);
	buf[n] = 0;
	int fam = net_parse_addr(buf, addr);
	if (fam < 0)
		return -1;
	int max = fam == 4 ? 32 : 128;
	long len = max;
	if (slash) {
		char *end;
		if (!slash[1])
			return -1;
		len = strtol(slash + 1, &end, 10);
		if (*end || len < 0 || len > max)
			return -1;
	}
	*prefix = (int)len + (fam == 4 ? 96 : 0);
	/* clear host bits so equal networks compare equal */
	for (int b = *prefix; b < 128; b++)
		addr[b / 8] &= (uint8_t)~(0x80 >> (b % 8));
	return fam;
}

bool sig_cidr_contains(const uint8_t net[16], int prefix, const uint8_t addr[16])
{
	int full = prefix / 8, rem = prefix % 8;
	if (memcmp(net, addr, full))
		return false;
	if (rem) {
		uint8_t mask = (uint8_t)(0xff << (8 - rem));
		if ((net[full] & mask) != (addr[full] & mask))
			return false;
	}
	return true;
}
