/* SPDX-License-Identifier: MIT */
/*
 * A long-lived client for the rdmactl tests: connects with the real
 * protocol (client_name "rdmactl-holder"), prints "connected ID PID" on
 * stdout once the handshake is done, then stays connected until stdin
 * reaches EOF or the daemon goes away, so no test has to guess how long
 * to hold it and no holder outlives its daemon.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <unistd.h>

#include "proto/rpc.h"

int main(void)
{
	struct rb_rpc rpc;
	struct pollfd pfd[2];
	char err[256];
	int ret;

	ret = rb_rpc_connect(&rpc, NULL, "rdmactl-holder", err, sizeof(err));
	if (ret < 0) {
		fprintf(stderr, "rdmactl-holder: %s\n", err);
		return 1;
	}
	printf("connected %" PRIu64 " %ld\n", rpc.client_id, (long)getpid());
	fflush(stdout);
	pfd[0].fd = STDIN_FILENO;
	pfd[0].events = POLLIN;
	pfd[1].fd = rpc.fd;
	pfd[1].events = 0;	/* POLLHUP/POLLERR only */
	for (;;) {
		char buf[64];

		ret = poll(pfd, 2, -1);
		if (ret < 0 && errno == EINTR)
			continue;
		if (ret < 0 || pfd[1].revents)
			break;
		if (pfd[0].revents && read(STDIN_FILENO, buf, sizeof(buf)) <= 0)
			break;
	}
	rb_rpc_close(&rpc);
	return 0;
}
