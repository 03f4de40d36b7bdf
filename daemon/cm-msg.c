/* SPDX-License-Identifier: MIT */
/*
 * The connection protocol between two CM ids, in the IB CM's messages
 * (cm.h), and the local transport that carries them between ids of this
 * daemon.  Each received message is handled by its row of cm_msg_table,
 * as the IB CM's state machine does: what an id in its state makes of it,
 * which event its owner gets, and what goes back.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <time.h>

#include <event2/event.h>
#include <rdma/rdma_cma.h>

#include "daemon/cm.h"
#include "daemon/daemon.h"
#include "daemon/log.h"

/* How long an id stays in timewait after a disconnect before
 * TIMEWAIT_EXIT.  The IB CM waits out the packet lifetime; the soft
 * device's "wire" is memory, so a short pause keeps the event's order. */
#define CM_TIMEWAIT_MS	10
/* How long a REQ that finds nobody listening waits for a listen before
 * it is rejected: a listen racing a connect (perftest -R makes its second
 * connection while its server listens again) is not refused, and a port
 * nobody listens on is still refused promptly. */
#define CM_REQ_HOLD_MS	100

/* ------------------------------------------------------------ transport */

struct cm_qmsg {
	STAILQ_ENTRY(cm_qmsg) link;
	struct cm_msg m;
};

struct cm_local {
	STAILQ_HEAD(, cm_qmsg) q;
	struct event *ev;
	STAILQ_HEAD(, cm_qmsg) held;	/* REQs waiting for a listen */
	struct event *ev_held;
};

static uint64_t cm_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void cm_held_cb(evutil_socket_t fd, short what, void *arg);
static void cm_disconnected(struct cm_id *id, int status);

static void cm_local_cb(evutil_socket_t fd, short what, void *arg)
{
	struct rb_daemon *d = arg;
	struct cm_local *l = d->cm_local;
	STAILQ_HEAD(, cm_qmsg) now = STAILQ_HEAD_INITIALIZER(now);
	struct cm_qmsg *q;

	(void)fd;
	(void)what;
	/* Only what was queued before: replies go round the loop again. */
	STAILQ_CONCAT(&now, &l->q);
	while ((q = STAILQ_FIRST(&now))) {
		STAILQ_REMOVE_HEAD(&now, link);
		cm_msg_recv(d, &q->m);
		free(q);
	}
}

static int cm_local_send(struct rb_daemon *d, const struct cm_msg *m)
{
	struct cm_local *l = d->cm_local;
	struct cm_qmsg *q = malloc(sizeof(*q));

	if (!q)
		return -ENOMEM;
	q->m = *m;
	STAILQ_INSERT_TAIL(&l->q, q, link);
	event_active(l->ev, EV_TIMEOUT, 0);
	return 0;
}

/* Every held REQ is looked at again: delivered, held on, or refused. */
static void cm_held_retry(struct rb_daemon *d)
{
	struct cm_local *l = d->cm_local;
	STAILQ_HEAD(, cm_qmsg) now = STAILQ_HEAD_INITIALIZER(now);
	struct cm_qmsg *q;

	STAILQ_CONCAT(&now, &l->held);
	while ((q = STAILQ_FIRST(&now))) {
		STAILQ_REMOVE_HEAD(&now, link);
		cm_msg_recv(d, &q->m);
		free(q);
	}
}

static void cm_held_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	cm_held_retry(arg);
}

void cm_listen_ready(struct rb_daemon *d)
{
	if (d->cm_local && STAILQ_FIRST(&d->cm_local->held))
		cm_held_retry(d);
}

/* Keep a REQ nobody listens for, for a while; false once its time is up. */
static bool cm_hold(struct rb_daemon *d, const struct cm_msg *m)
{
	struct cm_local *l = d->cm_local;
	uint64_t now = cm_now_ms();
	struct timeval tv;
	struct cm_qmsg *q;

	if (m->hold_until && now >= m->hold_until)
		return false;
	q = malloc(sizeof(*q));
	if (!q)
		return false;
	q->m = *m;
	if (!q->m.hold_until)
		q->m.hold_until = now + CM_REQ_HOLD_MS;
	STAILQ_INSERT_TAIL(&l->held, q, link);
	tv.tv_sec = 0;
	tv.tv_usec = (suseconds_t)(q->m.hold_until - now) * 1000 + 1000;
	if (!evtimer_pending(l->ev_held, NULL))
		evtimer_add(l->ev_held, &tv);
	return true;
}

const struct cm_transport cm_transport_local = {
	.name = "local",
	.send = cm_local_send,
};

int cm_local_init(struct rb_daemon *d)
{
	struct cm_local *l = calloc(1, sizeof(*l));

	if (!l)
		return -ENOMEM;
	STAILQ_INIT(&l->q);
	STAILQ_INIT(&l->held);
	l->ev = event_new(d->base, -1, 0, cm_local_cb, d);
	l->ev_held = evtimer_new(d->base, cm_held_cb, d);
	if (!l->ev || !l->ev_held) {
		if (l->ev)
			event_free(l->ev);
		if (l->ev_held)
			event_free(l->ev_held);
		free(l);
		return -ENOMEM;
	}
	d->cm_local = l;
	return 0;
}

void cm_local_fini(struct rb_daemon *d)
{
	struct cm_local *l = d->cm_local;
	struct cm_qmsg *q;

	if (!l)
		return;
	while ((q = STAILQ_FIRST(&l->q))) {
		STAILQ_REMOVE_HEAD(&l->q, link);
		free(q);
	}
	while ((q = STAILQ_FIRST(&l->held))) {
		STAILQ_REMOVE_HEAD(&l->held, link);
		free(q);
	}
	event_free(l->ev_held);
	event_free(l->ev);
	free(l);
	d->cm_local = NULL;
}

/* m goes to another host: its destination GID is none of this daemon's
 * devices' (every connection on one host has sgid == dgid). */
static bool cm_msg_remote(struct rb_daemon *d, const struct cm_msg *m)
{
	return memcmp(m->sgid.raw, m->dgid.raw, 16) &&
	       !cm_mad_dev_of_gid(d, m->dgid.raw, NULL);
}

/*
 * Every message leaves here.  Which transport carries it is decided by
 * its destination GID: this daemon's stays here; another host's goes as
 * a CM MAD (cm-mad.c).
 */
int cm_msg_send(struct rb_daemon *d, const struct cm_msg *m)
{
	if (!cm_msg_remote(d, m))
		return cm_transport_local.send(d, m);
	return cm_transport_rocev2.send(d, m);
}

/* ------------------------------------------------------------ resending */

/*
 * Across hosts a MAD may be lost.  A REQ, REP or DREQ is sent again every
 * CM_RESEND_MS until its answer moves the id on (REP or REJ; RTU; DREP),
 * CM_MAX_RETRIES times (the count our REQ gives the peer, and the
 * kernel's: with 4 tries a link losing 8 % of its frames failed about
 * one exchange in 10,000), then the id gives up as the kernel's CM does:
 * UNREACHABLE (-ETIMEDOUT) and a REJ (timeout) for a REQ or REP, the
 * disconnect done for a DREQ.  Duplicates the peer gets are answered
 * again (cm_recv_req, cm_recv_rep, cm_recv_dreq).  The local transport
 * loses nothing: nothing is kept for it.
 */
#define CM_RESEND_MS		1000

void cm_resend_stop(struct cm_id *id)
{
	if (id->resend_timer)
		event_free(id->resend_timer);
	id->resend_timer = NULL;
	free(id->resend);
	id->resend = NULL;
}

/* The state in which the kept message still waits for its answer. */
static enum cm_state cm_resend_waits(const struct cm_msg *m)
{
	switch (m->type) {
	case CM_MSG_REQ:
	case CM_MSG_SIDR_REQ:
		return CM_REQ_SENT;
	case CM_MSG_REP:
		return CM_REP_SENT;
	default:
		return CM_DREQ_SENT;
	}
}

static void cm_resend_cb(evutil_socket_t fd, short what, void *arg)
{
	struct cm_id *id = arg;
	struct timeval tv = { CM_RESEND_MS / 1000, (CM_RESEND_MS % 1000) * 1000 };
	enum cm_msg_type type;

	(void)fd;
	(void)what;
	if (!id->resend || id->state != cm_resend_waits(id->resend)) {
		cm_resend_stop(id);	/* answered */
		return;
	}
	if (id->resend_left) {
		id->resend_left--;
		log_debug("CM: no answer to comm id %#x's %s yet: sent again",
			  id->local_comm_id, id->resend->type == CM_MSG_REP ? "REP" :
			  id->resend->type == CM_MSG_DREQ ? "DREQ" : "REQ");
		cm_msg_send(id->d, id->resend);
		evtimer_add(id->resend_timer, &tv);
		return;
	}
	type = id->resend->type;
	cm_resend_stop(id);
	log_info("CM: no answer from the peer to %s after %d tries",
		 type == CM_MSG_DREQ ? "a DREQ" : type == CM_MSG_REP ? "a REP" : "a REQ",
		 CM_MAX_RETRIES + 1);
	if (type == CM_MSG_DREQ) {
		cm_timewait_start(id);
		cm_disconnected(id, 0);
		return;
	}
	if (type != CM_MSG_SIDR_REQ)
		cm_send_rej(id, CM_REJ_TIMEOUT, NULL, 0);
	if (id->listener) {
		id->listener->pending--;
		id->listener = NULL;
	}
	id->state = CM_DISCONNECTED;
	cm_event(id, RDMA_CM_EVENT_UNREACHABLE, -ETIMEDOUT, NULL, 0, NULL);
}

/* Send m for id, kept to be sent again if it goes to another host. */
static int cm_send_kept(struct cm_id *id, const struct cm_msg *m)
{
	struct timeval tv = { CM_RESEND_MS / 1000, (CM_RESEND_MS % 1000) * 1000 };
	int ret = cm_msg_send(id->d, m);

	if (ret < 0 || !cm_msg_remote(id->d, m))
		return ret;
	if (!id->resend)
		id->resend = malloc(sizeof(*id->resend));
	if (!id->resend_timer)
		id->resend_timer = evtimer_new(id->d->base, cm_resend_cb, id);
	if (!id->resend || !id->resend_timer) {
		cm_resend_stop(id);	/* sent once, as the local transport */
		return 0;
	}
	*id->resend = *m;
	id->resend_left = CM_MAX_RETRIES;
	evtimer_add(id->resend_timer, &tv);
	return 0;
}

/* ------------------------------------------------------------ MRA */

/*
 * MRA, "message received, answer later" (IBTA 12.6.6), across hosts.
 * A REQ waits for the application's rdma_accept (a REP without a QP for
 * its rdma_establish/rdma_accept after CONNECT_RESPONSE), which may come
 * later than the peer waits before it sends again and, after its tries,
 * gives up.  So if the application has not answered CM_MRA_AFTER_MS
 * after the message came (half our resend period: before the peer's
 * first resend), an MRA goes back asking the peer to wait
 * CM_MRA_SERVICE_TIMEOUT; each copy of the message sent again while
 * the application still has not answered gets another MRA.  The
 * kernel's rdma_cm sends its MRA at once for every REQ it gives to user
 * space, with the same service timeout; ours goes only when it is
 * needed, so a connect accepted at once costs no MAD more.  An MRA
 * received holds our resending of the message it names for its service
 * timeout plus one resend period (cm_recv_mra); then the message goes
 * again, and a peer still waiting answers it with another MRA.  The
 * local transport has no resending, so it needs no MRA.
 */
#define CM_MRA_AFTER_MS		(CM_RESEND_MS / 2)
/* 4.096 us << 24, about 68.7 s: the kernel's CMA_CM_MRA_SETTING. */
#define CM_MRA_SERVICE_TIMEOUT	24
#define CM_MRA_PDATA		222

/* The id, made or moved by a message from another host, waits for its
 * application (REQ_RCVD or REP_RCVD). */
static bool cm_mra_due(const struct cm_id *id)
{
	return (id->state == CM_REQ_RCVD || id->state == CM_REP_RCVD) &&
	       id->qp_type != IBV_QPT_UD;
}

static int cm_send_mra(struct cm_id *id)
{
	struct cm_msg m;

	memset(&m, 0, sizeof(m));
	m.type = CM_MSG_MRA;
	m.local_comm_id = id->local_comm_id;
	m.remote_comm_id = id->remote_comm_id;
	m.sgid = id->sgid;
	m.dgid = id->dgid;
	m.mraed = id->state == CM_REQ_RCVD ? CM_MRA_REQ : CM_MRA_REP;
	m.service_timeout = CM_MRA_SERVICE_TIMEOUT;
	m.pdata_len = CM_MRA_PDATA;
	log_debug("CM: comm id %#x's application has not answered the %s yet: MRA",
		  id->local_comm_id, m.mraed == CM_MRA_REQ ? "REQ" : "REP");
	return cm_msg_send(id->d, &m);
}

static void cm_mra_cb(evutil_socket_t fd, short what, void *arg)
{
	struct cm_id *id = arg;

	(void)fd;
	(void)what;
	if (cm_mra_due(id))
		cm_send_mra(id);
}

/* id has just taken a REQ or REP from another host for its application. */
static void cm_mra_arm(struct cm_id *id)
{
	struct timeval tv = { CM_MRA_AFTER_MS / 1000, (CM_MRA_AFTER_MS % 1000) * 1000 };

	if (!cm_mra_due(id) || !memcmp(id->sgid.raw, id->dgid.raw, 16) ||
	    cm_mad_dev_of_gid(id->d, id->dgid.raw, NULL))
		return;		/* same host: nothing is resent, no MRA */
	if (!id->mra_timer)
		id->mra_timer = evtimer_new(id->d->base, cm_mra_cb, id);
	if (id->mra_timer)
		evtimer_add(id->mra_timer, &tv);
}

/* ------------------------------------------------------------ sending */

static void cm_msg_init(struct cm_msg *m, const struct cm_id *id,
			enum cm_msg_type type)
{
	memset(m, 0, sizeof(*m));
	m->type = type;
	m->local_comm_id = id->local_comm_id;
	m->remote_comm_id = id->remote_comm_id;
	m->sgid = id->sgid;
	m->dgid = id->dgid;
}

static void cm_msg_pdata(struct cm_msg *m, size_t off, size_t size,
			 const uint8_t *pdata, size_t len)
{
	/* The IB CM's private data is fixed size, zero padded. */
	if (len)
		memcpy(m->pdata + off, pdata, len);
	m->pdata_len = (uint16_t)size;
}

/* rdma_cm's header at the start of a REQ's private data (the kernel's
 * struct cma_hdr: version, IP version, source port, both addresses). */
int cm_msg_fill_cma_hdr(struct cm_id *id, uint8_t *hdr)
{
	const struct sockaddr *src = (const struct sockaddr *)&id->src;
	const struct sockaddr *dst = (const struct sockaddr *)&id->dst;
	uint16_t port;

	memset(hdr, 0, CM_CMA_HDR);
	hdr[0] = 0x00;				/* CMA_VERSION */
	if (src->sa_family == AF_INET) {
		hdr[1] = 4 << 4;
		port = ((const struct sockaddr_in *)src)->sin_port;
		memcpy(hdr + 4 + 12, &((const struct sockaddr_in *)src)->sin_addr, 4);
		memcpy(hdr + 20 + 12, &((const struct sockaddr_in *)dst)->sin_addr, 4);
	} else {
		hdr[1] = 6 << 4;
		port = ((const struct sockaddr_in6 *)src)->sin6_port;
		memcpy(hdr + 4, &((const struct sockaddr_in6 *)src)->sin6_addr, 16);
		memcpy(hdr + 20, &((const struct sockaddr_in6 *)dst)->sin6_addr, 16);
	}
	memcpy(hdr + 2, &port, 2);		/* network order already */
	return 0;
}

/* The addresses of a REQ's cma_hdr, as the receiver sees them; the
 * destination port is the service id's. */
static int cm_msg_cma_addrs(const struct cm_msg *m, struct sockaddr_storage *src,
			    struct sockaddr_storage *dst)
{
	const uint8_t *h = m->pdata;
	uint16_t sport, dport = htons((uint16_t)(m->service_id & 0xffff));

	memset(src, 0, sizeof(*src));
	memset(dst, 0, sizeof(*dst));
	if (m->pdata_len < CM_CMA_HDR || h[0] != 0)
		return -EINVAL;
	memcpy(&sport, h + 2, 2);
	if (h[1] >> 4 == 4) {
		struct sockaddr_in *s = (struct sockaddr_in *)src;
		struct sockaddr_in *t = (struct sockaddr_in *)dst;

		s->sin_family = t->sin_family = AF_INET;
		memcpy(&s->sin_addr, h + 16, 4);
		memcpy(&t->sin_addr, h + 32, 4);
		s->sin_port = sport;
		t->sin_port = dport;
	} else if (h[1] >> 4 == 6) {
		struct sockaddr_in6 *s = (struct sockaddr_in6 *)src;
		struct sockaddr_in6 *t = (struct sockaddr_in6 *)dst;

		s->sin6_family = t->sin6_family = AF_INET6;
		memcpy(&s->sin6_addr, h + 4, 16);
		memcpy(&t->sin6_addr, h + 20, 16);
		s->sin6_port = sport;
		t->sin6_port = dport;
	} else {
		return -EINVAL;
	}
	return 0;
}

int cm_send_req(struct cm_id *id, const uint8_t *pdata, size_t len)
{
	struct cm_msg m;
	bool ud = id->qp_type == IBV_QPT_UD;

	cm_msg_init(&m, id, ud ? CM_MSG_SIDR_REQ : CM_MSG_REQ);
	m.remote_comm_id = 0;
	m.service_id = cm_service_id(id->ps, (const struct sockaddr *)&id->dst);
	m.qpn = id->qpn;
	m.psn = id->psn;
	m.resp_res = id->resp_res;
	m.init_depth = id->init_depth;
	m.retry = id->retry;
	m.rnr_retry = id->rnr_retry;
	m.srq = id->srq;
	m.flow_control = 1;
	m.mtu = (uint8_t)id->mtu;
	m.tclass = id->tos;
	cm_msg_fill_cma_hdr(id, m.pdata);
	cm_msg_pdata(&m, CM_CMA_HDR, ud ? 216 : CM_REQ_PDATA, pdata, len);
	return cm_send_kept(id, &m);
}

int cm_send_rep(struct cm_id *id, const uint8_t *pdata, size_t len)
{
	struct cm_msg m;

	if (id->qp_type == IBV_QPT_UD) {
		cm_msg_init(&m, id, CM_MSG_SIDR_REP);
		m.qpn = id->qpn;
		m.qkey = id->qkey;
		m.reason = 0;
		cm_msg_pdata(&m, 0, 136, pdata, len);
		return cm_msg_send(id->d, &m);
	}
	cm_msg_init(&m, id, CM_MSG_REP);
	m.qpn = id->qpn;
	m.psn = id->psn;
	m.resp_res = id->resp_res;
	m.init_depth = id->init_depth;
	m.rnr_retry = id->rnr_retry;
	m.srq = id->srq;
	m.flow_control = 1;
	cm_msg_pdata(&m, 0, 196, pdata, len);
	return cm_send_kept(id, &m);
}

int cm_send_rtu(struct cm_id *id)
{
	struct cm_msg m;

	cm_msg_init(&m, id, CM_MSG_RTU);
	cm_msg_pdata(&m, 0, 224, NULL, 0);
	return cm_msg_send(id->d, &m);
}

int cm_send_rej(struct cm_id *id, uint8_t reason, const uint8_t *pdata,
		size_t len)
{
	struct cm_msg m;

	if (id->qp_type == IBV_QPT_UD) {
		cm_msg_init(&m, id, CM_MSG_SIDR_REP);
		m.reason = CM_SIDR_REJECT;
		cm_msg_pdata(&m, 0, 136, pdata, len);
		return cm_msg_send(id->d, &m);
	}
	cm_msg_init(&m, id, CM_MSG_REJ);
	m.reason = reason;
	cm_msg_pdata(&m, 0, 148, pdata, len);
	return cm_msg_send(id->d, &m);
}

int cm_send_dreq(struct cm_id *id)
{
	struct cm_msg m;

	cm_msg_init(&m, id, CM_MSG_DREQ);
	m.qpn = id->remote_qpn;
	return cm_send_kept(id, &m);
}

static int cm_send_drep(struct cm_id *id)
{
	struct cm_msg m;

	cm_msg_init(&m, id, CM_MSG_DREP);
	return cm_msg_send(id->d, &m);
}

/* An answer to a message no id takes: REJ, DREP or SIDR_REP. */
static void cm_answer(struct rb_daemon *d, const struct cm_msg *in,
		      enum cm_msg_type type, uint8_t reason)
{
	struct cm_msg m;

	memset(&m, 0, sizeof(m));
	m.type = type;
	m.local_comm_id = 0;
	m.remote_comm_id = in->local_comm_id;
	m.sgid = in->dgid;
	m.dgid = in->sgid;
	m.reason = reason;
	m.pdata_len = type == CM_MSG_REJ ? 148 : type == CM_MSG_SIDR_REP ? 136 : 0;
	cm_msg_send(d, &m);
}

/* ------------------------------------------------------------ timewait */

static void cm_timewait_cb(evutil_socket_t fd, short what, void *arg)
{
	struct cm_id *id = arg;

	(void)fd;
	(void)what;
	if (id->state != CM_TIMEWAIT)
		return;
	id->state = CM_DISCONNECTED;
	cm_event(id, RDMA_CM_EVENT_TIMEWAIT_EXIT, 0, NULL, 0, NULL);
}

void cm_timewait_start(struct cm_id *id)
{
	struct timeval tv = { 0, CM_TIMEWAIT_MS * 1000 };

	id->state = CM_TIMEWAIT;
	if (!id->timer)
		id->timer = evtimer_new(id->d->base, cm_timewait_cb, id);
	if (id->timer)
		evtimer_add(id->timer, &tv);
}

static void cm_disconnected(struct cm_id *id, int status)
{
	if (id->disc_reported)
		return;
	id->disc_reported = true;
	cm_event(id, RDMA_CM_EVENT_DISCONNECTED, status, NULL, 0, NULL);
}

int cm_conn_disconnect(struct cm_id *id)
{
	int ret;

	switch (id->state) {
	case CM_ESTABLISHED:
	case CM_REP_SENT:
	case CM_REP_RCVD:
		ret = cm_send_dreq(id);
		if (ret < 0)
			return ret;
		id->state = CM_DREQ_SENT;
		return 0;
	case CM_DREQ_RCVD:
		ret = cm_send_drep(id);
		if (ret < 0)
			return ret;
		cm_timewait_start(id);
		return 0;
	case CM_DREQ_SENT:
	case CM_TIMEWAIT:
	case CM_DISCONNECTED:
		return 0;	/* under way or done: as the kernel, no error */
	default:
		return -EINVAL;
	}
}

void cm_conn_abort(struct cm_id *id)
{
	switch (id->state) {
	case CM_REQ_SENT:
		if (id->qp_type != IBV_QPT_UD)
			cm_send_rej(id, CM_REJ_TIMEOUT, NULL, 0);
		break;
	case CM_REQ_RCVD:
		cm_send_rej(id, CM_REJ_CONSUMER_DEFINED, NULL, 0);
		break;
	case CM_REP_SENT:
	case CM_REP_RCVD:
	case CM_ESTABLISHED:
		cm_send_dreq(id);
		break;
	case CM_DREQ_RCVD:
		cm_send_drep(id);
		break;
	default:
		break;
	}
}

/* ------------------------------------------------------------ receiving */

/*
 * The id an answer is for: the one it names, if it comes from that id's
 * peer (its GID), as a NIC's CM takes a message only from the port it
 * talks to.  Another host cannot end or answer for a connection it is not
 * part of by guessing a comm id.
 */
static struct cm_id *cm_msg_id(struct rb_daemon *d, const struct cm_msg *m)
{
	struct cm_id *id = cm_id_by_comm(d, m->remote_comm_id);

	return id && !memcmp(id->dgid.raw, m->sgid.raw, 16) ? id : NULL;
}

static void cm_recv_req(struct rb_daemon *d, const struct cm_msg *m)
{
	struct sockaddr_storage src, dst;
	struct cm_id *l, *id;
	bool ud = m->type == CM_MSG_SIDR_REQ;
	enum cm_msg_type no = ud ? CM_MSG_SIDR_REP : CM_MSG_REJ;

	if (cm_msg_cma_addrs(m, &src, &dst) < 0) {
		cm_answer(d, m, no, ud ? CM_SIDR_UNSUPPORTED : CM_REJ_INVALID_SERVICE_ID);
		return;
	}
	if (memcmp(m->sgid.raw, m->dgid.raw, 16) && (id = cm_id_by_remote(d, m->local_comm_id)) &&
	    !memcmp(id->dgid.raw, m->sgid.raw, 16)) {
		/* From another host, a REQ we have: sent again, as the
		 * peer's CM does until it hears from us.  Our REP again if it
		 * was lost; else the answer is on its way. */
		if (id->state == CM_REP_SENT && id->resend) {
			log_debug("CM: a REQ again for comm id %#x: its REP again",
				  id->local_comm_id);
			cm_msg_send(d, id->resend);
		} else if (id->state == CM_REQ_RCVD && !ud) {
			cm_send_mra(id);	/* still not accepted */
		}
		return;
	}
	l = cm_listener_find(d, m->service_id, (struct sockaddr *)&dst);
	if (!l || (ud != (l->qp_type == IBV_QPT_UD))) {
		/* Nobody listens: rejected, as a remote CM does, once a
		 * listen racing this REQ had its chance. */
		if (cm_hold(d, m))
			return;
		cm_answer(d, m, no, ud ? CM_SIDR_UNSUPPORTED : CM_REJ_INVALID_SERVICE_ID);
		return;
	}
	if (l->pending >= l->backlog || !(id = cm_id_child(l))) {
		log_info("CM: connection request to port %u refused: %s",
			 (unsigned int)(m->service_id & 0xffff),
			 l->pending >= l->backlog ? "backlog full" : "no id");
		cm_answer(d, m, no, ud ? CM_SIDR_REJECT : CM_REJ_CONSUMER_DEFINED);
		return;
	}
	id->src = dst;
	id->dst = src;
	id->dev = l->dev;
	id->port_num = 1;
	id->sgid = m->dgid;
	id->dgid = m->sgid;
	if (memcmp(m->sgid.raw, m->dgid.raw, 16)) {
		int k = 0;

		/* From another host (cm-mad.c): the QP's path leaves from the
		 * GID the REQ came to. */
		if (cm_mad_dev_of_gid(d, m->dgid.raw, &k))
			id->sgid_index = (uint8_t)k;
	}
	if (!id->dev) {
		/* A wildcard listener: the device that owns the GID asked for. */
		for (uint32_t i = 0; i < d->ndevices && !id->dev; i++) {
			union ibv_gid g;
			enum ibv_gid_type t;

			if (d->devices[i] && d->devices[i]->ops.query_gid(d->devices[i],
			    1, 0, &g, &t) == 0 && !memcmp(g.raw, m->dgid.raw, 16))
				id->dev = d->devices[i];
		}
		if (!id->dev && d->ndevices)
			id->dev = d->devices[0];
	}
	id->mtu = m->mtu ? (enum ibv_mtu)m->mtu : IBV_MTU_1024;
	id->remote_comm_id = m->local_comm_id;
	id->remote_qpn = m->qpn;
	id->remote_psn = m->psn;
	/* Until accept says otherwise: what the peer can use of us. */
	id->resp_res = m->init_depth;
	id->init_depth = m->resp_res;
	id->retry = m->retry;
	id->rnr_retry = m->rnr_retry;
	id->tos = m->tclass;
	id->state = CM_REQ_RCVD;
	cm_event(l, RDMA_CM_EVENT_CONNECT_REQUEST, 0, m, CM_CMA_HDR, id);
	cm_mra_arm(id);
}

static void cm_recv_rep(struct rb_daemon *d, const struct cm_msg *m)
{
	struct cm_id *id = cm_msg_id(d, m);
	int ret;

	if (id && id->remote_comm_id == m->local_comm_id &&
	    (id->state == CM_ESTABLISHED || id->state == CM_REP_RCVD)) {
		/* The REP again: our RTU was lost (or is late). */
		if (id->state == CM_ESTABLISHED) {
			log_debug("CM: a REP again for comm id %#x: its RTU again",
				  id->local_comm_id);
			cm_send_rtu(id);
		} else {
			cm_send_mra(id);	/* not established yet */
		}
		return;
	}
	if (!id || id->state != CM_REQ_SENT) {
		/* A REP for an id that has gone: reject it (stale). */
		cm_answer(d, m, CM_MSG_REJ, CM_REJ_TIMEOUT);
		return;
	}
	id->remote_comm_id = m->local_comm_id;
	id->remote_qpn = m->qpn;
	id->remote_psn = m->psn;
	/* The IB CM: our reads are bounded by what the peer takes. */
	if (id->init_depth > m->resp_res)
		id->init_depth = m->resp_res;
	id->rnr_retry = m->rnr_retry;
	id->state = CM_REP_RCVD;
	if (!id->qp_handle) {
		cm_event(id, RDMA_CM_EVENT_CONNECT_RESPONSE, 0, m, 0, NULL);
		cm_mra_arm(id);
		return;
	}
	/* The library left the QP to us: RTR, RTS and the RTU here, as
	 * librdmacm does them when it reads the response, and the
	 * application sees ESTABLISHED (with the REP's private data). */
	ret = cm_qp_ready(id, NULL);
	if (ret < 0) {
		cm_send_rej(id, CM_REJ_CONSUMER_DEFINED, NULL, 0);
		id->state = CM_DISCONNECTED;
		cm_event(id, RDMA_CM_EVENT_CONNECT_ERROR, ret, m, 0, NULL);
		return;
	}
	ret = cm_send_rtu(id);
	if (ret < 0) {
		cm_event(id, RDMA_CM_EVENT_CONNECT_ERROR, ret, m, 0, NULL);
		return;
	}
	id->state = CM_ESTABLISHED;
	cm_event(id, RDMA_CM_EVENT_ESTABLISHED, 0, m, 0, NULL);
}

static void cm_recv_rtu(struct rb_daemon *d, const struct cm_msg *m)
{
	struct cm_id *id = cm_msg_id(d, m);

	if (!id || id->state != CM_REP_SENT)
		return;
	id->state = CM_ESTABLISHED;
	cm_event(id, RDMA_CM_EVENT_ESTABLISHED, 0, NULL, 0, NULL);
}

static void cm_recv_rej(struct rb_daemon *d, const struct cm_msg *m)
{
	struct cm_id *id = m->remote_comm_id ? cm_msg_id(d, m) :
			   cm_id_by_remote(d, m->local_comm_id);

	if (id && memcmp(id->dgid.raw, m->sgid.raw, 16))
		id = NULL;

	if (!id)
		return;
	switch (id->state) {
	case CM_REQ_SENT:
	case CM_REQ_RCVD:
	case CM_REP_SENT:
	case CM_REP_RCVD:
		break;
	case CM_ESTABLISHED:
		/* The peer gave up on its REP (our RTUs lost): it holds no
		 * connection, so neither may we.  The kernel's CM takes a REJ
		 * when established too, and rdma_cm gives REJECTED. */
		log_info("CM: comm id %#x: the peer ended the connection with a REJ (reason %u)",
			 id->local_comm_id, m->reason);
		break;
	default:
		return;
	}
	if (id->listener) {
		id->listener->pending--;
		id->listener = NULL;
	}
	id->state = CM_DISCONNECTED;
	cm_event(id, RDMA_CM_EVENT_REJECTED, m->reason, m, 0, NULL);
}

static void cm_recv_dreq(struct rb_daemon *d, const struct cm_msg *m)
{
	struct cm_id *id = cm_msg_id(d, m);

	if (!id) {
		cm_answer(d, m, CM_MSG_DREP, 0);
		return;
	}
	switch (id->state) {
	case CM_ESTABLISHED:
	case CM_REP_SENT:
	case CM_REP_RCVD:
		id->state = CM_DREQ_RCVD;
		cm_disconnected(id, 0);
		break;
	case CM_DREQ_SENT:
		/* Both ends at once: answer, and wait for ours. */
		cm_send_drep(id);
		break;
	case CM_TIMEWAIT:
	case CM_DISCONNECTED:
		cm_send_drep(id);
		break;
	default:
		break;
	}
}

static void cm_recv_drep(struct rb_daemon *d, const struct cm_msg *m)
{
	struct cm_id *id = cm_msg_id(d, m);

	if (!id || id->state != CM_DREQ_SENT)
		return;
	cm_timewait_start(id);
	cm_disconnected(id, 0);
}

/* An MRA: the peer has our REQ (REP) and its application will answer
 * later.  Our resending of it waits the service timeout asked for and
 * one resend period for the trip, as the IB CM waits; the tries left
 * stay as they are. */
static void cm_recv_mra(struct rb_daemon *d, const struct cm_msg *m)
{
	struct cm_id *id = cm_msg_id(d, m);
	uint64_t ms;
	struct timeval tv;

	if (!id || !id->resend || !id->resend_timer)
		return;
	if (!(m->mraed == CM_MRA_REQ && id->state == CM_REQ_SENT &&
	      id->resend->type == CM_MSG_REQ) &&
	    !(m->mraed == CM_MRA_REP && id->state == CM_REP_SENT))
		return;		/* not what we wait on: dropped, as by a CM */
	ms = (4096ULL << (m->service_timeout & 31)) / 1000000 + CM_RESEND_MS;
	tv.tv_sec = (time_t)(ms / 1000);
	tv.tv_usec = (suseconds_t)(ms % 1000) * 1000;
	log_debug("CM: MRA for comm id %#x's %s: the peer answers later, we wait %" PRIu64 " ms",
		  id->local_comm_id, m->mraed == CM_MRA_REQ ? "REQ" : "REP", ms);
	evtimer_add(id->resend_timer, &tv);
}

static void cm_recv_sidr_rep(struct rb_daemon *d, const struct cm_msg *m)
{
	struct cm_id *id = cm_msg_id(d, m);

	if (!id || id->state != CM_REQ_SENT)
		return;
	if (m->reason) {
		id->state = CM_DISCONNECTED;
		cm_event(id, RDMA_CM_EVENT_UNREACHABLE, m->reason, m, 0, NULL);
		return;
	}
	id->remote_qpn = m->qpn;
	id->qkey = m->qkey;
	id->state = CM_UD;
	cm_event(id, RDMA_CM_EVENT_ESTABLISHED, 0, m, 0, NULL);
}

typedef void (*cm_recv_fn)(struct rb_daemon *d, const struct cm_msg *m);

static const cm_recv_fn cm_msg_table[] = {
	[CM_MSG_REQ] = cm_recv_req,
	[CM_MSG_MRA] = cm_recv_mra,
	[CM_MSG_REJ] = cm_recv_rej,
	[CM_MSG_REP] = cm_recv_rep,
	[CM_MSG_RTU] = cm_recv_rtu,
	[CM_MSG_DREQ] = cm_recv_dreq,
	[CM_MSG_DREP] = cm_recv_drep,
	[CM_MSG_SIDR_REQ] = cm_recv_req,
	[CM_MSG_SIDR_REP] = cm_recv_sidr_rep,
};

void cm_msg_recv(struct rb_daemon *d, const struct cm_msg *m)
{
	if ((size_t)m->type >= sizeof(cm_msg_table) / sizeof(cm_msg_table[0]) ||
	    !cm_msg_table[m->type])
		return;		/* a MAD we do not speak: dropped, as by a CM */
	cm_msg_table[m->type](d, m);
}
