/* SPDX-License-Identifier: MIT */
/*
 * XRC domains shared between processes by file, and ibv_open_qp
 * (tests/integration/xrc-share.sh runs the modes):
 *
 *   share FILE    three processes: a creator opens the domain of FILE
 *                 (O_CREAT) and makes an XRC_RECV QP in it; an opener
 *                 opens the same domain (no O_CREAT), opens the QP by
 *                 number, makes an XRC SRQ in the domain and connects the
 *                 QP; a sender's XRC_SEND QP sends to that SRQ through it.
 *                 The creator is SIGKILLed and traffic still flows; the
 *                 opener is SIGKILLed at the end holding everything.
 *   rules FILE    O_EXCL on an existing domain is EINVAL and no O_CREAT on
 *                 a new inode EAGAIN (the kernel's errnos), an O_PATH or
 *                 closed fd EBADF, an eventfd (one anonymous inode) EINVAL, ibv_open_qp of no such QP or of another
 *                 type EINVAL, a domain goes with its last holder.
 *   gone FILE     the domain of FILE no longer exists: EAGAIN without
 *                 O_CREAT (what the creator and the opener held is gone).
 *   foreign FILE  FILE cannot be opened by this user: the O_PATH fd that
 *                 can be had anyway is refused (EBADF), with or without
 *                 O_CREAT.
 *   hold FILE     open FILE's domain (O_CREAT) and keep it until stdin ends.
 *   limit FILE    with [limits] qps = 1: the XRC_RECV QP takes the one QP,
 *                 and opening it again is EDQUOT.
 *
 * Exit 0 pass, 1 fail.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <infiniband/verbs.h>

#include "tests/lib/datatest.h"

#define NRECV	4
#define MSG_LEN	200

static const char *role = "main";

static void die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "xrc-share %s: FAIL: ", role);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

#define CHECK(cond, ...) do { if (!(cond)) die(__VA_ARGS__); } while (0)

/* ------------------------------------------------------------ plumbing */

/* One child: a command pipe to it and an answer pipe from it. */
struct child {
	pid_t pid;
	FILE *to, *from;
};

static void say(FILE *f, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	fputc('\n', f);
	fflush(f);
}

static void hear(FILE *f, char *buf, size_t len)
{
	if (!fgets(buf, (int)len, f))
		die("the other side went away");
	buf[strcspn(buf, "\n")] = '\0';
}

static void child_start(struct child *c, const char *name,
			void (*fn)(FILE *in, FILE *out, const char *file),
			const char *file)
{
	int down[2], up[2];

	CHECK(pipe(down) == 0 && pipe(up) == 0, "pipe: %s", strerror(errno));
	c->pid = fork();
	CHECK(c->pid >= 0, "fork: %s", strerror(errno));
	if (c->pid == 0) {
		FILE *in = fdopen(down[0], "r"), *out = fdopen(up[1], "w");

		close(down[1]);
		close(up[0]);
		role = name;
		fn(in, out, file);
		exit(0);
	}
	close(down[0]);
	close(up[1]);
	c->to = fdopen(down[1], "w");
	c->from = fdopen(up[0], "r");
	CHECK(c->to && c->from, "fdopen");
}

/* Ask c to do cmd; its answer must begin with want, the rest in out. */
static void ask(struct child *c, const char *cmd, const char *want, char *out, size_t len)
{
	char buf[256];

	say(c->to, "%s", cmd);
	hear(c->from, buf, sizeof(buf));
	if (strncmp(buf, want, strlen(want)) != 0)
		die("asked '%s', got '%s'", cmd, buf);
	if (out)
		snprintf(out, len, "%s", buf + strlen(want));
}

static void child_kill(struct child *c)
{
	int st;

	kill(c->pid, SIGKILL);
	CHECK(waitpid(c->pid, &st, 0) == c->pid, "waitpid");
	CHECK(WIFSIGNALED(st), "child %d exited %d before it was killed", (int)c->pid,
	      WEXITSTATUS(st));
	fclose(c->to);
	fclose(c->from);
}

/* ------------------------------------------------------------ verbs */

static struct ibv_xrcd *xrcd_open(struct ibv_context *ctx, int fd, int oflags)
{
	struct ibv_xrcd_init_attr a = {
		.comp_mask = IBV_XRCD_INIT_ATTR_FD | IBV_XRCD_INIT_ATTR_OFLAGS,
		.fd = fd, .oflags = oflags,
	};

	return ibv_open_xrcd(ctx, &a);
}

/* ibv_close_xrcd through its verbs_context op: the inline in verbs.h
 * dereferences verbs_get_ctx() unchecked, which -Werror refuses. */
static int xrcd_close(struct ibv_xrcd *x)
{
	struct verbs_context *v = verbs_get_ctx(x->context);

	if (!v || !v->close_xrcd)
		return EOPNOTSUPP;
	return v->close_xrcd(x);
}

static struct ibv_qp *qp_open(struct ibv_context *ctx, struct ibv_xrcd *x,
			      uint32_t qpn, enum ibv_qp_type type)
{
	struct ibv_qp_open_attr a = {
		.comp_mask = IBV_QP_OPEN_ATTR_NUM | IBV_QP_OPEN_ATTR_XRCD |
			     IBV_QP_OPEN_ATTR_TYPE,
		.qp_num = qpn, .xrcd = x, .qp_type = type,
	};

	return ibv_open_qp(ctx, &a);
}

static struct ibv_qp *tgt_create(struct ibv_context *ctx, struct ibv_xrcd *x)
{
	struct ibv_qp_init_attr_ex a = {
		.qp_type = IBV_QPT_XRC_RECV, .comp_mask = IBV_QP_INIT_ATTR_XRCD,
		.xrcd = x,
	};

	return ibv_create_qp_ex(ctx, &a);
}

static int to_init(struct ibv_qp *qp)
{
	struct ibv_qp_attr a = { .qp_state = IBV_QPS_INIT, .port_num = 1 };

	return ibv_modify_qp(qp, &a, IBV_QP_STATE | IBV_QP_PKEY_INDEX |
			     IBV_QP_PORT | IBV_QP_ACCESS_FLAGS);
}

/* INIT -> RTR (XRC: RC's attributes less what its side lacks), -> RTS. */
static int to_rtr_rts(struct ibv_qp *qp, const union ibv_gid *gid, uint32_t dest)
{
	bool snd = qp->qp_type == IBV_QPT_XRC_SEND;
	struct ibv_qp_attr a = {
		.qp_state = IBV_QPS_RTR, .path_mtu = IBV_MTU_1024,
		.dest_qp_num = dest, .max_dest_rd_atomic = 1, .min_rnr_timer = 1,
	};
	int ret;

	a.ah_attr.is_global = 1;
	a.ah_attr.port_num = 1;
	a.ah_attr.grh.dgid = *gid;
	a.ah_attr.grh.hop_limit = 1;
	ret = ibv_modify_qp(qp, &a, IBV_QP_STATE | IBV_QP_AV | IBV_QP_PATH_MTU |
			    IBV_QP_DEST_QPN | IBV_QP_RQ_PSN |
			    (snd ? 0 : IBV_QP_MAX_DEST_RD_ATOMIC | IBV_QP_MIN_RNR_TIMER));
	if (ret || !snd)
		return ret;
	memset(&a, 0, sizeof(a));
	a.qp_state = IBV_QPS_RTS;
	a.timeout = 14;
	a.retry_cnt = 7;
	a.rnr_retry = 7;
	a.max_rd_atomic = 1;
	return ibv_modify_qp(qp, &a, IBV_QP_STATE | IBV_QP_TIMEOUT | IBV_QP_RETRY_CNT |
			     IBV_QP_RNR_RETRY | IBV_QP_SQ_PSN | IBV_QP_MAX_QP_RD_ATOMIC);
}

static int file_open(const char *file, int flags)
{
	int fd = open(file, flags | O_CLOEXEC, 0600);

	CHECK(fd >= 0, "open %s: %s", file, strerror(errno));
	return fd;
}

/* ------------------------------------------------------------ share */

/* Makes the domain and the XRC_RECV QP, then waits to be killed. */
static void creator(FILE *in, FILE *out, const char *file)
{
	struct dt_node n;
	struct ibv_xrcd *x;
	struct ibv_qp *qp;
	char buf[64];
	int fd;

	CHECK(dt_node_open(&n, 16, false) == 0, "dt_node_open");
	fd = file_open(file, O_RDWR | O_CREAT);
	x = xrcd_open(n.ctx, fd, O_CREAT);
	CHECK(x, "ibv_open_xrcd(O_CREAT): %s", strerror(errno));
	qp = tgt_create(n.ctx, x);
	CHECK(qp, "XRC_RECV QP: %s", strerror(errno));
	CHECK(to_init(qp) == 0, "XRC_RECV QP to INIT");
	say(out, "qpn %u", qp->qp_num);
	while (fgets(buf, sizeof(buf), in))
		;	/* killed while it holds everything */
	exit(0);
}

/* Opens the domain and the QP, receives on an XRC SRQ of the domain. */
static void opener(FILE *in, FILE *out, const char *file)
{
	struct dt_node n;
	struct dt_buf b;
	struct ibv_xrcd *x, *x2;
	struct ibv_qp *qp = NULL;
	struct ibv_srq *srq = NULL;
	struct ibv_cq *cq;
	struct ibv_wc wc;
	struct ibv_qp_attr qa;
	struct ibv_qp_init_attr qi;
	uint32_t qpn = 0, sender = 0, srqn;
	char cmd[128];
	int fd, seed;

	CHECK(dt_node_open(&n, 16, false) == 0, "dt_node_open");
	CHECK(dt_buf_alloc(&b, n.pd, 4096 * 2, DT_ACCESS_ALL) == 0, "buffer");
	fd = file_open(file, O_RDONLY);
	/* It exists: no O_CREAT needed, and O_EXCL would fail. */
	x = xrcd_open(n.ctx, fd, 0);
	CHECK(x, "ibv_open_xrcd of the creator's domain: %s", strerror(errno));
	cq = ibv_create_cq(n.ctx, 16, NULL, NULL, 0);
	CHECK(cq, "CQ");
	while (fgets(cmd, sizeof(cmd), in)) {
		if (sscanf(cmd, "open %u", &qpn) == 1) {
			struct ibv_srq_init_attr_ex sa = {
				.attr = { .max_wr = NRECV, .max_sge = 1 },
				.comp_mask = IBV_SRQ_INIT_ATTR_TYPE | IBV_SRQ_INIT_ATTR_XRCD |
					     IBV_SRQ_INIT_ATTR_CQ | IBV_SRQ_INIT_ATTR_PD,
				.srq_type = IBV_SRQT_XRC, .xrcd = x, .cq = cq, .pd = n.pd,
			};

			errno = 0;
			CHECK(!qp_open(n.ctx, x, qpn ^ 0x5a5a5a, IBV_QPT_XRC_RECV) && errno == EINVAL,
			      "ibv_open_qp of no such QP: errno %d, want EINVAL", errno);
			errno = 0;
			CHECK(!qp_open(n.ctx, x, qpn, IBV_QPT_RC) && errno == EINVAL,
			      "ibv_open_qp as RC: errno %d, want EINVAL", errno);
			qp = qp_open(n.ctx, x, qpn, IBV_QPT_XRC_RECV);
			CHECK(qp, "ibv_open_qp(%#x): %s", qpn, strerror(errno));
			CHECK(qp->qp_num == qpn && qp->qp_type == IBV_QPT_XRC_RECV &&
			      !qp->pd && !qp->send_cq && !qp->recv_cq && !qp->srq,
			      "the opened QP's fields");
			/* The creator put it in INIT: the state is the QP's. */
			CHECK(ibv_query_qp(qp, &qa, IBV_QP_STATE, &qi) == 0 &&
			      qa.qp_state == IBV_QPS_INIT, "opened QP: state %d, want INIT",
			      qa.qp_state);
			srq = ibv_create_srq_ex(n.ctx, &sa);
			CHECK(srq, "XRC SRQ: %s", strerror(errno));
			CHECK(ibv_get_srq_num(srq, &srqn) == 0, "ibv_get_srq_num");
			for (int i = 0; i < NRECV; i++)
				CHECK(dt_post_srq_recv(srq, 100 + (uint64_t)i, b.p + 1024 * i, 1024,
						       b.mr->lkey) == 0, "post_srq_recv");
			/* Its domain is in use by this process's QP and SRQ. */
			CHECK(xrcd_close(x) == EBUSY, "closing the domain in use: not EBUSY");
			say(out, "srqn %u", srqn);
		} else if (sscanf(cmd, "connect %u", &sender) == 1) {
			/* Modified by a process that did not create it. */
			CHECK(to_rtr_rts(qp, &n.gid, sender) == 0, "opened QP to RTR: %s",
			      strerror(errno));
			say(out, "ok");
		} else if (sscanf(cmd, "recv %d", &seed) == 1) {
			CHECK(dt_poll(cq, &wc, 1, DT_TIMEOUT_MS) == 1, "no receive %d", seed);
			CHECK(wc.status == IBV_WC_SUCCESS && wc.opcode == IBV_WC_RECV &&
			      wc.byte_len == MSG_LEN && wc.qp_num == qpn && wc.src_qp == sender,
			      "receive %d: status %d opcode %d len %u qp %#x src %#x", seed,
			      wc.status, wc.opcode, wc.byte_len, wc.qp_num, wc.src_qp);
			CHECK(dt_verify(b.p + 1024 * (wc.wr_id - 100), MSG_LEN, (uint32_t)seed) == -1,
			      "receive %d: wrong data", seed);
			say(out, "ok");
		} else if (strncmp(cmd, "after", 5) == 0) {
			/* The creator is gone: the QP, its state and the domain
			 * stay, and the domain can still be joined by file. */
			CHECK(ibv_query_qp(qp, &qa, IBV_QP_STATE, &qi) == 0 &&
			      qa.qp_state == IBV_QPS_RTR, "after the creator died: state %d",
			      qa.qp_state);
			x2 = xrcd_open(n.ctx, fd, 0);
			CHECK(x2, "joining the domain again: %s", strerror(errno));
			CHECK(xrcd_close(x2) == 0, "closing the second handle");
			say(out, "ok");
		} else {
			die("unknown command %s", cmd);
		}
	}
	exit(0);
}

/* An XRC_SEND QP of its own PD: the third QP. */
static void sender(FILE *in, FILE *out, const char *file)
{
	struct ibv_qp_init_attr_ex a = {
		.qp_type = IBV_QPT_XRC_SEND, .comp_mask = IBV_QP_INIT_ATTR_PD,
		.cap = { .max_send_wr = 8, .max_send_sge = 1 },
	};
	struct ibv_send_wr wr, *bad;
	struct ibv_sge sge;
	struct dt_node n;
	struct dt_buf b;
	struct ibv_qp *qp;
	struct ibv_wc wc;
	uint32_t tgt, srqn = 0;
	char cmd[128];
	int seed;

	(void)file;
	CHECK(dt_node_open(&n, 16, false) == 0, "dt_node_open");
	CHECK(dt_buf_alloc(&b, n.pd, 4096, DT_ACCESS_ALL) == 0, "buffer");
	a.pd = n.pd;
	a.send_cq = n.scq;
	qp = ibv_create_qp_ex(n.ctx, &a);
	CHECK(qp, "XRC_SEND QP: %s", strerror(errno));
	CHECK(to_init(qp) == 0, "XRC_SEND to INIT");
	say(out, "qpn %u", qp->qp_num);
	while (fgets(cmd, sizeof(cmd), in)) {
		if (sscanf(cmd, "connect %u %u", &tgt, &srqn) == 2) {
			CHECK(to_rtr_rts(qp, &n.gid, tgt) == 0, "XRC_SEND to RTS");
			say(out, "ok");
		} else if (sscanf(cmd, "send %d", &seed) == 1) {
			dt_fill(b.p, MSG_LEN, (uint32_t)seed);
			sge = (struct ibv_sge){ (uintptr_t)b.p, MSG_LEN, b.mr->lkey };
			memset(&wr, 0, sizeof(wr));
			wr.wr_id = (uint64_t)seed;
			wr.sg_list = &sge;
			wr.num_sge = 1;
			wr.opcode = IBV_WR_SEND;
			wr.send_flags = IBV_SEND_SIGNALED;
			wr.qp_type.xrc.remote_srqn = srqn;
			CHECK(ibv_post_send(qp, &wr, &bad) == 0, "post_send");
			CHECK(dt_poll(n.scq, &wc, 1, DT_TIMEOUT_MS) == 1, "no send completion");
			CHECK(wc.status == IBV_WC_SUCCESS && wc.wr_id == (uint64_t)seed,
			      "send %d: status %s", seed, ibv_wc_status_str(wc.status));
			say(out, "ok");
		} else {
			die("unknown command %s", cmd);
		}
	}
	exit(0);
}

static int mode_share(const char *file)
{
	struct child c, o, s;
	char qpn[32], srqn[32], sqpn[32], cmd[128];

	unlink(file);
	child_start(&c, "creator", creator, file);
	hear(c.from, cmd, sizeof(cmd));
	CHECK(sscanf(cmd, "qpn %31s", qpn) == 1, "creator said '%s'", cmd);
	child_start(&o, "opener", opener, file);
	snprintf(cmd, sizeof(cmd), "open %s", qpn);
	ask(&o, cmd, "srqn ", srqn, sizeof(srqn));
	child_start(&s, "sender", sender, file);
	hear(s.from, cmd, sizeof(cmd));
	CHECK(sscanf(cmd, "qpn %31s", sqpn) == 1, "sender said '%s'", cmd);
	snprintf(cmd, sizeof(cmd), "connect %s", sqpn);
	ask(&o, cmd, "ok", NULL, 0);
	snprintf(cmd, sizeof(cmd), "connect %s %s", qpn, srqn);
	ask(&s, cmd, "ok", NULL, 0);
	ask(&s, "send 1", "ok", NULL, 0);
	ask(&o, "recv 1", "ok", NULL, 0);
	/* The creator dies holding the domain and the QP it made. */
	child_kill(&c);
	ask(&o, "after", "ok", NULL, 0);
	ask(&s, "send 2", "ok", NULL, 0);
	ask(&o, "recv 2", "ok", NULL, 0);
	ask(&s, "send 3", "ok", NULL, 0);
	ask(&o, "recv 3", "ok", NULL, 0);
	/* And the opener dies holding them too; the sender goes too. */
	child_kill(&o);
	child_kill(&s);
	printf("shared XRC domain and XRC_RECV QP %s: creator and opener killed, "
	       "traffic flowed before and after\n", qpn);
	return 0;
}

/* ------------------------------------------------------------ the rest */

static int mode_rules(const char *file)
{
	char other[4096];
	struct dt_node n;
	struct ibv_xrcd *x, *x2;
	struct ibv_qp *qp, *op;
	int fd, fd2, pfd, bad;

	snprintf(other, sizeof(other), "%s.other", file);
	unlink(file);
	unlink(other);
	CHECK(dt_node_open(&n, 16, false) == 0, "dt_node_open");
	fd = file_open(file, O_RDWR | O_CREAT);
	fd2 = file_open(other, O_RDWR | O_CREAT);
	/* A new inode without O_CREAT: EAGAIN, as the kernel answers. */
	errno = 0;
	CHECK(!xrcd_open(n.ctx, fd, 0) && errno == EAGAIN,
	      "no O_CREAT on a new inode: errno %d, want EAGAIN", errno);
	x = xrcd_open(n.ctx, fd, O_CREAT | O_EXCL);
	CHECK(x, "O_CREAT|O_EXCL on a new inode: %s", strerror(errno));
	/* It exists now: O_EXCL is EINVAL (the kernel's errno, not EEXIST). */
	errno = 0;
	CHECK(!xrcd_open(n.ctx, fd, O_CREAT | O_EXCL) && errno == EINVAL,
	      "O_EXCL on an existing domain: errno %d, want EINVAL", errno);
	/* Another fd of the same file is the same inode, the same domain:
	 * an XRC_RECV QP made in one handle opens through the other. */
	pfd = file_open(file, O_RDONLY);
	x2 = xrcd_open(n.ctx, pfd, 0);
	CHECK(x2, "the same file through another fd: %s", strerror(errno));
	close(pfd);
	qp = tgt_create(n.ctx, x);
	CHECK(qp, "XRC_RECV QP: %s", strerror(errno));
	op = qp_open(n.ctx, x2, qp->qp_num, IBV_QPT_XRC_RECV);
	CHECK(op, "ibv_open_qp through the other handle: %s", strerror(errno));
	/* A domain of another file knows no such QP. */
	{
		struct ibv_xrcd *x3 = xrcd_open(n.ctx, fd2, O_CREAT);

		CHECK(x3, "a domain of another file: %s", strerror(errno));
		errno = 0;
		CHECK(!qp_open(n.ctx, x3, qp->qp_num, IBV_QPT_XRC_RECV) && errno == EINVAL,
		      "ibv_open_qp in another domain: errno %d, want EINVAL", errno);
		CHECK(xrcd_close(x3) == 0, "close the other domain");
	}
	/* The creator's handle goes; the opened one keeps the QP. */
	CHECK(ibv_destroy_qp(qp) == 0, "destroy the creator's handle");
	CHECK(to_init(op) == 0, "the QP after its creator's handle went: %s", strerror(errno));
	CHECK(ibv_destroy_qp(op) == 0, "destroy the opened handle");
	errno = 0;
	CHECK(!qp_open(n.ctx, x, 0x123456, IBV_QPT_XRC_RECV) && errno == EINVAL,
	      "ibv_open_qp after both handles went: errno %d", errno);
	/* An O_PATH fd proves nothing: EBADF, as the kernel's fdget(). */
	pfd = open(file, O_PATH | O_CLOEXEC);
	CHECK(pfd >= 0, "O_PATH open");
	errno = 0;
	CHECK(!xrcd_open(n.ctx, pfd, 0) && errno == EBADF,
	      "an O_PATH fd: errno %d, want EBADF", errno);
	close(pfd);
	/* The anonymous inode all eventfds share names nothing. */
	pfd = eventfd(0, EFD_CLOEXEC);
	CHECK(pfd >= 0, "eventfd");
	errno = 0;
	CHECK(!xrcd_open(n.ctx, pfd, O_CREAT) && errno == EINVAL,
	      "an eventfd: errno %d, want EINVAL", errno);
	close(pfd);
	/* A closed fd: EBADF. */
	bad = dup(fd);
	close(bad);
	errno = 0;
	CHECK(!xrcd_open(n.ctx, bad, O_CREAT) && errno == EBADF,
	      "a closed fd: errno %d, want EBADF", errno);
	/* The last holder gone, the domain is gone. */
	CHECK(xrcd_close(x2) == 0 && xrcd_close(x) == 0, "close the domain");
	errno = 0;
	CHECK(!xrcd_open(n.ctx, fd, 0) && errno == EAGAIN,
	      "the domain outlived its last holder: errno %d, want EAGAIN", errno);
	/* fd -1 still makes a domain of its own each time. */
	x = xrcd_open(n.ctx, -1, 0);
	x2 = xrcd_open(n.ctx, -1, 0);
	CHECK(x && x2, "domains without a file");
	qp = tgt_create(n.ctx, x);
	CHECK(qp, "XRC_RECV QP in a private domain");
	errno = 0;
	CHECK(!qp_open(n.ctx, x2, qp->qp_num, IBV_QPT_XRC_RECV) && errno == EINVAL,
	      "ibv_open_qp across private domains: errno %d", errno);
	CHECK(ibv_destroy_qp(qp) == 0 && xrcd_close(x) == 0 && xrcd_close(x2) == 0,
	      "teardown");
	close(fd);
	close(fd2);
	unlink(other);
	dt_node_close(&n);
	printf("rules: EAGAIN, EINVAL (O_EXCL, no such QP), EBADF (O_PATH, closed fd), "
	       "last holder frees\n");
	return 0;
}

static int mode_gone(const char *file)
{
	struct dt_node n;
	int fd;

	CHECK(dt_node_open(&n, 16, false) == 0, "dt_node_open");
	fd = file_open(file, O_RDONLY);
	errno = 0;
	CHECK(!xrcd_open(n.ctx, fd, 0) && errno == EAGAIN,
	      "the domain of %s still exists (errno %d, want EAGAIN)", file, errno);
	close(fd);
	dt_node_close(&n);
	return 0;
}

static int mode_foreign(const char *file)
{
	struct dt_node n;
	int fd;

	CHECK(dt_node_open(&n, 16, false) == 0, "dt_node_open");
	CHECK(open(file, O_RDONLY) < 0 && errno == EACCES,
	      "this user can open %s: the test needs one it cannot", file);
	fd = open(file, O_PATH | O_CLOEXEC);
	CHECK(fd >= 0, "O_PATH open of %s: %s", file, strerror(errno));
	errno = 0;
	CHECK(!xrcd_open(n.ctx, fd, 0) && errno == EBADF,
	      "another user's domain through an O_PATH fd: errno %d, want EBADF", errno);
	errno = 0;
	CHECK(!xrcd_open(n.ctx, fd, O_CREAT) && errno == EBADF,
	      "the same with O_CREAT: errno %d, want EBADF", errno);
	close(fd);
	dt_node_close(&n);
	printf("foreign: a file this user cannot open names no domain\n");
	return 0;
}

static int mode_hold(const char *file)
{
	struct dt_node n;
	struct ibv_xrcd *x;
	char buf[64];
	int fd;

	CHECK(dt_node_open(&n, 16, false) == 0, "dt_node_open");
	fd = file_open(file, O_RDWR | O_CREAT);
	x = xrcd_open(n.ctx, fd, O_CREAT);
	CHECK(x, "ibv_open_xrcd: %s", strerror(errno));
	printf("holding\n");
	fflush(stdout);
	while (fgets(buf, sizeof(buf), stdin))
		;
	CHECK(xrcd_close(x) == 0, "close");
	dt_node_close(&n);
	return 0;
}

static int mode_limit(const char *file)
{
	struct dt_node n;
	struct ibv_xrcd *x;
	struct ibv_qp *qp;
	int fd;

	unlink(file);
	CHECK(dt_node_open(&n, 16, false) == 0, "dt_node_open");
	fd = file_open(file, O_RDWR | O_CREAT);
	x = xrcd_open(n.ctx, fd, O_CREAT);
	CHECK(x, "ibv_open_xrcd: %s", strerror(errno));
	qp = tgt_create(n.ctx, x);
	CHECK(qp, "XRC_RECV QP: %s", strerror(errno));
	/* Each handle is charged to its holder's user. */
	errno = 0;
	CHECK(!qp_open(n.ctx, x, qp->qp_num, IBV_QPT_XRC_RECV) && errno == EDQUOT,
	      "a second handle past qps = 1: errno %d, want EDQUOT", errno);
	CHECK(ibv_destroy_qp(qp) == 0 && xrcd_close(x) == 0, "teardown");
	close(fd);
	dt_node_close(&n);
	printf("limit: an opened QP counts against the qps limit\n");
	return 0;
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*fn)(const char *file);
	} modes[] = {
		{ "share", mode_share }, { "rules", mode_rules }, { "gone", mode_gone },
		{ "foreign", mode_foreign }, { "hold", mode_hold }, { "limit", mode_limit },
	};

	if (argc != 3) {
		fprintf(stderr, "usage: xrc-share share|rules|gone|foreign|hold|limit FILE\n");
		return 99;
	}
	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++)
		if (strcmp(argv[1], modes[i].name) == 0) {
			role = modes[i].name;
			return modes[i].fn(argv[2]);
		}
	fprintf(stderr, "xrc-share: unknown mode %s\n", argv[1]);
	return 99;
}
