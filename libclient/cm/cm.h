/* SPDX-License-Identifier: MIT */
/*
 * librdmabroker-cm: the librdmacm ABI on top of rdmabrokerd's connection
 * manager (docs/cm.md, librdmabroker-cm(7)).  Internal declarations.
 *
 * The library holds one connection to the daemon per process (cmc_rpc),
 * on which every CM request goes and which owns the process's ids; an
 * event channel is a socket the daemon writes CmEvent frames to, so its
 * fd polls like ucma's.  Verbs objects (the QP, its CQs, PDs) are made
 * through the ordinary libibverbs API, i.e. librdmabroker.
 */
#ifndef RB_LIBCLIENT_CM_H
#define RB_LIBCLIENT_CM_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <infiniband/verbs.h>
#include <rdma/rdma_cma.h>
#include <rdma/rdma_verbs.h>

#include "proto/rdmabroker.pb-c.h"

#define RB_EXPORT __attribute__((visibility("default")))

/* librdmabroker's RDMABROKER_PRIVATE_1.0 (libclient/qp.c): a QP created
 * and moved through mods in one round trip where the daemon can. */
struct ibv_qp *rdmab_create_qp_modify(struct ibv_qp_init_attr_ex *attr,
				      const struct ibv_qp_attr *mods,
				      const int *masks, size_t nmods);

struct cmc_channel {
	struct rdma_event_channel ch;	/* first: the application's */
	uint32_t handle;
	pthread_mutex_t lock;		/* one reader at a time */
	uint8_t *rxbuf;
	bool eof;			/* the daemon went away */
	/* rdma_destroy_event_channel with a reader blocked in
	 * rdma_get_cm_event (rping, cmtime: their event thread): the
	 * reader keeps it (readers > 0) and, woken by the daemon's close,
	 * blocks for good as on a closed ucma fd.  Atomics, no lock: the
	 * reader holds `lock` while it sleeps. */
	unsigned int readers;
	bool destroyed;
};

/* What the daemon said of an id last (CmIdInfo), host order. */
struct cmc_info {
	uint32_t state;
	uint32_t dev_index;
	bool has_dev;
	union ibv_gid sgid, dgid;
	uint8_t sgid_index;
	uint16_t pkey;
	enum ibv_mtu mtu;
	uint32_t remote_qpn, remote_psn, local_psn, qkey;
	uint8_t resp_res, init_depth, retry, rnr_retry, tos, timeout;
};

struct cmc_id {
	struct rdma_cm_id id;		/* first: the application's */
	uint32_t handle;
	struct cmc_info info;
	struct ibv_sa_path_rec path;
	bool sync;			/* made with a NULL channel */
	struct cmc_channel *own_channel;	/* sync: ours to destroy */
	/* rdma_destroy_id waits until every event it was given is acked. */
	pthread_mutex_t mut;
	pthread_cond_t cond;
	uint32_t events_delivered, events_acked;
	bool removal_reported;		/* DEVICE_REMOVAL given */
	/* rdma_create_ep's passive template for rdma_get_request */
	struct ibv_qp_init_attr *qp_init_attr;
	bool own_cqs;			/* rdma_create_qp made the CQs */
	/* The daemon moves id.qp to RTR and RTS (CmConnectReq.qp_handle):
	 * the library only follows its state. */
	bool daemon_qp;
	struct cmc_join *joins;		/* multicast groups joined */
	struct cmc_id *next;		/* its chain of cmc.ids */
	bool linked;			/* in cmc.ids */
};

struct cmc_join {
	struct cmc_join *next;
	struct sockaddr_storage addr;
	union ibv_gid mgid;
	void *context;
	bool send_only;			/* no QP attached */
	bool attached;
};

struct cmc_event {
	struct rdma_cm_event event;	/* first: the application's */
	struct cmc_id *owner;		/* whose count the ack settles */
	uint8_t pdata[256];
};

/* cm.c */
int cmc_call(Rdmabroker__Request *req, Rdmabroker__Reply **reply,
	     int *fds, size_t max_fds, size_t *nfds);
/* errno from a -errno, and -1 (librdmacm's return convention). */
int cmc_err(int ret);

#endif /* RB_LIBCLIENT_CM_H */
