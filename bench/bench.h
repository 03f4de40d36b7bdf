/* SPDX-License-Identifier: MIT */
/* What the raw baselines (bench/shm-pingpong, bench/baseline) share. */
#ifndef RB_BENCH_BENCH_H
#define RB_BENCH_BENCH_H

#include <stdint.h>
#include <time.h>

static inline int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
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

#endif /* RB_BENCH_BENCH_H */
