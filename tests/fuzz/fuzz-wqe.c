/* SPDX-License-Identifier: MIT */
/*
 * fuzz-wqe: what a client writes into its shared queues, as the engine
 * reads and executes it.
 *
 * One session (built once through the real dispatch path, rebuilt when an
 * input kills it) holds two PDs, five MRs (four in one memfd arena, one
 * CMA region in this process), three CQs, an SRQ, two AHs and six QPs in
 * RTS: RC A <-> RC B (B receives from the SRQ), UD C and D, UC E <-> UC F.
 * An input is a list of operations on it (the byte modulo 12):
 *
 *   0 qp WQE...      write a send WQE into the next SQ slot, publish prod
 *   1 q  WQE...      a receive WQE into an RQ (q 1: the SRQ)
 *   2 n              n + 1 event-loop turns and engine passes
 *   3 qp             ring the QP's doorbell
 *   4 qp which d     move an SQ/RQ producer index by the signed byte d
 *   5 qp how         modify the QP to ERR, or RESET and back to RTS
 *                    (with 8 to 11: the first 8 of an input, no more)
 *   6 cq how         consume / arm / clear the flags of a CQ ring
 *   7                time passes: the QPs' timers fire (RNR, lost peer)
 *   8 mr             deregister the MR and register it again (new keys)
 *   9 qp             destroy the QP and create it again (its peer errs)
 *  10 x n            resize the SRQ to n % 33 (x & 1: and srq_limit x >> 1)
 *  11 cq n           resize the CQ to n % 65 entries
 *
 * Keys and addresses in a WQE are the fuzzer's, except that a key below
 * 0x100 names an MR of the world (key % 5), near whose start or end the
 * low 16 bits of the address field then put the address (see near()),
 * and the length field is masked to 15 bits unless its top bit is set;
 * a remote QPN or AH handle below 0x100 names a QP or AH of the world.
 *
 * After each input: every byte of the arena outside the MRs, and all of
 * the read-only MR, must be as the harness left it (the engine writes
 * nowhere else), the CQs are drained, the QPs back in RTS; the session is
 * rebuilt when it was killed (it must then leave no descriptor open).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "daemon/ring.h"
#include "drivers/soft/soft-int.h"
#include "tests/fuzz/harness.h"

#define NQP		6
#define NMR		5
#define NCQ		3
#define ARENA_SIZE	0x20000u
#define CANARY		0xa5
#define RO_BYTE		0x5a

enum { QP_A, QP_B, QP_C, QP_D, QP_E, QP_F };

static const struct {
	enum ibv_qp_type type;
	int cq;
	bool srq;
	int peer;
} qp_def[NQP] = {
	[QP_A] = { IBV_QPT_RC, 0, false, QP_B },
	[QP_B] = { IBV_QPT_RC, 1, true, QP_A },
	[QP_C] = { IBV_QPT_UD, 2, false, -1 },
	[QP_D] = { IBV_QPT_UD, 2, false, -1 },
	[QP_E] = { IBV_QPT_UC, 2, false, QP_F },
	[QP_F] = { IBV_QPT_UC, 2, false, QP_E },
};

#define ACC_ALL	(IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE | \
		 IBV_ACCESS_REMOTE_READ | IBV_ACCESS_REMOTE_ATOMIC)

/* The MRs: arena offset (or -1: CMA), address, length, iova, access, PD. */
static const struct {
	long off;
	uint64_t addr;
	uint32_t len;
	uint64_t iova;
	uint32_t access;
	int pd;
} mr_def[NMR] = {
	{ 0x0, 0x10000000, 0x4000, 0x10000000, ACC_ALL, 0 },
	{ 0x8000, 0x20000010, 0xfe0, 0x50000000, IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_READ, 0 },
	{ 0x10000, 0x30000000, 0x2000, 0x30000000, 0, 0 },
	{ 0x14000, 0x40000000, 0x1000, 0x40000000, ACC_ALL, 1 },
	{ -1, 0, 0x1000, 0, ACC_ALL, 0 },
};
#define MR_RO	2		/* no write access at all: must not change */

/* The CMA region lives here, 256 bytes in, with canaries either side. */
static uint8_t cma_buf[0x2000] __attribute__((aligned(4096)));
#define CMA_OFF	256

static struct world {
	bool up;
	int client;
	uint64_t id;
	uint32_t pd[2], cq[NCQ], srq, ah[2], qp[NQP], mr[NMR];
	uint32_t qpn[NQP], lkey[NMR], rkey[NMR];
	uint64_t mr_addr[NMR], mr_iova[NMR];
	union ibv_gid gid;
	int arena_fd;
	uint8_t *arena;
} w = { .arena_fd = -1 };

/* ------------------------------------------------------------ requests */

static Rdmabroker__Reply *call(Rdmabroker__Request *req, const int *fds,
			       size_t nfds)
{
	Rdmabroker__Reply *rep = NULL;
	int rfds[RB_WIRE_MAX_FDS];
	size_t nr = 0;

	if (fz_call(w.client, req, fds, nfds, &rep, rfds, RB_WIRE_MAX_FDS, &nr) < 0)
		return NULL;
	/* Ring memfds and doorbells: the daemon's own mappings are used. */
	for (size_t i = 0; i < nr; i++)
		close(rfds[i]);
	if (rep->status) {
		fprintf(stderr, "fuzz-wqe: setup request %d failed: %s\n",
			(int)req->body_case, rep->error ? rep->error : "?");
		rdmabroker__reply__free_unpacked(rep, NULL);
		return NULL;
	}
	return rep;
}

/* A request the daemon may refuse: the reply, whatever its status. */
static Rdmabroker__Reply *call_quiet(Rdmabroker__Request *req)
{
	Rdmabroker__Reply *rep = NULL;
	int rfds[RB_WIRE_MAX_FDS];
	size_t nr = 0;

	if (fz_call(w.client, req, NULL, 0, &rep, rfds, RB_WIRE_MAX_FDS, &nr) < 0)
		return NULL;
	for (size_t i = 0; i < nr; i++)
		close(rfds[i]);
	return rep;
}

#define REQ(name, NAME, var) \
	Rdmabroker__Request req = RDMABROKER__REQUEST__INIT; \
	req.body_case = RDMABROKER__REQUEST__BODY_##NAME; \
	req.name = &var

static bool hello(void)
{
	Rdmabroker__Hello h = RDMABROKER__HELLO__INIT;
	Rdmabroker__Reply *r;
	REQ(hello, HELLO, h);

	h.proto_version = RB_PROTO_VERSION;
	h.client_version = (char *)"fuzz";
	r = call(&req, NULL, 0);
	if (r)
		rdmabroker__reply__free_unpacked(r, NULL);
	return r;
}

static bool device_open_0(void)
{
	Rdmabroker__DeviceOpenReq o = RDMABROKER__DEVICE_OPEN_REQ__INIT;
	Rdmabroker__GidQueryReq g = RDMABROKER__GID_QUERY_REQ__INIT;
	Rdmabroker__Reply *r;
	bool ok;

	{
		REQ(device_open, DEVICE_OPEN, o);
		r = call(&req, NULL, 0);
		if (!r)
			return false;
		rdmabroker__reply__free_unpacked(r, NULL);
	}
	g.port_num = 1;
	{
		REQ(gid_query, GID_QUERY, g);
		r = call(&req, NULL, 0);
	}
	if (!r)
		return false;
	ok = r->gid_query && r->gid_query->gid->raw.len == 16;
	if (ok)
		memcpy(w.gid.raw, r->gid_query->gid->raw.data, 16);
	rdmabroker__reply__free_unpacked(r, NULL);
	return ok;
}

static bool pd_alloc_one(uint32_t *h)
{
	Rdmabroker__PdAllocReq p = RDMABROKER__PD_ALLOC_REQ__INIT;
	Rdmabroker__Reply *r;
	REQ(pd_alloc, PD_ALLOC, p);

	r = call(&req, NULL, 0);
	if (!r)
		return false;
	*h = r->pd_alloc->handle;
	rdmabroker__reply__free_unpacked(r, NULL);
	return true;
}

static bool cq_create_one(uint32_t *h)
{
	Rdmabroker__CqCreateReq c = RDMABROKER__CQ_CREATE_REQ__INIT;
	Rdmabroker__Reply *r;
	REQ(cq_create, CQ_CREATE, c);

	c.cqe = 15;	/* small: the fuzzer can overrun it */
	r = call(&req, NULL, 0);
	if (!r)
		return false;
	*h = r->cq_create->handle;
	rdmabroker__reply__free_unpacked(r, NULL);
	return true;
}

static bool srq_create_one(void)
{
	Rdmabroker__SrqCreateReq c = RDMABROKER__SRQ_CREATE_REQ__INIT;
	Rdmabroker__Reply *r;
	REQ(srq_create, SRQ_CREATE, c);

	c.pd = w.pd[0];
	c.max_wr = 8;
	c.max_sge = 4;
	c.srq_limit = 2;
	r = call(&req, NULL, 0);
	if (!r)
		return false;
	w.srq = r->srq_create->handle;
	rdmabroker__reply__free_unpacked(r, NULL);
	return true;
}

static void ah_fill(Rdmabroker__AhAttr *a, uint8_t *gid)
{
	rdmabroker__ah_attr__init(a);
	a->dgid.data = gid;
	a->dgid.len = 16;
	a->hop_limit = 64;
	a->is_global = true;
	a->port_num = 1;
}

static bool ah_create_one(int pd, uint32_t *h)
{
	Rdmabroker__AhCreateReq c = RDMABROKER__AH_CREATE_REQ__INIT;
	Rdmabroker__AhAttr a;
	Rdmabroker__Reply *r;
	REQ(ah_create, AH_CREATE, c);

	ah_fill(&a, w.gid.raw);
	c.pd = w.pd[pd];
	c.attr = &a;
	r = call(&req, NULL, 0);
	if (!r)
		return false;
	*h = r->ah_create->handle;
	rdmabroker__reply__free_unpacked(r, NULL);
	return true;
}

static bool mr_reg_one(int i)
{
	Rdmabroker__MrRegReq m = RDMABROKER__MR_REG_REQ__INIT;
	Rdmabroker__MrExtent x = RDMABROKER__MR_EXTENT__INIT, *xs[1] = { &x };
	Rdmabroker__Reply *r;
	uint64_t page = 4096;
	REQ(mr_reg, MR_REG, m);

	m.pd = w.pd[mr_def[i].pd];
	m.length = mr_def[i].len;
	m.access = mr_def[i].access;
	if (mr_def[i].off >= 0) {
		m.addr = mr_def[i].addr;
		m.iova = mr_def[i].iova;
		m.mode = RDMABROKER__MR_MODE__MR_MEMFD;
		x.addr = m.addr & ~(page - 1);
		x.length = ((m.addr + m.length + page - 1) & ~(page - 1)) - x.addr;
		x.fd_offset = (uint64_t)mr_def[i].off;
		m.n_extents = 1;
		m.extents = xs;
		r = call(&req, &w.arena_fd, 1);
	} else {
		m.addr = (uint64_t)(uintptr_t)(cma_buf + CMA_OFF);
		m.iova = m.addr;
		m.mode = RDMABROKER__MR_MODE__MR_CMA;
		/* As librdmabroker: the daemon reaches CMA memory through
		 * this process's own /proc/self/mem, passed with the request. */
		int mem = open("/proc/self/mem", O_RDWR | O_CLOEXEC);

		if (mem < 0) {
			fprintf(stderr, "fuzz-wqe: /proc/self/mem: %s\n", strerror(errno));
			return false;
		}
		r = call(&req, &mem, 1);
		close(mem);
	}
	if (!r)
		return false;
	w.mr[i] = r->mr_reg->handle;
	w.lkey[i] = r->mr_reg->lkey;
	w.rkey[i] = r->mr_reg->rkey;
	w.mr_addr[i] = m.addr;
	w.mr_iova[i] = m.iova;
	rdmabroker__reply__free_unpacked(r, NULL);
	return true;
}

static bool qp_create_one(int i)
{
	Rdmabroker__QpCreateReq c = RDMABROKER__QP_CREATE_REQ__INIT;
	Rdmabroker__QpCap cap = RDMABROKER__QP_CAP__INIT;
	Rdmabroker__Reply *r;
	REQ(qp_create, QP_CREATE, c);

	c.pd = w.pd[0];
	c.send_cq = w.cq[qp_def[i].cq];
	c.recv_cq = w.cq[qp_def[i].cq];
	if (qp_def[i].srq) {
		c.has_srq = true;
		c.srq = w.srq;
	}
	c.qp_type = qp_def[i].type;
	c.sq_sig_all = i == QP_C;
	cap.max_send_wr = 8;
	cap.max_recv_wr = 8;
	cap.max_send_sge = 4;
	cap.max_recv_sge = 4;
	cap.max_inline_data = 64;
	c.cap = &cap;
	r = call(&req, NULL, 0);
	if (!r)
		return false;
	w.qp[i] = r->qp_create->handle;
	w.qpn[i] = r->qp_create->qp_num;
	rdmabroker__reply__free_unpacked(r, NULL);
	return true;
}

/* The QP to state st with what that transition needs; 0 or -errno. */
static int qp_modify_to(int i, enum ibv_qp_state st)
{
	Rdmabroker__QpModifyReq m = RDMABROKER__QP_MODIFY_REQ__INIT;
	Rdmabroker__QpAttr a = RDMABROKER__QP_ATTR__INIT;
	Rdmabroker__QpCap cap = RDMABROKER__QP_CAP__INIT;
	Rdmabroker__AhAttr av, alt;
	enum ibv_qp_type t = qp_def[i].type;
	uint32_t mask = IBV_QP_STATE;
	Rdmabroker__Reply *r;
	REQ(qp_modify, QP_MODIFY, m);

	ah_fill(&av, w.gid.raw);
	ah_fill(&alt, w.gid.raw);
	a.cap = &cap;
	a.ah_attr = &av;
	a.alt_ah_attr = &alt;
	a.qp_state = st;
	switch (st) {
	case IBV_QPS_INIT:
		mask |= IBV_QP_PKEY_INDEX | IBV_QP_PORT;
		a.port_num = 1;
		if (t == IBV_QPT_UD) {
			mask |= IBV_QP_QKEY;
			a.qkey = 0x11111111;
		} else {
			mask |= IBV_QP_ACCESS_FLAGS;
			a.qp_access_flags = i == QP_F ? IBV_ACCESS_REMOTE_WRITE :
					    IBV_ACCESS_REMOTE_WRITE | IBV_ACCESS_REMOTE_READ |
					    IBV_ACCESS_REMOTE_ATOMIC;
		}
		break;
	case IBV_QPS_RTR:
		if (t != IBV_QPT_UD) {
			mask |= IBV_QP_AV | IBV_QP_PATH_MTU | IBV_QP_DEST_QPN |
				IBV_QP_RQ_PSN;
			a.path_mtu = IBV_MTU_1024;
			a.dest_qp_num = w.qpn[qp_def[i].peer];
		}
		if (t == IBV_QPT_RC) {
			mask |= IBV_QP_MAX_DEST_RD_ATOMIC | IBV_QP_MIN_RNR_TIMER;
			a.max_dest_rd_atomic = 2;
			a.min_rnr_timer = 1;	/* 10 us */
		}
		break;
	case IBV_QPS_RTS:
		mask |= IBV_QP_SQ_PSN;
		if (t == IBV_QPT_RC) {
			mask |= IBV_QP_TIMEOUT | IBV_QP_RETRY_CNT | IBV_QP_RNR_RETRY |
				IBV_QP_MAX_QP_RD_ATOMIC;
			a.timeout = 1;
			a.retry_cnt = 1;
			a.rnr_retry = 2;
			a.max_rd_atomic = 2;
		}
		break;
	default:
		break;
	}
	m.handle = w.qp[i];
	m.attr_mask = mask;
	m.attr = &a;
	r = call(&req, NULL, 0);
	if (!r)
		return -EINVAL;
	rdmabroker__reply__free_unpacked(r, NULL);
	return 0;
}

static int qp_to_rts(int i)
{
	static const enum ibv_qp_state path[] = {
		IBV_QPS_RESET, IBV_QPS_INIT, IBV_QPS_RTR, IBV_QPS_RTS,
	};

	for (size_t k = 0; k < sizeof(path) / sizeof(path[0]); k++)
		if (qp_modify_to(i, path[k]) < 0)
			return -1;
	return 0;
}

static bool destroy(Rdmabroker__Request *req)
{
	Rdmabroker__Reply *r = call(req, NULL, 0);

	if (r)
		rdmabroker__reply__free_unpacked(r, NULL);
	return r;
}

static bool qp_destroy_one(int i)
{
	Rdmabroker__QpDestroyReq q = RDMABROKER__QP_DESTROY_REQ__INIT;
	REQ(qp_destroy, QP_DESTROY, q);

	q.handle = w.qp[i];
	return destroy(&req);
}

static bool srq_destroy_one(void)
{
	Rdmabroker__SrqDestroyReq d = RDMABROKER__SRQ_DESTROY_REQ__INIT;
	REQ(srq_destroy, SRQ_DESTROY, d);

	d.handle = w.srq;
	return destroy(&req);
}

static bool mr_dereg_one(int i)
{
	Rdmabroker__MrDeregReq d = RDMABROKER__MR_DEREG_REQ__INIT;
	REQ(mr_dereg, MR_DEREG, d);

	d.handle = w.mr[i];
	return destroy(&req);
}

/* ------------------------------------------------------------ the world */

static struct rb_session *world_session(void)
{
	return w.up ? fz_session(w.id) : NULL;
}

static struct rb_qp *world_qp(int i)
{
	struct rb_session *s = world_session();

	return s ? (struct rb_qp *)res_lookup(s, w.qp[i], RB_RES_QP, NULL) : NULL;
}

static struct rb_srq *world_srq(void)
{
	struct rb_session *s = world_session();

	return s ? (struct rb_srq *)res_lookup(s, w.srq, RB_RES_SRQ, NULL) : NULL;
}

static struct rb_cq *world_cq(int i)
{
	struct rb_session *s = world_session();

	return s ? (struct rb_cq *)res_lookup(s, w.cq[i], RB_RES_CQ, NULL) : NULL;
}

/* The arena as the harness leaves it: canaries, MRs zero, the RO MR set. */
static void arena_fill(void)
{
	memset(w.arena, CANARY, ARENA_SIZE);
	memset(cma_buf, CANARY, sizeof(cma_buf));
	for (int i = 0; i < NMR; i++) {
		uint8_t *p = mr_def[i].off >= 0 ?
			     w.arena + mr_def[i].off + (mr_def[i].addr & 4095) :
			     cma_buf + CMA_OFF;

		memset(p, i == MR_RO ? RO_BYTE : 0, mr_def[i].len);
	}
}

/* base[from, to) must all be byte; else the engine wrote there. */
static void check_span(const uint8_t *base, size_t from, size_t to, uint8_t byte,
		       const char *what)
{
	static uint8_t tmpl[2][ARENA_SIZE];
	const uint8_t *t = tmpl[byte == RO_BYTE];

	if (!t[0])
		memset((void *)t, byte, ARENA_SIZE);
	if (to <= from || !memcmp(base + from, t, to - from))
		return;
	for (size_t k = from; k < to; k++)
		if (base[k] != byte) {
			fprintf(stderr, "fuzz-wqe: the engine wrote %#x at %s offset %#zx, outside every writable MR\n",
				base[k], what, k);
			abort();
		}
}

/* Every byte of the arena and the CMA buffer no writable MR covers. */
static void arena_check(void)
{
	size_t at = 0;

	/* mr_def lists the arena's MRs in address order. */
	for (int i = 0; i < NMR; i++) {
		size_t b, e;

		if (mr_def[i].off < 0)
			continue;
		b = (size_t)mr_def[i].off + (mr_def[i].addr & 4095);
		e = b + mr_def[i].len;
		check_span(w.arena, at, b, CANARY, "arena");
		if (i == MR_RO)
			check_span(w.arena, b, e, RO_BYTE, "read-only MR");
		at = e;
	}
	check_span(w.arena, at, ARENA_SIZE, CANARY, "arena");
	check_span(cma_buf, 0, CMA_OFF, CANARY, "CMA buffer");
	check_span(cma_buf, CMA_OFF + mr_def[NMR - 1].len, sizeof(cma_buf),
		   CANARY, "CMA buffer");
}

/* Descriptors open without a world (the arena's memfd among them). */
static int fds_idle = -1;

static void world_down(void)
{
	int n = -1;

	if (!w.up)
		return;
	w.up = false;
	if (!fz_disconnect(w.client, w.id)) {
		fprintf(stderr, "fuzz-wqe: the session outlived its client\n");
		abort();
	}
	/* libFuzzer's threads may hold one a moment: look again. */
	for (int i = 0; i < 3 && (n = fz_count_fds(false)) != fds_idle; i++)
		usleep(1000);
	if (n != fds_idle) {
		fprintf(stderr, "fuzz-wqe: %d descriptors open after the session, %d before\n",
			n, fds_idle);
		fz_count_fds(true);
		abort();
	}
}

static bool world_up(void)
{
	struct rb_session *s;

	if (w.arena_fd < 0) {
		w.arena_fd = memfd_create("fuzz-arena", MFD_CLOEXEC | MFD_ALLOW_SEALING);
		if (w.arena_fd < 0 || ftruncate(w.arena_fd, ARENA_SIZE) < 0 ||
		    fcntl(w.arena_fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW) < 0)
			abort();
		w.arena = mmap(NULL, ARENA_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED,
			       w.arena_fd, 0);
		if (w.arena == MAP_FAILED)
			abort();
	}
	arena_fill();
	if (fds_idle < 0)
		fds_idle = fz_count_fds(false);
	s = fz_connect(&w.client);
	if (!s)
		return false;
	w.id = s->id;
	w.up = true;
	if (!hello() || !device_open_0() || !pd_alloc_one(&w.pd[0]) ||
	    !pd_alloc_one(&w.pd[1]))
		goto fail;
	for (int i = 0; i < NCQ; i++)
		if (!cq_create_one(&w.cq[i]))
			goto fail;
	if (!srq_create_one() || !ah_create_one(0, &w.ah[0]) ||
	    !ah_create_one(1, &w.ah[1]))
		goto fail;
	for (int i = 0; i < NMR; i++)
		if (!mr_reg_one(i))
			goto fail;
	for (int i = 0; i < NQP; i++)
		if (!qp_create_one(i))
			goto fail;
	for (int i = 0; i < NQP; i++)
		if (qp_to_rts(i) < 0)
			goto fail;
	return true;
fail:
	fprintf(stderr, "fuzz-wqe: cannot build the world\n");
	abort();
}

/* ------------------------------------------------------------ inputs */

struct cursor {
	const uint8_t *p;
	size_t left;
};

static unsigned int next_byte(struct cursor *c)
{
	if (!c->left)
		return 0;
	c->left--;
	return *c->p++;
}

/* Up to n input bytes into buf, the rest zero. */
static void next_bytes(struct cursor *c, void *buf, size_t n)
{
	size_t k = n < c->left ? n : c->left;

	memset(buf, 0, n);
	memcpy(buf, c->p, k);
	c->p += k;
	c->left -= k;
}

/*
 * An address near MR m (start base, len bytes) from 16 bits of the
 * fuzzer's: bits 15..14 say from where (start +, start -, end -, end +),
 * bits 13..0 how far; so that edges are a few bits away.
 */
static uint64_t near(uint64_t base, uint32_t len, uint64_t a)
{
	uint64_t k = a & 0x3fff;

	switch ((a >> 14) & 3) {
	case 0: return base + k;
	case 1: return base - k;
	case 2: return base + len - k;
	default: return base + len + k;
	}
}

static void fix_sge(struct rb_sge *s)
{
	int m;

	if (s->lkey >= 0x100)
		return;
	m = (int)(s->lkey % NMR);
	s->lkey = w.lkey[m];
	s->addr = near(w.mr_addr[m], mr_def[m].len, s->addr);
	if (!(s->length & 0x80000000u))
		s->length &= 0x7fff;
}

static void fix_send(struct rb_send_wqe *h, uint32_t slot_size)
{
	struct rb_sge *sge = (struct rb_sge *)(h + 1);
	uint32_t room = (slot_size - (uint32_t)sizeof(*h)) / sizeof(*sge);

	if (h->rkey < 0x100) {
		int m = (int)(h->rkey % NMR);

		h->rkey = w.rkey[m];
		h->remote_addr = near(w.mr_iova[m], mr_def[m].len, h->remote_addr);
	}
	if (h->remote_qpn < 0x100)
		h->remote_qpn = w.qpn[h->remote_qpn % NQP];
	if (h->ah_handle < 0x100)
		h->ah_handle = w.ah[h->ah_handle % 2];
	if (h->send_flags & IBV_SEND_INLINE)
		return;
	for (uint32_t i = 0; i < h->num_sge && i < room; i++)
		fix_sge(&sge[i]);
}

static void fix_recv(struct rb_recv_wqe *h, uint32_t slot_size)
{
	struct rb_sge *sge = (struct rb_sge *)(h + 1);
	uint32_t room = (slot_size - (uint32_t)sizeof(*h)) / sizeof(*sge);

	for (uint32_t i = 0; i < h->num_sge && i < room; i++)
		fix_sge(&sge[i]);
}

/*
 * Write the next slot of ring r (entries, size) as librdmabroker posts:
 * publish prod, then ring the doorbell (bell, or -1) if the engine asked.
 */
static void post(struct rb_ring *r, uint32_t entries, uint32_t size,
		 const uint8_t *wqe, int bell)
{
	uint32_t prod = __atomic_load_n(&r->prod, __ATOMIC_RELAXED);
	uint64_t one = 1;

	memcpy(ring_slot(r, entries, size, prod), wqe, size);
	__atomic_store_n(&r->prod, prod + 1, __ATOMIC_SEQ_CST);
	if (bell >= 0 &&
	    (__atomic_load_n(&r->flags, __ATOMIC_SEQ_CST) & RB_RING_NEED_WAKEUP) &&
	    write(bell, &one, sizeof(one)) < 0)
		abort();
}

static void op_send(struct cursor *c)
{
	struct rb_qp *qp = world_qp((int)(next_byte(c) % NQP));
	uint8_t buf[1024];

	if (!qp || qp->sq_entry_size > sizeof(buf))
		return;
	next_bytes(c, buf, qp->sq_entry_size);
	fix_send((struct rb_send_wqe *)(void *)buf, qp->sq_entry_size);
	post(qp->sq, qp->sq_entries, qp->sq_entry_size, buf, qp->doorbell);
}

static void op_recv(struct cursor *c)
{
	int q = (int)(next_byte(c) % NQP);
	uint8_t buf[1024];

	if (qp_def[q].srq) {
		struct rb_srq *srq = world_srq();

		if (!srq || srq->entry_size > sizeof(buf))
			return;
		next_bytes(c, buf, srq->entry_size);
		fix_recv((struct rb_recv_wqe *)(void *)buf, srq->entry_size);
		post(srq->ring, srq->max_wr, srq->entry_size, buf, -1);
	} else {
		struct rb_qp *qp = world_qp(q);

		if (!qp || qp->rq_entry_size > sizeof(buf))
			return;
		next_bytes(c, buf, qp->rq_entry_size);
		fix_recv((struct rb_recv_wqe *)(void *)buf, qp->rq_entry_size);
		post(qp->rq, qp->rq_entries, qp->rq_entry_size, buf, qp->doorbell);
	}
}

static void op_bell(struct cursor *c)
{
	struct rb_qp *qp = world_qp((int)(next_byte(c) % NQP));
	uint64_t one = 1;

	if (qp && write(qp->doorbell, &one, sizeof(one)) < 0)
		return;
	fz_pump(1);
}

static void op_prod(struct cursor *c)
{
	struct rb_qp *qp = world_qp((int)(next_byte(c) % NQP));
	bool rq = next_byte(c) & 1;
	int8_t d = (int8_t)next_byte(c);
	struct rb_ring *r;

	if (!qp)
		return;
	r = rq ? qp->rq : qp->sq;
	__atomic_fetch_add(&r->prod, (uint32_t)(int32_t)d, __ATOMIC_RELEASE);
}

/* Control requests are slow next to ring writes: a few per input. */
#define MAX_MODIFY	8
static int nmodify;
/* QPs made again this input, and their peers; a setup request failed. */
static unsigned int churned;
static bool broken;

static void op_modify(struct cursor *c)
{
	int i = (int)(next_byte(c) % NQP);
	bool reset = next_byte(c) & 1;

	if (!world_qp(i) || nmodify++ >= MAX_MODIFY)
		return;
	if (reset)
		qp_to_rts(i);
	else
		qp_modify_to(i, IBV_QPS_ERR);
}

/* An MR deregistered and registered again (new keys) under the engine. */
static void op_mr_churn(struct cursor *c)
{
	int i = (int)(next_byte(c) % NMR);

	if (nmodify++ >= MAX_MODIFY)
		return;
	if (!mr_dereg_one(i) || !mr_reg_one(i))
		broken = true;
}

/* A QP destroyed and made again; its peer learns it the hard way. */
static void op_qp_churn(struct cursor *c)
{
	int i = (int)(next_byte(c) % NQP);

	if (nmodify++ >= MAX_MODIFY)
		return;
	churned |= 1u << i;
	if (qp_def[i].peer >= 0)
		churned |= 1u << qp_def[i].peer;
	if (!qp_destroy_one(i) || !qp_create_one(i) || qp_to_rts(i) < 0)
		broken = true;
}

/* The SRQ or a CQ resized (a new ring) under the engine; may be refused. */
static void op_resize(struct cursor *c, bool srq)
{
	unsigned int i = next_byte(c), n = next_byte(c);
	Rdmabroker__Reply *r = NULL;

	if (nmodify++ >= MAX_MODIFY)
		return;
	if (srq) {
		Rdmabroker__SrqModifyReq m = RDMABROKER__SRQ_MODIFY_REQ__INIT;
		REQ(srq_modify, SRQ_MODIFY, m);

		m.handle = w.srq;
		m.attr_mask = IBV_SRQ_MAX_WR | ((i & 1) ? IBV_SRQ_LIMIT : 0);
		m.max_wr = n % 33;
		m.srq_limit = i >> 1;
		r = call_quiet(&req);
	} else {
		Rdmabroker__CqResizeReq m = RDMABROKER__CQ_RESIZE_REQ__INIT;
		REQ(cq_resize, CQ_RESIZE, m);

		m.handle = w.cq[i % NCQ];
		m.cqe = (int)(n % 65);
		r = call_quiet(&req);
	}
	if (r)
		rdmabroker__reply__free_unpacked(r, NULL);
}

static void op_cq(struct cursor *c)
{
	struct rb_cq *cq = world_cq((int)(next_byte(c) % NCQ));
	unsigned int how = next_byte(c);

	if (!cq)
		return;
	if (how & 1)
		__atomic_store_n(&cq->ring->cons,
				 __atomic_load_n(&cq->ring->prod, __ATOMIC_ACQUIRE),
				 __ATOMIC_RELEASE);
	if (how & 2)
		__atomic_fetch_or(&cq->ring->flags, RB_RING_ARMED, __ATOMIC_SEQ_CST);
	if (how & 4)
		__atomic_fetch_or(&cq->ring->flags, RB_RING_ARMED_SOLICITED,
				  __ATOMIC_SEQ_CST);
	if (how & 8)
		__atomic_store_n(&cq->ring->flags, 0, __ATOMIC_SEQ_CST);
	if (how & 16)	/* garbage where the client has no business */
		cq->ring->entries = how;
}

/* Time passes: every QP's RNR and transport timers expire. */
static void op_wait(void)
{
	for (int i = 0; i < NQP; i++) {
		struct rb_qp *qp = world_qp(i);

		if (qp)
			fz_fire_timers(qp);
	}
	fz_pump(1);
}

/* Drained CQs, QPs in RTS with empty queues: the next input starts here. */
static void world_settle(void)
{
	struct rb_srq *srq;

	for (int i = 0; i < NQP; i++) {
		struct rb_qp *qp = world_qp(i);
		struct soft_qp *eq;	/* the soft device's state of it */

		if (!qp)
			break;
		eq = soft_qp_of(qp);
		if ((churned & (1u << i)) ||
		    qp->attr.qp_state != IBV_QPS_RTS || eq->rd_count ||
		    eq->rnr_wait || eq->sq_cons != qp->sq->prod ||
		    eq->rq_cons != qp->rq->prod || qp->sq->cons != eq->sq_cons)
			qp_to_rts(i);
	}
	for (int i = 0; i < NCQ; i++) {
		struct rb_cq *cq = world_cq(i);

		if (!cq)
			break;
		/* RB_FUZZ_LOG=debug: what an input completed. */
		for (uint32_t k = cq->ring->cons; getenv("RB_FUZZ_LOG") &&
		     k != cq->prod && k - cq->ring->cons <= cq->entries; k++) {
			const struct rb_cqe *e = ring_slot(cq->ring, cq->entries,
							   sizeof(*e), k);

			fprintf(stderr, "fuzz-wqe: CQ %d: wr_id %llu status %u opcode %u len %u qp %#x\n",
				i, (unsigned long long)e->wr_id, e->status, e->opcode,
				e->byte_len, e->qp_num);
		}
		cq->ring->entries = cq->entries;
		cq->ring->cons = cq->ring->prod;
		cq->ring->flags = 0;
		cq->overrun = false;
	}
	if (broken || !world_session() || world_session()->killed) {
		world_down();
		return;
	}
	srq = world_srq();
	/* Receives left in the SRQ cannot be taken back: a new SRQ and B. */
	if (srq && srq->ring->prod != srq->cons &&
	    (!qp_destroy_one(QP_B) || !srq_destroy_one() || !srq_create_one() ||
	     !qp_create_one(QP_B) ||
	     qp_to_rts(QP_A) < 0 || qp_to_rts(QP_B) < 0))
		world_down();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cursor c = { .p = data, .left = size };

	fz_init();
	if (!w.up)
		world_up();
	nmodify = 0;
	churned = 0;
	broken = false;
	while (c.left && world_session() && !world_session()->killed) {
		unsigned int op = next_byte(&c) % 12;

		switch (op) {
		case 0:
			op_send(&c);
			break;
		case 1:
			op_recv(&c);
			break;
		case 2: {
			int n = (int)(next_byte(&c) & 3) + 1;

			fz_pump(n);
			break;
		}
		case 3:
			op_bell(&c);
			break;
		case 4:
			op_prod(&c);
			break;
		case 5:
			op_modify(&c);
			break;
		case 6:
			op_cq(&c);
			break;
		case 7:
			op_wait();
			break;
		case 8:
			op_mr_churn(&c);
			break;
		case 9:
			op_qp_churn(&c);
			break;
		default:
			op_resize(&c, op == 10);
			break;
		}
	}
	/* What the engine still had to do. */
	fz_pump(4);
	fz_drain(w.client);
	arena_check();
	world_settle();
	arena_fill();
	return 0;
}
