/* SPDX-License-Identifier: MIT */
/*
 * The shared-memory queue ABI between librdmabroker and rdmabrokerd.
 *
 * Every queue (CQ, SQ, RQ, SRQ) is one ring in one memfd that the daemon creates, sizes, seals against
 * shrinking and growing, maps, and passes to the client with SCM_RIGHTS
 * in the reply that creates the queue; a QP's SQ and RQ share one memfd,
 * the RQ at the page-aligned rq_offset of the reply.  A ring starts with
 * struct rb_ring (one page), followed by `entries` slots of `entry_size`
 * bytes.
 *
 * Indices are free-running 32-bit counters; slot = index & (entries - 1).
 * The producer writes a slot, then publishes it with a release store of
 * `prod`; the consumer reads `prod` with an acquire load, reads the slot,
 * then frees it with a release store of `cons`.  Producer, consumer and
 * flags sit on separate cache lines so the two sides never share one for
 * writing.  A reader on the untrusted side clamps every index it reads
 * (prod - cons never above entries) and copies a slot out before it
 * validates it.
 *
 * For a CQ the daemon produces and the client consumes.  `flags` carries
 * RB_RING_ARMED (the client asked for a completion event, see
 * ibv_req_notify_cq; the producer clears it when it signals),
 * RB_RING_OVERRUN (the producer found the ring full: IBV_EVENT_CQ_ERR) and
 * RB_RING_SLEEPING: a consumer that has polled the empty ring for a while
 * sets it, reads `prod` again, and sleeps in FUTEX_WAIT on `prod` (a
 * shared futex: both sides map the same memfd) with a timeout; the
 * producer, after publishing `prod`, clears it and FUTEX_WAKEs `prod`.
 * Store, fence, load on both sides, as for RB_RING_NEED_WAKEUP below, and
 * FUTEX_WAIT compares `prod` with what the consumer saw, so a wake-up is
 * never lost.  A daemon that wakes sleepers says so in `features`
 * (RB_RING_FEAT_WAKE); against a ring without it the client never sleeps.
 * Beside `prod` the producer writes `producer_cpu`: 1 + the CPU it ran on
 * when it last published a completion (0: not known, as from older
 * daemons, whose padding it was).  A poller whose sched_yield() came back
 * late uses it to tell whether it shares its core with the engine
 * (libclient/cq.c, rbc_poll_yield).  Beside it, `producer_asleep`: 1
 * while the engine that published into this ring lately sleeps, in one
 * of its short timed naps or waiting for work (daemon/loop.c; 0 from
 * older daemons).  A sleeping engine is not among the machine's runnable
 * tasks, and a poller that counts them before it moves off the engine's
 * core (rbc_poll_move) counts it in.  The other way, beside `cons`, a poller
 * that yields writes `consumer_cpu`: 1 + the CPU it polls on (0: not
 * known, as from older libraries).  An engine whose core a stranger took
 * moves to a poller's (daemon/loop.c, loop_follow).
 *
 * For an SQ, RQ or SRQ the client produces and the daemon's engine
 * consumes.  While the engine polls, posting is a store to `prod` and
 * nothing else; before the engine sleeps it sets RB_RING_NEED_WAKEUP, and a
 * client that sees it after publishing `prod` writes 1 to the queue's
 * eventfd doorbell (the io_uring SQPOLL pattern).  Both sides store, then
 * fence (seq_cst), then load, so one of them always sees the other.  The
 * engine sets it on an SQ when it stops polling that QP, and on an RQ only
 * while the QP is in ERR (receives posted then must flush at once); it
 * never sets it on an SRQ, whose receives wait for a sender anyway.
 *
 * An SQ slot stays the client's to reuse only once `cons` passes it, i.e.
 * once the engine has completed the WR (or found it unsignaled and done).
 *
 * Any change to these layouts bumps RB_SHM_ABI_VERSION; the daemon stamps
 * it in every ring and the library refuses a ring it does not know.
 */
#ifndef RB_PROTO_SHM_H
#define RB_PROTO_SHM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <infiniband/verbs.h>

#define RB_SHM_ABI_VERSION	2		/* 2: struct rb_cqe has timestamps */
#define RB_RING_MAGIC		0x47525242u	/* "RBRG" */
#define RB_CACHELINE		64
#define RB_RING_HDR_SIZE	4096		/* slots start one page in */

enum rb_ring_kind {
	RB_RING_CQ = 1,
	RB_RING_SQ = 2,			/* client produces send WQEs */
	RB_RING_RQ = 3,			/* client produces receive WQEs */
	RB_RING_SRQ = 4,		/* client produces receive WQEs */
};

/* flags */
#define RB_RING_ARMED		(1u << 0)	/* event wanted on next CQE */
#define RB_RING_ARMED_SOLICITED	(1u << 1)	/* ... only if solicited */
#define RB_RING_OVERRUN		(1u << 2)	/* producer found it full */
#define RB_RING_NEED_WAKEUP	(1u << 3)	/* consumer sleeps: ring the doorbell */
#define RB_RING_SLEEPING	(1u << 4)	/* CQ: a poller waits on prod's futex */
/* How long (us) a client polls an empty CQ before it sleeps; 0: never */
#define RB_POLL_SLEEP_ENV	"RDMABROKER_POLL_SLEEP_US"

/* features: what the daemon that made the ring does (0 from older ones) */
#define RB_RING_FEAT_WAKE	(1u << 0)	/* CQ: wakes RB_RING_SLEEPING pollers */

struct rb_ring {
	/* Written once by the daemon before the client sees the ring. */
	uint32_t magic;
	uint16_t abi_version;
	uint16_t kind;			/* enum rb_ring_kind */
	uint32_t entries;		/* a power of two */
	uint32_t entry_size;		/* bytes per slot, a multiple of 8 */
	uint32_t features;		/* RB_RING_FEAT_* */
	uint8_t pad0[RB_CACHELINE - 20];

	uint32_t prod;			/* free-running; producer writes */
	uint32_t producer_cpu;		/* CQ: 1 + the producer's CPU; 0: unknown */
	uint32_t producer_asleep;	/* CQ: 1 while the producer sleeps */
	uint8_t pad1[RB_CACHELINE - 12];
	uint32_t cons;			/* free-running; consumer writes */
	uint32_t consumer_cpu;		/* CQ: 1 + the poller's CPU; 0: unknown */
	uint8_t pad2[RB_CACHELINE - 8];
	uint32_t flags;			/* RB_RING_* */
	uint8_t pad3[RB_CACHELINE - 4];
};

_Static_assert(offsetof(struct rb_ring, prod) == 1 * RB_CACHELINE, "prod line");
_Static_assert(offsetof(struct rb_ring, cons) == 2 * RB_CACHELINE, "cons line");
_Static_assert(offsetof(struct rb_ring, flags) == 3 * RB_CACHELINE, "flags line");
_Static_assert(sizeof(struct rb_ring) <= RB_RING_HDR_SIZE, "header fits");

/*
 * A completion: every field of struct ibv_wc, in the order of verbs.h, so
 * a completion from an SRQ carries exactly what one from an RQ does; then
 * when the device wrote it (IBV_WC_EX_WITH_COMPLETION_TIMESTAMP and
 * _WALLCLOCK of ibv_create_cq_ex).  The device clock of every broker
 * device that reports a completion_timestamp_mask is CLOCK_MONOTONIC in
 * nanoseconds (hca_core_clock 1,000,000 kHz), which the client reads
 * itself for ibv_query_rt_values_ex; both stamps are 0 from a device that
 * does not stamp.  64 bytes: one cache line a completion.
 */
struct rb_cqe {
	uint64_t wr_id;
	uint32_t status;		/* enum ibv_wc_status */
	uint32_t opcode;		/* enum ibv_wc_opcode */
	uint32_t vendor_err;
	uint32_t byte_len;
	uint32_t imm_data;		/* network order, as in ibv_wc */
	uint32_t qp_num;
	uint32_t src_qp;
	uint32_t wc_flags;
	uint16_t pkey_index;
	uint16_t slid;
	uint8_t sl;
	uint8_t dlid_path_bits;
	uint8_t pad[2];
	uint64_t ts;			/* the device clock: CLOCK_MONOTONIC ns */
	uint64_t wallclock_ns;		/* CLOCK_REALTIME ns, at the same time */
};

_Static_assert(sizeof(struct rb_cqe) == 64, "CQE layout");
_Static_assert(offsetof(struct rb_cqe, ts) == 48, "CQE layout");
_Static_assert(offsetof(struct rb_cqe, wc_flags) == 36, "CQE layout");

/* A scatter/gather element, as struct ibv_sge. */
struct rb_sge {
	uint64_t addr;
	uint32_t length;
	uint32_t lkey;
};

_Static_assert(sizeof(struct rb_sge) == 16, "SGE layout");

/*
 * A send WQE: this header, then num_sge struct rb_sge, or inline_len
 * bytes of inline data when send_flags has IBV_SEND_INLINE.  The SQ's
 * entry_size is the header plus the larger of max_send_sge SGEs and
 * max_inline_data bytes, rounded up to 16.
 *
 * Memory windows: IBV_WR_BIND_MW names the window by mw_handle (the
 * owner's handle), its new rkey in rkey, the range in remote_addr and
 * compare_add (length), the MR by its lkey in swap and the window's
 * access in mw_access; IBV_WR_LOCAL_INV and IBV_WR_SEND_WITH_INV carry
 * the rkey to invalidate in imm_data (host order: ibv_send_wr's
 * invalidate_rkey shares imm_data's place).
 */
struct rb_send_wqe {
	uint64_t wr_id;
	uint32_t opcode;		/* enum ibv_wr_opcode */
	uint32_t send_flags;		/* enum ibv_send_flags */
	uint32_t imm_data;		/* network order, as in ibv_send_wr */
	uint32_t num_sge;
	uint64_t remote_addr;		/* RDMA and atomics */
	uint32_t rkey;
	uint32_t inline_len;
	uint64_t compare_add;		/* atomics; ATOMIC_WRITE: its 8 bytes, as in memory */
	uint64_t swap;
	uint32_t ah_handle;		/* UD */
	uint32_t remote_qpn;		/* UD; XRC_SEND: the remote SRQ number */
	uint32_t remote_qkey;
	uint32_t mw_handle;		/* BIND_MW */
	uint32_t mw_access;		/* BIND_MW: ibv_mw_bind_info.mw_access_flags */
	uint32_t reserved;
};

_Static_assert(sizeof(struct rb_send_wqe) == 80, "send WQE layout");

/* A receive WQE: this header, then num_sge struct rb_sge. */
struct rb_recv_wqe {
	uint64_t wr_id;
	uint32_t num_sge;
	uint32_t reserved;
};

_Static_assert(sizeof(struct rb_recv_wqe) == 16, "receive WQE layout");

static inline uint32_t rb_send_wqe_size(uint32_t max_sge, uint32_t max_inline)
{
	uint32_t body = max_sge * (uint32_t)sizeof(struct rb_sge);

	if (max_inline > body)
		body = max_inline;
	return ((uint32_t)sizeof(struct rb_send_wqe) + body + 15) & ~15u;
}

static inline uint32_t rb_recv_wqe_size(uint32_t max_sge)
{
	return (uint32_t)(sizeof(struct rb_recv_wqe) +
			  max_sge * sizeof(struct rb_sge));
}

/*
 * One completion event, as the daemon writes it to a completion channel
 * (a SOCK_SEQPACKET socket, one event per datagram): the handle of the CQ
 * on the owner's connection.
 */
struct rb_cq_event {
	uint32_t cq_handle;
	uint32_t reserved;
};

_Static_assert(sizeof(struct rb_cq_event) == 8, "event layout");

/*
 * One asynchronous event, as the daemon writes it to a context's async
 * fd (a SOCK_SEQPACKET socket, one event per datagram; the fd is
 * ibv_context.async_fd).  The async-event queue is this socket rather
 * than a shared ring: libibverbs promises an async_fd that poll() and
 * O_NONBLOCK work on, events are rare, and when the daemon goes away the
 * socket reads end of file, which the library reports as
 * IBV_EVENT_DEVICE_FATAL; a ring would need the socket anyway.
 */
enum rb_async_element {
	RB_ASYNC_DEVICE = 0,
	RB_ASYNC_PORT = 1,
	RB_ASYNC_CQ = 2,
	RB_ASYNC_QP = 3,
	RB_ASYNC_SRQ = 4,
};

struct rb_async_event {
	uint32_t event_type;		/* enum ibv_event_type */
	uint32_t element;		/* enum rb_async_element */
	uint32_t handle;		/* of the CQ, QP or SRQ; or the port */
	uint32_t reserved;
};

_Static_assert(sizeof(struct rb_async_event) == 16, "async event layout");

/*
 * IBV_WR_FLUSH and what goes with it, in the values of rdma-core 45 and
 * later and of the kernel's uapi; rdma-core 44's headers (Debian 12) do
 * not have them yet.  A FLUSH WQE carries remote_addr, rkey, the length
 * in compare_add, and the placement type | selectivity level << 8 in
 * imm_data.
 */
#define RB_WR_FLUSH			14u	/* enum ibv_wr_opcode */
#define RB_WC_FLUSH			8u	/* enum ibv_wc_opcode */
#define RB_QP_EX_WITH_FLUSH		(1u << 11)	/* send_ops_flags */
#define RB_ACCESS_FLUSH_GLOBAL		(1u << 8)	/* MR and QP access */
#define RB_ACCESS_FLUSH_PERSISTENT	(1u << 9)
#define RB_FLUSH_GLOBAL			1u	/* enum ibv_placement_type */
#define RB_FLUSH_PERSISTENT		2u
#define RB_FLUSH_RANGE			0u	/* enum ibv_selectivity_level */
#define RB_FLUSH_MR			1u
/* device_cap_flags_ex bits (IB_UVERBS_DEVICE_*, kernel 6.2) */
#define RB_DEVICE_FLUSH_GLOBAL		(1ull << 38)
#define RB_DEVICE_FLUSH_PERSISTENT	(1ull << 39)
#define RB_DEVICE_ATOMIC_WRITE		(1ull << 40)

/*
 * The send opcodes a QP type has (RC all five kinds, ATOMIC_WRITE, FLUSH
 * and SEND_WITH_INV; UC SEND and WRITE; both BIND_MW and LOCAL_INV; UD
 * SEND; XRC_SEND SEND and SEND_WITH_IMM):
 * the library refuses others at post time with
 * EINVAL, and the engine answers a WQE with any other opcode
 * IBV_WC_LOC_QP_OP_ERR.
 */
static inline bool rb_send_opcode_ok(enum ibv_qp_type type, uint32_t op)
{
	switch (op) {
	case IBV_WR_SEND:
	case IBV_WR_SEND_WITH_IMM:
		return type == IBV_QPT_RC || type == IBV_QPT_UC || type == IBV_QPT_UD ||
		       type == IBV_QPT_XRC_SEND;
	case IBV_WR_BIND_MW:
	case IBV_WR_LOCAL_INV:
		return type == IBV_QPT_RC || type == IBV_QPT_UC;
	case IBV_WR_RDMA_WRITE:
	case IBV_WR_RDMA_WRITE_WITH_IMM:
		return type == IBV_QPT_RC || type == IBV_QPT_UC;
	case IBV_WR_RDMA_READ:
	case IBV_WR_ATOMIC_CMP_AND_SWP:
	case IBV_WR_ATOMIC_FETCH_AND_ADD:
	case IBV_WR_ATOMIC_WRITE:
	case IBV_WR_SEND_WITH_INV:
	case RB_WR_FLUSH:
		return type == IBV_QPT_RC;
	default:
		return false;
	}
}

/* The completion opcode (enum ibv_wc_opcode) of a send opcode. */
static inline uint32_t rb_wc_opcode(uint32_t op)
{
	switch (op) {
	case IBV_WR_RDMA_WRITE:
	case IBV_WR_RDMA_WRITE_WITH_IMM: return IBV_WC_RDMA_WRITE;
	case IBV_WR_RDMA_READ: return IBV_WC_RDMA_READ;
	case IBV_WR_ATOMIC_CMP_AND_SWP: return IBV_WC_COMP_SWAP;
	case IBV_WR_ATOMIC_FETCH_AND_ADD: return IBV_WC_FETCH_ADD;
	case IBV_WR_ATOMIC_WRITE: return IBV_WC_ATOMIC_WRITE;
	case IBV_WR_BIND_MW: return IBV_WC_BIND_MW;
	case RB_WR_FLUSH: return RB_WC_FLUSH;
	case IBV_WR_LOCAL_INV: return IBV_WC_LOCAL_INV;
	default: return IBV_WC_SEND;
	}
}

/* Bytes of a ring mapping with n slots of size bytes. */
static inline size_t rb_ring_bytes(uint32_t n, uint32_t size)
{
	return RB_RING_HDR_SIZE + (size_t)n * size;
}

static inline void *rb_ring_slot(struct rb_ring *r, uint32_t index)
{
	return (char *)r + RB_RING_HDR_SIZE +
	       (size_t)(index & (r->entries - 1)) * r->entry_size;
}

#endif /* RB_PROTO_SHM_H */
