/* SPDX-License-Identifier: MIT */
/*
 * Registrations on the soft device, for tests/integration/mr-prefault.sh
 * (the daemon touches a new region's pages in the background and holds
 * the reply for it, at most 250 ms: daemon/mr.c, drivers/prefault.h).
 *
 *   hold SIZE        register SIZE bytes (written first, as a program's
 *                    buffer is), print "ready MS" (how long ibv_reg_mr
 *                    took, in ms), wait to be killed;
 *   cycle SIZE N     register and deregister SIZE bytes N times, the
 *                    deregistration right after the reply, and check the
 *                    bytes survive each; print "ready MS" with the longest
 *                    ibv_reg_mr, then wait to be killed.
 *
 * Exit 1 on a failure (reported on stderr).
 */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <infiniband/verbs.h>

#include "tests/lib/clienttest.h"

#define CHECK(cond, ...) do { if (!(cond)) { \
	fprintf(stderr, "mr-prefault: FAIL (line %d): ", __LINE__); \
	fprintf(stderr, __VA_ARGS__); fputc('\n', stderr); exit(1); } } while (0)

#define ACC (IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE | IBV_ACCESS_REMOTE_READ)

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static struct ibv_mr *reg(struct ibv_pd *pd, void *buf, size_t size, double *ms)
{
	double t0 = now_ms();
	struct ibv_mr *mr = ibv_reg_mr(pd, buf, size, ACC);
	double t = now_ms() - t0;

	CHECK(mr, "ibv_reg_mr of %zu bytes: %s", size, strerror(errno));
	if (t > *ms)
		*ms = t;
	return mr;
}

int main(int argc, char **argv)
{
	struct ibv_device **list;
	struct ibv_context *ctx;
	struct ibv_pd *pd;
	unsigned char *buf;
	size_t size;
	long n = 1;
	double ms = 0;

	if (argc < 3 || (strcmp(argv[1], "hold") && strcmp(argv[1], "cycle")) ||
	    (!strcmp(argv[1], "cycle") && argc < 4)) {
		fprintf(stderr, "usage: mr-prefault hold SIZE | cycle SIZE N\n");
		return 2;
	}
	size = strtoul(argv[2], NULL, 0);
	if (argc > 3)
		n = strtol(argv[3], NULL, 0);
	CHECK(size && n > 0, "bad arguments");
	CHECK(ct_open(&list, &ctx) == 0, "no device");
	pd = ibv_alloc_pd(ctx);
	CHECK(pd, "ibv_alloc_pd: %s", strerror(errno));
	buf = aligned_alloc(4096, size);
	CHECK(buf, "no memory for %zu bytes", size);
	for (size_t i = 0; i < size; i += 4096)
		buf[i] = (unsigned char)(i >> 12);
	if (!strcmp(argv[1], "hold")) {
		(void)reg(pd, buf, size, &ms);
	} else {
		for (long k = 0; k < n; k++) {
			struct ibv_mr *mr = reg(pd, buf, size, &ms);

			CHECK(ibv_dereg_mr(mr) == 0, "ibv_dereg_mr (round %ld)", k);
			for (size_t i = 0; i < size; i += 4096)
				CHECK(buf[i] == (unsigned char)(i >> 12),
				      "byte %zu changed (round %ld)", i, k);
		}
	}
	printf("ready %.0f\n", ms);
	fflush(stdout);
	for (;;)
		pause();
}
