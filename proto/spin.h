/* SPDX-License-Identifier: MIT */
/*
 * Whether to poll or to sleep while waiting for the other side of the
 * control socket: the library for a reply (proto/rpc.c), the daemon for
 * the next request (daemon/loop.c).
 *
 * Polling first spares a sleep and a wake-up on each side, most of a round
 * trip on a virtual machine, but only while each side has a core: on a
 * busy machine the poller holds the core the other side waits for, and
 * sleeping (which gives the core up) is faster.  So the choice is made by
 * measurement: a recent average wait is kept for each way, the faster way
 * is taken, and one wait in RB_SPIN_EXPLORE takes the other way, so that
 * its average follows the machine too.
 */
#ifndef RB_PROTO_SPIN_H
#define RB_PROTO_SPIN_H

#include <stdbool.h>
#include <stdint.h>

#define RB_SPIN_EXPLORE 16
/* Request types (body cases) with a policy of their own; the rest share
 * slot 0. */
#define RB_SPIN_KINDS 128

struct rb_spin_policy {
	uint64_t avg_ns[2];	/* [0] sleeping, [1] polling: ~ the last 8 waits */
	uint32_t waits;
	bool seen[2];
};

/* Poll this time?  Never with a zero budget. */
static inline bool rb_spin_choose(struct rb_spin_policy *p, uint64_t budget_ns)
{
	bool poll;

	if (!budget_ns)
		return false;
	poll = !p->seen[1] || (p->seen[0] && p->avg_ns[1] <= p->avg_ns[0]);
	if (++p->waits % RB_SPIN_EXPLORE == 0)
		poll = !poll;
	return poll;
}

/* A wait of ns done by polling (or not); capped so one long idle time
 * does not hide the machine's state for long. */
static inline void rb_spin_record(struct rb_spin_policy *p, bool polled,
				  uint64_t ns, uint64_t cap_ns)
{
	uint64_t *a = &p->avg_ns[polled];

	if (ns > cap_ns)
		ns = cap_ns;
	if (!p->seen[polled]) {
		*a = ns;
		p->seen[polled] = true;
	} else {
		*a = *a - *a / 8 + ns / 8;
	}
}

#endif /* RB_PROTO_SPIN_H */
