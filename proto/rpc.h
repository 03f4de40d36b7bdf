/* SPDX-License-Identifier: MIT */
/*
 * Client side of the control protocol: connect to the daemon, handshake,
 * and make synchronous request/reply calls.  Used by librdmabroker and
 * rdmactl.  Never logs; returns 0 or -errno.
 */
#ifndef RB_PROTO_RPC_H
#define RB_PROTO_RPC_H

#include <stdint.h>

#include "proto/rdmabroker.pb-c.h"
#include "proto/spin.h"
#include "proto/wire.h"

/* Environment variable naming the daemon socket for clients. */
#define RB_SOCKET_ENV		"RDMABROKER_SOCKET"
/* Environment variable: per-call timeout in milliseconds. */
#define RB_TIMEOUT_ENV		"RDMABROKER_TIMEOUT_MS"
#define RB_RPC_DEFAULT_TIMEOUT_MS	30000
/* How long a call polls for its reply before it sleeps on the socket. */
#define RB_SPIN_ENV		"RDMABROKER_SPIN_US"
#define RB_RPC_DEFAULT_SPIN_US	100

/* $name as a decimal number in [min, max], else def. */
long rb_env_long(const char *name, long def, long min, long max);
/* CLOCK_MONOTONIC in nanoseconds. */
uint64_t rb_now_ns(void);

struct rb_rpc {
	int fd;				/* SOCK_SEQPACKET, CLOEXEC, blocking */
	uint32_t seq;			/* last sequence number used */
	uint32_t proto_version;		/* negotiated (HelloReply) */
	uint64_t features;		/* RB_PROTO_FEAT_*, both sides' */
	uint64_t client_id;		/* from HelloReply */
	int admin;			/* HelloReply.admin */
	char daemon_version[64];
	uint8_t *rxbuf;			/* RB_WIRE_MAX_FRAME + 1, per connection */
	uint64_t spin_ns;		/* RDMABROKER_SPIN_US, read at connect */
	/* Poll or sleep for a reply, learnt per request type (body case):
	 * a destroy, whose unmapping costs more while both sides poll, need
	 * not decide as a modify does. */
	struct rb_spin_policy spin[RB_SPIN_KINDS];
};

/*
 * The socket path clients use: `explicit_path` if not NULL, else
 * $RDMABROKER_SOCKET if set and non-empty, else the built-in default
 * (RUNDIR "/rdmabrokerd.sock").
 */
const char *rb_rpc_socket_path(const char *explicit_path);

/*
 * Connect to path and perform the handshake.  client_name is informational.
 * On failure returns -errno: -ENOENT/-ECONNREFUSED (no daemon), -EACCES,
 * -EPROTONOSUPPORT (no protocol version both sides speak), ...
 * The handshake offers versions RB_PROTO_VERSION_MIN..RB_PROTO_VERSION and
 * RB_PROTO_FEATURES (proto/version.h); rpc->proto_version and
 * rpc->features say what the daemon chose.
 * If errbuf is not NULL, a human-readable reason is left in it.
 */
int rb_rpc_connect(struct rb_rpc *rpc, const char *path,
		   const char *client_name, char *errbuf, size_t errlen);

/*
 * Send req (its seq is assigned here) and wait for the reply with the same
 * seq.  On return 0, *reply is the unpacked reply (free it with
 * rb_rpc_reply_free), whose status may be non-zero: the caller maps it.
 * fds received with the reply are stored in fds[] (up to max_fds, the count
 * in *nfds; extras are closed); with fds = NULL all are closed.
 * Returns -errno on transport failure (-EPIPE/-ECONNRESET when the daemon
 * went away, -EBADMSG on an undecodable reply).
 */
int rb_rpc_call(struct rb_rpc *rpc, Rdmabroker__Request *req,
		Rdmabroker__Reply **reply, int *fds, size_t max_fds,
		size_t *nfds);

/*
 * Send req and wait for nothing: for a request whose outcome comes
 * another way (RB_PROTO_FEAT_CM_ASYNC: an event) and that the daemon
 * does not answer.  0 or -errno.
 */
int rb_rpc_send(struct rb_rpc *rpc, Rdmabroker__Request *req);

/*
 * Like rb_rpc_call, with nfds fds sent beside the request (they stay open
 * here: the receiver gets copies); the reply must carry none.
 */
int rb_rpc_call_fds_out(struct rb_rpc *rpc, Rdmabroker__Request *req,
			Rdmabroker__Reply **reply, const int *fds, size_t nfds);

/*
 * Like rb_rpc_call, but a non-zero reply status is returned as -status
 * (and the reply freed), so 0 means success with *reply set.
 */
int rb_rpc_call_ok(struct rb_rpc *rpc, Rdmabroker__Request *req,
		   Rdmabroker__Reply **reply);

void rb_rpc_reply_free(Rdmabroker__Reply *reply);

/* Close the connection (accepts a never-connected rpc with fd -1). */
void rb_rpc_close(struct rb_rpc *rpc);

#endif /* RB_PROTO_RPC_H */
