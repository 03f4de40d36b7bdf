/* SPDX-License-Identifier: MIT */
/* What the data-path error tests share (dataerr-lib.h). */
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
#include "tests/integration/dataerr-lib.h"

/* ---- small helpers ---------------------------------------------------- */

int64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* One completion within ms: 1; 0 if none came; < 0 if polling failed. */
int wc_wait(struct ibv_cq *cq, struct ibv_wc *wc, int ms)
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

void expect_wc_at(int line, struct ibv_cq *cq, uint64_t wr_id,
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

void expect_no_wc_at(int line, struct ibv_cq *cq, int ms)
{
	struct ibv_wc wc;

	if (wc_wait(cq, &wc, ms) != 0)
		fail_msg("line %d: unexpected completion wr_id %" PRIu64 " %s on QP %#x",
			 line, wc.wr_id, ibv_wc_status_str(wc.status), wc.qp_num);
}

enum ibv_qp_state qp_state(struct ibv_qp *qp)
{
	struct ibv_qp_attr a;
	struct ibv_qp_init_attr ia;

	assert_int_equal(ibv_query_qp(qp, &a, IBV_QP_STATE, &ia), 0);
	return a.qp_state;
}

const char *state_str(enum ibv_qp_state s)
{
	static const char *const names[] = { "RESET", "INIT", "RTR", "RTS",
					     "SQD", "SQE", "ERR" };

	return (unsigned)s < 7 ? names[s] : "?";
}

void expect_state_at(int line, struct ibv_qp *qp, enum ibv_qp_state want)
{
	enum ibv_qp_state got = qp_state(qp);

	if (got != want)
		fail_msg("line %d: QP %#x is in %s, want %s", line, qp->qp_num,
			 state_str(got), state_str(want));
}

/* An async event within ms: 0; -1 if none came or it could not be read. */
int async_wait(struct ibv_context *ctx, struct ibv_async_event *ev, int ms)
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
void expect_async_at(int line, struct ibv_context *ctx,
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

void expect_no_async_at(int line, struct ibv_context *ctx, int ms)
{
	struct ibv_async_event ev;

	if (async_wait(ctx, &ev, ms) == 0) {
		ibv_ack_async_event(&ev);
		fail_msg("line %d: unexpected async event %s", line,
			 ibv_event_type_str(ev.event_type));
	}
}

/* Read and ack whatever async events are queued (bounded: EOF repeats). */
void drain_async(struct ibv_context *ctx)
{
	struct ibv_async_event ev;
	struct pollfd p = { .fd = ctx->async_fd, .events = POLLIN };
	int i;

	for (i = 0; i < 100 && poll(&p, 1, 0) > 0; i++)
		if (ibv_get_async_event(ctx, &ev) == 0)
			ibv_ack_async_event(&ev);
}

int all_bytes(const uint8_t *p, size_t n, uint8_t v)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (p[i] != v)
			return 0;
	return 1;
}

/* ---- QP state changes (0 or errno, so forked children can use them) --- */

int qp_init(struct ibv_qp *qp, int access)
{
	struct ibv_qp_attr a = {
		.qp_state = IBV_QPS_INIT, .pkey_index = 0, .port_num = 1,
		.qp_access_flags = (unsigned)access,
	};

	return ibv_modify_qp(qp, &a, IBV_QP_STATE | IBV_QP_PKEY_INDEX |
			     IBV_QP_PORT | IBV_QP_ACCESS_FLAGS);
}

/* The two contexts of the case: a QP's peer is on the other one (the
 * same GID on one daemon; another host's with RB_DT_SOCKETS). */
static struct ibv_context *ctx_pair[2];

int qp_rtr(struct ibv_qp *qp, uint32_t dest, uint32_t rq_psn,
	   uint8_t min_rnr_timer)
{
	struct ibv_context *peer = qp->context == ctx_pair[0] ? ctx_pair[1] :
				   qp->context == ctx_pair[1] ? ctx_pair[0] : qp->context;
	struct ibv_qp_attr a = {
		.qp_state = IBV_QPS_RTR, .path_mtu = IBV_MTU_1024,
		.dest_qp_num = dest, .rq_psn = rq_psn,
		.max_dest_rd_atomic = RD_ATOM, .min_rnr_timer = min_rnr_timer,
		.ah_attr = { .is_global = 1, .port_num = 1,
			     .grh = { .hop_limit = 1, .sgid_index = 0 } },
	};

	if (ibv_query_gid(peer ? peer : qp->context, 1, 0, &a.ah_attr.grh.dgid))
		return EIO;
	return ibv_modify_qp(qp, &a, IBV_QP_STATE | IBV_QP_AV | IBV_QP_PATH_MTU |
			     IBV_QP_DEST_QPN | IBV_QP_RQ_PSN |
			     IBV_QP_MAX_DEST_RD_ATOMIC | IBV_QP_MIN_RNR_TIMER);
}

static int qp_rts_timeout(struct ibv_qp *qp, uint32_t sq_psn, uint8_t rnr_retry,
			  uint8_t timeout)
{
	struct ibv_qp_attr a = {
		.qp_state = IBV_QPS_RTS, .timeout = timeout ? timeout : 14, .retry_cnt = 7,
		.rnr_retry = rnr_retry, .sq_psn = sq_psn,
		.max_rd_atomic = RD_ATOM,
	};

	return ibv_modify_qp(qp, &a, IBV_QP_STATE | IBV_QP_TIMEOUT |
			     IBV_QP_RETRY_CNT | IBV_QP_RNR_RETRY |
			     IBV_QP_SQ_PSN | IBV_QP_MAX_QP_RD_ATOMIC);
}

int qp_rts(struct ibv_qp *qp, uint32_t sq_psn, uint8_t rnr_retry)
{
	return qp_rts_timeout(qp, sq_psn, rnr_retry, 14);
}

struct ibv_qp *qp_create(struct ibv_pd *pd, struct ibv_cq *cq)
{
	struct ibv_qp_init_attr a = {
		.send_cq = cq, .recv_cq = cq, .qp_type = IBV_QPT_RC,
		.cap = { .max_send_wr = 32, .max_recv_wr = 32, .max_send_sge = 2,
			 .max_recv_sge = 2, .max_inline_data = 64 },
	};

	return ibv_create_qp(pd, &a);
}

/* ---- one side, and a connected pair ---------------------------------- */

struct ibv_mr *buf_reg(struct ibv_pd *pd, uint8_t **buf, int access,
		       uint8_t fill)
{
	*buf = aligned_alloc(4096, BUF_SIZE);
	if (!*buf)
		return NULL;
	memset(*buf, fill, BUF_SIZE);
	return ibv_reg_mr(pd, *buf, BUF_SIZE, access);
}

/* 0, or -1 with what was made left for end_close(). */
int end_open(struct end *e, struct ibv_context *ctx, int cqe,
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

void end_close(struct end *e)
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

struct pair_opts pair_defaults(void)
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

int pair_connect(struct end *a, struct end *b, const struct pair_opts *o)
{
	int ret;

	if ((ret = qp_init(a->qp, o->qp_access[0])) ||
	    (ret = qp_init(b->qp, o->qp_access[1])) ||
	    (ret = qp_rtr(a->qp, b->qp->qp_num, PSN_B, o->min_rnr_timer[0])) ||
	    (ret = qp_rtr(b->qp, a->qp->qp_num, PSN_A, o->min_rnr_timer[1])) ||
	    (ret = qp_rts_timeout(a->qp, PSN_A, o->rnr_retry[0], o->timeout[0])) ||
	    (ret = qp_rts_timeout(b->qp, PSN_B, o->rnr_retry[1], o->timeout[1])))
		return ret;
	return 0;
}

/* a (requester, context 0) and b (responder, context 1), both in RTS. */
void pair_open(struct fix *f, const struct pair_opts *o)
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
void pair_close(struct fix *f)
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

int ctx_open(struct fix *f)
{
	int n;

	const char *two = getenv("RB_DT_SOCKETS");
	char a[256], b[256];

	/* RB_DT_SOCKETS="A B": the second context on daemon B, across hosts
	 * (tests/peers/roce-data.sh). */
	if (two && sscanf(two, "%255s %255s", a, b) == 2) {
		setenv("RDMABROKER_SOCKET", b, 1);
		f->list2 = ibv_get_device_list(&n);
		if (!f->list2 || n < 1)
			return -1;
		setenv("RDMABROKER_SOCKET", a, 1);
	}
	f->list = ibv_get_device_list(&n);
	if (!f->list || n < 1)
		return -1;
	f->ctx[0] = ibv_open_device(f->list[0]);
	f->ctx[1] = ibv_open_device((f->list2 ? f->list2 : f->list)[0]);
	ctx_pair[0] = f->ctx[0];
	ctx_pair[1] = f->ctx[1];
	return f->ctx[0] && f->ctx[1] ? 0 : -1;
}

void ctx_close(struct fix *f)
{
	if (f->ctx[0])
		ibv_close_device(f->ctx[0]);
	if (f->ctx[1])
		ibv_close_device(f->ctx[1]);
	if (f->list)
		ibv_free_device_list(f->list);
	if (f->list2)
		ibv_free_device_list(f->list2);
	f->list = f->list2 = NULL;
	ctx_pair[0] = ctx_pair[1] = NULL;
	f->ctx[0] = f->ctx[1] = NULL;
}

int fix_setup(void **state)
{
	struct fix *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	f->row = *state;
	*state = f;
	alarm(CASE_ALARM);
	return ctx_open(f);
}

int fix_teardown(void **state)
{
	struct fix *f = *state;

	pair_close(f);
	ctx_close(f);
	free(f);
	alarm(0);
	return 0;
}

/* ---- work requests ---------------------------------------------------- */

struct ibv_sge sge_of(const void *addr, uint32_t len, uint32_t lkey)
{
	struct ibv_sge s = { .addr = (uintptr_t)addr, .length = len, .lkey = lkey };

	return s;
}

void wr_set(struct ibv_send_wr *wr, uint64_t id, enum ibv_wr_opcode op,
	    struct ibv_sge *sge, int signaled)
{
	memset(wr, 0, sizeof(*wr));
	wr->wr_id = id;
	wr->opcode = op;
	wr->sg_list = sge;
	wr->num_sge = sge ? 1 : 0;
	wr->send_flags = signaled ? IBV_SEND_SIGNALED : 0;
}

void wr_remote(struct ibv_send_wr *wr, uint64_t raddr, uint32_t rkey)
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

void post_send_ok(struct ibv_qp *qp, struct ibv_send_wr *wr)
{
	struct ibv_send_wr *bad = NULL;

	assert_int_equal(ibv_post_send(qp, wr, &bad), 0);
}

/* A signaled SEND of len bytes from e->buf + off. */
void post_send1(struct end *e, uint64_t id, size_t off, uint32_t len,
		int signaled)
{
	struct ibv_sge s = sge_of(e->buf + off, len, e->mr->lkey);
	struct ibv_send_wr wr;

	wr_set(&wr, id, IBV_WR_SEND, &s, signaled);
	post_send_ok(e->qp, &wr);
}

void post_recv_sge(struct ibv_qp *qp, uint64_t id, struct ibv_sge *s)
{
	struct ibv_recv_wr wr = { .wr_id = id, .sg_list = s, .num_sge = 1 };
	struct ibv_recv_wr *bad = NULL;

	assert_int_equal(ibv_post_recv(qp, &wr, &bad), 0);
}

void post_recv1(struct end *e, uint64_t id, size_t off, uint32_t len)
{
	struct ibv_sge s = sge_of(e->buf + off, len, e->mr->lkey);

	post_recv_sge(e->qp, id, &s);
}

struct ibv_sge sge_kind(struct end *e, enum key_kind k, long off,
			uint32_t len)
{
	uintptr_t base = (uintptr_t)(k == KEY_OTHER_PD ? e->buf2 :
				     k == KEY_NO_LOCAL_WRITE ? e->ro : e->buf);
	uint32_t key = k == KEY_BAD ? BAD_KEY : k == KEY_OTHER_PD ? e->mr2->lkey :
		       k == KEY_NO_LOCAL_WRITE ? e->mr_ro->lkey : e->mr->lkey;
	struct ibv_sge s = { .addr = base + (uintptr_t)off, .length = len, .lkey = key };

	return s;
}
