/* SPDX-License-Identifier: MIT */
/*
 * Completion channels and completion queues.
 *
 * A channel is a SOCK_SEQPACKET socketpair: the client gets one end and
 * reads struct rb_cq_event datagrams from it (ibv_get_cq_event); the
 * daemon keeps the other, write-only.  A CQ is a ring (daemon/ring.c) the
 * daemon produces into and the client consumes from; its size is the
 * requested cqe rounded up to a power of two, less one (at most max_cqe), as providers
 * grant.  Both are charged against the user's cqs and cqes limits.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <linux/futex.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "daemon/daemon.h"
#include "daemon/dispatch.h"
#include "daemon/log.h"
#include "daemon/objects.h"
#include "daemon/res.h"
#include "daemon/ring.h"



/* ------------------------------------------------------------ channels */

static void channel_destroy(struct rb_res *r)
{
	struct rb_channel *ch = (struct rb_channel *)r;

	close(ch->fd);
	free(ch);
}

int channel_create(struct rb_session *s, const Rdmabroker__Request *req,
		   struct rb_reply *rep)
{
	Rdmabroker__ChannelCreateReply *m = reply_alloc(rep, sizeof(*m));
	struct rb_channel *ch;
	int sv[2], ret;

	(void)req;
	if (!m)
		return -ENOMEM;
	ch = calloc(1, sizeof(*ch));
	if (!ch)
		return -ENOMEM;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		ret = -errno;
		free(ch);
		reply_error(rep, "socketpair: %s", strerror(-ret));
		return ret;
	}
	/* Events are never waited for, and nothing is read from the client. */
	if (shutdown(sv[0], SHUT_RD) < 0 ||
	    fcntl(sv[0], F_SETFL, O_NONBLOCK) < 0) {
		ret = -errno;
		close(sv[0]);
		close(sv[1]);
		free(ch);
		return ret;
	}
	ch->fd = sv[0];
	ch->res.type = RB_RES_CHANNEL;
	ch->res.destroy = channel_destroy;
	ret = res_add(s, &ch->res);
	if (ret < 0) {
		close(sv[0]);
		close(sv[1]);
		free(ch);
		reply_error(rep, "this connection holds too many objects");
		return ret;
	}
	rdmabroker__channel_create_reply__init(m);
	m->handle = ch->res.handle;
	rep->fds[rep->nfds++] = sv[1];
	rep->msg.body_case = RDMABROKER__REPLY__BODY_CHANNEL_CREATE;
	rep->msg.channel_create = m;
	return 0;
}

int channel_destroy_req(struct rb_session *s, const Rdmabroker__Request *req,
			struct rb_reply *rep)
{
	Rdmabroker__ChannelDestroyReply *m = reply_alloc(rep, sizeof(*m));
	int ret;

	if (!m)
		return -ENOMEM;
	ret = res_destroy(s, req->channel_destroy->handle, RB_RES_CHANNEL, rep);
	if (ret < 0)
		return ret;
	rdmabroker__channel_destroy_reply__init(m);
	rep->msg.body_case = RDMABROKER__REPLY__BODY_CHANNEL_DESTROY;
	rep->msg.channel_destroy = m;
	return 0;
}

/* ------------------------------------------------------------ CQs */

/*
 * Ring entries for at least cqe usable slots, and in *granted the slots
 * granted; 0 if cqe is out of range.  A CQ gets 2^n - 1 slots as providers
 * grant, but never more than the advertised max_cqe: asked for max_cqe, it
 * gets and is charged max_cqe, in a ring of max_cqe entries when that is a
 * power of two (cq_push keeps at most cqe completions in the ring).
 */
static uint32_t cq_entries(const struct rb_device *dev, int32_t cqe,
			   uint32_t *granted)
{
	uint32_t n = 2;

	if (cqe < 1 || (uint32_t)cqe > dev->max_cqe)
		return 0;
	while (n - 1 < (uint32_t)cqe)
		n <<= 1;
	*granted = n - 1;
	if (*granted > dev->max_cqe) {
		*granted = dev->max_cqe;
		if (n / 2 >= dev->max_cqe)
			n /= 2;
	}
	return n;
}

/*
 * The CQs the engine published into last, whose pollers may be about to
 * count the machine's runnable tasks before they move off the engine's
 * core (rbc_poll_move, libclient/cq.c): a sleeping engine is not among
 * them, and cq_asleep() says so in these rings.  A few suffice: a
 * ping-pong has two, and a poller whose CQ is not here counts as it did
 * before there was a flag.  The same rings say where their pollers poll
 * (cq_poller_cpu, for loop_follow).  Only the engine thread touches them.
 */
#define CQ_RECENT 4
static struct rb_cq *cq_recent[CQ_RECENT];
static unsigned int cq_recent_next;

static void cq_recent_add(struct rb_cq *cq)
{
	for (unsigned int i = 0; i < CQ_RECENT; i++)
		if (cq_recent[i] == cq)
			return;
	/* Pushed out (a push while asleep: a request served in the event
	 * loop): its flag is not left set. */
	if (cq_recent[cq_recent_next])
		__atomic_store_n(&cq_recent[cq_recent_next]->ring->producer_asleep, 0u,
				 __ATOMIC_RELAXED);
	cq_recent[cq_recent_next] = cq;
	cq_recent_next = (cq_recent_next + 1) % CQ_RECENT;
}

void cq_asleep(bool on)
{
	for (unsigned int i = 0; i < CQ_RECENT; i++)
		if (cq_recent[i])
			__atomic_store_n(&cq_recent[i]->ring->producer_asleep, on ? 1u : 0u,
					 __ATOMIC_RELAXED);
}

int cq_poller_cpu(int not)
{
	for (unsigned int i = 0; i < CQ_RECENT; i++) {
		/* The latest first. */
		struct rb_cq *cq = cq_recent[(cq_recent_next + CQ_RECENT - 1 - i) % CQ_RECENT];
		uint32_t cpu;

		if (!cq)
			continue;
		/* The client's word: a CPU the engine may not run on is
		 * refused by loop_follow, a number past any CPU here. */
		cpu = __atomic_load_n(&cq->ring->consumer_cpu, __ATOMIC_RELAXED);
		if (cpu && cpu <= CPU_SETSIZE && (int)(cpu - 1) != not)
			return (int)(cpu - 1);
	}
	return -1;
}

static void cq_destroy(struct rb_res *r)
{
	struct rb_cq *cq = (struct rb_cq *)r;

	for (unsigned int i = 0; i < CQ_RECENT; i++)
		if (cq_recent[i] == cq)
			cq_recent[i] = NULL;

	cq->dev->ops.destroy_cq(cq);
	ring_destroy(cq->ring, cq->ring_bytes);
	res_uncharge(r->owner, RB_LIMIT_MEMORY,
		     res_mem_bytes(sizeof(*cq), cq->dev->ops.cq_size, cq->ring_bytes));
	res_uncharge(r->owner, RB_LIMIT_CQES, cq->cqe);
	res_uncharge(r->owner, RB_LIMIT_CQS, 1);
	cq->dev->ncqs--;
	free(cq);
}

int cq_create(struct rb_session *s, const Rdmabroker__Request *req,
	      struct rb_reply *rep)
{
	const Rdmabroker__CqCreateReq *q = req->cq_create;
	struct rb_device *dev = s->device;
	Rdmabroker__CqCreateReply *m = reply_alloc(rep, sizeof(*m));
	struct rb_res *channel = NULL;
	uint32_t granted = 0, entries = cq_entries(dev, q->cqe, &granted);
	struct rb_cq *cq;
	uint64_t mem;
	int fd, ret;

	if (!m)
		return -ENOMEM;
	if (!entries) {
		reply_error(rep, "cqe %" PRId32 " is outside 1..%" PRIu32,
			    q->cqe, dev->max_cqe);
		return -EINVAL;
	}
	if (q->has_comp_vector && q->comp_vector != 0) {
		reply_error(rep, "comp_vector %" PRId32 ": the device has one (0)",
			    q->comp_vector);
		return -EINVAL;
	}
	if (q->has_channel) {
		channel = res_lookup(s, q->channel, RB_RES_CHANNEL, rep);
		if (!channel)
			return -EINVAL;
	}
	if (dev->ncqs >= dev->max_cq) {
		reply_error(rep, "%s has all its %" PRIu32 " CQs in use", dev->name,
			    dev->max_cq);
		return -ENOMEM;
	}
	ret = res_charge(s, RB_LIMIT_CQS, 1, rep);
	if (ret < 0)
		return ret;
	ret = res_charge(s, RB_LIMIT_CQES, granted, rep);
	if (ret < 0)
		goto err_cqs;
	mem = res_mem_bytes(sizeof(*cq), dev->ops.cq_size,
			    rb_ring_bytes(entries, sizeof(struct rb_cqe)));
	ret = res_charge(s, RB_LIMIT_MEMORY, mem, rep);
	if (ret < 0)
		goto err_cqes;
	ret = -ENOMEM;
	cq = res_alloc(sizeof(*cq), dev->ops.cq_size);
	if (!cq)
		goto err_mem;
	ret = ring_create(RB_RING_CQ, entries, sizeof(struct rb_cqe), &cq->ring,
			  &cq->ring_bytes, &fd);
	if (ret < 0) {
		reply_error(rep, "CQ ring: %s", strerror(-ret));
		goto err_free;
	}
	cq->dev = dev;
	cq->cqe = granted;
	cq->entries = entries;
	cq->res.type = RB_RES_CQ;
	cq->res.deps[0] = channel;
	cq->res.destroy = cq_destroy;
	ret = dev->ops.create_cq(dev, cq);
	if (ret < 0) {
		reply_error(rep, "%s: create_cq: %s", dev->name, strerror(-ret));
		close(fd);
		ring_destroy(cq->ring, cq->ring_bytes);
		goto err_free;
	}
	ret = res_add(s, &cq->res);
	if (ret < 0) {
		reply_error(rep, "this connection holds too many objects");
		dev->ops.destroy_cq(cq);
		close(fd);
		ring_destroy(cq->ring, cq->ring_bytes);
		goto err_free;
	}
	dev->ncqs++;
	rdmabroker__cq_create_reply__init(m);
	m->handle = cq->res.handle;
	m->cqe = (int32_t)cq->cqe;
	m->ring_bytes = cq->ring_bytes;
	rep->fds[rep->nfds++] = fd;	/* closed once sent */
	rep->msg.body_case = RDMABROKER__REPLY__BODY_CQ_CREATE;
	rep->msg.cq_create = m;
	return 0;

err_free:
	free(cq);
err_mem:
	res_uncharge(s, RB_LIMIT_MEMORY, mem);
err_cqes:
	res_uncharge(s, RB_LIMIT_CQES, granted);
err_cqs:
	res_uncharge(s, RB_LIMIT_CQS, 1);
	return ret;
}

int cq_resize(struct rb_session *s, const Rdmabroker__Request *req,
	      struct rb_reply *rep)
{
	const Rdmabroker__CqResizeReq *q = req->cq_resize;
	Rdmabroker__CqResizeReply *m = reply_alloc(rep, sizeof(*m));
	struct rb_ring *ring;
	struct rb_res *r;
	struct rb_cq *cq;
	uint32_t entries, granted = 0, pending, cons, old_cqe;
	uint64_t mem;
	size_t bytes;
	int fd, ret;

	if (!m)
		return -ENOMEM;
	r = res_lookup(s, q->handle, RB_RES_CQ, rep);
	if (!r)
		return -EINVAL;
	cq = (struct rb_cq *)r;
	entries = cq_entries(cq->dev, q->cqe, &granted);
	cons = __atomic_load_n(&cq->ring->cons, __ATOMIC_ACQUIRE);
	pending = cq->prod - cons > cq->entries ? cq->entries : cq->prod - cons;
	if (!entries || granted < pending) {
		reply_error(rep, "cqe %" PRId32 " is outside %" PRIu32 "..%" PRIu32,
			    q->cqe, pending ? pending : 1, cq->dev->max_cqe);
		return -EINVAL;
	}
	if (granted > cq->cqe) {
		ret = res_charge(s, RB_LIMIT_CQES, granted - cq->cqe, rep);
		if (ret < 0)
			return ret;
	}
	/* Both rings are held while entries move: the new one is charged first. */
	mem = res_mem_bytes(0, 0, rb_ring_bytes(entries, sizeof(struct rb_cqe)));
	ret = res_charge(s, RB_LIMIT_MEMORY, mem, rep);
	if (ret == 0)
		ret = ring_create(RB_RING_CQ, entries, sizeof(struct rb_cqe), &ring,
				  &bytes, &fd);
	else
		mem = 0;
	if (ret < 0) {
		res_uncharge(s, RB_LIMIT_MEMORY, mem);
		if (granted > cq->cqe)
			res_uncharge(s, RB_LIMIT_CQES, granted - cq->cqe);
		reply_error(rep, "CQ ring: %s", strerror(-ret));
		return ret;
	}
	/* Move what the client has not polled yet, oldest first. */
	for (uint32_t i = 0; i < pending; i++)
		memcpy(ring_slot(ring, entries, sizeof(struct rb_cqe), i),
		       ring_slot(cq->ring, cq->entries, sizeof(struct rb_cqe), cons + i),
		       sizeof(struct rb_cqe));
	ring->flags = __atomic_load_n(&cq->ring->flags, __ATOMIC_ACQUIRE);
	__atomic_store_n(&ring->prod, pending, __ATOMIC_RELEASE);
	if (granted < cq->cqe)
		res_uncharge(s, RB_LIMIT_CQES, cq->cqe - (granted));
	ring_destroy(cq->ring, cq->ring_bytes);
	res_uncharge(s, RB_LIMIT_MEMORY, res_mem_bytes(0, 0, cq->ring_bytes));
	old_cqe = cq->cqe;
	cq->ring = ring;
	cq->ring_bytes = bytes;
	cq->cqe = granted;
	cq->entries = entries;
	cq->prod = pending;
	/* The entries have moved: the device follows (drivers/driver.h). */
	ret = cq->dev->ops.resize_cq(cq, old_cqe);
	if (ret < 0)
		log_warn("client %" PRIu64 ": CQ %#" PRIx32 " resize: %s: %s",
			 s->id, cq->res.handle, cq->dev->name, strerror(-ret));
	rdmabroker__cq_resize_reply__init(m);
	m->cqe = (int32_t)cq->cqe;
	m->ring_bytes = bytes;
	rep->fds[rep->nfds++] = fd;
	rep->msg.body_case = RDMABROKER__REPLY__BODY_CQ_RESIZE;
	rep->msg.cq_resize = m;
	return 0;
}

int cq_destroy_req(struct rb_session *s, const Rdmabroker__Request *req,
		   struct rb_reply *rep)
{
	Rdmabroker__CqDestroyReply *m = reply_alloc(rep, sizeof(*m));
	struct rb_res *r;
	uint32_t reported;
	int ret;

	if (!m)
		return -ENOMEM;
	r = res_lookup(s, req->cq_destroy->handle, RB_RES_CQ, rep);
	if (!r)
		return -EINVAL;
	reported = ((struct rb_cq *)r)->comp_events_reported;
	ret = res_remove(r, rep);
	if (ret < 0)
		return ret;
	rdmabroker__cq_destroy_reply__init(m);
	m->comp_events_reported = reported;
	rep->msg.body_case = RDMABROKER__REPLY__BODY_CQ_DESTROY;
	rep->msg.cq_destroy = m;
	return 0;
}

/* ------------------------------------------------------------ completions */

static void cq_event(struct rb_cq *cq)
{
	struct rb_channel *ch = (struct rb_channel *)cq->res.deps[0];
	struct rb_cq_event ev = { .cq_handle = cq->res.handle };

	if (!ch)
		return;
	if (send(ch->fd, &ev, sizeof(ev), MSG_DONTWAIT | MSG_NOSIGNAL) ==
	    (ssize_t)sizeof(ev))
		cq->comp_events_reported++;
	else
		log_warn("client %" PRIu64 " (pid %d): completion event not delivered: %s",
			 cq->res.owner->id, (int)cq->res.owner->pid, strerror(errno));
}

void cq_overrun(struct rb_cq *cq)
{
	if (cq->overrun)
		return;
	cq->overrun = true;
	__atomic_fetch_or(&cq->ring->flags, RB_RING_OVERRUN, __ATOMIC_RELAXED);
	log_info("client %" PRIu64 ": CQ %#" PRIx32 " overrun, completion lost",
		 cq->res.owner->id, cq->res.handle);
	session_async_event(cq->res.owner, IBV_EVENT_CQ_ERR, RB_ASYNC_CQ, cq->res.handle);
}

/*
 * A poller sleeps on the ring's prod (proto/shm.h, RB_RING_SLEEPING):
 * wake it.  The flag is the client's to set, so a client that keeps it set
 * costs this engine one system call per completion of its own CQ, no more.
 */
static void cq_wake(struct rb_cq *cq)
{
	struct rb_ring *r = cq->ring;

	if (__atomic_fetch_and(&r->flags, ~RB_RING_SLEEPING, __ATOMIC_SEQ_CST) &
	    RB_RING_SLEEPING) {
		cq->res.owner->stat.poller_wakeups++;
		syscall(SYS_futex, &r->prod, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
	}
}

void cq_push(struct rb_cq *cq, const struct rb_cqe *e, bool solicited)
{
	struct rb_ring *r = cq->ring;
	uint32_t cons = __atomic_load_n(&r->cons, __ATOMIC_ACQUIRE);
	uint32_t flags;
	int cpu;

	/* cqe slots, as granted (the ring has one more). */
	if (cq->prod - cons >= cq->cqe) {
		cq_overrun(cq);
		return;
	}
	cq->overrun = false;
	stat_completion(cq, e);
	memcpy(ring_slot(r, cq->entries, sizeof(*e), cq->prod), e, sizeof(*e));
	cq->prod++;
	/* Where we run, for a poller whose yield came back late (proto/shm.h):
	 * glibc reads it from rseq, no system call. */
	cpu = sched_getcpu();
	__atomic_store_n(&r->producer_cpu, cpu < 0 ? 0u : (uint32_t)cpu + 1, __ATOMIC_RELAXED);
	cq_recent_add(cq);
	/*
	 * Publish, then read the arm flags: seq_cst, so that a client that
	 * armed and then found the CQ empty is seen armed here (it arms with
	 * a seq_cst RMW, then reads prod).
	 */
	__atomic_store_n(&r->prod, cq->prod, __ATOMIC_SEQ_CST);
	flags = __atomic_load_n(&r->flags, __ATOMIC_SEQ_CST);
	if (flags & RB_RING_SLEEPING)
		cq_wake(cq);
	if (!(flags & RB_RING_ARMED))
		return;
	if ((flags & RB_RING_ARMED_SOLICITED) && !solicited &&
	    e->status == IBV_WC_SUCCESS)
		return;
	flags = __atomic_fetch_and(&r->flags,
				   ~(uint32_t)(RB_RING_ARMED | RB_RING_ARMED_SOLICITED),
				   __ATOMIC_SEQ_CST);
	if (flags & RB_RING_ARMED)
		cq_event(cq);
}
