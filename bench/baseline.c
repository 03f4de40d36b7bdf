/*
 * baseline: what every rdmabroker benchmark figure is compared with.
 *
 *   relay   three processes over anonymous shared memory: client A ->
 *           relay R -> client B and back, R copying each message from the
 *           sender's buffer into the receiver's, with the broker engine's
 *           wait policy (spin, then sleep on an eventfd doorbell).  The
 *           floor for any daemon-mediated design.  --two-party: A and B
 *           alone, the sender copying into the receiver's buffer; the
 *           physical floor for two parties.
 *   memcpy  single-core memcpy bandwidth: the floor for a transfer that
 *           copies once.
 *   unix    SOCK_STREAM socketpair ping-pong latency and stream
 *           throughput: what an application without RDMA uses.
 *   ctlwork the system calls of a QP create+destroy and of a 4 KiB MR
 *           reg+dereg beyond their round trips, both sides in one process:
 *           with the polled round trip, the floor of the control path.
 *
 * Each prints a table, or with -j a JSON array.  Latency is taken per
 * round trip; one-way is half of it, as perftest reports it.
 *
 * The relay is a floor, so it leaves out what the engine does beyond
 * moving the message: no send completion for the sender, no WQE or CQE
 * to parse, no libevent look at the doorbells on every pass.  Each
 * message is copied exactly once in both relay modes (the shm-pingpong
 * program copies twice: into the slot and out of it).
 */
#include "config.h"

#include <assert.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "bench/bench.h"

#define PROG "baseline"
#define CACHELINE 64
#define MAX_SIZES 32
#define MAX_SIZE (64u << 20)
#define ALL_MAX (8u << 20)		/* -a: 1 B .. 8 MiB */
/* As libclient's RBC_POLL_YIELD: a client gives its core away every
 * 64th empty poll in a row. */
#define POLL_YIELD 64
/* As the broker's RB_RING_NEED_WAKEUP: the relay sleeps, ring me. */
#define NEED_WAKEUP 1u

/* Options a subcommand accepts (the rest are refused with exit 2). */
enum {
	OPT_SPIN = 1 << 0,
	OPT_TWO = 1 << 1,
	OPT_MINMS = 1 << 2,
	OPT_CHAIN = 1 << 3,
};

struct opts {
	uint64_t iters;
	size_t sizes[MAX_SIZES];
	int nsizes;
	bool json;
	bool two_party;
	bool chain;
	uint32_t spin_us;
	bool spin_set;			/* --spin-us given */
	uint32_t min_ms;
};

/* One line of output: a latency or a bandwidth figure for one size. */
struct row {
	const char *test;
	size_t size;
	uint64_t count;			/* round trips or messages timed */
	/* latency, usec per round trip */
	double rtt_min, rtt_med, rtt_p99, rtt_p999;
	double rtt_avg;			/* the mean, as ibv_rc_pingpong reports */
	/* bandwidth */
	double seconds, gbps, mmsgps;
};

/* Untimed round trips first, so page faults and cold caches are not
 * counted: a tenth of the run, at least one, at most 1000. */
static uint64_t warmup_of(uint64_t iters)
{
	uint64_t w = iters / 10;

	return w < 1 ? 1 : w > 1000 ? 1000 : w;
}

/* ------------------------------------------------------------ statistics */

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

/* Nearest-rank percentile of n sorted samples, in usec. */
static double pct(const int64_t *s, uint64_t n, double p)
{
	uint64_t k = (uint64_t)(p * (double)n + 0.999999);

	if (k < 1)
		k = 1;
	if (k > n)
		k = n;
	return (double)s[k - 1] / 1000.0;
}

static void lat_stats(struct row *r, int64_t *s, uint64_t n)
{
	double sum = 0;
	uint64_t i;

	for (i = 0; i < n; i++)
		sum += (double)s[i];
	r->rtt_avg = sum / (double)n / 1000.0;
	qsort(s, n, sizeof(*s), cmp_i64);
	r->count = n;
	r->rtt_min = (double)s[0] / 1000.0;
	r->rtt_med = pct(s, n, 0.50);
	r->rtt_p99 = pct(s, n, 0.99);
	r->rtt_p999 = pct(s, n, 0.999);
}

/* ------------------------------------------------------------ output */

/* Six digits: more than the clock resolves, and no 0.30000000000000004. */
static json_object *jdouble(double v)
{
	char s[64];

	snprintf(s, sizeof(s), "%.6g", v);
	return json_object_new_double_s(v, s);
}

static json_object *lat_json(const struct row *r, double div)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "min", jdouble(r->rtt_min / div));
	json_object_object_add(o, "median", jdouble(r->rtt_med / div));
	json_object_object_add(o, "p99", jdouble(r->rtt_p99 / div));
	json_object_object_add(o, "p99_9", jdouble(r->rtt_p999 / div));
	json_object_object_add(o, "avg", jdouble(r->rtt_avg / div));
	return o;
}

static void row_json(json_object *arr, const struct row *r,
		     const struct opts *o)
{
	json_object *j = json_object_new_object();

	json_object_object_add(j, "test", json_object_new_string(r->test));
	json_object_object_add(j, "size", json_object_new_int64((int64_t)r->size));
	if (r->seconds > 0) {
		json_object_object_add(j, "msgs", json_object_new_int64((int64_t)r->count));
		json_object_object_add(j, "seconds", jdouble(r->seconds));
		json_object_object_add(j, "gb_per_s", jdouble(r->gbps));
		json_object_object_add(j, "mmsg_per_s", jdouble(r->mmsgps));
	} else {
		json_object_object_add(j, "iters", json_object_new_int64((int64_t)r->count));
		if (!strcmp(r->test, "relay_lat") || !strcmp(r->test, "chain_lat") ||
		    !strcmp(r->test, "unix_poll_lat"))
			json_object_object_add(j, "spin_us",
					       json_object_new_int64(o->spin_us));
		json_object_object_add(j, "rtt_us", lat_json(r, 1));
		json_object_object_add(j, "oneway_us", lat_json(r, 2));
	}
	json_object_array_add(arr, j);
}

static void lat_header(const char *title)
{
	printf("# %s\n", title);
	printf("# %10s %9s %9s %9s %9s %9s %9s %9s  (usec)\n", "bytes", "iters",
	       "rtt_min", "rtt_med", "rtt_p99", "1way_min", "1way_med", "1way_p99");
}

static void lat_line(const struct row *r)
{
	printf("  %10zu %9" PRIu64 " %9.3f %9.3f %9.3f %9.3f %9.3f %9.3f\n",
	       r->size, r->count, r->rtt_min, r->rtt_med, r->rtt_p99,
	       r->rtt_min / 2, r->rtt_med / 2, r->rtt_p99 / 2);
}

static void bw_header(const char *title)
{
	printf("# %s\n", title);
	printf("# %10s %12s %9s %9s %9s\n", "bytes", "msgs", "seconds",
	       "GB/s", "Mmsg/s");
}

static void bw_line(const struct row *r)
{
	printf("  %10zu %12" PRIu64 " %9.4f %9.4g %9.4g\n", r->size, r->count,
	       r->seconds, r->gbps, r->mmsgps);
}

static void bw_fill(struct row *r, uint64_t msgs, int64_t ns)
{
	r->count = msgs;
	r->seconds = (double)ns / 1e9;
	r->gbps = (double)msgs * (double)r->size / (double)ns;	/* bytes/ns = GB/s */
	r->mmsgps = (double)msgs / (double)ns * 1e3;
}

/* Wait for child PID; 0 if it exited 0. */
static int reap(pid_t pid, const char *who)
{
	int status;

	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR) {
			fprintf(stderr, PROG ": waitpid: %s\n", strerror(errno));
			return -errno;
		}
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	fprintf(stderr, PROG ": the %s failed\n", who);
	return -EPROTO;
}

/* A child never outlives the parent that times it. */
static pid_t fork_child(void)
{
	pid_t parent = getpid(), pid;

	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0) {
		fprintf(stderr, PROG ": fork: %s\n", strerror(errno));
		return -1;
	}
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(1);
	}
	return pid;
}

/* ------------------------------------------------------------ relay */

/*
 * The shared mapping.  Every way into a relay is a channel: a producer
 * index and the relay's flags on separate lines, as in struct rb_ring,
 * and a doorbell.  Each client has a send channel, a receive flag (its
 * CQ), and a send and a receive buffer of the largest size; an RDMA
 * application writes its payload into registered memory in place, so
 * the clients only stamp the first and last byte.  --chain adds, per
 * direction, the inner relay's posts to the outer one and the outer
 * one's completions back.
 */
struct relay_chan {
	alignas(CACHELINE) _Atomic uint64_t prod;	/* producer writes */
	alignas(CACHELINE) _Atomic uint32_t flags;	/* relay writes */
	int doorbell;
};

struct relay_client {
	struct relay_chan send;				/* client writes */
	alignas(CACHELINE) _Atomic uint64_t recv_seq;	/* the CQ: relay writes */
	unsigned char *sbuf, *rbuf;
};

struct relay_shm {
	alignas(CACHELINE) _Atomic uint32_t ready;	/* processes up */
	_Atomic uint32_t stop;				/* A is done */
	struct relay_client c[2];			/* A, B */
	struct relay_chan post[2];			/* --chain: inner -> outer */
	struct relay_chan done[2];			/* --chain: outer -> inner */
};

/* The shape of the run: A and B alone, one relay, or a chain of two. */
enum relay_shape { SHAPE_TWO, SHAPE_RELAY, SHAPE_CHAIN };

struct relay {
	struct relay_shm *shm;
	void *base;
	size_t len;
	size_t size;
	uint64_t total;			/* warm-up + timed round trips */
	uint64_t spin_ns;
	enum relay_shape shape;
};

/* Every channel of the mapping, for set-up and stop. */
#define RELAY_NCHAN 6

static struct relay_chan *relay_chan_at(struct relay_shm *s, int k)
{
	return k < 2 ? &s->c[k].send : k < 4 ? &s->post[k - 2] : &s->done[k - 4];
}

static uint32_t relay_nproc(const struct relay *r)
{
	return r->shape == SHAPE_TWO ? 2 : r->shape == SHAPE_RELAY ? 3 : 4;
}

static size_t page_up(size_t n)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);

	return (n + page - 1) / page * page;
}

static int relay_map(struct relay *r, size_t maxsize)
{
	size_t hdr = page_up(sizeof(struct relay_shm)), buf = page_up(maxsize);
	unsigned char *p;
	int i;

	r->len = hdr + 4 * buf;
	r->base = mmap(NULL, r->len, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (r->base == MAP_FAILED) {
		fprintf(stderr, PROG ": mmap: %s\n", strerror(errno));
		r->base = NULL;
		return -errno;
	}
	p = r->base;
	r->shm = (struct relay_shm *)(void *)p;
	for (i = 0; i < 2; i++) {
		r->shm->c[i].sbuf = p + hdr + (size_t)(2 * i) * buf;
		r->shm->c[i].rbuf = p + hdr + (size_t)(2 * i + 1) * buf;
	}
	for (i = 0; i < RELAY_NCHAN; i++)
		relay_chan_at(r->shm, i)->doorbell = -1;
	for (i = 0; i < RELAY_NCHAN; i++) {
		int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);

		if (fd < 0) {
			fprintf(stderr, PROG ": eventfd: %s\n", strerror(errno));
			return -errno;
		}
		relay_chan_at(r->shm, i)->doorbell = fd;
	}
	return 0;
}

static void relay_unmap(struct relay *r)
{
	int i;

	if (!r->shm)
		return;
	for (i = 0; i < RELAY_NCHAN; i++)
		if (relay_chan_at(r->shm, i)->doorbell >= 0)
			close(relay_chan_at(r->shm, i)->doorbell);
	munmap(r->base, r->len);
}

/* Fresh flags for one size; the mapping stays. */
static void relay_reset(struct relay *r)
{
	struct relay_shm *s = r->shm;
	uint64_t junk;
	int i;

	atomic_store(&s->ready, 0);
	atomic_store(&s->stop, 0);
	for (i = 0; i < 2; i++)
		atomic_store(&s->c[i].recv_seq, 0);
	for (i = 0; i < RELAY_NCHAN; i++) {
		struct relay_chan *ch = relay_chan_at(s, i);

		atomic_store(&ch->prod, 0);
		atomic_store(&ch->flags, 0);
		while (read(ch->doorbell, &junk, sizeof(junk)) > 0)
			;
	}
}

/* A client waits for message SEQ: spin, giving the core away every
 * POLL_YIELD-th empty poll, as rbc_poll_cq does. */
static int client_wait(_Atomic uint64_t *flag, uint64_t seq)
{
	return wait_flag(flag, seq, POLL_YIELD);
}

/* Publish SEQ on a channel and ring its doorbell only if the relay asked
 * for one; the store, fence, load of libclient's ring_doorbell. */
static void chan_post(struct relay_chan *ch, uint64_t seq)
{
	uint64_t one = 1;

	/* Release: what the message carries is visible before prod. */
	atomic_store_explicit(&ch->prod, seq, memory_order_release);
	/* Seq-cst: our prod store is ordered before the flags load.  The
	 * relay sets the flag, fences, then reloads prod; of the two, at
	 * least one sees the other's store, so no post goes unnoticed. */
	atomic_thread_fence(memory_order_seq_cst);
	if (atomic_load_explicit(&ch->flags, memory_order_relaxed) & NEED_WAKEUP) {
		/* A full counter is still a ring: EAGAIN is fine. */
		if (write(ch->doorbell, &one, sizeof(one)) < 0 && errno != EAGAIN)
			return;
	}
}

/* Client ME sends message SEQ to client PEER. */
static void client_send(struct relay *r, int me, uint64_t seq)
{
	struct relay_client *c = &r->shm->c[me], *peer = &r->shm->c[!me];

	c->sbuf[0] = (unsigned char)seq;
	c->sbuf[r->size - 1] = (unsigned char)seq;
	if (r->shape == SHAPE_TWO) {
		/* No relay: the sender does the one copy. */
		memcpy(peer->rbuf, c->sbuf, r->size);
		/* Release: the bytes are visible before the new seq. */
		atomic_store_explicit(&peer->recv_seq, seq, memory_order_release);
		return;
	}
	chan_post(&c->send, seq);
}

static int client_recv(struct relay *r, int me, uint64_t seq)
{
	struct relay_client *c = &r->shm->c[me];
	int ret = client_wait(&c->recv_seq, seq);

	if (ret)
		return ret;
	if (c->rbuf[0] != (unsigned char)seq ||
	    c->rbuf[r->size - 1] != (unsigned char)seq)
		return -EBADMSG;
	return 0;
}

static void up_and_wait(struct relay *r, uint32_t nproc)
{
	atomic_fetch_add(&r->shm->ready, 1);
	while (atomic_load(&r->shm->ready) < nproc)
		sched_yield();
}

/* B: answer every message. */
static int relay_b(struct relay *r)
{
	uint64_t i;
	int ret;

	up_and_wait(r, relay_nproc(r));
	for (i = 1; i <= r->total; i++) {
		ret = client_recv(r, 1, i);
		if (ret)
			return ret;
		client_send(r, 1, i);
	}
	return 0;
}

/*
 * A relay, with the daemon's policy (daemon/loop.c, soft_qp_progress): each
 * pass reads the clock once and steps every active input; an input idle
 * for spin_ns asks for doorbells (set flag, fence, look once more) and
 * leaves the poll set; an empty pass yields the core; with no input
 * active the relay sleeps until a doorbell.  Unlike the engine, it looks
 * for doorbells (a poll() syscall) only while some input has left the
 * poll set, where libevent's loop makes one every pass: this is a floor.
 *
 * What a relay does with a new message on an input:
 *   COPY   the one relay: copy the sender's buffer into the receiver's,
 *          and complete at the receiver;
 *   POST   the inner relay of a chain, from a client: pass the message
 *          on to the outer relay (no copy: the verbs driver posts the
 *          client's WQE to the device, the memory is the client's);
 *   OUTER  the outer relay: copy, and complete at the inner relay (the
 *          engine writes the inner daemon's CQ);
 *   DONE   the inner relay, from the outer: complete at the receiver.
 */
enum relay_act { ACT_COPY, ACT_POST, ACT_OUTER, ACT_DONE };

/* Inputs of one relay: a chain's inner relay has the most, two clients'
 * sends and two completions from the outer relay. */
#define RELAY_MAX_IN 4

struct relay_in {
	struct relay_chan *ch;
	int from;			/* the sending client: 0 A, 1 B */
	enum relay_act act;
	bool active;
	int64_t last_work;
	uint64_t taken;
};

struct relay_state {
	struct relay_in in[RELAY_MAX_IN];
	int n;
};

static void relay_add(struct relay_state *st, struct relay_chan *ch, int from,
		      enum relay_act act)
{
	assert(st->n < RELAY_MAX_IN);
	st->in[st->n++] = (struct relay_in){ .ch = ch, .from = from, .act = act };
}

static void relay_activate(struct relay_in *in, int64_t now)
{
	in->active = true;
	in->last_work = now;
	/* Polling again: posts need no doorbell. */
	atomic_fetch_and_explicit(&in->ch->flags, ~NEED_WAKEUP,
				  memory_order_relaxed);
}

static void relay_try_sleep(struct relay_in *in)
{
	/* Seq-cst: the flag is visible before we look at prod again; pairs
	 * with the fence in chan_post. */
	atomic_fetch_or_explicit(&in->ch->flags, NEED_WAKEUP, memory_order_seq_cst);
	if (atomic_load_explicit(&in->ch->prod, memory_order_acquire) != in->taken) {
		atomic_fetch_and_explicit(&in->ch->flags, ~NEED_WAKEUP,
					  memory_order_relaxed);
		return;
	}
	in->active = false;
}

/* Complete message PROD at the receiving client PEER. */
static void relay_complete(struct relay_client *peer, uint64_t prod)
{
	/* Release: the copied bytes are visible before the completion. */
	atomic_store_explicit(&peer->recv_seq, prod, memory_order_release);
}

/* Take an input's new message, if any, as its act says; true if any. */
static bool relay_step(struct relay *r, struct relay_in *in)
{
	struct relay_shm *s = r->shm;
	struct relay_client *c = &s->c[in->from], *peer = &s->c[!in->from];
	/* Acquire: pairs with the producer's release of prod: the payload. */
	uint64_t prod = atomic_load_explicit(&in->ch->prod, memory_order_acquire);

	if (prod == in->taken)
		return false;
	in->taken = prod;
	switch (in->act) {
	case ACT_POST:
		chan_post(&s->post[in->from], prod);
		break;
	case ACT_OUTER:
		memcpy(peer->rbuf, c->sbuf, r->size);
		chan_post(&s->done[in->from], prod);
		break;
	case ACT_COPY:
		memcpy(peer->rbuf, c->sbuf, r->size);
		relay_complete(peer, prod);
		break;
	case ACT_DONE:
		relay_complete(peer, prod);
		break;
	}
	return true;
}

/* Sleep (timeout -1) or peek (0) for doorbells of inactive inputs. */
static int relay_doorbells(struct relay_state *st, int timeout)
{
	struct pollfd pfd[RELAY_MAX_IN];
	int idx[RELAY_MAX_IN], n = 0, i, ret;
	uint64_t v;

	for (i = 0; i < st->n; i++) {
		if (st->in[i].active)
			continue;
		pfd[n].fd = st->in[i].ch->doorbell;
		pfd[n].events = POLLIN;
		idx[n++] = i;
	}
	ret = poll(pfd, (nfds_t)n, timeout);
	if (ret < 0)
		return errno == EINTR ? 0 : -errno;
	for (i = 0; i < n; i++) {
		if (!(pfd[i].revents & POLLIN))
			continue;
		while (read(pfd[i].fd, &v, sizeof(v)) > 0)
			;
		relay_activate(&st->in[idx[i]], now_ns());
	}
	return 0;
}

static int relay_run(struct relay *r, struct relay_state *st)
{
	int64_t now = now_ns();
	int i, nactive, ret;

	for (i = 0; i < st->n; i++)
		relay_activate(&st->in[i], now);
	up_and_wait(r, relay_nproc(r));
	while (!atomic_load_explicit(&r->shm->stop, memory_order_relaxed)) {
		bool any = false;

		now = now_ns();
		nactive = 0;
		for (i = 0; i < st->n; i++) {
			struct relay_in *in = &st->in[i];

			if (!in->active)
				continue;
			if (relay_step(r, in)) {
				in->last_work = now;
				any = true;
			} else if ((uint64_t)(now - in->last_work) >= r->spin_ns) {
				relay_try_sleep(in);
			}
			nactive += in->active;
		}
		if (!nactive)
			ret = relay_doorbells(st, -1);
		else if (nactive < st->n)
			ret = relay_doorbells(st, 0);
		else
			ret = 0;
		if (ret)
			return ret;
		if (!any)
			sched_yield();
	}
	return 0;
}

/* The one relay, or a chain's inner relay. */
static int relay_r(struct relay *r)
{
	struct relay_state st = { .n = 0 };
	struct relay_shm *s = r->shm;
	int i;

	for (i = 0; i < 2; i++)
		relay_add(&st, &s->c[i].send, i, r->shape == SHAPE_CHAIN ? ACT_POST : ACT_COPY);
	for (i = 0; i < 2 && r->shape == SHAPE_CHAIN; i++)
		relay_add(&st, &s->done[i], i, ACT_DONE);
	return relay_run(r, &st);
}

/* A chain's outer relay. */
static int relay_outer(struct relay *r)
{
	struct relay_state st = { .n = 0 };
	int i;

	for (i = 0; i < 2; i++)
		relay_add(&st, &r->shm->post[i], i, ACT_OUTER);
	return relay_run(r, &st);
}

/* A, the parent: time every round trip after the warm-up. */
static int relay_a(struct relay *r, uint64_t warm, int64_t *samples)
{
	int64_t t0, t1;
	uint64_t i;
	int ret = 0, k;

	up_and_wait(r, relay_nproc(r));
	t0 = now_ns();
	for (i = 1; i <= r->total; i++) {
		client_send(r, 0, i);
		ret = client_recv(r, 0, i);
		if (ret)
			break;
		t1 = now_ns();
		if (i > warm)
			samples[i - warm - 1] = t1 - t0;
		t0 = t1;
	}
	atomic_store(&r->shm->stop, 1);
	/* Wake a sleeping relay so it sees stop. */
	for (k = 0; k < RELAY_NCHAN && r->shape != SHAPE_TWO; k++) {
		uint64_t one = 1;

		if (write(relay_chan_at(r->shm, k)->doorbell, &one, sizeof(one)) < 0 &&
		    errno != EAGAIN)
			ret = ret ? ret : -errno;
	}
	return ret;
}

static int relay_one(struct relay *r, const struct opts *o, struct row *row,
		     int64_t *samples)
{
	uint64_t warm = warmup_of(o->iters);
	static const char *const who[] = { "client B", "relay", "outer relay" };
	pid_t pid[3] = { -1, -1, -1 };
	int ret, i, nchild = (int)relay_nproc(r) - 1;

	r->total = warm + o->iters;
	relay_reset(r);
	for (i = 0; i < nchild; i++) {
		pid[i] = fork_child();
		if (pid[i] < 0) {
			ret = -EAGAIN;
			goto out;
		}
		if (pid[i] == 0) {
			ret = i == 0 ? relay_b(r) : i == 1 ? relay_r(r) : relay_outer(r);
			if (ret)
				fprintf(stderr, PROG ": %s: %s\n", who[i], strerror(-ret));
			_exit(ret ? 1 : 0);
		}
	}
	ret = relay_a(r, warm, samples);
	if (ret)
		fprintf(stderr, PROG ": client A: %s\n", strerror(-ret));
out:
	for (i = 0; i < nchild; i++) {
		if (pid[i] <= 0)
			continue;
		if (ret)
			kill(pid[i], SIGKILL);
		if (reap(pid[i], who[i]) && !ret)
			ret = -EPROTO;
	}
	if (!ret)
		lat_stats(row, samples, o->iters);
	return ret;
}

static int cmd_relay(const struct opts *o, json_object *arr)
{
	struct relay r = { .spin_ns = (uint64_t)o->spin_us * 1000,
			   .shape = o->two_party ? SHAPE_TWO :
				    o->chain ? SHAPE_CHAIN : SHAPE_RELAY };
	size_t maxsize = 0;
	int64_t *samples;
	int i, ret;

	for (i = 0; i < o->nsizes; i++)
		if (o->sizes[i] > maxsize)
			maxsize = o->sizes[i];
	samples = calloc(o->iters, sizeof(*samples));
	if (!samples) {
		fprintf(stderr, PROG ": out of memory\n");
		return -ENOMEM;
	}
	ret = relay_map(&r, maxsize);
	if (ret)
		goto out;
	if (!o->json && o->two_party) {
		lat_header("shm ping-pong, two parties: A <-> B, the sender copies");
	} else if (!o->json && o->chain) {
		printf("# relay chain ping-pong: A -> inner -> outer -> inner -> B and back,"
		       " the outer relay copies; spin %" PRIu32 " us, then sleep\n", o->spin_us);
		lat_header("relay chain latency");
	} else if (!o->json) {
		printf("# relay ping-pong: A -> relay -> B and back, the relay copies;"
		       " spin %" PRIu32 " us, then sleep\n", o->spin_us);
		lat_header("relay latency");
	}
	for (i = 0; i < o->nsizes; i++) {
		struct row row = { .test = o->two_party ? "shm_lat" :
					   o->chain ? "chain_lat" : "relay_lat",
				   .size = o->sizes[i] };

		r.size = o->sizes[i];
		ret = relay_one(&r, o, &row, samples);
		if (ret)
			goto out;
		if (o->json)
			row_json(arr, &row, o);
		else
			lat_line(&row);
	}
out:
	relay_unmap(&r);
	free(samples);
	return ret;
}

/* ------------------------------------------------------------ memcpy */

/* Copies of SIZE bytes until min_ms have passed and at least iters were
 * made; batches grow until one takes a millisecond, so the clock is
 * read rarely. */
static void memcpy_one(const struct opts *o, struct row *row,
		       unsigned char *dst, const unsigned char *src)
{
	int64_t min_ns = (int64_t)o->min_ms * 1000000, start, bstart, t;
	uint64_t batch = 1, done = 0, k;
	size_t size = row->size;

	memcpy(dst, src, size);	/* warm: faults, TLB, caches as they fit */
	start = now_ns();
	for (;;) {
		bstart = now_ns();
		for (k = 0; k < batch; k++) {
			memcpy(dst, src, size);
			/* The copy is observable: the compiler keeps it. */
			__asm__ __volatile__("" : : "r"(dst) : "memory");
		}
		done += batch;
		t = now_ns();
		if (t - start >= min_ns && done >= o->iters)
			break;
		if (t - bstart < 1000000)
			batch *= 2;
	}
	bw_fill(row, done, t - start);
}

static int cmd_memcpy(const struct opts *o, json_object *arr)
{
	size_t maxsize = 0;
	unsigned char *src, *dst;
	int i;

	for (i = 0; i < o->nsizes; i++)
		if (o->sizes[i] > maxsize)
			maxsize = o->sizes[i];
	src = aligned_alloc(4096, page_up(maxsize));
	dst = aligned_alloc(4096, page_up(maxsize));
	if (!src || !dst) {
		free(src);
		free(dst);
		fprintf(stderr, PROG ": out of memory\n");
		return -ENOMEM;
	}
	/* Touch every page, so no fault is timed. */
	memset(src, 0x5a, page_up(maxsize));
	memset(dst, 0, page_up(maxsize));
	if (!o->json)
		bw_header("memcpy, one core, same buffers each copy");
	for (i = 0; i < o->nsizes; i++) {
		struct row row = { .test = "memcpy_bw", .size = o->sizes[i] };

		memcpy_one(o, &row, dst, src);
		if (o->json)
			row_json(arr, &row, o);
		else
			bw_line(&row);
	}
	free(src);
	free(dst);
	return 0;
}

/* ------------------------------------------------------------ unix */

/*
 * All of buf out or in.  A receive with spin_ns polls (MSG_DONTWAIT) that
 * long before it blocks: the library's wait for a control reply
 * (RDMABROKER_SPIN_US), and the daemon's for the next request.
 */
static int io_full(int fd, void *buf, size_t len, bool out, uint64_t spin_ns)
{
	unsigned char *p = buf;
	int64_t until = 0;

	while (len) {
		ssize_t n;

		if (out) {
			n = send(fd, p, len, MSG_NOSIGNAL);
		} else {
			n = recv(fd, p, len, spin_ns ? MSG_DONTWAIT : 0);
			if (n < 0 && errno == EAGAIN && spin_ns) {
				if (!until)
					until = now_ns() + (int64_t)spin_ns;
				else if (now_ns() >= until)
					spin_ns = 0;
				continue;
			}
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EPIPE;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* The child of the latency run: answer every message. */
static int unix_echo(int fd, unsigned char *buf, size_t size, uint64_t total,
		     uint64_t spin_ns)
{
	uint64_t i;
	int ret;

	for (i = 0; i < total; i++) {
		ret = io_full(fd, buf, size, false, spin_ns);
		if (!ret)
			ret = io_full(fd, buf, size, true, 0);
		if (ret)
			return ret;
	}
	return 0;
}

static int unix_ping(int fd, unsigned char *buf, size_t size, uint64_t warm,
		     uint64_t total, int64_t *samples, uint64_t spin_ns)
{
	int64_t t0 = now_ns(), t1;
	uint64_t i;
	int ret;

	for (i = 1; i <= total; i++) {
		buf[0] = (unsigned char)i;
		buf[size - 1] = (unsigned char)i;
		ret = io_full(fd, buf, size, true, 0);
		if (!ret)
			ret = io_full(fd, buf, size, false, spin_ns);
		if (ret)
			return ret;
		if (buf[0] != (unsigned char)i || buf[size - 1] != (unsigned char)i)
			return -EBADMSG;
		t1 = now_ns();
		if (i > warm)
			samples[i - warm - 1] = t1 - t0;
		t0 = t1;
	}
	return 0;
}

/* The child of the stream run: read to EOF, then say how much came. */
static int unix_sink(int fd, unsigned char *buf, size_t size)
{
	uint64_t got = 0;

	for (;;) {
		ssize_t n = recv(fd, buf, size, 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		got += (uint64_t)n;
	}
	return io_full(fd, &got, sizeof(got), true, 0);
}

/* Send SIZE-byte messages for min_ms (and at least iters of them); the
 * clock stops when the sink has counted them all. */
static int unix_stream(int fd, unsigned char *buf, const struct opts *o,
		       struct row *row)
{
	int64_t min_ns = (int64_t)o->min_ms * 1000000, start = now_ns(), t;
	uint64_t sent = 0, got = 0;
	int ret;

	do {
		ret = io_full(fd, buf, row->size, true, 0);
		if (ret)
			return ret;
		sent++;
		t = now_ns();
	} while (t - start < min_ns || sent < o->iters);
	if (shutdown(fd, SHUT_WR) < 0)
		return -errno;
	ret = io_full(fd, &got, sizeof(got), false, 0);
	if (ret)
		return ret;
	t = now_ns();
	if (got != sent * row->size)
		return -EBADMSG;
	bw_fill(row, sent, t - start);
	return 0;
}

/* One run over a fresh socketpair: STREAM or ping-pong. */
static int unix_one(const struct opts *o, struct row *row, bool stream,
		    unsigned char *buf, int64_t *samples)
{
	uint64_t warm = warmup_of(o->iters);
	uint64_t spin_ns = o->spin_set ? (uint64_t)o->spin_us * 1000 : 0;
	int sv[2], ret, r2;
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		fprintf(stderr, PROG ": socketpair: %s\n", strerror(errno));
		return -errno;
	}
	pid = fork_child();
	if (pid < 0) {
		close(sv[0]);
		close(sv[1]);
		return -EAGAIN;
	}
	if (pid == 0) {
		close(sv[0]);
		ret = stream ? unix_sink(sv[1], buf, row->size) :
			unix_echo(sv[1], buf, row->size, warm + o->iters, spin_ns);
		if (ret)
			fprintf(stderr, PROG ": unix peer: %s\n", strerror(-ret));
		_exit(ret ? 1 : 0);
	}
	close(sv[1]);
	ret = stream ? unix_stream(sv[0], buf, o, row) :
		unix_ping(sv[0], buf, row->size, warm, warm + o->iters, samples, spin_ns);
	if (ret)
		fprintf(stderr, PROG ": unix %s: %s\n", stream ? "stream" : "ping-pong",
			strerror(-ret));
	close(sv[0]);
	if (ret)
		kill(pid, SIGKILL);
	r2 = reap(pid, "unix peer");
	if (!ret && !r2 && !stream)
		lat_stats(row, samples, o->iters);
	return ret ? ret : r2;
}

static int cmd_unix(const struct opts *o, json_object *arr)
{
	struct row lat[MAX_SIZES], bw[MAX_SIZES];
	size_t maxsize = 0;
	unsigned char *buf;
	int64_t *samples;
	int i, ret = 0;

	for (i = 0; i < o->nsizes; i++)
		if (o->sizes[i] > maxsize)
			maxsize = o->sizes[i];
	buf = calloc(1, maxsize);
	samples = calloc(o->iters, sizeof(*samples));
	if (!buf || !samples) {
		fprintf(stderr, PROG ": out of memory\n");
		ret = -ENOMEM;
		goto out;
	}
	for (i = 0; i < o->nsizes; i++) {
		lat[i] = (struct row){ .test = o->spin_set ? "unix_poll_lat" : "unix_lat",
				       .size = o->sizes[i] };
		bw[i] = (struct row){ .test = "unix_bw", .size = o->sizes[i] };
		ret = unix_one(o, &lat[i], false, buf, samples);
		/* Polling is about the wait for an answer: no stream. */
		if (!ret && !o->spin_set)
			ret = unix_one(o, &bw[i], true, buf, NULL);
		if (ret)
			goto out;
	}
	if (o->json) {
		for (i = 0; i < o->nsizes; i++)
			row_json(arr, &lat[i], o);
		for (i = 0; !o->spin_set && i < o->nsizes; i++)
			row_json(arr, &bw[i], o);
	} else if (o->spin_set) {
		printf("# each receive polls %" PRIu32 " us, then sleeps\n", o->spin_us);
		lat_header("unix socket ping-pong, polled, SOCK_STREAM socketpair");
		for (i = 0; i < o->nsizes; i++)
			lat_line(&lat[i]);
	} else {
		lat_header("unix socket ping-pong, SOCK_STREAM socketpair");
		for (i = 0; i < o->nsizes; i++)
			lat_line(&lat[i]);
		bw_header("unix socket stream, SOCK_STREAM socketpair");
		for (i = 0; i < o->nsizes; i++)
			bw_line(&bw[i]);
	}
out:
	free(buf);
	free(samples);
	return ret;
}

/* ------------------------------------------------------------ ctlwork */

/*
 * The system calls a control verb makes besides its round trip, both
 * sides in this one process (so no TLB shootdown to another CPU is
 * counted): a lower bound on what the verb costs beyond the socket.
 *
 * qp_work: one QP create and destroy on the default path.  The daemon
 * makes the ring memfd, sizes and seals it, maps it populated, makes the
 * doorbell eventfd, dups it for the reply and watches it; the client maps
 * the memfd; at destroy both unmap, and the daemon unwatches and closes.
 *
 * mr_work: one 4 KiB registration and deregistration.  The library
 * copies the page into its arena memfd and maps that over the buffer;
 * the daemon maps the region populated and, at deregistration, unmaps
 * it; the library reverts the page: a fresh anonymous page, the bytes
 * read back, moved over the buffer.
 */
#define QP_RING_BYTES 12800	/* the rings of a default RC QP */

static int qp_work_once(int ep)
{
	struct epoll_event e = { .events = EPOLLIN };
	void *dmap, *cmap;
	int m, db, dup;

	m = memfd_create("rdmabroker-ring", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (m < 0 || ftruncate(m, QP_RING_BYTES) < 0 ||
	    fcntl(m, F_ADD_SEALS, F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW) < 0)
		return -errno;
	dmap = mmap(NULL, QP_RING_BYTES, PROT_READ | PROT_WRITE,
		    MAP_SHARED | MAP_POPULATE, m, 0);
	db = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	dup = db < 0 ? -1 : fcntl(db, F_DUPFD_CLOEXEC, 0);
	cmap = mmap(NULL, QP_RING_BYTES, PROT_READ | PROT_WRITE,
		    MAP_SHARED | MAP_POPULATE, m, 0);
	close(m);
	if (dmap == MAP_FAILED || cmap == MAP_FAILED || dup < 0 ||
	    epoll_ctl(ep, EPOLL_CTL_ADD, db, &e) < 0)
		return -ENOMEM;
	epoll_ctl(ep, EPOLL_CTL_DEL, db, NULL);
	close(db);
	munmap(dmap, QP_RING_BYTES);
	munmap(cmap, QP_RING_BYTES);
	close(dup);
	return 0;
}

static int mr_work_once(int arena, unsigned char *buf, size_t page)
{
	void *d, *a;

	if (pwrite(arena, buf, page, 0) != (ssize_t)page ||
	    mmap(buf, page, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED,
		 arena, 0) == MAP_FAILED)
		return -EIO;
	d = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE,
		 arena, 0);
	if (d == MAP_FAILED)
		return -ENOMEM;
	munmap(d, page);
	a = mmap(NULL, page, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (a == MAP_FAILED || pread(arena, a, page, 0) != (ssize_t)page ||
	    mremap(a, page, page, MREMAP_MAYMOVE | MREMAP_FIXED, buf) == MAP_FAILED)
		return -EIO;
	return 0;
}

static void work_json(json_object *arr, const char *test, const struct row *r)
{
	json_object *j = json_object_new_object(), *o = json_object_new_object();

	json_object_object_add(j, "test", json_object_new_string(test));
	json_object_object_add(j, "iters", json_object_new_int64((int64_t)r->count));
	json_object_object_add(o, "min", jdouble(r->rtt_min));
	json_object_object_add(o, "median", jdouble(r->rtt_med));
	json_object_object_add(o, "p99", jdouble(r->rtt_p99));
	json_object_object_add(j, "us", o);
	json_object_array_add(arr, j);
}

static int cmd_ctlwork(const struct opts *o, json_object *arr)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	uint64_t warm = warmup_of(o->iters), i;
	struct row qp = { .test = "qp_work" }, mr = { .test = "mr_work" };
	int64_t *samples, t0;
	unsigned char *buf = MAP_FAILED;
	int ep, arena = -1, ret = 0;

	samples = calloc(o->iters, sizeof(*samples));
	ep = epoll_create1(EPOLL_CLOEXEC);
	arena = memfd_create("rdmabroker-mr", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (arena >= 0 && ftruncate(arena, (off_t)page) == 0)
		buf = mmap(NULL, page, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (!samples || ep < 0 || buf == MAP_FAILED) {
		fprintf(stderr, PROG ": ctlwork: %s\n", strerror(errno ? errno : ENOMEM));
		ret = -ENOMEM;
		goto out;
	}
	memset(buf, 0x5a, page);
	for (i = 0; i < warm + o->iters && !ret; i++) {
		t0 = now_ns();
		ret = qp_work_once(ep);
		if (i >= warm)
			samples[i - warm] = now_ns() - t0;
	}
	if (!ret) {
		lat_stats(&qp, samples, o->iters);
		for (i = 0; i < warm + o->iters && !ret; i++) {
			t0 = now_ns();
			ret = mr_work_once(arena, buf, page);
			if (i >= warm)
				samples[i - warm] = now_ns() - t0;
		}
	}
	if (ret) {
		fprintf(stderr, PROG ": ctlwork: %s\n", strerror(-ret));
		goto out;
	}
	lat_stats(&mr, samples, o->iters);
	if (o->json) {
		work_json(arr, "qp_work", &qp);
		work_json(arr, "mr_work", &mr);
	} else {
		printf("# the system calls of a control verb beyond its round trip, usec\n");
		printf("# %-8s %9s %9s %9s %9s\n", "work", "iters", "min", "median", "p99");
		printf("  %-8s %9" PRIu64 " %9.3f %9.3f %9.3f\n", "qp", qp.count,
		       qp.rtt_min, qp.rtt_med, qp.rtt_p99);
		printf("  %-8s %9" PRIu64 " %9.3f %9.3f %9.3f\n", "mr", mr.count,
		       mr.rtt_min, mr.rtt_med, mr.rtt_p99);
	}
out:
	if (buf != MAP_FAILED)
		munmap(buf, page);
	if (arena >= 0)
		close(arena);
	if (ep >= 0)
		close(ep);
	free(samples);
	return ret;
}

/* ------------------------------------------------------------ main */

struct cmd {
	const char *name;
	int (*run)(const struct opts *o, json_object *arr);
	unsigned int opts;		/* OPT_* it accepts beyond the common */
	const char *what;
};

static const struct cmd cmds[] = {
	{ "relay", cmd_relay, OPT_SPIN | OPT_TWO | OPT_CHAIN,
	  "three-party relay ping-pong over shared memory (--two-party: two,\n"
	  "           --chain: four)" },
	{ "memcpy", cmd_memcpy, OPT_MINMS, "memcpy bandwidth on one core" },
	{ "unix", cmd_unix, OPT_MINMS | OPT_SPIN,
	  "UNIX socket ping-pong latency and stream throughput" },
	{ "ctlwork", cmd_ctlwork, 0,
	  "system calls of a QP create+destroy and an MR reg+dereg, no socket" },
};

static void usage(FILE *f)
{
	size_t i;

	fprintf(f,
		"Usage: " PROG " COMMAND [-n ITERS] [-s SIZE]... [-a] [-j] [OPTIONS]\n"
		"       " PROG " -h | --help\n"
		"The baselines rdmabroker's benchmark figures are compared with.\n"
		"\n"
		"Commands:\n");
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		fprintf(f, "  %-8s %s\n", cmds[i].name, cmds[i].what);
	fprintf(f,
		"\n"
		"Options:\n"
		"  -n, --iters=ITERS   round trips timed per size (default 1000); for\n"
		"                      memcpy and the unix stream, the fewest messages\n"
		"  -s, --size=SIZE     message size, with K or M suffix; may be repeated\n"
		"                      (default 8, 4K and 1M)\n"
		"  -a, --all           all powers of two from 1 B to 8 MiB\n"
		"  -j, --json          print a JSON array instead of the table\n"
		"      --spin-us=US    relay: spin this long after the last work, then\n"
		"                      sleep on a doorbell (default 200, as [soft] spin_us);\n"
		"                      unix: poll each receive this long, then sleep (as\n"
		"                      RDMABROKER_SPIN_US), latency only, as unix_poll_lat\n"
		"      --two-party     relay: A and B alone, no relay (the floor)\n"
		"      --chain         relay: two relays, as a daemon nested over another\n"
		"                      (A -> inner -> outer -> inner -> B, the outer copies)\n"
		"      --min-ms=MS     memcpy, unix stream: time per size (default 50)\n"
		"  -h, --help          show this help and exit\n");
}

static int parse_u64(const char *arg, const char *what, uint64_t min,
		     uint64_t max, bool suffix, uint64_t *out)
{
	unsigned long long v;
	char *end;

	errno = 0;
	v = strtoull(arg, &end, 10);
	if (suffix && end != arg && (*end == 'K' || *end == 'k') && !end[1]) {
		v = v > ULLONG_MAX >> 10 ? ULLONG_MAX : v << 10;
		end++;
	} else if (suffix && end != arg && (*end == 'M' || *end == 'm') && !end[1]) {
		v = v > ULLONG_MAX >> 20 ? ULLONG_MAX : v << 20;
		end++;
	}
	if (errno || end == arg || *end || arg[0] == '-' || v < min || v > max) {
		fprintf(stderr, PROG ": bad %s '%s' (%" PRIu64 "..%" PRIu64 ")\n",
			what, arg, min, max);
		return -EINVAL;
	}
	*out = v;
	return 0;
}

enum { LOPT_SPIN = 256, LOPT_TWO, LOPT_MINMS, LOPT_CHAIN };

int main(int argc, char *argv[])
{
	static const struct option lopts[] = {
		{ "iters", required_argument, NULL, 'n' },
		{ "size", required_argument, NULL, 's' },
		{ "all", no_argument, NULL, 'a' },
		{ "json", no_argument, NULL, 'j' },
		{ "spin-us", required_argument, NULL, LOPT_SPIN },
		{ "two-party", no_argument, NULL, LOPT_TWO },
		{ "chain", no_argument, NULL, LOPT_CHAIN },
		{ "min-ms", required_argument, NULL, LOPT_MINMS },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct opts o = { .iters = 1000, .spin_us = 200, .min_ms = 50 };
	const struct cmd *cmd = NULL;
	json_object *arr = NULL;
	bool all = false;
	uint64_t v;
	size_t i;
	int c, ret;

	if (argc > 1 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
		usage(stdout);
		return 0;
	}
	for (i = 0; argc > 1 && i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (!strcmp(argv[1], cmds[i].name))
			cmd = &cmds[i];
	if (!cmd) {
		if (argc > 1)
			fprintf(stderr, PROG ": unknown command '%s'\n", argv[1]);
		usage(stderr);
		return 2;
	}
	argv++;
	argc--;
	while ((c = getopt_long(argc, argv, "n:s:ajh", lopts, NULL)) != -1) {
		unsigned int need = c == LOPT_SPIN ? OPT_SPIN : c == LOPT_TWO ? OPT_TWO :
			c == LOPT_MINMS ? OPT_MINMS : c == LOPT_CHAIN ? OPT_CHAIN : 0;

		if (need && !(cmd->opts & need)) {
			fprintf(stderr, PROG ": %s takes no %s\n", cmd->name,
				argv[optind - 1]);
			return 2;
		}
		switch (c) {
		case 'n':
			if (parse_u64(optarg, "iteration count", 1, 100000000, false,
				      &o.iters))
				return 2;
			break;
		case 's':
			if (o.nsizes == MAX_SIZES) {
				fprintf(stderr, PROG ": at most %d sizes\n", MAX_SIZES);
				return 2;
			}
			if (parse_u64(optarg, "size", 1, MAX_SIZE, true, &v))
				return 2;
			o.sizes[o.nsizes++] = (size_t)v;
			break;
		case 'a':
			all = true;
			break;
		case 'j':
			o.json = true;
			break;
		case LOPT_SPIN:
			if (parse_u64(optarg, "spin time", 0, 1000000, false, &v))
				return 2;
			o.spin_us = (uint32_t)v;
			o.spin_set = true;
			break;
		case LOPT_TWO:
			o.two_party = true;
			break;
		case LOPT_CHAIN:
			o.chain = true;
			break;
		case LOPT_MINMS:
			if (parse_u64(optarg, "time per size", 1, 600000, false, &v))
				return 2;
			o.min_ms = (uint32_t)v;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (o.two_party && o.chain) {
		fprintf(stderr, PROG ": --two-party and --chain exclude each other\n");
		return 2;
	}
	if (optind != argc || (all && o.nsizes)) {
		fprintf(stderr, PROG ": %s\n", optind != argc ?
			"unexpected argument" : "-a and -s exclude each other");
		usage(stderr);
		return 2;
	}
	if (all) {
		for (v = 1; v <= ALL_MAX; v <<= 1)
			o.sizes[o.nsizes++] = (size_t)v;
	} else if (!o.nsizes) {
		o.sizes[o.nsizes++] = 8;
		o.sizes[o.nsizes++] = 4096;
		o.sizes[o.nsizes++] = 1 << 20;
	}

	if (o.json) {
		arr = json_object_new_array();
		if (!arr) {
			fprintf(stderr, PROG ": out of memory\n");
			return 1;
		}
	}
	ret = cmd->run(&o, arr);
	if (!ret && arr)
		printf("%s\n", json_object_to_json_string_ext(arr,
			JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(arr);
	return ret ? 1 : 0;
}
