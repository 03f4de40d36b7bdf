/* SPDX-License-Identifier: MIT */
/*
 * The verbs pass-through driver (drivers/verbs/): the host's libibverbs
 * devices, brokered.  The daemon opens each real device with its own
 * context and creates the real PD, MR, CQ, QP, SRQ and AH on a client's
 * behalf; the client keeps the same shared rings as on the soft device,
 * and this driver moves their WQEs to the real queues (after checking
 * every SGE against the client's own MRs) and the real completions into
 * the client's CQ rings.  Clients see the real QP numbers, keys, LIDs and
 * GIDs, since remote peers use them on the wire.
 *
 * Files: verbs.c (configuration, devices, queries, async events),
 * verbs-obj.c (the control verbs on real objects), verbs-post.c (the data
 * path: rings to real queues, real completions to CQ rings, progress).
 */
#ifndef RB_DRIVERS_VERBS_VERBS_H
#define RB_DRIVERS_VERBS_VERBS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>

#include <infiniband/verbs.h>

#include "daemon/objects.h"
#include "drivers/driver.h"
#include "drivers/hash.h"

/* Settings of rdmabrokerd.conf [verbs] (plain data: memcmp'd on reload). */
struct verbs_config {
	int enable;			/* default no */
	char devices[512];		/* "all" or NAME[,NAME...] */
	char name_prefix[32];		/* prepended to the host's names */
	uint32_t spin_us;		/* poll an idle queue this long */
};

struct verbs_qp;
struct verbs_srq;
struct verbs_cq;

struct verbs_dev {
	struct rb_device dev;		/* must be first; dev.priv is this */
	struct ibv_context *ctx;	/* the daemon's own context */
	struct ibv_comp_channel *chan;	/* every real CQ reports here */
	uint32_t ncqs;			/* real CQs: the channel lives with them */
	struct event_base *base;	/* the daemon's loop */
	struct event *ev_chan, *ev_async;
	struct rb_hash qps;		/* by QP number */
	struct rb_hash mrs;		/* by lkey */
	TAILQ_HEAD(, verbs_qp) active;	/* QPs whose rings are polled */
	TAILQ_HEAD(, verbs_srq) active_srqs;
	TAILQ_HEAD(, verbs_cq) hot;	/* CQs polled rather than armed */
	bool fatal;			/* the device is gone: every op fails */
	char host_name[IBV_SYSFS_NAME_MAX];
};

struct verbs_pd {
	struct rb_pd pd;		/* must be first */
	struct ibv_pd *real;
};

struct verbs_mr {
	struct rb_mr mr;		/* must be first */
	struct rb_hnode node;		/* by lkey */
	struct ibv_mr *real;
};

struct verbs_cq {
	struct rb_cq cq;		/* must be first */
	struct ibv_cq *real;
	TAILQ_ENTRY(verbs_cq) hot_link;
	bool hot;			/* polled; otherwise armed */
	uint64_t last_ns;		/* last completion, or when it got hot */
};

/* What the driver remembers of a send WQE until its completion. */
struct verbs_swr {
	uint64_t wr_id;			/* the client's */
	uint32_t wc_opcode;		/* enum ibv_wc_opcode */
	bool signaled;
};

struct verbs_qp {
	struct rb_qp qp;		/* must be first */
	struct rb_hnode node;		/* by QP number */
	struct ibv_qp *real;
	TAILQ_ENTRY(verbs_qp) link;	/* in the active list */
	bool active;
	uint64_t last_ns;		/* last WQE taken */
	uint16_t gen;			/* bumped at RESET: older completions drop */
	uint32_t sq_take, sq_cons;	/* taken from the SQ ring / completed */
	uint32_t rq_take, rq_cons;
	struct verbs_swr *sw;		/* per SQ slot */
	uint64_t *rw;			/* per RQ slot: the client's wr_id */
	/* A WQE the driver refused: completes with err_status once all
	 * before it have, then the rest flush on the real QP (in ERR). */
	bool sq_err, rq_err;
	uint32_t sq_err_at, rq_err_at;
	uint32_t sq_err_status, rq_err_status;
};

struct verbs_srq {
	struct rb_srq srq;		/* must be first */
	struct ibv_srq *real;
	TAILQ_ENTRY(verbs_srq) link;
	bool active;
	uint64_t last_ns;
	uint32_t take;			/* taken from the ring (= its cons) */
	uint32_t nslots;
	uint64_t *slot_wr;		/* the client's wr_id of a posted slot */
	uint32_t *free;			/* free slots, a stack */
	uint32_t nfree;
};

struct verbs_ah {
	struct rb_ah ah;		/* must be first */
	struct ibv_ah *real;
};

static inline struct verbs_dev *verbs_dev(struct rb_device *dev)
{
	return (struct verbs_dev *)dev->priv;
}

/* verbs.c */
void verbs_destroy(struct rb_device *dev);
int verbs_query_device(struct rb_device *dev, struct ibv_device_attr_ex *attr);
int verbs_query_port(struct rb_device *dev, uint8_t port_num, struct ibv_port_attr *attr);
int verbs_query_gid(struct rb_device *dev, uint8_t port_num, int index,
		    union ibv_gid *gid, enum ibv_gid_type *type);
int verbs_query_pkey(struct rb_device *dev, uint8_t port_num, int index, uint16_t *pkey);
extern const struct rb_driver rb_verbs_driver;

/* verbs.c: the completion channel, made with the first CQ and gone with
 * the last, so an idle daemon holds nothing on the device. */
int verbs_chan_open(struct verbs_dev *vd);
void verbs_chan_close(struct verbs_dev *vd);

/* verbs.c: the device is gone; its clients get IBV_EVENT_DEVICE_FATAL. */
void verbs_dev_fatal(struct verbs_dev *vd, const char *why);

/* verbs-obj.c */
extern const struct rb_driver_ops verbs_ops;
struct verbs_qp *verbs_qp_find(struct verbs_dev *vd, uint32_t qp_num);
struct verbs_mr *verbs_mr_find(struct verbs_dev *vd, uint32_t lkey);

/* verbs-post.c */
void verbs_qp_activate(struct verbs_qp *vq, uint64_t now);
void verbs_qp_deactivate(struct verbs_qp *vq);
void verbs_qp_state(struct verbs_qp *vq, enum ibv_qp_state from);
/* Nothing taken, nothing in flight (a new QP, or one back in RESET): our
 * indices at the client's producer, and doorbells asked for, since
 * nothing polls the rings until one rings. */
void verbs_qp_restart(struct verbs_qp *vq);
void verbs_srq_activate(struct verbs_srq *vs, uint64_t now);
void verbs_srq_deactivate(struct verbs_srq *vs);
void verbs_cq_heat(struct verbs_cq *vc, uint64_t now);
void verbs_cq_cool(struct verbs_cq *vc);
/* The device's completion channel is readable. */
void verbs_chan_cb(int fd, short what, void *arg);
unsigned int verbs_progress(struct rb_device *dev, uint64_t now_ns,
			    uint64_t idle_ns);
uint64_t verbs_now_ns(void);

#endif /* RB_DRIVERS_VERBS_VERBS_H */
