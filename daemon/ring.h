/* SPDX-License-Identifier: MIT */
/* Shared rings, daemon side (see proto/shm.h for the ABI). */
#ifndef RB_DAEMON_RING_H
#define RB_DAEMON_RING_H

#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>

#include "proto/shm.h"

/*
 * A ring of `entries` (a power of two) slots of entry_size bytes: a sealed
 * memfd (*fd_out, the caller passes it on and closes it) mapped at *ring.
 * Returns 0 or -errno.
 */
int ring_create(enum rb_ring_kind kind, uint32_t entries, uint32_t entry_size,
		struct rb_ring **ring, size_t *bytes, int *fd_out);
void ring_destroy(struct rb_ring *ring, size_t bytes);

/*
 * Make a ring handed out before new again: its header as ring_create
 * writes it, indices and flags zero, whatever the client wrote there
 * since (the slots keep their bytes: they are the same client's).
 */
void ring_reset(struct rb_ring *r, enum rb_ring_kind kind, uint32_t entries,
		uint32_t entry_size);

/*
 * Two rings in one memfd, the second at *offset (page aligned): one
 * memfd, one mapping and one fd where two rings would take two of each
 * (a QP's SQ and RQ).  ring_destroy(ring[0], *offset + bytes[1]) unmaps
 * both.
 */
struct ring_spec {
	enum rb_ring_kind kind;
	uint32_t entries, entry_size;
};

int ring_create_pair(const struct ring_spec spec[2], struct rb_ring *ring[2],
		     size_t bytes[2], size_t *offset, int *fd_out);

/*
 * Slots the client produced past cons, the daemon's own consumer index,
 * clamped to `entries`, the size the ring was created with (the header is
 * the client's to scribble on).
 */
uint32_t ring_pending(const struct rb_ring *r, uint32_t cons, uint32_t entries);

/*
 * A producer index more than a ring ahead of our consumer: no honest
 * client writes one (it would have overwritten WQEs not yet consumed).
 * True then, and the owner is disconnected (res_kill_owner, "WHAT
 * producer index past its ring"); its objects go with it.
 */
struct rb_res;
bool ring_wild(const struct rb_ring *r, uint32_t cons, uint32_t entries,
	       struct rb_res *owner, const char *what);

/* Slot index of a ring of `entries` slots of `size` bytes. */
static inline void *ring_slot(struct rb_ring *r, uint32_t entries,
			      uint32_t size, uint32_t index)
{
	return (char *)r + RB_RING_HDR_SIZE + (size_t)(index & (entries - 1)) * size;
}

#endif /* RB_DAEMON_RING_H */
