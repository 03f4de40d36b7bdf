/* SPDX-License-Identifier: MIT */
/*
 * The daemon killed under load, restarted, and stopped with SIGTERM
 * (tests/hostile/restart.sh drives it):
 *
 *   restart ROUNDS SEED LOG -- DAEMON [ARGS...]
 *
 * This program runs the daemon itself (its output appended to LOG, with
 * NOTIFY_SOCKET set to a socket of ours).  Each round: four clients
 * (contexts A and B joined by an RC QP pair, A with an SRQ, an AH and a
 * completion channel; C for control verbs; D that only polls an empty CQ,
 * which must fail within WAIT_MS), a thread moving data from A to
 * B (send, RDMA write, RDMA read) and a thread making and destroying
 * objects on C; then, after a random delay, the daemon is SIGKILLed.
 * Then, every wait bounded:
 *   - every context reads IBV_EVENT_DEVICE_FATAL from its async fd;
 *   - both threads stop on an error (a failed post, a failed poll, a
 *     failed verb), not on a hang, and not before the kill;
 *   - on A, every verb family fails: queries, create/alloc/reg return NULL
 *     or an errno, modify and query of a QP and an SRQ, post send/recv/SRQ
 *     recv, req_notify, poll_cq (< 0 once the completions already written
 *     are read), ibv_get_cq_event (-1);
 *   - every destroy returns 0 and frees the object (as libibverbs does on a
 *     device that went away; ASan's leak check sees the memory), and
 *     ibv_close_device returns 0;
 *   - a restarted daemon serves a new ibv_open_device and moves data.
 * The last round stops the daemon with SIGTERM instead: the clients get
 * IBV_EVENT_DEVICE_FATAL, the daemon exits 0 and said STOPPING=1.
 * SIGPIPE keeps its default action: a write to a dead socket would kill us.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/lib/datatest.h"
#include "tests/lib/rng.h"

#define WAIT_MS		10000	/* generous: a loaded 2-core machine */
#define BUF_SIZE	65536
#define MSG_SIZE	2048
#define DEPTH		8
#define NRECV		16

static int failures;

#define FAIL(...) do {							\
	fprintf(stderr, "restart: FAIL: " __VA_ARGS__);			\
	fputc('\n', stderr);						\
	failures++;							\
} while (0)

#define CHECK(cond) do {						\
	if (!(cond))							\
		FAIL("line %d: %s (errno %s)", __LINE__, #cond,		\
		     strerror(errno));					\
} while (0)

/* ------------------------------------------------------------ the daemon */

static char **daemon_argv;
static const char *daemon_log;
static pid_t daemon_pid;
static int notify_fd = -1;
static char notify_path[108];

static void notify_open(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	snprintf(notify_path, sizeof(notify_path), "%s.notify", daemon_log);
	unlink(notify_path);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", notify_path);
	notify_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (notify_fd < 0 || bind(notify_fd, (struct sockaddr *)&sa, sizeof(sa))) {
		perror("restart: notify socket");
		exit(99);
	}
}

/*
 * The daemon sends a datagram at every client's arrival and departure; a
 * reader that falls behind would block it in sd_notify (as systemd never
 * does), so a thread reads them all and counts what the checks want.
 */
static atomic_int notify_ready, notify_stopping;

static void *notify_main(void *arg)
{
	char buf[4096];

	(void)arg;
	for (;;) {
		ssize_t n = recv(notify_fd, buf, sizeof(buf) - 1, 0);

		if (n <= 0)
			continue;
		buf[n] = '\0';
		if (strstr(buf, "READY=1"))
			atomic_fetch_add(&notify_ready, 1);
		if (strstr(buf, "STOPPING=1"))
			atomic_fetch_add(&notify_stopping, 1);
	}
	return NULL;
}

/* Wait up to ms until *count exceeds was; true if it did. */
static bool notify_wait(atomic_int *count, int was, int ms)
{
	uint64_t end = dt_now_ms() + (uint64_t)ms;

	while (atomic_load(count) <= was) {
		if (dt_now_ms() > end)
			return false;
		usleep(10000);
	}
	return true;
}

/* Start the daemon and wait until it lists a device; exits on failure. */
static void daemon_start(void)
{
	int ready = atomic_load(&notify_ready);
	uint64_t end;

	daemon_pid = fork();
	if (daemon_pid < 0) {
		perror("restart: fork");
		exit(99);
	}
	if (daemon_pid == 0) {
		int fd = open(daemon_log, O_WRONLY | O_APPEND | O_CREAT, 0644);

		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		setenv("NOTIFY_SOCKET", notify_path, 1);
		execvp(daemon_argv[0], daemon_argv);
		_exit(127);
	}
	end = dt_now_ms() + 30000;
	while (dt_now_ms() < end) {
		struct ibv_device **list;
		int n = 0, st;

		if (waitpid(daemon_pid, &st, WNOHANG) == daemon_pid) {
			fprintf(stderr, "restart: the daemon exited at start (status 0x%x)\n", st);
			exit(1);
		}
		list = ibv_get_device_list(&n);
		if (list)
			ibv_free_device_list(list);
		if (n > 0) {
			if (!notify_wait(&notify_ready, ready, WAIT_MS))
				FAIL("the daemon said no READY=1");
			return;
		}
		usleep(20000);
	}
	fprintf(stderr, "restart: the daemon did not come up in 30 s\n");
	kill(daemon_pid, SIGKILL);
	exit(1);
}

/* Reap the daemon within ms; its wait status, or -1 (then it is killed). */
static int daemon_reap(int ms)
{
	uint64_t end = dt_now_ms() + (uint64_t)ms;
	int st;

	do {
		if (waitpid(daemon_pid, &st, WNOHANG) == daemon_pid)
			return st;
		usleep(10000);
	} while (dt_now_ms() < end);
	kill(daemon_pid, SIGKILL);
	waitpid(daemon_pid, &st, 0);
	return -1;
}

/* ------------------------------------------------------------ clients */

struct world {
	struct dt_node a, b, c, d;	/* d only polls a CQ */
	struct dt_buf ba, bb;
	struct ibv_qp *qa, *qb;
	struct ibv_srq *srq;
	struct ibv_ah *ah;
	struct ibv_cq_ex *cqx;		/* on A, for ibv_start_poll */
	/* The threads. */
	pthread_t traffic, control;
	atomic_long traffic_ops, control_ops;
	atomic_bool traffic_done, control_done;
	atomic_ullong kill_ms;		/* when the daemon was killed */
	uint64_t traffic_end_ms, control_end_ms;
	const char *traffic_why, *control_why;
	int control_err;
};

static int world_open(struct world *w)
{
	struct ibv_qp_cap cap = { .max_send_wr = 32, .max_recv_wr = 32,
				  .max_send_sge = 1, .max_recv_sge = 1 };
	struct ibv_srq_init_attr sa = { .attr = { .max_wr = 16, .max_sge = 1 } };
	struct ibv_cq_init_attr_ex cx = { .cqe = 4,
					  .wc_flags = IBV_WC_STANDARD_FLAGS };

	memset(w, 0, sizeof(*w));
	if (dt_node_open(&w->a, 128, true) || dt_node_open(&w->b, 128, false) ||
	    dt_node_open(&w->c, 16, false) || dt_node_open(&w->d, 4, false))
		return -1;
	if (dt_buf_alloc(&w->ba, w->a.pd, BUF_SIZE, DT_ACCESS_ALL) ||
	    dt_buf_alloc(&w->bb, w->b.pd, BUF_SIZE, DT_ACCESS_ALL))
		return -1;
	w->qa = dt_qp_create(&w->a, IBV_QPT_RC, &cap, NULL, NULL, 1);
	w->qb = dt_qp_create(&w->b, IBV_QPT_RC, &cap, NULL, NULL, 1);
	if (!w->qa || !w->qb || dt_qp_connect(w->qa, w->qb, NULL))
		return -1;
	w->srq = ibv_create_srq(w->a.pd, &sa);
	w->ah = dt_ah_create(w->a.pd, w->a.ctx);
	w->cqx = ibv_create_cq_ex(w->a.ctx, &cx);
	if (!w->srq || !w->ah || !w->cqx)
		return -1;
	/* Armed, so the channel has a reason to be read. */
	return ibv_req_notify_cq(w->a.scq, 0) ? -1 : 0;
}

/* Move data A -> B and check every byte B got; 0 or -1. */
static int world_move(struct world *w, int n)
{
	struct ibv_wc wc;

	for (int i = 0; i < n; i++) {
		struct ibv_sge sge = { .addr = (uintptr_t)w->ba.p,
				       .length = MSG_SIZE, .lkey = w->ba.mr->lkey };
		struct ibv_send_wr wr = { .wr_id = (uint64_t)i, .sg_list = &sge,
					  .num_sge = 1 }, *bad;
		uint32_t seed = (uint32_t)rng() | 1;

		dt_fill(w->ba.p, MSG_SIZE, seed);
		if (dt_post_recv(w->qb, 1, w->bb.p, MSG_SIZE, w->bb.mr->lkey))
			return -1;
		wr.opcode = IBV_WR_SEND;
		if (ibv_post_send(w->qa, &wr, &bad) ||
		    dt_poll(w->a.scq, &wc, 1, WAIT_MS) != 1 ||
		    wc.status != IBV_WC_SUCCESS ||
		    dt_poll(w->b.rcq, &wc, 1, WAIT_MS) != 1 ||
		    wc.status != IBV_WC_SUCCESS ||
		    dt_verify(w->bb.p, MSG_SIZE, seed) >= 0)
			return -1;
		/* Write it to B's second slot, read it back into A's. */
		wr.opcode = IBV_WR_RDMA_WRITE;
		wr.wr.rdma.remote_addr = (uintptr_t)w->bb.p + MSG_SIZE;
		wr.wr.rdma.rkey = w->bb.mr->rkey;
		if (ibv_post_send(w->qa, &wr, &bad) ||
		    dt_poll(w->a.scq, &wc, 1, WAIT_MS) != 1 ||
		    wc.status != IBV_WC_SUCCESS ||
		    dt_verify(w->bb.p + MSG_SIZE, MSG_SIZE, seed) >= 0)
			return -1;
		sge.addr = (uintptr_t)w->ba.p + MSG_SIZE;
		wr.opcode = IBV_WR_RDMA_READ;
		if (ibv_post_send(w->qa, &wr, &bad) ||
		    dt_poll(w->a.scq, &wc, 1, WAIT_MS) != 1 ||
		    wc.status != IBV_WC_SUCCESS ||
		    dt_verify(w->ba.p + MSG_SIZE, MSG_SIZE, seed) >= 0)
			return -1;
	}
	return 0;
}

/*
 * Destroy everything; each destroy must return 0 (want_zero), the daemon
 * alive or not.
 */
static void world_close(struct world *w, bool want_zero)
{
	int r;

#define DESTROY(call) do {						\
	r = (call);							\
	if (r && want_zero)						\
		FAIL("%s returned %d (%s)", #call, r, strerror(r));	\
} while (0)
	if (w->cqx)
		DESTROY(ibv_destroy_cq(ibv_cq_ex_to_cq(w->cqx)));
	w->cqx = NULL;
	if (w->ah)
		DESTROY(ibv_destroy_ah(w->ah));
	if (w->srq)
		DESTROY(ibv_destroy_srq(w->srq));
	if (w->qa)
		DESTROY(ibv_destroy_qp(w->qa));
	if (w->qb)
		DESTROY(ibv_destroy_qp(w->qb));
	if (w->ba.mr)
		DESTROY(ibv_dereg_mr(w->ba.mr));
	if (w->bb.mr)
		DESTROY(ibv_dereg_mr(w->bb.mr));
	w->ba.mr = w->bb.mr = NULL;
	dt_buf_free(&w->ba);
	dt_buf_free(&w->bb);
	for (struct dt_node *n = &w->a; n <= &w->d; n++) {
		if (n->scq)
			DESTROY(ibv_destroy_cq(n->scq));
		if (n->rcq)
			DESTROY(ibv_destroy_cq(n->rcq));
		if (n->ch)
			DESTROY(ibv_destroy_comp_channel(n->ch));
		if (n->pd)
			DESTROY(ibv_dealloc_pd(n->pd));
		if (n->ctx)
			DESTROY(ibv_close_device(n->ctx));
		if (n->list)
			ibv_free_device_list(n->list);
		memset(n, 0, sizeof(*n));
	}
#undef DESTROY
	w->ah = NULL;
	w->srq = NULL;
	w->qa = w->qb = NULL;
}

/* ------------------------------------------------------------ threads */

/*
 * A -> B: sends, writes and reads, DEPTH in flight, B's receives kept
 * posted; stops at the first error, or when nothing moved for WAIT_MS.
 */
static void *traffic_main(void *arg)
{
	struct world *w = arg;
	uint64_t posted = 0, done = 0, recvs = 0, last = dt_now_ms();
	struct ibv_wc wc[DEPTH];
	const char *why = NULL;
	int n;

	while (!why) {
		while (recvs < NRECV && !why) {
			if (dt_post_recv(w->qb, 0, w->bb.p, MSG_SIZE,
					 w->bb.mr->lkey))
				why = "post_recv failed";
			else
				recvs++;
		}
		while (posted - done < DEPTH && !why) {
			static const enum ibv_wr_opcode op[] = {
				IBV_WR_SEND, IBV_WR_RDMA_WRITE, IBV_WR_RDMA_READ,
			};
			struct ibv_sge sge = { .addr = (uintptr_t)w->ba.p,
					       .length = MSG_SIZE,
					       .lkey = w->ba.mr->lkey };
			struct ibv_send_wr wr = {
				.wr_id = posted, .sg_list = &sge, .num_sge = 1,
				.opcode = op[posted % 3],
			}, *bad;

			wr.wr.rdma.remote_addr = (uintptr_t)w->bb.p + MSG_SIZE;
			wr.wr.rdma.rkey = w->bb.mr->rkey;
			if (ibv_post_send(w->qa, &wr, &bad))
				why = "post_send failed";
			else
				posted++;
		}
		n = why ? 0 : ibv_poll_cq(w->a.scq, DEPTH, wc);
		if (n < 0)
			why = "poll_cq failed";
		for (int i = 0; i < n && !why; i++)
			if (wc[i].status != IBV_WC_SUCCESS)
				why = "error completion";
		if (n > 0) {
			done += (uint64_t)n;
			atomic_fetch_add(&w->traffic_ops, n);
			last = dt_now_ms();
		}
		n = why ? 0 : ibv_poll_cq(w->b.rcq, DEPTH, wc);
		if (n < 0)
			why = "poll_cq failed";
		for (int i = 0; i < n && !why; i++)
			if (wc[i].status != IBV_WC_SUCCESS)
				why = "error completion";
		if (n > 0) {
			recvs -= (uint64_t)n;
			last = dt_now_ms();
		}
		if (!why && dt_now_ms() - last > WAIT_MS)
			why = "HANG: nothing moved and no error";
		if (!why && !n)
			sched_yield();
	}
	w->traffic_why = why;
	w->traffic_end_ms = dt_now_ms();
	atomic_store(&w->traffic_done, true);
	return NULL;
}

/* Control verbs on C in a loop, until one fails. */
static void *control_main(void *arg)
{
	struct world *w = arg;
	struct ibv_qp_cap cap = { .max_send_wr = 4, .max_recv_wr = 4,
				  .max_send_sge = 1, .max_recv_sge = 1 };
	struct ibv_device_attr da;
	static char mem[8192];
	int err = 0;

	for (;;) {
		struct ibv_pd *pd = ibv_alloc_pd(w->c.ctx);
		struct ibv_mr *mr = NULL;
		struct ibv_cq *cq = NULL;
		struct ibv_qp *qp = NULL;
		struct ibv_qp_attr qa;
		struct ibv_qp_init_attr qi;

		if (!pd) {
			err = errno;
			break;
		}
		if (!(mr = ibv_reg_mr(pd, mem, sizeof(mem), IBV_ACCESS_LOCAL_WRITE)) ||
		    !(cq = ibv_create_cq(w->c.ctx, 16, NULL, NULL, 0))) {
			err = errno;
		} else {
			struct ibv_qp_init_attr a = {
				.send_cq = cq, .recv_cq = cq, .cap = cap,
				.qp_type = IBV_QPT_RC,
			};

			qp = ibv_create_qp(pd, &a);
			if (!qp)
				err = errno;
			else
				err = ibv_query_qp(qp, &qa, IBV_QP_STATE, &qi);
			if (!err)
				err = ibv_query_device(w->c.ctx, &da);
		}
		/* The destroys too: after the daemon's death they succeed. */
		if (qp && ibv_destroy_qp(qp) && !err)
			err = -1;
		if (cq && ibv_destroy_cq(cq) && !err)
			err = -1;
		if (mr && ibv_dereg_mr(mr) && !err)
			err = -1;
		if (ibv_dealloc_pd(pd) && !err)
			err = -1;
		if (err)
			break;
		atomic_fetch_add(&w->control_ops, 1);
	}
	w->control_err = err;
	w->control_why = err > 0 ? strerror(err) :
		"a destroy failed (it should succeed, the daemon dead or not)";
	w->control_end_ms = dt_now_ms();
	atomic_store(&w->control_done, true);
	return NULL;
}

/* ------------------------------------------------------------ checks */

/* IBV_EVENT_DEVICE_FATAL on ctx within WAIT_MS (other events acked). */
static void expect_fatal(struct ibv_context *ctx, const char *name)
{
	uint64_t end = dt_now_ms() + WAIT_MS;

	while (dt_now_ms() < end) {
		struct pollfd pf = { .fd = ctx->async_fd, .events = POLLIN };
		struct ibv_async_event ev;

		if (poll(&pf, 1, 100) != 1)
			continue;
		if (ibv_get_async_event(ctx, &ev)) {
			FAIL("%s: ibv_get_async_event: %s before DEVICE_FATAL",
			     name, strerror(errno));
			return;
		}
		ibv_ack_async_event(&ev);
		if (ev.event_type == IBV_EVENT_DEVICE_FATAL)
			return;
	}
	FAIL("%s: no IBV_EVENT_DEVICE_FATAL within %d ms", name, WAIT_MS);
}

/* Join a thread that must be done within WAIT_MS; exits if it hangs. */
static void join_bounded(pthread_t t, atomic_bool *done, const char *name)
{
	uint64_t end = dt_now_ms() + WAIT_MS + 5000;

	while (!atomic_load(done)) {
		if (dt_now_ms() > end) {
			fprintf(stderr, "restart: FAIL: the %s thread hangs after the daemon's death\n",
				name);
			exit(1);
		}
		usleep(10000);
	}
	pthread_join(t, NULL);
}

/* Every verb family on the dead context A fails, without hanging. */
static void check_dead_verbs(struct world *w)
{
	struct ibv_context *ctx = w->a.ctx;
	struct ibv_device_attr da;
	struct ibv_port_attr pa;
	struct ibv_qp_attr qa = { .qp_state = IBV_QPS_ERR };
	struct ibv_qp_init_attr qi;
	struct ibv_srq_attr sa = { .srq_limit = 1 };
	struct ibv_ah_attr aa = { .is_global = 1, .port_num = 1 };
	struct ibv_qp_init_attr ca = {
		.send_cq = w->a.scq, .recv_cq = w->a.rcq, .qp_type = IBV_QPT_RC,
		.cap = { .max_send_wr = 1, .max_recv_wr = 1,
			 .max_send_sge = 1, .max_recv_sge = 1 },
	};
	struct ibv_srq_init_attr si = { .attr = { .max_wr = 4, .max_sge = 1 } };
	struct ibv_sge sge = { .addr = (uintptr_t)w->ba.p, .length = 64,
			       .lkey = w->ba.mr->lkey };
	struct ibv_send_wr swr = { .sg_list = &sge, .num_sge = 1,
				   .opcode = IBV_WR_SEND }, *sbad;
	struct ibv_recv_wr rwr = { .sg_list = &sge, .num_sge = 1 }, *rbad;
	struct ibv_wc wc;
	struct pollfd pf = { .fd = w->a.ch->fd, .events = POLLIN };
	struct ibv_poll_cq_attr pollattr = { .comp_mask = 0 };
	struct ibv_cq *ecq;
	void *ecx;
	int r, i;

	aa.grh.dgid = w->a.gid;
	CHECK(ibv_query_device(ctx, &da) != 0);
	CHECK(ibv_query_port(ctx, 1, &pa) != 0);
	errno = 0;
	CHECK(!ibv_alloc_pd(ctx) && errno);
	errno = 0;
	CHECK(!ibv_reg_mr(w->a.pd, w->ba.p + 8192, 4096, IBV_ACCESS_LOCAL_WRITE) && errno);
	errno = 0;
	CHECK(!ibv_create_cq(ctx, 4, NULL, NULL, 0) && errno);
	errno = 0;
	CHECK(!ibv_create_comp_channel(ctx) && errno);
	errno = 0;
	CHECK(!ibv_create_qp(w->a.pd, &ca) && errno);
	errno = 0;
	CHECK(!ibv_create_srq(w->a.pd, &si) && errno);
	errno = 0;
	CHECK(!ibv_create_ah(w->a.pd, &aa) && errno);
	CHECK(ibv_modify_qp(w->qa, &qa, IBV_QP_STATE) != 0);
	CHECK(ibv_query_qp(w->qa, &qa, IBV_QP_STATE, &qi) != 0);
	CHECK(ibv_modify_srq(w->srq, &sa, IBV_SRQ_LIMIT) != 0);
	CHECK(ibv_query_srq(w->srq, &sa) != 0);
	CHECK(ibv_post_send(w->qa, &swr, &sbad) != 0);
	CHECK(ibv_post_recv(w->qa, &rwr, &rbad) != 0);
	CHECK(ibv_post_srq_recv(w->srq, &rwr, &rbad) != 0);
	CHECK(ibv_req_notify_cq(w->a.scq, 0) != 0);
	CHECK(ibv_resize_cq(w->a.rcq, 256) != 0);
	CHECK(ibv_rereg_mr(w->ba.mr, IBV_REREG_MR_CHANGE_ACCESS, NULL, NULL, 0,
			   IBV_ACCESS_LOCAL_WRITE) != 0);
	CHECK(ibv_start_poll(w->cqx, &pollattr) == EIO);
	/* What the engine wrote before it died is still there to read. */
	for (i = 0; i < 1000 && (r = ibv_poll_cq(w->a.scq, 1, &wc)) > 0; i++)
		;
	CHECK(r < 0);
	for (i = 0; i < 1000 && (r = ibv_poll_cq(w->a.rcq, 1, &wc)) > 0; i++)
		;
	CHECK(r < 0);
	/* The channel: end of file, no hang (an event may precede it). */
	for (i = 0; i < 100; i++) {
		CHECK(poll(&pf, 1, WAIT_MS) == 1);
		if (ibv_get_cq_event(w->a.ch, &ecq, &ecx)) {
			CHECK(errno != 0);
			break;
		}
		ibv_ack_cq_events(ecq, 1);
	}
	CHECK(i < 100);
}

/*
 * One round: clients at work, the daemon killed with sig.  For SIGKILL
 * the daemon is restarted and must serve again.
 */
static void round_run(int sig, unsigned int round)
{
	struct world w;
	uint64_t end;
	unsigned int delay;
	struct ibv_wc wc;
	int r, st, stopping = atomic_load(&notify_stopping);

	if (world_open(&w)) {
		FAIL("round %u: opening the clients: %s", round, strerror(errno));
		world_close(&w, false);
		return;
	}
	if (world_move(&w, 3))
		FAIL("round %u: data before the kill", round);
	pthread_create(&w.traffic, NULL, traffic_main, &w);
	pthread_create(&w.control, NULL, control_main, &w);
	/* Both at work, then a random while: mid-traffic, mid-verb. */
	end = dt_now_ms() + WAIT_MS;
	while ((atomic_load(&w.traffic_ops) < 10 || atomic_load(&w.control_ops) < 1) &&
	       dt_now_ms() < end && !atomic_load(&w.traffic_done) &&
	       !atomic_load(&w.control_done))
		usleep(1000);
	delay = 500u + (unsigned int)(rng() % 20000);
	usleep(delay);
	/*
	 * Asked before the kill: after it, a thread may see the daemon gone
	 * before this one runs again (CI saw it on a loaded machine).
	 */
	if (atomic_load(&w.traffic_done) || atomic_load(&w.control_done))
		FAIL("round %u: a thread stopped before the kill (traffic: %s, control: %s)",
		     round, w.traffic_why ? w.traffic_why : "-",
		     w.control_why ? w.control_why : "-");
	atomic_store(&w.kill_ms, dt_now_ms());
	kill(daemon_pid, sig);

	st = daemon_reap(WAIT_MS);
	if (sig == SIGKILL && !(st >= 0 && WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL))
		FAIL("round %u: daemon wait status 0x%x after SIGKILL", round, st);
	if (sig == SIGTERM && !(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0))
		FAIL("round %u: the daemon did not exit 0 on SIGTERM (wait status %d)",
		     round, st);
	if (sig == SIGTERM && !notify_wait(&notify_stopping, stopping, WAIT_MS))
		FAIL("round %u: no STOPPING=1 from the daemon", round);

	/* D does nothing but poll an empty CQ: that alone must tell it. */
	end = dt_now_ms() + WAIT_MS;
	while ((r = ibv_poll_cq(w.d.scq, 1, &wc)) == 0 && dt_now_ms() < end)
		;
	if (r >= 0)
		FAIL("round %u: a poller of an empty CQ got %d, not an error, for %d ms after the daemon's death",
		     round, r, WAIT_MS);
	expect_fatal(w.d.ctx, "D");
	expect_fatal(w.a.ctx, "A");
	expect_fatal(w.b.ctx, "B");
	expect_fatal(w.c.ctx, "C");
	join_bounded(w.traffic, &w.traffic_done, "traffic");
	join_bounded(w.control, &w.control_done, "control");
	if (w.traffic_why && !strncmp(w.traffic_why, "HANG", 4))
		FAIL("round %u: traffic thread: %s", round, w.traffic_why);
	if (w.control_err == -1)
		FAIL("round %u: control thread: %s", round, w.control_why);
	printf("restart: round %u (%s after %u us): traffic stopped on \"%s\" after %ld completions, control on \"%s\" after %ld loops\n",
	       round, sig == SIGKILL ? "SIGKILL" : "SIGTERM", delay,
	       w.traffic_why, atomic_load(&w.traffic_ops), w.control_why,
	       atomic_load(&w.control_ops));
	fflush(stdout);
	check_dead_verbs(&w);
	world_close(&w, true);

	if (sig != SIGKILL)
		return;
	daemon_start();
	if (world_open(&w) || world_move(&w, 10))
		FAIL("round %u: the restarted daemon does not serve: %s", round,
		     strerror(errno));
	world_close(&w, true);
}

int main(int argc, char **argv)
{
	pthread_t notify_thread;
	unsigned int rounds;

	if (argc < 6 || strcmp(argv[4], "--")) {
		fprintf(stderr, "usage: restart ROUNDS SEED LOG -- DAEMON [ARGS...]\n");
		return 2;
	}
	rounds = (unsigned int)strtoul(argv[1], NULL, 10);
	rng_state = strtoull(argv[2], NULL, 10) | 1;
	daemon_log = argv[3];
	daemon_argv = argv + 5;
	notify_open();
	pthread_create(&notify_thread, NULL, notify_main, NULL);
	daemon_start();
	for (unsigned int i = 1; i <= rounds; i++)
		round_run(SIGKILL, i);
	round_run(SIGTERM, rounds + 1);
	printf("restart: %u daemon restarts after SIGKILL under load, then a SIGTERM; %d failures\n",
	       rounds, failures);
	unlink(notify_path);
	return failures ? 1 : 0;
}
