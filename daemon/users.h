/* uid → user name, cached: the passwd lookup is too slow for every event. */
#ifndef IMMUNE_USERS_H
#define IMMUNE_USERS_H

#include <stdint.h>

struct users;
struct users *users_new(void);
void users_free(struct users *u);
/* "" when the uid has no name; the string lives as long as u. */
const char *users_name(struct users *u, uint32_t uid);
/* The name if known and fresh, else NULL: no lookup (no file opened, no NSS). */
const char *users_cached(struct users *u, uint32_t uid);

#endif
