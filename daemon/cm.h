/* SPDX-License-Identifier: MIT */
/*
 * The connection manager (rdma_cm) the daemon serves; docs/cm.md.
 *
 * Two layers, as in the kernel (rdma_cm over ib_cm):
 *  - cm.c: ids, event channels, addresses and ports, the requests of the
 *    librdmacm API and the events they produce (the ucma/rdma_cm layer);
 *  - cm-msg.c: the connection protocol between two ids, spoken in the IB
 *    CM's messages (REQ, REP, RTU, REJ, DREQ, DREP, SIDR_REQ, SIDR_REP)
 *    with the IB CM's fields and private-data sizes, carried by a
 *    transport.  The only transport today is local (both ids in this
 *    daemon: the message is queued and delivered from the loop) or, to
 *    another host, cm-mad.c's, which packs the same messages into CM
 *    MADs on the device's QP1 (RoCEv2); nothing above them changes.
 */
#ifndef RB_DAEMON_CM_H
#define RB_DAEMON_CM_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include <infiniband/verbs.h>

#include "daemon/res.h"
#include "drivers/hash.h"

struct rb_daemon;
struct rb_device;
struct event;

/* The kernel's rdma_cm states, and the IB CM's connection states merged
 * in (one id is one IB CM id here).  Names in cm_state_name(). */
enum cm_state {
	CM_IDLE,
	CM_ADDR_QUERY,
	CM_ADDR_RESOLVED,
	CM_ROUTE_QUERY,
	CM_ROUTE_RESOLVED,
	CM_ADDR_BOUND,
	CM_LISTEN,
	CM_REQ_SENT,		/* REQ or SIDR_REQ out, no answer yet */
	CM_REQ_RCVD,		/* a new id from a REQ, not yet accepted */
	CM_REP_SENT,		/* accepted, waiting for RTU */
	CM_REP_RCVD,		/* CONNECT_RESPONSE given, waiting for establish */
	CM_ESTABLISHED,
	CM_DREQ_SENT,
	CM_DREQ_RCVD,
	CM_TIMEWAIT,
	CM_DISCONNECTED,	/* after timewait, or rejected */
	CM_UD,			/* a UD id with its peer resolved or accepted */
	CM_STATE_COUNT
};

/* The IB CM message types, as numbered in the MAD attribute ids. */
enum cm_msg_type {
	CM_MSG_REQ = 0x10,
	CM_MSG_MRA = 0x11,	/* across hosts only (cm-msg.c, "MRA") */
	CM_MSG_REJ = 0x12,
	CM_MSG_REP = 0x13,
	CM_MSG_RTU = 0x14,
	CM_MSG_DREQ = 0x15,
	CM_MSG_DREP = 0x16,
	CM_MSG_SIDR_REQ = 0x17,
	CM_MSG_SIDR_REP = 0x18,
};

/* The CM tries a REQ, REP or DREQ that goes to another host this many
 * times more (cm-msg.c), and says so in its REQ (cm-mad.c): the
 * kernel's rdma_cm's CMA_MAX_CM_RETRIES. */
#define CM_MAX_RETRIES		15

/* Private data each message carries, the IB CM's sizes. */
#define CM_REQ_PDATA		92	/* the IBTA's 92; rdma_cm lets 56 through */
#define CM_PDATA_MAX		224	/* RTU, the largest */

/* The IB CM's reject reasons we give (IBTA 12.6.7.2). */
#define CM_REJ_TIMEOUT			1
#define CM_REJ_INVALID_SERVICE_ID	8
#define CM_REJ_CONSUMER_DEFINED		28
/* SIDR_REP status */
#define CM_SIDR_UNSUPPORTED		1
#define CM_SIDR_REJECT			2

/* MRA: which message it answers (IBTA 12.6.6, "Message MRAed"). */
#define CM_MRA_REQ			0
#define CM_MRA_REP			1

/* The size rdma_cm's header (struct cma_hdr) takes of a REQ's or
 * SIDR_REQ's private data on the IP port spaces. */
#define CM_CMA_HDR		36

/*
 * One CM message: the fields of the IB CM MADs we use, host order.  A
 * transport packs it (the local one copies it).
 */
struct cm_msg {
	enum cm_msg_type type;
	uint32_t local_comm_id;		/* the sender's */
	uint32_t remote_comm_id;	/* the receiver's (0 in REQ) */
	uint64_t service_id;		/* REQ, SIDR_REQ */
	uint32_t qpn;			/* REQ, REP, SIDR_REP */
	uint32_t psn;			/* starting PSN: REQ, REP */
	uint32_t qkey;			/* SIDR_REP */
	uint8_t resp_res, init_depth;	/* REQ, REP */
	uint8_t retry, rnr_retry;
	uint8_t flow_control, srq;
	uint8_t mtu;			/* REQ: enum ibv_mtu of the path */
	uint8_t reason;			/* REJ reason, SIDR_REP status */
	uint8_t tclass;			/* REQ: the path's traffic class (TOS) */
	uint8_t mraed;			/* MRA: CM_MRA_REQ or CM_MRA_REP */
	uint8_t service_timeout;	/* MRA: 4.096 us << this, to wait */
	union ibv_gid sgid, dgid;	/* primary path: sender, receiver */
	uint16_t pdata_len;
	uint8_t pdata[CM_PDATA_MAX];
	uint64_t hold_until;		/* a REQ waiting for a listen (cm-msg.c) */
};

/*
 * How messages reach the CM that owns dgid.  send() takes a copy; it
 * never calls back into the CM before it returns.
 */
struct cm_transport {
	const char *name;
	int (*send)(struct rb_daemon *d, const struct cm_msg *m);
};

struct cm_channel {
	struct rb_res res;		/* must be first */
	int fd;				/* the daemon's end, write-only, nonblocking */
	struct event *ev_write;		/* armed while frames wait */
	STAILQ_HEAD(, cm_frame) outq;	/* events the socket had no room for */
	uint32_t outq_len;
	LIST_HEAD(, cm_id) ids;
};

struct cm_id {
	struct rb_res res;		/* must be first */
	struct rb_daemon *d;
	struct cm_channel *ch;		/* NULL once its channel is gone */
	LIST_ENTRY(cm_id) ch_link;
	TAILQ_ENTRY(cm_id) all_link;	/* every id, for ports and listens */
	TAILQ_ENTRY(cm_id) listen_link;	/* listening ids, for REQs (cm.c) */
	bool listed;			/* on listen_link */
	struct rb_hnode comm_node;	/* by local_comm_id */
	uint32_t ps;			/* enum rdma_port_space */
	uint32_t qp_type;		/* enum ibv_qp_type */
	enum cm_state state;
	struct sockaddr_storage src, dst;
	bool bound;			/* src holds a port we own */
	bool reuseaddr, afonly;
	struct rb_device *dev;		/* once bound to a device */
	uint8_t port_num;
	union ibv_gid sgid, dgid;
	uint8_t sgid_index;		/* sgid's place in dev's GID table */
	enum ibv_mtu mtu;
	uint8_t tos;
	bool tos_set;
	uint8_t timeout;		/* local ACK timeout, RDMA_OPTION_ID_ACK_TIMEOUT */

	/* the connection (cm-msg.c) */
	uint32_t local_comm_id, remote_comm_id;
	uint32_t qpn, psn;		/* ours */
	uint32_t remote_qpn, remote_psn;
	uint32_t qkey;
	uint8_t resp_res, init_depth, retry, rnr_retry;
	bool srq;
	/* The QP the daemon moves to RTR and RTS (CmConnectReq.qp_handle):
	 * its handle in a session of the owner's process, or 0. */
	uint32_t qp_handle;
	bool disc_reported;		/* DISCONNECTED given once */
	struct event *timer;		/* timewait */
	/* Across hosts, where messages may be lost: the REQ, REP or DREQ
	 * sent last, sent again until it is answered or the tries run out
	 * (cm-msg.c). */
	struct cm_msg *resend;
	struct event *resend_timer;
	uint8_t resend_left;
	/* Across hosts: a REQ (or REP) the application has not answered
	 * soon enough gets an MRA from this timer (cm-msg.c). */
	struct event *mra_timer;

	/* listening ids */
	int backlog;
	int pending;			/* REQ_RCVD children not yet accepted */
	struct cm_id *listener;		/* REQ_RCVD: who counts us in pending */
};

/*
 * cm.c: move id's QP (qp_handle) to RTR and RTS with the attributes
 * rdma_init_qp_attr() gives, as librdmacm does on the client's behalf;
 * 0 or -errno (rep's error set; rep may be NULL).
 */
struct rb_reply;
int cm_qp_ready(struct cm_id *id, struct rb_reply *rep);

/* cm.c: the daemon's CM. */
int cm_init(struct rb_daemon *d);
void cm_fini(struct rb_daemon *d);
const char *cm_state_name(enum cm_state st);
/* Queue an event for the id's channel; private data from m (after skip). */
void cm_event(struct cm_id *id, uint32_t event, int32_t status,
	      const struct cm_msg *m, size_t skip, struct cm_id *child);
/* The listening id that takes a REQ or SIDR_REQ for service id, or NULL. */
struct cm_id *cm_listener_find(struct rb_daemon *d, uint64_t service_id,
			       const struct sockaddr *dst);
/* A new id for a connection request, on the listener's channel. */
struct cm_id *cm_id_child(struct cm_id *listen);
struct cm_id *cm_id_by_comm(struct rb_daemon *d, uint32_t comm_id);
/* The id that knows comm_id as its peer's, or NULL (a REJ that raced
 * the REP that would have told the sender who we are). */
struct cm_id *cm_id_by_remote(struct rb_daemon *d, uint32_t comm_id);
/* The port space and port of an rdma_cm service id. */
uint64_t cm_service_id(uint32_t ps, const struct sockaddr *sa);

/* cm-msg.c: the connection protocol. */
extern const struct cm_transport cm_transport_local;
/* cm-mad.c: across hosts, as CM MADs on a device's GSI (QP1). */
extern const struct cm_transport cm_transport_rocev2;
void cm_mad_init(struct rb_daemon *d);
/* The device whose GID table holds gid (its index in *index), or NULL. */
struct rb_device *cm_mad_dev_of_gid(struct rb_daemon *d, const uint8_t gid[16],
				    int *index);
/* The route to dst, an address of another host: the source address the
 * kernel would send from (*src, no port), the device and GID it is, the
 * destination's GID and the path's IB MTU.  0 or -errno. */
struct cm_route {
	struct rb_device *dev;
	union ibv_gid sgid, dgid;
	int sgid_index;
	enum ibv_mtu mtu;
};
int cm_mad_route(struct rb_daemon *d, const struct sockaddr *dst,
		 struct sockaddr_storage *src, struct cm_route *rt);
int cm_msg_send(struct rb_daemon *d, const struct cm_msg *m);
void cm_msg_recv(struct rb_daemon *d, const struct cm_msg *m);
/* The messages an id sends at each step of the API. */
int cm_send_req(struct cm_id *id, const uint8_t *pdata, size_t len);
int cm_send_rep(struct cm_id *id, const uint8_t *pdata, size_t len);
int cm_send_rtu(struct cm_id *id);
int cm_send_rej(struct cm_id *id, uint8_t reason, const uint8_t *pdata,
		size_t len);
int cm_send_dreq(struct cm_id *id);
/* The id goes away: tell the peer as the IB CM does. */
void cm_conn_abort(struct cm_id *id);
/* rdma_disconnect: DREQ, or DREP to a DREQ received. */
int cm_conn_disconnect(struct cm_id *id);
int cm_msg_fill_cma_hdr(struct cm_id *id, uint8_t *hdr);
/* The id goes: nothing more is sent again for it. */
void cm_resend_stop(struct cm_id *id);
void cm_timewait_start(struct cm_id *id);

/* A listen was made: REQs held for want of one look again. */
void cm_listen_ready(struct rb_daemon *d);

/* The queue the local transport delivers from. */
struct cm_local;
int cm_local_init(struct rb_daemon *d);
void cm_local_fini(struct rb_daemon *d);

#endif /* RB_DAEMON_CM_H */
