/* SPDX-License-Identifier: MIT */
/*
 * What the data-path error tests share (tests/integration/dataerr-*.c and
 * idle.c): two contexts (two clients) with an RC QP each, connected; the
 * QP state changes; posting; and bounded waits that fail the case with
 * the line that waited.
 */
#ifndef RB_TESTS_INTEGRATION_DATAERR_LIB_H
#define RB_TESTS_INTEGRATION_DATAERR_LIB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <infiniband/verbs.h>

#define BUF_SIZE	16384		/* each registered buffer */
#define WAIT_MS		5000		/* for anything that must come */
#define QUIET_MS	100		/* for anything that must not */
#define CASE_ALARM	60		/* a hung case kills the program */
#define BAD_KEY		0xdeadbeefu
#define PSN_A		0x000100
#define PSN_B		0x000200
#define RD_ATOM		16
#define ACCESS_ALL	(IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE | \
			 IBV_ACCESS_REMOTE_READ | IBV_ACCESS_REMOTE_ATOMIC)
#define PAT_A		0x11		/* fill of the requester's buffers */
#define PAT_B		0x22		/* fill of the responder's buffers */

/* One client's side of a connection. */
struct end {
	struct ibv_context *ctx;
	struct ibv_pd *pd;
	struct ibv_cq *cq;
	struct ibv_qp *qp;
	uint8_t *buf;			/* mr: the PD's MR, access per case */
	struct ibv_mr *mr;
	uint8_t *ro;			/* mr_ro: the PD's MR without LOCAL_WRITE */
	struct ibv_mr *mr_ro;
	struct ibv_pd *pd2;		/* another PD ... */
	uint8_t *buf2;			/* ... with an MR of full access */
	struct ibv_mr *mr2;
};

/* How a pair is made; pair_defaults() for the usual. */
struct pair_opts {
	int mr_access[2];		/* [0] requester a, [1] responder b */
	int qp_access[2];
	uint8_t min_rnr_timer[2];
	uint8_t rnr_retry[2];
	int cqe[2];
	uint8_t timeout[2];		/* the local ACK timeout; 0: 14 (67 ms) */
};

/* Per case: the two contexts, the pair, and the table row if any. */
struct fix {
	struct ibv_device **list;
	struct ibv_device **list2;	/* RB_DT_SOCKETS: the second daemon's */
	struct ibv_context *ctx[2];
	struct end a, b;
	const void *row;
};

int64_t now_us(void);

/* One completion within ms: 1; 0 if none came; < 0 if polling failed. */
int wc_wait(struct ibv_cq *cq, struct ibv_wc *wc, int ms);

void expect_wc_at(int line, struct ibv_cq *cq, uint64_t wr_id,
		  enum ibv_wc_status st, uint32_t qpn, struct ibv_wc *out);

#define expect_wc(cq, id, st, qpn) expect_wc_at(__LINE__, cq, id, st, qpn, NULL)

void expect_no_wc_at(int line, struct ibv_cq *cq, int ms);

#define expect_no_wc(cq, ms) expect_no_wc_at(__LINE__, cq, ms)

enum ibv_qp_state qp_state(struct ibv_qp *qp);

const char *state_str(enum ibv_qp_state s);

void expect_state_at(int line, struct ibv_qp *qp, enum ibv_qp_state want);

#define expect_state(qp, st) expect_state_at(__LINE__, qp, st)

/* An async event within ms: 0; -1 if none came or it could not be read. */
int async_wait(struct ibv_context *ctx, struct ibv_async_event *ev, int ms);

/* The next async event is `type` for the QP or CQ `elem`; acked. */
void expect_async_at(int line, struct ibv_context *ctx,
		     enum ibv_event_type type, const void *elem);

#define expect_async(ctx, type, elem) expect_async_at(__LINE__, ctx, type, elem)

void expect_no_async_at(int line, struct ibv_context *ctx, int ms);

#define expect_no_async(ctx, ms) expect_no_async_at(__LINE__, ctx, ms)

/* Read and ack whatever async events are queued (bounded: EOF repeats). */
void drain_async(struct ibv_context *ctx);

int all_bytes(const uint8_t *p, size_t n, uint8_t v);

int qp_init(struct ibv_qp *qp, int access);

int qp_rtr(struct ibv_qp *qp, uint32_t dest, uint32_t rq_psn,
	   uint8_t min_rnr_timer);

int qp_rts(struct ibv_qp *qp, uint32_t sq_psn, uint8_t rnr_retry);

struct ibv_qp *qp_create(struct ibv_pd *pd, struct ibv_cq *cq);

struct ibv_mr *buf_reg(struct ibv_pd *pd, uint8_t **buf, int access,
		       uint8_t fill);

/* 0, or -1 with what was made left for end_close(). */
int end_open(struct end *e, struct ibv_context *ctx, int cqe,
	     int mr_access, uint8_t fill);

void end_close(struct end *e);

struct pair_opts pair_defaults(void);

int pair_connect(struct end *a, struct end *b, const struct pair_opts *o);

/* a (requester, context 0) and b (responder, context 1), both in RTS. */
void pair_open(struct fix *f, const struct pair_opts *o);

/*
 * Destroying a connected QP may raise an event on its peer, and
 * ibv_destroy_qp waits until every event it was handed is acked: drain
 * before each destroy, after taking both QPs out of the connection.
 */
void pair_close(struct fix *f);

int ctx_open(struct fix *f);

void ctx_close(struct fix *f);

int fix_setup(void **state);

int fix_teardown(void **state);

struct ibv_sge sge_of(const void *addr, uint32_t len, uint32_t lkey);

void wr_set(struct ibv_send_wr *wr, uint64_t id, enum ibv_wr_opcode op,
	    struct ibv_sge *sge, int signaled);

void wr_remote(struct ibv_send_wr *wr, uint64_t raddr, uint32_t rkey);

void post_send_ok(struct ibv_qp *qp, struct ibv_send_wr *wr);

/* A signaled SEND of len bytes from e->buf + off. */
void post_send1(struct end *e, uint64_t id, size_t off, uint32_t len,
		int signaled);

void post_recv_sge(struct ibv_qp *qp, uint64_t id, struct ibv_sge *s);

void post_recv1(struct end *e, uint64_t id, size_t off, uint32_t len);

/* The SGE an error case names, in e's buffers. */
enum key_kind { KEY_GOOD, KEY_BAD, KEY_OTHER_PD, KEY_NO_LOCAL_WRITE };

struct ibv_sge sge_kind(struct end *e, enum key_kind k, long off,
			uint32_t len);

#endif /* RB_TESTS_INTEGRATION_DATAERR_LIB_H */
