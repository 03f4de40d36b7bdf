/* SPDX-License-Identifier: MIT */
/*
 * gen-corpus: writes the seed inputs of the fuzz targets, in the formats
 * fuzz-request.c and fuzz-wqe.c describe, into DIR/corpus-request and
 * DIR/corpus-wqe.  The seeds are committed; this is how they were made:
 *   cc -I. -Ibuild -Ibuild/proto tests/fuzz/gen-corpus.c \
 *      build/proto/rdmabroker.pb-c.c -lprotobuf-c -o gen-corpus
 *   ./gen-corpus tests/fuzz
 * Handles are guessed as a fresh connection hands them out: the k-th
 * object is (1 << 20) | k.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <infiniband/verbs.h>

#include "proto/rdmabroker.pb-c.h"
#include "proto/shm.h"
#include "proto/wire.h"

#define H(k)	((1u << 20) | (k))
#define FZ_RAW		0x08
#define FZ_ENGINE	0x10
#define FZ_SECOND	0x20

static unsigned int extra_flags;	/* or'ed into every record */

static uint8_t buf[1 << 16];
static size_t len;
static const char *dir;

static void start(void)
{
	len = 0;
}

static void finish(const char *sub, const char *name)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s/%s", dir, sub, name);
	f = fopen(path, "wb");
	if (!f || fwrite(buf, 1, len, f) != len || fclose(f)) {
		perror(path);
		exit(1);
	}
}

static void bytes(const void *p, size_t n)
{
	memcpy(buf + len, p, n);
	len += n;
}

static void byte(unsigned int b)
{
	buf[len++] = (uint8_t)b;
}

/* ------------------------------------------------------------ requests */

static void rec(unsigned int flags, Rdmabroker__Request *req)
{
	size_t n;

	req->seq = 1;
	n = rdmabroker__request__get_packed_size(req);
	byte(flags | extra_flags);
	byte(n & 0xff);
	byte(n >> 8);
	rdmabroker__request__pack(req, buf + len);
	len += n;
}

#define SEND(flags, field, NAME, msg) do { \
	Rdmabroker__Request r_ = RDMABROKER__REQUEST__INIT; \
	r_.body_case = RDMABROKER__REQUEST__BODY_##NAME; \
	r_.field = &(msg); \
	rec(flags, &r_); \
} while (0)

static uint8_t zero_gid[16];

static void hello(void)
{
	Rdmabroker__Hello h = RDMABROKER__HELLO__INIT;

	h.proto_version = 1;
	h.client_version = (char *)"0.1.0";
	h.client_name = (char *)"seed";
	SEND(0, hello, HELLO, h);
}

static void open0(void)
{
	Rdmabroker__DeviceOpenReq o = RDMABROKER__DEVICE_OPEN_REQ__INIT;

	SEND(0, device_open, DEVICE_OPEN, o);
}

static void pd(void)
{
	Rdmabroker__PdAllocReq p = RDMABROKER__PD_ALLOC_REQ__INIT;

	SEND(0, pd_alloc, PD_ALLOC, p);
}

static void cq(int cqe, int channel)
{
	Rdmabroker__CqCreateReq c = RDMABROKER__CQ_CREATE_REQ__INIT;

	c.cqe = cqe;
	if (channel) {
		c.has_channel = 1;
		c.channel = (uint32_t)channel;
	}
	SEND(0, cq_create, CQ_CREATE, c);
}

static void ah_attr(Rdmabroker__AhAttr *a)
{
	rdmabroker__ah_attr__init(a);
	a->dgid.data = zero_gid;
	a->dgid.len = 16;
	a->hop_limit = 64;
	a->is_global = 1;
	a->port_num = 1;
}

static void qp(uint32_t type, uint32_t pdh, uint32_t cqh)
{
	Rdmabroker__QpCreateReq c = RDMABROKER__QP_CREATE_REQ__INIT;
	Rdmabroker__QpCap cap = RDMABROKER__QP_CAP__INIT;

	c.pd = pdh;
	c.send_cq = cqh;
	c.recv_cq = cqh;
	c.qp_type = type;
	cap.max_send_wr = 4;
	cap.max_recv_wr = 4;
	cap.max_send_sge = 2;
	cap.max_recv_sge = 2;
	cap.max_inline_data = 32;
	c.cap = &cap;
	SEND(0, qp_create, QP_CREATE, c);
}

static void modify(uint32_t h, uint32_t state, uint32_t mask)
{
	Rdmabroker__QpModifyReq m = RDMABROKER__QP_MODIFY_REQ__INIT;
	Rdmabroker__QpAttr a = RDMABROKER__QP_ATTR__INIT;
	Rdmabroker__QpCap cap = RDMABROKER__QP_CAP__INIT;
	Rdmabroker__AhAttr av, alt;

	ah_attr(&av);
	ah_attr(&alt);
	a.cap = &cap;
	a.ah_attr = &av;
	a.alt_ah_attr = &alt;
	a.qp_state = state;
	a.port_num = 1;
	a.qkey = 0x11111111;
	a.qp_access_flags = IBV_ACCESS_REMOTE_WRITE | IBV_ACCESS_REMOTE_READ;
	a.path_mtu = IBV_MTU_1024;
	a.dest_qp_num = 0x123;
	a.max_dest_rd_atomic = 1;
	a.min_rnr_timer = 1;
	a.timeout = 14;
	a.retry_cnt = 7;
	a.rnr_retry = 7;
	a.max_rd_atomic = 1;
	m.handle = h;
	m.attr_mask = mask;
	m.attr = &a;
	SEND(FZ_ENGINE, qp_modify, QP_MODIFY, m);
}

static void seeds_request(void)
{
	const char *sub = "corpus-request";

	start();
	hello();
	finish(sub, "hello");

	start();
	hello();
	{
		Rdmabroker__DeviceListReq l = RDMABROKER__DEVICE_LIST_REQ__INIT;
		Rdmabroker__DeviceQueryReq q = RDMABROKER__DEVICE_QUERY_REQ__INIT;
		Rdmabroker__PortQueryReq p = RDMABROKER__PORT_QUERY_REQ__INIT;
		Rdmabroker__GidQueryReq g = RDMABROKER__GID_QUERY_REQ__INIT;
		Rdmabroker__PkeyQueryReq k = RDMABROKER__PKEY_QUERY_REQ__INIT;

		SEND(0, device_list, DEVICE_LIST, l);
		open0();
		SEND(0, device_query, DEVICE_QUERY, q);
		p.port_num = 1;
		SEND(0, port_query, PORT_QUERY, p);
		g.port_num = 1;
		SEND(0, gid_query, GID_QUERY, g);
		k.port_num = 1;
		SEND(0, pkey_query, PKEY_QUERY, k);
	}
	finish(sub, "device");

	start();
	hello();
	open0();
	pd();			/* H(1) */
	cq(16, 0);		/* H(2) */
	qp(IBV_QPT_RC, H(1), H(2));	/* H(3) */
	modify(H(3), IBV_QPS_INIT, IBV_QP_STATE | IBV_QP_PKEY_INDEX |
	       IBV_QP_PORT | IBV_QP_ACCESS_FLAGS);
	modify(H(3), IBV_QPS_RTR, IBV_QP_STATE | IBV_QP_AV | IBV_QP_PATH_MTU |
	       IBV_QP_DEST_QPN | IBV_QP_RQ_PSN | IBV_QP_MAX_DEST_RD_ATOMIC |
	       IBV_QP_MIN_RNR_TIMER);
	modify(H(3), IBV_QPS_RTS, IBV_QP_STATE | IBV_QP_TIMEOUT |
	       IBV_QP_RETRY_CNT | IBV_QP_RNR_RETRY | IBV_QP_SQ_PSN |
	       IBV_QP_MAX_QP_RD_ATOMIC);
	{
		Rdmabroker__QpQueryReq q = RDMABROKER__QP_QUERY_REQ__INIT;
		Rdmabroker__QpDestroyReq d = RDMABROKER__QP_DESTROY_REQ__INIT;
		Rdmabroker__CqDestroyReq c = RDMABROKER__CQ_DESTROY_REQ__INIT;
		Rdmabroker__PdDeallocReq p = RDMABROKER__PD_DEALLOC_REQ__INIT;

		q.handle = H(3);
		SEND(0, qp_query, QP_QUERY, q);
		d.handle = H(3);
		SEND(0, qp_destroy, QP_DESTROY, d);
		c.handle = H(2);
		SEND(0, cq_destroy, CQ_DESTROY, c);
		p.handle = H(1);
		SEND(0, pd_dealloc, PD_DEALLOC, p);
	}
	finish(sub, "qp-rc");

	start();
	hello();
	open0();
	pd();
	cq(8, 0);
	qp(IBV_QPT_UD, H(1), H(2));
	modify(H(3), IBV_QPS_INIT, IBV_QP_STATE | IBV_QP_PKEY_INDEX |
	       IBV_QP_PORT | IBV_QP_QKEY);
	modify(H(3), IBV_QPS_RTR, IBV_QP_STATE);
	modify(H(3), IBV_QPS_RTS, IBV_QP_STATE | IBV_QP_SQ_PSN);
	modify(H(3), IBV_QPS_ERR, IBV_QP_STATE);
	finish(sub, "qp-ud");

	/* Kept rings: destroy keeps (id 1), create reuses it, names a bogus
	 * id, and a second keep comes back as id 2. */
	start();
	hello();
	open0();
	pd();			/* H(1) */
	cq(16, 0);		/* H(2) */
	qp(IBV_QPT_RC, H(1), H(2));	/* H(3) */
	{
		Rdmabroker__QpCreateReq c = RDMABROKER__QP_CREATE_REQ__INIT;
		Rdmabroker__QpCap cap = RDMABROKER__QP_CAP__INIT;
		Rdmabroker__QpDestroyReq d = RDMABROKER__QP_DESTROY_REQ__INIT;
		uint32_t held[3] = { 1, 0x7fffffff, 1 };

		d.handle = H(3);
		d.has_keep_ring = 1;
		d.keep_ring = 1;
		SEND(0, qp_destroy, QP_DESTROY, d);
		c.pd = H(1);
		c.send_cq = H(2);
		c.recv_cq = H(2);
		c.qp_type = IBV_QPT_UC;
		cap.max_send_wr = 4;
		cap.max_recv_wr = 4;
		cap.max_send_sge = 2;
		cap.max_recv_sge = 2;
		cap.max_inline_data = 32;
		c.cap = &cap;
		c.n_rings_held = 3;
		c.rings_held = held;
		SEND(0, qp_create, QP_CREATE, c);	/* H(4) */
		d.handle = H(4);
		SEND(0, qp_destroy, QP_DESTROY, d);
	}
	finish(sub, "qp-kept");

	start();
	hello();
	open0();
	pd();			/* H(1) */
	{
		Rdmabroker__MrRegReq m = RDMABROKER__MR_REG_REQ__INIT;
		Rdmabroker__MrExtent x = RDMABROKER__MR_EXTENT__INIT, *xs[1] = { &x };
		Rdmabroker__MrReregReq rr = RDMABROKER__MR_REREG_REQ__INIT;
		Rdmabroker__MrDeregReq d = RDMABROKER__MR_DEREG_REQ__INIT;

		m.pd = H(1);
		m.addr = 0x10000;
		m.length = 8192;
		m.iova = 0x10000;
		m.access = IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE;
		m.mode = RDMABROKER__MR_MODE__MR_MEMFD;
		x.addr = 0x10000;
		x.length = 8192;
		m.n_extents = 1;
		m.extents = xs;
		SEND(1, mr_reg, MR_REG, m);	/* H(2), with a sealed memfd */
		rr.handle = H(2);
		rr.flags = IBV_REREG_MR_CHANGE_ACCESS;
		rr.has_access = 1;
		rr.access = IBV_ACCESS_LOCAL_WRITE;
		SEND(0, mr_rereg, MR_REREG, rr);
		d.handle = H(2);
		SEND(0, mr_dereg, MR_DEREG, d);
		m.mode = RDMABROKER__MR_MODE__MR_CMA;
		m.n_extents = 0;
		SEND(0, mr_reg, MR_REG, m);
	}
	finish(sub, "mr");

	start();
	hello();
	open0();
	pd();			/* H(1) */
	{
		Rdmabroker__SrqCreateReq c = RDMABROKER__SRQ_CREATE_REQ__INIT;
		Rdmabroker__SrqModifyReq m = RDMABROKER__SRQ_MODIFY_REQ__INIT;
		Rdmabroker__SrqQueryReq q = RDMABROKER__SRQ_QUERY_REQ__INIT;
		Rdmabroker__AhCreateReq a = RDMABROKER__AH_CREATE_REQ__INIT;
		Rdmabroker__AhDestroyReq ad = RDMABROKER__AH_DESTROY_REQ__INIT;
		Rdmabroker__ChannelCreateReq ch = RDMABROKER__CHANNEL_CREATE_REQ__INIT;
		Rdmabroker__CqResizeReq rs = RDMABROKER__CQ_RESIZE_REQ__INIT;
		Rdmabroker__AhAttr av;

		c.pd = H(1);
		c.max_wr = 16;
		c.max_sge = 2;
		SEND(0, srq_create, SRQ_CREATE, c);	/* H(2) */
		m.handle = H(2);
		m.attr_mask = IBV_SRQ_MAX_WR | IBV_SRQ_LIMIT;
		m.max_wr = 32;
		m.srq_limit = 4;
		SEND(0, srq_modify, SRQ_MODIFY, m);
		q.handle = H(2);
		SEND(0, srq_query, SRQ_QUERY, q);
		ah_attr(&av);
		a.pd = H(1);
		a.attr = &av;
		SEND(0, ah_create, AH_CREATE, a);	/* H(3) */
		ad.handle = H(3);
		SEND(0, ah_destroy, AH_DESTROY, ad);
		/* The AH's slot again, a generation on. */
		SEND(0, channel_create, CHANNEL_CREATE, ch);
		cq(4, (int)((2u << 20) | 3));		/* H(4) */
		rs.handle = H(4);
		rs.cqe = 64;
		SEND(0, cq_resize, CQ_RESIZE, rs);
	}
	finish(sub, "srq-ah-channel");

	start();
	hello();
	{
		Rdmabroker__StatusReq st = RDMABROKER__STATUS_REQ__INIT;
		Rdmabroker__ClientListReq cl = RDMABROKER__CLIENT_LIST_REQ__INIT;
		Rdmabroker__DeviceShowReq ds = RDMABROKER__DEVICE_SHOW_REQ__INIT;
		Rdmabroker__ResShowReq rs = RDMABROKER__RES_SHOW_REQ__INIT;
		Rdmabroker__LimitsShowReq ls = RDMABROKER__LIMITS_SHOW_REQ__INIT;
		Rdmabroker__LimitsSetReq lset = RDMABROKER__LIMITS_SET_REQ__INIT;
		Rdmabroker__ClientKillReq ck = RDMABROKER__CLIENT_KILL_REQ__INIT;

		SEND(0, daemon_status, DAEMON_STATUS, st);
		SEND(0, client_list, CLIENT_LIST, cl);
		SEND(0, device_show, DEVICE_SHOW, ds);
		open0();
		pd();
		SEND(0, res_show, RES_SHOW, rs);
		SEND(0, limits_show, LIMITS_SHOW, ls);
		lset.name = (char *)"pds";
		lset.value = 1;
		SEND(0, limits_set, LIMITS_SET, lset);
		pd();
		ck.pid = 1;
		SEND(0, client_kill, CLIENT_KILL, ck);
	}
	finish(sub, "admin");

	/* Two connections of one process: limits, handles, listings. */
	start();
	hello();
	open0();
	pd();
	cq(8, 0);
	qp(IBV_QPT_RC, H(1), H(2));
	extra_flags = FZ_SECOND;
	hello();
	open0();
	pd();
	{
		Rdmabroker__ResShowReq rs = RDMABROKER__RES_SHOW_REQ__INIT;
		Rdmabroker__ClientListReq cl = RDMABROKER__CLIENT_LIST_REQ__INIT;
		Rdmabroker__PdDeallocReq p = RDMABROKER__PD_DEALLOC_REQ__INIT;

		SEND(0, res_show, RES_SHOW, rs);
		SEND(0, client_list, CLIENT_LIST, cl);
		p.handle = H(1);
		SEND(0, pd_dealloc, PD_DEALLOC, p);
	}
	cq(8, 0);
	qp(IBV_QPT_RC, H(1), H(2));
	extra_flags = 0;
	modify(H(3), IBV_QPS_INIT, IBV_QP_STATE | IBV_QP_PKEY_INDEX |
	       IBV_QP_PORT | IBV_QP_ACCESS_FLAGS);
	finish(sub, "two-connections");

	start();
	{
		struct rb_wire_hdr h = { .magic = 0x12345678, .version = 1,
					 .kind = 1, .len = 0 };

		byte(FZ_RAW);
		byte(sizeof(h));
		byte(0);
		bytes(&h, sizeof(h));
	}
	finish(sub, "raw-bad-magic");
}

/* ------------------------------------------------------------ WQEs */

/* fuzz-wqe's world: QPs A B (RC), C D (UD), E F (UC); MRs 0..4. */
enum { QA, QB, QC, QD, QE, QF };
#define SQ_SLOT	144	/* rb_send_wqe_size(4, 64) */
#define RQ_SLOT	80	/* rb_recv_wqe_size(4) */

static void op_recv(int q, uint64_t wr_id, uint32_t lkey, uint64_t off,
		    uint32_t length)
{
	uint8_t slot[RQ_SLOT] = { 0 };
	struct rb_recv_wqe h = { .wr_id = wr_id, .num_sge = 1 };
	struct rb_sge s = { .addr = off, .length = length, .lkey = lkey };

	memcpy(slot, &h, sizeof(h));
	memcpy(slot + sizeof(h), &s, sizeof(s));
	byte(1);
	byte((unsigned int)q);
	bytes(slot, sizeof(slot));
}

static void op_send(int q, const struct rb_send_wqe *h, const void *body,
		    size_t n)
{
	uint8_t slot[SQ_SLOT] = { 0 };

	memcpy(slot, h, sizeof(*h));
	memcpy(slot + sizeof(*h), body, n);
	byte(0);
	byte((unsigned int)q);
	bytes(slot, sizeof(slot));
}

static void op_pump(void)
{
	byte(2);
	byte(3);
}

static void seeds_wqe(void)
{
	const char *sub = "corpus-wqe";
	struct rb_sge s = { .addr = 0x40, .length = 0x100, .lkey = 0 };

	start();
	op_recv(QA, 1, 0, 0x200, 0x200);
	op_send(QB, &(struct rb_send_wqe){ .wr_id = 2, .opcode = IBV_WR_SEND,
		.send_flags = IBV_SEND_SIGNALED, .num_sge = 1 }, &s, sizeof(s));
	op_pump();
	finish(sub, "rc-send");

	start();
	op_recv(QB, 1, 0, 0x200, 0x200);	/* the SRQ */
	op_send(QA, &(struct rb_send_wqe){ .wr_id = 2, .opcode = IBV_WR_SEND_WITH_IMM,
		.send_flags = IBV_SEND_SIGNALED | IBV_SEND_INLINE | IBV_SEND_SOLICITED,
		.imm_data = 7, .inline_len = 16 }, "0123456789abcdef", 16);
	op_pump();
	finish(sub, "rc-srq-inline");

	start();
	op_send(QA, &(struct rb_send_wqe){ .wr_id = 3, .opcode = IBV_WR_RDMA_WRITE,
		.send_flags = IBV_SEND_SIGNALED, .num_sge = 1, .rkey = 0,
		.remote_addr = 0x1000 }, &s, sizeof(s));
	op_recv(QB, 1, 0, 0x200, 0x200);
	op_send(QA, &(struct rb_send_wqe){ .wr_id = 4, .opcode = IBV_WR_RDMA_WRITE_WITH_IMM,
		.num_sge = 1, .rkey = 0, .remote_addr = 0x2000 }, &s, sizeof(s));
	op_pump();
	finish(sub, "rc-write");

	start();
	op_send(QA, &(struct rb_send_wqe){ .wr_id = 5, .opcode = IBV_WR_RDMA_READ,
		.send_flags = IBV_SEND_SIGNALED, .num_sge = 1, .rkey = 1,
		.remote_addr = 0x10 }, &s, sizeof(s));
	{
		struct rb_sge a = { .addr = 0x80, .length = 8, .lkey = 0 };

		op_send(QA, &(struct rb_send_wqe){ .wr_id = 6,
			.opcode = IBV_WR_ATOMIC_CMP_AND_SWP,
			.send_flags = IBV_SEND_SIGNALED | IBV_SEND_FENCE,
			.num_sge = 1, .rkey = 0, .remote_addr = 0x100,
			.compare_add = 0, .swap = 42 }, &a, sizeof(a));
		op_send(QB, &(struct rb_send_wqe){ .wr_id = 7,
			.opcode = IBV_WR_ATOMIC_FETCH_AND_ADD,
			.send_flags = IBV_SEND_SIGNALED, .num_sge = 1, .rkey = 4,
			.remote_addr = 0x8, .compare_add = 1 }, &a, sizeof(a));
	}
	op_pump();
	op_pump();
	finish(sub, "rc-read-atomic");

	start();
	op_recv(QD, 1, 0, 0x0, 0x1000);
	op_send(QC, &(struct rb_send_wqe){ .wr_id = 8, .opcode = IBV_WR_SEND,
		.num_sge = 1, .ah_handle = 0, .remote_qpn = QD,
		.remote_qkey = 0x11111111 }, &s, sizeof(s));
	op_pump();
	finish(sub, "ud-send");

	start();
	op_recv(QF, 1, 4, 0x0, 0x800);
	op_send(QE, &(struct rb_send_wqe){ .wr_id = 9, .opcode = IBV_WR_SEND,
		.send_flags = IBV_SEND_SIGNALED, .num_sge = 1 }, &s, sizeof(s));
	op_send(QE, &(struct rb_send_wqe){ .wr_id = 10, .opcode = IBV_WR_RDMA_WRITE,
		.send_flags = IBV_SEND_SIGNALED, .num_sge = 1, .rkey = 0 },
		&s, sizeof(s));
	op_pump();
	finish(sub, "uc-send-write");

	start();
	op_send(QA, &(struct rb_send_wqe){ .wr_id = 11, .opcode = IBV_WR_SEND,
		.send_flags = IBV_SEND_SIGNALED, .num_sge = 1 }, &s, sizeof(s));
	op_pump();
	byte(7);		/* RNR: wait for the retry timer */
	byte(7);
	byte(6);		/* consume and arm CQ 0 */
	byte(0);
	byte(3);
	finish(sub, "rc-rnr");

	start();
	op_recv(QA, 1, 0, 0x200, 0x200);
	op_send(QA, &(struct rb_send_wqe){ .wr_id = 12, .opcode = IBV_WR_SEND,
		.num_sge = 1 }, &s, sizeof(s));
	byte(5);		/* A to ERR: everything flushes */
	byte(QA);
	byte(0);
	op_pump();
	byte(3);		/* its doorbell */
	byte(QA);
	byte(5);		/* and back to RTS */
	byte(QA);
	byte(1);
	finish(sub, "rc-flush");

	start();
	op_send(QB, &(struct rb_send_wqe){ .wr_id = 13, .opcode = IBV_WR_SEND,
		.num_sge = 1 }, &s, sizeof(s));
	byte(4);		/* prod moved back, then far ahead */
	byte(QB);
	byte(0);
	byte(0xff);
	op_pump();
	byte(4);
	byte(QB);
	byte(0);
	byte(100);
	op_pump();
	finish(sub, "sq-wild-prod");

	start();
	op_send(QA, &(struct rb_send_wqe){ .wr_id = 14, .opcode = IBV_WR_RDMA_READ,
		.send_flags = IBV_SEND_SIGNALED, .num_sge = 1, .rkey = 0,
		.remote_addr = 0x10 }, &s, sizeof(s));
	byte(8);		/* MR 0 goes and comes back, READ in flight */
	byte(0);
	op_pump();
	byte(9);		/* B destroyed and made again */
	byte(QB);
	byte(7);		/* A's transport timer fires */
	op_send(QA, &(struct rb_send_wqe){ .wr_id = 15, .opcode = IBV_WR_SEND,
		.send_flags = IBV_SEND_SIGNALED, .num_sge = 1 }, &s, sizeof(s));
	op_pump();
	finish(sub, "churn");

	start();
	op_recv(QB, 1, 0, 0x200, 0x200);	/* into the SRQ, then resized */
	byte(10);
	byte(5);		/* srq_limit 2 */
	byte(3);		/* max_wr 3 */
	op_recv(QB, 2, 0, 0x400, 0x200);
	byte(11);		/* CQ 0 down to 2 entries, then overrun */
	byte(0);
	byte(2);
	for (int i = 0; i < 4; i++)
		op_send(QA, &(struct rb_send_wqe){ .wr_id = 16 + (uint64_t)i,
			.opcode = IBV_WR_SEND, .send_flags = IBV_SEND_SIGNALED,
			.num_sge = 1 }, &s, sizeof(s));
	op_pump();
	finish(sub, "resize");

	/* Exactly up to the ends of the MRs: a fuzzer's step from overruns. */
	start();
	{
		/* near(): 0x8000 | k is k bytes before the end. */
		struct rb_sge tail1 = { .addr = 0x8000 | 0x10, .length = 0x10, .lkey = 1 };
		struct rb_sge tail0 = { .addr = 0x8000 | 0x20, .length = 0x20, .lkey = 0 };
		struct rb_sge head4 = { .addr = 0, .length = 0x10, .lkey = 4 };

		op_recv(QA, 1, 1, 0x8000 | 0x20, 0x20);
		op_send(QB, &(struct rb_send_wqe){ .wr_id = 20, .opcode = IBV_WR_SEND,
			.send_flags = IBV_SEND_SIGNALED, .num_sge = 1 },
			&tail0, sizeof(tail0));
		op_send(QA, &(struct rb_send_wqe){ .wr_id = 21, .opcode = IBV_WR_RDMA_READ,
			.send_flags = IBV_SEND_SIGNALED, .num_sge = 1, .rkey = 1,
			.remote_addr = 0x8000 | 0x10 }, &tail1, sizeof(tail1));
		op_send(QA, &(struct rb_send_wqe){ .wr_id = 22, .opcode = IBV_WR_RDMA_WRITE,
			.send_flags = IBV_SEND_SIGNALED, .num_sge = 1, .rkey = 4,
			.remote_addr = 0x8000 | 0x10 }, &head4, sizeof(head4));
		op_send(QA, &(struct rb_send_wqe){ .wr_id = 23, .opcode = IBV_WR_RDMA_WRITE,
			.send_flags = IBV_SEND_SIGNALED, .num_sge = 1, .rkey = 0,
			.remote_addr = 0x8000 | 0x10 }, &tail1, sizeof(tail1));
		op_pump();
	}
	finish(sub, "mr-edges");
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: gen-corpus DIR\n");
		return 2;
	}
	dir = argv[1];
	seeds_request();
	seeds_wqe();
	return 0;
}
