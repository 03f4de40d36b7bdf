/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tests/lib/datatest.h"

uint64_t dt_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/*
 * RB_DT_SOCKETS="A B": the clients are opened on daemons A and B in turn
 * (tests/peers/roce-data.sh: two daemons in two network namespaces, so
 * that every pair talks across hosts).  A device remembers the daemon it
 * was listed from.
 */
static void dt_next_daemon(void)
{
	static unsigned int turn;
	const char *list = getenv("RB_DT_SOCKETS");
	char path[256];
	unsigned int n = 0;

	if (!list || !*list)
		return;
	for (const char *p = list; *p;) {
		size_t len = strcspn(p, " ");

		if (len && len < sizeof(path) && n++ == turn) {
			memcpy(path, p, len);
			path[len] = 0;
			setenv("RDMABROKER_SOCKET", path, 1);
		}
		p += len;
		p += strspn(p, " ");
	}
	turn = n ? (turn + 1) % n : 0;
}

int dt_node_open(struct dt_node *n, int cqe, bool channel)
{
	int num;

	memset(n, 0, sizeof(*n));
	dt_next_daemon();
	n->list = ibv_get_device_list(&num);
	if (!n->list || num < 1) {
		fprintf(stderr, "datatest: no device\n");
		goto fail;
	}
	n->ctx = ibv_open_device(n->list[0]);
	if (!n->ctx || ibv_query_gid(n->ctx, 1, 0, &n->gid))
		goto fail;
	n->pd = ibv_alloc_pd(n->ctx);
	if (!n->pd)
		goto fail;
	if (channel && !(n->ch = ibv_create_comp_channel(n->ctx)))
		goto fail;
	n->scq = ibv_create_cq(n->ctx, cqe, n, n->ch, 0);
	n->rcq = ibv_create_cq(n->ctx, cqe, n, n->ch, 0);
	if (!n->scq || !n->rcq)
		goto fail;
	return 0;
fail:
	fprintf(stderr, "datatest: opening a client: %s\n", strerror(errno));
	dt_node_close(n);
	return -1;
}

void dt_node_close(struct dt_node *n)
{
	if (n->scq)
		ibv_destroy_cq(n->scq);
	if (n->rcq)
		ibv_destroy_cq(n->rcq);
	if (n->ch)
		ibv_destroy_comp_channel(n->ch);
	if (n->pd)
		ibv_dealloc_pd(n->pd);
	if (n->ctx)
		ibv_close_device(n->ctx);
	if (n->list)
		ibv_free_device_list(n->list);
	memset(n, 0, sizeof(*n));
}

int dt_buf_alloc(struct dt_buf *b, struct ibv_pd *pd, size_t len, int access)
{
	void *p;

	memset(b, 0, sizeof(*b));
	if (posix_memalign(&p, 4096, len ? len : 1)) {
		errno = ENOMEM;
		return -1;
	}
	memset(p, 0, len);
	b->p = p;
	b->len = len;
	if (access < 0)
		return 0;
	b->mr = ibv_reg_mr(pd, p, len, access);
	if (!b->mr) {
		fprintf(stderr, "datatest: ibv_reg_mr(%zu): %s\n", len, strerror(errno));
		free(p);
		b->p = NULL;
		return -1;
	}
	return 0;
}

void dt_buf_free(struct dt_buf *b)
{
	if (b->mr)
		ibv_dereg_mr(b->mr);
	free(b->p);
	memset(b, 0, sizeof(*b));
}

struct dt_qp_opts dt_qp_opts_default(void)
{
	struct dt_qp_opts o = {
		.access = IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE |
			  IBV_ACCESS_REMOTE_READ | IBV_ACCESS_REMOTE_ATOMIC,
		.mtu = IBV_MTU_4096,
		.min_rnr_timer = 1,
		.rnr_retry = 7,
		.retry_cnt = 7,
		.timeout = 14,
		.rd_atomic = 16,
		.qkey = DT_QKEY,
	};

	return o;
}

struct ibv_qp *dt_qp_create(struct dt_node *n, enum ibv_qp_type type,
			    struct ibv_qp_cap *cap, struct ibv_cq *rcq,
			    struct ibv_srq *srq, int sq_sig_all)
{
	struct ibv_qp_init_attr a = {
		.send_cq = n->scq, .recv_cq = rcq ? rcq : n->rcq, .srq = srq,
		.cap = *cap, .qp_type = type, .sq_sig_all = sq_sig_all,
	};
	struct ibv_qp *qp = ibv_create_qp(n->pd, &a);

	if (!qp)
		fprintf(stderr, "datatest: ibv_create_qp: %s\n", strerror(errno));
	else
		*cap = a.cap;
	return qp;
}

static int dt_modify(struct ibv_qp *qp, struct ibv_qp_attr *a, int mask, const char *to)
{
	int ret = ibv_modify_qp(qp, a, mask);

	if (ret)
		fprintf(stderr, "datatest: QP 0x%x to %s: %s\n", qp->qp_num, to, strerror(ret));
	return ret ? -1 : 0;
}

int dt_qp_to_rts(struct ibv_qp *qp, const union ibv_gid *dgid,
		 uint32_t dest_qpn, const struct dt_qp_opts *o)
{
	struct dt_qp_opts def = dt_qp_opts_default();
	struct ibv_qp_attr a;
	int mask;

	if (!o)
		o = &def;
	memset(&a, 0, sizeof(a));
	a.qp_state = IBV_QPS_INIT;
	a.pkey_index = 0;
	a.port_num = 1;
	mask = IBV_QP_STATE | IBV_QP_PKEY_INDEX | IBV_QP_PORT;
	if (qp->qp_type == IBV_QPT_UD) {
		a.qkey = o->qkey;
		mask |= IBV_QP_QKEY;
	} else {
		a.qp_access_flags = (unsigned int)o->access;
		mask |= IBV_QP_ACCESS_FLAGS;
	}
	if (dt_modify(qp, &a, mask, "INIT"))
		return -1;

	memset(&a, 0, sizeof(a));
	a.qp_state = IBV_QPS_RTR;
	mask = IBV_QP_STATE;
	if (qp->qp_type != IBV_QPT_UD) {
		a.path_mtu = o->mtu;
		a.dest_qp_num = dest_qpn;
		a.rq_psn = o->rq_psn;
		a.ah_attr.is_global = 1;
		a.ah_attr.port_num = 1;
		a.ah_attr.grh.dgid = *dgid;
		a.ah_attr.grh.sgid_index = 0;
		a.ah_attr.grh.hop_limit = 64;
		mask |= IBV_QP_AV | IBV_QP_PATH_MTU | IBV_QP_DEST_QPN | IBV_QP_RQ_PSN;
		if (qp->qp_type == IBV_QPT_RC) {
			a.max_dest_rd_atomic = o->rd_atomic;
			a.min_rnr_timer = o->min_rnr_timer;
			mask |= IBV_QP_MAX_DEST_RD_ATOMIC | IBV_QP_MIN_RNR_TIMER;
		}
	}
	if (dt_modify(qp, &a, mask, "RTR"))
		return -1;

	memset(&a, 0, sizeof(a));
	a.qp_state = IBV_QPS_RTS;
	a.sq_psn = o->sq_psn;
	mask = IBV_QP_STATE | IBV_QP_SQ_PSN;
	if (qp->qp_type == IBV_QPT_RC) {
		a.timeout = o->timeout;
		a.retry_cnt = o->retry_cnt;
		a.rnr_retry = o->rnr_retry;
		a.max_rd_atomic = o->rd_atomic;
		mask |= IBV_QP_TIMEOUT | IBV_QP_RETRY_CNT | IBV_QP_RNR_RETRY |
			IBV_QP_MAX_QP_RD_ATOMIC;
	}
	return dt_modify(qp, &a, mask, "RTS");
}

int dt_qp_connect(struct ibv_qp *a, struct ibv_qp *b, const struct dt_qp_opts *o)
{
	union ibv_gid ga, gb;

	if (ibv_query_gid(a->context, 1, 0, &ga) || ibv_query_gid(b->context, 1, 0, &gb))
		return -1;
	if (dt_qp_to_rts(a, &gb, b->qp_num, o))
		return -1;
	return dt_qp_to_rts(b, &ga, a->qp_num, o);
}

struct ibv_ah *dt_ah_create(struct ibv_pd *pd, struct ibv_context *ctx)
{
	struct ibv_ah_attr a = {
		.is_global = 1, .port_num = 1,
		.grh = { .sgid_index = 0, .hop_limit = 64 },
	};

	if (ibv_query_gid(ctx, 1, 0, &a.grh.dgid))
		return NULL;
	return ibv_create_ah(pd, &a);
}

int dt_post_recv(struct ibv_qp *qp, uint64_t wr_id, void *addr, uint32_t len,
		 uint32_t lkey)
{
	struct ibv_sge sge = { .addr = (uintptr_t)addr, .length = len, .lkey = lkey };
	struct ibv_recv_wr wr = { .wr_id = wr_id, .sg_list = &sge, .num_sge = 1 }, *bad;

	return ibv_post_recv(qp, &wr, &bad);
}

int dt_post_srq_recv(struct ibv_srq *srq, uint64_t wr_id, void *addr,
		     uint32_t len, uint32_t lkey)
{
	struct ibv_sge sge = { .addr = (uintptr_t)addr, .length = len, .lkey = lkey };
	struct ibv_recv_wr wr = { .wr_id = wr_id, .sg_list = &sge, .num_sge = 1 }, *bad;

	return ibv_post_srq_recv(srq, &wr, &bad);
}

/*
 * Empty polls first yield (the engine may share our core), then sleep a
 * little, so a test that waits long does not starve the daemon.
 */
static void dt_idle(unsigned int *spins)
{
	if (++*spins < 2000)
		sched_yield();
	else
		usleep(100);
}

int dt_poll(struct ibv_cq *cq, struct ibv_wc *wc, int n, int timeout_ms)
{
	uint64_t end = dt_now_ms() + (uint64_t)timeout_ms;
	unsigned int spins = 0;
	int got = 0;

	while (got < n) {
		int r = ibv_poll_cq(cq, n - got, wc + got);

		if (r < 0) {
			fprintf(stderr, "datatest: ibv_poll_cq: %d\n", r);
			break;
		}
		got += r;
		if (got == n)
			break;
		if (r == 0) {
			if (dt_now_ms() >= end)
				break;
			dt_idle(&spins);
		}
	}
	return got;
}

int dt_poll_quiet(struct ibv_cq *cq, struct ibv_wc *wc, int ms)
{
	uint64_t end = dt_now_ms() + (uint64_t)ms;
	unsigned int spins = 0;
	struct ibv_wc tmp;
	int got = 0;

	do {
		int r = ibv_poll_cq(cq, 1, got ? &tmp : wc);

		if (r > 0)
			got += r;
		else
			dt_idle(&spins);
	} while (dt_now_ms() < end);
	return got;
}

const char *dt_wc_str(const struct ibv_wc *wc, char *buf, size_t len)
{
	snprintf(buf, len,
		 "wr_id=%" PRIu64 " status=%d(%s) opcode=%d byte_len=%u imm=0x%x "
		 "qp_num=0x%x src_qp=0x%x wc_flags=0x%x pkey=%u slid=%u sl=%u dlid_bits=%u",
		 wc->wr_id, wc->status, ibv_wc_status_str(wc->status), wc->opcode,
		 wc->byte_len, wc->imm_data, wc->qp_num, wc->src_qp, wc->wc_flags,
		 wc->pkey_index, wc->slid, wc->sl, wc->dlid_path_bits);
	return buf;
}

int dt_wc_check(const struct ibv_wc *got, const struct ibv_wc *want,
		unsigned int mask, char *why, size_t whylen)
{
	static const struct {
		unsigned int bit;
		const char *name;
	} fields[] = {
		{ DT_WC_WR_ID, "wr_id" }, { DT_WC_STATUS, "status" },
		{ DT_WC_OPCODE, "opcode" }, { DT_WC_BYTE_LEN, "byte_len" },
		{ DT_WC_IMM, "imm_data" }, { DT_WC_QP_NUM, "qp_num" },
		{ DT_WC_SRC_QP, "src_qp" }, { DT_WC_FLAGS, "wc_flags" },
		{ DT_WC_PKEY, "pkey_index" }, { DT_WC_SLID, "slid" },
		{ DT_WC_SL, "sl" }, { DT_WC_DLID_BITS, "dlid_path_bits" },
	};
	unsigned int bad = 0;
	char g[256], w[256];
	size_t off = 0;

#define DT_DIFF(bit, f) if ((mask & (bit)) && got->f != want->f) bad |= (bit)
	DT_DIFF(DT_WC_WR_ID, wr_id);
	DT_DIFF(DT_WC_STATUS, status);
	DT_DIFF(DT_WC_OPCODE, opcode);
	DT_DIFF(DT_WC_BYTE_LEN, byte_len);
	DT_DIFF(DT_WC_IMM, imm_data);
	DT_DIFF(DT_WC_QP_NUM, qp_num);
	DT_DIFF(DT_WC_SRC_QP, src_qp);
	DT_DIFF(DT_WC_FLAGS, wc_flags);
	DT_DIFF(DT_WC_PKEY, pkey_index);
	DT_DIFF(DT_WC_SLID, slid);
	DT_DIFF(DT_WC_SL, sl);
	DT_DIFF(DT_WC_DLID_BITS, dlid_path_bits);
#undef DT_DIFF
	if (!bad)
		return 0;
	if (why && whylen) {
		why[0] = '\0';
		off += (size_t)snprintf(why, whylen, "differ:");
		for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]) && off < whylen; i++)
			if (bad & fields[i].bit)
				off += (size_t)snprintf(why + off, whylen - off, " %s", fields[i].name);
		if (off < whylen)
			snprintf(why + off, whylen - off, "\n  got:  %s\n  want: %s",
				 dt_wc_str(got, g, sizeof(g)), dt_wc_str(want, w, sizeof(w)));
	}
	return -1;
}

void dt_fill(void *p, size_t len, uint32_t seed)
{
	uint8_t *b = p;

	for (size_t i = 0; i < len; i++)
		b[i] = (uint8_t)((i * 131u + seed * 7u + 1u + (i >> 8)) ^ (seed >> 3));
}

long dt_verify(const void *p, size_t len, uint32_t seed)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < len; i++)
		if (b[i] != (uint8_t)((i * 131u + seed * 7u + 1u + (i >> 8)) ^ (seed >> 3)))
			return (long)i;
	return -1;
}

int dt_xchg(int fd, const void *out, void *in, size_t len)
{
	if (out && write(fd, out, len) != (ssize_t)len)
		return -1;
	if (in && read(fd, in, len) != (ssize_t)len)
		return -1;
	return 0;
}

int dt_sync(int fd)
{
	char c = 's';

	return dt_xchg(fd, &c, &c, 1);
}

int dt_post_wait(struct ibv_qp *qp, struct ibv_cq *cq, struct ibv_send_wr *wr,
		 enum ibv_wc_status want, struct ibv_wc *out, char *why, size_t whylen)
{
	struct ibv_send_wr *bad;
	struct ibv_wc wc;
	char s[160];

	wr->send_flags |= IBV_SEND_SIGNALED;
	if (ibv_post_send(qp, wr, &bad)) {
		snprintf(why, whylen, "ibv_post_send: %s", strerror(errno));
		return -1;
	}
	if (dt_poll(cq, &wc, 1, DT_TIMEOUT_MS) != 1) {
		snprintf(why, whylen, "no completion for wr %" PRIu64, wr->wr_id);
		return -1;
	}
	if (wc.status != want || wc.wr_id != wr->wr_id) {
		snprintf(why, whylen, "wr %" PRIu64 ": got %s, wanted %s", wr->wr_id,
			 dt_wc_str(&wc, s, sizeof(s)), ibv_wc_status_str(want));
		return -1;
	}
	if (out)
		*out = wc;
	return 0;
}
