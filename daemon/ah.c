/* SPDX-License-Identifier: MIT */
/*
 * Address handles, and the address-vector rules they share with a QP's
 * IBV_QP_AV: the port is Ethernet (RoCE), so an address needs a GRH with
 * a source GID index the port has.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <infiniband/verbs.h>

#include "daemon/daemon.h"
#include "daemon/dispatch.h"
#include "daemon/loop.h"
#include "daemon/log.h"
#include "daemon/objects.h"
#include "daemon/res.h"
#include "proto/conv.h"


bool ah_attr_pb_fits(const Rdmabroker__AhAttr *m, struct rb_reply *rep)
{
	/* The wire has 32 bits where verbs has 8 or 16: no silent wrap. */
	if (!rb_conv_ah_attr_fits(m)) {
		reply_error(rep, "address vector out of range (dgid of %zu bytes, or a field too large)",
			    m->dgid.len);
		return false;
	}
	return true;
}

int ah_attr_check(const struct rb_device *dev, const struct ibv_ah_attr *a,
		  bool port_required, struct rb_reply *rep)
{
	if ((port_required || a->port_num) &&
	    (a->port_num < 1 || a->port_num > dev->phys_port_cnt)) {
		reply_error(rep, "port_num %u: the device has port 1..%u", a->port_num,
			    dev->phys_port_cnt);
		return -EINVAL;
	}
	if (!a->is_global) {
		reply_error(rep, "is_global is 0, but an Ethernet port needs a GRH");
		return -EINVAL;
	}
	if (a->grh.sgid_index >= dev->gid_tbl_len) {
		reply_error(rep, "sgid_index %u out of range (the port has %u GIDs)",
			    a->grh.sgid_index, dev->gid_tbl_len);
		return -EINVAL;
	}
	return 0;
}

static void ah_destroy(struct rb_res *r)
{
	struct rb_ah *ah = (struct rb_ah *)r;

	ah->dev->ops.destroy_ah(ah);
	res_uncharge(r->owner, RB_LIMIT_AHS, 1);
	ah->dev->nahs--;
	free(ah);
}

int ah_create(struct rb_session *s, const Rdmabroker__Request *req,
	      struct rb_reply *rep)
{
	const Rdmabroker__AhCreateReq *q = req->ah_create;
	struct rb_device *dev = s->device;
	Rdmabroker__AhCreateReply *m = reply_alloc(rep, sizeof(*m));
	struct ibv_ah_attr attr;
	struct rb_res *pd;
	struct rb_ah *ah;
	int ret;

	if (!m)
		return -ENOMEM;
	pd = res_lookup(s, q->pd, RB_RES_PD, rep);
	if (!pd)
		return -EINVAL;
	if (!ah_attr_pb_fits(q->attr, rep))
		return -EINVAL;
	rb_conv_ah_attr_from_pb(&attr, q->attr);
	ret = ah_attr_check(dev, &attr, true, rep);
	if (ret < 0)
		return ret;
	if (dev->nahs >= dev->max_ah) {
		reply_error(rep, "%s has all its %" PRIu32 " AHs in use", dev->name,
			    dev->max_ah);
		return -ENOMEM;
	}
	ret = res_charge(s, RB_LIMIT_AHS, 1, rep);
	if (ret < 0)
		return ret;
	ah = res_alloc(sizeof(*ah), dev->ops.ah_size);
	if (!ah) {
		res_uncharge(s, RB_LIMIT_AHS, 1);
		return -ENOMEM;
	}
	ah->dev = dev;
	ah->attr = attr;
	ah->res.type = RB_RES_AH;
	ah->res.deps[0] = pd;
	ah->res.destroy = ah_destroy;
	ret = dev->ops.create_ah(dev, ah);
	if (ret < 0) {
		free(ah);
		res_uncharge(s, RB_LIMIT_AHS, 1);
		reply_error(rep, "%s: create_ah: %s", dev->name, strerror(-ret));
		return ret;
	}
	ret = res_add(s, &ah->res);
	if (ret < 0) {
		dev->ops.destroy_ah(ah);
		free(ah);
		res_uncharge(s, RB_LIMIT_AHS, 1);
		reply_error(rep, "this connection holds too many objects");
		return ret;
	}
	dev->nahs++;
	rdmabroker__ah_create_reply__init(m);
	m->handle = ah->res.handle;
	rep->msg.body_case = RDMABROKER__REPLY__BODY_AH_CREATE;
	rep->msg.ah_create = m;
	return 0;
}

/*
 * A NIC copies a UD send's address vector when the send is posted, so an
 * AH destroyed right after (mckey's sender: post, leave, destroy the AH,
 * exit) does not take the posted sends with it.  Here a send names its
 * AH by handle until it runs: before an AH goes, the connection's UD send
 * queues get one pass of the device, as if their doorbells had rung.
 */
static void ah_flush_ud_sends(struct rb_session *s)
{
	struct rb_res *r;
	bool any = false;

	TAILQ_FOREACH(r, &s->res.list, link) {
		struct rb_qp *qp = (struct rb_qp *)r;

		if (r->type != RB_RES_QP || qp->type != IBV_QPT_UD)
			continue;
		qp->dev->ops.qp_doorbell(qp);
		any = true;
	}
	if (any)
		loop_pass();
}

int ah_destroy_req(struct rb_session *s, const Rdmabroker__Request *req,
		   struct rb_reply *rep)
{
	Rdmabroker__AhDestroyReply *m = reply_alloc(rep, sizeof(*m));
	int ret;

	if (!m)
		return -ENOMEM;
	ah_flush_ud_sends(s);
	ret = res_destroy(s, req->ah_destroy->handle, RB_RES_AH, rep);
	if (ret < 0)
		return ret;
	rdmabroker__ah_destroy_reply__init(m);
	rep->msg.body_case = RDMABROKER__REPLY__BODY_AH_DESTROY;
	rep->msg.ah_destroy = m;
	return 0;
}
