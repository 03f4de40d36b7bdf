/* SPDX-License-Identifier: MIT */
/*
 * udp-pingpong: the raw UDP round trip that the RoCE benchmark
 * (scripts/bench-roce.sh) sets beside an 8-byte RC ping-pong between the
 * same two network namespaces.  The server echoes every datagram; the
 * client sends SIZE bytes, waits for them back, ITERS times after 100
 * warm-up rounds, and prints the one-way latency (half the round trip)
 * as ib_send_lat does: "typical USEC avg USEC p99 USEC" (typical is the
 * median).  Blocking sockets, one datagram at a time: the floor the
 * kernel's UDP path sets.
 *
 * With -B SECS the client streams SIZE-byte datagrams for SECS seconds
 * instead, 32 a sendmmsg() (with -G, 32 a sendmsg() cut by the kernel,
 * UDP_SEGMENT), and prints the MB/s the server counted: the ceiling of a
 * sender that puts one RoCE packet in each datagram (SIZE 1068: a
 * 1024-byte path MTU's packet), which bench-roce.sh sets beside
 * ib_write_bw and TCP.  The server stops echoing after a 1-byte "b"
 * and answers a 1-byte "e" with the byte count.
 *
 *   udp-pingpong -s [-p PORT]
 *   udp-pingpong -c HOST [-p PORT] [-n ITERS] [-S SIZE]
 *   udp-pingpong -c HOST [-p PORT] -B SECS [-S SIZE] [-G]
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "bench/bench.h"

#ifndef UDP_SEGMENT
#define UDP_SEGMENT	103	/* Linux 4.18; older headers lack it */
#endif
#define STREAM_BATCH	32

/*
 * The server: echo each datagram, or while a stream runs count them.  A
 * stream is taken STREAM_BATCH datagrams a recvmmsg() into a 4 MiB
 * socket buffer, as the daemon takes RoCE packets (roce-io.c), so that
 * the count measures the path and not one receive call per datagram.
 */
static int serve(int port)
{
	struct sockaddr_in6 sa = { .sin6_family = AF_INET6, .sin6_port = htons((uint16_t)port),
				   .sin6_addr = IN6ADDR_ANY_INIT };
	int fd = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0), sz = 4 << 20;
	static char buf[STREAM_BATCH][65536];
	struct sockaddr_in6 from[STREAM_BATCH];
	struct mmsghdr mm[STREAM_BATCH];
	struct iovec iov[STREAM_BATCH];
	uint64_t counted = 0;
	int counting = 0;

	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		perror("udp-pingpong: bind");
		return 1;
	}
	/* Past the system's limit as root, else up to it. */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof(sz)) < 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	printf("listening on %d\n", port);
	fflush(stdout);
	for (;;) {
		int n;

		memset(mm, 0, sizeof(mm));
		for (int i = 0; i < STREAM_BATCH; i++) {
			iov[i].iov_base = buf[i];
			iov[i].iov_len = sizeof(buf[i]);
			mm[i].msg_hdr.msg_iov = &iov[i];
			mm[i].msg_hdr.msg_iovlen = 1;
			mm[i].msg_hdr.msg_name = &from[i];
			mm[i].msg_hdr.msg_namelen = sizeof(from[i]);
		}
		/* Whatever is there, at least one: a ping-pong gets its one. */
		n = recvmmsg(fd, mm, STREAM_BATCH, MSG_WAITFORONE, NULL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return 1;
		for (int i = 0; i < n; i++) {
			size_t len = mm[i].msg_len;
			struct sockaddr *to = (struct sockaddr *)&from[i];
			socklen_t tl = mm[i].msg_hdr.msg_namelen;

			if (len == 1 && buf[i][0] == 'q')
				return 0;	/* the client is done */
			if (len == 1 && buf[i][0] == 'b') {
				counting = 1;	/* a stream follows: count, no echo */
				counted = 0;
			} else if (len == 1 && buf[i][0] == 'e') {
				counting = 0;
				sendto(fd, &counted, sizeof(counted), 0, to, tl);
			} else if (counting) {
				counted += len;
			} else {
				sendto(fd, buf[i], len, 0, to, tl);
			}
		}
	}
}

/* Stream for secs seconds; the server's count, in MB/s (10^6 bytes). */
static int stream(int fd, int secs, size_t size, int gso)
{
	static char buf[STREAM_BATCH * 65536];
	struct mmsghdr mm[STREAM_BATCH];
	struct iovec iov[STREAM_BATCH];
	uint64_t t0, t1, counted = 0;

	if (size < 2 || size * STREAM_BATCH > (gso ? 65000 : sizeof(buf))) {
		fprintf(stderr, "udp-pingpong: -S %zu does not fit a batch\n", size);
		return 1;
	}
	memset(buf, 0x5a, sizeof(buf));
	memset(mm, 0, sizeof(mm));
	for (int i = 0; i < STREAM_BATCH; i++) {
		iov[i].iov_base = buf + (size_t)i * size;
		iov[i].iov_len = size;
		mm[i].msg_hdr.msg_iov = &iov[i];
		mm[i].msg_hdr.msg_iovlen = 1;
	}
	send(fd, "b", 1, 0);
	usleep(100000);		/* the server has it before the stream */
	t0 = now_ns();
	do {
		if (gso) {
			uint16_t seg = (uint16_t)size;
			union {
				struct cmsghdr align;
				char b[CMSG_SPACE(sizeof(uint16_t))];
			} ctl;
			struct iovec v = { buf, size * STREAM_BATCH };
			struct msghdr m = { .msg_iov = &v, .msg_iovlen = 1,
					    .msg_control = ctl.b, .msg_controllen = sizeof(ctl.b) };
			struct cmsghdr *c = CMSG_FIRSTHDR(&m);

			memset(&ctl, 0, sizeof(ctl));
			c->cmsg_level = SOL_UDP;
			c->cmsg_type = UDP_SEGMENT;
			c->cmsg_len = CMSG_LEN(sizeof(seg));
			memcpy(CMSG_DATA(c), &seg, sizeof(seg));
			if (sendmsg(fd, &m, 0) < 0 && errno != ENOBUFS) {
				perror("udp-pingpong: UDP_SEGMENT");
				return 1;
			}
		} else if (sendmmsg(fd, mm, STREAM_BATCH, 0) < 0 && errno != ENOBUFS) {
			perror("udp-pingpong: sendmmsg");
			return 1;
		}
		t1 = now_ns();
	} while (t1 - t0 < (uint64_t)secs * 1000000000u);
	usleep(100000);		/* what is in flight lands */
	for (int tries = 0; tries < 5; tries++) {
		send(fd, "e", 1, 0);
		if (recv(fd, &counted, sizeof(counted), 0) == (ssize_t)sizeof(counted))
			break;
	}
	send(fd, "q", 1, 0);
	printf("stream %.2f MB/s (%zu-byte datagrams, %s, %d s)\n",
	       (double)counted * 1000.0 / (double)(t1 - t0), size,
	       gso ? "UDP_SEGMENT" : "sendmmsg", secs);
	return 0;
}

static int client(const char *host, int port, int iters, size_t size, int secs, int gso)
{
	struct addrinfo hints = { .ai_socktype = SOCK_DGRAM }, *ai;
	char svc[16], buf[65536];
	uint64_t *lat, sum = 0;
	struct timeval tv = { .tv_sec = 1 };
	int fd, done = 0;

	snprintf(svc, sizeof(svc), "%d", port);
	if (size > sizeof(buf) || getaddrinfo(host, svc, &hints, &ai)) {
		fprintf(stderr, "udp-pingpong: bad arguments\n");
		return 1;
	}
	fd = socket(ai->ai_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, ai->ai_addr, ai->ai_addrlen) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0) {
		perror("udp-pingpong: connect");
		return 1;
	}
	freeaddrinfo(ai);
	if (secs > 0)
		return stream(fd, secs, size, gso);
	lat = calloc((size_t)iters, sizeof(*lat));
	if (!lat) {
		perror("udp-pingpong: calloc");
		return 1;
	}
	memset(buf, 0x5a, size);
	for (int i = -100; i < iters; i++) {
		uint64_t t0 = now_ns();

		if (send(fd, buf, size, 0) != (ssize_t)size ||
		    recv(fd, buf, sizeof(buf), 0) != (ssize_t)size) {
			fprintf(stderr, "udp-pingpong: round %d lost\n", i);
			free(lat);
			return 1;
		}
		if (i >= 0)
			lat[done++] = now_ns() - t0;
	}
	send(fd, "q", 1, 0);
	qsort(lat, (size_t)done, sizeof(*lat), cmp_u64);
	for (int i = 0; i < done; i++)
		sum += lat[i];
	/* One way, as perftest reports: half the round trip. */
	printf("typical %.2f avg %.2f p99 %.2f usec (%d iters, %zu bytes)\n",
	       lat[done / 2] / 2000.0, (double)sum / done / 2000.0,
	       lat[done * 99 / 100] / 2000.0, done, size);
	free(lat);
	return 0;
}

int main(int argc, char **argv)
{
	const char *host = NULL;
	int port = 18900, iters = 10000, opt;
	size_t size = 8;
	int server = 0, secs = 0, gso = 0;

	while ((opt = getopt(argc, argv, "sc:p:n:S:B:G")) != -1) {
		switch (opt) {
		case 's': server = 1; break;
		case 'c': host = optarg; break;
		case 'p': port = atoi(optarg); break;
		case 'n': iters = atoi(optarg); break;
		case 'S': size = (size_t)atol(optarg); break;
		case 'B': secs = atoi(optarg); break;
		case 'G': gso = 1; break;
		default:
			fprintf(stderr, "usage: udp-pingpong -s | -c HOST [-p PORT] [-n ITERS] [-S SIZE] [-B SECS [-G]]\n");
			return 2;
		}
	}
	if (server)
		return serve(port);
	if (!host || iters < 1) {
		fprintf(stderr, "usage: udp-pingpong -s | -c HOST [-p PORT] [-n ITERS] [-S SIZE] [-B SECS [-G]]\n");
		return 2;
	}
	return client(host, port, iters, size, secs, gso);
}
