/*
 * Fleet verdicts on executables by content: a Hive verdict of kind "exec"
 * whose target is "sha256:<64 hex>" (with "path" beside it for people) is
 * not an inode on any host; each agent's gate applies it as a sha256 block,
 * so the file never runs there under any name, first exec included.
 */
#ifndef IMMUNE_GATE_FLEET_H
#define IMMUNE_GATE_FLEET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <cjson/cJSON.h>

struct detect;

/* Whether target is "sha256:" and 64 hex digits. */
bool gate_fleet_is_hash(const char *target);
/* Put the set's exec hash verdicts (deny only) in force as the fleet IOC set
 * "fleet-verdicts", replacing the previous one; 0, or -1 with the reason. */
int gate_fleet_apply(struct detect *d, const cJSON *verdicts, uint64_t version, int *applied, char *err, size_t n);

#endif
