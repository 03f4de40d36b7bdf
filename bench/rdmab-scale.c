/* SPDX-License-Identifier: MIT */
/*
 * rdmab-scale: control-path rates and scale of one daemon.
 *
 *   qp_rate  N times: create an RC QP, INIT, RTR and RTS (connected to
 *            itself), destroy; the rate of whole cycles and of verbs, and
 *            the median time of each verb.
 *   mr_rate  N times: register a SIZE buffer (4 KiB) and deregister it;
 *            the rate of pairs and the median time of each half.
 *   scale    a pair of connected RC QPs and its 8-byte send ping-pong;
 *            then C more clients (device contexts) holding Q idle RC QPs
 *            between them, connected in pairs; the time to make them, the
 *            daemon's memory per client and per idle QP, and the
 *            ping-pong again with them present (and after they are gone).
 *
 * Each verb is a request to the daemon, so these are rates of the control
 * path as a client sees it.  The ping-pong runs in one thread that plays
 * both ends (post, then poll the other QP's CQ), so only this thread and
 * the daemon's engine compete for the CPUs; one-way is half a round trip.
 *
 * The daemon's memory comes from /proc/PID/status and smaps_rollup; PID is
 * --daemon-pid, or the peer of a connection to the daemon's socket
 * (SO_PEERCRED), which needs nothing but the socket.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <infiniband/verbs.h>

#include "bench/bench.h"

#define SCALE_PSN	0x1234
#define SCALE_MSG	8u		/* the ping-pong's message */
#define SCALE_RX	16u		/* receives kept posted on each pair QP */
#define SCALE_CQE	64
/* After the idle QPs reach RTS the engine keeps them in its poll set for
 * spin_us (default 200 µs); wait well past it before measuring. */
#define SCALE_SETTLE_NS	(50 * 1000 * 1000)
/* How long the daemon's CPU is watched with everything idle. */
#define SCALE_IDLE_NS	(1000 * 1000 * 1000)

struct scale_opts {
	const char *cmd;
	const char *dev_name;
	bool json;
	uint64_t iters;		/* qp_rate, mr_rate */
	uint64_t size;		/* mr_rate */
	uint32_t clients;	/* scale */
	uint32_t qps;
	uint64_t lat_iters;
	bool connect;		/* idle QPs in RTS pairs, not RESET */
	long daemon_pid;
};

/* One open device with what every QP on it shares. */
struct scale_ctx {
	struct ibv_context *ctx;
	struct ibv_pd *pd;
	struct ibv_cq *cq;
};

struct scale_mem {
	bool ok;
	int64_t rss, anon, shmem;	/* kB, /proc/PID/status */
	int64_t pss;			/* kB, smaps_rollup */
	int fds;
};

static const char *scale_prog = "rdmab-scale";

/* ---- small helpers ------------------------------------------------ */

static int scale_err(const char *what, int err)
{
	fprintf(stderr, "%s: %s: %s\n", scale_prog, what, strerror(err));
	return -1;
}

/* The median of n samples (sorts them), in µs. */
static double median_us(uint64_t *v, uint64_t n)
{
	if (!n)
		return 0;
	qsort(v, n, sizeof(*v), cmp_u64);
	return n % 2 ? v[n / 2] / 1e3 : (v[n / 2 - 1] + v[n / 2]) / 2e3;
}

static json_object *json_num(double v, int decimals)
{
	char buf[64];

	snprintf(buf, sizeof(buf), "%.*f", decimals, v);
	return json_object_new_double_s(v, buf);
}

static bool parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (!s || !*s || *s == '-')
		return false;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || *end || v < min || v > max)
		return false;
	*out = v;
	return true;
}

/* ---- the daemon --------------------------------------------------- */

/* The daemon's pid: the peer of a connection to its socket. */
static long scale_find_daemon(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	const char *path = getenv("RDMABROKER_SOCKET");
	struct ucred cred;
	socklen_t len = sizeof(cred);
	long pid = -1;
	int fd;

	if (!path || !*path)
		path = RUNDIR "/rdmabrokerd.sock";
	if (strlen(path) >= sizeof(sa.sun_path))
		return -1;
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
	    getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0)
		pid = cred.pid;
	close(fd);
	return pid;
}

static int64_t proc_kb(const char *path, const char *key)
{
	size_t klen = strlen(key);
	char line[256];
	int64_t v = -1;
	FILE *f = fopen(path, "re");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, klen) && line[klen] == ':') {
			v = strtoll(line + klen + 1, NULL, 10);
			break;
		}
	fclose(f);
	return v;
}

/* CPU time (user + system) of pid, or of us with pid 0, in µs; -1 if unknown. */
static int64_t cpu_us(long pid)
{
	char path[64], buf[1024], *p;
	unsigned long long ut, st;
	struct rusage ru;
	ssize_t n;
	FILE *f;

	if (pid == 0) {
		if (getrusage(RUSAGE_SELF, &ru) < 0)
			return -1;
		return (int64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000 +
		       ru.ru_utime.tv_usec + ru.ru_stime.tv_usec;
	}
	if (pid < 0)
		return -1;
	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	f = fopen(path, "re");
	if (!f)
		return -1;
	n = (ssize_t)fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	/* utime and stime are fields 14 and 15, after the ")" ending comm. */
	p = strrchr(buf, ')');
	if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu",
			 &ut, &st) != 2)
		return -1;
	return (int64_t)((ut + st) * 1000000ull / (unsigned long long)sysconf(_SC_CLK_TCK));
}

/* CPU time of us and of the daemon over a run. */
struct scale_cpu {
	long pid;
	int64_t self, daemon;
};

static void cpu_start(struct scale_cpu *c, long pid)
{
	c->pid = pid;
	c->self = cpu_us(0);
	c->daemon = cpu_us(pid);
}

/* µs per op of us and the daemon since cpu_start (-1: unknown). */
static void cpu_stop(const struct scale_cpu *c, uint64_t ops, double *self, double *daemon)
{
	int64_t s = cpu_us(0), d = cpu_us(c->pid);

	*self = s >= 0 && c->self >= 0 ? (double)(s - c->self) / ops : -1;
	*daemon = d >= 0 && c->daemon >= 0 ? (double)(d - c->daemon) / ops : -1;
}

static struct scale_mem scale_mem_read(long pid)
{
	struct scale_mem m = { .ok = false };
	char st[64], ro[64];

	if (pid <= 0)
		return m;
	snprintf(st, sizeof(st), "/proc/%ld/status", pid);
	snprintf(ro, sizeof(ro), "/proc/%ld/smaps_rollup", pid);
	m.rss = proc_kb(st, "VmRSS");
	m.anon = proc_kb(st, "RssAnon");
	m.shmem = proc_kb(st, "RssShmem");
	m.pss = proc_kb(ro, "Pss");
	m.fds = -1;
	m.ok = m.rss >= 0 && m.anon >= 0 && m.shmem >= 0;
	return m;
}

/* The daemon's open fds: the entries of /proc/PID/fd. */
static int scale_daemon_fds(long pid)
{
	char path[64];
	struct dirent *e;
	DIR *d;
	int n = 0;

	snprintf(path, sizeof(path), "/proc/%ld/fd", pid);
	d = opendir(path);
	if (!d)
		return -1;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

/* ---- devices and QPs ---------------------------------------------- */

static struct ibv_device *scale_device(const char *name)
{
	static struct ibv_device **list;
	int n;

	if (!list) {
		list = ibv_get_device_list(&n);
		if (!list || !n) {
			fprintf(stderr, "%s: no RDMA device (is rdmabrokerd running?)\n",
				scale_prog);
			return NULL;
		}
	}
	for (struct ibv_device **d = list; *d; d++)
		if (!name || !strcmp(ibv_get_device_name(*d), name))
			return *d;
	fprintf(stderr, "%s: no device %s\n", scale_prog, name);
	return NULL;
}

static int scale_ctx_open(struct ibv_device *dev, struct scale_ctx *c, int cqe)
{
	memset(c, 0, sizeof(*c));
	c->ctx = ibv_open_device(dev);
	if (!c->ctx)
		return scale_err("ibv_open_device", errno);
	c->pd = ibv_alloc_pd(c->ctx);
	if (!c->pd)
		return scale_err("ibv_alloc_pd", errno);
	if (cqe) {
		c->cq = ibv_create_cq(c->ctx, cqe, NULL, NULL, 0);
		if (!c->cq)
			return scale_err("ibv_create_cq", errno);
	}
	return 0;
}

static void scale_ctx_close(struct scale_ctx *c)
{
	if (c->cq)
		ibv_destroy_cq(c->cq);
	if (c->pd)
		ibv_dealloc_pd(c->pd);
	if (c->ctx)
		ibv_close_device(c->ctx);
	memset(c, 0, sizeof(*c));
}

static struct ibv_qp *scale_qp_new(struct ibv_pd *pd, struct ibv_cq *cq,
				   uint32_t wr, uint32_t inline_data)
{
	struct ibv_qp_init_attr ia = {
		.send_cq = cq, .recv_cq = cq, .qp_type = IBV_QPT_RC,
		.cap = { .max_send_wr = wr, .max_recv_wr = wr, .max_send_sge = 1,
			 .max_recv_sge = 1, .max_inline_data = inline_data },
	};

	return ibv_create_qp(pd, &ia);
}

/* The address of port 1 of ctx: GID 0, for QPs on this host. */
static int scale_gid(struct ibv_context *ctx, union ibv_gid *gid)
{
	int err = ibv_query_gid(ctx, 1, 0, gid);

	return err ? scale_err("ibv_query_gid", err ? err : errno) : 0;
}

static int scale_to_init(struct ibv_qp *qp)
{
	struct ibv_qp_attr a = {
		.qp_state = IBV_QPS_INIT, .pkey_index = 0, .port_num = 1,
		.qp_access_flags = IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE,
	};

	return ibv_modify_qp(qp, &a, IBV_QP_STATE | IBV_QP_PKEY_INDEX |
			     IBV_QP_PORT | IBV_QP_ACCESS_FLAGS);
}

static int scale_to_rtr(struct ibv_qp *qp, uint32_t dest, const union ibv_gid *gid)
{
	struct ibv_qp_attr a = {
		.qp_state = IBV_QPS_RTR, .path_mtu = IBV_MTU_1024,
		.dest_qp_num = dest, .rq_psn = SCALE_PSN, .max_dest_rd_atomic = 1,
		.min_rnr_timer = 1,
		.ah_attr = { .is_global = 1, .port_num = 1,
			     .grh = { .dgid = *gid, .hop_limit = 1 } },
	};

	return ibv_modify_qp(qp, &a, IBV_QP_STATE | IBV_QP_AV | IBV_QP_PATH_MTU |
			     IBV_QP_DEST_QPN | IBV_QP_RQ_PSN |
			     IBV_QP_MAX_DEST_RD_ATOMIC | IBV_QP_MIN_RNR_TIMER);
}

static int scale_to_rts(struct ibv_qp *qp)
{
	struct ibv_qp_attr a = {
		.qp_state = IBV_QPS_RTS, .timeout = 14, .retry_cnt = 7,
		.rnr_retry = 7, .sq_psn = SCALE_PSN, .max_rd_atomic = 1,
	};

	return ibv_modify_qp(qp, &a, IBV_QP_STATE | IBV_QP_TIMEOUT |
			     IBV_QP_RETRY_CNT | IBV_QP_RNR_RETRY | IBV_QP_SQ_PSN |
			     IBV_QP_MAX_QP_RD_ATOMIC);
}

/* a and b to RTS, each the other's peer. */
static int scale_connect(struct ibv_qp *a, struct ibv_qp *b, const union ibv_gid *gid)
{
	int err;

	if ((err = scale_to_init(a)) || (err = scale_to_init(b)))
		return scale_err("ibv_modify_qp to INIT", err);
	if ((err = scale_to_rtr(a, b->qp_num, gid)) ||
	    (err = scale_to_rtr(b, a->qp_num, gid)))
		return scale_err("ibv_modify_qp to RTR", err);
	if ((err = scale_to_rts(a)) || (err = scale_to_rts(b)))
		return scale_err("ibv_modify_qp to RTS", err);
	return 0;
}

/* ---- qp_rate ------------------------------------------------------ */

static const char *const qp_steps[] = { "create", "init", "rtr", "rts", "destroy" };
#define QP_NSTEPS 5

static int scale_qp_rate(const struct scale_opts *o, json_object *out)
{
	struct ibv_device *dev = scale_device(o->dev_name);
	struct scale_ctx c;
	union ibv_gid gid;
	uint64_t *t[QP_NSTEPS], *cyc, n = o->iters;
	int64_t t0, t1, start;
	double med[QP_NSTEPS], cyc_med, secs, cpu_self, cpu_daemon;
	struct scale_cpu cpu;
	int ret = -1;

	if (!dev || scale_ctx_open(dev, &c, SCALE_CQE) < 0 || scale_gid(c.ctx, &gid) < 0)
		return -1;
	cyc = calloc(n, sizeof(*cyc));
	for (int k = 0; k < QP_NSTEPS; k++)
		t[k] = calloc(n, sizeof(**t));
	for (int k = 0; k < QP_NSTEPS; k++)
		if (!t[k] || !cyc) {
			scale_err("calloc", ENOMEM);
			goto out;
		}
	cpu_start(&cpu, o->daemon_pid > 0 ? o->daemon_pid : scale_find_daemon());
	start = now_ns();
	for (uint64_t i = 0; i < n; i++) {
		struct ibv_qp *qp;
		int err;

		t0 = now_ns();
		qp = scale_qp_new(c.pd, c.cq, 16, 0);
		if (!qp) {
			scale_err("ibv_create_qp", errno);
			goto out;
		}
		t1 = now_ns();
		t[0][i] = (uint64_t)(t1 - t0);
		if ((err = scale_to_init(qp))) {
			scale_err("ibv_modify_qp to INIT", err);
			goto out;
		}
		t[1][i] = (uint64_t)(now_ns() - t1);
		t1 = now_ns();
		if ((err = scale_to_rtr(qp, qp->qp_num, &gid))) {
			scale_err("ibv_modify_qp to RTR", err);
			goto out;
		}
		t[2][i] = (uint64_t)(now_ns() - t1);
		t1 = now_ns();
		if ((err = scale_to_rts(qp))) {
			scale_err("ibv_modify_qp to RTS", err);
			goto out;
		}
		t[3][i] = (uint64_t)(now_ns() - t1);
		t1 = now_ns();
		if ((err = ibv_destroy_qp(qp))) {
			scale_err("ibv_destroy_qp", err);
			goto out;
		}
		t[4][i] = (uint64_t)(now_ns() - t1);
		cyc[i] = (uint64_t)(now_ns() - t0);
	}
	secs = (now_ns() - start) / 1e9;
	cpu_stop(&cpu, n, &cpu_self, &cpu_daemon);
	for (int k = 0; k < QP_NSTEPS; k++)
		med[k] = median_us(t[k], n);
	cyc_med = median_us(cyc, n);
	if (out) {
		json_object *m = json_object_new_object();

		json_object_object_add(out, "test", json_object_new_string("qp_rate"));
		json_object_object_add(out, "iters", json_object_new_int64((int64_t)n));
		json_object_object_add(out, "seconds", json_num(secs, 4));
		json_object_object_add(out, "cycles_per_s", json_num(n / secs, 1));
		json_object_object_add(out, "verbs_per_s", json_num(n * QP_NSTEPS / secs, 1));
		json_object_object_add(out, "cycle_median_us", json_num(cyc_med, 3));
		json_object_object_add(out, "client_cpu_us_per_cycle", json_num(cpu_self, 2));
		json_object_object_add(out, "daemon_cpu_us_per_cycle", json_num(cpu_daemon, 2));
		for (int k = 0; k < QP_NSTEPS; k++)
			json_object_object_add(m, qp_steps[k], json_num(med[k], 3));
		json_object_object_add(out, "median_us", m);
	} else {
		printf("qp_rate: %" PRIu64 " cycles (create, INIT, RTR, RTS, destroy) in %.3f s\n",
		       n, secs);
		printf("  %.0f cycles/s, %.0f verbs/s, cycle median %.2f us\n",
		       n / secs, n * QP_NSTEPS / secs, cyc_med);
		printf("  median us:");
		for (int k = 0; k < QP_NSTEPS; k++)
			printf(" %s %.2f", qp_steps[k], med[k]);
		printf("\n  CPU us per cycle: client %.2f, daemon %.2f\n", cpu_self, cpu_daemon);
	}
	ret = 0;
out:
	for (int k = 0; k < QP_NSTEPS; k++)
		free(t[k]);
	free(cyc);
	scale_ctx_close(&c);
	return ret;
}

/* ---- mr_rate ------------------------------------------------------ */

static int scale_mr_rate(const struct scale_opts *o, json_object *out)
{
	struct ibv_device *dev = scale_device(o->dev_name);
	long page = sysconf(_SC_PAGESIZE);
	uint64_t *treg, *tdereg, n = o->iters;
	size_t len = (o->size + (size_t)page - 1) & ~((size_t)page - 1);
	struct scale_ctx c;
	int64_t t0, t1, start;
	double secs, mreg, mdereg, cpu_self, cpu_daemon;
	struct scale_cpu cpu;
	void *buf = NULL;
	int ret = -1;

	if (!dev || scale_ctx_open(dev, &c, 0) < 0)
		return -1;
	treg = calloc(n, sizeof(*treg));
	tdereg = calloc(n, sizeof(*tdereg));
	if (!treg || !tdereg || posix_memalign(&buf, (size_t)page, len)) {
		scale_err("allocating", ENOMEM);
		goto out;
	}
	memset(buf, 0x5a, len);
	cpu_start(&cpu, o->daemon_pid > 0 ? o->daemon_pid : scale_find_daemon());
	start = now_ns();
	for (uint64_t i = 0; i < n; i++) {
		struct ibv_mr *mr;
		int err;

		t0 = now_ns();
		mr = ibv_reg_mr(c.pd, buf, o->size, IBV_ACCESS_LOCAL_WRITE |
				IBV_ACCESS_REMOTE_WRITE | IBV_ACCESS_REMOTE_READ);
		if (!mr) {
			scale_err("ibv_reg_mr", errno);
			goto out;
		}
		t1 = now_ns();
		if ((err = ibv_dereg_mr(mr))) {
			scale_err("ibv_dereg_mr", err);
			goto out;
		}
		treg[i] = (uint64_t)(t1 - t0);
		tdereg[i] = (uint64_t)(now_ns() - t1);
	}
	secs = (now_ns() - start) / 1e9;
	cpu_stop(&cpu, n, &cpu_self, &cpu_daemon);
	mreg = median_us(treg, n);
	mdereg = median_us(tdereg, n);
	if (out) {
		json_object_object_add(out, "test", json_object_new_string("mr_rate"));
		json_object_object_add(out, "iters", json_object_new_int64((int64_t)n));
		json_object_object_add(out, "size", json_object_new_int64((int64_t)o->size));
		json_object_object_add(out, "seconds", json_num(secs, 4));
		json_object_object_add(out, "pairs_per_s", json_num(n / secs, 1));
		json_object_object_add(out, "reg_median_us", json_num(mreg, 3));
		json_object_object_add(out, "dereg_median_us", json_num(mdereg, 3));
		json_object_object_add(out, "client_cpu_us_per_pair", json_num(cpu_self, 2));
		json_object_object_add(out, "daemon_cpu_us_per_pair", json_num(cpu_daemon, 2));
	} else {
		printf("mr_rate: %" PRIu64 " x reg+dereg of %" PRIu64 " bytes in %.3f s\n",
		       n, o->size, secs);
		printf("  %.0f pairs/s, median reg %.2f us, dereg %.2f us\n", n / secs,
		       mreg, mdereg);
		printf("  CPU us per pair: client %.2f, daemon %.2f\n", cpu_self, cpu_daemon);
	}
	ret = 0;
out:
	free(treg);
	free(tdereg);
	free(buf);
	scale_ctx_close(&c);
	return ret;
}

/* ---- scale -------------------------------------------------------- */

/* The measured pair: two QPs on one context, a buffer, a CQ each. */
struct scale_pair {
	struct scale_ctx c;
	struct ibv_cq *cq[2];
	struct ibv_qp *qp[2];
	struct ibv_mr *mr;
	uint8_t *buf;		/* 4 slots of SCALE_MSG: rx and tx per side */
};

static int pair_post_recv(struct scale_pair *p, int side)
{
	struct ibv_sge sge = {
		.addr = (uintptr_t)(p->buf + side * 2 * SCALE_MSG),
		.length = SCALE_MSG, .lkey = p->mr->lkey,
	};
	struct ibv_recv_wr wr = { .sg_list = &sge, .num_sge = 1 }, *bad;

	return ibv_post_recv(p->qp[side], &wr, &bad);
}

static int pair_send(struct scale_pair *p, int side)
{
	struct ibv_sge sge = {
		.addr = (uintptr_t)(p->buf + (side * 2 + 1) * SCALE_MSG),
		.length = SCALE_MSG, .lkey = p->mr->lkey,
	};
	struct ibv_send_wr wr = {
		.sg_list = &sge, .num_sge = 1, .opcode = IBV_WR_SEND,
		.send_flags = IBV_SEND_SIGNALED | IBV_SEND_INLINE,
	}, *bad;

	return ibv_post_send(p->qp[side], &wr, &bad);
}

/* Poll side's CQ until its receive completes (its sends complete too). */
static int pair_wait_recv(struct scale_pair *p, int side)
{
	struct ibv_wc wc[4];

	for (;;) {
		int n = ibv_poll_cq(p->cq[side], 4, wc);

		if (n < 0)
			return scale_err("ibv_poll_cq", EIO);
		for (int i = 0; i < n; i++) {
			if (wc[i].status != IBV_WC_SUCCESS) {
				fprintf(stderr, "%s: completion: %s\n", scale_prog,
					ibv_wc_status_str(wc[i].status));
				return -1;
			}
			if (wc[i].opcode == IBV_WC_RECV)
				return pair_post_recv(p, side) ?
				       scale_err("ibv_post_recv", errno) : 0;
		}
	}
}

static int pair_open(struct ibv_device *dev, struct scale_pair *p)
{
	union ibv_gid gid;

	memset(p, 0, sizeof(*p));
	if (scale_ctx_open(dev, &p->c, 0) < 0 || scale_gid(p->c.ctx, &gid) < 0)
		return -1;
	if (posix_memalign((void **)&p->buf, 4096, 4096))
		return scale_err("posix_memalign", ENOMEM);
	memset(p->buf, 0, 4096);
	p->mr = ibv_reg_mr(p->c.pd, p->buf, 4096, IBV_ACCESS_LOCAL_WRITE);
	if (!p->mr)
		return scale_err("ibv_reg_mr", errno);
	for (int s = 0; s < 2; s++) {
		p->cq[s] = ibv_create_cq(p->c.ctx, SCALE_CQE, NULL, NULL, 0);
		if (!p->cq[s])
			return scale_err("ibv_create_cq", errno);
		p->qp[s] = scale_qp_new(p->c.pd, p->cq[s], SCALE_RX, SCALE_MSG);
		if (!p->qp[s])
			return scale_err("ibv_create_qp", errno);
	}
	if (scale_connect(p->qp[0], p->qp[1], &gid) < 0)
		return -1;
	for (int s = 0; s < 2; s++)
		for (unsigned i = 0; i < SCALE_RX; i++)
			if (pair_post_recv(p, s))
				return scale_err("ibv_post_recv", errno);
	return 0;
}

static void pair_close(struct scale_pair *p)
{
	for (int s = 0; s < 2; s++) {
		if (p->qp[s])
			ibv_destroy_qp(p->qp[s]);
		if (p->cq[s])
			ibv_destroy_cq(p->cq[s]);
	}
	if (p->mr)
		ibv_dereg_mr(p->mr);
	scale_ctx_close(&p->c);
	free(p->buf);
}

/* n round trips after a warm-up; the median one-way time in µs, or < 0. */
static double pair_latency(struct scale_pair *p, uint64_t n)
{
	uint64_t warm = n / 5 + 100, *rtt = calloc(n, sizeof(*rtt));
	double med;

	if (!rtt) {
		scale_err("calloc", ENOMEM);
		return -1;
	}
	for (uint64_t i = 0; i < warm + n; i++) {
		int64_t t0 = now_ns();

		if (pair_send(p, 0)) {
			scale_err("ibv_post_send", errno);
			free(rtt);
			return -1;
		}
		if (pair_wait_recv(p, 1) < 0)
			goto fail;
		if (pair_send(p, 1)) {
			scale_err("ibv_post_send", errno);
			goto fail;
		}
		if (pair_wait_recv(p, 0) < 0)
			goto fail;
		if (i >= warm)
			rtt[i - warm] = (uint64_t)(now_ns() - t0);
	}
	med = median_us(rtt, n) / 2;
	free(rtt);
	return med;
fail:
	free(rtt);
	return -1;
}

static void sleep_ns(int64_t ns)
{
	struct timespec ts = { .tv_sec = ns / 1000000000, .tv_nsec = ns % 1000000000 };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* As many fds as we may have: each client holds a few, each QP one. */
static void scale_raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static int64_t mem_delta_bytes(int64_t after_kb, int64_t before_kb)
{
	return (after_kb - before_kb) * 1024;
}

static json_object *mem_json(const struct scale_mem *m)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "vmrss_kb", json_object_new_int64(m->rss));
	json_object_object_add(o, "rss_anon_kb", json_object_new_int64(m->anon));
	json_object_object_add(o, "rss_shmem_kb", json_object_new_int64(m->shmem));
	json_object_object_add(o, "pss_kb", json_object_new_int64(m->pss));
	json_object_object_add(o, "fds", json_object_new_int(m->fds));
	return o;
}

static int scale_scale(const struct scale_opts *o, json_object *out)
{
	struct ibv_device *dev = scale_device(o->dev_name);
	uint32_t nc = o->clients, nq = o->qps;
	struct scale_ctx *cs = NULL;
	struct ibv_qp **qps = NULL;
	struct scale_pair pair;
	struct scale_mem m0, m1, m2, m3;
	union ibv_gid gid;
	long pid = o->daemon_pid > 0 ? o->daemon_pid : scale_find_daemon();
	double lat1, lat2, lat3, t_clients, t_qps, t_destroy, idle_pct = -1;
	int64_t t0, c0, c1;
	uint32_t made_c = 0, made_q = 0;
	int ret = -1;

	if (!dev)
		return -1;
	scale_raise_nofile();
	if (pair_open(dev, &pair) < 0)
		goto out;
	if (scale_gid(pair.c.ctx, &gid) < 0)
		goto out;
	cs = calloc(nc ? nc : 1, sizeof(*cs));
	qps = calloc(nq ? nq : 1, sizeof(*qps));
	if (!cs || !qps) {
		scale_err("calloc", ENOMEM);
		goto out;
	}
	lat1 = pair_latency(&pair, o->lat_iters);
	if (lat1 < 0)
		goto out;

	m0 = scale_mem_read(pid);
	m0.fds = scale_daemon_fds(pid);
	t0 = now_ns();
	for (; made_c < nc; made_c++)
		if (scale_ctx_open(dev, &cs[made_c], SCALE_CQE) < 0) {
			fprintf(stderr, "%s: client %u of %u failed\n", scale_prog,
				made_c + 1, nc);
			goto out;
		}
	t_clients = (now_ns() - t0) / 1e9;
	m1 = scale_mem_read(pid);
	m1.fds = scale_daemon_fds(pid);

	t0 = now_ns();
	for (; made_q < nq; made_q++) {
		struct scale_ctx *c = &cs[nc ? made_q % nc : 0];

		if (!nc) {
			fprintf(stderr, "%s: QPs need at least one client\n", scale_prog);
			goto out;
		}
		qps[made_q] = scale_qp_new(c->pd, c->cq, 16, 0);
		if (!qps[made_q]) {
			scale_err("ibv_create_qp", errno);
			fprintf(stderr, "%s: QP %u of %u failed\n", scale_prog,
				made_q + 1, nq);
			goto out;
		}
	}
	t_qps = (now_ns() - t0) / 1e9;
	/* Pairs on the same client: QP i and QP i + nc share client i % nc. */
	if (o->connect)
		for (uint32_t i = 0; i + nc < nq; i += 2 * nc)
			for (uint32_t k = 0; k < nc && i + k + nc < nq; k++)
				if (scale_connect(qps[i + k], qps[i + k + nc], &gid) < 0)
					goto out;
	sleep_ns(SCALE_SETTLE_NS);
	/* Idle QPs must cost the engine nothing: the daemon's CPU while
	 * everything sits idle. */
	c0 = cpu_us(pid);
	t0 = now_ns();
	sleep_ns(SCALE_IDLE_NS);
	c1 = cpu_us(pid);
	if (c0 >= 0 && c1 >= 0)
		idle_pct = (double)(c1 - c0) * 1e3 * 100 / (double)(now_ns() - t0);
	m2 = scale_mem_read(pid);
	m2.fds = scale_daemon_fds(pid);
	lat2 = pair_latency(&pair, o->lat_iters);
	if (lat2 < 0)
		goto out;

	t0 = now_ns();
	for (uint32_t i = 0; i < made_q; i++) {
		int err = ibv_destroy_qp(qps[i]);

		if (err) {
			scale_err("ibv_destroy_qp", err);
			goto out;
		}
		qps[i] = NULL;
	}
	made_q = 0;
	for (uint32_t i = 0; i < made_c; i++)
		scale_ctx_close(&cs[i]);
	made_c = 0;
	t_destroy = (now_ns() - t0) / 1e9;
	sleep_ns(SCALE_SETTLE_NS);
	m3 = scale_mem_read(pid);
	m3.fds = scale_daemon_fds(pid);
	lat3 = pair_latency(&pair, o->lat_iters);
	if (lat3 < 0)
		goto out;

	{
		double base = (lat1 + lat3) / 2, ratio = base > 0 ? lat2 / base : 0;
		bool mem = m0.ok && m1.ok && m2.ok;
		double per_client = mem && nc ? mem_delta_bytes(m1.rss, m0.rss) / (double)nc : 0;
		double per_qp = mem && nq ? mem_delta_bytes(m2.rss, m1.rss) / (double)nq : 0;
		double per_qp_anon = mem && nq ? mem_delta_bytes(m2.anon, m1.anon) / (double)nq : 0;
		double per_qp_shmem = mem && nq ? mem_delta_bytes(m2.shmem, m1.shmem) / (double)nq : 0;
		double per_qp_pss = mem && nq && m1.pss >= 0 && m2.pss >= 0 ?
				    mem_delta_bytes(m2.pss, m1.pss) / (double)nq : 0;

		if (out) {
			json_object *mo = json_object_new_object();

			json_object_object_add(out, "test", json_object_new_string("scale"));
			json_object_object_add(out, "clients", json_object_new_int64(nc));
			json_object_object_add(out, "qps", json_object_new_int64(nq));
			json_object_object_add(out, "connected", json_object_new_boolean(o->connect));
			json_object_object_add(out, "clients_open_s", json_num(t_clients, 4));
			json_object_object_add(out, "qps_create_s", json_num(t_qps, 4));
			json_object_object_add(out, "qps_create_per_s",
					       json_num(t_qps > 0 ? nq / t_qps : 0, 1));
			json_object_object_add(out, "teardown_s", json_num(t_destroy, 4));
			json_object_object_add(out, "lat_iters", json_object_new_int64((int64_t)o->lat_iters));
			json_object_object_add(out, "lat_pair_only_us", json_num(lat1, 3));
			json_object_object_add(out, "lat_with_idle_us", json_num(lat2, 3));
			json_object_object_add(out, "lat_after_us", json_num(lat3, 3));
			json_object_object_add(out, "lat_ratio", json_num(ratio, 3));
			json_object_object_add(out, "daemon_idle_cpu_pct", json_num(idle_pct, 2));
			json_object_object_add(out, "daemon_pid", json_object_new_int64(pid));
			if (mem) {
				json_object_object_add(mo, "before", mem_json(&m0));
				json_object_object_add(mo, "clients_open", mem_json(&m1));
				json_object_object_add(mo, "qps_open", mem_json(&m2));
				if (m3.ok)
					json_object_object_add(mo, "after", mem_json(&m3));
				json_object_object_add(out, "daemon_mem", mo);
				json_object_object_add(out, "bytes_per_client", json_num(per_client, 0));
				json_object_object_add(out, "bytes_per_idle_qp", json_num(per_qp, 0));
				json_object_object_add(out, "bytes_per_idle_qp_anon", json_num(per_qp_anon, 0));
				json_object_object_add(out, "bytes_per_idle_qp_shmem", json_num(per_qp_shmem, 0));
				json_object_object_add(out, "bytes_per_idle_qp_pss", json_num(per_qp_pss, 0));
				json_object_object_add(out, "daemon_fds_per_idle_qp",
						       json_num(nq ? (m2.fds - m1.fds) / (double)nq : 0, 3));
			} else {
				json_object_put(mo);
			}
		} else {
			printf("scale: %u clients in %.3f s, %u idle RC QPs%s in %.3f s (%.0f/s); teardown %.3f s\n",
			       nc, t_clients, nq, o->connect ? " (connected pairs)" : "",
			       t_qps, t_qps > 0 ? nq / t_qps : 0, t_destroy);
			if (mem) {
				printf("  daemon %ld: VmRSS %" PRId64 " -> %" PRId64 " -> %" PRId64 " kB (before, clients, QPs), fds %d -> %d -> %d\n",
				       pid, m0.rss, m1.rss, m2.rss, m0.fds, m1.fds, m2.fds);
				printf("  per client %.0f B; per idle QP %.0f B (anon %.0f, rings %.0f; Pss %.0f)\n",
				       per_client, per_qp, per_qp_anon, per_qp_shmem, per_qp_pss);
			} else {
				printf("  daemon memory not readable (pid %ld)\n", pid);
			}
			printf("  daemon CPU with all of it idle: %.2f%% of a core (1 s)\n", idle_pct);
			printf("  8 B RC send one-way: %.3f us pair only, %.3f us with %u idle QPs, %.3f us after; ratio %.3f\n",
			       lat1, lat2, nq, lat3, ratio);
		}
	}
	ret = 0;
out:
	for (uint32_t i = 0; i < made_q; i++)
		if (qps[i])
			ibv_destroy_qp(qps[i]);
	for (uint32_t i = 0; i < made_c; i++)
		scale_ctx_close(&cs[i]);
	free(qps);
	free(cs);
	pair_close(&pair);
	return ret;
}

/* ---- main --------------------------------------------------------- */

static void scale_usage(FILE *f)
{
	fprintf(f,
		"usage: %s [OPTIONS] qp_rate|mr_rate|scale\n"
		"Control-path rates and scale of rdmabrokerd (RDMABROKER_SOCKET).\n"
		"  qp_rate   create RC QP, INIT, RTR, RTS (to itself), destroy; N times\n"
		"  mr_rate   ibv_reg_mr + ibv_dereg_mr of SIZE bytes; N times\n"
		"  scale     a ping-pong pair; C clients with Q idle QPs; memory per\n"
		"            client and QP; ping-pong latency with them vs without\n"
		"options:\n"
		"  -d, --ib-dev NAME     device (default: the first)\n"
		"  -n, --iters N         qp_rate and mr_rate iterations (default 10000)\n"
		"  -s, --size BYTES      mr_rate region size (default 4096)\n"
		"  -c, --clients C       scale: device contexts (default 1000)\n"
		"  -q, --qps Q           scale: idle QPs over them (default 10000)\n"
		"  -l, --lat-iters N     scale: ping-pong round trips (default 10000)\n"
		"  -R, --reset           scale: leave idle QPs in RESET (default: RTS pairs)\n"
		"  -p, --daemon-pid PID  the daemon (default: the peer of its socket)\n"
		"  -j, --json            one JSON object on stdout\n"
		"  -h, --help            this text\n"
		"The daemon's limits must allow it: [limits] connections, qps, and\n"
		"max_clients (see rdmabrokerd.conf(5)).  Exit: 0 ok, 1 failed, 2 usage.\n",
		scale_prog);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "ib-dev", required_argument, NULL, 'd' },
		{ "iters", required_argument, NULL, 'n' },
		{ "size", required_argument, NULL, 's' },
		{ "clients", required_argument, NULL, 'c' },
		{ "qps", required_argument, NULL, 'q' },
		{ "lat-iters", required_argument, NULL, 'l' },
		{ "reset", no_argument, NULL, 'R' },
		{ "daemon-pid", required_argument, NULL, 'p' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct scale_opts o = {
		.iters = 10000, .size = 4096, .clients = 1000, .qps = 10000,
		.lat_iters = 10000, .connect = true, .daemon_pid = 0,
	};
	json_object *out = NULL;
	uint64_t v;
	int opt, ret;

	while ((opt = getopt_long(argc, argv, "d:n:s:c:q:l:Rp:jh", longopts, NULL)) != -1) {
		switch (opt) {
		case 'd':
			o.dev_name = optarg;
			break;
		case 'n':
			if (!parse_u64(optarg, 1, 100000000, &o.iters))
				goto bad;
			break;
		case 's':
			if (!parse_u64(optarg, 1, 1ull << 30, &o.size))
				goto bad;
			break;
		case 'c':
			if (!parse_u64(optarg, 1, 100000, &v))
				goto bad;
			o.clients = (uint32_t)v;
			break;
		case 'q':
			if (!parse_u64(optarg, 0, 1000000, &v))
				goto bad;
			o.qps = (uint32_t)v;
			break;
		case 'l':
			if (!parse_u64(optarg, 1, 100000000, &o.lat_iters))
				goto bad;
			break;
		case 'R':
			o.connect = false;
			break;
		case 'p':
			if (!parse_u64(optarg, 1, 1u << 30, &v))
				goto bad;
			o.daemon_pid = (long)v;
			break;
		case 'j':
			o.json = true;
			break;
		case 'h':
			scale_usage(stdout);
			return 0;
		default:
			scale_usage(stderr);
			return 2;
		}
	}
	if (optind != argc - 1) {
		fprintf(stderr, "%s: one command: qp_rate, mr_rate or scale\n", scale_prog);
		scale_usage(stderr);
		return 2;
	}
	o.cmd = argv[optind];
	if (o.json)
		out = json_object_new_object();
	if (!strcmp(o.cmd, "qp_rate")) {
		ret = scale_qp_rate(&o, out);
	} else if (!strcmp(o.cmd, "mr_rate")) {
		ret = scale_mr_rate(&o, out);
	} else if (!strcmp(o.cmd, "scale")) {
		ret = scale_scale(&o, out);
	} else {
		fprintf(stderr, "%s: unknown command %s\n", scale_prog, o.cmd);
		json_object_put(out);
		return 2;
	}
	if (out && ret == 0)
		printf("%s\n", json_object_to_json_string_ext(out, JSON_C_TO_STRING_PRETTY |
							       JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(out);
	return ret == 0 ? 0 : 1;

bad:
	fprintf(stderr, "%s: bad value for -%c: %s\n", scale_prog, opt, optarg);
	return 2;
}
