/* SPDX-License-Identifier: MIT */
/*
 * Registration in a program that hooks its own memory calls
 * (tests/integration/mr-hooks.sh).  UCX does: its ucm library overrides
 * mmap, munmap and mremap to watch the address space, and UCX 1.13's
 * mremap override passes only four arguments on, dropping mremap's fifth
 * (new_address, used with MREMAP_FIXED).  librdmabroker re-backs a
 * registered buffer's pages in place and gives them back at
 * deregistration with mremap(MREMAP_FIXED); through such a hook the pages
 * went elsewhere (to address 0 under UCX, as root), the library took them
 * as moved and released their arena pages, and the buffer read zeros from
 * then on: a 64 KiB message of UCX's rendezvous protocol (RDMA READ into
 * a buffer registered again for each message) arrived as zeros.
 *
 * This program defines mremap as UCX 1.13 does (the fifth argument lost;
 * here it is a scratch mapping's address, so the fault shows whatever the
 * privileges; UCX's was 0) and mmap beside it, counts what reaches them
 * from the library, and runs UCX's sequence in plain verbs: a buffer
 * registered, read by the peer, cleared, deregistered, registered again
 * and filled by two RDMA READs (a first part up to a 2 KiB boundary of
 * the remote address, then the rest, as UCX's get_zcopy splits it), for
 * 8 KiB to 256 KiB.  The data must arrive, and the library's re-backing
 * must not go through the program's hooks at all.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cmocka.h>
#include <infiniband/verbs.h>

#include "tests/lib/datatest.h"
#include "tests/integration/data-lib.h"

#define ACCESS (IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE | \
		IBV_ACCESS_REMOTE_READ | IBV_ACCESS_REMOTE_ATOMIC)
#define MAX_LEN (256u * 1024)

/* Where the hook's lost argument points: pages nobody else uses. */
static void *scratch;
static size_t scratch_len = MAX_LEN + 2 * 4096;
/* Calls that reached the hooks with MREMAP_FIXED or MAP_FIXED. */
static unsigned int hooked_fixed;

/* As UCX 1.13's ucm_override_mremap: four arguments go on, the fifth is
 * whatever is at hand. */
__attribute__((visibility("default")))
void *mremap(void *old, size_t old_size, size_t new_size, int flags, ...)
{
	if (flags & MREMAP_FIXED)
		hooked_fixed++;
	return (void *)syscall(SYS_mremap, old, old_size, new_size, flags, scratch);
}

/* As ucm_override_mmap (which passes every argument on): counted only. */
__attribute__((visibility("default")))
void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	if ((flags & MAP_FIXED) && scratch)
		hooked_fixed++;
	return (void *)syscall(SYS_mmap, addr, len, prot, flags, fd, off);
}

static void fill(uint8_t *b, size_t n, unsigned int seed)
{
	for (size_t i = 0; i < n; i++)
		b[i] = (uint8_t)(seed * 31 + i * 7);
}

/* UCX's get_zcopy of len bytes from src into dst: two READs, one completion. */
static void read_parts(struct ibv_qp *q, struct ibv_cq *cq, uint8_t *dst, uint32_t lkey,
		       const uint8_t *src, uint32_t rkey, uint32_t len)
{
	uint32_t first = (uint32_t)(0x800 - ((uintptr_t)src & 0x7ff));
	struct ibv_wc wc;

	if (first > len)
		first = len;
	assert_int_equal(post1(q, 1, IBV_WR_RDMA_READ, 0, dst, first, lkey,
			       (uintptr_t)src, rkey, 0), 0);
	assert_int_equal(post1(q, 2, IBV_WR_RDMA_READ, SIG, dst + first, len - first, lkey,
			       (uintptr_t)src + first, rkey, 0), 0);
	POLL(cq, &wc, 1);
	CHECK_WC(&wc, req_wc(2, IBV_WC_RDMA_READ, len - first, q), DT_WC_REQ);
}

static void check_same(const uint8_t *got, const uint8_t *want, size_t len, const char *what)
{
	size_t n = 0, first = 0;

	for (size_t i = 0; i < len; i++)
		if (got[i] != want[i] && !n++)
			first = i;
	if (n)
		fail_msg("%s of %zu bytes: %zu bytes differ, the first at %zu (0x%02x, want 0x%02x)",
			 what, len, n, first, got[first], want[first]);
}

static void test_rendezvous(void **state)
{
	struct pair p = pair_make(IBV_QPT_RC, 64, cap_std(), 0, NULL);
	/* Heap buffers side by side, as the UCX test program's. */
	uint8_t *buf = malloc(MAX_LEN), *want = malloc(MAX_LEN), *peer = malloc(MAX_LEN);
	struct ibv_mr *pm;

	(void)state;
	assert_non_null(buf);
	assert_non_null(want);
	assert_non_null(peer);
	pm = ibv_reg_mr(p.b->pd, peer, MAX_LEN, ACCESS);
	assert_non_null(pm);
	for (size_t len = 8192; len <= MAX_LEN; len *= 2) {
		unsigned int seed = (unsigned int)len / 1024;
		struct ibv_mr *a, *b;

		/* Sending: the peer reads the registered buffer. */
		fill(want, len, seed);
		memcpy(buf, want, len);
		a = ibv_reg_mr(p.a->pd, buf, len, ACCESS);
		assert_non_null(a);
		read_parts(p.qb, p.b->scq, peer, pm->lkey, buf, a->rkey, (uint32_t)len);
		check_same(peer, want, len, "the peer's READ");
		/* Receiving the echo: cleared, registered again, read into. */
		memset(buf, 0, len);
		assert_int_equal(ibv_dereg_mr(a), 0);
		check_same(peer, want, len, "the peer's copy after the deregistration");
		b = ibv_reg_mr(p.a->pd, buf, len, ACCESS);
		assert_non_null(b);
		read_parts(p.qa, p.a->scq, buf, b->lkey, peer, pm->rkey, (uint32_t)len);
		check_same(buf, want, len, "the echo READ");
		assert_int_equal(ibv_dereg_mr(b), 0);
		/* And it stays there once the pages are private again. */
		check_same(buf, want, len, "the echo after the deregistration");
	}
	assert_int_equal(ibv_dereg_mr(pm), 0);
	free(buf);
	free(want);
	free(peer);
	if (hooked_fixed)
		fail_msg("%u re-backing calls went through the program's mmap/mremap", hooked_fixed);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_rendezvous, cleanup),
	};

	scratch = (void *)syscall(SYS_mmap, NULL, scratch_len, PROT_NONE,
				  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (scratch == MAP_FAILED) {
		perror("mr-hooks: mmap");
		return 1;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
