/* SPDX-License-Identifier: MIT */
/*
 * rdmactl limits: the per-user limits in force and what the user holds
 * (LimitsShowReq), and changing one until the daemon restarts
 * (LimitsSetReq, admin).  Beside them, how the engine shares itself with
 * the user (weight, bandwidth, message_rate) and what it did for the
 * user: bytes, work requests, time held back by a cap, per client too.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rdmactl/rdmactl.h"

void limits_usage(FILE *out)
{
	fprintf(out,
		"Usage: rdmactl [OPTIONS] limits [show] [user USER | uid UID]\n"
		"       rdmactl [OPTIONS] limits set [user USER | uid UID] NAME VALUE\n"
		"       rdmactl limits help\n"
		"NAME := { connections | pds | mrs | pinned_bytes | cqs | cqes | qps |\n"
		"          srqs | ahs | mws | memory | cm_ids | cm_channels | weight |\n"
		"          bandwidth | message_rate }\n"
		"Show a user's limits (yours by default) beside what the user holds, and\n"
		"the engine's share (weight, bandwidth in bytes/s, message_rate in work\n"
		"requests/s) beside what it moved and how long a cap held the user back;\n"
		"or (administrators) set one until rdmabrokerd restarts; 0 is unlimited\n"
		"(weight: 1 to 1000), VALUE may end in K, M, G or T.  The lasting way is\n"
		"rdmabrokerd.conf(5).\n");
}

/* [user USER | uid UID] at argv[*i]; RDMACTL_OK or a usage error. */
static int limits_parse_user(int argc, char **argv, int *i, uint32_t *uid,
			     bool *given)
{
	if (*i + 1 < argc && strcmp(argv[*i], "uid") == 0) {
		char *end;
		unsigned long v;

		errno = 0;
		v = strtoul(argv[*i + 1], &end, 10);
		if (errno || *end || end == argv[*i + 1] || argv[*i + 1][0] == '-' ||
		    v > UINT32_MAX)
			return rdmactl_usage_error(limits_usage, "limits: invalid uid \"%s\"",
						   argv[*i + 1]);
		*uid = (uint32_t)v;
		*given = true;
		*i += 2;
	} else if (*i + 1 < argc && strcmp(argv[*i], "user") == 0) {
		struct passwd *pw = getpwnam(argv[*i + 1]);

		if (!pw) {
			fprintf(stderr, "rdmactl: limits: no user \"%s\"\n", argv[*i + 1]);
			return RDMACTL_FAIL;
		}
		*uid = pw->pw_uid;
		*given = true;
		*i += 2;
	}
	return RDMACTL_OK;
}

static const char *const limit_names[] = {
	"connections", "pds", "mrs", "pinned_bytes", "cqs", "cqes", "qps",
	"srqs", "ahs", "mws", "memory", "cm_ids", "cm_channels", NULL
};

/* The scheduling values, set like limits (Sched in the reply). */
static const char *const sched_names[] = {
	"weight", "bandwidth", "message_rate", NULL
};

static uint64_t sched_value(const Rdmabroker__Sched *s, int i)
{
	const uint64_t v[] = { s->weight, s->bandwidth, s->message_rate };

	return v[i];
}

static uint64_t limit_value(const Rdmabroker__Limits *l, int i)
{
	const uint64_t v[] = {
		l->connections, l->pds, l->mrs, l->pinned_bytes, l->cqs,
		l->cqes, l->qps, l->srqs, l->ahs, l->mws, l->memory, l->cm_ids,
		l->cm_channels,
	};

	return v[i];
}

static const struct pr_field limits_row_fields[] = {
	{ .key = "name" },
	{ .key = "limit", .label = "limit" },
	{ .key = "used", .label = "used" },
	{ .key = "set", .label = "set", .flags = PR_DETAIL },
	{ .key = NULL },
};

static const struct pr_layout limits_row_layout = {
	.fields = limits_row_fields, .indent = 4,
};

static const struct pr_field sched_client_fields[] = {
	{ .key = "client", .label = "client" },
	{ .key = "throttled_ns", .label = "throttled_ns" },
	{ .key = NULL },
};

static const struct pr_layout sched_client_layout = {
	.fields = sched_client_fields, .indent = 4,
};

static const struct pr_field sched_use_fields[] = {
	{ .key = "bytes", .label = "bytes" },
	{ .key = "wrs", .label = "wrs" },
	{ .key = "throttled_ns", .label = "throttled_ns" },
	{ .key = "now_ns", .label = "now_ns", .flags = PR_DETAIL },
	{ .key = "clients", .sub = &sched_client_layout, .flags = PR_DETAIL },
	{ .key = NULL },
};

static const struct pr_layout sched_use_layout = {
	.fields = sched_use_fields, .indent = 4,
};

static const struct pr_field limits_fields[] = {
	{ .key = "uid", .label = "uid" },
	{ .key = "user", .label = "user" },
	{ .key = "limits", .sub = &limits_row_layout },
	{ .key = "engine", .sub = &sched_use_layout },
	{ .key = NULL },
};

/* The engine's share and what it did: rows beside the limits, an object. */
static void limits_sched(struct json_object *doc, struct json_object *rows,
			 const Rdmabroker__LimitsShowReply *m)
{
	const Rdmabroker__SchedUse *u = m->sched_used;
	struct json_object *e, *cl;

	for (int k = 0; m->sched && sched_names[k]; k++) {
		struct json_object *o = json_object_new_object();
		bool set = false;

		for (size_t i = 0; i < m->n_overridden; i++)
			set |= strcmp(m->overridden[i], sched_names[k]) == 0;
		pr_add_str(o, "name", sched_names[k]);
		pr_add_u64(o, "limit", sched_value(m->sched, k));
		pr_add_bool(o, "set", set);
		json_object_array_add(rows, o);
	}
	if (!u)
		return;
	e = json_object_new_object();
	pr_add_u64(e, "bytes", u->bytes);
	pr_add_u64(e, "wrs", u->wrs);
	pr_add_u64(e, "throttled_ns", u->throttled_ns);
	pr_add_u64(e, "now_ns", u->now_ns);
	cl = json_object_new_array();
	for (size_t i = 0; i < u->n_clients; i++) {
		struct json_object *c = json_object_new_object();

		pr_add_u64(c, "client", u->clients[i]->client_id);
		pr_add_u64(c, "throttled_ns", u->clients[i]->throttled_ns);
		json_object_array_add(cl, c);
	}
	json_object_object_add(e, "clients", cl);
	json_object_object_add(doc, "engine", e);
}

static const struct pr_layout limits_layout = { .fields = limits_fields };

static int limits_show(struct rdmactl *rc, int argc, char **argv)
{
	Rdmabroker__Request req = RDMABROKER__REQUEST__INIT;
	Rdmabroker__LimitsShowReq q = RDMABROKER__LIMITS_SHOW_REQ__INIT;
	Rdmabroker__LimitsShowReply *m;
	Rdmabroker__Reply *rep;
	struct json_object *doc, *rows;
	struct passwd *pw;
	bool given = false;
	char err[256];
	int i = 0, ret;

	ret = limits_parse_user(argc, argv, &i, &q.uid, &given);
	if (ret)
		return ret;
	if (i < argc)
		return rdmactl_usage_error(limits_usage, "limits show: unexpected argument \"%s\"",
					   argv[i]);
	q.has_uid = given;
	ret = rdmactl_connect(rc);
	if (ret)
		return ret;
	req.body_case = RDMABROKER__REQUEST__BODY_LIMITS_SHOW;
	req.limits_show = &q;
	ret = rdmactl_call(rc, &req, RDMABROKER__REPLY__BODY_LIMITS_SHOW, &rep, err,
			   sizeof(err));
	if (ret < 0) {
		if (err[0])
			fprintf(stderr, "rdmactl: limits: %s\n", err);
		return RDMACTL_FAIL;
	}
	m = rep->limits_show;
	doc = json_object_new_object();
	pr_add_int(doc, "uid", m->uid);
	pw = getpwuid(m->uid);
	if (pw)
		pr_add_str(doc, "user", pw->pw_name);
	rows = json_object_new_array();
	for (int l = 0; limit_names[l]; l++) {
		struct json_object *o = json_object_new_object();
		bool set = false;

		for (size_t k = 0; k < m->n_overridden; k++)
			set |= strcmp(m->overridden[k], limit_names[l]) == 0;
		pr_add_str(o, "name", limit_names[l]);
		pr_add_u64(o, "limit", limit_value(m->limits, l));
		pr_add_u64(o, "used", limit_value(m->used, l));
		pr_add_bool(o, "set", set);
		json_object_array_add(rows, o);
	}
	limits_sched(doc, rows, m);
	json_object_object_add(doc, "limits", rows);
	rb_rpc_reply_free(rep);
	return pr_output(rc, doc, &limits_layout);
}

static bool name_known(const char *const *names, const char *name)
{
	for (; *names; names++)
		if (!strcmp(*names, name))
			return true;
	return false;
}

/* A count or size: digits, then optionally K, M, G or T (powers of 1024). */
static int parse_value(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;
	int shift = 0;

	if (!isdigit((unsigned char)s[0]))
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno)
		return -1;
	switch (toupper((unsigned char)*end)) {
	case '\0': break;
	case 'K': shift = 10; end++; break;
	case 'M': shift = 20; end++; break;
	case 'G': shift = 30; end++; break;
	case 'T': shift = 40; end++; break;
	default: return -1;
	}
	if (*end || (shift && v > (UINT64_MAX >> shift)))
		return -1;
	*out = (uint64_t)v << shift;
	return 0;
}

static int limits_set(struct rdmactl *rc, int argc, char **argv)
{
	Rdmabroker__Request req = RDMABROKER__REQUEST__INIT;
	Rdmabroker__LimitsSetReq q = RDMABROKER__LIMITS_SET_REQ__INIT;
	Rdmabroker__Reply *rep;
	bool given = false;
	char err[256];
	int i = 0, ret;

	ret = limits_parse_user(argc, argv, &i, &q.uid, &given);
	if (ret)
		return ret;
	if (argc - i != 2)
		return rdmactl_usage_error(limits_usage, "limits set: needs NAME VALUE");
	q.name = argv[i];
	if (!name_known(limit_names, q.name) && !name_known(sched_names, q.name))
		return rdmactl_usage_error(limits_usage, "limits set: unknown limit \"%s\"", q.name);
	if (parse_value(argv[i + 1], &q.value) < 0)
		return rdmactl_usage_error(limits_usage, "limits set: invalid value \"%s\"",
					   argv[i + 1]);
	if (!given)
		q.uid = (uint32_t)getuid();
	ret = rdmactl_connect(rc);
	if (ret)
		return ret;
	req.body_case = RDMABROKER__REQUEST__BODY_LIMITS_SET;
	req.limits_set = &q;
	ret = rdmactl_call(rc, &req, RDMABROKER__REPLY__BODY_LIMITS_SET, &rep, err,
			   sizeof(err));
	if (ret < 0) {
		if (err[0])
			fprintf(stderr, "rdmactl: limits set: %s\n", err);
		return RDMACTL_FAIL;
	}
	rb_rpc_reply_free(rep);
	return RDMACTL_OK;
}

static const struct rdmactl_cmd limits_cmds[] = {
	{ "show", limits_show },
	{ "set", limits_set },
	{ NULL, NULL },
};

int limits_run(struct rdmactl *rc, int argc, char **argv)
{
	if (argc == 0 || strcmp(argv[0], "user") == 0 || strcmp(argv[0], "uid") == 0)
		return limits_show(rc, argc, argv);
	return rdmactl_dispatch(rc, "limits command", limits_cmds, limits_usage,
				argc, argv);
}
