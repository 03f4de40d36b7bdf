/* SPDX-License-Identifier: MIT */
/*
 * A client that holds PDs, for the tests that need someone holding
 * objects (integration/pd.sh, rdmactl-limits.sh, ident-admin.sh,
 * ident-limits.sh, peers/device.sh): `pd-holder hold N` opens the first
 * device, allocates N PDs, prints "ready" and waits to be killed.  Exit 1
 * when an allocation fails (the reason on stderr), 2 without a device.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <infiniband/verbs.h>

#include "tests/lib/clienttest.h"

int main(int argc, char **argv)
{
	struct ibv_device **l;
	struct ibv_context *c;
	int n;

	if (argc != 3 || strcmp(argv[1], "hold") != 0) {
		fprintf(stderr, "usage: %s hold N\n", argv[0]);
		return 2;
	}
	n = atoi(argv[2]);
	if (ct_open(&l, &c) < 0)
		return 2;
	for (int i = 0; i < n; i++) {
		if (!ibv_alloc_pd(c)) {
			fprintf(stderr, "pd-holder: PD %d: %s\n", i, strerror(errno));
			return 1;
		}
	}
	ct_ready_and_wait();
}
