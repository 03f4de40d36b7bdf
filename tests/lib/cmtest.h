/* SPDX-License-Identifier: MIT */
/* Helpers shared by the C tests of the connection manager (cm-events,
 * cm-qp-attr, cm-limit), linked with librdmabroker-cm: $(cm_test_ldadd). */
#ifndef RB_TESTS_CMTEST_H
#define RB_TESTS_CMTEST_H

#include <netinet/in.h>
#include <stdint.h>

#include <rdma/rdma_cma.h>

/* "PROGRAM: FAIL: <message> (line N)" on stderr, then exit 1. */
__attribute__((noreturn, format(printf, 2, 3)))
void cmt_fail(int line, const char *fmt, ...);

#define FAIL(...) cmt_fail(__LINE__, __VA_ARGS__)
#define CHECK(c) do { if (!(c)) FAIL("%s", #c); } while (0)

/* The next event of ch within ms, which must be `want` (else FAIL). */
struct rdma_cm_event *cmt_expect(struct rdma_event_channel *ch,
				 enum rdma_cm_event_type want, int ms);

/* A listening RDMA_PS_TCP id on ch at 127.0.0.1:port (backlog 4), its
 * address in *sin. */
struct rdma_cm_id *cmt_listen(struct rdma_event_channel *ch, uint16_t port,
			      struct sockaddr_in *sin);

/* rdma_resolve_addr and rdma_resolve_route of id to dst, their events
 * taken from ch. */
void cmt_resolve(struct rdma_event_channel *ch, struct rdma_cm_id *id,
		 struct sockaddr_in *dst);

/* The id of the next event of ch, which must be CONNECT_REQUEST (acked). */
struct rdma_cm_id *cmt_request(struct rdma_event_channel *ch);

/* rdma_create_qp(id, NULL, ...) of type t: 8 send and 8 receive WRs of
 * one SGE, the CQs and the PD the library makes. */
void cmt_create_qp(struct rdma_cm_id *id, enum ibv_qp_type t);

#endif /* RB_TESTS_CMTEST_H */
