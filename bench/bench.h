/* SPDX-License-Identifier: MIT */
/* What the bench programs share: the clock, the order of latency
 * samples, the spin hint and the spin-then-yield wait. */
#ifndef RB_BENCH_BENCH_H
#define RB_BENCH_BENCH_H

#include <errno.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <time.h>

static inline int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* qsort()'s order for uint64_t samples (latencies in ns). */
static inline int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* The spin-wait hint: let the sibling hyperthread have the core. */
static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield" ::: "memory");
#endif
}

/* How long a waiter waits for a peer that has gone before giving up. */
#define BENCH_STALL_NS (10LL * 1000 * 1000 * 1000)

/*
 * Spin until the peer has stored val in flag, giving the core away every
 * yield_every-th empty look; -ETIMEDOUT after BENCH_STALL_NS.  Acquire:
 * pairs with the peer's release store, so what it wrote before (the
 * message) is visible here.
 */
static inline int wait_flag(_Atomic uint64_t *flag, uint64_t val,
			    unsigned int yield_every)
{
	int64_t deadline = 0;
	unsigned int spins = 0;

	while (atomic_load_explicit(flag, memory_order_acquire) != val) {
		cpu_relax();
		if (++spins % yield_every)
			continue;
		sched_yield();
		if (!deadline)
			deadline = now_ns() + BENCH_STALL_NS;
		else if (now_ns() > deadline)
			return -ETIMEDOUT;
	}
	return 0;
}

#endif /* RB_BENCH_BENCH_H */
