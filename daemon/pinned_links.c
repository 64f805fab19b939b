/*
 * A directory of pinned links per owner (the enforcement programs, the
 * sensor), each pin named after this daemon's pid, a generation and the
 * program it runs, so that a new daemon can tell its pins from a previous
 * one's and remove those only once its own are in place.
 */
#include "pinned_links.h"
#include "mkdir_p.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/*
 * Unpin every link in dir but keep_prefix's, and wait until the kernel has
 * detached them: it frees a link whose last pin goes in a work queue, a
 * moment later, and until then an old program still runs (an old sensor
 * would still kill the new daemon for opening a blocked file). The link's id
 * goes before it detaches; its program's id goes only after, when the link
 * puts its last reference: that is the one waited for.
 */
static void unpin_except(const char *dir, const char *keep_prefix)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char p[4096];
	uint32_t ids[256];
	int nids = 0;

	if (!d)
		return;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		if (keep_prefix && strncmp(de->d_name, keep_prefix, strlen(keep_prefix)) == 0)
			continue;
		if (snprintf(p, sizeof(p), "%s/%s", dir, de->d_name) >= (int)sizeof(p))
			continue;
		int fd = bpf_obj_get(p);
		if (fd >= 0) {
			struct bpf_link_info info = { 0 };
			uint32_t len = sizeof(info);
			if (nids < 256 && bpf_obj_get_info_by_fd(fd, &info, &len) == 0)
				ids[nids++] = info.prog_id;
			close(fd);
		}
		unlink(p);
	}
	closedir(d);
	for (int i = 0; i < nids; i++) {
		int tries = 0, fd;
		while ((fd = bpf_prog_get_fd_by_id(ids[i])) >= 0 && tries++ < 500) {
			close(fd);
			usleep(2000);
		}
		if (fd >= 0) {
			close(fd);
			fprintf(stderr, "immuned: program %u of a link unpinned from %s still runs after 1 s\n", ids[i],
				dir);
		}
	}
}

void pinned_links_replace(const char *dir, struct bpf_link **links, const char *const *names, int n,
			  const char *what)
{
	static unsigned gen;
	char prefix[64], p[4096];

	mkdir_p(dir, 0700);
	snprintf(prefix, sizeof(prefix), "%d-%u-", getpid(), ++gen);
	for (int i = 0; i < n; i++) {
		if (snprintf(p, sizeof(p), "%s/%s%s", dir, prefix, names[i]) >= (int)sizeof(p) ||
		    bpf_link__pin(links[i], p))
			fprintf(stderr, "immuned: cannot pin %s link %s: %s\n", what, p, strerror(errno));
	}
	unpin_except(dir, prefix);
}

void pinned_links_remove(const char *dir)
{
	unpin_except(dir, NULL);
	rmdir(dir);
}
