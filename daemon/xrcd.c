/* SPDX-License-Identifier: MIT */
/*
 * XRC domains (ibv_open_xrcd, ibv_close_xrcd).  One per request and
 * connection: the daemon does not share a domain between processes that
 * name the same file (librdmabroker(7) BUGS).  Charged to the user's pds
 * limit, as a domain of protection it is.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/daemon.h"
#include "daemon/dispatch.h"
#include "daemon/objects.h"
#include "daemon/res.h"

static void xrcd_destroy(struct rb_res *r)
{
	struct rb_xrcd *x = (struct rb_xrcd *)r;

	x->dev->ops.close_xrcd(x);
	res_uncharge(r->owner, RB_LIMIT_PDS, 1);
	free(x);
}

int xrcd_open(struct rb_session *s, const Rdmabroker__Request *req,
	      struct rb_reply *rep)
{
	struct rb_device *dev = s->device;
	Rdmabroker__XrcdOpenReply *m = reply_alloc(rep, sizeof(*m));
	struct rb_xrcd *x;
	int ret;

	(void)req;
	if (!m)
		return -ENOMEM;
	ret = res_charge(s, RB_LIMIT_PDS, 1, rep);
	if (ret < 0)
		return ret;
	x = res_alloc(sizeof(*x), 0);
	if (!x) {
		res_uncharge(s, RB_LIMIT_PDS, 1);
		return -ENOMEM;
	}
	x->dev = dev;
	x->res.type = RB_RES_XRCD;
	x->res.destroy = xrcd_destroy;
	ret = dev->ops.open_xrcd(dev, x);
	if (ret < 0) {
		free(x);
		res_uncharge(s, RB_LIMIT_PDS, 1);
		reply_error(rep, "%s: open_xrcd: %s", dev->name, strerror(-ret));
		return ret;
	}
	ret = res_add(s, &x->res);
	if (ret < 0) {
		dev->ops.close_xrcd(x);
		free(x);
		res_uncharge(s, RB_LIMIT_PDS, 1);
		reply_error(rep, "this connection holds too many objects");
		return ret;
	}
	rdmabroker__xrcd_open_reply__init(m);
	m->handle = x->res.handle;
	rep->msg.body_case = RDMABROKER__REPLY__BODY_XRCD_OPEN;
	rep->msg.xrcd_open = m;
	return 0;
}

int xrcd_close(struct rb_session *s, const Rdmabroker__Request *req,
	       struct rb_reply *rep)
{
	Rdmabroker__XrcdCloseReply *m = reply_alloc(rep, sizeof(*m));
	int ret;

	if (!m)
		return -ENOMEM;
	ret = res_destroy(s, req->xrcd_close->handle, RB_RES_XRCD, rep);
	if (ret < 0)
		return ret;
	rdmabroker__xrcd_close_reply__init(m);
	rep->msg.body_case = RDMABROKER__REPLY__BODY_XRCD_CLOSE;
	rep->msg.xrcd_close = m;
	return 0;
}
