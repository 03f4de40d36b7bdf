/* SPDX-License-Identifier: MIT */
/*
 * Entry points of the librdmacm ABI that the broker does not serve yet.
 * Each fails as librdmacm does where the kernel lacks the feature:
 *  - rsockets (rsocket, rsend, ...): -1 with errno ENOSYS;
 *  - ECE: rdma_set_local_ece and rdma_get_remote_ece -1, EOPNOTSUPP (no
 *    device here negotiates enhanced connection options);
 *    rdma_reject_ece rejects without the reason.
 * librdmabroker-cm(7) has the list; tests/integration/cm-api.c calls each.
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/types.h>

#include <rdma/rsocket.h>

#include "libclient/cm/cm.h"

#define U __attribute__((unused))
#define NOSYS(ret) do { errno = ENOSYS; return (ret); } while (0)

RB_EXPORT int rsocket(int domain U, int type U, int protocol U) { NOSYS(-1); }
RB_EXPORT int rbind(int s U, const struct sockaddr *a U, socklen_t l U) { NOSYS(-1); }
RB_EXPORT int rlisten(int s U, int backlog U) { NOSYS(-1); }
RB_EXPORT int raccept(int s U, struct sockaddr *a U, socklen_t *l U) { NOSYS(-1); }
RB_EXPORT int rconnect(int s U, const struct sockaddr *a U, socklen_t l U) { NOSYS(-1); }
RB_EXPORT int rshutdown(int s U, int how U) { NOSYS(-1); }
RB_EXPORT int rclose(int s U) { NOSYS(-1); }
RB_EXPORT ssize_t rrecv(int s U, void *b U, size_t n U, int f U) { NOSYS(-1); }
RB_EXPORT ssize_t rrecvfrom(int s U, void *b U, size_t n U, int f U,
			    struct sockaddr *a U, socklen_t *l U) { NOSYS(-1); }
RB_EXPORT ssize_t rrecvmsg(int s U, struct msghdr *m U, int f U) { NOSYS(-1); }
RB_EXPORT ssize_t rsend(int s U, const void *b U, size_t n U, int f U) { NOSYS(-1); }
RB_EXPORT ssize_t rsendto(int s U, const void *b U, size_t n U, int f U,
			  const struct sockaddr *a U, socklen_t l U) { NOSYS(-1); }
RB_EXPORT ssize_t rsendmsg(int s U, const struct msghdr *m U, int f U) { NOSYS(-1); }
RB_EXPORT ssize_t rread(int s U, void *b U, size_t n U) { NOSYS(-1); }
RB_EXPORT ssize_t rreadv(int s U, const struct iovec *v U, int n U) { NOSYS(-1); }
RB_EXPORT ssize_t rwrite(int s U, const void *b U, size_t n U) { NOSYS(-1); }
RB_EXPORT ssize_t rwritev(int s U, const struct iovec *v U, int n U) { NOSYS(-1); }
RB_EXPORT int rpoll(struct pollfd *fds U, nfds_t n U, int t U) { NOSYS(-1); }
RB_EXPORT int rselect(int n U, fd_set *r U, fd_set *w U, fd_set *e U,
		      struct timeval *t U) { NOSYS(-1); }
RB_EXPORT int rgetpeername(int s U, struct sockaddr *a U, socklen_t *l U) { NOSYS(-1); }
RB_EXPORT int rgetsockname(int s U, struct sockaddr *a U, socklen_t *l U) { NOSYS(-1); }
RB_EXPORT int rsetsockopt(int s U, int level U, int optname U,
			  const void *v U, socklen_t l U) { NOSYS(-1); }
RB_EXPORT int rgetsockopt(int s U, int level U, int optname U,
			  void *v U, socklen_t *l U) { NOSYS(-1); }
RB_EXPORT int rfcntl(int s U, int cmd U, ...) { NOSYS(-1); }
RB_EXPORT off_t riomap(int s U, void *b U, size_t n U, int prot U, int f U,
		       off_t o U) { NOSYS(-1); }
RB_EXPORT int riounmap(int s U, void *b U, size_t n U) { NOSYS(-1); }
RB_EXPORT size_t riowrite(int s U, const void *b U, size_t n U, off_t o U,
			  int f U) { NOSYS((size_t)-1); }


RB_EXPORT int rdma_set_local_ece(struct rdma_cm_id *id U, struct ibv_ece *ece U)
{
	errno = EOPNOTSUPP;
	return -1;
}

RB_EXPORT int rdma_get_remote_ece(struct rdma_cm_id *id U, struct ibv_ece *ece U)
{
	errno = EOPNOTSUPP;
	return -1;
}

RB_EXPORT int rdma_reject_ece(struct rdma_cm_id *id, const void *private_data,
			      uint8_t private_data_len)
{
	return rdma_reject(id, private_data, private_data_len);
}
