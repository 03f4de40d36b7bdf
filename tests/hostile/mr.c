/* SPDX-License-Identifier: MIT */
/*
 * A client that changes the memfd behind its registered memory: the
 * daemon maps the arena memfd librdmabroker re-backs registered pages
 * with, so a client that could shrink it would make the engine fault
 * (SIGBUS) on the next RDMA access.  The daemon demands F_SEAL_SHRINK:
 * shrinking must fail; punching holes is allowed and must be harmless
 * (the pages come back as zeros).  After both, RDMA WRITE and READ into
 * the region complete, and the daemon lives.  Run by hostile-mr.sh.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/lib/datatest.h"

#define LEN (64 * 1024)

#define CHECK(cond, ...) do { if (!(cond)) { \
	fprintf(stderr, "hostile-mr: FAIL: " __VA_ARGS__); \
	fputc('\n', stderr); exit(1); } } while (0)

/* Our own descriptor of librdmabroker's arena, opened anew (O_RDWR). */
static int arena_open(void)
{
	char path[300], link[256];
	struct dirent *e;
	DIR *d = opendir("/proc/self/fd");
	int fd = -1;

	CHECK(d, "opendir");
	while ((e = readdir(d)) && fd < 0) {
		ssize_t n;

		snprintf(path, sizeof(path), "/proc/self/fd/%s", e->d_name);
		n = readlink(path, link, sizeof(link) - 1);
		if (n <= 0)
			continue;
		link[n] = '\0';
		if (strstr(link, "/memfd:rdmabroker-mr"))
			fd = open(path, O_RDWR | O_CLOEXEC);
	}
	closedir(d);
	return fd;
}

static void rdma(struct ibv_qp *qp, struct ibv_cq *cq, enum ibv_wr_opcode op,
		 struct dt_buf *local, struct dt_buf *remote, const char *what)
{
	struct ibv_sge sge = {
		.addr = (uintptr_t)local->p, .length = LEN, .lkey = local->mr->lkey,
	};
	struct ibv_send_wr wr = {
		.wr_id = 7, .sg_list = &sge, .num_sge = 1, .opcode = op,
		.send_flags = IBV_SEND_SIGNALED,
		.wr.rdma = { .remote_addr = (uintptr_t)remote->p,
			     .rkey = remote->mr->rkey },
	}, *bad;
	struct ibv_wc wc;

	CHECK(ibv_post_send(qp, &wr, &bad) == 0, "%s: post", what);
	CHECK(dt_poll(cq, &wc, 1, DT_TIMEOUT_MS) == 1, "%s: no completion", what);
	CHECK(wc.status == IBV_WC_SUCCESS, "%s: %s", what,
	      ibv_wc_status_str(wc.status));
}

int main(void)
{
	struct dt_node a = { 0 }, b = { 0 };
	struct dt_buf la = { 0 }, rb = { 0 };
	struct ibv_qp_cap cap = { .max_send_wr = 4, .max_recv_wr = 4,
				  .max_send_sge = 1, .max_recv_sge = 1 };
	struct ibv_qp *qa, *qb;
	int arena;

	CHECK(dt_node_open(&a, 16, false) == 0, "node a");
	CHECK(dt_node_open(&b, 16, false) == 0, "node b");
	CHECK(dt_buf_alloc(&la, a.pd, LEN, DT_ACCESS_ALL) == 0, "buffer a");
	CHECK(dt_buf_alloc(&rb, b.pd, LEN, DT_ACCESS_ALL) == 0, "buffer b");
	qa = dt_qp_create(&a, IBV_QPT_RC, &cap, NULL, NULL, 0);
	qb = dt_qp_create(&b, IBV_QPT_RC, &cap, NULL, NULL, 0);
	CHECK(qa && qb && dt_qp_connect(qa, qb, NULL) == 0, "RC pair");

	arena = arena_open();
	CHECK(arena >= 0, "no arena memfd found (were the buffers re-backed?)");
	CHECK(ftruncate(arena, 0) < 0 && errno == EPERM,
	      "the arena of registered memory could be shrunk");
	CHECK(ftruncate(arena, 4096) < 0 && errno == EPERM,
	      "the arena could be shrunk to a page");
	/* Holes: the daemon's mapping refaults zero pages, no SIGBUS. */
	memset(rb.p, 0x5a, LEN);
	CHECK(fallocate(arena, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0,
			1 << 30) == 0, "punch: %s", strerror(errno));
	CHECK(rb.p[0] == 0 && rb.p[LEN - 1] == 0, "the hole is not zeros");

	memset(la.p, 0xa5, LEN);
	rdma(qa, a.scq, IBV_WR_RDMA_WRITE, &la, &rb, "RDMA WRITE into the hole");
	CHECK(rb.p[0] == 0xa5 && rb.p[LEN - 1] == 0xa5, "the write did not land");
	CHECK(fallocate(arena, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0,
			1 << 30) == 0, "punch again");
	rdma(qa, a.scq, IBV_WR_RDMA_READ, &la, &rb, "RDMA READ of the hole");
	CHECK(la.p[0] == 0 && la.p[LEN - 1] == 0, "the read did not bring zeros");
	close(arena);

	ibv_destroy_qp(qa);
	ibv_destroy_qp(qb);
	dt_buf_free(&la);
	dt_buf_free(&rb);
	dt_node_close(&a);
	dt_node_close(&b);
	printf("hostile-mr: shrink refused, holes harmless, RDMA WRITE/READ fine\n");
	return 0;
}
