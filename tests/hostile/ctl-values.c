/* SPDX-License-Identifier: MIT */
/*
 * Out-of-range values on the control socket, against a real private
 * daemon (tests/hostile/ctl-values.sh): valid protobufs with out-of-range
 * values for each request, other clients' handles, QP transitions out of
 * order, requests before the handshake, without a device, after the
 * daemon closed the conversation: each refused with an error status and
 * a log line.  Prints a "figure:" line; exit 0 on success, 1 on failure.
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

/* ------------------------------------------------- out-of-range values */

#define U32MAX 0xffffffffu
#define U64MAX 0xffffffffffffffffull

static void values_objects(struct conn *c, struct conn *o)
{
	struct reqbuf b;
	Rdmabroker__Request *r;
	uint32_t bogus[] = { 0, 0x7fffff, U32MAX };

	/* Handles that do not exist, or are another client's (o's). */
	for (size_t i = 0; i < 3; i++) {
		uint32_t h = bogus[i];

		r = build(&b, c, RDMABROKER__REQUEST__BODY_PD_DEALLOC);
		b.pd_dealloc.handle = h;
		refused(c, r, NULL, 0, "pd_dealloc of a bogus handle");
		r = build(&b, c, RDMABROKER__REQUEST__BODY_CQ_DESTROY);
		b.cq_destroy.handle = h;
		refused(c, r, NULL, 0, "cq_destroy of a bogus handle");
		r = build(&b, c, RDMABROKER__REQUEST__BODY_QP_QUERY);
		b.qp_query.handle = h;
		refused(c, r, NULL, 0, "qp_query of a bogus handle");
		r = build(&b, c, RDMABROKER__REQUEST__BODY_MR_DEREG);
		b.mr_dereg.handle = h;
		refused(c, r, NULL, 0, "mr_dereg of a bogus handle");
		r = build(&b, c, RDMABROKER__REQUEST__BODY_AH_DESTROY);
		b.ah_destroy.handle = h;
		refused(c, r, NULL, 0, "ah_destroy of a bogus handle");
		r = build(&b, c, RDMABROKER__REQUEST__BODY_SRQ_QUERY);
		b.srq_query.handle = h;
		refused(c, r, NULL, 0, "srq_query of a bogus handle");
		r = build(&b, c, RDMABROKER__REQUEST__BODY_CHANNEL_DESTROY);
		b.ch_destroy.handle = h;
		refused(c, r, NULL, 0, "channel_destroy of a bogus handle");
	}
	/* Handles of the wrong type: the QP's handle as a PD and so on. */
	r = build(&b, c, RDMABROKER__REQUEST__BODY_PD_DEALLOC);
	b.pd_dealloc.handle = c->qp;
	refused(c, r, NULL, 0, "pd_dealloc of a QP handle");
	r = build(&b, c, RDMABROKER__REQUEST__BODY_CQ_DESTROY);
	b.cq_destroy.handle = c->mr;
	refused(c, r, NULL, 0, "cq_destroy of an MR handle");
	r = build(&b, c, RDMABROKER__REQUEST__BODY_QP_CREATE);
	b.qp_create.send_cq = c->srq;
	refused(c, r, NULL, 0, "qp_create with an SRQ as its CQ");
	/* Objects still in use. */
	r = build(&b, c, RDMABROKER__REQUEST__BODY_PD_DEALLOC);
	refused(c, r, NULL, 0, "pd_dealloc of a PD in use");
	r = build(&b, c, RDMABROKER__REQUEST__BODY_CQ_DESTROY);
	refused(c, r, NULL, 0, "cq_destroy of a CQ in use");

	/* o names c's objects by c's handles: none of them is o's. */
	{
		static const Rdmabroker__Request__BodyCase t[] = {
			RDMABROKER__REQUEST__BODY_PD_DEALLOC,
			RDMABROKER__REQUEST__BODY_CHANNEL_DESTROY,
			RDMABROKER__REQUEST__BODY_CQ_RESIZE,
			RDMABROKER__REQUEST__BODY_CQ_DESTROY,
			RDMABROKER__REQUEST__BODY_QP_CREATE,
			RDMABROKER__REQUEST__BODY_QP_MODIFY,
			RDMABROKER__REQUEST__BODY_QP_QUERY,
			RDMABROKER__REQUEST__BODY_QP_DESTROY,
			RDMABROKER__REQUEST__BODY_SRQ_CREATE,
			RDMABROKER__REQUEST__BODY_SRQ_MODIFY,
			RDMABROKER__REQUEST__BODY_SRQ_QUERY,
			RDMABROKER__REQUEST__BODY_SRQ_DESTROY,
			RDMABROKER__REQUEST__BODY_AH_CREATE,
			RDMABROKER__REQUEST__BODY_AH_DESTROY,
			RDMABROKER__REQUEST__BODY_MR_REG,
			RDMABROKER__REQUEST__BODY_MR_DEREG,
			RDMABROKER__REQUEST__BODY_MR_REREG,
		};
		struct conn as_c = *c;
		char what[96];

		as_c.fd = o->fd;
		as_c.seq = o->seq;
		for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
			int fd = c->memfd;

			r = build(&b, &as_c, t[i]);
			if (t[i] == RDMABROKER__REQUEST__BODY_CQ_CREATE)
				b.cq_create.channel = c->ch;
			snprintf(what, sizeof(what), "type %d on another client's objects",
				 (int)t[i]);
			refused(o, r, &fd, t[i] == RDMABROKER__REQUEST__BODY_MR_REG,
				what);
		}
		r = build(&b, &as_c, RDMABROKER__REQUEST__BODY_CQ_CREATE);
		refused(o, r, NULL, 0, "cq_create on another client's channel");
	}
	/* And c's objects are all still there and c's. */
	CHECK(call_type(c, RDMABROKER__REQUEST__BODY_QP_QUERY, NULL) == 0,
	      "c's QP is gone");
	CHECK(call_type(c, RDMABROKER__REQUEST__BODY_SRQ_QUERY, NULL) == 0,
	      "c's SRQ is gone");
}

static void values_sizes(struct conn *c)
{
	static const int32_t bad_cqe[] = { 0, -1, INT32_MIN, INT32_MAX };
	static const uint32_t huge32[] = { U32MAX, 0x80000000u, 0x10000001u };
	static const uint64_t bad_len[] = { 0, U32MAX + 1ull - 0x1000000, U64MAX,
					    0x8000000000000000ull };
	struct reqbuf b;
	Rdmabroker__Request *r;
	char what[128];
	int fd = c->memfd;

	r = build(&b, c, RDMABROKER__REQUEST__BODY_DEVICE_OPEN);
	refused(c, r, NULL, 0, "device_open twice");
	r = build(&b, c, RDMABROKER__REQUEST__BODY_HELLO);
	refused(c, r, NULL, 0, "hello twice");
	for (size_t i = 0; i < 3; i++) {
		r = build(&b, c, RDMABROKER__REQUEST__BODY_DEVICE_QUERY);
		b.dquery.dev_index = huge32[i];
		refused(c, r, NULL, 0, "device_query of a device index out of range");
		r = build(&b, c, RDMABROKER__REQUEST__BODY_PORT_QUERY);
		b.port.port_num = i == 0 ? 0 : huge32[i];
		refused(c, r, NULL, 0, "port_query of a port out of range");
		r = build(&b, c, RDMABROKER__REQUEST__BODY_GID_QUERY);
		b.gid.index = huge32[i];
		refused(c, r, NULL, 0, "gid_query of an index out of range");
		r = build(&b, c, RDMABROKER__REQUEST__BODY_PKEY_QUERY);
		b.pkey.index = huge32[i];
		refused(c, r, NULL, 0, "pkey_query of an index out of range");
	}
	for (size_t i = 0; i < sizeof(bad_cqe) / sizeof(bad_cqe[0]); i++) {
		r = build(&b, c, RDMABROKER__REQUEST__BODY_CQ_CREATE);
		b.cq_create.cqe = bad_cqe[i];
		snprintf(what, sizeof(what), "cq_create cqe %d", bad_cqe[i]);
		refused(c, r, NULL, 0, what);
		r = build(&b, c, RDMABROKER__REQUEST__BODY_CQ_RESIZE);
		b.cq_resize.cqe = bad_cqe[i];
		snprintf(what, sizeof(what), "cq_resize cqe %d", bad_cqe[i]);
		refused(c, r, NULL, 0, what);
	}
	r = build(&b, c, RDMABROKER__REQUEST__BODY_CQ_CREATE);
	b.cq_create.comp_vector = -1;
	refused(c, r, NULL, 0, "cq_create comp_vector -1");
	r = build(&b, c, RDMABROKER__REQUEST__BODY_CQ_CREATE);
	b.cq_create.comp_vector = INT32_MAX;
	refused(c, r, NULL, 0, "cq_create comp_vector INT_MAX");

	for (size_t i = 0; i < 3; i++) {
		uint32_t *caps[] = { &b.cap.max_send_wr, &b.cap.max_recv_wr,
				     &b.cap.max_send_sge, &b.cap.max_recv_sge,
				     &b.cap.max_inline_data };

		for (size_t k = 0; k < 5; k++) {
			r = build(&b, c, RDMABROKER__REQUEST__BODY_QP_CREATE);
			*caps[k] = huge32[i];
			snprintf(what, sizeof(what), "qp_create cap %zu = %#x", k, huge32[i]);
			refused(c, r, NULL, 0, what);
		}
		r = build(&b, c, RDMABROKER__REQUEST__BODY_QP_CREATE);
		b.qp_create.qp_type = huge32[i];
		refused(c, r, NULL, 0, "qp_create of a QP type out of range");
		r = build(&b, c, RDMABROKER__REQUEST__BODY_SRQ_CREATE);
		b.srq_create.max_wr = huge32[i];
		refused(c, r, NULL, 0, "srq_create max_wr huge");
		r = build(&b, c, RDMABROKER__REQUEST__BODY_SRQ_CREATE);
		b.srq_create.max_sge = huge32[i];
		refused(c, r, NULL, 0, "srq_create max_sge huge");
		r = build(&b, c, RDMABROKER__REQUEST__BODY_SRQ_MODIFY);
		b.srq_modify.attr_mask = IBV_SRQ_MAX_WR;
		b.srq_modify.max_wr = huge32[i];
		refused(c, r, NULL, 0, "srq_modify max_wr huge");
		r = build(&b, c, RDMABROKER__REQUEST__BODY_AH_CREATE);
		b.ah.port_num = huge32[i];
		refused(c, r, NULL, 0, "ah_create port out of range");
		r = build(&b, c, RDMABROKER__REQUEST__BODY_AH_CREATE);
		b.ah.sgid_index = huge32[i];
		refused(c, r, NULL, 0, "ah_create sgid_index out of range");
	}
	r = build(&b, c, RDMABROKER__REQUEST__BODY_QP_CREATE);
	b.qp_create.qp_type = IBV_QPT_RAW_PACKET;
	refused(c, r, NULL, 0, "qp_create RAW_PACKET");
	r = build(&b, c, RDMABROKER__REQUEST__BODY_SRQ_CREATE);
	b.srq_create.srq_limit = 17;
	refused(c, r, NULL, 0, "srq_create limit above max_wr");
	r = build(&b, c, RDMABROKER__REQUEST__BODY_SRQ_MODIFY);
	b.srq_modify.attr_mask = U32MAX;
	refused(c, r, NULL, 0, "srq_modify attr_mask garbage");
	r = build(&b, c, RDMABROKER__REQUEST__BODY_AH_CREATE);
	b.ah.dgid.len = 3;
	refused(c, r, NULL, 0, "ah_create with a 3-byte dgid");
	r = build(&b, c, RDMABROKER__REQUEST__BODY_AH_CREATE);
	b.ah.port_num = 0;
	refused(c, r, NULL, 0, "ah_create port 0");

	/* Memory registration. */
	for (size_t i = 0; i < sizeof(bad_len) / sizeof(bad_len[0]); i++) {
		r = build(&b, c, RDMABROKER__REQUEST__BODY_MR_REG);
		b.mr_reg.length = bad_len[i];
		snprintf(what, sizeof(what), "mr_reg length %#" PRIx64, bad_len[i]);
		refused(c, r, &fd, 1, what);
		r = build(&b, c, RDMABROKER__REQUEST__BODY_MR_REG);
		b.mr_reg.mode = RDMABROKER__MR_MODE__MR_CMA;
		b.mr_reg.n_extents = 0;
		b.mr_reg.length = bad_len[i];
		snprintf(what, sizeof(what), "mr_reg CMA length %#" PRIx64, bad_len[i]);
		refused(c, r, NULL, 0, what);
	}
	r = build(&b, c, RDMABROKER__REQUEST__BODY_MR_REG);
	b.mr_reg.mode = RDMABROKER__MR_MODE__MR_CMA;
	b.mr_reg.n_extents = 0;
	b.mr_reg.addr = 0xfffffffffffff000ull;
	b.mr_reg.length = 0x2000;
	refused(c, r, NULL, 0, "mr_reg CMA wrapping around the address space");
	r = build(&b, c, RDMABROKER__REQUEST__BODY_MR_REG);
	b.mr_reg.mode = RDMABROKER__MR_MODE__MR_CMA;
	b.mr_reg.n_extents = 0;
	b.mr_reg.addr = 0x1000;
	refused(c, r, NULL, 0, "mr_reg CMA of unmapped memory");
	r = build(&b, c, RDMABROKER__REQUEST__BODY_MR_REG);
	b.mr_reg.access = U32MAX;
	refused(c, r, &fd, 1, "mr_reg access flags garbage");
	r = build(&b, c, RDMABROKER__REQUEST__BODY_MR_REG);
	b.mr_reg.access = IBV_ACCESS_REMOTE_WRITE;
	refused(c, r, &fd, 1, "mr_reg remote write without local write");
	r = build(&b, c, RDMABROKER__REQUEST__BODY_MR_REG);
	b.mr_reg.mode = (Rdmabroker__MrMode)0;
	b.mr_reg.n_extents = 0;
	refused(c, r, NULL, 0, "mr_reg mode 0");
	r = build(&b, c, RDMABROKER__REQUEST__BODY_MR_REG);
	b.mr_reg.mode = (Rdmabroker__MrMode)7;
	b.mr_reg.n_extents = 0;
	refused(c, r, NULL, 0, "mr_reg mode 7");
	r = build(&b, c, RDMABROKER__REQUEST__BODY_MR_REG);
	b.mr_reg.mode = (Rdmabroker__MrMode)7;
	refused(c, r, &fd, 1, "mr_reg mode 7 with a memfd");
	r = build(&b, c, RDMABROKER__REQUEST__BODY_MR_REG);
	b.ext.fd_offset = 0xfffffffffffff000ull;
	refused(c, r, &fd, 1, "mr_reg extent past the memfd (wrapping)");
	r = build(&b, c, RDMABROKER__REQUEST__BODY_MR_REG);
	b.ext.fd_offset = 4 * (uint64_t)page_size;
	refused(c, r, &fd, 1, "mr_reg extent just past the memfd");
	r = build(&b, c, RDMABROKER__REQUEST__BODY_MR_REG);
	b.ext.fd_offset = 1;
	refused(c, r, &fd, 1, "mr_reg extent misaligned");
	r = build(&b, c, RDMABROKER__REQUEST__BODY_MR_REG);
	b.ext.length = 2 * (uint64_t)page_size;
	refused(c, r, &fd, 1, "mr_reg extent longer than the region");
	r = build(&b, c, RDMABROKER__REQUEST__BODY_MR_REG);
	b.mr_reg.length = 2 * (uint64_t)page_size;
	refused(c, r, &fd, 1, "mr_reg extents shorter than the region");
	{
		/* More extents than the daemon reads. */
		size_t n = 4097;
		Rdmabroker__MrExtent **many = calloc(n, sizeof(*many));

		CHECK(many, "calloc");
		r = build(&b, c, RDMABROKER__REQUEST__BODY_MR_REG);
		b.ext.addr = b.ext.length = 0;	/* small: they fit a frame */
		for (size_t i = 0; i < n; i++)
			many[i] = &b.ext;
		b.mr_reg.n_extents = n;
		b.mr_reg.extents = many;
		refused(c, r, &fd, 1, "mr_reg with 4097 extents");
		free(many);
	}
	r = build(&b, c, RDMABROKER__REQUEST__BODY_MR_REREG);
	b.mr_rereg.flags = 0;
	refused(c, r, NULL, 0, "mr_rereg flags 0");
	r = build(&b, c, RDMABROKER__REQUEST__BODY_MR_REREG);
	b.mr_rereg.flags = U32MAX;
	refused(c, r, NULL, 0, "mr_rereg flags garbage");
	r = build(&b, c, RDMABROKER__REQUEST__BODY_MR_REREG);
	b.mr_rereg.access = U32MAX;
	refused(c, r, NULL, 0, "mr_rereg access garbage");
	r = build(&b, c, RDMABROKER__REQUEST__BODY_MR_REREG);
	b.mr_rereg.flags = IBV_REREG_MR_CHANGE_PD;
	b.mr_rereg.has_pd = 1;
	b.mr_rereg.pd = 0x7fffff;
	refused(c, r, NULL, 0, "mr_rereg to a PD that does not exist");
	r = build(&b, c, RDMABROKER__REQUEST__BODY_MR_REREG);
	b.mr_rereg.flags = IBV_REREG_MR_CHANGE_TRANSLATION;
	b.mr_rereg.has_length = b.mr_rereg.has_addr = 1;
	b.mr_rereg.length = U64MAX;
	refused(c, r, NULL, 0, "mr_rereg to length 2^64-1");
	r = build(&b, c, RDMABROKER__REQUEST__BODY_MR_REREG);
	b.mr_rereg.flags = IBV_REREG_MR_CHANGE_TRANSLATION;
	b.mr_rereg.has_mode = 1;
	b.mr_rereg.mode = (Rdmabroker__MrMode)9;
	b.mr_rereg.has_length = b.mr_rereg.has_addr = 1;
	b.mr_rereg.addr = (uint64_t)(uintptr_t)c->mem;
	b.mr_rereg.length = 64;
	refused(c, r, NULL, 0, "mr_rereg to mode 9");
	if (geteuid() != 0) {
		r = build(&b, c, RDMABROKER__REQUEST__BODY_LIMITS_SET);
		refused(c, r, NULL, 0, "limits_set by a non-admin");
		r = build(&b, c, RDMABROKER__REQUEST__BODY_CLIENT_KILL);
		refused(c, r, NULL, 0, "client_kill by a non-admin");
	}
	r = build(&b, c, RDMABROKER__REQUEST__BODY_LIMITS_SET);
	b.lset.name = (char *)"no_such_limit";
	refused(c, r, NULL, 0, "limits_set of an unknown limit");
}

/* QP state transitions out of order, and odd attributes. */
static void values_qp(struct conn *c)
{
	static const uint32_t bad_next[] = {
		IBV_QPS_RTR, IBV_QPS_RTS, IBV_QPS_SQD, IBV_QPS_SQE, 7, 99, U32MAX,
	};
	Rdmabroker__Reply *rep;
	struct reqbuf b;
	Rdmabroker__Request *r;
	char what[96];

	/* From RESET, only INIT (and RESET, ERR) may follow. */
	for (size_t i = 0; i < sizeof(bad_next) / sizeof(bad_next[0]); i++) {
		r = build(&b, c, RDMABROKER__REQUEST__BODY_QP_MODIFY);
		b.qattr.qp_state = bad_next[i];
		snprintf(what, sizeof(what), "qp_modify RESET -> %u", bad_next[i]);
		refused(c, r, NULL, 0, what);
	}
	r = build(&b, c, RDMABROKER__REQUEST__BODY_QP_MODIFY);
	b.qp_modify.attr_mask = U32MAX;
	refused(c, r, NULL, 0, "qp_modify attr_mask garbage");
	r = build(&b, c, RDMABROKER__REQUEST__BODY_QP_MODIFY);
	b.qp_modify.attr_mask = IBV_QP_STATE;
	refused(c, r, NULL, 0, "qp_modify to INIT without its required attributes");
	r = build(&b, c, RDMABROKER__REQUEST__BODY_QP_MODIFY);
	b.qattr.port_num = 200;
	refused(c, r, NULL, 0, "qp_modify to INIT on port 200");
	/* Fields verbs keeps in 8 or 16 bits must not wrap into valid ones:
	 * port 257 would be port 1, pkey_index 65536 index 0. */
	r = build(&b, c, RDMABROKER__REQUEST__BODY_QP_MODIFY);
	b.qattr.port_num = 257;
	refused(c, r, NULL, 0, "qp_modify to INIT on port 257");
	r = build(&b, c, RDMABROKER__REQUEST__BODY_QP_MODIFY);
	b.qattr.pkey_index = 65536;
	refused(c, r, NULL, 0, "qp_modify to INIT with pkey_index 65536");
	r = build(&b, c, RDMABROKER__REQUEST__BODY_QP_MODIFY);
	b.qattr.timeout = 256;
	refused(c, r, NULL, 0, "qp_modify with timeout 256");
	r = build(&b, c, RDMABROKER__REQUEST__BODY_QP_MODIFY);
	b.qattr.qp_access_flags = U32MAX;
	refused(c, r, NULL, 0, "qp_modify access flags garbage");
	r = build(&b, c, RDMABROKER__REQUEST__BODY_QP_MODIFY);
	b.qp_modify.attr_mask |= IBV_QP_CUR_STATE;
	b.qattr.cur_qp_state = IBV_QPS_RTS;
	refused(c, r, NULL, 0, "qp_modify with a wrong cur_qp_state");
	/* INIT for real, then skip RTR. */
	c->seq++;
	CHECK(call(c->fd, build(&b, c, RDMABROKER__REQUEST__BODY_QP_MODIFY),
		   NULL, 0, &rep) == 0, "qp_modify to INIT");
	rdmabroker__reply__free_unpacked(rep, NULL);
	r = build(&b, c, RDMABROKER__REQUEST__BODY_QP_MODIFY);
	b.qattr.qp_state = IBV_QPS_RTS;
	b.qp_modify.attr_mask = IBV_QP_STATE | IBV_QP_SQ_PSN | IBV_QP_TIMEOUT |
				IBV_QP_RETRY_CNT | IBV_QP_RNR_RETRY |
				IBV_QP_MAX_QP_RD_ATOMIC;
	refused(c, r, NULL, 0, "qp_modify INIT -> RTS");
	r = build(&b, c, RDMABROKER__REQUEST__BODY_QP_MODIFY);
	b.qattr.qp_state = IBV_QPS_RTR;
	b.qp_modify.attr_mask = IBV_QP_STATE;
	refused(c, r, NULL, 0, "qp_modify INIT -> RTR without its attributes");
	r = build(&b, c, RDMABROKER__REQUEST__BODY_QP_MODIFY);
	b.qattr.qp_state = IBV_QPS_RTR;
	b.qattr.path_mtu = 77;
	b.qattr.dest_qp_num = U32MAX;
	b.qp_modify.attr_mask = IBV_QP_STATE | IBV_QP_AV | IBV_QP_PATH_MTU |
				IBV_QP_DEST_QPN | IBV_QP_RQ_PSN |
				IBV_QP_MAX_DEST_RD_ATOMIC | IBV_QP_MIN_RNR_TIMER;
	refused(c, r, NULL, 0, "qp_modify INIT -> RTR with path_mtu 77");
}

/* Requests on a connection that has not said hello, or opened no device. */
static void values_early(void)
{
	struct conn c;
	struct reqbuf b;
	char what[96];

	memset(&c, 0, sizeof(c));
	c.fd = raw_connect();
	c.memfd = -1;
	for (size_t i = 1; i < NTYPES; i++) {
		snprintf(what, sizeof(what), "type %d before the handshake",
			 (int)all_types[i]);
		refused(&c, build(&b, NULL, all_types[i]), NULL, 0, what);
	}
	must(&c, RDMABROKER__REQUEST__BODY_HELLO, NULL, "hello after refusals");
	for (size_t i = 0; i < NTYPES; i++) {
		Rdmabroker__Request__BodyCase t = all_types[i];

		if (t < RDMABROKER__REQUEST__BODY_PD_ALLOC ||
		    (t >= RDMABROKER__REQUEST__BODY_DAEMON_STATUS &&
		     t <= RDMABROKER__REQUEST__BODY_CLIENT_KILL))
			continue;
		snprintf(what, sizeof(what), "type %d without a device", (int)t);
		refused(&c, build(&b, NULL, t), NULL, 0, what);
	}
	conn_close(&c);
}

/* After the daemon has ended the conversation: nothing more is served. */
static void values_late(void)
{
	Rdmabroker__Reply *r = NULL;
	struct reqbuf b;
	int fd, n = 0;

	/* A refused version, and requests right behind it in the queue. */
	fd = raw_connect();
	build(&b, NULL, RDMABROKER__REQUEST__BODY_HELLO);
	b.hello.proto_version = RB_PROTO_VERSION + 100;
	CHECK(send_req(fd, &b.req, NULL, 0) == 0, "send");
	for (int i = 0; i < 20; i++) {
		build(&b, NULL, RDMABROKER__REQUEST__BODY_PD_ALLOC);
		if (send_req(fd, &b.req, NULL, 0) < 0)
			break;
	}
	while (read_reply(fd, &r) == 1) {
		CHECK(r->status != 0, "a request after a refused hello succeeded");
		rdmabroker__reply__free_unpacked(r, NULL);
		n++;
	}
	CHECK(n == 1, "%d replies after a refused hello (1 expected)", n);
	close(fd);
	fig.cases++;

	/* The client half-closes: what it sent is answered, then EOF. */
	{
		struct conn c;

		conn_open(&c, true);
		build(&b, &c, RDMABROKER__REQUEST__BODY_PD_ALLOC);
		CHECK(send_req(c.fd, &b.req, NULL, 0) == 0, "send");
		CHECK(shutdown(c.fd, SHUT_WR) == 0, "shutdown");
		n = 0;
		while (read_reply(c.fd, &r) == 1) {
			rdmabroker__reply__free_unpacked(r, NULL);
			n++;
		}
		CHECK(n <= 1, "%d replies to one request", n);
		build(&b, &c, RDMABROKER__REQUEST__BODY_PD_ALLOC);
		CHECK(send_req(c.fd, &b.req, NULL, 0) < 0,
		      "a request sent after SHUT_WR went out");
		conn_close(&c);
		fig.cases++;
	}
}

static void values(void)
{
	struct conn c, o;

	log_path = getenv("RB_LOG");
	conn_setup(&c);
	conn_open(&o, true);
	values_objects(&c, &o);
	values_sizes(&c);
	values_qp(&c);
	values_early();
	values_late();
	conn_close(&o);
	conn_close(&c);
	verbs_round("after the out-of-range values");
}

int main(int argc, char **argv)
{
	(void)argv;
	ctl_init("ctl-values");
	if (argc != 1)
		die("no arguments");
	values();
	ctl_figures("values");
	return 0;
}
