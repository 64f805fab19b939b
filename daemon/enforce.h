/* Enforcement mode selection and start-up (bpf/enforce.bpf.c). */
#ifndef IMMUNE_ENFORCE_H
#define IMMUNE_ENFORCE_H

#include <stddef.h>

enum enforce_mode { ENFORCE_AUTO = 0, ENFORCE_LSM, ENFORCE_FALLBACK, ENFORCE_OFF };

/* Start what want asks (AUTO: LSM if the kernel runs it, else FALLBACK).
 * 0, or -errno with one line in why. Call before ebpf_load_programs: the
 * sensor must know whether it kills denied execs and opens itself. */
int enforce_start(enum enforce_mode want, const char *pin_dir, char *why, size_t n);
void enforce_stop(void);
enum enforce_mode enforce_mode(void);
const char *enforce_mode_name(enum enforce_mode m);
/* Why the running mode was chosen, for the log and `immunectl status`. */
const char *enforce_reason(void);
int enforce_parse_mode(const char *s, enum enforce_mode *m);
/* The enforcement programs (their run statistics for the metrics), or NULL when none run. */
struct bpf_object *enforce_object(void);

#endif
