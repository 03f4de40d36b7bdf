/* SPDX-License-Identifier: MIT */
/*
 * rdmactl stat: per-tenant metrics (StatReq): per client, per user and
 * per cgroup; text, JSON, or Prometheus's text exposition format (one
 * scrape, for a textfile collector or a socket-activated exporter).
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>

#include "rdmactl/rdmactl.h"

void stat_usage(FILE *out)
{
	fprintf(out,
		"Usage: rdmactl [OPTIONS] stat [show] [client | user | cgroup] [uid UID]\n"
		"                                [-f text | json | prometheus]\n"
		"       rdmactl stat help\n"
		"Per-tenant counters: bytes and work requests sent and received,\n"
		"completions and errors by status, objects and memory held, time\n"
		"throttled, CQ pollers woken (poller_wakeups); per client, per user\n"
		"and per cgroup (yours only unless you are an administrator).\n"
		"-f prometheus prints them once in Prometheus's text format.\n");
}

/* enum ibv_wc_status, in order: the names Prometheus labels and JSON use. */
static const char *const stat_status_names[] = {
	"success", "loc_len_err", "loc_qp_op_err", "loc_eec_op_err",
	"loc_prot_err", "wr_flush_err", "mw_bind_err", "bad_resp_err",
	"loc_access_err", "rem_inv_req_err", "rem_access_err", "rem_op_err",
	"retry_exc_err", "rnr_retry_exc_err", "loc_rdd_viol_err",
	"rem_inv_rd_req_err", "rem_abort_err", "inv_eecn_err",
	"inv_eec_state_err", "fatal_err", "resp_timeout_err", "general_err",
	"tm_err", "tm_rndv_incomplete",
};
#define STAT_NSTATUS (sizeof(stat_status_names) / sizeof(stat_status_names[0]))

static const struct pr_field stat_fields[] = {
	{ .key = "kind", .flags = PR_COLON },
	{ .key = "client", .label = "client" },
	{ .key = "pid", .label = "pid" },
	{ .key = "uid", .label = "uid" },
	{ .key = "user", .label = "user" },
	{ .key = "comm", .label = "comm" },
	{ .key = "cgroup", .label = "cgroup" },
	{ .key = "bytes_sent", .label = "bytes_sent" },
	{ .key = "wrs_sent", .label = "wrs_sent" },
	{ .key = "bytes_recv", .label = "bytes_recv" },
	{ .key = "wrs_recv", .label = "wrs_recv" },
	{ .key = "completions", .label = "completions" },
	{ .key = "errors", .label = "errors" },
	{ .key = "objects", .label = "objects" },
	{ .key = "memory", .label = "memory" },
	{ .key = "throttled_ns", .label = "throttled_ns" },
	{ .key = "poller_wakeups", .label = "poller_wakeups" },
	{ .key = "errors_by_status", .sub = &(const struct pr_layout){ .indent = 4 },
	  .flags = PR_DETAIL },
	{ .key = NULL },
};

static const struct pr_layout stat_layout = { .fields = stat_fields, .per_line = 8 };

static struct json_object *stat_json(const Rdmabroker__StatEntry *e)
{
	const Rdmabroker__StatCounters *c = e->counters;
	struct json_object *o = json_object_new_object();
	struct json_object *errs = json_object_new_object();
	uint64_t total = 0, errors = 0;

	pr_add_str(o, "kind", e->kind);
	if (e->has_client_id)
		pr_add_u64(o, "client", e->client_id);
	if (e->has_pid)
		pr_add_int(o, "pid", e->pid);
	if (e->has_uid) {
		struct passwd *pw = getpwuid(e->uid);

		pr_add_int(o, "uid", e->uid);
		if (pw)
			pr_add_str(o, "user", pw->pw_name);
	}
	if (e->comm)
		pr_add_str(o, "comm", e->comm);
	if (e->cgroup)
		pr_add_str(o, "cgroup", e->cgroup);
	pr_add_u64(o, "bytes_sent", c->bytes_sent);
	pr_add_u64(o, "wrs_sent", c->wrs_sent);
	pr_add_u64(o, "bytes_recv", c->bytes_recv);
	pr_add_u64(o, "wrs_recv", c->wrs_recv);
	for (size_t i = 0; i < c->n_completions; i++) {
		total += c->completions[i];
		if (i && c->completions[i]) {
			errors += c->completions[i];
			pr_add_u64(errs, i < STAT_NSTATUS ? stat_status_names[i] : "unknown",
				   c->completions[i]);
		}
	}
	pr_add_u64(o, "completions", total);
	pr_add_u64(o, "errors", errors);
	json_object_object_add(o, "errors_by_status", errs);
	pr_add_u64(o, "objects", c->objects);
	pr_add_u64(o, "memory", c->memory);
	pr_add_u64(o, "throttled_ns", c->throttled_ns);
	if (c->has_poller_wakeups)
		pr_add_u64(o, "poller_wakeups", c->poller_wakeups);
	return o;
}

/* A label value: backslash, double quote and newline escaped. */
static void stat_prom_label(FILE *out, const char *name, const char *val, bool first)
{
	fprintf(out, "%s%s=\"", first ? "" : ",", name);
	for (const char *p = val; *p; p++) {
		if (*p == '\\' || *p == '"')
			fprintf(out, "\\%c", *p);
		else if (*p == '\n')
			fputs("\\n", out);
		else
			fputc(*p, out);
	}
	fputc('"', out);
}

static void stat_prom_labels(FILE *out, const Rdmabroker__StatEntry *e)
{
	char num[24];

	if (!strcmp(e->kind, "client")) {
		snprintf(num, sizeof(num), "%" PRIu64, e->client_id);
		stat_prom_label(out, "client", num, true);
		snprintf(num, sizeof(num), "%" PRIu32, e->pid);
		stat_prom_label(out, "pid", num, false);
		snprintf(num, sizeof(num), "%" PRIu32, e->uid);
		stat_prom_label(out, "uid", num, false);
		stat_prom_label(out, "comm", e->comm ? e->comm : "", false);
		stat_prom_label(out, "cgroup", e->cgroup ? e->cgroup : "", false);
	} else if (!strcmp(e->kind, "user")) {
		snprintf(num, sizeof(num), "%" PRIu32, e->uid);
		stat_prom_label(out, "uid", num, true);
	} else {
		stat_prom_label(out, "cgroup", e->cgroup ? e->cgroup : "", true);
	}
}

static const struct {
	const char *name, *type, *help;
	size_t off;		/* in StatCounters, or (size_t)-1: completions */
} stat_prom_metrics[] = {
	{ "bytes_sent_total", "counter", "Bytes of send-queue work requests completed successfully.",
	  offsetof(Rdmabroker__StatCounters, bytes_sent) },
	{ "wrs_sent_total", "counter", "Send-queue work requests completed successfully.",
	  offsetof(Rdmabroker__StatCounters, wrs_sent) },
	{ "bytes_received_total", "counter", "Bytes of successful receive completions.",
	  offsetof(Rdmabroker__StatCounters, bytes_recv) },
	{ "wrs_received_total", "counter", "Successful receive completions.",
	  offsetof(Rdmabroker__StatCounters, wrs_recv) },
	{ "completions_total", "counter", "Completions written to the CQs, by status.",
	  (size_t)-1 },
	{ "objects", "gauge", "Verbs objects held now.",
	  offsetof(Rdmabroker__StatCounters, objects) },
	{ "memory_bytes", "gauge", "Bytes charged to the memory limit now.",
	  offsetof(Rdmabroker__StatCounters, memory) },
	{ "throttled_seconds_total", "counter", "Time the scheduler held the work back.",
	  offsetof(Rdmabroker__StatCounters, throttled_ns) },
	{ "poller_wakeups_total", "counter",
	  "Pollers of its CQs woken from a sleep on the ring.",
	  offsetof(Rdmabroker__StatCounters, poller_wakeups) },
};

static void stat_prometheus(const Rdmabroker__StatReply *m)
{
	static const char *const kinds[] = { "client", "user", "cgroup" };

	for (size_t k = 0; k < 3; k++) {
		for (size_t i = 0; i < sizeof(stat_prom_metrics) / sizeof(stat_prom_metrics[0]); i++) {
			bool head = false;

			for (size_t j = 0; j < m->n_entries; j++) {
				const Rdmabroker__StatEntry *e = m->entries[j];
				const Rdmabroker__StatCounters *c = e->counters;

				if (strcmp(e->kind, kinds[k]))
					continue;
				if (!head) {
					printf("# HELP rdmabroker_%s_%s %s\n# TYPE rdmabroker_%s_%s %s\n",
					       kinds[k], stat_prom_metrics[i].name,
					       stat_prom_metrics[i].help, kinds[k],
					       stat_prom_metrics[i].name, stat_prom_metrics[i].type);
					head = true;
				}
				if (stat_prom_metrics[i].off == (size_t)-1) {
					for (size_t s = 0; s < c->n_completions && s < STAT_NSTATUS; s++) {
						printf("rdmabroker_%s_%s{", kinds[k], stat_prom_metrics[i].name);
						stat_prom_labels(stdout, e);
						printf(",status=\"%s\"} %" PRIu64 "\n", stat_status_names[s],
						       c->completions[s]);
					}
					continue;
				}
				printf("rdmabroker_%s_%s{", kinds[k], stat_prom_metrics[i].name);
				stat_prom_labels(stdout, e);
				if (!strcmp(stat_prom_metrics[i].name, "throttled_seconds_total"))
					printf("} %.9f\n", c->throttled_ns / 1e9);
				else
					printf("} %" PRIu64 "\n", *(const uint64_t *)
					       ((const char *)c + stat_prom_metrics[i].off));
			}
		}
	}
}

/* The replies of every page, kept until their entries are printed. */
struct stat_pages {
	Rdmabroker__Reply **v;
	size_t n;
};

static void stat_pages_free(struct stat_pages *p)
{
	for (size_t i = 0; i < p->n; i++)
		rb_rpc_reply_free(p->v[i]);
	free(p->v);
	p->v = NULL;
	p->n = 0;
}

/*
 * Every page of the daemon's listing, following next_cursor; all->entries
 * (malloc'd) points into the pages' replies.  0 or -errno (err says why).
 */
static int stat_fetch(struct rdmactl *rc, Rdmabroker__StatReq *q, struct stat_pages *pages,
		      Rdmabroker__StatReply *all, char *err, size_t errlen)
{
	Rdmabroker__Request req = RDMABROKER__REQUEST__INIT;

	req.body_case = RDMABROKER__REQUEST__BODY_STAT;
	req.stat = q;
	for (;;) {
		Rdmabroker__Reply *rep, **nv;
		Rdmabroker__StatEntry **ne;
		Rdmabroker__StatReply *m;
		int ret;

		ret = rdmactl_call(rc, &req, RDMABROKER__REPLY__BODY_STAT, &rep, err, errlen);
		if (ret < 0)
			return ret;
		nv = realloc(pages->v, (pages->n + 1) * sizeof(*nv));
		if (!nv) {
			rb_rpc_reply_free(rep);
			return -ENOMEM;
		}
		pages->v = nv;
		pages->v[pages->n++] = rep;
		m = rep->stat;
		ne = realloc(all->entries, (all->n_entries + m->n_entries + 1) * sizeof(*ne));
		if (!ne)
			return -ENOMEM;
		all->entries = ne;
		for (size_t i = 0; i < m->n_entries; i++)
			all->entries[all->n_entries++] = m->entries[i];
		if (!m->has_next_cursor || !m->next_cursor.len) {
			/* A daemon that cut the list without a cursor cannot go on. */
			if (m->truncated)
				fprintf(stderr, "rdmactl: stat: this daemon's reply was cut short and it cannot page\n");
			return 0;
		}
		if (m->n_entries == 0) {
			snprintf(err, errlen, "the daemon sent an empty page with a cursor");
			return -EPROTO;
		}
		q->has_cursor = 1;
		q->cursor = m->next_cursor;
	}
}

static int stat_show(struct rdmactl *rc, int argc, char **argv)
{
	Rdmabroker__StatReq q = RDMABROKER__STAT_REQ__INIT;
	const char *kind = NULL, *format = NULL;
	Rdmabroker__StatReply all = RDMABROKER__STAT_REPLY__INIT;
	struct stat_pages pages = { 0 };
	struct json_object *doc;
	char err[256] = "";
	int ret;

	for (int i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "client") || !strcmp(argv[i], "user") ||
		    !strcmp(argv[i], "cgroup")) {
			kind = argv[i];
		} else if (!strcmp(argv[i], "uid") && i + 1 < argc) {
			char *end;
			unsigned long v;

			errno = 0;
			v = strtoul(argv[++i], &end, 10);
			if (errno || *end || argv[i][0] == '-' || !argv[i][0] || v > UINT32_MAX)
				return rdmactl_usage_error(stat_usage, "stat: invalid uid \"%s\"", argv[i]);
			q.has_uid = 1;
			q.uid = (uint32_t)v;
		} else if (!strcmp(argv[i], "-f") && i + 1 < argc) {
			format = argv[++i];
			if (strcmp(format, "text") && strcmp(format, "json") &&
			    strcmp(format, "prometheus"))
				return rdmactl_usage_error(stat_usage, "stat: unknown format \"%s\"",
							   format);
		} else {
			return rdmactl_usage_error(stat_usage, "stat: unexpected argument \"%s\"",
						   argv[i]);
		}
	}
	if (format && !strcmp(format, "json"))
		rc->json = true;
	ret = rdmactl_connect(rc);
	if (ret)
		return ret;
	ret = stat_fetch(rc, &q, &pages, &all, err, sizeof(err));
	if (ret < 0) {
		fprintf(stderr, "rdmactl: stat: %s\n", err[0] ? err : strerror(-ret));
		free(all.entries);
		stat_pages_free(&pages);
		return RDMACTL_FAIL;
	}
	if (format && !strcmp(format, "prometheus")) {
		stat_prometheus(&all);
		free(all.entries);
		stat_pages_free(&pages);
		return fflush(stdout) || ferror(stdout) ? RDMACTL_FAIL : RDMACTL_OK;
	}
	doc = json_object_new_array();
	for (size_t i = 0; i < all.n_entries; i++)
		if (!kind || !strcmp(all.entries[i]->kind, kind))
			json_object_array_add(doc, stat_json(all.entries[i]));
	free(all.entries);
	stat_pages_free(&pages);
	return pr_output(rc, doc, &stat_layout);
}

static const struct rdmactl_cmd stat_cmds[] = {
	{ "show", stat_show },
	{ NULL, NULL },
};

int stat_run(struct rdmactl *rc, int argc, char **argv)
{
	if (argc == 0 || strcmp(argv[0], "show"))
		if (argc == 0 || strcmp(argv[0], "help"))
			return stat_show(rc, argc, argv);
	return rdmactl_dispatch(rc, "stat command", stat_cmds, stat_usage, argc, argv);
}
