/* SPDX-License-Identifier: MIT */
/*
 * The daemon's main loop and its one poll-or-sleep policy (loop.c).
 *
 * The loop is libevent's, owned here (tmux-style: the daemon runs the
 * loop, subsystems add events to d->base).  Devices with work
 * (rb_device_wake, drivers/driver.h) are in a busy set: while it is not
 * empty the loop calls each one's progress() every pass and lets
 * libevent run without blocking between passes, at most every
 * LOOP_EV_POLL_NS; a device leaves the set when progress() says it is
 * idle (its queues asked their clients for doorbells), and with none
 * left the loop blocks in libevent until a doorbell, a timer or a
 * control request.
 *
 * Control requests come in bursts (create a QP, then three modifies): for
 * up to [daemon] control_spin_us after each one the loop polls libevent
 * without blocking, so the next request of the burst costs no sleep and
 * wake-up on either side (the library polls for a reply, proto/rpc.c);
 * whether that pays is learnt per request type (proto/spin.h).
 */
#ifndef RB_DAEMON_LOOP_H
#define RB_DAEMON_LOOP_H

#include <stdbool.h>

struct rb_daemon;

int loop_init(struct rb_daemon *d);
/* The daemon's main loop; returns 0 when the loop is broken (SIGTERM). */
int loop_run(struct rb_daemon *d);
/*
 * One pass of progress() over the busy devices (what loop_run does
 * between libevent turns, without its yield); true if any did work.
 */
bool loop_pass(void);
/* True while some device is busy. */
bool loop_busy(void);

/* A control request arrived; it was served: poll for the next a while. */
void loop_control_arrived(struct rb_daemon *d);
void loop_control_served(struct rb_daemon *d, int kind);

/* Empty an eventfd doorbell that fired (a failed read is only logged). */
void loop_drain(int fd);

#endif /* RB_DAEMON_LOOP_H */
