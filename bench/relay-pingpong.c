/* SPDX-License-Identifier: MIT */
/*
 * relay-pingpong: the floor under any daemon-mediated RDMA latency across
 * hosts, which scripts/bench-roce.sh sets beside the raw UDP ping-pong
 * and the broker's ib_send_lat.  It does what the broker's data path must
 * and nothing else: a client writes 8 bytes into shared memory, a proxy
 * process (the daemon's place) sees them and sends them in a UDP
 * datagram to the proxy of the other namespace, which writes them into
 * its client's shared memory; that client sends them back the same way.
 * Four processes, two in each namespace, as with two daemons and two
 * perftest clients, but no verbs, no transport, no ICRC, no ACK.
 *
 * Waiting: -w spin and -w yield poll the shared memory (a sequence
 * number) and, in a proxy, the non-blocking socket; spin pauses between
 * empty polls, yield calls sched_yield(), as the broker's engine and
 * perftest's ib_send_lat do.  -w block sleeps instead: a post also
 * writes a byte into a FIFO (/dev/shm/NAME.fifo, a doorbell) that the
 * proxy poll()s with its socket, and a client waits on a futex on the
 * sequence number, which its proxy wakes: three wake-ups one way where
 * UDP's ping-pong has one.
 *
 *   relay-pingpong -P NAME -p PORT -r PEER [-w spin|yield|block]  a proxy
 *   relay-pingpong -E NAME [-w ...]                           the echoing client
 *   relay-pingpong -C NAME [-S NAME2] [-n ITERS] [-w ...]     the timing client
 *
 * NAME names the shared memory (shm_open "/NAME", made by the proxy);
 * the network namespaces share /dev/shm.  The timing client prints the
 * one-way latency as udp-pingpong does: "typical USEC avg USEC p99 USEC"
 * (half the round trip; typical is the median), after 100 warm-up
 * rounds, then tells the processes on NAME and NAME2 (the other side's)
 * to stop and removes both names.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <linux/futex.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "bench/bench.h"

#define MSG_LEN		8
#define WARMUP		100

/* One direction: a message and the sequence number that publishes it. */
struct relay_slot {
	_Atomic uint32_t seq;		/* a futex word for -w block */
	uint8_t data[MSG_LEN];
} __attribute__((aligned(64)));

struct relay_shm {
	struct relay_slot up;		/* client -> proxy */
	struct relay_slot down;		/* proxy -> client */
	_Atomic int stop;
};

static int yield_, block_;

static void relay_futex(_Atomic uint32_t *w, int op, uint32_t val)
{
	(void)syscall(SYS_futex, w, op, val, NULL, NULL, 0);
}

static int relay_fifo(const char *name, int create)
{
	char path[256];
	int fd;

	snprintf(path, sizeof(path), "/dev/shm/%s.fifo", name);
	if (create) {
		(void)unlink(path);
		if (mkfifo(path, 0600) < 0) {
			perror("relay-pingpong: mkfifo");
			return -1;
		}
		/* Read and write: never an end of file. */
		fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	} else {
		fd = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
	}
	if (fd < 0)
		perror("relay-pingpong: the FIFO");
	return fd;
}

static void relay_wait(void)
{
	if (yield_)
		sched_yield();
	else
		cpu_relax();
}

static void relay_unlink(const char *name)
{
	char path[256];

	snprintf(path, sizeof(path), "/%s", name);
	(void)shm_unlink(path);
	snprintf(path, sizeof(path), "/dev/shm/%s.fifo", name);
	(void)unlink(path);
}

static struct relay_shm *relay_map(const char *name, int create)
{
	char path[256];
	struct relay_shm *m;
	int fd;

	snprintf(path, sizeof(path), "/%s", name);
	for (int i = 0; i < 200; i++) {
		fd = shm_open(path, O_RDWR | O_CLOEXEC | (create ? O_CREAT | O_TRUNC : 0), 0600);
		if (fd >= 0 || create || errno != ENOENT)
			break;
		usleep(25000);		/* the proxy makes it */
	}
	if (fd < 0) {
		perror("relay-pingpong: shm_open");
		return NULL;
	}
	if (create && ftruncate(fd, sizeof(*m)) < 0) {
		perror("relay-pingpong: ftruncate");
		close(fd);
		return NULL;
	}
	m = mmap(NULL, sizeof(*m), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (m == MAP_FAILED) {
		perror("relay-pingpong: mmap");
		return NULL;
	}
	return m;
}

/* The proxy: what its client posts goes to the peer, what the peer sends
 * goes to its client. */
static int relay_proxy(const char *name, int port, const char *peer)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				  .sin_addr.s_addr = htonl(INADDR_ANY) };
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	struct relay_shm *m;
	uint32_t sent = 0, got = 0;
	int fd, bell = -1;

	/* The FIFO first: a client opens it once the memory is there. */
	if (block_ && (bell = relay_fifo(name, 1)) < 0)
		return 1;
	m = relay_map(name, 1);
	if (!m)
		return 1;
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    inet_pton(AF_INET, peer, &to.sin_addr) != 1) {
		perror("relay-pingpong: proxy socket");
		return 1;
	}
	printf("proxy %s on %d\n", name, port);
	fflush(stdout);
	while (!atomic_load_explicit(&m->stop, memory_order_relaxed)) {
		uint32_t s = atomic_load_explicit(&m->up.seq, memory_order_acquire);
		uint8_t buf[MSG_LEN];
		int idle = 1;
		ssize_t n;

		if (block_ && s == sent) {
			struct pollfd p[2] = { { fd, POLLIN, 0 }, { bell, POLLIN, 0 } };
			char drain[64];

			if (poll(p, 2, 100) > 0 && (p[1].revents & POLLIN))
				while (read(bell, drain, sizeof(drain)) > 0)
					;
			s = atomic_load_explicit(&m->up.seq, memory_order_acquire);
		}

		if (s != sent) {
			memcpy(buf, m->up.data, MSG_LEN);
			sent = s;
			if (sendto(fd, buf, MSG_LEN, 0, (struct sockaddr *)&to, sizeof(to)) < 0)
				perror("relay-pingpong: sendto");
			idle = 0;
		}
		n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n == MSG_LEN) {
			memcpy(m->down.data, buf, MSG_LEN);
			atomic_store_explicit(&m->down.seq, ++got, memory_order_release);
			if (block_)
				relay_futex(&m->down.seq, FUTEX_WAKE, 1);
			idle = 0;
		}
		if (idle && !block_)
			relay_wait();
	}
	return 0;
}

/* Wait for the next message down; false once told to stop. */
static int relay_take(struct relay_shm *m, uint32_t *seen, uint8_t *buf)
{
	for (;;) {
		uint32_t s = atomic_load_explicit(&m->down.seq, memory_order_acquire);

		if (s != *seen) {
			*seen = s;
			memcpy(buf, m->down.data, MSG_LEN);
			return 1;
		}
		if (atomic_load_explicit(&m->stop, memory_order_relaxed))
			return 0;
		if (block_) {
			/* Woken by the proxy, or at the latest in 100 ms to
			 * look at stop. */
			struct timespec ts = { 0, 100000000 };

			(void)syscall(SYS_futex, &m->down.seq, FUTEX_WAIT, s, &ts, NULL, 0);
		} else {
			relay_wait();
		}
	}
}

static int bell_ = -1;

static void relay_post(struct relay_shm *m, uint32_t *posted, const uint8_t *buf)
{
	memcpy(m->up.data, buf, MSG_LEN);
	atomic_store_explicit(&m->up.seq, ++*posted, memory_order_release);
	if (block_ && write(bell_, "", 1) < 0 && errno != EAGAIN)
		perror("relay-pingpong: the doorbell");
}

static int relay_echo(const char *name)
{
	struct relay_shm *m = relay_map(name, 0);
	uint32_t seen = 0, posted = 0;
	uint8_t buf[MSG_LEN];

	if (!m || (block_ && (bell_ = relay_fifo(name, 0)) < 0))
		return 1;
	seen = atomic_load(&m->down.seq);
	posted = atomic_load(&m->up.seq);
	while (relay_take(m, &seen, buf))
		relay_post(m, &posted, buf);
	return 0;
}

static int relay_time(const char *name, int iters, const char *peer_name)
{
	struct relay_shm *m = relay_map(name, 0), *peer = NULL;
	uint64_t *rtt = calloc((size_t)iters, sizeof(*rtt)), sum = 0;
	uint32_t seen, posted;
	uint8_t buf[MSG_LEN] = "rdmabrk", back[MSG_LEN];

	if (!m || !rtt || (block_ && (bell_ = relay_fifo(name, 0)) < 0))
		return 1;
	if (peer_name)
		peer = relay_map(peer_name, 0);
	seen = atomic_load(&m->down.seq);
	posted = atomic_load(&m->up.seq);
	for (int i = -WARMUP; i < iters; i++) {
		uint64_t t0 = now_ns();

		buf[0] = (uint8_t)i;
		relay_post(m, &posted, buf);
		if (!relay_take(m, &seen, back) || memcmp(back, buf, MSG_LEN)) {
			fprintf(stderr, "relay-pingpong: round %d came back wrong\n", i);
			return 1;
		}
		if (i >= 0)
			rtt[i] = now_ns() - t0;
	}
	atomic_store(&m->stop, 1);
	relay_futex(&m->down.seq, FUTEX_WAKE, 1);
	if (peer) {
		atomic_store(&peer->stop, 1);
		relay_futex(&peer->down.seq, FUTEX_WAKE, 1);
	}
	relay_unlink(name);
	if (peer_name)
		relay_unlink(peer_name);
	for (int i = 0; i < iters; i++)
		sum += rtt[i];
	qsort(rtt, (size_t)iters, sizeof(*rtt), cmp_u64);
	printf("typical %.2f avg %.2f p99 %.2f usec (%d iters, %d bytes, %s)\n",
	       rtt[iters / 2] / 2000.0, (double)sum / iters / 2000.0,
	       rtt[(size_t)iters * 99 / 100] / 2000.0, iters, MSG_LEN, block_ ? "block" : yield_ ? "yield" : "spin");
	free(rtt);
	return 0;
}

int main(int argc, char **argv)
{
	const char *proxy = NULL, *echo = NULL, *timer = NULL, *peer = NULL, *stop2 = NULL;
	int port = 18695, iters = 5000, opt;

	while ((opt = getopt(argc, argv, "P:E:C:p:r:n:w:S:")) != -1) {
		switch (opt) {
		case 'P': proxy = optarg; break;
		case 'E': echo = optarg; break;
		case 'C': timer = optarg; break;
		case 'p': port = atoi(optarg); break;
		case 'r': peer = optarg; break;
		case 'n': iters = atoi(optarg); break;
		case 'S': stop2 = optarg; break;
		case 'w':
			yield_ = !strcmp(optarg, "yield");
			block_ = !strcmp(optarg, "block");
			break;
		default: goto usage;
		}
	}
	if (proxy && peer)
		return relay_proxy(proxy, port, peer);
	if (echo)
		return relay_echo(echo);
	if (timer && iters > 0)
		return relay_time(timer, iters, stop2);
usage:
	fprintf(stderr, "usage: relay-pingpong -P NAME -p PORT -r PEER | -E NAME | -C NAME [-n ITERS] [-S OTHER_NAME]"
		" [-w spin|yield|block]\n");
	return 2;
}
