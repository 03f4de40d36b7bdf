/* SPDX-License-Identifier: MIT */
/*
 * The control socket under a mutation fuzzer, against a real private
 * daemon (tests/hostile/ctl-fuzz.sh): valid requests of every type,
 * encoded with protobuf-c, then bit flips, byte changes, truncations
 * (every length, for every type), insertions, duplicated fields,
 * corrupted length prefixes (protobuf and frame), extreme varints,
 * splices, random fds beside them.  After every batch the daemon must be
 * alive and a fresh client must complete a verbs round (open, PD, MR, CQ,
 * QP, INIT, destroy all).  Knobs: RB_FUZZ_DATAGRAMS=N (default 20000),
 * RB_SOAK=1 (N = 1000000 unless RB_FUZZ_DATAGRAMS says otherwise),
 * RB_FUZZ_SEED=S (default 0x5eed; the run is deterministic in what it
 * sends).  Prints a "figure:" line; exit 0 on success, 1 on failure.
 */
#define _GNU_SOURCE
#include "config.h"

#include <errno.h>
#include <grp.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <infiniband/verbs.h>

#include "proto/rpc.h"
#include "tests/lib/rng.h"
#include "tests/hostile/ctl-lib.h"

/* ---------------------------------------------------------- the fuzzer */

static size_t rndn(size_t n)
{
	return n ? (size_t)(rng() % n) : 0;
}

/* A varint at p (at most end); its length, or 0 if it runs off. */
static size_t varint_get(const uint8_t *p, const uint8_t *end, uint64_t *v)
{
	uint64_t x = 0;

	for (size_t i = 0; i < 10 && p + i < end; i++) {
		x |= (uint64_t)(p[i] & 0x7f) << (7 * i);
		if (!(p[i] & 0x80)) {
			*v = x;
			return i + 1;
		}
	}
	return 0;
}

static size_t varint_put(uint8_t *p, uint64_t v)
{
	size_t n = 0;

	do {
		p[n] = (uint8_t)(v & 0x7f);
		v >>= 7;
		if (v)
			p[n] |= 0x80;
		n++;
	} while (v);
	return n;
}

/* One field of a protobuf message: [start, end), its value at val. */
struct pbfield {
	size_t start, val, end;
	unsigned int wtype;
	size_t len_at, len_len;	/* the length varint of a LEN field */
};

/* Split buf into fields; their count, or -1 if it does not parse. */
static int pb_fields(const uint8_t *buf, size_t len, struct pbfield *f, int max)
{
	const uint8_t *p = buf, *end = buf + len;
	int n = 0;

	while (p < end && n < max) {
		uint64_t key, v;
		size_t k = varint_get(p, end, &key), m;

		if (!k || (key >> 3) == 0)
			return -1;
		f[n].start = (size_t)(p - buf);
		f[n].wtype = key & 7;
		p += k;
		f[n].val = (size_t)(p - buf);
		switch (key & 7) {
		case 0:
			m = varint_get(p, end, &v);
			if (!m)
				return -1;
			p += m;
			break;
		case 1:
			if (end - p < 8)
				return -1;
			p += 8;
			break;
		case 5:
			if (end - p < 4)
				return -1;
			p += 4;
			break;
		case 2:
			m = varint_get(p, end, &v);
			if (!m || v > (uint64_t)(end - p - (ptrdiff_t)m))
				return -1;
			f[n].len_at = (size_t)(p - buf);
			f[n].len_len = m;
			p += m;
			f[n].val = (size_t)(p - buf);
			p += v;
			break;
		default:
			return -1;
		}
		f[n].end = (size_t)(p - buf);
		n++;
	}
	return p == end ? n : -1;
}

#define PB_MAXF 64

/* Room for any mutated payload: inserted bytes and duplicated fields. */
#define FUZZ_CAP 4096

/*
 * Structural mutations, recursively into nested messages so that the
 * enclosing length prefixes stay right (or, for op 1, are made wrong on
 * purpose).  op: 0 duplicate a field, 1 corrupt a length prefix, 2 put an
 * extreme value in a varint, 3 drop a field.  Returns the new length, or
 * 0 if nothing applied.
 */
static size_t pb_mutate(const uint8_t *in, size_t len, uint8_t *out, size_t cap,
			int op, int depth)
{
	static const uint64_t extremes[] = {
		0, 1, 0x7f, 0x80, 0xffff, 0x10000, 0x7fffffff, 0x80000000u,
		0xffffffffu, 0x100000000ull, 0x7fffffffffffffffull,
		0xffffffffffffffffull, 0xfffffffffffff000ull,
	};
	struct pbfield f[PB_MAXF];
	int n = pb_fields(in, len, f, PB_MAXF);
	const struct pbfield *x;
	uint8_t sub[FUZZ_CAP];
	size_t subn, o;

	if (n <= 0)
		return 0;
	x = &f[rndn((size_t)n)];
	/* Into a nested message, half of the time. */
	if (x->wtype == 2 && depth < 4 && x->end > x->val && rndn(2)) {
		subn = pb_mutate(in + x->val, x->end - x->val, sub, sizeof(sub),
				 op, depth + 1);
		if (subn && x->start + 10 + (x->val - x->start) + subn +
		    (len - x->end) <= cap) {
			o = x->len_at;
			memcpy(out, in, o);
			o += varint_put(out + o, subn);
			memcpy(out + o, sub, subn);
			o += subn;
			memcpy(out + o, in + x->end, len - x->end);
			return o + len - x->end;
		}
	}
	switch (op) {
	case 0:		/* duplicate */
		if (len + (x->end - x->start) > cap)
			return 0;
		memcpy(out, in, x->end);
		memcpy(out + x->end, in + x->start, x->end - x->start);
		memcpy(out + x->end + (x->end - x->start), in + x->end, len - x->end);
		return len + (x->end - x->start);
	case 1:		/* a wrong length prefix, the content unchanged */
		if (x->wtype != 2 || len + 10 > cap)
			return 0;
		o = x->len_at;
		memcpy(out, in, o);
		o += varint_put(out + o, rndn(2) ? rng() : x->end - x->val +
				rndn(8) - 4);
		memcpy(out + o, in + x->val, len - x->val);
		return o + len - x->val;
	case 2:		/* an extreme varint */
		if (x->wtype != 0 || len + 10 > cap)
			return 0;
		o = x->val;
		memcpy(out, in, o);
		o += varint_put(out + o, extremes[rndn(sizeof(extremes) /
						       sizeof(extremes[0]))]);
		{
			uint64_t v;
			size_t m = varint_get(in + x->val, in + len, &v);

			memcpy(out + o, in + x->val + m, len - x->val - m);
			return o + len - x->val - m;
		}
	default:	/* drop */
		memcpy(out, in, x->start);
		memcpy(out + x->start, in + x->end, len - x->end);
		return len - (x->end - x->start) ? len - (x->end - x->start) : 0;
	}
}

struct seed {
	uint8_t buf[512];
	size_t len;
	bool mr_fd;
};

static struct seed seeds[NTYPES];

static void seeds_build(const struct conn *c)
{
	for (size_t i = 0; i < NTYPES; i++) {
		struct reqbuf b;
		Rdmabroker__Request *r = build(&b, c, all_types[i]);
		size_t n = rdmabroker__request__get_packed_size(r);

		CHECK(n <= sizeof(seeds[i].buf), "seed too large");
		seeds[i].len = rdmabroker__request__pack(r, seeds[i].buf);
		seeds[i].mr_fd = all_types[i] == RDMABROKER__REQUEST__BODY_MR_REG;
	}
}

/* fds a fuzzed datagram may carry: of every kind the daemon may meet. */
static int fuzz_fds[6];

static void fuzz_fds_open(const struct conn *c)
{
	int p[2], sv[2];

	CHECK(pipe2(p, O_CLOEXEC) == 0, "pipe");
	CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0,
	      "socketpair");
	fuzz_fds[0] = c->memfd;
	fuzz_fds[1] = p[0];
	fuzz_fds[2] = p[1];
	fuzz_fds[3] = sv[0];
	close(sv[1]);
	fuzz_fds[4] = open("/dev/null", O_RDWR | O_CLOEXEC);
	fuzz_fds[5] = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	CHECK(fuzz_fds[4] >= 0 && fuzz_fds[5] >= 0, "open");
}

/* The fuzzing connection: set up anew whenever the daemon drops it. */
static struct conn fz;

static void fz_conn_drop(struct conn *c)
{
	int memfd = c->memfd;

	c->memfd = -1;
	conn_close(c);
	if (memfd >= 0 && memfd != fuzz_fds[0])
		close(memfd);
}

static void fz_reconnect(void)
{
	int memfd;

	/* The fuzz fds hold fz's memfd: keep it across reconnections. */
	memfd = fz.memfd;
	fz.memfd = -1;
	conn_close(&fz);
	if (memfd >= 0)
		close(memfd);
	conn_setup(&fz);
	fuzz_fds[0] = fz.memfd;
	seeds_build(&fz);
}

/*
 * Send one frame (header + payload as built) on fz with nfds fds; read
 * its reply.  A drop is counted and fz set up again.
 */
static void fuzz_send(const uint8_t *frame, size_t len, const int *fds,
		      size_t nfds)
{
	Rdmabroker__Reply *r = NULL;
	int ret;

	fig.datagrams++;
	ret = rb_wire_send_frame(fz.fd, frame, len, fds, nfds);
	if (ret == 0 && read_reply(fz.fd, &r) == 1) {
		if (r->status)
			fig.refusals++;
		else
			fig.accepted++;
		rdmabroker__reply__free_unpacked(r, NULL);
		return;
	}
	CHECK(ret == 0 || ret == -EPIPE || ret == -ECONNRESET,
	      "send: %s", strerror(-ret));
	fig.disconnects++;
	fz_reconnect();
}

static size_t frame_wrap(uint8_t *frame, const uint8_t *payload, size_t len)
{
	struct rb_wire_hdr h = {
		.magic = RB_WIRE_MAGIC,
		.version = RB_WIRE_VERSION,
		.kind = RB_WIRE_REQUEST,
		.len = (uint32_t)len,
	};

	memcpy(frame, &h, sizeof(h));
	memcpy(frame + sizeof(h), payload, len);
	return sizeof(h) + len;
}

static uint8_t frame[RB_WIRE_MAX_FRAME];

/* One mutated datagram from a random seed. */
static void fuzz_one(void)
{
	const struct seed *sd = &seeds[rndn(NTYPES)];
	uint8_t a[FUZZ_CAP], b[FUZZ_CAP];
	size_t len = sd->len, nfds = 0, flen;
	int nops = 1 + (int)rndn(3);
	int fds[RB_WIRE_MAX_FDS];

	memcpy(a, sd->buf, len);
	for (int k = 0; k < nops; k++) {
		size_t n, pos;
		int op = (int)rndn(10);

		fig.mutations++;
		switch (op) {
		case 0:		/* bit flips */
			for (int i = 1 + (int)rndn(4); i && len; i--)
				a[rndn(len)] ^= (uint8_t)(1u << rndn(8));
			break;
		case 1:		/* bytes replaced */
			for (int i = 1 + (int)rndn(4); i && len; i--)
				a[rndn(len)] = (uint8_t)rng();
			break;
		case 2:		/* truncated */
			len = rndn(len + 1);
			break;
		case 3:		/* bytes inserted */
			n = 1 + rndn(8);
			if (len + n > sizeof(a))
				break;
			pos = rndn(len + 1);
			/* A loop, not memmove: gcc's ASan build cannot see
			 * pos <= len and calls the bound SIZE_MAX. */
			for (size_t i = len; i > pos; i--)
				a[i - 1 + n] = a[i - 1];
			for (size_t i = 0; i < n; i++)
				a[pos + i] = (uint8_t)rng();
			len += n;
			break;
		case 4: case 5: case 6: case 7:	/* structural */
			n = pb_mutate(a, len, b, sizeof(b), op - 4, 0);
			if (n) {
				memcpy(a, b, n);
				len = n;
			}
			break;
		case 8:		/* spliced with another type */
		{
			const struct seed *o = &seeds[rndn(NTYPES)];
			size_t cut = rndn(len + 1), from = rndn(o->len + 1);

			if (cut + (o->len - from) <= sizeof(a)) {
				memcpy(a + cut, o->buf + from, o->len - from);
				len = cut + (o->len - from);
			}
			break;
		}
		default:	/* a random tail */
			n = rndn(64);
			pos = rndn(len + 1);
			if (pos + n > sizeof(a))
				break;
			for (size_t i = 0; i < n; i++)
				a[pos + i] = (uint8_t)rng();
			len = pos + n;
			break;
		}
	}
	/* The fds: mostly what the type wants, sometimes anything. */
	if (sd->mr_fd && rndn(4))
		fds[nfds++] = fuzz_fds[0];
	if (rndn(10) == 0)
		for (size_t i = 1 + rndn(3); i; i--)
			fds[nfds++] = fuzz_fds[rndn(6)];
	flen = frame_wrap(frame, a, len);
	/* The frame itself, rarely: these end the connection. */
	if (rndn(40) == 0) {
		struct rb_wire_hdr *h = (struct rb_wire_hdr *)frame;

		fig.mutations++;
		switch (rndn(6)) {
		case 0: h->len += (uint32_t)rndn(9) - 4; break;
		case 1: h->len = (uint32_t)rng(); break;
		case 2: h->magic ^= 1u << rndn(32); break;
		case 3: h->version = (uint16_t)rng(); break;
		case 4: h->kind = (uint16_t)rndn(6); break;
		default: h->reserved = (uint32_t)rng() | 1; break;
		}
	}
	fuzz_send(frame, flen, fds, nfds);
}

/*
 * A few mutated datagrams on a connection that has not said hello (the
 * first is sometimes a mutated Hello): the early states get their share.
 */
static void fuzz_early(void)
{
	struct conn save = fz;

	fz.fd = raw_connect();
	fz.memfd = -1;
	for (int i = 0; i < 8 && fz.fd >= 0; i++) {
		uint64_t drops = fig.disconnects;

		fuzz_one();
		if (fig.disconnects != drops)
			break;	/* fz is a full session again: keep it */
	}
	if (fz.memfd < 0) {
		close(fz.fd);
		fz = save;
	} else {
		fz_conn_drop(&save);
	}
}

static void fuzz(void)
{
	const char *e = getenv("RB_FUZZ_DATAGRAMS");
	const char *soak = getenv("RB_SOAK");
	const char *seed = getenv("RB_FUZZ_SEED");
	uint64_t total = 20000, batch = 2500, start;

	if (soak && *soak && strcmp(soak, "0"))
		total = 1000000;
	if (e && *e)
		total = strtoull(e, NULL, 0);
	rng_state = seed && *seed ? strtoull(seed, NULL, 0) : 0x5eed;
	if (!rng_state)
		rng_state = 1;
	if (geteuid() == 0) {
		/* Admin requests must be refused, whatever the mutations. */
		CHECK(setgroups(0, NULL) == 0 && setresgid(65534, 65534, 65534) == 0 &&
		      setresuid(65534, 65534, 65534) == 0, "drop to nobody: %s",
		      strerror(errno));
	}
	printf("fuzz: seed %#" PRIx64 ", %" PRIu64 " datagrams\n", rng_state, total);

	memset(&fz, 0, sizeof(fz));
	fz.fd = fz.memfd = -1;
	fz_reconnect();
	fuzz_fds_open(&fz);
	verbs_round("before fuzzing");

	/* Every type, truncated at every length (the header kept true). */
	for (size_t i = 0; i < NTYPES; i++) {
		for (size_t l = 0; l < seeds[i].len; l++) {
			int fd = fuzz_fds[0];
			size_t flen = frame_wrap(frame, seeds[i].buf, l);

			fig.mutations++;
			fuzz_send(frame, flen, &fd, seeds[i].mr_fd);
		}
	}
	/* One type whose frame is cut at every length (header too). */
	{
		const struct seed *sd = &seeds[11];	/* cq_create */
		uint8_t whole[RB_WIRE_MAX_FRAME];
		size_t wl = frame_wrap(whole, sd->buf, sd->len);

		for (size_t l = 0; l < wl; l++) {
			fig.mutations++;
			fuzz_send(whole, l, NULL, 0);
		}
	}
	verbs_round("after the truncations");

	start = fig.datagrams;
	while (fig.datagrams - start < total) {
		if (rndn(200) == 0)
			fuzz_early();
		else
			fuzz_one();
		if ((fig.datagrams - start) % batch == 0) {
			verbs_round("after a batch of fuzzed datagrams");
			/* Objects made by lucky mutations: drop them now and then. */
			fz_reconnect();
		}
	}
	verbs_round("after fuzzing");
	for (int i = 1; i < 6; i++)
		close(fuzz_fds[i]);
	conn_close(&fz);
}

int main(int argc, char **argv)
{
	(void)argv;
	ctl_init("ctl-fuzz");
	if (argc != 1)
		die("no arguments");
	fuzz();
	ctl_figures("fuzz");
	return 0;
}
