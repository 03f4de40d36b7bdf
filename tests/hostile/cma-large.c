/* SPDX-License-Identifier: MIT */
/*
 * A transfer of more than 0x7ffff000 bytes into memory the daemon reaches
 * through the client's /proc/PID/mem (issue 14): one RDMA WRITE of 2 GiB
 * from ordinary memory into a MAP_SHARED mapping of a tmpfs file (a CMA
 * region).  One pread/pwrite moves at most 0x7ffff000 bytes, and the
 * engine took the short count for a failure after a partial copy; the
 * copies now go in bounded chunks.  `cma-large FILE` (FILE on a tmpfs);
 * exit 0 pass, 1 fail.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "tests/lib/datatest.h"

#define LEN	(1ull << 31)

int main(int argc, char **argv)
{
	static const uint64_t at[] = { 0, 0x7ffff000 - 8, 0x7ffff000, LEN - 8 };
	struct ibv_qp_cap cap = { .max_send_wr = 4, .max_recv_wr = 4,
				  .max_send_sge = 1, .max_recv_sge = 1 };
	struct dt_node n = { 0 };
	struct dt_buf src = { 0 };
	struct ibv_qp *a, *b;
	struct ibv_mr *dmr;
	struct ibv_wc wc;
	uint8_t *dst;
	int fd, ret = 1;

	if (argc != 2)
		return 99;
	fd = open(argv[1], O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || ftruncate(fd, (off_t)LEN) < 0) {
		perror(argv[1]);
		return 1;
	}
	dst = mmap(NULL, LEN, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (dst == MAP_FAILED || dt_node_open(&n, 16, false) < 0 ||
	    dt_buf_alloc(&src, n.pd, LEN, IBV_ACCESS_LOCAL_WRITE) < 0) {
		fprintf(stderr, "cma-large: setup: %s\n", strerror(errno));
		return 1;
	}
	for (size_t i = 0; i < sizeof(at) / sizeof(at[0]); i++)
		memcpy(src.p + at[i], "ABCDEFGH", 8);
	dmr = ibv_reg_mr(n.pd, dst, LEN, IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE);
	a = dt_qp_create(&n, IBV_QPT_RC, &cap, NULL, NULL, 1);
	b = dt_qp_create(&n, IBV_QPT_RC, &cap, NULL, NULL, 1);
	if (!dmr || !a || !b || dt_qp_connect(a, b, NULL) < 0) {
		fprintf(stderr, "cma-large: MR or QPs: %s\n", strerror(errno));
		return 1;
	}
	{
		struct ibv_sge sge = { (uintptr_t)src.p, (uint32_t)LEN, src.mr->lkey };
		struct ibv_send_wr wr = {
			.wr_id = 1, .sg_list = &sge, .num_sge = 1,
			.opcode = IBV_WR_RDMA_WRITE, .send_flags = IBV_SEND_SIGNALED,
			.wr.rdma = { (uintptr_t)dst, dmr->rkey },
		}, *bad;

		/* A 32-bit SGE length: 2^31 fits (max_msg_sz is 2^31). */
		if (ibv_post_send(a, &wr, &bad)) {
			fprintf(stderr, "cma-large: post: %s\n", strerror(errno));
			return 1;
		}
	}
	if (dt_poll(n.scq, &wc, 1, 120000) != 1) {
		fprintf(stderr, "cma-large: no completion in 120 s\n");
		return 1;
	}
	if (wc.status != IBV_WC_SUCCESS) {
		fprintf(stderr, "cma-large: the 2 GiB WRITE completed with %s\n",
			ibv_wc_status_str(wc.status));
		goto out;
	}
	for (size_t i = 0; i < sizeof(at) / sizeof(at[0]); i++)
		if (memcmp(dst + at[i], "ABCDEFGH", 8)) {
			fprintf(stderr, "cma-large: byte %#llx not written\n",
				(unsigned long long)at[i]);
			goto out;
		}
	printf("cma-large: 2 GiB written into a CMA region\n");
	ret = 0;
out:
	ibv_destroy_qp(a);
	ibv_destroy_qp(b);
	ibv_dereg_mr(dmr);
	dt_buf_free(&src);
	dt_node_close(&n);
	munmap(dst, LEN);
	unlink(argv[1]);
	return ret;
}
