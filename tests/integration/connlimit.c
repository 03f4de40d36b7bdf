/* SPDX-License-Identifier: MIT */
/*
 * Connection limits: usage `daemon-connlimit N ERRNO`.  Opens N handshaken
 * connections (all succeed), the next one fails with ERRNO (EDQUOT for the
 * per-user limit, EUSERS for max_clients) and a reason; after one closes,
 * a new one succeeds.  Exit 0 pass, 1 fail.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proto/rpc.h"

int main(int argc, char **argv)
{
	struct rb_rpc *rpc, extra;
	char err[256];
	int n, want, ret;

	if (argc != 3)
		return 99;
	n = atoi(argv[1]);
	want = atoi(argv[2]);
	rpc = calloc((size_t)n, sizeof(*rpc));
	if (!rpc)
		return 99;
	for (int i = 0; i < n; i++) {
		ret = rb_rpc_connect(&rpc[i], NULL, "connlimit", err, sizeof(err));
		if (ret < 0) {
			fprintf(stderr, "connection %d of %d refused: %s\n", i + 1, n, err);
			return 1;
		}
	}
	ret = rb_rpc_connect(&extra, NULL, "connlimit", err, sizeof(err));
	if (ret != -want) {
		fprintf(stderr, "connection %d: got %d (%s), want -%d\n", n + 1,
			ret, ret ? err : "accepted", want);
		return 1;
	}
	printf("connection %d refused as expected: %s\n", n + 1, err);
	if (!strstr(err, want == EDQUOT ? "connections" : "clients")) {
		fprintf(stderr, "reason does not name the limit: %s\n", err);
		return 1;
	}
	rb_rpc_close(&rpc[0]);
	/* The daemon notices the hang-up before it answers the next Hello. */
	for (int tries = 0; tries < 50; tries++) {
		ret = rb_rpc_connect(&rpc[0], NULL, "connlimit", err, sizeof(err));
		if (ret == 0)
			break;
		usleep(20000);
	}
	if (ret < 0) {
		fprintf(stderr, "after closing one, still refused: %s\n", err);
		return 1;
	}
	for (int i = 0; i < n; i++)
		rb_rpc_close(&rpc[i]);
	free(rpc);
	return 0;
}
