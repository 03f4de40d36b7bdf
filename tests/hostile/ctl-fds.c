/* SPDX-License-Identifier: MIT */
/*
 * SCM_RIGHTS abuse on the control socket, against a real private daemon
 * (tests/hostile/ctl-fds.sh): too many fds, too few, wrong types,
 * unsealed or read-only memfds, shrinking a registered memfd.  Prints a
 * "figure:" line; exit 0 on success, 1 on failure.
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
#include "tests/hostile/ctl-lib.h"

/* -------------------------------------------------------- SCM_RIGHTS */

/* A fresh connection with a device and a PD: for cases that may drop it. */
static void fds_conn(struct conn *c)
{
	Rdmabroker__Reply *r;

	conn_open(c, true);
	mem_init(c);
	must(c, RDMABROKER__REQUEST__BODY_PD_ALLOC, &r, "pd_alloc");
	c->pd = r->pd_alloc->handle;
	rdmabroker__reply__free_unpacked(r, NULL);
}

/* n fds on one datagram: more than a frame may carry ends the connection. */
static void fds_too_many(size_t n)
{
	struct reqbuf b;
	struct conn c;
	int *fds = calloc(n, sizeof(int)), ret;
	Rdmabroker__Reply *r = NULL;
	union {
		char buf[CMSG_SPACE(sizeof(int) * 253)];
		struct cmsghdr align;
	} cm;
	uint8_t fr[256];
	struct iovec iov;
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *h;
	ssize_t len;

	CHECK(fds, "calloc");
	fds_conn(&c);
	for (size_t i = 0; i < n; i++)
		fds[i] = c.memfd;
	build(&b, &c, RDMABROKER__REQUEST__BODY_PD_ALLOC);
	len = rb_wire_pack(fr, RB_WIRE_REQUEST, &b.req.base);
	iov.iov_base = fr;
	iov.iov_len = (size_t)len;
	memset(&cm, 0, sizeof(cm));
	mh.msg_control = cm.buf;
	mh.msg_controllen = CMSG_SPACE(sizeof(int) * n);
	h = CMSG_FIRSTHDR(&mh);
	CHECK(h, "no room for the fds");
	h->cmsg_level = SOL_SOCKET;
	h->cmsg_type = SCM_RIGHTS;
	h->cmsg_len = CMSG_LEN(sizeof(int) * n);
	memcpy(CMSG_DATA(h), fds, sizeof(int) * n);
	CHECK(sendmsg(c.fd, &mh, MSG_NOSIGNAL) == len, "sendmsg %zu fds: %s", n,
	      strerror(errno));
	ret = read_reply(c.fd, &r);
	if (n > RB_WIRE_MAX_FDS) {
		CHECK(ret == 0, "%zu fds on one frame: not disconnected", n);
	} else {
		CHECK(ret == 1 && r->status != 0, "%zu fds with pd_alloc not refused", n);
		rdmabroker__reply__free_unpacked(r, NULL);
	}
	free(fds);
	conn_close(&c);
	fig.cases++;
}

/* mr_reg MEMFD with fd in place of the memfd: refused. */
static void fds_wrong(struct conn *c, int fd, const char *what)
{
	struct reqbuf b;

	refused(c, build(&b, c, RDMABROKER__REQUEST__BODY_MR_REG), &fd, 1, what);
}

static void fds(void)
{
	static const size_t counts[] = { 2, 8, 9, 16, 32, 100, 253 };
	Rdmabroker__Reply *r;
	struct reqbuf b;
	struct conn c;
	char path[] = "/tmp/hostile-ctl.XXXXXX";
	int p[2], sv[2], f, ro, two[2];

	log_path = getenv("RB_LOG");
	for (size_t i = 0; i < sizeof(counts) / sizeof(counts[0]); i++)
		fds_too_many(counts[i]);

	fds_conn(&c);
	/* Too few: a MEMFD region without its memfd. */
	refused(&c, build(&b, &c, RDMABROKER__REQUEST__BODY_MR_REG), NULL, 0,
		"mr_reg MEMFD without the memfd");
	/* Too many for the type. */
	two[0] = two[1] = c.memfd;
	refused(&c, build(&b, &c, RDMABROKER__REQUEST__BODY_MR_REG), two, 2,
		"mr_reg with two fds");
	refused(&c, build(&b, &c, RDMABROKER__REQUEST__BODY_PD_ALLOC), two, 1,
		"pd_alloc with an fd");
	b.mr_reg.mode = RDMABROKER__MR_MODE__MR_CMA;
	build(&b, &c, RDMABROKER__REQUEST__BODY_MR_REG);
	b.mr_reg.mode = RDMABROKER__MR_MODE__MR_CMA;
	b.mr_reg.n_extents = 0;
	refused(&c, &b.req, two, 1, "mr_reg CMA with an fd");
	build(&b, &c, RDMABROKER__REQUEST__BODY_MR_REREG);
	refused(&c, &b.req, two, 1, "mr_rereg of the access with an fd");

	/* Wrong types where a memfd belongs. */
	CHECK(pipe2(p, O_CLOEXEC) == 0, "pipe");
	fds_wrong(&c, p[0], "mr_reg with a pipe");
	fds_wrong(&c, p[1], "mr_reg with a pipe's write end");
	close(p[0]);
	close(p[1]);
	CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0, "socketpair");
	fds_wrong(&c, sv[0], "mr_reg with a socket");
	close(sv[0]);
	close(sv[1]);
	f = mkstemp(path);
	CHECK(f >= 0, "mkstemp");
	CHECK(ftruncate(f, 4 * page_size) == 0, "ftruncate");
	ro = open(path, O_RDONLY | O_CLOEXEC);
	unlink(path);
	fds_wrong(&c, f, "mr_reg with a regular file");
	fds_wrong(&c, ro, "mr_reg with an O_RDONLY regular file");
	close(f);
	close(ro);
	f = open("/dev/null", O_RDWR | O_CLOEXEC);
	fds_wrong(&c, f, "mr_reg with /dev/null");
	close(f);
	f = open("/dev/zero", O_RDWR | O_CLOEXEC);
	fds_wrong(&c, f, "mr_reg with /dev/zero");
	close(f);
	f = eventfd(0, EFD_CLOEXEC);
	fds_wrong(&c, f, "mr_reg with an eventfd");
	close(f);

	/* memfds the daemon must not map. */
	f = memfd_create("unsealed", MFD_CLOEXEC);
	CHECK(f >= 0 && ftruncate(f, 4 * page_size) == 0, "memfd");
	fds_wrong(&c, f, "mr_reg with a memfd that cannot be sealed");
	close(f);
	f = memfd_create("unsealed", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	CHECK(f >= 0 && ftruncate(f, 4 * page_size) == 0, "memfd");
	fds_wrong(&c, f, "mr_reg with a memfd not sealed against shrinking");
	CHECK(fcntl(f, F_ADD_SEALS, F_SEAL_GROW) == 0, "seal");
	fds_wrong(&c, f, "mr_reg with a memfd sealed against growing only");
	close(f);
	f = memfd_create("huge", MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_HUGETLB);
	if (f >= 0) {
		/* Its hole would fault when no huge page is free: not mapped. */
		if (ftruncate(f, 2 << 20) == 0 &&
		    fcntl(f, F_ADD_SEALS, F_SEAL_SHRINK) == 0)
			fds_wrong(&c, f, "mr_reg with a hugetlbfs memfd");
		close(f);
	}
	f = memfd_create("small", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	CHECK(f >= 0 && fcntl(f, F_ADD_SEALS, F_SEAL_SHRINK) == 0, "memfd");
	fds_wrong(&c, f, "mr_reg with an empty sealed memfd");
	close(f);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", c.memfd);
	ro = open(path, O_RDONLY | O_CLOEXEC);
	CHECK(ro >= 0, "reopen the memfd read-only");
	fds_wrong(&c, ro, "mr_reg with the memfd opened O_RDONLY");
	close(ro);
	f = memfd_create("sealed-write", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	CHECK(f >= 0 && ftruncate(f, 4 * page_size) == 0 &&
	      fcntl(f, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_WRITE) == 0, "memfd");
	{
		/* Write-sealed: mapping it shared and writable must fail. */
		struct conn w = c;
		void *m = mmap(NULL, 4 * (size_t)page_size, PROT_READ,
			       MAP_SHARED, f, 0);

		CHECK(m != MAP_FAILED, "mmap");
		w.mem = m;
		w.memfd = f;
		refused(&c, build(&b, &w, RDMABROKER__REQUEST__BODY_MR_REG), &f, 1,
			"mr_reg with a write-sealed memfd");
		munmap(m, 4 * (size_t)page_size);
		close(f);
	}

	/*
	 * A registered memfd cannot be shrunk under the daemon: the seal it
	 * demands makes ftruncate fail, so the daemon's mapping never faults
	 * past the end.  Punching a hole is allowed and harmless (the pages
	 * read back as zeros).  The daemon then still serves the MR.
	 */
	c.seq++;
	CHECK(call(c.fd, build(&b, &c, RDMABROKER__REQUEST__BODY_MR_REG), &c.memfd,
		   1, &r) == 0, "mr_reg of the sealed memfd");
	c.mr = r->mr_reg->handle;
	rdmabroker__reply__free_unpacked(r, NULL);
	/* The daemon knows that memfd now: any other fd is checked as ever. */
	f = memfd_create("unsealed", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	CHECK(f >= 0 && ftruncate(f, 4 * page_size) == 0, "memfd");
	fds_wrong(&c, f, "mr_reg with an unsealed memfd after a sealed one");
	close(f);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", c.memfd);
	ro = open(path, O_RDONLY | O_CLOEXEC);
	CHECK(ro >= 0, "reopen the memfd read-only");
	fds_wrong(&c, ro, "mr_reg with the registered memfd opened O_RDONLY");
	close(ro);
	CHECK(ftruncate(c.memfd, 0) < 0 && errno == EPERM,
	      "a registered memfd could be shrunk");
	CHECK(fallocate(c.memfd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0,
			4 * page_size) == 0, "punch hole: %s", strerror(errno));
	CHECK(ftruncate(c.memfd, 64 * page_size) == 0, "grow");
	c.seq++;
	CHECK(call(c.fd, build(&b, &c, RDMABROKER__REQUEST__BODY_MR_REREG), NULL,
		   0, NULL) == 0, "mr_rereg after the hole");
	must(&c, RDMABROKER__REQUEST__BODY_MR_DEREG, NULL, "mr_dereg");
	fig.cases += 3;
	conn_close(&c);
	verbs_round("after the fd cases");
}

int main(int argc, char **argv)
{
	(void)argv;
	ctl_init("ctl-fds");
	if (argc != 1)
		die("no arguments");
	fds();
	ctl_figures("fds");
	return 0;
}
