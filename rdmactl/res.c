/* SPDX-License-Identifier: MIT */
/*
 * rdmactl res: the objects clients hold in rdmabrokerd, like iproute2's
 * `rdma res`.  `res` alone shows what the daemon counts per client
 * (ResSummaryReq); `res show` lists them (ResShowReq).  Both follow the
 * daemon's cursors page by page until done.  Non-admins see only their
 * own uid's.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "rdmactl/rdmactl.h"

/* The types the daemon knows, in the order summaries print them. */
static const char *const res_types[] = {
	"pd", "mr", "cq", "qp", "srq", "ah", "mw", "xrcd", "channel",
	"cm_channel", "cm_id", NULL
};

void res_usage(FILE *out)
{
	fprintf(out,
		"Usage: rdmactl [OPTIONS] res\n"
		"       rdmactl [OPTIONS] res show [TYPE] [pid PID] [qpn QPN]\n"
		"                                  [qp-type RC|UC|UD] [state STATE]\n"
		"       rdmactl [OPTIONS] res cm_id [pid PID] [state STATE]\n"
		"       rdmactl res help\n"
		"TYPE := { pd | mr | cq | qp | srq | ah | mw | xrcd | channel |\n"
		"          cm_channel | cm_id }\n"
		"Without a command, count the objects of each client; \"show\" lists\n"
		"them, of one TYPE or of process PID; qpn, qp-type and state select\n"
		"QPs (state also CM ids).  \"cm_id\" is \"show cm_id\": the connection\n"
		"manager's ids with their state, port space and addresses.  Only your\n"
		"own unless you are an administrator.\n");
}

/* QP filters, applied here to what the daemon lists. */
struct res_qp_filter {
	long qpn;			/* -1: any */
	const char *qp_type, *state;	/* NULL: any */
};

static bool res_qp_match(const struct res_qp_filter *f, const Rdmabroker__ResEntry *e)
{
	if (f->qpn < 0 && !f->qp_type && !f->state)
		return true;
	if (!e->has_qp_num && !(e->cm_ps && f->qpn < 0))
		return false;	/* filtering on QP fields selects QPs (and CM ids) */
	return (f->qpn < 0 || (uint32_t)f->qpn == e->qp_num) &&
	       (!f->qp_type || (e->qp_type && !strcasecmp(f->qp_type, e->qp_type))) &&
	       (!f->state || (e->state && !strcasecmp(f->state, e->state)));
}

/* Parses [TYPE] [pid PID] [qpn N] [qp-type T] [state S]; RDMACTL_OK or a usage error. */
static int res_parse_filters(int argc, char **argv, Rdmabroker__ResShowReq *q,
			     struct res_qp_filter *f)
{
	f->qpn = -1;
	f->qp_type = f->state = NULL;
	for (int i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "qpn") || !strcmp(argv[i], "qp-type") ||
		    !strcmp(argv[i], "state")) {
			if (i + 1 >= argc)
				return rdmactl_usage_error(res_usage, "res show: %s needs a value",
							   argv[i]);
			if (!strcmp(argv[i], "qpn")) {
				char *end;
				unsigned long v = strtoul(argv[i + 1], &end, 0);

				if (*end || end == argv[i + 1] || v > 0xffffff)
					return rdmactl_usage_error(res_usage, "res show: invalid qpn \"%s\"",
								   argv[i + 1]);
				f->qpn = (long)v;
			} else if (!strcmp(argv[i], "qp-type")) {
				f->qp_type = argv[i + 1];
			} else {
				f->state = argv[i + 1];
			}
			i++;
			continue;
		}
		if (strcmp(argv[i], "pid") == 0) {
			int ret;

			if (i + 1 >= argc)
				return rdmactl_usage_error(res_usage, "res show: pid needs a value");
			ret = rdmactl_parse_pid(res_usage, "res show", argv[++i], &q->pid);
			if (ret)
				return ret;
			q->has_pid = 1;
			continue;
		}
		for (const char *const *t = res_types; *t; t++)
			if (strcmp(argv[i], *t) == 0 && !q->type)
				q->type = argv[i];
		if (q->type != argv[i])
			return rdmactl_usage_error(res_usage, "res show: unknown argument \"%s\"",
						   argv[i]);
	}
	return RDMACTL_OK;
}

/* One ResShow round trip; NULL (reason printed) on failure. */
static Rdmabroker__ResShowReply *res_fetch(struct rdmactl *rc,
					   Rdmabroker__ResShowReq *q,
					   Rdmabroker__Reply **rep)
{
	Rdmabroker__Request req = RDMABROKER__REQUEST__INIT;
	char err[256];

	if (rdmactl_connect(rc))
		return NULL;
	req.body_case = RDMABROKER__REQUEST__BODY_RES_SHOW;
	req.res_show = q;
	if (rdmactl_call(rc, &req, RDMABROKER__REPLY__BODY_RES_SHOW, rep, err,
			 sizeof(err)) < 0) {
		if (err[0])
			fprintf(stderr, "rdmactl: res: %s\n", err);
		return NULL;
	}
	return (*rep)->res_show;
}

static const struct pr_field res_entry_fields[] = {
	{ .key = "type" },
	{ .key = "handle", .fmt = PR_HEX },
	{ .key = "qpn", .label = "qpn", .fmt = PR_HEX },
	{ .key = "qp_type", .label = "type" },
	{ .key = "state", .label = "state" },
	{ .key = "length", .label = "length" },
	{ .key = "lkey", .label = "lkey", .fmt = PR_HEX },
	{ .key = "mode", .label = "mode" },
	{ .key = "ps", .label = "ps" },
	{ .key = "src", .label = "src" },
	{ .key = "dst", .label = "dst" },
	{ .key = "client", .label = "client" },
	{ .key = "pid", .label = "pid" },
	{ .key = "comm", .label = "comm" },
	{ .key = "dev", .label = "dev" },
	{ .key = "users", .label = "users" },
	{ .key = "uid", .label = "uid", .flags = PR_DETAIL },
	{ .key = "created", .label = "created", .flags = PR_DETAIL },
	{ .key = NULL },
};

static const struct pr_layout res_entry_layout = { .fields = res_entry_fields };

static struct json_object *res_entry_json(const Rdmabroker__ResEntry *e)
{
	struct json_object *o = json_object_new_object();

	pr_add_str(o, "type", e->type);
	pr_add_int(o, "handle", e->handle);
	if (e->cm_ps) {
		pr_add_str(o, "state", e->state ? e->state : "");
		pr_add_str(o, "ps", e->cm_ps);
		pr_add_str(o, "src", e->cm_src ? e->cm_src : "");
		pr_add_str(o, "dst", e->cm_dst ? e->cm_dst : "");
		if (e->has_qp_num)
			pr_add_int(o, "qpn", e->qp_num);
		if (e->qp_type)
			pr_add_str(o, "qp_type", e->qp_type);
	} else if (e->has_qp_num) {
		pr_add_int(o, "qpn", e->qp_num);
		pr_add_str(o, "qp_type", e->qp_type ? e->qp_type : "");
		pr_add_str(o, "state", e->state ? e->state : "");
	}
	if (e->has_length) {
		pr_add_u64(o, "length", e->length);
		pr_add_int(o, "lkey", e->lkey);
		pr_add_str(o, "mode", e->mr_mode ? e->mr_mode : "");
	}
	pr_add_u64(o, "client", e->client_id);
	pr_add_int(o, "pid", e->pid);
	pr_add_int(o, "uid", e->uid);
	pr_add_str(o, "comm", e->comm ? e->comm : "");
	pr_add_str(o, "dev", e->device ? e->device : "");
	pr_add_int(o, "users", e->users);
	pr_add_time(o, "created", e->created);
	return o;
}

static int res_show(struct rdmactl *rc, int argc, char **argv)
{
	Rdmabroker__ResShowReq q = RDMABROKER__RES_SHOW_REQ__INIT;
	Rdmabroker__ResShowReply *m;
	Rdmabroker__Reply *rep;
	uint8_t cursor[RDMACTL_CURSOR_MAX];
	struct json_object *doc;
	struct res_qp_filter f;
	size_t got = 0;
	bool more;
	int ret = res_parse_filters(argc, argv, &q, &f);

	if (ret)
		return ret;
	doc = json_object_new_array();
	do {
		m = res_fetch(rc, &q, &rep);
		if (!m) {
			json_object_put(doc);
			return RDMACTL_FAIL;
		}
		for (size_t i = 0; i < m->n_entries; i++)
			if (res_qp_match(&f, m->entries[i]))
				json_object_array_add(doc, res_entry_json(m->entries[i]));
		got += m->n_entries;
		more = rdmactl_cursor_next(cursor, m->has_next_cursor,
					   &m->next_cursor, m->n_entries,
					   &q.has_cursor, &q.cursor);
		if (!more && m->truncated)	/* a daemon that does not page */
			fprintf(stderr, "rdmactl: res: more objects than fit in one reply; showing the first %zu\n",
				got);
		rb_rpc_reply_free(rep);
	} while (more);
	return pr_output(rc, doc, &res_entry_layout);
}

/* The summary row of one client, or NULL when it holds nothing. */
static struct json_object *res_summary_row(const Rdmabroker__ResSummary *c)
{
	struct json_object *o;
	uint64_t held = 0;

	for (size_t i = 0; i < c->n_counts; i++)
		held += c->counts[i]->count;
	if (!held)
		return NULL;	/* as `rdma res`: only clients that hold some */
	o = json_object_new_object();
	pr_add_u64(o, "client", c->client_id);
	pr_add_int(o, "pid", c->pid);
	pr_add_str(o, "comm", c->comm ? c->comm : "");
	pr_add_str(o, "dev", c->device ? c->device : "");
	for (const char *const *t = res_types; *t; t++) {
		int64_t n = 0;

		for (size_t i = 0; i < c->n_counts; i++)
			if (!strcmp(c->counts[i]->type, *t))
				n = (int64_t)c->counts[i]->count;
		pr_add_int(o, *t, n);
	}
	return o;
}

static const struct pr_field res_summary_fields[] = {
	{ .key = "client", .label = "client" },
	{ .key = "pid", .label = "pid" },
	{ .key = "comm", .label = "comm" },
	{ .key = "dev", .label = "dev" },
	{ .key = "pd", .label = "pd" },
	{ .key = "mr", .label = "mr" },
	{ .key = "cq", .label = "cq" },
	{ .key = "qp", .label = "qp" },
	{ .key = "srq", .label = "srq" },
	{ .key = "ah", .label = "ah" },
	{ .key = "mw", .label = "mw" },
	{ .key = "xrcd", .label = "xrcd" },
	{ .key = "channel", .label = "channel" },
	/* The CM's with -d (and in JSON): `res cm_id` lists the ids. */
	{ .key = "cm_channel", .label = "cm_channel", .flags = PR_DETAIL },
	{ .key = "cm_id", .label = "cm_id", .flags = PR_DETAIL },
	{ .key = NULL },
};

static const struct pr_layout res_summary_layout = { .fields = res_summary_fields };

int res_summary_fetch(struct rdmactl *rc, Rdmabroker__ResSummaryReq *q,
		      Rdmabroker__Reply **rep, const char *what)
{
	Rdmabroker__Request req = RDMABROKER__REQUEST__INIT;
	char err[256];

	if (rdmactl_connect(rc))
		return RDMACTL_FAIL;
	if (!(rc->rpc.features & RB_PROTO_FEAT_PAGED_LISTS)) {
		fprintf(stderr, "rdmactl: %s: rdmabrokerd %s does not count objects (protocol version %u); upgrade it, or use \"rdmactl res show\"\n",
			what, rc->rpc.daemon_version, rc->rpc.proto_version);
		return RDMACTL_FAIL;
	}
	req.body_case = RDMABROKER__REQUEST__BODY_RES_SUMMARY;
	req.res_summary = q;
	if (rdmactl_call(rc, &req, RDMABROKER__REPLY__BODY_RES_SUMMARY, rep, err,
			 sizeof(err)) < 0) {
		if (err[0])
			fprintf(stderr, "rdmactl: %s: %s\n", what, err);
		return RDMACTL_FAIL;
	}
	return RDMACTL_OK;
}

static int res_summary(struct rdmactl *rc, int argc, char **argv)
{
	Rdmabroker__ResSummaryReq q = RDMABROKER__RES_SUMMARY_REQ__INIT;
	Rdmabroker__ResSummaryReply *m;
	Rdmabroker__Reply *rep;
	uint8_t cursor[RDMACTL_CURSOR_MAX];
	struct json_object *doc, *row;
	bool more;

	(void)argv;
	if (argc > 0)
		return rdmactl_usage_error(res_usage, "res: unknown command \"%s\"", argv[0]);
	doc = json_object_new_array();
	do {
		if (res_summary_fetch(rc, &q, &rep, "res")) {
			json_object_put(doc);
			return RDMACTL_FAIL;
		}
		m = rep->res_summary;
		for (size_t i = 0; i < m->n_clients; i++)
			if ((row = res_summary_row(m->clients[i])))
				json_object_array_add(doc, row);
		more = rdmactl_cursor_next(cursor, m->has_next_cursor,
					   &m->next_cursor, m->n_clients,
					   &q.has_cursor, &q.cursor);
		rb_rpc_reply_free(rep);
	} while (more);
	return pr_output(rc, doc, &res_summary_layout);
}

/* `rdmactl res cm_id ...`: `res show cm_id ...`, as `rdma res show cm_id`. */
static int res_cm_id(struct rdmactl *rc, int argc, char **argv)
{
	char **v = calloc((size_t)argc + 2, sizeof(*v));
	int ret;

	if (!v)
		return RDMACTL_FAIL;
	v[0] = (char *)"cm_id";
	for (int i = 0; i < argc; i++)
		v[i + 1] = argv[i];
	ret = res_show(rc, argc + 1, v);
	free(v);
	return ret;
}

static const struct rdmactl_cmd res_cmds[] = {
	{ "show", res_show },
	{ "cm_id", res_cm_id },
	{ NULL, NULL },
};

int res_run(struct rdmactl *rc, int argc, char **argv)
{
	if (argc == 0)
		return res_summary(rc, 0, NULL);
	return rdmactl_dispatch(rc, "res command", res_cmds, res_usage, argc, argv);
}
