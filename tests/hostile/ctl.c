/* SPDX-License-Identifier: MIT */
/*
 * Hostile clients on the control socket, against a real private daemon
 * (started by tests/hostile/ctl.sh, which exports RDMABROKER_SOCKET,
 * RB_DAEMON_PID and RB_LOG).  One mode per run:
 *
 *   fuzz     a mutation fuzzer: valid requests of every type, encoded with
 *            protobuf-c, then bit flips, byte changes, truncations (every
 *            length, for every type), insertions, duplicated fields,
 *            corrupted length prefixes (protobuf and frame), extreme
 *            varints, splices, random fds beside them.  After every batch
 *            the daemon must be alive and a fresh client must complete a
 *            verbs round (open, PD, MR, CQ, QP, INIT, destroy all).
 *            Knobs: RB_FUZZ_DATAGRAMS=N (default 20000), RB_SOAK=1 (N =
 *            1000000 unless RB_FUZZ_DATAGRAMS says otherwise),
 *            RB_FUZZ_SEED=S (default 0x5eed; the run is deterministic in
 *            what it sends).
 *   values   valid protobufs with out-of-range values for each request,
 *            other clients' handles, QP transitions out of order, requests
 *            before the handshake, without a device, after the daemon
 *            closed the conversation: each refused with an error status
 *            and a log line.
 *   fds      SCM_RIGHTS: too many, too few, wrong types, unsealed or
 *            read-only memfds, shrinking a registered memfd.
 *   noread   a client that never reads its replies.
 *   storm N  N connections at once, all handshaken.
 *   emfile N the daemon runs out of fds (low RLIMIT_NOFILE): N clients
 *            connect, accepting must pause, and resume when they leave.
 *
 * Prints "figure: name value" lines the driver collects.  Exit 0 on
 * success, 1 on failure (with a reason on stderr).
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
#include "tests/lib/rng.h"

static const char *sock_path;
static pid_t daemon_pid;
static const char *log_path;
static long page_size;

static struct {
	uint64_t datagrams, mutations, refusals, accepted, disconnects;
	uint64_t rounds, cases, log_checked;
} fig;

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "hostile-ctl: FAIL: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

#define CHECK(cond, ...) do { if (!(cond)) die(__VA_ARGS__); } while (0)

static void daemon_alive(const char *when)
{
	/* EPERM: it is there, and we dropped to nobody (fuzz as root). */
	CHECK(kill(daemon_pid, 0) == 0 || errno == EPERM,
	      "daemon (pid %d) is gone %s", (int)daemon_pid, when);
}

/* ------------------------------------------------------------ transport */

static int raw_connect_nb(bool nonblock)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct timeval tv = { .tv_sec = 20 };
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC |
			(nonblock ? SOCK_NONBLOCK : 0), 0);

	CHECK(fd >= 0, "socket: %s", strerror(errno));
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock_path);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int err = errno;

		close(fd);
		return -err;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	return fd;
}

static int raw_connect(void)
{
	int fd = raw_connect_nb(false);

	CHECK(fd >= 0, "connect %s: %s", sock_path, strerror(-fd));
	return fd;
}

static uint8_t rxbuf[RB_WIRE_MAX_FRAME + 1];

/*
 * Read until a reply: 1 with *out (NULL if undecodable), 0 on EOF or reset.
 * Fds that come with it are closed.  Dies on a timeout: the daemon hangs.
 */
static int read_reply(int fd, Rdmabroker__Reply **out)
{
	struct rb_wire_msg msg;
	int ret;

	for (;;) {
		ret = rb_wire_recv(fd, rxbuf, &msg, RB_WIRE_MAX_FDS);
		if (ret == -EINTR)
			continue;
		if (ret == 0 || ret == -ECONNRESET || ret == -EPIPE)
			return 0;
		CHECK(ret != -EAGAIN, "no reply within 20 s: the daemon hangs");
		CHECK(ret > 0, "recv: %s", strerror(-ret));
		rb_wire_msg_close_fds(&msg);
		if (msg.kind == RB_WIRE_EVENT)
			continue;
		CHECK(msg.kind == RB_WIRE_REPLY, "frame of kind %u", msg.kind);
		*out = rdmabroker__reply__unpack(NULL, msg.len, msg.payload);
		CHECK(*out, "undecodable reply");
		return 1;
	}
}

static int send_req(int fd, Rdmabroker__Request *req, const int *fds, size_t nfds)
{
	return rb_wire_send_pb(fd, RB_WIRE_REQUEST, &req->base, fds, nfds);
}

/*
 * One call: the reply's status (0 or a positive errno), -1 on EOF.
 * *out gets the reply when asked for (free it), else it is freed.
 */
static int call(int fd, Rdmabroker__Request *req, const int *fds, size_t nfds,
		Rdmabroker__Reply **out)
{
	Rdmabroker__Reply *r = NULL;
	int ret = send_req(fd, req, fds, nfds);

	if (ret == -EPIPE || ret == -ECONNRESET)
		return -1;
	CHECK(ret == 0, "send: %s", strerror(-ret));
	if (read_reply(fd, &r) == 0)
		return -1;
	ret = r->status;
	if (out)
		*out = r;
	else
		rdmabroker__reply__free_unpacked(r, NULL);
	return ret;
}

/* ---------------------------------------------------- requests by type */

/* Every field a request may point to, so that one switch builds any. */
struct reqbuf {
	Rdmabroker__Request req;
	Rdmabroker__Hello hello;
	Rdmabroker__DeviceListReq dlist;
	Rdmabroker__DeviceOpenReq dopen;
	Rdmabroker__DeviceQueryReq dquery;
	Rdmabroker__PortQueryReq port;
	Rdmabroker__GidQueryReq gid;
	Rdmabroker__PkeyQueryReq pkey;
	Rdmabroker__PdAllocReq pd_alloc;
	Rdmabroker__PdDeallocReq pd_dealloc;
	Rdmabroker__ChannelCreateReq ch_create;
	Rdmabroker__ChannelDestroyReq ch_destroy;
	Rdmabroker__CqCreateReq cq_create;
	Rdmabroker__CqResizeReq cq_resize;
	Rdmabroker__CqDestroyReq cq_destroy;
	Rdmabroker__QpCap cap;
	Rdmabroker__QpCreateReq qp_create;
	Rdmabroker__AhAttr ah, alt_ah;
	Rdmabroker__QpAttr qattr;
	Rdmabroker__QpModifyReq qp_modify;
	Rdmabroker__QpQueryReq qp_query;
	Rdmabroker__QpDestroyReq qp_destroy;
	Rdmabroker__SrqCreateReq srq_create;
	Rdmabroker__SrqModifyReq srq_modify;
	Rdmabroker__SrqQueryReq srq_query;
	Rdmabroker__SrqDestroyReq srq_destroy;
	Rdmabroker__StatusReq status;
	Rdmabroker__ClientListReq clist;
	Rdmabroker__DeviceShowReq dshow;
	Rdmabroker__ResShowReq rshow;
	Rdmabroker__LimitsShowReq lshow;
	Rdmabroker__LimitsSetReq lset;
	Rdmabroker__ClientKillReq ckill;
	Rdmabroker__AhCreateReq ah_create;
	Rdmabroker__AhDestroyReq ah_destroy;
	Rdmabroker__MrExtent ext;
	Rdmabroker__MrExtent *exts[1];
	Rdmabroker__MrRegReq mr_reg;
	Rdmabroker__MrDeregReq mr_dereg;
	Rdmabroker__MrReregReq mr_rereg;
	uint8_t dgid[16];
};

/* A connection with one of each object, the material requests name. */
struct conn {
	int fd;
	uint32_t seq;
	uint32_t pd, ch, cq, qp, srq, ah, mr;
	uint32_t qp_num;
	int memfd;		/* sealed against shrinking, 4 pages */
	uint8_t *mem;		/* its mapping: what mr_reg registers */
	uint8_t gid[16];
};

static const Rdmabroker__Request__BodyCase all_types[] = {
	RDMABROKER__REQUEST__BODY_HELLO,
	RDMABROKER__REQUEST__BODY_DEVICE_LIST,
	RDMABROKER__REQUEST__BODY_DEVICE_OPEN,
	RDMABROKER__REQUEST__BODY_DEVICE_QUERY,
	RDMABROKER__REQUEST__BODY_PORT_QUERY,
	RDMABROKER__REQUEST__BODY_GID_QUERY,
	RDMABROKER__REQUEST__BODY_PKEY_QUERY,
	RDMABROKER__REQUEST__BODY_PD_ALLOC,
	RDMABROKER__REQUEST__BODY_PD_DEALLOC,
	RDMABROKER__REQUEST__BODY_CHANNEL_CREATE,
	RDMABROKER__REQUEST__BODY_CHANNEL_DESTROY,
	RDMABROKER__REQUEST__BODY_CQ_CREATE,
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
	RDMABROKER__REQUEST__BODY_DAEMON_STATUS,
	RDMABROKER__REQUEST__BODY_CLIENT_LIST,
	RDMABROKER__REQUEST__BODY_DEVICE_SHOW,
	RDMABROKER__REQUEST__BODY_RES_SHOW,
	RDMABROKER__REQUEST__BODY_LIMITS_SHOW,
	RDMABROKER__REQUEST__BODY_LIMITS_SET,
	RDMABROKER__REQUEST__BODY_CLIENT_KILL,
	RDMABROKER__REQUEST__BODY_AH_CREATE,
	RDMABROKER__REQUEST__BODY_AH_DESTROY,
	RDMABROKER__REQUEST__BODY_MR_REG,
	RDMABROKER__REQUEST__BODY_MR_DEREG,
	RDMABROKER__REQUEST__BODY_MR_REREG,
};
#define NTYPES (sizeof(all_types) / sizeof(all_types[0]))

/*
 * A valid request of type t naming c's objects.  Admin requests name a
 * uid and a pid that do not exist, so that even a mutated one run by root
 * is unlikely to touch anything real.
 */
static Rdmabroker__Request *build(struct reqbuf *b, const struct conn *c,
				  Rdmabroker__Request__BodyCase t)
{
	Rdmabroker__Request *r = &b->req;

	memset(b, 0, sizeof(*b));
	rdmabroker__request__init(r);
	r->seq = c ? c->seq + 1 : 1;
	r->body_case = t;
	rdmabroker__qp_cap__init(&b->cap);
	b->cap.max_send_wr = 8;
	b->cap.max_recv_wr = 8;
	b->cap.max_send_sge = 1;
	b->cap.max_recv_sge = 1;
	rdmabroker__ah_attr__init(&b->ah);
	rdmabroker__ah_attr__init(&b->alt_ah);
	if (c)
		memcpy(b->dgid, c->gid, 16);
	b->ah.dgid.data = b->dgid;
	b->ah.dgid.len = 16;
	b->ah.is_global = 1;
	b->ah.hop_limit = 64;
	b->ah.port_num = 1;
	b->alt_ah.dgid.data = b->dgid;
	b->alt_ah.dgid.len = 16;

	switch (t) {
	case RDMABROKER__REQUEST__BODY_HELLO:
		rdmabroker__hello__init(&b->hello);
		b->hello.proto_version = RB_PROTO_VERSION;
		b->hello.client_version = (char *)PACKAGE_VERSION;
		b->hello.client_name = (char *)"hostile-ctl";
		r->hello = &b->hello;
		break;
	case RDMABROKER__REQUEST__BODY_DEVICE_LIST:
		rdmabroker__device_list_req__init(&b->dlist);
		r->device_list = &b->dlist;
		break;
	case RDMABROKER__REQUEST__BODY_DEVICE_OPEN:
		rdmabroker__device_open_req__init(&b->dopen);
		r->device_open = &b->dopen;
		break;
	case RDMABROKER__REQUEST__BODY_DEVICE_QUERY:
		rdmabroker__device_query_req__init(&b->dquery);
		r->device_query = &b->dquery;
		break;
	case RDMABROKER__REQUEST__BODY_PORT_QUERY:
		rdmabroker__port_query_req__init(&b->port);
		b->port.port_num = 1;
		r->port_query = &b->port;
		break;
	case RDMABROKER__REQUEST__BODY_GID_QUERY:
		rdmabroker__gid_query_req__init(&b->gid);
		b->gid.port_num = 1;
		r->gid_query = &b->gid;
		break;
	case RDMABROKER__REQUEST__BODY_PKEY_QUERY:
		rdmabroker__pkey_query_req__init(&b->pkey);
		b->pkey.port_num = 1;
		r->pkey_query = &b->pkey;
		break;
	case RDMABROKER__REQUEST__BODY_PD_ALLOC:
		rdmabroker__pd_alloc_req__init(&b->pd_alloc);
		r->pd_alloc = &b->pd_alloc;
		break;
	case RDMABROKER__REQUEST__BODY_PD_DEALLOC:
		rdmabroker__pd_dealloc_req__init(&b->pd_dealloc);
		b->pd_dealloc.handle = c ? c->pd : 1;
		r->pd_dealloc = &b->pd_dealloc;
		break;
	case RDMABROKER__REQUEST__BODY_CHANNEL_CREATE:
		rdmabroker__channel_create_req__init(&b->ch_create);
		r->channel_create = &b->ch_create;
		break;
	case RDMABROKER__REQUEST__BODY_CHANNEL_DESTROY:
		rdmabroker__channel_destroy_req__init(&b->ch_destroy);
		b->ch_destroy.handle = c ? c->ch : 1;
		r->channel_destroy = &b->ch_destroy;
		break;
	case RDMABROKER__REQUEST__BODY_CQ_CREATE:
		rdmabroker__cq_create_req__init(&b->cq_create);
		b->cq_create.cqe = 16;
		if (c && c->ch) {
			b->cq_create.has_channel = 1;
			b->cq_create.channel = c->ch;
		}
		b->cq_create.has_comp_vector = 1;
		r->cq_create = &b->cq_create;
		break;
	case RDMABROKER__REQUEST__BODY_CQ_RESIZE:
		rdmabroker__cq_resize_req__init(&b->cq_resize);
		b->cq_resize.handle = c ? c->cq : 1;
		b->cq_resize.cqe = 32;
		r->cq_resize = &b->cq_resize;
		break;
	case RDMABROKER__REQUEST__BODY_CQ_DESTROY:
		rdmabroker__cq_destroy_req__init(&b->cq_destroy);
		b->cq_destroy.handle = c ? c->cq : 1;
		r->cq_destroy = &b->cq_destroy;
		break;
	case RDMABROKER__REQUEST__BODY_QP_CREATE:
		rdmabroker__qp_create_req__init(&b->qp_create);
		b->qp_create.pd = c ? c->pd : 1;
		b->qp_create.send_cq = b->qp_create.recv_cq = c ? c->cq : 1;
		b->qp_create.qp_type = IBV_QPT_RC;
		b->qp_create.cap = &b->cap;
		r->qp_create = &b->qp_create;
		break;
	case RDMABROKER__REQUEST__BODY_QP_MODIFY:
		rdmabroker__qp_attr__init(&b->qattr);
		b->qattr.qp_state = IBV_QPS_INIT;
		b->qattr.port_num = 1;
		b->qattr.qp_access_flags = IBV_ACCESS_REMOTE_WRITE |
					   IBV_ACCESS_REMOTE_READ;
		b->qattr.cap = &b->cap;
		b->qattr.ah_attr = &b->ah;
		b->qattr.alt_ah_attr = &b->alt_ah;
		rdmabroker__qp_modify_req__init(&b->qp_modify);
		b->qp_modify.handle = c ? c->qp : 1;
		b->qp_modify.attr_mask = IBV_QP_STATE | IBV_QP_PKEY_INDEX |
					 IBV_QP_PORT | IBV_QP_ACCESS_FLAGS;
		b->qp_modify.attr = &b->qattr;
		r->qp_modify = &b->qp_modify;
		break;
	case RDMABROKER__REQUEST__BODY_QP_QUERY:
		rdmabroker__qp_query_req__init(&b->qp_query);
		b->qp_query.handle = c ? c->qp : 1;
		r->qp_query = &b->qp_query;
		break;
	case RDMABROKER__REQUEST__BODY_QP_DESTROY:
		rdmabroker__qp_destroy_req__init(&b->qp_destroy);
		b->qp_destroy.handle = c ? c->qp : 1;
		r->qp_destroy = &b->qp_destroy;
		break;
	case RDMABROKER__REQUEST__BODY_SRQ_CREATE:
		rdmabroker__srq_create_req__init(&b->srq_create);
		b->srq_create.pd = c ? c->pd : 1;
		b->srq_create.max_wr = 16;
		b->srq_create.max_sge = 1;
		r->srq_create = &b->srq_create;
		break;
	case RDMABROKER__REQUEST__BODY_SRQ_MODIFY:
		rdmabroker__srq_modify_req__init(&b->srq_modify);
		b->srq_modify.handle = c ? c->srq : 1;
		b->srq_modify.attr_mask = IBV_SRQ_LIMIT;
		b->srq_modify.srq_limit = 4;
		r->srq_modify = &b->srq_modify;
		break;
	case RDMABROKER__REQUEST__BODY_SRQ_QUERY:
		rdmabroker__srq_query_req__init(&b->srq_query);
		b->srq_query.handle = c ? c->srq : 1;
		r->srq_query = &b->srq_query;
		break;
	case RDMABROKER__REQUEST__BODY_SRQ_DESTROY:
		rdmabroker__srq_destroy_req__init(&b->srq_destroy);
		b->srq_destroy.handle = c ? c->srq : 1;
		r->srq_destroy = &b->srq_destroy;
		break;
	case RDMABROKER__REQUEST__BODY_DAEMON_STATUS:
		rdmabroker__status_req__init(&b->status);
		r->daemon_status = &b->status;
		break;
	case RDMABROKER__REQUEST__BODY_CLIENT_LIST:
		rdmabroker__client_list_req__init(&b->clist);
		r->client_list = &b->clist;
		break;
	case RDMABROKER__REQUEST__BODY_DEVICE_SHOW:
		rdmabroker__device_show_req__init(&b->dshow);
		r->device_show = &b->dshow;
		break;
	case RDMABROKER__REQUEST__BODY_RES_SHOW:
		rdmabroker__res_show_req__init(&b->rshow);
		b->rshow.type = (char *)"qp";
		r->res_show = &b->rshow;
		break;
	case RDMABROKER__REQUEST__BODY_LIMITS_SHOW:
		rdmabroker__limits_show_req__init(&b->lshow);
		r->limits_show = &b->lshow;
		break;
	case RDMABROKER__REQUEST__BODY_LIMITS_SET:
		rdmabroker__limits_set_req__init(&b->lset);
		b->lset.uid = 0x7ffffff0;
		b->lset.name = (char *)"pds";
		b->lset.value = 1000;
		r->limits_set = &b->lset;
		break;
	case RDMABROKER__REQUEST__BODY_CLIENT_KILL:
		rdmabroker__client_kill_req__init(&b->ckill);
		b->ckill.pid = 0x7ffffff0;
		r->client_kill = &b->ckill;
		break;
	case RDMABROKER__REQUEST__BODY_AH_CREATE:
		rdmabroker__ah_create_req__init(&b->ah_create);
		b->ah_create.pd = c ? c->pd : 1;
		b->ah_create.attr = &b->ah;
		r->ah_create = &b->ah_create;
		break;
	case RDMABROKER__REQUEST__BODY_AH_DESTROY:
		rdmabroker__ah_destroy_req__init(&b->ah_destroy);
		b->ah_destroy.handle = c ? c->ah : 1;
		r->ah_destroy = &b->ah_destroy;
		break;
	case RDMABROKER__REQUEST__BODY_MR_REG:
		rdmabroker__mr_extent__init(&b->ext);
		b->ext.addr = c ? (uint64_t)(uintptr_t)c->mem : 0;
		b->ext.length = (uint64_t)page_size;
		b->exts[0] = &b->ext;
		rdmabroker__mr_reg_req__init(&b->mr_reg);
		b->mr_reg.pd = c ? c->pd : 1;
		b->mr_reg.addr = b->ext.addr;
		b->mr_reg.length = (uint64_t)page_size;
		b->mr_reg.iova = b->ext.addr;
		b->mr_reg.access = IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE;
		b->mr_reg.mode = RDMABROKER__MR_MODE__MR_MEMFD;
		b->mr_reg.n_extents = 1;
		b->mr_reg.extents = b->exts;
		r->mr_reg = &b->mr_reg;
		break;
	case RDMABROKER__REQUEST__BODY_MR_DEREG:
		rdmabroker__mr_dereg_req__init(&b->mr_dereg);
		b->mr_dereg.handle = c ? c->mr : 1;
		r->mr_dereg = &b->mr_dereg;
		break;
	case RDMABROKER__REQUEST__BODY_MR_REREG:
		rdmabroker__mr_rereg_req__init(&b->mr_rereg);
		b->mr_rereg.handle = c ? c->mr : 1;
		b->mr_rereg.flags = IBV_REREG_MR_CHANGE_ACCESS;
		b->mr_rereg.has_access = 1;
		b->mr_rereg.access = IBV_ACCESS_LOCAL_WRITE;
		r->mr_rereg = &b->mr_rereg;
		break;
	default:
		die("build: type %d", (int)t);
	}
	return r;
}

/* ----------------------------------------------------------- sessions */

static void mem_init(struct conn *c)
{
	c->memfd = memfd_create("hostile-ctl", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	CHECK(c->memfd >= 0, "memfd_create: %s", strerror(errno));
	CHECK(ftruncate(c->memfd, 4 * page_size) == 0, "ftruncate");
	CHECK(fcntl(c->memfd, F_ADD_SEALS, F_SEAL_SHRINK) == 0, "seal");
	c->mem = mmap(NULL, 4 * (size_t)page_size, PROT_READ | PROT_WRITE,
		      MAP_SHARED, c->memfd, 0);
	CHECK(c->mem != MAP_FAILED, "mmap");
}

static void conn_close(struct conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	if (c->mem)
		munmap(c->mem, 4 * (size_t)page_size);
	if (c->memfd >= 0)
		close(c->memfd);
	memset(c, 0, sizeof(*c));
	c->fd = c->memfd = -1;
}

/* Call of type t on c, with c's objects; status, or -1 on EOF. */
static int call_type(struct conn *c, Rdmabroker__Request__BodyCase t,
		     Rdmabroker__Reply **out)
{
	struct reqbuf b;
	Rdmabroker__Request *r = build(&b, c, t);
	int fd = c->memfd;

	c->seq++;
	return call(c->fd, r, &fd, t == RDMABROKER__REQUEST__BODY_MR_REG, out);
}

static void must(struct conn *c, Rdmabroker__Request__BodyCase t,
		 Rdmabroker__Reply **out, const char *what)
{
	Rdmabroker__Reply *r = NULL;
	int ret = call_type(c, t, &r);

	CHECK(ret == 0, "%s: %s%s%s", what, ret < 0 ? "EOF" : strerror(ret),
	      r && r->error ? ": " : "", r && r->error ? r->error : "");
	if (out)
		*out = r;
	else
		rdmabroker__reply__free_unpacked(r, NULL);
}

/* Connect and handshake; with device, open device 0 too. */
static void conn_open(struct conn *c, bool device)
{
	memset(c, 0, sizeof(*c));
	c->memfd = -1;
	c->fd = raw_connect();
	must(c, RDMABROKER__REQUEST__BODY_HELLO, NULL, "hello");
	if (device)
		must(c, RDMABROKER__REQUEST__BODY_DEVICE_OPEN, NULL, "device_open");
}

/* conn_open, and one object of each kind. */
static void conn_setup(struct conn *c)
{
	Rdmabroker__Reply *r;
	struct reqbuf b;

	conn_open(c, true);
	mem_init(c);
	build(&b, c, RDMABROKER__REQUEST__BODY_GID_QUERY);
	c->seq++;
	CHECK(call(c->fd, &b.req, NULL, 0, &r) == 0, "gid_query");
	if (r->gid_query->gid->raw.len == 16)
		memcpy(c->gid, r->gid_query->gid->raw.data, 16);
	rdmabroker__reply__free_unpacked(r, NULL);
	must(c, RDMABROKER__REQUEST__BODY_PD_ALLOC, &r, "pd_alloc");
	c->pd = r->pd_alloc->handle;
	rdmabroker__reply__free_unpacked(r, NULL);
	must(c, RDMABROKER__REQUEST__BODY_CHANNEL_CREATE, &r, "channel_create");
	c->ch = r->channel_create->handle;
	rdmabroker__reply__free_unpacked(r, NULL);
	must(c, RDMABROKER__REQUEST__BODY_CQ_CREATE, &r, "cq_create");
	c->cq = r->cq_create->handle;
	rdmabroker__reply__free_unpacked(r, NULL);
	must(c, RDMABROKER__REQUEST__BODY_QP_CREATE, &r, "qp_create");
	c->qp = r->qp_create->handle;
	c->qp_num = r->qp_create->qp_num;
	rdmabroker__reply__free_unpacked(r, NULL);
	must(c, RDMABROKER__REQUEST__BODY_SRQ_CREATE, &r, "srq_create");
	c->srq = r->srq_create->handle;
	rdmabroker__reply__free_unpacked(r, NULL);
	must(c, RDMABROKER__REQUEST__BODY_AH_CREATE, &r, "ah_create");
	c->ah = r->ah_create->handle;
	rdmabroker__reply__free_unpacked(r, NULL);
	must(c, RDMABROKER__REQUEST__BODY_MR_REG, &r, "mr_reg");
	c->mr = r->mr_reg->handle;
	rdmabroker__reply__free_unpacked(r, NULL);
}

/*
 * The daemon serves: a fresh client opens the device, allocates a PD,
 * registers an MR, creates a CQ and an RC QP, takes it to INIT and
 * destroys it all again, in verbs order.
 */
static void verbs_round(const char *when)
{
	static const Rdmabroker__Request__BodyCase teardown[] = {
		RDMABROKER__REQUEST__BODY_QP_DESTROY,
		RDMABROKER__REQUEST__BODY_CQ_DESTROY,
		RDMABROKER__REQUEST__BODY_MR_DEREG,
		RDMABROKER__REQUEST__BODY_PD_DEALLOC,
	};
	Rdmabroker__Reply *r;
	struct conn c;

	daemon_alive(when);
	conn_open(&c, false);
	must(&c, RDMABROKER__REQUEST__BODY_DEVICE_LIST, &r, "device_list");
	CHECK(r->device_list->n_devices >= 1, "no device listed %s", when);
	rdmabroker__reply__free_unpacked(r, NULL);
	must(&c, RDMABROKER__REQUEST__BODY_DEVICE_OPEN, NULL, "device_open");
	mem_init(&c);
	must(&c, RDMABROKER__REQUEST__BODY_PD_ALLOC, &r, "pd_alloc");
	c.pd = r->pd_alloc->handle;
	rdmabroker__reply__free_unpacked(r, NULL);
	must(&c, RDMABROKER__REQUEST__BODY_MR_REG, &r, "mr_reg");
	c.mr = r->mr_reg->handle;
	rdmabroker__reply__free_unpacked(r, NULL);
	must(&c, RDMABROKER__REQUEST__BODY_CQ_CREATE, &r, "cq_create");
	c.cq = r->cq_create->handle;
	rdmabroker__reply__free_unpacked(r, NULL);
	must(&c, RDMABROKER__REQUEST__BODY_QP_CREATE, &r, "qp_create");
	c.qp = r->qp_create->handle;
	rdmabroker__reply__free_unpacked(r, NULL);
	must(&c, RDMABROKER__REQUEST__BODY_QP_MODIFY, NULL, "qp_modify INIT");
	for (size_t i = 0; i < sizeof(teardown) / sizeof(teardown[0]); i++)
		must(&c, teardown[i], NULL, "teardown");
	conn_close(&c);
	fig.rounds++;
}

/* ---------------------------------------------------------- the fuzzer */

static size_t rndn(size_t n)
{
	return n ? (size_t)(rng() % n) : 0;
}

/* A varint at p (at most end); its length, or 0 if it runs off. */
static size_t varint_get(const uint8_t *p, const uint8_t *end, uint64_t *v)
{
	uint64_t x = 0;

	for (size_t i = 0; i < 10 && p + i < end; i++) {
		x |= (uint64_t)(p[i] & 0x7f) << (7 * i);
		if (!(p[i] & 0x80)) {
			*v = x;
			return i + 1;
		}
	}
	return 0;
}

static size_t varint_put(uint8_t *p, uint64_t v)
{
	size_t n = 0;

	do {
		p[n] = (uint8_t)(v & 0x7f);
		v >>= 7;
		if (v)
			p[n] |= 0x80;
		n++;
	} while (v);
	return n;
}

/* One field of a protobuf message: [start, end), its value at val. */
struct pbfield {
	size_t start, val, end;
	unsigned int wtype;
	size_t len_at, len_len;	/* the length varint of a LEN field */
};

/* Split buf into fields; their count, or -1 if it does not parse. */
static int pb_fields(const uint8_t *buf, size_t len, struct pbfield *f, int max)
{
	const uint8_t *p = buf, *end = buf + len;
	int n = 0;

	while (p < end && n < max) {
		uint64_t key, v;
		size_t k = varint_get(p, end, &key), m;

		if (!k || (key >> 3) == 0)
			return -1;
		f[n].start = (size_t)(p - buf);
		f[n].wtype = key & 7;
		p += k;
		f[n].val = (size_t)(p - buf);
		switch (key & 7) {
		case 0:
			m = varint_get(p, end, &v);
			if (!m)
				return -1;
			p += m;
			break;
		case 1:
			if (end - p < 8)
				return -1;
			p += 8;
			break;
		case 5:
			if (end - p < 4)
				return -1;
			p += 4;
			break;
		case 2:
			m = varint_get(p, end, &v);
			if (!m || v > (uint64_t)(end - p - (ptrdiff_t)m))
				return -1;
			f[n].len_at = (size_t)(p - buf);
			f[n].len_len = m;
			p += m;
			f[n].val = (size_t)(p - buf);
			p += v;
			break;
		default:
			return -1;
		}
		f[n].end = (size_t)(p - buf);
		n++;
	}
	return p == end ? n : -1;
}

#define PB_MAXF 64

/* Room for any mutated payload: inserted bytes and duplicated fields. */
#define FUZZ_CAP 4096

/*
 * Structural mutations, recursively into nested messages so that the
 * enclosing length prefixes stay right (or, for op 1, are made wrong on
 * purpose).  op: 0 duplicate a field, 1 corrupt a length prefix, 2 put an
 * extreme value in a varint, 3 drop a field.  Returns the new length, or
 * 0 if nothing applied.
 */
static size_t pb_mutate(const uint8_t *in, size_t len, uint8_t *out, size_t cap,
			int op, int depth)
{
	static const uint64_t extremes[] = {
		0, 1, 0x7f, 0x80, 0xffff, 0x10000, 0x7fffffff, 0x80000000u,
		0xffffffffu, 0x100000000ull, 0x7fffffffffffffffull,
		0xffffffffffffffffull, 0xfffffffffffff000ull,
	};
	struct pbfield f[PB_MAXF];
	int n = pb_fields(in, len, f, PB_MAXF);
	const struct pbfield *x;
	uint8_t sub[FUZZ_CAP];
	size_t subn, o;

	if (n <= 0)
		return 0;
	x = &f[rndn((size_t)n)];
	/* Into a nested message, half of the time. */
	if (x->wtype == 2 && depth < 4 && x->end > x->val && rndn(2)) {
		subn = pb_mutate(in + x->val, x->end - x->val, sub, sizeof(sub),
				 op, depth + 1);
		if (subn && x->start + 10 + (x->val - x->start) + subn +
		    (len - x->end) <= cap) {
			o = x->len_at;
			memcpy(out, in, o);
			o += varint_put(out + o, subn);
			memcpy(out + o, sub, subn);
			o += subn;
			memcpy(out + o, in + x->end, len - x->end);
			return o + len - x->end;
		}
	}
	switch (op) {
	case 0:		/* duplicate */
		if (len + (x->end - x->start) > cap)
			return 0;
		memcpy(out, in, x->end);
		memcpy(out + x->end, in + x->start, x->end - x->start);
		memcpy(out + x->end + (x->end - x->start), in + x->end, len - x->end);
		return len + (x->end - x->start);
	case 1:		/* a wrong length prefix, the content unchanged */
		if (x->wtype != 2 || len + 10 > cap)
			return 0;
		o = x->len_at;
		memcpy(out, in, o);
		o += varint_put(out + o, rndn(2) ? rng() : x->end - x->val +
				rndn(8) - 4);
		memcpy(out + o, in + x->val, len - x->val);
		return o + len - x->val;
	case 2:		/* an extreme varint */
		if (x->wtype != 0 || len + 10 > cap)
			return 0;
		o = x->val;
		memcpy(out, in, o);
		o += varint_put(out + o, extremes[rndn(sizeof(extremes) /
						       sizeof(extremes[0]))]);
		{
			uint64_t v;
			size_t m = varint_get(in + x->val, in + len, &v);

			memcpy(out + o, in + x->val + m, len - x->val - m);
			return o + len - x->val - m;
		}
	default:	/* drop */
		memcpy(out, in, x->start);
		memcpy(out + x->start, in + x->end, len - x->end);
		return len - (x->end - x->start) ? len - (x->end - x->start) : 0;
	}
}

struct seed {
	uint8_t buf[512];
	size_t len;
	bool mr_fd;
};

static struct seed seeds[NTYPES];

static void seeds_build(const struct conn *c)
{
	for (size_t i = 0; i < NTYPES; i++) {
		struct reqbuf b;
		Rdmabroker__Request *r = build(&b, c, all_types[i]);
		size_t n = rdmabroker__request__get_packed_size(r);

		CHECK(n <= sizeof(seeds[i].buf), "seed too large");
		seeds[i].len = rdmabroker__request__pack(r, seeds[i].buf);
		seeds[i].mr_fd = all_types[i] == RDMABROKER__REQUEST__BODY_MR_REG;
	}
}

/* fds a fuzzed datagram may carry: of every kind the daemon may meet. */
static int fuzz_fds[6];

static void fuzz_fds_open(const struct conn *c)
{
	int p[2], sv[2];

	CHECK(pipe2(p, O_CLOEXEC) == 0, "pipe");
	CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0,
	      "socketpair");
	fuzz_fds[0] = c->memfd;
	fuzz_fds[1] = p[0];
	fuzz_fds[2] = p[1];
	fuzz_fds[3] = sv[0];
	close(sv[1]);
	fuzz_fds[4] = open("/dev/null", O_RDWR | O_CLOEXEC);
	fuzz_fds[5] = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	CHECK(fuzz_fds[4] >= 0 && fuzz_fds[5] >= 0, "open");
}

/* The fuzzing connection: set up anew whenever the daemon drops it. */
static struct conn fz;

static void fz_conn_drop(struct conn *c)
{
	int memfd = c->memfd;

	c->memfd = -1;
	conn_close(c);
	if (memfd >= 0 && memfd != fuzz_fds[0])
		close(memfd);
}

static void fz_reconnect(void)
{
	int memfd;

	/* The fuzz fds hold fz's memfd: keep it across reconnections. */
	memfd = fz.memfd;
	fz.memfd = -1;
	conn_close(&fz);
	if (memfd >= 0)
		close(memfd);
	conn_setup(&fz);
	fuzz_fds[0] = fz.memfd;
	seeds_build(&fz);
}

/*
 * Send one frame (header + payload as built) on fz with nfds fds; read
 * its reply.  A drop is counted and fz set up again.
 */
static void fuzz_send(const uint8_t *frame, size_t len, const int *fds,
		      size_t nfds)
{
	Rdmabroker__Reply *r = NULL;
	int ret;

	fig.datagrams++;
	ret = rb_wire_send_frame(fz.fd, frame, len, fds, nfds);
	if (ret == 0 && read_reply(fz.fd, &r) == 1) {
		if (r->status)
			fig.refusals++;
		else
			fig.accepted++;
		rdmabroker__reply__free_unpacked(r, NULL);
		return;
	}
	CHECK(ret == 0 || ret == -EPIPE || ret == -ECONNRESET,
	      "send: %s", strerror(-ret));
	fig.disconnects++;
	fz_reconnect();
}

static size_t frame_wrap(uint8_t *frame, const uint8_t *payload, size_t len)
{
	struct rb_wire_hdr h = {
		.magic = RB_WIRE_MAGIC,
		.version = RB_WIRE_VERSION,
		.kind = RB_WIRE_REQUEST,
		.len = (uint32_t)len,
	};

	memcpy(frame, &h, sizeof(h));
	memcpy(frame + sizeof(h), payload, len);
	return sizeof(h) + len;
}

static uint8_t frame[RB_WIRE_MAX_FRAME];

/* One mutated datagram from a random seed. */
static void fuzz_one(void)
{
	const struct seed *sd = &seeds[rndn(NTYPES)];
	uint8_t a[FUZZ_CAP], b[FUZZ_CAP];
	size_t len = sd->len, nfds = 0, flen;
	int nops = 1 + (int)rndn(3);
	int fds[RB_WIRE_MAX_FDS];

	memcpy(a, sd->buf, len);
	for (int k = 0; k < nops; k++) {
		size_t n, pos;
		int op = (int)rndn(10);

		fig.mutations++;
		switch (op) {
		case 0:		/* bit flips */
			for (int i = 1 + (int)rndn(4); i && len; i--)
				a[rndn(len)] ^= (uint8_t)(1u << rndn(8));
			break;
		case 1:		/* bytes replaced */
			for (int i = 1 + (int)rndn(4); i && len; i--)
				a[rndn(len)] = (uint8_t)rng();
			break;
		case 2:		/* truncated */
			len = rndn(len + 1);
			break;
		case 3:		/* bytes inserted */
			n = 1 + rndn(8);
			if (len + n > sizeof(a))
				break;
			pos = rndn(len + 1);
			/* A loop, not memmove: gcc's ASan build cannot see
			 * pos <= len and calls the bound SIZE_MAX. */
			for (size_t i = len; i > pos; i--)
				a[i - 1 + n] = a[i - 1];
			for (size_t i = 0; i < n; i++)
				a[pos + i] = (uint8_t)rng();
			len += n;
			break;
		case 4: case 5: case 6: case 7:	/* structural */
			n = pb_mutate(a, len, b, sizeof(b), op - 4, 0);
			if (n) {
				memcpy(a, b, n);
				len = n;
			}
			break;
		case 8:		/* spliced with another type */
		{
			const struct seed *o = &seeds[rndn(NTYPES)];
			size_t cut = rndn(len + 1), from = rndn(o->len + 1);

			if (cut + (o->len - from) <= sizeof(a)) {
				memcpy(a + cut, o->buf + from, o->len - from);
				len = cut + (o->len - from);
			}
			break;
		}
		default:	/* a random tail */
			n = rndn(64);
			pos = rndn(len + 1);
			if (pos + n > sizeof(a))
				break;
			for (size_t i = 0; i < n; i++)
				a[pos + i] = (uint8_t)rng();
			len = pos + n;
			break;
		}
	}
	/* The fds: mostly what the type wants, sometimes anything. */
	if (sd->mr_fd && rndn(4))
		fds[nfds++] = fuzz_fds[0];
	if (rndn(10) == 0)
		for (size_t i = 1 + rndn(3); i; i--)
			fds[nfds++] = fuzz_fds[rndn(6)];
	flen = frame_wrap(frame, a, len);
	/* The frame itself, rarely: these end the connection. */
	if (rndn(40) == 0) {
		struct rb_wire_hdr *h = (struct rb_wire_hdr *)frame;

		fig.mutations++;
		switch (rndn(6)) {
		case 0: h->len += (uint32_t)rndn(9) - 4; break;
		case 1: h->len = (uint32_t)rng(); break;
		case 2: h->magic ^= 1u << rndn(32); break;
		case 3: h->version = (uint16_t)rng(); break;
		case 4: h->kind = (uint16_t)rndn(6); break;
		default: h->reserved = (uint32_t)rng() | 1; break;
		}
	}
	fuzz_send(frame, flen, fds, nfds);
}

/*
 * A few mutated datagrams on a connection that has not said hello (the
 * first is sometimes a mutated Hello): the early states get their share.
 */
static void fuzz_early(void)
{
	struct conn save = fz;

	fz.fd = raw_connect();
	fz.memfd = -1;
	for (int i = 0; i < 8 && fz.fd >= 0; i++) {
		uint64_t drops = fig.disconnects;

		fuzz_one();
		if (fig.disconnects != drops)
			break;	/* fz is a full session again: keep it */
	}
	if (fz.memfd < 0) {
		close(fz.fd);
		fz = save;
	} else {
		fz_conn_drop(&save);
	}
}

static void fuzz(void)
{
	const char *e = getenv("RB_FUZZ_DATAGRAMS");
	const char *soak = getenv("RB_SOAK");
	const char *seed = getenv("RB_FUZZ_SEED");
	uint64_t total = 20000, batch = 2500, start;

	if (soak && *soak && strcmp(soak, "0"))
		total = 1000000;
	if (e && *e)
		total = strtoull(e, NULL, 0);
	rng_state = seed && *seed ? strtoull(seed, NULL, 0) : 0x5eed;
	if (!rng_state)
		rng_state = 1;
	if (geteuid() == 0) {
		/* Admin requests must be refused, whatever the mutations. */
		CHECK(setgroups(0, NULL) == 0 && setresgid(65534, 65534, 65534) == 0 &&
		      setresuid(65534, 65534, 65534) == 0, "drop to nobody: %s",
		      strerror(errno));
	}
	printf("fuzz: seed %#" PRIx64 ", %" PRIu64 " datagrams\n", rng_state, total);

	memset(&fz, 0, sizeof(fz));
	fz.fd = fz.memfd = -1;
	fz_reconnect();
	fuzz_fds_open(&fz);
	verbs_round("before fuzzing");

	/* Every type, truncated at every length (the header kept true). */
	for (size_t i = 0; i < NTYPES; i++) {
		for (size_t l = 0; l < seeds[i].len; l++) {
			int fd = fuzz_fds[0];
			size_t flen = frame_wrap(frame, seeds[i].buf, l);

			fig.mutations++;
			fuzz_send(frame, flen, &fd, seeds[i].mr_fd);
		}
	}
	/* One type whose frame is cut at every length (header too). */
	{
		const struct seed *sd = &seeds[11];	/* cq_create */
		uint8_t whole[RB_WIRE_MAX_FRAME];
		size_t wl = frame_wrap(whole, sd->buf, sd->len);

		for (size_t l = 0; l < wl; l++) {
			fig.mutations++;
			fuzz_send(whole, l, NULL, 0);
		}
	}
	verbs_round("after the truncations");

	start = fig.datagrams;
	while (fig.datagrams - start < total) {
		if (rndn(200) == 0)
			fuzz_early();
		else
			fuzz_one();
		if ((fig.datagrams - start) % batch == 0) {
			verbs_round("after a batch of fuzzed datagrams");
			/* Objects made by lucky mutations: drop them now and then. */
			fz_reconnect();
		}
	}
	verbs_round("after fuzzing");
	for (int i = 1; i < 6; i++)
		close(fuzz_fds[i]);
	conn_close(&fz);
}

/* ------------------------------------------------- out-of-range values */

/* The daemon log, and where the last check left it. */
static long log_seen;

static long log_size(void)
{
	struct stat st;

	return log_path && stat(log_path, &st) == 0 ? (long)st.st_size : 0;
}

/* A line about a refusal since the last check (the log may lag a bit). */
static void log_expect_refusal(const char *what)
{
	char buf[65536];

	if (!log_path)
		return;
	for (int tries = 0; tries < 200; tries++) {
		FILE *f = fopen(log_path, "r");
		bool found = false;

		CHECK(f, "open %s", log_path);
		fseek(f, log_seen, SEEK_SET);
		while (fgets(buf, sizeof(buf), f))
			if (strstr(buf, "refused") || strstr(buf, "disconnect"))
				found = true;
		fclose(f);
		if (found) {
			log_seen = log_size();
			fig.log_checked++;
			return;
		}
		usleep(10000);
	}
	die("%s: refused, but the daemon logged no line about it", what);
}

/* req on c must be refused (status != 0), the daemon must log it. */
static int refused(struct conn *c, Rdmabroker__Request *req, const int *fds,
		   size_t nfds, const char *what)
{
	Rdmabroker__Reply *r = NULL;
	int ret;

	log_seen = log_size();
	req->seq = ++c->seq;
	ret = call(c->fd, req, fds, nfds, &r);
	CHECK(ret != -1, "%s: the daemon dropped the connection", what);
	CHECK(ret != 0, "%s: accepted, should be refused", what);
	CHECK(r->seq == c->seq, "%s: reply seq %u, sent %u", what, r->seq, c->seq);
	CHECK(r->error && r->error[0], "%s: refused without a reason", what);
	rdmabroker__reply__free_unpacked(r, NULL);
	log_expect_refusal(what);
	fig.cases++;
	return ret;
}

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

/* -------------------------------------------------------- SCM_RIGHTS */

/* A fresh connection with a device and a PD: for cases that may drop it. */
static void fds_conn(struct conn *c)
{
	Rdmabroker__Reply *r;

	conn_open(c, true);
	mem_init(c);
	must(c, RDMABROKER__REQUEST__BODY_PD_ALLOC, &r, "pd_alloc");
	c->pd = r->pd_alloc->handle;
	rdmabroker__reply__free_unpacked(r, NULL);
}

/* n fds on one datagram: more than a frame may carry ends the connection. */
static void fds_too_many(size_t n)
{
	struct reqbuf b;
	struct conn c;
	int *fds = calloc(n, sizeof(int)), ret;
	Rdmabroker__Reply *r = NULL;
	union {
		char buf[CMSG_SPACE(sizeof(int) * 253)];
		struct cmsghdr align;
	} cm;
	uint8_t fr[256];
	struct iovec iov;
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *h;
	ssize_t len;

	CHECK(fds, "calloc");
	fds_conn(&c);
	for (size_t i = 0; i < n; i++)
		fds[i] = c.memfd;
	build(&b, &c, RDMABROKER__REQUEST__BODY_PD_ALLOC);
	len = rb_wire_pack(fr, RB_WIRE_REQUEST, &b.req.base);
	iov.iov_base = fr;
	iov.iov_len = (size_t)len;
	memset(&cm, 0, sizeof(cm));
	mh.msg_control = cm.buf;
	mh.msg_controllen = CMSG_SPACE(sizeof(int) * n);
	h = CMSG_FIRSTHDR(&mh);
	CHECK(h, "no room for the fds");
	h->cmsg_level = SOL_SOCKET;
	h->cmsg_type = SCM_RIGHTS;
	h->cmsg_len = CMSG_LEN(sizeof(int) * n);
	memcpy(CMSG_DATA(h), fds, sizeof(int) * n);
	CHECK(sendmsg(c.fd, &mh, MSG_NOSIGNAL) == len, "sendmsg %zu fds: %s", n,
	      strerror(errno));
	ret = read_reply(c.fd, &r);
	if (n > RB_WIRE_MAX_FDS) {
		CHECK(ret == 0, "%zu fds on one frame: not disconnected", n);
	} else {
		CHECK(ret == 1 && r->status != 0, "%zu fds with pd_alloc not refused", n);
		rdmabroker__reply__free_unpacked(r, NULL);
	}
	free(fds);
	conn_close(&c);
	fig.cases++;
}

/* mr_reg MEMFD with fd in place of the memfd: refused. */
static void fds_wrong(struct conn *c, int fd, const char *what)
{
	struct reqbuf b;

	refused(c, build(&b, c, RDMABROKER__REQUEST__BODY_MR_REG), &fd, 1, what);
}

static void fds(void)
{
	static const size_t counts[] = { 2, 8, 9, 16, 32, 100, 253 };
	Rdmabroker__Reply *r;
	struct reqbuf b;
	struct conn c;
	char path[] = "/tmp/hostile-ctl.XXXXXX";
	int p[2], sv[2], f, ro, two[2];

	log_path = getenv("RB_LOG");
	for (size_t i = 0; i < sizeof(counts) / sizeof(counts[0]); i++)
		fds_too_many(counts[i]);

	fds_conn(&c);
	/* Too few: a MEMFD region without its memfd. */
	refused(&c, build(&b, &c, RDMABROKER__REQUEST__BODY_MR_REG), NULL, 0,
		"mr_reg MEMFD without the memfd");
	/* Too many for the type. */
	two[0] = two[1] = c.memfd;
	refused(&c, build(&b, &c, RDMABROKER__REQUEST__BODY_MR_REG), two, 2,
		"mr_reg with two fds");
	refused(&c, build(&b, &c, RDMABROKER__REQUEST__BODY_PD_ALLOC), two, 1,
		"pd_alloc with an fd");
	b.mr_reg.mode = RDMABROKER__MR_MODE__MR_CMA;
	build(&b, &c, RDMABROKER__REQUEST__BODY_MR_REG);
	b.mr_reg.mode = RDMABROKER__MR_MODE__MR_CMA;
	b.mr_reg.n_extents = 0;
	refused(&c, &b.req, two, 1, "mr_reg CMA with an fd");
	build(&b, &c, RDMABROKER__REQUEST__BODY_MR_REREG);
	refused(&c, &b.req, two, 1, "mr_rereg of the access with an fd");

	/* Wrong types where a memfd belongs. */
	CHECK(pipe2(p, O_CLOEXEC) == 0, "pipe");
	fds_wrong(&c, p[0], "mr_reg with a pipe");
	fds_wrong(&c, p[1], "mr_reg with a pipe's write end");
	close(p[0]);
	close(p[1]);
	CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0, "socketpair");
	fds_wrong(&c, sv[0], "mr_reg with a socket");
	close(sv[0]);
	close(sv[1]);
	f = mkstemp(path);
	CHECK(f >= 0, "mkstemp");
	CHECK(ftruncate(f, 4 * page_size) == 0, "ftruncate");
	ro = open(path, O_RDONLY | O_CLOEXEC);
	unlink(path);
	fds_wrong(&c, f, "mr_reg with a regular file");
	fds_wrong(&c, ro, "mr_reg with an O_RDONLY regular file");
	close(f);
	close(ro);
	f = open("/dev/null", O_RDWR | O_CLOEXEC);
	fds_wrong(&c, f, "mr_reg with /dev/null");
	close(f);
	f = open("/dev/zero", O_RDWR | O_CLOEXEC);
	fds_wrong(&c, f, "mr_reg with /dev/zero");
	close(f);
	f = eventfd(0, EFD_CLOEXEC);
	fds_wrong(&c, f, "mr_reg with an eventfd");
	close(f);

	/* memfds the daemon must not map. */
	f = memfd_create("unsealed", MFD_CLOEXEC);
	CHECK(f >= 0 && ftruncate(f, 4 * page_size) == 0, "memfd");
	fds_wrong(&c, f, "mr_reg with a memfd that cannot be sealed");
	close(f);
	f = memfd_create("unsealed", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	CHECK(f >= 0 && ftruncate(f, 4 * page_size) == 0, "memfd");
	fds_wrong(&c, f, "mr_reg with a memfd not sealed against shrinking");
	CHECK(fcntl(f, F_ADD_SEALS, F_SEAL_GROW) == 0, "seal");
	fds_wrong(&c, f, "mr_reg with a memfd sealed against growing only");
	close(f);
	f = memfd_create("huge", MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_HUGETLB);
	if (f >= 0) {
		/* Its hole would fault when no huge page is free: not mapped. */
		if (ftruncate(f, 2 << 20) == 0 &&
		    fcntl(f, F_ADD_SEALS, F_SEAL_SHRINK) == 0)
			fds_wrong(&c, f, "mr_reg with a hugetlbfs memfd");
		close(f);
	}
	f = memfd_create("small", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	CHECK(f >= 0 && fcntl(f, F_ADD_SEALS, F_SEAL_SHRINK) == 0, "memfd");
	fds_wrong(&c, f, "mr_reg with an empty sealed memfd");
	close(f);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", c.memfd);
	ro = open(path, O_RDONLY | O_CLOEXEC);
	CHECK(ro >= 0, "reopen the memfd read-only");
	fds_wrong(&c, ro, "mr_reg with the memfd opened O_RDONLY");
	close(ro);
	f = memfd_create("sealed-write", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	CHECK(f >= 0 && ftruncate(f, 4 * page_size) == 0 &&
	      fcntl(f, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_WRITE) == 0, "memfd");
	{
		/* Write-sealed: mapping it shared and writable must fail. */
		struct conn w = c;
		void *m = mmap(NULL, 4 * (size_t)page_size, PROT_READ,
			       MAP_SHARED, f, 0);

		CHECK(m != MAP_FAILED, "mmap");
		w.mem = m;
		w.memfd = f;
		refused(&c, build(&b, &w, RDMABROKER__REQUEST__BODY_MR_REG), &f, 1,
			"mr_reg with a write-sealed memfd");
		munmap(m, 4 * (size_t)page_size);
		close(f);
	}

	/*
	 * A registered memfd cannot be shrunk under the daemon: the seal it
	 * demands makes ftruncate fail, so the daemon's mapping never faults
	 * past the end.  Punching a hole is allowed and harmless (the pages
	 * read back as zeros).  The daemon then still serves the MR.
	 */
	c.seq++;
	CHECK(call(c.fd, build(&b, &c, RDMABROKER__REQUEST__BODY_MR_REG), &c.memfd,
		   1, &r) == 0, "mr_reg of the sealed memfd");
	c.mr = r->mr_reg->handle;
	rdmabroker__reply__free_unpacked(r, NULL);
	/* The daemon knows that memfd now: any other fd is checked as ever. */
	f = memfd_create("unsealed", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	CHECK(f >= 0 && ftruncate(f, 4 * page_size) == 0, "memfd");
	fds_wrong(&c, f, "mr_reg with an unsealed memfd after a sealed one");
	close(f);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", c.memfd);
	ro = open(path, O_RDONLY | O_CLOEXEC);
	CHECK(ro >= 0, "reopen the memfd read-only");
	fds_wrong(&c, ro, "mr_reg with the registered memfd opened O_RDONLY");
	close(ro);
	CHECK(ftruncate(c.memfd, 0) < 0 && errno == EPERM,
	      "a registered memfd could be shrunk");
	CHECK(fallocate(c.memfd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0,
			4 * page_size) == 0, "punch hole: %s", strerror(errno));
	CHECK(ftruncate(c.memfd, 64 * page_size) == 0, "grow");
	c.seq++;
	CHECK(call(c.fd, build(&b, &c, RDMABROKER__REQUEST__BODY_MR_REREG), NULL,
		   0, NULL) == 0, "mr_rereg after the hole");
	must(&c, RDMABROKER__REQUEST__BODY_MR_DEREG, NULL, "mr_dereg");
	fig.cases += 3;
	conn_close(&c);
	verbs_round("after the fd cases");
}

/* --------------------------------------------------- a client not reading */

static long daemon_rss_kb(void)
{
	char path[64], line[256];
	long kb = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)daemon_pid);
	f = fopen(path, "r");
	CHECK(f, "open %s", path);
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

/*
 * Send requests whose replies are large (device_show) or carry fds
 * (channel_create) and never read one: the daemon must stop reading this
 * client, not buffer without bound, and keep serving the others.
 */
static void noread(void)
{
	struct conn c;
	struct reqbuf b;
	long rss0, rss1;
	uint64_t sent = 0;

	conn_open(&c, true);
	verbs_round("before the silent client");
	rss0 = daemon_rss_kb();
	CHECK(fcntl(c.fd, F_SETFL, O_NONBLOCK) == 0, "O_NONBLOCK");
	for (int round = 0; round < 3; round++) {
		for (int i = 0; i < 100000; i++) {
			int ret;

			build(&b, &c, i % 2 ? RDMABROKER__REQUEST__BODY_DEVICE_SHOW :
				     RDMABROKER__REQUEST__BODY_CHANNEL_CREATE);
			ret = send_req(c.fd, &b.req, NULL, 0);
			if (ret == -EAGAIN) {
				struct pollfd p = { .fd = c.fd, .events = POLLOUT };

				/* Give the daemon a chance to take more. */
				if (poll(&p, 1, 200) == 1)
					continue;
				break;
			}
			CHECK(ret == 0, "send: %s", strerror(-ret));
			sent++;
		}
		/* Others are served meanwhile. */
		verbs_round("while a client does not read");
	}
	rss1 = daemon_rss_kb();
	printf("figure: noread_requests_sent %" PRIu64 "\n", sent);
	printf("figure: noread_daemon_rss_kb %ld -> %ld\n", rss0, rss1);
	CHECK(sent < 100000, "the daemon took %" PRIu64 " requests without sending", sent);
	CHECK(rss1 - rss0 < 64 * 1024, "the daemon grew by %ld kB", rss1 - rss0);
	conn_close(&c);
	verbs_round("after the silent client left");
	fig.cases++;
}

/* ------------------------------------------------- connections at once */

static void raise_nofile(rlim_t want)
{
	struct rlimit rl;

	CHECK(getrlimit(RLIMIT_NOFILE, &rl) == 0, "getrlimit");
	if (rl.rlim_cur < want) {
		rl.rlim_cur = want < rl.rlim_max ? want : rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

/* Hello on fd without waiting. */
static void hello_nowait(int fd)
{
	struct reqbuf b;

	build(&b, NULL, RDMABROKER__REQUEST__BODY_HELLO);
	CHECK(send_req(fd, &b.req, NULL, 0) == 0, "hello");
}

/* A hello reply on fd within ms: 1 ok, 0 none yet, -1 refused or EOF. */
static int hello_wait(int fd, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	Rdmabroker__Reply *r = NULL;
	int ret;

	if (poll(&p, 1, ms) != 1)
		return 0;
	if (read_reply(fd, &r) != 1)
		return -1;
	ret = r->status == 0 && r->body_case == RDMABROKER__REPLY__BODY_HELLO ?
	      1 : -1;
	rdmabroker__reply__free_unpacked(r, NULL);
	return ret;
}

static void storm(int n)
{
	int *fd = calloc((size_t)n, sizeof(int));
	int ok = 0;

	CHECK(fd, "calloc");
	raise_nofile((rlim_t)n + 64);
	for (int i = 0; i < n; i++) {
		fd[i] = raw_connect_nb(false);
		CHECK(fd[i] >= 0, "connection %d: %s", i, strerror(-fd[i]));
		hello_nowait(fd[i]);
	}
	for (int i = 0; i < n; i++)
		ok += hello_wait(fd[i], 30000) == 1;
	printf("figure: storm_connections %d handshaken %d\n", n, ok);
	CHECK(ok == n, "%d of %d connections handshaken", ok, n);
	verbs_round("with all connections open");
	for (int i = 0; i < n; i++)
		close(fd[i]);
	free(fd);
	verbs_round("after the storm");
	fig.cases++;
}

/*
 * The daemon runs with a low RLIMIT_NOFILE: n clients connect, more than
 * it can accept.  Those it could not accept wait in the backlog; once the
 * first ones leave, the others must be served, and a new client too.
 */
static void emfile(int n)
{
	int *fd = calloc((size_t)n, sizeof(int));
	int *st = calloc((size_t)n, sizeof(int));
	int served = 0, waiting = 0, refusedn = 0;

	CHECK(fd && st, "calloc");
	for (int i = 0; i < n; i++) {
		fd[i] = raw_connect_nb(false);
		CHECK(fd[i] >= 0, "connection %d: %s", i, strerror(-fd[i]));
		hello_nowait(fd[i]);
	}
	for (int i = 0; i < n; i++) {
		st[i] = hello_wait(fd[i], i < 8 ? 5000 : 300);
		served += st[i] == 1;
		waiting += st[i] == 0;
		refusedn += st[i] < 0;
	}
	printf("figure: emfile_clients %d served %d waiting %d dropped %d\n",
	       n, served, waiting, refusedn);
	CHECK(served > 0, "no client served");
	CHECK(waiting > 0, "every client was served: the fd limit was not reached");
	/* The served ones leave; the waiting ones must now get their turn. */
	for (int i = 0; i < n; i++) {
		if (st[i] != 0) {
			close(fd[i]);
			fd[i] = -1;
		}
	}
	for (int i = 0; i < n; i++) {
		if (fd[i] < 0)
			continue;
		st[i] = hello_wait(fd[i], 20000);
		CHECK(st[i] != 0, "a waiting client was never served");
		close(fd[i]);
		/* Leave room as we go: the daemon may have been full again. */
	}
	free(fd);
	free(st);
	verbs_round("after the fd limit");
	fig.cases++;
}

int main(int argc, char **argv)
{
	const char *pid = getenv("RB_DAEMON_PID");
	const char *mode = argc > 1 ? argv[1] : "";

	sock_path = getenv("RDMABROKER_SOCKET");
	if (!sock_path || !pid || argc < 2) {
		fprintf(stderr, "usage: RDMABROKER_SOCKET=... RB_DAEMON_PID=... %s fuzz|values|fds|noread|storm N|emfile N\n",
			argv[0]);
		return 2;
	}
	daemon_pid = (pid_t)atoi(pid);
	page_size = sysconf(_SC_PAGESIZE);
	signal(SIGPIPE, SIG_IGN);
	setvbuf(stdout, NULL, _IOLBF, 0);

	if (!strcmp(mode, "fuzz"))
		fuzz();
	else if (!strcmp(mode, "values"))
		values();
	else if (!strcmp(mode, "fds"))
		fds();
	else if (!strcmp(mode, "noread"))
		noread();
	else if (!strcmp(mode, "storm") && argc > 2)
		storm(atoi(argv[2]));
	else if (!strcmp(mode, "emfile") && argc > 2)
		emfile(atoi(argv[2]));
	else
		die("unknown mode %s", mode);
	daemon_alive("at the end");
	printf("figure: %s datagrams %" PRIu64 " mutations %" PRIu64
	       " refusals %" PRIu64 " accepted %" PRIu64 " disconnects %" PRIu64
	       " cases %" PRIu64 " logged %" PRIu64 " verbs_rounds %" PRIu64
	       " crashes 0\n", mode, fig.datagrams, fig.mutations, fig.refusals,
	       fig.accepted, fig.disconnects, fig.cases, fig.log_checked,
	       fig.rounds);
	return 0;
}
