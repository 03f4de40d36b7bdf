/* SPDX-License-Identifier: MIT */
/*
 * Queue pairs.  The daemon owns the QP and its state machine; the client
 * maps the SQ and RQ rings it is given at create (proto/shm.h) and keeps
 * the verbs' return conventions: NULL + errno from create, the errno
 * value from modify, query and destroy.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "libclient/client.h"

/* ------------------------------------------------------------ kept rings */

/*
 * A destroyed QP's rings and doorbell stay mapped and open here when the
 * daemon keeps its side too (QpDestroyReply.ring_kept), and a later create
 * of the same geometry takes them back instead of a memfd, two mappings
 * and two fds.  Both lists change only under kept_lock, held across the
 * create and destroy calls, so each create tells the daemon exactly what
 * is kept here (rings_held).  Only with RDMABROKER_QP_RING_CACHE=N (up to
 * RBC_KEPT_MAX): by default a destroy unmaps the rings and closes the
 * doorbell on both sides before it returns, as DESIGN.md requires.
 */

int rbc_ring_cache_size(void)
{
	const char *env = getenv(RBC_RING_CACHE_ENV);
	char *end;
	long v;

	if (!env || !*env)
		return 0;
	v = strtol(env, &end, 10);
	if (*end || v < 0)
		return 0;
	return v > RBC_KEPT_MAX ? RBC_KEPT_MAX : (int)v;
}

static void rbc_kept_free(struct rbc_kept *k)
{
	munmap(k->map, k->len);
	close(k->doorbell);
	memset(k, 0, sizeof(*k));
}

static struct rbc_kept *rbc_kept_find(struct rbc_context *c, uint32_t id)
{
	for (int i = 0; id && i < RBC_KEPT_MAX; i++)
		if (c->kept[i].id == id)
			return &c->kept[i];
	return NULL;
}

void rbc_qp_kept_fini(struct rbc_context *c)
{
	for (int i = 0; i < RBC_KEPT_MAX; i++)
		if (c->kept[i].id)
			rbc_kept_free(&c->kept[i]);
}

/* The rings of a create reply: mapped from fds[0], or kept ones (*k). */
static int rbc_qp_rings(struct rbc_context *c, struct rbc_qp *qp,
			const Rdmabroker__QpCreateReply *r, int *fds,
			size_t nfds)
{
	size_t rq_off = r->rq_offset, len = rq_off + r->rq_bytes;
	struct rbc_kept *k;
	void *map = MAP_FAILED;
	int ret = EPROTO;	/* unless mmap says otherwise: a reply we cannot use */

	for (size_t i = 0; i < r->n_rings_dropped; i++) {
		k = rbc_kept_find(c, r->rings_dropped[i]);
		if (k)
			rbc_kept_free(k);
	}
	qp->sq_bytes = r->sq_bytes;
	qp->rq_bytes = r->rq_bytes;
	if (!r->has_rq_offset || rq_off < qp->sq_bytes ||
	    (rq_off & ((size_t)sysconf(_SC_PAGESIZE) - 1)) || len <= rq_off)
		goto out;
	if (r->has_ring_reused) {
		k = rbc_kept_find(c, r->ring_reused);
		if (nfds != 0 || !k || k->len != len || k->rq_off != rq_off)
			goto out;
		map = k->map;
		qp->doorbell = k->doorbell;
		memset(k, 0, sizeof(*k));	/* the QP's now */
	} else {
		if (nfds != 2)
			goto out;
		map = rbc_map_rings(fds[0], len);
		if (map == MAP_FAILED) {
			ret = errno;
			goto out;
		}
		qp->doorbell = fds[1];
		fds[1] = -1;	/* transferred */
	}
	/* A kept ring too: the daemon rewrote its header, check it again. */
	qp->sq = map;
	qp->rq = (struct rb_ring *)((char *)map + rq_off);
	if (rbc_ring_check(qp->sq, qp->sq_bytes, RB_RING_SQ) < 0 ||
	    rbc_ring_check(qp->rq, qp->rq_bytes, RB_RING_RQ) < 0) {
		munmap(map, len);
		close(qp->doorbell);
		goto out;	/* a daemon of another ABI */
	}
	ret = 0;
out:
	for (size_t i = 0; i < nfds; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	return ret;
}

/*
 * A QP of context: on pd, or, an XRC_RECV QP, in xrcd (no PD, CQ or
 * queue of its own).  An XRC_SEND QP has no receive side: its recv_cq is
 * its send_cq to the daemon.
 */
/*
 * mods/masks/nmods (rdmab_create_qp_modify): modifies the daemon applies
 * before it answers, sent only where it agreed to
 * RB_PROTO_FEAT_QP_CREATE_MODIFY (the caller checked).
 */
static struct ibv_qp *rbc_qp_create(struct ibv_context *context, struct ibv_pd *pd,
				    struct ibv_xrcd *xrcd, struct ibv_qp_init_attr *attr,
				    const struct ibv_qp_attr *mods, const int *masks,
				    size_t nmods)
{
	struct rbc_context *c = to_rbc_context(context);
	Rdmabroker__QpCreateReq body = RDMABROKER__QP_CREATE_REQ__INIT;
	Rdmabroker__QpCreateModify mod[RBC_QP_MODS_MAX];
	Rdmabroker__QpCreateModify *modp[RBC_QP_MODS_MAX];
	Rdmabroker__QpAttr mod_pa[RBC_QP_MODS_MAX];
	struct rb_conv_qp_attr_buf mod_buf[RBC_QP_MODS_MAX];
	Rdmabroker__QpCap cap = RDMABROKER__QP_CAP__INIT;
	Rdmabroker__Request req = RDMABROKER__REQUEST__INIT;
	Rdmabroker__Reply *reply;
	uint32_t held[RBC_KEPT_MAX];
	struct rbc_qp *qp;
	size_t nfds;
	int fds[2], ret;

	bool xrc_recv = attr && attr->qp_type == IBV_QPT_XRC_RECV;
	bool xrc_send = attr && attr->qp_type == IBV_QPT_XRC_SEND;

	if (!attr || nmods > RBC_QP_MODS_MAX || (xrc_recv && nmods) ||
	    (xrc_recv ? !xrcd : !pd || !attr->send_cq) ||
	    (!xrc_recv && !xrc_send && !attr->recv_cq) ||
	    ((xrc_recv || xrc_send) && attr->srq)) {
		errno = EINVAL;
		return NULL;
	}
	qp = calloc(1, sizeof(*qp));
	if (!qp) {
		errno = ENOMEM;
		return NULL;
	}
	if (xrc_recv) {
		body.has_xrcd = 1;
		body.xrcd = ((struct rbc_xrcd *)xrcd)->handle;
		memset(&attr->cap, 0, sizeof(attr->cap));
	} else {
		body.pd = pd->handle;
		body.send_cq = attr->send_cq->handle;
		body.recv_cq = xrc_send ? attr->send_cq->handle : attr->recv_cq->handle;
	}
	if (xrc_send) {
		attr->cap.max_recv_wr = 0;
		attr->cap.max_recv_sge = 0;
	}
	if (attr->srq) {
		body.has_srq = 1;
		body.srq = attr->srq->handle;
	}
	body.qp_type = attr->qp_type;
	body.sq_sig_all = attr->sq_sig_all != 0;
	rb_conv_qp_cap_to_pb(&cap, &attr->cap);
	body.cap = &cap;
	for (size_t i = 0; i < nmods; i++) {
		rdmabroker__qp_create_modify__init(&mod[i]);
		rdmabroker__qp_attr__init(&mod_pa[i]);
		rb_conv_qp_attr_to_pb(&mod_pa[i], &mod_buf[i], &mods[i]);
		mod[i].attr_mask = (uint32_t)masks[i];
		mod[i].attr = &mod_pa[i];
		modp[i] = &mod[i];
	}
	body.n_modify = nmods;
	body.modify = nmods ? modp : NULL;
	req.body_case = RDMABROKER__REQUEST__BODY_QP_CREATE;
	req.qp_create = &body;
	pthread_mutex_lock(&c->kept_lock);
	body.rings_held = held;
	for (int i = 0; i < RBC_KEPT_MAX; i++)
		if (c->kept[i].id)
			held[body.n_rings_held++] = c->kept[i].id;
	ret = rbc_call_fds_max(c, &req, &reply, fds, 2, &nfds);
	/* One memfd holds both rings: the SQ at 0, the RQ at rq_offset. */
	if (ret == 0)
		ret = rbc_qp_rings(c, qp, reply->qp_create, fds, nfds);
	pthread_mutex_unlock(&c->kept_lock);
	if (ret) {
		rb_rpc_reply_free(reply);
		free(qp);	/* the daemon's QP goes with the context */
		errno = ret;
		return NULL;
	}
	/* As libibverbs: the caller learns what it was granted. */
	rb_conv_qp_cap_from_pb(&attr->cap, reply->qp_create->cap);
	qp->cap = attr->cap;
	pthread_mutex_init(&qp->sq_lock, NULL);
	pthread_mutex_init(&qp->rq_lock, NULL);
	qp->qp.context = context;
	qp->qp.qp_context = attr->qp_context;
	qp->qp.pd = xrc_recv ? NULL : pd;
	qp->qp.send_cq = xrc_recv ? NULL : attr->send_cq;
	qp->qp.recv_cq = xrc_recv || xrc_send ? NULL : attr->recv_cq;
	qp->qp.srq = attr->srq;
	qp->qp.handle = reply->qp_create->handle;
	qp->qp.qp_num = reply->qp_create->qp_num;
	qp->qp.state = reply->qp_create->has_qp_state ?
		       (enum ibv_qp_state)reply->qp_create->qp_state : IBV_QPS_RESET;
	qp->qp.qp_type = attr->qp_type;
	pthread_mutex_init(&qp->qp.mutex, NULL);
	pthread_cond_init(&qp->qp.cond, NULL);
	rb_rpc_reply_free(reply);
	pthread_mutex_lock(&c->cq_lock);
	LIST_INSERT_HEAD(&c->qps, qp, link);
	pthread_mutex_unlock(&c->cq_lock);
	return &qp->qp;
}

/*
 * verbs_context.open_qp, what the inline ibv_open_qp() calls: a handle on
 * an XRC_RECV QP of a domain this context holds, made by this or another
 * process sharing the domain (daemon/qp.c).  As libibverbs' own
 * ibv_cmd_open_qp: the attributes need the number, the domain and the
 * type; the QP has no PD, CQ or queue, and its state is unknown until
 * this process modifies or queries it.
 */
struct ibv_qp *rbc_open_qp(struct ibv_context *context,
			   struct ibv_qp_open_attr *attr)
{
	const uint32_t need = IBV_QP_OPEN_ATTR_NUM | IBV_QP_OPEN_ATTR_XRCD |
			      IBV_QP_OPEN_ATTR_TYPE;
	struct rbc_context *c = to_rbc_context(context);
	Rdmabroker__QpOpenReq body = RDMABROKER__QP_OPEN_REQ__INIT;
	Rdmabroker__Request req = RDMABROKER__REQUEST__INIT;
	Rdmabroker__Reply *reply;
	struct rbc_qp *qp;
	int ret;

	if (!attr || attr->comp_mask >= IBV_QP_OPEN_ATTR_RESERVED ||
	    (attr->comp_mask & need) != need || !attr->xrcd ||
	    attr->xrcd->context != context) {
		errno = EINVAL;
		return NULL;
	}
	qp = calloc(1, sizeof(*qp));
	if (!qp) {
		errno = ENOMEM;
		return NULL;
	}
	body.xrcd = ((struct rbc_xrcd *)attr->xrcd)->handle;
	body.qp_num = attr->qp_num;
	body.qp_type = attr->qp_type;
	req.body_case = RDMABROKER__REQUEST__BODY_QP_OPEN;
	req.qp_open = &body;
	ret = rbc_call(c, &req, &reply);
	if (ret) {
		free(qp);
		errno = ret;
		return NULL;
	}
	qp->doorbell = -1;	/* no rings: sq and rq stay NULL */
	pthread_mutex_init(&qp->sq_lock, NULL);
	pthread_mutex_init(&qp->rq_lock, NULL);
	qp->qp.context = context;
	qp->qp.qp_context = attr->qp_context;
	qp->qp.handle = reply->qp_open->handle;
	qp->qp.qp_num = attr->qp_num;
	qp->qp.qp_type = attr->qp_type;
	qp->qp.state = IBV_QPS_UNKNOWN;
	pthread_mutex_init(&qp->qp.mutex, NULL);
	pthread_cond_init(&qp->qp.cond, NULL);
	rb_rpc_reply_free(reply);
	pthread_mutex_lock(&c->cq_lock);
	LIST_INSERT_HEAD(&c->qps, qp, link);
	pthread_mutex_unlock(&c->cq_lock);
	return &qp->qp;
}

RB_EXPORT struct ibv_qp *ibv_create_qp(struct ibv_pd *pd,
				       struct ibv_qp_init_attr *attr)
{
	/* An XRC_RECV QP needs its XRCD: ibv_create_qp_ex.  (XRC_SEND comes
	 * here too: ibv_create_qp_ex with only a PD calls ibv_create_qp.) */
	if (attr && attr->qp_type == IBV_QPT_XRC_RECV) {
		errno = EINVAL;
		return NULL;
	}
	return rbc_qp_create(pd->context, pd, NULL, attr, NULL, NULL, 0);
}

/*
 * verbs_context.create_qp_ex, what the inline ibv_create_qp_ex() calls for
 * more than a PD: the basic attributes, and send_ops_flags for the
 * ibv_wr_* API (post.c).  XRC QPs (XRC_SEND on a PD, XRC_RECV in an XRCD).
 * No create flags, RSS or TSO: EOPNOTSUPP,
 * as a provider without them answers.
 */
static struct ibv_qp *rbc_qp_create_ex(struct ibv_context *context,
				       struct ibv_qp_init_attr_ex *attr,
				       const struct ibv_qp_attr *mods,
				       const int *masks, size_t nmods)
{
	struct ibv_qp_init_attr basic;
	struct ibv_qp *qp;

	uint64_t ops = attr->comp_mask & IBV_QP_INIT_ATTR_SEND_OPS_FLAGS ?
		       attr->send_ops_flags : 0;

	if ((attr->comp_mask & ~(uint32_t)(IBV_QP_INIT_ATTR_PD |
					   IBV_QP_INIT_ATTR_XRCD |
					   IBV_QP_INIT_ATTR_CREATE_FLAGS |
					   IBV_QP_INIT_ATTR_SEND_OPS_FLAGS)) ||
	    ((attr->comp_mask & IBV_QP_INIT_ATTR_CREATE_FLAGS) && attr->create_flags) ||
	    rbc_qp_ex_init(NULL, ops)) {
		errno = EOPNOTSUPP;
		return NULL;
	}
	if (attr->qp_type == IBV_QPT_XRC_RECV) {
		/* In its XRC domain: no PD, CQ or queue (and no ibv_wr_*). */
		if (!(attr->comp_mask & IBV_QP_INIT_ATTR_XRCD) || !attr->xrcd ||
		    attr->xrcd->context != context || ops) {
			errno = EINVAL;
			return NULL;
		}
		memset(&basic, 0, sizeof(basic));
		basic.qp_context = attr->qp_context;
		basic.qp_type = attr->qp_type;
		/* Its rings are the daemon's formality: it has no queue. */
		qp = rbc_qp_create(context, NULL, attr->xrcd, &basic, NULL, NULL, 0);
		if (qp) {
			memset(&attr->cap, 0, sizeof(attr->cap));
			memset(&((struct rbc_qp *)qp)->cap, 0, sizeof(attr->cap));
		}
		return qp;
	}
	if (!(attr->comp_mask & IBV_QP_INIT_ATTR_PD) || !attr->pd ||
	    attr->pd->context != context || (attr->comp_mask & IBV_QP_INIT_ATTR_XRCD)) {
		errno = EINVAL;
		return NULL;
	}
	memset(&basic, 0, sizeof(basic));
	basic.qp_context = attr->qp_context;
	basic.send_cq = attr->send_cq;
	basic.recv_cq = attr->recv_cq;
	basic.srq = attr->srq;
	basic.cap = attr->cap;
	basic.qp_type = attr->qp_type;
	basic.sq_sig_all = attr->sq_sig_all;
	qp = rbc_qp_create(context, attr->pd, NULL, &basic, mods, masks, nmods);
	if (!qp)
		return NULL;
	attr->cap = basic.cap;	/* granted, as for ibv_create_qp */
	if (attr->comp_mask & IBV_QP_INIT_ATTR_SEND_OPS_FLAGS)
		rbc_qp_ex_init((struct rbc_qp *)qp, ops);
	return qp;
}

struct ibv_qp *rbc_create_qp_ex(struct ibv_context *context,
				struct ibv_qp_init_attr_ex *attr)
{
	return rbc_qp_create_ex(context, attr, NULL, NULL, 0);
}

/*
 * For librdmabroker-cm's rdma_create_qp (not a public API): a QP created
 * and moved through mods[0..nmods) (as many ibv_modify_qp) in one round
 * trip where the daemon offers RB_PROTO_FEAT_QP_CREATE_MODIFY, else in
 * one request each; a failing modify leaves no QP.  attr as
 * ibv_create_qp_ex's (comp_mask PD, optionally SEND_OPS_FLAGS).
 */
RB_EXPORT struct ibv_qp *rdmab_create_qp_modify(struct ibv_qp_init_attr_ex *attr,
						 const struct ibv_qp_attr *mods,
						 const int *masks, size_t nmods)
{
	struct ibv_context *context;
	struct ibv_qp *qp;

	if (!attr || !(attr->comp_mask & IBV_QP_INIT_ATTR_PD) || !attr->pd ||
	    nmods > RBC_QP_MODS_MAX || (nmods && (!mods || !masks))) {
		errno = EINVAL;
		return NULL;
	}
	context = attr->pd->context;
	if (to_rbc_context(context)->rpc.features & RB_PROTO_FEAT_QP_CREATE_MODIFY)
		return rbc_qp_create_ex(context, attr, mods, masks, nmods);
	qp = rbc_qp_create_ex(context, attr, NULL, NULL, 0);
	for (size_t i = 0; qp && i < nmods; i++) {
		struct ibv_qp_attr a = mods[i];
		int ret = ibv_modify_qp(qp, &a, masks[i]);

		if (ret) {
			ibv_destroy_qp(qp);
			errno = ret;
			qp = NULL;
		}
	}
	return qp;
}

/* qp's completions out of its CQs (rbc_cq_clean): after a move to RESET
 * and after ibv_destroy_qp, as mlx4 and mlx5 do. */
static void qp_clean_cqs(struct ibv_qp *qp)
{
	rbc_cq_clean(qp->send_cq, qp->qp_num);
	if (qp->recv_cq != qp->send_cq)
		rbc_cq_clean(qp->recv_cq, qp->qp_num);
}

RB_EXPORT int ibv_modify_qp(struct ibv_qp *qp, struct ibv_qp_attr *attr,
			    int attr_mask)
{
	struct rbc_context *c = to_rbc_context(qp->context);
	Rdmabroker__QpModifyReq body = RDMABROKER__QP_MODIFY_REQ__INIT;
	Rdmabroker__QpAttr pa = RDMABROKER__QP_ATTR__INIT;
	struct rb_conv_qp_attr_buf buf;
	Rdmabroker__Request req = RDMABROKER__REQUEST__INIT;
	Rdmabroker__Reply *reply;
	int ret;

	rb_conv_qp_attr_to_pb(&pa, &buf, attr);
	body.handle = qp->handle;
	body.attr_mask = (uint32_t)attr_mask;
	body.attr = &pa;
	req.body_case = RDMABROKER__REQUEST__BODY_QP_MODIFY;
	req.qp_modify = &body;
	ret = rbc_call(c, &req, &reply);
	if (ret)
		return ret;
	qp->state = (enum ibv_qp_state)reply->qp_modify->qp_state;
	rb_rpc_reply_free(reply);
	/* The engine produces nothing more for a QP in RESET (the reply
	 * comes after the move); what it produced before goes now. */
	if ((attr_mask & IBV_QP_STATE) && attr->qp_state == IBV_QPS_RESET)
		qp_clean_cqs(qp);
	return 0;
}

RB_EXPORT int ibv_query_qp(struct ibv_qp *qp, struct ibv_qp_attr *attr,
			   int attr_mask, struct ibv_qp_init_attr *init_attr)
{
	struct rbc_context *c = to_rbc_context(qp->context);
	Rdmabroker__QpQueryReq body = RDMABROKER__QP_QUERY_REQ__INIT;
	Rdmabroker__Request req = RDMABROKER__REQUEST__INIT;
	Rdmabroker__Reply *reply;
	const Rdmabroker__QpAttr *pa;
	int ret;

	(void)attr_mask;	/* everything is returned, as providers do */
	body.handle = qp->handle;
	req.body_case = RDMABROKER__REQUEST__BODY_QP_QUERY;
	req.qp_query = &body;
	ret = rbc_call(c, &req, &reply);
	if (ret)
		return ret;
	pa = reply->qp_query->attr;
	rb_conv_qp_attr_from_pb(attr, pa);
	if (init_attr) {
		memset(init_attr, 0, sizeof(*init_attr));
		init_attr->qp_context = qp->qp_context;
		init_attr->send_cq = qp->send_cq;
		init_attr->recv_cq = qp->recv_cq;
		init_attr->srq = qp->srq;
		rb_conv_qp_cap_from_pb(&init_attr->cap, reply->qp_query->init_cap);
		init_attr->qp_type = qp->qp_type;
		init_attr->sq_sig_all = reply->qp_query->sq_sig_all;
	}
	/*
	 * Ours may be ahead of the daemon's, never behind: rdma_accept
	 * returns before the daemon has moved the QP to RTS (an accept
	 * not waited for, libclient/cm), and a query served first says
	 * INIT or RTR.  A QP leaves RTS for those only through RESET,
	 * which our own ibv_modify_qp records.
	 */
	if (!(qp->state == IBV_QPS_RTS &&
	      (attr->qp_state == IBV_QPS_INIT || attr->qp_state == IBV_QPS_RTR)))
		qp->state = attr->qp_state;
	rb_rpc_reply_free(reply);
	return 0;
}

RB_EXPORT int ibv_destroy_qp(struct ibv_qp *ibqp)
{
	struct rbc_qp *qp = (struct rbc_qp *)ibqp;
	struct rbc_context *c = to_rbc_context(ibqp->context);
	Rdmabroker__QpDestroyReq body = RDMABROKER__QP_DESTROY_REQ__INIT;
	Rdmabroker__Request req = RDMABROKER__REQUEST__INIT;
	Rdmabroker__Reply *reply;
	struct rbc_kept *k = NULL;
	uint32_t reported;
	int ret;

	body.handle = ibqp->handle;
	req.body_case = RDMABROKER__REQUEST__BODY_QP_DESTROY;
	req.qp_destroy = &body;
	pthread_mutex_lock(&c->kept_lock);
	for (int i = 0; qp->sq && i < c->kept_max && !k; i++)
		if (!c->kept[i].id)
			k = &c->kept[i];
	body.has_keep_ring = 1;
	body.keep_ring = k != NULL;
	ret = rbc_call(c, &req, &reply);
	if (ret == 0 && k && reply->qp_destroy->ring_kept &&
	    !rbc_kept_find(c, reply->qp_destroy->ring_kept)) {
		k->id = reply->qp_destroy->ring_kept;
		k->map = qp->sq;
		k->rq_off = (size_t)((char *)qp->rq - (char *)qp->sq);
		k->len = k->rq_off + qp->rq_bytes;
		k->doorbell = qp->doorbell;
	} else {
		k = NULL;	/* not kept: unmapped below */
	}
	pthread_mutex_unlock(&c->kept_lock);
	rb_rpc_reply_free(reply);
	if (ret == EIO && rbc_dead(c))
		ret = 0;	/* as rbc_call_destroy: its objects went with it */
	if (ret)
		return ret;
	/*
	 * As mlx4 and mlx5: the completions of a destroyed QP leave its CQs
	 * (the engine makes none after the reply), so that a consumer polling
	 * a CQ it shares never gets a wr_id of a QP it has freed.  libfabric's
	 * rxm closes a connection's QP and then drains the shared CQ,
	 * reposting the receive of every completion it finds on the
	 * connection's endpoint: with such a completion left, fi_pingpong -e
	 * rdm crashed at exit in about one run in 13.
	 */
	qp_clean_cqs(ibqp);
	/* As libibverbs: every async event handed out must have been acked. */
	pthread_mutex_lock(&c->cq_lock);
	LIST_REMOVE(qp, link);
	reported = qp->async_handed;
	pthread_mutex_unlock(&c->cq_lock);
	pthread_mutex_lock(&ibqp->mutex);
	while (ibqp->events_completed < reported)
		pthread_cond_wait(&ibqp->cond, &ibqp->mutex);
	pthread_mutex_unlock(&ibqp->mutex);
	/* Both rings are one mapping, the RQ second (an opened QP has none). */
	if (!k && qp->sq) {
		munmap(qp->sq, (size_t)((char *)qp->rq - (char *)qp->sq) + qp->rq_bytes);
		close(qp->doorbell);
	}
	pthread_mutex_destroy(&qp->sq_lock);
	pthread_mutex_destroy(&qp->rq_lock);
	pthread_mutex_destroy(&ibqp->mutex);
	pthread_cond_destroy(&ibqp->cond);
	free(qp);
	return 0;
}
