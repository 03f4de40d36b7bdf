/* SPDX-License-Identifier: MIT */
/* The one dispatch table and the checks made before any handler runs. */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon/dispatch.h"
#include "daemon/log.h"

/* Every string a client sends is at most this long. */
#define DISPATCH_MAX_STRING	255
/* And every repeated field holds at most this many entries. */
#define DISPATCH_MAX_REPEATED	4096

enum {
	DISPATCH_PRE_HELLO = 1 << 0,	/* allowed (only) before the handshake */
	DISPATCH_ADMIN = 1 << 1,	/* uid 0 or admin_group */
	DISPATCH_NEEDS_DEVICE = 1 << 2,	/* only on an opened device */
	DISPATCH_FDS_UPTO = 1 << 3,	/* nfds is a maximum, not an exact count */
};

struct dispatch_entry {
	const char *name;
	unsigned int flags;
	size_t nfds;			/* fds the request must carry */
	dispatch_fn fn;
};

#define ENTRY(body, n, f, fds, h) \
	[RDMABROKER__REQUEST__BODY_##body] = \
		{ .name = n, .flags = f, .nfds = fds, .fn = h }

static const struct dispatch_entry dispatch_table[] = {
	ENTRY(HELLO, "hello", DISPATCH_PRE_HELLO, 0, session_hello),
	ENTRY(DEVICE_LIST, "device_list", 0, 0, device_list),
	ENTRY(DEVICE_OPEN, "device_open", 0, 0, device_open),
	ENTRY(DEVICE_QUERY, "device_query", 0, 0, device_query),
	ENTRY(PORT_QUERY, "port_query", 0, 0, device_port_query),
	ENTRY(GID_QUERY, "gid_query", 0, 0, device_gid_query),
	ENTRY(PKEY_QUERY, "pkey_query", 0, 0, device_pkey_query),
	ENTRY(PD_ALLOC, "pd_alloc", DISPATCH_NEEDS_DEVICE, 0, pd_alloc),
	ENTRY(PD_DEALLOC, "pd_dealloc", DISPATCH_NEEDS_DEVICE, 0, pd_dealloc),
	ENTRY(CHANNEL_CREATE, "channel_create", DISPATCH_NEEDS_DEVICE, 0, channel_create),
	ENTRY(CHANNEL_DESTROY, "channel_destroy", DISPATCH_NEEDS_DEVICE, 0, channel_destroy_req),
	ENTRY(CQ_CREATE, "cq_create", DISPATCH_NEEDS_DEVICE, 0, cq_create),
	ENTRY(CQ_RESIZE, "cq_resize", DISPATCH_NEEDS_DEVICE, 0, cq_resize),
	ENTRY(CQ_DESTROY, "cq_destroy", DISPATCH_NEEDS_DEVICE, 0, cq_destroy_req),
	ENTRY(QP_CREATE, "qp_create", DISPATCH_NEEDS_DEVICE, 0, qp_create),
	ENTRY(QP_MODIFY, "qp_modify", DISPATCH_NEEDS_DEVICE, 0, qp_modify),
	ENTRY(QP_QUERY, "qp_query", DISPATCH_NEEDS_DEVICE, 0, qp_query),
	ENTRY(QP_DESTROY, "qp_destroy", DISPATCH_NEEDS_DEVICE, 0, qp_destroy_req),
	ENTRY(QP_OPEN, "qp_open", DISPATCH_NEEDS_DEVICE, 0, qp_open),
	ENTRY(SRQ_CREATE, "srq_create", DISPATCH_NEEDS_DEVICE, 0, srq_create),
	ENTRY(SRQ_MODIFY, "srq_modify", DISPATCH_NEEDS_DEVICE, 0, srq_modify),
	ENTRY(SRQ_QUERY, "srq_query", DISPATCH_NEEDS_DEVICE, 0, srq_query),
	ENTRY(SRQ_DESTROY, "srq_destroy", DISPATCH_NEEDS_DEVICE, 0, srq_destroy_req),
	ENTRY(AH_CREATE, "ah_create", DISPATCH_NEEDS_DEVICE, 0, ah_create),
	ENTRY(AH_DESTROY, "ah_destroy", DISPATCH_NEEDS_DEVICE, 0, ah_destroy_req),
	ENTRY(MR_REG, "mr_reg", DISPATCH_NEEDS_DEVICE | DISPATCH_FDS_UPTO, 1, mr_reg),
	ENTRY(MR_DEREG, "mr_dereg", DISPATCH_NEEDS_DEVICE, 0, mr_dereg),
	ENTRY(MR_REREG, "mr_rereg", DISPATCH_NEEDS_DEVICE | DISPATCH_FDS_UPTO, 1, mr_rereg),
	ENTRY(MW_ALLOC, "mw_alloc", DISPATCH_NEEDS_DEVICE, 0, mw_alloc),
	ENTRY(MW_DEALLOC, "mw_dealloc", DISPATCH_NEEDS_DEVICE, 0, mw_dealloc),
	ENTRY(XRCD_OPEN, "xrcd_open", DISPATCH_NEEDS_DEVICE | DISPATCH_FDS_UPTO, 1, xrcd_open),
	ENTRY(XRCD_CLOSE, "xrcd_close", DISPATCH_NEEDS_DEVICE, 0, xrcd_close),
	/* The connection manager: its own connection, no device needed. */
	ENTRY(CM_CHANNEL_CREATE, "cm_channel_create", 0, 0, cm_channel_create),
	ENTRY(CM_CHANNEL_DESTROY, "cm_channel_destroy", 0, 0, cm_channel_destroy_req),
	ENTRY(CM_ID_CREATE, "cm_id_create", 0, 0, cm_id_create),
	ENTRY(CM_ID_DESTROY, "cm_id_destroy", 0, 0, cm_id_destroy_req),
	ENTRY(CM_BIND, "cm_bind", 0, 0, cm_bind_req),
	ENTRY(CM_RESOLVE_ADDR, "cm_resolve_addr", 0, 0, cm_resolve_addr_req),
	ENTRY(CM_RESOLVE_ROUTE, "cm_resolve_route", 0, 0, cm_resolve_route_req),
	ENTRY(CM_LISTEN, "cm_listen", 0, 0, cm_listen_req),
	ENTRY(CM_CONNECT, "cm_connect", 0, 0, cm_connect_req),
	ENTRY(CM_ACCEPT, "cm_accept", 0, 0, cm_accept_req),
	ENTRY(CM_REJECT, "cm_reject", 0, 0, cm_reject_req),
	ENTRY(CM_DISCONNECT, "cm_disconnect", 0, 0, cm_disconnect_req),
	ENTRY(CM_ESTABLISH, "cm_establish", 0, 0, cm_establish_req),
	ENTRY(CM_NOTIFY, "cm_notify", 0, 0, cm_notify_req),
	ENTRY(CM_MIGRATE, "cm_migrate", 0, 0, cm_migrate_req),
	ENTRY(CM_SET_OPTION, "cm_set_option", 0, 0, cm_set_option_req),
	ENTRY(CM_QUERY, "cm_query", 0, 0, cm_query_req),
	ENTRY(QP_MCAST, "qp_mcast", DISPATCH_NEEDS_DEVICE, 0, cm_qp_mcast_req),
	ENTRY(CM_JOIN, "cm_join", 0, 0, cm_join_req),
	/* Anyone may ask; the handlers show non-admins only their own. */
	ENTRY(DAEMON_STATUS, "status", 0, 0, admin_status),
	ENTRY(CLIENT_LIST, "client_list", 0, 0, admin_client_list),
	ENTRY(DEVICE_SHOW, "device_show", 0, 0, admin_device_show),
	ENTRY(RES_SHOW, "res_show", 0, 0, admin_res_show),
	ENTRY(RES_SUMMARY, "res_summary", 0, 0, admin_res_summary),
	ENTRY(LIMITS_SHOW, "limits_show", 0, 0, admin_limits_show),
	ENTRY(LIMITS_SET, "limits_set", DISPATCH_ADMIN, 0, admin_limits_set),
	ENTRY(CLIENT_KILL, "client_kill", DISPATCH_ADMIN, 0, admin_client_kill),
	ENTRY(STAT, "stat", 0, 0, stat_show),
	ENTRY(TRANSPORT_STAT, "transport_stat", 0, 0, device_transport_stat),
};

#define DISPATCH_TABLE_LEN (sizeof(dispatch_table) / sizeof(dispatch_table[0]))

void *reply_alloc(struct rb_reply *rep, size_t size)
{
	void **n;
	void *p;

	n = realloc(rep->allocs, (rep->nallocs + 1) * sizeof(*n));
	if (!n)
		return NULL;
	rep->allocs = n;
	p = calloc(1, size);
	if (!p)
		return NULL;
	rep->allocs[rep->nallocs++] = p;
	return p;
}

char *reply_strdup(struct rb_reply *rep, const char *str)
{
	size_t len = strlen(str);
	char *p = reply_alloc(rep, len + 1);

	if (!p)
		return (char *)"";
	memcpy(p, str, len);
	return p;
}

void reply_error(struct rb_reply *rep, const char *fmt, ...)
{
	va_list ap;

	if (!rep)
		return;		/* an internal lookup: nobody to tell */
	va_start(ap, fmt);
	vsnprintf(rep->error, sizeof(rep->error), fmt, ap);
	va_end(ap);
}

static void reply_free(struct rb_reply *rep)
{
	for (size_t i = 0; i < rep->nallocs; i++)
		free(rep->allocs[i]);
	free(rep->allocs);
	for (size_t i = 0; i < rep->nfds; i++)
		close(rep->fds[i]);
}

/*
 * Walk a decoded message: every string within DISPATCH_MAX_STRING, every
 * repeated field within DISPATCH_MAX_REPEATED, every bytes field within
 * the frame.  protobuf-c already checked required fields and types.
 */
static int dispatch_check_msg(const ProtobufCMessage *m, const char **what,
			      int depth)
{
	const ProtobufCMessageDescriptor *desc = m->descriptor;

	if (depth > 8)
		return -EINVAL;
	for (unsigned int i = 0; i < desc->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &desc->fields[i];
		const char *base = (const char *)m + f->offset;
		size_t n = 1;
		const void *elems = base;

		if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
			uint32_t which;

			memcpy(&which, (const char *)m + f->quantifier_offset,
			       sizeof(which));
			if (which != f->id)
				continue;
		}
		if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			memcpy(&n, (const char *)m + f->quantifier_offset,
			       sizeof(n));
			if (n > DISPATCH_MAX_REPEATED) {
				*what = f->name;
				return -E2BIG;
			}
			memcpy(&elems, base, sizeof(elems));
		}
		for (size_t k = 0; k < n; k++) {
			if (f->type == PROTOBUF_C_TYPE_STRING) {
				const char *str;

				memcpy(&str, (const char *const *)elems + k,
				       sizeof(str));
				if (str && strlen(str) > DISPATCH_MAX_STRING) {
					*what = f->name;
					return -ENAMETOOLONG;
				}
			} else if (f->type == PROTOBUF_C_TYPE_MESSAGE) {
				const ProtobufCMessage *sub;
				int ret;

				memcpy(&sub, (const ProtobufCMessage *const *)elems + k,
				       sizeof(sub));
				if (!sub)
					continue;
				ret = dispatch_check_msg(sub, what, depth + 1);
				if (ret < 0)
					return ret;
			}
		}
	}
	return 0;
}

static void dispatch_reply(struct rb_session *s, struct rb_reply *rep,
			   uint32_t seq, int ret)
{
	rep->msg.seq = seq;
	rep->msg.status = -ret;
	if (ret < 0) {
		rep->msg.body_case = RDMABROKER__REPLY__BODY__NOT_SET;
		rep->msg.error = rep->error[0] ? rep->error :
				 (char *)strerror(-ret);
	}
	if (!rep->no_reply &&
	    session_send(s, RB_WIRE_REPLY, &rep->msg.base, rep->fds,
			 rep->nfds) == 0)
		rep->nfds = 0;	/* transferred */
	if (rep->close_after)
		s->closing = true;
}

int dispatch_request(struct rb_session *s, const struct rb_wire_msg *msg)
{
	struct rb_reply rep = { .msg = RDMABROKER__REPLY__INIT };
	const struct dispatch_entry *e = NULL;
	Rdmabroker__Request *req;
	const char *what = NULL;
	uint32_t seq = 0;
	int ret, kind = 0;

	req = rdmabroker__request__unpack(NULL, msg->len, msg->payload);
	if (!req) {
		log_warn("client %" PRIu64 " (pid %d): undecodable request of %zu bytes refused",
			 s->id, (int)s->pid, msg->len);
		reply_error(&rep, "request could not be decoded");
		ret = -EBADMSG;
		goto out;
	}
	seq = req->seq;
	kind = (int)req->body_case;
	if ((size_t)req->body_case < DISPATCH_TABLE_LEN)
		e = &dispatch_table[req->body_case];
	if (!e || !e->fn) {
		log_warn("client %" PRIu64 " (pid %d): unknown request type %d refused",
			 s->id, (int)s->pid, (int)req->body_case);
		reply_error(&rep, "unknown request type %d", (int)req->body_case);
		ret = -EOPNOTSUPP;
		goto out;
	}
	ret = dispatch_check_msg(&req->base, &what, 0);
	if (ret < 0) {
		log_warn("client %" PRIu64 " (pid %d): %s: field %s too large, refused",
			 s->id, (int)s->pid, e->name, what ? what : "?");
		reply_error(&rep, "%s: field %s is too large", e->name,
			    what ? what : "?");
		goto out;
	}
	if (msg->nfds != e->nfds &&
	    !((e->flags & DISPATCH_FDS_UPTO) && msg->nfds < e->nfds)) {
		log_warn("client %" PRIu64 " (pid %d): %s carried %zu fds, expected %zu; refused",
			 s->id, (int)s->pid, e->name, msg->nfds, e->nfds);
		reply_error(&rep, "%s: expected %zu file descriptors, got %zu",
			    e->name, e->nfds, msg->nfds);
		ret = -EBADMSG;
		goto out;
	}
	if (!s->handshaken && !(e->flags & DISPATCH_PRE_HELLO)) {
		log_warn("client %" PRIu64 " (pid %d): %s before the handshake, refused",
			 s->id, (int)s->pid, e->name);
		reply_error(&rep, "%s: handshake (Hello) required first", e->name);
		ret = -EPROTO;
		goto out;
	}
	if (s->handshaken && (e->flags & DISPATCH_PRE_HELLO)) {
		log_info("client %" PRIu64 " (pid %d): %s again, refused",
			 s->id, (int)s->pid, e->name);
		reply_error(&rep, "%s: already done", e->name);
		ret = -EALREADY;
		goto out;
	}
	if ((e->flags & DISPATCH_ADMIN) && !s->admin) {
		log_notice("client %" PRIu64 " (pid %d uid %u): %s needs admin, refused",
			   s->id, (int)s->pid, (unsigned int)s->uid, e->name);
		reply_error(&rep, "%s: permission denied (needs root or the admin group)",
			    e->name);
		ret = -EPERM;
		goto out;
	}
	if ((e->flags & DISPATCH_NEEDS_DEVICE) && !s->device) {
		log_info("client %" PRIu64 " (pid %d): %s without a device, refused",
			 s->id, (int)s->pid, e->name);
		reply_error(&rep, "%s: no device opened on this connection",
			    e->name);
		ret = -EBADF;
		goto out;
	}
	log_debug("client %" PRIu64 ": %s", s->id, e->name);
	/* A handler that succeeds owns the request's fds. */
	rep.in_fds = msg->fds;
	rep.in_nfds = msg->nfds;
	ret = e->fn(s, req, &rep);
	if (ret < 0)
		log_info("client %" PRIu64 " (pid %d): %s refused (%s)%s%s", s->id,
			 (int)s->pid, e->name, strerrorname_np(-ret) ?
			 strerrorname_np(-ret) : "?", rep.error[0] ? ": " : "",
			 rep.error);
out:
	/* fds of a refused request are ours to close */
	if (ret < 0 || !e)
		for (size_t i = 0; i < msg->nfds; i++)
			close(msg->fds[i]);
	dispatch_reply(s, &rep, seq, ret);
	reply_free(&rep);
	if (req)
		rdmabroker__request__free_unpacked(req, NULL);
	return kind;
}
