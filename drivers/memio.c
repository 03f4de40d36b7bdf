/* SPDX-License-Identifier: MIT */
/*
 * Client memory reached through the client's /proc/PID/mem (CMA regions),
 * off the serving thread (memio.h).
 *
 * Drivers' common code, not the daemon's: only a device that copies
 * (the soft device) can use such memory at all; a NIC cannot DMA through
 * /proc/PID/mem (the verbs driver refuses CMA regions).  The daemon only
 * starts the fork server (memio_init, before it maps client memory) and
 * checks at registration that the client handed it its own mem file.
 *
 * A CMA region may be, or may become at any time (the client can map a
 * file over it after registering), a file on a filesystem the client
 * serves itself (FUSE), a network filesystem or a userfaultfd range: a
 * read or write of it may sleep forever, uninterruptibly (a FUSE request
 * already handed to the server waits even through SIGKILL).  So no check
 * at registration can make the daemon's own access safe.  Every such
 * access runs in a worker process and the daemon waits for it at most
 * memory_timeout_ms; a worker that does not answer by then is abandoned
 * (the access fails, as for unmapped memory), and the owner's CMA regions
 * fail at once until it answers.
 *
 * Workers are processes, not threads: a thread asleep in the kernel keeps
 * its process alive after exit_group(), so the daemon could not stop; an
 * abandoned process goes on its own when the filesystem answers or is
 * aborted.  They are forked by a small process forked at start, before
 * the daemon maps any client memory, so that a stuck worker pins none of
 * it (a fork of the daemon would hold every client's rings and regions).
 * Each worker shares one chunk buffer (a memfd) with the daemon and gets
 * the region's /proc/PID/mem fd with each job; it never holds client
 * memory the daemon could free.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemon/daemon.h"
#include "daemon/log.h"
#include "drivers/memio.h"
#include "daemon/objects.h"

/* Stuck workers kept before every CMA access fails at once. */
#define MEMIO_MAX_STUCK		16

enum memio_op { MEMIO_READ, MEMIO_WRITE };

struct memio_job {
	uint32_t op;
	uint32_t len;
	uint64_t off;
};

struct memio_done {
	int64_t ret;			/* bytes moved, or -errno */
};

struct memio_worker {
	int fd;				/* our end of its socket */
	uint8_t *buf;			/* MEMIO_CHUNK bytes shared with it */
	uid_t uid;			/* stuck: whose memory it waits on */
	struct event *ev;		/* stuck: its late answer */
	struct memio_worker *next;
};

static struct {
	struct rb_daemon *d;
	int zygote;			/* socket to the forking process, or -1 */
	pid_t zygote_pid;
	struct memio_worker *idle;
	struct memio_worker *stuck;
	unsigned int nstuck;
	uint64_t abandoned;		/* workers given up, ever */
} memio = { .zygote = -1 };

/* ------------------------------------------------------------ children */

static void memio_worker_loop(int sock, uint8_t *buf)
{
	for (;;) {
		union { char b[CMSG_SPACE(sizeof(int))]; struct cmsghdr h; } cu;
		struct memio_job job;
		struct iovec iov = { &job, sizeof(job) };
		struct msghdr mh = {
			.msg_iov = &iov, .msg_iovlen = 1,
			.msg_control = cu.b, .msg_controllen = sizeof(cu.b),
		};
		struct memio_done done;
		struct cmsghdr *c;
		ssize_t n;
		int fd = -1;

		n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
		if (n <= 0)
			_exit(0);	/* the daemon let go of us */
		c = CMSG_FIRSTHDR(&mh);
		if (c && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
			memcpy(&fd, CMSG_DATA(c), sizeof(fd));
		if (n != sizeof(job) || fd < 0 || job.len > MEMIO_CHUNK) {
			done.ret = -EINVAL;
		} else {
			n = job.op == MEMIO_WRITE ?
				pwrite(fd, buf, job.len, (off_t)job.off) :
				pread(fd, buf, job.len, (off_t)job.off);
			done.ret = n < 0 ? -errno : n;
		}
		if (fd >= 0)
			close(fd);
		if (send(sock, &done, sizeof(done), MSG_NOSIGNAL) != sizeof(done))
			_exit(0);
	}
}

/* Fork one worker; send its socket and buffer memfd to the daemon. */
static void memio_zygote_spawn(int zsock)
{
	union { char b[CMSG_SPACE(2 * sizeof(int))]; struct cmsghdr h; } cu;
	struct iovec iov = { (char[1]){ 0 }, 1 };
	struct msghdr mh = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cu.b, .msg_controllen = sizeof(cu.b),
	};
	struct cmsghdr *c;
	int sv[2], mfd, fds[2];
	pid_t pid;

	mfd = memfd_create("rdmabrokerd-memio", MFD_CLOEXEC);
	if (mfd < 0 || ftruncate(mfd, MEMIO_CHUNK) < 0 ||
	    socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		_exit(1);
	pid = fork();
	if (pid < 0)
		_exit(1);
	if (pid == 0) {
		uint8_t *buf = mmap(NULL, MEMIO_CHUNK, PROT_READ | PROT_WRITE,
				    MAP_SHARED, mfd, 0);

		if (buf == MAP_FAILED)
			_exit(1);
		close(zsock);
		close(sv[0]);
		close(mfd);
		memio_worker_loop(sv[1], buf);
	}
	fds[0] = sv[0];
	fds[1] = mfd;
	c = &cu.h;	/* CMSG_FIRSTHDR: the buffer fits one */
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(fds));
	memcpy(CMSG_DATA(c), fds, sizeof(fds));
	if (sendmsg(zsock, &mh, MSG_NOSIGNAL) < 0)
		_exit(0);
	close(sv[0]);
	close(sv[1]);
	close(mfd);
}

static void memio_zygote_loop(int zsock)
{
	static const int sigs[] = { SIGTERM, SIGINT, SIGHUP, SIGPIPE };
	sigset_t all;

	/* Workers are reaped by the kernel; the daemon's handlers are not ours. */
	signal(SIGCHLD, SIG_IGN);
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		signal(sigs[i], SIG_DFL);
	sigemptyset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	prctl(PR_SET_NAME, "rdmabrokerd-mem");
	for (;;) {
		char c;

		if (recv(zsock, &c, 1, 0) <= 0)
			_exit(0);
		memio_zygote_spawn(zsock);
	}
}

static struct memio_worker *memio_spawn(void);

int memio_init(struct rb_daemon *d)
{
	int sv[2];
	pid_t pid;

	memio.d = d;
	if (memio.zygote >= 0)
		return 0;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	pid = fork();
	if (pid < 0) {
		int err = errno;

		close(sv[0]);
		close(sv[1]);
		return -err;
	}
	if (pid == 0) {
		/* Nothing of the daemon's but stderr and our socket. */
		if (dup2(sv[1], 3) < 0)
			_exit(1);
		close_range(4, ~0u, 0);
		memio_zygote_loop(3);
	}
	close(sv[1]);
	memio.zygote = sv[0];
	memio.zygote_pid = pid;
	/* The first worker now: its descriptor is part of the daemon at rest. */
	if (!memio.idle)
		memio.idle = memio_spawn();
	/* The zygote exits when this socket closes; it is reaped then. */
	return 0;
}

static void memio_zygote_close(void)
{
	close(memio.zygote);
	memio.zygote = -1;
	/* It exits on EOF; workers are its children, not ours. */
	waitpid(memio.zygote_pid, NULL, 0);
}

static void memio_worker_free(struct memio_worker *w)
{
	if (!w)
		return;
	if (w->ev)
		event_free(w->ev);
	if (w->buf)
		munmap(w->buf, MEMIO_CHUNK);
	close(w->fd);	/* an idle worker sees EOF and exits */
	free(w);
}

void memio_fini(void)
{
	struct memio_worker *w;

	memio_worker_free(memio.idle);
	memio.idle = NULL;
	while ((w = memio.stuck)) {
		memio.stuck = w->next;
		memio_worker_free(w);
	}
	memio.nstuck = 0;
	if (memio.zygote >= 0)
		memio_zygote_close();
}

/* A new worker from the zygote, or NULL. */
static struct memio_worker *memio_spawn(void)
{
	union { char b[CMSG_SPACE(2 * sizeof(int))]; struct cmsghdr h; } cu;
	char c = 0;
	struct iovec iov = { &c, 1 };
	struct msghdr mh = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cu.b, .msg_controllen = sizeof(cu.b),
	};
	struct memio_worker *w;
	struct cmsghdr *cm;
	int fds[2] = { -1, -1 };
	struct pollfd pfd;

	if (memio.zygote < 0 && memio_init(memio.d) < 0)
		return NULL;
	if (send(memio.zygote, &c, 1, MSG_NOSIGNAL) != 1)
		goto broken;
	/* The zygote only forks: a second is plenty. */
	pfd.fd = memio.zygote;
	pfd.events = POLLIN;
	if (poll(&pfd, 1, 1000) != 1 ||
	    recvmsg(memio.zygote, &mh, MSG_CMSG_CLOEXEC) != 1)
		goto broken;
	cm = CMSG_FIRSTHDR(&mh);
	if (!cm || cm->cmsg_type != SCM_RIGHTS ||
	    cm->cmsg_len != CMSG_LEN(sizeof(fds)))
		goto broken;
	memcpy(fds, CMSG_DATA(cm), sizeof(fds));
	w = calloc(1, sizeof(*w));
	if (!w)
		goto out;
	w->fd = fds[0];
	w->buf = mmap(NULL, MEMIO_CHUNK, PROT_READ | PROT_WRITE, MAP_SHARED,
		      fds[1], 0);
	close(fds[1]);
	if (w->buf == MAP_FAILED) {
		w->buf = NULL;
		memio_worker_free(w);
		return NULL;
	}
	return w;
broken:
	log_err("memio: the worker-forking process does not answer; starting another");
	kill(memio.zygote_pid, SIGKILL);
	memio_zygote_close();
out:
	if (fds[0] >= 0)
		close(fds[0]);
	if (fds[1] >= 0)
		close(fds[1]);
	return NULL;
}

static unsigned int memio_stuck_of(uid_t uid)
{
	unsigned int n = 0;

	for (struct memio_worker *w = memio.stuck; w; w = w->next)
		n += w->uid == uid;
	return n;
}

/* A stuck worker answered at last: its owner's memory may be used again. */
static void memio_late_cb(evutil_socket_t fd, short what, void *arg)
{
	struct memio_worker *w = arg, **p;
	struct memio_done done;

	(void)what;
	(void)recv(fd, &done, sizeof(done), MSG_DONTWAIT);
	for (p = &memio.stuck; *p && *p != w; p = &(*p)->next)
		;
	if (*p)
		*p = w->next;
	memio.nstuck--;
	log_notice("memio: the memory of uid %u answered after all; its CMA regions are used again",
		   (unsigned int)w->uid);
	memio_worker_free(w);
}

static void memio_abandon(struct memio_worker *w, uid_t uid)
{
	w->uid = uid;
	w->next = memio.stuck;
	memio.stuck = w;
	memio.nstuck++;
	memio.abandoned++;
	if (memio.d && memio.d->base) {
		w->ev = event_new(memio.d->base, w->fd, EV_READ, memio_late_cb, w);
		if (w->ev)
			event_add(w->ev, NULL);
	}
}

static uint32_t memio_timeout_ms(void)
{
	return memio.d ? memio.d->cfg.memory_timeout_ms : RB_MEMIO_DEFAULT_TIMEOUT_MS;
}

/* One chunk through a worker; bytes moved or -errno. */
static int64_t memio_chunk(uid_t uid, int fd, enum memio_op op, uint64_t off,
			   uint32_t len, void *rbuf, const void *wbuf)
{
	union { char b[CMSG_SPACE(sizeof(int))]; struct cmsghdr h; } cu;
	struct memio_job job = { .op = op, .len = len, .off = off };
	struct iovec iov = { &job, sizeof(job) };
	struct msghdr mh = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cu.b, .msg_controllen = sizeof(cu.b),
	};
	struct memio_worker *w = memio.idle;
	struct memio_done done;
	struct cmsghdr *c;
	struct pollfd pfd;
	int ret;

	if (!w) {
		w = memio_spawn();
		if (!w)
			return -EAGAIN;
		memio.idle = w;
	}
	if (op == MEMIO_WRITE)
		memcpy(w->buf, wbuf, len);
	c = &cu.h;	/* CMSG_FIRSTHDR: the buffer fits one */
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	if (sendmsg(w->fd, &mh, MSG_NOSIGNAL) != sizeof(job))
		goto dead;
	pfd.fd = w->fd;
	pfd.events = POLLIN;
	do
		ret = poll(&pfd, 1, (int)memio_timeout_ms());
	while (ret < 0 && errno == EINTR);
	if (ret == 0) {
		memio.idle = NULL;
		memio_abandon(w, uid);
		log_warn("memio: memory of uid %u at %#" PRIx64 " did not answer in %" PRIu32
			 " ms (a file on a filesystem that does not answer?); its CMA regions fail until it does",
			 (unsigned int)uid, off, memio_timeout_ms());
		return -ETIMEDOUT;
	}
	if (recv(w->fd, &done, sizeof(done), 0) != sizeof(done))
		goto dead;
	if (done.ret > 0 && op == MEMIO_READ)
		memcpy(rbuf, w->buf, (size_t)done.ret);
	return done.ret;
dead:
	memio.idle = NULL;
	memio_worker_free(w);
	return -EIO;
}

int memio_rw(uid_t uid, int fd, uint64_t off, void *rbuf, const void *wbuf,
	     uint64_t len)
{
	enum memio_op op = wbuf ? MEMIO_WRITE : MEMIO_READ;

	if (memio_stuck_of(uid))
		return -ETIMEDOUT;	/* its memory still has not answered */
	if (memio.nstuck >= MEMIO_MAX_STUCK)
		return -EAGAIN;
	/* Bounded chunks: no 0x7ffff000-byte cap of one pread, and a deadline each. */
	while (len) {
		uint32_t k = len < MEMIO_CHUNK ? (uint32_t)len : MEMIO_CHUNK;
		int64_t n;

		if (off > (uint64_t)INT64_MAX - k)
			return -EFAULT;
		n = memio_chunk(uid, fd, op, off, k, rbuf, wbuf);
		if (n < 0)
			return (int)n;
		if (n != (int64_t)k)
			return -EFAULT;	/* a page the process does not have */
		off += k;
		len -= k;
		if (rbuf)
			rbuf = (uint8_t *)rbuf + k;
		if (wbuf)
			wbuf = (const uint8_t *)wbuf + k;
	}
	return 0;
}

int memio_reach(uid_t uid, int fd, uint64_t first, uint64_t last, uint64_t *where)
{
	uint64_t at[2] = { first, last };
	char b;

	for (int i = 0; i < 2; i++) {
		int err = at[i] > INT64_MAX ? -EFAULT : memio_rw(uid, fd, at[i], &b, NULL, 1);

		if (err < 0) {
			*where = at[i];
			return err;
		}
	}
	return 0;
}

int rb_mr_read(const struct rb_mr *mr, uint64_t addr, void *dst, uint64_t len)
{
	return memio_rw(mr->res.owner->uid, mr->proc_mem, addr, dst, NULL, len);
}

int rb_mr_write(const struct rb_mr *mr, uint64_t addr, const void *src,
		uint64_t len)
{
	return memio_rw(mr->res.owner->uid, mr->proc_mem, addr, NULL, src, len);
}

unsigned int memio_stuck(void)
{
	return memio.nstuck;
}
