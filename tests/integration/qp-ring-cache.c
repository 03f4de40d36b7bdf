/* SPDX-License-Identifier: MIT */
/*
 * Kept QP rings (daemon/qp.c, libclient/qp.c): a destroyed QP's ring
 * memfd and doorbell stay mapped and open on both sides of its connection
 * and a later create of the same geometry takes them back, with no new
 * memfd, mapping or fd.  Checked through the real daemon (its pid is in
 * RB_QPRING_DAEMON, for its fd and mapping counts) and library:
 *
 *   - reuse happens, and 1,000 create/destroy cycles leave the fds and
 *     ring mappings of both processes flat;
 *   - a QP on a reused ring moves data (RC and UD), also past the ring's
 *     wrap, as its first owner did;
 *   - a client that scribbles over a kept ring, header and slots, before
 *     the ring is reused gets a clean ring back and cannot hurt the daemon
 *     or an honest pair beside it;
 *   - a kept ring never goes to another connection;
 *   - both sides converge when one forgets a kept ring or keeps one the
 *     other lost;
 *   - threads creating and destroying on one context stay in step;
 *   - closing the context, or dying, frees them all on both sides.
 *
 * This test reaches into librdmabroker's objects (libclient/client.h) to
 * see its kept rings; nothing else may.
 */
#include "config.h"

#include <inttypes.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include <cmocka.h>

#include "libclient/client.h"
#include "tests/lib/clienttest.h"
#include "tests/lib/datatest.h"
#include "tests/lib/rng.h"

static char daemon_pid[32];
static int daemon_fds0, daemon_rings0;	/* with no client of ours */

#define daemon_fds()	ct_fds(daemon_pid)
#define daemon_rings()	ct_memfd_maps(daemon_pid, "rdmabroker-ring")
#define self_rings()	ct_memfd_maps("self", "rdmabroker-ring")

static const struct ibv_qp_cap cap_small = {
	.max_send_wr = 16, .max_recv_wr = 16, .max_send_sge = 1,
	.max_recv_sge = 1, .max_inline_data = 0,
};

static struct rbc_context *rbc(struct dt_node *n)
{
	return to_rbc_context(n->ctx);
}

static int nkept(struct dt_node *n)
{
	int k = 0;

	for (int i = 0; i < RBC_KEPT_MAX; i++)
		k += rbc(n)->kept[i].id != 0;
	return k;
}

/* The first slot of n's kept rings that is in use (or free), or -1. */
static int kept_slot(struct dt_node *n, bool used)
{
	for (int i = 0; i < RBC_KEPT_MAX; i++)
		if ((rbc(n)->kept[i].id != 0) == used)
			return i;
	return -1;
}

static void *qp_ring(struct ibv_qp *qp)
{
	return ((struct rbc_qp *)qp)->sq;
}

static struct ibv_qp *qp_new(struct dt_node *n, enum ibv_qp_type type,
			     const struct ibv_qp_cap *want)
{
	struct ibv_qp_cap cap = *want;
	struct ibv_qp *qp = dt_qp_create(n, type, &cap, NULL, NULL, 1);

	assert_non_null(qp);
	return qp;
}

/* The inode of the memfd mapped at addr in this process, or 0. */
static unsigned long map_inode(const void *addr)
{
	unsigned long lo, hi, ino, found = 0;
	char line[512];
	FILE *f = fopen("/proc/self/maps", "r");

	assert_non_null(f);
	while (!found && fgets(line, sizeof(line), f))
		if (sscanf(line, "%lx-%lx %*s %*s %*s %lu", &lo, &hi, &ino) == 3 &&
		    (uintptr_t)addr >= lo && (uintptr_t)addr < hi)
			found = ino;
	fclose(f);
	return found;
}

/* The daemon may take a moment to see a connection go: wait for it to
 * hold no more than fds and rings. */
static bool daemon_settles(int fds, int rings)
{
	for (int i = 0; i < 100; i++) {
		if (daemon_fds() <= fds && daemon_rings() <= rings)
			return true;
		usleep(100 * 1000);
	}
	return false;
}

/*
 * The daemon closes the fds a reply carried just after sending it: one
 * more call on the connection, and they are closed.
 */
static void daemon_sync(struct dt_node *n)
{
	struct ibv_port_attr pa;

	assert_int_equal(ibv_query_port(n->ctx, 1, &pa), 0);
}

/* Before counting: every connection of earlier tests is gone. */
static void daemon_idle(void)
{
	if (!daemon_settles(daemon_fds0, daemon_rings0))
		fail_msg("the daemon holds %d fds and %d rings, %d and %d at the start",
			 daemon_fds(), daemon_rings(), daemon_fds0, daemon_rings0);
}

/* ------------------------------------------------------------ reuse */

static void test_reuse_flat(void **state)
{
	struct dt_node n;
	struct ibv_qp *qp, *other;
	void *ring;
	int dfds, drings, sfds, srings;
	int fds0 = ct_fds("self"), rings0 = self_rings();

	(void)state;
	daemon_idle();
	assert_int_equal(dt_node_open(&n, 64, false), 0);
	qp = qp_new(&n, IBV_QPT_RC, &cap_small);
	ring = qp_ring(qp);
	assert_int_equal(ibv_destroy_qp(qp), 0);
	assert_int_equal(nkept(&n), 1);		/* the daemon kept it too */
	dfds = daemon_fds();
	drings = daemon_rings();
	sfds = ct_fds("self");
	srings = self_rings();

	/* Same geometry, RC or UD: the kept ring comes back. */
	for (int i = 0; i < 1000; i++) {
		qp = qp_new(&n, i % 2 ? IBV_QPT_UD : IBV_QPT_RC, &cap_small);
		if (qp_ring(qp) != ring)
			fail_msg("cycle %d: a new ring, not the kept one", i);
		if (nkept(&n) != 0)
			fail_msg("cycle %d: %d kept while the QP lives", i, nkept(&n));
		assert_int_equal(ibv_destroy_qp(qp), 0);
	}
	assert_int_equal(daemon_fds(), dfds);
	assert_int_equal(daemon_rings(), drings);
	assert_int_equal(ct_fds("self"), sfds);
	assert_int_equal(self_rings(), srings);

	/* Another geometry gets a ring of its own; the kept one stays. */
	{
		struct ibv_qp_cap big = cap_small;

		big.max_send_wr = 64;
		other = qp_new(&n, IBV_QPT_RC, &big);
		assert_ptr_not_equal(qp_ring(other), ring);
		assert_int_equal(nkept(&n), 1);
		assert_int_equal(self_rings(), srings + 1);
		assert_int_equal(ibv_destroy_qp(other), 0);
		assert_int_equal(nkept(&n), 2);
	}
	dt_node_close(&n);
	assert_int_equal(self_rings(), rings0);
	assert_int_equal(ct_fds("self"), fds0);
}

/* ------------------------------------------------------------ data */

/* n messages a -> b over an RC pair, or UD a -> b with an AH on a. */
static void send_n(struct dt_node *na, struct ibv_qp *a, struct dt_node *nb,
		   struct ibv_qp *b, struct ibv_ah *ah, struct dt_buf *ba,
		   struct dt_buf *bb, uint32_t first, int n)
{
	uint32_t grh = ah ? 40 : 0;

	for (int i = 0; i < n; i++) {
		uint32_t r = first + (uint32_t)i;
		struct ibv_sge sge = { (uintptr_t)ba->p, 256, ba->mr->lkey };
		struct ibv_send_wr wr = { .wr_id = r, .sg_list = &sge, .num_sge = 1,
					  .opcode = IBV_WR_SEND }, *bad;
		struct ibv_wc wc;

		if (ah) {
			wr.wr.ud.ah = ah;
			wr.wr.ud.remote_qpn = b->qp_num;
			wr.wr.ud.remote_qkey = DT_QKEY;
		}
		dt_fill(ba->p, 256, r);
		memset(bb->p, 0, 256 + grh);
		assert_int_equal(dt_post_recv(b, r, bb->p, 256 + grh, bb->mr->lkey), 0);
		assert_int_equal(ibv_post_send(a, &wr, &bad), 0);
		assert_int_equal(dt_poll(nb->rcq, &wc, 1, DT_TIMEOUT_MS), 1);
		if (wc.status != IBV_WC_SUCCESS || wc.wr_id != r || wc.byte_len != 256 + grh)
			fail_msg("message %u: %s wr_id %" PRIu64 " len %u", r,
				 ibv_wc_status_str(wc.status), wc.wr_id, wc.byte_len);
		assert_int_equal(dt_poll(na->scq, &wc, 1, DT_TIMEOUT_MS), 1);
		assert_int_equal(wc.status, IBV_WC_SUCCESS);
		assert_int_equal(dt_verify(bb->p + grh, 256, r), -1);
	}
}

static void data_rounds(enum ibv_qp_type type)
{
	struct dt_node na, nb;
	struct dt_buf ba, bb;
	struct ibv_qp *a, *b;
	struct ibv_ah *ah = NULL;
	void *ring_a = NULL, *ring_b = NULL;

	assert_int_equal(dt_node_open(&na, 64, false), 0);
	assert_int_equal(dt_node_open(&nb, 64, false), 0);
	assert_int_equal(dt_buf_alloc(&ba, na.pd, 4096, DT_ACCESS_ALL), 0);
	assert_int_equal(dt_buf_alloc(&bb, nb.pd, 4096, DT_ACCESS_ALL), 0);
	if (type == IBV_QPT_UD) {
		ah = dt_ah_create(na.pd, nb.ctx);
		assert_non_null(ah);
	}
	for (int round = 0; round < 3; round++) {
		a = qp_new(&na, type, &cap_small);
		b = qp_new(&nb, type, &cap_small);
		if (round) {	/* the rings of the round before */
			assert_ptr_equal(qp_ring(a), ring_a);
			assert_ptr_equal(qp_ring(b), ring_b);
		}
		ring_a = qp_ring(a);
		ring_b = qp_ring(b);
		if (type == IBV_QPT_UD) {
			assert_int_equal(dt_qp_to_rts(a, NULL, 0, NULL), 0);
			assert_int_equal(dt_qp_to_rts(b, NULL, 0, NULL), 0);
		} else {
			assert_int_equal(dt_qp_connect(a, b, NULL), 0);
		}
		/* Past the wrap of a 16-slot ring, every round. */
		send_n(&na, a, &nb, b, ah, &ba, &bb, (uint32_t)round * 100, 40);
		assert_int_equal(ibv_destroy_qp(a), 0);
		assert_int_equal(ibv_destroy_qp(b), 0);
	}
	if (ah)
		ibv_destroy_ah(ah);
	dt_buf_free(&ba);
	dt_buf_free(&bb);
	dt_node_close(&na);
	dt_node_close(&nb);
}

static void test_data_rc(void **state)
{
	(void)state;
	data_rounds(IBV_QPT_RC);
}

static void test_data_ud(void **state)
{
	(void)state;
	data_rounds(IBV_QPT_UD);
}

/* ------------------------------------------------------------ hostile */

/*
 * A client scribbles over its kept ring (header, indices, slots) and
 * rings its kept doorbell; the daemon hands the ring back clean, the QP
 * on it works, and an honest pair beside it never notices.
 */
static void test_scribble_kept(void **state)
{
	struct dt_node nx, na, nb;
	struct dt_buf bx, by, ba, bb;
	struct ibv_qp *x, *y, *a, *b;
	uint64_t one = 1;
	int kept;

	(void)state;
	rng_state = 0x5eed;
	assert_int_equal(dt_node_open(&nx, 64, false), 0);
	assert_int_equal(dt_node_open(&na, 64, false), 0);
	assert_int_equal(dt_node_open(&nb, 64, false), 0);
	assert_int_equal(dt_buf_alloc(&bx, nx.pd, 4096, DT_ACCESS_ALL), 0);
	assert_int_equal(dt_buf_alloc(&by, nx.pd, 4096, DT_ACCESS_ALL), 0);
	assert_int_equal(dt_buf_alloc(&ba, na.pd, 4096, DT_ACCESS_ALL), 0);
	assert_int_equal(dt_buf_alloc(&bb, nb.pd, 4096, DT_ACCESS_ALL), 0);
	a = qp_new(&na, IBV_QPT_RC, &cap_small);
	b = qp_new(&nb, IBV_QPT_RC, &cap_small);
	assert_int_equal(dt_qp_connect(a, b, NULL), 0);

	for (int round = 0; round < 20; round++) {
		x = qp_new(&nx, IBV_QPT_RC, &cap_small);
		assert_int_equal(ibv_destroy_qp(x), 0);
		kept = nkept(&nx);
		assert_int_not_equal(kept, 0);
		for (int i = 0; i < RBC_KEPT_MAX; i++) {
			struct rbc_kept *k = &rbc(&nx)->kept[i];

			if (!k->id)
				continue;
			/* Garbage everywhere, then the worst header there is. */
			for (size_t off = 0; off < k->len; off += 8) {
				uint64_t v = rng();

				memcpy((char *)k->map + off, &v, sizeof(v));
			}
			for (int r = 0; r < 2; r++) {
				struct rb_ring *h = (struct rb_ring *)
					((char *)k->map + (r ? k->rq_off : 0));

				h->entries = round % 2 ? 0 : 0x80000000u;
				h->entry_size = 0xfffffff8u;
				h->prod = (uint32_t)rng();
				h->cons = (uint32_t)rng();
				h->flags = ~0u;
			}
			assert_int_equal(write(k->doorbell, &one, sizeof(one)),
					 (ssize_t)sizeof(one));
		}
		/* Reused, and whole again. */
		y = qp_new(&nx, IBV_QPT_RC, &cap_small);
		assert_int_equal(nkept(&nx), kept - 1);
		{
			struct rbc_qp *q = (struct rbc_qp *)y;

			assert_int_equal(q->sq->magic, RB_RING_MAGIC);
			assert_int_equal(q->sq->entries, 16);
			assert_int_equal(q->sq->prod, 0);
			assert_int_equal(q->sq->cons, 0);
			/* Nothing of the scribble; the engine may already
			 * have found the new QP idle and asked for a doorbell. */
			assert_int_equal(q->sq->flags & ~RB_RING_NEED_WAKEUP, 0);
			assert_int_equal(q->rq->kind, RB_RING_RQ);
			assert_int_equal(q->rq->prod, 0);
		}
		/* It works: a loopback pair on the reused ring and a fresh one. */
		x = qp_new(&nx, IBV_QPT_RC, &cap_small);
		assert_int_equal(dt_qp_connect(y, x, NULL), 0);
		send_n(&nx, y, &nx, x, NULL, &bx, &by, (uint32_t)round * 100, 20);
		send_n(&na, a, &nb, b, NULL, &ba, &bb, (uint32_t)round * 100, 2);
		assert_int_equal(ibv_destroy_qp(y), 0);
		assert_int_equal(ibv_destroy_qp(x), 0);
	}
	assert_int_equal(ibv_destroy_qp(a), 0);
	assert_int_equal(ibv_destroy_qp(b), 0);
	dt_buf_free(&bx);
	dt_buf_free(&by);
	dt_buf_free(&ba);
	dt_buf_free(&bb);
	dt_node_close(&nx);
	dt_node_close(&na);
	dt_node_close(&nb);
}

/* A ring one connection keeps is never another's, even of one process. */
static void test_not_shared(void **state)
{
	struct dt_node na, nb;
	struct ibv_qp *qa, *qb;
	unsigned long kept_ino;

	(void)state;
	assert_int_equal(dt_node_open(&na, 64, false), 0);
	assert_int_equal(dt_node_open(&nb, 64, false), 0);
	qa = qp_new(&na, IBV_QPT_RC, &cap_small);
	kept_ino = map_inode(qp_ring(qa));
	assert_int_not_equal(kept_ino, 0);
	assert_int_equal(ibv_destroy_qp(qa), 0);
	assert_int_equal(nkept(&na), 1);
	for (int i = 0; i < 20; i++) {
		qb = qp_new(&nb, IBV_QPT_RC, &cap_small);
		assert_int_not_equal(map_inode(qp_ring(qb)), kept_ino);
		assert_int_equal(ibv_destroy_qp(qb), 0);
	}
	assert_int_equal(nkept(&na), 1);
	qa = qp_new(&na, IBV_QPT_RC, &cap_small);
	assert_int_equal(map_inode(qp_ring(qa)), kept_ino);
	assert_int_equal(ibv_destroy_qp(qa), 0);
	dt_node_close(&na);
	dt_node_close(&nb);
}

/* ------------------------------------------------------------ in step */

/*
 * The library forgets a kept ring (as if it lost the destroy reply that
 * named it): the daemon frees its side at the next create.  The library
 * holds an id the daemon never gave: the daemon says so and the library
 * frees it.
 */
static void test_converge(void **state)
{
	struct dt_node n;
	struct ibv_qp *qp;
	struct ibv_qp_cap big = cap_small;
	struct rbc_kept *k;
	int drings, dfds, srings, i;
	void *bogus;

	(void)state;
	big.max_recv_wr = 128;
	daemon_idle();
	assert_int_equal(dt_node_open(&n, 64, false), 0);
	qp = qp_new(&n, IBV_QPT_RC, &cap_small);
	daemon_sync(&n);
	drings = daemon_rings();
	dfds = daemon_fds();
	assert_int_equal(ibv_destroy_qp(qp), 0);
	assert_int_equal(daemon_rings(), drings);	/* kept */
	assert_int_equal(daemon_fds(), dfds);		/* its doorbell too */
	i = kept_slot(&n, true);
	assert_true(i >= 0);
	k = &rbc(&n)->kept[i];
	munmap(k->map, k->len);
	close(k->doorbell);
	memset(k, 0, sizeof(*k));
	/* Another geometry, so nothing could be reused anyway. */
	qp = qp_new(&n, IBV_QPT_RC, &big);
	daemon_sync(&n);
	assert_int_equal(daemon_rings(), drings);	/* this QP's only */
	assert_int_equal(daemon_fds(), dfds);
	assert_int_equal(ibv_destroy_qp(qp), 0);
	assert_int_equal(nkept(&n), 1);

	/* An id the daemon does not know, over a mapping of our own. */
	srings = self_rings();
	bogus = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(bogus != MAP_FAILED);
	i = kept_slot(&n, false);
	assert_true(i >= 0);
	k = &rbc(&n)->kept[i];
	*k = (struct rbc_kept){ .id = 0x7fffffff, .map = bogus, .len = 8192,
				.rq_off = 4096, .doorbell = dup(1) };
	assert_int_equal(nkept(&n), 2);
	qp = qp_new(&n, IBV_QPT_RC, &cap_small);	/* nothing to reuse */
	assert_int_equal(nkept(&n), 1);			/* the daemon's one */
	assert_int_equal(k->id, 0);
	assert_int_equal(self_rings(), srings + 1);
	assert_int_equal(ibv_destroy_qp(qp), 0);
	dt_node_close(&n);
}

/* Threads creating and destroying on one context. */
struct churn {
	struct dt_node *n;
	int id;
	int errors;
};

static void *churn_thread(void *arg)
{
	struct churn *c = arg;

	for (int i = 0; i < 200; i++) {
		struct ibv_qp_cap cap = cap_small;
		struct ibv_qp *qp;

		cap.max_send_wr = (i + c->id) % 3 ? 16 : 32;
		qp = dt_qp_create(c->n, (i & 1) ? IBV_QPT_UD : IBV_QPT_RC, &cap,
				  NULL, NULL, 1);
		if (!qp || ((struct rbc_qp *)qp)->sq->magic != RB_RING_MAGIC ||
		    ((struct rbc_qp *)qp)->sq->prod != 0) {
			c->errors++;
			continue;
		}
		if (ibv_destroy_qp(qp))
			c->errors++;
	}
	return NULL;
}

static void test_threads(void **state)
{
	struct dt_node n;
	struct churn c[4];
	pthread_t t[4];
	int srings, sfds = ct_fds("self");

	(void)state;
	assert_int_equal(dt_node_open(&n, 64, false), 0);
	srings = self_rings();		/* with the node's two CQs */
	for (int i = 0; i < 4; i++) {
		c[i] = (struct churn){ .n = &n, .id = i };
		assert_int_equal(pthread_create(&t[i], NULL, churn_thread, &c[i]), 0);
	}
	for (int i = 0; i < 4; i++) {
		assert_int_equal(pthread_join(t[i], NULL), 0);
		assert_int_equal(c[i].errors, 0);
	}
	/* Bounded, ids all distinct. */
	assert_in_range(nkept(&n), 1, RBC_KEPT_MAX);
	for (int i = 0; i < RBC_KEPT_MAX; i++)
		for (int j = i + 1; j < RBC_KEPT_MAX; j++)
			if (rbc(&n)->kept[i].id)
				assert_int_not_equal(rbc(&n)->kept[i].id,
						     rbc(&n)->kept[j].id);
	assert_int_equal(self_rings(), srings + nkept(&n));
	dt_node_close(&n);
	assert_int_equal(self_rings(), srings - 2);
	assert_int_equal(ct_fds("self"), sfds);
	daemon_idle();
}

/* ------------------------------------------------------------ the end */

/* Many geometries kept; closing the context frees them on both sides. */
static void test_close_frees(void **state)
{
	struct dt_node n;
	int srings, sfds = ct_fds("self"), drings;

	(void)state;
	daemon_idle();
	assert_int_equal(dt_node_open(&n, 64, false), 0);
	srings = self_rings();		/* with the node's two CQs */
	drings = daemon_rings();
	for (uint32_t i = 0; i < 40; i++) {
		struct ibv_qp_cap cap = cap_small;
		struct ibv_qp *qp;

		cap.max_recv_wr = 1u << (i % 8);
		cap.max_send_sge = 1 + i / 8;
		qp = qp_new(&n, IBV_QPT_RC, &cap);
		assert_int_equal(ibv_destroy_qp(qp), 0);
	}
	/* Bounded: the pool holds no more than its size. */
	assert_int_equal(nkept(&n), RBC_KEPT_MAX);
	assert_int_equal(self_rings(), srings + RBC_KEPT_MAX);
	assert_int_equal(daemon_rings(), drings + RBC_KEPT_MAX);
	dt_node_close(&n);
	assert_int_equal(self_rings(), srings - 2);
	assert_int_equal(ct_fds("self"), sfds);
	daemon_idle();
}

/* A client that dies with kept rings: the daemon frees them. */
static void test_crash_frees(void **state)
{
	int drings, st;
	pid_t pid;

	(void)state;
	daemon_idle();
	drings = daemon_rings();
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct dt_node n;

		if (dt_node_open(&n, 64, false) < 0)
			_exit(2);
		for (uint32_t i = 0; i < 8; i++) {
			struct ibv_qp_cap cap = cap_small;
			struct ibv_qp *qp;

			cap.max_send_wr = 1u << i;
			qp = dt_qp_create(&n, IBV_QPT_RC, &cap, NULL, NULL, 1);
			if (!qp || ibv_destroy_qp(qp))
				_exit(3);
		}
		if (daemon_rings() < drings + 8)
			_exit(4);
		raise(SIGKILL);
		_exit(5);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
	daemon_idle();
}

int main(void)
{
	const char *pid = getenv("RB_QPRING_DAEMON");
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reuse_flat),
		cmocka_unit_test(test_data_rc),
		cmocka_unit_test(test_data_ud),
		cmocka_unit_test(test_scribble_kept),
		cmocka_unit_test(test_not_shared),
		cmocka_unit_test(test_converge),
		cmocka_unit_test(test_threads),
		cmocka_unit_test(test_close_frees),
		cmocka_unit_test(test_crash_frees),
	};

	if (!pid || !*pid) {
		fprintf(stderr, "qp-ring-cache: set RB_QPRING_DAEMON to the daemon's pid\n");
		return 2;
	}
	snprintf(daemon_pid, sizeof(daemon_pid), "%s", pid);
	daemon_fds0 = daemon_fds();
	daemon_rings0 = daemon_rings();
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
