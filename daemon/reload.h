/*
 * Reload without loss: a new detector (rules, IOC files) is built on a
 * thread while the caller keeps draining the kernel's buffers through the one
 * in force, then swapped in between two events. A set that does not load
 * whole is refused and the one in force stays.
 */
#ifndef IMMUNE_RELOAD_H
#define IMMUNE_RELOAD_H

#include <stddef.h>
#include "detect.h"

/*
 * Build a detector from o while calling pump(ctx) (which should wait for
 * events at most some tens of ms and handle them through *cur), then swap it
 * into *cur: the old one finishes its queued hashes and hands over the
 * Hive's IOC sets and its counts. 0, or -1 with the reason in err and *cur
 * untouched.
 */
int reload_detector(struct detect **cur, const struct detect_opts *o, void (*pump)(void *ctx), void *ctx, char *err,
		    size_t errlen);

#endif
