/* The content gate's hashing: an fd handed over, several workers, the verified-inode cache and its notify. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "ioc.h"

static void test_fd_cache_notify(void **s)
{
	(void)s;
	char path[] = "/tmp/immune-hashfd-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "abc", 3), 3);
	struct ioc_hasher *h = ioc_hasher_new_workers(16, 64, 3);
	int efd = eventfd(0, EFD_CLOEXEC);
	ioc_hasher_set_notify(h, efd);
	uint8_t sha[32];
	char hex[65];
	assert_false(ioc_hasher_cached(h, fd, sha)); /* never hashed */
	/* the fd was written to: its offset is at the end, the hasher reads from the start */
	assert_true(ioc_hasher_submit_fd(h, dup(fd), (void *)0x1234));
	struct pollfd p = { .fd = efd, .events = POLLIN };
	assert_int_equal(poll(&p, 1, 5000), 1);
	struct ioc_hash_result r;
	assert_int_equal(ioc_hasher_poll(h, &r, 1), 1);
	assert_ptr_equal(r.cookie, (void *)0x1234);
	assert_int_equal(r.err, 0);
	ioc_hex(r.sha256, 32, hex);
	assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	/* now cached by inode, no queue */
	assert_true(ioc_hasher_cached(h, fd, sha));
	assert_memory_equal(sha, r.sha256, 32);
	/* a change (size, mtime) is not the verified file any more */
	assert_int_equal(write(fd, "d", 1), 1);
	assert_false(ioc_hasher_cached(h, fd, sha));
	ioc_hasher_free(h);
	close(efd);
	close(fd);
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fd_cache_notify),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
