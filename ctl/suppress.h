/* immunectl suppress | unsuppress | suppressions: requests and their printing. */
#ifndef IMMUNE_CTL_SUPPRESS_H
#define IMMUNE_CTL_SUPPRESS_H

#include <stdbool.h>
#include <cjson/cJSON.h>

struct suppress_args {
	const char *exe, *parent, *cmdline_contains, *for_;
};

/* Is cmd one of these commands? */
bool suppress_is_cmd(const char *cmd);
/* Fill req for pos[0..npos) (pos[0] the command); 0, or 2 (bad arguments, said on stderr). */
int suppress_request(int npos, const char *const *pos, const struct suppress_args *a, cJSON *req);
/* Print a successful reply for a human. */
void suppress_print(const char *cmd, const cJSON *reply);

#endif
