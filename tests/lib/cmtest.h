/* SPDX-License-Identifier: MIT */
/* Helpers shared by the C tests of the connection manager (cm-events,
 * cm-qp-attr, cm-limit), linked with librdmabroker-cm: $(cm_test_ldadd). */
#ifndef RB_TESTS_CMTEST_H
#define RB_TESTS_CMTEST_H

#include <rdma/rdma_cma.h>

/* "PROGRAM: FAIL: <message> (line N)" on stderr, then exit 1. */
__attribute__((noreturn, format(printf, 2, 3)))
void cmt_fail(int line, const char *fmt, ...);

#define FAIL(...) cmt_fail(__LINE__, __VA_ARGS__)
#define CHECK(c) do { if (!(c)) FAIL("%s", #c); } while (0)

/* The next event of ch within ms, which must be `want` (else FAIL). */
struct rdma_cm_event *cmt_expect(struct rdma_event_channel *ch,
				 enum rdma_cm_event_type want, int ms);

#endif /* RB_TESTS_CMTEST_H */
