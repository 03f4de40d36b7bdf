/* SPDX-License-Identifier: MIT */
/*
 * The daemon against broken and hostile peers on its control socket:
 * wrong protocol versions, garbage, oversized datagrams, unexpected fds,
 * connection storms.  After each, the daemon must still answer a query
 * and hold no more fds than before.  Run by daemon-robust.sh, which starts
 * the daemon and exports RDMABROKER_SOCKET and RB_DAEMON_PID.
 */
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
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "proto/rpc.h"

static pid_t daemon_pid;
static const char *sock_path;

static int count_fds(pid_t pid)
{
	char path[64];
	struct dirent *e;
	int n = 0;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	d = opendir(path);
	assert_non_null(d);
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

/* The daemon's fd count settles once it has processed the hang-ups. */
static void assert_fds_settle(int baseline)
{
	int n = -1;

	for (int i = 0; i < 100; i++) {
		n = count_fds(daemon_pid);
		if (n <= baseline)
			break;
		usleep(20000);
	}
	if (n > baseline)
		fail_msg("daemon holds %d fds, %d before", n, baseline);
}

static int raw_connect(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct timeval tv = { .tv_sec = 5 };
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock_path);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return fd;
}

/* The daemon still serves: a fresh client handshakes and gets a status. */
static void assert_daemon_serves(void)
{
	Rdmabroker__Request req = RDMABROKER__REQUEST__INIT;
	Rdmabroker__StatusReq st = RDMABROKER__STATUS_REQ__INIT;
	Rdmabroker__Reply *rep;
	struct rb_rpc rpc;
	char err[256];

	assert_int_equal(rb_rpc_connect(&rpc, sock_path, "daemon-robust", err,
					sizeof(err)), 0);
	req.body_case = RDMABROKER__REQUEST__BODY_DAEMON_STATUS;
	req.daemon_status = &st;
	assert_int_equal(rb_rpc_call_ok(&rpc, &req, &rep), 0);
	assert_int_equal(rep->body_case, RDMABROKER__REPLY__BODY_DAEMON_STATUS);
	assert_int_equal(rep->daemon_status->pid, (uint32_t)daemon_pid);
	rb_rpc_reply_free(rep);
	rb_rpc_close(&rpc);
}

/* Read one reply frame; returns 1 and *out, 0 on EOF. */
static int read_reply(int fd, Rdmabroker__Reply **out)
{
	static uint8_t buf[RB_WIRE_MAX_FRAME + 1];
	struct rb_wire_msg msg;
	int ret;

	do {
		ret = rb_wire_recv(fd, buf, &msg, 0);
	} while (ret == 1 && msg.kind == RB_WIRE_EVENT);
	if (ret <= 0)
		return ret == 0 || ret == -ECONNRESET ? 0 : ret;
	assert_int_equal(msg.kind, RB_WIRE_REPLY);
	*out = rdmabroker__reply__unpack(NULL, msg.len, msg.payload);
	assert_non_null(*out);
	return 1;
}

static void assert_eof(int fd)
{
	Rdmabroker__Reply *r = NULL;
	int ret = read_reply(fd, &r);

	if (ret == 1) {
		rb_rpc_reply_free(r);
		ret = read_reply(fd, &r);
	}
	assert_int_equal(ret, 0);
}

static void send_hello(int fd, uint32_t version, const char *client_version)
{
	Rdmabroker__Request req = RDMABROKER__REQUEST__INIT;
	Rdmabroker__Hello h = RDMABROKER__HELLO__INIT;

	h.proto_version = version;
	h.client_version = (char *)client_version;
	req.seq = 7;
	req.body_case = RDMABROKER__REQUEST__BODY_HELLO;
	req.hello = &h;
	assert_int_equal(rb_wire_send_pb(fd, RB_WIRE_REQUEST, &req.base, NULL, 0), 0);
}

static void test_handshake_ok(void **state)
{
	assert_daemon_serves();
}

static void test_wrong_version(void **state)
{
	int base = count_fds(daemon_pid);
	Rdmabroker__Reply *r;
	int fd = raw_connect();

	send_hello(fd, RB_PROTO_VERSION + 41, "9.9");
	assert_int_equal(read_reply(fd, &r), 1);
	assert_int_equal(r->seq, 7);
	assert_int_equal(r->status, EPROTONOSUPPORT);
	assert_non_null(r->error);
	assert_non_null(strstr(r->error, "not supported"));
	rb_rpc_reply_free(r);
	/* ... and the daemon hangs up. */
	assert_eof(fd);
	close(fd);
	assert_fds_settle(base);
	assert_daemon_serves();
}

static void test_request_before_hello(void **state)
{
	Rdmabroker__Request req = RDMABROKER__REQUEST__INIT;
	Rdmabroker__StatusReq st = RDMABROKER__STATUS_REQ__INIT;
	Rdmabroker__Reply *r;
	int fd = raw_connect();

	req.seq = 3;
	req.body_case = RDMABROKER__REQUEST__BODY_DAEMON_STATUS;
	req.daemon_status = &st;
	assert_int_equal(rb_wire_send_pb(fd, RB_WIRE_REQUEST, &req.base, NULL, 0), 0);
	assert_int_equal(read_reply(fd, &r), 1);
	assert_int_equal(r->seq, 3);
	assert_int_equal(r->status, EPROTO);
	rb_rpc_reply_free(r);
	/* The session survives and may still handshake. */
	send_hello(fd, RB_PROTO_VERSION, "test");
	assert_int_equal(read_reply(fd, &r), 1);
	assert_int_equal(r->status, 0);
	assert_int_equal(r->body_case, RDMABROKER__REPLY__BODY_HELLO);
	rb_rpc_reply_free(r);
	/* A second Hello is refused. */
	send_hello(fd, RB_PROTO_VERSION, "test");
	assert_int_equal(read_reply(fd, &r), 1);
	assert_int_equal(r->status, EALREADY);
	rb_rpc_reply_free(r);
	close(fd);
}

static void test_garbage(void **state)
{
	int base = count_fds(daemon_pid);
	unsigned int seed = (unsigned int)time(NULL);
	uint8_t junk[512];

	for (int i = 0; i < 50; i++) {
		int fd = raw_connect();
		size_t len = 1 + (size_t)rand_r(&seed) % sizeof(junk);

		for (size_t k = 0; k < len; k++)
			junk[k] = (uint8_t)rand_r(&seed);
		/* Never a valid header by accident. */
		junk[0] ^= 0x5a;
		assert_true(send(fd, junk, len, MSG_NOSIGNAL) == (ssize_t)len);
		assert_eof(fd);
		close(fd);
	}
	assert_fds_settle(base);
	assert_daemon_serves();
}

static void test_bad_payload(void **state)
{
	static const uint8_t junk[] = { 0xff, 0xff, 0xff, 0xff, 0x0f, 0x01 };
	Rdmabroker__Reply *r;
	int fd = raw_connect();

	/* A well-framed datagram whose protobuf does not decode. */
	assert_int_equal(rb_wire_send(fd, RB_WIRE_REQUEST, junk, sizeof(junk),
				      NULL, 0), 0);
	assert_int_equal(read_reply(fd, &r), 1);
	assert_int_equal(r->status, EBADMSG);
	rb_rpc_reply_free(r);
	/* An empty request (no body) is an unknown type. */
	assert_int_equal(rb_wire_send(fd, RB_WIRE_REQUEST, "\x08\x01", 2, NULL, 0), 0);
	assert_int_equal(read_reply(fd, &r), 1);
	assert_int_equal(r->status, EOPNOTSUPP);
	rb_rpc_reply_free(r);
	close(fd);
	assert_daemon_serves();
}

static void test_long_string(void **state)
{
	char big[1000];
	Rdmabroker__Reply *r;
	int fd = raw_connect();

	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	send_hello(fd, RB_PROTO_VERSION, big);
	assert_int_equal(read_reply(fd, &r), 1);
	assert_int_equal(r->status, ENAMETOOLONG);
	rb_rpc_reply_free(r);
	close(fd);
	assert_daemon_serves();
}

static void test_oversized(void **state)
{
	int base = count_fds(daemon_pid);
	size_t len = RB_WIRE_MAX_FRAME + 4096;
	struct rb_wire_hdr h = {
		.magic = RB_WIRE_MAGIC,
		.version = RB_WIRE_VERSION,
		.kind = RB_WIRE_REQUEST,
		.len = (uint32_t)(len - sizeof(h)),
	};
	uint8_t *buf = calloc(1, len);
	int fd = raw_connect();
	int sz = (int)len * 2;

	assert_non_null(buf);
	memcpy(buf, &h, sizeof(h));
	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	assert_true(send(fd, buf, len, MSG_NOSIGNAL) == (ssize_t)len);
	assert_eof(fd);
	close(fd);
	free(buf);
	assert_fds_settle(base);
	assert_daemon_serves();
}

static void test_wrong_kind(void **state)
{
	Rdmabroker__Reply rep = RDMABROKER__REPLY__INIT;
	int fd = raw_connect();

	/* A client may only send requests. */
	assert_int_equal(rb_wire_send_pb(fd, RB_WIRE_REPLY, &rep.base, NULL, 0), 0);
	assert_eof(fd);
	close(fd);
	assert_daemon_serves();
}

static void test_unexpected_fds(void **state)
{
	Rdmabroker__Request req = RDMABROKER__REQUEST__INIT;
	Rdmabroker__StatusReq st = RDMABROKER__STATUS_REQ__INIT;
	int base = count_fds(daemon_pid);
	int p[2], fds[20];
	Rdmabroker__Reply *r;
	int fd = raw_connect();

	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	send_hello(fd, RB_PROTO_VERSION, "test");
	assert_int_equal(read_reply(fd, &r), 1);
	rb_rpc_reply_free(r);

	/* A request that takes no fds, with two: refused, fds closed. */
	req.seq = 9;
	req.body_case = RDMABROKER__REQUEST__BODY_DAEMON_STATUS;
	req.daemon_status = &st;
	assert_int_equal(rb_wire_send_pb(fd, RB_WIRE_REQUEST, &req.base, p, 2), 0);
	assert_int_equal(read_reply(fd, &r), 1);
	assert_int_equal(r->seq, 9);
	assert_int_equal(r->status, EBADMSG);
	rb_rpc_reply_free(r);
	assert_fds_settle(base + 1);	/* only our connection */

	/* More fds than any frame may carry: the peer is dropped. */
	for (int i = 0; i < 20; i++)
		fds[i] = p[i % 2];
	{
		union {
			char buf[CMSG_SPACE(sizeof(fds))];
			struct cmsghdr align;
		} c;
		uint8_t frame[RB_WIRE_MAX_FRAME];
		ssize_t len = rb_wire_pack(frame, RB_WIRE_REQUEST, &req.base);
		struct iovec iov = { .iov_base = frame, .iov_len = (size_t)len };
		struct msghdr mh = {
			.msg_iov = &iov, .msg_iovlen = 1,
			.msg_control = c.buf, .msg_controllen = sizeof(c.buf),
		};
		struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);

		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(fds));
		memcpy(CMSG_DATA(cm), fds, sizeof(fds));
		assert_true(len > 0);
		assert_true(sendmsg(fd, &mh, MSG_NOSIGNAL) == len);
	}
	assert_eof(fd);
	close(fd);
	close(p[0]);
	close(p[1]);
	assert_fds_settle(base);
	assert_daemon_serves();
}

static void test_connection_storm(void **state)
{
	enum { N = 200 };
	int base = count_fds(daemon_pid);
	static struct rb_rpc rpc[N];
	int raw[N];
	char err[256];

	/* 200 raw connections at once, then 200 handshaken ones. */
	for (int i = 0; i < N; i++)
		raw[i] = raw_connect();
	for (int i = 0; i < N; i++)
		close(raw[i]);
	for (int i = 0; i < N; i++)
		assert_int_equal(rb_rpc_connect(&rpc[i], sock_path, "storm",
						err, sizeof(err)), 0);
	assert_daemon_serves();
	for (int i = 0; i < N; i++)
		rb_rpc_close(&rpc[i]);
	assert_fds_settle(base);
	assert_daemon_serves();
}

static void test_reply_seq(void **state)
{
	Rdmabroker__Request req = RDMABROKER__REQUEST__INIT;
	Rdmabroker__DeviceQueryReq q = RDMABROKER__DEVICE_QUERY_REQ__INIT;
	Rdmabroker__Reply *r;
	struct rb_rpc rpc;
	char err[256];

	assert_int_equal(rb_rpc_connect(&rpc, sock_path, "t", err, sizeof(err)), 0);
	q.dev_index = 4242;
	req.body_case = RDMABROKER__REQUEST__BODY_DEVICE_QUERY;
	req.device_query = &q;
	assert_int_equal(rb_rpc_call(&rpc, &req, &r, NULL, 0, NULL), 0);
	assert_int_equal(r->status, ENODEV);
	assert_non_null(strstr(r->error, "4242"));
	rb_rpc_reply_free(r);
	rb_rpc_close(&rpc);
}

int main(void)
{
	const char *pid = getenv("RB_DAEMON_PID");
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_handshake_ok),
		cmocka_unit_test(test_wrong_version),
		cmocka_unit_test(test_request_before_hello),
		cmocka_unit_test(test_garbage),
		cmocka_unit_test(test_bad_payload),
		cmocka_unit_test(test_long_string),
		cmocka_unit_test(test_oversized),
		cmocka_unit_test(test_wrong_kind),
		cmocka_unit_test(test_unexpected_fds),
		cmocka_unit_test(test_connection_storm),
		cmocka_unit_test(test_reply_seq),
	};

	sock_path = getenv("RDMABROKER_SOCKET");
	if (!pid || !sock_path) {
		fprintf(stderr, "daemon-robust: run from daemon-robust.sh\n");
		return 99;
	}
	daemon_pid = (pid_t)atoi(pid);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
