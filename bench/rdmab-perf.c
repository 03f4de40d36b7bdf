/*
 * rdmab-perf: perftest-style latency and bandwidth tests over the verbs.
 *
 * Two processes, a client and a server, each open the device, create a
 * QP and register one buffer, swap what the peer needs (QPN, PSN, GID,
 * rkey, address) over a stream socket as ibv_rc_pingpong does, and then
 * run one test for each message size.  The client chooses the test and
 * sends its settings to the server first, so a server needs only -p.
 * With --loopback the program forks the server itself and the two talk
 * over a socketpair.
 *
 * The buffer holds two areas of the largest size: the peer writes into
 * the first ("in") and reads from the second ("out"); we send from "out".
 * Receives always cover the whole "in" area, so one set posted up front
 * fits every size.
 *
 * Per size the client and server meet on the socket ('S'), the server
 * serves until the client writes 'D' (it looks at the socket between
 * completions, so a UD message lost on the way cannot hang it), and both
 * meet again before the next size.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <math.h>
#include <netdb.h>
#include <poll.h>
#include <sched.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <infiniband/verbs.h>

#define PERF_MAX_SIZE	(8u << 20)	/* -a goes up to this by default */
#define PERF_SIZE_LIMIT	(1u << 30)	/* no -s or -S beyond */
#define PERF_UD_MTU	4096u		/* the soft device's UD limit */
#define PERF_GRH	40u
#define PERF_QKEY	0x11111111u
#define PERF_LAT_RX	16u		/* receives posted for a ping-pong */
#define PERF_INLINE_ASK	512u
#define PERF_DEF_PORT	18515
/* The server looks at the socket at most this often while it spins. */
#define PERF_PEER_CHECK_NS	(1000 * 1000)

enum perf_kind { PERF_LAT, PERF_BW };
enum perf_op { PERF_SEND, PERF_WRITE, PERF_READ, PERF_ATOMIC };

struct perf_test {
	const char *name;
	enum perf_op op;
	enum perf_kind kind;
	unsigned def_iters;
};

static const struct perf_test perf_tests[] = {
	{ "send_lat", PERF_SEND, PERF_LAT, 1000 },
	{ "write_lat", PERF_WRITE, PERF_LAT, 1000 },
	{ "read_lat", PERF_READ, PERF_LAT, 1000 },
	{ "atomic_lat", PERF_ATOMIC, PERF_LAT, 1000 },
	{ "send_bw", PERF_SEND, PERF_BW, 5000 },
	{ "write_bw", PERF_WRITE, PERF_BW, 5000 },
	{ "read_bw", PERF_READ, PERF_BW, 5000 },
};
#define PERF_NTESTS (sizeof(perf_tests) / sizeof(perf_tests[0]))

/* What the client decides and sends to the server. */
struct perf_cfg {
	unsigned test;		/* index into perf_tests */
	bool ud;
	uint64_t min_size, max_size;	/* max_size == min_size unless -a */
	uint64_t iters;		/* 0 with -D */
	unsigned duration;	/* seconds, 0 with -n */
	bool use_inline;
	bool events;
	unsigned tx_depth;
};

struct perf_opts {
	struct perf_cfg cfg;
	const char *dev_name;
	int gid_idx;
	bool all;
	bool json;
	bool loopback;
	const char *host;
	const char *port;
	bool port_given;
};

/* What each side tells the other about its QP and buffer. */
struct perf_dest {
	uint32_t lid, qpn, psn, rkey;
	uint64_t addr;
	union ibv_gid gid;
};

struct perf_ctx {
	const struct perf_cfg *cfg;
	const struct perf_test *t;
	int sock;
	struct ibv_context *vctx;
	struct ibv_comp_channel *chan;
	struct ibv_pd *pd;
	struct ibv_cq *cq;
	struct ibv_qp *qp;
	struct ibv_mr *mr;
	struct ibv_ah *ah;
	unsigned char *buf;	/* "in" area, then "out" area */
	size_t area;		/* bytes of each area */
	size_t buf_len;
	uint32_t max_inline;
	uint32_t rx_depth;
	uint32_t rx_posted;
	uint8_t port;
	int gid_idx;
	enum ibv_mtu mtu;
	struct perf_dest local, remote;
	struct timespec last_check;
	const char *dev_name;
};

/* One size's result. */
struct perf_result {
	uint64_t size, iters;
	double lat_min, lat_med, lat_p99, lat_p999;	/* usec */
	double bw_gbs, rate_mps;
};

static const char *perf_argv0 = "rdmab-perf";

static void perf_usage(FILE *f)
{
	fprintf(f,
		"Usage: %s [options] TEST             (server: wait on -p PORT)\n"
		"       %s [options] TEST HOST        (client: connect to HOST)\n"
		"       %s [options] --loopback TEST  (both, forked, over a socketpair)\n"
		"       %s -h | -V\n"
		"TEST: send_lat write_lat read_lat atomic_lat send_bw write_bw read_bw\n"
		"Options:\n"
		"  -d, --ib-dev DEV      device (default: the first one)\n"
		"  -g, --gid-index N     local GID index (default 0)\n"
		"  -c, --connection T    rc or ud (ud for send_* only; default rc)\n"
		"  -s, --size BYTES      message size (default 2, 8 for atomics)\n"
		"  -a, --all             every power of two from 1 (8 for atomics) to -S\n"
		"  -S, --max-size BYTES  largest size for -a (default 8388608)\n"
		"  -n, --iters N         iterations per size (default 1000 lat, 5000 bw)\n"
		"  -D, --duration SECS   run each size for SECS seconds instead\n"
		"  -t, --tx-depth N      outstanding WRs of a _bw test (default 128)\n"
		"  -I, --inline          send inline when the size allows\n"
		"  -e, --events          wait on a completion channel instead of polling\n"
		"  -p, --port PORT       TCP port to listen on or connect to (default %d)\n"
		"  -l, --loopback        fork a server and a client over a socketpair\n"
		"  -j, --json            print the results as a JSON array\n"
		"  -h, --help            print this help and exit\n"
		"  -V, --version         print the version and exit\n",
		perf_argv0, perf_argv0, perf_argv0, perf_argv0, PERF_DEF_PORT);
}

static void perf_usage_error(const char *fmt, ...)
	__attribute__((format(printf, 1, 2), noreturn));

static void perf_usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", perf_argv0);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	perf_usage(stderr);
	exit(2);
}

static double perf_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- the socket: settings, addresses, barriers -------------------- */

static int perf_write_all(int fd, const void *p, size_t len)
{
	const char *c = p;

	while (len > 0) {
		ssize_t n = write(fd, c, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		c += n;
		len -= (size_t)n;
	}
	return 0;
}

static int perf_read_all(int fd, void *p, size_t len)
{
	char *c = p;

	while (len > 0) {
		ssize_t n = read(fd, c, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		c += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Text lines of a fixed length, so both ends of any ABI agree. */
#define PERF_LINE 128

static int perf_send_line(int fd, const char *line)
{
	char buf[PERF_LINE] = { 0 };

	snprintf(buf, sizeof(buf), "%s", line);
	return perf_write_all(fd, buf, sizeof(buf));
}

static int perf_recv_line(int fd, char *buf)
{
	if (perf_read_all(fd, buf, PERF_LINE) < 0)
		return -1;
	buf[PERF_LINE - 1] = '\0';
	return 0;
}

static int perf_send_cfg(int fd, const struct perf_cfg *c)
{
	char line[PERF_LINE];

	snprintf(line, sizeof(line), "%u %d %" PRIu64 " %" PRIu64 " %" PRIu64 " %u %d %d %u",
		 c->test, c->ud, c->min_size, c->max_size, c->iters, c->duration,
		 c->use_inline, c->events, c->tx_depth);
	return perf_send_line(fd, line);
}

static int perf_recv_cfg(int fd, struct perf_cfg *c)
{
	char line[PERF_LINE];
	int ud, inl, ev;

	if (perf_recv_line(fd, line) < 0)
		return -1;
	if (sscanf(line, "%u %d %" SCNu64 " %" SCNu64 " %" SCNu64 " %u %d %d %u",
		   &c->test, &ud, &c->min_size, &c->max_size, &c->iters, &c->duration,
		   &inl, &ev, &c->tx_depth) != 9)
		return -1;
	/* The server trusts nothing it did not check. */
	if (c->test >= PERF_NTESTS || c->min_size < 1 || c->max_size < c->min_size ||
	    c->max_size > PERF_SIZE_LIMIT || c->tx_depth < 1 || c->tx_depth > 8192 ||
	    (c->iters == 0) == (c->duration == 0))
		return -1;
	c->ud = ud != 0;
	c->use_inline = inl != 0;
	c->events = ev != 0;
	return 0;
}

static int perf_send_dest(int fd, const struct perf_dest *d)
{
	char line[PERF_LINE], gid[33];
	int i;

	for (i = 0; i < 16; i++)
		snprintf(gid + 2 * i, 3, "%02x", d->gid.raw[i]);
	snprintf(line, sizeof(line), "%04x:%06x:%06x:%08x:%016" PRIx64 ":%s",
		 d->lid, d->qpn, d->psn, d->rkey, d->addr, gid);
	return perf_send_line(fd, line);
}

static int perf_recv_dest(int fd, struct perf_dest *d)
{
	char line[PERF_LINE], gid[33];
	unsigned b;
	int i;

	if (perf_recv_line(fd, line) < 0)
		return -1;
	if (sscanf(line, "%x:%x:%x:%x:%" SCNx64 ":%32s", &d->lid, &d->qpn, &d->psn,
		   &d->rkey, &d->addr, gid) != 6 || strlen(gid) != 32)
		return -1;
	for (i = 0; i < 16; i++) {
		if (sscanf(gid + 2 * i, "%2x", &b) != 1)
			return -1;
		d->gid.raw[i] = (uint8_t)b;
	}
	return 0;
}

/* Both sides write one byte and read the other's. */
static int perf_sync(int fd, char mine, char want)
{
	char c;

	if (perf_write_all(fd, &mine, 1) < 0 || perf_read_all(fd, &c, 1) < 0)
		return -1;
	return c == want ? 0 : -1;
}

/* Has the client written 'D'?  1 yes, 0 not yet, -1 the socket failed. */
static int perf_peer_done(struct perf_ctx *c, int timeout_ms)
{
	struct pollfd p = { .fd = c->sock, .events = POLLIN };
	char b;

	if (poll(&p, 1, timeout_ms) <= 0)
		return 0;
	if (perf_read_all(c->sock, &b, 1) < 0 || b != 'D')
		return -1;
	return 1;
}

/* Rate-limit perf_peer_done() while spinning: a poll(2) per empty CQ poll
 * would be most of a ping-pong's cost. */
static int perf_peer_done_spin(struct perf_ctx *c)
{
	struct timespec ts;
	long long ns;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	ns = (ts.tv_sec - c->last_check.tv_sec) * 1000000000LL +
	     (ts.tv_nsec - c->last_check.tv_nsec);
	if (ns < PERF_PEER_CHECK_NS)
		return 0;
	c->last_check = ts;
	return perf_peer_done(c, 0);
}

static int perf_tcp_server(const char *port)
{
	struct addrinfo hints = { .ai_flags = AI_PASSIVE, .ai_socktype = SOCK_STREAM };
	struct addrinfo *res, *r;
	int fd = -1, conn, one = 1, rc;

	rc = getaddrinfo(NULL, port, &hints, &res);
	if (rc != 0) {
		fprintf(stderr, "%s: port %s: %s\n", perf_argv0, port, gai_strerror(rc));
		return -1;
	}
	for (r = res; r; r = r->ai_next) {
		fd = socket(r->ai_family, r->ai_socktype | SOCK_CLOEXEC, r->ai_protocol);
		if (fd < 0)
			continue;
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(fd, r->ai_addr, r->ai_addrlen) == 0 && listen(fd, 1) == 0)
			break;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0) {
		fprintf(stderr, "%s: cannot listen on port %s: %s\n", perf_argv0, port,
			strerror(errno));
		return -1;
	}
	conn = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
	if (conn < 0)
		fprintf(stderr, "%s: accept: %s\n", perf_argv0, strerror(errno));
	close(fd);
	return conn;
}

static int perf_tcp_client(const char *host, const char *port)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM };
	struct addrinfo *res, *r;
	int fd = -1, rc, err = 0;

	rc = getaddrinfo(host, port, &hints, &res);
	if (rc != 0) {
		fprintf(stderr, "%s: %s:%s: %s\n", perf_argv0, host, port, gai_strerror(rc));
		return -1;
	}
	for (r = res; r; r = r->ai_next) {
		fd = socket(r->ai_family, r->ai_socktype | SOCK_CLOEXEC, r->ai_protocol);
		if (fd < 0)
			continue;
		if (connect(fd, r->ai_addr, r->ai_addrlen) == 0)
			break;
		err = errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0)
		fprintf(stderr, "%s: cannot connect to %s:%s: %s\n", perf_argv0, host, port,
			strerror(err));
	return fd;
}

/* ---- verbs resources ---------------------------------------------- */

static int perf_err(const char *what, int err)
{
	fprintf(stderr, "%s: %s: %s\n", perf_argv0, what, strerror(err));
	return -1;
}

static void perf_ctx_free(struct perf_ctx *c)
{
	if (c->ah)
		ibv_destroy_ah(c->ah);
	if (c->qp)
		ibv_destroy_qp(c->qp);
	if (c->mr)
		ibv_dereg_mr(c->mr);
	if (c->cq)
		ibv_destroy_cq(c->cq);
	if (c->chan)
		ibv_destroy_comp_channel(c->chan);
	if (c->pd)
		ibv_dealloc_pd(c->pd);
	if (c->vctx)
		ibv_close_device(c->vctx);
	free(c->buf);
	c->buf = NULL;
}

static int perf_open_device(struct perf_ctx *c, const char *name)
{
	struct ibv_device **list, *dev = NULL;
	int n = 0, i;

	list = ibv_get_device_list(&n);
	if (!list)
		return perf_err("cannot list RDMA devices", errno);
	for (i = 0; i < n; i++)
		if (!name || strcmp(ibv_get_device_name(list[i]), name) == 0) {
			dev = list[i];
			break;
		}
	if (!dev) {
		if (name)
			fprintf(stderr, "%s: no RDMA device %s\n", perf_argv0, name);
		else
			fprintf(stderr, "%s: no RDMA devices (is rdmabrokerd running? "
				"RDMABROKER_SOCKET names its socket)\n", perf_argv0);
		ibv_free_device_list(list);
		return -1;
	}
	c->dev_name = strdup(ibv_get_device_name(dev));
	c->vctx = ibv_open_device(dev);
	ibv_free_device_list(list);
	if (!c->vctx)
		return perf_err("cannot open the device", errno);
	return 0;
}

static int perf_ctx_init(struct perf_ctx *c, const char *dev_name, int gid_idx)
{
	const struct perf_cfg *cfg = c->cfg;
	struct ibv_device_attr dattr;
	struct ibv_port_attr pattr;
	struct ibv_qp_init_attr ia;
	struct ibv_qp_attr qa;
	unsigned cqe;
	void *mem;
	int err;

	if (perf_open_device(c, dev_name) < 0)
		return -1;
	c->port = 1;
	c->gid_idx = gid_idx;
	if ((err = ibv_query_device(c->vctx, &dattr)) != 0)
		return perf_err("ibv_query_device", err);
	if ((err = ibv_query_port(c->vctx, c->port, &pattr)) != 0)
		return perf_err("ibv_query_port", err);
	c->mtu = pattr.active_mtu;
	if (gid_idx >= pattr.gid_tbl_len) {
		fprintf(stderr, "%s: GID index %d: the port has %d\n", perf_argv0, gid_idx,
			pattr.gid_tbl_len);
		return -1;
	}
	if ((err = ibv_query_gid(c->vctx, c->port, gid_idx, &c->local.gid)) != 0)
		return perf_err("ibv_query_gid", err);
	c->local.lid = pattr.lid;

	c->area = cfg->max_size + (cfg->ud ? PERF_GRH : 0);
	c->area = (c->area + 63) & ~(size_t)63;
	c->buf_len = 2 * c->area;
	if (posix_memalign(&mem, 4096, c->buf_len) != 0)
		return perf_err("cannot allocate the buffer", ENOMEM);
	c->buf = mem;
	memset(c->buf, 0, c->buf_len);

	c->pd = ibv_alloc_pd(c->vctx);
	if (!c->pd)
		return perf_err("ibv_alloc_pd", errno);
	c->mr = ibv_reg_mr(c->pd, c->buf, c->buf_len,
			   IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE |
			   IBV_ACCESS_REMOTE_READ | IBV_ACCESS_REMOTE_ATOMIC);
	if (!c->mr)
		return perf_err("ibv_reg_mr", errno);
	if (cfg->events) {
		c->chan = ibv_create_comp_channel(c->vctx);
		if (!c->chan)
			return perf_err("ibv_create_comp_channel", errno);
	}
	c->rx_depth = c->t->op != PERF_SEND ? 1 :
		      c->t->kind == PERF_LAT ? PERF_LAT_RX : 2 * cfg->tx_depth;
	if (c->rx_depth > (unsigned)dattr.max_qp_wr || cfg->tx_depth > (unsigned)dattr.max_qp_wr) {
		fprintf(stderr, "%s: the device takes at most %d WRs a queue\n", perf_argv0,
			dattr.max_qp_wr);
		return -1;
	}
	cqe = cfg->tx_depth + c->rx_depth;
	c->cq = ibv_create_cq(c->vctx, (int)cqe, NULL, c->chan, 0);
	if (!c->cq)
		return perf_err("ibv_create_cq", errno);

	memset(&ia, 0, sizeof(ia));
	ia.send_cq = c->cq;
	ia.recv_cq = c->cq;
	ia.qp_type = cfg->ud ? IBV_QPT_UD : IBV_QPT_RC;
	ia.cap.max_send_wr = cfg->tx_depth;
	ia.cap.max_recv_wr = c->rx_depth;
	ia.cap.max_send_sge = 1;
	ia.cap.max_recv_sge = 1;
	ia.cap.max_inline_data = cfg->use_inline ? PERF_INLINE_ASK : 0;
	c->qp = ibv_create_qp(c->pd, &ia);
	if (!c->qp)
		return perf_err("ibv_create_qp", errno);
	c->max_inline = cfg->use_inline ? ia.cap.max_inline_data : 0;

	memset(&qa, 0, sizeof(qa));
	qa.qp_state = IBV_QPS_INIT;
	qa.port_num = c->port;
	if (cfg->ud) {
		qa.qkey = PERF_QKEY;
		err = ibv_modify_qp(c->qp, &qa, IBV_QP_STATE | IBV_QP_PKEY_INDEX |
				    IBV_QP_PORT | IBV_QP_QKEY);
	} else {
		qa.qp_access_flags = IBV_ACCESS_REMOTE_WRITE | IBV_ACCESS_REMOTE_READ |
				     IBV_ACCESS_REMOTE_ATOMIC;
		err = ibv_modify_qp(c->qp, &qa, IBV_QP_STATE | IBV_QP_PKEY_INDEX |
				    IBV_QP_PORT | IBV_QP_ACCESS_FLAGS);
	}
	if (err)
		return perf_err("ibv_modify_qp to INIT", err);

	c->local.qpn = c->qp->qp_num;
	c->local.psn = (uint32_t)lrand48() & 0xffffff;
	c->local.rkey = c->mr->rkey;
	c->local.addr = (uintptr_t)c->buf;
	return 0;
}

static int perf_connect(struct perf_ctx *c, unsigned max_rd_atomic)
{
	struct ibv_qp_attr qa;
	struct ibv_ah_attr ah;
	int err;

	memset(&ah, 0, sizeof(ah));
	ah.is_global = 1;
	ah.grh.dgid = c->remote.gid;
	ah.grh.sgid_index = (uint8_t)c->gid_idx;
	ah.grh.hop_limit = 1;
	ah.dlid = (uint16_t)c->remote.lid;
	ah.port_num = c->port;

	memset(&qa, 0, sizeof(qa));
	qa.qp_state = IBV_QPS_RTR;
	if (c->cfg->ud) {
		err = ibv_modify_qp(c->qp, &qa, IBV_QP_STATE);
	} else {
		qa.path_mtu = c->mtu;
		qa.dest_qp_num = c->remote.qpn;
		qa.rq_psn = c->remote.psn;
		qa.max_dest_rd_atomic = (uint8_t)max_rd_atomic;
		qa.min_rnr_timer = 1;	/* 0.01 ms: a _bw sender must not idle */
		qa.ah_attr = ah;
		err = ibv_modify_qp(c->qp, &qa, IBV_QP_STATE | IBV_QP_AV | IBV_QP_PATH_MTU |
				    IBV_QP_DEST_QPN | IBV_QP_RQ_PSN |
				    IBV_QP_MAX_DEST_RD_ATOMIC | IBV_QP_MIN_RNR_TIMER);
	}
	if (err)
		return perf_err("ibv_modify_qp to RTR", err);

	memset(&qa, 0, sizeof(qa));
	qa.qp_state = IBV_QPS_RTS;
	qa.sq_psn = c->local.psn;
	if (c->cfg->ud) {
		err = ibv_modify_qp(c->qp, &qa, IBV_QP_STATE | IBV_QP_SQ_PSN);
	} else {
		qa.timeout = 14;
		qa.retry_cnt = 7;
		qa.rnr_retry = 7;
		qa.max_rd_atomic = (uint8_t)max_rd_atomic;
		err = ibv_modify_qp(c->qp, &qa, IBV_QP_STATE | IBV_QP_TIMEOUT |
				    IBV_QP_RETRY_CNT | IBV_QP_RNR_RETRY | IBV_QP_SQ_PSN |
				    IBV_QP_MAX_QP_RD_ATOMIC);
	}
	if (err)
		return perf_err("ibv_modify_qp to RTS", err);

	if (c->cfg->ud) {
		c->ah = ibv_create_ah(c->pd, &ah);
		if (!c->ah)
			return perf_err("ibv_create_ah", errno);
	}
	return 0;
}

/* ---- posting and completions -------------------------------------- */

static int perf_post_recvs(struct perf_ctx *c, unsigned n)
{
	struct ibv_sge sge = {
		.addr = (uintptr_t)c->buf, .length = (uint32_t)c->area, .lkey = c->mr->lkey,
	};
	struct ibv_recv_wr wr = { .sg_list = &sge, .num_sge = 1 }, *bad;
	unsigned i;
	int err;

	for (i = 0; i < n; i++) {
		err = ibv_post_recv(c->qp, &wr, &bad);
		if (err)
			return perf_err("ibv_post_recv", err);
		c->rx_posted++;
	}
	return 0;
}

/* Fill *wr (and *sge) for one message of SIZE bytes of the test's op. */
static void perf_wr_init(struct perf_ctx *c, struct ibv_send_wr *wr, struct ibv_sge *sge,
			 uint64_t size)
{
	memset(wr, 0, sizeof(*wr));
	sge->lkey = c->mr->lkey;
	sge->length = (uint32_t)size;
	sge->addr = (uintptr_t)c->buf + c->area;
	wr->sg_list = sge;
	wr->num_sge = 1;
	switch (c->t->op) {
	case PERF_SEND:
		wr->opcode = IBV_WR_SEND;
		if (c->cfg->ud) {
			wr->wr.ud.ah = c->ah;
			wr->wr.ud.remote_qpn = c->remote.qpn;
			wr->wr.ud.remote_qkey = PERF_QKEY;
		}
		break;
	case PERF_WRITE:
		wr->opcode = IBV_WR_RDMA_WRITE;
		wr->wr.rdma.remote_addr = c->remote.addr;
		wr->wr.rdma.rkey = c->remote.rkey;
		break;
	case PERF_READ:
		/* Read the peer's "out" area into our "in" area. */
		wr->opcode = IBV_WR_RDMA_READ;
		sge->addr = (uintptr_t)c->buf;
		wr->wr.rdma.remote_addr = c->remote.addr + c->area;
		wr->wr.rdma.rkey = c->remote.rkey;
		break;
	case PERF_ATOMIC:
		wr->opcode = IBV_WR_ATOMIC_FETCH_AND_ADD;
		sge->addr = (uintptr_t)c->buf;
		sge->length = 8;
		wr->wr.atomic.remote_addr = c->remote.addr;
		wr->wr.atomic.rkey = c->remote.rkey;
		wr->wr.atomic.compare_add = 1;
		break;
	}
	if (size <= c->max_inline && (c->t->op == PERF_SEND || c->t->op == PERF_WRITE))
		wr->send_flags |= IBV_SEND_INLINE;
}

/*
 * Up to N completions into WC.  Returns how many (> 0); 0 when WATCH and
 * the client wrote 'D' first; -1 on an error.  Polls the CQ, or with -e
 * arms it and sleeps on the channel (and the socket, when WATCH).
 */
static int perf_poll(struct perf_ctx *c, struct ibv_wc *wc, int n, bool watch)
{
	struct ibv_cq *ev_cq;
	void *ev_ctx;
	int got, i, d;

	for (;;) {
		got = ibv_poll_cq(c->cq, n, wc);
		if (got < 0)
			return perf_err("ibv_poll_cq", EIO);
		if (got > 0)
			break;
		if (!c->cfg->events) {
			if (watch && (d = perf_peer_done_spin(c)) != 0)
				return d > 0 ? 0 : perf_err("the peer's socket", EPIPE);
			continue;
		}
		if (ibv_req_notify_cq(c->cq, 0) != 0)
			return perf_err("ibv_req_notify_cq", errno);
		/* A completion written before the arm raises no event. */
		got = ibv_poll_cq(c->cq, n, wc);
		if (got != 0) {
			if (got < 0)
				return perf_err("ibv_poll_cq", EIO);
			break;
		}
		if (watch) {
			struct pollfd p[2] = {
				{ .fd = c->chan->fd, .events = POLLIN },
				{ .fd = c->sock, .events = POLLIN },
			};

			if (poll(p, 2, -1) < 0 && errno != EINTR)
				return perf_err("poll", errno);
			if (p[1].revents) {
				d = perf_peer_done(c, 0);
				if (d != 0)
					return d > 0 ? 0 : perf_err("the peer's socket", EPIPE);
			}
			if (!p[0].revents)
				continue;
		}
		if (ibv_get_cq_event(c->chan, &ev_cq, &ev_ctx) != 0)
			return perf_err("ibv_get_cq_event", errno);
		ibv_ack_cq_events(ev_cq, 1);
	}
	for (i = 0; i < got; i++)
		if (wc[i].status != IBV_WC_SUCCESS) {
			fprintf(stderr, "%s: completion of wr %" PRIu64 ": %s\n", perf_argv0,
				wc[i].wr_id, ibv_wc_status_str(wc[i].status));
			return -1;
		}
	return got;
}

/* Count the completions in WC: receives (reposted), and sends. */
static int perf_account(struct perf_ctx *c, const struct ibv_wc *wc, int n,
			uint64_t *recvs, uint64_t *sends)
{
	unsigned re = 0;
	int i;

	for (i = 0; i < n; i++) {
		if (wc[i].opcode & IBV_WC_RECV) {
			re++;
			c->rx_posted--;
		} else {
			*sends += 1;
		}
	}
	*recvs += re;
	return perf_post_recvs(c, re);
}

/* ---- the tests ------------------------------------------------------ */

struct perf_samples {
	double *v;
	size_t n, cap;
};

static int perf_sample_add(struct perf_samples *s, double usec)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 4096;
		double *v = realloc(s->v, cap * sizeof(*v));

		if (!v)
			return perf_err("samples", ENOMEM);
		s->v = v;
		s->cap = cap;
	}
	s->v[s->n++] = usec;
	return 0;
}

static int perf_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double perf_pct(const struct perf_samples *s, double p)
{
	size_t i = (size_t)ceil(p * (double)s->n) - 1;

	return s->v[i < s->n ? i : s->n - 1];
}

static bool perf_more(const struct perf_cfg *cfg, uint64_t done, double end)
{
	return cfg->iters ? done < cfg->iters : perf_now() < end;
}

/* Wait until our own signaled sends have all completed. */
static int perf_drain_sends(struct perf_ctx *c, uint64_t *recvs, uint64_t *sends,
			    uint64_t want)
{
	struct ibv_wc wc[16];
	int n;

	while (*sends < want) {
		n = perf_poll(c, wc, 16, false);
		if (n < 0 || perf_account(c, wc, n, recvs, sends) < 0)
			return -1;
	}
	return 0;
}

/*
 * Spin until the peer's RDMA WRITE brings MARK into *LAST.  Returns 0, or
 * what perf_peer_done() said when the socket moved first.  Like an empty
 * ibv_poll_cq(), it yields now and then: the engine that is to write the
 * byte may need the very core we spin on.
 */
static int perf_wait_mark(struct perf_ctx *c, volatile unsigned char *last,
			  unsigned char mark)
{
	unsigned spins = 0;
	int d;

	while (*last != mark) {
		if (++spins % 64 == 0) {
			sched_yield();
			if ((d = perf_peer_done_spin(c)) != 0)
				return d;
		}
	}
	return 0;
}

/* The ping side of send_lat and write_lat, and the only side of
 * read_lat and atomic_lat.  The time of one iteration is a round trip. */
static int perf_client_lat(struct perf_ctx *c, uint64_t size, struct perf_samples *s)
{
	bool pingpong = c->t->op == PERF_SEND || c->t->op == PERF_WRITE;
	volatile unsigned char *in_last = c->buf + size - 1;
	unsigned char *out_last = c->buf + c->area + size - 1;
	struct ibv_send_wr wr, *bad;
	struct ibv_sge sge;
	struct ibv_wc wc[16];
	uint64_t i = 0, recvs = 0, sends = 0, posted = 0;
	double end = perf_now() + c->cfg->duration, t0, t1;
	int n, err;

	perf_wr_init(c, &wr, &sge, size);
	wr.send_flags |= IBV_SEND_SIGNALED;
	while (perf_more(c->cfg, i, end)) {
		unsigned char mark = (unsigned char)(i % 255 + 1);

		*out_last = mark;
		t0 = perf_now();
		if ((err = ibv_post_send(c->qp, &wr, &bad)) != 0)
			return perf_err("ibv_post_send", err);
		posted++;
		if (c->t->op == PERF_WRITE) {
			/* The pong lands in our "in" area. */
			if (perf_wait_mark(c, in_last, mark) != 0)
				return perf_err("the server went away", EPIPE);
		} else if (pingpong) {
			uint64_t want = recvs + 1;

			while (recvs < want) {
				n = perf_poll(c, wc, 16, false);
				if (n < 0 || perf_account(c, wc, n, &recvs, &sends) < 0)
					return -1;
			}
		} else {
			if (perf_drain_sends(c, &recvs, &sends, posted) < 0)
				return -1;
		}
		t1 = perf_now();
		/* One-way for a ping-pong, the round trip for READ and atomics. */
		if (perf_sample_add(s, (t1 - t0) * 1e6 / (pingpong ? 2 : 1)) < 0)
			return -1;
		i++;
		/* Keep the send queue from filling with completed sends. */
		if (posted - sends >= c->cfg->tx_depth / 2 &&
		    perf_drain_sends(c, &recvs, &sends, posted - 1) < 0)
			return -1;
	}
	return perf_drain_sends(c, &recvs, &sends, posted);
}

/* The pong side: answer each ping until the client writes 'D'. */
static int perf_server_lat(struct perf_ctx *c, uint64_t size)
{
	volatile unsigned char *in_last = c->buf + size - 1;
	unsigned char *out_last = c->buf + c->area + size - 1;
	unsigned char mark = 1;
	struct ibv_send_wr wr, *bad;
	struct ibv_sge sge;
	struct ibv_wc wc[16];
	uint64_t recvs = 0, sends = 0, posted = 0;
	int n, err, d = 0;

	if (c->t->op == PERF_READ || c->t->op == PERF_ATOMIC) {
		d = perf_peer_done(c, -1);
		return d > 0 ? 0 : perf_err("the peer's socket", EPIPE);
	}
	perf_wr_init(c, &wr, &sge, size);
	wr.send_flags |= IBV_SEND_SIGNALED;
	for (;;) {
		if (c->t->op == PERF_WRITE) {
			if ((d = perf_wait_mark(c, in_last, mark)) != 0)
				goto done;
			*out_last = mark;
			mark = (unsigned char)(mark % 255 + 1);
		} else {
			uint64_t want = recvs + 1;

			while (recvs < want) {
				n = perf_poll(c, wc, 16, true);
				if (n == 0) {
					d = 1;
					goto done;
				}
				if (n < 0 || perf_account(c, wc, n, &recvs, &sends) < 0)
					return -1;
			}
		}
		if ((err = ibv_post_send(c->qp, &wr, &bad)) != 0)
			return perf_err("ibv_post_send", err);
		posted++;
		if (posted - sends >= c->cfg->tx_depth / 2 &&
		    perf_drain_sends(c, &recvs, &sends, posted - 1) < 0)
			return -1;
	}
done:
	if (d < 0)
		return perf_err("the peer's socket", EPIPE);
	/* The next size starts from the first mark again: clear ours. */
	memset(c->buf, 0, size);
	return perf_drain_sends(c, &recvs, &sends, posted);
}

/*
 * Post a chain of WRs.  The engine writes a completion before it frees
 * the SQ slots of the WRs it completes, so a full window may meet ENOMEM
 * for a moment after the completion that made room: post the rest again.
 */
static int perf_post_chain(struct perf_ctx *c, struct ibv_send_wr *wr)
{
	struct ibv_send_wr *bad;
	double give_up = 0;
	int err;

	while ((err = ibv_post_send(c->qp, wr, &bad)) == ENOMEM) {
		if (give_up == 0)
			give_up = perf_now() + 10;
		else if (perf_now() > give_up)
			break;
		wr = bad;
		sched_yield();
	}
	return err;
}

/* The sending side of the _bw tests: a window of tx_depth WRs, posted in
 * chains of cq_mod with the last of each signaled. */
static int perf_client_bw(struct perf_ctx *c, uint64_t size, uint64_t *iters, double *secs)
{
	unsigned cq_mod = c->cfg->tx_depth >= 4 ? c->cfg->tx_depth / 4 : 1;
	struct ibv_send_wr *wrs;
	struct ibv_sge *sges;
	struct ibv_wc wc[16];
	uint64_t posted = 0, done = 0;
	double end = perf_now() + c->cfg->duration, t0;
	unsigned i, b;
	int n, err, ret = -1;

	wrs = calloc(cq_mod, sizeof(*wrs));
	sges = calloc(cq_mod, sizeof(*sges));
	if (!wrs || !sges) {
		perf_err("work requests", ENOMEM);
		goto out;
	}
	for (i = 0; i < cq_mod; i++) {
		perf_wr_init(c, &wrs[i], &sges[i], size);
		wrs[i].next = i + 1 < cq_mod ? &wrs[i + 1] : NULL;
	}
	t0 = perf_now();
	while (perf_more(c->cfg, posted, end) || done < posted) {
		while (perf_more(c->cfg, posted, end) &&
		       posted + cq_mod <= done + c->cfg->tx_depth) {
			b = cq_mod;
			if (c->cfg->iters && c->cfg->iters - posted < b)
				b = (unsigned)(c->cfg->iters - posted);
			wrs[b - 1].next = NULL;
			wrs[b - 1].send_flags |= IBV_SEND_SIGNALED;
			wrs[b - 1].wr_id = posted + b;	/* what its completion completes */
			err = perf_post_chain(c, wrs);
			wrs[b - 1].send_flags &= ~(unsigned)IBV_SEND_SIGNALED;
			wrs[b - 1].next = b < cq_mod ? &wrs[b] : NULL;
			if (err) {
				perf_err("ibv_post_send", err);
				goto out;
			}
			posted += b;
		}
		n = perf_poll(c, wc, 16, false);
		if (n < 0)
			goto out;
		for (i = 0; i < (unsigned)n; i++)
			done = wc[i].wr_id;
	}
	*secs = perf_now() - t0;
	*iters = posted;
	ret = 0;
out:
	free(wrs);
	free(sges);
	return ret;
}

/* The receiving side of the _bw tests: repost receives until 'D'. */
static int perf_server_bw(struct perf_ctx *c)
{
	struct ibv_wc wc[16];
	uint64_t recvs = 0, sends = 0;
	int n, d;

	if (c->t->op != PERF_SEND) {
		d = perf_peer_done(c, -1);
		return d > 0 ? 0 : perf_err("the peer's socket", EPIPE);
	}
	for (;;) {
		n = perf_poll(c, wc, 16, true);
		if (n == 0)
			return 0;
		if (n < 0 || perf_account(c, wc, n, &recvs, &sends) < 0)
			return -1;
	}
}

static int perf_client_size(struct perf_ctx *c, uint64_t size, struct perf_result *r)
{
	struct perf_samples s = { 0 };
	double secs;
	int ret = -1;

	memset(r, 0, sizeof(*r));
	r->size = size;
	if (perf_sync(c->sock, 'S', 'S') < 0) {
		perf_err("the server went away", EPIPE);
		return -1;
	}
	if (c->t->kind == PERF_LAT) {
		memset(c->buf, 0, size);
		if (perf_client_lat(c, size, &s) < 0)
			goto out;
		if (s.n == 0) {
			fprintf(stderr, "%s: no iteration in the time given\n", perf_argv0);
			goto out;
		}
		qsort(s.v, s.n, sizeof(*s.v), perf_cmp_double);
		r->iters = s.n;
		r->lat_min = s.v[0];
		r->lat_med = perf_pct(&s, 0.5);
		r->lat_p99 = perf_pct(&s, 0.99);
		r->lat_p999 = perf_pct(&s, 0.999);
	} else {
		if (perf_client_bw(c, size, &r->iters, &secs) < 0)
			goto out;
		if (secs <= 0)
			secs = 1e-9;
		r->bw_gbs = (double)size * (double)r->iters / secs / 1e9;
		r->rate_mps = (double)r->iters / secs / 1e6;
	}
	if (perf_write_all(c->sock, "D", 1) < 0) {
		perf_err("the server went away", EPIPE);
		goto out;
	}
	ret = 0;
out:
	free(s.v);
	return ret;
}

/* ---- output --------------------------------------------------------- */

static void perf_print_header(const struct perf_ctx *c)
{
	const struct perf_cfg *cfg = c->cfg;

	printf("# rdmab-perf %s, %s on %s, %s\n", c->t->name, cfg->ud ? "UD" : "RC",
	       c->dev_name, cfg->events ? "completion events" : "polling");
	if (c->max_inline)
		printf("# inline up to %u bytes\n", c->max_inline);
	if (c->t->kind == PERF_LAT)
		printf("# latency in usec, %s\n",
		       c->t->op == PERF_SEND || c->t->op == PERF_WRITE ?
		       "one way (round trip / 2)" : "round trip");
	if (c->t->kind == PERF_LAT)
		printf("%10s %10s %10s %10s %10s %10s\n", "#bytes", "#iters", "t_min",
		       "t_median", "t_p99", "t_p99.9");
	else
		printf("%10s %10s %12s %14s\n", "#bytes", "#iters", "BW[GB/s]",
		       "rate[Mmsg/s]");
}

static void perf_print_row(const struct perf_ctx *c, const struct perf_result *r)
{
	if (c->t->kind == PERF_LAT)
		printf("%10" PRIu64 " %10" PRIu64 " %10.2f %10.2f %10.2f %10.2f\n", r->size,
		       r->iters, r->lat_min, r->lat_med, r->lat_p99, r->lat_p999);
	else
		printf("%10" PRIu64 " %10" PRIu64 " %12.6f %14.6f\n", r->size, r->iters,
		       r->bw_gbs, r->rate_mps);
	fflush(stdout);
}

/* A double printed as the table prints it, not to 17 digits. */
static json_object *perf_json_num(double v, int decimals)
{
	char buf[64];

	snprintf(buf, sizeof(buf), "%.*f", decimals, v);
	return json_object_new_double_s(v, buf);
}

static void perf_json_add(const struct perf_ctx *c, json_object *arr, const struct perf_result *r)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "test", json_object_new_string(c->t->name));
	json_object_object_add(o, "transport", json_object_new_string(c->cfg->ud ? "UD" : "RC"));
	json_object_object_add(o, "device", json_object_new_string(c->dev_name));
	json_object_object_add(o, "size", json_object_new_int64((int64_t)r->size));
	json_object_object_add(o, "iters", json_object_new_int64((int64_t)r->iters));
	json_object_object_add(o, "inline", json_object_new_boolean(r->size <= c->max_inline &&
		(c->t->op == PERF_SEND || c->t->op == PERF_WRITE)));
	json_object_object_add(o, "events", json_object_new_boolean(c->cfg->events));
	if (c->t->kind == PERF_LAT) {
		json_object_object_add(o, "one_way", json_object_new_boolean(
			c->t->op == PERF_SEND || c->t->op == PERF_WRITE));
		json_object_object_add(o, "lat_min_us", perf_json_num(r->lat_min, 3));
		json_object_object_add(o, "lat_median_us", perf_json_num(r->lat_med, 3));
		json_object_object_add(o, "lat_p99_us", perf_json_num(r->lat_p99, 3));
		json_object_object_add(o, "lat_p999_us", perf_json_num(r->lat_p999, 3));
	} else {
		json_object_object_add(o, "bw_gbps", perf_json_num(r->bw_gbs, 6));
		json_object_object_add(o, "msg_rate_mpps", perf_json_num(r->rate_mps, 6));
	}
	json_object_array_add(arr, o);
}

/* ---- the two roles -------------------------------------------------- */

static uint64_t perf_next_size(const struct perf_cfg *cfg, uint64_t size)
{
	return size * 2 > cfg->max_size && size < cfg->max_size ? cfg->max_size : size * 2;
}

/* Set up, swap addresses, connect.  The client has sent or the server
 * has received the settings. */
static int perf_setup(struct perf_ctx *c, const char *dev_name, int gid_idx, bool server)
{
	struct ibv_device_attr dattr;
	unsigned rd;

	c->t = &perf_tests[c->cfg->test];
	if (!c->vctx && perf_ctx_init(c, dev_name, gid_idx) < 0)
		return -1;
	if (c->t->op == PERF_SEND && perf_post_recvs(c, c->rx_depth) < 0)
		return -1;
	if (server) {
		if (perf_recv_dest(c->sock, &c->remote) < 0 || perf_send_dest(c->sock, &c->local) < 0)
			goto lost;
	} else {
		if (perf_send_dest(c->sock, &c->local) < 0 || perf_recv_dest(c->sock, &c->remote) < 0)
			goto lost;
	}
	if (ibv_query_device(c->vctx, &dattr) != 0)
		return perf_err("ibv_query_device", errno);
	rd = dattr.max_qp_rd_atom > 0 ? (unsigned)dattr.max_qp_rd_atom : 1;
	if (rd > 16)
		rd = 16;
	if (perf_connect(c, rd) < 0)
		return -1;
	/* Both QPs are ready before either sends. */
	if (perf_sync(c->sock, 'R', 'R') < 0)
		goto lost;
	return 0;
lost:
	fprintf(stderr, "%s: lost the peer while exchanging addresses\n", perf_argv0);
	return -1;
}

static int perf_run_server(int sock, const struct perf_opts *o, bool loopback)
{
	struct perf_cfg cfg;
	struct perf_ctx c = { .sock = sock, .cfg = &cfg };
	uint64_t size;
	int ret = 1;

	clock_gettime(CLOCK_MONOTONIC, &c.last_check);
	if (perf_recv_cfg(sock, &cfg) < 0) {
		/* A loopback client that could not start has said why. */
		if (!loopback)
			fprintf(stderr, "%s: bad or no settings from the client\n", perf_argv0);
		goto out;
	}
	/* The device and GID index are the server's own. */
	if (perf_setup(&c, o->dev_name, o->gid_idx, true) < 0)
		goto out;
	for (size = cfg.min_size; size <= cfg.max_size; size = perf_next_size(&cfg, size)) {
		if (perf_sync(sock, 'S', 'S') < 0)
			goto lost;
		if ((c.t->kind == PERF_LAT ? perf_server_lat(&c, size) : perf_server_bw(&c)) < 0)
			goto out;
		if (perf_sync(sock, 'E', 'E') < 0)
			goto lost;
	}
	ret = 0;
	goto out;
lost:
	fprintf(stderr, "%s: lost the client\n", perf_argv0);
out:
	perf_ctx_free(&c);
	free((char *)c.dev_name);
	return ret;
}

static int perf_run_client(int sock, const struct perf_opts *o)
{
	struct perf_ctx c = { .sock = sock, .cfg = &o->cfg };
	json_object *arr = NULL;
	struct perf_result r;
	uint64_t size;
	int ret = 1;

	/* The device first: if it is missing the server need not hear of it. */
	c.t = &perf_tests[o->cfg.test];
	if (perf_ctx_init(&c, o->dev_name, o->gid_idx) < 0)
		goto out;
	if (perf_send_cfg(sock, &o->cfg) < 0) {
		fprintf(stderr, "%s: lost the server\n", perf_argv0);
		goto out;
	}
	if (perf_setup(&c, o->dev_name, o->gid_idx, false) < 0)
		goto out;
	if (o->json)
		arr = json_object_new_array();
	else
		perf_print_header(&c);
	for (size = o->cfg.min_size; size <= o->cfg.max_size;
	     size = perf_next_size(&o->cfg, size)) {
		if (perf_client_size(&c, size, &r) < 0)
			goto out;
		if (perf_sync(sock, 'E', 'E') < 0) {
			fprintf(stderr, "%s: lost the server\n", perf_argv0);
			goto out;
		}
		if (arr)
			perf_json_add(&c, arr, &r);
		else
			perf_print_row(&c, &r);
	}
	if (arr)
		printf("%s\n", json_object_to_json_string_ext(arr, JSON_C_TO_STRING_PRETTY |
							      JSON_C_TO_STRING_SPACED));
	ret = 0;
out:
	json_object_put(arr);
	perf_ctx_free(&c);
	free((char *)c.dev_name);
	return ret;
}

static int perf_loopback(const struct perf_opts *o)
{
	int sv[2], status, rc;
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		perf_err("socketpair", errno);
		return 1;
	}
	fflush(stdout);
	pid = fork();
	if (pid < 0) {
		perf_err("fork", errno);
		return 1;
	}
	if (pid == 0) {
		close(sv[0]);
		_exit(perf_run_server(sv[1], o, true));
	}
	close(sv[1]);
	rc = perf_run_client(sv[0], o);
	close(sv[0]);	/* a server still waiting sees EOF */
	if (waitpid(pid, &status, 0) < 0) {
		perf_err("waitpid", errno);
		return 1;
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		if (rc == 0)
			fprintf(stderr, "%s: the server side failed\n", perf_argv0);
		return 1;
	}
	return rc;
}

/* ---- options -------------------------------------------------------- */

static uint64_t perf_parse_num(const char *s, const char *what, uint64_t min, uint64_t max)
{
	char *end;
	unsigned long long v;

	errno = 0;
	if (*s == '-' || *s == '\0')
		perf_usage_error("bad %s", what);
	v = strtoull(s, &end, 0);
	if (errno || *end != '\0' || v < min || v > max)
		perf_usage_error("bad %s", what);
	return v;
}

static void perf_parse(int argc, char **argv, struct perf_opts *o)
{
	static const struct option longopts[] = {
		{ "ib-dev", required_argument, NULL, 'd' },
		{ "gid-index", required_argument, NULL, 'g' },
		{ "connection", required_argument, NULL, 'c' },
		{ "size", required_argument, NULL, 's' },
		{ "all", no_argument, NULL, 'a' },
		{ "max-size", required_argument, NULL, 'S' },
		{ "iters", required_argument, NULL, 'n' },
		{ "duration", required_argument, NULL, 'D' },
		{ "tx-depth", required_argument, NULL, 't' },
		{ "inline", no_argument, NULL, 'I' },
		{ "events", no_argument, NULL, 'e' },
		{ "port", required_argument, NULL, 'p' },
		{ "loopback", no_argument, NULL, 'l' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct perf_cfg *cfg = &o->cfg;
	uint64_t size = 0, max = PERF_MAX_SIZE;
	bool have_max = false;
	const struct perf_test *t = NULL;
	unsigned i;
	int ch;

	memset(o, 0, sizeof(*o));
	cfg->tx_depth = 128;
	o->port = "18515";
	while ((ch = getopt_long(argc, argv, "d:g:c:s:aS:n:D:t:Iep:ljhV", longopts, NULL)) != -1) {
		switch (ch) {
		case 'd': o->dev_name = optarg; break;
		case 'g': o->gid_idx = (int)perf_parse_num(optarg, "GID index", 0, 255); break;
		case 'c':
			if (strcmp(optarg, "rc") == 0 || strcmp(optarg, "RC") == 0)
				cfg->ud = false;
			else if (strcmp(optarg, "ud") == 0 || strcmp(optarg, "UD") == 0)
				cfg->ud = true;
			else
				perf_usage_error("unknown connection type %s (rc or ud)", optarg);
			break;
		case 's': size = perf_parse_num(optarg, "size", 1, PERF_SIZE_LIMIT); break;
		case 'a': o->all = true; break;
		case 'S':
			max = perf_parse_num(optarg, "max size", 1, PERF_SIZE_LIMIT);
			have_max = true;
			break;
		case 'n': cfg->iters = perf_parse_num(optarg, "iteration count", 1, UINT64_MAX / 2); break;
		case 'D': cfg->duration = (unsigned)perf_parse_num(optarg, "duration", 1, 86400); break;
		case 't': cfg->tx_depth = (unsigned)perf_parse_num(optarg, "tx depth", 1, 8192); break;
		case 'I': cfg->use_inline = true; break;
		case 'e': cfg->events = true; break;
		case 'p':
			perf_parse_num(optarg, "port", 1, 65535);
			o->port = optarg;
			o->port_given = true;
			break;
		case 'l': o->loopback = true; break;
		case 'j': o->json = true; break;
		case 'h': perf_usage(stdout); exit(0);
		case 'V': printf("rdmab-perf %s\n", PACKAGE_VERSION); exit(0);
		default: perf_usage(stderr); exit(2);
		}
	}
	if (optind >= argc)
		perf_usage_error("no TEST given");
	for (i = 0; i < PERF_NTESTS; i++)
		if (strcmp(argv[optind], perf_tests[i].name) == 0)
			t = &perf_tests[i];
	if (!t)
		perf_usage_error("unknown test %s", argv[optind]);
	cfg->test = (unsigned)(t - perf_tests);
	optind++;
	if (optind < argc)
		o->host = argv[optind++];
	if (optind < argc)
		perf_usage_error("unexpected argument %s", argv[optind]);
	if (o->loopback && o->host)
		perf_usage_error("--loopback takes no HOST (%s)", o->host);
	if (o->loopback && o->port_given)
		perf_usage_error("--loopback takes no -p");
	if (cfg->ud && t->op != PERF_SEND)
		perf_usage_error("UD has only SEND: %s needs -c rc", t->name);
	if (cfg->iters && cfg->duration)
		perf_usage_error("-n and -D exclude each other");
	if (!cfg->iters && !cfg->duration)
		cfg->iters = t->def_iters;
	if (size && o->all)
		perf_usage_error("-s and -a exclude each other");
	if (have_max && !o->all)
		perf_usage_error("-S needs -a");
	if (cfg->events && t->op == PERF_WRITE && t->kind == PERF_LAT)
		perf_usage_error("write_lat waits on memory, not on completions: no -e");
	if (cfg->ud && max > PERF_UD_MTU) {
		if (size > PERF_UD_MTU)
			perf_usage_error("UD messages are at most 4096 bytes");
		max = PERF_UD_MTU;
	}
	if (t->op == PERF_ATOMIC) {
		if (size && size != 8)
			perf_usage_error("atomics are 8 bytes");
		/* An atomic has one size: -a is 8 alone. */
		cfg->min_size = cfg->max_size = 8;
	} else if (o->all) {
		cfg->min_size = 1;
		cfg->max_size = max;
	} else {
		cfg->min_size = cfg->max_size = size ? size : 2;
	}
	if (!o->loopback && o->host == NULL && o->json)
		perf_usage_error("a server prints nothing: -j needs HOST or --loopback");
}

int main(int argc, char **argv)
{
	struct perf_opts o;
	int sock, rc;

	if (argv[0] && argv[0][0])
		perf_argv0 = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
	argv[0] = (char *)perf_argv0;	/* getopt's messages use it */
	perf_parse(argc, argv, &o);
	srand48((long)getpid() ^ (long)time(NULL));
	if (o.loopback)
		return perf_loopback(&o);
	if (o.host) {
		sock = perf_tcp_client(o.host, o.port);
		if (sock < 0)
			return 1;
		rc = perf_run_client(sock, &o);
	} else {
		sock = perf_tcp_server(o.port);
		if (sock < 0)
			return 1;
		rc = perf_run_server(sock, &o, false);
	}
	close(sock);
	return rc;
}
