#include "gate_fleet.h"
#include "detect.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

bool gate_fleet_is_hash(const char *t)
{
	if (strncmp(t, "sha256:", 7) != 0 || strlen(t) != 7 + 64)
		return false;
	for (const char *p = t + 7; *p; p++)
		if (!isxdigit((unsigned char)*p))
			return false;
	return true;
}

int gate_fleet_apply(struct detect *d, const cJSON *verdicts, uint64_t version, int *applied, char *err, size_t n)
{
	const cJSON *v;
	size_t cap = 64, len = 0;
	char *text = malloc(cap);
	*applied = 0;
	if (!text) {
		snprintf(err, n, "out of memory");
		return -1;
	}
	len = (size_t)snprintf(text, cap, "action: block\n");
	cJSON_ArrayForEach(v, verdicts)
	{
		const cJSON *k = cJSON_GetObjectItemCaseSensitive(v, "kind"), *t = cJSON_GetObjectItemCaseSensitive(v, "target");
		const cJSON *a = cJSON_GetObjectItemCaseSensitive(v, "action");
		if (!cJSON_IsString(k) || !cJSON_IsString(t) || !cJSON_IsString(a) || strcmp(k->valuestring, "exec") ||
		    !gate_fleet_is_hash(t->valuestring) || strcmp(a->valuestring, "deny"))
			continue;
		if (len + 80 > cap) {
			char *nt = realloc(text, cap *= 2);
			if (!nt) {
				free(text);
				snprintf(err, n, "out of memory");
				return -1;
			}
			text = nt;
		}
		len += (size_t)snprintf(text + len, cap - len, "%s\n", t->valuestring);
		(*applied)++;
	}
	int rc = detect_set_fleet_ioc(d, "fleet-verdicts", version, text, err, n);
	free(text);
	return rc;
}
