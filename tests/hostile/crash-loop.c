/* SPDX-License-Identifier: MIT */
/*
 * Clients SIGKILLed at random points (tests/hostile/crash-loop.sh drives it).
 *
 *   crash-loop warmup         one churn round and one traffic exchange,
 *                             every child exiting normally
 *   crash-loop loop N SEED    N iterations; even ones fork a "churn" child
 *                             (create/destroy of PD, MR, comp channel, CQ,
 *                             QP to RTS, SRQ, AH in a loop), odd ones a
 *                             "traffic" child connected to an RC QP of
 *                             ours (send, RDMA write, RDMA read in a loop);
 *                             each child is SIGKILLed after a random delay
 *                             (1 us .. 8 ms, from SEED).
 *
 * After each traffic kill our QP must get IBV_EVENT_QP_FATAL and every
 * receive we had posted must complete (flushed or not) within WAIT_MS:
 * every wait here is bounded.  A child that exits by itself before it is
 * killed (its verbs failed) fails the run.  The figures go to stdout;
 * the shell checks the daemon side (objects, fds, mappings).
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tests/lib/datatest.h"
#include "tests/lib/rng.h"

#define WAIT_MS		10000	/* generous: a loaded 2-core machine */
#define BUF_SIZE	65536
#define MSG_SIZE	4096
#define PAR_RECVS	64	/* receives our QP keeps posted */
#define CHILD_DEPTH	8	/* sends a traffic child keeps in flight */

struct hello {
	uint32_t qpn;
	uint32_t rkey;
	uint64_t addr;
};

/* 1 us .. 8 ms, log-uniform: as many kills early in a verb as late. */
static unsigned int rand_delay_us(void)
{
	unsigned int base = 1u << (rng() % 13);

	return base + (unsigned int)(rng() % base);
}

static int read_full(int fd, void *p, size_t n, int ms)
{
	struct pollfd pf = { .fd = fd, .events = POLLIN };
	size_t done = 0;

	while (done < n) {
		ssize_t r;

		if (poll(&pf, 1, ms) != 1)
			return -1;
		r = read(fd, (char *)p + done, n - done);
		if (r <= 0)
			return -1;
		done += (size_t)r;
	}
	return 0;
}

static int write_full(int fd, const void *p, size_t n)
{
	return write(fd, p, n) == (ssize_t)n ? 0 : -1;
}

#define CHILD_CHECK(cond) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "crash-loop: child %d: line %d: %s (%s)\n", \
			(int)getpid(), __LINE__, #cond, strerror(errno)); \
		_exit(2);						\
	}								\
} while (0)

/* ------------------------------------------------------------ children */

/* One create/destroy sequence; 0 or -1. */
static int churn_once(int upfd)
{
	struct ibv_srq_init_attr sa = { .attr = { .max_wr = 16, .max_sge = 1 } };
	struct ibv_qp_cap cap = { .max_send_wr = 16, .max_recv_wr = 16,
				  .max_send_sge = 1, .max_recv_sge = 1 };
	struct dt_node n;
	struct dt_buf b;
	struct ibv_qp *qp;
	struct ibv_srq *srq;
	struct ibv_ah *ah;

	if (dt_node_open(&n, 64, true))
		return -1;
	if (upfd >= 0 && write_full(upfd, "u", 1))
		return -1;
	if (dt_buf_alloc(&b, n.pd, 8192, DT_ACCESS_ALL))
		return -1;
	qp = dt_qp_create(&n, IBV_QPT_RC, &cap, NULL, NULL, 1);
	if (!qp || dt_qp_to_rts(qp, &n.gid, qp->qp_num, NULL))
		return -1;
	srq = ibv_create_srq(n.pd, &sa);
	ah = dt_ah_create(n.pd, n.ctx);
	if (!srq || !ah || ibv_req_notify_cq(n.scq, 0))
		return -1;
	if (ibv_destroy_ah(ah) || ibv_destroy_srq(srq) || ibv_destroy_qp(qp))
		return -1;
	dt_buf_free(&b);
	dt_node_close(&n);
	return 0;
}

static void churn_child(int upfd, int rounds)
{
	for (int i = 0; rounds < 0 || i < rounds; i++)
		CHILD_CHECK(churn_once(i == 0 ? upfd : -1) == 0);
	_exit(0);
}

/*
 * Connect to the parent's QP (hello on rfd, our QPN back on wfd), wait
 * for "g", then send, write and read in a loop, CHILD_DEPTH in flight;
 * after ops operations (< 0: forever) exit 0.
 */
static void traffic_child(int rfd, int wfd, long ops)
{
	struct ibv_qp_cap cap = { .max_send_wr = 32, .max_recv_wr = 4,
				  .max_send_sge = 1, .max_recv_sge = 1 };
	struct hello h;
	struct dt_node n;
	struct dt_buf b;
	struct ibv_qp *qp;
	struct ibv_wc wc[CHILD_DEPTH];
	long posted = 0, done = 0;
	int got;
	char c;

	CHILD_CHECK(read_full(rfd, &h, sizeof(h), WAIT_MS) == 0);
	CHILD_CHECK(dt_node_open(&n, 64, false) == 0);
	CHILD_CHECK(dt_buf_alloc(&b, n.pd, BUF_SIZE, DT_ACCESS_ALL) == 0);
	qp = dt_qp_create(&n, IBV_QPT_RC, &cap, NULL, NULL, 1);
	CHILD_CHECK(qp);
	CHILD_CHECK(dt_qp_to_rts(qp, &n.gid, h.qpn, NULL) == 0);
	CHILD_CHECK(write_full(wfd, &qp->qp_num, sizeof(qp->qp_num)) == 0);
	CHILD_CHECK(read_full(rfd, &c, 1, WAIT_MS) == 0);
	while (ops < 0 || done < ops) {
		while (posted - done < CHILD_DEPTH && (ops < 0 || posted < ops)) {
			struct ibv_sge sge = {
				.addr = (uintptr_t)b.p +
					(uint64_t)(posted % (BUF_SIZE / MSG_SIZE)) * MSG_SIZE,
				.length = MSG_SIZE, .lkey = b.mr->lkey,
			};
			struct ibv_send_wr wr = {
				.wr_id = (uint64_t)posted, .sg_list = &sge,
				.num_sge = 1,
			}, *bad;
			static const enum ibv_wr_opcode ops3[] = {
				IBV_WR_SEND, IBV_WR_RDMA_WRITE, IBV_WR_RDMA_READ,
			};

			wr.opcode = ops3[posted % 3];
			if (wr.opcode != IBV_WR_SEND) {
				wr.wr.rdma.remote_addr = h.addr + (uint64_t)
					(posted % (BUF_SIZE / MSG_SIZE)) * MSG_SIZE;
				wr.wr.rdma.rkey = h.rkey;
			}
			CHILD_CHECK(ibv_post_send(qp, &wr, &bad) == 0);
			posted++;
		}
		got = dt_poll(n.scq, wc, 1, WAIT_MS);
		CHILD_CHECK(got == 1);
		CHILD_CHECK(wc[0].status == IBV_WC_SUCCESS);
		done++;
	}
	CHILD_CHECK(ibv_destroy_qp(qp) == 0);
	dt_buf_free(&b);
	dt_node_close(&n);
	_exit(0);
}

/* ------------------------------------------------------------ parent */

struct par {
	struct dt_node n;
	struct dt_buf b;
	long kills_churn, kills_traffic, kills_churn_early;
	long fatal_events, recv_ok, recv_flushed;
	uint64_t ms_churn, ms_traffic, ms_fallout;
	int failures;
};

#define FAIL(p, ...) do {						\
	fprintf(stderr, "crash-loop: FAIL: " __VA_ARGS__);		\
	fputc('\n', stderr);						\
	(p)->failures++;						\
} while (0)

/* Kill pid (unless kill is false) and reap it; 0 if it died of our kill
 * (or exited 0 when not killed). */
static int reap(struct par *p, pid_t pid, bool do_kill)
{
	int st;

	if (do_kill)
		kill(pid, SIGKILL);
	if (waitpid(pid, &st, 0) != pid) {
		FAIL(p, "waitpid: %s", strerror(errno));
		return -1;
	}
	if (do_kill && WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL)
		return 0;
	if (!do_kill && WIFEXITED(st) && WEXITSTATUS(st) == 0)
		return 0;
	FAIL(p, "child %d %s %d before it was killed", (int)pid,
	     WIFEXITED(st) ? "exited" : "died of signal",
	     WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
	return -1;
}

static void iter_churn(struct par *p, bool do_kill)
{
	int up[2];
	bool wait_up = rng() & 1;
	unsigned int delay = rand_delay_us();
	pid_t pid;
	char c;

	if (pipe(up)) {
		FAIL(p, "pipe: %s", strerror(errno));
		return;
	}
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0) {
		FAIL(p, "fork: %s", strerror(errno));
		close(up[0]);
		close(up[1]);
		return;
	}
	if (pid == 0) {
		close(up[0]);
		churn_child(up[1], do_kill ? -1 : 1);
	}
	close(up[1]);
	if (do_kill) {
		/* Half the kills land anywhere, half once the device is open. */
		if (wait_up && read_full(up[0], &c, 1, WAIT_MS))
			FAIL(p, "churn child %d never opened the device", (int)pid);
		if (!wait_up)
			p->kills_churn_early++;
		usleep(delay);
	}
	if (reap(p, pid, do_kill) == 0 && do_kill)
		p->kills_churn++;
	close(up[0]);
}

/* Post one receive of MSG_SIZE at slot i of our buffer. */
static int par_post_recv(struct par *p, struct ibv_qp *qp, uint64_t i)
{
	return dt_post_recv(qp, i, p->b.p + (i % (BUF_SIZE / MSG_SIZE)) * MSG_SIZE,
			    MSG_SIZE, p->b.mr->lkey);
}

/*
 * After the peer died: QP_FATAL on our QP and every outstanding receive
 * completed, within WAIT_MS.
 */
static void wait_fallout(struct par *p, struct ibv_qp *qp, long outstanding)
{
	uint64_t end = dt_now_ms() + WAIT_MS;
	struct pollfd pf = { .fd = p->n.ctx->async_fd, .events = POLLIN };
	uint64_t t0 = dt_now_ms();
	bool fatal = false;
	struct ibv_wc wc[16];

	while ((!fatal || outstanding > 0) && dt_now_ms() < end) {
		int got = ibv_poll_cq(p->n.rcq, 16, wc);

		if (got < 0) {
			FAIL(p, "ibv_poll_cq: %d", got);
			return;
		}
		for (int i = 0; i < got; i++) {
			outstanding--;
			if (wc[i].status == IBV_WC_SUCCESS)
				p->recv_ok++;
			else
				p->recv_flushed++;
		}
		if (!fatal && poll(&pf, 1, got ? 0 : 1) == 1) {
			struct ibv_async_event ev;

			if (ibv_get_async_event(p->n.ctx, &ev)) {
				FAIL(p, "ibv_get_async_event: %s", strerror(errno));
				return;
			}
			if (ev.event_type == IBV_EVENT_QP_FATAL &&
			    ev.element.qp == qp) {
				fatal = true;
				p->fatal_events++;
			}
			ibv_ack_async_event(&ev);
		}
	}
	p->ms_fallout += dt_now_ms() - t0;
	if (!fatal)
		FAIL(p, "no IBV_EVENT_QP_FATAL within %d ms of the peer's death",
		     WAIT_MS);
	if (outstanding > 0)
		FAIL(p, "%ld receives still outstanding %d ms after the peer's death",
		     outstanding, WAIT_MS);
}

static void iter_traffic(struct par *p, bool do_kill)
{
	struct ibv_qp_cap cap = { .max_send_wr = 4, .max_recv_wr = PAR_RECVS,
				  .max_send_sge = 1, .max_recv_sge = 1 };
	unsigned int delay = rand_delay_us();
	struct dt_qp_opts o = dt_qp_opts_default();
	int p2c[2], c2p[2];
	struct ibv_qp *qp;
	struct hello h;
	uint32_t cqpn;
	uint64_t next = 0, end;
	long outstanding = 0;
	pid_t pid;

	/* A dead peer is noticed after the ACK timeout times retry_cnt + 1
	 * (drivers/soft/soft-qp.c): 8 ms * 3 here, 50 ms as the engine rounds it,
	 * not the half second of the defaults. */
	o.timeout = 11;
	o.retry_cnt = 2;
	qp = dt_qp_create(&p->n, IBV_QPT_RC, &cap, NULL, NULL, 0);
	if (!qp) {
		FAIL(p, "our QP: %s", strerror(errno));
		return;
	}
	if (pipe(p2c) || pipe(c2p)) {
		FAIL(p, "pipe: %s", strerror(errno));
		ibv_destroy_qp(qp);
		return;
	}
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid == 0) {
		close(p2c[1]);
		close(c2p[0]);
		traffic_child(p2c[0], c2p[1], do_kill ? -1 : 300);
	}
	close(p2c[0]);
	close(c2p[1]);
	if (pid < 0) {
		FAIL(p, "fork: %s", strerror(errno));
		goto out;
	}
	h.qpn = qp->qp_num;
	h.rkey = p->b.mr->rkey;
	h.addr = (uintptr_t)p->b.p;
	if (write_full(p2c[1], &h, sizeof(h)) ||
	    read_full(c2p[0], &cqpn, sizeof(cqpn), WAIT_MS) ||
	    dt_qp_to_rts(qp, &p->n.gid, cqpn, &o)) {
		FAIL(p, "connecting to traffic child %d", (int)pid);
		reap(p, pid, true);
		goto out;
	}
	for (; outstanding < PAR_RECVS; outstanding++)
		if (par_post_recv(p, qp, next++)) {
			FAIL(p, "post_recv: %s", strerror(errno));
			break;
		}
	if (write_full(p2c[1], "g", 1))
		FAIL(p, "go: %s", strerror(errno));
	/* Serve receives until the kill (or the child's normal end). */
	end = dt_now_ms() + (do_kill ? 0 : WAIT_MS);
	{
		struct timespec t0;

		clock_gettime(CLOCK_MONOTONIC, &t0);
		for (;;) {
			struct ibv_wc wc[16];
			struct timespec t;
			int got = ibv_poll_cq(p->n.rcq, 16, wc);

			if (got < 0) {
				FAIL(p, "ibv_poll_cq: %d", got);
				break;
			}
			for (int i = 0; i < got; i++) {
				outstanding--;
				if (wc[i].status != IBV_WC_SUCCESS) {
					FAIL(p, "receive %" PRIu64 " failed (%s) while the peer lived",
					     wc[i].wr_id,
					     ibv_wc_status_str(wc[i].status));
					continue;
				}
				p->recv_ok++;
				if (par_post_recv(p, qp, next++) == 0)
					outstanding++;
			}
			if (!do_kill) {
				/* 300 ops, a third of them sends: 100 receives. */
				if (p->recv_ok >= 100 || dt_now_ms() > end)
					break;
				continue;
			}
			clock_gettime(CLOCK_MONOTONIC, &t);
			if ((uint64_t)(t.tv_sec - t0.tv_sec) * 1000000u +
			    (uint64_t)(t.tv_nsec - t0.tv_nsec) / 1000 >= delay)
				break;
		}
	}
	if (reap(p, pid, do_kill) == 0 && do_kill)
		p->kills_traffic++;
	if (do_kill)
		wait_fallout(p, qp, outstanding);
	else if (p->recv_ok < 100)
		FAIL(p, "warmup traffic: %ld receives of 100", p->recv_ok);
out:
	close(p2c[1]);
	close(c2p[0]);
	/* Whatever is left on the CQ belongs to this QP. */
	{
		struct ibv_wc wc[16];

		ibv_destroy_qp(qp);
		while (ibv_poll_cq(p->n.rcq, 16, wc) > 0)
			;
	}
}

int main(int argc, char **argv)
{
	struct par p;
	long iters = 0;
	uint64_t seed = 1;
	bool warmup;
	uint64_t t0;

	if (argc == 2 && !strcmp(argv[1], "warmup")) {
		warmup = true;
	} else if (argc == 4 && !strcmp(argv[1], "loop")) {
		warmup = false;
		iters = strtol(argv[2], NULL, 10);
		seed = strtoull(argv[3], NULL, 10);
	} else {
		fprintf(stderr, "usage: crash-loop warmup | crash-loop loop ITERATIONS SEED\n");
		return 2;
	}
	rng_state = seed ? seed : 1;
	memset(&p, 0, sizeof(p));
	if (dt_node_open(&p.n, 4 * PAR_RECVS, false) ||
	    dt_buf_alloc(&p.b, p.n.pd, BUF_SIZE, DT_ACCESS_ALL)) {
		fprintf(stderr, "crash-loop: cannot open our client\n");
		return 1;
	}
	t0 = dt_now_ms();
	if (warmup) {
		iter_churn(&p, false);
		iter_traffic(&p, false);
	}
	for (long i = 0; i < iters; i++) {
		uint64_t t = dt_now_ms();

		if (i % 2) {
			iter_traffic(&p, true);
			p.ms_traffic += dt_now_ms() - t;
		} else {
			iter_churn(&p, true);
			p.ms_churn += dt_now_ms() - t;
		}
	}
	dt_buf_free(&p.b);
	dt_node_close(&p.n);
	if (!warmup)
		printf("crash-loop: seed %" PRIu64 ": %ld iterations in %" PRIu64 " ms: %ld kills during create/destroy (%ld of them at any point, %ld once the device was open), %ld kills during traffic; the surviving peer saw %ld QP_FATAL events, %ld receives done, %ld flushed; %d failures (ms in churn %" PRIu64 ", traffic %" PRIu64 ", of which waiting for the fallout %" PRIu64 ")\n",
		       seed, iters, dt_now_ms() - t0,
		       p.kills_churn, p.kills_churn_early,
		       p.kills_churn - p.kills_churn_early,
		       p.kills_traffic, p.fatal_events, p.recv_ok,
		       p.recv_flushed, p.failures, p.ms_churn, p.ms_traffic,
		       p.ms_fallout);
	return p.failures ? 1 : 0;
}
