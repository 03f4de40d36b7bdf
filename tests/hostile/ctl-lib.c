/* SPDX-License-Identifier: MIT */
/* What the hostile control-socket clients share (ctl-lib.h). */
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

const char *sock_path;
pid_t daemon_pid;
const char *log_path;
long page_size;

struct ctl_figures fig;

void die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "hostile-ctl: FAIL: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

void daemon_alive(const char *when)
{
	/* EPERM: it is there, and we dropped to nobody (fuzz as root). */
	CHECK(kill(daemon_pid, 0) == 0 || errno == EPERM,
	      "daemon (pid %d) is gone %s", (int)daemon_pid, when);
}

/* ------------------------------------------------------------ transport */

int raw_connect_nb(bool nonblock)
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

int raw_connect(void)
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
int read_reply(int fd, Rdmabroker__Reply **out)
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

int send_req(int fd, Rdmabroker__Request *req, const int *fds, size_t nfds)
{
	return rb_wire_send_pb(fd, RB_WIRE_REQUEST, &req->base, fds, nfds);
}

/*
 * One call: the reply's status (0 or a positive errno), -1 on EOF.
 * *out gets the reply when asked for (free it), else it is freed.
 */
int call(int fd, Rdmabroker__Request *req, const int *fds, size_t nfds,
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

/*
 * A valid request of type t naming c's objects.  Admin requests name a
 * uid and a pid that do not exist, so that even a mutated one run by root
 * is unlikely to touch anything real.
 */
Rdmabroker__Request *build(struct reqbuf *b, const struct conn *c,
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

void mem_init(struct conn *c)
{
	c->memfd = memfd_create("hostile-ctl", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	CHECK(c->memfd >= 0, "memfd_create: %s", strerror(errno));
	CHECK(ftruncate(c->memfd, 4 * page_size) == 0, "ftruncate");
	CHECK(fcntl(c->memfd, F_ADD_SEALS, F_SEAL_SHRINK) == 0, "seal");
	c->mem = mmap(NULL, 4 * (size_t)page_size, PROT_READ | PROT_WRITE,
		      MAP_SHARED, c->memfd, 0);
	CHECK(c->mem != MAP_FAILED, "mmap");
}

void conn_close(struct conn *c)
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
int call_type(struct conn *c, Rdmabroker__Request__BodyCase t,
	      Rdmabroker__Reply **out)
{
	struct reqbuf b;
	Rdmabroker__Request *r = build(&b, c, t);
	int fd = c->memfd;

	c->seq++;
	return call(c->fd, r, &fd, t == RDMABROKER__REQUEST__BODY_MR_REG, out);
}

void must(struct conn *c, Rdmabroker__Request__BodyCase t,
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
void conn_open(struct conn *c, bool device)
{
	memset(c, 0, sizeof(*c));
	c->memfd = -1;
	c->fd = raw_connect();
	must(c, RDMABROKER__REQUEST__BODY_HELLO, NULL, "hello");
	if (device)
		must(c, RDMABROKER__REQUEST__BODY_DEVICE_OPEN, NULL, "device_open");
}

/* conn_open, and one object of each kind. */
void conn_setup(struct conn *c)
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
void verbs_round(const char *when)
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

/* ------------------------------------------------------------ refusals */

/* The daemon log, and where the last check left it. */
long log_seen;

long log_size(void)
{
	struct stat st;

	return log_path && stat(log_path, &st) == 0 ? (long)st.st_size : 0;
}

/* A line about a refusal since the last check (the log may lag a bit). */
void log_expect_refusal(const char *what)
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
int refused(struct conn *c, Rdmabroker__Request *req, const int *fds,
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

void ctl_init(const char *usage)
{
	const char *pid = getenv("RB_DAEMON_PID");

	sock_path = getenv("RDMABROKER_SOCKET");
	if (!sock_path || !pid) {
		fprintf(stderr, "usage: RDMABROKER_SOCKET=... RB_DAEMON_PID=... %s\n", usage);
		exit(2);
	}
	daemon_pid = (pid_t)atoi(pid);
	page_size = sysconf(_SC_PAGESIZE);
	signal(SIGPIPE, SIG_IGN);
	setvbuf(stdout, NULL, _IOLBF, 0);
}

void ctl_figures(const char *mode)
{
	daemon_alive("at the end");
	printf("figure: %s datagrams %" PRIu64 " mutations %" PRIu64
	       " refusals %" PRIu64 " accepted %" PRIu64 " disconnects %" PRIu64
	       " cases %" PRIu64 " logged %" PRIu64 " verbs_rounds %" PRIu64
	       " crashes 0\n", mode, fig.datagrams, fig.mutations, fig.refusals,
	       fig.accepted, fig.disconnects, fig.cases, fig.log_checked,
	       fig.rounds);
}
