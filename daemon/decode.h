#ifndef IMMUNE_DECODE_H
#define IMMUNE_DECODE_H

#include "arena.h"
#include "event.h"

/* Reset ev to empty strings and zeroes. */
void event_clear(struct imm_event *ev);
/* Decode one kernel record (struct imm_* of bpf/immune.h); strings go to a. -EINVAL if malformed. */
int decode_record(const void *data, size_t size, struct imm_event *ev, struct arena *a);

/* argv from NUL-separated args (len bytes), and the command line joined with spaces. */
void decode_args(struct imm_event *ev, const char *args, uint32_t len, struct arena *a);

/* Kernel-internal dev_t → the st_dev encoding of stat(2). */
uint64_t decode_dev(uint64_t kdev);

#endif
