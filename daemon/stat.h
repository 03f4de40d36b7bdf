/* SPDX-License-Identifier: MIT */
/*
 * Per-tenant metrics (stat.c): counters per client, folded into its
 * user's and its cgroup's when it goes, shown by `rdmactl stat`.
 */
#ifndef RB_DAEMON_STAT_H
#define RB_DAEMON_STAT_H

#include <stdint.h>

/* ibv_wc_status values counted, IBV_WC_SUCCESS .. IBV_WC_TM_RNDV_INCOMPLETE (23). */
#define RB_STAT_STATUSES	24

struct rb_stat {
	uint64_t bytes_sent, wrs_sent;		/* send-queue WRs retired OK */
	uint64_t bytes_recv, wrs_recv;		/* receive completions OK */
	uint64_t completions[RB_STAT_STATUSES];	/* written to its CQs */
	/*
	 * Time the engine's scheduler held this client back (rate caps):
	 * daemon/sched.c adds each time held back once it ends (rdmactl
	 * limits shows the time still running too).
	 */
	uint64_t throttled_ns;
	/* Pollers of its CQs that cq_push woke from a sleep on the ring. */
	uint64_t poller_wakeups;
};

struct rb_session;
struct rb_cq;
struct rb_cqe;

/* cq.c's cq_push: one completion written to cq, counted for its owner. */
void stat_completion(const struct rb_cq *cq, const struct rb_cqe *e);
/* The session ends: its counters go to its user's and its cgroup's. */
void stat_session_end(const struct rb_session *s);
/* Forget everything (daemon exit). */
void stat_fini(void);

#endif /* RB_DAEMON_STAT_H */
