/*
 * shm-pingpong: the floor under ibv_rc_pingpong on rdmabroker.
 *
 * Two processes (fork) bounce a message through an anonymous MAP_SHARED
 * mapping.  Each direction has a slot: a flag on its own cache line and
 * the message bytes.  The sender copies its message in and publishes the
 * iteration number in the flag with a release store; the receiver spins
 * on the flag with acquire loads, then copies the message out.  No
 * system call, no daemon, no verbs: what is left is the cost of moving
 * the cache lines between two cores.
 *
 * An iteration is what it is in ibv_rc_pingpong: the ping side sends one
 * message and receives the reply, so "usec/iter" is a round trip.  The
 * one-way figure is half of it.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <sched.h>
#include <signal.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench/bench.h"

#define CACHELINE 64
/* Spins (a few microseconds) between sched_yield() calls: a peer on
 * another CPU answers well within that; only when both sides share one CPU
 * (an overloaded machine) does the peer need ours to make progress. */
#define SPINS_PER_YIELD 256
#define MAX_SIZE (64u << 20)

struct slot {
	alignas(CACHELINE) _Atomic uint64_t seq;	/* last message published */
	alignas(CACHELINE) unsigned char msg[];	/* size bytes, then the next slot */
};

struct shm {
	_Atomic uint64_t *ready;	/* the pong side is running */
	struct slot *ping;	/* ping side -> pong side */
	struct slot *pong;	/* pong side -> ping side */
	void *base;
	size_t len;
};

static void usage(FILE *f, const char *argv0)
{
	fprintf(f,
		"Usage: %s [-n ITERS] [-s SIZE]\n"
		"Ping-pong SIZE-byte messages between two processes through shared\n"
		"memory and print the time per round trip, as ibv_rc_pingpong does.\n"
		"\n"
		"Options:\n"
		"  -n, --iters=ITERS   number of exchanges (default 1000)\n"
		"  -s, --size=SIZE     size of message to exchange (default 4096)\n"
		"  -h, --help          show this help and exit\n",
		argv0);
}

static size_t slot_bytes(size_t size)
{
	size_t n = sizeof(struct slot) + size;

	return (n + CACHELINE - 1) / CACHELINE * CACHELINE;
}

/* One cache line for the ready flag, then the two slots. */
static int shm_map(struct shm *s, size_t size)
{
	long page = sysconf(_SC_PAGESIZE);
	size_t one = slot_bytes(size);
	unsigned char *p;

	s->len = (CACHELINE + 2 * one + (size_t)page - 1) / (size_t)page * (size_t)page;
	s->base = mmap(NULL, s->len, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (s->base == MAP_FAILED)
		return -errno;
	/* mmap returns page-aligned memory, so every part is line-aligned. */
	p = s->base;
	s->ready = (_Atomic uint64_t *)(void *)p;
	s->ping = (struct slot *)(void *)(p + CACHELINE);
	s->pong = (struct slot *)(void *)(p + CACHELINE + one);
	atomic_init(s->ready, 0);
	atomic_init(&s->ping->seq, 0);
	atomic_init(&s->pong->seq, 0);
	return 0;
}

/* Wait until the peer has stored VAL in FLAG. */
static int flag_wait(_Atomic uint64_t *flag, uint64_t val)
{
	return wait_flag(flag, val, SPINS_PER_YIELD);
}

/* Wait until the peer has published message SEQ in SLOT. */
static int slot_wait(struct slot *slot, uint64_t seq)
{
	return flag_wait(&slot->seq, seq);
}

/* Copy the message into SLOT and publish it as SEQ. */
static void slot_send(struct slot *slot, const unsigned char *buf,
		      size_t size, uint64_t seq)
{
	memcpy(slot->msg, buf, size);
	/* Release: the message bytes above are visible before the peer can
	 * see the new seq. */
	atomic_store_explicit(&slot->seq, seq, memory_order_release);
}

/* Copy message SEQ out of SLOT and check the stamp the sender put in its
 * first and last bytes. */
static int slot_recv(struct slot *slot, unsigned char *buf, size_t size,
		     uint64_t seq)
{
	memcpy(buf, slot->msg, size);
	if (buf[0] != (unsigned char)seq || buf[size - 1] != (unsigned char)seq)
		return -EBADMSG;
	return 0;
}

static void stamp(unsigned char *buf, size_t size, uint64_t seq)
{
	buf[0] = (unsigned char)seq;
	buf[size - 1] = (unsigned char)seq;
}

/* The child: answer every message with one of the same size. */
static int pong(struct shm *s, unsigned char *buf, size_t size,
		uint64_t iters)
{
	uint64_t i;
	int ret;

	/* Release: nothing to order; the ping side only waits for it. */
	atomic_store_explicit(s->ready, 1, memory_order_release);
	for (i = 1; i <= iters; i++) {
		ret = slot_wait(s->ping, i);
		if (ret)
			return ret;
		ret = slot_recv(s->ping, buf, size, i);
		if (ret)
			return ret;
		slot_send(s->pong, buf, size, i);
	}
	return 0;
}

/* The parent: send, wait for the reply; returns the elapsed time.  As in
 * ibv_rc_pingpong, the clock starts once both sides are up (there: once
 * they have exchanged addresses), so fork and exec are not counted. */
static int ping(struct shm *s, unsigned char *buf, size_t size,
		uint64_t iters, int64_t *elapsed_ns)
{
	int64_t start;
	uint64_t i;
	int ret;

	ret = flag_wait(s->ready, 1);
	if (ret)
		return ret;
	start = now_ns();
	for (i = 1; i <= iters; i++) {
		stamp(buf, size, i);
		slot_send(s->ping, buf, size, i);
		ret = slot_wait(s->pong, i);
		if (ret)
			return ret;
		ret = slot_recv(s->pong, buf, size, i);
		if (ret)
			return ret;
	}
	*elapsed_ns = now_ns() - start;
	return 0;
}

static int parse_count(const char *arg, const char *what, uint64_t min,
		       uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(arg, &end, 0);
	if (errno || end == arg || *end || arg[0] == '-' || v < min || v > max) {
		fprintf(stderr, "shm-pingpong: bad %s '%s' (%" PRIu64 "..%" PRIu64 ")\n",
			what, arg, min, max);
		return -EINVAL;
	}
	*out = v;
	return 0;
}

int main(int argc, char *argv[])
{
	static const struct option opts[] = {
		{ "iters", required_argument, NULL, 'n' },
		{ "size", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	uint64_t iters = 1000, size = 4096;
	struct shm s = { 0 };
	unsigned char *buf = NULL;
	int64_t ns = 0;
	pid_t child;
	int c, ret, status;

	while ((c = getopt_long(argc, argv, "n:s:h", opts, NULL)) != -1) {
		switch (c) {
		case 'n':
			if (parse_count(optarg, "iteration count", 1, UINT32_MAX, &iters))
				return 2;
			break;
		case 's':
			if (parse_count(optarg, "size", 1, MAX_SIZE, &size))
				return 2;
			break;
		case 'h':
			usage(stdout, argv[0]);
			return 0;
		default:
			usage(stderr, argv[0]);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr, argv[0]);
		return 2;
	}

	ret = shm_map(&s, size);
	if (ret) {
		fprintf(stderr, "shm-pingpong: mmap: %s\n", strerror(-ret));
		return 1;
	}
	buf = calloc(1, size);
	if (!buf) {
		fprintf(stderr, "shm-pingpong: out of memory\n");
		return 1;
	}

	fflush(stdout);
	child = fork();
	if (child < 0) {
		fprintf(stderr, "shm-pingpong: fork: %s\n", strerror(errno));
		return 1;
	}
	if (child == 0) {
		ret = pong(&s, buf, size, iters);
		if (ret)
			fprintf(stderr, "shm-pingpong: pong side: %s\n", strerror(-ret));
		_exit(ret ? 1 : 0);
	}

	ret = ping(&s, buf, size, iters, &ns);
	if (ret) {
		fprintf(stderr, "shm-pingpong: ping side: %s\n", strerror(-ret));
		kill(child, SIGKILL);
	}
	if (waitpid(child, &status, 0) < 0) {
		fprintf(stderr, "shm-pingpong: waitpid: %s\n", strerror(errno));
		ret = -errno;
	} else if (!ret && !(WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
		fprintf(stderr, "shm-pingpong: the pong side failed\n");
		ret = -EPROTO;
	}
	free(buf);
	munmap(s.base, s.len);
	if (ret)
		return 1;

	{
		double usec = ns / 1000.0;
		long long bytes = (long long)size * (long long)iters * 2;

		printf("%lld bytes in %.2f seconds = %.2f Mbit/sec\n",
		       bytes, usec / 1e6, bytes * 8. / usec);
		printf("%" PRIu64 " iters in %.2f seconds = %.3f usec/iter\n",
		       iters, usec / 1e6, usec / (double)iters);
		printf("one-way latency = %.3f usec\n", usec / (double)iters / 2);
	}
	return 0;
}
