/* SPDX-License-Identifier: MIT */
/*
 * The daemon's main loop: libevent, the devices' progress() while they
 * have work, and when to poll rather than sleep (daemon/loop.h).  Every
 * decision between polling and sleeping the daemon makes is here; a
 * device only says whether it has work (drivers/driver.h).
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <sched.h>
#include <stdint.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "daemon/daemon.h"
#include "daemon/log.h"
#include "daemon/loop.h"
#include "daemon/objects.h"
#include "proto/spin.h"

/*
 * While devices are busy, libevent (control requests, doorbells of
 * sleeping queues, timers) is polled at most every LOOP_EV_POLL_NS: an
 * epoll_wait per pass was a syscall per pass that the ring path does not
 * need, and a control request or a wake-up waits at most this long more.
 * For a while after a control request (loop_control_served) it is polled
 * every pass, and with no device busy the loop polls instead of
 * blocking: the next request of a burst is served as soon as it lands.
 * 50 us, not less: where the kernel isolates its page tables without
 * PCID (a VM here), every system call empties the TLB, and a copy after
 * it walks the page tables again: a test program copying 8 MiB with a
 * system call every 1 MiB, about what 20 us is at 50 GB/s, lost 14 % of
 * its speed (docs/performance.md, "Steps and system calls in a stream").
 */
#ifndef LOOP_EV_POLL_NS	/* -D: variants measured */
#define LOOP_EV_POLL_NS 50000
#endif

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
	uint64_t nap_until;		/* empty passes nap, not yield, until then */
	uint64_t nap_window;		/* how long the last late yield set it for */
	bool wire;			/* the last pass: a device with peers on the wire */
	bool slice_short;		/* LOOP_SLICE_NS asked (loop_sched_slice) */
	bool slice_refused;		/* the kernel said no: not asked again */
	uint64_t busy_since;		/* devices busy without a sleep since */
	bool held;			/* on held_cpu (loop_hold); mask: the one before */
	int held_cpu;
	cpu_set_t mask;
	uint64_t held_at;		/* when the hold was last looked at */
	uint64_t hold_after;		/* not held again before then */
	bool hold_refused;		/* the kernel said no: not asked again */
	bool idled;			/* a pass found nothing since the last look */
	uint64_t follow_after;		/* loop_follow: not before then */
	uint64_t follow_every;		/* ... and then not for this long */
	uint64_t followed_at;		/* the last move */
	uint64_t share_at;		/* loop_shared: the window's start, 0: none */
	uint64_t share_cpu;		/* ... the thread's CPU time then, 0: not read */
} loop;

/* The clock id's time in ns; 0 if it cannot be read. */
static uint64_t clock_ns(clockid_t id)
{
	struct timespec ts = { 0, 0 };

	(void)clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t now_ns(void)
{
	return clock_ns(CLOCK_MONOTONIC);
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
	loop.wire = false;
	while (*p) {
		struct rb_device *dev = *p;
		unsigned int r = dev->ops.progress(dev, loop.now, dev->poll_idle_ns);

		any |= r & RB_PROGRESS_DID_WORK;
		loop.wire |= (r & RB_PROGRESS_WIRE) != 0;
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

/*
 * The engine's time slice, asked of the kernel's fair scheduler (EEVDF,
 * Linux 6.12 and later: sched_attr.sched_runtime of a SCHED_OTHER task is
 * its slice; 100 us is the least it takes, we ask 200).  A slice is also
 * the lag a task is given to preempt with: the default 0.7-3 ms slice let
 * a client spinning on memory without a system call (perftest's
 * ib_write_lat) or a busy loop sharing the engine's core hold it for
 * milliseconds while the engine had work, and the message waited for
 * that.  A short slice does not give the engine more CPU than its
 * weight: it gets it sooner, in shorter turns (docs/performance.md,
 * "Keeping pace").  Older kernels ignore the field; nothing else is
 * asked (no real-time class, no nice: the unit's Nice= is the
 * administrator's).
 *
 * Not the least slice, 100 us: a yield moves a task's deadline by its
 * slice (below), and an engine sharing its core with a client that polls
 * its CQ yielded about six times per message before the client, whose
 * own yield had moved it a default slice on, was picked; each yield is a
 * system call (1.3 us where the kernel isolates its page tables).  With
 * 200 us the engine still preempts a spinner on memory, and the 8-byte
 * one-way latencies of bench-pace fell by a quarter to a third
 * (docs/performance.md, "Where the engine sits").
 */
#ifndef LOOP_SLICE_NS	/* -D: variants measured (docs/performance.md); 0: not asked */
#define LOOP_SLICE_NS 200000
#endif

struct loop_sched_attr {		/* struct sched_attr, as of Linux 4.13 */
	uint32_t size, sched_policy;
	uint64_t sched_flags;
	int32_t sched_nice;
	uint32_t sched_priority;
	uint64_t sched_runtime, sched_deadline, sched_period;
	uint32_t sched_util_min, sched_util_max;
};

/*
 * Ask for the short slice (on) or the default one (off); a no-op when
 * already so.  The slice is also how far a sched_yield() moves a task's
 * deadline: 200 us against a client's default (1-3 ms), so an engine
 * that yields after an empty pass is picked again several times before
 * a client that yielded once.  With one engine on the machine that costs
 * nothing measurable (its clients' yields are rare); with two, as when
 * the peer of a RoCE QP is another daemon on this machine (containers,
 * network namespaces), the two engines handed the core to each other
 * for ~20 us at a time while the clients holding the next message
 * waited: 8-byte RC latency across a veth 20 us typical, 8.5 with the
 * default slice (docs/roce.md, "Figures").  So while a busy device has
 * peers on the wire (RB_PROGRESS_WIRE) the engine takes the default
 * slice, and the short one otherwise.
 */
static void loop_sched_slice(bool on)
{
#ifdef SYS_sched_setattr
	struct loop_sched_attr a = {
		.size = sizeof(a), .sched_policy = SCHED_OTHER,
		.sched_runtime = on ? LOOP_SLICE_NS : 0,	/* 0: the default */
	};

	if (!LOOP_SLICE_NS || loop.slice_short == on || loop.slice_refused)
		return;
	/* sched_setattr sets the nice value too: keep the one we run at. */
	errno = 0;
	a.sched_nice = getpriority(PRIO_PROCESS, 0);
	if (errno || syscall(SYS_sched_setattr, 0, &a, 0) < 0) {
		/* An older kernel or a filter: not asked again. */
		log_debug("engine slice of %d us not set: %s", on ? LOOP_SLICE_NS / 1000 : 0,
			  strerror(errno));
		loop.slice_refused = true;
		return;
	}
	loop.slice_short = on;
#else
	(void)on;
#endif
}

/*
 * What the engine does after a pass that found nothing: give its core to
 * whoever shares it, and get it back as soon as there is work.
 *
 * sched_yield() hands the core to the next runnable task; one of our
 * clients that polls an empty CQ gives it back within microseconds (it
 * yields too), and with nobody else runnable the call returns at once.
 * But beside a task that never yields (a busy loop, a program spinning
 * on memory), EEVDF moves our deadline a slice later and runs the other
 * one until the next tick: nothing wakes us, so nothing preempts it, and
 * a message that lands meanwhile waits up to a tick (4 ms here).
 *
 * So a yield that came back late (the core was taken for more than
 * LOOP_YIELD_LATE_NS) turns the empty passes of the next nap_window into
 * timed naps of LOOP_NAP_NS: a timer wakes the engine, and a waking task
 * with a short slice preempts the running one (EEVDF's wake-up
 * preemption).  A nap while the core would be free costs a halt and a
 * wake-up of the vCPU instead of nothing, so at the window's end a yield
 * is tried again; late again, the window doubles (up to
 * LOOP_NAP_WINDOW_MAX, so that probing costs at most a tick per window),
 * on time, it goes back to the least.  docs/performance.md, "Keeping
 * pace", has the measurements.
 */
#ifndef LOOP_NAP_NS	/* -D: variants measured; 0: always sched_yield() */
#define LOOP_NAP_NS 10000
#endif
#ifndef LOOP_YIELD_LATE_NS
#define LOOP_YIELD_LATE_NS	100000
#endif
#define LOOP_NAP_WINDOW_MIN	(2 * 1000000ull)
#define LOOP_NAP_WINDOW_MAX	(64 * 1000000ull)
/* The timer slack of the engine thread: a nap of 10 us must not last the
 * default 50 us more. */
#define LOOP_TIMER_SLACK_NS	2000

/*
 * Holding the core.  While its devices have been busy for LOOP_HOLD_NS,
 * the engine keeps to the core it runs on: its affinity becomes that
 * core alone, and goes back to the mask it had (the administrator's
 * CPUAffinity=, or all) when it sleeps, naps or its peers are on the wire.
 * Three spinners on two cores (two clients in a ping-pong and the engine)
 * are fastest with the engine on a core of its own: 6-7 us one way on a
 * 2-vCPU VM against 10-13 with the engine sharing its core with a client
 * (docs/performance.md, "Three spinners, two cores").  The balancer sees
 * two cores, three tasks and no reason to prefer either, and moved the
 * engine as readily as a client; a held engine stays, and the library
 * moves a poller that finds the engine on its core (rbc_poll_move,
 * libclient/cq.c).  Not held beside a stranger that keeps the core (a
 * late yield naps, see below: the balancer may then move us), nor while
 * a device has peers on the wire (the peer may be another engine on this
 * machine, and two held engines on one core would stay there), nor on a
 * machine or mask of one core.  Nor while every pass of the last
 * LOOP_HOLD_NS found work (then it lets go for LOOP_HOLD_AWAY_NS): an
 * engine that never runs out of work (another user's 1 GiB WRITEs, or a
 * stream beside a busy loop) never yields, so it never learns that its
 * core is shared, and a client or a stranger on that core shares it by
 * slices; held, the engine stayed there (an 8-byte ping-pong beside such
 * a stream went from 27-67 to 33-185 us/iter), free, the balancer may
 * move one of the two.
 */
#ifndef LOOP_HOLD_NS	/* -D: variants measured; 0: never held */
#define LOOP_HOLD_NS 1000000
#endif
#define LOOP_HOLD_AWAY_NS	(50 * 1000000ull)

static void loop_hold(bool on)
{
	cpu_set_t one;
	int cpu;

	if (!LOOP_HOLD_NS || on == loop.held || loop.hold_refused)
		return;
	if (!on) {
		cpu_set_t cur;

		/* A mask set meanwhile by someone else (taskset -p, a cpuset)
		 * stands; ours was that one core. */
		loop.held = false;
		if (sched_getaffinity(0, sizeof(cur), &cur) == 0 &&
		    (CPU_COUNT(&cur) != 1 || !CPU_ISSET(loop.held_cpu, &cur)))
			return;
		if (sched_setaffinity(0, sizeof(loop.mask), &loop.mask) < 0)
			log_debug("engine affinity not restored: %s", strerror(errno));
		return;
	}
	if (loop.now < loop.hold_after)
		return;
	cpu = sched_getcpu();
	if (cpu < 0 || sched_getaffinity(0, sizeof(loop.mask), &loop.mask) < 0 ||
	    CPU_COUNT(&loop.mask) < 2) {
		loop.hold_after = loop.now + LOOP_HOLD_AWAY_NS;
		return;
	}
	CPU_ZERO(&one);
	CPU_SET(cpu, &one);
	if (sched_setaffinity(0, sizeof(one), &one) < 0) {
		/* A filter (the unit's SystemCallFilter=) or a cpuset that
		 * moved under us: not asked again, or not for a while. */
		if (errno == EPERM || errno == ENOSYS) {
			log_debug("engine not held on one core: %s", strerror(errno));
			loop.hold_refused = true;
		}
		loop.hold_after = loop.now + LOOP_HOLD_AWAY_NS;
		return;
	}
	loop.held = true;
	loop.held_cpu = cpu;
	loop.held_at = loop.now;
	loop.idled = false;
}

/* Held: does the engine still run out of work now and then? */
static void loop_hold_check(void)
{
	if (!loop.held || loop.now - loop.held_at < LOOP_HOLD_NS)
		return;
	loop.held_at = loop.now;
	if (loop.idled) {
		loop.idled = false;
		return;
	}
	loop_hold(false);
	loop.hold_after = loop.now + LOOP_HOLD_AWAY_NS;
}

void rb_daemon_cpu_mask(cpu_set_t *mask)
{
	if (loop.held)
		*mask = loop.mask;
	else if (sched_getaffinity(0, sizeof(*mask), mask) < 0)
		CPU_ZERO(mask);
}

/* A hold let go would otherwise put back the mask from before this one
 * (loop_hold), and undo it. */
int rb_daemon_set_cpu_mask(const cpu_set_t *mask)
{
	if (loop.held && CPU_ISSET(loop.held_cpu, mask)) {
		loop.mask = *mask;
		return 0;
	}
	loop.held = false;
	return sched_setaffinity(0, sizeof(*mask), mask);
}

/*
 * Following the pollers.  A yield that came back late says a stranger
 * keeps the engine's core.  Beside it the engine naps (below) and gets a
 * sliver of that core, while its clients, which yield to each other and to
 * it, may share another: on 2 vCPUs beside a busy loop a short
 * ibv_rc_pingpong took 70-116 us one way so placed, against 19 with all
 * three on the core the loop left them (docs/performance.md, "The engine
 * asleep, counted; the engine follows its pollers").  The balancer
 * leaves it so: the napping engine weighs little.  So on a late yield,
 * and before each nap of the window that follows, the engine moves to
 * the core one of its pollers said it polls on (proto/shm.h,
 * consumer_cpu), if its mask allows: the mask of that core, then its own
 * again, as rbc_poll_move does.  At most once per follow_every; late
 * again soon after a move, the core it went to has a stranger too, and
 * the next waits twice as long (up to LOOP_FOLLOW_EVERY_MAX_NS).
 */
#define LOOP_FOLLOW_EVERY_NS	(10 * 1000000ull)
#define LOOP_FOLLOW_EVERY_MAX_NS (1000 * 1000000ull)
#define LOOP_FOLLOW_JUDGE_NS	(50 * 1000000ull)

/* Twice v, but not past max: the nap window and the follow's wait. */
static uint64_t loop_double(uint64_t v, uint64_t max)
{
	return v * 2 > max ? max : v * 2;
}

static bool loop_follow(uint64_t now)
{
	cpu_set_t mask, one;
	int cpu, to;

	if (now < loop.follow_after)
		return false;
	cpu = sched_getcpu();
	to = cpu < 0 ? -1 : cq_poller_cpu(cpu);
	if (to < 0)
		return false;
	if (!loop.follow_every)
		loop.follow_every = LOOP_FOLLOW_EVERY_NS;
	else if (loop.followed_at && now - loop.followed_at < LOOP_FOLLOW_JUDGE_NS)
		loop.follow_every = loop_double(loop.follow_every, LOOP_FOLLOW_EVERY_MAX_NS);
	else
		loop.follow_every = LOOP_FOLLOW_EVERY_NS;
	loop.follow_after = now + loop.follow_every;
	loop.followed_at = 0;
	if (sched_getaffinity(0, sizeof(mask), &mask) < 0 || !CPU_ISSET(to, &mask))
		return false;
	CPU_ZERO(&one);
	CPU_SET(to, &one);
	if (sched_setaffinity(0, sizeof(one), &one) < 0)
		return false;
	(void)sched_setaffinity(0, sizeof(mask), &mask);
	loop.followed_at = now;
	log_debug("engine: a stranger keeps CPU %d, to a poller's CPU %d", cpu, to);
	return true;
}

/*
 * A core shared in a stream.  An engine that never runs out of work (a
 * stream of large WRITEs) never yields, so it never sees a late yield:
 * beside a busy loop the balancer leaves the two on one core as readily
 * as on two, with the engine's pollers, which yield to it, on the other;
 * the engine then had half a core, and an 8 MiB WRITE stream ran at
 * 0.63-0.84 of memcpy, against 0.97-1.02 with the engine beside its
 * poller (2 vCPUs, docs/performance.md, "A stream that shares its
 * core").  So after every LOOP_SHARE_WINDOW_NS of passes that all found
 * work, the engine compares the CPU time it had (its thread's clock)
 * with the time that passed; below LOOP_SHARE_GOT_PCT per cent, another
 * task shares its core, and it follows its pollers as after a late
 * yield (loop_follow, above).  The first window of a stretch ends with
 * the first read of that clock, so a stretch shorter than a window (a
 * message of a ping-pong: the engine runs out of work between two)
 * makes no system call for it.
 */
#define LOOP_SHARE_WINDOW_NS	(4 * 1000000ull)
#define LOOP_SHARE_GOT_PCT	80

/* A pass that found work: was the core ours over the last window? */
static void loop_shared(void)
{
	uint64_t cpu, had, passed;

	if (!loop.share_at) {
		loop.share_at = loop.now;
		loop.share_cpu = 0;
		return;
	}
	passed = loop.now - loop.share_at;
	if (passed < LOOP_SHARE_WINDOW_NS)
		return;
	cpu = clock_ns(CLOCK_THREAD_CPUTIME_ID);
	had = cpu - loop.share_cpu;
	if (loop.share_cpu && cpu && had * 100 < passed * LOOP_SHARE_GOT_PCT) {
		log_debug("engine: %" PRIu64 " of %" PRIu64 " us on its core in a stream",
			  had / 1000, passed / 1000);
		loop_hold(false);
		if (loop_follow(loop.now)) {
			loop.share_at = 0;
			return;
		}
	}
	loop.share_at = loop.now;
	loop.share_cpu = cpu;
}

static void loop_idle(void)
{
	uint64_t t0, t1;

	loop_sched_slice(!loop.wire);
	loop.idled = true;
	loop.share_at = 0;
	t0 = now_ns();
	if (LOOP_NAP_NS && t0 < loop.nap_until) {
		struct timespec ts = { .tv_nsec = LOOP_NAP_NS };

		if (loop_follow(t0)) {
			loop.nap_until = 0;
			return;
		}
		cq_asleep(true);
		nanosleep(&ts, NULL);
		cq_asleep(false);
		return;
	}
	sched_yield();
	if (!LOOP_NAP_NS)
		return;
	t1 = now_ns();
	if (t1 - t0 < LOOP_YIELD_LATE_NS) {
		loop.nap_window = 0;
		return;
	}
	/* Late: the core was someone else's; nap a while (see above), where
	 * the balancer may take us. */
	loop_hold(false);
	if (loop_follow(t1))
		return;
	if (loop.nap_window && t0 - loop.nap_until < loop.nap_window)
		loop.nap_window = loop_double(loop.nap_window, LOOP_NAP_WINDOW_MAX);
	else
		loop.nap_window = LOOP_NAP_WINDOW_MIN;
	loop.nap_until = t1 + loop.nap_window;
}

int loop_run(struct rb_daemon *d)
{
	struct event_base *base = d->base;
	uint64_t last_ev = 0;

	/* Here, not at start: the helper processes forked before keep the
	 * default slice. */
	loop_sched_slice(true);
	if (LOOP_NAP_NS)
		(void)prctl(PR_SET_TIMERSLACK, LOOP_TIMER_SLACK_NS, 0, 0, 0);

	for (;;) {
		int ret = 0;

		if (!loop.busy) {
			loop_hold(false);
			loop.busy_since = 0;
			loop.share_at = 0;
			loop.now = now_ns();
			if (loop.now < loop.ctl_until)
				ret = event_base_loop(base, EVLOOP_NONBLOCK);
			else {
				cq_asleep(true);
				ret = event_base_loop(base, EVLOOP_ONCE);
				cq_asleep(false);
			}
			last_ev = now_ns();
		} else {
			if (loop.now - last_ev >= LOOP_EV_POLL_NS || loop.now < loop.ctl_until) {
				ret = event_base_loop(base, EVLOOP_NONBLOCK);
				last_ev = loop.now;
			}
			/*
			 * Nothing done this pass: let a client that shares our
			 * core run (loop_idle).  Spinning on a core a client
			 * needs only delays the client.  Not while polling for
			 * a control request: that choice was measured
			 * (loop_control_served), and a yield is a syscall per
			 * pass.
			 */
			if (ret >= 0) {
				if (loop_pass())
					loop_shared();
				else if (loop.now >= loop.ctl_until)
					loop_idle();
			}
			if (!loop.busy_since) {
				loop.busy_since = loop.now;
				loop.idled = false;
			}
			else if (loop.wire || loop.now < loop.nap_until)
				loop_hold(false);
			else if (loop.held)
				loop_hold_check();
			else if (loop.now - loop.busy_since >= LOOP_HOLD_NS && loop.idled)
				loop_hold(true);
		}
		if (ret < 0 || event_base_got_break(base) || event_base_got_exit(base)) {
			loop_hold(false);
			return ret < 0 ? -1 : 0;
		}
	}
}

int loop_init(struct rb_daemon *d)
{
	loop.d = d;
	loop.busy = NULL;
	return 0;
}
