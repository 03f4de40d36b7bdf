/* SPDX-License-Identifier: MIT */
/*
 * Memory registration through librdmabroker and a real daemon
 * (tests/integration/mr.sh: [limits] mrs = 80, pinned_bytes = 1M; RB_DAEMON_PID).
 * Ordinary memory keeps its address and contents through registration and
 * deregistration; the daemon maps the very pages (zero-copy) and lets go
 * of them again; memory that cannot be re-backed is registered for the
 * daemon to reach through our /proc/self/mem; invalid requests fail as
 * libibverbs' do.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <infiniband/verbs.h>

#include "tests/lib/clienttest.h"

static struct ibv_device **list;
static struct ibv_context *ctx;
static struct ibv_pd *pd;
static long page;

static int setup(void **state)
{
	(void)state;
	page = sysconf(_SC_PAGESIZE);
	if (ct_open(&list, &ctx) < 0)
		return -1;
	pd = ibv_alloc_pd(ctx);
	return pd ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	ibv_dealloc_pd(pd);
	ct_close(list, ctx);
	return 0;
}

#define mr_maps(pid) ct_memfd_maps(pid, "rdmabroker-mr")

static int daemon_mr_maps(void)
{
	const char *pid = getenv("RB_DAEMON_PID");

	return pid ? mr_maps(pid) : 0;
}

static void fill(unsigned char *p, size_t n, unsigned char seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (unsigned char)(seed + i * 7);
}

static void check(const unsigned char *p, size_t n, unsigned char seed)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != (unsigned char)(seed + i * 7))
			fail_msg("byte %zu is %u, want %u", i, p[i],
				 (unsigned char)(seed + i * 7));
}

static void test_malloc_keeps_address_and_contents(void **state)
{
	/* Two buffers sharing pages: registering one must not hurt the other. */
	unsigned char *a = malloc(3000), *b = malloc(3000);
	int self0 = mr_maps("self"), daemon0 = daemon_mr_maps();
	struct ibv_mr *mr;

	(void)state;
	assert_non_null(a);
	assert_non_null(b);
	fill(a, 3000, 1);
	fill(b, 3000, 2);
	mr = ibv_reg_mr(pd, a + 5, 2000, IBV_ACCESS_LOCAL_WRITE |
			IBV_ACCESS_REMOTE_WRITE | IBV_ACCESS_REMOTE_READ);
	assert_non_null(mr);
	assert_ptr_equal(mr->addr, a + 5);
	assert_int_equal(mr->length, 2000);
	assert_ptr_equal(mr->pd, pd);
	assert_ptr_equal(mr->context, ctx);
	assert_int_not_equal(mr->lkey, 0);
	assert_int_not_equal(mr->rkey, 0);
	check(a, 3000, 1);
	check(b, 3000, 2);
	/* The pages are the arena's now, here and in the daemon. */
	assert_true(mr_maps("self") > self0);
	if (getenv("RB_DAEMON_PID"))
		assert_true(daemon_mr_maps() > daemon0);
	fill(a, 3000, 3);		/* writable as before */
	fill(b, 3000, 4);
	assert_int_equal(ibv_dereg_mr(mr), 0);
	check(a, 3000, 3);
	check(b, 3000, 4);
	assert_int_equal(mr_maps("self"), self0);
	assert_int_equal(daemon_mr_maps(), daemon0);
	fill(a, 3000, 5);
	check(a, 3000, 5);
	free(a);
	free(b);
}

static void test_memalign(void **state)
{
	void *p = NULL;
	int self0 = mr_maps("self");
	struct ibv_mr *mr;

	(void)state;
	assert_int_equal(posix_memalign(&p, (size_t)page, 3 * (size_t)page), 0);
	fill(p, 3 * (size_t)page, 13);
	mr = ibv_reg_mr(pd, p, 3 * (size_t)page, IBV_ACCESS_LOCAL_WRITE |
			IBV_ACCESS_REMOTE_ATOMIC);
	assert_non_null(mr);
	check(p, 3 * (size_t)page, 13);
	assert_int_equal(ibv_dereg_mr(mr), 0);
	assert_int_equal(mr_maps("self"), self0);
	check(p, 3 * (size_t)page, 13);
	free(p);
}

static void test_shared_pages_and_overlap(void **state)
{
	unsigned char *p = mmap(NULL, 6 * page, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int self0 = mr_maps("self");
	struct ibv_mr *m1, *m2, *m3, *m4;

	(void)state;
	assert_true(p != MAP_FAILED);
	fill(p, 6 * page, 9);
	m1 = ibv_reg_mr(pd, p + page, 2 * page, IBV_ACCESS_LOCAL_WRITE);
	assert_non_null(m1);
	/* Inside the same pages, across their end, around them: all fine. */
	m2 = ibv_reg_mr(pd, p + page + 100, 500, IBV_ACCESS_LOCAL_WRITE);
	m3 = ibv_reg_mr(pd, p + 2 * page + 7, 2 * page, IBV_ACCESS_LOCAL_WRITE);
	m4 = ibv_reg_mr(pd, p, 6 * page, IBV_ACCESS_LOCAL_WRITE);
	assert_non_null(m2);
	assert_non_null(m3);
	assert_non_null(m4);
	assert_int_not_equal(m1->lkey, m2->lkey);
	check(p, 6 * page, 9);
	fill(p, 6 * page, 10);
	assert_int_equal(ibv_dereg_mr(m1), 0);
	assert_true(mr_maps("self") > self0);	/* the others are still there */
	check(p, 6 * page, 10);
	assert_int_equal(ibv_dereg_mr(m4), 0);
	check(p, 6 * page, 10);
	assert_int_equal(ibv_dereg_mr(m2), 0);
	assert_int_equal(ibv_dereg_mr(m3), 0);
	assert_int_equal(mr_maps("self"), self0);
	check(p, 6 * page, 10);
	munmap(p, 6 * page);
}

static void test_invalid(void **state)
{
	char buf[64];
	void *gone;

	(void)state;
#define REG_FAILS(err, a, l, acc) do { errno = 0; \
		assert_null(ibv_reg_mr(pd, a, l, acc)); assert_int_equal(errno, err); } while (0)
	/* Remote write or atomic needs local write, as in libibverbs. */
	REG_FAILS(EINVAL, buf, sizeof(buf), IBV_ACCESS_REMOTE_WRITE);
	REG_FAILS(EINVAL, buf, sizeof(buf), IBV_ACCESS_REMOTE_ATOMIC);
	REG_FAILS(EINVAL, buf, 0, IBV_ACCESS_LOCAL_WRITE);
	REG_FAILS(EINVAL, NULL, 64, IBV_ACCESS_LOCAL_WRITE);
	REG_FAILS(EINVAL, buf, sizeof(buf), IBV_ACCESS_ZERO_BASED);
	REG_FAILS(EOPNOTSUPP, buf, sizeof(buf), IBV_ACCESS_ON_DEMAND);
	gone = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(gone != MAP_FAILED);
	munmap(gone, page);
	REG_FAILS(EFAULT, gone, 16, IBV_ACCESS_LOCAL_WRITE);
#undef REG_FAILS
}

static void test_cma_fallback(void **state)
{
	char path[] = "/tmp/rbmr.XXXXXX";
	int fd = mkstemp(path), self0 = mr_maps("self");
	unsigned char *p, stackbuf[256];
	struct ibv_mr *m1, *m2;

	(void)state;
	assert_true(fd >= 0);
	unlink(path);
	assert_int_equal(ftruncate(fd, 2 * page), 0);
	/* A shared file mapping must keep writing to its file: not re-backed. */
	p = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	assert_true(p != MAP_FAILED);
	fill(p, 2 * page, 6);
	m1 = ibv_reg_mr(pd, p, 2 * page, IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_READ);
	assert_non_null(m1);
	fill(stackbuf, sizeof(stackbuf), 8);
	m2 = ibv_reg_mr(pd, stackbuf, sizeof(stackbuf), IBV_ACCESS_LOCAL_WRITE);
	assert_non_null(m2);
	assert_int_equal(mr_maps("self"), self0);
	check(p, 2 * page, 6);
	check(stackbuf, sizeof(stackbuf), 8);
	assert_int_equal(ibv_dereg_mr(m1), 0);
	assert_int_equal(ibv_dereg_mr(m2), 0);
	munmap(p, 2 * page);
	close(fd);
}

/*
 * ibv_reg_dmabuf_mr takes a memfd sealed against shrinking (what a broker
 * device can map) by offset, with its own IOVA; no page of ours moves.
 * An unsealed memfd and a file are refused.
 */
static void test_dmabuf(void **state)
{
	char path[] = "/tmp/rbmr.XXXXXX";
	int mfd = memfd_create("rbtest-dmabuf", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	int open_fd = memfd_create("rbtest-unsealed", MFD_CLOEXEC);
	int file = mkstemp(path), self0 = mr_maps("self");
	unsigned char *p;
	struct ibv_mr *m;

	(void)state;
	assert_true(mfd >= 0 && open_fd >= 0 && file >= 0);
	unlink(path);
	assert_int_equal(ftruncate(mfd, 4 * page), 0);
	assert_int_equal(ftruncate(open_fd, 4 * page), 0);
	assert_int_equal(ftruncate(file, 4 * page), 0);
	assert_int_equal(fcntl(mfd, F_ADD_SEALS, F_SEAL_SHRINK), 0);
	p = mmap(NULL, 4 * page, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
	assert_true(p != MAP_FAILED);
	fill(p, 4 * page, 9);
	m = ibv_reg_dmabuf_mr(pd, page + 100, 2 * page, 0x10000064, mfd,
			      IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE);
	assert_non_null(m);
	assert_int_equal((uintptr_t)m->addr, 0x10000064);
	assert_int_equal(m->length, 2 * page);
	assert_int_equal(mr_maps("self"), self0);
	check(p, 4 * page, 9);
	assert_int_equal(ibv_dereg_mr(m), 0);
	errno = 0;
	assert_null(ibv_reg_dmabuf_mr(pd, 0, page, 0, open_fd, IBV_ACCESS_LOCAL_WRITE));
	assert_int_equal(errno, EINVAL);
	errno = 0;
	assert_null(ibv_reg_dmabuf_mr(pd, 0, page, 0, file, IBV_ACCESS_LOCAL_WRITE));
	assert_int_equal(errno, EINVAL);
	errno = 0;
	assert_null(ibv_reg_dmabuf_mr(pd, 0, 0, 0, mfd, IBV_ACCESS_LOCAL_WRITE));
	assert_int_equal(errno, EINVAL);
	munmap(p, 4 * page);
	close(mfd);
	close(open_fd);
	close(file);
}

static void test_keys_unique_and_busy_pd(void **state)
{
	enum { N = 50 };
	struct ibv_mr *mr[N];
	unsigned char *buf = malloc(N * 64);
	struct ibv_pd *pd2 = ibv_alloc_pd(ctx);

	(void)state;
	assert_non_null(buf);
	assert_non_null(pd2);
	for (int i = 0; i < N; i++) {
		mr[i] = ibv_reg_mr(pd2, buf + i * 64, 64, IBV_ACCESS_LOCAL_WRITE);
		assert_non_null(mr[i]);
		assert_int_not_equal(mr[i]->lkey, mr[i]->rkey);
		for (int j = 0; j < i; j++) {
			assert_int_not_equal(mr[i]->lkey, mr[j]->lkey);
			assert_int_not_equal(mr[i]->rkey, mr[j]->rkey);
		}
	}
	/* Keys are not small sequential numbers. */
	assert_true(mr[1]->lkey != mr[0]->lkey + 1 || mr[2]->lkey != mr[1]->lkey + 1);
	assert_int_equal(ibv_dealloc_pd(pd2), EBUSY);
	for (int i = 0; i < N; i++)
		assert_int_equal(ibv_dereg_mr(mr[i]), 0);
	assert_int_equal(ibv_dealloc_pd(pd2), 0);
	free(buf);
}

static void test_rereg(void **state)
{
	unsigned char *a = malloc(5000);
	unsigned char *b = mmap(NULL, 3 * page, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct ibv_pd *pd2 = ibv_alloc_pd(ctx);
	int self0 = mr_maps("self");
	void *gone;
	struct ibv_mr *mr;

	(void)state;
	assert_non_null(a);
	assert_true(b != MAP_FAILED);
	assert_non_null(pd2);
	fill(a, 5000, 21);
	fill(b, 3 * page, 22);
	mr = ibv_reg_mr(pd, a, 5000, IBV_ACCESS_LOCAL_WRITE);
	assert_non_null(mr);

	/* Bad input changes nothing. */
	errno = 0;
	assert_int_equal(ibv_rereg_mr(mr, 0, NULL, NULL, 0, 0), IBV_REREG_MR_ERR_INPUT);
	assert_int_equal(errno, EINVAL);
	errno = 0;
	assert_int_equal(ibv_rereg_mr(mr, IBV_REREG_MR_CHANGE_ACCESS, NULL, NULL, 0,
				      IBV_ACCESS_REMOTE_WRITE), IBV_REREG_MR_ERR_INPUT);
	assert_int_equal(errno, EINVAL);
	gone = mmap(NULL, page, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	munmap(gone, page);
	errno = 0;
	assert_int_equal(ibv_rereg_mr(mr, IBV_REREG_MR_CHANGE_TRANSLATION, NULL, gone,
				      100, 0), IBV_REREG_MR_ERR_INPUT);
	assert_int_equal(errno, EFAULT);

	/* Access and PD. */
	assert_int_equal(ibv_rereg_mr(mr, IBV_REREG_MR_CHANGE_ACCESS, NULL, NULL, 0,
				      IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_READ), 0);
	assert_int_equal(ibv_rereg_mr(mr, IBV_REREG_MR_CHANGE_PD, pd2, NULL, 0, 0), 0);
	assert_ptr_equal(mr->pd, pd2);
	assert_int_equal(ibv_dealloc_pd(pd2), EBUSY);

	/* Translation: the region moves; the old pages are private again. */
	assert_int_equal(ibv_rereg_mr(mr, IBV_REREG_MR_CHANGE_TRANSLATION, NULL,
				      b + 10, 2 * page, 0), 0);
	assert_ptr_equal(mr->addr, b + 10);
	assert_int_equal(mr->length, 2 * page);
	check(a, 5000, 21);
	check(b, 3 * page, 22);
	if (getenv("RB_DAEMON_PID"))
		assert_true(daemon_mr_maps() > 0);
	assert_int_equal(ibv_dereg_mr(mr), 0);
	assert_int_equal(mr_maps("self"), self0);
	assert_int_equal(ibv_dealloc_pd(pd2), 0);
	check(b, 3 * page, 22);
	munmap(b, 3 * page);
	free(a);
}

/* [limits] pinned_bytes = 1M */
static void test_limits(void **state)
{
	size_t len = 2u << 20;
	unsigned char *big = mmap(NULL, len, PROT_READ | PROT_WRITE,
				  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int self0 = mr_maps("self");

	(void)state;
	assert_true(big != MAP_FAILED);
	fill(big, 4096, 7);
	errno = 0;
	assert_null(ibv_reg_mr(pd, big, len, IBV_ACCESS_LOCAL_WRITE));
	assert_int_equal(errno, EDQUOT);
	/* The refused registration gave the pages back as they were. */
	assert_int_equal(mr_maps("self"), self0);
	check(big, 4096, 7);
	munmap(big, len);
}

/* After deregistration the pages are private again: a child's writes stay its own. */
static void test_private_after_dereg(void **state)
{
	unsigned char *p = malloc(100);
	struct ibv_mr *mr;
	pid_t child;
	int status;

	(void)state;
	assert_non_null(p);
	fill(p, 100, 11);
	mr = ibv_reg_mr(pd, p, 100, IBV_ACCESS_LOCAL_WRITE);
	assert_non_null(mr);
	assert_int_equal(ibv_dereg_mr(mr), 0);
	child = fork();
	if (child == 0) {
		fill(p, 100, 12);
		_exit(0);
	}
	assert_true(child > 0);
	assert_int_equal(waitpid(child, &status, 0), child);
	check(p, 100, 11);
	free(p);
}

#define count_fds() ct_fds("self")

static void test_cycles(void **state)
{
	unsigned char *p = malloc(10000);
	int self0, daemon0, fds0;

	(void)state;
	assert_non_null(p);
	ibv_dereg_mr(ibv_reg_mr(pd, p, 10000, IBV_ACCESS_LOCAL_WRITE));
	self0 = mr_maps("self");
	daemon0 = daemon_mr_maps();
	fds0 = count_fds();
	for (int i = 0; i < 30; i++) {
		struct ibv_mr *mr = ibv_reg_mr(pd, p + i, 10000 - (size_t)i,
					       IBV_ACCESS_LOCAL_WRITE);

		assert_non_null(mr);
		assert_int_equal(ibv_dereg_mr(mr), 0);
	}
	assert_int_equal(mr_maps("self"), self0);
	assert_int_equal(daemon_mr_maps(), daemon0);
	assert_int_equal(count_fds(), fds0);
	free(p);
}

/* `client-mr hold N`: N registered buffers, then wait to be killed. */
static int hold(int n)
{
	if (setup(NULL) < 0)
		return 2;
	for (int i = 0; i < n; i++) {
		void *p = malloc(8192);

		if (!p || !ibv_reg_mr(pd, p, 8192, IBV_ACCESS_LOCAL_WRITE)) {
			fprintf(stderr, "client-mr: MR %d: %s\n", i, strerror(errno));
			return 1;
		}
	}
	ct_ready_and_wait();
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_malloc_keeps_address_and_contents),
		cmocka_unit_test(test_memalign),
		cmocka_unit_test(test_shared_pages_and_overlap),
		cmocka_unit_test(test_invalid),
		cmocka_unit_test(test_cma_fallback),
		cmocka_unit_test(test_dmabuf),
		cmocka_unit_test(test_keys_unique_and_busy_pd),
		cmocka_unit_test(test_rereg),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_private_after_dereg),
		cmocka_unit_test(test_cycles),
	};

	if (argc == 3 && strcmp(argv[1], "hold") == 0)
		return hold(atoi(argv[2]));
	return cmocka_run_group_tests(tests, setup, teardown);
}
