/* SPDX-License-Identifier: MIT */
/*
 * Rkeys a client of a nested broker may not use, stopped by that broker
 * when the responder is a QP of the same device
 * (tests/hostile/verbs-rkey.sh; drivers/verbs/verbs-obj.c,
 * verbs_rkey_check).  RDMABROKER_SOCKET names the inner daemon.
 *
 * V, the victim, registers a buffer with every access and one without
 * remote write, fills both, and connects an RC QP to X's.  X, the
 * attacker, then (each on its own pair of QPs, since each failure puts
 * both ends in ERR):
 *  1. WRITEs with V's rkey from one QP of its own to another: the rkey
 *     is not of the responder's PD;
 *  2. WRITEs into V's read-only buffer through the QP V connected;
 *  3. READs past the end of its own MR, on its own pair;
 *  4. a compare-and-swap at an address that is not 8-byte aligned.
 * Each must complete with the status the device gives (REM_ACCESS_ERR,
 * REM_INV_REQ_ERR for 4), the responder must get its async event
 * (IBV_EVENT_QP_ACCESS_ERR, IBV_EVENT_QP_REQ_ERR) and be in ERR, and V's
 * memory must not change.  Whether the WRs reached the device is for the
 * script to tell, from the outer daemon's counters.
 *
 * Exit 0 if all held, 1 otherwise.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/lib/datatest.h"

#define BUF	16384

struct peer {
	uint32_t qpn;
	union ibv_gid gid;
	uint64_t addr_all, addr_ro;
	uint32_t rkey_all, rkey_ro;
};

static const char *who = "?";

#define FAIL(...) do { fprintf(stderr, "verbs-rkey %s: ", who); \
	fprintf(stderr, __VA_ARGS__); fputc('\n', stderr); return 1; } while (0)

/* The next async event of ctx within 5 s is ev on qp. */
static int want_event(struct ibv_context *ctx, struct ibv_qp *qp, enum ibv_event_type ev)
{
	struct pollfd p = { .fd = ctx->async_fd, .events = POLLIN };
	struct ibv_async_event e;
	struct ibv_qp_attr a;
	struct ibv_qp_init_attr ia;

	if (poll(&p, 1, DT_TIMEOUT_MS) != 1 || ibv_get_async_event(ctx, &e))
		FAIL("no async event (wanted %s on QP %#x)", ibv_event_type_str(ev), qp->qp_num);
	if (e.event_type != ev || e.element.qp != qp) {
		ibv_ack_async_event(&e);
		FAIL("async event %s, wanted %s on QP %#x", ibv_event_type_str(e.event_type),
		     ibv_event_type_str(ev), qp->qp_num);
	}
	ibv_ack_async_event(&e);
	if (ibv_query_qp(qp, &a, IBV_QP_STATE, &ia) || a.qp_state != IBV_QPS_ERR)
		FAIL("the responder QP %#x is not in ERR", qp->qp_num);
	return 0;
}

/* Post one signaled WR, wait for its completion with status want. */
static int post_wait(struct ibv_qp *qp, struct ibv_cq *cq, struct ibv_send_wr *wr,
		     enum ibv_wc_status want)
{
	char why[256];

	if (dt_post_wait(qp, cq, wr, want, NULL, why, sizeof(why)))
		FAIL("%s", why);
	return 0;
}

static struct ibv_qp *rc_qp(struct dt_node *n)
{
	struct ibv_qp_cap cap = { .max_send_wr = 4, .max_recv_wr = 4,
				  .max_send_sge = 1, .max_recv_sge = 1 };

	return dt_qp_create(n, IBV_QPT_RC, &cap, NULL, NULL, 0);
}

/* V: the victim. */
static int side_v(int fd)
{
	struct dt_qp_opts o = dt_qp_opts_default();
	struct dt_node n;
	struct dt_buf all, ro;
	struct ibv_qp *qp;
	struct peer me, x;

	who = "V";
	if (dt_node_open(&n, 16, false) || dt_buf_alloc(&all, n.pd, BUF, DT_ACCESS_ALL) ||
	    dt_buf_alloc(&ro, n.pd, BUF, IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_READ))
		FAIL("cannot open a device and register: %s", strerror(errno));
	memset(all.p, 0x5a, BUF);
	memset(ro.p, 0xa5, BUF);
	qp = rc_qp(&n);
	if (!qp)
		FAIL("cannot create a QP: %s", strerror(errno));
	me = (struct peer){ .qpn = qp->qp_num, .gid = n.gid,
			    .addr_all = (uintptr_t)all.p, .rkey_all = all.mr->rkey,
			    .addr_ro = (uintptr_t)ro.p, .rkey_ro = ro.mr->rkey };
	if (dt_xchg(fd, &me, &x, sizeof(me)) || dt_qp_to_rts(qp, &x.gid, x.qpn, &o))
		FAIL("cannot connect to X: %s", strerror(errno));
	if (dt_sync(fd))			/* 1: connected */
		FAIL("lost X");
	if (dt_sync(fd))			/* 2: X tried case 2 on our QP */
		FAIL("lost X");
	if (want_event(n.ctx, qp, IBV_EVENT_QP_ACCESS_ERR))
		return 1;
	if (dt_sync(fd))			/* 3: X is done */
		FAIL("lost X");
	for (int i = 0; i < BUF; i++)
		if (all.p[i] != 0x5a || ro.p[i] != (uint8_t)0xa5)
			FAIL("our memory changed at byte %d", i);
	ibv_destroy_qp(qp);
	dt_buf_free(&all);
	dt_buf_free(&ro);
	dt_node_close(&n);
	return 0;
}

/* X: the attacker. */
static int side_x(int fd)
{
	struct dt_qp_opts o = dt_qp_opts_default();
	struct dt_node n;
	struct dt_buf b;
	struct ibv_qp *q[7];
	struct peer me = { 0 }, v;
	struct ibv_sge sge;
	struct ibv_send_wr wr;
	uint64_t *res;

	who = "X";
	if (dt_node_open(&n, 32, false) || dt_buf_alloc(&b, n.pd, BUF, DT_ACCESS_ALL))
		FAIL("cannot open a device and register: %s", strerror(errno));
	for (int i = 0; i < 7; i++)
		if (!(q[i] = rc_qp(&n)))
			FAIL("cannot create QP %d: %s", i, strerror(errno));
	me.qpn = q[0]->qp_num;
	me.gid = n.gid;
	if (dt_xchg(fd, &me, &v, sizeof(me)) || dt_qp_to_rts(q[0], &v.gid, v.qpn, &o))
		FAIL("cannot connect to V: %s", strerror(errno));
	if (dt_qp_connect(q[1], q[2], &o) || dt_qp_connect(q[3], q[4], &o) ||
	    dt_qp_connect(q[5], q[6], &o))
		FAIL("cannot connect our own QPs: %s", strerror(errno));
	if (dt_sync(fd))			/* 1 */
		FAIL("lost V");
	memset(b.p, 0x33, BUF);

	/* 1: V's rkey, responder a QP of ours (our PD, not V's). */
	sge = (struct ibv_sge){ (uintptr_t)b.p, 4096, b.mr->lkey };
	wr = (struct ibv_send_wr){ .wr_id = 1, .sg_list = &sge, .num_sge = 1,
				   .opcode = IBV_WR_RDMA_WRITE,
				   .wr.rdma = { v.addr_all, v.rkey_all } };
	if (post_wait(q[1], n.scq, &wr, IBV_WC_REM_ACCESS_ERR) ||
	    want_event(n.ctx, q[2], IBV_EVENT_QP_ACCESS_ERR))
		FAIL("case 1: another client's rkey");
	/* 2: V's read-only buffer, through the QP V connected to ours. */
	wr = (struct ibv_send_wr){ .wr_id = 2, .sg_list = &sge, .num_sge = 1,
				   .opcode = IBV_WR_RDMA_WRITE,
				   .wr.rdma = { v.addr_ro, v.rkey_ro } };
	if (post_wait(q[0], n.scq, &wr, IBV_WC_REM_ACCESS_ERR))
		FAIL("case 2: a WRITE into memory without remote write");
	if (dt_sync(fd))			/* 2: V checks its event */
		FAIL("lost V");
	/* 3: a READ past the end of our own MR. */
	sge = (struct ibv_sge){ (uintptr_t)b.p, 4096, b.mr->lkey };
	wr = (struct ibv_send_wr){ .wr_id = 3, .sg_list = &sge, .num_sge = 1,
				   .opcode = IBV_WR_RDMA_READ,
				   .wr.rdma = { (uintptr_t)b.p + BUF - 2048, b.mr->rkey } };
	if (post_wait(q[3], n.scq, &wr, IBV_WC_REM_ACCESS_ERR) ||
	    want_event(n.ctx, q[4], IBV_EVENT_QP_ACCESS_ERR))
		FAIL("case 3: a READ past the MR");
	/* 4: an atomic at a misaligned address. */
	res = (uint64_t *)(void *)b.p;
	sge = (struct ibv_sge){ (uintptr_t)res, 8, b.mr->lkey };
	wr = (struct ibv_send_wr){ .wr_id = 4, .sg_list = &sge, .num_sge = 1,
				   .opcode = IBV_WR_ATOMIC_CMP_AND_SWP,
				   .wr.atomic = { (uintptr_t)b.p + 4100, 0, 1, b.mr->rkey } };
	if (post_wait(q[5], n.scq, &wr, IBV_WC_REM_INV_REQ_ERR) ||
	    want_event(n.ctx, q[6], IBV_EVENT_QP_REQ_ERR))
		FAIL("case 4: a misaligned atomic");
	if (dt_sync(fd))			/* 3 */
		FAIL("lost V");
	for (int i = 0; i < 7; i++)
		ibv_destroy_qp(q[i]);
	dt_buf_free(&b);
	dt_node_close(&n);
	return 0;
}

int main(void)
{
	int sv[2], st, fails = 0;
	pid_t pv, px;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		perror("socketpair");
		return 1;
	}
	pv = fork();
	if (pv == 0) {
		close(sv[1]);
		_exit(side_v(sv[0]));
	}
	px = fork();
	if (px == 0) {
		close(sv[0]);
		_exit(side_x(sv[1]));
	}
	close(sv[0]);
	close(sv[1]);
	if (pv < 0 || px < 0) {
		perror("fork");
		return 1;
	}
	if (waitpid(pv, &st, 0) != pv || !WIFEXITED(st) || WEXITSTATUS(st))
		fails++;
	if (waitpid(px, &st, 0) != px || !WIFEXITED(st) || WEXITSTATUS(st))
		fails++;
	printf("verbs-rkey: %s\n", fails ? "FAILED" : "every rkey refused as the device would");
	return fails ? 1 : 0;
}
