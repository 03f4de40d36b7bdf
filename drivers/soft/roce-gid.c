/* SPDX-License-Identifier: MIT */
/*
 * The soft device's GID table: RoCEv2 GIDs are the host's IP addresses
 * (IPv4 ones mapped, ::ffff:a.b.c.d).  GID 0 is the address chosen when
 * the device was made (soft.c: gid_address, or the first up IPv4
 * address), so it never changes under a running program; entries 1..15
 * are the host's other addresses, read from rtnetlink and kept current:
 * a new address takes the first free entry, a removed one leaves its
 * entry empty (all zeros, as ibv_query_gid shows an unused entry), so an
 * address keeps its index while it exists.  Loopback and link-local
 * addresses are left out: no peer can reach them by GID alone.
 * With gid_address set, GID 0 is the only entry.
 *
 * Netlink through libmnl (Debian's libmnl0, from the netfilter project):
 * it builds and walks the messages, their alignment and attribute
 * lengths, which is the part easy to get wrong by hand; we keep only the
 * policy.  The dump at start is synchronous (the kernel answers it at
 * once); changes arrive on a non-blocking socket in the daemon's loop.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <libmnl/libmnl.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>

#include "daemon/log.h"
#include "drivers/driver.h"
#include "drivers/soft/roce.h"

/* MNL_SOCKET_BUFFER_SIZE's most (it is a page, up to 8 KiB). */
#define ROCE_NL_BUF	8192

static bool roce_gid_empty(const union ibv_gid *g)
{
	static const uint8_t zero[16];

	return !memcmp(g->raw, zero, sizeof(zero));
}

int roce_gid_find(const struct roce_dev *r, const uint8_t gid[16])
{
	for (int i = 0; i < ROCE_GID_TBL_LEN; i++)
		if (!roce_gid_empty(&r->gid[i]) && !memcmp(r->gid[i].raw, gid, 16))
			return i;
	return -1;
}

int roce_gid_query(const struct roce_dev *r, int index, union ibv_gid *gid)
{
	if (index < 0 || index >= ROCE_GID_TBL_LEN)
		return -EINVAL;
	*gid = r->gid[index];
	return 0;
}

/* One address added or removed. */
static void roce_gid_update(struct roce_dev *r, const uint8_t gid[16], bool add)
{
	char s[INET6_ADDRSTRLEN];
	int i = roce_gid_find(r, gid);

	inet_ntop(AF_INET6, gid, s, sizeof(s));
	if (add) {
		if (i >= 0)
			return;
		for (i = 1; i < ROCE_GID_TBL_LEN; i++)
			if (roce_gid_empty(&r->gid[i]))
				break;
		if (i == ROCE_GID_TBL_LEN) {
			log_warn("device %s: GID table full, %s left out", r->dev->name, s);
			return;
		}
		memcpy(r->gid[i].raw, gid, 16);
		log_info("device %s: GID[%d] %s", r->dev->name, i, s);
		return;
	}
	/* GID 0 stays what programs were told at start. */
	if (i > 0) {
		memset(&r->gid[i], 0, sizeof(r->gid[i]));
		log_info("device %s: GID[%d] %s removed", r->dev->name, i, s);
	}
}

struct roce_gid_attrs {
	const struct nlattr *local, *address;
};

static int roce_gid_attr(const struct nlattr *a, void *data)
{
	struct roce_gid_attrs *at = data;

	if (mnl_attr_type_valid(a, IFA_MAX) < 0)
		return MNL_CB_OK;
	switch (mnl_attr_get_type(a)) {
	case IFA_LOCAL:
		at->local = a;
		break;
	case IFA_ADDRESS:
		at->address = a;
		break;
	}
	return MNL_CB_OK;
}

/* An RTM_NEWADDR or RTM_DELADDR, from the dump or a notification. */
static int roce_gid_msg(const struct nlmsghdr *nlh, void *data)
{
	struct roce_dev *r = data;
	const struct ifaddrmsg *ifa;
	struct roce_gid_attrs at = { 0 };
	const struct nlattr *a;
	uint8_t gid[16] = { 0 };

	if (nlh->nlmsg_type != RTM_NEWADDR && nlh->nlmsg_type != RTM_DELADDR)
		return MNL_CB_OK;
	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(*ifa))
		return MNL_CB_OK;
	ifa = mnl_nlmsg_get_payload(nlh);
	if (ifa->ifa_scope == RT_SCOPE_HOST || ifa->ifa_scope == RT_SCOPE_LINK ||
	    ifa->ifa_scope == RT_SCOPE_NOWHERE)
		return MNL_CB_OK;
	if (mnl_attr_parse(nlh, sizeof(*ifa), roce_gid_attr, &at) < 0)
		return MNL_CB_OK;
	/* IPv4: IFA_LOCAL is ours (IFA_ADDRESS is the peer on a
	 * point-to-point link); IPv6 has IFA_ADDRESS alone. */
	a = ifa->ifa_family == AF_INET && at.local ? at.local : at.address;
	if (!a)
		return MNL_CB_OK;
	if (ifa->ifa_family == AF_INET && mnl_attr_get_payload_len(a) == 4) {
		gid[10] = gid[11] = 0xff;
		memcpy(gid + 12, mnl_attr_get_payload(a), 4);
	} else if (ifa->ifa_family == AF_INET6 && mnl_attr_get_payload_len(a) == 16) {
		memcpy(gid, mnl_attr_get_payload(a), 16);
	} else {
		return MNL_CB_OK;
	}
	roce_gid_update(r, gid, nlh->nlmsg_type == RTM_NEWADDR);
	return MNL_CB_OK;
}

/* Every address of the host now, on a socket of its own. */
static int roce_gid_dump(struct roce_dev *r, int family)
{
	char buf[ROCE_NL_BUF];
	struct mnl_socket *nl;
	struct nlmsghdr *nlh;
	struct ifaddrmsg *ifa;
	unsigned int seq = (unsigned int)time(NULL), portid;
	ssize_t n;
	int ret = 0;

	nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
	if (!nl)
		return -errno;
	if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		ret = -errno;
		goto out;
	}
	portid = mnl_socket_get_portid(nl);
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_GETADDR;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	nlh->nlmsg_seq = seq;
	ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	ifa->ifa_family = (uint8_t)family;
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0) {
		ret = -errno;
		goto out;
	}
	while ((n = mnl_socket_recvfrom(nl, buf, sizeof(buf))) > 0) {
		ret = mnl_cb_run(buf, (size_t)n, seq, portid, roce_gid_msg, r);
		if (ret <= MNL_CB_STOP)
			break;
	}
	ret = n < 0 || ret < 0 ? -errno : 0;
out:
	mnl_socket_close(nl);
	return ret;
}

/* Address changes: the kernel tells the groups we joined. */
static void roce_gid_nl_cb(evutil_socket_t fd, short what, void *arg)
{
	struct roce_dev *r = arg;
	char buf[ROCE_NL_BUF];
	ssize_t n;

	(void)fd;
	(void)what;
	for (;;) {
		n = mnl_socket_recvfrom(r->nl, buf, sizeof(buf));
		if (n > 0) {
			(void)mnl_cb_run(buf, (size_t)n, 0, 0, roce_gid_msg, r);
			continue;
		}
		if (n < 0 && errno == ENOBUFS) {
			/* Notifications were lost: read the whole set again.
			 * Addresses gone meanwhile stay listed until their
			 * next removal notice (rare: an overrun socket). */
			log_warn("device %s: address notifications overran, reading them again",
				 r->dev->name);
			(void)roce_gid_dump(r, AF_INET);
			(void)roce_gid_dump(r, AF_INET6);
			continue;
		}
		break;		/* EAGAIN: all read */
	}
}

int roce_gid_init(struct roce_dev *r)
{
	int ret;

	if (r->pinned)
		return 0;
	/* Join first, then dump: a change between the two is seen twice,
	 * which the table takes (adding is idempotent), never missed. */
	r->nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (!r->nl)
		return -errno;
	if (mnl_socket_bind(r->nl, RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR,
			    MNL_SOCKET_AUTOPID) < 0) {
		ret = -errno;
		goto fail;
	}
	r->ev_nl = event_new(r->base, mnl_socket_get_fd(r->nl), EV_READ | EV_PERSIST,
			     roce_gid_nl_cb, r);
	if (!r->ev_nl || event_add(r->ev_nl, NULL) < 0) {
		ret = -ENOMEM;
		goto fail;
	}
	ret = roce_gid_dump(r, AF_INET);
	if (!ret)
		ret = roce_gid_dump(r, AF_INET6);
	if (ret)
		goto fail;
	return 0;
fail:
	roce_gid_fini(r);
	return ret;
}

void roce_gid_fini(struct roce_dev *r)
{
	if (r->ev_nl)
		event_free(r->ev_nl);
	r->ev_nl = NULL;
	if (r->nl)
		mnl_socket_close(r->nl);
	r->nl = NULL;
}
