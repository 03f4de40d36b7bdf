/* SPDX-License-Identifier: MIT */
/*
 * Framing of the control socket and fd passing.
 *
 * The control socket is AF_UNIX/SOCK_SEQPACKET: one datagram is one frame,
 * a struct rb_wire_hdr followed by hdr.len bytes of packed protobuf
 * (rdmabroker.Request, .Reply or .Event by hdr.kind).  File descriptors
 * travel in SCM_RIGHTS beside the frame that owns them.
 *
 * All functions return 0 (or a count) on success and -errno on failure;
 * none logs.  Received fds are always CLOEXEC.
 */
#ifndef RB_PROTO_WIRE_H
#define RB_PROTO_WIRE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <protobuf-c/protobuf-c.h>

#include "proto/version.h"

#define RB_WIRE_MAGIC		0x424d4452u	/* "RDMB" little-endian */
#define RB_WIRE_VERSION		1		/* frame format version */
#define RB_WIRE_MAX_FRAME	65536u		/* header + payload */
#define RB_WIRE_MAX_FDS		8		/* fds one frame may carry */

enum rb_wire_kind {
	RB_WIRE_REQUEST = 1,
	RB_WIRE_REPLY = 2,
	RB_WIRE_EVENT = 3,
};

/* Little-endian on the wire (both ends are the same host). */
struct rb_wire_hdr {
	uint32_t magic;
	uint16_t version;
	uint16_t kind;		/* enum rb_wire_kind */
	uint32_t len;		/* payload bytes after this header */
	uint32_t reserved;	/* must be 0 */
};

_Static_assert(sizeof(struct rb_wire_hdr) == 16, "wire header is 16 bytes");

#define RB_WIRE_MAX_PAYLOAD	(RB_WIRE_MAX_FRAME - sizeof(struct rb_wire_hdr))

/* One received frame.  payload points into the caller's buffer. */
struct rb_wire_msg {
	uint16_t kind;
	size_t len;
	const uint8_t *payload;
	int fds[RB_WIRE_MAX_FDS];
	size_t nfds;
};

/*
 * Send one frame with an already packed payload and up to RB_WIRE_MAX_FDS
 * fds (not closed here).  MSG_NOSIGNAL; returns 0, -EAGAIN when the socket
 * is full (nonblocking), -EMSGSIZE when payload is too large, or -errno.
 */
int rb_wire_send(int sock, uint16_t kind, const void *payload, size_t len,
		 const int *fds, size_t nfds);

/* Pack msg and send it as one frame (see rb_wire_send). */
int rb_wire_send_pb(int sock, uint16_t kind, const ProtobufCMessage *msg,
		    const int *fds, size_t nfds);

/*
 * Build a frame in buf (RB_WIRE_MAX_FRAME bytes) for later sending with
 * rb_wire_send_frame(); returns the frame length or -EMSGSIZE.
 */
ssize_t rb_wire_pack(void *buf, uint16_t kind, const ProtobufCMessage *msg);
int rb_wire_send_frame(int sock, const void *frame, size_t len,
		       const int *fds, size_t nfds);

/*
 * Receive one frame into buf, which must hold RB_WIRE_MAX_FRAME + 1 bytes
 * (the extra byte detects oversized datagrams).  At most max_fds fds are
 * kept in msg->fds; any beyond that are closed.
 *
 * Returns 1 with *msg filled, 0 on orderly EOF, or -errno:
 *  -EAGAIN/-EINTR  nothing to read (nonblocking socket) / interrupted
 *  -EMSGSIZE       datagram larger than RB_WIRE_MAX_FRAME (consumed)
 *  -EBADMSG        bad header: magic, version, kind, length or reserved
 *  -EPROTO         control data truncated, not SCM_RIGHTS, or more fds
 *                  than max_fds
 * On every negative return no fd is left open.
 */
int rb_wire_recv(int sock, void *buf, struct rb_wire_msg *msg, size_t max_fds);
/* The same with recvmsg flags (MSG_DONTWAIT: -EAGAIN when none is queued). */
int rb_wire_recv_flags(int sock, void *buf, struct rb_wire_msg *msg,
		       size_t max_fds, int flags);

/* Close every fd of msg and set nfds to 0. */
void rb_wire_msg_close_fds(struct rb_wire_msg *msg);

/* Human-readable name of a frame kind ("request", ...), or "unknown". */
const char *rb_wire_kind_str(uint16_t kind);

#endif /* RB_PROTO_WIRE_H */
