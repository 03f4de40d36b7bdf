/* SPDX-License-Identifier: MIT */
/*
 * A client of a nested broker and a client of the broker beneath it talk
 * RC to each other (tests/integration/verbs-nest.sh).  INNER_SOCK names the inner
 * daemon (the verbs driver over the outer one), OUTER_SOCK the outer.
 *
 * A (inner) and B (outer) exchange QP numbers, GIDs, addresses and rkeys
 * over a socketpair, connect, and move data both ways: SEND, WRITE with
 * the peer's rkey, READ, compare-and-swap, fetch-and-add.  That only
 * works if the inner client sees the real QP numbers and keys and its
 * addresses are the IOVAs of the real MRs.  Then C, another client of
 * the inner daemon, tries A's rkey through a QP of its own and must get
 * IBV_WC_REM_ACCESS_ERR with A's memory untouched; and A posts a WQE
 * with an lkey that is not its own, which the inner daemon refuses
 * (IBV_WC_LOC_PROT_ERR) without the device ever seeing it.  Last, C's
 * registration of shared memory, which the library cannot re-back, is
 * refused with EOPNOTSUPP (a NIC cannot reach it through /proc/PID/mem).
 *
 * Exit 0 if all held, 1 otherwise.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/lib/datatest.h"

#define BUF	(64 * 1024)
#define OFF_SEND	0		/* A's SEND lands here at B */
#define OFF_WRITE	4096		/* A WRITEs here at B */
#define OFF_READ	8192		/* A READs from here at B */
#define OFF_ATOMIC	12288		/* A's CAS/FAA target at B */
#define OFF_BACK	16384		/* B WRITEs here at A */

struct peer {
	uint32_t qpn;
	union ibv_gid gid;
	uint64_t addr;
	uint32_t rkey;
};

static const char *who = "?";

#define FAIL(...) do { fprintf(stderr, "verbs-mixed %s: ", who); \
	fprintf(stderr, __VA_ARGS__); fputc('\n', stderr); return 1; } while (0)

/* Post one send WR and wait for its completion with the wanted status. */
static int post_wait(struct ibv_qp *qp, struct ibv_cq *cq, struct ibv_send_wr *wr,
		     enum ibv_wc_status want, struct ibv_wc *out)
{
	char why[256];

	if (dt_post_wait(qp, cq, wr, want, out, why, sizeof(why)))
		FAIL("%s", why);
	return 0;
}

static int open_side(struct dt_node *n, struct dt_buf *b, struct ibv_qp **qp,
		     struct peer *me)
{
	struct ibv_qp_cap cap = { .max_send_wr = 16, .max_recv_wr = 16,
				  .max_send_sge = 2, .max_recv_sge = 2 };

	if (dt_node_open(n, 64, false))
		FAIL("cannot open a device");
	if (dt_buf_alloc(b, n->pd, BUF, DT_ACCESS_ALL))
		FAIL("cannot register %d bytes: %s", BUF, strerror(errno));
	*qp = dt_qp_create(n, IBV_QPT_RC, &cap, NULL, NULL, 0);
	if (!*qp)
		FAIL("cannot create an RC QP: %s", strerror(errno));
	me->qpn = (*qp)->qp_num;
	me->gid = n->gid;
	me->addr = (uintptr_t)b->p;
	me->rkey = b->mr->rkey;
	return 0;
}

/* A: a client of the inner daemon. */
static int side_a(int fd_b, int fd_c)
{
	struct dt_qp_opts o = dt_qp_opts_default();
	struct dt_node n;
	struct dt_buf b;
	struct ibv_qp *qp;
	struct peer me, peer;
	struct ibv_sge sge;
	struct ibv_send_wr wr;
	struct ibv_wc wc;
	uint64_t *res;

	who = "A (inner)";
	if (open_side(&n, &b, &qp, &me))
		return 1;
	if (dt_xchg(fd_b, &me, &peer, sizeof(me)) || dt_qp_to_rts(qp, &peer.gid, peer.qpn, &o))
		FAIL("cannot connect to B: %s", strerror(errno));
	/* C gets our address and rkey, to try them from a QP of its own. */
	if (dt_xchg(fd_c, &me, NULL, sizeof(me)))
		FAIL("cannot talk to C");
	dt_fill(b.p, BUF, 1);
	if (dt_sync(fd_b))			/* 1: B has posted a receive */
		FAIL("lost B");

	/* SEND */
	sge = (struct ibv_sge){ (uintptr_t)b.p, 256, b.mr->lkey };
	wr = (struct ibv_send_wr){ .wr_id = 1, .sg_list = &sge, .num_sge = 1,
				   .opcode = IBV_WR_SEND };
	if (post_wait(qp, n.scq, &wr, IBV_WC_SUCCESS, &wc) || wc.opcode != IBV_WC_SEND)
		FAIL("SEND");
	/* WRITE with B's rkey */
	sge = (struct ibv_sge){ (uintptr_t)b.p + 1024, 2048, b.mr->lkey };
	wr = (struct ibv_send_wr){ .wr_id = 2, .sg_list = &sge, .num_sge = 1,
				   .opcode = IBV_WR_RDMA_WRITE,
				   .wr.rdma = { peer.addr + OFF_WRITE, peer.rkey } };
	if (post_wait(qp, n.scq, &wr, IBV_WC_SUCCESS, NULL))
		FAIL("WRITE");
	/* READ from B: B filled OFF_READ with seed 2 */
	sge = (struct ibv_sge){ (uintptr_t)b.p + 20000, 4096, b.mr->lkey };
	wr = (struct ibv_send_wr){ .wr_id = 3, .sg_list = &sge, .num_sge = 1,
				   .opcode = IBV_WR_RDMA_READ,
				   .wr.rdma = { peer.addr + OFF_READ, peer.rkey } };
	if (post_wait(qp, n.scq, &wr, IBV_WC_SUCCESS, &wc) || wc.byte_len != 4096)
		FAIL("READ");
	if (dt_verify(b.p + 20000, 4096, 2) >= 0)
		FAIL("READ brought wrong data (offset %ld)", dt_verify(b.p + 20000, 4096, 2));
	/* CAS 7 -> 42, then FAA +5: B's word was 7 */
	res = (uint64_t *)(b.p + 30000 - 30000 % 8);
	*res = 0;
	sge = (struct ibv_sge){ (uintptr_t)res, 8, b.mr->lkey };
	wr = (struct ibv_send_wr){ .wr_id = 4, .sg_list = &sge, .num_sge = 1,
				   .opcode = IBV_WR_ATOMIC_CMP_AND_SWP,
				   .wr.atomic = { peer.addr + OFF_ATOMIC, 7, 42, peer.rkey } };
	if (post_wait(qp, n.scq, &wr, IBV_WC_SUCCESS, NULL) || *res != 7)
		FAIL("CAS returned %" PRIu64 ", not 7", *res);
	wr = (struct ibv_send_wr){ .wr_id = 5, .sg_list = &sge, .num_sge = 1,
				   .opcode = IBV_WR_ATOMIC_FETCH_AND_ADD,
				   .wr.atomic = { peer.addr + OFF_ATOMIC, 5, 0, peer.rkey } };
	if (post_wait(qp, n.scq, &wr, IBV_WC_SUCCESS, NULL) || *res != 42)
		FAIL("FAA returned %" PRIu64 ", not 42", *res);
	memset(b.p + OFF_BACK, 0, 8192);
	if (dt_sync(fd_b))			/* 2: B checks, then WRITEs and READs us */
		FAIL("lost B");
	if (dt_sync(fd_b))			/* 3: B is done */
		FAIL("lost B");
	if (dt_verify(b.p + OFF_BACK, 4096, 3) >= 0)
		FAIL("B's WRITE to our IOVA did not land (offset %ld)",
		     dt_verify(b.p + OFF_BACK, 4096, 3));

	/* C tries our rkey; our memory must not change. */
	memset(b.p + OFF_BACK, 0x5a, 4096);
	if (dt_sync(fd_c) || dt_sync(fd_c))
		FAIL("lost C");
	for (int i = 0; i < 4096; i++)
		if (b.p[OFF_BACK + i] != 0x5a)
			FAIL("C wrote into our memory with our rkey (byte %d)", i);

	/* An lkey that is not ours: refused by the inner daemon. */
	sge = (struct ibv_sge){ (uintptr_t)b.p, 64, b.mr->lkey ^ 0x5a5a00 };
	wr = (struct ibv_send_wr){ .wr_id = 6, .sg_list = &sge, .num_sge = 1,
				   .opcode = IBV_WR_RDMA_WRITE,
				   .wr.rdma = { peer.addr + OFF_WRITE, peer.rkey } };
	if (post_wait(qp, n.scq, &wr, IBV_WC_LOC_PROT_ERR, NULL))
		FAIL("a WRITE with a bad lkey");
	if (dt_sync(fd_b))			/* 4: B checks nothing came */
		FAIL("lost B");
	ibv_destroy_qp(qp);
	dt_buf_free(&b);
	dt_node_close(&n);
	return 0;
}

/* B: a client of the outer daemon. */
static int side_b(int fd_a)
{
	struct dt_qp_opts o = dt_qp_opts_default();
	struct dt_node n;
	struct dt_buf b;
	struct ibv_qp *qp;
	struct peer me, peer;
	struct ibv_sge sge;
	struct ibv_send_wr wr;
	struct ibv_wc wc;
	uint64_t *word;
	char s[160];

	who = "B (outer)";
	if (open_side(&n, &b, &qp, &me))
		return 1;
	if (dt_xchg(fd_a, &me, &peer, sizeof(me)) || dt_qp_to_rts(qp, &peer.gid, peer.qpn, &o))
		FAIL("cannot connect to A: %s", strerror(errno));
	memset(b.p, 0, BUF);
	dt_fill(b.p + OFF_READ, 4096, 2);
	word = (uint64_t *)(b.p + OFF_ATOMIC);
	*word = 7;
	if (dt_post_recv(qp, 100, b.p + OFF_SEND, 1024, b.mr->lkey))
		FAIL("ibv_post_recv");
	if (dt_sync(fd_a))			/* 1 */
		FAIL("lost A");
	if (dt_poll(n.rcq, &wc, 1, DT_TIMEOUT_MS) != 1)
		FAIL("no receive completion for A's SEND");
	if (wc.status != IBV_WC_SUCCESS || wc.wr_id != 100 || wc.byte_len != 256 ||
	    wc.opcode != IBV_WC_RECV || wc.src_qp != peer.qpn || wc.qp_num != qp->qp_num)
		FAIL("receive: %s", dt_wc_str(&wc, s, sizeof(s)));
	if (dt_sync(fd_a))			/* 2: A's WRITE/READ/atomics are done */
		FAIL("lost A");
	/* A filled its buffer with seed 1: the SEND took bytes 0..255. */
	{
		uint8_t want[BUF];

		dt_fill(want, BUF, 1);
		if (memcmp(b.p + OFF_SEND, want, 256))
			FAIL("SEND data differ");
		if (memcmp(b.p + OFF_WRITE, want + 1024, 2048))
			FAIL("WRITE data differ");
	}
	if (*word != 47)
		FAIL("atomics left %" PRIu64 ", not 47", *word);
	/* Our turn: WRITE into A's memory at A's address, READ it back. */
	dt_fill(b.p + 40000, 4096, 3);
	sge = (struct ibv_sge){ (uintptr_t)b.p + 40000, 4096, b.mr->lkey };
	wr = (struct ibv_send_wr){ .wr_id = 7, .sg_list = &sge, .num_sge = 1,
				   .opcode = IBV_WR_RDMA_WRITE,
				   .wr.rdma = { peer.addr + OFF_BACK, peer.rkey } };
	if (post_wait(qp, n.scq, &wr, IBV_WC_SUCCESS, NULL))
		FAIL("WRITE to A");
	memset(b.p + 50000, 0, 4096);
	sge = (struct ibv_sge){ (uintptr_t)b.p + 50000, 4096, b.mr->lkey };
	wr = (struct ibv_send_wr){ .wr_id = 8, .sg_list = &sge, .num_sge = 1,
				   .opcode = IBV_WR_RDMA_READ,
				   .wr.rdma = { peer.addr + OFF_BACK, peer.rkey } };
	if (post_wait(qp, n.scq, &wr, IBV_WC_SUCCESS, NULL))
		FAIL("READ from A");
	if (dt_verify(b.p + 50000, 4096, 3) >= 0)
		FAIL("READ from A brought wrong data");
	if (dt_sync(fd_a))			/* 3 */
		FAIL("lost A");
	if (dt_sync(fd_a))			/* 4: A's bad-lkey WRITE was refused */
		FAIL("lost A");
	{
		uint8_t want[BUF];

		dt_fill(want, BUF, 1);
		if (memcmp(b.p + OFF_WRITE, want + 1024, 2048))
			FAIL("something changed our WRITE area after the bad lkey");
	}
	ibv_destroy_qp(qp);
	dt_buf_free(&b);
	dt_node_close(&n);
	return 0;
}

/* C: another client of the inner daemon, with A's rkey. */
static int side_c(int fd_a)
{
	struct dt_qp_opts o = dt_qp_opts_default();
	struct ibv_qp_cap cap = { .max_send_wr = 4, .max_recv_wr = 4,
				  .max_send_sge = 1, .max_recv_sge = 1 };
	struct dt_node n;
	struct dt_buf b;
	struct ibv_qp *q1, *q2;
	struct peer a;
	struct ibv_sge sge;
	struct ibv_send_wr wr;

	who = "C (inner)";
	if (dt_node_open(&n, 16, false) || dt_buf_alloc(&b, n.pd, 4096, DT_ACCESS_ALL))
		FAIL("cannot open a device");
	q1 = dt_qp_create(&n, IBV_QPT_RC, &cap, NULL, NULL, 0);
	q2 = dt_qp_create(&n, IBV_QPT_RC, &cap, NULL, NULL, 0);
	if (!q1 || !q2 || dt_qp_connect(q1, q2, &o))
		FAIL("cannot connect two QPs of its own");
	if (dt_xchg(fd_a, NULL, &a, sizeof(a)) || dt_sync(fd_a))
		FAIL("lost A");
	memset(b.p, 0x77, 4096);
	sge = (struct ibv_sge){ (uintptr_t)b.p, 4096, b.mr->lkey };
	wr = (struct ibv_send_wr){ .wr_id = 9, .sg_list = &sge, .num_sge = 1,
				   .opcode = IBV_WR_RDMA_WRITE,
				   .wr.rdma = { a.addr + OFF_BACK, a.rkey } };
	if (post_wait(q1, n.scq, &wr, IBV_WC_REM_ACCESS_ERR, NULL))
		FAIL("a WRITE with another client's rkey");
	if (dt_sync(fd_a))
		FAIL("lost A");
	/* Shared memory cannot be re-backed: no NIC can reach it. */
	{
		void *shm = mmap(NULL, 65536, PROT_READ | PROT_WRITE,
				 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
		struct ibv_mr *mr;

		if (shm == MAP_FAILED)
			FAIL("mmap: %s", strerror(errno));
		errno = 0;
		mr = ibv_reg_mr(n.pd, shm, 65536, IBV_ACCESS_LOCAL_WRITE);
		if (mr || errno != EOPNOTSUPP)
			FAIL("registering shared memory on a verbs device: %s, errno %d, "
			     "not EOPNOTSUPP", mr ? "it worked" : "failed", errno);
		munmap(shm, 65536);
	}
	ibv_destroy_qp(q1);
	ibv_destroy_qp(q2);
	dt_buf_free(&b);
	dt_node_close(&n);
	return 0;
}

static pid_t spawn(const char *sock, int (*fn)(int, int), int fd1, int fd2)
{
	pid_t pid = fork();

	if (pid == 0) {
		setenv("RDMABROKER_SOCKET", sock, 1);
		_exit(fn(fd1, fd2));
	}
	return pid;
}

static int run_b(int fd, int unused)
{
	(void)unused;
	return side_b(fd);
}

static int run_c(int fd, int unused)
{
	(void)unused;
	return side_c(fd);
}

int main(void)
{
	const char *inner = getenv("INNER_SOCK"), *outer = getenv("OUTER_SOCK");
	int ab[2], ac[2], fails = 0, st;
	pid_t pa, pb, pc;

	if (!inner || !outer) {
		fprintf(stderr, "verbs-mixed: set INNER_SOCK and OUTER_SOCK\n");
		return 1;
	}
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, ab) || socketpair(AF_UNIX, SOCK_STREAM, 0, ac))
		return 1;
	pa = spawn(inner, side_a, ab[0], ac[0]);
	pb = spawn(outer, run_b, ab[1], -1);
	pc = spawn(inner, run_c, ac[1], -1);
	close(ab[0]);
	close(ab[1]);
	close(ac[0]);
	close(ac[1]);
	for (pid_t p; (p = wait(&st)) > 0;) {
		if (!WIFEXITED(st) || WEXITSTATUS(st)) {
			fprintf(stderr, "verbs-mixed: %s failed\n",
				p == pa ? "A" : p == pb ? "B" : p == pc ? "C" : "?");
			fails++;
		}
	}
	if (pa < 0 || pb < 0 || pc < 0)
		fails++;
	printf("verbs-mixed: %s\n", fails ? "FAIL" : "SEND, WRITE, READ, CAS, FAA both ways; "
	       "another client's rkey, a foreign lkey and shared memory refused");
	return fails ? 1 : 0;
}
