/* uid → user name, cached: the passwd lookup is too slow for every event. */
#ifndef IMMUNE_USERS_H
#define IMMUNE_USERS_H

#include <stdint.h>

struct users;
struct users *users_new(void);
void users_free(struct users *u);
/* "" when the uid has no name; the string lives as long as u. */
const char *users_name(struct users *u, uint32_t uid);

#endif
