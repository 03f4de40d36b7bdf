/* SPDX-License-Identifier: MIT */
/*
 * Isolation between clients and between protection domains, driven by
 * tests/integration/ident-objects.sh, which runs the roles as different users:
 *
 *   ident-client victim
 *	makes a PD, CQs, two RC QPs connected to each other, an SRQ, an AH
 *	and an MR filled with 0xa5; prints their handles, keys and address
 *	on one line; waits for a line on stdin; then checks that its memory
 *	is unchanged and that every object still works and destroys cleanly.
 *   ident-client attack HANDLES...  (the victim's line, as arguments)
 *	names each of the victim's handles in every request that takes one,
 *	on a connection of its own (the daemon must answer "no such object"),
 *	and uses the victim's lkey and rkey from QPs of its own, and from a
 *	QP aimed at the victim's (the engine must refuse, as a NIC would).
 *   ident-client pds
 *	one client, two PDs: the lkey and rkey of an MR of one PD are refused
 *	to QPs of the other, and neither buffer changes.
 *   ident-client cma
 *	registers a buffer on its stack, which the daemon reaches only through
 *	the /proc/self/mem the client sends with it, and moves data out of it
 *	and into it.
 *   ident-client cma-hostile
 *	CMA registrations with no file or the wrong file are refused.
 *   ident-client exec  (under `setarch -R`: the same stack addresses)
 *	registers a stack buffer (CMA), forks a child that keeps the
 *	connection, and executes sleep(1) under the pid the daemon knows.  The
 *	child's RDMA READ and WRITE on the region must fail: the daemon must
 *	not reach the new program's memory, which sits at the same addresses.
 *	The child prints its verdict and kills the sleep.
 *
 * Exits 0 when every check held, 1 otherwise (each failure on stderr).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proto/rpc.h"
#include "tests/lib/datatest.h"

#define BUF_LEN		8192
#define VICTIM_BYTE	0xa5

static int failures;

__attribute__((format(printf, 1, 2)))
static void fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "ident-client: FAIL: ");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	failures++;
}

static int setup_failed(const char *what)
{
	fail("%s", what);
	return 1;
}

#define CHECK(cond, ...) do { if (!(cond)) fail(__VA_ARGS__); } while (0)

/* What the victim tells the attacker. */
struct victim_info {
	uint32_t pd, cq, qp, srq, ah, mr, lkey, rkey, qpn;
	uint64_t addr;
};

static const char *const victim_fmt =
	"pd=%" SCNu32 " cq=%" SCNu32 " qp=%" SCNu32 " srq=%" SCNu32
	" ah=%" SCNu32 " mr=%" SCNu32 " lkey=%" SCNu32 " rkey=%" SCNu32
	" qpn=%" SCNu32 " addr=%" SCNu64;

/* ------------------------------------------------------------ data path */

struct pair {
	struct dt_node n;
	struct ibv_qp *qa, *qb;
	struct dt_buf buf;
};

static int pair_open(struct pair *p)
{
	struct ibv_qp_cap cap = { .max_send_wr = 8, .max_recv_wr = 8,
				  .max_send_sge = 1, .max_recv_sge = 1 };
	struct ibv_qp_cap cap2 = cap;

	memset(p, 0, sizeof(*p));
	if (dt_node_open(&p->n, 32, false) ||
	    dt_buf_alloc(&p->buf, p->n.pd, BUF_LEN, DT_ACCESS_ALL))
		return -1;
	p->qa = dt_qp_create(&p->n, IBV_QPT_RC, &cap, NULL, NULL, 1);
	p->qb = dt_qp_create(&p->n, IBV_QPT_RC, &cap2, NULL, NULL, 1);
	if (!p->qa || !p->qb)
		return -1;
	return dt_qp_connect(p->qa, p->qb, NULL);
}

static void pair_close(struct pair *p)
{
	if (p->qa)
		ibv_destroy_qp(p->qa);
	if (p->qb)
		ibv_destroy_qp(p->qb);
	dt_buf_free(&p->buf);
	dt_node_close(&p->n);
}

/* Post one signaled WR of one SGE on qp; the status of its completion. */
static int post_one(struct ibv_qp *qp, struct ibv_cq *cq, enum ibv_wr_opcode op,
		    uint64_t laddr, uint32_t lkey, uint64_t raddr, uint32_t rkey)
{
	struct ibv_sge sge = { .addr = laddr, .length = 64, .lkey = lkey };
	struct ibv_send_wr wr = { .wr_id = 42, .sg_list = &sge, .num_sge = 1,
				  .opcode = op, .send_flags = IBV_SEND_SIGNALED },
			   *bad;
	struct ibv_wc wc;

	wr.wr.rdma.remote_addr = raddr;
	wr.wr.rdma.rkey = rkey;
	if (ibv_post_send(qp, &wr, &bad)) {
		fail("ibv_post_send: %s", strerror(errno));
		return -1;
	}
	if (dt_poll(cq, &wc, 1, DT_TIMEOUT_MS) != 1) {
		fail("no completion for %s", op == IBV_WR_SEND ? "SEND" :
		     op == IBV_WR_RDMA_WRITE ? "RDMA WRITE" : "RDMA READ");
		return -1;
	}
	return (int)wc.status;
}

static void expect_status(int got, enum ibv_wc_status want, const char *what)
{
	if (got >= 0 && got != (int)want)
		fail("%s: completion %s, want %s", what,
		     ibv_wc_status_str((enum ibv_wc_status)got),
		     ibv_wc_status_str(want));
}

static bool all_bytes(const uint8_t *p, size_t len, uint8_t v)
{
	for (size_t i = 0; i < len; i++)
		if (p[i] != v)
			return false;
	return true;
}

/* ------------------------------------------------------------ victim */

static int victim(void)
{
	struct ibv_srq_init_attr sa = { .attr = { .max_wr = 4, .max_sge = 1 } };
	struct ibv_qp_init_attr qattr;
	struct ibv_srq_attr sattr;
	struct ibv_qp_attr attr;
	struct ibv_srq *srq;
	struct ibv_ah *ah;
	struct pair p;
	char line[16];

	if (pair_open(&p) < 0) {
		fprintf(stderr, "ident-client: victim: cannot set up its objects\n");
		return 1;
	}
	srq = ibv_create_srq(p.n.pd, &sa);
	ah = dt_ah_create(p.n.pd, p.n.ctx);
	if (!srq || !ah) {
		fprintf(stderr, "ident-client: victim: no SRQ or AH: %s\n", strerror(errno));
		return 1;
	}
	memset(p.buf.p, VICTIM_BYTE, p.buf.len);
	printf("pd=%" PRIu32 " cq=%" PRIu32 " qp=%" PRIu32 " srq=%" PRIu32
	       " ah=%" PRIu32 " mr=%" PRIu32 " lkey=%" PRIu32 " rkey=%" PRIu32
	       " qpn=%" PRIu32 " addr=%" PRIu64 "\n",
	       p.n.pd->handle, p.n.scq->handle, p.qa->handle, srq->handle,
	       ah->handle, p.buf.mr->handle, p.buf.mr->lkey, p.buf.mr->rkey,
	       p.qa->qp_num, (uint64_t)(uintptr_t)p.buf.p);
	fflush(stdout);
	if (!fgets(line, sizeof(line), stdin))
		fail("victim: stdin closed before the go-ahead");

	CHECK(all_bytes(p.buf.p, p.buf.len, VICTIM_BYTE),
	      "victim: its registered memory changed");
	CHECK(ibv_query_qp(p.qa, &attr, IBV_QP_STATE, &qattr) == 0 &&
	      attr.qp_state == IBV_QPS_RTS, "victim: its QP is gone or not RTS");
	CHECK(ibv_query_srq(srq, &sattr) == 0 && sattr.max_wr >= 4,
	      "victim: its SRQ is gone");
	/* Its MR and QPs still move data: 64 bytes within its own buffer. */
	expect_status(post_one(p.qa, p.n.scq, IBV_WR_RDMA_WRITE,
			       (uintptr_t)p.buf.p, p.buf.mr->lkey,
			       (uintptr_t)p.buf.p + 4096, p.buf.mr->rkey),
		      IBV_WC_SUCCESS, "victim: a WRITE of its own");
	CHECK(ibv_destroy_ah(ah) == 0, "victim: destroying its AH");
	CHECK(ibv_destroy_srq(srq) == 0, "victim: destroying its SRQ");
	pair_close(&p);
	if (!failures)
		fprintf(stderr, "ident-client: victim: objects and memory intact\n");
	return failures ? 1 : 0;
}

/* ------------------------------------------------------------ attacker */

/* The request on rpc must be refused with EINVAL and "no TYPE with handle". */
static void expect_not_found(struct rb_rpc *rpc, Rdmabroker__Request *req,
			     const char *type, const char *what)
{
	Rdmabroker__Reply *rep;
	char want[32];
	int ret;

	ret = rb_rpc_call(rpc, req, &rep, NULL, 0, NULL);
	if (ret < 0) {
		fail("%s: transport error %s", what, strerror(-ret));
		return;
	}
	snprintf(want, sizeof(want), "no %s with handle", type);
	if (rep->status != EINVAL || !rep->error || !strstr(rep->error, want))
		fail("%s: status %d (%s), want EINVAL (%s ...)", what,
		     (int)rep->status, rep->error ? rep->error : "", want);
	rb_rpc_reply_free(rep);
}

static void attack_handles(const struct victim_info *v)
{
	Rdmabroker__Request req = RDMABROKER__REQUEST__INIT;
	Rdmabroker__DeviceOpenReq open = RDMABROKER__DEVICE_OPEN_REQ__INIT;
	Rdmabroker__PdDeallocReq pdd = RDMABROKER__PD_DEALLOC_REQ__INIT;
	Rdmabroker__CqResizeReq cqr = RDMABROKER__CQ_RESIZE_REQ__INIT;
	Rdmabroker__CqDestroyReq cqd = RDMABROKER__CQ_DESTROY_REQ__INIT;
	Rdmabroker__QpCreateReq qpc = RDMABROKER__QP_CREATE_REQ__INIT;
	Rdmabroker__QpCap cap = RDMABROKER__QP_CAP__INIT;
	Rdmabroker__QpQueryReq qpq = RDMABROKER__QP_QUERY_REQ__INIT;
	Rdmabroker__QpModifyReq qpm = RDMABROKER__QP_MODIFY_REQ__INIT;
	Rdmabroker__QpAttr qattr = RDMABROKER__QP_ATTR__INIT;
	Rdmabroker__AhAttr ahattr = RDMABROKER__AH_ATTR__INIT;
	Rdmabroker__QpDestroyReq qpd = RDMABROKER__QP_DESTROY_REQ__INIT;
	Rdmabroker__SrqCreateReq srqc = RDMABROKER__SRQ_CREATE_REQ__INIT;
	Rdmabroker__SrqQueryReq srqq = RDMABROKER__SRQ_QUERY_REQ__INIT;
	Rdmabroker__SrqModifyReq srqm = RDMABROKER__SRQ_MODIFY_REQ__INIT;
	Rdmabroker__SrqDestroyReq srqd = RDMABROKER__SRQ_DESTROY_REQ__INIT;
	Rdmabroker__AhCreateReq ahc = RDMABROKER__AH_CREATE_REQ__INIT;
	Rdmabroker__AhDestroyReq ahd = RDMABROKER__AH_DESTROY_REQ__INIT;
	Rdmabroker__MrRegReq mrr = RDMABROKER__MR_REG_REQ__INIT;
	Rdmabroker__MrReregReq mrre = RDMABROKER__MR_REREG_REQ__INIT;
	Rdmabroker__MrDeregReq mrd = RDMABROKER__MR_DEREG_REQ__INIT;
	static uint8_t mine[4096], gid[16];
	Rdmabroker__Reply *rep;
	struct rb_rpc rpc;
	char err[256];

	if (rb_rpc_connect(&rpc, NULL, "ident-client", err, sizeof(err)) < 0) {
		fail("attack: connect: %s", err);
		return;
	}
	req.body_case = RDMABROKER__REQUEST__BODY_DEVICE_OPEN;
	req.device_open = &open;
	if (rb_rpc_call_ok(&rpc, &req, &rep) < 0) {
		fail("attack: cannot open the device");
		rb_rpc_close(&rpc);
		return;
	}
	rb_rpc_reply_free(rep);
	/*
	 * This connection holds no object, so no handle can name one of its
	 * own: every request below reaches the handle lookup and nothing else.
	 */
	pdd.handle = v->pd;
	req.body_case = RDMABROKER__REQUEST__BODY_PD_DEALLOC;
	req.pd_dealloc = &pdd;
	expect_not_found(&rpc, &req, "pd", "pd_dealloc of the victim's PD");

	cap.max_send_wr = cap.max_recv_wr = cap.max_send_sge = cap.max_recv_sge = 1;
	qpc.pd = v->pd;
	qpc.send_cq = qpc.recv_cq = v->cq;
	qpc.qp_type = IBV_QPT_RC;
	qpc.cap = &cap;
	req.body_case = RDMABROKER__REQUEST__BODY_QP_CREATE;
	req.qp_create = &qpc;
	expect_not_found(&rpc, &req, "pd", "qp_create on the victim's PD");

	srqc.pd = v->pd;
	srqc.max_wr = srqc.max_sge = 1;
	req.body_case = RDMABROKER__REQUEST__BODY_SRQ_CREATE;
	req.srq_create = &srqc;
	expect_not_found(&rpc, &req, "pd", "srq_create on the victim's PD");

	ahattr.dgid.data = gid;
	ahattr.dgid.len = sizeof(gid);
	ahattr.is_global = 1;
	ahattr.port_num = 1;
	ahc.pd = v->pd;
	ahc.attr = &ahattr;
	req.body_case = RDMABROKER__REQUEST__BODY_AH_CREATE;
	req.ah_create = &ahc;
	expect_not_found(&rpc, &req, "pd", "ah_create on the victim's PD");

	/* CMA mode: no fd; our own buffer, on the victim's PD. */
	mrr.pd = v->pd;
	mrr.addr = mrr.iova = (uintptr_t)mine;
	mrr.length = sizeof(mine);
	mrr.access = IBV_ACCESS_LOCAL_WRITE;
	mrr.mode = RDMABROKER__MR_MODE__MR_CMA;
	req.body_case = RDMABROKER__REQUEST__BODY_MR_REG;
	req.mr_reg = &mrr;
	expect_not_found(&rpc, &req, "pd", "mr_reg on the victim's PD");

	cqr.handle = v->cq;
	cqr.cqe = 64;
	req.body_case = RDMABROKER__REQUEST__BODY_CQ_RESIZE;
	req.cq_resize = &cqr;
	expect_not_found(&rpc, &req, "cq", "cq_resize of the victim's CQ");
	cqd.handle = v->cq;
	req.body_case = RDMABROKER__REQUEST__BODY_CQ_DESTROY;
	req.cq_destroy = &cqd;
	expect_not_found(&rpc, &req, "cq", "cq_destroy of the victim's CQ");

	qpq.handle = v->qp;
	req.body_case = RDMABROKER__REQUEST__BODY_QP_QUERY;
	req.qp_query = &qpq;
	expect_not_found(&rpc, &req, "qp", "qp_query of the victim's QP");
	qattr.qp_state = IBV_QPS_ERR;
	qattr.cap = &cap;
	qattr.ah_attr = qattr.alt_ah_attr = &ahattr;
	qpm.handle = v->qp;
	qpm.attr_mask = IBV_QP_STATE;
	qpm.attr = &qattr;
	req.body_case = RDMABROKER__REQUEST__BODY_QP_MODIFY;
	req.qp_modify = &qpm;
	expect_not_found(&rpc, &req, "qp", "qp_modify of the victim's QP to ERR");
	qpd.handle = v->qp;
	req.body_case = RDMABROKER__REQUEST__BODY_QP_DESTROY;
	req.qp_destroy = &qpd;
	expect_not_found(&rpc, &req, "qp", "qp_destroy of the victim's QP");

	srqq.handle = v->srq;
	req.body_case = RDMABROKER__REQUEST__BODY_SRQ_QUERY;
	req.srq_query = &srqq;
	expect_not_found(&rpc, &req, "srq", "srq_query of the victim's SRQ");
	srqm.handle = v->srq;
	srqm.attr_mask = IBV_SRQ_LIMIT;
	srqm.srq_limit = 1;
	req.body_case = RDMABROKER__REQUEST__BODY_SRQ_MODIFY;
	req.srq_modify = &srqm;
	expect_not_found(&rpc, &req, "srq", "srq_modify of the victim's SRQ");
	srqd.handle = v->srq;
	req.body_case = RDMABROKER__REQUEST__BODY_SRQ_DESTROY;
	req.srq_destroy = &srqd;
	expect_not_found(&rpc, &req, "srq", "srq_destroy of the victim's SRQ");

	ahd.handle = v->ah;
	req.body_case = RDMABROKER__REQUEST__BODY_AH_DESTROY;
	req.ah_destroy = &ahd;
	expect_not_found(&rpc, &req, "ah", "ah_destroy of the victim's AH");

	mrre.handle = v->mr;
	mrre.flags = IBV_REREG_MR_CHANGE_ACCESS;
	mrre.has_access = 1;
	mrre.access = IBV_ACCESS_LOCAL_WRITE;
	req.body_case = RDMABROKER__REQUEST__BODY_MR_REREG;
	req.mr_rereg = &mrre;
	expect_not_found(&rpc, &req, "mr", "mr_rereg of the victim's MR");
	mrd.handle = v->mr;
	req.body_case = RDMABROKER__REQUEST__BODY_MR_DEREG;
	req.mr_dereg = &mrd;
	expect_not_found(&rpc, &req, "mr", "mr_dereg of the victim's MR");
	rb_rpc_close(&rpc);
}

static void attack_keys(const struct victim_info *v)
{
	struct ibv_qp_cap cap = { .max_send_wr = 4, .max_recv_wr = 4,
				  .max_send_sge = 1, .max_recv_sge = 1 };
	struct ibv_qp *qx;
	struct pair p;

	/* Gather from the victim's memory with its lkey. */
	if (pair_open(&p) < 0) {
		fail("attack: cannot set up a pair of its own");
		return;
	}
	CHECK(dt_post_recv(p.qb, 1, p.buf.p, 64, p.buf.mr->lkey) == 0, "post_recv");
	expect_status(post_one(p.qa, p.n.scq, IBV_WR_SEND, v->addr, v->lkey, 0, 0),
		      IBV_WC_LOC_PROT_ERR, "SEND from the victim's lkey");
	CHECK(all_bytes(p.buf.p, 64, 0), "the victim's bytes reached the attacker");
	pair_close(&p);

	/* Write into it, and read it, with its rkey. */
	if (pair_open(&p) < 0) {
		fail("attack: cannot set up a pair of its own");
		return;
	}
	memset(p.buf.p, 0x3c, 64);
	expect_status(post_one(p.qa, p.n.scq, IBV_WR_RDMA_WRITE,
			       (uintptr_t)p.buf.p, p.buf.mr->lkey, v->addr, v->rkey),
		      IBV_WC_REM_ACCESS_ERR, "RDMA WRITE with the victim's rkey");
	pair_close(&p);
	if (pair_open(&p) < 0) {
		fail("attack: cannot set up a pair of its own");
		return;
	}
	expect_status(post_one(p.qa, p.n.scq, IBV_WR_RDMA_READ,
			       (uintptr_t)p.buf.p, p.buf.mr->lkey, v->addr, v->rkey),
		      IBV_WC_REM_ACCESS_ERR, "RDMA READ with the victim's rkey");
	CHECK(all_bytes(p.buf.p, p.buf.len, 0), "RDMA READ brought the victim's bytes");

	/*
	 * A QP aimed at the victim's QP, which is connected to another: an RC
	 * responder answers only its own peer, so nobody answers.
	 */
	qx = dt_qp_create(&p.n, IBV_QPT_RC, &cap, NULL, NULL, 1);
	if (!qx || dt_qp_to_rts(qx, &p.n.gid, v->qpn, NULL) < 0) {
		fail("attack: cannot aim a QP at the victim's");
	} else {
		expect_status(post_one(qx, p.n.scq, IBV_WR_RDMA_WRITE,
				       (uintptr_t)p.buf.p, p.buf.mr->lkey,
				       v->addr, v->rkey),
			      IBV_WC_RETRY_EXC_ERR, "RDMA WRITE to the victim's QP");
	}
	if (qx)
		ibv_destroy_qp(qx);
	pair_close(&p);
}

static int attack(int argc, char **argv)
{
	struct victim_info v;
	char line[512] = "";

	for (int i = 0; i < argc; i++) {
		strncat(line, argv[i], sizeof(line) - strlen(line) - 2);
		strcat(line, " ");
	}
	if (sscanf(line, victim_fmt, &v.pd, &v.cq, &v.qp, &v.srq, &v.ah, &v.mr,
		   &v.lkey, &v.rkey, &v.qpn, &v.addr) != 10) {
		fprintf(stderr, "ident-client: attack: cannot parse '%s'\n", line);
		return 99;
	}
	attack_handles(&v);
	attack_keys(&v);
	if (!failures)
		fprintf(stderr, "ident-client: attack: every attempt refused\n");
	return failures ? 1 : 0;
}

/* ------------------------------------------------------------ two PDs */

static int two_pds(void)
{
	struct ibv_qp_cap cap = { .max_send_wr = 4, .max_recv_wr = 4,
				  .max_send_sge = 1, .max_recv_sge = 1 };
	struct ibv_qp_cap cap2 = cap;
	struct dt_buf other = { 0 };
	struct ibv_pd *pd1;
	struct pair p;

	/* p's QPs and buffer are on the node's PD; `other` on pd1. */
	if (pair_open(&p) < 0)
		{
		fail("pds: cannot set up a pair");
		return 1;
	}
	pd1 = ibv_alloc_pd(p.n.ctx);
	if (!pd1 || dt_buf_alloc(&other, pd1, BUF_LEN, DT_ACCESS_ALL) < 0)
		return setup_failed("pds: no second PD or MR");
	memset(other.p, 0x5a, other.len);
	memset(p.buf.p, 0x11, p.buf.len);

	expect_status(post_one(p.qa, p.n.scq, IBV_WR_SEND, (uintptr_t)other.p,
			       other.mr->lkey, 0, 0),
		      IBV_WC_LOC_PROT_ERR, "SEND from another PD's lkey");
	ibv_destroy_qp(p.qa);
	ibv_destroy_qp(p.qb);

	p.qa = dt_qp_create(&p.n, IBV_QPT_RC, &cap, NULL, NULL, 1);
	p.qb = dt_qp_create(&p.n, IBV_QPT_RC, &cap2, NULL, NULL, 1);
	if (!p.qa || !p.qb || dt_qp_connect(p.qa, p.qb, NULL) < 0)
		return setup_failed("pds: cannot reconnect");
	expect_status(post_one(p.qa, p.n.scq, IBV_WR_RDMA_WRITE, (uintptr_t)p.buf.p,
			       p.buf.mr->lkey, (uintptr_t)other.p, other.mr->rkey),
		      IBV_WC_REM_ACCESS_ERR, "RDMA WRITE with another PD's rkey");
	ibv_destroy_qp(p.qa);
	ibv_destroy_qp(p.qb);

	p.qa = dt_qp_create(&p.n, IBV_QPT_RC, &cap, NULL, NULL, 1);
	p.qb = dt_qp_create(&p.n, IBV_QPT_RC, &cap2, NULL, NULL, 1);
	if (!p.qa || !p.qb || dt_qp_connect(p.qa, p.qb, NULL) < 0)
		return setup_failed("pds: cannot reconnect");
	expect_status(post_one(p.qa, p.n.scq, IBV_WR_RDMA_READ, (uintptr_t)p.buf.p,
			       p.buf.mr->lkey, (uintptr_t)other.p, other.mr->rkey),
		      IBV_WC_REM_ACCESS_ERR, "RDMA READ with another PD's rkey");
	ibv_destroy_qp(p.qa);
	ibv_destroy_qp(p.qb);

	/* A receive buffer of another PD: the responder's protection error. */
	p.qa = dt_qp_create(&p.n, IBV_QPT_RC, &cap, NULL, NULL, 1);
	p.qb = dt_qp_create(&p.n, IBV_QPT_RC, &cap2, NULL, NULL, 1);
	if (!p.qa || !p.qb || dt_qp_connect(p.qa, p.qb, NULL) < 0)
		return setup_failed("pds: cannot reconnect");
	CHECK(dt_post_recv(p.qb, 7, other.p, 64, other.mr->lkey) == 0, "post_recv");
	expect_status(post_one(p.qa, p.n.scq, IBV_WR_SEND, (uintptr_t)p.buf.p,
			       p.buf.mr->lkey, 0, 0),
		      IBV_WC_REM_OP_ERR, "SEND into a receive buffer of another PD");
	{
		struct ibv_wc wc;

		if (dt_poll(p.n.rcq, &wc, 1, DT_TIMEOUT_MS) != 1)
			fail("no receive completion");
		else
			expect_status((int)wc.status, IBV_WC_LOC_PROT_ERR,
				      "the receive with another PD's lkey");
	}

	CHECK(all_bytes(other.p, other.len, 0x5a), "the other PD's buffer changed");
	CHECK(all_bytes(p.buf.p, p.buf.len, 0x11), "the QPs' buffer changed");
	dt_buf_free(&other);
	CHECK(ibv_dealloc_pd(pd1) == 0, "dealloc the second PD");
	pair_close(&p);
	if (!failures)
		fprintf(stderr, "ident-client: pds: every cross-PD key refused\n");
	return failures ? 1 : 0;
}

/* ------------------------------------------------------------ CMA */

static int cma(void)
{
	uint8_t stackbuf[4096];
	struct ibv_mr *mr;
	struct pair p;

	if (pair_open(&p) < 0)
		return setup_failed("cma: cannot set up a pair");
	memset(stackbuf, 0x77, sizeof(stackbuf));
	memset(p.buf.p, 0x11, p.buf.len);
	mr = ibv_reg_mr(p.n.pd, stackbuf, sizeof(stackbuf), DT_ACCESS_ALL);
	if (!mr) {
		fail("cma: ibv_reg_mr of a stack buffer: %s", strerror(errno));
		pair_close(&p);
		return 1;
	}
	/* Out of our stack (read from our /proc/self/mem) into the memfd buffer. */
	expect_status(post_one(p.qa, p.n.scq, IBV_WR_RDMA_WRITE, (uintptr_t)stackbuf,
			       mr->lkey, (uintptr_t)p.buf.p, p.buf.mr->rkey),
		      IBV_WC_SUCCESS, "cma: WRITE from the stack");
	CHECK(all_bytes(p.buf.p, 64, 0x77), "cma: the stack's bytes did not arrive");
	/* And into it. */
	expect_status(post_one(p.qa, p.n.scq, IBV_WR_RDMA_WRITE,
			       (uintptr_t)p.buf.p + 4096, p.buf.mr->lkey,
			       (uintptr_t)stackbuf, mr->rkey),
		      IBV_WC_SUCCESS, "cma: WRITE into the stack");
	CHECK(all_bytes(stackbuf, 64, 0x11), "cma: the bytes did not reach the stack");
	CHECK(ibv_dereg_mr(mr) == 0, "cma: dereg");
	pair_close(&p);
	if (!failures)
		fprintf(stderr, "ident-client: cma: the daemon read and wrote our stack\n");
	return failures ? 1 : 0;
}

static bool comm_is(pid_t pid, const char *want)
{
	char path[64], comm[32] = "";
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return false;
	if (!fgets(comm, sizeof(comm), f))
		comm[0] = '\0';
	fclose(f);
	comm[strcspn(comm, "\n")] = '\0';
	return !strcmp(comm, want);
}

/* Does pid map addr (so that a daemon reaching pid by number would read it)? */
static bool maps_addr(pid_t pid, uintptr_t addr)
{
	char path[64], line[512];
	bool found = false;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f)) {
		unsigned long lo, hi;

		if (sscanf(line, "%lx-%lx", &lo, &hi) == 2)
			found = addr >= lo && addr < hi;
	}
	fclose(f);
	return found;
}

static int exec_after_cma(void)
{
	struct ibv_qp_cap cap = { .max_send_wr = 4, .max_recv_wr = 4,
				  .max_send_sge = 1, .max_recv_sge = 1 };
	struct ibv_qp_cap cap2 = cap;
	uint8_t stackbuf[4096];
	struct ibv_qp *qc, *qd;
	struct ibv_mr *mr;
	struct pair p;
	pid_t parent = getpid(), child;

	if (pair_open(&p) < 0)
		return setup_failed("exec: cannot set up a pair");
	memset(stackbuf, 0x77, sizeof(stackbuf));
	mr = ibv_reg_mr(p.n.pd, stackbuf, sizeof(stackbuf), DT_ACCESS_ALL);
	if (!mr)
		return setup_failed("exec: cannot register a stack buffer");
	child = fork();
	if (child < 0)
		return setup_failed("exec: fork");
	if (child > 0) {
		execlp("sleep", "sleep", "30", (char *)NULL);
		_exit(99);
	}
	for (int i = 0; i < 500 && !comm_is(parent, "sleep"); i++)
		usleep(10000);
	if (!comm_is(parent, "sleep")) {
		fail("exec: the parent did not become sleep");
	} else if (!maps_addr(parent, (uintptr_t)stackbuf)) {
		fail("exec: the new program has nothing at the old stack's address (run under setarch -R)");
	} else {
		memset(p.buf.p, 0, p.buf.len);
		expect_status(post_one(p.qa, p.n.scq, IBV_WR_RDMA_READ,
				       (uintptr_t)p.buf.p, p.buf.mr->lkey,
				       (uintptr_t)stackbuf, mr->rkey),
			      IBV_WC_REM_ACCESS_ERR, "exec: RDMA READ of the old stack");
		CHECK(all_bytes(p.buf.p, p.buf.len, 0), "exec: bytes came from the new program");
		qc = dt_qp_create(&p.n, IBV_QPT_RC, &cap, NULL, NULL, 1);
		qd = dt_qp_create(&p.n, IBV_QPT_RC, &cap2, NULL, NULL, 1);
		if (!qc || !qd || dt_qp_connect(qc, qd, NULL) < 0)
			fail("exec: no second pair");
		else
			expect_status(post_one(qc, p.n.scq, IBV_WR_RDMA_WRITE,
					       (uintptr_t)p.buf.p, p.buf.mr->lkey,
					       (uintptr_t)stackbuf, mr->rkey),
				      IBV_WC_REM_ACCESS_ERR, "exec: RDMA WRITE to the old stack");
	}
	if (!failures)
		fprintf(stderr, "ident-client: exec: the new program's memory was out of reach\n");
	fflush(stderr);
	kill(parent, SIGKILL);
	_exit(failures ? 1 : 0);
}

/* A CMA registration of buf carrying fd (or none): its status, or -errno. */
static int cma_reg(struct rb_rpc *rpc, uint32_t pd, const void *buf, int fd)
{
	Rdmabroker__Request req = RDMABROKER__REQUEST__INIT;
	Rdmabroker__MrRegReq q = RDMABROKER__MR_REG_REQ__INIT;
	Rdmabroker__Reply *rep;
	int ret;

	q.pd = pd;
	q.addr = q.iova = (uintptr_t)buf;
	q.length = 64;
	q.access = IBV_ACCESS_LOCAL_WRITE;
	q.mode = RDMABROKER__MR_MODE__MR_CMA;
	req.body_case = RDMABROKER__REQUEST__BODY_MR_REG;
	req.mr_reg = &q;
	ret = rb_rpc_call_fds_out(rpc, &req, &rep, &fd, fd >= 0 ? 1 : 0);
	if (ret < 0)
		return ret;
	ret = (int)rep->status;
	rb_rpc_reply_free(rep);
	return ret;
}

static int cma_hostile(void)
{
	Rdmabroker__Request req = RDMABROKER__REQUEST__INIT;
	Rdmabroker__DeviceOpenReq open_q = RDMABROKER__DEVICE_OPEN_REQ__INIT;
	Rdmabroker__PdAllocReq pd_q = RDMABROKER__PD_ALLOC_REQ__INIT;
	static uint8_t buf[64];
	Rdmabroker__Reply *rep;
	struct rb_rpc rpc;
	uint32_t pd;
	char err[256];
	int fd;

	if (rb_rpc_connect(&rpc, NULL, "ident-client", err, sizeof(err)) < 0)
		return setup_failed(err);
	req.body_case = RDMABROKER__REQUEST__BODY_DEVICE_OPEN;
	req.device_open = &open_q;
	if (rb_rpc_call_ok(&rpc, &req, &rep) < 0)
		return setup_failed("cma-hostile: device_open");
	rb_rpc_reply_free(rep);
	req.body_case = RDMABROKER__REQUEST__BODY_PD_ALLOC;
	req.pd_alloc = &pd_q;
	if (rb_rpc_call_ok(&rpc, &req, &rep) < 0)
		return setup_failed("cma-hostile: pd_alloc");
	pd = rep->pd_alloc->handle;
	rb_rpc_reply_free(rep);

	CHECK(cma_reg(&rpc, pd, buf, -1) == EINVAL, "CMA without a file accepted");
	fd = open("/etc/passwd", O_RDONLY | O_CLOEXEC);
	CHECK(fd >= 0 && cma_reg(&rpc, pd, buf, fd) == EINVAL,
	      "CMA with /etc/passwd accepted");
	close(fd);
	fd = open("/proc/self/mem", O_RDONLY | O_CLOEXEC);
	CHECK(fd >= 0 && cma_reg(&rpc, pd, buf, fd) == EINVAL,
	      "CMA with a read-only /proc/self/mem accepted");
	close(fd);
	fd = open("/proc/self/mem", O_RDWR | O_CLOEXEC);
	CHECK(fd >= 0 && cma_reg(&rpc, pd, (void *)(uintptr_t)4096, fd) == EFAULT,
	      "CMA of an unmapped address accepted");
	CHECK(cma_reg(&rpc, pd, buf, fd) == 0, "CMA with /proc/self/mem refused");
	close(fd);
	rb_rpc_close(&rpc);
	if (!failures)
		fprintf(stderr, "ident-client: cma-hostile: wrong files refused\n");
	return failures ? 1 : 0;
}

int main(int argc, char **argv)
{
	if (argc == 2 && !strcmp(argv[1], "victim"))
		return victim();
	if (argc > 2 && !strcmp(argv[1], "attack"))
		return attack(argc - 2, argv + 2);
	if (argc == 2 && !strcmp(argv[1], "pds"))
		return two_pds();
	if (argc == 2 && !strcmp(argv[1], "cma"))
		return cma();
	if (argc == 2 && !strcmp(argv[1], "cma-hostile"))
		return cma_hostile();
	if (argc == 2 && !strcmp(argv[1], "exec"))
		return exec_after_cma();
	fprintf(stderr, "usage: ident-client victim | attack HANDLES... | pds | cma | cma-hostile | exec\n");
	return 99;
}
