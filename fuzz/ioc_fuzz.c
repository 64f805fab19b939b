/*
 * libFuzzer target: an IOC set in the --ioc file format, as a file or as a
 * set the Hive pushes (ioc_add_text, all or nothing). Loads it, builds the
 * Bloom filter and looks up one value of each kind.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "ioc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	memcpy(text, data, size);
	text[size] = 0;
	struct ioc_set *s = ioc_new(0);
	char err[256];
	ioc_add_text(s, text, "hive-fuzz", err, sizeof(err));
	/* line by line, as a file is read: malformed lines skipped, the rest kept */
	enum imm_rule_action act = IMM_ACTION_ALERT;
	unsigned lineno = 0;
	for (char *p = text, *nl; p; p = nl ? nl + 1 : NULL) {
		nl = strchr(p, '\n');
		if (nl)
			*nl = 0;
		ioc_add_line(s, p, "fuzz", ++lineno, &act, err, sizeof(err));
	}
	if (ioc_finalize(s) == 0) {
		struct ioc_hit h;
		static const uint8_t sha[32] = { 0xba, 0x78, 0x16, 0xbf };
		ioc_match_sha256(s, sha, &h);
		ioc_match_path(s, "/tmp/x", &h);
		ioc_match_ip(s, "10.1.2.3", &h);
		ioc_match_ip(s, "2001:db8::1", &h);
	}
	ioc_free(s);
	free(text);
	return 0;
}
