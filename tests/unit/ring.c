/* SPDX-License-Identifier: MIT */
/*
 * The daemon's ring helpers (daemon/ring.c), linked from daemon/librbd.la:
 * a ring is a sealed memfd of the right size with its header written;
 * a pair shares one memfd with the second ring page aligned; a reset
 * header forgets what the client wrote; pending slots are clamped to the
 * ring; a producer index past the ring is wild; slots wrap.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "daemon/daemon.h"
#include "daemon/res.h"
#include "daemon/ring.h"

static void check_header(const struct rb_ring *r, enum rb_ring_kind kind,
			 uint32_t entries, uint32_t size)
{
	assert_int_equal(r->magic, RB_RING_MAGIC);
	assert_int_equal(r->abi_version, RB_SHM_ABI_VERSION);
	assert_int_equal(r->kind, kind);
	assert_int_equal(r->entries, entries);
	assert_int_equal(r->entry_size, size);
	assert_int_equal(r->prod, 0);
	assert_int_equal(r->cons, 0);
	assert_int_equal(r->flags, 0);
	/* A CQ's poller may sleep on it: this daemon wakes it (cq_push). */
	assert_int_equal(r->features, kind == RB_RING_CQ ? RB_RING_FEAT_WAKE : 0);
}

/* The memfd: CLOEXEC, len bytes, sealed against shrink, grow and reseal. */
static void check_memfd(int fd, size_t len)
{
	struct stat st;
	int seals = fcntl(fd, F_GET_SEALS);

	assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal((size_t)st.st_size, len);
	assert_true(seals >= 0);
	assert_int_equal(seals & (F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL),
			 F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL);
	assert_int_equal(ftruncate(fd, 0), -1);
	assert_int_equal(errno, EPERM);
}

static void test_create(void **state)
{
	struct rb_ring *r;
	size_t bytes;
	int fd = -1;

	(void)state;
	assert_int_equal(ring_create(RB_RING_CQ, 64, 128, &r, &bytes, &fd), 0);
	assert_int_equal(bytes, rb_ring_bytes(64, 128));
	assert_int_equal(bytes, RB_RING_HDR_SIZE + 64 * 128);
	check_header(r, RB_RING_CQ, 64, 128);
	check_memfd(fd, bytes);
	/* The slots are ours to write, zero to start with. */
	for (uint32_t i = 0; i < 64; i++) {
		uint8_t *s = ring_slot(r, 64, 128, i);

		assert_int_equal(s[0], 0);
		assert_int_equal(s[127], 0);
		memset(s, 0xa5, 128);
	}
	close(fd);
	ring_destroy(r, bytes);
	ring_destroy(NULL, 0);			/* accepts NULL */
}

static void test_pair(void **state)
{
	const struct ring_spec spec[2] = {
		{ RB_RING_SQ, 16, 256 }, { RB_RING_RQ, 32, 64 },
	};
	long page = sysconf(_SC_PAGESIZE);
	struct rb_ring *r[2];
	size_t bytes[2], offset;
	int fd = -1;

	(void)state;
	assert_int_equal(ring_create_pair(spec, r, bytes, &offset, &fd), 0);
	assert_int_equal(bytes[0], rb_ring_bytes(16, 256));
	assert_int_equal(bytes[1], rb_ring_bytes(32, 64));
	assert_int_equal(offset % (size_t)page, 0);
	assert_true(offset >= bytes[0]);
	assert_true(offset < bytes[0] + (size_t)page);
	assert_ptr_equal((char *)r[1], (char *)r[0] + offset);
	check_header(r[0], RB_RING_SQ, 16, 256);
	check_header(r[1], RB_RING_RQ, 32, 64);
	check_memfd(fd, offset + bytes[1]);
	/* The last slot of the first ring ends before the second ring. */
	assert_true((char *)ring_slot(r[0], 16, 256, 15) + 256 <= (char *)r[1]);
	close(fd);
	ring_destroy(r[0], offset + bytes[1]);
}

/* What a client scribbled over the header is gone after a reset. */
static void test_reset(void **state)
{
	struct rb_ring *r;
	size_t bytes;
	int fd = -1;

	(void)state;
	assert_int_equal(ring_create(RB_RING_SQ, 8, 64, &r, &bytes, &fd), 0);
	memset(r, 0xff, sizeof(*r));
	memset(ring_slot(r, 8, 64, 3), 0x5a, 64);
	ring_reset(r, RB_RING_SQ, 8, 64);
	check_header(r, RB_RING_SQ, 8, 64);
	/* The slots keep their bytes. */
	assert_int_equal(((uint8_t *)ring_slot(r, 8, 64, 3))[10], 0x5a);
	close(fd);
	ring_destroy(r, bytes);
}

/* Pending: what the producer index says past our consumer, at most a
 * ring, whatever the header claims; indices are free running. */
static void test_pending(void **state)
{
	struct rb_ring *r;
	size_t bytes;
	int fd = -1;

	(void)state;
	assert_int_equal(ring_create(RB_RING_SQ, 16, 64, &r, &bytes, &fd), 0);
	assert_int_equal(ring_pending(r, 0, 16), 0);
	r->prod = 5;
	assert_int_equal(ring_pending(r, 0, 16), 5);
	assert_int_equal(ring_pending(r, 3, 16), 2);
	r->prod = 100;
	assert_int_equal(ring_pending(r, 0, 16), 16);	/* clamped */
	r->entries = 1u << 30;				/* the client lies */
	assert_int_equal(ring_pending(r, 0, 16), 16);
	/* Across the wrap of the 32-bit indices. */
	r->prod = 3;
	assert_int_equal(ring_pending(r, 0xfffffffe, 16), 5);
	/* A producer behind the consumer is a huge difference: clamped. */
	r->prod = 0;
	assert_int_equal(ring_pending(r, 1, 16), 16);
	/* Slots wrap with the index. */
	assert_ptr_equal(ring_slot(r, 16, 64, 17), ring_slot(r, 16, 64, 1));
	assert_ptr_equal(ring_slot(r, 16, 64, 0xffffffff), ring_slot(r, 16, 64, 15));
	close(fd);
	ring_destroy(r, bytes);
}

/* Wild: a producer more than a ring ahead.  The owner is disconnected
 * (res_kill_owner); a session already killed keeps this test free of the
 * event loop, and the answer is the same. */
static void test_wild(void **state)
{
	struct rb_session s;
	struct rb_res owner;
	struct rb_ring *r;
	size_t bytes;
	int fd = -1;

	(void)state;
	memset(&s, 0, sizeof(s));
	memset(&owner, 0, sizeof(owner));
	s.killed = true;
	owner.owner = &s;
	assert_int_equal(ring_create(RB_RING_RQ, 16, 64, &r, &bytes, &fd), 0);
	r->prod = 16;
	assert_false(ring_wild(r, 0, 16, &owner, "RQ"));
	r->prod = 17;
	assert_true(ring_wild(r, 0, 16, &owner, "RQ"));
	assert_false(ring_wild(r, 1, 16, &owner, "RQ"));
	r->prod = 0;
	assert_true(ring_wild(r, 1, 16, &owner, "RQ"));	/* behind us */
	r->prod = 10;
	assert_false(ring_wild(r, 0xfffffffa, 16, &owner, "RQ"));	/* wraps: 16 */
	close(fd);
	ring_destroy(r, bytes);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_create),
		cmocka_unit_test(test_pair),
		cmocka_unit_test(test_reset),
		cmocka_unit_test(test_pending),
		cmocka_unit_test(test_wild),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
