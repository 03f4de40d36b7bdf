/* SPDX-License-Identifier: MIT */
/*
 * impair: a seeded, repeatable impaired link between two network
 * namespaces, for the tests that take RoCEv2 across "hosts" (issue 18).
 *
 * This kernel has no netem qdisc and no nftables queue statement, so the
 * impairment is a bridge in userspace: a middle namespace holds one end
 * of a veth pair to each host, and this program passes every frame from
 * one of its interfaces to the other through AF_PACKET sockets.  Frames
 * of UDP to or from PORT (RoCEv2's 4791 by default) are dropped,
 * duplicated, held back behind the next frame (reordered), or have one
 * bit of their UDP payload flipped, each with its own probability, drawn
 * from one seed: a failing run repeats from the seed it printed.  A
 * corrupted frame gets a right UDP checksum again, so that only the
 * receiver's ICRC check can catch it, as on a link that damaged a frame
 * whose checksum a switch then recomputed.  Everything else (ARP,
 * neighbour discovery, the TCP the ping-pongs exchange their QP numbers
 * over) passes untouched.
 *
 * The sockets carry virtio-net headers (PACKET_VNET_HDR): the senders'
 * stacks hand veth frames whose checksums are left to "hardware" and
 * segments merged into one large frame (GSO); the header says so, and
 * passing it on lets the kernel finish the checksum and cut the segments
 * on the other side.  An impairable UDP frame that is several segments
 * (UDP GSO) is cut here first, so that each RoCE packet is impaired on
 * its own.
 *
 * usage: impair -a IFACE -b IFACE [-s SEED] [-l LOSS] [-d DUP]
 *               [-r REORDER] [-c CORRUPT] [-p PORT] [-m ATTR] [-o FILE]
 * LOSS, DUP, REORDER and CORRUPT are percentages (fractions allowed).
 * -m drops every CM MAD (a UD SEND to QP1, management class 7) whose
 * attribute id is ATTR (0x14: every RTU), before the other draws, and
 * counts them as cm_dropped: a message lost however often it is sent.
 * SIGTERM or SIGINT writes the counts ("name value" lines) to FILE, or
 * to standard output, and exits 0; SIGUSR1 writes them and goes on.
 * Among them kernel_drops: frames the kernel dropped before this program
 * read them (its receive buffers full), which no seed repeats.  The line
 * "impair: IFACE <-> IFACE, seed ..." on standard output says the bridge
 * is up.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <linux/if_packet.h>
#include <linux/virtio_net.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <netinet/ip.h>
#include <netinet/ip6.h>
#include <netinet/udp.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "tests/lib/rng.h"

/* UDP GSO in the virtio-net header: uapi headers older than Linux 6.2
 * (Debian 12's) lack the name, not the value. */
#ifndef VIRTIO_NET_HDR_GSO_UDP_L4
#define VIRTIO_NET_HDR_GSO_UDP_L4	5
#endif

#define IMPAIR_FRAME_MAX	(65536 + 64)
#define IMPAIR_HOLD_NS		2000000ull	/* a held frame waits at most this */
#define IMPAIR_RCVBUF		(16 << 20)	/* each socket's receive buffer */

struct impair_frame {
	size_t len;			/* 0: none */
	uint64_t gen;			/* which frame held, of all */
	uint64_t since;
	uint8_t buf[sizeof(struct virtio_net_hdr) + IMPAIR_FRAME_MAX];
};

/* One direction: frames read from `in` go out of `out`. */
struct impair_dir {
	int in, out;
	uint64_t rng;			/* its own draws: the other direction's
					 * timing does not change them */
	struct impair_frame held;	/* a frame held back to reorder */
};

static struct {
	double loss, dup, reorder, corrupt;	/* probabilities, 0..1 */
	uint16_t port;
	int cm_attr;			/* -m: CM MADs to drop, -1 none */
	const char *out_path;
	uint64_t seen, matched, dropped, duplicated, reordered, corrupted,
		 segmented, send_errors, cm_dropped;
	uint64_t kernel_drops;		/* frames the kernel dropped before we
					 * read them (PACKET_STATISTICS) */
	int fds[2];
	uint64_t held_gen;
} impair = { .port = 4791, .cm_attr = -1, .fds = { -1, -1 } };

static volatile sig_atomic_t impair_stop, impair_report;

static void impair_signal(int sig)
{
	if (sig == SIGUSR1)
		impair_report = 1;
	else
		impair_stop = 1;
}

static uint64_t impair_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static bool impair_roll(double p)
{
	return p > 0 && (double)(rng() >> 11) * 0x1.0p-53 < p;
}

/* Add the frames the kernel dropped on our sockets since the last call
 * (reading the statistics resets them). */
static void impair_kernel_drops(void)
{
	for (int i = 0; i < 2; i++) {
		struct tpacket_stats st;
		socklen_t len = sizeof(st);

		if (impair.fds[i] >= 0 &&
		    getsockopt(impair.fds[i], SOL_PACKET, PACKET_STATISTICS, &st, &len) == 0)
			impair.kernel_drops += st.tp_drops;
	}
}

static void impair_write_stats(void)
{
	FILE *f;

	impair_kernel_drops();
	f = impair.out_path ? fopen(impair.out_path, "w") : stdout;
	if (!f) {
		perror(impair.out_path);
		return;
	}
	fprintf(f, "seen %" PRIu64 "\nmatched %" PRIu64 "\ndropped %" PRIu64
		"\nduplicated %" PRIu64 "\nreordered %" PRIu64 "\ncorrupted %" PRIu64
		"\nsegmented %" PRIu64 "\nsend_errors %" PRIu64 "\nkernel_drops %" PRIu64
		"\ncm_dropped %" PRIu64 "\n",
		impair.seen, impair.matched, impair.dropped, impair.duplicated,
		impair.reordered, impair.corrupted, impair.segmented,
		impair.send_errors, impair.kernel_drops, impair.cm_dropped);
	if (f != stdout)
		fclose(f);
	else
		fflush(f);
}

static int impair_open(const char *ifname)
{
	struct sockaddr_ll sll = {
		.sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL),
	};
	int one = 1, rcvbuf = IMPAIR_RCVBUF;
	int fd;

	sll.sll_ifindex = (int)if_nametoindex(ifname);
	if (!sll.sll_ifindex) {
		fprintf(stderr, "impair: %s: no such interface\n", ifname);
		return -1;
	}
	fd = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC,
		    htons(ETH_P_ALL));
	if (fd < 0) {
		perror("impair: socket(AF_PACKET)");
		return -1;
	}
	/* Our own sends out of this interface are not frames to pass on. */
	if (setsockopt(fd, SOL_PACKET, PACKET_VNET_HDR, &one, sizeof(one)) < 0 ||
	    setsockopt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof(one)) < 0 ||
	    bind(fd, (struct sockaddr *)&sll, sizeof(sll)) < 0) {
		fprintf(stderr, "impair: %s: %s\n", ifname, strerror(errno));
		close(fd);
		return -1;
	}
	/* Room for a burst while we are not running (a loaded machine):
	 * past the limit root may set, else the most the system allows. */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf)) < 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	return fd;
}

/* ------------------------------------------------------------ parsing */

struct impair_udp {
	uint8_t *l3;			/* the IP header */
	bool v6;
	uint8_t *udp;			/* the UDP header */
	size_t udp_len;			/* header and payload, as captured */
};

/* The UDP of an IPv4 or IPv6 frame (no extension headers), or false. */
static bool impair_parse(uint8_t *eth, size_t len, struct impair_udp *u)
{
	uint16_t type;

	if (len < sizeof(struct ether_header))
		return false;
	memcpy(&type, eth + 12, sizeof(type));
	u->l3 = eth + sizeof(struct ether_header);
	len -= sizeof(struct ether_header);
	if (type == htons(ETHERTYPE_IP)) {
		size_t ihl;

		if (len < sizeof(struct ip) || (u->l3[0] >> 4) != 4)
			return false;
		ihl = (size_t)(u->l3[0] & 0xf) * 4;
		if (ihl < sizeof(struct ip) || len < ihl + sizeof(struct udphdr) ||
		    u->l3[9] != IPPROTO_UDP)
			return false;
		u->v6 = false;
		u->udp = u->l3 + ihl;
		u->udp_len = len - ihl;
	} else if (type == htons(ETHERTYPE_IPV6)) {
		if (len < sizeof(struct ip6_hdr) + sizeof(struct udphdr) ||
		    u->l3[6] != IPPROTO_UDP)
			return false;
		u->v6 = true;
		u->udp = u->l3 + sizeof(struct ip6_hdr);
		u->udp_len = len - sizeof(struct ip6_hdr);
	} else {
		return false;
	}
	return true;
}

static bool impair_port_match(const struct impair_udp *u)
{
	uint16_t sport, dport;

	memcpy(&sport, u->udp, 2);
	memcpy(&dport, u->udp + 2, 2);
	return ntohs(sport) == impair.port || ntohs(dport) == impair.port;
}

static uint32_t impair_sum(uint32_t sum, const uint8_t *p, size_t n)
{
	for (; n > 1; p += 2, n -= 2)
		sum += (uint32_t)p[0] << 8 | p[1];
	if (n)
		sum += (uint32_t)p[0] << 8;
	return sum;
}

/* The UDP checksum of u over len bytes, written in. */
static void impair_udp_csum(const struct impair_udp *u, size_t len)
{
	uint32_t sum = 0;
	uint16_t c;

	u->udp[6] = u->udp[7] = 0;
	if (u->v6)
		sum = impair_sum(sum, u->l3 + 8, 32);
	else
		sum = impair_sum(sum, u->l3 + 12, 8);
	sum += IPPROTO_UDP + (uint32_t)len;
	sum = impair_sum(sum, u->udp, len);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	c = (uint16_t)~sum;
	if (!c)
		c = 0xffff;
	c = htons(c);
	memcpy(u->udp + 6, &c, 2);
}

static void impair_ip4_csum(uint8_t *ip)
{
	size_t ihl = (size_t)(ip[0] & 0xf) * 4;
	uint32_t sum;
	uint16_t c;

	ip[10] = ip[11] = 0;
	sum = impair_sum(0, ip, ihl);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	c = htons((uint16_t)~sum);
	memcpy(ip + 10, &c, 2);
}

/* ------------------------------------------------------------ sending */

static void impair_send(int fd, const uint8_t *buf, size_t len)
{
	if (send(fd, buf, len, MSG_DONTWAIT) < 0)
		impair.send_errors++;
}

static void impair_release(struct impair_dir *dir)
{
	if (!dir->held.len)
		return;
	impair_send(dir->out, dir->held.buf, dir->held.len);
	dir->held.len = 0;
}

/* A CM MAD with attribute id attr: BTH (opcode UD SEND only, 0x64, to
 * QP 1), DETH, then the MAD header (class at 1, attribute id at 16). */
static bool impair_cm_attr(const struct impair_udp *u, size_t udp_len, int attr)
{
	const uint8_t *p = u->udp + sizeof(struct udphdr);

	if (attr < 0 || udp_len < sizeof(struct udphdr) + 12 + 8 + 24)
		return false;
	if (p[0] != 0x64 || p[5] || p[6] || p[7] != 1)
		return false;
	p += 12 + 8;
	return p[1] == 0x07 && (p[16] << 8 | p[17]) == attr;
}

/*
 * One RoCE packet (a whole frame, vnet header in front, checksum
 * complete): drop, corrupt, hold back or duplicate it.
 */
static void impair_packet(struct impair_dir *dir, uint8_t *buf, size_t len,
			  const struct impair_udp *u, size_t udp_len)
{
	impair.matched++;
	if (impair_cm_attr(u, udp_len, impair.cm_attr)) {
		impair.cm_dropped++;
		return;
	}
	if (impair_roll(impair.loss)) {
		impair.dropped++;
		return;
	}
	if (udp_len > sizeof(struct udphdr) && impair_roll(impair.corrupt)) {
		size_t at = sizeof(struct udphdr) +
			    (size_t)(rng() % (udp_len - sizeof(struct udphdr)));

		u->udp[at] ^= (uint8_t)(1u << (rng() % 8));
		impair_udp_csum(u, udp_len);
		impair.corrupted++;
	}
	if (impair_roll(impair.reorder)) {
		/* One frame is held at a time: an earlier one goes first. */
		impair_release(dir);
		memcpy(dir->held.buf, buf, len);
		dir->held.len = len;
		dir->held.gen = ++impair.held_gen;
		dir->held.since = impair_now();
		impair.reordered++;
		return;
	}
	impair_send(dir->out, buf, len);
	if (impair_roll(impair.dup)) {
		impair_send(dir->out, buf, len);
		impair.duplicated++;
	}
}

/*
 * An impairable frame as the stack handed it over: its checksum made
 * complete, and UDP GSO cut into its packets, so that each is impaired
 * on its own.
 */
static void impair_udp_frame(struct impair_dir *dir, uint8_t *buf, size_t len)
{
	static uint8_t seg[sizeof(struct virtio_net_hdr) + IMPAIR_FRAME_MAX];
	struct virtio_net_hdr vh;
	uint8_t *eth = buf + sizeof(vh);
	struct impair_udp u;
	size_t hdrs, payload, mss;

	memcpy(&vh, buf, sizeof(vh));
	if (!impair_parse(eth, len - sizeof(vh), &u))
		return;
	hdrs = (size_t)(u.udp - eth) + sizeof(struct udphdr);
	payload = u.udp_len - sizeof(struct udphdr);
	mss = (vh.gso_type & ~VIRTIO_NET_HDR_GSO_ECN) == VIRTIO_NET_HDR_GSO_UDP_L4 &&
	      vh.gso_size ? vh.gso_size : payload;
	if (mss < payload)
		impair.segmented++;
	for (size_t off = 0; off < payload || (off == 0 && payload == 0); off += mss) {
		size_t n = payload - off < mss ? payload - off : mss;
		struct virtio_net_hdr sh = { .gso_type = VIRTIO_NET_HDR_GSO_NONE };
		uint8_t *seth = seg + sizeof(sh);
		struct impair_udp su;
		uint16_t v;

		memcpy(seg, &sh, sizeof(sh));
		memcpy(seth, eth, hdrs);
		memcpy(seth + hdrs, u.udp + sizeof(struct udphdr) + off, n);
		if (!impair_parse(seth, hdrs + n, &su))
			return;
		v = htons((uint16_t)(sizeof(struct udphdr) + n));
		memcpy(su.udp + 4, &v, 2);
		if (su.v6) {
			v = htons((uint16_t)(sizeof(struct udphdr) + n));
			memcpy(su.l3 + 4, &v, 2);
		} else {
			v = htons((uint16_t)((size_t)(su.udp - su.l3) +
					     sizeof(struct udphdr) + n));
			memcpy(su.l3 + 2, &v, 2);
			if (mss < payload) {
				uint16_t id;

				memcpy(&id, su.l3 + 4, 2);
				id = htons((uint16_t)(ntohs(id) + off / mss));
				memcpy(su.l3 + 4, &id, 2);
			}
			impair_ip4_csum(su.l3);
		}
		/* A zero UDP checksum over IPv4 is "none": keep it so. */
		if (su.v6 || u.udp[6] || u.udp[7] ||
		    (vh.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM))
			impair_udp_csum(&su, sizeof(struct udphdr) + n);
		impair_packet(dir, seg, sizeof(sh) + hdrs + n, &su,
			      sizeof(struct udphdr) + n);
		if (payload == 0)
			break;
	}
}

static void impair_pass(struct impair_dir *dir)
{
	static uint8_t buf[sizeof(struct virtio_net_hdr) + IMPAIR_FRAME_MAX];

	for (int i = 0; i < 64; i++) {
		ssize_t n = recv(dir->in, buf, sizeof(buf), MSG_DONTWAIT | MSG_TRUNC);
		struct impair_udp u;
		uint64_t held = dir->held.len ? dir->held.gen : 0;

		if (n < 0)
			return;
		impair.seen++;
		if ((size_t)n > sizeof(buf) || (size_t)n < sizeof(struct virtio_net_hdr))
			continue;
		if (impair_parse(buf + sizeof(struct virtio_net_hdr),
				 (size_t)n - sizeof(struct virtio_net_hdr), &u) &&
		    impair_port_match(&u)) {
			rng_state = dir->rng;
			impair_udp_frame(dir, buf, (size_t)n);
			dir->rng = rng_state;
		} else {
			impair_send(dir->out, buf, (size_t)n);
		}
		/* A frame held back goes out behind the next one. */
		if (held && dir->held.len && dir->held.gen == held)
			impair_release(dir);
	}
}

static double impair_pct(const char *opt, const char *s)
{
	char *end;
	double v = strtod(s, &end);

	if (end == s || *end || v < 0 || v > 100) {
		fprintf(stderr, "impair: -%s %s: a percentage 0..100 is needed\n",
			opt, s);
		exit(2);
	}
	return v / 100;
}

static void impair_usage(FILE *f)
{
	fprintf(f, "usage: impair -a IFACE -b IFACE [-s SEED] [-l LOSS] [-d DUP] [-r REORDER]\n"
		   "              [-c CORRUPT] [-p PORT] [-m ATTR] [-o FILE]\n"
		   "Passes every frame between IFACE a and b; UDP to or from PORT (4791) is\n"
		   "dropped, duplicated, reordered or corrupted at the given percentages,\n"
		   "from SEED (default 1).  -m drops every CM MAD with attribute id ATTR\n"
		   "(0x14: RTU).  SIGTERM: counts to FILE or stdout, exit.\n");
}

int main(int argc, char **argv)
{
	const char *a = NULL, *b = NULL;
	struct impair_dir dirs[2];
	struct sigaction sa = { .sa_handler = impair_signal };
	uint64_t seed = 1;
	int c;

	while ((c = getopt(argc, argv, "a:b:s:l:d:r:c:p:m:o:h")) != -1) {
		switch (c) {
		case 'a': a = optarg; break;
		case 'b': b = optarg; break;
		case 's': seed = strtoull(optarg, NULL, 0); break;
		case 'l': impair.loss = impair_pct("l", optarg); break;
		case 'd': impair.dup = impair_pct("d", optarg); break;
		case 'r': impair.reorder = impair_pct("r", optarg); break;
		case 'c': impair.corrupt = impair_pct("c", optarg); break;
		case 'p': impair.port = (uint16_t)strtoul(optarg, NULL, 0); break;
		case 'm': {
			char *end;
			unsigned long v = strtoul(optarg, &end, 0);

			if (end == optarg || *end || v > 0xffff) {
				fprintf(stderr, "impair: -m %s: an attribute id 0..0xffff is needed\n",
					optarg);
				return 2;
			}
			impair.cm_attr = (int)v;
			break;
		}
		case 'o': impair.out_path = optarg; break;
		case 'h': impair_usage(stdout); return 0;
		default: impair_usage(stderr); return 2;
		}
	}
	if (!a || !b) {
		impair_usage(stderr);
		return 2;
	}
	if (!seed)
		seed = 1;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
	memset(dirs, 0, sizeof(dirs));
	dirs[0].in = dirs[1].out = impair_open(a);
	dirs[1].in = dirs[0].out = impair_open(b);
	impair.fds[0] = dirs[0].in;
	impair.fds[1] = dirs[1].in;
	dirs[0].rng = seed;
	dirs[1].rng = seed ^ 0x9e3779b97f4a7c15ull;
	if (dirs[0].in < 0 || dirs[1].in < 0)
		return 1;
	printf("impair: %s <-> %s, seed %" PRIu64 ", port %u: loss %g%% dup %g%% reorder %g%% corrupt %g%%",
	       a, b, seed, impair.port, impair.loss * 100, impair.dup * 100,
	       impair.reorder * 100, impair.corrupt * 100);
	if (impair.cm_attr >= 0)
		printf(", every CM MAD with attribute %#x dropped", impair.cm_attr);
	printf("\n");
	fflush(stdout);
	while (!impair_stop) {
		struct pollfd pfd[2] = {
			{ .fd = dirs[0].in, .events = POLLIN },
			{ .fd = dirs[1].in, .events = POLLIN },
		};
		bool held = dirs[0].held.len || dirs[1].held.len;

		if (impair_report) {
			impair_report = 0;
			impair_write_stats();
		}
		if (poll(pfd, 2, held ? 1 : 100) < 0 && errno != EINTR) {
			perror("impair: poll");
			return 1;
		}
		for (int i = 0; i < 2; i++) {
			if (pfd[i].revents & POLLIN)
				impair_pass(&dirs[i]);
			if (dirs[i].held.len &&
			    impair_now() - dirs[i].held.since >= IMPAIR_HOLD_NS)
				impair_release(&dirs[i]);
		}
	}
	impair_write_stats();
	return 0;
}
