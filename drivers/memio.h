/* SPDX-License-Identifier: MIT */
/*
 * Client memory reached through /proc/PID/mem (CMA regions), in bounded
 * chunks, by worker processes the daemon waits for at most
 * memory_timeout_ms (rdmabrokerd.conf(5)): such memory may sleep forever
 * (FUSE, NFS, userfaultfd) and must never stall the serving thread.
 * Drivers use rb_mr_read/rb_mr_write (drivers/driver.h).  Drivers' common
 * code (drivers/memio.c says why); the daemon starts it and probes a new
 * region's ends with memio_reach.
 */
#ifndef RB_DRIVERS_MEMIO_H
#define RB_DRIVERS_MEMIO_H

#include <stdint.h>
#include <sys/types.h>

struct rb_daemon;

/* Bytes one worker moves per turn. */
#define MEMIO_CHUNK			(1u << 20)
#define RB_MEMIO_DEFAULT_TIMEOUT_MS	250

/*
 * Start the process that forks workers: before the daemon maps client
 * memory, so that a worker holds none.  0 or -errno (then it is tried
 * again at the first access).
 */
int memio_init(struct rb_daemon *d);
void memio_fini(void);

/*
 * Read (rbuf) or write (wbuf) len bytes at off of fd, a client's
 * /proc/PID/mem, on behalf of uid.  0, -EFAULT (not mapped there),
 * -ETIMEDOUT (did not answer in time, now or before: uid's CMA access
 * fails until it does), -EAGAIN (too many workers stuck), -EIO.
 */
int memio_rw(uid_t uid, int fd, uint64_t off, void *rbuf, const void *wbuf,
	     uint64_t len);

/*
 * Are the bytes at first and last of fd (a client's /proc/PID/mem)
 * there?  Read through a worker, as memio_rw: 0, or its errors with
 * *where the address that failed.
 */
int memio_reach(uid_t uid, int fd, uint64_t first, uint64_t last, uint64_t *where);

/* Workers abandoned and not yet back. */
unsigned int memio_stuck(void);

#endif /* RB_DRIVERS_MEMIO_H */
