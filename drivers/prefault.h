/* SPDX-License-Identifier: MIT */
/*
 * Touching a region's pages in the background, once, after the daemon
 * has mapped them for a device that copies with the CPU (the soft device;
 * struct rb_device's cpu_copies).  MAP_POPULATE fills the daemon's page
 * tables at registration, but where a hypervisor shadows the guest's page
 * tables (a paravirtual guest such as the VMs this project is measured
 * on), it builds its own entry for a page only when the page is first
 * touched: about 5 us a page there, so the first 8 MiB WRITE into a new
 * region took 20 ms, fifty times a later one.  A thread of the daemon
 * reads one byte of each page ahead of the engine instead, off the
 * serving thread (docs/performance.md, "The first copy of a region"),
 * or, for a small region, on that thread right away (prefault_now).
 * Elsewhere it costs a cache miss a page, which the first copy would
 * have paid.  Drivers' common code; the daemon's mr.c calls it.
 */
#ifndef RB_DRIVERS_PREFAULT_H
#define RB_DRIVERS_PREFAULT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The eventfd (prefault_fd), at start; the thread comes with the first
 * job.  0 or -errno: then prefault_start refuses every job. */
int prefault_init(void);

/*
 * Queue [p, p + len) (page-aligned, mapped readable) to be touched.  The
 * mapping must stay until prefault_stop(p).  0, or -errno (nothing
 * queued: the region works as before, its first copy slower).
 */
int prefault_start(const void *p, size_t len);

/*
 * Touch [p, p + len) here and now: for a small region, where handing it
 * to the thread and waking the loop for its end cost more than the
 * touches (counted as done, never pending).
 */
void prefault_now(const void *p, size_t len);

/*
 * Forget p's job: when this returns, the thread no longer touches it and
 * never will, so the mapping may go.  Waits at most for the chunk being
 * touched.  Nothing queued for p: returns at once.
 */
void prefault_stop(const void *p);

/* Is a job for p queued, its pages not all touched yet? */
bool prefault_queued(const void *p);

/*
 * An eventfd (non-blocking) that a job's end makes readable, for the
 * serving thread's loop; -1 without prefault_init.  The
 * thread ends jobs in the order they were queued.
 */
int prefault_fd(void);

/* Bytes queued and not yet touched, and touched, since start. */
void prefault_counts(uint64_t *pending, uint64_t *done);

/* Stop the thread, drop what is queued (daemon exit). */
void prefault_fini(void);

#endif /* RB_DRIVERS_PREFAULT_H */
