/* SPDX-License-Identifier: MIT */
/*
 * Async events on the context's async_fd, through a real daemon that this
 * test stops with the signal in RB_KILL_SIGNAL (tests/integration/async.sh runs it
 * with TERM and with KILL): nothing pending before; afterwards exactly one
 * IBV_EVENT_DEVICE_FATAL, then EIO, and EIO from every verb; no hang.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <infiniband/verbs.h>

static void test_device_fatal(void **state)
{
	const char *pid_s = getenv("RB_DAEMON_PID");
	const char *sig_s = getenv("RB_KILL_SIGNAL");
	struct ibv_device **list;
	struct ibv_context *ctx;
	struct ibv_async_event ev;
	struct ibv_device_attr attr;
	struct pollfd pfd;
	int n, fl;

	(void)state;
	if (!pid_s || !sig_s)
		skip();
	assert_true(atoi(sig_s) > 0);
	/* Never hang the suite: a lost event fails the test instead. */
	alarm(60);
	list = ibv_get_device_list(&n);
	assert_non_null(list);
	assert_int_equal(n, 1);
	ctx = ibv_open_device(list[0]);
	assert_non_null(ctx);
	assert_true(ctx->async_fd >= 0);

	/* Nothing yet: EAGAIN when non-blocking, and poll() sees nothing. */
	fl = fcntl(ctx->async_fd, F_GETFL);
	assert_int_equal(fcntl(ctx->async_fd, F_SETFL, fl | O_NONBLOCK), 0);
	errno = 0;
	assert_int_equal(ibv_get_async_event(ctx, &ev), -1);
	assert_int_equal(errno, EAGAIN);
	pfd.fd = ctx->async_fd;
	pfd.events = POLLIN;
	assert_int_equal(poll(&pfd, 1, 0), 0);
	assert_int_equal(fcntl(ctx->async_fd, F_SETFL, fl), 0);

	assert_int_equal(kill((pid_t)atoi(pid_s), atoi(sig_s)), 0);

	/* Blocking: returns once the daemon is gone, with the fatal event. */
	assert_int_equal(ibv_get_async_event(ctx, &ev), 0);
	assert_int_equal(ev.event_type, IBV_EVENT_DEVICE_FATAL);
	ibv_ack_async_event(&ev);
	assert_int_equal(poll(&pfd, 1, 10000), 1);
	/* Only one. */
	errno = 0;
	assert_int_equal(ibv_get_async_event(ctx, &ev), -1);
	assert_int_equal(errno, EIO);
	assert_int_equal(ibv_query_device(ctx, &attr), EIO);
	errno = 0;
	assert_null(ibv_alloc_pd(ctx));
	assert_int_equal(errno, EIO);
	assert_int_equal(ibv_close_device(ctx), 0);
	ibv_free_device_list(list);
	alarm(0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_device_fatal),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
