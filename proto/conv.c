/* SPDX-License-Identifier: MIT */
/* Protobuf <-> libibverbs conversions, for both sides: see conv.h. */
#include "config.h"

#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "proto/conv.h"

/* An optional scalar, sent. */
#define PUT(m, field, v)	do { (m)->field = (v); (m)->has_##field = 1; } while (0)

/* ------------------------------------------------------------ device */

void rb_conv_device_attr_to_pb(Rdmabroker__DeviceAttr *m,
			       const struct ibv_device_attr_ex *x)
{
	const struct ibv_device_attr *a = &x->orig_attr;

	m->fw_ver = (char *)a->fw_ver;
	/* GUIDs travel as the number the API prints (host order). */
	PUT(m, node_guid, be64toh(a->node_guid));
	PUT(m, sys_image_guid, be64toh(a->sys_image_guid));
	PUT(m, max_mr_size, a->max_mr_size);
	PUT(m, page_size_cap, a->page_size_cap);
	PUT(m, vendor_id, a->vendor_id);
	PUT(m, vendor_part_id, a->vendor_part_id);
	PUT(m, hw_ver, a->hw_ver);
	PUT(m, max_qp, a->max_qp);
	PUT(m, max_qp_wr, a->max_qp_wr);
	PUT(m, device_cap_flags, a->device_cap_flags);
	PUT(m, max_sge, a->max_sge);
	PUT(m, max_sge_rd, a->max_sge_rd);
	PUT(m, max_cq, a->max_cq);
	PUT(m, max_cqe, a->max_cqe);
	PUT(m, max_mr, a->max_mr);
	PUT(m, max_pd, a->max_pd);
	PUT(m, max_qp_rd_atom, a->max_qp_rd_atom);
	PUT(m, max_ee_rd_atom, a->max_ee_rd_atom);
	PUT(m, max_res_rd_atom, a->max_res_rd_atom);
	PUT(m, max_qp_init_rd_atom, a->max_qp_init_rd_atom);
	PUT(m, max_ee_init_rd_atom, a->max_ee_init_rd_atom);
	PUT(m, atomic_cap, a->atomic_cap);
	PUT(m, max_ee, a->max_ee);
	PUT(m, max_rdd, a->max_rdd);
	PUT(m, max_mw, a->max_mw);
	PUT(m, max_raw_ipv6_qp, a->max_raw_ipv6_qp);
	PUT(m, max_raw_ethy_qp, a->max_raw_ethy_qp);
	PUT(m, max_mcast_grp, a->max_mcast_grp);
	PUT(m, max_mcast_qp_attach, a->max_mcast_qp_attach);
	PUT(m, max_total_mcast_qp_attach, a->max_total_mcast_qp_attach);
	PUT(m, max_ah, a->max_ah);
	PUT(m, max_fmr, a->max_fmr);
	PUT(m, max_map_per_fmr, a->max_map_per_fmr);
	PUT(m, max_srq, a->max_srq);
	PUT(m, max_srq_wr, a->max_srq_wr);
	PUT(m, max_srq_sge, a->max_srq_sge);
	PUT(m, max_pkeys, a->max_pkeys);
	PUT(m, local_ca_ack_delay, a->local_ca_ack_delay);
	PUT(m, phys_port_cnt, a->phys_port_cnt);
	PUT(m, device_cap_flags_ex, x->device_cap_flags_ex);
	PUT(m, completion_timestamp_mask, x->completion_timestamp_mask);
	PUT(m, hca_core_clock, x->hca_core_clock);
	PUT(m, max_wq_type_rq, x->max_wq_type_rq);
	PUT(m, raw_packet_caps, x->raw_packet_caps);
	PUT(m, max_dm_size, x->max_dm_size);
	PUT(m, phys_port_cnt_ex, x->phys_port_cnt_ex);
}

void rb_conv_device_attr_from_pb(struct ibv_device_attr_ex *x,
				 const Rdmabroker__DeviceAttr *m)
{
	struct ibv_device_attr *a = &x->orig_attr;

	memset(x, 0, sizeof(*x));
	snprintf(a->fw_ver, sizeof(a->fw_ver), "%s", m->fw_ver ? m->fw_ver : "");
	a->node_guid = htobe64(m->node_guid);
	a->sys_image_guid = htobe64(m->sys_image_guid);
	a->max_mr_size = m->max_mr_size;
	a->page_size_cap = m->page_size_cap;
	a->vendor_id = m->vendor_id;
	a->vendor_part_id = m->vendor_part_id;
	a->hw_ver = m->hw_ver;
	a->max_qp = m->max_qp;
	a->max_qp_wr = m->max_qp_wr;
	a->device_cap_flags = m->device_cap_flags;
	a->max_sge = m->max_sge;
	a->max_sge_rd = m->max_sge_rd;
	a->max_cq = m->max_cq;
	a->max_cqe = m->max_cqe;
	a->max_mr = m->max_mr;
	a->max_pd = m->max_pd;
	a->max_qp_rd_atom = m->max_qp_rd_atom;
	a->max_ee_rd_atom = m->max_ee_rd_atom;
	a->max_res_rd_atom = m->max_res_rd_atom;
	a->max_qp_init_rd_atom = m->max_qp_init_rd_atom;
	a->max_ee_init_rd_atom = m->max_ee_init_rd_atom;
	a->atomic_cap = (enum ibv_atomic_cap)m->atomic_cap;
	a->max_ee = m->max_ee;
	a->max_rdd = m->max_rdd;
	a->max_mw = m->max_mw;
	a->max_raw_ipv6_qp = m->max_raw_ipv6_qp;
	a->max_raw_ethy_qp = m->max_raw_ethy_qp;
	a->max_mcast_grp = m->max_mcast_grp;
	a->max_mcast_qp_attach = m->max_mcast_qp_attach;
	a->max_total_mcast_qp_attach = m->max_total_mcast_qp_attach;
	a->max_ah = m->max_ah;
	a->max_fmr = m->max_fmr;
	a->max_map_per_fmr = m->max_map_per_fmr;
	a->max_srq = m->max_srq;
	a->max_srq_wr = m->max_srq_wr;
	a->max_srq_sge = m->max_srq_sge;
	a->max_pkeys = (uint16_t)m->max_pkeys;
	a->local_ca_ack_delay = (uint8_t)m->local_ca_ack_delay;
	a->phys_port_cnt = (uint8_t)m->phys_port_cnt;
	/* A daemon that does not send the extended fields: the base ones
	 * stand in where they mean the same. */
	x->device_cap_flags_ex = m->has_device_cap_flags_ex ?
		m->device_cap_flags_ex : m->device_cap_flags;
	x->completion_timestamp_mask = m->completion_timestamp_mask;
	x->hca_core_clock = m->hca_core_clock;
	x->max_wq_type_rq = m->max_wq_type_rq;
	x->raw_packet_caps = m->raw_packet_caps;
	x->max_dm_size = m->max_dm_size;
	x->phys_port_cnt_ex = m->has_phys_port_cnt_ex ?
		m->phys_port_cnt_ex : m->phys_port_cnt;
}

void rb_conv_port_attr_to_pb(Rdmabroker__PortAttr *m,
			     const struct ibv_port_attr *a)
{
	PUT(m, state, a->state);
	PUT(m, max_mtu, a->max_mtu);
	PUT(m, active_mtu, a->active_mtu);
	PUT(m, gid_tbl_len, a->gid_tbl_len);
	PUT(m, port_cap_flags, a->port_cap_flags);
	PUT(m, max_msg_sz, a->max_msg_sz);
	PUT(m, bad_pkey_cntr, a->bad_pkey_cntr);
	PUT(m, qkey_viol_cntr, a->qkey_viol_cntr);
	PUT(m, pkey_tbl_len, a->pkey_tbl_len);
	PUT(m, lid, a->lid);
	PUT(m, sm_lid, a->sm_lid);
	PUT(m, lmc, a->lmc);
	PUT(m, max_vl_num, a->max_vl_num);
	PUT(m, sm_sl, a->sm_sl);
	PUT(m, subnet_timeout, a->subnet_timeout);
	PUT(m, init_type_reply, a->init_type_reply);
	PUT(m, active_width, a->active_width);
	PUT(m, active_speed, a->active_speed);
	PUT(m, phys_state, a->phys_state);
	PUT(m, link_layer, a->link_layer);
	PUT(m, flags, a->flags);
	PUT(m, port_cap_flags2, a->port_cap_flags2);
}

void rb_conv_port_attr_from_pb(struct ibv_port_attr *a,
			       const Rdmabroker__PortAttr *m)
{
	memset(a, 0, sizeof(*a));
	a->state = (enum ibv_port_state)m->state;
	a->max_mtu = (enum ibv_mtu)m->max_mtu;
	a->active_mtu = (enum ibv_mtu)m->active_mtu;
	a->gid_tbl_len = m->gid_tbl_len;
	a->port_cap_flags = m->port_cap_flags;
	a->max_msg_sz = m->max_msg_sz;
	a->bad_pkey_cntr = m->bad_pkey_cntr;
	a->qkey_viol_cntr = m->qkey_viol_cntr;
	a->pkey_tbl_len = (uint16_t)m->pkey_tbl_len;
	a->lid = (uint16_t)m->lid;
	a->sm_lid = (uint16_t)m->sm_lid;
	a->lmc = (uint8_t)m->lmc;
	a->max_vl_num = (uint8_t)m->max_vl_num;
	a->sm_sl = (uint8_t)m->sm_sl;
	a->subnet_timeout = (uint8_t)m->subnet_timeout;
	a->init_type_reply = (uint8_t)m->init_type_reply;
	a->active_width = (uint8_t)m->active_width;
	a->active_speed = (uint8_t)m->active_speed;
	a->phys_state = (uint8_t)m->phys_state;
	a->link_layer = (uint8_t)m->link_layer;
	a->flags = (uint8_t)m->flags;
	a->port_cap_flags2 = (uint16_t)m->port_cap_flags2;
}

void rb_conv_gid_to_pb(Rdmabroker__GidEntry *m, uint8_t *raw, uint32_t index,
		       const union ibv_gid *gid, uint32_t gid_type)
{
	memcpy(raw, gid->raw, sizeof(gid->raw));
	m->index = index;
	m->raw.data = raw;
	m->raw.len = sizeof(gid->raw);
	PUT(m, gid_type, gid_type);
}

int rb_conv_gid_from_pb(union ibv_gid *gid, uint32_t *gid_type,
			const Rdmabroker__GidEntry *m)
{
	if (m->raw.len != sizeof(gid->raw))
		return -EIO;
	memcpy(gid->raw, m->raw.data, sizeof(gid->raw));
	*gid_type = m->gid_type;
	return 0;
}

/* ------------------------------------------------------------ QPs */

void rb_conv_qp_cap_to_pb(Rdmabroker__QpCap *m, const struct ibv_qp_cap *c)
{
	m->max_send_wr = c->max_send_wr;
	m->max_recv_wr = c->max_recv_wr;
	m->max_send_sge = c->max_send_sge;
	m->max_recv_sge = c->max_recv_sge;
	m->max_inline_data = c->max_inline_data;
}

void rb_conv_qp_cap_from_pb(struct ibv_qp_cap *c, const Rdmabroker__QpCap *m)
{
	c->max_send_wr = m->max_send_wr;
	c->max_recv_wr = m->max_recv_wr;
	c->max_send_sge = m->max_send_sge;
	c->max_recv_sge = m->max_recv_sge;
	c->max_inline_data = m->max_inline_data;
}

void rb_conv_ah_attr_to_pb(Rdmabroker__AhAttr *m, uint8_t *gid,
			   const struct ibv_ah_attr *a)
{
	memcpy(gid, a->grh.dgid.raw, sizeof(a->grh.dgid.raw));
	m->dgid.data = gid;
	m->dgid.len = sizeof(a->grh.dgid.raw);
	m->flow_label = a->grh.flow_label & 0xfffff;
	m->sgid_index = a->grh.sgid_index;
	m->hop_limit = a->grh.hop_limit;
	m->traffic_class = a->grh.traffic_class;
	m->dlid = a->dlid;
	m->sl = a->sl;
	m->src_path_bits = a->src_path_bits;
	m->static_rate = a->static_rate;
	m->is_global = a->is_global;
	m->port_num = a->port_num;
}

void rb_conv_ah_attr_from_pb(struct ibv_ah_attr *a, const Rdmabroker__AhAttr *m)
{
	memset(a, 0, sizeof(*a));
	if (m->dgid.len == sizeof(a->grh.dgid.raw))
		memcpy(a->grh.dgid.raw, m->dgid.data, sizeof(a->grh.dgid.raw));
	/* Real devices use the low 20 bits and ignore the rest (UCX passes
	 * ~0); an IB SL has 4 bits, and mlx5 masks it the same way. */
	a->grh.flow_label = m->flow_label & 0xfffff;
	a->grh.sgid_index = (uint8_t)m->sgid_index;
	a->grh.hop_limit = (uint8_t)m->hop_limit;
	a->grh.traffic_class = (uint8_t)m->traffic_class;
	a->dlid = (uint16_t)m->dlid;
	a->sl = (uint8_t)(m->sl & 0xf);
	a->src_path_bits = (uint8_t)m->src_path_bits;
	a->static_rate = (uint8_t)m->static_rate;
	a->is_global = (uint8_t)m->is_global;
	a->port_num = (uint8_t)m->port_num;
}

bool rb_conv_ah_attr_fits(const Rdmabroker__AhAttr *m)
{
	return m->dgid.len == 16 && m->sgid_index <= UINT8_MAX &&
	       m->hop_limit <= UINT8_MAX && m->traffic_class <= UINT8_MAX &&
	       m->dlid <= UINT16_MAX && m->sl <= UINT8_MAX &&
	       m->src_path_bits <= UINT8_MAX && m->static_rate <= UINT8_MAX &&
	       m->port_num <= UINT8_MAX;
}

void rb_conv_qp_attr_to_pb(Rdmabroker__QpAttr *m, struct rb_conv_qp_attr_buf *b,
			   const struct ibv_qp_attr *a)
{
	rdmabroker__qp_cap__init(&b->cap);
	rdmabroker__ah_attr__init(&b->ah);
	rdmabroker__ah_attr__init(&b->alt_ah);
	m->qp_state = a->qp_state;
	m->cur_qp_state = a->cur_qp_state;
	m->path_mtu = a->path_mtu;
	m->path_mig_state = a->path_mig_state;
	m->qkey = a->qkey;
	m->rq_psn = a->rq_psn;
	m->sq_psn = a->sq_psn;
	m->dest_qp_num = a->dest_qp_num;
	m->qp_access_flags = (uint32_t)a->qp_access_flags;
	rb_conv_qp_cap_to_pb(&b->cap, &a->cap);
	m->cap = &b->cap;
	rb_conv_ah_attr_to_pb(&b->ah, b->gid, &a->ah_attr);
	m->ah_attr = &b->ah;
	rb_conv_ah_attr_to_pb(&b->alt_ah, b->alt_gid, &a->alt_ah_attr);
	m->alt_ah_attr = &b->alt_ah;
	m->pkey_index = a->pkey_index;
	m->alt_pkey_index = a->alt_pkey_index;
	m->en_sqd_async_notify = a->en_sqd_async_notify;
	m->sq_draining = a->sq_draining;
	m->max_rd_atomic = a->max_rd_atomic;
	m->max_dest_rd_atomic = a->max_dest_rd_atomic;
	m->min_rnr_timer = a->min_rnr_timer;
	m->port_num = a->port_num;
	m->timeout = a->timeout;
	m->retry_cnt = a->retry_cnt;
	m->rnr_retry = a->rnr_retry;
	m->alt_port_num = a->alt_port_num;
	m->alt_timeout = a->alt_timeout;
	m->rate_limit = a->rate_limit;
}

void rb_conv_qp_attr_from_pb(struct ibv_qp_attr *a, const Rdmabroker__QpAttr *m)
{
	memset(a, 0, sizeof(*a));
	a->qp_state = (enum ibv_qp_state)m->qp_state;
	a->cur_qp_state = (enum ibv_qp_state)m->cur_qp_state;
	a->path_mtu = (enum ibv_mtu)m->path_mtu;
	a->path_mig_state = (enum ibv_mig_state)m->path_mig_state;
	a->qkey = m->qkey;
	a->rq_psn = m->rq_psn;
	a->sq_psn = m->sq_psn;
	a->dest_qp_num = m->dest_qp_num;
	a->qp_access_flags = (unsigned int)m->qp_access_flags;
	if (m->cap)
		rb_conv_qp_cap_from_pb(&a->cap, m->cap);
	if (m->ah_attr)
		rb_conv_ah_attr_from_pb(&a->ah_attr, m->ah_attr);
	if (m->alt_ah_attr)
		rb_conv_ah_attr_from_pb(&a->alt_ah_attr, m->alt_ah_attr);
	a->pkey_index = (uint16_t)m->pkey_index;
	a->alt_pkey_index = (uint16_t)m->alt_pkey_index;
	a->en_sqd_async_notify = (uint8_t)m->en_sqd_async_notify;
	a->sq_draining = (uint8_t)m->sq_draining;
	a->max_rd_atomic = (uint8_t)m->max_rd_atomic;
	a->max_dest_rd_atomic = (uint8_t)m->max_dest_rd_atomic;
	a->min_rnr_timer = (uint8_t)m->min_rnr_timer;
	a->port_num = (uint8_t)m->port_num;
	a->timeout = (uint8_t)m->timeout;
	a->retry_cnt = (uint8_t)m->retry_cnt;
	a->rnr_retry = (uint8_t)m->rnr_retry;
	a->alt_port_num = (uint8_t)m->alt_port_num;
	a->alt_timeout = (uint8_t)m->alt_timeout;
	a->rate_limit = m->rate_limit;
}

bool rb_conv_qp_attr_fits(const Rdmabroker__QpAttr *m)
{
	return m->pkey_index <= UINT16_MAX && m->alt_pkey_index <= UINT16_MAX &&
	       m->en_sqd_async_notify <= UINT8_MAX && m->max_rd_atomic <= UINT8_MAX &&
	       m->max_dest_rd_atomic <= UINT8_MAX && m->min_rnr_timer <= UINT8_MAX &&
	       m->port_num <= UINT8_MAX && m->timeout <= UINT8_MAX &&
	       m->retry_cnt <= UINT8_MAX && m->rnr_retry <= UINT8_MAX;
}

/* ------------------------------------------------------------ SRQs */

void rb_conv_srq_attr_to_pb(Rdmabroker__SrqQueryReply *m,
			    const struct ibv_srq_attr *a)
{
	m->max_wr = a->max_wr;
	m->max_sge = a->max_sge;
	m->srq_limit = a->srq_limit;
}

void rb_conv_srq_attr_from_pb(struct ibv_srq_attr *a,
			      const Rdmabroker__SrqQueryReply *m)
{
	a->max_wr = m->max_wr;
	a->max_sge = m->max_sge;
	a->srq_limit = m->srq_limit;
}
