/* SPDX-License-Identifier: MIT */
/*
 * Error semantics of the soft device's RC data path, through a real daemon
 * (tests/integration/dataerr.sh): every case connects two QPs of two contexts
 * (two clients) and checks the error completion (status, wr_id, qp_num),
 * the flush of the WRs behind it, the QP states from ibv_query_qp, and the
 * async event the contract names:
 *   - local protection and length errors at the requester;
 *   - remote access errors (bad rkey, bounds, MR or QP access flags,
 *     another PD's MR) and misaligned atomics, which also move the
 *     responder to ERR with IBV_EVENT_QP_ACCESS_ERR / IBV_EVENT_QP_REQ_ERR;
 *   - receive errors at the responder (too small, bad SGE);
 *   - RNR retry exhausted, and RNR retried until a receive arrives;
 *   - a dest QPN that is gone, not ready or not connected back;
 *   - flush on ibv_modify_qp(ERR), and of WRs posted in ERR;
 *   - CQ overrun as IBV_EVENT_CQ_ERR;
 *   - atomics from two client processes on one counter;
 *   - a peer QP destroyed, and a peer process SIGKILLed.
 * With RB_DATAERR_DEVICE_ONLY set (the verbs driver over a nested broker)
 * the receive cases with a bad SGE are left out: the broker refuses such
 * a WQE at post time, before any device sees it.
 * Every wait is bounded, so a missing completion or event fails the case.
 *
 * `client-dataerr hold idle` (tests/integration/dataerr-idle.sh) connects a pair, does
 * 1000 round trips, prints "ready" and waits to be killed.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <infiniband/verbs.h>

#include "tests/lib/clienttest.h"

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
};

/* Per case: the two contexts, the pair, and the table row if any. */
struct fix {
	struct ibv_device **list;
	struct ibv_context *ctx[2];
	struct end a, b;
	const void *row;
};

/* ---- small helpers ---------------------------------------------------- */

static int64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* One completion within ms: 1; 0 if none came; < 0 if polling failed. */
static int wc_wait(struct ibv_cq *cq, struct ibv_wc *wc, int ms)
{
	int64_t end = now_us() + (int64_t)ms * 1000;
	int n;

	for (;;) {
		n = ibv_poll_cq(cq, 1, wc);
		if (n != 0)
			return n;
		if (now_us() >= end)
			return 0;
		/* Leave the core to the engine on a 2-vCPU box. */
		sched_yield();
	}
}

static void expect_wc_at(int line, struct ibv_cq *cq, uint64_t wr_id,
			 enum ibv_wc_status st, uint32_t qpn, struct ibv_wc *out)
{
	struct ibv_wc wc;
	int n;

	memset(&wc, 0, sizeof(wc));
	n = wc_wait(cq, &wc, WAIT_MS);
	if (n != 1)
		fail_msg("line %d: want wr_id %" PRIu64 " %s on QP %#x: %s", line,
			 wr_id, ibv_wc_status_str(st), qpn,
			 n == 0 ? "no completion within 5 s" : "ibv_poll_cq failed");
	if (wc.wr_id != wr_id || wc.status != st || wc.qp_num != qpn)
		fail_msg("line %d: want wr_id %" PRIu64 " %s on QP %#x, got wr_id %"
			 PRIu64 " %s (vendor_err %u) on QP %#x", line, wr_id,
			 ibv_wc_status_str(st), qpn, wc.wr_id,
			 ibv_wc_status_str(wc.status), wc.vendor_err, wc.qp_num);
	if (out)
		*out = wc;
}
#define expect_wc(cq, id, st, qpn) expect_wc_at(__LINE__, cq, id, st, qpn, NULL)

static void expect_no_wc_at(int line, struct ibv_cq *cq, int ms)
{
	struct ibv_wc wc;

	if (wc_wait(cq, &wc, ms) != 0)
		fail_msg("line %d: unexpected completion wr_id %" PRIu64 " %s on QP %#x",
			 line, wc.wr_id, ibv_wc_status_str(wc.status), wc.qp_num);
}
#define expect_no_wc(cq, ms) expect_no_wc_at(__LINE__, cq, ms)

static enum ibv_qp_state qp_state(struct ibv_qp *qp)
{
	struct ibv_qp_attr a;
	struct ibv_qp_init_attr ia;

	assert_int_equal(ibv_query_qp(qp, &a, IBV_QP_STATE, &ia), 0);
	return a.qp_state;
}

static const char *state_str(enum ibv_qp_state s)
{
	static const char *const names[] = { "RESET", "INIT", "RTR", "RTS",
					     "SQD", "SQE", "ERR" };

	return (unsigned)s < 7 ? names[s] : "?";
}

static void expect_state_at(int line, struct ibv_qp *qp, enum ibv_qp_state want)
{
	enum ibv_qp_state got = qp_state(qp);

	if (got != want)
		fail_msg("line %d: QP %#x is in %s, want %s", line, qp->qp_num,
			 state_str(got), state_str(want));
}
#define expect_state(qp, st) expect_state_at(__LINE__, qp, st)

/* An async event within ms: 0; -1 if none came or it could not be read. */
static int async_wait(struct ibv_context *ctx, struct ibv_async_event *ev, int ms)
{
	struct pollfd p = { .fd = ctx->async_fd, .events = POLLIN };
	int64_t end = now_us() + (int64_t)ms * 1000;
	int64_t left;
	int r;

	for (;;) {
		left = (end - now_us()) / 1000;
		r = poll(&p, 1, left > 0 ? (int)left : 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		return ibv_get_async_event(ctx, ev);
	}
}

/* The next async event is `type` for the QP or CQ `elem`; acked. */
static void expect_async_at(int line, struct ibv_context *ctx,
			    enum ibv_event_type type, const void *elem)
{
	struct ibv_async_event ev;
	const void *got;

	if (async_wait(ctx, &ev, WAIT_MS))
		fail_msg("line %d: no async event %s within 5 s", line,
			 ibv_event_type_str(type));
	got = ev.event_type == IBV_EVENT_CQ_ERR ? (const void *)ev.element.cq :
						    (const void *)ev.element.qp;
	ibv_ack_async_event(&ev);
	if (ev.event_type != type)
		fail_msg("line %d: async event %s, want %s", line,
			 ibv_event_type_str(ev.event_type), ibv_event_type_str(type));
	if (got != elem)
		fail_msg("line %d: async event %s for the wrong object", line,
			 ibv_event_type_str(type));
}
#define expect_async(ctx, type, elem) expect_async_at(__LINE__, ctx, type, elem)

static void expect_no_async_at(int line, struct ibv_context *ctx, int ms)
{
	struct ibv_async_event ev;

	if (async_wait(ctx, &ev, ms) == 0) {
		ibv_ack_async_event(&ev);
		fail_msg("line %d: unexpected async event %s", line,
			 ibv_event_type_str(ev.event_type));
	}
}
#define expect_no_async(ctx, ms) expect_no_async_at(__LINE__, ctx, ms)

/* Read and ack whatever async events are queued (bounded: EOF repeats). */
static void drain_async(struct ibv_context *ctx)
{
	struct ibv_async_event ev;
	struct pollfd p = { .fd = ctx->async_fd, .events = POLLIN };
	int i;

	for (i = 0; i < 100 && poll(&p, 1, 0) > 0; i++)
		if (ibv_get_async_event(ctx, &ev) == 0)
			ibv_ack_async_event(&ev);
}

static int all_bytes(const uint8_t *p, size_t n, uint8_t v)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (p[i] != v)
			return 0;
	return 1;
}

/* ---- QP state changes (0 or errno, so forked children can use them) --- */

static int qp_init(struct ibv_qp *qp, int access)
{
	struct ibv_qp_attr a = {
		.qp_state = IBV_QPS_INIT, .pkey_index = 0, .port_num = 1,
		.qp_access_flags = (unsigned)access,
	};

	return ibv_modify_qp(qp, &a, IBV_QP_STATE | IBV_QP_PKEY_INDEX |
			     IBV_QP_PORT | IBV_QP_ACCESS_FLAGS);
}

static int qp_rtr(struct ibv_qp *qp, uint32_t dest, uint32_t rq_psn,
		  uint8_t min_rnr_timer)
{
	struct ibv_qp_attr a = {
		.qp_state = IBV_QPS_RTR, .path_mtu = IBV_MTU_1024,
		.dest_qp_num = dest, .rq_psn = rq_psn,
		.max_dest_rd_atomic = RD_ATOM, .min_rnr_timer = min_rnr_timer,
		.ah_attr = { .is_global = 1, .port_num = 1,
			     .grh = { .hop_limit = 1, .sgid_index = 0 } },
	};

	if (ibv_query_gid(qp->context, 1, 0, &a.ah_attr.grh.dgid))
		return EIO;
	return ibv_modify_qp(qp, &a, IBV_QP_STATE | IBV_QP_AV | IBV_QP_PATH_MTU |
			     IBV_QP_DEST_QPN | IBV_QP_RQ_PSN |
			     IBV_QP_MAX_DEST_RD_ATOMIC | IBV_QP_MIN_RNR_TIMER);
}

static int qp_rts(struct ibv_qp *qp, uint32_t sq_psn, uint8_t rnr_retry)
{
	struct ibv_qp_attr a = {
		.qp_state = IBV_QPS_RTS, .timeout = 14, .retry_cnt = 7,
		.rnr_retry = rnr_retry, .sq_psn = sq_psn,
		.max_rd_atomic = RD_ATOM,
	};

	return ibv_modify_qp(qp, &a, IBV_QP_STATE | IBV_QP_TIMEOUT |
			     IBV_QP_RETRY_CNT | IBV_QP_RNR_RETRY |
			     IBV_QP_SQ_PSN | IBV_QP_MAX_QP_RD_ATOMIC);
}

static struct ibv_qp *qp_create(struct ibv_pd *pd, struct ibv_cq *cq)
{
	struct ibv_qp_init_attr a = {
		.send_cq = cq, .recv_cq = cq, .qp_type = IBV_QPT_RC,
		.cap = { .max_send_wr = 32, .max_recv_wr = 32, .max_send_sge = 2,
			 .max_recv_sge = 2, .max_inline_data = 64 },
	};

	return ibv_create_qp(pd, &a);
}

/* ---- one side, and a connected pair ---------------------------------- */

static struct ibv_mr *buf_reg(struct ibv_pd *pd, uint8_t **buf, int access,
			      uint8_t fill)
{
	*buf = aligned_alloc(4096, BUF_SIZE);
	if (!*buf)
		return NULL;
	memset(*buf, fill, BUF_SIZE);
	return ibv_reg_mr(pd, *buf, BUF_SIZE, access);
}

/* 0, or -1 with what was made left for end_close(). */
static int end_open(struct end *e, struct ibv_context *ctx, int cqe,
		    int mr_access, uint8_t fill)
{
	e->ctx = ctx;
	e->pd = ibv_alloc_pd(ctx);
	e->pd2 = ibv_alloc_pd(ctx);
	e->cq = ibv_create_cq(ctx, cqe, NULL, NULL, 0);
	if (!e->pd || !e->pd2 || !e->cq)
		return -1;
	e->mr = buf_reg(e->pd, &e->buf, mr_access, fill);
	e->mr_ro = buf_reg(e->pd, &e->ro, 0, fill);
	e->mr2 = buf_reg(e->pd2, &e->buf2, ACCESS_ALL, fill);
	e->qp = qp_create(e->pd, e->cq);
	return e->mr && e->mr_ro && e->mr2 && e->qp ? 0 : -1;
}

static void end_close(struct end *e)
{
	if (e->qp)
		ibv_destroy_qp(e->qp);
	if (e->mr)
		ibv_dereg_mr(e->mr);
	if (e->mr_ro)
		ibv_dereg_mr(e->mr_ro);
	if (e->mr2)
		ibv_dereg_mr(e->mr2);
	if (e->cq)
		ibv_destroy_cq(e->cq);
	if (e->pd2)
		ibv_dealloc_pd(e->pd2);
	if (e->pd)
		ibv_dealloc_pd(e->pd);
	free(e->buf);
	free(e->ro);
	free(e->buf2);
	memset(e, 0, sizeof(*e));
}

static struct pair_opts pair_defaults(void)
{
	struct pair_opts o = {
		.mr_access = { ACCESS_ALL, ACCESS_ALL },
		.qp_access = { ACCESS_ALL, ACCESS_ALL },
		.min_rnr_timer = { 1, 1 },
		.rnr_retry = { 3, 3 },
		.cqe = { 64, 64 },
	};

	return o;
}

static int pair_connect(struct end *a, struct end *b, const struct pair_opts *o)
{
	int ret;

	if ((ret = qp_init(a->qp, o->qp_access[0])) ||
	    (ret = qp_init(b->qp, o->qp_access[1])) ||
	    (ret = qp_rtr(a->qp, b->qp->qp_num, PSN_B, o->min_rnr_timer[0])) ||
	    (ret = qp_rtr(b->qp, a->qp->qp_num, PSN_A, o->min_rnr_timer[1])) ||
	    (ret = qp_rts(a->qp, PSN_A, o->rnr_retry[0])) ||
	    (ret = qp_rts(b->qp, PSN_B, o->rnr_retry[1])))
		return ret;
	return 0;
}

/* a (requester, context 0) and b (responder, context 1), both in RTS. */
static void pair_open(struct fix *f, const struct pair_opts *o)
{
	assert_int_equal(end_open(&f->a, f->ctx[0], o->cqe[0], o->mr_access[0], PAT_A), 0);
	assert_int_equal(end_open(&f->b, f->ctx[1], o->cqe[1], o->mr_access[1], PAT_B), 0);
	assert_int_equal(pair_connect(&f->a, &f->b, o), 0);
}

/*
 * Destroying a connected QP may raise an event on its peer, and
 * ibv_destroy_qp waits until every event it was handed is acked: drain
 * before each destroy, after taking both QPs out of the connection.
 */
static void pair_close(struct fix *f)
{
	struct ibv_qp_attr reset = { .qp_state = IBV_QPS_RESET };

	drain_async(f->ctx[0]);
	drain_async(f->ctx[1]);
	if (f->a.qp)
		ibv_modify_qp(f->a.qp, &reset, IBV_QP_STATE);
	if (f->b.qp)
		ibv_modify_qp(f->b.qp, &reset, IBV_QP_STATE);
	drain_async(f->ctx[0]);
	drain_async(f->ctx[1]);
	end_close(&f->a);
	drain_async(f->ctx[1]);
	end_close(&f->b);
}

static int ctx_open(struct fix *f)
{
	int n;

	f->list = ibv_get_device_list(&n);
	if (!f->list || n < 1)
		return -1;
	f->ctx[0] = ibv_open_device(f->list[0]);
	f->ctx[1] = ibv_open_device(f->list[0]);
	return f->ctx[0] && f->ctx[1] ? 0 : -1;
}

static void ctx_close(struct fix *f)
{
	if (f->ctx[0])
		ibv_close_device(f->ctx[0]);
	if (f->ctx[1])
		ibv_close_device(f->ctx[1]);
	if (f->list)
		ibv_free_device_list(f->list);
	f->list = NULL;
	f->ctx[0] = f->ctx[1] = NULL;
}

static int fix_setup(void **state)
{
	struct fix *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	f->row = *state;
	*state = f;
	alarm(CASE_ALARM);
	return ctx_open(f);
}

static int fix_teardown(void **state)
{
	struct fix *f = *state;

	pair_close(f);
	ctx_close(f);
	free(f);
	alarm(0);
	return 0;
}

/* ---- work requests ---------------------------------------------------- */

static struct ibv_sge sge_of(const void *addr, uint32_t len, uint32_t lkey)
{
	struct ibv_sge s = { .addr = (uintptr_t)addr, .length = len, .lkey = lkey };

	return s;
}

static void wr_set(struct ibv_send_wr *wr, uint64_t id, enum ibv_wr_opcode op,
		   struct ibv_sge *sge, int signaled)
{
	memset(wr, 0, sizeof(*wr));
	wr->wr_id = id;
	wr->opcode = op;
	wr->sg_list = sge;
	wr->num_sge = sge ? 1 : 0;
	wr->send_flags = signaled ? IBV_SEND_SIGNALED : 0;
}

static void wr_remote(struct ibv_send_wr *wr, uint64_t raddr, uint32_t rkey)
{
	if (wr->opcode == IBV_WR_ATOMIC_FETCH_AND_ADD ||
	    wr->opcode == IBV_WR_ATOMIC_CMP_AND_SWP) {
		wr->wr.atomic.remote_addr = raddr;
		wr->wr.atomic.rkey = rkey;
		wr->wr.atomic.compare_add = 1;
		wr->wr.atomic.swap = 0x5555;
	} else {
		wr->wr.rdma.remote_addr = raddr;
		wr->wr.rdma.rkey = rkey;
	}
}

static void post_send_ok(struct ibv_qp *qp, struct ibv_send_wr *wr)
{
	struct ibv_send_wr *bad = NULL;

	assert_int_equal(ibv_post_send(qp, wr, &bad), 0);
}

/* A signaled SEND of len bytes from e->buf + off. */
static void post_send1(struct end *e, uint64_t id, size_t off, uint32_t len,
		       int signaled)
{
	struct ibv_sge s = sge_of(e->buf + off, len, e->mr->lkey);
	struct ibv_send_wr wr;

	wr_set(&wr, id, IBV_WR_SEND, &s, signaled);
	post_send_ok(e->qp, &wr);
}

static void post_recv_sge(struct ibv_qp *qp, uint64_t id, struct ibv_sge *s)
{
	struct ibv_recv_wr wr = { .wr_id = id, .sg_list = s, .num_sge = 1 };
	struct ibv_recv_wr *bad = NULL;

	assert_int_equal(ibv_post_recv(qp, &wr, &bad), 0);
}

static void post_recv1(struct end *e, uint64_t id, size_t off, uint32_t len)
{
	struct ibv_sge s = sge_of(e->buf + off, len, e->mr->lkey);

	post_recv_sge(e->qp, id, &s);
}

/* The SGE an error case names, in e's buffers. */
enum key_kind { KEY_GOOD, KEY_BAD, KEY_OTHER_PD, KEY_NO_LOCAL_WRITE };

static struct ibv_sge sge_kind(struct end *e, enum key_kind k, long off,
			       uint32_t len)
{
	uintptr_t base = (uintptr_t)(k == KEY_OTHER_PD ? e->buf2 :
				     k == KEY_NO_LOCAL_WRITE ? e->ro : e->buf);
	uint32_t key = k == KEY_BAD ? BAD_KEY : k == KEY_OTHER_PD ? e->mr2->lkey :
		       k == KEY_NO_LOCAL_WRITE ? e->mr_ro->lkey : e->mr->lkey;
	struct ibv_sge s = { .addr = base + (uintptr_t)off, .length = len, .lkey = key };

	return s;
}

/* ---- local errors at the requester ------------------------------------ */

struct local_case {
	const char *name;
	enum ibv_wr_opcode op;
	enum key_kind key;
	long off;
	uint32_t len;
	enum ibv_wc_status want;
};

static const struct local_case local_cases[] = {
	{ "send_bad_lkey", IBV_WR_SEND, KEY_BAD, 0, 64, IBV_WC_LOC_PROT_ERR },
	{ "send_past_mr_end", IBV_WR_SEND, KEY_GOOD, BUF_SIZE - 32, 64, IBV_WC_LOC_PROT_ERR },
	{ "send_before_mr_start", IBV_WR_SEND, KEY_GOOD, -64, 64, IBV_WC_LOC_PROT_ERR },
	{ "send_other_pd_mr", IBV_WR_SEND, KEY_OTHER_PD, 0, 64, IBV_WC_LOC_PROT_ERR },
	{ "write_bad_lkey", IBV_WR_RDMA_WRITE, KEY_BAD, 0, 64, IBV_WC_LOC_PROT_ERR },
	{ "read_into_mr_without_local_write", IBV_WR_RDMA_READ, KEY_NO_LOCAL_WRITE, 0, 64,
	  IBV_WC_LOC_PROT_ERR },
	{ "read_past_mr_end", IBV_WR_RDMA_READ, KEY_GOOD, BUF_SIZE - 32, 64, IBV_WC_LOC_PROT_ERR },
	{ "read_other_pd_mr", IBV_WR_RDMA_READ, KEY_OTHER_PD, 0, 64, IBV_WC_LOC_PROT_ERR },
	{ "faa_into_mr_without_local_write", IBV_WR_ATOMIC_FETCH_AND_ADD,
	  KEY_NO_LOCAL_WRITE, 0, 8, IBV_WC_LOC_PROT_ERR },
	{ "cas_bad_lkey", IBV_WR_ATOMIC_CMP_AND_SWP, KEY_BAD, 0, 8, IBV_WC_LOC_PROT_ERR },
	{ "faa_sge_len_4", IBV_WR_ATOMIC_FETCH_AND_ADD, KEY_GOOD, 0, 4, IBV_WC_LOC_LEN_ERR },
	{ "cas_sge_len_16", IBV_WR_ATOMIC_CMP_AND_SWP, KEY_GOOD, 0, 16, IBV_WC_LOC_LEN_ERR },
};

/*
 * The failing WR completes with the local error, the two behind it (one
 * unsignaled) flush, the requester is in ERR; nothing reached the
 * responder: no completion, no event, its memory unchanged, still RTS.
 */
static void test_local(void **state)
{
	struct fix *f = *state;
	const struct local_case *c = f->row;
	struct pair_opts o = pair_defaults();
	struct ibv_send_wr wr[3];
	struct ibv_sge s[3];

	pair_open(f, &o);
	post_recv1(&f->b, 50, 8192, 1024);
	s[0] = sge_kind(&f->a, c->key, c->off, c->len);
	wr_set(&wr[0], 10, c->op, &s[0], 1);
	wr_remote(&wr[0], (uintptr_t)f->b.buf, f->b.mr->rkey);
	s[1] = sge_of(f->a.buf + 4096, 64, f->a.mr->lkey);
	wr_set(&wr[1], 11, IBV_WR_SEND, &s[1], 1);
	s[2] = s[1];
	wr_set(&wr[2], 12, IBV_WR_RDMA_WRITE, &s[2], 0);
	wr_remote(&wr[2], (uintptr_t)f->b.buf + 4096, f->b.mr->rkey);
	wr[0].next = &wr[1];
	wr[1].next = &wr[2];
	post_send_ok(f->a.qp, wr);

	expect_wc(f->a.cq, 10, c->want, f->a.qp->qp_num);
	expect_wc(f->a.cq, 11, IBV_WC_WR_FLUSH_ERR, f->a.qp->qp_num);
	expect_wc(f->a.cq, 12, IBV_WC_WR_FLUSH_ERR, f->a.qp->qp_num);
	expect_no_wc(f->a.cq, 0);
	expect_state(f->a.qp, IBV_QPS_ERR);

	expect_no_wc(f->b.cq, QUIET_MS);
	expect_no_async(f->b.ctx, 0);
	expect_state(f->b.qp, IBV_QPS_RTS);
	assert_true(all_bytes(f->b.buf, BUF_SIZE, PAT_B));
	/* The local destinations of READ and atomics stay as they were. */
	assert_true(all_bytes(f->a.buf, BUF_SIZE, PAT_A));
	assert_true(all_bytes(f->a.ro, BUF_SIZE, PAT_A));
	assert_true(all_bytes(f->a.buf2, BUF_SIZE, PAT_A));
}

/* ---- remote errors: the requester and the responder ------------------- */

struct remote_case {
	const char *name;
	enum ibv_wr_opcode op;
	int mr_access;			/* the responder's MR */
	int qp_access;			/* the responder's qp_access_flags */
	enum key_kind rkey;		/* KEY_GOOD, KEY_BAD or KEY_OTHER_PD */
	long off;			/* remote_addr - the MR's start */
	uint32_t len;
	enum ibv_wc_status want;
	enum ibv_event_type event;	/* at the responder */
};

#define NO_RW	(ACCESS_ALL & ~IBV_ACCESS_REMOTE_WRITE)
#define NO_RR	(ACCESS_ALL & ~IBV_ACCESS_REMOTE_READ)
#define NO_RA	(ACCESS_ALL & ~IBV_ACCESS_REMOTE_ATOMIC)
#define REM_ACC	IBV_WC_REM_ACCESS_ERR, IBV_EVENT_QP_ACCESS_ERR

static const struct remote_case remote_cases[] = {
	{ "write_bad_rkey", IBV_WR_RDMA_WRITE, ACCESS_ALL, ACCESS_ALL, KEY_BAD, 0, 64, REM_ACC },
	{ "read_bad_rkey", IBV_WR_RDMA_READ, ACCESS_ALL, ACCESS_ALL, KEY_BAD, 0, 64, REM_ACC },
	{ "faa_bad_rkey", IBV_WR_ATOMIC_FETCH_AND_ADD, ACCESS_ALL, ACCESS_ALL, KEY_BAD, 0, 8,
	  REM_ACC },
	{ "cas_bad_rkey", IBV_WR_ATOMIC_CMP_AND_SWP, ACCESS_ALL, ACCESS_ALL, KEY_BAD, 0, 8,
	  REM_ACC },
	{ "write_mr_without_remote_write", IBV_WR_RDMA_WRITE, NO_RW, ACCESS_ALL, KEY_GOOD, 0, 64,
	  REM_ACC },
	{ "read_mr_without_remote_read", IBV_WR_RDMA_READ, NO_RR, ACCESS_ALL, KEY_GOOD, 0, 64,
	  REM_ACC },
	{ "faa_mr_without_remote_atomic", IBV_WR_ATOMIC_FETCH_AND_ADD, NO_RA, ACCESS_ALL,
	  KEY_GOOD, 0, 8, REM_ACC },
	{ "write_past_mr_end", IBV_WR_RDMA_WRITE, ACCESS_ALL, ACCESS_ALL, KEY_GOOD,
	  BUF_SIZE - 32, 64, REM_ACC },
	{ "read_before_mr_start", IBV_WR_RDMA_READ, ACCESS_ALL, ACCESS_ALL, KEY_GOOD, -64, 64,
	  REM_ACC },
	{ "cas_past_mr_end", IBV_WR_ATOMIC_CMP_AND_SWP, ACCESS_ALL, ACCESS_ALL, KEY_GOOD,
	  BUF_SIZE, 8, REM_ACC },
	{ "write_other_pd_mr", IBV_WR_RDMA_WRITE, ACCESS_ALL, ACCESS_ALL, KEY_OTHER_PD, 0, 64,
	  REM_ACC },
	{ "faa_other_pd_mr", IBV_WR_ATOMIC_FETCH_AND_ADD, ACCESS_ALL, ACCESS_ALL, KEY_OTHER_PD,
	  0, 8, REM_ACC },
	{ "write_qp_without_remote_write", IBV_WR_RDMA_WRITE, ACCESS_ALL, NO_RW, KEY_GOOD, 0, 64,
	  REM_ACC },
	{ "read_qp_without_remote_read", IBV_WR_RDMA_READ, ACCESS_ALL, NO_RR, KEY_GOOD, 0, 64,
	  REM_ACC },
	{ "cas_qp_without_remote_atomic", IBV_WR_ATOMIC_CMP_AND_SWP, ACCESS_ALL, NO_RA,
	  KEY_GOOD, 0, 8, REM_ACC },
	{ "faa_misaligned", IBV_WR_ATOMIC_FETCH_AND_ADD, ACCESS_ALL, ACCESS_ALL, KEY_GOOD, 4, 8,
	  IBV_WC_REM_INV_REQ_ERR, IBV_EVENT_QP_REQ_ERR },
	{ "cas_misaligned", IBV_WR_ATOMIC_CMP_AND_SWP, ACCESS_ALL, ACCESS_ALL, KEY_GOOD, 12, 8,
	  IBV_WC_REM_INV_REQ_ERR, IBV_EVENT_QP_REQ_ERR },
};

/*
 * The requester gets the remote error, the WRs behind it flush, and it is
 * in ERR; the responder gets the async event, goes to ERR and flushes its
 * posted receive; no memory on either side changed.
 */
static void test_remote(void **state)
{
	struct fix *f = *state;
	const struct remote_case *c = f->row;
	struct pair_opts o = pair_defaults();
	struct ibv_send_wr wr[3];
	struct ibv_sge s[3];
	uintptr_t base;
	uint32_t rkey;

	o.mr_access[1] = c->mr_access;
	o.qp_access[1] = c->qp_access;
	pair_open(f, &o);
	post_recv1(&f->b, 50, 8192, 1024);
	base = (uintptr_t)(c->rkey == KEY_OTHER_PD ? f->b.buf2 : f->b.buf);
	rkey = c->rkey == KEY_BAD ? BAD_KEY :
	       c->rkey == KEY_OTHER_PD ? f->b.mr2->rkey : f->b.mr->rkey;
	s[0] = sge_of(f->a.buf, c->len, f->a.mr->lkey);
	wr_set(&wr[0], 10, c->op, &s[0], 1);
	wr_remote(&wr[0], base + (uintptr_t)c->off, rkey);
	s[1] = sge_of(f->a.buf + 4096, 64, f->a.mr->lkey);
	wr_set(&wr[1], 11, IBV_WR_RDMA_WRITE, &s[1], 1);
	wr_remote(&wr[1], (uintptr_t)f->b.buf + 4096, f->b.mr->rkey);
	s[2] = s[1];
	wr_set(&wr[2], 12, IBV_WR_SEND, &s[2], 0);
	wr[0].next = &wr[1];
	wr[1].next = &wr[2];
	post_send_ok(f->a.qp, wr);

	expect_wc(f->a.cq, 10, c->want, f->a.qp->qp_num);
	expect_wc(f->a.cq, 11, IBV_WC_WR_FLUSH_ERR, f->a.qp->qp_num);
	expect_wc(f->a.cq, 12, IBV_WC_WR_FLUSH_ERR, f->a.qp->qp_num);
	expect_no_wc(f->a.cq, 0);
	expect_state(f->a.qp, IBV_QPS_ERR);

	expect_async(f->b.ctx, c->event, f->b.qp);
	expect_wc(f->b.cq, 50, IBV_WC_WR_FLUSH_ERR, f->b.qp->qp_num);
	expect_no_wc(f->b.cq, 0);
	expect_state(f->b.qp, IBV_QPS_ERR);

	assert_true(all_bytes(f->b.buf, BUF_SIZE, PAT_B));
	assert_true(all_bytes(f->b.buf2, BUF_SIZE, PAT_B));
	assert_true(all_bytes(f->a.buf, BUF_SIZE, PAT_A));
}

/* ---- receive errors at the responder ---------------------------------- */

struct recv_case {
	const char *name;
	enum key_kind key;
	long off;
	uint32_t len;			/* of the receive; the SEND is 64 bytes */
	enum ibv_wc_status want_resp;
	enum ibv_wc_status want_req;
};

static const struct recv_case recv_cases[] = {
	{ "recv_too_small", KEY_GOOD, 0, 16, IBV_WC_LOC_LEN_ERR, IBV_WC_REM_INV_REQ_ERR },
	{ "recv_bad_lkey", KEY_BAD, 0, 1024, IBV_WC_LOC_PROT_ERR, IBV_WC_REM_OP_ERR },
	{ "recv_mr_without_local_write", KEY_NO_LOCAL_WRITE, 0, 1024, IBV_WC_LOC_PROT_ERR,
	  IBV_WC_REM_OP_ERR },
	{ "recv_past_mr_end", KEY_GOOD, BUF_SIZE - 32, 64, IBV_WC_LOC_PROT_ERR,
	  IBV_WC_REM_OP_ERR },
	{ "recv_other_pd_mr", KEY_OTHER_PD, 0, 1024, IBV_WC_LOC_PROT_ERR, IBV_WC_REM_OP_ERR },
};

/* Both ends complete with their error, flush what is behind, and go to ERR. */
static void test_recv(void **state)
{
	struct fix *f = *state;
	const struct recv_case *c = f->row;
	struct pair_opts o = pair_defaults();
	struct ibv_sge s;

	pair_open(f, &o);
	s = sge_kind(&f->b, c->key, c->off, c->len);
	post_recv_sge(f->b.qp, 50, &s);
	post_recv1(&f->b, 51, 8192, 1024);
	post_send1(&f->a, 10, 0, 64, 1);
	post_send1(&f->a, 11, 0, 64, 1);

	expect_wc(f->b.cq, 50, c->want_resp, f->b.qp->qp_num);
	expect_wc(f->b.cq, 51, IBV_WC_WR_FLUSH_ERR, f->b.qp->qp_num);
	expect_no_wc(f->b.cq, 0);
	expect_wc(f->a.cq, 10, c->want_req, f->a.qp->qp_num);
	expect_wc(f->a.cq, 11, IBV_WC_WR_FLUSH_ERR, f->a.qp->qp_num);
	expect_no_wc(f->a.cq, 0);
	expect_state(f->a.qp, IBV_QPS_ERR);
	expect_state(f->b.qp, IBV_QPS_ERR);
	/* The good receive behind the bad one got nothing. */
	assert_true(all_bytes(f->b.buf + 8192, 1024, PAT_B));
}

/* ---- RNR ---------------------------------------------------------------- */

/*
 * rnr_retry 2, responder min_rnr_timer 1 (0.01 ms), no receive: the SEND
 * fails with IBV_WC_RNR_RETRY_EXC_ERR well under a second; the WR behind
 * it flushes; the responder, which did nothing wrong, stays in RTS.
 */
static void test_rnr_exceeded(void **state)
{
	struct fix *f = *state;
	struct pair_opts o = pair_defaults();
	int64_t t0, dt;

	o.rnr_retry[0] = 2;
	o.min_rnr_timer[1] = 1;
	pair_open(f, &o);
	t0 = now_us();
	post_send1(&f->a, 1, 0, 64, 1);
	post_send1(&f->a, 2, 0, 64, 0);
	expect_wc(f->a.cq, 1, IBV_WC_RNR_RETRY_EXC_ERR, f->a.qp->qp_num);
	dt = now_us() - t0;
	print_message("RNR retry exceeded after %" PRId64 " us\n", dt);
	assert_true(dt < 500000);
	expect_wc(f->a.cq, 2, IBV_WC_WR_FLUSH_ERR, f->a.qp->qp_num);
	expect_state(f->a.qp, IBV_QPS_ERR);
	expect_no_wc(f->b.cq, 0);
	expect_state(f->b.qp, IBV_QPS_RTS);
}

/*
 * rnr_retry 7 (forever), responder min_rnr_timer 12 (0.64 ms): the SEND
 * waits without a completion while no receive is posted; a receive posted
 * 50 ms later gets the data and both complete successfully.
 */
static void test_rnr_infinite(void **state)
{
	struct fix *f = *state;
	struct pair_opts o = pair_defaults();
	struct ibv_wc wc;
	size_t i;

	o.rnr_retry[0] = 7;
	o.min_rnr_timer[1] = 12;
	pair_open(f, &o);
	for (i = 0; i < 200; i++)
		f->a.buf[i] = (uint8_t)(i * 7 + 3);
	post_send1(&f->a, 1, 0, 200, 1);
	expect_no_wc(f->a.cq, 50);
	expect_state(f->a.qp, IBV_QPS_RTS);
	post_recv1(&f->b, 9, 1000, 1024);
	expect_wc(f->a.cq, 1, IBV_WC_SUCCESS, f->a.qp->qp_num);
	expect_wc_at(__LINE__, f->b.cq, 9, IBV_WC_SUCCESS, f->b.qp->qp_num, &wc);
	assert_int_equal(wc.opcode, IBV_WC_RECV);
	assert_int_equal(wc.byte_len, 200);
	assert_int_equal(wc.src_qp, f->a.qp->qp_num);
	assert_memory_equal(f->b.buf + 1000, f->a.buf, 200);
	assert_true(all_bytes(f->b.buf + 1200, 100, PAT_B));
	expect_state(f->a.qp, IBV_QPS_RTS);
	expect_state(f->b.qp, IBV_QPS_RTS);
}

/* ---- lost peer ---------------------------------------------------------- */

enum lost_kind { LOST_GONE, LOST_NOT_READY, LOST_NOT_BACK };

struct lost_case {
	const char *name;
	enum lost_kind kind;
};

static const struct lost_case lost_cases[] = {
	{ "dest_qpn_gone", LOST_GONE },
	{ "dest_qp_in_init", LOST_NOT_READY },
	{ "dest_qp_connected_elsewhere", LOST_NOT_BACK },
};

/*
 * An RC QP whose dest_qp_num does not name a QP connected back to it: its
 * SEND completes IBV_WC_RETRY_EXC_ERR at once (not after a timeout), the
 * next WR flushes, the QP is in ERR; the QP named got nothing.
 */
static void test_lost(void **state)
{
	struct fix *f = *state;
	const struct lost_case *c = f->row;
	struct pair_opts o = pair_defaults();
	struct ibv_qp *gone, *third = NULL;
	uint32_t dest;
	int64_t t0, dt;

	assert_int_equal(end_open(&f->a, f->ctx[0], 64, ACCESS_ALL, PAT_A), 0);
	assert_int_equal(end_open(&f->b, f->ctx[1], 64, ACCESS_ALL, PAT_B), 0);
	assert_int_equal(qp_init(f->a.qp, ACCESS_ALL), 0);
	assert_int_equal(qp_init(f->b.qp, ACCESS_ALL), 0);
	dest = f->b.qp->qp_num;
	switch (c->kind) {
	case LOST_GONE:
		gone = qp_create(f->b.pd, f->b.cq);
		assert_non_null(gone);
		dest = gone->qp_num;
		assert_int_equal(ibv_destroy_qp(gone), 0);
		break;
	case LOST_NOT_READY:
		break;
	case LOST_NOT_BACK:
		/* b is connected to a third QP, not to a. */
		third = qp_create(f->b.pd, f->b.cq);
		assert_non_null(third);
		assert_int_equal(qp_init(third, ACCESS_ALL), 0);
		assert_int_equal(qp_rtr(third, f->b.qp->qp_num, PSN_B, 1), 0);
		assert_int_equal(qp_rtr(f->b.qp, third->qp_num, PSN_A, 1), 0);
		assert_int_equal(qp_rts(f->b.qp, PSN_B, 3), 0);
		break;
	}
	post_recv1(&f->b, 50, 0, 1024);
	assert_int_equal(qp_rtr(f->a.qp, dest, PSN_B, o.min_rnr_timer[0]), 0);
	assert_int_equal(qp_rts(f->a.qp, PSN_A, o.rnr_retry[0]), 0);

	t0 = now_us();
	post_send1(&f->a, 1, 0, 64, 1);
	post_send1(&f->a, 2, 0, 64, 0);
	expect_wc(f->a.cq, 1, IBV_WC_RETRY_EXC_ERR, f->a.qp->qp_num);
	dt = now_us() - t0;
	print_message("%s: IBV_WC_RETRY_EXC_ERR after %" PRId64 " us\n", c->name, dt);
	assert_true(dt < 1000000);
	expect_wc(f->a.cq, 2, IBV_WC_WR_FLUSH_ERR, f->a.qp->qp_num);
	expect_state(f->a.qp, IBV_QPS_ERR);
	expect_no_wc(f->b.cq, QUIET_MS);
	assert_true(all_bytes(f->b.buf, BUF_SIZE, PAT_B));
	if (third) {
		drain_async(f->ctx[1]);
		assert_int_equal(ibv_destroy_qp(third), 0);
	}
}

/* ---- flush --------------------------------------------------------------- */

static void expect_flush_in_order(struct ibv_cq *cq, uint32_t qpn,
				  const uint64_t *recv_ids, int nrecv,
				  const uint64_t *send_ids, int nsend)
{
	struct ibv_wc wc;
	int r = 0, s = 0, n;

	while (r < nrecv || s < nsend) {
		n = wc_wait(cq, &wc, WAIT_MS);
		if (n != 1)
			fail_msg("flush: %d of %d receives and %d of %d sends came", r,
				 nrecv, s, nsend);
		if (wc.status != IBV_WC_WR_FLUSH_ERR || wc.qp_num != qpn)
			fail_msg("flush: wr_id %" PRIu64 " %s on QP %#x, want %s on %#x",
				 wc.wr_id, ibv_wc_status_str(wc.status), wc.qp_num,
				 ibv_wc_status_str(IBV_WC_WR_FLUSH_ERR), qpn);
		/* Each queue completes in posting order. */
		if (r < nrecv && wc.wr_id == recv_ids[r])
			r++;
		else if (s < nsend && wc.wr_id == send_ids[s])
			s++;
		else
			fail_msg("flush: wr_id %" PRIu64 " out of order (next receive %"
				 PRIu64 ", next send %" PRIu64 ")", wc.wr_id,
				 r < nrecv ? recv_ids[r] : 0, s < nsend ? send_ids[s] : 0);
	}
	expect_no_wc(cq, 0);
}

/*
 * Five receives and three sends outstanding (the first SEND retrying RNR
 * forever, so the WRITE and SEND behind it wait): ibv_modify_qp(ERR)
 * flushes all of them in order, unsignaled ones too; WRs posted in ERR
 * flush as well.
 */
static void test_flush(void **state)
{
	struct fix *f = *state;
	struct pair_opts o = pair_defaults();
	struct ibv_qp_attr err = { .qp_state = IBV_QPS_ERR };
	static const uint64_t recvs[] = { 100, 101, 102, 103, 104 };
	static const uint64_t sends[] = { 200, 201, 202 };
	static const uint64_t recvs2[] = { 110, 111 };
	static const uint64_t sends2[] = { 210, 211, 212 };
	struct ibv_send_wr wr;
	struct ibv_sge s;
	int i;

	o.rnr_retry[0] = 7;
	o.min_rnr_timer[1] = 0;	/* 655 ms between retries */
	pair_open(f, &o);
	for (i = 0; i < 5; i++)
		post_recv1(&f->a, recvs[i], (size_t)i * 1024, 1024);
	post_send1(&f->a, 200, 0, 64, 1);
	s = sge_of(f->a.buf, 64, f->a.mr->lkey);
	wr_set(&wr, 201, IBV_WR_RDMA_WRITE, &s, 0);
	wr_remote(&wr, (uintptr_t)f->b.buf, f->b.mr->rkey);
	post_send_ok(f->a.qp, &wr);
	post_send1(&f->a, 202, 0, 64, 1);
	expect_no_wc(f->a.cq, 50);
	expect_state(f->a.qp, IBV_QPS_RTS);

	assert_int_equal(ibv_modify_qp(f->a.qp, &err, IBV_QP_STATE), 0);
	expect_flush_in_order(f->a.cq, f->a.qp->qp_num, recvs, 5, sends, 3);
	expect_state(f->a.qp, IBV_QPS_ERR);

	post_recv1(&f->a, 110, 0, 64);
	post_send1(&f->a, 210, 0, 64, 1);
	post_send1(&f->a, 211, 0, 64, 0);
	post_recv1(&f->a, 111, 0, 64);
	s = sge_of(f->a.buf, 64, f->a.mr->lkey);
	wr_set(&wr, 212, IBV_WR_RDMA_READ, &s, 0);
	wr_remote(&wr, (uintptr_t)f->b.buf, f->b.mr->rkey);
	post_send_ok(f->a.qp, &wr);
	expect_flush_in_order(f->a.cq, f->a.qp->qp_num, recvs2, 2, sends2, 3);
	expect_state(f->a.qp, IBV_QPS_ERR);
	/* Nothing went out: the delayed WRITE never landed. */
	assert_true(all_bytes(f->b.buf, BUF_SIZE, PAT_B));
}

/* ---- CQ overrun ----------------------------------------------------------- */

/*
 * A CQ of 4 entries nobody polls gets 10 signaled completions: one
 * IBV_EVENT_CQ_ERR for that CQ; the CQ then holds the first completions,
 * in order, and the rest are lost.
 */
static void test_cq_overrun(void **state)
{
	struct fix *f = *state;
	struct pair_opts o = pair_defaults();
	struct ibv_send_wr wr[16];
	struct ibv_sge s;
	struct ibv_wc wc;
	int i, n, cqe;

	o.cqe[0] = 4;
	pair_open(f, &o);
	cqe = f->a.cq->cqe;
	assert_true(cqe >= 4 && cqe <= 8);
	n = cqe + 6;
	assert_true(n <= 16);
	s = sge_of(f->a.buf, 8, f->a.mr->lkey);
	for (i = 0; i < n; i++) {
		wr_set(&wr[i], (uint64_t)i, IBV_WR_RDMA_WRITE, &s, 1);
		wr_remote(&wr[i], (uintptr_t)f->b.buf + 8 * (unsigned)i, f->b.mr->rkey);
		wr[i].next = i + 1 < n ? &wr[i + 1] : NULL;
	}
	post_send_ok(f->a.qp, wr);
	expect_async(f->a.ctx, IBV_EVENT_CQ_ERR, f->a.cq);
	/* Once per overrun episode. */
	expect_no_async(f->a.ctx, QUIET_MS);
	for (i = 0; ibv_poll_cq(f->a.cq, 1, &wc) == 1; i++) {
		if (wc.wr_id != (uint64_t)i || wc.status != IBV_WC_SUCCESS ||
		    wc.opcode != IBV_WC_RDMA_WRITE)
			fail_msg("completion %d: wr_id %" PRIu64 " %s opcode %d", i,
				 wc.wr_id, ibv_wc_status_str(wc.status), wc.opcode);
	}
	if (i != cqe)
		fail_msg("a CQ of %d entries held %d of %d completions after the overrun",
			 cqe, i, n);
	/* Every WRITE executed; only completions were lost. */
	assert_true(all_bytes(f->b.buf, 8 * (size_t)n, PAT_A));
}

/* ---- a peer QP destroyed -------------------------------------------------- */

/*
 * The peer of a QP is destroyed while that QP has a SEND retrying RNR, a
 * SEND behind it and two receives: IBV_EVENT_QP_FATAL after its transport
 * timeout (no RNR NAK comes any more), the first SEND completes
 * IBV_WC_RETRY_EXC_ERR, the rest flush, state ERR.
 */
static void test_peer_destroyed(void **state)
{
	struct fix *f = *state;
	struct pair_opts o = pair_defaults();
	static const uint64_t recvs[] = { 30, 31 };
	struct ibv_wc wc;
	int r = 0, sends = 0, i;

	o.rnr_retry[0] = 7;
	o.min_rnr_timer[1] = 0;
	pair_open(f, &o);
	post_recv1(&f->a, 30, 0, 1024);
	post_recv1(&f->a, 31, 1024, 1024);
	post_send1(&f->a, 1, 4096, 64, 1);
	post_send1(&f->a, 2, 4096, 64, 0);
	expect_no_wc(f->a.cq, 50);

	assert_int_equal(ibv_destroy_qp(f->b.qp), 0);
	f->b.qp = NULL;
	expect_async(f->a.ctx, IBV_EVENT_QP_FATAL, f->a.qp);
	for (i = 0; i < 4; i++) {
		if (wc_wait(f->a.cq, &wc, WAIT_MS) != 1)
			fail_msg("%d of 4 completions after the peer's destroy", i);
		assert_int_equal(wc.qp_num, f->a.qp->qp_num);
		if (r < 2 && wc.wr_id == recvs[r]) {
			assert_int_equal(wc.status, IBV_WC_WR_FLUSH_ERR);
			r++;
		} else if (sends == 0 && wc.wr_id == 1) {
			if (wc.status != IBV_WC_RETRY_EXC_ERR)
				fail_msg("first send: %s, want %s", ibv_wc_status_str(wc.status),
					 ibv_wc_status_str(IBV_WC_RETRY_EXC_ERR));
			sends++;
		} else if (sends == 1 && wc.wr_id == 2) {
			assert_int_equal(wc.status, IBV_WC_WR_FLUSH_ERR);
			sends++;
		} else {
			fail_msg("wr_id %" PRIu64 " %s out of order", wc.wr_id,
				 ibv_wc_status_str(wc.status));
		}
	}
	expect_no_wc(f->a.cq, 0);
	expect_state(f->a.qp, IBV_QPS_ERR);
}

/* ---- two client processes: atomics, and a killed peer ------------------- */

#define CHILD_CHECK(cond) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "child %d: line %d: %s\n", (int)getpid(),	\
			__LINE__, #cond);				\
		_exit(1);						\
	}								\
} while (0)

/* Read or write exactly n bytes, waiting at most WAIT_MS for each part. */
static int fd_read_full(int fd, void *p, size_t n)
{
	struct pollfd pf = { .fd = fd, .events = POLLIN };
	size_t done = 0;
	ssize_t r;

	while (done < n) {
		if (poll(&pf, 1, WAIT_MS) != 1)
			return -1;
		r = read(fd, (char *)p + done, n - done);
		if (r <= 0)
			return -1;
		done += (size_t)r;
	}
	return 0;
}

static int fd_write_full(int fd, const void *p, size_t n)
{
	size_t done = 0;
	ssize_t r;

	while (done < n) {
		r = write(fd, (const char *)p + done, n - done);
		if (r <= 0)
			return -1;
		done += (size_t)r;
	}
	return 0;
}

/* What the parent tells a child: its QP and the counter. */
struct hello {
	uint32_t qpn;
	uint32_t rkey;
	uint64_t addr;
};

/* A client of its own: context, PD, CQ, an MR of BUF_SIZE, an RC QP. */
struct proc_end {
	struct ibv_device **list;
	struct end e;
};

static int proc_end_open(struct proc_end *p)
{
	int n;

	memset(p, 0, sizeof(*p));
	p->list = ibv_get_device_list(&n);
	if (!p->list || n < 1)
		return -1;
	p->e.ctx = ibv_open_device(p->list[0]);
	if (!p->e.ctx)
		return -1;
	p->e.pd = ibv_alloc_pd(p->e.ctx);
	p->e.cq = ibv_create_cq(p->e.ctx, 256, NULL, NULL, 0);
	if (!p->e.pd || !p->e.cq)
		return -1;
	p->e.mr = buf_reg(p->e.pd, &p->e.buf, ACCESS_ALL, 0);
	p->e.qp = qp_create(p->e.pd, p->e.cq);
	return p->e.mr && p->e.qp ? 0 : -1;
}

static void proc_end_close(struct proc_end *p)
{
	struct ibv_context *ctx = p->e.ctx;

	if (ctx)
		drain_async(ctx);
	end_close(&p->e);
	if (ctx)
		ibv_close_device(ctx);
	if (p->list)
		ibv_free_device_list(p->list);
	p->list = NULL;
}

/*
 * The cases that fork: nothing verbs-related is open at the fork; what
 * the parent opens afterwards, and the children, are cleaned up here
 * when a case fails half way.
 */
struct proc_fix {
	struct proc_end par;
	struct ibv_qp *qp2;		/* the parent's second QP, if any */
	pid_t pid[2];
};

static int proc_setup(void **state)
{
	*state = calloc(1, sizeof(struct proc_fix));
	alarm(CASE_ALARM);
	return *state ? 0 : -1;
}

static int proc_teardown(void **state)
{
	struct proc_fix *f = *state;
	size_t i;

	for (i = 0; i < 2; i++)
		if (f->pid[i] > 0) {
			kill(f->pid[i], SIGKILL);
			waitpid(f->pid[i], NULL, 0);
		}
	if (f->par.e.ctx)
		drain_async(f->par.e.ctx);
	if (f->qp2)
		ibv_destroy_qp(f->qp2);
	proc_end_close(&f->par);
	free(f);
	alarm(0);
	return 0;
}

#define FAA_PER_CHILD	5000
#define CAS_PER_CHILD	300
#define FAA_BATCH	16

/* One completion within WAIT_MS, successful, of the opcode and QP. */
static int child_wc(struct end *e, enum ibv_wc_opcode op, struct ibv_wc *wc)
{
	return wc_wait(e->cq, wc, WAIT_MS) == 1 && wc->status == IBV_WC_SUCCESS &&
	       wc->opcode == op && wc->byte_len == 8 && wc->qp_num == e->qp->qp_num ?
	       0 : -1;
}

/*
 * A child: its own client; 5000 FETCH_AND_ADD(1) in batches, then
 * CMP_AND_SWP increments until 300 succeed; then it hands the parent the
 * original value of every successful increment.
 */
static __attribute__((noreturn)) void child_atomics(int rfd, int wfd)
{
	static uint64_t faa[FAA_PER_CHILD], cas[CAS_PER_CHILD];
	struct proc_end p;
	struct hello h;
	struct ibv_send_wr wr[FAA_BATCH];
	struct ibv_sge s[FAA_BATCH];
	struct ibv_wc wc;
	uint64_t expect = 0, *res;
	uint32_t qpn, done = 0, ok = 0, tries = 0, i, batch;
	char go;

	alarm(CASE_ALARM);
	CHILD_CHECK(fd_read_full(rfd, &h, sizeof(h)) == 0);
	CHILD_CHECK(proc_end_open(&p) == 0);
	res = (uint64_t *)(void *)p.e.buf;
	CHILD_CHECK(qp_init(p.e.qp, IBV_ACCESS_LOCAL_WRITE) == 0);
	qpn = p.e.qp->qp_num;
	CHILD_CHECK(fd_write_full(wfd, &qpn, sizeof(qpn)) == 0);
	CHILD_CHECK(qp_rtr(p.e.qp, h.qpn, PSN_B, 1) == 0);
	CHILD_CHECK(qp_rts(p.e.qp, PSN_A, 7) == 0);
	CHILD_CHECK(fd_read_full(rfd, &go, 1) == 0);

	while (done < FAA_PER_CHILD) {
		batch = FAA_PER_CHILD - done < FAA_BATCH ? FAA_PER_CHILD - done : FAA_BATCH;
		for (i = 0; i < batch; i++) {
			s[i] = sge_of(&res[i], 8, p.e.mr->lkey);
			wr_set(&wr[i], done + i, IBV_WR_ATOMIC_FETCH_AND_ADD, &s[i], 1);
			wr[i].wr.atomic.remote_addr = h.addr;
			wr[i].wr.atomic.rkey = h.rkey;
			wr[i].wr.atomic.compare_add = 1;
			wr[i].next = i + 1 < batch ? &wr[i + 1] : NULL;
		}
		CHILD_CHECK(ibv_post_send(p.e.qp, wr, &(struct ibv_send_wr *){ NULL }) == 0);
		for (i = 0; i < batch; i++) {
			CHILD_CHECK(child_wc(&p.e, IBV_WC_FETCH_ADD, &wc) == 0);
			CHILD_CHECK(wc.wr_id == done + i);
			faa[done + i] = res[i];
		}
		done += batch;
	}
	while (ok < CAS_PER_CHILD) {
		CHILD_CHECK(++tries < 100000);
		s[0] = sge_of(&res[0], 8, p.e.mr->lkey);
		wr_set(&wr[0], tries, IBV_WR_ATOMIC_CMP_AND_SWP, &s[0], 1);
		wr[0].wr.atomic.remote_addr = h.addr;
		wr[0].wr.atomic.rkey = h.rkey;
		wr[0].wr.atomic.compare_add = expect;
		wr[0].wr.atomic.swap = expect + 1;
		CHILD_CHECK(ibv_post_send(p.e.qp, wr, &(struct ibv_send_wr *){ NULL }) == 0);
		CHILD_CHECK(child_wc(&p.e, IBV_WC_COMP_SWAP, &wc) == 0);
		CHILD_CHECK(wc.wr_id == tries);
		if (res[0] == expect) {
			cas[ok++] = expect;
			expect++;
		} else {
			expect = res[0];
		}
	}
	CHILD_CHECK(fd_write_full(wfd, faa, sizeof(faa)) == 0);
	CHILD_CHECK(fd_write_full(wfd, cas, sizeof(cas)) == 0);
	proc_end_close(&p);
	_exit(0);
}

static int cmp_u64(const void *x, const void *y)
{
	uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;

	return a < b ? -1 : a > b;
}

/* Wait up to WAIT_MS for the child; its exit status, or -1. */
static int child_reap(pid_t pid)
{
	int64_t end = now_us() + (int64_t)WAIT_MS * 1000;
	int st;
	pid_t r;

	for (;;) {
		r = waitpid(pid, &st, WNOHANG);
		if (r == pid)
			return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
		if (r < 0 || now_us() >= end) {
			kill(pid, SIGKILL);
			waitpid(pid, &st, 0);
			return -1;
		}
		usleep(1000);
	}
}

/*
 * Two client processes hammer one 8-byte counter in the parent's MR, each
 * with 5000 FETCH_AND_ADD and 300 successful CMP_AND_SWP increments: the
 * counter ends at exactly the sum, and the original values the successful
 * increments returned are exactly 0 .. sum-1, each once (so every
 * FETCH_AND_ADD saw a distinct value).
 */
static void test_atomics_two_processes(void **state)
{
	enum { NCHILD = 2, TOTAL = NCHILD * (FAA_PER_CHILD + CAS_PER_CHILD) };
	static uint64_t seen[TOTAL];
	struct proc_fix *f = *state;
	int p2c[NCHILD][2], c2p[NCHILD][2];
	pid_t *pid = f->pid;
	struct proc_end *par = &f->par;
	struct ibv_qp *qp[NCHILD];
	struct hello h;
	uint32_t qpn;
	uint64_t *counter;
	int i, k;
	int64_t t0;

	/* No registered pages to share with the children (librdmabroker(7)). */
	assert_int_equal(ct_memfd_maps("self", "rdmabroker-mr"), 0);
	fflush(stdout);
	fflush(stderr);
	for (i = 0; i < NCHILD; i++) {
		assert_int_equal(pipe(p2c[i]), 0);
		assert_int_equal(pipe(c2p[i]), 0);
		pid[i] = fork();
		assert_true(pid[i] >= 0);
		if (pid[i] == 0) {
			close(p2c[i][1]);
			close(c2p[i][0]);
			child_atomics(p2c[i][0], c2p[i][1]);
		}
		close(p2c[i][0]);
		close(c2p[i][1]);
	}

	assert_int_equal(proc_end_open(par), 0);
	counter = (uint64_t *)(void *)(par->e.buf + 64);
	*counter = 0;
	qp[0] = par->e.qp;
	qp[1] = f->qp2 = qp_create(par->e.pd, par->e.cq);
	assert_non_null(qp[1]);
	for (i = 0; i < NCHILD; i++) {
		assert_int_equal(qp_init(qp[i], ACCESS_ALL), 0);
		h.qpn = qp[i]->qp_num;
		h.rkey = par->e.mr->rkey;
		h.addr = (uintptr_t)counter;
		assert_int_equal(fd_write_full(p2c[i][1], &h, sizeof(h)), 0);
		assert_int_equal(fd_read_full(c2p[i][0], &qpn, sizeof(qpn)), 0);
		assert_int_equal(qp_rtr(qp[i], qpn, PSN_A, 1), 0);
		assert_int_equal(qp_rts(qp[i], PSN_B, 7), 0);
	}
	t0 = now_us();
	for (i = 0; i < NCHILD; i++)
		assert_int_equal(write(p2c[i][1], "g", 1), 1);
	for (i = 0; i < NCHILD; i++) {
		/* Each child reports when done; allow the whole case's time. */
		struct pollfd pf = { .fd = c2p[i][0], .events = POLLIN };

		assert_int_equal(poll(&pf, 1, (CASE_ALARM - 10) * 1000), 1);
		assert_int_equal(fd_read_full(c2p[i][0], seen + i * FAA_PER_CHILD,
					      FAA_PER_CHILD * sizeof(uint64_t)), 0);
	}
	for (i = 0; i < NCHILD; i++)
		assert_int_equal(fd_read_full(c2p[i][0],
					      seen + NCHILD * FAA_PER_CHILD + i * CAS_PER_CHILD,
					      CAS_PER_CHILD * sizeof(uint64_t)), 0);
	for (i = 0; i < NCHILD; i++) {
		assert_int_equal(child_reap(pid[i]), 0);
		pid[i] = 0;
		close(p2c[i][1]);
		close(c2p[i][0]);
	}
	print_message("%d atomics from %d processes in %" PRId64 " ms\n", TOTAL, NCHILD,
		      (now_us() - t0) / 1000);
	/* The FETCH_AND_ADD originals alone are distinct ... */
	qsort(seen, NCHILD * FAA_PER_CHILD, sizeof(seen[0]), cmp_u64);
	for (k = 1; k < NCHILD * FAA_PER_CHILD; k++)
		if (seen[k] == seen[k - 1])
			fail_msg("FETCH_AND_ADD returned %" PRIu64 " twice", seen[k]);
	/* ... and with the CMP_AND_SWP ones they are 0 .. TOTAL-1. */
	qsort(seen, TOTAL, sizeof(seen[0]), cmp_u64);
	for (k = 0; k < TOTAL; k++)
		if (seen[k] != (uint64_t)k)
			fail_msg("increment originals: position %d holds %" PRIu64, k, seen[k]);
	/* The parent sees the final value in its own memory. */
	if (*counter != TOTAL)
		fail_msg("the counter is %" PRIu64 ", want %d", *counter, TOTAL);
	drain_async(par->e.ctx);
	assert_int_equal(ibv_destroy_qp(qp[1]), 0);
	f->qp2 = NULL;
}

/* A child connects to the parent's QP, SENDs "hello", and waits to die. */
static __attribute__((noreturn)) void child_peer(int rfd, int wfd)
{
	struct proc_end p;
	struct ibv_wc wc;
	uint32_t qpn, mine;
	char go;

	alarm(CASE_ALARM);
	CHILD_CHECK(fd_read_full(rfd, &qpn, sizeof(qpn)) == 0);
	CHILD_CHECK(proc_end_open(&p) == 0);
	CHILD_CHECK(qp_init(p.e.qp, ACCESS_ALL) == 0);
	mine = p.e.qp->qp_num;
	CHILD_CHECK(fd_write_full(wfd, &mine, sizeof(mine)) == 0);
	CHILD_CHECK(qp_rtr(p.e.qp, qpn, PSN_A, 1) == 0);
	CHILD_CHECK(qp_rts(p.e.qp, PSN_B, 7) == 0);
	CHILD_CHECK(fd_read_full(rfd, &go, 1) == 0);
	memcpy(p.e.buf, "hello", 6);
	{
		struct ibv_sge s = sge_of(p.e.buf, 6, p.e.mr->lkey);
		struct ibv_send_wr wr, *bad;

		wr_set(&wr, 7, IBV_WR_SEND, &s, 1);
		CHILD_CHECK(ibv_post_send(p.e.qp, &wr, &bad) == 0);
	}
	CHILD_CHECK(wc_wait(p.e.cq, &wc, WAIT_MS) == 1 && wc.status == IBV_WC_SUCCESS &&
		    wc.wr_id == 7);
	CHILD_CHECK(write(wfd, "r", 1) == 1);
	for (;;)
		pause();
}

/* A SEND/RECV through a fresh pair of fresh contexts. */
static void fresh_pair_works(void)
{
	struct fix f;
	struct pair_opts o = pair_defaults();
	struct ibv_wc wc;

	memset(&f, 0, sizeof(f));
	assert_int_equal(ctx_open(&f), 0);
	pair_open(&f, &o);
	post_recv1(&f.b, 5, 0, 1024);
	memcpy(f.a.buf + 64, "after", 6);
	post_send1(&f.a, 6, 64, 6, 1);
	expect_wc(f.a.cq, 6, IBV_WC_SUCCESS, f.a.qp->qp_num);
	expect_wc_at(__LINE__, f.b.cq, 5, IBV_WC_SUCCESS, f.b.qp->qp_num, &wc);
	assert_int_equal(wc.byte_len, 6);
	assert_string_equal((char *)f.b.buf, "after");
	pair_close(&f);
	ctx_close(&f);
}

/*
 * The process of a connected peer is SIGKILLed: the parent's QP gets
 * IBV_EVENT_QP_FATAL, its posted receives flush in order, it is in ERR,
 * and a send posted afterwards flushes; the daemon then serves a new pair.
 */
static void test_peer_killed(void **state)
{
	struct proc_fix *f = *state;
	int p2c[2], c2p[2];
	struct proc_end *par = &f->par;
	struct ibv_wc wc;
	uint32_t qpn;
	pid_t *pid = &f->pid[0];
	char c;
	int st;
	uint64_t id;

	assert_int_equal(ct_memfd_maps("self", "rdmabroker-mr"), 0);
	assert_int_equal(pipe(p2c), 0);
	assert_int_equal(pipe(c2p), 0);
	fflush(stdout);
	fflush(stderr);
	*pid = fork();
	assert_true(*pid >= 0);
	if (*pid == 0) {
		close(p2c[1]);
		close(c2p[0]);
		child_peer(p2c[0], c2p[1]);
	}
	close(p2c[0]);
	close(c2p[1]);

	assert_int_equal(proc_end_open(par), 0);
	assert_int_equal(qp_init(par->e.qp, ACCESS_ALL), 0);
	qpn = par->e.qp->qp_num;
	assert_int_equal(fd_write_full(p2c[1], &qpn, sizeof(qpn)), 0);
	assert_int_equal(fd_read_full(c2p[0], &qpn, sizeof(qpn)), 0);
	assert_int_equal(qp_rtr(par->e.qp, qpn, PSN_B, 1), 0);
	assert_int_equal(qp_rts(par->e.qp, PSN_A, 7), 0);
	for (id = 1; id <= 4; id++)
		post_recv1(&par->e, id, (size_t)id * 1024, 1024);
	assert_int_equal(write(p2c[1], "g", 1), 1);
	expect_wc_at(__LINE__, par->e.cq, 1, IBV_WC_SUCCESS, par->e.qp->qp_num, &wc);
	assert_int_equal(wc.byte_len, 6);
	assert_int_equal(wc.src_qp, qpn);
	assert_string_equal((char *)par->e.buf + 1024, "hello");
	assert_int_equal(fd_read_full(c2p[0], &c, 1), 0);

	assert_int_equal(kill(*pid, SIGKILL), 0);
	assert_int_equal(waitpid(*pid, &st, 0), *pid);
	*pid = 0;
	assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
	close(p2c[1]);
	close(c2p[0]);

	expect_async(par->e.ctx, IBV_EVENT_QP_FATAL, par->e.qp);
	for (id = 2; id <= 4; id++)
		expect_wc(par->e.cq, id, IBV_WC_WR_FLUSH_ERR, par->e.qp->qp_num);
	expect_no_wc(par->e.cq, 0);
	expect_state(par->e.qp, IBV_QPS_ERR);
	post_send1(&par->e, 20, 0, 64, 1);
	post_send1(&par->e, 21, 0, 64, 0);
	expect_wc(par->e.cq, 20, IBV_WC_WR_FLUSH_ERR, par->e.qp->qp_num);
	expect_wc(par->e.cq, 21, IBV_WC_WR_FLUSH_ERR, par->e.qp->qp_num);
	expect_no_wc(par->e.cq, 0);
	proc_end_close(par);

	fresh_pair_works();
}

/* ---- hold mode for tests/integration/dataerr-idle.sh ------------------------------------ */

/* n successful completions on cq within WAIT_MS each: 0, or -1. */
static int hold_wcs(struct ibv_cq *cq, int n)
{
	struct ibv_wc wc;

	while (n-- > 0)
		if (wc_wait(cq, &wc, WAIT_MS) != 1 || wc.status != IBV_WC_SUCCESS)
			return -1;
	return 0;
}

/* A connected pair, 1000 SEND round trips, then "ready" and wait. */
static int hold_idle(void)
{
	struct fix f;
	struct pair_opts o = pair_defaults();
	int i;

	memset(&f, 0, sizeof(f));
	if (ctx_open(&f) || end_open(&f.a, f.ctx[0], 64, ACCESS_ALL, PAT_A) ||
	    end_open(&f.b, f.ctx[1], 64, ACCESS_ALL, PAT_B) ||
	    pair_connect(&f.a, &f.b, &o)) {
		fprintf(stderr, "hold idle: setting up the pair failed\n");
		return 1;
	}
	for (i = 0; i < 1000; i++) {
		struct ibv_sge ra = sge_of(f.a.buf, 64, f.a.mr->lkey);
		struct ibv_sge rb = sge_of(f.b.buf, 64, f.b.mr->lkey);
		struct ibv_sge sa = sge_of(f.a.buf + 64, 64, f.a.mr->lkey);
		struct ibv_sge sb = sge_of(f.b.buf + 64, 64, f.b.mr->lkey);
		struct ibv_recv_wr rwa = { .wr_id = 1, .sg_list = &ra, .num_sge = 1 };
		struct ibv_recv_wr rwb = { .wr_id = 2, .sg_list = &rb, .num_sge = 1 };
		struct ibv_recv_wr *rbad;
		struct ibv_send_wr swa, swb, *sbad;

		/* a -> b (b's CQ: the receive), b -> a (a's CQ: a's send and
		 * the receive; b's CQ: b's send). */
		wr_set(&swa, 3, IBV_WR_SEND, &sa, 1);
		wr_set(&swb, 4, IBV_WR_SEND, &sb, 1);
		if (ibv_post_recv(f.a.qp, &rwa, &rbad) || ibv_post_recv(f.b.qp, &rwb, &rbad) ||
		    ibv_post_send(f.a.qp, &swa, &sbad) || hold_wcs(f.b.cq, 1) ||
		    ibv_post_send(f.b.qp, &swb, &sbad) || hold_wcs(f.a.cq, 2) ||
		    hold_wcs(f.b.cq, 1)) {
			fprintf(stderr, "hold idle: round trip %d failed\n", i);
			return 1;
		}
	}
	ct_ready_and_wait();
}

/* ---- the table of cases ------------------------------------------------- */

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))
#define ROWS(tab, fn) do {						\
	size_t r_;							\
	for (r_ = 0; r_ < NELEM(tab); r_++)				\
		t[n++] = (struct CMUnitTest){ tab[r_].name, fn, fix_setup,	\
					      fix_teardown, (void *)&tab[r_] }; \
} while (0)
#define ONE(fn) (t[n++] = (struct CMUnitTest){ #fn, fn, fix_setup, fix_teardown, NULL })
#define FORKS(fn) (t[n++] = (struct CMUnitTest){ #fn, fn, proc_setup, proc_teardown, NULL })

int main(int argc, char **argv)
{
	struct CMUnitTest t[NELEM(local_cases) + NELEM(remote_cases) + NELEM(recv_cases) +
			    NELEM(lost_cases) + 8];
	size_t n = 0;

	if (argc == 3 && !strcmp(argv[1], "hold") && !strcmp(argv[2], "idle"))
		return hold_idle();
	if (argc == 2)
		cmocka_set_test_filter(argv[1]);	/* a case by name, for debugging */
	else if (argc != 1) {
		fprintf(stderr, "usage: %s [CASE-PATTERN] | hold idle\n", argv[0]);
		return 2;
	}
	ROWS(local_cases, test_local);
	ROWS(remote_cases, test_remote);
	if (getenv("RB_DATAERR_DEVICE_ONLY")) {
		/*
		 * Through the verbs driver (tests/integration/verbs-nest.sh): a receive
		 * WQE with an SGE outside the client's MRs is refused by the
		 * broker when it is posted, before the device sees it, so
		 * the sender meets a responder in ERR rather than a NAK.
		 * Only the receive error the device itself makes stays.
		 */
		t[n++] = (struct CMUnitTest){ recv_cases[0].name, test_recv, fix_setup,
					      fix_teardown, (void *)&recv_cases[0] };
	} else {
		ROWS(recv_cases, test_recv);
	}
	ONE(test_rnr_exceeded);
	ONE(test_rnr_infinite);
	ROWS(lost_cases, test_lost);
	ONE(test_flush);
	ONE(test_cq_overrun);
	ONE(test_peer_destroyed);
	FORKS(test_atomics_two_processes);
	FORKS(test_peer_killed);
	return _cmocka_run_group_tests("client-dataerr", t, n, NULL, NULL);
}
