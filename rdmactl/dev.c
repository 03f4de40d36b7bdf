/* SPDX-License-Identifier: MIT */
/* rdmactl dev: devices, their ports and GID tables (DeviceShowReq). */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "rdmactl/rdmactl.h"

void dev_usage(FILE *out)
{
	fprintf(out,
		"Usage: rdmactl [OPTIONS] dev [show [NAME]]\n"
		"       rdmactl [OPTIONS] dev stat [NAME] [qp]\n"
		"       rdmactl dev help\n"
		"Show the devices of rdmabrokerd (or device NAME), their ports and GIDs;\n"
		"-d adds the device limits and more port attributes.  stat shows each\n"
		"device's transport counters (packets, bytes, drops), like rdma statistic;\n"
		"qp adds each QP's (a user sees its own QPs', an admin every one).\n");
}

static struct json_object *dev_attr_json(const Rdmabroker__DeviceAttr *a)
{
	struct json_object *o = json_object_new_object();

	/* ibv_device_attr order and names; fw_ver, the GUIDs and
	 * phys_port_cnt sit in the device object itself. */
#define A_U(f) pr_add_u64(o, #f, a->f)
#define A_I(f) pr_add_int(o, #f, a->f)
	A_U(max_mr_size);
	A_U(page_size_cap);
	A_U(vendor_id);
	A_U(vendor_part_id);
	A_U(hw_ver);
	A_I(max_qp);
	A_I(max_qp_wr);
	A_U(device_cap_flags);
	A_I(max_sge);
	A_I(max_sge_rd);
	A_I(max_cq);
	A_I(max_cqe);
	A_I(max_mr);
	A_I(max_pd);
	A_I(max_qp_rd_atom);
	A_I(max_ee_rd_atom);
	A_I(max_res_rd_atom);
	A_I(max_qp_init_rd_atom);
	A_I(max_ee_init_rd_atom);
	pr_add_str(o, "atomic_cap", names_json(names_atomic_cap, a->atomic_cap,
					       "invalid atomic capability"));
	A_I(max_ee);
	A_I(max_rdd);
	A_I(max_mw);
	A_I(max_raw_ipv6_qp);
	A_I(max_raw_ethy_qp);
	A_I(max_mcast_grp);
	A_I(max_mcast_qp_attach);
	A_I(max_total_mcast_qp_attach);
	A_I(max_ah);
	A_I(max_fmr);
	A_I(max_map_per_fmr);
	A_I(max_srq);
	A_I(max_srq_wr);
	A_I(max_srq_sge);
	A_U(max_pkeys);
	A_U(local_ca_ack_delay);
	/* ibv_device_attr_ex, when the daemon reports them */
#define A_X(f) do { if (a->has_##f) A_U(f); } while (0)
	A_X(device_cap_flags_ex);
	A_X(completion_timestamp_mask);
	A_X(hca_core_clock);
	A_X(max_wq_type_rq);
	A_X(raw_packet_caps);
	A_X(max_dm_size);
#undef A_X
#undef A_I
#undef A_U
	return o;
}

static struct json_object *dev_gid_json(const Rdmabroker__GidEntry *g)
{
	struct json_object *o = json_object_new_object();
	char buf[INET6_ADDRSTRLEN];

	pr_add_int(o, "index", g->index);
	if (g->raw.len != 16 || !inet_ntop(AF_INET6, g->raw.data, buf, sizeof(buf)))
		snprintf(buf, sizeof(buf), "invalid");
	pr_add_str(o, "gid", buf);
	pr_add_str(o, "type", names_json(names_gid_type, g->gid_type,
					 "invalid type"));
	return o;
}

static struct json_object *dev_port_json(const Rdmabroker__PortInfo *p)
{
	const Rdmabroker__PortAttr *a = p->attr;
	struct json_object *o = json_object_new_object();
	struct json_object *gids = json_object_new_array();

	pr_add_int(o, "port", p->port_num);
	pr_add_str(o, "state", names_json(names_port_state, a->state,
					  "invalid state"));
	pr_add_int(o, "max_mtu", names_mtu_bytes(a->max_mtu));
	pr_add_int(o, "active_mtu", names_mtu_bytes(a->active_mtu));
	pr_add_int(o, "gid_tbl_len", a->gid_tbl_len);
	pr_add_u64(o, "port_cap_flags", a->port_cap_flags);
	pr_add_u64(o, "max_msg_sz", a->max_msg_sz);
	pr_add_u64(o, "bad_pkey_cntr", a->bad_pkey_cntr);
	pr_add_u64(o, "qkey_viol_cntr", a->qkey_viol_cntr);
	pr_add_u64(o, "pkey_tbl_len", a->pkey_tbl_len);
	pr_add_u64(o, "lid", a->lid);
	pr_add_u64(o, "sm_lid", a->sm_lid);
	pr_add_u64(o, "lmc", a->lmc);
	pr_add_u64(o, "max_vl_num", a->max_vl_num);
	pr_add_u64(o, "sm_sl", a->sm_sl);
	pr_add_u64(o, "subnet_timeout", a->subnet_timeout);
	pr_add_u64(o, "init_type_reply", a->init_type_reply);
	pr_add_str(o, "active_width", names_json(names_width, a->active_width,
						 "invalid width"));
	pr_add_str(o, "active_speed", names_json(names_speed, a->active_speed,
						 "invalid speed"));
	pr_add_str(o, "phys_state", names_json(names_phys_state, a->phys_state,
					       "invalid physical state"));
	pr_add_str(o, "link_layer", names_json(names_link_layer, a->link_layer,
					       "Unknown"));
	pr_add_u64(o, "flags", a->flags);
	pr_add_u64(o, "port_cap_flags2", a->port_cap_flags2);
	for (size_t i = 0; i < p->n_gids; i++)
		json_object_array_add(gids, dev_gid_json(p->gids[i]));
	json_object_object_add(o, "gids", gids);
	return o;
}

static struct json_object *dev_json(const Rdmabroker__DeviceInfo *d)
{
	const Rdmabroker__DeviceSummary *s = d->summary;
	struct json_object *o = json_object_new_object();
	struct json_object *ports = json_object_new_array();

	pr_add_int(o, "index", s->index);
	pr_add_str(o, "name", s->name);
	pr_add_str(o, "driver", s->driver);
	pr_add_str(o, "node_type", names_json(names_node_type, s->node_type,
					      "unknown"));
	pr_add_str(o, "transport", names_json(names_transport, s->transport_type,
					      "invalid transport"));
	pr_add_str(o, "fw_ver", d->attr->fw_ver);
	pr_add_guid(o, "node_guid", s->node_guid);
	pr_add_guid(o, "sys_image_guid", d->attr->sys_image_guid);
	pr_add_int(o, "phys_port_cnt", s->phys_port_cnt);
	json_object_object_add(o, "attr", dev_attr_json(d->attr));
	for (size_t i = 0; i < d->n_ports; i++)
		json_object_array_add(ports, dev_port_json(d->ports[i]));
	json_object_object_add(o, "ports", ports);
	return o;
}

/* Text: one line per device, port and GID, like `rdma dev` and `rdma link`. */
static const struct pr_field dev_gid_fields[] = {
	{ .key = "index", .label = "gid" },
	{ .key = "gid" },
	{ .key = "type", .label = "type", .names = names_gid_type },
	{ .key = NULL },
};

static const struct pr_layout dev_gid_layout = {
	.fields = dev_gid_fields, .indent = 4,
};

static const struct pr_field dev_port_fields[] = {
	{ .key = "port", .label = "port" },
	{ .key = "state", .label = "state", .names = names_port_state },
	{ .key = "phys_state", .label = "physical_state", .names = names_phys_state },
	{ .key = "active_mtu", .label = "mtu" },
	{ .key = "link_layer", .label = "link_layer", .names = names_link_layer },
	{ .key = "max_mtu", .label = "max_mtu", .flags = PR_DETAIL },
	{ .key = "active_width", .label = "width", .flags = PR_DETAIL, .names = names_width },
	{ .key = "active_speed", .label = "speed", .flags = PR_DETAIL, .names = names_speed },
	{ .key = "lid", .label = "lid", .flags = PR_DETAIL },
	{ .key = "sm_lid", .label = "sm_lid", .flags = PR_DETAIL },
	{ .key = "lmc", .label = "lmc", .flags = PR_DETAIL },
	{ .key = "gid_tbl_len", .label = "gid_tbl_len", .flags = PR_DETAIL },
	{ .key = "pkey_tbl_len", .label = "pkey_tbl_len", .flags = PR_DETAIL },
	{ .key = "max_msg_sz", .label = "max_msg_sz", .flags = PR_DETAIL },
	{ .key = "port_cap_flags", .label = "cap_flags", .flags = PR_DETAIL, .fmt = PR_HEX },
	{ .key = "gids", .sub = &dev_gid_layout },
	{ .key = NULL },
};

static const struct pr_layout dev_port_layout = {
	.fields = dev_port_fields, .indent = 4, .per_line = 5,
};

/* -d: every limit, "name value", six to a line. */
static const struct pr_layout dev_attr_layout = {
	.fields = NULL, .indent = 4, .per_line = 6,
};

static const struct pr_field dev_fields[] = {
	{ .key = "index", .flags = PR_COLON },
	{ .key = "name", .flags = PR_COLON },
	{ .key = "node_type", .label = "node_type", .names = names_node_type },
	{ .key = "transport", .label = "transport", .names = names_transport },
	{ .key = "fw_ver", .label = "fw" },
	{ .key = "node_guid", .label = "node_guid" },
	{ .key = "sys_image_guid", .label = "sys_image_guid" },
	{ .key = "driver", .label = "driver", .flags = PR_DETAIL },
	{ .key = "phys_port_cnt", .label = "ports", .flags = PR_DETAIL },
	{ .key = "attr", .flags = PR_DETAIL, .sub = &dev_attr_layout },
	{ .key = "ports", .sub = &dev_port_layout },
	{ .key = NULL },
};

static const struct pr_layout dev_layout = { .fields = dev_fields };

/*
 * What dev show and dev stat share: the optional device NAME (stored in
 * *name, the request's own field), the call, and its errors on stderr.
 * req carries its body already.
 */
static int dev_request(struct rdmactl *rc, const char *verb, int argc, char **argv,
		       Rdmabroker__Request *req, char **name, int reply_case,
		       Rdmabroker__Reply **rep)
{
	char err[256];
	int ret;

	if (argc > 1)
		return rdmactl_usage_error(dev_usage, "dev %s: unexpected argument \"%s\"",
					   verb, argv[1]);
	if (argc == 1)
		*name = argv[0];
	ret = rdmactl_connect(rc);
	if (ret)
		return ret;
	ret = rdmactl_call(rc, req, reply_case, rep, err, sizeof(err));
	if (ret == -ENODEV && *name) {
		fprintf(stderr, "rdmactl: device %s not found\n", *name);
		return RDMACTL_FAIL;
	}
	if (ret < 0) {
		if (err[0])
			fprintf(stderr, "rdmactl: dev %s: %s\n", verb, err);
		return RDMACTL_FAIL;
	}
	return 0;
}

static int dev_show(struct rdmactl *rc, int argc, char **argv)
{
	Rdmabroker__Request req = RDMABROKER__REQUEST__INIT;
	Rdmabroker__DeviceShowReq q = RDMABROKER__DEVICE_SHOW_REQ__INIT;
	Rdmabroker__DeviceShowReply *m;
	Rdmabroker__Reply *rep;
	struct json_object *doc;
	int ret;

	req.body_case = RDMABROKER__REQUEST__BODY_DEVICE_SHOW;
	req.device_show = &q;
	ret = dev_request(rc, "show", argc, argv, &req, &q.name,
			  RDMABROKER__REPLY__BODY_DEVICE_SHOW, &rep);
	if (ret)
		return ret;
	m = rep->device_show;
	doc = json_object_new_array();
	for (size_t i = 0; i < m->n_devices; i++)
		json_object_array_add(doc, dev_json(m->devices[i]));
	rb_rpc_reply_free(rep);
	return pr_output(rc, doc, &dev_layout);
}

/*
 * dev stat: the transport counters (TransportStatReq).  Their names are
 * the driver's, so the text form is written here, one line per device
 * as `rdma statistic` writes it: "NAME: counter value counter value ...".
 * With a last argument "qp", each QP's too, a line each:
 * "NAME qp QPN pid PID: counter value ...", and in JSON a "qps" array.
 */
static int dev_stat(struct rdmactl *rc, int argc, char **argv)
{
	Rdmabroker__Request req = RDMABROKER__REQUEST__INIT;
	Rdmabroker__TransportStatReq q = RDMABROKER__TRANSPORT_STAT_REQ__INIT;
	Rdmabroker__TransportStatReply *m;
	Rdmabroker__Reply *rep;
	struct json_object *doc;
	int ret;

	req.body_case = RDMABROKER__REQUEST__BODY_TRANSPORT_STAT;
	req.transport_stat = &q;
	if (argc > 0 && !strcmp(argv[argc - 1], "qp")) {
		q.has_qps = q.qps = 1;
		argc--;
	}
	ret = dev_request(rc, "stat", argc, argv, &req, &q.name,
			  RDMABROKER__REPLY__BODY_TRANSPORT_STAT, &rep);
	if (ret)
		return ret;
	m = rep->transport_stat;
	doc = json_object_new_array();
	for (size_t i = 0; i < m->n_devices; i++) {
		const Rdmabroker__TransportStatDevice *e = m->devices[i];
		struct json_object *o = json_object_new_object();
		struct json_object *c = json_object_new_object();

		pr_add_str(o, "name", e->name);
		for (size_t k = 0; k < e->n_counters; k++)
			pr_add_u64(c, e->counters[k]->name, e->counters[k]->value);
		json_object_object_add(o, "counters", c);
		if (q.qps) {
			struct json_object *qa = json_object_new_array();

			for (size_t j = 0; j < e->n_qps; j++) {
				const Rdmabroker__TransportStatQp *p = e->qps[j];
				struct json_object *qo = json_object_new_object();
				struct json_object *qc = json_object_new_object();

				pr_add_u64(qo, "qp_num", p->qp_num);
				pr_add_u64(qo, "pid", p->pid);
				for (size_t k = 0; k < p->n_counters; k++)
					pr_add_u64(qc, p->counters[k]->name, p->counters[k]->value);
				json_object_object_add(qo, "counters", qc);
				json_object_array_add(qa, qo);
			}
			json_object_object_add(o, "qps", qa);
			json_object_object_add(o, "qps_truncated",
					       json_object_new_boolean(e->qps_truncated));
		}
		json_object_array_add(doc, o);
		if (rc->json)
			continue;
		printf("%s:", e->name);
		for (size_t k = 0; k < e->n_counters; k++)
			printf(" %s %" PRIu64, e->counters[k]->name, e->counters[k]->value);
		printf("\n");
		for (size_t j = 0; q.qps && j < e->n_qps; j++) {
			const Rdmabroker__TransportStatQp *p = e->qps[j];

			printf("%s qp %" PRIu32 " pid %" PRIu32 ":", e->name, p->qp_num, p->pid);
			for (size_t k = 0; k < p->n_counters; k++)
				printf(" %s %" PRIu64, p->counters[k]->name, p->counters[k]->value);
			printf("\n");
		}
		if (e->qps_truncated)
			printf("%s qp ...: more QPs than one reply holds\n", e->name);
	}
	rb_rpc_reply_free(rep);
	if (!rc->json) {
		json_object_put(doc);
		return fflush(stdout) || ferror(stdout) ? RDMACTL_FAIL : RDMACTL_OK;
	}
	return pr_output(rc, doc, NULL);
}

static const struct rdmactl_cmd dev_cmds[] = {
	{ "show", dev_show },
	{ "stat", dev_stat },
	{ NULL, NULL },
};

int dev_run(struct rdmactl *rc, int argc, char **argv)
{
	if (argc == 0)
		return dev_show(rc, 0, NULL);
	return rdmactl_dispatch(rc, "dev command", dev_cmds, dev_usage, argc, argv);
}
