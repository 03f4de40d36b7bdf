/* SPDX-License-Identifier: MIT */
/* Client side of the control protocol: see rpc.h. */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "proto/rpc.h"

const char *rb_rpc_socket_path(const char *explicit_path)
{
	const char *env;

	if (explicit_path && *explicit_path)
		return explicit_path;
	env = getenv(RB_SOCKET_ENV);
	if (env && *env)
		return env;
	return RUNDIR "/rdmabrokerd.sock";
}

/* "<what> <path>: <strerror>" into errbuf, if the caller wants it. */
static void rpc_err(char *errbuf, size_t errlen, const char *what,
		    const char *path, int err)
{
	if (errbuf && errlen)
		snprintf(errbuf, errlen, "%s %s: %s", what, path, strerror(err));
}

long rb_env_long(const char *name, long def, long min, long max)
{
	const char *env = getenv(name);
	char *end;
	long v;

	if (!env || !*env)
		return def;
	v = strtol(env, &end, 10);
	return *end == '\0' && v >= min && v <= max ? v : def;
}

/*
 * A daemon that stops answering must not hang the client forever: every
 * send and receive gives up after RDMABROKER_TIMEOUT_MS (default 30 s).
 */
static void rpc_set_timeout(int fd)
{
	long ms = rb_env_long(RB_TIMEOUT_ENV, RB_RPC_DEFAULT_TIMEOUT_MS, 1, LONG_MAX);
	struct timeval tv;

	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

/*
 * A reply usually comes within tens of microseconds, and the daemon may
 * be polling for our next request (control_spin_us): polling the socket
 * for up to RDMABROKER_SPIN_US first spares both sides a sleep and a
 * wake-up, when it pays; proto/spin.h measures whether it does.  No
 * sched_yield between polls: on a busy machine it hands the core away
 * for a whole time slice.  With one CPU the default is 0, sleep at once,
 * as RDMABROKER_SPIN_US=0 does anywhere.
 */
static uint64_t rpc_spin_ns(void)
{
	long def = sysconf(_SC_NPROCESSORS_ONLN) > 1 ? RB_RPC_DEFAULT_SPIN_US : 0;

	return (uint64_t)rb_env_long(RB_SPIN_ENV, def, 0, 1000000) * 1000;
}

uint64_t rb_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* rb_wire_recv, polling first when that has been the faster way. */
static int rpc_recv(struct rb_rpc *rpc, struct rb_spin_policy *sp, void *buf,
		    struct rb_wire_msg *msg)
{
	bool poll = rb_spin_choose(sp, rpc->spin_ns), polling = poll;
	uint64_t t0 = rpc->spin_ns ? rb_now_ns() : 0;
	int ret;

	for (;;) {
		ret = rb_wire_recv_flags(rpc->fd, buf, msg, RB_WIRE_MAX_FDS,
					 polling ? MSG_DONTWAIT : 0);
		if (ret != -EAGAIN || !polling)
			break;
		if (rb_now_ns() - t0 >= rpc->spin_ns)
			polling = false;	/* sleep from now on */
	}
	if (rpc->spin_ns && ret > 0)
		rb_spin_record(sp, poll, rb_now_ns() - t0, 4 * rpc->spin_ns);
	return ret;
}

void rb_rpc_reply_free(Rdmabroker__Reply *reply)
{
	if (reply)
		rdmabroker__reply__free_unpacked(reply, NULL);
}

void rb_rpc_close(struct rb_rpc *rpc)
{
	if (rpc->fd >= 0)
		close(rpc->fd);
	rpc->fd = -1;
	free(rpc->rxbuf);
	rpc->rxbuf = NULL;
}

/* One call: send req with out_fds, wait for its reply (and its fds). */
static int rpc_call(struct rb_rpc *rpc, Rdmabroker__Request *req,
		    const int *out_fds, size_t out_nfds,
		    Rdmabroker__Reply **reply, int *fds, size_t max_fds,
		    size_t *nfds)
{
	uint8_t *buf;
	int ret;

	*reply = NULL;
	if (nfds)
		*nfds = 0;
	if (rpc->fd < 0)
		return -ENOTCONN;
	/* One receive buffer per connection, not one per call. */
	if (!rpc->rxbuf) {
		rpc->rxbuf = malloc(RB_WIRE_MAX_FRAME + 1);
		if (!rpc->rxbuf)
			return -ENOMEM;
	}
	buf = rpc->rxbuf;
	req->seq = ++rpc->seq;
	ret = rb_wire_send_pb(rpc->fd, RB_WIRE_REQUEST, &req->base, out_fds,
			      out_nfds);
	if (ret == -EAGAIN)
		ret = -ETIMEDOUT;
	if (ret < 0)
		return ret;

	for (;;) {
		struct rb_wire_msg msg;
		Rdmabroker__Reply *r;

		/* Take what fds come; a caller that wants none has them closed. */
		ret = rpc_recv(rpc, &rpc->spin[(unsigned)req->body_case < RB_SPIN_KINDS ?
					       req->body_case : 0], buf, &msg);
		if (ret == -EINTR)
			continue;
		if (ret == 0)
			ret = -ECONNRESET;
		if (ret == -EAGAIN)
			ret = -ETIMEDOUT;
		if (ret < 0)
			break;
		if (msg.kind != RB_WIRE_REPLY) {
			/* Events are not consumed by synchronous callers. */
			rb_wire_msg_close_fds(&msg);
			continue;
		}
		r = rdmabroker__reply__unpack(NULL, msg.len, msg.payload);
		if (!r) {
			rb_wire_msg_close_fds(&msg);
			ret = -EBADMSG;
			break;
		}
		if (r->seq != rpc->seq) {
			/* A stale reply to a call that was interrupted. */
			rb_wire_msg_close_fds(&msg);
			rb_rpc_reply_free(r);
			continue;
		}
		if (fds) {
			size_t keep = msg.nfds < max_fds ? msg.nfds : max_fds;

			memcpy(fds, msg.fds, keep * sizeof(int));
			for (size_t i = keep; i < msg.nfds; i++)
				close(msg.fds[i]);
			if (nfds)
				*nfds = keep;
		} else {
			rb_wire_msg_close_fds(&msg);
		}
		*reply = r;
		ret = 0;
		break;
	}
	return ret;
}

int rb_rpc_call(struct rb_rpc *rpc, Rdmabroker__Request *req,
		Rdmabroker__Reply **reply, int *fds, size_t max_fds,
		size_t *nfds)
{
	return rpc_call(rpc, req, NULL, 0, reply, fds, max_fds, nfds);
}

int rb_rpc_send(struct rb_rpc *rpc, Rdmabroker__Request *req)
{
	int ret;

	if (rpc->fd < 0)
		return -ENOTCONN;
	/* Its own number: a later call waits for its own reply only. */
	req->seq = ++rpc->seq;
	ret = rb_wire_send_pb(rpc->fd, RB_WIRE_REQUEST, &req->base, NULL, 0);
	return ret == -EAGAIN ? -ETIMEDOUT : ret < 0 ? ret : 0;
}

int rb_rpc_call_fds_out(struct rb_rpc *rpc, Rdmabroker__Request *req,
			Rdmabroker__Reply **reply, const int *fds, size_t nfds)
{
	return rpc_call(rpc, req, fds, nfds, reply, NULL, 0, NULL);
}

int rb_rpc_call_ok(struct rb_rpc *rpc, Rdmabroker__Request *req,
		   Rdmabroker__Reply **reply)
{
	int ret = rb_rpc_call(rpc, req, reply, NULL, 0, NULL);

	if (ret < 0)
		return ret;
	if ((*reply)->status != 0) {
		ret = (*reply)->status > 0 ? -(*reply)->status : -EPROTO;
		rb_rpc_reply_free(*reply);
		*reply = NULL;
	}
	return ret;
}

int rb_rpc_connect(struct rb_rpc *rpc, const char *path,
		   const char *client_name, char *errbuf, size_t errlen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	Rdmabroker__Request req = RDMABROKER__REQUEST__INIT;
	Rdmabroker__Hello hello = RDMABROKER__HELLO__INIT;
	Rdmabroker__Reply *reply = NULL;
	int ret;

	memset(rpc, 0, sizeof(*rpc));
	rpc->fd = -1;
	path = rb_rpc_socket_path(path);
	if (strlen(path) >= sizeof(sa.sun_path)) {
		rpc_err(errbuf, errlen, "socket path", path, ENAMETOOLONG);
		return -ENAMETOOLONG;
	}
	strcpy(sa.sun_path, path);

	rpc->fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (rpc->fd < 0) {
		ret = -errno;
		rpc_err(errbuf, errlen, "socket for", path, -ret);
		return ret;
	}
	rpc_set_timeout(rpc->fd);
	rpc->spin_ns = rpc_spin_ns();
	if (connect(rpc->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		ret = -errno;
		rpc_err(errbuf, errlen, "cannot connect to rdmabrokerd at",
			path, -ret);
		goto fail;
	}

	/* The oldest version first: a version 1 daemon reads only that. */
	hello.proto_version = RB_PROTO_VERSION_MIN;
	hello.has_max_version = 1;
	hello.max_version = RB_PROTO_VERSION;
	hello.has_features = 1;
	hello.features = RB_PROTO_FEATURES;
	hello.client_version = (char *)PACKAGE_VERSION;
	hello.client_name = (char *)client_name;
	req.body_case = RDMABROKER__REQUEST__BODY_HELLO;
	req.hello = &hello;
	ret = rb_rpc_call(rpc, &req, &reply, NULL, 0, NULL);
	if (ret < 0) {
		rpc_err(errbuf, errlen, "handshake with rdmabrokerd at",
			path, -ret);
		goto fail;
	}
	if (reply->status != 0) {
		ret = reply->status > 0 ? -reply->status : -EPROTO;
		if (errbuf && errlen)
			snprintf(errbuf, errlen, "rdmabrokerd at %s refused the handshake: %s",
				 path, reply->error ? reply->error : strerror(-ret));
		goto fail;
	}
	if (reply->body_case != RDMABROKER__REPLY__BODY_HELLO) {
		ret = -EBADMSG;
		rpc_err(errbuf, errlen, "handshake with rdmabrokerd at",
			path, -ret);
		goto fail;
	}
	if (reply->hello->proto_version < RB_PROTO_VERSION_MIN ||
	    reply->hello->proto_version > RB_PROTO_VERSION) {
		ret = -EPROTONOSUPPORT;
		if (errbuf && errlen)
			snprintf(errbuf, errlen, "rdmabrokerd at %s chose protocol version %u; this library speaks versions %u..%u",
				 path, reply->hello->proto_version,
				 RB_PROTO_VERSION_MIN, RB_PROTO_VERSION);
		goto fail;
	}
	rpc->proto_version = reply->hello->proto_version;
	/* What both offer; bits this build does not know mean nothing here. */
	rpc->features = reply->hello->features & RB_PROTO_FEATURES;
	rpc->client_id = reply->hello->client_id;
	rpc->admin = reply->hello->admin;
	snprintf(rpc->daemon_version, sizeof(rpc->daemon_version), "%s",
		 reply->hello->daemon_version ? reply->hello->daemon_version : "");
	rb_rpc_reply_free(reply);
	return 0;

fail:
	rb_rpc_reply_free(reply);
	rb_rpc_close(rpc);
	return ret;
}
