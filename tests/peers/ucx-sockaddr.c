/* SPDX-License-Identifier: MIT */
/*
 * UCX's client-server connection by socket address (issue 13), which
 * Debian's ucx_perftest 1.13 cannot be asked for: a UCP listener
 * (ucp_listener_create) and a client endpoint made from its address
 * (ucp_ep_create with UCP_EP_PARAM_FIELD_SOCK_ADDR).  With
 * UCX_SOCKADDR_TLS_PRIORITY=rdmacm UCX connects through librdmacm, which
 * rdmab-run gives as the broker's.
 *
 *   ucx-sockaddr server PORT      listen on 0.0.0.0:PORT, take ROUNDS
 *                                 tagged messages on the first endpoint
 *                                 and send each back, then leave
 *   ucx-sockaddr client ADDR PORT connect, send ROUNDS messages of 1 to
 *                                 64 KiB and check each echo byte for byte
 *
 * The server prints "listening" once it listens.  Each side prints the
 * transports of its endpoint (ucp_ep_print_info) and "echoed".  Exit 0 pass,
 * 1 fail; 77 when UCX finds no way to listen or connect (no transport
 * or CM for the address: the reason is printed).
 */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <ucp/api/ucp.h>

#define ROUNDS		20
#define MAX_LEN		(64 * 1024)
#define TAG		0x1337ull
#define TIMEOUT_S	20

#define FAIL(...) do { fprintf(stderr, "ucx-sockaddr: FAIL: " __VA_ARGS__); \
	fprintf(stderr, "\n"); exit(1); } while (0)
#define SKIP(...) do { printf("ucx-sockaddr: SKIP: " __VA_ARGS__); \
	printf("\n"); exit(77); } while (0)

static ucp_context_h ctx;
static ucp_worker_h worker;
static ucp_conn_request_h conn_req;
static time_t deadline;

static void check_time(const char *what)
{
	if (time(NULL) > deadline)
		FAIL("%s: nothing after %d s", what, TIMEOUT_S);
}

/* Progress until the request completes; its status. */
static ucs_status_t wait_req(void *req, const char *what)
{
	ucs_status_t st;

	if (req == NULL)
		return UCS_OK;
	if (UCS_PTR_IS_ERR(req))
		return UCS_PTR_STATUS(req);
	while ((st = ucp_request_check_status(req)) == UCS_INPROGRESS) {
		ucp_worker_progress(worker);
		check_time(what);
	}
	ucp_request_free(req);
	return st;
}

static void on_conn(ucp_conn_request_h req, void *arg)
{
	(void)arg;
	if (conn_req)
		ucp_listener_reject(NULL, req);	/* one client at a time */
	else
		conn_req = req;
}

static void on_err(void *arg, ucp_ep_h ep, ucs_status_t st)
{
	(void)arg;
	(void)ep;
	/* The peer's close after the last echo is expected. */
	if (st != UCS_ERR_CONNECTION_RESET && st != UCS_ERR_ENDPOINT_TIMEOUT)
		fprintf(stderr, "ucx-sockaddr: endpoint error: %s\n",
			ucs_status_string(st));
}

static void fill(uint8_t *b, size_t n, unsigned int seed)
{
	for (size_t i = 0; i < n; i++)
		b[i] = (uint8_t)(seed * 31 + i * 7);
}

/* got (n bytes) must be want (len): else fail, saying where they differ. */
static void check_same(int r, const char *what, const uint8_t *got, size_t n,
		       const uint8_t *want, size_t len)
{
	size_t first = 0, last = 0, bad = 0;

	if (n == len && !memcmp(got, want, len))
		return;
	for (size_t i = 0; i < len && i < n; i++)
		if (got[i] != want[i]) {
			if (!bad++)
				first = i;
			last = i;
		}
	FAIL("round %d: %s of %zu bytes differs (%zu came; %zu bytes differ, "
	     "from offset %zu to %zu)", r, what, len, n, bad, first, last);
}

struct rx {
	bool done;
	ucs_status_t st;
	size_t len;
};

static void on_recv(void *req, ucs_status_t st, const ucp_tag_recv_info_t *info,
		    void *user)
{
	struct rx *rx = user;

	(void)req;
	rx->st = st;
	rx->len = st == UCS_OK ? info->length : 0;
	rx->done = true;
}

static ucs_status_t xfer(ucp_ep_h ep, void *buf, size_t len, bool send,
			 size_t *got)
{
	struct rx rx = { .done = false };
	ucp_request_param_t p = {
		.op_attr_mask = UCP_OP_ATTR_FIELD_CALLBACK |
				UCP_OP_ATTR_FIELD_USER_DATA |
				UCP_OP_ATTR_FLAG_NO_IMM_CMPL,
		.cb.recv = on_recv,
		.user_data = &rx,
	};
	void *req;

	if (send) {
		p.op_attr_mask = 0;
		return wait_req(ucp_tag_send_nbx(ep, buf, len, TAG, &p), "send");
	}
	/* Always a request (NO_IMM_CMPL): the callback gives the length. */
	req = ucp_tag_recv_nbx(worker, buf, len, TAG, (ucp_tag_t)-1, &p);
	if (UCS_PTR_IS_ERR(req))
		return UCS_PTR_STATUS(req);
	while (!rx.done) {
		ucp_worker_progress(worker);
		check_time("receive");
	}
	ucp_request_free(req);
	*got = rx.len;
	return rx.st;
}

static void ep_close(ucp_ep_h ep)
{
	/* A flushing close: every message is through by now. */
	ucp_request_param_t p = { .op_attr_mask = 0 };

	wait_req(ucp_ep_close_nbx(ep, &p), "close");
}

/* Every message echoed: say so, then close the endpoint, flushing. */
static void teardown(ucp_ep_h ep)
{
	printf("echoed %d messages\n", ROUNDS);
	fflush(stdout);
	ep_close(ep);
}

static ucp_ep_h ep_make(const struct sockaddr_in *sa, bool server)
{
	ucp_ep_params_t ep = {
		.field_mask = UCP_EP_PARAM_FIELD_ERR_HANDLER |
			      UCP_EP_PARAM_FIELD_ERR_HANDLING_MODE,
		.err_mode = UCP_ERR_HANDLING_MODE_PEER,
		.err_handler = { .cb = on_err },
	};
	ucp_ep_h h;
	ucs_status_t st;

	if (server) {
		ep.field_mask |= UCP_EP_PARAM_FIELD_CONN_REQUEST;
		ep.conn_request = conn_req;
	} else {
		ep.field_mask |= UCP_EP_PARAM_FIELD_FLAGS | UCP_EP_PARAM_FIELD_SOCK_ADDR;
		ep.flags = UCP_EP_PARAMS_FLAGS_CLIENT_SERVER;
		ep.sockaddr.addr = (const struct sockaddr *)sa;
		ep.sockaddr.addrlen = sizeof(*sa);
	}
	st = ucp_ep_create(worker, &ep, &h);
	if (st == UCS_ERR_UNREACHABLE || st == UCS_ERR_UNSUPPORTED ||
	    st == UCS_ERR_NO_DEVICE)
		SKIP("ucp_ep_create: %s", ucs_status_string(st));
	if (st != UCS_OK)
		FAIL("ucp_ep_create: %s", ucs_status_string(st));
	return h;
}

int main(int argc, char **argv)
{
	ucp_params_t cp = {
		.field_mask = UCP_PARAM_FIELD_FEATURES,
		.features = UCP_FEATURE_TAG,
	};
	ucp_worker_params_t wp = {
		.field_mask = UCP_WORKER_PARAM_FIELD_THREAD_MODE,
		.thread_mode = UCS_THREAD_MODE_SINGLE,
	};
	struct sockaddr_in sa = { .sin_family = AF_INET };
	bool server = argc == 3 && !strcmp(argv[1], "server");
	uint8_t *buf, *want;
	ucs_status_t st;
	ucp_ep_h ep;

	if (!server && !(argc == 4 && !strcmp(argv[1], "client")))
		FAIL("usage: ucx-sockaddr server PORT | client ADDR PORT");
	sa.sin_port = htons((uint16_t)atoi(argv[argc - 1]));
	if (server)
		sa.sin_addr.s_addr = htonl(INADDR_ANY);
	else if (inet_pton(AF_INET, argv[2], &sa.sin_addr) != 1)
		FAIL("bad address %s", argv[2]);
	buf = malloc(MAX_LEN);
	want = malloc(MAX_LEN);
	if (!buf || !want)
		FAIL("out of memory");
	st = ucp_init(&cp, NULL, &ctx);
	if (st != UCS_OK)
		FAIL("ucp_init: %s", ucs_status_string(st));
	st = ucp_worker_create(ctx, &wp, &worker);
	if (st != UCS_OK)
		FAIL("ucp_worker_create: %s", ucs_status_string(st));
	deadline = time(NULL) + TIMEOUT_S;

	if (server) {
		ucp_listener_params_t lp = {
			.field_mask = UCP_LISTENER_PARAM_FIELD_SOCK_ADDR |
				      UCP_LISTENER_PARAM_FIELD_CONN_HANDLER,
			.sockaddr = { .addr = (const struct sockaddr *)&sa,
				      .addrlen = sizeof(sa) },
			.conn_handler = { .cb = on_conn },
		};
		ucp_listener_h l;

		st = ucp_listener_create(worker, &lp, &l);
		if (st != UCS_OK)
			SKIP("ucp_listener_create: %s (no sockaddr CM for it)",
			     ucs_status_string(st));
		printf("listening\n");
		fflush(stdout);
		while (!conn_req) {
			ucp_worker_progress(worker);
			check_time("connection request");
		}
		ep = ep_make(NULL, true);
		for (int r = 0; r < ROUNDS; r++) {
			size_t got = 0;

			st = xfer(ep, buf, MAX_LEN, false, &got);
			if (st != UCS_OK)
				FAIL("round %d: receive: %s", r, ucs_status_string(st));
			/* Which way a wrong byte went, if one does. */
			fill(want, got, (unsigned int)r);
			check_same(r, "the message", buf, got, want, got);
			st = xfer(ep, buf, got, true, NULL);
			if (st != UCS_OK)
				FAIL("round %d: echo: %s", r, ucs_status_string(st));
		}
		/* The client's last message: it has every echo. */
		{
			size_t got = 0;

			(void)xfer(ep, buf, MAX_LEN, false, &got);
		}
		ucp_ep_print_info(ep, stdout);
		teardown(ep);
		ucp_listener_destroy(l);
	} else {
		ep = ep_make(&sa, false);
		for (int r = 0; r < ROUNDS; r++) {
			size_t len = (size_t)1 << (r % 17), got = 0;

			fill(want, len, (unsigned int)r);
			memcpy(buf, want, len);
			st = xfer(ep, buf, len, true, NULL);
			if (st != UCS_OK)
				FAIL("round %d: send of %zu bytes: %s", r, len,
				     ucs_status_string(st));
			memset(buf, 0, len);
			st = xfer(ep, buf, MAX_LEN, false, &got);
			if (st != UCS_OK)
				FAIL("round %d: echo: %s", r, ucs_status_string(st));
			check_same(r, "the echo", buf, got, want, len);
		}
		/* A last message: the server's cue to close. */
		st = xfer(ep, buf, 1, true, NULL);
		if (st != UCS_OK)
			FAIL("last send: %s", ucs_status_string(st));
		ucp_ep_print_info(ep, stdout);
		teardown(ep);
	}
	ucp_worker_destroy(worker);
	ucp_cleanup(ctx);
	free(buf);
	free(want);
	printf("ok\n");
	return 0;
}
