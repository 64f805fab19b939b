/*
 * The protected set: executables that no rule, indicator or fleet verdict may
 * block, because blocking them takes the host down with the attacker (init,
 * the shells, sshd, the package manager, immuned and immunectl), plus what
 * the operator adds. Identity is the file's (st_dev, st_ino), so /bin/sh,
 * /usr/bin/dash and a hard link to it are one entry (Debian's merged /usr).
 */
#ifndef IMMUNE_PROTECTED_H
#define IMMUNE_PROTECTED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct protected_set;

/* The built-in set (paths that do not exist on this host are skipped) plus
 * every shell in /etc/shells and this process's own executable. */
struct protected_set *protected_new(void);
void protected_free(struct protected_set *p);
/* Add an operator's path; -1 with a one-line reason if it cannot be stat'ed. */
int protected_add(struct protected_set *p, const char *path, char *err, size_t n);
/* Add one of the daemon's own files (its config, database, certificates):
 * what says which ("immuned's database"). A path that does not exist yet is
 * kept by name. -1 on out of memory. */
int protected_add_own(struct protected_set *p, const char *path, const char *what);
/* The same for a file of the daemon's database (the file, -wal, -shm,
 * -journal): it holds POSIX locks on them, so their folder counts too. */
int protected_add_own_db(struct protected_set *p, const char *path);
/* Whether PATH names a protected file (by its inode when it exists, else by
 * its literal absolute path). WHY, when not NULL, gets the entry it matched:
 * its path, or for the daemon's own files "what path". */
bool protected_path(const struct protected_set *p, const char *path, const char **why);
/* Whether (st_dev as stat(2) gives it, inode) is protected. */
bool protected_inode(const struct protected_set *p, dev_t dev, uint64_t ino, const char **why);
/*
 * Whether the open hold's mark of PATH (a file; with dir, a folder, whose
 * mark holds the opens of every file in it) would hand the daemon
 * descriptors of its own files: one of them (by inode or name), or the
 * folder of its database. Closing any descriptor of a file drops every
 * POSIX lock the process holds on it (daemon/db.c): one held open of the
 * database by anyone would drop SQLite's locks. WHY gets the entry's label.
 */
bool protected_own_marked(const struct protected_set *p, const char *path, bool dir, const char **why);
/* The binaries, for --check-rules: calls fn(path) for each (not the daemon's own files). */
void protected_each(const struct protected_set *p, void (*fn)(const char *path, void *ctx), void *ctx);

#endif
