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
 *   udp-pingpong -s [-p PORT]
 *   udp-pingpong -c HOST [-p PORT] [-n ITERS] [-S SIZE]
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static int serve(int port)
{
	struct sockaddr_in6 sa = { .sin6_family = AF_INET6, .sin6_port = htons((uint16_t)port),
				   .sin6_addr = IN6ADDR_ANY_INIT };
	int fd = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	char buf[65536];

	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		perror("udp-pingpong: bind");
		return 1;
	}
	printf("listening on %d\n", port);
	fflush(stdout);
	for (;;) {
		struct sockaddr_in6 from;
		socklen_t fl = sizeof(from);
		ssize_t n = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return 1;
		if (n == 1 && buf[0] == 'q')
			return 0;	/* the client is done */
		sendto(fd, buf, (size_t)n, 0, (struct sockaddr *)&from, fl);
	}
}

static int client(const char *host, int port, int iters, size_t size)
{
	struct addrinfo hints = { .ai_socktype = SOCK_DGRAM }, *ai;
	char svc[16], buf[65536];
	uint64_t *lat = calloc((size_t)iters, sizeof(*lat)), sum = 0;
	struct timeval tv = { .tv_sec = 1 };
	int fd, done = 0;

	snprintf(svc, sizeof(svc), "%d", port);
	if (!lat || size > sizeof(buf) || getaddrinfo(host, svc, &hints, &ai)) {
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
	memset(buf, 0x5a, size);
	for (int i = -100; i < iters; i++) {
		uint64_t t0 = now_ns();

		if (send(fd, buf, size, 0) != (ssize_t)size ||
		    recv(fd, buf, sizeof(buf), 0) != (ssize_t)size) {
			fprintf(stderr, "udp-pingpong: round %d lost\n", i);
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
	return 0;
}

int main(int argc, char **argv)
{
	const char *host = NULL;
	int port = 18900, iters = 10000, opt;
	size_t size = 8;
	int server = 0;

	while ((opt = getopt(argc, argv, "sc:p:n:S:")) != -1) {
		switch (opt) {
		case 's': server = 1; break;
		case 'c': host = optarg; break;
		case 'p': port = atoi(optarg); break;
		case 'n': iters = atoi(optarg); break;
		case 'S': size = (size_t)atol(optarg); break;
		default:
			fprintf(stderr, "usage: udp-pingpong -s | -c HOST [-p PORT] [-n ITERS] [-S SIZE]\n");
			return 2;
		}
	}
	if (server)
		return serve(port);
	if (!host || iters < 1) {
		fprintf(stderr, "usage: udp-pingpong -s | -c HOST [-p PORT] [-n ITERS] [-S SIZE]\n");
		return 2;
	}
	return client(host, port, iters, size);
}
