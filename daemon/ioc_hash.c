/*
 * Executable hashing off the event loop. The event loop only copies a path
 * (or hands over an open fd, the exec hold's) into a bounded queue; a worker
 * opens the file, checks the cache keyed by (dev, ino, size, mtime) from
 * fstat of the very file it opened, and hashes with OpenSSL only when the
 * binary is new or changed. The cache is shared by the workers and the
 * caller's synchronous lookup under the queue's lock (a probe is cheap, the
 * hash is done outside it); when full it is cleared, which bounds memory at
 * the cost of re-hashing.
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
	int fd; /* owned; -1: open path (or /proc/<pid>/exe) */
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
	pthread_t th[IOC_HASHER_MAX_WORKERS];
	unsigned nworkers;
	int notify_fd; /* an eventfd told of every result; -1 none */
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

static unsigned cache_home(const struct ioc_hasher *h, const struct stat *st, uint64_t mt)
{
	uint64_t k = (uint64_t)st->st_dev * 0x9e3779b97f4a7c15ull ^ (uint64_t)st->st_ino * 0xc2b2ae3d27d4eb4full ^
		     (uint64_t)st->st_size ^ mt;
	return (unsigned)(k ^ (k >> 29)) & (h->ccap - 1);
}

static uint64_t mtime_ns(const struct stat *st)
{
	return (uint64_t)st->st_mtim.tv_sec * 1000000000ull + st->st_mtim.tv_nsec;
}

/* Under h->mu. */
static bool cache_find(struct ioc_hasher *h, const struct stat *st, uint8_t sha[32])
{
	uint64_t mt = mtime_ns(st);
	for (unsigned i = cache_home(h, st, mt);; i = (i + 1) & (h->ccap - 1)) {
		const struct centry *e = &h->cache[i];
		if (!e->used)
			return false;
		if (e->dev == (uint64_t)st->st_dev && e->ino == (uint64_t)st->st_ino &&
		    e->size == (uint64_t)st->st_size && e->mtime_ns == mt) {
			memcpy(sha, e->sha, 32);
			return true;
		}
	}
}

/* Under h->mu. */
static void cache_put(struct ioc_hasher *h, const struct stat *st, const uint8_t sha[32])
{
	uint8_t old[32];
	if (cache_find(h, st, old))
		return;
	if (h->cused * 2 >= h->ccap) {
		memset(h->cache, 0, h->ccap * sizeof(*h->cache));
		h->cused = 0;
	}
	uint64_t mt = mtime_ns(st);
	unsigned i = cache_home(h, st, mt);
	while (h->cache[i].used)
		i = (i + 1) & (h->ccap - 1);
	h->cache[i] = (struct centry){ .dev = st->st_dev, .ino = st->st_ino, .size = st->st_size, .mtime_ns = mt,
				       .used = true };
	memcpy(h->cache[i].sha, sha, 32);
	h->cused++;
}

static void do_job(struct ioc_hasher *h, struct job *j, struct ioc_hash_result *r)
{
	int fd = j->fd;
	memset(r, 0, sizeof(*r));
	r->cookie = j->cookie;
	if (fd < 0 && j->pid > 0) {
		char p[64];
		snprintf(p, sizeof(p), "/proc/%d/exe", (int)j->pid);
		fd = open(p, O_RDONLY | O_CLOEXEC);
	}
	if (fd < 0 && j->path)
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
	pthread_mutex_lock(&h->mu);
	bool hit = cache_find(h, &st, r->sha256);
	pthread_mutex_unlock(&h->mu);
	if (hit) {
		r->cached = true;
		close(fd);
		return;
	}
	uint64_t bytes = 0;
	/* an fd handed over may have been read from: hash from the start */
	int rc = lseek(fd, 0, SEEK_SET) < 0 ? -errno : ioc_sha256_fd(fd, r->sha256, &bytes);
	close(fd);
	if (rc) {
		r->err = -rc;
		return;
	}
	pthread_mutex_lock(&h->mu);
	cache_put(h, &st, r->sha256);
	h->st.hashed++;
	h->st.bytes += bytes;
	pthread_mutex_unlock(&h->mu);
}

bool ioc_hasher_cached(struct ioc_hasher *h, int fd, uint8_t sha[32])
{
	struct stat st;
	return fstat(fd, &st) == 0 && ioc_hasher_cached_st(h, &st, sha);
}

bool ioc_hasher_cached_st(struct ioc_hasher *h, const struct stat *st, uint8_t sha[32])
{
	if (!S_ISREG(st->st_mode))
		return false;
	pthread_mutex_lock(&h->mu);
	bool hit = cache_find(h, st, sha);
	if (hit)
		h->st.cache_hits++;
	pthread_mutex_unlock(&h->mu);
	return hit;
}

void ioc_hasher_set_notify(struct ioc_hasher *h, int fd)
{
	pthread_mutex_lock(&h->mu);
	h->notify_fd = fd;
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
		free(j.path); /* and do_job closed j.fd */

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
		if (h->notify_fd >= 0) {
			uint64_t one = 1;
			if (write(h->notify_fd, &one, sizeof(one)) < 0) {
				/* a full eventfd counter already wakes the reader */
			}
		}
	}
	pthread_mutex_unlock(&h->mu);
	return NULL;
}

struct ioc_hasher *ioc_hasher_new(unsigned queue_max, unsigned cache_max)
{
	return ioc_hasher_new_workers(queue_max, cache_max, 1);
}

struct ioc_hasher *ioc_hasher_new_workers(unsigned queue_max, unsigned cache_max, unsigned workers)
{
	struct ioc_hasher *h = calloc(1, sizeof(*h));
	if (!h)
		return NULL;
	h->notify_fd = -1;
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
	if (workers < 1)
		workers = 1;
	if (workers > IOC_HASHER_MAX_WORKERS)
		workers = IOC_HASHER_MAX_WORKERS;
	for (; h->nworkers < workers; h->nworkers++)
		if (pthread_create(&h->th[h->nworkers], NULL, worker, h))
			break;
	if (!h->nworkers) {
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
	for (unsigned i = 0; i < h->nworkers; i++)
		pthread_join(h->th[i], NULL);
	for (unsigned i = 0; i < h->qlen; i++) {
		struct job *j = &h->q[(h->qhead + i) % h->qmax];
		free(j->path);
		if (j->fd >= 0)
			close(j->fd);
	}
	pthread_mutex_destroy(&h->mu);
	pthread_cond_destroy(&h->cv_job);
	pthread_cond_destroy(&h->cv_idle);
	free(h->q);
	free(h->res);
	free(h->cache);
	free(h);
}

static bool submit(struct ioc_hasher *h, struct job j)
{
	pthread_mutex_lock(&h->mu);
	/* results share the bound: jobs in flight plus results not yet polled */
	if (h->qlen + h->busy + h->rlen >= h->qmax) {
		h->st.dropped++;
		pthread_mutex_unlock(&h->mu);
		free(j.path);
		if (j.fd >= 0)
			close(j.fd);
		return false;
	}
	h->q[(h->qhead + h->qlen) % h->qmax] = j;
	h->qlen++;
	h->st.submitted++;
	pthread_cond_signal(&h->cv_job);
	pthread_mutex_unlock(&h->mu);
	return true;
}

bool ioc_hasher_submit(struct ioc_hasher *h, const char *path, pid_t pid, void *cookie)
{
	char *p = strdup(path);
	if (!p)
		return false;
	return submit(h, (struct job){ .fd = -1, .path = p, .pid = pid, .cookie = cookie });
}

bool ioc_hasher_submit_fd(struct ioc_hasher *h, int fd, void *cookie)
{
	return submit(h, (struct job){ .fd = fd, .cookie = cookie });
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
