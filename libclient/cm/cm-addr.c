/* SPDX-License-Identifier: MIT */
/*
 * rdma_getaddrinfo and rdma_freeaddrinfo: getaddrinfo(3) for IP
 * addresses, shaped as librdmacm shapes them (port space, QP type, source
 * and destination by RAI_PASSIVE).  No AF_IB and no route hints: the
 * daemon resolves routes when the id asks.
 */
#include "config.h"

#include <errno.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>

#include "libclient/cm/cm.h"

static int cmc_ai_err(int gai)
{
	switch (gai) {
	case EAI_NONAME: return ENOENT;
	case EAI_AGAIN: return EAGAIN;
	case EAI_MEMORY: return ENOMEM;
	case EAI_FAMILY: return EAFNOSUPPORT;
	case EAI_SERVICE: return EINVAL;
	default: return EINVAL;
	}
}

static struct sockaddr *cmc_ai_dup(const struct sockaddr *sa, socklen_t len)
{
	struct sockaddr *c = malloc(len);

	if (c)
		memcpy(c, sa, len);
	return c;
}

RB_EXPORT void rdma_freeaddrinfo(struct rdma_addrinfo *res)
{
	while (res) {
		struct rdma_addrinfo *next = res->ai_next;

		free(res->ai_src_addr);
		free(res->ai_dst_addr);
		free(res->ai_src_canonname);
		free(res->ai_dst_canonname);
		free(res->ai_route);
		free(res->ai_connect);
		free(res);
		res = next;
	}
}

RB_EXPORT int rdma_getaddrinfo(const char *node, const char *service,
			       const struct rdma_addrinfo *hints,
			       struct rdma_addrinfo **res)
{
	struct addrinfo ai_hints, *ai = NULL;
	struct rdma_addrinfo *r;
	int ret;

	if (!res || (!node && !service && (!hints ||
	    (!hints->ai_src_addr && !hints->ai_dst_addr)))) {
		errno = EINVAL;
		return -1;
	}
	if (hints && hints->ai_family == AF_IB) {
		errno = EAFNOSUPPORT;
		return -1;
	}
	if (node || service) {
		memset(&ai_hints, 0, sizeof(ai_hints));
		if (hints) {
			if (hints->ai_flags & RAI_PASSIVE)
				ai_hints.ai_flags |= AI_PASSIVE;
			if (hints->ai_flags & RAI_NUMERICHOST)
				ai_hints.ai_flags |= AI_NUMERICHOST;
			if (hints->ai_family == AF_INET || hints->ai_family == AF_INET6)
				ai_hints.ai_family = hints->ai_family;
		}
		ai_hints.ai_socktype = SOCK_STREAM;
		ret = getaddrinfo(node, service, &ai_hints, &ai);
		if (ret) {
			errno = cmc_ai_err(ret);
			return -1;
		}
	}
	r = calloc(1, sizeof(*r));
	if (!r) {
		freeaddrinfo(ai);
		errno = ENOMEM;
		return -1;
	}
	r->ai_flags = hints ? hints->ai_flags : 0;
	r->ai_port_space = hints && hints->ai_port_space ? hints->ai_port_space :
			   hints && hints->ai_qp_type == IBV_QPT_UD ? RDMA_PS_UDP :
			   RDMA_PS_TCP;
	r->ai_qp_type = hints && hints->ai_qp_type ? hints->ai_qp_type :
			r->ai_port_space == RDMA_PS_UDP ? IBV_QPT_UD : IBV_QPT_RC;
	if (ai && (r->ai_flags & RAI_PASSIVE)) {
		r->ai_src_addr = cmc_ai_dup(ai->ai_addr, ai->ai_addrlen);
		r->ai_src_len = ai->ai_addrlen;
		if (!r->ai_src_addr)
			goto nomem;
	} else if (ai) {
		r->ai_dst_addr = cmc_ai_dup(ai->ai_addr, ai->ai_addrlen);
		r->ai_dst_len = ai->ai_addrlen;
		if (!r->ai_dst_addr)
			goto nomem;
	}
	/* Addresses the hints carry fill what node and service did not. */
	if (hints && !r->ai_src_addr && hints->ai_src_addr && hints->ai_src_len) {
		r->ai_src_addr = cmc_ai_dup(hints->ai_src_addr, hints->ai_src_len);
		r->ai_src_len = hints->ai_src_len;
		if (!r->ai_src_addr)
			goto nomem;
	}
	if (hints && !r->ai_dst_addr && hints->ai_dst_addr && hints->ai_dst_len) {
		r->ai_dst_addr = cmc_ai_dup(hints->ai_dst_addr, hints->ai_dst_len);
		r->ai_dst_len = hints->ai_dst_len;
		if (!r->ai_dst_addr)
			goto nomem;
	}
	r->ai_family = r->ai_dst_addr ? r->ai_dst_addr->sa_family :
		       r->ai_src_addr ? r->ai_src_addr->sa_family : AF_INET;
	if (ai && ai->ai_canonname) {
		char *c = strdup(ai->ai_canonname);

		if (r->ai_flags & RAI_PASSIVE)
			r->ai_src_canonname = c;
		else
			r->ai_dst_canonname = c;
	}
	if (ai)
		freeaddrinfo(ai);
	*res = r;
	return 0;
nomem:
	if (ai)
		freeaddrinfo(ai);
	rdma_freeaddrinfo(r);
	errno = ENOMEM;
	return -1;
}
