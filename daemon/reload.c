/* The detector swap of a reload: built aside on a thread, swapped on the caller's. */
#include "reload.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

struct build_job {
	struct detect_opts o;
	struct detect *d;
	char err[512];
	bool done;
};

static void *build(void *arg)
{
	struct build_job *j = arg;
	j->d = detect_new(&j->o, j->err, sizeof(j->err));
	__atomic_store_n(&j->done, true, __ATOMIC_RELEASE);
	return NULL;
}

int reload_detector(struct detect **cur, const struct detect_opts *o, void (*pump)(void *ctx), void *ctx, char *err,
		    size_t errlen)
{
	struct build_job j = { .o = *o };
	pthread_t th;
	int rc = pthread_create(&th, NULL, build, &j);
	if (rc) {
		snprintf(err, errlen, "cannot start the loading thread: %s", strerror(rc));
		return -1;
	}
	while (!__atomic_load_n(&j.done, __ATOMIC_ACQUIRE))
		pump(ctx);
	pthread_join(th, NULL);
	if (!j.d) {
		snprintf(err, errlen, "%s", j.err);
		return -1;
	}
	struct detect_stats st;
	detect_get_stats(j.d, &st);
	/* at start a bad IOC line is skipped and counted; a reload must not trade a good set for a damaged one */
	if (st.ioc_malformed) {
		snprintf(err, errlen, "%lu malformed lines in the IOC files (each named above)",
			 (unsigned long)st.ioc_malformed);
		detect_free(j.d);
		return -1;
	}
	detect_finish(*cur);
	if (detect_adopt(j.d, *cur, err, errlen)) {
		detect_free(j.d);
		return -1;
	}
	detect_free(*cur);
	*cur = j.d;
	return 0;
}
