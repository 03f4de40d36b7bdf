/* SPDX-License-Identifier: MIT */
/*
 * Listings page (docs/protocol.md, "Listings"): one process holds
 * NCLIENTS connections, the first of them NPDS PDs.  Then, paging with a
 * small page size while other connections create and destroy PDs and
 * connect and disconnect between the pages, every PD and every
 * connection that existed throughout is listed exactly once and nothing
 * twice; the daemon's counts (ClientListReply.total, ResSummaryReply)
 * are exact.  Then it prints "ready" and holds everything until its
 * stdin closes, so tests/integration/list-paging.sh can check rdmactl
 * res and rdmactl client against the same objects.
 *
 * Usage: list-paging NCLIENTS NPDS
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "proto/rpc.h"

#define PAGE		97	/* small and odd: many pages, ragged ends */
#define CHURN		5	/* objects or connections changed per page */

#include "tests/lib/check.h"

static void die(const char *what, int err)
{
	printf("FAIL: %s: %s\n", what, strerror(err));
	exit(1);
}

static void rpc_open(struct rb_rpc *rpc, bool with_device)
{
	Rdmabroker__Request req = RDMABROKER__REQUEST__INIT;
	Rdmabroker__DeviceOpenReq q = RDMABROKER__DEVICE_OPEN_REQ__INIT;
	Rdmabroker__Reply *r;
	char err[256];
	int ret = rb_rpc_connect(rpc, NULL, "list-paging", err, sizeof(err));

	if (ret < 0) {
		printf("FAIL: connect: %s\n", err);
		exit(1);
	}
	if (!with_device)
		return;
	req.body_case = RDMABROKER__REQUEST__BODY_DEVICE_OPEN;
	req.device_open = &q;	/* device 0 */
	ret = rb_rpc_call_ok(rpc, &req, &r);
	if (ret < 0)
		die("device open", -ret);
	rb_rpc_reply_free(r);
}

static uint32_t pd_alloc(struct rb_rpc *rpc)
{
	Rdmabroker__Request req = RDMABROKER__REQUEST__INIT;
	Rdmabroker__PdAllocReq q = RDMABROKER__PD_ALLOC_REQ__INIT;
	Rdmabroker__Reply *r;
	uint32_t h;
	int ret;

	req.body_case = RDMABROKER__REQUEST__BODY_PD_ALLOC;
	req.pd_alloc = &q;
	ret = rb_rpc_call_ok(rpc, &req, &r);
	if (ret < 0)
		die("PD alloc", -ret);
	h = r->pd_alloc->handle;
	rb_rpc_reply_free(r);
	return h;
}

static void pd_dealloc(struct rb_rpc *rpc, uint32_t h)
{
	Rdmabroker__Request req = RDMABROKER__REQUEST__INIT;
	Rdmabroker__PdDeallocReq q = RDMABROKER__PD_DEALLOC_REQ__INIT;
	Rdmabroker__Reply *r;
	int ret;

	q.handle = h;
	req.body_case = RDMABROKER__REQUEST__BODY_PD_DEALLOC;
	req.pd_dealloc = &q;
	ret = rb_rpc_call_ok(rpc, &req, &r);
	if (ret < 0)
		die("PD dealloc", -ret);
	rb_rpc_reply_free(r);
}

/*
 * Churn: a ring of connections (with PDs) that come and go, and PDs of
 * the holder's own connection, interleaved with the stable ones, that are
 * freed and made again (in the freed slots, before and after the cursor).
 */
struct churn {
	struct rb_rpc conn[CHURN * 4];
	uint32_t pd[CHURN * 4];
	unsigned int next;
	struct rb_rpc *home;
	uint32_t *hpd;			/* the holder's churning PDs */
	long nh;
	unsigned int seed;
};

/* Replace CHURN connections and their PDs, and CHURN of home's PDs. */
static void churn_step(struct churn *c)
{
	for (int i = 0; i < CHURN && c->nh; i++) {
		long k = rand_r(&c->seed) % c->nh;

		pd_dealloc(c->home, c->hpd[k]);
		c->hpd[k] = pd_alloc(c->home);
	}
	for (int i = 0; i < CHURN; i++) {
		unsigned int k = c->next++ % (CHURN * 4);

		if (c->conn[k].fd >= 0) {
			pd_dealloc(&c->conn[k], c->pd[k]);
			rb_rpc_close(&c->conn[k]);
		}
		rpc_open(&c->conn[k], true);
		c->pd[k] = pd_alloc(&c->conn[k]);
	}
}

static void churn_fini(struct churn *c)
{
	for (unsigned int k = 0; k < CHURN * 4; k++)
		rb_rpc_close(&c->conn[k]);
	for (long k = 0; k < c->nh; k++)
		pd_dealloc(c->home, c->hpd[k]);
}

/* Index of (id, handle) among the stable PDs, or -1. */
static long stable_pd(uint64_t id, uint64_t holder, uint32_t handle,
		      const uint32_t *pds, long npds)
{
	if (id != holder)
		return -1;
	for (long lo = 0, hi = npds - 1; lo <= hi;) {	/* handles ascend */
		long mid = (lo + hi) / 2;

		if (pds[mid] == handle)
			return mid;
		if (pds[mid] < handle)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return -1;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* PDs of this process, page by page, with churn between pages. */
static void walk_pds(struct rb_rpc *rpc, uint64_t holder, uint32_t *pds,
		     long npds, struct churn *churn)
{
	Rdmabroker__Request req = RDMABROKER__REQUEST__INIT;
	Rdmabroker__ResShowReq q = RDMABROKER__RES_SHOW_REQ__INIT;
	unsigned char *seen = calloc((size_t)npds, 1);
	uint64_t last_id = 0;
	uint8_t cursor[64];
	long pages = 0, other = 0, twice = 0, missing = 0;
	Rdmabroker__Reply *r;
	bool more;

	q.has_pid = 1;
	q.pid = (uint32_t)getpid();
	q.type = (char *)"pd";
	q.has_page_size = 1;
	q.page_size = PAGE;
	req.body_case = RDMABROKER__REQUEST__BODY_RES_SHOW;
	req.res_show = &q;
	do {
		Rdmabroker__ResShowReply *m;
		int ret = rb_rpc_call_ok(rpc, &req, &r);

		if (ret < 0)
			die("res show", -ret);
		m = r->res_show;
		pages++;
		CHECK(m->n_entries <= PAGE, "a page of %zu entries", m->n_entries);
		for (size_t i = 0; i < m->n_entries; i++) {
			const Rdmabroker__ResEntry *e = m->entries[i];
			long k = stable_pd(e->client_id, holder, e->handle, pds, npds);

			CHECK(e->client_id >= last_id, "entries out of client order");
			last_id = e->client_id;
			if (k < 0)
				other++;	/* churn's, may or may not appear */
			else if (seen[k]++)
				twice++;
		}
		more = m->has_next_cursor;
		CHECK(more == (m->has_truncated && m->truncated), "truncated and next_cursor disagree");
		if (more) {
			memcpy(cursor, m->next_cursor.data, m->next_cursor.len);
			q.cursor.data = cursor;
			q.cursor.len = m->next_cursor.len;
			q.has_cursor = 1;
		}
		rb_rpc_reply_free(r);
		churn_step(churn);
	} while (more);
	for (long k = 0; k < npds; k++)
		missing += !seen[k];
	CHECK(twice == 0 && missing == 0,
	      "PDs over %ld pages: %ld listed twice, %ld of %ld missing", pages,
	      twice, missing, npds);
	CHECK(pages >= npds / PAGE, "%ld pages for %ld PDs", pages, npds);
	printf("walk: %ld PDs in %ld pages of %d, %ld of other connections seen meanwhile\n",
	       npds, pages, PAGE, other);
	free(seen);
}

/* Connections of this process, page by page, with churn between pages. */
static void walk_clients(struct rb_rpc *rpc, const uint64_t *ids, long n,
			 struct churn *churn)
{
	Rdmabroker__Request req = RDMABROKER__REQUEST__INIT;
	Rdmabroker__ClientListReq q = RDMABROKER__CLIENT_LIST_REQ__INIT;
	unsigned char *seen = calloc((size_t)n, 1);
	long pages = 0, twice = 0, missing = 0;
	uint64_t last = 0;
	uint8_t cursor[64];
	Rdmabroker__Reply *r;
	bool more;

	q.has_pid = 1;
	q.pid = (uint32_t)getpid();
	q.has_page_size = 1;
	q.page_size = PAGE;
	req.body_case = RDMABROKER__REQUEST__BODY_CLIENT_LIST;
	req.client_list = &q;
	do {
		Rdmabroker__ClientListReply *m;
		int ret = rb_rpc_call_ok(rpc, &req, &r);

		if (ret < 0)
			die("client list", -ret);
		m = r->client_list;
		pages++;
		for (size_t i = 0; i < m->n_clients; i++) {
			uint64_t id = m->clients[i]->id;

			CHECK(id > last, "client %" PRIu64 " after %" PRIu64, id, last);
			last = id;
			/* ids ascend in ids[] too */
			for (long lo = 0, hi = n - 1; lo <= hi;) {
				long mid = (lo + hi) / 2;

				if (ids[mid] == id) {
					twice += seen[mid]++ > 0;
					break;
				}
				if (ids[mid] < id)
					lo = mid + 1;
				else
					hi = mid - 1;
			}
		}
		more = m->has_next_cursor;
		if (more) {
			memcpy(cursor, m->next_cursor.data, m->next_cursor.len);
			q.cursor.data = cursor;
			q.cursor.len = m->next_cursor.len;
			q.has_cursor = 1;
		}
		rb_rpc_reply_free(r);
		churn_step(churn);
	} while (more);
	for (long k = 0; k < n; k++)
		missing += !seen[k];
	CHECK(twice == 0 && missing == 0,
	      "connections over %ld pages: %ld listed twice, %ld of %ld missing",
	      pages, twice, missing, n);
	printf("walk: %ld connections in %ld pages of %d\n", n, pages, PAGE);
	free(seen);
}

/* With nothing changing: the daemon's counts are exact. */
static void check_counts(struct rb_rpc *rpc, uint64_t holder, long nclients,
			 long npds)
{
	Rdmabroker__Request req = RDMABROKER__REQUEST__INIT;
	Rdmabroker__ClientListReq cq = RDMABROKER__CLIENT_LIST_REQ__INIT;
	Rdmabroker__ResSummaryReq sq = RDMABROKER__RES_SUMMARY_REQ__INIT;
	Rdmabroker__Reply *r;
	uint64_t pds = 0, held = 0;
	int ret;

	/* The churn's connections are gone once the daemon has read their
	 * hangups, which may come after our next request. */
	for (int tries = 0; tries < 200; tries++) {
		Rdmabroker__ClientListReq all = RDMABROKER__CLIENT_LIST_REQ__INIT;
		bool settled;

		all.has_pid = 1;
		all.pid = (uint32_t)getpid();
		all.has_page_size = 1;
		all.page_size = 1;
		req.body_case = RDMABROKER__REQUEST__BODY_CLIENT_LIST;
		req.client_list = &all;
		ret = rb_rpc_call_ok(rpc, &req, &r);
		if (ret < 0)
			die("client list", -ret);
		settled = r->client_list->total == (uint32_t)nclients;
		rb_rpc_reply_free(r);
		if (settled)
			break;
		usleep(50000);
	}
	cq.has_pid = 1;
	cq.pid = (uint32_t)getpid();
	cq.has_page_size = 1;
	cq.page_size = 10;
	req.body_case = RDMABROKER__REQUEST__BODY_CLIENT_LIST;
	req.client_list = &cq;
	ret = rb_rpc_call_ok(rpc, &req, &r);
	if (ret < 0)
		die("client list", -ret);
	CHECK(r->client_list->has_total && r->client_list->total == (uint32_t)nclients,
	      "ClientListReply.total %u, not %ld", r->client_list->total, nclients);
	CHECK(r->client_list->n_clients == 10 && r->client_list->has_next_cursor,
	      "a page of 10 of %ld", nclients);
	rb_rpc_reply_free(r);

	/* One page, from the first client on: the totals cover all. */
	sq.has_pid = 1;
	sq.pid = (uint32_t)getpid();
	sq.has_page_size = 1;
	sq.page_size = 1;
	req.body_case = RDMABROKER__REQUEST__BODY_RES_SUMMARY;
	req.res_summary = &sq;
	ret = rb_rpc_call_ok(rpc, &req, &r);
	if (ret < 0)
		die("res summary", -ret);
	for (size_t i = 0; i < r->res_summary->n_totals; i++) {
		held += r->res_summary->totals[i]->count;
		if (!strcmp(r->res_summary->totals[i]->type, "pd"))
			pds = r->res_summary->totals[i]->count;
	}
	CHECK(pds == (uint64_t)npds && held == pds, "summary totals: %" PRIu64
	      " PDs, %" PRIu64 " objects; %ld PDs held", pds, held, npds);
	CHECK(r->res_summary->n_clients == 1 &&
	      r->res_summary->clients[0]->client_id == holder,
	      "the first summary row is the holder");
	rb_rpc_reply_free(r);
}

int main(int argc, char **argv)
{
	long nclients = argc > 2 ? atol(argv[1]) : 0, npds = argc > 2 ? atol(argv[2]) : 0;
	struct rb_rpc *conns;
	struct churn churn;
	struct rlimit rl;
	uint32_t *pds;
	uint64_t *ids;
	char c;

	if (nclients < 1 || npds < 1) {
		fprintf(stderr, "usage: list-paging NCLIENTS NPDS\n");
		return 2;
	}
	/* One fd per connection, the churn's and a margin. */
	getrlimit(RLIMIT_NOFILE, &rl);
	rl.rlim_cur = rl.rlim_max;
	setrlimit(RLIMIT_NOFILE, &rl);
	if (rl.rlim_cur < (rlim_t)nclients + CHURN * 4 + 64) {
		printf("SKIP: RLIMIT_NOFILE %lu is too low for %ld connections\n",
		       (unsigned long)rl.rlim_cur, nclients);
		return 77;
	}
	conns = calloc((size_t)nclients, sizeof(*conns));
	pds = calloc((size_t)npds, sizeof(*pds));
	ids = calloc((size_t)nclients, sizeof(*ids));
	if (!conns || !pds || !ids)
		die("calloc", ENOMEM);
	memset(&churn, 0, sizeof(churn));
	for (unsigned int k = 0; k < CHURN * 4; k++)
		churn.conn[k].fd = -1;
	churn.home = &conns[0];
	churn.hpd = calloc((size_t)npds / 10 + 1, sizeof(*churn.hpd));
	churn.seed = 15;
	rpc_open(&conns[0], true);
	/* One churning PD after every tenth stable one. */
	for (long i = 0; i < npds; i++) {
		pds[i] = pd_alloc(&conns[0]);
		if (i % 10 == 9)
			churn.hpd[churn.nh++] = pd_alloc(&conns[0]);
	}
	qsort(pds, (size_t)npds, sizeof(*pds), cmp_u32);
	for (long i = 1; i < nclients; i++)
		rpc_open(&conns[i], false);
	for (long i = 0; i < nclients; i++)
		ids[i] = conns[i].client_id;	/* ascending: opened in order */
	walk_pds(&conns[0], conns[0].client_id, pds, npds, &churn);
	walk_clients(&conns[0], ids, nclients, &churn);
	churn_fini(&churn);
	check_counts(&conns[0], conns[0].client_id, nclients, npds);
	printf("list-paging: %d checks, %d failed\n", checks, failures);
	if (failures)
		return 1;

	printf("ready\n");
	fflush(stdout);
	while (read(0, &c, 1) > 0)
		;
	for (long i = 0; i < nclients; i++)
		rb_rpc_close(&conns[i]);
	free(churn.hpd);
	free(conns);
	free(pds);
	free(ids);
	return 0;
}
