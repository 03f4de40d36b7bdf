/* SPDX-License-Identifier: MIT */
/* Helpers shared by the C tests of librdmabroker (tests/client-*.c). */
#ifndef RB_TESTS_CLIENTTEST_H
#define RB_TESTS_CLIENTTEST_H

#include <infiniband/verbs.h>

/* The device list (at least one device) and a context on the first; -1 if not. */
int ct_open(struct ibv_device ***list, struct ibv_context **ctx);
void ct_close(struct ibv_device **list, struct ibv_context *ctx);

/* For `hold` modes: print "ready", then wait to be killed. */
__attribute__((noreturn)) void ct_ready_and_wait(void);

/* Mappings of memfd "/memfd:<name>" in pid ("self" or a number). */
int ct_memfd_maps(const char *pid, const char *name);
/* Open fds of pid ("self" or a number). */
int ct_fds(const char *pid);

#endif /* RB_TESTS_CLIENTTEST_H */
