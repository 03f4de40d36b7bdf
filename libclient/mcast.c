/* SPDX-License-Identifier: MIT */
/*
 * ibv_attach_mcast and ibv_detach_mcast: a UD QP joins or leaves a
 * multicast group on its device (the soft device replicates a UD SEND to
 * a group GID to every QP attached; drivers/soft/soft-mcast.c).  Returns
 * 0 or an errno value, as libibverbs: EINVAL for a QP that is not UD or a
 * GID that is not a group, EOPNOTSUPP where the device has no multicast.
 */
#include "config.h"

#include <errno.h>

#include "libclient/client.h"

static int rbc_mcast(struct ibv_qp *qp, const union ibv_gid *gid, uint16_t lid,
		     bool attach)
{
	Rdmabroker__QpMcastReq body = RDMABROKER__QP_MCAST_REQ__INIT;
	Rdmabroker__Request req = RDMABROKER__REQUEST__INIT;
	Rdmabroker__Reply *reply;
	int ret;

	if (!qp || !gid)
		return EINVAL;
	if (qp->qp_type != IBV_QPT_UD || gid->raw[0] != 0xff)
		return EINVAL;
	body.qp = qp->handle;
	body.gid.data = (uint8_t *)gid->raw;
	body.gid.len = sizeof(gid->raw);
	body.lid = lid;
	body.attach = attach;
	req.body_case = RDMABROKER__REQUEST__BODY_QP_MCAST;
	req.qp_mcast = &body;
	ret = rbc_call(to_rbc_context(qp->context), &req, &reply);
	if (ret == 0)
		rb_rpc_reply_free(reply);
	return ret;
}

RB_EXPORT int ibv_attach_mcast(struct ibv_qp *qp, const union ibv_gid *gid,
			       uint16_t lid)
{
	return rbc_mcast(qp, gid, lid, true);
}

RB_EXPORT int ibv_detach_mcast(struct ibv_qp *qp, const union ibv_gid *gid,
			       uint16_t lid)
{
	return rbc_mcast(qp, gid, lid, false);
}
