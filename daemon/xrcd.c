/* SPDX-License-Identifier: MIT */
/*
 * XRC domains (ibv_open_xrcd, ibv_close_xrcd), with the kernel's rules
 * for sharing them (ib_uverbs' open_xrcd):
 *
 * - fd -1: a domain of this request alone.
 * - A file: every connection to this daemon that opens the same inode on
 *   the same device gets the same domain.  None yet: made with O_CREAT,
 *   EAGAIN without; one already: EINVAL with O_EXCL.  The domain lives
 *   while any connection holds it, or an XRC_RECV QP in it lives.
 *
 * The client proves it may name the inode by sending an fd of the file
 * (SCM_RIGHTS), as a process proves it to the kernel by passing one to
 * the uverbs call: a client names no inode by number, and one that cannot
 * open the file (another user's, mode 0600) cannot join its domain.  An
 * O_PATH fd, which needs no permission on the file itself, is refused with
 * EBADF, as the kernel's fdget() refuses it; so is, unlike the kernel,
 * with EINVAL, an fd of the one anonymous inode every eventfd, epoll or
 * timerfd shares, which any process can make.  The inode is the daemon's
 * fstat() of that fd, and the first opener's fd is kept (dup) while the
 * domain lives, so the inode number cannot go to another file meanwhile.
 *
 * The domain is a shared object (res.h); each connection holds a link,
 * charged to its user's pds limit, as a domain of protection it is.
 * Closing a link that this connection's XRC SRQs or QPs use is EBUSY.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/daemon.h"
#include "daemon/dispatch.h"
#include "daemon/log.h"
#include "daemon/objects.h"
#include "daemon/res.h"

/* The shared object went: its last link or XRC_RECV QP let go. */
static void xrcd_destroy(struct rb_res *r)
{
	struct rb_xrcd *x = (struct rb_xrcd *)r;

	x->dev->ops.close_xrcd(x);
	if (x->fd >= 0) {
		LIST_REMOVE(x, by_inode);
		close(x->fd);
	}
	free(x);
}

/* The domain of this device opened by the file of inode st, or NULL. */
static struct rb_xrcd *xrcd_find(struct rb_daemon *d, const struct rb_device *dev,
				 const struct stat *st)
{
	struct rb_xrcd *x;

	LIST_FOREACH(x, &d->xrcds, by_inode)
		if (x->dev == dev && x->st_dev == st->st_dev && x->st_ino == st->st_ino)
			return x;
	return NULL;
}

/*
 * A new domain, shared (with no link yet); by file: keyed by st, with a
 * copy of fd.
 */
static int xrcd_new(struct rb_session *s, int fd, const struct stat *st,
		    struct rb_reply *rep, struct rb_xrcd **out)
{
	struct rb_device *dev = s->device;
	struct rb_xrcd *x = res_alloc(sizeof(*x), 0);
	int ret;

	if (!x)
		return -ENOMEM;
	x->dev = dev;
	x->fd = -1;
	LIST_INIT(&x->tgt_qps);
	x->res.type = RB_RES_XRCD;
	x->res.destroy = xrcd_destroy;
	if (fd >= 0) {
		x->fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
		if (x->fd < 0) {
			ret = -errno;
			reply_error(rep, "XRC domain file: %s", strerror(-ret));
			free(x);
			return ret;
		}
		x->st_dev = st->st_dev;
		x->st_ino = st->st_ino;
	}
	ret = dev->ops.open_xrcd(dev, x);
	if (ret < 0) {
		if (x->fd >= 0)
			close(x->fd);
		free(x);
		reply_error(rep, "%s: open_xrcd: %s", dev->name, strerror(-ret));
		return ret;
	}
	if (x->fd >= 0)
		LIST_INSERT_HEAD(&s->d->xrcds, x, by_inode);
	res_share(s->d, &x->res);
	*out = x;
	return 0;
}

/*
 * By file: the domain of the inode of fd, found or made under oflags'
 * rules; errors as the kernel's.
 */
static int xrcd_by_file(struct rb_session *s, int fd, uint32_t oflags,
			struct rb_reply *rep, struct rb_xrcd **out)
{
	struct stat st;
	int fl;

	fl = fcntl(fd, F_GETFL);
	if (fl < 0 || (fl & O_PATH)) {
		reply_error(rep, "the XRC domain's fd is an O_PATH fd: open the file");
		return -EBADF;
	}
	if (fstat(fd, &st) < 0) {
		reply_error(rep, "fstat of the XRC domain's fd: %s", strerror(errno));
		return -EBADF;
	}
	/* An eventfd, epoll, timerfd, signalfd, ... share one anonymous
	 * inode (no file type): anyone could name it, so it proves nothing. */
	if ((st.st_mode & S_IFMT) == 0) {
		reply_error(rep, "the XRC domain's fd has no inode of its own (an anonymous inode)");
		return -EINVAL;
	}
	*out = xrcd_find(s->d, s->device, &st);
	if (!*out && !(oflags & O_CREAT)) {
		reply_error(rep, "no XRC domain for this file yet, and no O_CREAT");
		return -EAGAIN;
	}
	if (*out && (oflags & O_EXCL)) {
		reply_error(rep, "an XRC domain for this file exists, and O_EXCL");
		return -EINVAL;
	}
	if (*out)
		return 0;
	return xrcd_new(s, fd, &st, rep, out);
}

int xrcd_open(struct rb_session *s, const Rdmabroker__Request *req,
	      struct rb_reply *rep)
{
	const Rdmabroker__XrcdOpenReq *q = req->xrcd_open;
	Rdmabroker__XrcdOpenReply *m = reply_alloc(rep, sizeof(*m));
	bool by_file = q->has_by_file && q->by_file;
	struct rb_xrcd *x = NULL;
	struct rb_link *k;
	int ret;

	if (!m)
		return -ENOMEM;
	if (by_file != (rep->in_nfds == 1)) {
		reply_error(rep, "xrcd_open: by_file must come with exactly one fd");
		return -EBADMSG;
	}
	if (q->has_oflags && (q->oflags & ~(uint32_t)(O_CREAT | O_EXCL))) {
		reply_error(rep, "xrcd_open: oflags %#x: only O_CREAT and O_EXCL", q->oflags);
		return -EINVAL;
	}
	if (by_file)
		ret = xrcd_by_file(s, rep->in_fds[0], q->oflags, rep, &x);
	else
		ret = xrcd_new(s, -1, NULL, rep, &x);
	if (ret < 0)
		return ret;
	/* A new domain no one links to goes again on failure (res_link). */
	ret = res_link(s, &x->res, RB_LIMIT_PDS, NULL, rep, &k);
	if (ret < 0)
		return ret;
	if (by_file)
		close(rep->in_fds[0]);	/* ours on success; the domain has a copy */
	log_debug("client %" PRIu64 ": XRC domain %p%s", s->id, (void *)x,
		  x->fd >= 0 ? " (by file)" : "");
	rdmabroker__xrcd_open_reply__init(m);
	m->handle = k->res.handle;
	rep->msg.body_case = RDMABROKER__REPLY__BODY_XRCD_OPEN;
	rep->msg.xrcd_open = m;
	return 0;
}

int xrcd_close(struct rb_session *s, const Rdmabroker__Request *req,
	       struct rb_reply *rep)
{
	Rdmabroker__XrcdCloseReply *m = reply_alloc(rep, sizeof(*m));
	int ret;

	if (!m)
		return -ENOMEM;
	ret = res_destroy(s, req->xrcd_close->handle, RB_RES_XRCD, rep);
	if (ret < 0)
		return ret;
	rdmabroker__xrcd_close_reply__init(m);
	rep->msg.body_case = RDMABROKER__REPLY__BODY_XRCD_CLOSE;
	rep->msg.xrcd_close = m;
	return 0;
}
