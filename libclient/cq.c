/* SPDX-License-Identifier: MIT */
/*
 * Completion channels and completion queues.  The daemon owns both; the
 * client maps each CQ's ring (proto/shm.h) and polls it without a system
 * call, and reads completion events from the channel's socket.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "libclient/client.h"

/* ------------------------------------------------------------ channels */

RB_EXPORT struct ibv_comp_channel *ibv_create_comp_channel(struct ibv_context *context)
{
	struct rbc_context *c = to_rbc_context(context);
	Rdmabroker__ChannelCreateReq body = RDMABROKER__CHANNEL_CREATE_REQ__INIT;
	Rdmabroker__Request req = RDMABROKER__REQUEST__INIT;
	Rdmabroker__Reply *reply;
	struct rbc_channel *ch;
	int fd, ret;

	ch = calloc(1, sizeof(*ch));
	if (!ch) {
		errno = ENOMEM;
		return NULL;
	}
	req.body_case = RDMABROKER__REQUEST__BODY_CHANNEL_CREATE;
	req.channel_create = &body;
	ret = rbc_call_fds(c, &req, &reply, &fd, 1);
	if (ret) {
		free(ch);
		errno = ret;
		return NULL;
	}
	ch->handle = reply->channel_create->handle;
	rb_rpc_reply_free(reply);
	ch->ch.context = context;
	ch->ch.fd = fd;
	ch->ch.refcnt = 0;
	return &ch->ch;
}

RB_EXPORT int ibv_destroy_comp_channel(struct ibv_comp_channel *channel)
{
	struct rbc_channel *ch = (struct rbc_channel *)channel;
	struct rbc_context *c = to_rbc_context(channel->context);
	Rdmabroker__ChannelDestroyReq body = RDMABROKER__CHANNEL_DESTROY_REQ__INIT;
	Rdmabroker__Request req = RDMABROKER__REQUEST__INIT;
	int ret;

	if (channel->refcnt)
		return EBUSY;	/* CQs still use it, as libibverbs says */
	body.handle = ch->handle;
	req.body_case = RDMABROKER__REQUEST__BODY_CHANNEL_DESTROY;
	req.channel_destroy = &body;
	ret = rbc_call_destroy(c, &req);
	if (ret)
		return ret;
	close(channel->fd);
	free(ch);
	return 0;
}

/* ------------------------------------------------------------ CQs */

/* A ring header as this library knows it: 0, or -1 with errno EPROTO. */
int rbc_ring_check(const struct rb_ring *r, size_t bytes, uint32_t kind)
{
	if (bytes < RB_RING_HDR_SIZE || r->magic != RB_RING_MAGIC ||
	    r->abi_version != RB_SHM_ABI_VERSION || r->kind != kind ||
	    r->entries == 0 || (r->entries & (r->entries - 1)) ||
	    rb_ring_bytes(r->entries, r->entry_size) > bytes) {
		errno = EPROTO;	/* a daemon of another ABI */
		return -1;
	}
	return 0;
}

/* Map bytes of a ring memfd; MAP_FAILED with errno on failure. */
void *rbc_map_rings(int fd, size_t bytes)
{
	if (bytes < RB_RING_HDR_SIZE) {
		errno = EIO;
		return MAP_FAILED;
	}
	/* Populated now: the fast path must not fault (nor the first post). */
	return mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE,
		    fd, 0);
}

struct rb_ring *rbc_map_ring(int fd, size_t bytes, uint32_t kind)
{
	struct rb_ring *r = rbc_map_rings(fd, bytes);

	if (r == MAP_FAILED)
		return NULL;
	if (rbc_ring_check(r, bytes, kind) < 0) {
		munmap(r, bytes);
		errno = EPROTO;
		return NULL;
	}
	return r;
}

/*
 * How long a CQ is polled empty before the poller sleeps on it
 * (RDMABROKER_POLL_SLEEP_US, rbc_cq_wait); 0: never, the default.  Only
 * against a daemon that wakes sleepers (RB_RING_FEAT_WAKE).
 */
static uint64_t rbc_cq_sleep_after(const struct rb_ring *r)
{
	if (!(r->features & RB_RING_FEAT_WAKE))
		return 0;
	/* As documented: a value out of range or not a number is ignored. */
	return (uint64_t)rb_env_long(RB_POLL_SLEEP_ENV, RBC_POLL_SLEEP_US, 0, 1000000) * 1000;
}

static struct rbc_cq *rbc_cq_create(struct ibv_context *context, int cqe,
				    void *cq_context,
				    struct ibv_comp_channel *channel,
				    int comp_vector)
{
	struct rbc_context *c = to_rbc_context(context);
	Rdmabroker__CqCreateReq body = RDMABROKER__CQ_CREATE_REQ__INIT;
	Rdmabroker__Request req = RDMABROKER__REQUEST__INIT;
	Rdmabroker__Reply *reply;
	struct rbc_cq *cq;
	int fd, ret;

	cq = calloc(1, sizeof(*cq));
	if (!cq) {
		errno = ENOMEM;
		return NULL;
	}
	body.cqe = cqe;
	body.has_comp_vector = 1;
	body.comp_vector = comp_vector;
	if (channel) {
		body.has_channel = 1;
		body.channel = ((struct rbc_channel *)channel)->handle;
	}
	req.body_case = RDMABROKER__REQUEST__BODY_CQ_CREATE;
	req.cq_create = &body;
	ret = rbc_call_fds(c, &req, &reply, &fd, 1);
	if (ret) {
		free(cq);
		errno = ret;
		return NULL;
	}
	cq->ring_bytes = reply->cq_create->ring_bytes;
	cq->cq.handle = reply->cq_create->handle;
	cq->cq.cqe = reply->cq_create->cqe;
	rb_rpc_reply_free(reply);
	cq->ring = rbc_map_ring(fd, cq->ring_bytes, RB_RING_CQ);
	close(fd);	/* the mapping keeps the memory */
	if (!cq->ring) {
		ret = errno;
		/* The daemon frees its CQ when this context closes. */
		free(cq);
		errno = ret;
		return NULL;
	}
	cq->sleep_after_ns = rbc_cq_sleep_after(cq->ring);
	pthread_mutex_init(&cq->lock, NULL);
	pthread_mutex_init(&cq->cq.mutex, NULL);
	pthread_cond_init(&cq->cq.cond, NULL);
	cq->cq.context = context;
	cq->cq.channel = channel;
	cq->cq.cq_context = cq_context;
	if (channel) {
		pthread_mutex_lock(&context->mutex);
		channel->refcnt++;
		pthread_mutex_unlock(&context->mutex);
	}
	pthread_mutex_lock(&c->cq_lock);
	LIST_INSERT_HEAD(&c->cqs, cq, link);
	pthread_mutex_unlock(&c->cq_lock);
	return cq;
}

RB_EXPORT struct ibv_cq *ibv_create_cq(struct ibv_context *context, int cqe,
				       void *cq_context,
				       struct ibv_comp_channel *channel,
				       int comp_vector)
{
	struct rbc_cq *cq = rbc_cq_create(context, cqe, cq_context, channel,
					  comp_vector);

	return cq ? rbc_ibv_cq(cq) : NULL;
}

/* Entries of a client-produced ring the engine has not consumed yet. */
static uint32_t rbc_ring_outstanding(const struct rb_ring *r)
{
	uint32_t d;

	if (!r)
		return 0;
	d = __atomic_load_n(&r->prod, __ATOMIC_RELAXED) -
	    __atomic_load_n(&r->cons, __ATOMIC_ACQUIRE);
	return d > r->entries ? r->entries : d;
}

/*
 * Completions this CQ may still have to hold: those in its ring, and one
 * for each WR posted to a queue that completes into it and not done yet
 * (an SRQ's counted once).  Unsignaled sends are counted too: which are
 * is not known here, and over-counting only refuses a tight resize.
 */
static uint32_t rbc_cq_outstanding(struct rbc_context *c, struct rbc_cq *cq)
{
	struct ibv_cq *ibcq = rbc_ibv_cq(cq);
	const struct rb_ring *r = cq->ring;
	uint64_t n;
	struct rbc_qp *qp;
	struct rbc_srq *srq;

	/* cons too is read atomically: a poller may move it meanwhile. */
	n = __atomic_load_n(&r->prod, __ATOMIC_ACQUIRE) -
	    __atomic_load_n(&r->cons, __ATOMIC_RELAXED);
	if (n > r->entries)
		n = r->entries;
	pthread_mutex_lock(&c->cq_lock);
	LIST_FOREACH(qp, &c->qps, link) {
		if (qp->qp.send_cq == ibcq)
			n += rbc_ring_outstanding(qp->sq);
		if (qp->qp.recv_cq == ibcq && !qp->qp.srq)
			n += rbc_ring_outstanding(qp->rq);
	}
	LIST_FOREACH(srq, &c->srqs, link) {
		LIST_FOREACH(qp, &c->qps, link)
			if (qp->qp.srq == &srq->srq && qp->qp.recv_cq == ibcq)
				break;
		if (qp)
			n += rbc_ring_outstanding(srq->ring);
	}
	pthread_mutex_unlock(&c->cq_lock);
	return n > UINT32_MAX ? UINT32_MAX : (uint32_t)n;
}

/*
 * Remove the completions of QP qpn from the CQ, as mlx4/mlx5 do when a QP
 * goes to RESET, so its next life sees none of the old one.  Walks from
 * the newest entry to cons, moving the kept entries up over the removed
 * ones, then gives the freed slots back by advancing cons.  Only slots
 * between cons and the prod read here move: they are the consumer's until
 * cons passes them, and the daemon only writes beyond prod.
 */
void rbc_cq_clean(struct ibv_cq *ibcq, uint32_t qpn)
{
	struct rbc_cq *cq = (struct rbc_cq *)ibcq;
	struct rb_ring *r;
	uint32_t prod, cons, avail, freed = 0;

	if (!ibcq)
		return;
	pthread_mutex_lock(&cq->lock);
	r = cq->ring;
	prod = __atomic_load_n(&r->prod, __ATOMIC_ACQUIRE);
	cons = r->cons;
	avail = prod - cons;
	if (avail > r->entries)
		avail = r->entries;
	for (uint32_t i = cons + avail; i-- != cons;) {
		struct rb_cqe *e = rb_ring_slot(r, i);

		if (__atomic_load_n(&e->qp_num, __ATOMIC_RELAXED) == qpn)
			freed++;
		else if (freed)
			memcpy(rb_ring_slot(r, i + freed), e, sizeof(*e));
	}
	/* Release: the moved entries are written before the slots go back. */
	if (freed)
		__atomic_store_n(&r->cons, cons + freed, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&cq->lock);
}

RB_EXPORT int ibv_resize_cq(struct ibv_cq *ibcq, int cqe)
{
	struct rbc_cq *cq = (struct rbc_cq *)ibcq;
	struct rbc_context *c = to_rbc_context(ibcq->context);
	Rdmabroker__CqResizeReq body = RDMABROKER__CQ_RESIZE_REQ__INIT;
	Rdmabroker__Request req = RDMABROKER__REQUEST__INIT;
	Rdmabroker__Reply *reply;
	struct rb_ring *ring;
	size_t bytes;
	int fd, ret;

	/*
	 * Never lose a completion: those of WRs already posted count against
	 * the new size, and providers refuse a size they do not fit in.
	 */
	if (cqe < 1 || (uint32_t)cqe < rbc_cq_outstanding(c, cq))
		return EINVAL;
	body.handle = ibcq->handle;
	body.cqe = cqe;
	req.body_case = RDMABROKER__REQUEST__BODY_CQ_RESIZE;
	req.cq_resize = &body;
	/* No poller may read the old ring while the daemon moves it. */
	pthread_mutex_lock(&cq->lock);
	ret = rbc_call_fds(c, &req, &reply, &fd, 1);
	if (ret) {
		pthread_mutex_unlock(&cq->lock);
		return ret;
	}
	bytes = reply->cq_resize->ring_bytes;
	ring = rbc_map_ring(fd, bytes, RB_RING_CQ);
	close(fd);
	if (!ring) {
		ret = errno;
		rb_rpc_reply_free(reply);
		pthread_mutex_unlock(&cq->lock);
		return ret;
	}
	munmap(cq->ring, cq->ring_bytes);
	cq->ring = ring;
	cq->ring_bytes = bytes;
	cq->sleep_after_ns = rbc_cq_sleep_after(ring);
	ibcq->cqe = reply->cq_resize->cqe;
	rb_rpc_reply_free(reply);
	pthread_mutex_unlock(&cq->lock);
	return 0;
}

RB_EXPORT int ibv_destroy_cq(struct ibv_cq *ibcq)
{
	struct rbc_cq *cq = (struct rbc_cq *)ibcq;
	struct rbc_context *c = to_rbc_context(ibcq->context);
	Rdmabroker__CqDestroyReq body = RDMABROKER__CQ_DESTROY_REQ__INIT;
	Rdmabroker__Request req = RDMABROKER__REQUEST__INIT;
	uint32_t reported, async;
	int ret;

	body.handle = ibcq->handle;
	req.body_case = RDMABROKER__REQUEST__BODY_CQ_DESTROY;
	req.cq_destroy = &body;
	ret = rbc_call_destroy(c, &req);
	if (ret)
		return ret;	/* EBUSY while a QP uses it; the CQ stays */

	/*
	 * As libibverbs: every event handed out must have been acked.  Once
	 * off the list no more are; ones still unread are dropped when read.
	 */
	pthread_mutex_lock(&c->cq_lock);
	LIST_REMOVE(cq, link);
	reported = cq->comp_handed;
	async = cq->async_handed;
	pthread_mutex_unlock(&c->cq_lock);
	pthread_mutex_lock(&ibcq->mutex);
	while (ibcq->comp_events_completed < reported ||
	       ibcq->async_events_completed < async)
		pthread_cond_wait(&ibcq->cond, &ibcq->mutex);
	pthread_mutex_unlock(&ibcq->mutex);
	if (ibcq->channel) {
		pthread_mutex_lock(&ibcq->context->mutex);
		ibcq->channel->refcnt--;
		pthread_mutex_unlock(&ibcq->context->mutex);
	}
	/* The ring goes with the CQ, in this process as in the daemon. */
	munmap(cq->ring, cq->ring_bytes);
	pthread_mutex_destroy(&cq->lock);
	pthread_mutex_destroy(&ibcq->mutex);
	pthread_cond_destroy(&ibcq->cond);
	free(cq);
	return 0;
}

/* The CQ this thread polled last: a thread that polls several in turn
 * never sleeps on one (rbc_cq_wait). */
static __thread const struct rbc_cq *rbc_polled;

/*
 * Whether the engine has work of ours it has not done: a send queue that
 * completes into this CQ holds a WR it has not completed.  Looks at
 * RBC_POLL_SCAN such queues at most, so that the check stays cheap on a
 * context with thousands of QPs.
 */
static bool rbc_engine_behind(struct rbc_context *c, const struct rbc_cq *cq)
{
	const struct ibv_cq *ibcq = (const struct ibv_cq *)&cq->cq;
	unsigned int n = RBC_POLL_SCAN;
	bool behind = false;
	struct rbc_qp *qp;

	pthread_mutex_lock(&c->cq_lock);
	LIST_FOREACH(qp, &c->qps, link) {
		if (qp->qp.send_cq != ibcq)
			continue;
		if (rbc_ring_outstanding(qp->sq)) {
			behind = true;
			break;
		}
		if (!--n)
			break;
	}
	pthread_mutex_unlock(&c->cq_lock);
	return behind;
}

/*
 * Every RBC_POLL_YIELD-th empty poll in a row, instead of sched_yield(),
 * when RDMABROKER_POLL_SLEEP_US asks for it: once the CQ has been empty
 * for sleep_after_ns while the engine has a send of ours not done
 * (rbc_engine_behind), sleep on the ring's prod until the daemon
 * publishes a completion (proto/shm.h, RB_RING_SLEEPING) or
 * RBC_POLL_SLEEP_MAX_NS pass.  That wait is for the engine: a poller that
 * spins then, even one that yields, holds a core the engine may need to
 * make the completion; a sleeper holds nothing and is woken when there is
 * something to read.  A wait for the peer (nothing of ours outstanding: a
 * ping-pong's receive) spins and yields as before, since a wake-up costs
 * 30-90 us on the VMs measured and the peer may answer sooner.  ibv_poll_cq stays a
 * poll to the program: it returns (0, or what came) after at most one
 * sleep.
 *
 * A program may poll the CQ between other work the library cannot see (a
 * shared-memory queue, a socket, a buffer its peer writes into): only a
 * thread that polls this CQ and no other sleeps on it, and after
 * RBC_POLL_SLEEPS_MISSED sleeps in one wait that ran out with nothing to
 * read it goes back to yielding until a completion ends the wait.  That
 * still costs such a program up to a sleep per wait, which is why it is
 * off unless asked for.  Returns true if it slept (no yield then).
 * Called without the CQ's lock.
 */
static bool rbc_cq_wait(struct rbc_context *c, struct rbc_cq *cq, uint32_t seen)
{
	struct rb_ring *r = cq->ring;
	struct timespec ts = { 0, RBC_POLL_SLEEP_MAX_NS };
	uint64_t now;

	if (!cq->sleep_after_ns || cq->sleeps_missed >= RBC_POLL_SLEEPS_MISSED ||
	    seen != r->cons)	/* a poll of 0 entries of a CQ that has some */
		return false;
	now = rb_now_ns();
	if (!cq->empty_since_ns || rbc_polled != cq) {
		cq->empty_since_ns = now;
		rbc_polled = cq;
		return false;
	}
	if (now - cq->empty_since_ns < cq->sleep_after_ns || !rbc_engine_behind(c, cq))
		return false;
	/* Flag, then look again (seq_cst both: see cq_push in daemon/cq.c);
	 * FUTEX_WAIT itself returns at once if prod has moved since. */
	__atomic_fetch_or(&r->flags, RB_RING_SLEEPING, __ATOMIC_SEQ_CST);
	if (__atomic_load_n(&r->prod, __ATOMIC_SEQ_CST) == seen)
		syscall(SYS_futex, &r->prod, FUTEX_WAIT, seen, &ts, NULL, 0);
	__atomic_fetch_and(&r->flags, ~RB_RING_SLEEPING, __ATOMIC_RELAXED);
	if (__atomic_load_n(&r->prod, __ATOMIC_ACQUIRE) == seen)
		cq->sleeps_missed++;
	return true;
}

/*
 * The empty poll's yield.  A poller gives its core away every
 * RBC_POLL_YIELD-th empty poll in case the engine, or the peer it waits
 * for, shares that core and needs it.  A yield returns at once when nobody
 * else wants the core, within microseconds when one of ours took it (the
 * engine yields too when it has nothing, and so does a poller of ours),
 * and late only when the core went to something that keeps it: a busy
 * loop, a program that spins on memory, another engine's long copy.  Under
 * EEVDF a yield moves the yielder's deadline a whole slice on, so beside a
 * busy loop every yield costs that slice (2-4 ms on the VMs measured), and
 * a wait of microseconds became one slice per message (docs/performance.md,
 * "A yield that comes back late").
 *
 * So each yield is timed.  One that came back later than
 * RBC_YIELD_LATE_NS while the engine last completed into this ring from
 * another core (producer_cpu, proto/shm.h) gave the core to a stranger:
 * this thread then spins through its empty polls, no yield, for a window
 * (RBC_YIELD_SPIN_MIN_NS, doubled each time the yield that ends a window
 * is late again, up to RBC_YIELD_SPIN_MAX_NS), and shares its core with
 * the stranger as the scheduler shares any two spinners.  The engine on
 * this core, or a ring that does not say (an older daemon), keeps the
 * yield as it was: the engine may need the core, and the window is what
 * bounds the cost of a guess gone stale.  Per thread: it is the thread's
 * core that is shared.
 */
static __thread uint64_t rbc_spin_until, rbc_spin_window;

/*
 * A poller on the engine's core moves off it.  Two clients in a
 * ping-pong and the engine are three spinners on two cores: where the
 * engine has a core of its own, a message crosses it without waiting and
 * the two clients hand their core to each other once per message, as the
 * relay baseline does in its fast placement; where the engine shares a
 * core with a client, that core changes hands back and forth through
 * yields, and a message took 10-13 us one way instead of 6-7 (2 vCPUs,
 * docs/performance.md, "Three spinners, two cores").  The scheduler has
 * no reason to prefer either placement.  The daemon holds the engine on
 * its core while it is busy (daemon/loop.c, loop_hold), and a poller that
 * finds the engine on its core (producer_cpu, proto/shm.h) moves itself:
 * it takes its affinity without this core, which moves it, then the mask
 * it had, which leaves it where it went; its mask is unchanged.
 *
 * Only where the move can help: when the thread waits for a peer, not
 * for the engine (no send queue that completes into the CQ holds work the
 * engine has not completed, rbc_engine_behind: a client that waits for
 * its own WRITEs wants the engine's core when a busy loop has the other),
 * when no more tasks are runnable on the machine than one per core the
 * thread may use plus one (the engine and its pollers, nothing else:
 * /proc/loadavg, with the engine counted in while it sleeps, which the
 * ring says: producer_asleep, proto/shm.h; beside a busy loop the engine
 * napped, the count came to three on two cores, and the move put a
 * client on the loop's core for 16 ms), never for a thread confined to
 * one core, and not while
 * this thread's yields come back late (a stranger keeps a core: beside a
 * busy loop a move put two programs that spin on memory on one core, and
 * each waited a slice per message).  At most once per rbc_move_every
 * (RBC_POLL_MOVE_EVERY_NS) per thread, so that a balancer that moves it
 * back costs a migration per window.  Yields late by a slice soon after a
 * move found a stranger where it went (rbc_poll_yield): the thread goes
 * back to the engine's core and waits RBC_POLL_MOVE_AFTER_LATE_NS before
 * it tries again, then RBC_POLL_MOVE_EVERY_MAX_NS; each try costs a few
 * slices.  RDMABROKER_POLL_MOVE=0 turns it off, =1 leaves out the count
 * of runnable tasks and the move back (tests/integration/poll-move.sh,
 * which runs beside other tests).
 * Returns true if the thread moved.
 */
static __thread uint64_t rbc_move_looked, rbc_moved_at;
static __thread uint64_t rbc_move_every = RBC_POLL_MOVE_EVERY_NS;
static __thread int rbc_moved_from, rbc_moved_late;
enum { RBC_MOVE_OFF, RBC_MOVE_ALWAYS, RBC_MOVE_AUTO };
static int rbc_move_mode;

static void rbc_poll_move_init(void)
{
	const char *env = getenv(RBC_POLL_MOVE_ENV);
	int mode = RBC_MOVE_AUTO;

	if (env && !strcmp(env, "0"))
		mode = RBC_MOVE_OFF;
	else if (env && !strcmp(env, "1"))
		mode = RBC_MOVE_ALWAYS;
	__atomic_store_n(&rbc_move_mode, mode, __ATOMIC_RELAXED);
}

/* Runnable tasks on the machine now (/proc/loadavg), or -1. */
static long rbc_running(void)
{
	char buf[128], *p;
	ssize_t n;
	int fd, spaces = 0;

	fd = open("/proc/loadavg", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	for (p = buf; *p && spaces < 3; p++)
		spaces += *p == ' ';
	return *p >= '0' && *p <= '9' ? strtol(p, NULL, 10) : -1;
}

/* Move this thread: take the mask via (the kernel moves a thread off a
 * core its mask leaves out at once), then mine again, which leaves it
 * where it went.  False if via was refused. */
static bool rbc_move_via(const cpu_set_t *via, const cpu_set_t *mine)
{
	if (sched_setaffinity(0, sizeof(*via), via) < 0)
		return false;
	(void)sched_setaffinity(0, sizeof(*mine), mine);
	return true;
}

/* The CPU the engine filling r last ran on (producer_cpu, stored + 1,
 * proto/shm.h), or -1 while it has not said. */
static int rbc_ring_engine_cpu(const struct rb_ring *r)
{
	uint32_t engine = __atomic_load_n(&r->producer_cpu, __ATOMIC_RELAXED);

	return engine ? (int)(engine - 1) : -1;
}

static bool rbc_poll_move(struct rbc_context *c, const struct rbc_cq *cq, uint64_t now, int cpu)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	int engine = rbc_ring_engine_cpu(cq->ring);
	cpu_set_t mine, away;
	uint32_t asleep;
	long running;
	int mode;

	if (engine < 0 || cpu < 0 || engine != cpu || rbc_spin_window ||
	    (rbc_move_looked && now - rbc_move_looked < rbc_move_every) ||
	    rbc_engine_behind(c, cq))
		return false;
	rbc_move_looked = now;
	pthread_once(&once, rbc_poll_move_init);
	mode = __atomic_load_n(&rbc_move_mode, __ATOMIC_RELAXED);
	if (mode == RBC_MOVE_OFF ||
	    sched_getaffinity(0, sizeof(mine), &mine) < 0 || !CPU_ISSET(cpu, &mine))
		return false;
	away = mine;
	CPU_CLR(cpu, &away);
	if (!CPU_COUNT(&away))
		return false;
	if (mode == RBC_MOVE_AUTO) {
		/* A sleeping engine is not counted (proto/shm.h,
		 * producer_asleep): count it in, seen before or after. */
		asleep = __atomic_load_n(&cq->ring->producer_asleep, __ATOMIC_RELAXED);
		running = rbc_running();
		asleep |= __atomic_load_n(&cq->ring->producer_asleep, __ATOMIC_RELAXED);
		if (running >= 0 && asleep)
			running++;
	} else {
		running = 0;
	}
	if (running < 0 || running > CPU_COUNT(&mine) + 1 || !rbc_move_via(&away, &mine))
		return false;
	rbc_moved_at = now;
	rbc_moved_from = cpu;
	rbc_moved_late = 0;
	return true;
}

/* A yield late soon after a move: back to the engine's core, if it is
 * still there and this thread may run there. */
static void rbc_poll_move_back(const struct rb_ring *r)
{
	cpu_set_t mine, back;

	rbc_moved_at = 0;
	if (rbc_ring_engine_cpu(r) != rbc_moved_from ||
	    sched_getaffinity(0, sizeof(mine), &mine) < 0 || !CPU_ISSET(rbc_moved_from, &mine))
		return;
	CPU_ZERO(&back);
	CPU_SET(rbc_moved_from, &back);
	(void)rbc_move_via(&back, &mine);
}

/*
 * RDMABROKER_PRIVATE_1.0, for rdmabrokerd's verbs driver nested over
 * another rdmabrokerd (drivers/verbs): the CPU the engine that fills cq
 * last ran on (producer_cpu), or -1.  The inner daemon keeps off that
 * core (drivers/verbs/verbs-post.c, keep_off_engine).
 */
RB_EXPORT int rdmab_cq_engine_cpu(struct ibv_cq *ibcq)
{
	const struct rbc_cq *cq = (const struct rbc_cq *)ibcq;

	if (!cq || !cq->ring)
		return -1;
	return rbc_ring_engine_cpu(cq->ring);
}

static void rbc_poll_yield(struct rbc_context *c, const struct rbc_cq *cq)
{
	const struct rb_ring *r = cq->ring;
	uint64_t t0 = rb_now_ns(), t1;
	int engine, cpu;

	if (t0 < rbc_spin_until)
		return;
	cpu = sched_getcpu();
	/* Where we poll, for an engine a stranger keeps off its core
	 * (proto/shm.h, consumer_cpu). */
	if (cpu >= 0 && __atomic_load_n(&r->consumer_cpu, __ATOMIC_RELAXED) != (uint32_t)cpu + 1)
		__atomic_store_n(&cq->ring->consumer_cpu, (uint32_t)cpu + 1, __ATOMIC_RELAXED);
	if (rbc_poll_move(c, cq, t0, cpu))
		return;
	sched_yield();
	t1 = rb_now_ns();
	if (t1 - t0 < RBC_YIELD_LATE_NS) {
		rbc_spin_window = 0;
		return;
	}
	/*
	 * Late soon after a move.  In the first RBC_POLL_MOVE_SETTLE_NS that
	 * is no sign: a thread that comes to a core having run more than the
	 * one there waits for it to catch up (EEVDF keeps a task's lag across
	 * cores), and its first yields there came back 1-3 ms late beside a
	 * peer that yields.  Late by a slice (RBC_POLL_MOVE_STRANGER_NS; the
	 * few hundred microseconds a kernel thread or a timer takes now and
	 * then are no sign either) twice after that, until
	 * RBC_POLL_MOVE_JUDGE_NS, the core it went to has a stranger: back
	 * beside the engine, whose yields come back, and a longer wait before
	 * the next move.  Neither starts a window without yields.
	 */
	if (rbc_moved_at && t0 - rbc_moved_at < RBC_POLL_MOVE_JUDGE_NS) {
		if (__atomic_load_n(&rbc_move_mode, __ATOMIC_RELAXED) != RBC_MOVE_AUTO ||
		    t0 - rbc_moved_at < RBC_POLL_MOVE_SETTLE_NS ||
		    t1 - t0 < RBC_POLL_MOVE_STRANGER_NS || ++rbc_moved_late < 2)
			return;
		rbc_move_every = rbc_move_every < RBC_POLL_MOVE_AFTER_LATE_NS ?
				 RBC_POLL_MOVE_AFTER_LATE_NS : RBC_POLL_MOVE_EVERY_MAX_NS;
		rbc_poll_move_back(r);
		return;
	}
	engine = rbc_ring_engine_cpu(r);
	cpu = sched_getcpu();
	if (engine < 0 || cpu < 0 || engine == cpu)
		return;
	/* Late again right after a window: a longer one. */
	if (rbc_spin_window && t0 - rbc_spin_until < rbc_spin_window)
		rbc_spin_window = rbc_spin_window * 2 > RBC_YIELD_SPIN_MAX_NS ?
				  RBC_YIELD_SPIN_MAX_NS : rbc_spin_window * 2;
	else
		rbc_spin_window = RBC_YIELD_SPIN_MIN_NS;
	rbc_spin_until = t1 + rbc_spin_window;
}

/* A completion ends the wait. */
static inline void rbc_cq_waited(struct rbc_cq *cq)
{
	cq->empty_polls = 0;
	cq->empty_since_ns = 0;
	cq->sleeps_missed = 0;
}

int rbc_poll_cq(struct ibv_cq *ibcq, int num_entries, struct ibv_wc *wc)
{
	struct rbc_cq *cq = (struct rbc_cq *)ibcq;
	struct rbc_context *c = to_rbc_context(ibcq->context);
	struct rb_ring *r;
	uint32_t prod, cons, avail;
	int n = 0;

	if (num_entries < 0)
		return -EINVAL;
	pthread_mutex_lock(&cq->lock);
	r = cq->ring;
	/* Acquire: the CQEs before prod are complete when we read them. */
	prod = __atomic_load_n(&r->prod, __ATOMIC_ACQUIRE);
	cons = r->cons;
	avail = prod - cons;
	if (avail > r->entries)
		avail = r->entries;
	for (; n < num_entries && (uint32_t)n < avail; n++) {
		const struct rb_cqe *e = rb_ring_slot(r, cons + (uint32_t)n);

		memset(&wc[n], 0, sizeof(wc[n]));
		wc[n].wr_id = e->wr_id;
		wc[n].status = (enum ibv_wc_status)e->status;
		wc[n].opcode = (enum ibv_wc_opcode)e->opcode;
		wc[n].vendor_err = e->vendor_err;
		wc[n].byte_len = e->byte_len;
		wc[n].imm_data = e->imm_data;
		wc[n].qp_num = e->qp_num;
		wc[n].src_qp = e->src_qp;
		wc[n].wc_flags = e->wc_flags;
		wc[n].pkey_index = e->pkey_index;
		wc[n].slid = e->slid;
		wc[n].sl = e->sl;
		wc[n].dlid_path_bits = e->dlid_path_bits;
	}
	/* Release: the producer may reuse the slots once it sees cons. */
	if (n) {
		__atomic_store_n(&r->cons, cons + (uint32_t)n, __ATOMIC_RELEASE);
		rbc_cq_waited(cq);
	} else {
		cq->empty_polls++;
	}
	pthread_mutex_unlock(&cq->lock);
	/*
	 * A program that spins on an empty CQ may hold the core the engine
	 * needs to produce what it waits for (2 cores, 3 spinners in a
	 * ping-pong): every RBC_POLL_YIELD-th empty poll in a row gives the
	 * core away.  A poll that finds completions never makes a syscall.
	 * That is also when it looks whether the daemon is still there: an
	 * empty CQ of a daemon that died stays empty, and a program waiting
	 * on it must not wait forever (what the engine wrote before is read
	 * first).
	 */
	if (!n && (rbc_dead(c) || (!(cq->empty_polls % RBC_POLL_CHECK) &&
				   rbc_daemon_gone(c))))
		return -EIO;
	if (!n && !(cq->empty_polls % RBC_POLL_YIELD) && !rbc_cq_wait(c, cq, prod))
		rbc_poll_yield(c, cq);
	return n;
}

int rbc_req_notify_cq(struct ibv_cq *ibcq, int solicited_only)
{
	struct rbc_cq *cq = (struct rbc_cq *)ibcq;
	uint32_t bits = RB_RING_ARMED |
			(solicited_only ? RB_RING_ARMED_SOLICITED : 0);

	if (rbc_dead(to_rbc_context(ibcq->context)))
		return EIO;	/* no event can come */
	pthread_mutex_lock(&cq->lock);
	/* A plain arm widens an earlier solicited-only one. */
	if (!solicited_only)
		__atomic_fetch_and(&cq->ring->flags, ~RB_RING_ARMED_SOLICITED,
				   __ATOMIC_SEQ_CST);
	/* seq_cst: a poll after arming sees any CQE the engine published
	 * before it could see the arm (see cq_push in daemon/cq.c). */
	__atomic_fetch_or(&cq->ring->flags, bits, __ATOMIC_SEQ_CST);
	pthread_mutex_unlock(&cq->lock);
	return 0;
}

RB_EXPORT int ibv_get_cq_event(struct ibv_comp_channel *channel,
			       struct ibv_cq **cq, void **cq_context)
{
	struct rbc_context *c = to_rbc_context(channel->context);
	struct rb_cq_event ev;
	struct rbc_cq *p;
	ssize_t n;

	do {
		n = read(channel->fd, &ev, sizeof(ev));
		if (n < 0)
			return -1;	/* errno: EAGAIN on an O_NONBLOCK channel, ... */
		if (n != (ssize_t)sizeof(ev)) {
			if (n == 0)	/* the daemon is gone */
				rbc_mark_dead(c);
			errno = EIO;
			return -1;
		}
		pthread_mutex_lock(&c->cq_lock);
		LIST_FOREACH(p, &c->cqs, link)
			if (p->cq.handle == ev.cq_handle)
				break;
		if (p)
			p->comp_handed++;
		pthread_mutex_unlock(&c->cq_lock);
		/* An event for a CQ destroyed since is dropped, as uverbs does. */
	} while (!p);
	*cq = rbc_ibv_cq(p);
	*cq_context = p->cq.cq_context;
	return 0;
}

RB_EXPORT void ibv_ack_cq_events(struct ibv_cq *cq, unsigned int nevents)
{
	pthread_mutex_lock(&cq->mutex);
	cq->comp_events_completed += nevents;
	pthread_cond_signal(&cq->cond);
	pthread_mutex_unlock(&cq->mutex);
}

/* ------------------------------------------------------------ CQ ex */

/*
 * The extended poll API walks the ring under the CQ's lock from
 * ibv_start_poll to ibv_end_poll; the slots are released at the end.
 */
static void rbc_cqx_load(struct rbc_cq *cq)
{
	cq->cur = rb_ring_slot(cq->ring, cq->poll_cons);
	cq->cq.wr_id = cq->cur->wr_id;
	cq->cq.status = (enum ibv_wc_status)cq->cur->status;
}

static int rbc_cqx_start_poll(struct ibv_cq_ex *ibcq, struct ibv_poll_cq_attr *attr)
{
	struct rbc_cq *cq = (struct rbc_cq *)ibcq;
	uint32_t prod, avail;

	if (attr->comp_mask)
		return EINVAL;
	pthread_mutex_lock(&cq->lock);
	prod = __atomic_load_n(&cq->ring->prod, __ATOMIC_ACQUIRE);
	cq->poll_cons = cq->ring->cons;
	avail = prod - cq->poll_cons;
	if (avail > cq->ring->entries)
		avail = cq->ring->entries;
	if (!avail) {
		/* As rbc_poll_cq: an empty CQ of a daemon that is gone is EIO. */
		struct rbc_context *c = to_rbc_context(ibcq->context);
		uint32_t empty = ++cq->empty_polls;
		bool gone = rbc_dead(c) ||
			(!(empty % RBC_POLL_CHECK) && rbc_daemon_gone(c));

		pthread_mutex_unlock(&cq->lock);	/* no end_poll follows */
		/* ... and gives the core away as often (the ping-pong case:
		 * without it a pair spinning here waits scheduler ticks). */
		if (!gone && !(empty % RBC_POLL_YIELD) && !rbc_cq_wait(c, cq, prod))
			rbc_poll_yield(c, cq);
		return gone ? EIO : ENOENT;
	}
	rbc_cq_waited(cq);
	cq->poll_end = cq->poll_cons + avail;
	rbc_cqx_load(cq);
	return 0;
}

static int rbc_cqx_next_poll(struct ibv_cq_ex *ibcq)
{
	struct rbc_cq *cq = (struct rbc_cq *)ibcq;

	if (cq->poll_cons + 1 == cq->poll_end)
		return ENOENT;
	cq->poll_cons++;
	rbc_cqx_load(cq);
	return 0;
}

static void rbc_cqx_end_poll(struct ibv_cq_ex *ibcq)
{
	struct rbc_cq *cq = (struct rbc_cq *)ibcq;

	/* Everything up to and including the current CQE was read. */
	__atomic_store_n(&cq->ring->cons, cq->poll_cons + 1, __ATOMIC_RELEASE);
	cq->cur = NULL;
	pthread_mutex_unlock(&cq->lock);
}

#define RBC_CQX_READ(name, type, expr)					\
	static type rbc_cqx_read_##name(struct ibv_cq_ex *ibcq)		\
	{								\
		const struct rb_cqe *e = ((struct rbc_cq *)ibcq)->cur;	\
		return (type)(expr);					\
	}

RBC_CQX_READ(opcode, enum ibv_wc_opcode, e->opcode)
RBC_CQX_READ(vendor_err, uint32_t, e->vendor_err)
RBC_CQX_READ(byte_len, uint32_t, e->byte_len)
RBC_CQX_READ(imm_data, __be32, e->imm_data)
RBC_CQX_READ(qp_num, uint32_t, e->qp_num)
RBC_CQX_READ(src_qp, uint32_t, e->src_qp)
RBC_CQX_READ(wc_flags, unsigned int, e->wc_flags)
RBC_CQX_READ(slid, uint32_t, e->slid)
RBC_CQX_READ(sl, uint8_t, e->sl)
RBC_CQX_READ(dlid_path_bits, uint8_t, e->dlid_path_bits)
RBC_CQX_READ(completion_ts, uint64_t, e->ts)
RBC_CQX_READ(completion_wallclock_ns, uint64_t, e->wallclock_ns)

/* The work-completion fields a CQE has; the rest (CVLAN, flow tag, TM
 * info) it does not. */
#define RBC_CQX_WC_FLAGS (IBV_WC_EX_WITH_BYTE_LEN | IBV_WC_EX_WITH_IMM | \
			  IBV_WC_EX_WITH_QP_NUM | IBV_WC_EX_WITH_SRC_QP | \
			  IBV_WC_EX_WITH_SLID | IBV_WC_EX_WITH_SL | \
			  IBV_WC_EX_WITH_DLID_PATH_BITS | RBC_CQX_WC_TS)
/* ... and these only from a device that stamps them. */
#define RBC_CQX_WC_TS (IBV_WC_EX_WITH_COMPLETION_TIMESTAMP | \
		       IBV_WC_EX_WITH_COMPLETION_TIMESTAMP_WALLCLOCK)

struct ibv_cq_ex *rbc_create_cq_ex(struct ibv_context *context,
				   struct ibv_cq_init_attr_ex *attr)
{
	struct rbc_cq *cq;

	/* Single-threaded use is a hint a thread-safe CQ can ignore. */
	if ((attr->wc_flags & ~(uint64_t)RBC_CQX_WC_FLAGS) ||
	    (attr->comp_mask & ~(uint32_t)(IBV_CQ_INIT_ATTR_MASK_FLAGS |
					   IBV_CQ_INIT_ATTR_MASK_PD)) ||
	    ((attr->comp_mask & IBV_CQ_INIT_ATTR_MASK_FLAGS) &&
	     (attr->flags & ~(uint32_t)IBV_CREATE_CQ_ATTR_SINGLE_THREADED))) {
		errno = EOPNOTSUPP;
		return NULL;
	}
	/* A parent domain (its allocators are never called, pd.c), as mlx5. */
	if (attr->cqe > INT32_MAX ||
	    ((attr->comp_mask & IBV_CQ_INIT_ATTR_MASK_PD) &&
	     (!rbc_is_parent_domain(attr->parent_domain) ||
	      attr->parent_domain->context != context))) {
		errno = EINVAL;
		return NULL;
	}
	/* As providers: EOPNOTSUPP from a device without timestamps. */
	if ((attr->wc_flags & RBC_CQX_WC_TS) && !rbc_stamps(to_rbc_context(context)))
		return NULL;
	cq = rbc_cq_create(context, (int)attr->cqe, attr->cq_context,
			   attr->channel, (int)attr->comp_vector);
	if (!cq)
		return NULL;
	cq->cq.start_poll = rbc_cqx_start_poll;
	cq->cq.next_poll = rbc_cqx_next_poll;
	cq->cq.end_poll = rbc_cqx_end_poll;
	cq->cq.read_opcode = rbc_cqx_read_opcode;
	cq->cq.read_vendor_err = rbc_cqx_read_vendor_err;
	cq->cq.read_byte_len = rbc_cqx_read_byte_len;
	cq->cq.read_imm_data = rbc_cqx_read_imm_data;
	cq->cq.read_qp_num = rbc_cqx_read_qp_num;
	cq->cq.read_src_qp = rbc_cqx_read_src_qp;
	cq->cq.read_wc_flags = rbc_cqx_read_wc_flags;
	cq->cq.read_slid = rbc_cqx_read_slid;
	cq->cq.read_sl = rbc_cqx_read_sl;
	cq->cq.read_dlid_path_bits = rbc_cqx_read_dlid_path_bits;
	if (attr->wc_flags & IBV_WC_EX_WITH_COMPLETION_TIMESTAMP)
		cq->cq.read_completion_ts = rbc_cqx_read_completion_ts;
	if (attr->wc_flags & IBV_WC_EX_WITH_COMPLETION_TIMESTAMP_WALLCLOCK)
		cq->cq.read_completion_wallclock_ns = rbc_cqx_read_completion_wallclock_ns;
	return &cq->cq;
}
