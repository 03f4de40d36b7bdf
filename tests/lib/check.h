/* SPDX-License-Identifier: MIT */
/*
 * Plain checks for tests that need no test library: CHECK(cond, fmt, ...)
 * counts a check and, when cond is false, a failure with its place and
 * message; the test prints the two counters at its end and exits 1 if
 * any failed.  One copy for each program that includes it.
 */
#ifndef RB_TESTS_CHECK_H
#define RB_TESTS_CHECK_H

#include <stdio.h>

static int failures, checks;

#define CHECK(cond, ...) do {						\
	checks++;							\
	if (!(cond)) {							\
		failures++;						\
		printf("FAIL %s:%d: ", __FILE__, __LINE__);		\
		printf(__VA_ARGS__);					\
		printf("\n");						\
	}								\
} while (0)

#endif
