/* SPDX-License-Identifier: MIT */
/*
 * Memory regions.  A MEMFD region arrives with the memfd (the client's
 * arena) its pages were re-backed with and the extents of the region in
 * it; the daemon maps them only after checking the memfd is sealed against
 * shrinking and holds every extent, so a driver can move data zero-copy
 * without a SIGBUS (the seals and the filesystem once per session and
 * memfd, see struct rb_mr_arena; the extents every time).  A CMA region (memory the client could not
 * re-back) is reached through the client's /proc/self/mem, which comes
 * with it; the daemon checks now that it can.  The keys are the device's
 * (its driver's reg_mr, drivers/driver.h).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>
#include <linux/magic.h>

#include <infiniband/verbs.h>

#include "daemon/daemon.h"
#include "daemon/dispatch.h"
#include "daemon/log.h"
#include "daemon/objects.h"
#include "daemon/res.h"
#include "daemon/sched.h"
#include "drivers/memio.h"
#include "drivers/prefault.h"

#define MR_ACCESS_KNOWN	(IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE | \
			 IBV_ACCESS_REMOTE_READ | IBV_ACCESS_REMOTE_ATOMIC | \
			 IBV_ACCESS_MW_BIND | RB_ACCESS_FLUSH_GLOBAL | \
			 RB_ACCESS_FLUSH_PERSISTENT)


/*
 * A region's mapping goes: the prefault thread lets go of it first
 * (drivers/prefault.h), then it is unmapped.
 */
static void mr_unmap(void *map, size_t len)
{
	if (!map)
		return;
	prefault_stop(map);
	munmap(map, len);
}

/*
 * A device that copies with the CPU gets a new mapping's pages touched
 * ahead of its first copy, off this thread (drivers/prefault.h), and the
 * reply to the registration waits for that, as ibv_reg_mr waits for a
 * NIC to pin the pages: a program that registers and then writes at once
 * (every benchmark) would otherwise race the thread through the same
 * pages.  The wait is at most MR_HOLD_NS, so that a huge region, or a
 * queue of other clients' regions, costs a client no more than that; the
 * thread goes on after it.  Not a failure if there is no thread: the
 * first copy touches the pages itself.
 */
#define MR_HOLD_NS	(250 * 1000000ull)
/*
 * Up to this much is touched on this thread instead: 16 pages, 80 us
 * where a page costs 5 us, about what MAP_POPULATE already took; through
 * the thread, a 4 KiB region's reg+dereg took 77-99 us instead of 49-64
 * (rdmab-scale mr_rate) for the wake-ups on both sides.
 */
#define MR_TOUCH_HERE	(64 * 1024)
#define MR_HOLD_TICK_US	10000		/* how often a wait's end is checked */

static const struct timeval mr_hold_tick = { 0, MR_HOLD_TICK_US };
static struct event *mr_pf_ev;

/* A job ended, or the tick: release the sessions done waiting. */
static void mr_pf_cb(evutil_socket_t fd, short what, void *arg)
{
	struct rb_daemon *d = arg;
	struct rb_session *s, *next;
	uint64_t n, now = sched_now_ns();
	bool waiting = false;

	(void)what;
	(void)!read(fd, &n, sizeof(n));
	for (s = TAILQ_FIRST(&d->sessions); s; s = next) {
		next = TAILQ_NEXT(s, link);
		if (!s->hold_map)
			continue;
		if (now < s->hold_until && prefault_queued(s->hold_map))
			waiting = true;
		else
			session_release(s);	/* may destroy s, never next */
	}
	/* A persistent event keeps its timeout through event_add(NULL). */
	event_del(mr_pf_ev);
	event_add(mr_pf_ev, waiting ? &mr_hold_tick : NULL);
}

static void mr_prefault(struct rb_session *s, const struct rb_mr *mr)
{
	if (!mr->map || !mr->dev->cpu_copies)
		return;
	if (mr->map_len <= MR_TOUCH_HERE) {
		prefault_now(mr->map, mr->map_len);
		return;
	}
	if (prefault_start(mr->map, mr->map_len) < 0)
		return;
	if (!mr_pf_ev) {
		mr_pf_ev = event_new(s->d->base, prefault_fd(), EV_READ | EV_PERSIST,
				     mr_pf_cb, s->d);
		if (!mr_pf_ev)
			return;
	}
	session_hold(s, mr->map, sched_now_ns() + MR_HOLD_NS);
	event_add(mr_pf_ev, &mr_hold_tick);
}

void mr_fini(void)
{
	if (mr_pf_ev)
		event_free(mr_pf_ev);
	mr_pf_ev = NULL;
}

static void mr_destroy(struct rb_res *r)
{
	struct rb_mr *mr = (struct rb_mr *)r;

	mr->dev->ops.dereg_mr(mr);
	mr_unmap(mr->map, mr->map_len);
	if (mr->proc_mem >= 0)
		close(mr->proc_mem);
	res_uncharge(r->owner, RB_LIMIT_MRS, 1);
	res_uncharge(r->owner, RB_LIMIT_PINNED_BYTES, mr->map_len);
	mr->dev->nmrs--;
	free(mr);
}

/*
 * The arena memfd whose checks a session's last MEMFD region passed, held
 * open.  A later region whose fd is the same file (same st_dev and st_ino:
 * no other file has them while this one is open) needs no new checks:
 * seals are never removed and the file stays shmem.  Its size can only
 * grow, so each region's extents are still checked against fstat's.
 */
struct rb_mr_arena {
	int fd;
	dev_t dev;
	ino_t ino;
};

void mr_session_fini(struct rb_session *s)
{
	if (!s->mr_arena)
		return;
	close(s->mr_arena->fd);
	free(s->mr_arena);
	s->mr_arena = NULL;
}

/* The fd is a memfd a driver may map: 0, or -EINVAL said in rep. */
static int mr_check_memfd(int fd, struct rb_reply *rep)
{
	struct statfs sfs;
	int seals;

	seals = fcntl(fd, F_GET_SEALS);
	if (seals < 0) {
		reply_error(rep, "the fd is not a memfd");
		return -EINVAL;
	}
	if (!(seals & F_SEAL_SHRINK)) {
		reply_error(rep, "the memfd is not sealed against shrinking");
		return -EINVAL;
	}
	/*
	 * Only shmem: a hole punched in a hugetlbfs memfd faults (SIGBUS in
	 * the daemon) when no huge page is free to fill it again.
	 */
	if (fstatfs(fd, &sfs) < 0 || sfs.f_type != TMPFS_MAGIC) {
		reply_error(rep, "the memfd is not backed by shmem (hugetlbfs?)");
		return -EINVAL;
	}
	return 0;
}

/* Check fd unless it is the session's checked arena; then remember it. */
static int mr_check_arena(struct rb_session *s, int fd, const struct stat *st,
			  struct rb_reply *rep)
{
	struct rb_mr_arena *a = s->mr_arena;
	int ret;

	if (a && a->dev == st->st_dev && a->ino == st->st_ino)
		return 0;
	ret = mr_check_memfd(fd, rep);
	if (ret < 0)
		return ret;
	/* Nothing to remember it by: no harm, the next region is checked too. */
	if (!a) {
		a = calloc(1, sizeof(*a));
		if (!a)
			return 0;
	} else {
		close(a->fd);
	}
	a->fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	if (a->fd < 0) {
		free(a);
		s->mr_arena = NULL;
		return 0;
	}
	a->dev = st->st_dev;
	a->ino = st->st_ino;
	s->mr_arena = a;
	return 0;
}

/*
 * Map the pages of [addr, addr + length) from the client's arena memfd:
 * one extent as it is, more extent by extent into one contiguous range
 * reserved first.
 */
static int mr_map_memfd(struct rb_session *s, struct rb_mr *mr, int fd,
			size_t n_extents, Rdmabroker__MrExtent *const *extents,
			struct rb_reply *rep)
{
	uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
	uint64_t first = mr->addr & ~(page - 1);
	uint64_t end = (mr->addr + mr->length + page - 1) & ~(page - 1);
	uint64_t at = first;
	struct stat st;
	char *base;
	int ret;

	if (fstat(fd, &st) < 0)
		return -errno;
	ret = mr_check_arena(s, fd, &st, rep);
	if (ret < 0)
		return ret;
	/* The extents must tile the region's pages exactly, in order. */
	for (size_t i = 0; i < n_extents; i++) {
		const Rdmabroker__MrExtent *x = extents[i];

		if (x->addr != at || !x->length || (x->length & (page - 1)) ||
		    (x->fd_offset & (page - 1)) || x->length > end - at ||
		    x->fd_offset > (uint64_t)st.st_size ||
		    x->length > (uint64_t)st.st_size - x->fd_offset) {
			reply_error(rep, "extent %zu does not fit the region or the memfd", i);
			return -EINVAL;
		}
		at += x->length;
	}
	if (at != end) {
		reply_error(rep, "the extents cover %#" PRIx64 "..%#" PRIx64 ", not the region's pages",
			    first, at);
		return -EINVAL;
	}
	/*
	 * MAP_POPULATE: the page tables are filled here, at registration, not
	 * by a fault per page in the device's first copy (DESIGN.md: set up
	 * and pre-fault at create time, never on the fast path).  The pages
	 * are the client's, already in the memfd.
	 */
	if (n_extents == 1) {
		base = mmap(NULL, end - first, PROT_READ | PROT_WRITE,
			    MAP_SHARED | MAP_POPULATE, fd, (off_t)extents[0]->fd_offset);
		if (base == MAP_FAILED) {
			reply_error(rep, "mmap of the memfd: %s", strerror(errno));
			return -ENOMEM;
		}
		goto mapped;
	}
	base = mmap(NULL, end - first, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (base == MAP_FAILED) {
		reply_error(rep, "no address space for %" PRIu64 " bytes", end - first);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n_extents; i++) {
		const Rdmabroker__MrExtent *x = extents[i];

		if (mmap(base + (x->addr - first), x->length, PROT_READ | PROT_WRITE,
			 MAP_SHARED | MAP_FIXED | MAP_POPULATE, fd,
			 (off_t)x->fd_offset) == MAP_FAILED) {
			int err = errno;

			munmap(base, end - first);
			reply_error(rep, "mmap of the memfd: %s", strerror(err));
			return -ENOMEM;
		}
	}
mapped:
	mr->map = base;
	mr->map_len = end - first;
	mr->map_skew = mr->addr - first;
	return 0;
}

/*
 * A CMA region comes with the client's own /proc/self/mem, which it opened
 * (its right to, checked by the kernel then) and which stays bound to the
 * address space it was opened on.  A driver that copies (the soft device)
 * reads and writes the region through that file, never by pid: a pid may come to name another process
 * (a set-user-ID program the client executed, or a process that took over
 * a dead client's pid), and the daemon needs no privilege over any
 * process.  The file must be a mem file of /proc opened for reading and
 * writing; mr->proc_mem gets a copy.
 */
static int mr_check_cma(struct rb_session *s, struct rb_mr *mr, int fd,
			struct rb_reply *rep)
{
	uint64_t at[2] = { mr->addr, mr->addr + mr->length - 1 };
	char path[32], link[64], want[32];
	struct statfs sfs;
	uint64_t where = 0;
	ssize_t n;
	int err;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	n = readlink(path, link, sizeof(link) - 1);
	if (n > 0)
		link[n] = '\0';
	if (n <= 0 || fstatfs(fd, &sfs) < 0 || sfs.f_type != PROC_SUPER_MAGIC ||
	    sscanf(link, "/proc/%*u/%31s", want) != 1 || strcmp(want, "mem") ||
	    (fcntl(fd, F_GETFL) & O_ACCMODE) != O_RDWR) {
		reply_error(rep, "a CMA region comes with the client's /proc/self/mem, open for reading and writing");
		return -EINVAL;
	}
	/* Through a worker: the memory may be a file that never answers. */
	err = memio_reach(s->uid, fd, at[0], at[1], &where);
	if (err < 0) {
		reply_error(rep, "cannot reach %#" PRIx64 " in pid %d: %s%s", where,
			    (int)mr->pid, strerror(-err),
			    err == -ETIMEDOUT ? " (memory that does not answer, e.g. a file on FUSE)" : "");
		return err == -ETIMEDOUT || err == -EAGAIN ? err : -EFAULT;
	}
	mr->proc_mem = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	if (mr->proc_mem < 0)
		return -errno;
	return 0;
}

/* Access flags as libibverbs checks them; 0 or -errno (said in rep). */
static int mr_check_access(uint32_t access, struct rb_reply *rep)
{
	if (access & ~(uint32_t)MR_ACCESS_KNOWN) {
		reply_error(rep, "access flags %#" PRIx32 " not supported", access);
		return access & IBV_ACCESS_ON_DEMAND ? -EOPNOTSUPP : -EINVAL;
	}
	if ((access & (IBV_ACCESS_REMOTE_WRITE | IBV_ACCESS_REMOTE_ATOMIC)) &&
	    !(access & IBV_ACCESS_LOCAL_WRITE)) {
		reply_error(rep, "remote write or atomic access needs local write");
		return -EINVAL;
	}
	return 0;
}

/* Length and the fds/extents a mode comes with; 0 or -EINVAL. */
static int mr_check_span(const struct rb_device *dev, uint64_t addr,
			 uint64_t length, Rdmabroker__MrMode mode,
			 size_t n_extents, const struct rb_reply *rep_in,
			 struct rb_reply *rep)
{
	if (length == 0 || length > dev->max_mr_size || addr + length < addr) {
		reply_error(rep, "length %" PRIu64 " out of range (1..%" PRIu64 ")",
			    length, dev->max_mr_size);
		return -EINVAL;
	}
	if (mode != RDMABROKER__MR_MODE__MR_MEMFD && mode != RDMABROKER__MR_MODE__MR_CMA) {
		reply_error(rep, "mode %d is not a registration mode", (int)mode);
		return -EINVAL;
	}
	if (rep_in->in_nfds != 1 ||
	    (mode == RDMABROKER__MR_MODE__MR_MEMFD) != (n_extents > 0)) {
		reply_error(rep, "a MEMFD region comes with its memfd and extents, a CMA one with the client's /proc/self/mem");
		return -EINVAL;
	}
	return 0;
}

/*
 * For the op about to run: the request's memfd and where mr->addr lies in
 * it, when one extent maps a MEMFD region (drivers/driver.h reg_mr); the
 * caller sets mr->memfd back to -1 after the op.
 */
static void mr_lend_memfd(struct rb_mr *mr, const struct rb_reply *rep,
			  size_t n_extents, Rdmabroker__MrExtent *const *extents)
{
	if (mr->mode != RDMABROKER__MR_MODE__MR_MEMFD || n_extents != 1)
		return;
	mr->memfd = rep->in_fds[0];
	mr->memfd_offset = extents[0]->fd_offset + mr->map_skew;
}

int mr_reg(struct rb_session *s, const Rdmabroker__Request *req,
	   struct rb_reply *rep)
{
	const Rdmabroker__MrRegReq *q = req->mr_reg;
	struct rb_device *dev = s->device;
	Rdmabroker__MrRegReply *m = reply_alloc(rep, sizeof(*m));
	struct rb_res *pd;
	struct rb_mr *mr;
	int ret;

	if (!m)
		return -ENOMEM;
	pd = res_lookup(s, q->pd, RB_RES_PD, rep);
	if (!pd)
		return -EINVAL;
	ret = mr_check_access(q->access, rep);
	if (ret == 0)
		ret = mr_check_span(dev, q->addr, q->length, q->mode, q->n_extents,
				    rep, rep);
	if (ret < 0)
		return ret;
	if (dev->nmrs >= dev->max_mr) {
		reply_error(rep, "%s has all its %" PRIu32 " MRs in use", dev->name,
			    dev->max_mr);
		return -ENOMEM;
	}
	mr = res_alloc(sizeof(*mr), dev->ops.mr_size);
	if (!mr)
		return -ENOMEM;
	mr->dev = dev;
	mr->mode = q->mode;
	mr->pid = s->pid;
	mr->proc_mem = -1;
	mr->memfd = -1;
	mr->addr = q->addr;
	mr->length = q->length;
	mr->iova = q->iova;
	mr->access = q->access;
	ret = mr->mode == RDMABROKER__MR_MODE__MR_MEMFD ?
		mr_map_memfd(s, mr, rep->in_fds[0], q->n_extents, q->extents, rep) :
		mr_check_cma(s, mr, rep->in_fds[0], rep);
	if (ret < 0)
		goto err_free;
	if (!mr->map_len)	/* CMA: what the region spans, for the limit */
		mr->map_len = mr->length;
	ret = res_charge(s, RB_LIMIT_MRS, 1, rep);
	if (ret < 0)
		goto err_unmap;
	ret = res_charge(s, RB_LIMIT_PINNED_BYTES, mr->map_len, rep);
	if (ret < 0)
		goto err_mrs;
	mr->res.type = RB_RES_MR;
	mr->res.deps[0] = pd;
	mr->res.destroy = mr_destroy;
	/* The device makes its keys (drivers/driver.h reg_mr). */
	dev->err[0] = '\0';
	mr_lend_memfd(mr, rep, q->n_extents, q->extents);
	ret = dev->ops.reg_mr(dev, mr);
	mr->memfd = -1;
	if (ret < 0) {
		reply_error(rep, "%s: reg_mr: %s", dev->name,
			    dev->err[0] ? dev->err : strerror(-ret));
		goto err_pinned;
	}
	ret = res_add(s, &mr->res);
	if (ret < 0) {
		dev->ops.dereg_mr(mr);
		reply_error(rep, "this connection holds too many objects");
		goto err_pinned;
	}
	dev->nmrs++;
	mr_prefault(s, mr);
	if (rep->in_nfds)
		close(rep->in_fds[0]);	/* the mapping stays */
	rdmabroker__mr_reg_reply__init(m);
	m->handle = mr->res.handle;
	m->lkey = mr->lkey;
	m->rkey = mr->rkey;
	rep->msg.body_case = RDMABROKER__REPLY__BODY_MR_REG;
	rep->msg.mr_reg = m;
	return 0;

err_pinned:
	res_uncharge(s, RB_LIMIT_PINNED_BYTES, mr->map_len);
err_mrs:
	res_uncharge(s, RB_LIMIT_MRS, 1);
err_unmap:
	mr_unmap(mr->map, mr->map_len);
	if (mr->proc_mem >= 0)
		close(mr->proc_mem);
err_free:
	free(mr);
	return ret;
}

int mr_rereg(struct rb_session *s, const Rdmabroker__Request *req,
	     struct rb_reply *rep)
{
	const Rdmabroker__MrReregReq *q = req->mr_rereg;
	const uint32_t known = IBV_REREG_MR_CHANGE_TRANSLATION |
			       IBV_REREG_MR_CHANGE_PD | IBV_REREG_MR_CHANGE_ACCESS;
	Rdmabroker__MrReregReply *m = reply_alloc(rep, sizeof(*m));
	struct rb_res *r, *pd = NULL;
	struct rb_mr *mr, moved, old;
	bool move = q->flags & IBV_REREG_MR_CHANGE_TRANSLATION;
	int ret;

	if (!m)
		return -ENOMEM;
	r = res_lookup(s, q->handle, RB_RES_MR, rep);
	if (!r)
		return -EINVAL;
	mr = (struct rb_mr *)r;
	old = *mr;
	if (!q->flags || (q->flags & ~known) || (!move && rep->in_nfds)) {
		reply_error(rep, "flags %#" PRIx32 " not valid", q->flags);
		return -EINVAL;
	}
	if (q->flags & IBV_REREG_MR_CHANGE_PD) {
		pd = res_lookup(s, q->pd, RB_RES_PD, rep);
		if (!pd)
			return -EINVAL;
	}
	if (q->flags & IBV_REREG_MR_CHANGE_ACCESS) {
		ret = mr_check_access(q->access, rep);
		if (ret < 0)
			return ret;
	}
	if (move) {
		ret = mr_check_span(mr->dev, q->addr, q->length, q->mode,
				    q->n_extents, rep, rep);
		if (ret < 0)
			return ret;
		moved = *mr;
		moved.map = NULL;
		moved.map_len = 0;
		moved.proc_mem = -1;
		moved.mode = q->mode;
		moved.addr = q->addr;
		moved.length = q->length;
		ret = moved.mode == RDMABROKER__MR_MODE__MR_MEMFD ?
			mr_map_memfd(s, &moved, rep->in_fds[0], q->n_extents, q->extents, rep) :
			mr_check_cma(s, &moved, rep->in_fds[0], rep);
		if (ret < 0)
			return ret;
		if (!moved.map_len)
			moved.map_len = moved.length;
		ret = res_charge(s, RB_LIMIT_PINNED_BYTES, moved.map_len, rep);
		if (ret < 0) {
			mr_unmap(moved.map, moved.map_len);
			if (moved.proc_mem >= 0)
				close(moved.proc_mem);
			return ret;
		}
		/* The old pages stay until the device has let go of them. */
		mr->map = moved.map;
		mr->map_len = moved.map_len;
		mr->map_skew = moved.map_skew;
		mr->mode = moved.mode;
		mr->proc_mem = moved.proc_mem;
		mr->addr = moved.addr;
		mr->length = moved.length;
		mr->iova = moved.addr;
		mr_lend_memfd(mr, rep, q->n_extents, q->extents);
	}
	if (pd) {
		r->deps[0]->users--;
		pd->users++;
		r->deps[0] = pd;
	}
	if (q->flags & IBV_REREG_MR_CHANGE_ACCESS)
		mr->access = q->access;
	mr->dev->err[0] = '\0';
	ret = mr->dev->ops.rereg_mr(mr, (int)q->flags, &old);
	mr->memfd = -1;
	if (ret < 0) {
		reply_error(rep, "%s: rereg_mr: %s", mr->dev->name,
			    mr->dev->err[0] ? mr->dev->err : strerror(-ret));
		if (pd) {
			pd->users--;
			old.res.deps[0]->users++;
			r->deps[0] = old.res.deps[0];
		}
		mr->access = old.access;
		if (move) {
			res_uncharge(s, RB_LIMIT_PINNED_BYTES, moved.map_len);
			mr_unmap(moved.map, moved.map_len);
			if (moved.proc_mem >= 0)
				close(moved.proc_mem);
			mr->map = old.map;
			mr->map_len = old.map_len;
			mr->map_skew = old.map_skew;
			mr->mode = old.mode;
			mr->proc_mem = old.proc_mem;
			mr->addr = old.addr;
			mr->length = old.length;
			mr->iova = old.iova;
		}
		return ret;
	}
	if (move) {
		res_uncharge(s, RB_LIMIT_PINNED_BYTES, old.map_len);
		mr_unmap(old.map, old.map_len);
		mr_prefault(s, mr);
		if (old.proc_mem >= 0)
			close(old.proc_mem);
		if (rep->in_nfds)
			close(rep->in_fds[0]);
	}
	rdmabroker__mr_rereg_reply__init(m);
	m->lkey = mr->lkey;
	m->rkey = mr->rkey;
	rep->msg.body_case = RDMABROKER__REPLY__BODY_MR_REREG;
	rep->msg.mr_rereg = m;
	return 0;
}

int mr_dereg(struct rb_session *s, const Rdmabroker__Request *req,
	     struct rb_reply *rep)
{
	Rdmabroker__MrDeregReply *m = reply_alloc(rep, sizeof(*m));
	int ret;

	if (!m)
		return -ENOMEM;
	ret = res_destroy(s, req->mr_dereg->handle, RB_RES_MR, rep);
	if (ret < 0)
		return ret;
	rdmabroker__mr_dereg_reply__init(m);
	rep->msg.body_case = RDMABROKER__REPLY__BODY_MR_DEREG;
	rep->msg.mr_dereg = m;
	return 0;
}

void mr_describe(const struct rb_res *r, Rdmabroker__ResEntry *e)
{
	const struct rb_mr *mr = (const struct rb_mr *)r;

	e->has_length = 1;
	e->length = mr->length;
	e->has_lkey = 1;
	e->lkey = mr->lkey;
	e->mr_mode = mr->mode == RDMABROKER__MR_MODE__MR_MEMFD ? (char *)"memfd" :
							      (char *)"cma";
}
