/* SPDX-License-Identifier: MIT */
/*
 * The one dispatch table.  dispatch_request() validates a request once
 * (decoding, required fields, string and list sizes, handshake state,
 * permission, fds) and only then calls the handler, which may trust what
 * it is handed.  Handlers return 0 or -errno; on failure they may set a
 * human-readable reason with reply_error().
 */
#ifndef RB_DAEMON_DISPATCH_H
#define RB_DAEMON_DISPATCH_H

#include <stddef.h>

#include "daemon/daemon.h"

/* A reply under construction; its allocations die with it. */
struct rb_reply {
	Rdmabroker__Reply msg;
	char error[256];
	void **allocs;
	size_t nallocs;
	int fds[RB_WIRE_MAX_FDS];	/* sent with the reply, then closed */
	size_t nfds;
	bool close_after;		/* drop the session once sent */
	bool no_reply;			/* an asynchronous request: none sent */
	const int *in_fds;		/* the request's; a handler that */
	size_t in_nfds;			/* succeeds owns (closes) them */
};

/* Zeroed memory freed with the reply; NULL on ENOMEM. */
void *reply_alloc(struct rb_reply *rep, size_t size);
/* A copy of str living as long as the reply (never NULL: "" on ENOMEM). */
char *reply_strdup(struct rb_reply *rep, const char *str);
void reply_error(struct rb_reply *rep, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

typedef int (*dispatch_fn)(struct rb_session *s,
			   const Rdmabroker__Request *req,
			   struct rb_reply *rep);

/* Handlers (session.c: hello; device.c: device family; admin.c: admin). */
int session_hello(struct rb_session *s, const Rdmabroker__Request *req,
		  struct rb_reply *rep);
int device_list(struct rb_session *s, const Rdmabroker__Request *req,
		struct rb_reply *rep);
int device_open(struct rb_session *s, const Rdmabroker__Request *req,
		struct rb_reply *rep);
int device_query(struct rb_session *s, const Rdmabroker__Request *req,
		 struct rb_reply *rep);
int device_port_query(struct rb_session *s, const Rdmabroker__Request *req,
		      struct rb_reply *rep);
int device_gid_query(struct rb_session *s, const Rdmabroker__Request *req,
		     struct rb_reply *rep);
int device_pkey_query(struct rb_session *s, const Rdmabroker__Request *req,
		      struct rb_reply *rep);
int device_transport_stat(struct rb_session *s, const Rdmabroker__Request *req,
			  struct rb_reply *rep);
int pd_alloc(struct rb_session *s, const Rdmabroker__Request *req,
	     struct rb_reply *rep);
int pd_dealloc(struct rb_session *s, const Rdmabroker__Request *req,
	       struct rb_reply *rep);
int channel_create(struct rb_session *s, const Rdmabroker__Request *req,
		   struct rb_reply *rep);
int channel_destroy_req(struct rb_session *s, const Rdmabroker__Request *req,
			struct rb_reply *rep);
int cq_create(struct rb_session *s, const Rdmabroker__Request *req,
	      struct rb_reply *rep);
int cq_resize(struct rb_session *s, const Rdmabroker__Request *req,
	      struct rb_reply *rep);
int cq_destroy_req(struct rb_session *s, const Rdmabroker__Request *req,
		   struct rb_reply *rep);
int qp_create(struct rb_session *s, const Rdmabroker__Request *req,
	      struct rb_reply *rep);
int qp_modify(struct rb_session *s, const Rdmabroker__Request *req,
	      struct rb_reply *rep);
int qp_query(struct rb_session *s, const Rdmabroker__Request *req,
	     struct rb_reply *rep);
int qp_destroy_req(struct rb_session *s, const Rdmabroker__Request *req,
		   struct rb_reply *rep);
int qp_open(struct rb_session *s, const Rdmabroker__Request *req,
	    struct rb_reply *rep);
int srq_create(struct rb_session *s, const Rdmabroker__Request *req,
	       struct rb_reply *rep);
int srq_modify(struct rb_session *s, const Rdmabroker__Request *req,
	       struct rb_reply *rep);
int srq_query(struct rb_session *s, const Rdmabroker__Request *req,
	      struct rb_reply *rep);
int srq_destroy_req(struct rb_session *s, const Rdmabroker__Request *req,
		    struct rb_reply *rep);
int mr_reg(struct rb_session *s, const Rdmabroker__Request *req,
	   struct rb_reply *rep);
int mr_dereg(struct rb_session *s, const Rdmabroker__Request *req,
	     struct rb_reply *rep);
int mr_rereg(struct rb_session *s, const Rdmabroker__Request *req,
	     struct rb_reply *rep);
/* The MR fields of a `rdmactl res` entry. */
void mr_describe(const struct rb_res *r, Rdmabroker__ResEntry *e);
/* At the end of a session, after its objects: what mr.c keeps for it. */
void mr_session_fini(struct rb_session *s);
/* xrcd.c */
int xrcd_open(struct rb_session *s, const Rdmabroker__Request *req,
	      struct rb_reply *rep);
int xrcd_close(struct rb_session *s, const Rdmabroker__Request *req,
	       struct rb_reply *rep);
/* mw.c */
int mw_alloc(struct rb_session *s, const Rdmabroker__Request *req,
	     struct rb_reply *rep);
int mw_dealloc(struct rb_session *s, const Rdmabroker__Request *req,
	       struct rb_reply *rep);
int ah_create(struct rb_session *s, const Rdmabroker__Request *req,
	      struct rb_reply *rep);
int ah_destroy_req(struct rb_session *s, const Rdmabroker__Request *req,
		   struct rb_reply *rep);
/* Address vectors (ah.c), shared by AHs and IBV_QP_AV; converted by
 * proto/conv.h.  Do m's values fit struct ibv_ah_attr (else refused, said in rep)? */
bool ah_attr_pb_fits(const Rdmabroker__AhAttr *m, struct rb_reply *rep);
int ah_attr_check(const struct rb_device *dev, const struct ibv_ah_attr *a,
		  bool port_required, struct rb_reply *rep);
/* cm.c: the connection manager (docs/cm.md). */
int cm_channel_create(struct rb_session *s, const Rdmabroker__Request *req,
	struct rb_reply *rep);
int cm_channel_destroy_req(struct rb_session *s, const Rdmabroker__Request *req,
	struct rb_reply *rep);
int cm_id_create(struct rb_session *s, const Rdmabroker__Request *req,
	struct rb_reply *rep);
int cm_id_destroy_req(struct rb_session *s, const Rdmabroker__Request *req,
	struct rb_reply *rep);
int cm_bind_req(struct rb_session *s, const Rdmabroker__Request *req,
	struct rb_reply *rep);
int cm_resolve_addr_req(struct rb_session *s, const Rdmabroker__Request *req,
	struct rb_reply *rep);
int cm_resolve_route_req(struct rb_session *s, const Rdmabroker__Request *req,
	struct rb_reply *rep);
int cm_listen_req(struct rb_session *s, const Rdmabroker__Request *req,
	struct rb_reply *rep);
int cm_connect_req(struct rb_session *s, const Rdmabroker__Request *req,
	struct rb_reply *rep);
int cm_accept_req(struct rb_session *s, const Rdmabroker__Request *req,
	struct rb_reply *rep);
int cm_reject_req(struct rb_session *s, const Rdmabroker__Request *req,
	struct rb_reply *rep);
int cm_disconnect_req(struct rb_session *s, const Rdmabroker__Request *req,
	struct rb_reply *rep);
int cm_establish_req(struct rb_session *s, const Rdmabroker__Request *req,
	struct rb_reply *rep);
int cm_notify_req(struct rb_session *s, const Rdmabroker__Request *req,
	struct rb_reply *rep);
int cm_migrate_req(struct rb_session *s, const Rdmabroker__Request *req,
	struct rb_reply *rep);
int cm_set_option_req(struct rb_session *s, const Rdmabroker__Request *req,
	struct rb_reply *rep);
int cm_query_req(struct rb_session *s, const Rdmabroker__Request *req,
	struct rb_reply *rep);
int cm_qp_mcast_req(struct rb_session *s, const Rdmabroker__Request *req,
	struct rb_reply *rep);
int cm_join_req(struct rb_session *s, const Rdmabroker__Request *req,
	struct rb_reply *rep);
void cm_describe(const struct rb_res *r, Rdmabroker__ResEntry *e,
		 struct rb_reply *rep);
/* The QP fields of a `rdmactl res` entry. */
void qp_describe(const struct rb_res *r, Rdmabroker__ResEntry *e);
int stat_show(struct rb_session *s, const Rdmabroker__Request *req,
	      struct rb_reply *rep);
int admin_limits_show(struct rb_session *s, const Rdmabroker__Request *req,
		      struct rb_reply *rep);
int admin_limits_set(struct rb_session *s, const Rdmabroker__Request *req,
		     struct rb_reply *rep);
int admin_client_kill(struct rb_session *s, const Rdmabroker__Request *req,
		      struct rb_reply *rep);
int admin_res_show(struct rb_session *s, const Rdmabroker__Request *req,
		   struct rb_reply *rep);
int admin_res_summary(struct rb_session *s, const Rdmabroker__Request *req,
		      struct rb_reply *rep);
int admin_status(struct rb_session *s, const Rdmabroker__Request *req,
		 struct rb_reply *rep);
int admin_client_list(struct rb_session *s, const Rdmabroker__Request *req,
		      struct rb_reply *rep);
int admin_device_show(struct rb_session *s, const Rdmabroker__Request *req,
		      struct rb_reply *rep);

/* Shared by device.c and admin.c: fill protobuf messages from a device. */
int device_fill_summary(struct rb_device *dev, struct rb_reply *rep,
			Rdmabroker__DeviceSummary **out);
int device_fill_attr(struct rb_device *dev, struct rb_reply *rep,
		     Rdmabroker__DeviceAttr **out);
int device_fill_port(struct rb_device *dev, uint8_t port,
		     struct rb_reply *rep, Rdmabroker__PortAttr **out);
int device_fill_gid(struct rb_device *dev, uint8_t port, int index,
		    struct rb_reply *rep, Rdmabroker__GidEntry **out);

#endif /* RB_DAEMON_DISPATCH_H */
