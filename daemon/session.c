/* SPDX-License-Identifier: MIT */
/*
 * Per-client sessions: credentials, the receive loop, the output queue and
 * the one teardown path.  A session is destroyed only from its own event
 * callbacks (or at shutdown), after it has been marked closing, so that no
 * callback runs on a freed session.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "daemon/daemon.h"
#include "proto/shm.h"
#include "daemon/dispatch.h"
#include "daemon/loop.h"
#include "daemon/log.h"

static void session_read_cb(evutil_socket_t fd, short what, void *arg);
static void session_write_cb(evutil_socket_t fd, short what, void *arg);

static void session_read_comm(pid_t pid, char *comm, size_t len)
{
	char path[64];
	ssize_t n;
	int fd;

	snprintf(comm, len, "?");
	snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	n = read(fd, comm, len - 1);
	close(fd);
	if (n <= 0) {
		snprintf(comm, len, "?");
		return;
	}
	comm[n] = '\0';
	comm[strcspn(comm, "\n")] = '\0';
	/* Shown in logs and rdmactl: keep it printable. */
	for (char *c = comm; *c; c++)
		if ((unsigned char)*c < 0x20 || (unsigned char)*c == 0x7f)
			*c = '?';
}

/*
 * The client's cgroup (the v2 hierarchy's "0::PATH" line), for the
 * per-cgroup metrics and `rdmactl client`; "?" when unknown.  procfs: no
 * filesystem the client controls is read.
 */
static void session_read_cgroup(pid_t pid, char *cg, size_t len)
{
	char path[64], buf[1024], *p;
	ssize_t n;
	int fd;

	snprintf(cg, len, "?");
	snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return;
	buf[n] = '\0';
	p = strstr(buf, "0::");
	if (!p || (p != buf && p[-1] != '\n'))
		return;
	p += 3;
	n = (ssize_t)strcspn(p, "\n");
	/* A longer path is cut: it is shown, never used to find anything. */
	if ((size_t)n >= len)
		n = (ssize_t)len - 1;
	memcpy(cg, p, (size_t)n);
	cg[n] = '\0';
	for (char *c = cg; *c; c++)
		if ((unsigned char)*c < 0x20 || (unsigned char)*c == 0x7f)
			*c = '?';
}

bool session_is_admin(struct rb_daemon *d, uid_t uid, gid_t gid,
		      const gid_t *groups, int ngroups)
{
	if (uid == 0)
		return true;
	/* Looked up at (re)load (main.c): NSS may block, never per connection. */
	if (d->admin_gid == (gid_t)-1)
		return false;
	if (gid == d->admin_gid)
		return true;
	for (int i = 0; i < ngroups; i++)
		if (groups[i] == d->admin_gid)
			return true;
	return false;
}

/* Administrators' connections (handshaken ones only if handshaken). */
static uint32_t session_count_admins(struct rb_daemon *d, bool handshaken)
{
	struct rb_session *s;
	uint32_t n = 0;

	TAILQ_FOREACH(s, &d->sessions, link)
		n += s->admin && (s->handshaken || !handshaken);
	return n;
}

uint32_t session_count_uid(struct rb_daemon *d, uid_t uid)
{
	struct rb_session *s;
	uint32_t n = 0;

	TAILQ_FOREACH(s, &d->sessions, link)
		if (s->uid == uid && s->handshaken)
			n++;
	return n;
}

static void session_kill_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	session_destroy(arg);
}

/* The handshake deadline passed: a connection that never says Hello goes. */
static void session_hello_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	struct rb_session *s = arg;

	(void)fd;
	(void)what;
	if (s->handshaken)
		return;
	log_limit_enter(&s->d->accept_log);
	log_info("client %" PRIu64 " (pid %d uid %u): no handshake within %" PRIu32 " ms; disconnected",
		 s->id, (int)s->pid, (unsigned int)s->uid, s->d->cfg.handshake_timeout_ms);
	log_limit_leave();
	session_destroy(s);
}

/*
 * A connection counts against max_clients and its uid's connections
 * limit from accept, handshake or not: a user cannot hold the daemon's
 * descriptors with connections that never say Hello.  One more than a
 * limit is let in so that its Hello is answered with the reason
 * (session_hello); past that it is closed at once, before it costs
 * anything.  Administrators have RB_ADMIN_RESERVE more clients than
 * max_clients, and are refused only when they hold max_clients
 * themselves: other users cannot lock them out.
 */
static bool session_admit(struct rb_daemon *d, const struct ucred *cred,
			  bool admin, const struct rb_usage *u)
{
	struct rb_limits lim;
	uint64_t max_conn;

	if (admin)
		return !d->cfg.max_clients ||
		       (d->nsessions < d->cfg.max_clients + RB_ADMIN_RESERVE &&
			session_count_admins(d, false) <= d->cfg.max_clients);
	if (d->cfg.max_clients && d->nsessions > d->cfg.max_clients)
		return false;
	res_limits_for(d, cred->uid, &lim);
	max_conn = lim.v[RB_LIMIT_CONNECTIONS];
	/* u->refs counts this connection already. */
	return !max_conn || u->refs <= max_conn + 1;
}

/*
 * The daemon's lists before its first client, for rdmabrokerd and for
 * the fuzz harness alike (a list left out there was a null store).
 */
void daemon_state_init(struct rb_daemon *d)
{
	TAILQ_INIT(&d->sessions);
	log_limit_init(&d->accept_log, "connections");
	LIST_INIT(&d->usages);
	LIST_INIT(&d->tenants);
	TAILQ_INIT(&d->shared);
	LIST_INIT(&d->xrcds);
	d->started_at = time(NULL);
}

void session_accept(struct rb_daemon *d, int fd)
{
	struct timeval hello_tv;
	struct ucred cred;
	socklen_t len = sizeof(cred);
	struct rb_session *s;
	socklen_t glen;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0) {
		log_warn("accept: SO_PEERCRED: %s; connection dropped",
			 strerror(errno));
		close(fd);
		return;
	}
	s = calloc(1, sizeof(*s));
	if (!s) {
		log_err("accept: out of memory; connection dropped");
		close(fd);
		return;
	}
	s->d = d;
	s->fd = fd;
	s->async_fd = -1;
	s->pid = cred.pid;
	s->uid = cred.uid;
	s->gid = cred.gid;
	/* More groups than we keep (ERANGE): admin via the primary gid only. */
	glen = sizeof(s->groups);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, s->groups, &glen) == 0)
		s->ngroups = (int)(glen / sizeof(gid_t));
	s->admin = session_is_admin(d, s->uid, s->gid, s->groups, s->ngroups);
	s->usage = res_usage_get(d, s->uid);
	if (s->usage && !session_admit(d, &cred, s->admin, s->usage)) {
		log_limit_enter(&d->accept_log);
		log_notice("accept: pid %d uid %u: %s; connection closed", (int)cred.pid,
			   (unsigned int)cred.uid,
			   d->cfg.max_clients && d->nsessions > d->cfg.max_clients ?
			   "max_clients reached" : "connections limit of its uid reached");
		log_limit_leave();
		res_usage_put(d, s->usage);
		free(s);
		close(fd);
		return;
	}
	s->id = ++d->next_session_id;
	s->connected_since = time(NULL);
	STAILQ_INIT(&s->outq);
	res_table_init(&s->res);
	session_read_comm(cred.pid, s->comm, sizeof(s->comm));
	session_read_cgroup(cred.pid, s->cgroup, sizeof(s->cgroup));
	{
		char who[64];

		snprintf(who, sizeof(who), "client %" PRIu64 " (pid %d uid %u)", s->id,
			 (int)s->pid, (unsigned int)s->uid);
		log_limit_init(&s->log_limit, who);
	}

	if (sched_session_start(s) < 0)
		s->tenant = NULL;
	s->ev_read = event_new(d->base, fd, EV_READ | EV_PERSIST,
			       session_read_cb, s);
	s->ev_write = event_new(d->base, fd, EV_WRITE, session_write_cb, s);
	s->ev_kill = evtimer_new(d->base, session_kill_cb, s);
	s->ev_hello = evtimer_new(d->base, session_hello_timeout_cb, s);
	hello_tv.tv_sec = d->cfg.handshake_timeout_ms / 1000;
	hello_tv.tv_usec = (d->cfg.handshake_timeout_ms % 1000) * 1000;
	if (!s->usage || !s->tenant || !s->ev_read || !s->ev_write || !s->ev_kill ||
	    !s->ev_hello || event_add(s->ev_read, NULL) < 0 ||
	    event_add(s->ev_hello, &hello_tv) < 0) {
		log_err("accept: cannot watch client socket; connection dropped");
		if (s->ev_read)
			event_free(s->ev_read);
		if (s->ev_write)
			event_free(s->ev_write);
		if (s->ev_kill)
			event_free(s->ev_kill);
		if (s->ev_hello)
			event_free(s->ev_hello);
		res_usage_put(d, s->usage);
		sched_session_end(s);
		free(s);
		close(fd);
		return;
	}
	TAILQ_INSERT_TAIL(&d->sessions, s, link);
	d->nsessions++;
	log_info("client %" PRIu64 " connected: pid %d uid %u gid %u comm %s%s",
		 s->id, (int)s->pid, (unsigned int)s->uid,
		 (unsigned int)s->gid, s->comm, s->admin ? " (admin)" : "");
	notify_status(d);
}

static void session_outq_free(struct rb_session *s)
{
	struct rb_outmsg *m;

	while ((m = STAILQ_FIRST(&s->outq))) {
		STAILQ_REMOVE_HEAD(&s->outq, link);
		for (size_t i = 0; i < m->nfds; i++)
			close(m->fds[i]);
		free(m);
	}
	s->outq_len = 0;
}


void session_kill(struct rb_session *s, const char *why)
{
	static const struct timeval now;

	if (s->killed)
		return;
	s->killed = true;
	log_warn("client %" PRIu64 " (pid %d comm %s) disconnected: %s", s->id,
		 (int)s->pid, s->comm, why);
	session_send_shutdown(s, why);
	session_async_event(s, IBV_EVENT_DEVICE_FATAL, RB_ASYNC_DEVICE, 0);
	event_add(s->ev_kill, &now);
}

void session_destroy(struct rb_session *s)
{
	struct rb_daemon *d;

	if (!s)
		return;
	d = s->d;
	TAILQ_REMOVE(&d->sessions, s, link);
	d->nsessions--;
	event_free(s->ev_read);
	event_free(s->ev_write);
	event_free(s->ev_kill);
	event_free(s->ev_hello);
	session_outq_free(s);
	close(s->fd);
	if (s->async_fd >= 0)
		close(s->async_fd);
	/* Whatever the client left behind, in dependency order. */
	res_table_fini(s);
	stat_session_end(s);
	log_limit_flush(&s->log_limit);
	res_usage_put(d, s->usage);
	sched_session_end(s);
	log_info("client %" PRIu64 " disconnected: pid %d uid %u comm %s",
		 s->id, (int)s->pid, (unsigned int)s->uid, s->comm);
	free(s);
	if (!d->stopping)
		notify_status(d);
}

/* Send what the queue holds; false once the session must go. */
static bool session_flush(struct rb_session *s)
{
	struct rb_outmsg *m;

	if (s->hold_map && !s->closing)
		return true;	/* session_release sends it */
	while ((m = STAILQ_FIRST(&s->outq))) {
		int ret = rb_wire_send_frame(s->fd, m->frame, m->len, m->fds,
					     m->nfds);

		if (ret == -EAGAIN) {
			/* Stop reading a client that is not reading us. */
			event_del(s->ev_read);
			event_add(s->ev_write, NULL);
			return true;
		}
		if (ret < 0) {
			log_info("client %" PRIu64 ": send: %s", s->id,
				 strerror(-ret));
			s->closing = true;
			session_outq_free(s);
			return false;
		}
		STAILQ_REMOVE_HEAD(&s->outq, link);
		s->outq_len--;
		for (size_t i = 0; i < m->nfds; i++)
			close(m->fds[i]);
		free(m);
	}
	if (!s->closing)
		event_add(s->ev_read, NULL);
	return true;
}

int session_send(struct rb_session *s, uint16_t kind,
		 const ProtobufCMessage *msg, int *fds, size_t nfds)
{
	struct rb_outmsg *m;
	ssize_t len;

	if (s->closing && !STAILQ_FIRST(&s->outq) && kind != RB_WIRE_REPLY)
		return -EPIPE;
	if (s->outq_len >= RB_OUTQ_HIGH_WATER) {
		log_warn("client %" PRIu64 " (pid %d): %zu messages unread; disconnecting",
			 s->id, (int)s->pid, s->outq_len);
		s->closing = true;
		return -ENOBUFS;
	}
	/*
	 * Its own size, not a whole frame's: 256 queued replies of a client
	 * that does not read held 16 MiB before (memory the daemon holds).
	 */
	len = (ssize_t)(sizeof(struct rb_wire_hdr) + protobuf_c_message_get_packed_size(msg));
	m = malloc(sizeof(*m) + (len < (ssize_t)RB_WIRE_MAX_FRAME ? (size_t)len :
				 RB_WIRE_MAX_FRAME));
	if (!m)
		return -ENOMEM;
	len = rb_wire_pack(m->frame, kind, msg);
	if (len < 0) {
		log_err("client %" PRIu64 ": reply too large to send", s->id);
		free(m);
		return (int)len;
	}
	m->len = (size_t)len;
	m->nfds = nfds;
	if (nfds)
		memcpy(m->fds, fds, nfds * sizeof(int));	/* transferred */
	STAILQ_INSERT_TAIL(&s->outq, m, link);
	s->outq_len++;
	if (s->outq_len == 1)
		session_flush(s);
	return 0;
}

void session_hold(struct rb_session *s, const void *map, uint64_t until_ns)
{
	s->hold_map = map;
	s->hold_until = until_ns;
}

static bool session_reap(struct rb_session *s);

void session_release(struct rb_session *s)
{
	if (!s->hold_map)
		return;
	s->hold_map = NULL;
	session_flush(s);
	session_reap(s);
}

void session_send_shutdown(struct rb_session *s, const char *reason)
{
	Rdmabroker__Event ev = RDMABROKER__EVENT__INIT;
	Rdmabroker__Shutdown sd = RDMABROKER__SHUTDOWN__INIT;

	sd.reason = (char *)reason;
	ev.body_case = RDMABROKER__EVENT__BODY_SHUTDOWN;
	ev.shutdown = &sd;
	session_send(s, RB_WIRE_EVENT, &ev.base, NULL, 0);
}

bool session_async_event(struct rb_session *s, uint32_t event_type,
			 uint32_t element, uint32_t handle)
{
	struct rb_async_event ev = {
		.event_type = event_type, .element = element, .handle = handle,
	};

	if (s->async_fd < 0)
		return false;
	if (send(s->async_fd, &ev, sizeof(ev), MSG_DONTWAIT | MSG_NOSIGNAL) !=
	    (ssize_t)sizeof(ev)) {
		log_warn("client %" PRIu64 " (pid %d): async event %u not delivered: %s",
			 s->id, (int)s->pid, event_type, strerror(errno));
		return false;
	}
	return true;
}

/*
 * Discard what the peer sent after we stopped reading: a close with unread
 * data resets the connection, and the peer would lose our last reply (why
 * we closed) to ECONNRESET.
 */
static void session_drain(struct rb_session *s)
{
	for (int i = 0; i < 1024; i++) {
		struct rb_wire_msg msg;
		int ret = rb_wire_recv(s->fd, s->d->rxbuf, &msg, RB_WIRE_MAX_FDS);

		if (ret == 1)
			rb_wire_msg_close_fds(&msg);
		else if (ret != -EMSGSIZE && ret != -EBADMSG && ret != -EPROTO)
			break;
	}
}

/* Destroy the session if it is done; true if it is gone. */
static bool session_reap(struct rb_session *s)
{
	if (s->closing && !STAILQ_FIRST(&s->outq)) {
		session_drain(s);
		session_destroy(s);
		return true;
	}
	return false;
}

static void session_write_cb(evutil_socket_t fd, short what, void *arg)
{
	struct rb_session *s = arg;

	session_flush(s);
	session_reap(s);
}

/*
 * One datagram per call: the library waits for each reply before its next
 * request, so a second recvmsg would only say EAGAIN, a syscall per
 * request for nothing.  The event is level-triggered: a client that
 * queues more is called again on the next poll, which comes at once for
 * control_spin_us after a request (loop.c).
 */
static void session_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct rb_session *s = arg;
	struct rb_daemon *d = s->d;
	struct rb_wire_msg msg;
	int ret;

	if (s->closing)
		goto out;
	/* What this client's request makes us log counts against it. */
	log_limit_enter(&s->log_limit);
	ret = rb_wire_recv(s->fd, d->rxbuf, &msg, RB_WIRE_MAX_FDS);
	if (ret == -EAGAIN || ret == -EINTR)
		goto out;
	if (ret == 0) {
		s->closing = true;
		session_outq_free(s);
		goto out;
	}
	if (ret < 0) {
		/* Broken framing: the peer is not speaking our protocol. */
		log_warn("client %" PRIu64 " (pid %d uid %u comm %s): bad datagram (%s); disconnecting",
			 s->id, (int)s->pid, (unsigned int)s->uid,
			 s->comm, strerror(-ret));
		s->closing = true;
		session_outq_free(s);
		goto out;
	}
	if (msg.kind != RB_WIRE_REQUEST) {
		log_warn("client %" PRIu64 " (pid %d): sent a %s frame; disconnecting",
			 s->id, (int)s->pid, rb_wire_kind_str(msg.kind));
		rb_wire_msg_close_fds(&msg);
		s->closing = true;
		session_outq_free(s);
		goto out;
	}
	loop_control_arrived(s->d);
	loop_control_served(s->d, dispatch_request(s, &msg));
out:
	log_limit_leave();
	session_reap(s);
}

/* ------------------------------------------------------------ handshake */

static void session_fill_limits(const struct rb_limits *l,
				Rdmabroker__Limits *m)
{
	m->has_connections = m->has_pds = m->has_mrs = true;
	m->has_pinned_bytes = m->has_cqs = m->has_cqes = true;
	m->has_qps = m->has_srqs = m->has_ahs = m->has_mws = true;
	m->has_memory = true;
	m->memory = l->v[RB_LIMIT_MEMORY];
	m->connections = l->v[RB_LIMIT_CONNECTIONS];
	m->pds = l->v[RB_LIMIT_PDS];
	m->mrs = l->v[RB_LIMIT_MRS];
	m->pinned_bytes = l->v[RB_LIMIT_PINNED_BYTES];
	m->cqs = l->v[RB_LIMIT_CQS];
	m->cqes = l->v[RB_LIMIT_CQES];
	m->qps = l->v[RB_LIMIT_QPS];
	m->srqs = l->v[RB_LIMIT_SRQS];
	m->ahs = l->v[RB_LIMIT_AHS];
	m->mws = l->v[RB_LIMIT_MWS];
	m->has_cm_ids = m->has_cm_channels = true;
	m->cm_ids = l->v[RB_LIMIT_CM_IDS];
	m->cm_channels = l->v[RB_LIMIT_CM_CHANNELS];
}

int session_hello(struct rb_session *s, const Rdmabroker__Request *req,
		  struct rb_reply *rep)
{
	const Rdmabroker__Hello *h = req->hello;
	struct rb_daemon *d = s->d;
	struct rb_limits lim_buf, *lim = &lim_buf;
	Rdmabroker__HelloReply *hr;
	Rdmabroker__Limits *lm;
	uint64_t max_conn;
	uint32_t handshaken = 0, lo, hi, version;
	struct rb_session *o;

	res_limits_for(d, s->uid, &lim_buf);
	max_conn = lim->v[RB_LIMIT_CONNECTIONS];
	lo = h->proto_version;
	hi = h->has_max_version && h->max_version > lo ? h->max_version : lo;
	version = hi < RB_PROTO_VERSION ? hi : RB_PROTO_VERSION;
	if (version < lo || version < RB_PROTO_VERSION_MIN) {
		log_warn("client %" PRIu64 " (pid %d comm %s): protocol version range %u..%u not supported (this daemon speaks %u..%u); disconnecting",
			 s->id, (int)s->pid, s->comm, lo, hi,
			 RB_PROTO_VERSION_MIN, RB_PROTO_VERSION);
		reply_error(rep, "protocol version range %u..%u not supported: rdmabrokerd %s speaks %u..%u",
			    lo, hi, PACKAGE_VERSION, RB_PROTO_VERSION_MIN,
			    RB_PROTO_VERSION);
		rep->close_after = true;
		return -EPROTONOSUPPORT;
	}
	TAILQ_FOREACH(o, &d->sessions, link)
		handshaken += o->handshaken;
	if (d->cfg.max_clients && handshaken >= d->cfg.max_clients &&
	    (!s->admin || handshaken >= d->cfg.max_clients + RB_ADMIN_RESERVE ||
	     session_count_admins(d, true) >= d->cfg.max_clients)) {
		log_warn("client %" PRIu64 " (pid %d uid %u): max_clients (%u) reached; refused",
			 s->id, (int)s->pid, (unsigned int)s->uid,
			 d->cfg.max_clients);
		reply_error(rep, "rdmabrokerd serves at most %u clients", d->cfg.max_clients);
		rep->close_after = true;
		return -EUSERS;
	}
	if (max_conn && session_count_uid(d, s->uid) >= max_conn) {
		log_warn("client %" PRIu64 " (pid %d uid %u): connections limit (%" PRIu64 ") reached; refused",
			 s->id, (int)s->pid, (unsigned int)s->uid, max_conn);
		reply_error(rep, "limit reached: connections (%" PRIu64 ") for uid %u",
			    max_conn, (unsigned int)s->uid);
		rep->close_after = true;
		return -EDQUOT;
	}

	hr = reply_alloc(rep, sizeof(*hr));
	lm = reply_alloc(rep, sizeof(*lm));
	if (!hr || !lm)
		return -ENOMEM;
	rdmabroker__hello_reply__init(hr);
	rdmabroker__limits__init(lm);
	session_fill_limits(lim, lm);
	hr->proto_version = version;
	hr->daemon_version = (char *)PACKAGE_VERSION;
	hr->has_client_id = hr->has_admin = true;
	hr->client_id = s->id;
	hr->limits = lm;
	hr->admin = s->admin;
	/* Ours, whatever the client asked: it masks them with its own. */
	if (version >= 2) {
		hr->has_features = true;
		hr->features = RB_PROTO_FEATURES;
	}
	s->proto_version = version;
	s->features = version >= 2 ? h->features & RB_PROTO_FEATURES : 0;

	snprintf(s->client_version, sizeof(s->client_version), "%s",
		 h->client_version ? h->client_version : "");
	if (h->client_name)
		snprintf(s->client_name, sizeof(s->client_name), "%s",
			 h->client_name);
	s->handshaken = true;
	event_del(s->ev_hello);
	log_debug("client %" PRIu64 ": handshake, protocol %u features %#" PRIx64
		  ", library %s%s%s", s->id, version, s->features,
		  s->client_version, s->client_name[0] ? ", name " : "",
		  s->client_name);

	rep->msg.body_case = RDMABROKER__REPLY__BODY_HELLO;
	rep->msg.hello = hr;
	return 0;
}
