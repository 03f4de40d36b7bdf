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
 * runs its events, or at once when ROCE_TX_SLOTS are queued; a run of
 * same-size packets to one peer is one send, cut by the kernel
 * (UDP_SEGMENT), and what arrives joined (UDP_GRO) is cut here.  The source
 * address is set per packet (IPV6_PKTINFO, also for IPv4) so it is the
 * GID the sender chose, which the ICRC covers.  DF is always set
 * (IP_PMTUDISC_DO): an unconnected socket's DF packets carry IPv4
 * identification 0 (a GSO send's segments 0, 1, 2, ...), which the ICRC
 * covers too (roce-wire.h), and a packet larger than the path is
 * refused (EMSGSIZE), never fragmented.
 */
#include "config.h"

#include <arpa/inet.h>
#include <endian.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/udp.h>
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
/* The most UDP payload one GSO send carries: an IPv6 payload's 16-bit
 * length less UDP's header. */
#define ROCE_GSO_MAX		(65535 - 8)

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
	switch (roce_wire_icrc_check(&flow, buf, len, &r->idrx)) {
	case -1:
		r->st.rx_icrc_errors++;
		return;
	case 0:
		break;
	default:
		r->st.rx_ipv4_gso++;	/* segment k of an IPv4 GSO send */
		break;
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

/* The segment size of a datagram the kernel put together (UDP_GRO), or
 * 0: one packet. */
static size_t roce_io_gro_size(struct msghdr *m)
{
	for (struct cmsghdr *c = CMSG_FIRSTHDR(m); c; c = CMSG_NXTHDR(m, c)) {
		if (c->cmsg_level == SOL_UDP && c->cmsg_type == UDP_GRO &&
		    c->cmsg_len >= CMSG_LEN(sizeof(int))) {
			int sz;

			memcpy(&sz, CMSG_DATA(c), sizeof(sz));
			return sz > 0 ? (size_t)sz : 0;
		}
	}
	return 0;
}

/*
 * One datagram: a packet, or with UDP_GRO several of gso_size bytes back
 * to back (the last may be shorter), each a RoCE packet with its own
 * headers and ICRC, as its sender's UDP_SEGMENT or a NIC's GRO joined
 * them.  Cut, each is checked as if it had come alone.
 */
static void roce_io_datagram(struct roce_dev *r, const uint8_t *buf, size_t len,
			     const struct sockaddr_in6 *from, struct msghdr *m)
{
	size_t seg = roce_io_gro_size(m);

	if (!seg || seg >= len) {
		if (len > ROCE_PKT_MAX) {
			r->st.rx_packets++;
			r->st.rx_bytes += len;
			r->st.rx_malformed++;	/* larger than any MTU's */
			return;
		}
		roce_io_packet(r, buf, len, from, m);
		return;
	}
	r->st.rx_gro++;
	for (size_t off = 0; off < len; off += seg) {
		size_t n = len - off < seg ? len - off : seg;

		if (n > ROCE_PKT_MAX) {
			r->st.rx_packets++;
			r->st.rx_bytes += n;
			r->st.rx_malformed++;
			continue;
		}
		roce_io_packet(r, buf + off, n, from, m);
	}
}

/*
 * recvmmsg()'s headers, made once: the engine polls the socket on every
 * pass, most of them finding nothing, and setting up 32 headers each
 * time was most of what the daemon did per 8-byte message (callgrind,
 * docs/roce.md).  The kernel writes back the lengths of the names and
 * control data it filled: those of the headers it used are set again.
 */
struct roce_io_rxh {
	struct mmsghdr mm[ROCE_BATCH];
	struct iovec iov[ROCE_BATCH];
	struct sockaddr_in6 from[ROCE_BATCH];
	union {
		struct cmsghdr align;
		uint8_t b[CMSG_SPACE(sizeof(struct in6_pktinfo)) +
			  CMSG_SPACE(sizeof(struct in_pktinfo)) + CMSG_SPACE(sizeof(int))];
	} ctl[ROCE_BATCH];
};

static void roce_io_rxh_reset(struct roce_io_rxh *h, uint8_t *rx, int n)
{
	for (int i = 0; i < n; i++) {
		struct msghdr *m = &h->mm[i].msg_hdr;

		memset(m, 0, sizeof(*m));
		h->iov[i].iov_base = rx + (size_t)i * ROCE_RX_BUF;
		h->iov[i].iov_len = ROCE_RX_BUF;
		m->msg_iov = &h->iov[i];
		m->msg_iovlen = 1;
		m->msg_name = &h->from[i];
		m->msg_namelen = sizeof(h->from[i]);
		m->msg_control = h->ctl[i].b;
		m->msg_controllen = sizeof(h->ctl[i].b);
	}
}

/* Take what has arrived, up to ROCE_RX_ROUNDS batches; how many. */
static unsigned int roce_io_rx(struct roce_dev *r)
{
	struct roce_io_rxh *h = r->rxh;
	unsigned int got = 0;

	for (int round = 0; round < ROCE_RX_ROUNDS; round++) {
		int n = recvmmsg(r->fd, h->mm, ROCE_BATCH, MSG_DONTWAIT, NULL);

		if (n <= 0)
			break;		/* EAGAIN: all taken; errors: next wake-up */
		got += (unsigned int)n;
		for (int i = 0; i < n; i++)
			roce_io_datagram(r, h->iov[i].iov_base, h->mm[i].msg_len, &h->from[i],
					 &h->mm[i].msg_hdr);
		roce_io_rxh_reset(h, r->rx, n);
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

/*
 * How many queued packets from slot i on can leave in one send: with
 * UDP_SEGMENT the kernel cuts one payload into datagrams of one size
 * (the last may be shorter), each still a whole RoCE packet with its
 * own BTH and ICRC.  Only between the same addresses.  An IPv4 segment
 * gets the next identification (0, 1, 2, ... from an unconnected
 * socket with DF), which the ICRC covers: segment k's ICRC is made for
 * identification k (roce_io_set_id), and the receiver, seeing no IP
 * header, tries k up to ROCE_GSO_SEGS - 1 ("The IPv4 identification
 * field", docs/roce.md).  A message's MIDDLE packets are all the path
 * MTU, so a run of them (and its LAST) goes in one send.
 */
_Static_assert(ROCE_TX_SLOTS <= ROCE_GSO_SEGS,
	       "an IPv4 GSO send holds no more segments than the receiver tries");
static unsigned int roce_io_run(const struct roce_dev *r, unsigned int i)
{
	const struct roce_tx *a = &r->tx[i];
	size_t total = a->len;
	unsigned int n = 1;

	if (!r->gso)
		return 1;
	for (unsigned int j = i + 1; j < r->ntx && n < ROCE_GSO_SEGS; j++) {
		const struct roce_tx *b = &r->tx[j];

		if (b->len > a->len || total + b->len > ROCE_GSO_MAX ||
		    memcmp(&b->to, &a->to, sizeof(b->to)) ||
		    memcmp(&b->from.ipi6_addr, &a->from.ipi6_addr, sizeof(b->from.ipi6_addr)) ||
		    b->from.ipi6_ifindex != a->from.ipi6_ifindex)
			break;
		total += b->len;
		n++;
		if (b->len < a->len)
			break;		/* only the last may be shorter */
	}
	return n;
}

/* Make t's ICRC the one for IPv4 identification id (from whichever it
 * holds): the CRC is linear, so that is an xor (roce-wire.h). */
static void roce_io_set_id(struct roce_dev *r, struct roce_tx *t, unsigned int id)
{
	uint32_t icrc;
	uint8_t *p = t->buf + t->len - ROCE_ICRC_LEN;

	if (t->id == id)
		return;
	memcpy(&icrc, p, 4);
	icrc = le32toh(icrc) ^ roce_wire_icrc_id_delta(&r->idtx, t->len, t->id) ^
	       roce_wire_icrc_id_delta(&r->idtx, t->len, id);
	roce_wire_put_icrc(p, icrc);
	t->id = (uint8_t)id;
}

static void roce_io_flush(struct roce_dev *r)
{
	struct mmsghdr mm[ROCE_TX_SLOTS];
	struct iovec iov[ROCE_TX_SLOTS];
	unsigned int first[ROCE_TX_SLOTS + 1];	/* each message's first slot */
	union {
		struct cmsghdr align;
		uint8_t b[CMSG_SPACE(sizeof(struct in6_pktinfo)) + CMSG_SPACE(sizeof(uint16_t))];
	} ctl[ROCE_TX_SLOTS];
	unsigned int nmsg = 0, done = 0, plain = 0;

again:
	/* Slots below plain go one a datagram (a GSO send of theirs failed).
	 * Only the headers used are cleared: most flushes carry one packet. */
	nmsg = 0;
	for (unsigned int i = done; i < r->ntx; nmsg++) {
		struct roce_tx *t = &r->tx[i];
		unsigned int n = i < plain ? 1 : roce_io_run(r, i);
		struct msghdr *h = &mm[nmsg].msg_hdr;
		struct cmsghdr *c;

		memset(&mm[nmsg], 0, sizeof(mm[nmsg]));
		memset(&ctl[nmsg], 0, sizeof(ctl[nmsg]));

		for (unsigned int k = 0; k < n; k++) {
			iov[i + k].iov_base = r->tx[i + k].buf;
			iov[i + k].iov_len = r->tx[i + k].len;
			if (roce_wire_gid_is_v4(t->to.sin6_addr.s6_addr))
				roce_io_set_id(r, &r->tx[i + k], k);
		}
		first[nmsg] = i;
		h->msg_iov = &iov[i];
		h->msg_iovlen = n;
		h->msg_name = &t->to;
		h->msg_namelen = sizeof(t->to);
		h->msg_control = ctl[nmsg].b;
		h->msg_controllen = CMSG_SPACE(sizeof(t->from));
		c = CMSG_FIRSTHDR(h);
		c->cmsg_level = IPPROTO_IPV6;
		c->cmsg_type = IPV6_PKTINFO;
		c->cmsg_len = CMSG_LEN(sizeof(t->from));
		memcpy(CMSG_DATA(c), &t->from, sizeof(t->from));
		if (n > 1) {
			uint16_t seg = t->len;

			h->msg_controllen += CMSG_SPACE(sizeof(seg));
			c = CMSG_NXTHDR(h, c);
			c->cmsg_level = SOL_UDP;
			c->cmsg_type = UDP_SEGMENT;
			c->cmsg_len = CMSG_LEN(sizeof(seg));
			memcpy(CMSG_DATA(c), &seg, sizeof(seg));
		}
		i += n;
	}
	first[nmsg] = r->ntx;
	for (unsigned int m = 0; m < nmsg;) {
		int n = sendmmsg(r->fd, mm + m, nmsg - m, MSG_DONTWAIT);

		if (n > 0) {
			for (unsigned int k = m; k < m + (unsigned int)n; k++) {
				if (first[k + 1] - first[k] > 1)
					r->st.tx_gso++;
				for (unsigned int i = first[k]; i < first[k + 1]; i++) {
					r->st.tx_packets++;
					r->st.tx_bytes += r->tx[i].len;
				}
			}
			m += (unsigned int)n;
			done = first[m];
			continue;
		}
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			/* The socket is full: what is left is lost, as on a
			 * congested link (UD drops it; RC would resend it). */
			r->st.tx_dropped += r->ntx - first[m];
			break;
		}
		if (first[m + 1] - first[m] > 1) {
			/* The GSO send failed (a device or route that cannot
			 * take it): its packets again, one a datagram. */
			done = first[m];
			plain = first[m + 1];
			goto again;
		}
		/* This one packet cannot go (EMSGSIZE, no route): skip it. */
		r->st.tx_dropped++;
		m++;
		done = first[m];
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
	if (r->ntx == ROCE_TX_SLOTS)
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
	t->id = 0;
	if (r->ntx++ == 0)
		event_active(r->ev_tx, EV_WRITE, 0);
	if (r->ntx == ROCE_TX_SLOTS)
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

	r->tx = calloc(ROCE_TX_SLOTS, sizeof(*r->tx));
	r->rx = malloc((size_t)ROCE_BATCH * ROCE_RX_BUF);
	r->rxh = malloc(sizeof(*r->rxh));
	if (!r->tx || !r->rx || !r->rxh)
		return -ENOMEM;
	roce_io_rxh_reset(r->rxh, r->rx, ROCE_BATCH);
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
	/* GSO and GRO where the kernel has them (4.18, 5.0): without, one
	 * packet a datagram each way, as before. */
	r->gso = setsockopt(r->fd, SOL_UDP, UDP_SEGMENT, &zero, sizeof(zero)) == 0;
	(void)setsockopt(r->fd, SOL_UDP, UDP_GRO, &one, sizeof(one));
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
	free(r->rxh);
	r->tx = NULL;
	r->rx = NULL;
	r->rxh = NULL;
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
