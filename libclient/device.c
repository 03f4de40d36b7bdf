/* SPDX-License-Identifier: MIT */
/*
 * Devices and contexts: ibv_get_device_list and friends, ibv_open_device,
 * ibv_close_device and the device, port, GID and P_Key queries, each a
 * request to rdmabrokerd.
 */
#include "config.h"

#include <endian.h>
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "libclient/client.h"

/* The port attributes of libibverbs 1.1 binaries: everything up to flags. */
#define RBC_COMPAT_PORT_ATTR_SIZE offsetof(struct ibv_port_attr, port_cap_flags2)

static pthread_mutex_t rbc_dev_lock = PTHREAD_MUTEX_INITIALIZER;

static const char *rbc_client_name(void)
{
	return program_invocation_short_name;
}

/*
 * Statuses with which a running daemon refuses a connection (its Hello
 * handler), and what the user can do about each.  Any other error means
 * no daemon answered.
 */
static const struct {
	int err;
	const char *hint;
} rbc_refusals[] = {
	{ EDQUOT, "EDQUOT: the per-user connections limit, [limits] connections in rdmabrokerd.conf(5); rdmactl limits shows it" },
	{ EUSERS, "EUSERS: the daemon's client limit, [daemon] max_clients in rdmabrokerd.conf(5)" },
	{ EPROTONOSUPPORT, "EPROTONOSUPPORT: librdmabroker and rdmabrokerd are of different versions" },
};

/*
 * Why there are no devices, once per process, the way libibverbs warns
 * about missing providers; RDMABROKER_QUIET=1 silences it.  err is the
 * positive errno ibv_get_device_list leaves.
 */
static void rbc_warn_once(const char *why, int err)
{
	static bool warned;
	const char *quiet = getenv("RDMABROKER_QUIET");
	const char *hint = "is rdmabrokerd running? see rdmab-run(1)";

	if (warned || (quiet && *quiet && strcmp(quiet, "0") != 0))
		return;
	warned = true;
	for (size_t i = 0; i < sizeof(rbc_refusals) / sizeof(rbc_refusals[0]); i++)
		if (rbc_refusals[i].err == err)
			hint = rbc_refusals[i].hint;
	fprintf(stderr, "librdmabroker: no RDMA devices: %s (%s)\n", why, hint);
}

static void rbc_device_put(struct rbc_device *dev)
{
	bool last;

	pthread_mutex_lock(&rbc_dev_lock);
	last = --dev->refcnt == 0;
	pthread_mutex_unlock(&rbc_dev_lock);
	if (last)
		free(dev);
}

static void rbc_device_get(struct rbc_device *dev)
{
	pthread_mutex_lock(&rbc_dev_lock);
	dev->refcnt++;
	pthread_mutex_unlock(&rbc_dev_lock);
}

static struct rbc_device *rbc_device_new(const Rdmabroker__DeviceSummary *s,
					 const char *path)
{
	struct rbc_device *dev = calloc(1, sizeof(*dev));

	if (!dev)
		return NULL;
	dev->ibdev.node_type = (enum ibv_node_type)s->node_type;
	dev->ibdev.transport_type = (enum ibv_transport_type)s->transport_type;
	snprintf(dev->ibdev.name, sizeof(dev->ibdev.name), "%s", s->name);
	/* No uverbs device stands behind it; say where it does come from. */
	snprintf(dev->ibdev.dev_name, sizeof(dev->ibdev.dev_name), "rdmabroker%u",
		 s->index);
	snprintf(dev->ibdev.dev_path, sizeof(dev->ibdev.dev_path),
		 "/sys/class/infiniband_verbs/%s", dev->ibdev.dev_name);
	snprintf(dev->ibdev.ibdev_path, sizeof(dev->ibdev.ibdev_path),
		 "/sys/class/infiniband/%s", dev->ibdev.name);
	dev->index = s->index;
	dev->node_guid = s->node_guid;
	snprintf(dev->socket_path, sizeof(dev->socket_path), "%s", path);
	dev->refcnt = 1;
	return dev;
}

/* verbs.h renames the call when a program is built for static providers. */
#undef ibv_get_device_list
RB_EXPORT struct ibv_device **ibv_get_device_list(int *num_devices)
{
	const char *path = rb_rpc_socket_path(NULL);
	Rdmabroker__DeviceListReq body = RDMABROKER__DEVICE_LIST_REQ__INIT;
	Rdmabroker__Request req = RDMABROKER__REQUEST__INIT;
	Rdmabroker__Reply *reply = NULL;
	struct ibv_device **list;
	struct rb_rpc rpc;
	char err[256];
	size_t n, i;
	int ret;

	if (num_devices)
		*num_devices = 0;
	ret = rb_rpc_connect(&rpc, path, rbc_client_name(), err, sizeof(err));
	if (ret < 0) {
		rbc_warn_once(err, -ret);
		/* An empty list, like libibverbs on a host without devices. */
		list = calloc(1, sizeof(*list));
		errno = list ? -ret : ENOMEM;
		return list;
	}
	req.body_case = RDMABROKER__REQUEST__BODY_DEVICE_LIST;
	req.device_list = &body;
	ret = rb_rpc_call_ok(&rpc, &req, &reply);
	rb_rpc_close(&rpc);
	if (ret < 0 || reply->body_case != RDMABROKER__REPLY__BODY_DEVICE_LIST) {
		snprintf(err, sizeof(err), "device list from %s: %s", path,
			 strerror(ret < 0 ? -ret : EBADMSG));
		rbc_warn_once(err, ret < 0 ? -ret : EBADMSG);
		if (ret == 0)
			rb_rpc_reply_free(reply);
		list = calloc(1, sizeof(*list));
		errno = list ? (ret < 0 ? -ret : EBADMSG) : ENOMEM;
		return list;
	}

	n = reply->device_list->n_devices;
	list = calloc(n + 1, sizeof(*list));
	if (!list) {
		rb_rpc_reply_free(reply);
		errno = ENOMEM;
		return NULL;
	}
	for (i = 0; i < n; i++) {
		struct rbc_device *dev =
			rbc_device_new(reply->device_list->devices[i], path);

		if (!dev) {
			while (i--)
				rbc_device_put(to_rbc_device(list[i]));
			free(list);
			rb_rpc_reply_free(reply);
			errno = ENOMEM;
			return NULL;
		}
		list[i] = &dev->ibdev;
	}
	rb_rpc_reply_free(reply);
	if (num_devices)
		*num_devices = (int)n;
	return list;
}

RB_EXPORT void ibv_free_device_list(struct ibv_device **list)
{
	if (!list)
		return;
	for (struct ibv_device **p = list; *p; p++)
		rbc_device_put(to_rbc_device(*p));
	free(list);
}

RB_EXPORT const char *ibv_get_device_name(struct ibv_device *device)
{
	return device->name;
}

RB_EXPORT __be64 ibv_get_device_guid(struct ibv_device *device)
{
	return htobe64(to_rbc_device(device)->node_guid);
}

RB_EXPORT int ibv_get_device_index(struct ibv_device *device)
{
	return (int)to_rbc_device(device)->index;
}

/*
 * A call's outcome as a verb sees it: 0 with the reply, whose body is the
 * one asked for (requests and replies share body numbers), or a positive
 * errno with the reply freed: the daemon's status, EIO for a transport
 * failure or a reply of the wrong kind.
 */
static int rbc_result(struct rbc_context *c, const Rdmabroker__Request *req,
		      Rdmabroker__Reply **reply, int ret)
{
	if (ret < 0) {
		/* A daemon that hangs (ETIMEDOUT) may still hold our objects. */
		if (ret == -ECONNRESET || ret == -EPIPE || ret == -ENOTCONN ||
		    ret == -ECONNREFUSED)
			rbc_mark_dead(c);
		return EIO;	/* the daemon is gone or talks nonsense */
	}
	if ((*reply)->status != 0)
		ret = (*reply)->status > 0 ? (*reply)->status : EIO;
	else if ((int)(*reply)->body_case != (int)req->body_case)
		ret = EIO;
	else
		return 0;
	rb_rpc_reply_free(*reply);
	*reply = NULL;
	return ret;
}

int rbc_call(struct rbc_context *c, Rdmabroker__Request *req,
	     Rdmabroker__Reply **reply)
{
	int ret;

	*reply = NULL;
	if (rbc_dead(c))
		return EIO;
	pthread_mutex_lock(&c->rpc_lock);
	ret = rb_rpc_call(&c->rpc, req, reply, NULL, 0, NULL);
	pthread_mutex_unlock(&c->rpc_lock);
	return rbc_result(c, req, reply, ret);
}

int rbc_call_destroy(struct rbc_context *c, Rdmabroker__Request *req)
{
	Rdmabroker__Reply *reply;
	int ret = rbc_call(c, req, &reply);

	if (ret == EIO && rbc_dead(c))
		return 0;
	rb_rpc_reply_free(reply);
	return ret;
}

bool rbc_daemon_gone(struct rbc_context *c)
{
	struct pollfd pf = { .fd = c->rpc.fd };

	if (rbc_dead(c))
		return true;
	/* The fd stays open until ibv_close_device: it is safe to poll. */
	if (poll(&pf, 1, 0) == 1 && (pf.revents & (POLLHUP | POLLERR))) {
		rbc_mark_dead(c);
		return true;
	}
	return false;
}

int rbc_call_fds(struct rbc_context *c, Rdmabroker__Request *req,
		 Rdmabroker__Reply **reply, int *fds, size_t nfds)
{
	size_t ngot;
	int ret = rbc_call_fds_max(c, req, reply, fds, nfds, &ngot);

	if (ret == 0 && ngot != nfds) {
		rb_rpc_reply_free(*reply);	/* the daemon broke the contract */
		*reply = NULL;
		for (size_t i = 0; i < ngot; i++)
			close(fds[i]);
		ret = EIO;
	}
	return ret;
}

int rbc_call_fds_max(struct rbc_context *c, Rdmabroker__Request *req,
		     Rdmabroker__Reply **reply, int *fds, size_t max,
		     size_t *nfds)
{
	int got[RB_WIRE_MAX_FDS];
	size_t ngot = 0;
	int ret;

	*reply = NULL;
	*nfds = 0;
	if (rbc_dead(c))
		return EIO;
	pthread_mutex_lock(&c->rpc_lock);
	ret = rb_rpc_call(&c->rpc, req, reply, got, RB_WIRE_MAX_FDS, &ngot);
	pthread_mutex_unlock(&c->rpc_lock);
	ret = rbc_result(c, req, reply, ret);
	if (ret == 0 && ngot > max) {
		rb_rpc_reply_free(*reply);	/* the daemon broke the contract */
		*reply = NULL;
		ret = EIO;
	}
	if (ret) {
		for (size_t i = 0; i < ngot; i++)
			close(got[i]);
		return ret;
	}
	memcpy(fds, got, ngot * sizeof(int));
	*nfds = ngot;
	return 0;
}

int rbc_call_send_fds(struct rbc_context *c, Rdmabroker__Request *req,
		      Rdmabroker__Reply **reply, const int *fds, size_t nfds)
{
	int ret;

	*reply = NULL;
	if (rbc_dead(c))
		return EIO;
	pthread_mutex_lock(&c->rpc_lock);
	ret = rb_rpc_call_fds_out(&c->rpc, req, reply, fds, nfds);
	pthread_mutex_unlock(&c->rpc_lock);
	return rbc_result(c, req, reply, ret);
}

/* ------------------------------------------------------------ queries */

/*
 * The device attributes into attr, of which the caller has attr_size
 * bytes: the base struct ibv_device_attr at least, and the extended fields
 * that fit.  Returns 0 or a positive errno.
 */
static int rbc_query_device_any(struct ibv_context *context,
				struct ibv_device_attr_ex *attr,
				size_t attr_size)
{
	struct rbc_context *c = to_rbc_context(context);
	Rdmabroker__DeviceQueryReq body = RDMABROKER__DEVICE_QUERY_REQ__INIT;
	Rdmabroker__Request req = RDMABROKER__REQUEST__INIT;
	Rdmabroker__Reply *reply;
	struct ibv_device_attr_ex full;
	int ret;

	if (attr_size < sizeof(struct ibv_device_attr))
		return EINVAL;
	body.dev_index = c->dev->index;
	req.body_case = RDMABROKER__REQUEST__BODY_DEVICE_QUERY;
	req.device_query = &body;
	ret = rbc_call(c, &req, &reply);
	if (ret)
		return ret;
	rb_conv_device_attr_from_pb(&full, reply->device_query->attr);
	rb_rpc_reply_free(reply);

	if (attr_size > sizeof(full)) {
		memset((char *)attr + sizeof(full), 0, attr_size - sizeof(full));
		attr_size = sizeof(full);
	}
	memcpy(attr, &full, attr_size);
	return 0;
}

static int rbc_query_device_ex(struct ibv_context *context,
			       const struct ibv_query_device_ex_input *input,
			       struct ibv_device_attr_ex *attr,
			       size_t attr_size)
{
	if (input && input->comp_mask)
		return EINVAL;
	return rbc_query_device_any(context, attr, attr_size);
}

bool rbc_stamps(struct rbc_context *c)
{
	int known = __atomic_load_n(&c->stamps, __ATOMIC_RELAXED);
	struct ibv_device_attr_ex attr;
	int ret;

	if (!known) {
		/* Asked once: a device's capabilities do not change. */
		ret = rbc_query_device_any(&c->vctx.context, &attr, sizeof(attr));
		if (ret) {
			errno = ret;
			return false;
		}
		known = attr.completion_timestamp_mask ? 1 : -1;
		__atomic_store_n(&c->stamps, known, __ATOMIC_RELAXED);
	}
	if (known < 0)
		errno = EOPNOTSUPP;
	return known > 0;
}

/*
 * ibv_query_rt_values_ex: the device clock now.  A broker device's clock
 * is this host's CLOCK_MONOTONIC in nanoseconds (proto/shm.h), read here
 * without asking the daemon; as mlx5 does, the raw cycles go in tv_nsec
 * with tv_sec 0.
 */
static int rbc_query_rt_values(struct ibv_context *context,
			       struct ibv_values_ex *values)
{
	struct timespec now;
	uint32_t mask = 0;

	if (values->comp_mask & ~(uint32_t)IBV_VALUES_MASK_RAW_CLOCK)
		return EINVAL;
	if (values->comp_mask & IBV_VALUES_MASK_RAW_CLOCK) {
		if (!rbc_stamps(to_rbc_context(context)))
			return errno;
		clock_gettime(CLOCK_MONOTONIC, &now);
		values->raw_clock.tv_sec = 0;
		values->raw_clock.tv_nsec = (long)((uint64_t)now.tv_sec * 1000000000u +
						   (uint64_t)now.tv_nsec);
		mask |= IBV_VALUES_MASK_RAW_CLOCK;
	}
	values->comp_mask = mask;
	return 0;
}

RB_EXPORT int ibv_query_device(struct ibv_context *context,
			       struct ibv_device_attr *device_attr)
{
	return rbc_query_device_any(context,
				    (struct ibv_device_attr_ex *)device_attr,
				    sizeof(*device_attr));
}

static int rbc_query_port_any(struct ibv_context *context, uint8_t port_num,
			      struct ibv_port_attr *port_attr, size_t attr_len)
{
	struct rbc_context *c = to_rbc_context(context);
	Rdmabroker__PortQueryReq body = RDMABROKER__PORT_QUERY_REQ__INIT;
	Rdmabroker__Request req = RDMABROKER__REQUEST__INIT;
	Rdmabroker__Reply *reply;
	struct ibv_port_attr a;
	int ret;

	body.dev_index = c->dev->index;
	body.port_num = port_num;
	req.body_case = RDMABROKER__REQUEST__BODY_PORT_QUERY;
	req.port_query = &body;
	ret = rbc_call(c, &req, &reply);
	if (ret)
		return ret;
	rb_conv_port_attr_from_pb(&a, reply->port_query->attr);
	rb_rpc_reply_free(reply);

	if (attr_len > sizeof(a)) {
		memset((char *)port_attr + sizeof(a), 0, attr_len - sizeof(a));
		attr_len = sizeof(a);
	}
	memcpy(port_attr, &a, attr_len);
	return 0;
}

/* verbs_context.query_port: what the inline ibv_query_port() calls. */
static int rbc_query_port(struct ibv_context *context, uint8_t port_num,
			  struct ibv_port_attr *port_attr, size_t attr_len)
{
	return rbc_query_port_any(context, port_num, port_attr, attr_len);
}

/* The exported symbol, for binaries that call it directly. */
#undef ibv_query_port
RB_EXPORT int ibv_query_port(struct ibv_context *context, uint8_t port_num,
			     struct _compat_ibv_port_attr *port_attr)
{
	return rbc_query_port_any(context, port_num,
				  (struct ibv_port_attr *)port_attr,
				  RBC_COMPAT_PORT_ATTR_SIZE);
}

/* One GID entry; 0, ENODATA for an all-zero GID, or a positive errno. */
static int rbc_query_gid_entry(struct ibv_context *context, uint32_t port_num,
			       uint32_t index, struct ibv_gid_entry *entry)
{
	struct rbc_context *c = to_rbc_context(context);
	Rdmabroker__GidQueryReq body = RDMABROKER__GID_QUERY_REQ__INIT;
	Rdmabroker__Request req = RDMABROKER__REQUEST__INIT;
	Rdmabroker__Reply *reply;
	static const uint8_t zero[16];
	int ret;

	body.dev_index = c->dev->index;
	body.port_num = port_num;
	body.index = index;
	req.body_case = RDMABROKER__REQUEST__BODY_GID_QUERY;
	req.gid_query = &body;
	ret = rbc_call(c, &req, &reply);
	if (ret)
		return ret;
	memset(entry, 0, sizeof(*entry));
	if (rb_conv_gid_from_pb(&entry->gid, &entry->gid_type,
				reply->gid_query->gid) < 0) {
		rb_rpc_reply_free(reply);
		return EIO;
	}
	entry->gid_index = index;
	entry->port_num = port_num;
	entry->ndev_ifindex = 0;	/* no kernel netdev stands behind it */
	rb_rpc_reply_free(reply);
	return memcmp(entry->gid.raw, zero, sizeof(zero)) ? 0 : ENODATA;
}

RB_EXPORT int ibv_query_gid(struct ibv_context *context, uint8_t port_num,
			    int index, union ibv_gid *gid)
{
	struct ibv_gid_entry entry;
	int ret;

	if (index < 0) {
		errno = EINVAL;
		return -1;
	}
	ret = rbc_query_gid_entry(context, port_num, (uint32_t)index, &entry);
	if (ret == ENODATA) {
		/* libibverbs reports an empty slot as the zero GID. */
		memset(gid, 0, sizeof(*gid));
		return 0;
	}
	if (ret) {
		errno = ret;
		return -1;
	}
	memcpy(gid, &entry.gid, sizeof(*gid));
	return 0;
}

RB_EXPORT int ibv_query_gid_type(struct ibv_context *context, uint8_t port_num,
				 unsigned int index,
				 enum ibv_gid_type_sysfs *type)
{
	struct ibv_gid_entry entry;
	int ret = rbc_query_gid_entry(context, port_num, index, &entry);

	if (ret == ENODATA) {
		*type = IBV_GID_TYPE_SYSFS_IB_ROCE_V1;
		return 0;
	}
	if (ret) {
		errno = ret;
		return -1;
	}
	*type = entry.gid_type == IBV_GID_TYPE_ROCE_V2 ?
		IBV_GID_TYPE_SYSFS_ROCE_V2 : IBV_GID_TYPE_SYSFS_IB_ROCE_V1;
	return 0;
}

/* The entry is entry_size bytes in the caller's (possibly newer) layout. */
static void rbc_copy_gid_entry(void *dst, const struct ibv_gid_entry *src,
			       size_t entry_size)
{
	if (entry_size > sizeof(*src)) {
		memset((char *)dst + sizeof(*src), 0, entry_size - sizeof(*src));
		entry_size = sizeof(*src);
	}
	memcpy(dst, src, entry_size);
}

RB_EXPORT int _ibv_query_gid_ex(struct ibv_context *context, uint32_t port_num,
				uint32_t gid_index, struct ibv_gid_entry *entry,
				uint32_t flags, size_t entry_size)
{
	struct ibv_gid_entry e;
	int ret;

	if (flags)
		return EOPNOTSUPP;
	if (entry_size < sizeof(e))
		return EINVAL;
	ret = rbc_query_gid_entry(context, port_num, gid_index, &e);
	if (ret)
		return ret;
	rbc_copy_gid_entry(entry, &e, entry_size);
	return 0;
}

RB_EXPORT ssize_t _ibv_query_gid_table(struct ibv_context *context,
				       struct ibv_gid_entry *entries,
				       size_t max_entries, uint32_t flags,
				       size_t entry_size)
{
	struct ibv_device_attr dev_attr;
	struct ibv_port_attr port_attr;
	struct ibv_gid_entry e;
	size_t n = 0;
	int ret;

	if (flags)
		return -EOPNOTSUPP;
	if (entry_size < sizeof(e))
		return -EINVAL;
	ret = ibv_query_device(context, &dev_attr);
	if (ret)
		return -ret;
	for (int port = 1; port <= dev_attr.phys_port_cnt; port++) {
		ret = rbc_query_port_any(context, (uint8_t)port, &port_attr,
					 sizeof(port_attr));
		if (ret)
			return -ret;
		for (int i = 0; i < port_attr.gid_tbl_len; i++) {
			ret = rbc_query_gid_entry(context, (uint32_t)port,
						  (uint32_t)i, &e);
			if (ret == ENODATA)
				continue;
			if (ret)
				return -ret;
			if (n == max_entries)
				return -EINVAL;	/* the table does not fit */
			rbc_copy_gid_entry((char *)entries + n * entry_size,
					   &e, entry_size);
			n++;
		}
	}
	return (ssize_t)n;
}

RB_EXPORT int ibv_query_pkey(struct ibv_context *context, uint8_t port_num,
			     int index, __be16 *pkey)
{
	struct rbc_context *c = to_rbc_context(context);
	Rdmabroker__PkeyQueryReq body = RDMABROKER__PKEY_QUERY_REQ__INIT;
	Rdmabroker__Request req = RDMABROKER__REQUEST__INIT;
	Rdmabroker__Reply *reply;
	int ret;

	if (index < 0) {
		errno = EINVAL;
		return -1;
	}
	body.dev_index = c->dev->index;
	body.port_num = port_num;
	body.index = (uint32_t)index;
	req.body_case = RDMABROKER__REQUEST__BODY_PKEY_QUERY;
	req.pkey_query = &body;
	ret = rbc_call(c, &req, &reply);
	if (ret) {
		errno = ret;
		return -1;
	}
	*pkey = htobe16((uint16_t)reply->pkey_query->pkey);
	rb_rpc_reply_free(reply);
	return 0;
}

RB_EXPORT int ibv_get_pkey_index(struct ibv_context *context, uint8_t port_num,
				 __be16 pkey)
{
	__be16 p;

	for (int i = 0;; i++) {
		if (ibv_query_pkey(context, port_num, i, &p) < 0)
			return -1;
		if (p == pkey)
			return i;
	}
}

/* ------------------------------------------------------------ contexts */

static int rbc_compat_query_device(struct ibv_context *context,
				   struct ibv_device_attr *device_attr)
{
	return ibv_query_device(context, device_attr);
}

static int rbc_compat_query_port(struct ibv_context *context, uint8_t port_num,
				 struct _compat_ibv_port_attr *port_attr)
{
	return ibv_query_port(context, port_num, port_attr);
}

RB_EXPORT struct ibv_context *ibv_open_device(struct ibv_device *device)
{
	struct rbc_device *dev = to_rbc_device(device);
	Rdmabroker__DeviceOpenReq body = RDMABROKER__DEVICE_OPEN_REQ__INIT;
	Rdmabroker__Request req = RDMABROKER__REQUEST__INIT;
	Rdmabroker__Reply *reply;
	struct ibv_context *ctx;
	struct rbc_context *c;
	int ret;

	c = calloc(1, sizeof(*c));
	if (!c) {
		errno = ENOMEM;
		return NULL;
	}
	ret = rb_rpc_connect(&c->rpc, dev->socket_path, rbc_client_name(),
			     NULL, 0);
	if (ret < 0) {
		free(c);
		errno = -ret;
		return NULL;
	}
	pthread_mutex_init(&c->rpc_lock, NULL);
	pthread_mutex_init(&c->cq_lock, NULL);
	pthread_mutex_init(&c->kept_lock, NULL);
	c->kept_max = rbc_ring_cache_size();
	LIST_INIT(&c->cqs);
	LIST_INIT(&c->qps);
	LIST_INIT(&c->srqs);
	body.dev_index = dev->index;
	req.body_case = RDMABROKER__REQUEST__BODY_DEVICE_OPEN;
	req.device_open = &body;
	ctx = &c->vctx.context;
	/* The reply carries the context's async event socket. */
	ret = rbc_call_fds(c, &req, &reply, &ctx->async_fd, 1);
	if (ret)
		goto err;
	rb_rpc_reply_free(reply);
	c->dev = dev;
	rbc_device_get(dev);
	ctx->device = device;
	ctx->cmd_fd = c->rpc.fd;
	ctx->num_comp_vectors = 1;
	pthread_mutex_init(&ctx->mutex, NULL);
	ctx->abi_compat = __VERBS_ABI_IS_EXTENDED;
	ctx->ops._compat_query_device = rbc_compat_query_device;
	ctx->ops._compat_query_port = rbc_compat_query_port;
	ctx->ops.alloc_mw = rbc_alloc_mw;
	ctx->ops.bind_mw = rbc_bind_mw;
	ctx->ops.dealloc_mw = rbc_dealloc_mw;
	ctx->ops.poll_cq = rbc_poll_cq;
	ctx->ops.req_notify_cq = rbc_req_notify_cq;
	ctx->ops.post_srq_recv = rbc_post_srq_recv;
	ctx->ops.post_send = rbc_post_send;
	ctx->ops.post_recv = rbc_post_recv;
	c->vctx.sz = sizeof(c->vctx);
	c->vctx.query_port = rbc_query_port;
	c->vctx.query_device_ex = rbc_query_device_ex;
	c->vctx.create_qp_ex = rbc_create_qp_ex;
	c->vctx.open_qp = rbc_open_qp;
	c->vctx.create_cq_ex = rbc_create_cq_ex;
	c->vctx.query_rt_values = rbc_query_rt_values;
	c->vctx.open_xrcd = rbc_open_xrcd;
	c->vctx.close_xrcd = rbc_close_xrcd;
	c->vctx.create_srq_ex = rbc_create_srq_ex;
	c->vctx.get_srq_num = rbc_get_srq_num;
	c->vctx.alloc_td = rbc_alloc_td;
	c->vctx.dealloc_td = rbc_dealloc_td;
	c->vctx.alloc_parent_domain = rbc_alloc_parent_domain;
	return ctx;

err:
	rb_rpc_close(&c->rpc);
	pthread_mutex_destroy(&c->rpc_lock);
	pthread_mutex_destroy(&c->cq_lock);
	pthread_mutex_destroy(&c->kept_lock);
	free(c);
	errno = ret;
	return NULL;
}

RB_EXPORT int ibv_close_device(struct ibv_context *context)
{
	struct rbc_context *c = to_rbc_context(context);
	struct rbc_device *dev = c->dev;

	close(context->async_fd);
	rb_rpc_close(&c->rpc);	/* the daemon frees what the session held */
	rbc_qp_kept_fini(c);
	pthread_mutex_destroy(&context->mutex);
	pthread_mutex_destroy(&c->rpc_lock);
	pthread_mutex_destroy(&c->cq_lock);
	pthread_mutex_destroy(&c->kept_lock);
	free(c);
	rbc_device_put(dev);
	return 0;
}
