/* SPDX-License-Identifier: MIT */
/*
 * An ordinary libibverbs program for tests/integration/rootless.sh, linked with
 * -libverbs only (run under rdmab-run): register SIZE MiB of anonymous
 * memory on the first device, write both ends of it, then try EXTRA more
 * 4 KiB registrations and say which one the daemon refused.  It prints
 * "ready" and holds everything until its standard input reaches EOF, so
 * the test can look at it from outside (rdmactl -j client).
 * Usage: rootless-regmr SIZE_MIB EXTRA.  Exit 0 when the big registration
 * succeeded, 1 otherwise.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include <infiniband/verbs.h>

#define REGMR_MAX_EXTRA 64

int main(int argc, char **argv)
{
	struct ibv_mr *small[REGMR_MAX_EXTRA] = { 0 };
	struct ibv_device **devs = NULL;
	struct ibv_context *ctx = NULL;
	struct ibv_pd *pd = NULL;
	struct ibv_mr *mr = NULL;
	char page[4096 * REGMR_MAX_EXTRA] __attribute__((aligned(4096)));
	struct rlimit rl;
	size_t size;
	char *buf = MAP_FAILED;
	int extra, n, i, rc = 1;
	char c;

	if (argc != 3) {
		fprintf(stderr, "usage: rootless-regmr SIZE_MIB EXTRA\n");
		return 2;
	}
	size = strtoull(argv[1], NULL, 10) << 20;
	extra = atoi(argv[2]);
	if (extra < 0 || extra > REGMR_MAX_EXTRA)
		extra = REGMR_MAX_EXTRA;
	if (getrlimit(RLIMIT_MEMLOCK, &rl) == 0)
		printf("RLIMIT_MEMLOCK %llu\n", (unsigned long long)rl.rlim_cur);

	devs = ibv_get_device_list(&n);
	if (!devs || n < 1) {
		printf("no device: %s\n", strerror(errno));
		goto out;
	}
	ctx = ibv_open_device(devs[0]);
	pd = ctx ? ibv_alloc_pd(ctx) : NULL;
	if (!pd) {
		printf("open/alloc_pd: %s\n", strerror(errno));
		goto out;
	}
	buf = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (buf == MAP_FAILED) {
		printf("mmap: %s\n", strerror(errno));
		goto out;
	}
	mr = ibv_reg_mr(pd, buf, size, IBV_ACCESS_LOCAL_WRITE |
			IBV_ACCESS_REMOTE_WRITE | IBV_ACCESS_REMOTE_READ);
	if (!mr) {
		printf("reg_mr %zu MiB: %s\n", size >> 20, strerror(errno));
		goto out;
	}
	/* The memory stays the program's: both ends are writable. */
	buf[0] = 1;
	buf[size - 1] = 2;
	printf("reg_mr %zu MiB ok\n", size >> 20);
	rc = 0;

	memset(page, 0, sizeof(page));
	for (i = 0; i < extra; i++) {
		small[i] = ibv_reg_mr(pd, page + 4096 * i, 4096, IBV_ACCESS_LOCAL_WRITE);
		if (!small[i]) {
			printf("extra mr %d refused: %s\n", i + 1, strerror(errno));
			break;
		}
		printf("extra mr %d ok\n", i + 1);
	}
	printf("ready\n");
	fflush(stdout);
	while (read(STDIN_FILENO, &c, 1) > 0)
		;
out:
	for (i = 0; i < REGMR_MAX_EXTRA; i++)
		if (small[i])
			ibv_dereg_mr(small[i]);
	if (mr)
		ibv_dereg_mr(mr);
	if (buf != MAP_FAILED)
		munmap(buf, size);
	if (pd)
		ibv_dealloc_pd(pd);
	if (ctx)
		ibv_close_device(ctx);
	if (devs)
		ibv_free_device_list(devs);
	return rc;
}
