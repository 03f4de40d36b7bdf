/* SPDX-License-Identifier: MIT */
/*
 * proto/conv.c, one round trip per type: a verbs struct with a distinct
 * value in every field it carries goes to its message, through the wire
 * (packed and unpacked, as the peer sees it) and back, and must come back
 * equal; absent optional fields give their defaults; the _fits checks
 * refuse what would not fit.  No daemon; plain checks, no test library.
 */
#include "config.h"

#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/conv.h"

#include "tests/lib/check.h"

/* Pack m and unpack it again with its own descriptor. */
static ProtobufCMessage *wire(const ProtobufCMessage *m)
{
	size_t len = protobuf_c_message_get_packed_size(m);
	uint8_t *buf = malloc(len ? len : 1);
	ProtobufCMessage *out;

	protobuf_c_message_pack(m, buf);
	out = protobuf_c_message_unpack(m->descriptor, NULL, len, buf);
	free(buf);
	if (!out) {
		printf("FAIL: %s does not unpack\n", m->descriptor->name);
		exit(1);
	}
	return out;
}

/* A different value for each field: field number n, within mask. */
#define V(n, mask)	((uint64_t)(0x5a5a5a5a5a5a5a00ull + (n) * 0x01010101ull) & (mask))

static void test_device_attr(void)
{
	struct ibv_device_attr_ex x, y;
	struct ibv_device_attr *a = &x.orig_attr;
	Rdmabroker__DeviceAttr m = RDMABROKER__DEVICE_ATTR__INIT, *u;

	memset(&x, 0, sizeof(x));
	snprintf(a->fw_ver, sizeof(a->fw_ver), "1.2.3-test");
	a->node_guid = V(2, ~0ull);
	a->sys_image_guid = V(3, ~0ull);
	a->max_mr_size = V(4, ~0ull);
	a->page_size_cap = V(5, ~0ull);
	a->vendor_id = V(6, 0xffffffff);
	a->vendor_part_id = V(7, 0xffffffff);
	a->hw_ver = V(8, 0xffffffff);
	a->max_qp = V(9, 0x7fffffff);
	a->max_qp_wr = V(10, 0x7fffffff);
	a->device_cap_flags = V(11, 0xffffffff);
	a->max_sge = V(12, 0x7fffffff);
	a->max_sge_rd = V(13, 0x7fffffff);
	a->max_cq = V(14, 0x7fffffff);
	a->max_cqe = V(15, 0x7fffffff);
	a->max_mr = V(16, 0x7fffffff);
	a->max_pd = V(17, 0x7fffffff);
	a->max_qp_rd_atom = V(18, 0x7fffffff);
	a->max_ee_rd_atom = V(19, 0x7fffffff);
	a->max_res_rd_atom = V(20, 0x7fffffff);
	a->max_qp_init_rd_atom = V(21, 0x7fffffff);
	a->max_ee_init_rd_atom = V(22, 0x7fffffff);
	a->atomic_cap = IBV_ATOMIC_GLOB;
	a->max_ee = V(24, 0x7fffffff);
	a->max_rdd = V(25, 0x7fffffff);
	a->max_mw = V(26, 0x7fffffff);
	a->max_raw_ipv6_qp = V(27, 0x7fffffff);
	a->max_raw_ethy_qp = V(28, 0x7fffffff);
	a->max_mcast_grp = V(29, 0x7fffffff);
	a->max_mcast_qp_attach = V(30, 0x7fffffff);
	a->max_total_mcast_qp_attach = V(31, 0x7fffffff);
	a->max_ah = V(32, 0x7fffffff);
	a->max_fmr = V(33, 0x7fffffff);
	a->max_map_per_fmr = V(34, 0x7fffffff);
	a->max_srq = V(35, 0x7fffffff);
	a->max_srq_wr = V(36, 0x7fffffff);
	a->max_srq_sge = V(37, 0x7fffffff);
	a->max_pkeys = V(38, 0xffff);
	a->local_ca_ack_delay = V(39, 0xff);
	a->phys_port_cnt = V(40, 0xff);
	x.device_cap_flags_ex = V(64, ~0ull);
	x.completion_timestamp_mask = V(65, ~0ull);
	x.hca_core_clock = V(66, ~0ull);
	x.max_wq_type_rq = V(67, 0xffffffff);
	x.raw_packet_caps = V(68, 0xffffffff);
	x.max_dm_size = V(69, ~0ull);
	x.phys_port_cnt_ex = V(70, 0xffffffff);

	rb_conv_device_attr_to_pb(&m, &x);
	u = (Rdmabroker__DeviceAttr *)wire(&m.base);
	rb_conv_device_attr_from_pb(&y, u);
	CHECK(!memcmp(&x, &y, sizeof(x)), "ibv_device_attr_ex changed on the round trip");
	CHECK(u->node_guid == be64toh(a->node_guid), "GUIDs travel in host order");
	protobuf_c_message_free_unpacked(&u->base, NULL);

	/* A peer that sends no extended fields: the base ones stand in. */
	rdmabroker__device_attr__init(&m);
	m.has_device_cap_flags = m.has_phys_port_cnt = 1;
	m.device_cap_flags = 0x1234;
	m.phys_port_cnt = 3;
	rb_conv_device_attr_from_pb(&y, &m);
	CHECK(y.device_cap_flags_ex == 0x1234 && y.phys_port_cnt_ex == 3,
	      "defaults of absent extended fields: %#llx %u",
	      (unsigned long long)y.device_cap_flags_ex, y.phys_port_cnt_ex);
	CHECK(y.orig_attr.fw_ver[0] == '\0' && y.orig_attr.max_qp == 0,
	      "absent fields are 0 or empty");
}

static void test_port_attr(void)
{
	struct ibv_port_attr a, b;
	Rdmabroker__PortAttr m = RDMABROKER__PORT_ATTR__INIT, *u;

	memset(&a, 0, sizeof(a));
	a.state = IBV_PORT_ACTIVE;
	a.max_mtu = IBV_MTU_4096;
	a.active_mtu = IBV_MTU_1024;
	a.gid_tbl_len = V(4, 0x7fffffff);
	a.port_cap_flags = V(5, 0xffffffff);
	a.max_msg_sz = V(6, 0xffffffff);
	a.bad_pkey_cntr = V(7, 0xffffffff);
	a.qkey_viol_cntr = V(8, 0xffffffff);
	a.pkey_tbl_len = V(9, 0xffff);
	a.lid = V(10, 0xffff);
	a.sm_lid = V(11, 0xffff);
	a.lmc = V(12, 0xff);
	a.max_vl_num = V(13, 0xff);
	a.sm_sl = V(14, 0xff);
	a.subnet_timeout = V(15, 0xff);
	a.init_type_reply = V(16, 0xff);
	a.active_width = V(17, 0xff);
	a.active_speed = V(18, 0xff);
	a.phys_state = V(19, 0xff);
	a.link_layer = IBV_LINK_LAYER_ETHERNET;
	a.flags = V(21, 0xff);
	a.port_cap_flags2 = V(22, 0xffff);
	rb_conv_port_attr_to_pb(&m, &a);
	u = (Rdmabroker__PortAttr *)wire(&m.base);
	rb_conv_port_attr_from_pb(&b, u);
	CHECK(!memcmp(&a, &b, sizeof(a)), "ibv_port_attr changed on the round trip");
	protobuf_c_message_free_unpacked(&u->base, NULL);
}

static void test_gid(void)
{
	Rdmabroker__GidEntry m = RDMABROKER__GID_ENTRY__INIT, *u;
	union ibv_gid g, h;
	uint8_t raw[16];
	uint32_t type = 0;

	for (int i = 0; i < 16; i++)
		g.raw[i] = (uint8_t)(0xf0 + i);
	rb_conv_gid_to_pb(&m, raw, 7, &g, IBV_GID_TYPE_ROCE_V2);
	u = (Rdmabroker__GidEntry *)wire(&m.base);
	memset(&h, 0, sizeof(h));
	CHECK(rb_conv_gid_from_pb(&h, &type, u) == 0, "GID from its message");
	CHECK(!memcmp(&g, &h, sizeof(g)) && type == IBV_GID_TYPE_ROCE_V2 && u->index == 7,
	      "GID entry changed on the round trip");
	u->raw.len = 15;
	CHECK(rb_conv_gid_from_pb(&h, &type, u) == -EIO, "a 15-byte GID is refused");
	protobuf_c_message_free_unpacked(&u->base, NULL);
}

static void fill_ah(struct ibv_ah_attr *a, int seed)
{
	memset(a, 0, sizeof(*a));
	for (int i = 0; i < 16; i++)
		a->grh.dgid.raw[i] = (uint8_t)(seed * 16 + i);
	a->grh.flow_label = V(seed + 2, 0xfffff);
	a->grh.sgid_index = V(seed + 3, 0xff);
	a->grh.hop_limit = V(seed + 4, 0xff);
	a->grh.traffic_class = V(seed + 5, 0xff);
	a->dlid = V(seed + 6, 0xffff);
	a->sl = V(seed + 7, 0xf);
	a->src_path_bits = V(seed + 8, 0xff);
	a->static_rate = V(seed + 9, 0xff);
	a->is_global = 1;
	a->port_num = V(seed + 11, 0xff);
}

static void test_ah_attr(void)
{
	Rdmabroker__AhAttr m = RDMABROKER__AH_ATTR__INIT, *u;
	struct ibv_ah_attr a, b;
	uint8_t gid[16];

	fill_ah(&a, 1);
	rb_conv_ah_attr_to_pb(&m, gid, &a);
	u = (Rdmabroker__AhAttr *)wire(&m.base);
	CHECK(rb_conv_ah_attr_fits(u), "an address vector from ibv_ah_attr fits");
	rb_conv_ah_attr_from_pb(&b, u);
	CHECK(!memcmp(&a, &b, sizeof(a)), "ibv_ah_attr changed on the round trip");

	/* Only the bits a device uses: 20 of flow label, 4 of SL. */
	a.grh.flow_label = ~0u;
	rb_conv_ah_attr_to_pb(&m, gid, &a);
	CHECK(m.flow_label == 0xfffff, "flow label masked to 20 bits: %#x", m.flow_label);
	u->sl = 0x1f;
	rb_conv_ah_attr_from_pb(&b, u);
	CHECK(b.sl == 0xf, "SL masked to 4 bits: %#x", b.sl);
	u->dlid = 0x10000;
	CHECK(!rb_conv_ah_attr_fits(u), "a dlid past 16 bits does not fit");
	u->dlid = 1;
	u->dgid.len = 4;
	CHECK(!rb_conv_ah_attr_fits(u), "a 4-byte dgid does not fit");
	protobuf_c_message_free_unpacked(&u->base, NULL);
}

static void test_qp(void)
{
	Rdmabroker__QpAttr m = RDMABROKER__QP_ATTR__INIT, *u;
	Rdmabroker__QpCap mc = RDMABROKER__QP_CAP__INIT, *uc;
	struct rb_conv_qp_attr_buf buf;
	struct ibv_qp_attr a, b;
	struct ibv_qp_cap c, d;

	c = (struct ibv_qp_cap){ .max_send_wr = 1001, .max_recv_wr = 1002,
		.max_send_sge = 3, .max_recv_sge = 4, .max_inline_data = 220 };
	rb_conv_qp_cap_to_pb(&mc, &c);
	uc = (Rdmabroker__QpCap *)wire(&mc.base);
	memset(&d, 0, sizeof(d));
	rb_conv_qp_cap_from_pb(&d, uc);
	CHECK(!memcmp(&c, &d, sizeof(c)), "ibv_qp_cap changed on the round trip");
	protobuf_c_message_free_unpacked(&uc->base, NULL);

	memset(&a, 0, sizeof(a));
	a.qp_state = IBV_QPS_RTS;
	a.cur_qp_state = IBV_QPS_RTR;
	a.path_mtu = IBV_MTU_2048;
	a.path_mig_state = IBV_MIG_ARMED;
	a.qkey = V(5, 0xffffffff);
	a.rq_psn = V(6, 0xffffff);
	a.sq_psn = V(7, 0xffffff);
	a.dest_qp_num = V(8, 0xffffff);
	a.qp_access_flags = IBV_ACCESS_REMOTE_WRITE | IBV_ACCESS_REMOTE_READ;
	a.cap = c;
	fill_ah(&a.ah_attr, 2);
	fill_ah(&a.alt_ah_attr, 3);
	a.pkey_index = V(13, 0xffff);
	a.alt_pkey_index = V(14, 0xffff);
	a.en_sqd_async_notify = 1;
	a.sq_draining = 1;
	a.max_rd_atomic = V(17, 0xff);
	a.max_dest_rd_atomic = V(18, 0xff);
	a.min_rnr_timer = V(19, 0x1f);
	a.port_num = V(20, 0xff);
	a.timeout = V(21, 0x1f);
	a.retry_cnt = 7;
	a.rnr_retry = 6;
	a.alt_port_num = V(24, 0xff);
	a.alt_timeout = V(25, 0x1f);
	a.rate_limit = V(26, 0xffffffff);
	rb_conv_qp_attr_to_pb(&m, &buf, &a);
	u = (Rdmabroker__QpAttr *)wire(&m.base);
	CHECK(rb_conv_qp_attr_fits(u), "a QpAttr from ibv_qp_attr fits");
	rb_conv_qp_attr_from_pb(&b, u);
	CHECK(!memcmp(&a, &b, sizeof(a)), "ibv_qp_attr changed on the round trip");
	u->pkey_index = 0x10000;
	CHECK(!rb_conv_qp_attr_fits(u), "a pkey_index past 16 bits does not fit");
	u->pkey_index = 0;
	u->retry_cnt = 0x100;
	CHECK(!rb_conv_qp_attr_fits(u), "a retry_cnt past 8 bits does not fit");
	protobuf_c_message_free_unpacked(&u->base, NULL);
}

static void test_srq_attr(void)
{
	Rdmabroker__SrqQueryReply m = RDMABROKER__SRQ_QUERY_REPLY__INIT, *u;
	struct ibv_srq_attr a = { .max_wr = 4096, .max_sge = 5, .srq_limit = 17 }, b;

	rb_conv_srq_attr_to_pb(&m, &a);
	u = (Rdmabroker__SrqQueryReply *)wire(&m.base);
	memset(&b, 0, sizeof(b));
	rb_conv_srq_attr_from_pb(&b, u);
	CHECK(!memcmp(&a, &b, sizeof(a)), "ibv_srq_attr changed on the round trip");
	protobuf_c_message_free_unpacked(&u->base, NULL);
}

int main(void)
{
	test_device_attr();
	test_port_attr();
	test_gid();
	test_ah_attr();
	test_qp();
	test_srq_attr();
	printf("conv: %d checks, %d failed\n", checks, failures);
	return failures ? 1 : 0;
}
