/* SPDX-License-Identifier: MIT */
/*
 * What the hostile control-socket clients share (tests/hostile/ctl-*.c):
 * raw connections to the daemon under test, a valid request of any type,
 * a client with one object of each kind, a full verbs round, and the
 * figures each prints.  The programs take the daemon from the runner's
 * environment (ctl_init): RDMABROKER_SOCKET, RB_DAEMON_PID, RB_LOG.
 */
#ifndef RB_TESTS_HOSTILE_CTL_LIB_H
#define RB_TESTS_HOSTILE_CTL_LIB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <infiniband/verbs.h>

#include "proto/rpc.h"

extern const char *sock_path;
extern pid_t daemon_pid;
extern const char *log_path;
extern long page_size;

struct ctl_figures {
	uint64_t datagrams, mutations, refusals, accepted, disconnects;
	uint64_t rounds, cases, log_checked;
};
extern struct ctl_figures fig;

void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
#define CHECK(cond, ...) do { if (!(cond)) die(__VA_ARGS__); } while (0)

/* The daemon still runs (dies otherwise). */
void daemon_alive(const char *when);

/* A connection to the daemon: -errno (_nb), or dies. */
int raw_connect_nb(bool nonblock);
int raw_connect(void);
/* 1 with *out (NULL if undecodable), 0 on EOF or reset. */
int read_reply(int fd, Rdmabroker__Reply **out);
int send_req(int fd, Rdmabroker__Request *req, const int *fds, size_t nfds);
int call(int fd, Rdmabroker__Request *req, const int *fds, size_t nfds,
	 Rdmabroker__Reply **out);

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

Rdmabroker__Request *build(struct reqbuf *b, const struct conn *c,
			   Rdmabroker__Request__BodyCase t);

void mem_init(struct conn *c);
void conn_close(struct conn *c);
int call_type(struct conn *c, Rdmabroker__Request__BodyCase t,
	      Rdmabroker__Reply **out);
void must(struct conn *c, Rdmabroker__Request__BodyCase t,
	  Rdmabroker__Reply **out, const char *what);
void conn_open(struct conn *c, bool device);
void conn_setup(struct conn *c);
/* A fresh client completes open, PD, MR, CQ, QP, INIT and destroys all. */
void verbs_round(const char *when);

/* The daemon log (RB_LOG), and where the last check left it. */
extern long log_seen;
long log_size(void);
/* A line about a refusal since the last check (the log may lag a bit). */
void log_expect_refusal(const char *what);
/* req on c must be refused (status != 0), the daemon must log it. */
int refused(struct conn *c, Rdmabroker__Request *req, const int *fds,
	    size_t nfds, const char *what);

/* main's start and end: the daemon from the environment (usage on
 * stderr and exit 2 without it), then the figures of this mode. */
void ctl_init(const char *usage);
void ctl_figures(const char *mode);

#endif /* RB_TESTS_HOSTILE_CTL_LIB_H */
