/* SPDX-License-Identifier: MIT */
/*
 * Helpers for the data-path tests (tests/integration/data*.c): clients with a
 * PD and CQs, registered buffers, QPs brought to RTS and connected to each
 * other on the soft device, bounded CQ polling and completion checks.
 *
 * Nothing here asserts: functions return 0 / -1 (errno or a message on
 * stderr says why) or NULL, so any test framework can use them.
 */
#ifndef RB_TESTS_DATATEST_H
#define RB_TESTS_DATATEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <infiniband/verbs.h>

/* How long a completion may take before a test calls it missing. */
#define DT_TIMEOUT_MS	5000
/* How long a test waits to be sure that nothing comes. */
#define DT_QUIET_MS	200

/* One client: its own daemon connection (context), a PD, a send and a
 * receive CQ of cqe entries, and optionally a completion channel that
 * both CQs report to. */
struct dt_node {
	struct ibv_device **list;
	struct ibv_context *ctx;
	struct ibv_pd *pd;
	struct ibv_comp_channel *ch;
	struct ibv_cq *scq, *rcq;
	union ibv_gid gid;		/* port 1, index 0 */
};

int dt_node_open(struct dt_node *n, int cqe, bool channel);
/* Destroys what is set, in dependency order; QPs, SRQs, AHs and MRs made
 * on the node must be gone first. Accepts a zeroed node. */
void dt_node_close(struct dt_node *n);

/* A buffer of len bytes (page aligned, zeroed) registered on pd with
 * access; access < 0 leaves it unregistered. */
struct dt_buf {
	uint8_t *p;
	size_t len;
	struct ibv_mr *mr;
};

int dt_buf_alloc(struct dt_buf *b, struct ibv_pd *pd, size_t len, int access);
void dt_buf_free(struct dt_buf *b);

#define DT_ACCESS_ALL (IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE | \
		       IBV_ACCESS_REMOTE_READ | IBV_ACCESS_REMOTE_ATOMIC)

/*
 * Connection parameters; a NULL pointer means dt_qp_opts_default():
 * every remote access allowed, path MTU 4096, min_rnr_timer 1 (10 us),
 * rnr_retry 7 (forever), retry_cnt 7, timeout 14, rd_atomic 16, qkey
 * DT_QKEY, PSNs 0.
 */
struct dt_qp_opts {
	int access;			/* qp_access_flags */
	enum ibv_mtu mtu;
	uint8_t min_rnr_timer;
	uint8_t rnr_retry;
	uint8_t retry_cnt;
	uint8_t timeout;
	uint8_t rd_atomic;		/* max_rd_atomic and max_dest_rd_atomic */
	uint32_t qkey;			/* UD */
	uint32_t sq_psn, rq_psn;
};

#define DT_QKEY 0x11223344u

struct dt_qp_opts dt_qp_opts_default(void);

/*
 * A QP on n's PD and CQs (send_cq = n->scq, recv_cq = n->rcq unless
 * rcq is given), with the capabilities in *cap; the granted ones are
 * written back.  srq may be NULL.
 */
struct ibv_qp *dt_qp_create(struct dt_node *n, enum ibv_qp_type type,
			    struct ibv_qp_cap *cap, struct ibv_cq *rcq,
			    struct ibv_srq *srq, int sq_sig_all);

/* RESET -> INIT -> RTR -> RTS.  RC/UC: connected to dest_qpn at dgid;
 * UD: dgid and dest_qpn are ignored. */
int dt_qp_to_rts(struct ibv_qp *qp, const union ibv_gid *dgid,
		 uint32_t dest_qpn, const struct dt_qp_opts *o);
/* Both QPs to RTS, each connected to the other (RC/UC).  a and b may live
 * on different nodes; GIDs are read from their contexts. */
int dt_qp_connect(struct ibv_qp *a, struct ibv_qp *b, const struct dt_qp_opts *o);

/* An AH on pd towards the GID of port 1 index 0 of ctx (this device). */
struct ibv_ah *dt_ah_create(struct ibv_pd *pd, struct ibv_context *ctx);

/* Single-SGE posts; the return value is that of ibv_post_*. */
int dt_post_recv(struct ibv_qp *qp, uint64_t wr_id, void *addr, uint32_t len,
		 uint32_t lkey);
int dt_post_srq_recv(struct ibv_srq *srq, uint64_t wr_id, void *addr,
		     uint32_t len, uint32_t lkey);

/*
 * Up to n completions into wc, polling for at most timeout_ms of wall
 * clock; returns how many arrived (fewer than n: they did not come in time).
 * A completion of any status counts.
 */
int dt_poll(struct ibv_cq *cq, struct ibv_wc *wc, int n, int timeout_ms);
/* Polls for ms milliseconds; returns the number of completions that came
 * (0 is what a "nothing comes" check wants); the first is stored in *wc. */
int dt_poll_quiet(struct ibv_cq *cq, struct ibv_wc *wc, int ms);

/* Checking a completion: the fields set in `mask` must equal want's. */
enum {
	DT_WC_WR_ID	= 1 << 0,
	DT_WC_STATUS	= 1 << 1,
	DT_WC_OPCODE	= 1 << 2,
	DT_WC_BYTE_LEN	= 1 << 3,
	DT_WC_IMM	= 1 << 4,
	DT_WC_QP_NUM	= 1 << 5,
	DT_WC_SRC_QP	= 1 << 6,
	DT_WC_FLAGS	= 1 << 7,
	DT_WC_PKEY	= 1 << 8,
	DT_WC_SLID	= 1 << 9,
	DT_WC_SL	= 1 << 10,
	DT_WC_DLID_BITS	= 1 << 11,
	/* What the contract defines for a requester's successful completion
	 * and for a responder's. */
	DT_WC_REQ	= DT_WC_WR_ID | DT_WC_STATUS | DT_WC_OPCODE |
			  DT_WC_BYTE_LEN | DT_WC_QP_NUM | DT_WC_FLAGS,
	DT_WC_RESP	= DT_WC_REQ | DT_WC_IMM | DT_WC_SRC_QP | DT_WC_PKEY |
			  DT_WC_SLID | DT_WC_SL,
	/* An error or flush completion: only these are valid. */
	DT_WC_ERR	= DT_WC_WR_ID | DT_WC_STATUS | DT_WC_QP_NUM,
};

/* 0 if they match; otherwise -1 and a line naming every differing field
 * (and both completions) in why. */
int dt_wc_check(const struct ibv_wc *got, const struct ibv_wc *want,
		unsigned int mask, char *why, size_t whylen);
/* "wr_id=.. status=.. opcode=.. ..." */
const char *dt_wc_str(const struct ibv_wc *wc, char *buf, size_t len);

/* Deterministic fill: byte i of a stream with `seed` (seed 0 is not zero). */
void dt_fill(void *p, size_t len, uint32_t seed);
/* Offset of the first byte that differs from dt_fill(seed), or -1. */
long dt_verify(const void *p, size_t len, uint32_t seed);

/* Monotonic milliseconds. */
uint64_t dt_now_ms(void);

/*
 * Tests whose sides are processes talking over a socketpair: write len
 * bytes of out (if any), then read len bytes into in (if any), whole;
 * dt_sync: one byte each way, a rendezvous.  0 or -1.
 */
int dt_xchg(int fd, const void *out, void *in, size_t len);
int dt_sync(int fd);
/*
 * Post wr signaled (its send_flags get IBV_SEND_SIGNALED) and wait up to
 * DT_TIMEOUT_MS for its completion, which must be wr's with status want;
 * stored in *out if out.  0, or -1 and why in why.
 */
int dt_post_wait(struct ibv_qp *qp, struct ibv_cq *cq, struct ibv_send_wr *wr,
		 enum ibv_wc_status want, struct ibv_wc *out, char *why, size_t whylen);

#endif /* RB_TESTS_DATATEST_H */
