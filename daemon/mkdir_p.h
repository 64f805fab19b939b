/* Directories the programs make: in C, with the mode asked for, never system(). */
#ifndef IMMUNE_MKDIR_P_H
#define IMMUNE_MKDIR_P_H

#include <sys/types.h>

/*
 * mkdir -p: every missing component of path is made with exactly mode (not
 * narrowed by the umask: a socket's directory must stay searchable); those
 * already there are left as they are. 0 or -errno.
 */
int mkdir_p(const char *path, mode_t mode);
/* mkdir_p of the directory holding file (nothing when it has none). */
int mkdir_parent(const char *file, mode_t mode);

#endif
