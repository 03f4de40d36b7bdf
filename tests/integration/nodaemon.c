/* SPDX-License-Identifier: MIT */
/*
 * librdmabroker without a daemon, with a daemon that never answers, and
 * with a daemon that goes away under an open context: an empty device list
 * and a clear errno, or EIO from the verbs; never a crash, a hang or a
 * SIGPIPE.  tests/integration/nodaemon.sh runs it with a real daemon whose pid is
 * in RB_DAEMON_PID and socket in RB_SOCK; the test stops that daemon itself.
 */
#include "config.h"

#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <infiniband/verbs.h>

static char tmpdir[] = "/tmp/rbnodaemon.XXXXXX";

static void set_socket(const char *path)
{
	assert_int_equal(setenv("RDMABROKER_SOCKET", path, 1), 0);
}

static int listen_socket(const char *path, int do_listen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	unlink(path);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	if (do_listen)
		assert_int_equal(listen(fd, 4), 0);
	return fd;
}

/* An empty list, not NULL; returns the errno it came with. */
static int empty_list_errno(void)
{
	struct ibv_device **list;
	int n = 42, err;

	errno = 0;
	list = ibv_get_device_list(&n);
	err = errno;
	assert_non_null(list);
	assert_null(list[0]);
	assert_int_equal(n, 0);
	ibv_free_device_list(list);
	return err;
}

static void expect_empty_list(int want_errno)
{
	assert_int_equal(empty_list_errno(), want_errno);
}

static void test_no_socket(void **state)
{
	char path[128];

	(void)state;
	snprintf(path, sizeof(path), "%s/none.sock", tmpdir);
	set_socket(path);
	expect_empty_list(ENOENT);
	expect_empty_list(ENOENT);	/* and again: nothing cached */
}

static void test_nobody_listening(void **state)
{
	char path[128];
	int fd;

	(void)state;
	snprintf(path, sizeof(path), "%s/dead.sock", tmpdir);
	fd = listen_socket(path, 0);	/* bound, never listening: stale */
	set_socket(path);
	expect_empty_list(ECONNREFUSED);
	close(fd);
}

/* Accepts into the backlog and never answers: the call times out. */
static void test_silent_daemon(void **state)
{
	struct timespec t0, t1;
	char path[128];
	double secs;
	int fd;

	(void)state;
	snprintf(path, sizeof(path), "%s/silent.sock", tmpdir);
	fd = listen_socket(path, 1);
	set_socket(path);
	assert_int_equal(setenv("RDMABROKER_TIMEOUT_MS", "300", 1), 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	expect_empty_list(ETIMEDOUT);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	secs = (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
	/* Bounded by the timeout, not by the default 30 s. */
	assert_true(secs < 20.0);
	unsetenv("RDMABROKER_TIMEOUT_MS");
	close(fd);
}

static void wait_gone(pid_t pid)
{
	for (int i = 0; i < 1000 && kill(pid, 0) == 0; i++) {
		char stat[64], buf[256];
		FILE *f;

		/* A zombie child of the shell counts as gone. */
		snprintf(stat, sizeof(stat), "/proc/%d/stat", (int)pid);
		f = fopen(stat, "r");
		if (f) {
			char *p = fgets(buf, sizeof(buf), f) ? strrchr(buf, ')') : NULL;

			fclose(f);
			if (p && p[1] == ' ' && p[2] == 'Z')
				return;
		}
		usleep(10000);
	}
}

static void test_daemon_goes_away(void **state)
{
	const char *sock = getenv("RB_SOCK");
	const char *pid_s = getenv("RB_DAEMON_PID");
	struct ibv_device **list;
	struct ibv_context *ctx;
	struct ibv_device_attr a;
	struct ibv_port_attr p;
	union ibv_gid gid;
	__be16 pkey;
	pid_t pid;
	int n, err;

	(void)state;
	if (!sock || !pid_s)
		skip();
	pid = (pid_t)atoi(pid_s);
	set_socket(sock);
	list = ibv_get_device_list(&n);
	assert_non_null(list);
	assert_int_equal(n, 1);
	ctx = ibv_open_device(list[0]);
	assert_non_null(ctx);
	assert_int_equal(ibv_query_device(ctx, &a), 0);

	assert_int_equal(kill(pid, SIGTERM), 0);
	wait_gone(pid);

	/* Every verb fails with EIO; none hangs, none raises SIGPIPE. */
	assert_int_equal(ibv_query_device(ctx, &a), EIO);
	assert_int_equal(ibv_query_port(ctx, 1, &p), EIO);
	errno = 0;
	assert_int_equal(ibv_query_gid(ctx, 1, 0, &gid), -1);
	assert_int_equal(errno, EIO);
	assert_int_equal(ibv_query_pkey(ctx, 1, 0, &pkey), -1);
	assert_int_equal(errno, EIO);
	/* Opening the listed device again fails cleanly too. */
	errno = 0;
	assert_null(ibv_open_device(list[0]));
	assert_true(errno == ENOENT || errno == ECONNREFUSED);
	assert_int_equal(ibv_close_device(ctx), 0);
	ibv_free_device_list(list);
	/* Refused while the daemon exits, gone once it removed its socket. */
	err = empty_list_errno();
	assert_true(err == ENOENT || err == ECONNREFUSED);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_no_socket),
		cmocka_unit_test(test_nobody_listening),
		cmocka_unit_test(test_silent_daemon),
		cmocka_unit_test(test_daemon_goes_away),
	};
	int ret;

	/* No SIG_IGN here: a SIGPIPE from the library would kill the test. */
	if (!mkdtemp(tmpdir))
		return 99;
	ret = cmocka_run_group_tests(tests, NULL, NULL);
	for (const char *const *f = (const char *const[]){ "dead.sock",
			"silent.sock", NULL }; *f; f++) {
		char path[128];

		snprintf(path, sizeof(path), "%s/%s", tmpdir, *f);
		unlink(path);
	}
	rmdir(tmpdir);
	return ret;
}
