/* SPDX-License-Identifier: MIT */
/*
 * Clients that load the daemon, against a real private daemon
 * (tests/hostile/ctl-load.sh).  One mode per run:
 *   noread   a client that never reads its replies;
 *   storm N  N connections at once, all handshaken;
 *   emfile N the daemon runs out of fds (low RLIMIT_NOFILE): N clients
 *            connect, accepting must pause, and resume when they leave.
 * Prints a "figure:" line; exit 0 on success, 1 on failure.
 */
#define _GNU_SOURCE
#include "config.h"

#include <errno.h>
#include <grp.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <infiniband/verbs.h>

#include "proto/rpc.h"
#include "tests/hostile/ctl-lib.h"

/* --------------------------------------------------- a client not reading */

static long daemon_rss_kb(void)
{
	char path[64], line[256];
	long kb = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)daemon_pid);
	f = fopen(path, "r");
	CHECK(f, "open %s", path);
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

/*
 * Send requests whose replies are large (device_show) or carry fds
 * (channel_create) and never read one: the daemon must stop reading this
 * client, not buffer without bound, and keep serving the others.
 */
static void noread(void)
{
	struct conn c;
	struct reqbuf b;
	long rss0, rss1;
	uint64_t sent = 0;

	conn_open(&c, true);
	verbs_round("before the silent client");
	rss0 = daemon_rss_kb();
	CHECK(fcntl(c.fd, F_SETFL, O_NONBLOCK) == 0, "O_NONBLOCK");
	for (int round = 0; round < 3; round++) {
		for (int i = 0; i < 100000; i++) {
			int ret;

			build(&b, &c, i % 2 ? RDMABROKER__REQUEST__BODY_DEVICE_SHOW :
				     RDMABROKER__REQUEST__BODY_CHANNEL_CREATE);
			ret = send_req(c.fd, &b.req, NULL, 0);
			if (ret == -EAGAIN) {
				struct pollfd p = { .fd = c.fd, .events = POLLOUT };

				/* Give the daemon a chance to take more. */
				if (poll(&p, 1, 200) == 1)
					continue;
				break;
			}
			CHECK(ret == 0, "send: %s", strerror(-ret));
			sent++;
		}
		/* Others are served meanwhile. */
		verbs_round("while a client does not read");
	}
	rss1 = daemon_rss_kb();
	printf("figure: noread_requests_sent %" PRIu64 "\n", sent);
	printf("figure: noread_daemon_rss_kb %ld -> %ld\n", rss0, rss1);
	CHECK(sent < 100000, "the daemon took %" PRIu64 " requests without sending", sent);
	CHECK(rss1 - rss0 < 64 * 1024, "the daemon grew by %ld kB", rss1 - rss0);
	conn_close(&c);
	verbs_round("after the silent client left");
	fig.cases++;
}

/* ------------------------------------------------- connections at once */

static void raise_nofile(rlim_t want)
{
	struct rlimit rl;

	CHECK(getrlimit(RLIMIT_NOFILE, &rl) == 0, "getrlimit");
	if (rl.rlim_cur < want) {
		rl.rlim_cur = want < rl.rlim_max ? want : rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

/* Hello on fd without waiting. */
static void hello_nowait(int fd)
{
	struct reqbuf b;

	build(&b, NULL, RDMABROKER__REQUEST__BODY_HELLO);
	CHECK(send_req(fd, &b.req, NULL, 0) == 0, "hello");
}

/* A hello reply on fd within ms: 1 ok, 0 none yet, -1 refused or EOF. */
static int hello_wait(int fd, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	Rdmabroker__Reply *r = NULL;
	int ret;

	if (poll(&p, 1, ms) != 1)
		return 0;
	if (read_reply(fd, &r) != 1)
		return -1;
	ret = r->status == 0 && r->body_case == RDMABROKER__REPLY__BODY_HELLO ?
	      1 : -1;
	rdmabroker__reply__free_unpacked(r, NULL);
	return ret;
}

static void storm(int n)
{
	int *fd = calloc((size_t)n, sizeof(int));
	int ok = 0;

	CHECK(fd, "calloc");
	raise_nofile((rlim_t)n + 64);
	for (int i = 0; i < n; i++) {
		fd[i] = raw_connect_nb(false);
		CHECK(fd[i] >= 0, "connection %d: %s", i, strerror(-fd[i]));
		hello_nowait(fd[i]);
	}
	for (int i = 0; i < n; i++)
		ok += hello_wait(fd[i], 30000) == 1;
	printf("figure: storm_connections %d handshaken %d\n", n, ok);
	CHECK(ok == n, "%d of %d connections handshaken", ok, n);
	verbs_round("with all connections open");
	for (int i = 0; i < n; i++)
		close(fd[i]);
	free(fd);
	verbs_round("after the storm");
	fig.cases++;
}

/*
 * The daemon runs with a low RLIMIT_NOFILE: n clients connect, more than
 * it can accept.  Those it could not accept wait in the backlog; once the
 * first ones leave, the others must be served, and a new client too.
 */
static void emfile(int n)
{
	int *fd = calloc((size_t)n, sizeof(int));
	int *st = calloc((size_t)n, sizeof(int));
	int served = 0, waiting = 0, refusedn = 0;

	CHECK(fd && st, "calloc");
	for (int i = 0; i < n; i++) {
		fd[i] = raw_connect_nb(false);
		CHECK(fd[i] >= 0, "connection %d: %s", i, strerror(-fd[i]));
		hello_nowait(fd[i]);
	}
	for (int i = 0; i < n; i++) {
		st[i] = hello_wait(fd[i], i < 8 ? 5000 : 300);
		served += st[i] == 1;
		waiting += st[i] == 0;
		refusedn += st[i] < 0;
	}
	printf("figure: emfile_clients %d served %d waiting %d dropped %d\n",
	       n, served, waiting, refusedn);
	CHECK(served > 0, "no client served");
	CHECK(waiting > 0, "every client was served: the fd limit was not reached");
	/* The served ones leave; the waiting ones must now get their turn. */
	for (int i = 0; i < n; i++) {
		if (st[i] != 0) {
			close(fd[i]);
			fd[i] = -1;
		}
	}
	for (int i = 0; i < n; i++) {
		if (fd[i] < 0)
			continue;
		st[i] = hello_wait(fd[i], 20000);
		CHECK(st[i] != 0, "a waiting client was never served");
		close(fd[i]);
		/* Leave room as we go: the daemon may have been full again. */
	}
	free(fd);
	free(st);
	verbs_round("after the fd limit");
	fig.cases++;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "";

	ctl_init("ctl-load noread|storm N|emfile N");
	if (!strcmp(mode, "noread") && argc == 2)
		noread();
	else if (!strcmp(mode, "storm") && argc == 3)
		storm(atoi(argv[2]));
	else if (!strcmp(mode, "emfile") && argc == 3)
		emfile(atoi(argv[2]));
	else
		die("unknown mode %s", mode);
	ctl_figures(mode);
	return 0;
}
