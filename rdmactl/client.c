/* SPDX-License-Identifier: MIT */
/*
 * rdmactl client: the sessions connected to rdmabrokerd (ClientListReq,
 * followed page by page).  The daemon shows a non-admin caller only the
 * clients of its own uid.
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
		"       rdmactl [OPTIONS] client kill PID\n"
		"       rdmactl client help\n"
		"Show the clients connected to rdmabrokerd (only your own unless you are\n"
		"an administrator), or those of process PID; \"kill\" (administrators)\n"
		"disconnects every connection of PID and frees what it held.\n");
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
	if (c->has_proto_version)
		pr_add_int(o, "protocol", c->proto_version);
	if (c->device)
		pr_add_str(o, "device", c->device);
	if (c->cgroup)
		pr_add_str(o, "cgroup", c->cgroup);
	return o;
}

/* With pid PID: each client's objects by type, and its user's limits. */
static const struct pr_layout client_counts_layout = { .fields = NULL, .indent = 4 };

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
	{ .key = "protocol", .label = "protocol", .flags = PR_DETAIL },
	{ .key = "device", .label = "device" },
	{ .key = "cgroup", .label = "cgroup" },
	{ .key = "objects", .sub = &client_counts_layout },	/* pid PID */
	{ .key = "limits", .sub = &client_counts_layout },	/* pid PID */
	{ .key = NULL },
};

static const struct pr_layout client_layout = { .fields = client_fields };



/* Add "objects" (counts by type) and "limits" to the clients of pid. */
static int client_add_details(struct rdmactl *rc, struct json_object *doc,
			      uint32_t pid)
{
	static const char *const types[] = {
		"pd", "mr", "cq", "qp", "srq", "ah", "channel", NULL
	};
	Rdmabroker__Request req = RDMABROKER__REQUEST__INIT;
	Rdmabroker__ResSummaryReq rq = RDMABROKER__RES_SUMMARY_REQ__INIT;
	Rdmabroker__LimitsShowReq lq = RDMABROKER__LIMITS_SHOW_REQ__INIT;
	Rdmabroker__Reply *rep;
	size_t n = json_object_array_length(doc);
	uint8_t cursor[RDMACTL_CURSOR_MAX];
	char err[256];
	bool more;

	/* The daemon's counts of each client of pid, page by page. */
	rq.has_pid = 1;
	rq.pid = pid;
	do {
		const Rdmabroker__ResSummaryReply *m;

		if (res_summary_fetch(rc, &rq, &rep, "client show"))
			return RDMACTL_FAIL;
		m = rep->res_summary;
		for (size_t i = 0; i < n; i++) {
			struct json_object *c = json_object_array_get_idx(doc, i), *v;
			const Rdmabroker__ResSummary *sum = NULL;
			struct json_object *objs;

			json_object_object_get_ex(c, "id", &v);
			for (size_t k = 0; k < m->n_clients && !sum; k++)
				if (m->clients[k]->client_id == (uint64_t)json_object_get_int64(v))
					sum = m->clients[k];
			if (!sum)
				continue;
			objs = json_object_new_object();
			for (const char *const *t = types; *t; t++) {
				int64_t cnt = 0;

				for (size_t k = 0; k < sum->n_counts; k++)
					if (!strcmp(sum->counts[k]->type, *t))
						cnt = (int64_t)sum->counts[k]->count;
				pr_add_int(objs, *t, cnt);
			}
			json_object_object_add(c, "objects", objs);
		}
		more = rdmactl_cursor_next(cursor, m->has_next_cursor,
					   &m->next_cursor, m->n_clients,
					   &rq.has_cursor, &rq.cursor);
		rb_rpc_reply_free(rep);
	} while (more);

	for (size_t i = 0; i < n; i++) {
		struct json_object *c = json_object_array_get_idx(doc, i), *v, *lim;
		const Rdmabroker__Limits *l;

		json_object_object_get_ex(c, "uid", &v);
		lq.has_uid = 1;
		lq.uid = (uint32_t)json_object_get_int64(v);
		req.body_case = RDMABROKER__REQUEST__BODY_LIMITS_SHOW;
		req.limits_show = &lq;
		if (rdmactl_call(rc, &req, RDMABROKER__REPLY__BODY_LIMITS_SHOW, &rep,
				 err, sizeof(err)) < 0)
			continue;	/* another user's, and we are not admin */
		l = rep->limits_show->limits;
		lim = json_object_new_object();
		pr_add_u64(lim, "connections", l->connections);
		pr_add_u64(lim, "pds", l->pds);
		pr_add_u64(lim, "mrs", l->mrs);
		pr_add_u64(lim, "pinned_bytes", l->pinned_bytes);
		pr_add_u64(lim, "cqs", l->cqs);
		pr_add_u64(lim, "cqes", l->cqes);
		pr_add_u64(lim, "qps", l->qps);
		pr_add_u64(lim, "srqs", l->srqs);
		pr_add_u64(lim, "ahs", l->ahs);
		pr_add_u64(lim, "mws", l->mws);
		pr_add_u64(lim, "memory", l->memory);
		pr_add_u64(lim, "cm_ids", l->cm_ids);
		pr_add_u64(lim, "cm_channels", l->cm_channels);
		json_object_object_add(c, "limits", lim);
		rb_rpc_reply_free(rep);
	}
	return RDMACTL_OK;
}

static int client_show(struct rdmactl *rc, int argc, char **argv)
{
	Rdmabroker__Request req = RDMABROKER__REQUEST__INIT;
	Rdmabroker__ClientListReq q = RDMABROKER__CLIENT_LIST_REQ__INIT;
	Rdmabroker__ClientListReply *m;
	Rdmabroker__Reply *rep;
	uint8_t cursor[RDMACTL_CURSOR_MAX];
	struct json_object *doc;
	char err[256];
	bool more;
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
	now = time(NULL);
	doc = json_object_new_array();
	do {
		ret = rdmactl_call(rc, &req, RDMABROKER__REPLY__BODY_CLIENT_LIST,
				   &rep, err, sizeof(err));
		if (ret < 0) {
			if (err[0])
				fprintf(stderr, "rdmactl: client show: %s\n", err);
			json_object_put(doc);
			return RDMACTL_FAIL;
		}
		m = rep->client_list;
		for (size_t i = 0; i < m->n_clients; i++)
			json_object_array_add(doc, client_json(m->clients[i], now));
		more = rdmactl_cursor_next(cursor, m->has_next_cursor,
					   &m->next_cursor, m->n_clients,
					   &q.has_cursor, &q.cursor);
		rb_rpc_reply_free(rep);
	} while (more);
	if (q.has_pid) {
		ret = client_add_details(rc, doc, q.pid);
		if (ret) {
			json_object_put(doc);
			return ret;
		}
		return pr_output(rc, doc, &client_layout);
	}
	return pr_output(rc, doc, &client_layout);
}

static int client_kill(struct rdmactl *rc, int argc, char **argv)
{
	Rdmabroker__Request req = RDMABROKER__REQUEST__INIT;
	Rdmabroker__ClientKillReq q = RDMABROKER__CLIENT_KILL_REQ__INIT;
	Rdmabroker__Reply *rep;
	char err[256];
	int ret;

	if (argc != 1)
		return rdmactl_usage_error(client_usage, "client kill: needs exactly one PID");
	ret = rdmactl_parse_pid(client_usage, "client kill", argv[0], &q.pid);
	if (ret)
		return ret;
	ret = rdmactl_connect(rc);
	if (ret)
		return ret;
	req.body_case = RDMABROKER__REQUEST__BODY_CLIENT_KILL;
	req.client_kill = &q;
	ret = rdmactl_call(rc, &req, RDMABROKER__REPLY__BODY_CLIENT_KILL, &rep, err,
			   sizeof(err));
	if (ret < 0) {
		if (err[0])
			fprintf(stderr, "rdmactl: client kill: %s\n", err);
		return RDMACTL_FAIL;
	}
	if (!rc->json)
		printf("disconnected %u connection(s) of pid %u\n",
		       rep->client_kill->sessions, q.pid);
	rb_rpc_reply_free(rep);
	return RDMACTL_OK;
}

static const struct rdmactl_cmd client_cmds[] = {
	{ "show", client_show },
	{ "kill", client_kill },
	{ NULL, NULL },
};

int client_run(struct rdmactl *rc, int argc, char **argv)
{
	if (argc == 0)
		return client_show(rc, 0, NULL);
	return rdmactl_dispatch(rc, "client command", client_cmds, client_usage,
				argc, argv);
}
