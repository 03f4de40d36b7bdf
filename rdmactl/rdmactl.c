/* SPDX-License-Identifier: MIT */
/*
 * rdmactl: options, the object table, and the connection to rdmabrokerd.
 * See rdmactl(8).
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rdmactl/rdmactl.h"

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: rdmactl [OPTIONS] OBJECT [COMMAND [ARGS]]\n"
		"       rdmactl [OPTIONS] help\n"
		"Show the devices, clients and state of the rdmabroker daemon.\n"
		"\n"
		"OBJECT := { dev | client | res | limits | status | stat }\n"
		"  dev [show [NAME]]          devices, ports and GIDs\n"
		"  dev stat [NAME]            transport counters (packets, bytes, drops)\n"
		"  client [show [pid PID]]    connected clients\n"
		"  client kill PID            disconnect a process, free its objects (admin)\n"
		"  res [show [TYPE] [pid PID]]\n"
		"                             objects held by clients\n"
		"                             (TYPE: pd, mr, cq, qp, srq, ah, mw, xrcd, channel)\n"
		"  limits [show|set ...]      per-user limits and usage\n"
		"  status [show]              the daemon\n"
		"  stat [show] [client|user|cgroup] [uid UID] [-f text|json|prometheus]\n"
		"                             per-tenant counters\n"
		"  OBJECT help                commands of OBJECT\n"
		"Objects and commands may be abbreviated to a prefix (the first listed wins).\n"
		"\n"
		"OPTIONS:\n"
		"  -j, --json          JSON output\n"
		"  -p, --pretty        pretty-printed JSON output (implies -j)\n"
		"  -d, --details       more fields in text output\n"
		"  -s, --socket PATH   daemon socket (default $%s, else %s)\n"
		"  -V, --version       show the version and exit\n"
		"  -h, --help          show this help and exit\n"
		"\n"
		"Exit status: 0 success, 1 failure, 2 usage error.  See rdmactl(8).\n",
		RB_SOCKET_ENV, RUNDIR "/rdmabrokerd.sock");
}

int rdmactl_usage_error(void (*usage_fn)(FILE *out), const char *fmt, ...)
{
	va_list ap;

	fputs("rdmactl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	usage_fn(stderr);
	return RDMACTL_USAGE;
}

/* "help" is part of every level without being in its table. */
static const struct rdmactl_cmd help_cmd = { "help", NULL };

int rdmactl_dispatch(struct rdmactl *rc, const char *level,
		     const struct rdmactl_cmd *cmds, void (*usage_fn)(FILE *out),
		     int argc, char **argv)
{
	const struct rdmactl_cmd *found = NULL, *c;
	const char *word = argv[0];
	size_t len = strlen(word);
	unsigned int nmatch = 0;

	for (c = cmds; ; c++) {
		const struct rdmactl_cmd *cand = c->name ? c : &help_cmd;

		if (!strcmp(cand->name, word)) {
			found = cand;
			nmatch = 1;
			break;
		}
		/*
		 * A prefix of several names means the first in the table, as
		 * in iproute2's rdma: "st" stays "status", listed before the
		 * later "stat".
		 */
		if (len && !strncmp(cand->name, word, len) && !found) {
			found = cand;
			nmatch = 1;
		}
		if (!c->name)
			break;
	}
	if (nmatch == 0)
		return rdmactl_usage_error(usage_fn, "unknown %s \"%s\"", level, word);
	if (found == &help_cmd) {
		if (argc > 1)
			return rdmactl_usage_error(usage_fn, "help takes no arguments");
		usage_fn(stdout);
		return RDMACTL_OK;
	}
	return found->run(rc, argc - 1, argv + 1);
}

int rdmactl_connect(struct rdmactl *rc)
{
	const char *path = rb_rpc_socket_path(rc->socket);
	char err[512];
	int ret;

	if (rc->rpc.fd >= 0)
		return RDMACTL_OK;
	ret = rb_rpc_connect(&rc->rpc, path, "rdmactl", err, sizeof(err));
	if (ret < 0) {
		/* Connection refused, no such file, ...: say it plainly; a
		 * failed handshake keeps rb_rpc's own explanation. */
		if (!strncmp(err, "cannot connect", 14))
			fprintf(stderr, "rdmactl: cannot connect to %s: %s\n",
				path, strerror(-ret));
		else
			fprintf(stderr, "rdmactl: cannot connect to %s: %s\n",
				path, err);
		return RDMACTL_FAIL;
	}
	return RDMACTL_OK;
}

int rdmactl_call(struct rdmactl *rc, Rdmabroker__Request *req,
		 Rdmabroker__Reply__BodyCase body, Rdmabroker__Reply **reply,
		 char *err, size_t errlen)
{
	Rdmabroker__Reply *r;
	int ret;

	*reply = NULL;
	if (errlen)
		err[0] = '\0';
	ret = rb_rpc_call(&rc->rpc, req, &r, NULL, 0, NULL);
	if (ret < 0) {
		fprintf(stderr, "rdmactl: request to rdmabrokerd failed: %s\n",
			strerror(-ret));
		return ret;
	}
	if (r->status != 0) {
		ret = r->status > 0 ? -r->status : -EPROTO;
		snprintf(err, errlen, "%s", r->error ? r->error : strerror(-ret));
		rb_rpc_reply_free(r);
		return ret;
	}
	if (r->body_case != body) {
		fprintf(stderr, "rdmactl: unexpected reply from rdmabrokerd\n");
		rb_rpc_reply_free(r);
		return -EBADMSG;
	}
	*reply = r;
	return 0;
}

bool rdmactl_cursor_next(uint8_t *buf, protobuf_c_boolean has_next,
			 const ProtobufCBinaryData *next, size_t n_items,
			 protobuf_c_boolean *q_has, ProtobufCBinaryData *q_cursor)
{
	if (!has_next || next->len == 0 || next->len > RDMACTL_CURSOR_MAX ||
	    n_items == 0)
		return false;
	memcpy(buf, next->data, next->len);
	q_cursor->data = buf;
	q_cursor->len = next->len;
	*q_has = 1;
	return true;
}

int rdmactl_parse_pid(void (*usage_fn)(FILE *out), const char *what,
		      const char *arg, uint32_t *pid)
{
	unsigned long v;
	char *end;

	errno = 0;
	v = strtoul(arg, &end, 10);
	if (errno || end == arg || *end || arg[0] == '-' || v == 0 ||
	    v > INT32_MAX)
		return rdmactl_usage_error(usage_fn, "%s: invalid pid \"%s\"", what, arg);
	*pid = (uint32_t)v;
	return RDMACTL_OK;
}

static const struct rdmactl_cmd objects[] = {
	{ "dev", dev_run },
	{ "client", client_run },
	{ "res", res_run },
	{ "limits", limits_run },
	{ "status", status_run },
	{ "stat", stat_run },
	{ NULL, NULL },
};

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "pretty", no_argument, NULL, 'p' },
		{ "details", no_argument, NULL, 'd' },
		{ "socket", required_argument, NULL, 's' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct rdmactl rc = { .rpc = { .fd = -1 } };
	int c, ret;

	/* '+': options only before OBJECT, like rdma(8); ':': we report. */
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:jpds:Vh", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			rc.json = true;
			break;
		case 'p':
			rc.json = true;
			rc.pretty = true;
			break;
		case 'd':
			rc.details = true;
			break;
		case 's':
			if (!*optarg)
				return rdmactl_usage_error(usage, "--socket needs a path");
			rc.socket = optarg;
			break;
		case 'V':
			printf("rdmactl %s\n", PACKAGE_VERSION);
			return RDMACTL_OK;
		case 'h':
			usage(stdout);
			return RDMACTL_OK;
		case ':':
			return rdmactl_usage_error(usage, "option \"%s\" needs an argument",
						   argv[optind - 1]);
		default:
			if (optopt)
				return rdmactl_usage_error(usage, "unknown option \"-%c\"",
							   optopt);
			return rdmactl_usage_error(usage, "unknown option \"%s\"",
						   argv[optind - 1]);
		}
	}
	argc -= optind;
	argv += optind;
	if (argc == 0)
		return rdmactl_usage_error(usage, "no object given");
	ret = rdmactl_dispatch(&rc, "object", objects, usage, argc, argv);
	rb_rpc_close(&rc.rpc);
	return ret;
}
