/* Links pinned in a directory of bpffs, so that their programs stay attached
 * when the daemon stops, crashes or restarts. */
#ifndef IMMUNE_PINNED_LINKS_H
#define IMMUNE_PINNED_LINKS_H

struct bpf_link;

/* Pin links[i] as dir/<pid>-<generation>-<names[i]>, then remove every other
 * pin in dir: the new links are attached before the old ones go, so no
 * moment is left without them. what names them in an error line. */
void pinned_links_replace(const char *dir, struct bpf_link **links, const char *const *names, int n,
			  const char *what);
/* Remove every pin in dir (and dir): their programs detach unless held. */
void pinned_links_remove(const char *dir);

#endif
