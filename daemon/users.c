#include "users.h"

#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define USERS_SLOTS 256

struct user_slot {
	uint32_t uid;
	time_t looked_up;
	char name[64];
	char used;
};

struct users {
	struct user_slot slot[USERS_SLOTS];
};

struct users *users_new(void)
{
	return calloc(1, sizeof(struct users));
}

void users_free(struct users *u)
{
	free(u);
}

const char *users_cached(struct users *u, uint32_t uid)
{
	struct user_slot *s = &u->slot[(uid * 2654435761u) >> 24];
	/* an entry is trusted for a minute: accounts do change */
	return s->used && s->uid == uid && time(NULL) - s->looked_up < 60 ? s->name : NULL;
}

const char *users_name(struct users *u, uint32_t uid)
{
	struct user_slot *s = &u->slot[(uid * 2654435761u) >> 24];
	time_t now = time(NULL);
	const char *c = users_cached(u, uid);

	if (c)
		return c;
	struct passwd pw, *res = NULL;
	char buf[4096];
	s->uid = uid;
	s->used = 1;
	s->looked_up = now;
	s->name[0] = 0;
	if (getpwuid_r(uid, &pw, buf, sizeof(buf), &res) == 0 && res)
		snprintf(s->name, sizeof(s->name), "%s", res->pw_name);
	return s->name;
}
