/* SPDX-License-Identifier: MIT */
/*
 * Memory that never answers (issue 14): a FUSE filesystem whose read never
 * returns, and a client that registers a mapping of one of its files.
 *
 *   fuse-hang fs MOUNTPOINT   serve the filesystem (foreground; libfuse3,
 *                             mounted through fusermount3 when not root):
 *                             /file, 1 MiB, whose reads sleep forever
 *   fuse-hang reg FILE        map FILE, register it (ibv_reg_mr: a file
 *                             mapping goes as a CMA region), say how that
 *                             went, try once more, then hold on until
 *                             stdin closes
 *   fuse-hang write FILE      register shared anonymous memory (a CMA
 *                             region the daemon can read), then map FILE
 *                             over it and RDMA WRITE into it from another
 *                             QP: say what completion came and when, then
 *                             hold on until stdin closes
 *
 * The daemon must refuse or fail the region within its memory_timeout_ms
 * and go on serving everyone else (tests/hostile/fuse-hang.sh).
 */
#include "config.h"

#define FUSE_USE_VERSION 31

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <fuse.h>
#include <infiniband/verbs.h>

#include "tests/lib/datatest.h"

#define HANG_SIZE	(1u << 20)

static int hang_getattr(const char *path, struct stat *st,
			struct fuse_file_info *fi)
{
	(void)fi;
	memset(st, 0, sizeof(*st));
	if (!strcmp(path, "/")) {
		st->st_mode = S_IFDIR | 0755;
		st->st_nlink = 2;
		return 0;
	}
	if (!strcmp(path, "/file")) {
		st->st_mode = S_IFREG | 0644;
		st->st_nlink = 1;
		st->st_size = HANG_SIZE;
		return 0;
	}
	return -ENOENT;
}

static int hang_open(const char *path, struct fuse_file_info *fi)
{
	(void)fi;
	return strcmp(path, "/file") ? -ENOENT : 0;
}

/* Never answers: the point of the filesystem. */
static int hang_read(const char *path, char *buf, size_t size, off_t off,
		     struct fuse_file_info *fi)
{
	(void)path;
	(void)buf;
	(void)size;
	(void)off;
	(void)fi;
	for (;;)
		pause();
	return 0;
}

static const struct fuse_operations hang_ops = {
	.getattr = hang_getattr,
	.open = hang_open,
	.read = hang_read,
};

static int hang_fs(const char *mnt)
{
	static char name[] = "fuse-hang", fg[] = "-f";
	char *args[] = { name, fg, (char *)mnt, NULL };

	return fuse_main(3, args, &hang_ops, NULL);
}

static double hang_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int hang_reg(const char *file)
{
	struct ibv_device **list;
	struct ibv_context *ctx;
	struct ibv_pd *pd;
	void *p;
	char c;
	int fd;

	fd = open(file, O_RDONLY);
	if (fd < 0) {
		perror(file);
		return 1;
	}
	p = mmap(NULL, HANG_SIZE, PROT_READ, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	list = ibv_get_device_list(NULL);
	if (!list || !list[0]) {
		fprintf(stderr, "no device\n");
		return 1;
	}
	ctx = ibv_open_device(list[0]);
	pd = ctx ? ibv_alloc_pd(ctx) : NULL;
	if (!pd) {
		fprintf(stderr, "open/alloc_pd: %s\n", strerror(errno));
		return 1;
	}
	for (int i = 0; i < 2; i++) {
		double t = hang_now();
		struct ibv_mr *mr = ibv_reg_mr(pd, p, HANG_SIZE, 0);

		printf("reg_mr %d: %s after %.3f s\n", i, mr ? "registered" : strerror(errno),
		       hang_now() - t);
		fflush(stdout);
	}
	/* Hold everything until told. */
	while (read(0, &c, 1) > 0)
		;
	return 0;
}

/* A region registered while it was readable, a never-answering file later. */
static int hang_write(const char *file)
{
	struct ibv_qp_cap cap = { .max_send_wr = 4, .max_recv_wr = 4,
				  .max_send_sge = 1, .max_recv_sge = 1 };
	struct dt_node n = { 0 };
	struct dt_buf src = { 0 };
	struct ibv_qp *a, *b;
	struct ibv_mr *mr;
	struct ibv_wc wc;
	uint8_t *p;
	double t;
	char c;
	int fd;

	fd = open(file, O_RDONLY);
	p = mmap(NULL, HANG_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (fd < 0 || p == MAP_FAILED || dt_node_open(&n, 16, false) < 0 ||
	    dt_buf_alloc(&src, n.pd, 4096, IBV_ACCESS_LOCAL_WRITE) < 0) {
		perror("setup");
		return 1;
	}
	mr = ibv_reg_mr(n.pd, p, HANG_SIZE, IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE);
	a = dt_qp_create(&n, IBV_QPT_RC, &cap, NULL, NULL, 1);
	b = dt_qp_create(&n, IBV_QPT_RC, &cap, NULL, NULL, 1);
	if (!mr || !a || !b || dt_qp_connect(a, b, NULL) < 0) {
		fprintf(stderr, "reg_mr or QPs: %s\n", strerror(errno));
		return 1;
	}
	printf("registered\n");
	fflush(stdout);	/* before the file: this process may hang on it (allowed) */
	/* Now the file: a write into its private page reads the file first. */
	if (mmap(p, HANG_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_FIXED, fd, 0) == MAP_FAILED) {
		perror("mmap over");
		return 1;
	}
	{
		struct ibv_sge sge = { (uintptr_t)src.p, 4096, src.mr->lkey };
		struct ibv_send_wr wr = {
			.wr_id = 1, .sg_list = &sge, .num_sge = 1,
			.opcode = IBV_WR_RDMA_WRITE, .send_flags = IBV_SEND_SIGNALED,
			.wr.rdma = { (uintptr_t)p, mr->rkey },
		}, *bad;

		t = hang_now();
		if (ibv_post_send(a, &wr, &bad)) {
			perror("post");
			return 1;
		}
	}
	if (dt_poll(n.scq, &wc, 1, 30000) != 1)
		printf("write: no completion in 30 s\n");
	else
		printf("write: %s after %.3f s\n", ibv_wc_status_str(wc.status), hang_now() - t);
	fflush(stdout);
	while (read(0, &c, 1) > 0)
		;
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "fs"))
		return hang_fs(argv[2]);
	if (argc == 3 && !strcmp(argv[1], "reg"))
		return hang_reg(argv[2]);
	if (argc == 3 && !strcmp(argv[1], "write"))
		return hang_write(argv[2]);
	fprintf(stderr, "usage: fuse-hang fs MOUNTPOINT | reg FILE | write FILE\n");
	return 99;
}
