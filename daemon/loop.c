/* SPDX-License-Identifier: MIT */
/*
 * The daemon's main loop: libevent, the devices' progress() while they
 * have work, and when to poll rather than sleep (daemon/loop.h).  Every
 * decision between polling and sleeping the daemon makes is here; a
 * device only says whether it has work (drivers/driver.h).
 */
#include "config.h"

#include <errno.h>
#include <sched.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "daemon/daemon.h"
#include "daemon/log.h"
#include "daemon/loop.h"
#include "proto/spin.h"

/*
 * While devices are busy, libevent (control requests, doorbells of
 * sleeping queues, timers) is polled at most every LOOP_EV_POLL_NS: an
 * epoll_wait per pass was a syscall per pass that the ring path does not
 * need, and a control request or a wake-up waits at most this long more.
 * For a while after a control request (loop_control_served) it is polled
 * every pass, and with no device busy the loop polls instead of
 * blocking: the next request of a burst is served as soon as it lands.
 */
#define LOOP_EV_POLL_NS 20000

static struct {
	struct rb_daemon *d;
	struct rb_device *busy;		/* the busy set, by busy_next */
	uint64_t now;			/* of this pass */
	uint64_t ctl_until;		/* poll libevent every pass until then */
	uint64_t ctl_last;		/* when the last request was served */
	bool ctl_polled;		/* polling for the next request */
	int ctl_kind;			/* the request type served last */
	struct rb_spin_policy ctl_spin[RB_SPIN_KINDS];	/* whether polling pays */
	long ncpus;			/* online, looked up once */
} loop;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void rb_device_wake(struct rb_device *dev)
{
	if (dev->busy)
		return;
	dev->busy = true;
	dev->busy_next = loop.busy;
	loop.busy = dev;
}

bool loop_busy(void)
{
	return loop.busy != NULL;
}

bool loop_pass(void)
{
	struct rb_device **p = &loop.busy;
	bool any = false;

	loop.now = now_ns();
	while (*p) {
		struct rb_device *dev = *p;
		unsigned int r = dev->ops.progress(dev, loop.now, dev->poll_idle_ns);

		any |= r & RB_PROGRESS_DID_WORK;
		/* A wake during progress() found it busy: nothing was added. */
		if (r & RB_PROGRESS_BUSY) {
			p = &dev->busy_next;
		} else {
			*p = dev->busy_next;
			dev->busy = false;
			dev->busy_next = NULL;
		}
	}
	return any;
}

/*
 * After a request, poll for the next for up to control_spin_us, or sleep:
 * whichever has brought the next request sooner lately, learnt for each
 * type of request just served (proto/spin.h): what a client does after a
 * modify (the next verb) is not what it does after a destroy (unmap).
 * On a busy machine a polling daemon holds the core its client needs, so
 * the gaps grow and it goes back to sleeping.  No sched_yield while
 * polling: on a busy core it gives a time slice away.  On one CPU the
 * client answers only once we stop: no polling.
 */
void loop_control_arrived(struct rb_daemon *d)
{
	uint64_t max = (uint64_t)d->cfg.control_spin_us * 1000;

	if (loop.ctl_last && max)
		rb_spin_record(&loop.ctl_spin[loop.ctl_kind], loop.ctl_polled,
			       now_ns() - loop.ctl_last, 4 * max);
	loop.ctl_last = 0;
}

void loop_control_served(struct rb_daemon *d, int kind)
{
	uint64_t max = (uint64_t)d->cfg.control_spin_us * 1000;

	if (loop.ncpus == 0)
		loop.ncpus = sysconf(_SC_NPROCESSORS_ONLN);
	if (loop.ncpus < 2)
		max = 0;
	loop.ctl_kind = kind > 0 && kind < RB_SPIN_KINDS ? kind : 0;
	loop.ctl_last = now_ns();
	loop.ctl_polled = rb_spin_choose(&loop.ctl_spin[loop.ctl_kind], max);
	loop.ctl_until = loop.ctl_polled ? loop.ctl_last + max : 0;
}

void loop_drain(int fd)
{
	uint64_t v;

	/* A failed read only means nothing was rung. */
	if (read(fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		log_debug("doorbell read: %s", strerror(errno));
}

int loop_run(struct rb_daemon *d)
{
	struct event_base *base = d->base;
	uint64_t last_ev = 0;

	for (;;) {
		int ret = 0;

		if (!loop.busy) {
			loop.now = now_ns();
			if (loop.now < loop.ctl_until)
				ret = event_base_loop(base, EVLOOP_NONBLOCK);
			else
				ret = event_base_loop(base, EVLOOP_ONCE);
			last_ev = now_ns();
		} else {
			if (loop.now - last_ev >= LOOP_EV_POLL_NS || loop.now < loop.ctl_until) {
				ret = event_base_loop(base, EVLOOP_NONBLOCK);
				last_ev = loop.now;
			}
			/*
			 * Nothing done this pass: let a client that shares our
			 * core run.  Spinning on a core a client needs only
			 * delays the client.  Not while polling for a control
			 * request: that choice was measured
			 * (loop_control_served), and a yield is a syscall per
			 * pass.
			 */
			if (ret >= 0 && !loop_pass() && loop.now >= loop.ctl_until)
				sched_yield();
		}
		if (ret < 0)
			return -1;
		if (event_base_got_break(base) || event_base_got_exit(base))
			return 0;
	}
}

int loop_init(struct rb_daemon *d)
{
	loop.d = d;
	loop.busy = NULL;
	return 0;
}
