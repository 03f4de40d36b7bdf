/* SPDX-License-Identifier: MIT */
/* Framing of the control socket and fd passing: see wire.h. */
#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "proto/wire.h"

static int wire_check_hdr(const struct rb_wire_hdr *h, size_t got)
{
	if (got < sizeof(*h))
		return -EBADMSG;
	if (h->magic != RB_WIRE_MAGIC || h->version != RB_WIRE_VERSION ||
	    h->reserved != 0)
		return -EBADMSG;
	if (h->kind < RB_WIRE_REQUEST || h->kind > RB_WIRE_EVENT)
		return -EBADMSG;
	if (h->len != got - sizeof(*h))
		return -EBADMSG;
	return 0;
}

int rb_wire_send_frame(int sock, const void *frame, size_t len,
		       const int *fds, size_t nfds)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * RB_WIRE_MAX_FDS)];
		struct cmsghdr align;
	} cmsg;
	struct iovec iov = { .iov_base = (void *)frame, .iov_len = len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	ssize_t n;

	if (len > RB_WIRE_MAX_FRAME)
		return -EMSGSIZE;
	if (nfds > RB_WIRE_MAX_FDS)
		return -EINVAL;
	if (nfds > 0) {
		struct cmsghdr *c;

		memset(&cmsg, 0, sizeof(cmsg));
		mh.msg_control = cmsg.buf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
	}
	do {
		n = sendmsg(sock, &mh, MSG_NOSIGNAL);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	/* SEQPACKET sends a datagram whole or not at all. */
	return (size_t)n == len ? 0 : -EIO;
}

ssize_t rb_wire_pack(void *buf, uint16_t kind, const ProtobufCMessage *msg)
{
	struct rb_wire_hdr h = {
		.magic = RB_WIRE_MAGIC,
		.version = RB_WIRE_VERSION,
		.kind = kind,
	};
	size_t len = protobuf_c_message_get_packed_size(msg);

	if (len > RB_WIRE_MAX_PAYLOAD)
		return -EMSGSIZE;
	h.len = (uint32_t)len;
	memcpy(buf, &h, sizeof(h));
	protobuf_c_message_pack(msg, (uint8_t *)buf + sizeof(h));
	return (ssize_t)(sizeof(h) + len);
}

int rb_wire_send(int sock, uint16_t kind, const void *payload, size_t len,
		 const int *fds, size_t nfds)
{
	struct rb_wire_hdr h = {
		.magic = RB_WIRE_MAGIC,
		.version = RB_WIRE_VERSION,
		.kind = kind,
	};
	uint8_t frame[RB_WIRE_MAX_FRAME];

	if (len > RB_WIRE_MAX_PAYLOAD)
		return -EMSGSIZE;
	h.len = (uint32_t)len;
	memcpy(frame, &h, sizeof(h));
	if (len)
		memcpy(frame + sizeof(h), payload, len);
	return rb_wire_send_frame(sock, frame, sizeof(h) + len, fds, nfds);
}

int rb_wire_send_pb(int sock, uint16_t kind, const ProtobufCMessage *msg,
		    const int *fds, size_t nfds)
{
	uint8_t frame[RB_WIRE_MAX_FRAME];
	ssize_t len = rb_wire_pack(frame, kind, msg);

	if (len < 0)
		return (int)len;
	return rb_wire_send_frame(sock, frame, (size_t)len, fds, nfds);
}

static void wire_close_all(const int *fds, size_t n)
{
	for (size_t i = 0; i < n; i++)
		close(fds[i]);
}

int rb_wire_recv(int sock, void *buf, struct rb_wire_msg *msg, size_t max_fds)
{
	return rb_wire_recv_flags(sock, buf, msg, max_fds, 0);
}

int rb_wire_recv_flags(int sock, void *buf, struct rb_wire_msg *msg,
		       size_t max_fds, int flags)
{
	/* Room for more fds than we keep, so that extras are seen and closed. */
	union {
		char buf[CMSG_SPACE(sizeof(int) * RB_WIRE_MAX_FDS * 4)];
		struct cmsghdr align;
	} cmsg;
	struct iovec iov = { .iov_base = buf, .iov_len = RB_WIRE_MAX_FRAME + 1 };
	struct msghdr mh = {
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = cmsg.buf,
		.msg_controllen = sizeof(cmsg.buf),
	};
	int got_fds[RB_WIRE_MAX_FDS * 4];
	size_t ngot = 0;
	struct cmsghdr *c;
	bool bad_cmsg = false;
	struct rb_wire_hdr h = { 0 };
	ssize_t n;
	int ret;

	memset(msg, 0, sizeof(*msg));
	if (max_fds > RB_WIRE_MAX_FDS)
		max_fds = RB_WIRE_MAX_FDS;

	n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC | flags);
	if (n < 0)
		return -errno;

	for (c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
		size_t cnt;

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) {
			bad_cmsg = true;
			continue;
		}
		cnt = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < cnt; i++) {
			int fd;

			memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(fd));
			if (ngot < sizeof(got_fds) / sizeof(got_fds[0]))
				got_fds[ngot++] = fd;
			else
				close(fd);
		}
	}

	if (mh.msg_flags & MSG_CTRUNC || bad_cmsg || ngot > max_fds) {
		wire_close_all(got_fds, ngot);
		return -EPROTO;
	}
	if (n == 0 && ngot == 0)
		return 0;	/* orderly shutdown */
	if (mh.msg_flags & MSG_TRUNC || (size_t)n > RB_WIRE_MAX_FRAME) {
		wire_close_all(got_fds, ngot);
		return -EMSGSIZE;
	}
	if ((size_t)n >= sizeof(h))
		memcpy(&h, buf, sizeof(h));
	ret = wire_check_hdr(&h, (size_t)n);
	if (ret < 0) {
		wire_close_all(got_fds, ngot);
		return ret;
	}

	msg->kind = h.kind;
	msg->len = h.len;
	msg->payload = (const uint8_t *)buf + sizeof(h);
	memcpy(msg->fds, got_fds, ngot * sizeof(int));
	msg->nfds = ngot;
	return 1;
}

void rb_wire_msg_close_fds(struct rb_wire_msg *msg)
{
	wire_close_all(msg->fds, msg->nfds);
	msg->nfds = 0;
}

const char *rb_wire_kind_str(uint16_t kind)
{
	switch (kind) {
	case RB_WIRE_REQUEST:
		return "request";
	case RB_WIRE_REPLY:
		return "reply";
	case RB_WIRE_EVENT:
		return "event";
	}
	return "unknown";
}
