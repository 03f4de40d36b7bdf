/* SPDX-License-Identifier: MIT */
/*
 * UD multicast on the soft device: ibv_attach_mcast/ibv_detach_mcast keep
 * (group GID, QP number) pairs per device, and a UD SEND whose address
 * vector names a multicast GID (ff00::/8) reaches every QP attached to
 * that group, each checked as a unicast UD receive is (type, state,
 * Q_Key), as a switch replicates it.  The sender's own QP receives its
 * copy if attached (IB multicast loopback).
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "drivers/soft/soft-int.h"

/* Attachments per device, and per QP as the IB spec's limits say. */
#define SOFT_MCAST_MAX		4096
#define SOFT_MCAST_PER_QP	64

struct soft_mcast_entry {
	union ibv_gid gid;
	uint32_t qpn;
};

struct soft_mcast {
	struct soft_mcast_entry *v;
	uint32_t n, cap;
};

static struct soft_mcast *soft_mcast_of(struct rb_device *dev, bool make)
{
	struct soft_dev *s = dev->priv;

	if (!s->mcast && make)
		s->mcast = calloc(1, sizeof(*s->mcast));
	return s->mcast;
}

int soft_mcast_attach(struct rb_qp *rqp, const union ibv_gid *gid, uint16_t lid)
{
	struct soft_mcast *m = soft_mcast_of(rqp->dev, true);
	uint32_t mine = 0;

	(void)lid;	/* RoCE: the GID is the group */
	if (!m)
		return -ENOMEM;
	if (rqp->type != IBV_QPT_UD || gid->raw[0] != 0xff)
		return -EINVAL;
	for (uint32_t i = 0; i < m->n; i++) {
		if (m->v[i].qpn != rqp->qp_num)
			continue;
		if (!memcmp(m->v[i].gid.raw, gid->raw, 16))
			return 0;	/* attached already: as the kernel, fine */
		mine++;
	}
	if (mine >= SOFT_MCAST_PER_QP || m->n >= SOFT_MCAST_MAX)
		return -ENOMEM;
	if (m->n == m->cap) {
		uint32_t cap = m->cap ? m->cap * 2 : 16;
		struct soft_mcast_entry *v = realloc(m->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		m->v = v;
		m->cap = cap;
	}
	m->v[m->n].gid = *gid;
	m->v[m->n].qpn = rqp->qp_num;
	m->n++;
	return 0;
}

int soft_mcast_detach(struct rb_qp *rqp, const union ibv_gid *gid, uint16_t lid)
{
	struct soft_mcast *m = soft_mcast_of(rqp->dev, false);

	(void)lid;
	for (uint32_t i = 0; m && i < m->n; i++)
		if (m->v[i].qpn == rqp->qp_num &&
		    !memcmp(m->v[i].gid.raw, gid->raw, 16)) {
			m->v[i] = m->v[--m->n];
			return 0;
		}
	return -EINVAL;
}

void soft_mcast_qp_gone(struct soft_qp *qp)
{
	struct soft_mcast *m = soft_mcast_of(qp->qp.dev, false);

	for (uint32_t i = 0; m && i < m->n;)
		if (m->v[i].qpn == qp->qp.qp_num)
			m->v[i] = m->v[--m->n];
		else
			i++;
}

void soft_mcast_fini(struct soft_dev *s)
{
	if (s->mcast)
		free(s->mcast->v);
	free(s->mcast);
	s->mcast = NULL;
}

bool soft_mcast_send(struct soft_qp *qp, const union ibv_gid *dgid,
		     soft_mcast_fn deliver, void *arg)
{
	struct soft_mcast *m = soft_mcast_of(qp->qp.dev, false);
	uint32_t qpns[SOFT_MCAST_MAX], n = 0;

	if (dgid->raw[0] != 0xff)
		return false;
	/* The members first: a delivery may not change the table, but the
	 * copy keeps this walk independent of it. */
	for (uint32_t i = 0; m && i < m->n; i++)
		if (!memcmp(m->v[i].gid.raw, dgid->raw, 16))
			qpns[n++] = m->v[i].qpn;
	for (uint32_t i = 0; i < n; i++) {
		struct soft_qp *dest = soft_qp_find(qp->qp.dev, qpns[i]);

		if (dest)
			deliver(dest, arg);
	}
	return true;
}
