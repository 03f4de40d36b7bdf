/* SPDX-License-Identifier: MIT */
/*
 * Queue pairs: create with capabilities checked against the device and
 * granted as providers grant them, the IB state machine with the
 * required and optional attributes of every transition for RC, UC and UD
 * (IBA 1.4, table 91, as the kernel's ib_modify_qp_is_ok enforces it),
 * query, destroy.  The SQ and RQ are rings (daemon/ring.c) handed to the
 * client at create.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <infiniband/verbs.h>

#include "daemon/daemon.h"
#include "daemon/dispatch.h"
#include "daemon/log.h"
#include "daemon/loop.h"
#include "daemon/objects.h"
#include "daemon/qp-state.h"
#include "daemon/res.h"
#include "proto/conv.h"
#include "daemon/ring.h"


/* ------------------------------------------------------------ the table */

#define QP_UD	0
#define QP_UC	1
#define QP_RC	2

struct qp_transition {
	bool valid;
	uint32_t req[3];		/* by QP_UD, QP_UC, QP_RC */
	uint32_t opt[3];
};

#define ALT_PATH_SET	(IBV_QP_ALT_PATH | IBV_QP_PATH_MIG_STATE)

static const struct qp_transition qp_table[IBV_QPS_ERR + 1][IBV_QPS_ERR + 1] = {
	[IBV_QPS_RESET] = {
		[IBV_QPS_RESET] = { .valid = true },
		[IBV_QPS_INIT] = {
			.valid = true,
			.req = {
				[QP_UD] = IBV_QP_PKEY_INDEX | IBV_QP_PORT | IBV_QP_QKEY,
				[QP_UC] = IBV_QP_PKEY_INDEX | IBV_QP_PORT | IBV_QP_ACCESS_FLAGS,
				[QP_RC] = IBV_QP_PKEY_INDEX | IBV_QP_PORT | IBV_QP_ACCESS_FLAGS,
			},
		},
	},
	[IBV_QPS_INIT] = {
		[IBV_QPS_RESET] = { .valid = true },
		[IBV_QPS_ERR] = { .valid = true },
		[IBV_QPS_INIT] = {
			.valid = true,
			.opt = {
				[QP_UD] = IBV_QP_PKEY_INDEX | IBV_QP_PORT | IBV_QP_QKEY,
				[QP_UC] = IBV_QP_PKEY_INDEX | IBV_QP_PORT | IBV_QP_ACCESS_FLAGS,
				[QP_RC] = IBV_QP_PKEY_INDEX | IBV_QP_PORT | IBV_QP_ACCESS_FLAGS,
			},
		},
		[IBV_QPS_RTR] = {
			.valid = true,
			.req = {
				[QP_UC] = IBV_QP_AV | IBV_QP_PATH_MTU | IBV_QP_DEST_QPN |
					  IBV_QP_RQ_PSN,
				[QP_RC] = IBV_QP_AV | IBV_QP_PATH_MTU | IBV_QP_DEST_QPN |
					  IBV_QP_RQ_PSN | IBV_QP_MAX_DEST_RD_ATOMIC |
					  IBV_QP_MIN_RNR_TIMER,
			},
			.opt = {
				[QP_UD] = IBV_QP_PKEY_INDEX | IBV_QP_QKEY,
				[QP_UC] = IBV_QP_ALT_PATH | IBV_QP_ACCESS_FLAGS | IBV_QP_PKEY_INDEX,
				[QP_RC] = IBV_QP_ALT_PATH | IBV_QP_ACCESS_FLAGS | IBV_QP_PKEY_INDEX,
			},
		},
	},
	[IBV_QPS_RTR] = {
		[IBV_QPS_RESET] = { .valid = true },
		[IBV_QPS_ERR] = { .valid = true },
		[IBV_QPS_RTS] = {
			.valid = true,
			.req = {
				[QP_UD] = IBV_QP_SQ_PSN,
				[QP_UC] = IBV_QP_SQ_PSN,
				[QP_RC] = IBV_QP_TIMEOUT | IBV_QP_RETRY_CNT | IBV_QP_RNR_RETRY |
					  IBV_QP_SQ_PSN | IBV_QP_MAX_QP_RD_ATOMIC,
			},
			.opt = {
				[QP_UD] = IBV_QP_CUR_STATE | IBV_QP_QKEY,
				[QP_UC] = IBV_QP_CUR_STATE | IBV_QP_ALT_PATH | IBV_QP_ACCESS_FLAGS |
					  IBV_QP_PATH_MIG_STATE,
				[QP_RC] = IBV_QP_CUR_STATE | IBV_QP_ALT_PATH | IBV_QP_ACCESS_FLAGS |
					  IBV_QP_MIN_RNR_TIMER | IBV_QP_PATH_MIG_STATE,
			},
		},
	},
	[IBV_QPS_RTS] = {
		[IBV_QPS_RESET] = { .valid = true },
		[IBV_QPS_ERR] = { .valid = true },
		[IBV_QPS_RTS] = {
			.valid = true,
			.opt = {
				[QP_UD] = IBV_QP_CUR_STATE | IBV_QP_QKEY,
				[QP_UC] = IBV_QP_CUR_STATE | IBV_QP_ACCESS_FLAGS | ALT_PATH_SET,
				[QP_RC] = IBV_QP_CUR_STATE | IBV_QP_ACCESS_FLAGS | ALT_PATH_SET |
					  IBV_QP_MIN_RNR_TIMER,
			},
		},
		[IBV_QPS_SQD] = {
			.valid = true,
			.opt = {
				[QP_UD] = IBV_QP_EN_SQD_ASYNC_NOTIFY,
				[QP_UC] = IBV_QP_EN_SQD_ASYNC_NOTIFY,
				[QP_RC] = IBV_QP_EN_SQD_ASYNC_NOTIFY,
			},
		},
	},
	[IBV_QPS_SQD] = {
		[IBV_QPS_RESET] = { .valid = true },
		[IBV_QPS_ERR] = { .valid = true },
		[IBV_QPS_RTS] = {
			.valid = true,
			.opt = {
				[QP_UD] = IBV_QP_CUR_STATE | IBV_QP_QKEY,
				[QP_UC] = IBV_QP_CUR_STATE | IBV_QP_ALT_PATH | IBV_QP_ACCESS_FLAGS |
					  IBV_QP_PATH_MIG_STATE,
				[QP_RC] = IBV_QP_CUR_STATE | IBV_QP_ALT_PATH | IBV_QP_ACCESS_FLAGS |
					  IBV_QP_MIN_RNR_TIMER | IBV_QP_PATH_MIG_STATE,
			},
		},
		[IBV_QPS_SQD] = {
			.valid = true,
			.opt = {
				[QP_UD] = IBV_QP_PKEY_INDEX | IBV_QP_QKEY,
				[QP_UC] = IBV_QP_AV | IBV_QP_ALT_PATH | IBV_QP_ACCESS_FLAGS |
					  IBV_QP_PKEY_INDEX | IBV_QP_PATH_MIG_STATE,
				[QP_RC] = IBV_QP_PORT | IBV_QP_AV | IBV_QP_TIMEOUT |
					  IBV_QP_RETRY_CNT | IBV_QP_RNR_RETRY |
					  IBV_QP_MAX_QP_RD_ATOMIC | IBV_QP_MAX_DEST_RD_ATOMIC |
					  IBV_QP_ALT_PATH | IBV_QP_ACCESS_FLAGS |
					  IBV_QP_PKEY_INDEX | IBV_QP_MIN_RNR_TIMER |
					  IBV_QP_PATH_MIG_STATE,
			},
		},
	},
	[IBV_QPS_SQE] = {
		[IBV_QPS_RESET] = { .valid = true },
		[IBV_QPS_ERR] = { .valid = true },
		[IBV_QPS_RTS] = {
			.valid = true,
			.opt = {
				[QP_UD] = IBV_QP_CUR_STATE | IBV_QP_QKEY,
				[QP_UC] = IBV_QP_CUR_STATE | IBV_QP_ACCESS_FLAGS,
			},
		},
	},
	[IBV_QPS_ERR] = {
		[IBV_QPS_RESET] = { .valid = true },
		[IBV_QPS_ERR] = { .valid = true },
	},
};

/* Every state may go to RESET or ERR, with no other attribute. */
static const struct qp_transition qp_to_reset_or_err = { .valid = true };

/*
 * XRC QPs have RC's table with two differences, as the kernel has them:
 * an XRC_SEND QP (initiator) has no receive side, so INIT to RTR does not
 * require MAX_DEST_RD_ATOMIC and MIN_RNR_TIMER; an XRC_RECV QP (target)
 * has no send side, so RTR to RTS requires TIMEOUT and SQ_PSN only.  The
 * attributes no longer required stay optional.
 */
#define QP_XRC_INI_RTR_OPT	(IBV_QP_MAX_DEST_RD_ATOMIC | IBV_QP_MIN_RNR_TIMER)
#define QP_XRC_TGT_RTS_REQ	(IBV_QP_TIMEOUT | IBV_QP_SQ_PSN)

bool qp_transition_ok(enum ibv_qp_state cur, enum ibv_qp_state next,
		      int type, enum ibv_qp_type qpt, uint32_t mask, char *why,
		      size_t len)
{
	const struct qp_transition *t;
	uint32_t req, opt;

	if (cur > IBV_QPS_ERR || next > IBV_QPS_ERR) {
		snprintf(why, len, "no such QP state");
		return false;
	}
	if (next == IBV_QPS_ERR || next == IBV_QPS_RESET)
		t = &qp_to_reset_or_err;
	else
		t = &qp_table[cur][next];
	if (!t->valid) {
		snprintf(why, len, "no transition from state %d to %d", cur, next);
		return false;
	}
	req = t->req[type];
	opt = t->opt[type];
	if (qpt == IBV_QPT_XRC_SEND && cur == IBV_QPS_INIT && next == IBV_QPS_RTR) {
		opt |= req & QP_XRC_INI_RTR_OPT;
		req &= ~(uint32_t)QP_XRC_INI_RTR_OPT;
	}
	if (qpt == IBV_QPT_XRC_RECV && cur == IBV_QPS_RTR && next == IBV_QPS_RTS) {
		opt |= req & ~(uint32_t)QP_XRC_TGT_RTS_REQ;
		req = QP_XRC_TGT_RTS_REQ;
	}
	if ((mask & IBV_QP_CUR_STATE) && cur != IBV_QPS_RTR &&
	    cur != IBV_QPS_RTS && cur != IBV_QPS_SQD && cur != IBV_QPS_SQE) {
		snprintf(why, len, "IBV_QP_CUR_STATE is not allowed in state %d", cur);
		return false;
	}
	if ((mask & req) != req) {
		snprintf(why, len, "state %d to %d needs attribute mask %#x, got %#x",
			 cur, next, req, mask & req);
		return false;
	}
	if (mask & ~(req | opt | IBV_QP_STATE)) {
		snprintf(why, len, "attribute mask %#x not allowed from state %d to %d",
			 mask & ~(req | opt | IBV_QP_STATE), cur, next);
		return false;
	}
	return true;
}

/* ------------------------------------------------------------ values */

int qp_type_index(enum ibv_qp_type t)
{
	switch (t) {
	case IBV_QPT_UD: return QP_UD;
	case IBV_QPT_UC: return QP_UC;
	case IBV_QPT_RC: return QP_RC;
	/* XRC: the attributes and transitions of RC. */
	case IBV_QPT_XRC_SEND: return QP_RC;
	case IBV_QPT_XRC_RECV: return QP_RC;
	default: return -1;
	}
}

static const char *qp_type_name(enum ibv_qp_type t)
{
	switch (t) {
	case IBV_QPT_UD: return "UD";
	case IBV_QPT_UC: return "UC";
	case IBV_QPT_RC: return "RC";
	case IBV_QPT_XRC_SEND: return "XRC_SEND";
	case IBV_QPT_XRC_RECV: return "XRC_RECV";
	default: return "?";
	}
}

static const char *qp_state_name(enum ibv_qp_state s)
{
	static const char *const n[] = {
		[IBV_QPS_RESET] = "RESET", [IBV_QPS_INIT] = "INIT",
		[IBV_QPS_RTR] = "RTR", [IBV_QPS_RTS] = "RTS",
		[IBV_QPS_SQD] = "SQD", [IBV_QPS_SQE] = "SQE",
		[IBV_QPS_ERR] = "ERR",
	};

	return (unsigned int)s <= IBV_QPS_ERR ? n[s] : "?";
}

/*
 * Check the values of the attributes mask sets, against the device; an
 * error leaves its reason in rep.  Ranges are those of the IB spec.
 */
static int qp_check_values(const struct rb_qp *qp, const struct ibv_qp_attr *a,
			   uint32_t mask, struct rb_reply *rep)
{
	const struct rb_device *dev = qp->dev;
	const uint32_t access_ok = IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE |
				   IBV_ACCESS_REMOTE_READ | IBV_ACCESS_REMOTE_ATOMIC |
				   RB_ACCESS_FLUSH_GLOBAL | RB_ACCESS_FLUSH_PERSISTENT;

#define BAD(...) do { reply_error(rep, __VA_ARGS__); return -EINVAL; } while (0)
	if ((mask & IBV_QP_PORT) && (a->port_num < 1 || a->port_num > dev->phys_port_cnt))
		BAD("port_num %u: the device has port 1..%u", a->port_num, dev->phys_port_cnt);
	if ((mask & IBV_QP_PKEY_INDEX) && a->pkey_index >= dev->pkey_tbl_len)
		BAD("pkey_index %u out of range", a->pkey_index);
	if ((mask & IBV_QP_ACCESS_FLAGS) && (a->qp_access_flags & ~access_ok))
		BAD("qp_access_flags %#x has unknown bits", a->qp_access_flags);
	if ((mask & IBV_QP_PATH_MTU) &&
	    (a->path_mtu < IBV_MTU_256 || a->path_mtu > IBV_MTU_4096))
		BAD("path_mtu %d is not a valid MTU", a->path_mtu);
	if ((mask & IBV_QP_DEST_QPN) && a->dest_qp_num > 0xffffff)
		BAD("dest_qp_num %#x is more than 24 bits", a->dest_qp_num);
	if ((mask & IBV_QP_RQ_PSN) && a->rq_psn > 0xffffff)
		BAD("rq_psn %#x is more than 24 bits", a->rq_psn);
	if ((mask & IBV_QP_SQ_PSN) && a->sq_psn > 0xffffff)
		BAD("sq_psn %#x is more than 24 bits", a->sq_psn);
	if ((mask & IBV_QP_TIMEOUT) && a->timeout > 31)
		BAD("timeout %u is more than 31", a->timeout);
	if ((mask & IBV_QP_RETRY_CNT) && a->retry_cnt > 7)
		BAD("retry_cnt %u is more than 7", a->retry_cnt);
	if ((mask & IBV_QP_RNR_RETRY) && a->rnr_retry > 7)
		BAD("rnr_retry %u is more than 7", a->rnr_retry);
	if ((mask & IBV_QP_MIN_RNR_TIMER) && a->min_rnr_timer > 31)
		BAD("min_rnr_timer %u is more than 31", a->min_rnr_timer);
	if ((mask & IBV_QP_MAX_QP_RD_ATOMIC) &&
	    a->max_rd_atomic > dev->max_qp_init_rd_atom)
		BAD("max_rd_atomic %u is more than the device's %u", a->max_rd_atomic,
		    dev->max_qp_init_rd_atom);
	if ((mask & IBV_QP_MAX_DEST_RD_ATOMIC) &&
	    a->max_dest_rd_atomic > dev->max_qp_rd_atom)
		BAD("max_dest_rd_atomic %u is more than the device's %u",
		    a->max_dest_rd_atomic, dev->max_qp_rd_atom);
	if ((mask & IBV_QP_PATH_MIG_STATE) && a->path_mig_state > IBV_MIG_ARMED)
		BAD("path_mig_state %d is not valid", a->path_mig_state);
	if ((mask & IBV_QP_AV) && ah_attr_check(dev, &a->ah_attr, false, rep) < 0)
		return -EINVAL;
	if (mask & IBV_QP_ALT_PATH)
		BAD("alternate paths (APM) are not supported");
	if (mask & IBV_QP_RATE_LIMIT)
		BAD("rate limits are not supported");
#undef BAD
	return 0;
}

/* Copy the attributes mask sets into qp->attr. */
static void qp_apply(struct rb_qp *qp, const struct ibv_qp_attr *a, uint32_t mask)
{
	struct ibv_qp_attr *q = &qp->attr;

#define SET(bit, field) do { if (mask & (bit)) q->field = a->field; } while (0)
	SET(IBV_QP_ACCESS_FLAGS, qp_access_flags);
	SET(IBV_QP_PKEY_INDEX, pkey_index);
	SET(IBV_QP_PORT, port_num);
	SET(IBV_QP_QKEY, qkey);
	SET(IBV_QP_AV, ah_attr);
	SET(IBV_QP_PATH_MTU, path_mtu);
	SET(IBV_QP_TIMEOUT, timeout);
	SET(IBV_QP_RETRY_CNT, retry_cnt);
	SET(IBV_QP_RNR_RETRY, rnr_retry);
	SET(IBV_QP_RQ_PSN, rq_psn);
	SET(IBV_QP_MAX_QP_RD_ATOMIC, max_rd_atomic);
	SET(IBV_QP_MIN_RNR_TIMER, min_rnr_timer);
	SET(IBV_QP_SQ_PSN, sq_psn);
	SET(IBV_QP_MAX_DEST_RD_ATOMIC, max_dest_rd_atomic);
	SET(IBV_QP_PATH_MIG_STATE, path_mig_state);
	SET(IBV_QP_DEST_QPN, dest_qp_num);
	SET(IBV_QP_EN_SQD_ASYNC_NOTIFY, en_sqd_async_notify);
#undef SET
}

/* Back to RESET: the attributes a new QP has. */
static void qp_reset(struct rb_qp *qp)
{
	memset(&qp->attr, 0, sizeof(qp->attr));
	qp->attr.qp_state = IBV_QPS_RESET;
	qp->attr.cur_qp_state = IBV_QPS_RESET;
	qp->attr.path_mig_state = IBV_MIG_MIGRATED;
	qp->attr.cap = qp->cap;
}

/* ------------------------------------------------------------ handlers */

void qp_async_event(struct rb_qp *qp, enum ibv_event_type ev)
{
	struct rb_link *k;

	if (qp->res.owner) {
		if (session_async_event(qp->res.owner, ev, RB_ASYNC_QP, qp->res.handle))
			qp->events_reported++;
		return;
	}
	/* Shared (XRC_RECV): every holder hears it, on its own handle, as
	 * the kernel tells every process that opened the QP. */
	LIST_FOREACH(k, &qp->res.links, sibling)
		if (session_async_event(k->res.owner, ev, RB_ASYNC_QP, k->res.handle))
			k->events_reported++;
}

/* The client rang: the daemon drains it, the device hears it. */
static void qp_bell_cb(evutil_socket_t fd, short what, void *arg)
{
	struct rb_qp *qp = arg;

	loop_drain(fd);
	qp->dev->ops.qp_doorbell(qp);
}

static uint32_t roundup_pow2(uint32_t v)
{
	uint32_t n = 1;

	while (n < v)
		n <<= 1;
	return n;
}

/* The SQ and the RQ share one mapping (ring_create_pair), RQ second. */
/* The one mapping of a QP's rings (ring_create_pair). */
static size_t qp_rings_len(const struct rb_qp *qp)
{
	return (size_t)((char *)qp->rq - (char *)qp->sq) + qp->rq_bytes;
}

static void qp_rings_destroy(struct rb_qp *qp)
{
	if (qp->sq)
		ring_destroy(qp->sq, (size_t)((char *)qp->rq - (char *)qp->sq) +
			     qp->rq_bytes);
}

/* ------------------------------------------------------------ kept rings */

/*
 * A QP create costs a memfd, its seal, two mappings (ours and the
 * client's), an eventfd and two fds passed; a destroy unmaps and closes
 * them all again.  A client that churns QPs (a connection manager, a
 * test harness) pays that every cycle, so a destroy that asks for it
 * (QpDestroyReq.keep_ring) leaves the ring memfd mapped and the doorbell
 * open on both sides, under an id, and a later create of the same ring
 * geometry on the same connection takes them back (QpCreateReq.rings_held,
 * QpCreateReply.ring_reused).
 *
 * A kept ring never leaves its session: the client still maps it, so no
 * other client may ever see it.  The pool is small (QP_POOL_MAX rings,
 * QP_POOL_BYTES bytes) and dies with the session.  Kept rings are no QPs:
 * they count against no limit and `rdmactl res` does not list them; the
 * bound above is what a connection can hold that way.
 */
#define QP_POOL_MAX	16
#define QP_POOL_BYTES	(4u << 20)

struct qp_kept {
	uint32_t id;			/* 0: a free slot */
	struct ring_spec spec[2];	/* SQ and RQ, as created */
	struct rb_ring *sq, *rq;	/* one mapping, as a QP holds it */
	size_t sq_bytes, rq_bytes;
	int doorbell;
};

struct rb_qp_pool {
	uint32_t next_id;		/* ids are never reused in a session */
	uint32_t last_kept;		/* the id qp_destroy gave, or 0 */
	size_t bytes;
	struct qp_kept e[QP_POOL_MAX];
};

static size_t qp_kept_len(const struct qp_kept *k)
{
	return (size_t)((char *)k->rq - (char *)k->sq) + k->rq_bytes;
}

/* A kept ring stays charged to its owner's memory until freed here. */
static void qp_kept_free(struct rb_session *s, struct rb_qp_pool *p,
			 struct qp_kept *k)
{
	res_uncharge(s, RB_LIMIT_MEMORY, res_mem_bytes(0, 0, qp_kept_len(k)));
	p->bytes -= qp_kept_len(k);
	ring_destroy(k->sq, qp_kept_len(k));
	close(k->doorbell);
	memset(k, 0, sizeof(*k));
}

void qp_pool_fini(struct rb_session *s)
{
	struct rb_qp_pool *p = s->qp_pool;

	if (!p)
		return;
	for (int i = 0; i < QP_POOL_MAX; i++)
		if (p->e[i].id)
			qp_kept_free(s, p, &p->e[i]);
	free(p);
	s->qp_pool = NULL;
}

/* Keep qp's rings and doorbell in its owner's pool; false if they don't fit. */
static bool qp_pool_put(struct rb_qp *qp)
{
	struct rb_session *s = qp->res.owner;
	struct rb_qp_pool *p = s->qp_pool;
	struct qp_kept *k = NULL;
	size_t len = (size_t)((char *)qp->rq - (char *)qp->sq) + qp->rq_bytes;

	if (!p) {
		p = calloc(1, sizeof(*p));
		if (!p)
			return false;
		s->qp_pool = p;
	}
	if (p->bytes + len > QP_POOL_BYTES)
		return false;
	for (int i = 0; i < QP_POOL_MAX && !k; i++)
		if (!p->e[i].id)
			k = &p->e[i];
	if (!k)
		return false;
	if (++p->next_id == 0)
		p->next_id = 1;
	k->id = p->next_id;
	k->spec[0] = (struct ring_spec){ RB_RING_SQ, qp->sq_entries, qp->sq_entry_size };
	k->spec[1] = (struct ring_spec){ RB_RING_RQ, qp->rq_entries, qp->rq_entry_size };
	k->sq = qp->sq;
	k->rq = qp->rq;
	k->sq_bytes = qp->sq_bytes;
	k->rq_bytes = qp->rq_bytes;
	k->doorbell = qp->doorbell;
	p->bytes += len;
	p->last_kept = k->id;
	return true;
}

static bool qp_id_listed(uint32_t id, const uint32_t *ids, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (ids[i] == id)
			return true;
	return false;
}

/*
 * At a create: the kept ring of geometry spec that the client says it
 * holds (q->rings_held), taken out of the pool, or NULL.  Kept rings the
 * client does not list are freed (it lost the destroy reply that named
 * them, or never knew), and listed ids we do not keep go into
 * m->rings_dropped, so both sides converge on every create.  Calls on a
 * connection are serialised (the library waits for each reply), so the
 * list is the client's whole truth.
 */
static struct qp_kept *qp_pool_take(struct rb_session *s,
				    const Rdmabroker__QpCreateReq *q,
				    const struct ring_spec spec[2],
				    Rdmabroker__QpCreateReply *m,
				    struct rb_reply *rep, struct qp_kept *out)
{
	struct rb_qp_pool *p = s->qp_pool;
	struct qp_kept *hit = NULL;
	uint32_t *dropped;

	if (p) {
		for (int i = 0; i < QP_POOL_MAX; i++) {
			struct qp_kept *k = &p->e[i];

			if (!k->id)
				continue;
			if (!qp_id_listed(k->id, q->rings_held, q->n_rings_held)) {
				qp_kept_free(s, p, k);
				continue;
			}
			if (!hit && !memcmp(k->spec, spec, sizeof(k->spec)))
				hit = k;
		}
	}
	if (q->n_rings_held > (hit ? 1u : 0u)) {
		dropped = reply_alloc(rep, q->n_rings_held * sizeof(*dropped));
		if (!dropped)
			return NULL;	/* the client learns next time */
		for (size_t i = 0; i < q->n_rings_held; i++) {
			uint32_t id = q->rings_held[i];
			bool kept = false;

			for (int j = 0; p && j < QP_POOL_MAX && !kept; j++)
				kept = id && p->e[j].id == id;
			if (!kept)
				dropped[m->n_rings_dropped++] = id;
		}
		m->rings_dropped = dropped;
	}
	if (!hit)
		return NULL;
	*out = *hit;
	/* The new QP charged its rings already: the pool's charge goes. */
	res_uncharge(s, RB_LIMIT_MEMORY, res_mem_bytes(0, 0, qp_kept_len(hit)));
	p->bytes -= qp_kept_len(hit);
	memset(hit, 0, sizeof(*hit));
	return out;
}

static void qp_destroy(struct rb_res *r)
{
	struct rb_qp *qp = (struct rb_qp *)r;
	bool kept;

	qp->dev->ops.destroy_qp(qp);
	event_free(qp->ev_bell);
	kept = qp->keep_ring && qp_pool_put(qp);
	if (r->owner)
		res_uncharge(r->owner, RB_LIMIT_MEMORY,
			     res_mem_bytes(sizeof(*qp), qp->dev->ops.qp_size,
					   kept ? 0 : qp_rings_len(qp)));
	if (!kept) {
		close(qp->doorbell);
		qp_rings_destroy(qp);
	}
	/* A shared QP's holders were charged for their links (res.h). */
	if (r->owner)
		res_uncharge(r->owner, RB_LIMIT_QPS, 1);
	else
		LIST_REMOVE(qp, in_xrcd);
	qp->dev->nqps--;
	free(qp);
}

/*
 * QpCreateReq.modify (RB_PROTO_FEAT_QP_CREATE_MODIFY): the new QP moved
 * as by as many QpModifyReq, checked the same way, before anyone else can
 * name it; the CM's rdma_create_qp saves a round trip to INIT this way.
 * On failure the caller destroys the QP.
 */
static int qp_create_modify(struct rb_session *s, struct rb_qp *qp,
			    const Rdmabroker__QpCreateReq *q, struct rb_reply *rep)
{
	if (q->n_modify && q->qp_type == IBV_QPT_XRC_RECV) {
		reply_error(rep, "an XRC_RECV QP is not modified on creation");
		return -EINVAL;
	}
	for (size_t i = 0; i < q->n_modify; i++) {
		const Rdmabroker__QpCreateModify *mod = q->modify[i];
		struct ibv_qp_attr a;
		int ret;

		if ((mod->attr_mask & IBV_QP_AV) &&
		    !ah_attr_pb_fits(mod->attr->ah_attr, rep))
			return -EINVAL;
		if (!rb_conv_qp_attr_fits(mod->attr)) {
			reply_error(rep, "QP %#x: an attribute is out of the range of its ibv_qp_attr field",
				    qp->qp_num);
			return -EINVAL;
		}
		rb_conv_qp_attr_from_pb(&a, mod->attr);
		ret = qp_modify_attr(s, qp, &a, (int)mod->attr_mask, rep);
		if (ret < 0)
			return ret;
	}
	return 0;
}

int qp_create(struct rb_session *s, const Rdmabroker__Request *req,
	      struct rb_reply *rep)
{
	const Rdmabroker__QpCreateReq *q = req->qp_create;
	struct rb_device *dev = s->device;
	Rdmabroker__QpCreateReply *m = reply_alloc(rep, sizeof(*m));
	struct rb_res *pd = NULL, *scq = NULL, *rcq = NULL, *srq = NULL;
	/* An XRC_RECV QP is shared between the connections that open it
	 * (res.h): made here, held through this connection's link. */
	bool xrc_recv = q->qp_type == IBV_QPT_XRC_RECV;
	struct rb_res *xrcd_link = NULL;
	struct rb_link *link;
	Rdmabroker__QpCap *pcap;
	struct ibv_qp_cap cap;
	struct ring_spec spec[2];
	struct rb_ring *rings[2];
	size_t bytes[2], rq_offset = 0;
	struct qp_kept kept;
	struct rb_qp *qp;
	int fds[2] = { -1, -1 }, ret;
	uint64_t mem = 0;
	bool q_cap_zero = false;

	if (!m)
		return -ENOMEM;
	if (qp_type_index((enum ibv_qp_type)q->qp_type) < 0) {
		reply_error(rep, "QP type %u is not supported (RC, UC, UD and XRC are)",
			    q->qp_type);
		return -EOPNOTSUPP;
	}
	if (xrc_recv) {
		/* No PD, CQ, SRQ or queue: its XRCD, and what arrives goes to
		 * the XRC SRQ the sender names. */
		xrcd_link = res_lookup(s, q->xrcd, RB_RES_XRCD, rep);
		if (!xrcd_link)
			return -EINVAL;
		pd = res_target(xrcd_link);	/* the domain itself */
		q_cap_zero = true;
		goto looked_up;
	}
	pd = res_lookup(s, q->pd, RB_RES_PD, rep);
	if (!pd)
		return -EINVAL;
	scq = res_lookup(s, q->send_cq, RB_RES_CQ, rep);
	if (!scq)
		return -EINVAL;
	rcq = res_lookup(s, q->recv_cq, RB_RES_CQ, rep);
	if (!rcq)
		return -EINVAL;
	if (q->has_srq && q->qp_type == IBV_QPT_XRC_SEND) {
		reply_error(rep, "an XRC_SEND QP has no SRQ");
		return -EINVAL;
	}
	if (q->has_srq) {
		srq = res_lookup(s, q->srq, RB_RES_SRQ, rep);
		if (!srq)
			return -EINVAL;
	}
looked_up:
	rb_conv_qp_cap_from_pb(&cap, q->cap);
	if (q_cap_zero)
		memset(&cap, 0, sizeof(cap));
	if (cap.max_send_wr > dev->max_qp_wr || cap.max_recv_wr > dev->max_qp_wr ||
	    cap.max_send_sge > dev->max_sge || cap.max_recv_sge > dev->max_sge ||
	    cap.max_inline_data > dev->max_inline_data) {
		reply_error(rep, "capabilities exceed the device's (wr %" PRIu32 ", sge %"
			    PRIu32 ", inline %" PRIu32 ")", dev->max_qp_wr,
			    dev->max_sge, dev->max_inline_data);
		return -EINVAL;
	}
	if (dev->nqps >= dev->max_qp) {
		reply_error(rep, "%s has all its %" PRIu32 " QPs in use", dev->name,
			    dev->max_qp);
		return -ENOMEM;
	}
	/* A shared QP's link is charged instead (res_link). */
	ret = xrc_recv ? 0 : res_charge(s, RB_LIMIT_QPS, 1, rep);
	if (ret < 0)
		return ret;
	qp = res_alloc(sizeof(*qp), dev->ops.qp_size);
	if (!qp) {
		if (!xrc_recv)
			res_uncharge(s, RB_LIMIT_QPS, 1);
		return -ENOMEM;
	}
	qp->doorbell = -1;
	if (cap.max_send_sge > RB_MAX_SGE || cap.max_recv_sge > RB_MAX_SGE) {
		free(qp);
		if (!xrc_recv)
			res_uncharge(s, RB_LIMIT_QPS, 1);
		reply_error(rep, "at most %d SGEs", RB_MAX_SGE);
		return -EINVAL;
	}
	/* Granted: rings of a power of two, at least one slot, at least
	 * one SGE; the inline limit is what was asked or, when more, what
	 * the send slot's SGE room holds anyway (as rxe and mlx5 grant:
	 * rdma_xclient posts 16 inline bytes on a QP that asked for none). */
	cap.max_send_wr = roundup_pow2(cap.max_send_wr ? cap.max_send_wr : 1);
	cap.max_recv_wr = roundup_pow2(cap.max_recv_wr ? cap.max_recv_wr : 1);
	if (!cap.max_send_sge)
		cap.max_send_sge = 1;
	if (!cap.max_recv_sge)
		cap.max_recv_sge = 1;
	if (q->qp_type != IBV_QPT_XRC_RECV &&
	    cap.max_inline_data < cap.max_send_sge * (uint32_t)sizeof(struct rb_sge) &&
	    cap.max_send_sge * (uint32_t)sizeof(struct rb_sge) <= dev->max_inline_data)
		cap.max_inline_data = cap.max_send_sge * (uint32_t)sizeof(struct rb_sge);
	qp->cap = cap;
	pcap = reply_alloc(rep, sizeof(*pcap));
	if (pcap) {
		rdmabroker__qp_cap__init(pcap);
		rb_conv_qp_cap_to_pb(pcap, &cap);
	}
	ret = pcap ? 0 : -ENOMEM;
	spec[0] = (struct ring_spec){ RB_RING_SQ, cap.max_send_wr,
		rb_send_wqe_size(cap.max_send_sge, cap.max_inline_data) };
	spec[1] = (struct ring_spec){ RB_RING_RQ, cap.max_recv_wr,
		rb_recv_wqe_size(cap.max_recv_sge) };
	rdmabroker__qp_create_reply__init(m);
	if (ret == 0) {
		size_t page = (size_t)sysconf(_SC_PAGESIZE);
		size_t len = ((rb_ring_bytes(spec[0].entries, spec[0].entry_size) +
			       page - 1) & ~(page - 1)) +
			     rb_ring_bytes(spec[1].entries, spec[1].entry_size);

		/* A shared QP outlives its creator: its rings (one slot
		 * each, it has no queues of its own) are covered by the
		 * qps limit of every holder's link instead. */
		mem = xrc_recv ? 0 :
			res_mem_bytes(sizeof(*qp), dev->ops.qp_size, len);
		ret = mem ? res_charge(s, RB_LIMIT_MEMORY, mem, rep) : 0;
		if (ret < 0) {
			mem = 0;
			goto err;
		}
	}
	if (ret == 0 && qp_pool_take(s, q, spec, m, rep, &kept)) {
		/* The client has all three already: no fd goes out. */
		ring_reset(kept.sq, RB_RING_SQ, spec[0].entries, spec[0].entry_size);
		ring_reset(kept.rq, RB_RING_RQ, spec[1].entries, spec[1].entry_size);
		qp->sq = kept.sq;
		qp->rq = kept.rq;
		qp->sq_bytes = kept.sq_bytes;
		qp->rq_bytes = kept.rq_bytes;
		qp->doorbell = kept.doorbell;
		rq_offset = (size_t)((char *)kept.rq - (char *)kept.sq);
		m->has_ring_reused = 1;
		m->ring_reused = kept.id;
		goto rings_ready;
	}
	/* Both rings in one memfd: a QP costs one map, one seal, one fd. */
	if (ret == 0)
		ret = ring_create_pair(spec, rings, bytes, &rq_offset, &fds[0]);
	if (ret == 0) {
		qp->sq = rings[0];
		qp->rq = rings[1];
		qp->sq_bytes = bytes[0];
		qp->rq_bytes = bytes[1];
	}
	if (ret < 0) {
		reply_error(rep, "QP rings: %s", strerror(-ret));
		goto err;
	}
	/* The doorbell: ours to poll, a copy for the client to ring. */
	qp->doorbell = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	fds[1] = qp->doorbell >= 0 ? fcntl(qp->doorbell, F_DUPFD_CLOEXEC, 0) : -1;
	if (fds[1] < 0) {
		ret = -errno;
		reply_error(rep, "QP doorbell: %s", strerror(-ret));
		goto err;
	}
rings_ready:
	qp->sq_entries = cap.max_send_wr;
	qp->sq_entry_size = qp->sq->entry_size;
	qp->rq_entries = cap.max_recv_wr;
	qp->rq_entry_size = qp->rq->entry_size;
	qp->dev = dev;
	qp->type = (enum ibv_qp_type)q->qp_type;
	qp->sq_sig_all = q->sq_sig_all;
	qp_reset(qp);
	qp->res.type = RB_RES_QP;
	qp->res.deps[0] = pd;
	qp->res.deps[1] = scq;
	qp->res.deps[2] = rcq;
	qp->res.deps[3] = srq;
	qp->res.destroy = qp_destroy;
	qp->ev_bell = event_new(s->d->base, qp->doorbell, EV_READ | EV_PERSIST,
				qp_bell_cb, qp);
	if (!qp->ev_bell || event_add(qp->ev_bell, NULL) < 0) {
		ret = -ENOMEM;
		goto err;
	}
	ret = dev->ops.create_qp(dev, qp);
	if (ret < 0) {
		reply_error(rep, "%s: create_qp: %s", dev->name, strerror(-ret));
		goto err;
	}
	ret = qp_create_modify(s, qp, q, rep);
	if (ret < 0) {
		dev->ops.destroy_qp(qp);
		goto err;
	}
	if (xrc_recv) {
		/* Shared from here on: a failed link destroys it (qp_destroy),
		 * and only the copies for the client are left to close. */
		res_share(s->d, &qp->res);
		LIST_INSERT_HEAD(&((struct rb_xrcd *)pd)->tgt_qps, qp, in_xrcd);
		dev->nqps++;
		ret = res_link(s, &qp->res, RB_LIMIT_QPS, xrcd_link, rep, &link);
		if (ret < 0) {
			for (int i = 0; i < 2; i++)
				if (fds[i] >= 0)
					close(fds[i]);
			return ret;
		}
		m->handle = link->res.handle;
		goto created;
	}
	ret = res_add(s, &qp->res);
	if (ret < 0) {
		dev->ops.destroy_qp(qp);
		reply_error(rep, "this connection holds too many objects");
		goto err;
	}
	dev->nqps++;
	m->handle = qp->res.handle;
created:
	if (q->n_modify) {
		m->has_qp_state = 1;
		m->qp_state = qp->attr.qp_state;
	}
	m->qp_num = qp->qp_num;
	m->cap = pcap;
	m->sq_bytes = qp->sq_bytes;
	m->rq_bytes = qp->rq_bytes;
	m->has_rq_offset = 1;
	m->rq_offset = rq_offset;
	for (int i = 0; i < 2; i++)
		if (fds[i] >= 0)
			rep->fds[rep->nfds++] = fds[i];
	rep->msg.body_case = RDMABROKER__REPLY__BODY_QP_CREATE;
	rep->msg.qp_create = m;
	return 0;

err:
	if (qp->ev_bell)
		event_free(qp->ev_bell);
	for (int i = 0; i < 2; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	if (qp->doorbell >= 0)
		close(qp->doorbell);
	qp_rings_destroy(qp);
	free(qp);
	res_uncharge(s, RB_LIMIT_MEMORY, mem);
	if (!xrc_recv)
		res_uncharge(s, RB_LIMIT_QPS, 1);
	return ret;
}

int qp_modify(struct rb_session *s, const Rdmabroker__Request *req,
	      struct rb_reply *rep)
{
	const Rdmabroker__QpModifyReq *q = req->qp_modify;
	const Rdmabroker__QpAttr *pa = q->attr;
	Rdmabroker__QpModifyReply *m = reply_alloc(rep, sizeof(*m));
	struct ibv_qp_attr a;
	struct rb_res *r;
	struct rb_qp *qp;
	int ret;

	if (!m)
		return -ENOMEM;
	r = res_lookup(s, q->handle, RB_RES_QP, rep);
	if (!r)
		return -EINVAL;
	/* Any holder of a shared QP may modify it, as the kernel lets every
	 * process that opened an XRC_RECV QP modify the real one. */
	qp = (struct rb_qp *)res_target(r);
	if ((q->attr_mask & IBV_QP_AV) && !ah_attr_pb_fits(pa->ah_attr, rep))
		return -EINVAL;
	/* The wire has 32 bits where verbs has 8 or 16: no silent wrap.  An
	 * honest library copies them from ibv_qp_attr, so they always fit. */
	if (!rb_conv_qp_attr_fits(pa)) {
		reply_error(rep, "QP %#x: an attribute is out of the range of its ibv_qp_attr field",
			    qp->qp_num);
		return -EINVAL;
	}
	rb_conv_qp_attr_from_pb(&a, pa);
	ret = qp_modify_attr(s, qp, &a, (int)q->attr_mask, rep);
	if (ret < 0)
		return ret;
	rdmabroker__qp_modify_reply__init(m);
	m->qp_state = qp->attr.qp_state;
	rep->msg.body_case = RDMABROKER__REPLY__BODY_QP_MODIFY;
	rep->msg.qp_modify = m;
	return 0;
}

int qp_modify_attr(struct rb_session *s, struct rb_qp *qp, struct ibv_qp_attr *attr,
		   int attr_mask, struct rb_reply *rep)
{
	enum ibv_qp_state cur, next;
	struct ibv_qp_attr a = *attr, old;
	char why[160];
	int ret;

	cur = qp->attr.qp_state;
	if (attr_mask & IBV_QP_CUR_STATE) {
		/* The caller's idea of the state must be the truth. */
		if (a.cur_qp_state != cur) {
			reply_error(rep, "cur_qp_state %d but the QP is in %s",
				    a.cur_qp_state, qp_state_name(cur));
			return -EINVAL;
		}
	}
	next = (attr_mask & IBV_QP_STATE) ? a.qp_state : cur;
	if (!qp_transition_ok(cur, next, qp_type_index(qp->type),
			      qp->type, attr_mask,
			      why, sizeof(why))) {
		reply_error(rep, "QP %#x (%s): %s", qp->qp_num, qp_type_name(qp->type), why);
		return -EINVAL;
	}
	ret = qp_check_values(qp, &a, attr_mask, rep);
	if (ret < 0)
		return ret;
	/* What was posted before the modify goes first (drivers/driver.h). */
	if (cur == IBV_QPS_RTS && next == IBV_QPS_ERR)
		qp->dev->ops.qp_take_posted(qp);
	old = qp->attr;
	if (next == IBV_QPS_RESET) {
		qp_reset(qp);
	} else {
		qp_apply(qp, &a, attr_mask);
		qp->attr.qp_state = next;
		qp->attr.cur_qp_state = next;
	}
	/* Checked and applied: the device follows, or nothing changed. */
	qp->dev->err[0] = '\0';
	ret = qp->dev->ops.modify_qp(qp, &a, attr_mask, cur);
	if (ret < 0) {
		qp->attr = old;
		/* The driver's reason when it gave one (drivers/driver.h). */
		reply_error(rep, "QP %#x: %s: modify_qp: %s", qp->qp_num,
			    qp->dev->name, qp->dev->err[0] ? qp->dev->err : strerror(-ret));
		return ret;
	}
	log_debug("client %" PRIu64 ": QP %#x %s -> %s", s->id, qp->qp_num,
		  qp_state_name(cur), qp_state_name(next));
	return 0;
}

int qp_query(struct rb_session *s, const Rdmabroker__Request *req,
	     struct rb_reply *rep)
{
	Rdmabroker__QpQueryReply *m = reply_alloc(rep, sizeof(*m));
	Rdmabroker__QpAttr *pa = reply_alloc(rep, sizeof(*pa));
	struct rb_conv_qp_attr_buf *b = reply_alloc(rep, sizeof(*b));
	struct ibv_qp_attr a;
	struct rb_res *r;
	struct rb_qp *qp;
	int ret;

	if (!m || !pa || !b)
		return -ENOMEM;
	r = res_lookup(s, req->qp_query->handle, RB_RES_QP, rep);
	if (!r)
		return -EINVAL;
	qp = (struct rb_qp *)res_target(r);
	ret = qp->dev->ops.query_qp(qp);
	if (ret < 0) {
		reply_error(rep, "QP %#x: %s: query_qp: %s", qp->qp_num,
			    qp->dev->name, strerror(-ret));
		return ret;
	}
	/* What the QP holds, as ibv_query_qp reports it: the current state
	 * twice, the capabilities granted at create; no SQ drain or rate
	 * limit is kept. */
	a = qp->attr;
	a.cur_qp_state = a.qp_state;
	a.cap = qp->cap;
	a.sq_draining = 0;
	a.rate_limit = 0;
	rdmabroker__qp_attr__init(pa);
	rb_conv_qp_attr_to_pb(pa, b, &a);
	rdmabroker__qp_query_reply__init(m);
	m->attr = pa;
	m->init_cap = pa->cap;
	m->sq_sig_all = qp->sq_sig_all;
	rep->msg.body_case = RDMABROKER__REPLY__BODY_QP_QUERY;
	rep->msg.qp_query = m;
	return 0;
}

int qp_destroy_req(struct rb_session *s, const Rdmabroker__Request *req,
		   struct rb_reply *rep)
{
	Rdmabroker__QpDestroyReply *m = reply_alloc(rep, sizeof(*m));
	struct rb_res *r;
	uint32_t reported;
	int ret;

	if (!m)
		return -ENOMEM;
	r = res_lookup(s, req->qp_destroy->handle, RB_RES_QP, rep);
	if (!r)
		return -EINVAL;
	/* Only a ring this destroy keeps is named in the reply. */
	if (s->qp_pool)
		s->qp_pool->last_kept = 0;
	if (r->target) {
		/* This connection's hold on a shared QP: the QP goes with
		 * the last one (res.h), and its rings are never kept. */
		reported = ((struct rb_link *)r)->events_reported;
		ret = res_remove(r, rep);
		if (ret < 0)
			return ret;
		goto out;
	}
	reported = ((struct rb_qp *)r)->events_reported;
	((struct rb_qp *)r)->keep_ring = req->qp_destroy->has_keep_ring &&
					 req->qp_destroy->keep_ring;
	ret = res_remove(r, rep);
	if (ret < 0) {
		((struct rb_qp *)r)->keep_ring = false;
		return ret;
	}
out:
	rdmabroker__qp_destroy_reply__init(m);
	m->events_reported = reported;
	if (s->qp_pool && s->qp_pool->last_kept) {
		m->has_ring_kept = 1;
		m->ring_kept = s->qp_pool->last_kept;
	}
	rep->msg.body_case = RDMABROKER__REPLY__BODY_QP_DESTROY;
	rep->msg.qp_destroy = m;
	return 0;
}

void qp_describe(const struct rb_res *r, Rdmabroker__ResEntry *e)
{
	const struct rb_qp *qp = (const struct rb_qp *)(r->target ? r->target : r);

	e->has_qp_num = 1;
	e->qp_num = qp->qp_num;
	e->qp_type = (char *)qp_type_name(qp->type);
	e->state = (char *)qp_state_name(qp->attr.qp_state);
}

/*
 * ibv_open_qp: a handle on an XRC_RECV QP of an XRC domain this
 * connection holds, whoever made it; EINVAL for another type or a number
 * of no such QP of that domain, as the kernel's ib_open_qp answers.  The
 * handle is charged to this connection's user (qps) and keeps the QP
 * alive after its creator lets go.  No rings: the QP has no queue.
 */
int qp_open(struct rb_session *s, const Rdmabroker__Request *req,
	    struct rb_reply *rep)
{
	const Rdmabroker__QpOpenReq *q = req->qp_open;
	Rdmabroker__QpOpenReply *m = reply_alloc(rep, sizeof(*m));
	struct rb_res *xl;
	struct rb_xrcd *x;
	struct rb_link *k;
	struct rb_qp *qp;
	int ret;

	if (!m)
		return -ENOMEM;
	xl = res_lookup(s, q->xrcd, RB_RES_XRCD, rep);
	if (!xl)
		return -EINVAL;
	if (q->qp_type != IBV_QPT_XRC_RECV) {
		reply_error(rep, "only XRC_RECV QPs can be opened (qp_type %u)", q->qp_type);
		return -EINVAL;
	}
	x = (struct rb_xrcd *)res_target(xl);
	LIST_FOREACH(qp, &x->tgt_qps, in_xrcd)
		if (qp->qp_num == q->qp_num)
			break;
	if (!qp) {
		reply_error(rep, "no XRC_RECV QP %#x in this XRC domain", q->qp_num);
		return -EINVAL;
	}
	ret = res_link(s, &qp->res, RB_LIMIT_QPS, xl, rep, &k);
	if (ret < 0)
		return ret;
	log_debug("client %" PRIu64 ": opened XRC_RECV QP %#x", s->id, qp->qp_num);
	rdmabroker__qp_open_reply__init(m);
	m->handle = k->res.handle;
	rep->msg.body_case = RDMABROKER__REPLY__BODY_QP_OPEN;
	rep->msg.qp_open = m;
	return 0;
}
