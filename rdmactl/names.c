/* SPDX-License-Identifier: MIT */
/*
 * Enum names.  JSON uses the wording of ibv_devinfo and libibverbs'
 * ibv_*_str() so scripts can compare with them; text uses the short forms
 * of iproute2's rdma tool.  Written out here: rdmactl does not link
 * libibverbs.
 */
#include "config.h"

#include <string.h>

#include "rdmactl/rdmactl.h"

/* enum ibv_node_type, ibv_node_type_str() */
const struct rb_name names_node_type[] = {
	{ 1, "channel adapter", "ca" },
	{ 2, "switch", "switch" },
	{ 3, "router", "router" },
	{ 4, "RDMA NIC", "rnic" },
	{ 5, "usNIC", "usnic" },
	{ 6, "usNIC UDP", "usnic_udp" },
	{ 7, "unspecified", "unspecified" },
	{ 0, NULL, NULL },
};

/* enum ibv_transport_type, ibv_devinfo's transport_str() */
const struct rb_name names_transport[] = {
	{ 0, "InfiniBand", "ib" },
	{ 1, "iWARP", "iwarp" },
	{ 2, "usNIC", "usnic" },
	{ 3, "usNIC UDP", "usnic_udp" },
	{ 4, "unspecified", "unspecified" },
	{ 0, NULL, NULL },
};

/* enum ibv_port_state, ibv_port_state_str() */
const struct rb_name names_port_state[] = {
	{ 0, "PORT_NOP", "NOP" },
	{ 1, "PORT_DOWN", "DOWN" },
	{ 2, "PORT_INIT", "INIT" },
	{ 3, "PORT_ARMED", "ARMED" },
	{ 4, "PORT_ACTIVE", "ACTIVE" },
	{ 5, "PORT_ACTIVE_DEFER", "ACTIVE_DEFER" },
	{ 0, NULL, NULL },
};

/* ibv_port_attr.phys_state, ibv_devinfo's port_phy_state_str() */
const struct rb_name names_phys_state[] = {
	{ 1, "SLEEP", "SLEEP" },
	{ 2, "POLLING", "POLLING" },
	{ 3, "DISABLED", "DISABLED" },
	{ 4, "PORT_CONFIGURATION TRAINNING", "PORT_CONFIGURATION_TRAINING" },
	{ 5, "LINK_UP", "LINK_UP" },
	{ 6, "LINK_ERROR_RECOVERY", "LINK_ERROR_RECOVERY" },
	{ 7, "PHY TEST", "PHY_TEST" },
	{ 0, NULL, NULL },
};

/* IBV_LINK_LAYER_*, ibv_devinfo's link_layer_str() */
const struct rb_name names_link_layer[] = {
	{ 0, "InfiniBand", "InfiniBand" },	/* unspecified */
	{ 1, "InfiniBand", "InfiniBand" },
	{ 2, "Ethernet", "Ethernet" },
	{ 0, NULL, NULL },
};

/* enum ibv_gid_type, as ibv_devinfo prints it after a GID */
const struct rb_name names_gid_type[] = {
	{ 0, "IB", "IB" },
	{ 1, "RoCE v1", "RoCE v1" },
	{ 2, "RoCE v2", "RoCE v2" },
	{ 0, NULL, NULL },
};

/* enum ibv_atomic_cap, ibv_devinfo's atomic_cap_str() */
const struct rb_name names_atomic_cap[] = {
	{ 0, "ATOMIC_NONE", "none" },
	{ 1, "ATOMIC_HCA", "hca" },
	{ 2, "ATOMIC_GLOB", "glob" },
	{ 0, NULL, NULL },
};

/* ibv_port_attr.active_width, ibv_devinfo's width_str() + "X" */
const struct rb_name names_width[] = {
	{ 1, "1X", "1X" },
	{ 2, "4X", "4X" },
	{ 4, "8X", "8X" },
	{ 8, "12X", "12X" },
	{ 16, "2X", "2X" },
	{ 0, NULL, NULL },
};

/* ibv_port_attr.active_speed, ibv_devinfo's speed_str() */
const struct rb_name names_speed[] = {
	{ 1, "2.5 Gbps", "2.5Gbps" },
	{ 2, "5.0 Gbps", "5.0Gbps" },
	{ 4, "10.0 Gbps", "10.0Gbps" },
	{ 8, "10.0 Gbps", "10.0Gbps" },
	{ 16, "14.0 Gbps", "14.0Gbps" },
	{ 32, "25.0 Gbps", "25.0Gbps" },
	{ 64, "50.0 Gbps", "50.0Gbps" },
	{ 128, "100.0 Gbps", "100.0Gbps" },
	{ 0, NULL, NULL },
};

const char *names_json(const struct rb_name *t, uint32_t val,
		       const char *dflt)
{
	for (; t->json; t++)
		if (t->val == val)
			return t->json;
	return dflt;
}

const char *names_text(const struct rb_name *t, const char *json)
{
	for (; t->json; t++)
		if (!strcmp(t->json, json))
			return t->text;
	return json;
}

unsigned int names_mtu_bytes(uint32_t mtu)
{
	/* IBV_MTU_256 = 1 ... IBV_MTU_4096 = 5 */
	return mtu >= 1 && mtu <= 5 ? 128u << mtu : 0;
}
