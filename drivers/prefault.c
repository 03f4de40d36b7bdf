/* SPDX-License-Identifier: MIT */
/*
 * The prefault thread (prefault.h says why).  One thread, started at the
 * first job, takes the queue's jobs in order and reads one byte of each
 * page, PREFAULT_CHUNK bytes at a time.  It holds no lock while it
 * touches: the job being touched is marked, and prefault_stop waits for
 * that chunk to end rather than for a lock the thread could take again
 * first.  The thread touches only mappings the daemon made for a region
 * (memfds sealed against shrinking: a read never faults with SIGBUS) and
 * never writes.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "daemon/log.h"
#include "drivers/driver.h"
#include "drivers/prefault.h"

/* Touched between two looks at the queue: 64 pages, about 0.3 ms where
 * a page costs 5 us, how long a prefault_stop waits at most. */
#define PREFAULT_CHUNK	(256u * 1024)

struct pf_job {
	const volatile uint8_t *p;
	size_t len, done;
	bool dropped;			/* unlinked by prefault_stop while touched */
	struct pf_job *next;
};

static struct {
	pthread_mutex_t lock;
	pthread_cond_t work;		/* a job queued, or stop */
	pthread_cond_t idle;		/* the chunk being touched ended */
	pthread_t thread;
	bool started, stop;
	int efd;			/* a job ended: written by the thread */
	struct pf_job *head;
	struct pf_job *busy;		/* being touched, lock not held */
	uint64_t pending, done;
} pf = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.work = PTHREAD_COND_INITIALIZER,
	.idle = PTHREAD_COND_INITIALIZER,
	.efd = -1,
};

static void pf_unlink(struct pf_job *j)
{
	struct pf_job **jp = &pf.head;

	while (*jp && *jp != j)
		jp = &(*jp)->next;
	if (*jp)
		*jp = j->next;
}

/* The queued job for p, or NULL; the lock held. */
static struct pf_job *pf_find(const void *p)
{
	struct pf_job *j;

	for (j = pf.head; j && (const void *)j->p != p; j = j->next)
		;
	return j;
}

/* One byte of each page of [p, p + len): a read, never a write. */
static void pf_touch(const volatile uint8_t *p, size_t len)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);

	for (size_t o = 0; o < len; o += page)
		(void)p[o];
}

static void *pf_thread(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&pf.lock);
	for (;;) {
		struct pf_job *j;
		size_t from, n;

		while (!pf.head && !pf.stop)
			pthread_cond_wait(&pf.work, &pf.lock);
		if (pf.stop)
			break;
		j = pf.head;
		from = j->done;
		n = j->len - from < PREFAULT_CHUNK ? j->len - from : PREFAULT_CHUNK;
		pf.busy = j;
		pthread_mutex_unlock(&pf.lock);
		pf_touch(j->p + from, n);
		pthread_mutex_lock(&pf.lock);
		pf.busy = NULL;
		pf.done += n;
		pf.pending -= n;
		j->done += n;
		if (j->dropped || j->done == j->len) {
			if (!j->dropped) {
				uint64_t one = 1;

				pf_unlink(j);
				/* Full (never: 2^64 - 2 ends unread) is no matter. */
				(void)!write(pf.efd, &one, sizeof(one));
			} else {
				pf.pending -= j->len - j->done;
			}
			free(j);
		}
		pthread_cond_broadcast(&pf.idle);
	}
	pthread_mutex_unlock(&pf.lock);
	return NULL;
}

/* The thread runs where the daemon may, not on the one core the engine
 * may be holding when it is started (rb_daemon_cpu_mask). */
static int pf_start(void)
{
	pthread_attr_t attr;
	cpu_set_t mask;
	int ret;

	ret = pthread_attr_init(&attr);
	if (ret)
		return -ret;
	rb_daemon_cpu_mask(&mask);
	if (CPU_COUNT(&mask))
		(void)pthread_attr_setaffinity_np(&attr, sizeof(mask), &mask);
	ret = -pthread_create(&pf.thread, &attr, pf_thread, NULL);
	pthread_attr_destroy(&attr);
	return ret;
}

void prefault_now(const void *p, size_t len)
{
	pf_touch(p, len);
	pthread_mutex_lock(&pf.lock);
	pf.done += len;
	pthread_mutex_unlock(&pf.lock);
}

int prefault_init(void)
{
	pf.efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	return pf.efd < 0 ? -errno : 0;
}

int prefault_start(const void *p, size_t len)
{
	struct pf_job *j, **tail;
	int ret = 0;

	if (!len)
		return 0;
	j = calloc(1, sizeof(*j));
	if (!j)
		return -ENOMEM;
	j->p = p;
	j->len = len;
	pthread_mutex_lock(&pf.lock);
	if (pf.efd < 0) {
		pthread_mutex_unlock(&pf.lock);
		free(j);
		return -ENOTCONN;
	}
	if (!pf.started) {
		sigset_t all, old;

		/* Signals stay the serving thread's (libevent's handlers). */
		sigfillset(&all);
		pthread_sigmask(SIG_SETMASK, &all, &old);
		ret = pf_start();
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		if (ret < 0) {
			pthread_mutex_unlock(&pf.lock);
			free(j);
			log_warn("prefault: no thread (%s): regions are touched by their first copy",
				 strerror(-ret));
			return ret;
		}
		pthread_setname_np(pf.thread, "rdmab-prefault");
		pf.started = true;
	}
	for (tail = &pf.head; *tail; tail = &(*tail)->next)
		;
	*tail = j;
	pf.pending += len;
	pthread_cond_signal(&pf.work);
	pthread_mutex_unlock(&pf.lock);
	return 0;
}

void prefault_stop(const void *p)
{
	struct pf_job *j;

	pthread_mutex_lock(&pf.lock);
	j = pf_find(p);
	if (j) {
		pf_unlink(j);
		if (pf.busy == j) {
			/* The thread frees it after its chunk; wait for that. */
			j->dropped = true;
			while (pf.busy == j)
				pthread_cond_wait(&pf.idle, &pf.lock);
		} else {
			pf.pending -= j->len - j->done;
			free(j);
		}
	}
	pthread_mutex_unlock(&pf.lock);
}

bool prefault_queued(const void *p)
{
	bool queued;

	pthread_mutex_lock(&pf.lock);
	queued = pf_find(p) != NULL;
	pthread_mutex_unlock(&pf.lock);
	return queued;
}

int prefault_fd(void)
{
	return pf.efd;
}

void prefault_counts(uint64_t *pending, uint64_t *done)
{
	pthread_mutex_lock(&pf.lock);
	*pending = pf.pending;
	*done = pf.done;
	pthread_mutex_unlock(&pf.lock);
}

void prefault_fini(void)
{
	pthread_mutex_lock(&pf.lock);
	pf.stop = true;
	pthread_cond_signal(&pf.work);
	pthread_mutex_unlock(&pf.lock);
	if (pf.started)
		pthread_join(pf.thread, NULL);
	pthread_mutex_lock(&pf.lock);
	while (pf.head) {
		struct pf_job *j = pf.head;

		pf.head = j->next;
		free(j);
	}
	pf.pending = 0;
	if (pf.efd >= 0)
		close(pf.efd);
	pf.efd = -1;
	pf.started = false;
	pf.stop = false;
	pthread_mutex_unlock(&pf.lock);
}
