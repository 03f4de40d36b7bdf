/* SPDX-License-Identifier: MIT */
/*
 * The QP attributes of a connection made by the connection manager, as
 * rdma_init_qp_attr() gives them (the kernel's rdma_cm computes them from
 * the same parameters): written once, for the client library's
 * rdma_init_qp_attr() and for the daemon, which moves a connection's QP
 * to RTR and RTS itself when the library asks it to (docs/cm.md).
 */
#ifndef RB_PROTO_CM_QP_H
#define RB_PROTO_CM_QP_H

#include <stdbool.h>
#include <stdint.h>

#include <infiniband/verbs.h>

/* What the CM knows of one end of a connection. */
struct rb_cm_qp_params {
	enum ibv_qp_type qp_type;
	uint8_t port_num;		/* 0: port 1 */
	uint32_t qkey;			/* UD; 0: RDMA_UDP_QKEY */
	union ibv_gid dgid;
	uint8_t sgid_index;		/* the source GID's index in the table */
	uint8_t tos;
	enum ibv_mtu mtu;
	uint32_t remote_qpn, remote_psn, local_psn;
	uint8_t resp_res, init_depth, retry, rnr_retry;
	uint8_t timeout;		/* local ACK timeout; 0: 14 */
};

/* The address vector of the path to the peer. */
void rb_cm_ah_attr(const struct rb_cm_qp_params *c, struct ibv_ah_attr *ah);

/*
 * The attributes and mask for moving a QP to a->qp_state (INIT, RTR or
 * RTS; other states get IBV_QP_STATE alone), as rdma_init_qp_attr().
 */
void rb_cm_qp_attr(const struct rb_cm_qp_params *c, struct ibv_qp_attr *a,
		   int *mask);

/*
 * INIT to RTR with the connection's access flags (INIT's, as the CM gives
 * them once connected) riding on it, where the IB spec allows them: one
 * modify fewer than librdmacm's INIT, RTR, RTS.
 */
void rb_cm_qp_attr_rtr(const struct rb_cm_qp_params *c, struct ibv_qp_attr *a,
		       int *mask);

#endif /* RB_PROTO_CM_QP_H */
