/* SPDX-License-Identifier: MIT */
/*
 * The soft device's engine: it executes what clients post into their
 * shared send queues, between any two QPs of the daemon, moving data
 * directly between the two sides' registered memory, and writes the
 * completions into the CQ rings.  See engine.c for the semantics and
 * proto/shm.h for the rings.
 *
 * It runs on the daemon's one thread, inside engine_run(), which replaces
 * event_base_dispatch(): while any QP has work it polls the rings and
 * lets libevent run without blocking between passes; a QP idle for
 * [soft] spin_us sets need-wakeup on its rings and leaves the poll set,
 * and when none is left the loop blocks in libevent until a doorbell,
 * a timer or a control request.
 *
 * Control requests come in bursts (create a QP, then three modifies): for
 * up to [daemon] control_spin_us after each one the loop polls libevent
 * without blocking, so the next request of the burst costs no sleep and
 * wake-up on either side (the library polls for a reply, proto/rpc.c).
 */
#ifndef RB_DAEMON_ENGINE_H
#define RB_DAEMON_ENGINE_H

#include <stdbool.h>
#include <stdint.h>

#include <infiniband/verbs.h>

struct rb_daemon;
struct rb_qp;

int engine_init(struct rb_daemon *d);
/* After every session is gone: free what the engine keeps for reuse. */
void engine_fini(void);
/* The daemon's main loop; returns 0 when the loop is broken (SIGTERM). */
int engine_run(struct rb_daemon *d);

/* A control request arrived; it was served: poll for the next a while. */
void engine_control_arrived(void);
void engine_control_served(int kind);

/* A new QP: its doorbell watched.  0 or -ENOMEM. */
int engine_qp_add(struct rb_qp *qp);
/* Before a QP is freed: its connected peer (RC) goes to ERR. */
void engine_qp_remove(struct rb_qp *qp);
/* After ibv_modify_qp moved it from state `from`. */
void engine_qp_state(struct rb_qp *qp, enum ibv_qp_state from);

#endif /* RB_DAEMON_ENGINE_H */
