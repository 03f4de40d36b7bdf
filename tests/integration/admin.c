/* SPDX-License-Identifier: MIT */
/*
 * Who sees whom: `daemon-admin list` prints "admin=0|1 clients=N uids=..."
 * as the daemon answers ClientListReq for the calling user;
 * `daemon-admin hold SECONDS` keeps one handshaken connection open.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proto/rpc.h"

int main(int argc, char **argv)
{
	Rdmabroker__Request req = RDMABROKER__REQUEST__INIT;
	Rdmabroker__ClientListReq q = RDMABROKER__CLIENT_LIST_REQ__INIT;
	Rdmabroker__Reply *rep;
	struct rb_rpc rpc;
	char err[256];
	int ret;

	if (argc < 2)
		return 99;
	ret = rb_rpc_connect(&rpc, NULL, "daemon-admin", err, sizeof(err));
	if (ret < 0) {
		fprintf(stderr, "daemon-admin: %s\n", err);
		return 1;
	}
	if (!strcmp(argv[1], "hold")) {
		sleep(argc > 2 ? (unsigned int)atoi(argv[2]) : 30);
		rb_rpc_close(&rpc);
		return 0;
	}
	req.body_case = RDMABROKER__REQUEST__BODY_CLIENT_LIST;
	req.client_list = &q;
	ret = rb_rpc_call_ok(&rpc, &req, &rep);
	if (ret < 0) {
		fprintf(stderr, "daemon-admin: client list: %s\n", strerror(-ret));
		return 1;
	}
	printf("admin=%d clients=%zu uids=", rpc.admin,
	       rep->client_list->n_clients);
	for (size_t i = 0; i < rep->client_list->n_clients; i++)
		printf("%s%u", i ? "," : "", rep->client_list->clients[i]->uid);
	printf("\n");
	rb_rpc_reply_free(rep);
	rb_rpc_close(&rpc);
	return 0;
}
