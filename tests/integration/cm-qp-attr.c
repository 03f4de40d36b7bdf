/* SPDX-License-Identifier: MIT */
/*
 * The QPs of rdma_create_qp as ibv_query_qp sees them, at each step of a
 * connection and for a UD id: cm-qp-attr PORT prints one line per QP
 * and step with every attribute that does not change from run to run,
 * and checks what must hold whichever path made them (the daemon moving
 * the QP on creation, RB_PROTO_FEAT_QP_CREATE_MODIFY, or the library
 * with one request a state, RDMABROKER_CM_SYNC=1): INIT (UD: RTS) after
 * rdma_create_qp with rdma_init_qp_attr()'s values, ibv_qp.state the
 * truth, RTS once connected with each side's dest_qp_num the other's
 * QPN; a move the daemon refuses fails the creation (EINVAL).
 * tests/integration/cm-qp-attr.sh compares the two paths' lines.
 *
 * Exit 0 pass, 1 fail.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rdma/rdma_cma.h>

#include "tests/lib/cmtest.h"

/* librdmabroker's RDMABROKER_PRIVATE_1.0, what rdma_create_qp uses. */
struct ibv_qp *rdmab_create_qp_modify(struct ibv_qp_init_attr_ex *attr,
				      const struct ibv_qp_attr *mods,
				      const int *masks, size_t nmods);

/* The QP's attributes (not its number or PSNs, new each run). */
static void show(const char *what, struct rdma_cm_id *id, struct ibv_qp_attr *a)
{
	struct ibv_qp_init_attr init;

	memset(a, 0, sizeof(*a));
	if (ibv_query_qp(id->qp, a, IBV_QP_STATE | IBV_QP_PKEY_INDEX | IBV_QP_PORT |
			 IBV_QP_ACCESS_FLAGS | IBV_QP_QKEY | IBV_QP_PATH_MTU |
			 IBV_QP_TIMEOUT | IBV_QP_RETRY_CNT | IBV_QP_RNR_RETRY |
			 IBV_QP_MIN_RNR_TIMER | IBV_QP_MAX_QP_RD_ATOMIC |
			 IBV_QP_MAX_DEST_RD_ATOMIC | IBV_QP_DEST_QPN, &init))
		FAIL("%s: ibv_query_qp: %s", what, strerror(errno));
	CHECK(id->qp->state == a->qp_state);
	printf("%s: state %d pkey_index %u port %u access %#x qkey %#x mtu %d "
	       "timeout %u retry %u rnr_retry %u rnr_timer %u rd_atomic %u/%u "
	       "cap %u/%u/%u/%u/%u sig_all %d\n",
	       what, a->qp_state, a->pkey_index, a->port_num, a->qp_access_flags,
	       a->qkey, a->path_mtu, a->timeout, a->retry_cnt, a->rnr_retry,
	       a->min_rnr_timer, a->max_rd_atomic, a->max_dest_rd_atomic,
	       init.cap.max_send_wr, init.cap.max_recv_wr, init.cap.max_send_sge,
	       init.cap.max_recv_sge, init.cap.max_inline_data, init.sq_sig_all);
}

/* After rdma_create_qp: in `st`, with what rdma_init_qp_attr gives. */
static void check_init(const char *what, struct rdma_cm_id *id, enum ibv_qp_state st)
{
	struct ibv_qp_attr a, want = { .qp_state = IBV_QPS_INIT };
	int mask;

	show(what, id, &a);
	if (a.qp_state != st)
		FAIL("%s: QP in state %d, not %d", what, a.qp_state, st);
	if (rdma_init_qp_attr(id, &want, &mask))
		FAIL("%s: rdma_init_qp_attr: %s", what, strerror(errno));
	CHECK(!(mask & IBV_QP_PKEY_INDEX) || a.pkey_index == want.pkey_index);
	CHECK(!(mask & IBV_QP_PORT) || a.port_num == want.port_num);
	CHECK(!(mask & IBV_QP_ACCESS_FLAGS) || a.qp_access_flags == want.qp_access_flags);
	CHECK(!(mask & IBV_QP_QKEY) || a.qkey == want.qkey);
}

int main(int argc, char **argv)
{
	struct sockaddr_in sin;
	struct rdma_cm_id *cid, *sid, *uid;
	struct rdma_event_channel *ch;
	struct rdma_cm_event *ev;
	struct rdma_conn_param cp = { .responder_resources = 1, .initiator_depth = 1,
				      .retry_count = 7, .rnr_retry_count = 7 };
	struct ibv_qp_attr ca, sa;

	if (argc != 2)
		FAIL("usage: cm-qp-attr PORT");
	ch = rdma_create_event_channel();
	if (!ch)
		FAIL("rdma_create_event_channel: %s", strerror(errno));
	cmt_listen(ch, (uint16_t)atoi(argv[1]), &sin);

	/* The connecting side's QP, made between route and connect. */
	if (rdma_create_id(ch, &cid, NULL, RDMA_PS_TCP))
		FAIL("rdma_create_id: %s", strerror(errno));
	cmt_resolve(ch, cid, &sin);
	cmt_create_qp(cid, IBV_QPT_RC);
	check_init("active created", cid, IBV_QPS_INIT);
	if (rdma_connect(cid, &cp))
		FAIL("rdma_connect: %s", strerror(errno));

	/* The accepting side's, made on the request's new id. */
	sid = cmt_request(ch);
	cmt_create_qp(sid, IBV_QPT_RC);
	check_init("passive created", sid, IBV_QPS_INIT);
	if (rdma_accept(sid, &cp))
		FAIL("rdma_accept: %s", strerror(errno));
	for (int n = 0; n < 2; n++) {
		ev = cmt_expect(ch, RDMA_CM_EVENT_ESTABLISHED, 5000);
		rdma_ack_cm_event(ev);
	}
	show("active connected", cid, &ca);
	show("passive connected", sid, &sa);
	CHECK(ca.qp_state == IBV_QPS_RTS && sa.qp_state == IBV_QPS_RTS);
	CHECK(ca.dest_qp_num == sid->qp->qp_num && sa.dest_qp_num == cid->qp->qp_num);

	/* A UD id's QP goes on to RTS at once, with the id's QKey. */
	if (rdma_create_id(ch, &uid, NULL, RDMA_PS_UDP))
		FAIL("rdma_create_id UDP: %s", strerror(errno));
	cmt_resolve(ch, uid, &sin);
	cmt_create_qp(uid, IBV_QPT_UD);
	check_init("ud created", uid, IBV_QPS_RTS);
	{
		struct ibv_qp_attr a;

		show("ud again", uid, &a);
		CHECK(a.qkey == RDMA_UDP_QKEY);
	}

	/* A QP destroyed and made again on the same id lands the same. */
	rdma_destroy_qp(uid);
	cmt_create_qp(uid, IBV_QPT_UD);
	check_init("ud remade", uid, IBV_QPS_RTS);

	/* A move the daemon refuses fails the creation (port 9 of a
	 * one-port device), and leaves no QP: the id stays usable. */
	{
		struct ibv_qp_init_attr_ex ex = {
			.qp_type = IBV_QPT_RC, .comp_mask = IBV_QP_INIT_ATTR_PD,
			.pd = cid->pd, .send_cq = cid->send_cq, .recv_cq = cid->recv_cq,
			.cap = { .max_send_wr = 1, .max_recv_wr = 1,
				 .max_send_sge = 1, .max_recv_sge = 1 },
		};
		struct ibv_qp_attr bad = { .qp_state = IBV_QPS_INIT, .port_num = 9 };
		int mask = IBV_QP_STATE | IBV_QP_PKEY_INDEX | IBV_QP_PORT |
			   IBV_QP_ACCESS_FLAGS;

		errno = 0;
		if (rdmab_create_qp_modify(&ex, &bad, &mask, 1))
			FAIL("a QP created with port_num 9");
		if (errno != EINVAL)
			FAIL("port_num 9: errno %d, not EINVAL", errno);
		printf("refused move: EINVAL\n");
	}

	rdma_disconnect(cid);
	rdma_destroy_qp(uid);
	rdma_destroy_id(uid);
	printf("ok\n");
	return 0;
}
