/* SPDX-License-Identifier: MIT */
/*
 * A large SEND moves in parts on the soft engine (drivers/soft/soft-req.c,
 * soft-resp.c: claims), run by send-parts.sh.
 *
 *   send-parts fair SIZE BIG_UID PP_UID   (as root)
 *	A child as PP_UID runs 8-byte round trips between two clients of
 *	its own; a child as BIG_UID sends BIG_SENDS SIZE-byte SENDs, one at
 *	a time, between two clients.  Passes if the ping-pong completed
 *	PP_ROUNDS round trips or more while one big SEND was in flight
 *	(between its first part landing and its completion): it is served
 *	between the parts.  A SEND moved whole by one engine step, as
 *	before, sees none.
 *
 *   send-parts cases SIZE
 *	Run as a user whose bandwidth is capped (the runner's config), so
 *	that a SIZE-byte SEND is in flight for a second or more: whole
 *	SENDs (RQ and SRQ, data and completions checked), and a SEND cut
 *	short in the middle by destroying or erroring either QP, or the
 *	sender of an SRQ's claimed receive: both sides complete once, with
 *	the status a NIC gives, and the receive it took is flushed, never
 *	delivered, nor handed to another QP of the SRQ.
 *
 * Exit 0 pass, 1 fail, 77 skip.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <grp.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/lib/datatest.h"

#define PP_ROUNDS	10
#define BIG_SENDS	4
/* How long a case waits for a SEND to be seen in the middle. */
#define MIDDLE_MS	20000

static int failures;

static void fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("FAIL: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	failures++;
}

static void die(const char *what)
{
	fprintf(stderr, "send-parts: %s: %s\n", what, strerror(errno));
	exit(1);
}

static int post_send(struct ibv_qp *qp, uint64_t wr_id, enum ibv_wr_opcode op, void *addr,
		     uint32_t len, uint32_t lkey, uint32_t imm)
{
	struct ibv_sge sge = { .addr = (uintptr_t)addr, .length = len, .lkey = lkey };
	struct ibv_send_wr wr = {
		.wr_id = wr_id, .sg_list = &sge, .num_sge = 1, .opcode = op,
		.send_flags = IBV_SEND_SIGNALED, .imm_data = htonl(imm),
	}, *bad;

	return ibv_post_send(qp, &wr, &bad);
}

/* ------------------------------------------------------------ fair */

struct shared {
	volatile uint64_t pp_rounds;	/* round trips the ping-pong completed */
	volatile int stop;
};

static void become(uid_t uid)
{
	if (setgroups(0, NULL) < 0 || setresgid(uid, uid, uid) < 0 ||
	    setresuid(uid, uid, uid) < 0)
		die("setresuid");
}

/*
 * Two clients of BIG_UID, BIG_SENDS SENDs of size from one to the other,
 * one at a time: how many round trips the ping-pong completed between the
 * first part of each landing and its completion.  Passes if one SEND saw
 * PP_ROUNDS or more: a SEND moved whole by one engine step sees none.
 */
static int big_stream(struct shared *sh, size_t size)
{
	struct dt_node a = { 0 }, b = { 0 };
	struct dt_buf src, dst;
	struct ibv_qp_cap cap = { .max_send_wr = 16, .max_recv_wr = 16,
				  .max_send_sge = 1, .max_recv_sge = 1 };
	struct ibv_qp *qa, *qb;
	struct ibv_wc wc;
	uint64_t most = 0, t0;

	if (dt_node_open(&a, 64, false) || dt_node_open(&b, 64, false) ||
	    dt_buf_alloc(&src, a.pd, size, DT_ACCESS_ALL) ||
	    dt_buf_alloc(&dst, b.pd, size, DT_ACCESS_ALL))
		die("big: setup");
	memset(src.p, 0x5a, size);
	qa = dt_qp_create(&a, IBV_QPT_RC, &cap, NULL, NULL, 1);
	qb = dt_qp_create(&b, IBV_QPT_RC, &cap, NULL, NULL, 1);
	if (!qa || !qb || dt_qp_connect(qa, qb, NULL))
		die("big: QPs");
	t0 = dt_now_ms();
	while (!sh->pp_rounds) {
		if (dt_now_ms() - t0 > 60000) {
			fail("the ping-pong did not start in 60 s");
			return 1;
		}
		usleep(1000);
	}
	for (int i = 0; i < BIG_SENDS; i++) {
		uint64_t r0, r1;

		dst.p[0] = 0;
		if (dt_post_recv(qb, i, dst.p, (uint32_t)size, dst.mr->lkey) ||
		    post_send(qa, i, IBV_WR_SEND, src.p, (uint32_t)size, src.mr->lkey, 0))
			die("big: post");
		t0 = dt_now_ms();
		while (!__atomic_load_n(&dst.p[0], __ATOMIC_ACQUIRE)) {
			if (dt_now_ms() - t0 > 120000) {
				fail("big SEND %d: nothing landed in 120 s", i);
				return 1;
			}
			usleep(20);
		}
		r0 = sh->pp_rounds;
		if (dt_poll(b.rcq, &wc, 1, 120000) != 1 || wc.status ||
		    wc.byte_len != size) {
			fail("big SEND %d did not arrive whole", i);
			return 1;
		}
		r1 = sh->pp_rounds;
		if (dt_poll(a.scq, &wc, 1, 10000) != 1 || wc.status) {
			fail("big SEND %d: no success at the sender", i);
			return 1;
		}
		printf("fair: big SEND %d: %" PRIu64 " round trips of 8 bytes while in flight\n",
		       i, r1 - r0);
		if (r1 - r0 > most)
			most = r1 - r0;
	}
	if (most < PP_ROUNDS)
		fail("at most %" PRIu64 " round trips completed while a big SEND was in "
		     "flight (%d wanted): it holds the engine whole", most, PP_ROUNDS);
	return failures ? 1 : 0;
}

/* Two clients of PP_UID, 8-byte round trips between them until stop. */
static int pp_run(struct shared *sh)
{
	struct dt_node a = { 0 }, b = { 0 };
	struct dt_buf ba, bb;
	struct ibv_qp_cap cap = { .max_send_wr = 16, .max_recv_wr = 16,
				  .max_send_sge = 1, .max_recv_sge = 1 };
	struct ibv_qp *qa, *qb;
	struct ibv_wc wc;

	if (dt_node_open(&a, 64, false) || dt_node_open(&b, 64, false) ||
	    dt_buf_alloc(&ba, a.pd, 4096, DT_ACCESS_ALL) ||
	    dt_buf_alloc(&bb, b.pd, 4096, DT_ACCESS_ALL))
		die("pp: setup");
	qa = dt_qp_create(&a, IBV_QPT_RC, &cap, NULL, NULL, 1);
	qb = dt_qp_create(&b, IBV_QPT_RC, &cap, NULL, NULL, 1);
	if (!qa || !qb || dt_qp_connect(qa, qb, NULL))
		die("pp: QPs");
	for (uint64_t i = 0; !sh->stop; i++) {
		if (dt_post_recv(qb, i, bb.p, 8, bb.mr->lkey) ||
		    dt_post_recv(qa, i, ba.p, 8, ba.mr->lkey) ||
		    post_send(qa, i, IBV_WR_SEND, ba.p + 64, 8, ba.mr->lkey, 0))
			die("pp: post");
		if (dt_poll(b.rcq, &wc, 1, 60000) != 1 || wc.status ||
		    post_send(qb, i, IBV_WR_SEND, bb.p + 64, 8, bb.mr->lkey, 0) ||
		    dt_poll(a.rcq, &wc, 1, 60000) != 1 || wc.status ||
		    dt_poll(a.scq, &wc, 1, 60000) != 1 || wc.status ||
		    dt_poll(b.scq, &wc, 1, 60000) != 1 || wc.status) {
			fail("ping-pong round trip %" PRIu64 " did not complete", i);
			return 1;
		}
		sh->pp_rounds++;
	}
	return 0;
}

static int run_fair(size_t size, uid_t big_uid, uid_t pp_uid)
{
	struct shared *sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE,
				 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	pid_t big, pp;
	int st, rc = 0;

	if (sh == MAP_FAILED)
		die("mmap");
	pp = fork();
	if (pp < 0)
		die("fork");
	if (!pp) {
		become(pp_uid);
		st = pp_run(sh);
		fflush(NULL);
		_exit(st);
	}
	big = fork();
	if (big < 0)
		die("fork");
	if (!big) {
		become(big_uid);
		st = big_stream(sh, size);
		fflush(NULL);
		_exit(st);
	}
	if (waitpid(big, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st))
		rc = 1;
	sh->stop = 1;
	if (waitpid(pp, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st)) {
		fail("the ping-pong failed (status %#x)", st);
		rc = 1;
	}
	return rc;
}

/* ------------------------------------------------------------ cases */

static size_t big;
static uint32_t seed = 6;
static struct dt_node na, nb;
static struct dt_buf src, dst, dst2, small;

/* A pair of RC QPs, a's sending to b's, b's receiving from srq if set. */
static void pair_of(struct ibv_qp **qa, struct ibv_qp **qb, struct ibv_srq *srq)
{
	struct ibv_qp_cap cap = { .max_send_wr = 16, .max_recv_wr = srq ? 0 : 16,
				  .max_send_sge = 1, .max_recv_sge = 1 };
	struct dt_qp_opts o = dt_qp_opts_default();

	/* A lost peer is given up on after about 0.5 s. */
	o.timeout = 14;
	o.retry_cnt = 7;
	*qa = dt_qp_create(&na, IBV_QPT_RC, &cap, NULL, NULL, 1);
	cap.max_recv_wr = srq ? 0 : 16;
	*qb = dt_qp_create(&nb, IBV_QPT_RC, &cap, NULL, srq, 1);
	if (!*qa || !*qb || dt_qp_connect(*qa, *qb, &o))
		die("QP pair");
}

/* Until the first byte of dst landed; false if the SEND completed whole
 * before (or nothing came). */
static bool wait_middle(struct ibv_cq *rcq, const char *name)
{
	uint64_t t0 = dt_now_ms();
	struct ibv_wc wc;

	while (!dst.p[0]) {
		if (dt_now_ms() - t0 > MIDDLE_MS) {
			fail("%s: nothing of the SEND landed in %d ms", name, MIDDLE_MS);
			return false;
		}
		usleep(1000);
	}
	/* Landed in part: it must not have completed. */
	if (dst.p[big - 1] || ibv_poll_cq(rcq, 1, &wc) > 0) {
		fail("%s: the SEND landed whole at once (it is not moved in parts)", name);
		return false;
	}
	return true;
}

/* Completions of cq for up to ms: how many had wr_id id and status. */
struct seen {
	int n[8][32];		/* by wr_id (0..7) and status */
};

static void collect(struct ibv_cq *cq, struct seen *s, int ms)
{
	uint64_t t0 = dt_now_ms();
	struct ibv_wc wc;

	while (dt_now_ms() - t0 < (uint64_t)ms) {
		int n = ibv_poll_cq(cq, 1, &wc);

		if (n < 0)
			die("poll");
		if (!n) {
			usleep(1000);
			continue;
		}
		if (wc.wr_id < 8 && wc.status < 32)
			s->n[wc.wr_id][wc.status]++;
		else
			fail("a completion with wr_id %" PRIu64 " status %d", wc.wr_id, wc.status);
	}
}

static int total(const struct seen *s, uint64_t id)
{
	int t = 0;

	for (int i = 0; i < 32; i++)
		t += s->n[id][i];
	return t;
}

static void expect_once(const struct seen *s, uint64_t id, int status, const char *what)
{
	if (total(s, id) != 1 || s->n[id][status] != 1) {
		fprintf(stderr, "  %s: wr_id %" PRIu64 ":", what, id);
		for (int i = 0; i < 32; i++)
			if (s->n[id][i])
				fprintf(stderr, " %dx %s", s->n[id][i],
					ibv_wc_status_str((enum ibv_wc_status)i));
		fputc('\n', stderr);
		fail("%s: wr_id %" PRIu64 " should complete once with %s", what, id,
		     ibv_wc_status_str((enum ibv_wc_status)status));
	}
}

static void reset_bufs(void)
{
	memset(dst.p, 0, big);
	memset(dst2.p, 0, big);
}

/* A whole SEND_WITH_IMM, then a small SEND into the next receive. */
static void case_whole(bool use_srq)
{
	const char *name = use_srq ? "whole SEND through an SRQ" : "whole SEND";
	struct ibv_srq_init_attr sa = { .attr = { .max_wr = 16, .max_sge = 1 } };
	struct ibv_srq *srq = NULL;
	struct ibv_qp *qa, *qb;
	struct ibv_wc wc[2];
	long bad;

	reset_bufs();
	if (use_srq && !(srq = ibv_create_srq(nb.pd, &sa)))
		die("srq");
	pair_of(&qa, &qb, srq);
	if ((srq ? dt_post_srq_recv(srq, 1, dst.p, (uint32_t)big, dst.mr->lkey) ||
		   dt_post_srq_recv(srq, 2, small.p, 4096, small.mr->lkey) :
		   dt_post_recv(qb, 1, dst.p, (uint32_t)big, dst.mr->lkey) ||
		   dt_post_recv(qb, 2, small.p, 4096, small.mr->lkey)) ||
	    post_send(qa, 1, IBV_WR_SEND_WITH_IMM, src.p, (uint32_t)big, src.mr->lkey, 0xabcd) ||
	    post_send(qa, 2, IBV_WR_SEND, src.p, 100, src.mr->lkey, 0))
		die("post");
	if (wait_middle(nb.rcq, name) &&
	    dt_poll(nb.rcq, wc, 2, 120000) != 2)
		fail("%s: the receives did not complete", name);
	else if (wc[0].wr_id != 1 || wc[0].status || wc[0].byte_len != big ||
		 !(wc[0].wc_flags & IBV_WC_WITH_IMM) || ntohl(wc[0].imm_data) != 0xabcd ||
		 wc[0].opcode != IBV_WC_RECV || wc[0].qp_num != qb->qp_num ||
		 wc[0].src_qp != qa->qp_num)
		fail("%s: first receive: wr_id %" PRIu64 " %s byte_len %u flags %#x imm %#x",
		     name, wc[0].wr_id, ibv_wc_status_str(wc[0].status), wc[0].byte_len,
		     wc[0].wc_flags, ntohl(wc[0].imm_data));
	else if (wc[1].wr_id != 2 || wc[1].status || wc[1].byte_len != 100)
		fail("%s: second receive: wr_id %" PRIu64 " %s byte_len %u", name,
		     wc[1].wr_id, ibv_wc_status_str(wc[1].status), wc[1].byte_len);
	else if ((bad = dt_verify(dst.p, big, seed)) >= 0)
		fail("%s: data differs at byte %ld", name, bad);
	if (dt_poll(na.scq, wc, 2, 10000) != 2 || wc[0].status || wc[1].status ||
	    wc[0].wr_id != 1 || wc[0].byte_len != big)
		fail("%s: the sender's completions", name);
	ibv_destroy_qp(qa);
	ibv_destroy_qp(qb);
	if (srq)
		ibv_destroy_srq(srq);
}

enum cut { CUT_DESTROY_SENDER, CUT_DESTROY_RECEIVER, CUT_ERR_SENDER, CUT_ERR_RECEIVER };

static const char *const cut_name[] = {
	"sender destroyed", "receiver destroyed", "sender to ERR", "receiver to ERR",
};

/* A SEND cut short by cut; a second receive is posted behind it. */
static void case_cut(enum cut cut)
{
	const char *name = cut_name[cut];
	struct ibv_qp_attr err = { .qp_state = IBV_QPS_ERR };
	struct ibv_qp *qa, *qb;
	struct seen r = { 0 }, s = { 0 };

	reset_bufs();
	pair_of(&qa, &qb, NULL);
	if (dt_post_recv(qb, 1, dst.p, (uint32_t)big, dst.mr->lkey) ||
	    dt_post_recv(qb, 2, dst2.p, (uint32_t)big, dst2.mr->lkey) ||
	    post_send(qa, 1, IBV_WR_SEND, src.p, (uint32_t)big, src.mr->lkey, 0))
		die("post");
	if (!wait_middle(nb.rcq, name))
		goto out;
	switch (cut) {
	case CUT_DESTROY_SENDER:
		ibv_destroy_qp(qa);
		qa = NULL;
		break;
	case CUT_DESTROY_RECEIVER:
		ibv_destroy_qp(qb);
		qb = NULL;
		break;
	case CUT_ERR_SENDER:
		ibv_modify_qp(qa, &err, IBV_QP_STATE);
		break;
	case CUT_ERR_RECEIVER:
		ibv_modify_qp(qb, &err, IBV_QP_STATE);
		break;
	}
	/* Long enough for a lost peer to be given up on too. */
	collect(nb.rcq, &r, 2000);
	collect(na.scq, &s, 200);
	switch (cut) {
	case CUT_DESTROY_SENDER:
		/* The claimed receive flushes; the receiver then finds its
		 * peer lost (ERR) and flushes the other one. */
		expect_once(&r, 1, IBV_WC_WR_FLUSH_ERR, name);
		expect_once(&r, 2, IBV_WC_WR_FLUSH_ERR, name);
		break;
	case CUT_DESTROY_RECEIVER:
		expect_once(&s, 1, IBV_WC_RETRY_EXC_ERR, name);
		if (total(&r, 1) || total(&r, 2))
			fail("%s: completions of a destroyed QP's receives", name);
		break;
	case CUT_ERR_SENDER:
		expect_once(&s, 1, IBV_WC_WR_FLUSH_ERR, name);
		expect_once(&r, 1, IBV_WC_WR_FLUSH_ERR, name);
		/* The other receive is still posted: nothing came for it. */
		if (total(&r, 2))
			fail("%s: the receive behind the claimed one completed", name);
		break;
	case CUT_ERR_RECEIVER:
		expect_once(&s, 1, IBV_WC_RETRY_EXC_ERR, name);
		expect_once(&r, 1, IBV_WC_WR_FLUSH_ERR, name);
		expect_once(&r, 2, IBV_WC_WR_FLUSH_ERR, name);
		break;
	}
	if (dst2.p[0])
		fail("%s: the SEND went on into the next receive", name);
out:
	if (qa)
		ibv_destroy_qp(qa);
	if (qb)
		ibv_destroy_qp(qb);
	/* What a destroyed QP left in the shared CQs. */
	collect(na.scq, &s, 50);
	collect(nb.rcq, &r, 50);
}

/*
 * An SRQ under two QPs: the big SEND to the first takes receive 1; small
 * SENDs to the second meanwhile get 2 and 3, never 1; the big SEND's
 * sender is destroyed: receive 1 is flushed once, and delivered never.
 */
static void case_srq_cut(void)
{
	const char *name = "SRQ, sender destroyed";
	struct ibv_srq_init_attr sa = { .attr = { .max_wr = 16, .max_sge = 1 } };
	struct ibv_srq *srq;
	struct ibv_qp *qa1, *qb1, *qa2, *qb2;
	struct seen r = { 0 };

	reset_bufs();
	if (!(srq = ibv_create_srq(nb.pd, &sa)))
		die("srq");
	pair_of(&qa1, &qb1, srq);
	pair_of(&qa2, &qb2, srq);
	if (dt_post_srq_recv(srq, 1, dst.p, (uint32_t)big, dst.mr->lkey) ||
	    dt_post_srq_recv(srq, 2, small.p, 2048, small.mr->lkey) ||
	    dt_post_srq_recv(srq, 3, small.p + 2048, 2048, small.mr->lkey) ||
	    post_send(qa1, 1, IBV_WR_SEND, src.p, (uint32_t)big, src.mr->lkey, 0))
		die("post");
	if (!wait_middle(nb.rcq, name))
		goto out;
	if (post_send(qa2, 2, IBV_WR_SEND, src.p, 64, src.mr->lkey, 0) ||
	    post_send(qa2, 3, IBV_WR_SEND, src.p, 64, src.mr->lkey, 0))
		die("post");
	{
		struct ibv_wc wc[2];

		if (dt_poll(nb.rcq, wc, 2, 10000) != 2)
			fail("%s: the small SENDs did not arrive beside the big one", name);
		else if (wc[0].wr_id != 2 || wc[1].wr_id != 3 || wc[0].status ||
			 wc[1].status || wc[0].qp_num != qb2->qp_num)
			fail("%s: the small SENDs got wr_id %" PRIu64 " and %" PRIu64
			     " (%s, %s)", name, wc[0].wr_id, wc[1].wr_id,
			     ibv_wc_status_str(wc[0].status), ibv_wc_status_str(wc[1].status));
	}
	ibv_destroy_qp(qa1);
	qa1 = NULL;
	collect(nb.rcq, &r, 2000);
	expect_once(&r, 1, IBV_WC_WR_FLUSH_ERR, name);
	if (total(&r, 2) || total(&r, 3))
		fail("%s: receives 2 and 3 completed twice", name);
out:
	if (qa1)
		ibv_destroy_qp(qa1);
	ibv_destroy_qp(qb1);
	ibv_destroy_qp(qa2);
	ibv_destroy_qp(qb2);
	ibv_destroy_srq(srq);
	collect(na.scq, &r, 50);
	collect(nb.rcq, &r, 50);
}

static int run_cases(size_t size)
{
	big = size;
	if (dt_node_open(&na, 256, false) || dt_node_open(&nb, 256, false) ||
	    dt_buf_alloc(&src, na.pd, size, DT_ACCESS_ALL) ||
	    dt_buf_alloc(&dst, nb.pd, size, DT_ACCESS_ALL) ||
	    dt_buf_alloc(&dst2, nb.pd, size, DT_ACCESS_ALL) ||
	    dt_buf_alloc(&small, nb.pd, 4096, DT_ACCESS_ALL))
		die("setup");
	/* wait_middle looks at the first and last bytes: neither 0. */
	do
		dt_fill(src.p, size, ++seed);
	while (!src.p[0] || !src.p[size - 1]);
	case_whole(false);
	case_whole(true);
	for (int c = CUT_DESTROY_SENDER; c <= CUT_ERR_RECEIVER; c++)
		case_cut(c);
	case_srq_cut();
	printf("cases: %d failure(s)\n", failures);
	return failures ? 1 : 0;
}

int main(int argc, char **argv)
{
	size_t size;

	if (argc < 3)
		goto usage;
	size = strtoull(argv[2], NULL, 0);
	if (size < 1 << 20 || size > 1u << 30)
		goto usage;
	if (!strcmp(argv[1], "fair") && argc == 5)
		return run_fair(size, (uid_t)atoi(argv[3]), (uid_t)atoi(argv[4]));
	if (!strcmp(argv[1], "cases") && argc == 3)
		return run_cases(size);
usage:
	fprintf(stderr, "usage: send-parts fair SIZE BIG_UID PP_UID | cases SIZE\n");
	return 99;
}
