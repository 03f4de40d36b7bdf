/* SPDX-License-Identifier: MIT */
/*
 * The soft device's wire: one UDP socket on port 4791, dual-stack (IPv4
 * peers appear as v4-mapped addresses, which is what their GIDs are),
 * non-blocking, read and written in batches from the daemon's loop.
 *
 * Receiving: recvmmsg() up to ROCE_BATCH packets a call, a few calls per
 * wake-up (the event stays readable: the loop comes back, and control
 * requests are answered in between).  Each packet's ICRC is checked
 * against the addresses it really came between (the source from
 * msg_name, the destination from IP_PKTINFO/IPV6_PKTINFO), then parsed,
 * then handed to its transport; whatever fails is dropped and counted.
 *
 * Sending: the engine builds packets into slots; the first queued
 * activates ev_tx, so the batch leaves in one sendmmsg() when the loop
 * runs its events, or at once when ROCE_BATCH are queued.  The source
 * address is set per packet (IPV6_PKTINFO, also for IPv4) so it is the
 * GID the sender chose, which the ICRC covers.  DF is always set
 * (IP_PMTUDISC_DO): an unconnected socket's DF packets carry IPv4
 * identification 0, which the ICRC covers too (roce-wire.h), and a
 * packet larger than the path is refused (EMSGSIZE), never fragmented.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>

#include "daemon/log.h"
#include "drivers/driver.h"
#include "drivers/soft/roce.h"

/* The socket's buffers, each way. */
#define ROCE_SOCK_BUF		(4 << 20)
/* Batches taken per wake-up before the loop gets its turn. */
#define ROCE_RX_ROUNDS		4

void roce_io_flow(struct roce_flow *f, const uint8_t src[16], const uint8_t dst[16],
		  uint16_t sport, uint16_t dport)
{
	f->v6 = !(roce_wire_gid_is_v4(src) && roce_wire_gid_is_v4(dst));
	memcpy(f->src, src, 16);
	memcpy(f->dst, dst, 16);
	f->sport = sport;
	f->dport = dport;
}

/* ------------------------------------------------------------------ rx */

/* The address the packet was sent to, from its control messages. */
static bool roce_io_dst(struct msghdr *m, uint8_t dst[16])
{
	for (struct cmsghdr *c = CMSG_FIRSTHDR(m); c; c = CMSG_NXTHDR(m, c)) {
		if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO &&
		    c->cmsg_len >= CMSG_LEN(sizeof(struct in6_pktinfo))) {
			struct in6_pktinfo pi;

			memcpy(&pi, CMSG_DATA(c), sizeof(pi));
			memcpy(dst, &pi.ipi6_addr, 16);
			return true;
		}
		if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO &&
		    c->cmsg_len >= CMSG_LEN(sizeof(struct in_pktinfo))) {
			struct in_pktinfo pi;

			memcpy(&pi, CMSG_DATA(c), sizeof(pi));
			memset(dst, 0, 10);
			dst[10] = dst[11] = 0xff;
			memcpy(dst + 12, &pi.ipi_addr, 4);
			return true;
		}
	}
	return false;
}

static void roce_io_packet(struct roce_dev *r, const uint8_t *buf, size_t len,
			   const struct sockaddr_in6 *from, struct msghdr *m)
{
	struct roce_flow flow;
	struct roce_pkt p;
	uint8_t dst[16];

	r->st.rx_packets++;
	r->st.rx_bytes += len;
	if (m->msg_namelen < sizeof(*from) || from->sin6_family != AF_INET6 ||
	    (m->msg_flags & (MSG_TRUNC | MSG_CTRUNC)) || !roce_io_dst(m, dst)) {
		r->st.rx_malformed++;
		return;
	}
	roce_io_flow(&flow, from->sin6_addr.s6_addr, dst, ntohs(from->sin6_port),
		     ROCE_UDP_PORT);
	if (!roce_wire_icrc_ok(&flow, buf, len)) {
		r->st.rx_icrc_errors++;
		return;
	}
	if (roce_wire_parse(buf, len, &p) < 0) {
		r->st.rx_malformed++;
		return;
	}
	switch (p.opcode & ROCE_TR_MASK) {
	case ROCE_TR_UD:
		if (p.dqpn == ROCE_GSI_QPN)
			roce_gsi_recv(r, &p, &flow);	/* the CM's MADs (roce-gsi.c) */
		else
			roce_ud_recv(r, &p, &flow);
		break;
	case ROCE_TR_UC:
		roce_resp_recv(r, &p, &flow);
		break;
	case ROCE_TR_RC:
		roce_rc_recv(r, &p, &flow);
		break;
	default:
		r->st.rx_unsupported++;	/* the parser takes no other */
		break;
	}
}

/* Take what has arrived, up to ROCE_RX_ROUNDS batches; how many. */
static unsigned int roce_io_rx(struct roce_dev *r)
{
	struct mmsghdr mm[ROCE_BATCH];
	struct iovec iov[ROCE_BATCH];
	struct sockaddr_in6 from[ROCE_BATCH];
	union {
		struct cmsghdr align;
		uint8_t b[CMSG_SPACE(sizeof(struct in6_pktinfo)) +
			  CMSG_SPACE(sizeof(struct in_pktinfo))];
	} ctl[ROCE_BATCH];

	unsigned int got = 0;

	for (int round = 0; round < ROCE_RX_ROUNDS; round++) {
		int n;

		memset(mm, 0, sizeof(mm));
		for (int i = 0; i < ROCE_BATCH; i++) {
			iov[i].iov_base = r->rx + (size_t)i * ROCE_PKT_MAX;
			iov[i].iov_len = ROCE_PKT_MAX;
			mm[i].msg_hdr.msg_iov = &iov[i];
			mm[i].msg_hdr.msg_iovlen = 1;
			mm[i].msg_hdr.msg_name = &from[i];
			mm[i].msg_hdr.msg_namelen = sizeof(from[i]);
			mm[i].msg_hdr.msg_control = ctl[i].b;
			mm[i].msg_hdr.msg_controllen = sizeof(ctl[i].b);
		}
		n = recvmmsg(r->fd, mm, ROCE_BATCH, MSG_DONTWAIT, NULL);
		if (n <= 0)
			break;		/* EAGAIN: all taken; errors: next wake-up */
		got += (unsigned int)n;
		for (int i = 0; i < n; i++)
			roce_io_packet(r, iov[i].iov_base, mm[i].msg_len, &from[i],
				       &mm[i].msg_hdr);
		if (n < ROCE_BATCH)
			break;
	}
	return got;
}

static void roce_io_rx_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	roce_io_rx(arg);
}

/* ------------------------------------------------------------------ tx */

static void roce_io_flush(struct roce_dev *r)
{
	struct mmsghdr mm[ROCE_BATCH];
	struct iovec iov[ROCE_BATCH];
	union {
		struct cmsghdr align;
		uint8_t b[CMSG_SPACE(sizeof(struct in6_pktinfo))];
	} ctl[ROCE_BATCH];
	unsigned int done = 0;

	memset(mm, 0, sizeof(mm));
	memset(ctl, 0, sizeof(ctl));
	for (unsigned int i = 0; i < r->ntx; i++) {
		struct roce_tx *t = &r->tx[i];
		struct cmsghdr *c;

		iov[i].iov_base = t->buf;
		iov[i].iov_len = t->len;
		mm[i].msg_hdr.msg_iov = &iov[i];
		mm[i].msg_hdr.msg_iovlen = 1;
		mm[i].msg_hdr.msg_name = &t->to;
		mm[i].msg_hdr.msg_namelen = sizeof(t->to);
		mm[i].msg_hdr.msg_control = ctl[i].b;
		mm[i].msg_hdr.msg_controllen = sizeof(ctl[i].b);
		c = CMSG_FIRSTHDR(&mm[i].msg_hdr);
		c->cmsg_level = IPPROTO_IPV6;
		c->cmsg_type = IPV6_PKTINFO;
		c->cmsg_len = CMSG_LEN(sizeof(t->from));
		memcpy(CMSG_DATA(c), &t->from, sizeof(t->from));
	}
	while (done < r->ntx) {
		int n = sendmmsg(r->fd, mm + done, r->ntx - done, MSG_DONTWAIT);

		if (n > 0) {
			for (unsigned int i = done; i < done + (unsigned int)n; i++) {
				r->st.tx_packets++;
				r->st.tx_bytes += r->tx[i].len;
			}
			done += (unsigned int)n;
			continue;
		}
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			/* The socket is full: what is left is lost, as on a
			 * congested link (UD drops it; RC would resend it). */
			r->st.tx_dropped += r->ntx - done;
			break;
		}
		/* This one packet cannot go (EMSGSIZE, no route): skip it. */
		r->st.tx_dropped++;
		done++;
	}
	r->ntx = 0;
}

static void roce_io_tx_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	roce_io_flush(arg);
}

struct roce_tx *roce_io_tx_slot(struct roce_dev *r)
{
	if (r->fd < 0) {
		r->st.tx_dropped++;
		return NULL;
	}
	if (r->ntx == ROCE_BATCH)
		roce_io_flush(r);
	return &r->tx[r->ntx];
}

void roce_io_tx_commit(struct roce_dev *r, struct roce_tx *t)
{
	struct roce_flow flow;
	struct iovec iov = { t->buf, t->len };

	roce_io_flow(&flow, t->from.ipi6_addr.s6_addr, t->to.sin6_addr.s6_addr,
		     ROCE_UDP_PORT, ROCE_UDP_PORT);
	roce_wire_put_icrc(t->buf + t->len, roce_wire_icrc(&flow, &iov, 1));
	t->len += ROCE_ICRC_LEN;
	if (r->ntx++ == 0)
		event_active(r->ev_tx, EV_WRITE, 0);
	if (r->ntx == ROCE_BATCH)
		roce_io_flush(r);
}

/* ---------------------------------------------------------------- setup */

int roce_io_init(struct roce_dev *r)
{
	struct sockaddr_in6 sa = {
		.sin6_family = AF_INET6,
		.sin6_port = htons(ROCE_UDP_PORT),
		.sin6_addr = IN6ADDR_ANY_INIT,
	};
	int one = 1, zero = 0, pmtu4 = IP_PMTUDISC_DO, pmtu6 = IPV6_PMTUDISC_DO;
	int ret;

	r->tx = calloc(ROCE_BATCH, sizeof(*r->tx));
	r->rx = malloc((size_t)ROCE_BATCH * ROCE_PKT_MAX);
	if (!r->tx || !r->rx)
		return -ENOMEM;
	r->fd = socket(AF_INET6, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (r->fd < 0)
		return -errno;
	if (setsockopt(r->fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero)) < 0 ||
	    setsockopt(r->fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof(one)) < 0 ||
	    setsockopt(r->fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one)) < 0 ||
	    setsockopt(r->fd, IPPROTO_IP, IP_MTU_DISCOVER, &pmtu4, sizeof(pmtu4)) < 0 ||
	    setsockopt(r->fd, IPPROTO_IPV6, IPV6_MTU_DISCOVER, &pmtu6, sizeof(pmtu6)) < 0 ||
	    bind(r->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		ret = -errno;
		goto fail;
	}
	/* Room for bursts: RC keeps a window of packets in flight per QP,
	 * and a full socket drops.  Past the system's limit when allowed
	 * (CAP_NET_ADMIN), else up to it. */
	for (int i = 0; i < 2; i++) {
		int opt = i ? SO_RCVBUF : SO_SNDBUF, force = i ? SO_RCVBUFFORCE : SO_SNDBUFFORCE;
		int sz = ROCE_SOCK_BUF;

		if (setsockopt(r->fd, SOL_SOCKET, force, &sz, sizeof(sz)) < 0)
			(void)setsockopt(r->fd, SOL_SOCKET, opt, &sz, sizeof(sz));
	}
	r->ev_rx = event_new(r->base, r->fd, EV_READ | EV_PERSIST, roce_io_rx_cb, r);
	r->ev_tx = event_new(r->base, -1, 0, roce_io_tx_cb, r);
	if (!r->ev_rx || !r->ev_tx || event_add(r->ev_rx, NULL) < 0) {
		ret = -ENOMEM;
		goto fail;
	}
	return 0;
fail:
	roce_io_fini(r);
	return ret;
}

void roce_io_fini(struct roce_dev *r)
{
	if (r->ntx && r->fd >= 0)
		roce_io_flush(r);
	if (r->ev_rx)
		event_free(r->ev_rx);
	if (r->ev_tx)
		event_free(r->ev_tx);
	r->ev_rx = r->ev_tx = NULL;
	if (r->fd >= 0)
		close(r->fd);
	r->fd = -1;
	free(r->tx);
	free(r->rx);
	r->tx = NULL;
	r->rx = NULL;
}

int roce_io_path_mtu(const uint8_t dgid[16])
{
	bool v4 = roce_wire_gid_is_v4(dgid);
	int fd = socket(v4 ? AF_INET : AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	socklen_t sl;
	int mtu = -1, ret;

	if (fd < 0)
		return -errno;
	/* A connected UDP socket asks the routing table (and what it
	 * learnt from ICMP) for the path's MTU: no packet is sent. */
	if (v4) {
		struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(ROCE_UDP_PORT) };

		memcpy(&sin.sin_addr, dgid + 12, 4);
		ret = connect(fd, (struct sockaddr *)&sin, sizeof(sin));
		sl = sizeof(mtu);
		if (!ret)
			ret = getsockopt(fd, IPPROTO_IP, IP_MTU, &mtu, &sl);
	} else {
		struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6,
					     .sin6_port = htons(ROCE_UDP_PORT) };

		memcpy(&sin6.sin6_addr, dgid, 16);
		ret = connect(fd, (struct sockaddr *)&sin6, sizeof(sin6));
		sl = sizeof(mtu);
		if (!ret)
			ret = getsockopt(fd, IPPROTO_IPV6, IPV6_MTU, &mtu, &sl);
	}
	if (ret < 0)
		mtu = -errno;
	close(fd);
	return mtu;
}

/*
 * While the engine polls (its device busy), the daemon's loop looks at
 * libevent only every LOOP_EV_POLL_NS (20 us): a packet built in a pass
 * waited that long for ev_tx, one that arrived that long for ev_rx, and
 * an 8-byte RC ping-pong across a veth took 31 us one way against the
 * kernel's 2 us for UDP.  So the engine's passes send what they built
 * and, while any connected QP talks to another host, take what came, as
 * a NIC driver polls its rings while busy.
 */
bool roce_io_poll(struct roce_dev *r)
{
	bool did = false;

	if (r->fd < 0)
		return false;
	if (r->ntx) {
		roce_io_flush(r);
		did = true;
	}
	if (r->qps.n && roce_io_rx(r))
		did = true;
	if (r->ntx)
		roce_io_flush(r);	/* the answers to what came */
	return did;
}
