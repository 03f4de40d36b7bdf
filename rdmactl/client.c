/* SPDX-License-Identifier: MIT */
/*
 * rdmactl client: the sessions connected to rdmabrokerd (ClientListReq).
 * The daemon shows a non-admin caller only the clients of its own uid.
 */
#include "config.h"

#include <errno.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rdmactl/rdmactl.h"

void client_usage(FILE *out)
{
	fprintf(out,
		"Usage: rdmactl [OPTIONS] client [show [pid PID]]\n"
		"       rdmactl client help\n"
		"Show the clients connected to rdmabrokerd (only your own unless you are\n"
		"an administrator), or those of process PID.\n");
}

static struct json_object *client_json(const Rdmabroker__ClientInfo *c,
				       time_t now)
{
	struct json_object *o = json_object_new_object();
	struct passwd *pw = getpwuid(c->uid);

	pr_add_u64(o, "id", c->id);
	pr_add_int(o, "pid", c->pid);
	pr_add_int(o, "uid", c->uid);
	if (pw)
		pr_add_str(o, "user", pw->pw_name);
	pr_add_int(o, "gid", c->gid);
	pr_add_str(o, "comm", c->comm);
	pr_add_time(o, "connected_since", c->connected_since);
	pr_add_int(o, "age_sec", (uint64_t)now > c->connected_since ?
		   (int64_t)((uint64_t)now - c->connected_since) : 0);
	if (c->client_name)
		pr_add_str(o, "client_name", c->client_name);
	if (c->client_version)
		pr_add_str(o, "client_version", c->client_version);
	if (c->device)
		pr_add_str(o, "device", c->device);
	return o;
}

static const struct pr_field client_fields[] = {
	{ .key = "id", .label = "client" },
	{ .key = "pid", .label = "pid" },
	{ .key = "uid", .label = "uid" },
	{ .key = "user", .label = "user" },
	{ .key = "gid", .label = "gid", .flags = PR_DETAIL },
	{ .key = "comm", .label = "comm" },
	{ .key = "connected_since", .label = "since" },
	{ .key = "age_sec", .label = "age", .fmt = PR_DURATION },
	{ .key = "client_name", .label = "name" },
	{ .key = "client_version", .label = "version" },
	{ .key = "device", .label = "device" },
	{ .key = NULL },
};

static const struct pr_layout client_layout = { .fields = client_fields };

static int client_show(struct rdmactl *rc, int argc, char **argv)
{
	Rdmabroker__Request req = RDMABROKER__REQUEST__INIT;
	Rdmabroker__ClientListReq q = RDMABROKER__CLIENT_LIST_REQ__INIT;
	Rdmabroker__ClientListReply *m;
	Rdmabroker__Reply *rep;
	struct json_object *doc;
	char err[256];
	time_t now;
	int ret;

	if (argc > 0) {
		if (strcmp(argv[0], "pid"))
			return rdmactl_usage_error(client_usage, "client show: unknown filter \"%s\"",
						   argv[0]);
		if (argc < 2)
			return rdmactl_usage_error(client_usage, "client show: pid needs a value");
		ret = rdmactl_parse_pid(client_usage, "client show", argv[1], &q.pid);
		if (ret)
			return ret;
		if (argc > 2)
			return rdmactl_usage_error(client_usage, "client show: unexpected argument \"%s\"",
						   argv[2]);
		q.has_pid = 1;
	}
	ret = rdmactl_connect(rc);
	if (ret)
		return ret;
	req.body_case = RDMABROKER__REQUEST__BODY_CLIENT_LIST;
	req.client_list = &q;
	ret = rdmactl_call(rc, &req, RDMABROKER__REPLY__BODY_CLIENT_LIST, &rep,
			   err, sizeof(err));
	if (ret < 0) {
		if (err[0])
			fprintf(stderr, "rdmactl: client show: %s\n", err);
		return RDMACTL_FAIL;
	}
	m = rep->client_list;
	now = time(NULL);
	doc = json_object_new_array();
	for (size_t i = 0; i < m->n_clients; i++)
		json_object_array_add(doc, client_json(m->clients[i], now));
	rb_rpc_reply_free(rep);
	return pr_output(rc, doc, &client_layout);
}

static const struct rdmactl_cmd client_cmds[] = {
	{ "show", client_show },
	{ NULL, NULL },
};

int client_run(struct rdmactl *rc, int argc, char **argv)
{
	if (argc == 0)
		return client_show(rc, 0, NULL);
	return rdmactl_dispatch(rc, "client command", client_cmds, client_usage,
				argc, argv);
}
