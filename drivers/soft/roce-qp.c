/* SPDX-License-Identifier: MIT */
/*
 * Connected QPs whose peer is on another host (roce.h): their transport
 * state, kept by QP number beside the engine's own QP (the engine's
 * struct stays as it is).  A QP's state is made when its first packet
 * comes or goes and dropped when the QP is reset, goes to RTR again
 * (new attributes: a new PSN, maybe a new peer) or is destroyed.
 *
 * UC and RC are served.  XRC to another host is refused at RTR
 * (EOPNOTSUPP, with the reason in the reply) rather than accepted and
 * left to retry out: it is not built (docs/roce.md).
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "drivers/soft/roce.h"
#include "drivers/soft/soft-int.h"

static bool roce_qp_dgid_remote(const struct soft_qp *qp)
{
	const struct roce_dev *r = soft_dev_of(qp)->roce;

	return r && roce_remote(r, &qp->qp.attr.ah_attr.grh.dgid);
}

bool roce_qp_remote(const struct soft_qp *qp)
{
	return (qp->qp.type == IBV_QPT_UC || qp->qp.type == IBV_QPT_RC) &&
	       roce_qp_dgid_remote(qp);
}

static uint32_t roce_qp_attr_mtu(const struct soft_qp *qp)
{
	uint32_t m = qp->qp.attr.path_mtu;

	return 256u << (m >= IBV_MTU_256 && m <= IBV_MTU_4096 ? m - 1 : 0);
}

uint32_t roce_qp_mtu(const struct soft_qp *qp)
{
	struct roce_dev *r = soft_dev_of(qp)->roce;
	const struct roce_qp *q = r ? roce_qp_find(r, qp->qp.qp_num) : NULL;

	return q && q->mtu ? q->mtu : roce_qp_attr_mtu(qp);
}

/*
 * The path MTU q sends and expects: the QP's path_mtu, unless the route
 * to its peer cannot carry such packets (IP and UDP headers, the longest
 * transport headers, the ICRC): then the largest IBTA MTU it can, as a
 * RoCE port's active MTU follows its interface's.  Both ends of a link
 * come to the same value; where they do not, the responder NAKs the
 * first packet of the wrong size as an invalid request (IBTA 9.7.5.1.6),
 * which docs/roce.md describes.
 */
static void roce_qp_mtu_set(struct roce_dev *r, struct roce_qp *q)
{
	const uint8_t *dgid = q->qp->qp.attr.ah_attr.grh.dgid.raw;
	int link = roce_io_path_mtu(dgid);
	int over = (roce_wire_gid_is_v4(dgid) ? 20 : 40) + 8 + ROCE_HDR_MAX + ROCE_ICRC_LEN;
	uint32_t mtu = roce_qp_attr_mtu(q->qp);

	q->mtu = mtu;
	if (link <= 0)
		return;		/* no route now: as asked (the kernel refuses) */
	while (q->mtu > 256 && (int)q->mtu + over > link)
		q->mtu /= 2;
	if (q->mtu != mtu)
		r->st.mtu_clamped++;
}

bool roce_qp_from_peer(const struct soft_qp *qp, const struct roce_flow *flow)
{
	return !memcmp(flow->src, qp->qp.attr.ah_attr.grh.dgid.raw, 16);
}

struct roce_qp *roce_qp_find(struct roce_dev *r, uint32_t qpn)
{
	for (struct rb_hnode *n = hash_first(&r->qps, qpn); n; n = hash_next(n)) {
		struct roce_qp *q = container_of(n, struct roce_qp, node);

		if (q->node.key == qpn)
			return q;
	}
	return NULL;
}

struct roce_qp *roce_qp_get(struct roce_dev *r, struct soft_qp *qp)
{
	struct roce_qp *q = roce_qp_find(r, qp->qp.qp_num);

	if (q)
		return q;
	q = calloc(1, sizeof(*q));
	if (!q)
		return NULL;
	q->qp = qp;
	q->epsn = qp->qp.attr.rq_psn & ROCE_PSN_MASK;
	roce_qp_mtu_set(r, q);
	if ((qp->qp.type == IBV_QPT_RC && roce_rc_init(q) < 0) ||
	    hash_insert(&r->qps, &q->node, qp->qp.qp_num) < 0) {
		roce_rc_fini(q);
		free(q);
		return NULL;
	}
	return q;
}

static void roce_qp_free(struct roce_dev *r, struct roce_qp *q)
{
	hash_remove(&r->qps, &q->node);
	roce_rc_fini(q);
	free(q->stage);
	free(q);
}

void roce_qp_gone(struct soft_qp *qp)
{
	struct roce_dev *r = soft_dev_of(qp)->roce;
	struct roce_qp *q;

	if (r && (q = roce_qp_find(r, qp->qp.qp_num))) {
		if (qp->qp.type == IBV_QPT_RC)
			roce_rc_linger(r, q);
		roce_qp_free(r, q);
	}
}

int roce_qp_modify(struct soft_qp *qp)
{
	enum ibv_qp_state s = qp->qp.attr.qp_state;

	if (s == IBV_QPS_RESET || s == IBV_QPS_RTR)
		roce_qp_gone(qp);
	if (s == IBV_QPS_RTR &&
	    (qp->qp.type == IBV_QPT_XRC_SEND || qp->qp.type == IBV_QPT_XRC_RECV) &&
	    roce_qp_dgid_remote(qp)) {
		rb_device_error(qp->qp.dev, "XRC to another host (its GID is not this "
				"device's) is not built yet: UD, UC and RC are (docs/roce.md)");
		return -EOPNOTSUPP;
	}
	return 0;
}

void roce_qp_fini(struct roce_dev *r)
{
	/* Every QP is gone before its device; this frees what is left. */
	while (r->qps.n) {
		for (uint32_t b = 0; b <= r->qps.mask; b++) {
			if (r->qps.b[b]) {
				roce_qp_free(r, container_of(r->qps.b[b], struct roce_qp, node));
				break;
			}
		}
	}
}
