/* SPDX-License-Identifier: MIT */
/*
 * A hostile tenant for the tests of issue 14 (the tests/hostile/ scripts):
 *
 *   tenant hold NAME VERSION   handshake with this client name and
 *                              version, print "connected ID", stay until
 *                              stdin closes
 *   tenant flood N             open N connections that never handshake
 *                              (as fast as connect() lets it, at most
 *                              60 s), print "opened N", stay until stdin
 *                              closes, then say how many the daemon closed
 *   tenant spam N              N requests the daemon refuses (admin
 *                              requests of a non-admin), as fast as it
 *                              answers
 *
 * Exit 0 when the steps worked as asked, 1 otherwise.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "proto/rpc.h"

static void tenant_wait_stdin(void)
{
	char c;

	while (read(0, &c, 1) > 0)
		;
}

static int tenant_socket(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	const char *path = rb_rpc_socket_path(NULL);
	int fd;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int err = errno;

		close(fd);
		return -err;
	}
	return fd;
}

static int tenant_hold(const char *name, const char *version)
{
	Rdmabroker__Request req = RDMABROKER__REQUEST__INIT;
	Rdmabroker__Hello hello = RDMABROKER__HELLO__INIT;
	Rdmabroker__Reply *rep;
	struct rb_rpc rpc;
	int ret;

	memset(&rpc, 0, sizeof(rpc));
	rpc.fd = tenant_socket();
	if (rpc.fd < 0) {
		fprintf(stderr, "tenant: connect: %s\n", strerror(-rpc.fd));
		return 1;
	}
	hello.proto_version = RB_PROTO_VERSION;
	hello.client_version = (char *)version;
	hello.client_name = (char *)name;
	req.body_case = RDMABROKER__REQUEST__BODY_HELLO;
	req.hello = &hello;
	ret = rb_rpc_call_ok(&rpc, &req, &rep);
	if (ret < 0) {
		fprintf(stderr, "tenant: hello: %s\n", strerror(-ret));
		return 1;
	}
	printf("connected %llu\n", (unsigned long long)rep->hello->client_id);
	fflush(stdout);
	rb_rpc_reply_free(rep);
	tenant_wait_stdin();
	rb_rpc_close(&rpc);
	return 0;
}

static int tenant_flood(int n)
{
	int *fds = calloc((size_t)n, sizeof(int));
	time_t end = time(NULL) + 60;
	int opened = 0, closed = 0;

	if (!fds)
		return 1;
	while (opened < n && time(NULL) < end) {
		int fd = tenant_socket();

		if (fd == -EAGAIN || fd == -ECONNREFUSED) {
			usleep(1000);	/* the backlog is full: the daemon is behind */
			continue;
		}
		if (fd < 0) {
			fprintf(stderr, "tenant: connection %d: %s\n", opened, strerror(-fd));
			break;
		}
		fds[opened++] = fd;
	}
	printf("opened %d\n", opened);
	fflush(stdout);
	tenant_wait_stdin();
	for (int i = 0; i < opened; i++) {
		char b;

		/* Closed by the daemon: EOF (or a reset) without blocking. */
		if (recv(fds[i], &b, 1, MSG_DONTWAIT) == 0 || errno == ECONNRESET)
			closed++;
		close(fds[i]);
	}
	printf("closed by the daemon %d\n", closed);
	free(fds);
	return opened == n ? 0 : 1;
}

static int tenant_spam(int n)
{
	Rdmabroker__Request req = RDMABROKER__REQUEST__INIT;
	Rdmabroker__LimitsSetReq q = RDMABROKER__LIMITS_SET_REQ__INIT;
	Rdmabroker__Reply *rep;
	struct rb_rpc rpc;
	char err[256];
	int refused = 0;

	if (rb_rpc_connect(&rpc, NULL, "tenant-spam", err, sizeof(err)) < 0) {
		fprintf(stderr, "tenant: %s\n", err);
		return 1;
	}
	q.uid = 0;
	q.name = (char *)"qps";
	q.value = 1;
	req.body_case = RDMABROKER__REQUEST__BODY_LIMITS_SET;
	req.limits_set = &q;
	for (int i = 0; i < n; i++) {
		int ret = rb_rpc_call_ok(&rpc, &req, &rep);

		if (ret == 0)
			rb_rpc_reply_free(rep);
		else if (ret == -EPERM)
			refused++;
		else
			break;
	}
	printf("refused %d of %d\n", refused, n);
	rb_rpc_close(&rpc);
	return refused == n ? 0 : 1;
}

int main(int argc, char **argv)
{
	if (argc == 4 && !strcmp(argv[1], "hold"))
		return tenant_hold(argv[2], argv[3]);
	if (argc == 3 && !strcmp(argv[1], "flood"))
		return tenant_flood(atoi(argv[2]));
	if (argc == 3 && !strcmp(argv[1], "spam"))
		return tenant_spam(atoi(argv[2]));
	fprintf(stderr, "usage: tenant hold NAME VERSION | flood N | spam N\n");
	return 99;
}
