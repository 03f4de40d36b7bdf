/* SPDX-License-Identifier: MIT */
/*
 * A SEND posted the moment rdma_accept returns arrives (docs/cm.md): the
 * library does not wait for the daemon's answer to an accept on an id
 * with a channel (RB_PROTO_FEAT_CM_ASYNC), so the daemon may move the
 * QP to RTS after the application's first post; the send queue's work
 * must wait for it, not fail.  cm-accept-send PORT N: N connections
 * over 127.0.0.1:PORT in one process; on each the client posts a
 * receive and connects, the server creates its QP, accepts and at once
 * posts an 8-byte SEND; both see ESTABLISHED, the SEND completes with
 * success, the receive holds its bytes, and the server's QP is in RTS.
 * On every other connection the server queries the QP between the accept
 * and the post: the answer may say INIT or RTR, and the post must still
 * be taken.  Exit 0 pass, 1 fail.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <rdma/rdma_cma.h>

#include "tests/lib/cmtest.h"

/* One completion of cq within 5 s. */
static struct ibv_wc poll_one(struct ibv_cq *cq, const char *what)
{
	struct timespec t0, t;
	struct ibv_wc wc;
	int n;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	while ((n = ibv_poll_cq(cq, 1, &wc)) == 0) {
		clock_gettime(CLOCK_MONOTONIC, &t);
		if (t.tv_sec - t0.tv_sec > 5)
			FAIL("%s: no completion within 5 s", what);
	}
	if (n < 0)
		FAIL("%s: ibv_poll_cq: %d", what, n);
	if (wc.status != IBV_WC_SUCCESS)
		FAIL("%s: completion status %s", what, ibv_wc_status_str(wc.status));
	return wc;
}

int main(int argc, char **argv)
{
	struct sockaddr_in sin;
	struct rdma_conn_param cp = { .responder_resources = 1, .initiator_depth = 1,
				      .retry_count = 7, .rnr_retry_count = 7 };
	struct rdma_event_channel *ch;
	struct rdma_cm_id *lid;
	int n, early = 0;

	if (argc != 3 || (n = atoi(argv[2])) < 1)
		FAIL("usage: cm-accept-send PORT N");
	ch = rdma_create_event_channel();
	if (!ch)
		FAIL("rdma_create_event_channel: %s", strerror(errno));
	lid = cmt_listen(ch, (uint16_t)atoi(argv[1]), &sin);

	for (int i = 0; i < n; i++) {
		char rbuf[8] = { 0 }, sbuf[8];
		struct ibv_sge rsge, ssge;
		struct ibv_recv_wr rwr = { .sg_list = &rsge, .num_sge = 1 }, *rbad;
		struct ibv_send_wr swr = { .sg_list = &ssge, .num_sge = 1,
					   .opcode = IBV_WR_SEND,
					   .send_flags = IBV_SEND_SIGNALED }, *sbad;
		struct ibv_qp_init_attr init;
		struct ibv_qp_attr a;
		struct rdma_cm_id *cid, *sid;
		struct ibv_mr *rmr, *smr;
		struct ibv_wc wc;

		snprintf(sbuf, sizeof(sbuf), "acc%04d", i % 10000);
		if (rdma_create_id(ch, &cid, NULL, RDMA_PS_TCP))
			FAIL("rdma_create_id: %s", strerror(errno));
		cmt_resolve(ch, cid, &sin);
		cmt_create_qp(cid, IBV_QPT_RC);
		rmr = ibv_reg_mr(cid->pd, rbuf, sizeof(rbuf), IBV_ACCESS_LOCAL_WRITE);
		if (!rmr)
			FAIL("ibv_reg_mr: %s", strerror(errno));
		rsge = (struct ibv_sge){ (uintptr_t)rbuf, sizeof(rbuf), rmr->lkey };
		if (ibv_post_recv(cid->qp, &rwr, &rbad))
			FAIL("ibv_post_recv");
		if (rdma_connect(cid, &cp))
			FAIL("rdma_connect: %s", strerror(errno));

		sid = cmt_request(ch);
		cmt_create_qp(sid, IBV_QPT_RC);
		smr = ibv_reg_mr(sid->pd, sbuf, sizeof(sbuf), 0);
		if (!smr)
			FAIL("ibv_reg_mr: %s", strerror(errno));
		ssge = (struct ibv_sge){ (uintptr_t)sbuf, sizeof(sbuf), smr->lkey };
		if (rdma_accept(sid, &cp))
			FAIL("rdma_accept: %s", strerror(errno));
		/* Every other one asks the QP's state first, which may be
		 * INIT or RTR yet: that must not stop the post. */
		if (i % 2) {
			if (ibv_query_qp(sid->qp, &a, IBV_QP_STATE, &init))
				FAIL("ibv_query_qp after rdma_accept: %s", strerror(errno));
			early += a.qp_state != IBV_QPS_RTS;
		}
		/* At once: the daemon may not have moved the QP yet. */
		if (ibv_post_send(sid->qp, &swr, &sbad))
			FAIL("ibv_post_send right after rdma_accept: %s", strerror(errno));

		for (int e = 0; e < 2; e++)
			rdma_ack_cm_event(cmt_expect(ch, RDMA_CM_EVENT_ESTABLISHED, 5000));
		wc = poll_one(sid->send_cq, "the SEND");
		CHECK(wc.opcode == IBV_WC_SEND);
		wc = poll_one(cid->recv_cq, "the receive");
		CHECK(wc.opcode == IBV_WC_RECV && wc.byte_len == sizeof(sbuf));
		if (memcmp(rbuf, sbuf, sizeof(sbuf)))
			FAIL("connection %d: received %.8s, sent %.8s", i, rbuf, sbuf);
		if (ibv_query_qp(sid->qp, &a, IBV_QP_STATE, &init))
			FAIL("ibv_query_qp: %s", strerror(errno));
		CHECK(a.qp_state == IBV_QPS_RTS && sid->qp->state == IBV_QPS_RTS);

		CHECK(rdma_disconnect(cid) == 0);
		rdma_ack_cm_event(cmt_expect(ch, RDMA_CM_EVENT_DISCONNECTED, 5000));
		CHECK(rdma_disconnect(sid) == 0);
		rdma_ack_cm_event(cmt_expect(ch, RDMA_CM_EVENT_DISCONNECTED, 5000));
		for (int e = 0; e < 2; e++)
			rdma_ack_cm_event(cmt_expect(ch, RDMA_CM_EVENT_TIMEWAIT_EXIT, 5000));
		rdma_destroy_qp(cid);
		rdma_destroy_qp(sid);
		ibv_dereg_mr(rmr);
		ibv_dereg_mr(smr);
		rdma_destroy_id(cid);
		rdma_destroy_id(sid);
	}
	rdma_destroy_id(lid);
	rdma_destroy_event_channel(ch);
	printf("ok: %d connections, each SEND posted as rdma_accept returned arrived; "
	       "%d of %d queried before it showed the QP not yet in RTS\n", n, early, n / 2);
	return 0;
}
