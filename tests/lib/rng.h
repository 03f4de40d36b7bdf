/* SPDX-License-Identifier: MIT */
/*
 * xorshift64*: the small deterministic generator of the tests that throw
 * random input and random timing at the daemon (client-scribble,
 * crash-loop, restart, hostile-ctl), so a failing run repeats from the
 * seed it printed.  Each test program has its own state; seed it with a
 * value other than 0 (0 stays 0).
 */
#ifndef RB_TESTS_RNG_H
#define RB_TESTS_RNG_H

#include <stdint.h>

static uint64_t rng_state;

static inline uint64_t rng(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dull;
}

#endif /* RB_TESTS_RNG_H */
