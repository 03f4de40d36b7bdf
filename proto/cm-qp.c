/* SPDX-License-Identifier: MIT */
/* The QP attributes of a CM connection (proto/cm-qp.h). */
#include "config.h"

#include <string.h>

#include <rdma/rdma_cma.h>

#include "proto/cm-qp.h"

void rb_cm_ah_attr(const struct rb_cm_qp_params *c, struct ibv_ah_attr *ah)
{
	memset(ah, 0, sizeof(*ah));
	ah->is_global = 1;
	ah->grh.dgid = c->dgid;
	ah->grh.sgid_index = c->sgid_index;
	ah->grh.hop_limit = 64;
	ah->grh.traffic_class = c->tos;
	ah->port_num = c->port_num ? c->port_num : 1;
}

void rb_cm_qp_attr(const struct rb_cm_qp_params *c, struct ibv_qp_attr *a,
		   int *mask)
{
	bool ud = c->qp_type == IBV_QPT_UD, rc = c->qp_type == IBV_QPT_RC;
	enum ibv_qp_state st = a->qp_state;
	int m = IBV_QP_STATE;

	memset(a, 0, sizeof(*a));
	a->qp_state = st;
	switch (st) {
	case IBV_QPS_INIT:
		a->pkey_index = 0;
		a->port_num = c->port_num ? c->port_num : 1;
		m |= IBV_QP_PKEY_INDEX | IBV_QP_PORT;
		if (ud) {
			a->qkey = c->qkey ? c->qkey : RDMA_UDP_QKEY;
			m |= IBV_QP_QKEY;
		} else {
			/* Before a connection none; then the IB CM's. */
			if (c->remote_qpn || c->local_psn)
				a->qp_access_flags = IBV_ACCESS_REMOTE_WRITE |
					(rc && c->resp_res ? IBV_ACCESS_REMOTE_READ |
					 IBV_ACCESS_REMOTE_ATOMIC : 0);
			m |= IBV_QP_ACCESS_FLAGS;
		}
		break;
	case IBV_QPS_RTR:
		if (ud)
			break;
		rb_cm_ah_attr(c, &a->ah_attr);
		a->path_mtu = c->mtu;
		a->dest_qp_num = c->remote_qpn;
		a->rq_psn = c->remote_psn;
		m |= IBV_QP_AV | IBV_QP_PATH_MTU | IBV_QP_DEST_QPN | IBV_QP_RQ_PSN;
		if (rc) {
			a->max_dest_rd_atomic = c->resp_res;
			a->min_rnr_timer = 12;
			m |= IBV_QP_MAX_DEST_RD_ATOMIC | IBV_QP_MIN_RNR_TIMER;
		}
		break;
	case IBV_QPS_RTS:
		a->sq_psn = c->local_psn;
		m |= IBV_QP_SQ_PSN;
		if (rc) {
			a->timeout = c->timeout ? c->timeout : 14;
			a->retry_cnt = c->retry;
			a->rnr_retry = c->rnr_retry;
			a->max_rd_atomic = c->init_depth;
			m |= IBV_QP_TIMEOUT | IBV_QP_RETRY_CNT | IBV_QP_RNR_RETRY |
			     IBV_QP_MAX_QP_RD_ATOMIC;
		}
		break;
	default:
		break;
	}
	*mask = m;
}

void rb_cm_qp_attr_rtr(const struct rb_cm_qp_params *c, struct ibv_qp_attr *a,
		       int *mask)
{
	struct ibv_qp_attr init = { .qp_state = IBV_QPS_INIT };
	int imask;

	rb_cm_qp_attr(c, &init, &imask);
	a->qp_state = IBV_QPS_RTR;
	rb_cm_qp_attr(c, a, mask);
	if (imask & IBV_QP_ACCESS_FLAGS) {
		a->qp_access_flags = init.qp_access_flags;
		*mask |= IBV_QP_ACCESS_FLAGS;
	}
}
