/*
 * Executable hashing off the event loop. The event loop only copies a path
 * into a bounded queue; one worker opens the file, checks the cache keyed by
 * (dev, ino, size, mtime) from fstat of the very file it opened, and hashes
 * with OpenSSL only when the binary is new or changed. The cache is touched
 * by the worker alone, so it needs no lock; when full it is cleared, which
 * bounds memory at the cost of re-hashing.
 */
#include "ioc.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define HASH_MAX_BYTES (1ull << 30) /* larger files are not hashed (EFBIG) */

struct job {
	char *path;
	pid_t pid;
	void *cookie;
};

struct centry {
	uint64_t dev, ino, size, mtime_ns;
	uint8_t sha[32];
	bool used;
};

struct ioc_hasher {
	pthread_mutex_t mu;
	pthread_cond_t cv_job, cv_idle;
	pthread_t th;
	bool stop;
	struct job *q;
	unsigned qmax, qhead, qlen;
	struct ioc_hash_result *res;
	unsigned rhead, rlen;
	unsigned busy; /* jobs taken but not yet in res */
	struct centry *cache;
	unsigned ccap, cused;
	struct ioc_hasher_stats st;
};

int ioc_sha256_fd(int fd, uint8_t out[32], uint64_t *bytes)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	static __thread unsigned char buf[1 << 16];
	uint64_t total = 0;
	int rc = 0;
	if (!ctx)
		return -ENOMEM;
	if (!EVP_DigestInit_ex(ctx, EVP_sha256(), NULL)) {
		rc = -EIO;
		goto out;
	}
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			rc = -errno;
			goto out;
		}
		if (!n)
			break;
		total += n;
		if (total > HASH_MAX_BYTES) {
			rc = -EFBIG;
			goto out;
		}
		EVP_DigestUpdate(ctx, buf, n);
	}
	unsigned len = 32;
	if (!EVP_DigestFinal_ex(ctx, out, &len))
		rc = -EIO;
	if (bytes)
		*bytes = total;
out:
	EVP_MD_CTX_free(ctx);
	return rc;
}

static struct centry *cache_slot(struct ioc_hasher *h, const struct stat *st, bool *hit)
{
	uint64_t mt = (uint64_t)st->st_mtim.tv_sec * 1000000000ull + st->st_mtim.tv_nsec;
	uint64_t k = (uint64_t)st->st_dev * 0x9e3779b97f4a7c15ull ^ (uint64_t)st->st_ino * 0xc2b2ae3d27d4eb4full ^
		     (uint64_t)st->st_size ^ mt;
	unsigned i = (unsigned)(k ^ (k >> 29)) & (h->ccap - 1);
	for (;;) {
		struct centry *e = &h->cache[i];
		if (!e->used) {
			*hit = false;
			e->dev = st->st_dev;
			e->ino = st->st_ino;
			e->size = st->st_size;
			e->mtime_ns = mt;
			return e;
		}
		if (e->dev == (uint64_t)st->st_dev && e->ino == (uint64_t)st->st_ino &&
		    e->size == (uint64_t)st->st_size && e->mtime_ns == mt) {
			*hit = true;
			return e;
		}
		i = (i + 1) & (h->ccap - 1);
	}
}

static void do_job(struct ioc_hasher *h, struct job *j, struct ioc_hash_result *r)
{
	int fd = -1;
	memset(r, 0, sizeof(*r));
	r->cookie = j->cookie;
	if (j->pid > 0) {
		char p[64];
		snprintf(p, sizeof(p), "/proc/%d/exe", (int)j->pid);
		fd = open(p, O_RDONLY | O_CLOEXEC);
	}
	if (fd < 0)
		fd = open(j->path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		r->err = errno;
		return;
	}
	struct stat st;
	if (fstat(fd, &st)) {
		r->err = errno;
		close(fd);
		return;
	}
	if (!S_ISREG(st.st_mode)) {
		r->err = EINVAL;
		close(fd);
		return;
	}
	r->dev = st.st_dev;
	r->ino = st.st_ino;
	if (h->cused * 2 >= h->ccap) {
		memset(h->cache, 0, h->ccap * sizeof(*h->cache));
		h->cused = 0;
	}
	bool hit;
	struct centry *e = cache_slot(h, &st, &hit);
	if (hit) {
		memcpy(r->sha256, e->sha, 32);
		r->cached = true;
		close(fd);
		return;
	}
	uint64_t bytes = 0;
	int rc = ioc_sha256_fd(fd, r->sha256, &bytes);
	close(fd);
	if (rc) {
		r->err = -rc;
		e->dev = e->ino = 0;
		return;
	}
	memcpy(e->sha, r->sha256, 32);
	e->used = true;
	h->cused++;
	pthread_mutex_lock(&h->mu);
	h->st.hashed++;
	h->st.bytes += bytes;
	pthread_mutex_unlock(&h->mu);
}

static void *worker(void *arg)
{
	struct ioc_hasher *h = arg;
	pthread_mutex_lock(&h->mu);
	for (;;) {
		while (!h->qlen && !h->stop)
			pthread_cond_wait(&h->cv_job, &h->mu);
		if (h->stop)
			break;
		struct job j = h->q[h->qhead];
		h->qhead = (h->qhead + 1) % h->qmax;
		h->qlen--;
		h->busy++;
		pthread_mutex_unlock(&h->mu);

		struct ioc_hash_result r;
		do_job(h, &j, &r);
		free(j.path);

		pthread_mutex_lock(&h->mu);
		if (r.cached)
			h->st.cache_hits++;
		if (r.err)
			h->st.errors++;
		h->res[(h->rhead + h->rlen) % h->qmax] = r;
		h->rlen++;
		h->busy--;
		if (!h->qlen && !h->busy)
			pthread_cond_broadcast(&h->cv_idle);
	}
	pthread_mutex_unlock(&h->mu);
	return NULL;
}

struct ioc_hasher *ioc_hasher_new(unsigned queue_max, unsigned cache_max)
{
	struct ioc_hasher *h = calloc(1, sizeof(*h));
	if (!h)
		return NULL;
	h->qmax = queue_max ? queue_max : 4096;
	h->ccap = 64;
	while (h->ccap < (cache_max ? cache_max : 16384) * 2)
		h->ccap *= 2;
	h->q = calloc(h->qmax, sizeof(*h->q));
	h->res = calloc(h->qmax, sizeof(*h->res));
	h->cache = calloc(h->ccap, sizeof(*h->cache));
	if (!h->q || !h->res || !h->cache)
		goto fail;
	pthread_mutex_init(&h->mu, NULL);
	pthread_cond_init(&h->cv_job, NULL);
	pthread_cond_init(&h->cv_idle, NULL);
	if (pthread_create(&h->th, NULL, worker, h)) {
		pthread_mutex_destroy(&h->mu);
		pthread_cond_destroy(&h->cv_job);
		pthread_cond_destroy(&h->cv_idle);
		goto fail;
	}
	return h;
fail:
	free(h->q);
	free(h->res);
	free(h->cache);
	free(h);
	return NULL;
}

void ioc_hasher_free(struct ioc_hasher *h)
{
	if (!h)
		return;
	pthread_mutex_lock(&h->mu);
	h->stop = true;
	pthread_cond_broadcast(&h->cv_job);
	pthread_mutex_unlock(&h->mu);
	pthread_join(h->th, NULL);
	for (unsigned i = 0; i < h->qlen; i++)
		free(h->q[(h->qhead + i) % h->qmax].path);
	pthread_mutex_destroy(&h->mu);
	pthread_cond_destroy(&h->cv_job);
	pthread_cond_destroy(&h->cv_idle);
	free(h->q);
	free(h->res);
	free(h->cache);
	free(h);
}

bool ioc_hasher_submit(struct ioc_hasher *h, const char *path, pid_t pid, void *cookie)
{
	char *p = strdup(path);
	if (!p)
		return false;
	pthread_mutex_lock(&h->mu);
	/* results share the bound: jobs in flight plus results not yet polled */
	if (h->qlen + h->busy + h->rlen >= h->qmax) {
		h->st.dropped++;
		pthread_mutex_unlock(&h->mu);
		free(p);
		return false;
	}
	h->q[(h->qhead + h->qlen) % h->qmax] = (struct job){ p, pid, cookie };
	h->qlen++;
	h->st.submitted++;
	pthread_cond_signal(&h->cv_job);
	pthread_mutex_unlock(&h->mu);
	return true;
}

int ioc_hasher_poll(struct ioc_hasher *h, struct ioc_hash_result *out, int max)
{
	int n = 0;
	pthread_mutex_lock(&h->mu);
	while (h->rlen && n < max) {
		out[n++] = h->res[h->rhead];
		h->rhead = (h->rhead + 1) % h->qmax;
		h->rlen--;
	}
	pthread_mutex_unlock(&h->mu);
	return n;
}

void ioc_hasher_wait(struct ioc_hasher *h)
{
	pthread_mutex_lock(&h->mu);
	while (h->qlen || h->busy)
		pthread_cond_wait(&h->cv_idle, &h->mu);
	pthread_mutex_unlock(&h->mu);
}

void ioc_hasher_get_stats(struct ioc_hasher *h, struct ioc_hasher_stats *st)
{
	pthread_mutex_lock(&h->mu);
	*st = h->st;
	pthread_mutex_unlock(&h->mu);
}
