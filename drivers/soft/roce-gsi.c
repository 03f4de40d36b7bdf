/* SPDX-License-Identifier: MIT */
/*
 * The GSI (QP1) of the soft device across hosts: management datagrams,
 * which carry the connection manager's messages between daemons
 * (daemon/cm-mad.c).  A MAD goes as a RoCE NIC sends it: a UD SEND_ONLY
 * to QP1 with a DETH of Q_Key 0x80010000 (the GSI's, IBTA 13.5.1) from
 * source QP 1.  What arrives for QP1 with that Q_Key goes to the daemon
 * (rb_device_gsi_recv); with another it is dropped and counted.  No QP of
 * a client is QP1 (the soft device never gives out 0 or 1).
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include "drivers/soft/roce.h"
#include "drivers/soft/soft-int.h"

int roce_gsi_send(struct roce_dev *r, const union ibv_gid *sgid, const union ibv_gid *dgid,
		  const void *mad, size_t len)
{
	struct roce_pkt p = { 0 };
	struct roce_tx *t;
	int hl;

	if (!r || r->fd < 0 || roce_gid_find(r, sgid->raw) < 0 || !roce_remote(r, dgid) ||
	    roce_wire_gid_is_v4(sgid->raw) != roce_wire_gid_is_v4(dgid->raw))
		return -ENETUNREACH;
	if (len > RB_MAD_SIZE)
		return -EMSGSIZE;
	if (!len)
		return 0;		/* could go: all the caller asked */
	t = roce_io_tx_slot(r);
	if (!t)
		return -ENOBUFS;
	p.opcode = ROCE_TR_UD | ROCE_OP_SEND_ONLY;
	p.pkey = ROCE_PKEY_DEFAULT;
	p.dqpn = ROCE_GSI_QPN;
	p.psn = r->gsi_psn++ & ROCE_PSN_MASK;
	p.pad = (uint8_t)((4 - len % 4) % 4);
	p.deth.qkey = ROCE_GSI_QKEY;
	p.deth.sqpn = ROCE_GSI_QPN;
	hl = roce_wire_build(t->buf, sizeof(t->buf), &p);
	if (hl < 0)
		return -EINVAL;
	memcpy(t->buf + hl, mad, len);
	memset(t->buf + hl + len, 0, p.pad);
	t->len = (uint16_t)(hl + len + p.pad);
	memset(&t->to, 0, sizeof(t->to));
	t->to.sin6_family = AF_INET6;
	t->to.sin6_port = htons(ROCE_UDP_PORT);
	memcpy(&t->to.sin6_addr, dgid->raw, 16);
	memset(&t->from, 0, sizeof(t->from));
	memcpy(&t->from.ipi6_addr, sgid->raw, 16);
	roce_io_tx_commit(r, t);
	return 0;
}

void roce_gsi_recv(struct roce_dev *r, const struct roce_pkt *p,
		   const struct roce_flow *flow)
{
	if (p->deth.qkey != ROCE_GSI_QKEY) {
		r->st.rx_qkey_errors++;
		return;
	}
	if ((p->opcode & ~ROCE_TR_MASK) != ROCE_OP_SEND_ONLY) {
		r->st.rx_unsupported++;
		return;
	}
	rb_device_gsi_recv(r->dev, flow->src, flow->dst, p->payload, p->paylen);
}
