/* SPDX-License-Identifier: MIT */
/* Unit tests of the framing and fd passing (proto/wire.c). */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "proto/wire.h"

static uint8_t buf[RB_WIRE_MAX_FRAME + 1];

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	assert_non_null(d);
	while ((e = readdir(d)))
		n++;
	closedir(d);
	return n;
}

static int setup(void **state)
{
	int *sv = malloc(2 * sizeof(int));

	assert_non_null(sv);
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
	*state = sv;
	return 0;
}

static int teardown(void **state)
{
	int *sv = *state;

	close(sv[0]);
	close(sv[1]);
	free(sv);
	return 0;
}

static void send_raw(int fd, const void *p, size_t len)
{
	assert_true(send(fd, p, len, 0) == (ssize_t)len);
}

static void test_roundtrip(void **state)
{
	int *sv = *state;
	struct rb_wire_msg m;

	assert_int_equal(rb_wire_send(sv[0], RB_WIRE_REQUEST, "hello", 5, NULL, 0), 0);
	assert_int_equal(rb_wire_recv(sv[1], buf, &m, 0), 1);
	assert_int_equal(m.kind, RB_WIRE_REQUEST);
	assert_int_equal(m.len, 5);
	assert_memory_equal(m.payload, "hello", 5);
	assert_int_equal(m.nfds, 0);

	/* An empty payload is a valid frame. */
	assert_int_equal(rb_wire_send(sv[0], RB_WIRE_EVENT, NULL, 0, NULL, 0), 0);
	assert_int_equal(rb_wire_recv(sv[1], buf, &m, 0), 1);
	assert_int_equal(m.kind, RB_WIRE_EVENT);
	assert_int_equal(m.len, 0);
}

static void test_fds(void **state)
{
	int *sv = *state;
	int fds[2];
	struct rb_wire_msg m;

	fds[0] = memfd_create("t", MFD_CLOEXEC);
	fds[1] = dup(fds[0]);
	assert_true(fds[0] >= 0 && fds[1] >= 0);
	assert_int_equal(rb_wire_send(sv[0], RB_WIRE_REPLY, "x", 1, fds, 2), 0);
	assert_int_equal(rb_wire_recv(sv[1], buf, &m, 4), 1);
	assert_int_equal(m.nfds, 2);
	for (int i = 0; i < 2; i++) {
		assert_true(m.fds[i] >= 0);
		/* received fds never leak into exec'd children */
		assert_true(fcntl(m.fds[i], F_GETFD) & FD_CLOEXEC);
	}
	rb_wire_msg_close_fds(&m);
	assert_int_equal(m.nfds, 0);
	close(fds[0]);
	close(fds[1]);
}

static void test_too_many_fds(void **state)
{
	int *sv = *state;
	int base = count_fds();
	int fds[3];
	struct rb_wire_msg m;

	for (int i = 0; i < 3; i++)
		fds[i] = memfd_create("t", MFD_CLOEXEC);
	assert_int_equal(rb_wire_send(sv[0], RB_WIRE_REQUEST, "x", 1, fds, 3), 0);
	for (int i = 0; i < 3; i++)
		close(fds[i]);
	/* The receiver expects 2 at most: refused, and none left open. */
	assert_int_equal(rb_wire_recv(sv[1], buf, &m, 2), -EPROTO);
	assert_int_equal(count_fds(), base);
	/* Sending more than any frame may carry is refused up front. */
	assert_int_equal(rb_wire_send(sv[0], RB_WIRE_REQUEST, "x", 1, fds,
				      RB_WIRE_MAX_FDS + 1), -EINVAL);
}

static void test_bad_headers(void **state)
{
	int *sv = *state;
	struct rb_wire_hdr h = {
		.magic = RB_WIRE_MAGIC, .version = RB_WIRE_VERSION,
		.kind = RB_WIRE_REQUEST, .len = 3,
	};
	uint8_t frame[sizeof(h) + 3] = { 0 };
	struct rb_wire_msg m;
	struct rb_wire_hdr bad;

	bad = h; bad.magic ^= 1;
	memcpy(frame, &bad, sizeof(bad));
	send_raw(sv[0], frame, sizeof(frame));
	assert_int_equal(rb_wire_recv(sv[1], buf, &m, 0), -EBADMSG);

	bad = h; bad.version = 2;
	memcpy(frame, &bad, sizeof(bad));
	send_raw(sv[0], frame, sizeof(frame));
	assert_int_equal(rb_wire_recv(sv[1], buf, &m, 0), -EBADMSG);

	bad = h; bad.kind = 9;
	memcpy(frame, &bad, sizeof(bad));
	send_raw(sv[0], frame, sizeof(frame));
	assert_int_equal(rb_wire_recv(sv[1], buf, &m, 0), -EBADMSG);

	bad = h; bad.reserved = 1;
	memcpy(frame, &bad, sizeof(bad));
	send_raw(sv[0], frame, sizeof(frame));
	assert_int_equal(rb_wire_recv(sv[1], buf, &m, 0), -EBADMSG);

	bad = h; bad.len = 4;	/* says more than it carries */
	memcpy(frame, &bad, sizeof(bad));
	send_raw(sv[0], frame, sizeof(frame));
	assert_int_equal(rb_wire_recv(sv[1], buf, &m, 0), -EBADMSG);

	send_raw(sv[0], frame, 5);	/* shorter than a header */
	assert_int_equal(rb_wire_recv(sv[1], buf, &m, 0), -EBADMSG);

	/* The stream stays usable after each refusal. */
	assert_int_equal(rb_wire_send(sv[0], RB_WIRE_REQUEST, "ok", 2, NULL, 0), 0);
	assert_int_equal(rb_wire_recv(sv[1], buf, &m, 0), 1);
}

static void test_oversized(void **state)
{
	int *sv = *state;
	size_t len = RB_WIRE_MAX_FRAME + 10;
	uint8_t *big = calloc(1, len);
	int sz = (int)(2 * len);
	struct rb_wire_msg m;

	assert_non_null(big);
	setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	send_raw(sv[0], big, len);
	assert_int_equal(rb_wire_recv(sv[1], buf, &m, 0), -EMSGSIZE);
	assert_int_equal(rb_wire_send(sv[0], RB_WIRE_REQUEST, big,
				      RB_WIRE_MAX_PAYLOAD + 1, NULL, 0), -EMSGSIZE);
	/* exactly the maximum passes */
	assert_int_equal(rb_wire_send(sv[0], RB_WIRE_REQUEST, big,
				      RB_WIRE_MAX_PAYLOAD, NULL, 0), 0);
	assert_int_equal(rb_wire_recv(sv[1], buf, &m, 0), 1);
	assert_int_equal(m.len, RB_WIRE_MAX_PAYLOAD);
	free(big);
}

static void test_eof(void **state)
{
	int *sv = *state;
	struct rb_wire_msg m;

	shutdown(sv[0], SHUT_WR);
	assert_int_equal(rb_wire_recv(sv[1], buf, &m, 0), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_roundtrip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fds, setup, teardown),
		cmocka_unit_test_setup_teardown(test_too_many_fds, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_headers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_oversized, setup, teardown),
		cmocka_unit_test_setup_teardown(test_eof, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
