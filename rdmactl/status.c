/* SPDX-License-Identifier: MIT */
/* rdmactl status: the daemon itself (StatusReq) and who we are to it. */
#include "config.h"

#include "rdmactl/rdmactl.h"

void status_usage(FILE *out)
{
	fprintf(out,
		"Usage: rdmactl [OPTIONS] status [show]\n"
		"       rdmactl status help\n"
		"Show rdmabrokerd's version, uptime, clients and devices, and whether\n"
		"you may use its admin requests.\n");
}

static const struct pr_field status_fields[] = {
	{ .key = "daemon_version", .label = "version" },
	{ .key = "proto_version", .label = "protocol" },
	{ .key = "pid", .label = "pid" },
	{ .key = "started_at", .label = "started" },
	{ .key = "uptime_sec", .label = "uptime", .fmt = PR_DURATION },
	{ .key = "clients", .label = "clients" },
	{ .key = "devices", .label = "devices" },
	{ .key = "socket", .label = "socket" },
	{ .key = "config", .label = "config" },
	{ .key = "reloads", .label = "reloads" },
	{ .key = "prefault_pending_bytes", .label = "prefault pending" },
	{ .key = "prefault_done_bytes", .label = "prefault done", .flags = PR_DETAIL },
	{ .key = "admin", .label = "admin" },
	{ .key = "client_id", .label = "session", .flags = PR_DETAIL },
	{ .key = NULL },
};

static const struct pr_layout status_layout = {
	.fields = status_fields, .lines = true,
};

static int status_show(struct rdmactl *rc, int argc, char **argv)
{
	Rdmabroker__Request req = RDMABROKER__REQUEST__INIT;
	Rdmabroker__StatusReq q = RDMABROKER__STATUS_REQ__INIT;
	Rdmabroker__StatusReply *m;
	Rdmabroker__Reply *rep;
	struct json_object *o;
	char err[256];
	int ret;

	if (argc > 0)
		return rdmactl_usage_error(status_usage, "status show: unexpected argument \"%s\"",
					   argv[0]);
	ret = rdmactl_connect(rc);
	if (ret)
		return ret;
	req.body_case = RDMABROKER__REQUEST__BODY_DAEMON_STATUS;
	req.daemon_status = &q;
	ret = rdmactl_call(rc, &req, RDMABROKER__REPLY__BODY_DAEMON_STATUS, &rep,
			   err, sizeof(err));
	if (ret < 0) {
		if (err[0])
			fprintf(stderr, "rdmactl: status: %s\n", err);
		return RDMACTL_FAIL;
	}
	m = rep->daemon_status;
	o = json_object_new_object();
	pr_add_str(o, "daemon_version", m->daemon_version);
	pr_add_int(o, "proto_version", m->proto_version);
	pr_add_int(o, "pid", m->pid);
	pr_add_time(o, "started_at", m->started_at);
	pr_add_u64(o, "uptime_sec", m->uptime_sec);
	pr_add_int(o, "clients", m->clients);
	pr_add_int(o, "devices", m->devices);
	pr_add_str(o, "socket", m->socket_path);
	pr_add_str(o, "config", m->config_path);
	pr_add_u64(o, "reloads", m->reloads);
	if (m->has_prefault_pending_bytes)
		pr_add_u64(o, "prefault_pending_bytes", m->prefault_pending_bytes);
	if (m->has_prefault_done_bytes)
		pr_add_u64(o, "prefault_done_bytes", m->prefault_done_bytes);
	pr_add_bool(o, "admin", rc->rpc.admin);
	pr_add_u64(o, "client_id", rc->rpc.client_id);
	rb_rpc_reply_free(rep);
	return pr_output(rc, o, &status_layout);
}

static const struct rdmactl_cmd status_cmds[] = {
	{ "show", status_show },
	{ NULL, NULL },
};

int status_run(struct rdmactl *rc, int argc, char **argv)
{
	if (argc == 0)
		return status_show(rc, 0, NULL);
	return rdmactl_dispatch(rc, "status command", status_cmds, status_usage,
				argc, argv);
}
