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
 * path: rings to real queues, real completions to CQ rings, progress),
 * verbs-sched.c (which client's send WQEs go to the device next: users
 * in turn by bytes, with the weights and caps of daemon/sched.c).
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
#include "proto/spin.h"

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
struct verbs_dev;

/*
 * A user's send work on one device (verbs-sched.c): its QPs with send
 * WQEs still in their rings, served by deficit round robin over bytes
 * with the others' (one flow per tenant, as the soft engine's).
 */
struct verbs_flow {
	LIST_ENTRY(verbs_flow) all;	/* verbs_dev.flows */
	TAILQ_ENTRY(verbs_flow) link;	/* verbs_dev.round */
	TAILQ_HEAD(, verbs_qp) qps;	/* send WQEs waiting in their rings */
	struct verbs_dev *vd;
	struct rb_sched_tenant *tenant;	/* NULL: verbs_dev.flow0 */
	unsigned int refs;		/* QPs that belong to it */
	int64_t deficit;		/* bytes it may still post this turn */
	uint64_t quantum;		/* the last one it was given */
	uint64_t inflight;		/* its bytes on the device (this epoch) */
	uint32_t early_seq;		/* the head turn it was last served early in */
	bool in_round;
	bool turn;			/* its quantum was added: serving it */
	bool parked;			/* its tenant's bucket is empty */
	struct event *ev_unpark;
};

struct verbs_dev {
	struct rb_device dev;		/* must be first; dev.priv is this */
	struct ibv_context *ctx;	/* the daemon's own context */
	struct ibv_comp_channel *chan;	/* every real CQ reports here */
	uint32_t ncqs;			/* real CQs: the channel lives with them */
	struct event_base *base;	/* the daemon's loop */
	struct event *ev_chan, *ev_async;
	struct rb_hash qps;		/* by QP number */
	struct rb_hash mrs;		/* by lkey */
	struct rb_hash rkeys;		/* MRs by rkey (verbs_rkey_check) */
	TAILQ_HEAD(, verbs_qp) active;	/* QPs whose rings are polled */
	TAILQ_HEAD(, verbs_srq) active_srqs;
	TAILQ_HEAD(, verbs_cq) hot;	/* CQs polled rather than armed */
	/* verbs-sched.c: flows with send work, and what is on the device. */
	TAILQ_HEAD(, verbs_flow) round;	/* flows with send work, not parked */
	LIST_HEAD(, verbs_flow) flows;	/* every flow but flow0 */
	struct verbs_flow flow0;	/* QPs of no tenant (or no memory) */
	uint64_t inflight;		/* send bytes posted, not completed */
	uint32_t epoch;			/* bumped when the window is reset */
	uint32_t turn_seq;		/* bumped when a flow's turn begins */
	bool window_hit;		/* a WR was refused for the window */
	uint64_t full_since;		/* the window is full since, or 0 */
	struct event *ev_stall;		/* a full window that never drains */
	/* verbs-post.c: the core is kept until then for a reply on reply_qp. */
	uint64_t reply_until;
	struct verbs_qp *reply_qp;
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
	struct rb_hnode rnode;		/* by rkey */
	struct ibv_mr *real;
};

struct verbs_cq {
	struct rb_cq cq;		/* must be first */
	struct ibv_cq *real;
	TAILQ_ENTRY(verbs_cq) hot_link;
	bool hot;			/* polled; otherwise armed */
	/* Its QPs' last batch of sends was bulk (VERBS_BULK_BYTES): the
	 * next completion is far, so it is armed at its first empty poll
	 * rather than polled for the idle budget (verbs-post.c). */
	bool bulk;
	uint64_t last_ns;		/* last completion, or when it got hot */
};

/* What the driver remembers of a send WQE until its completion. */
struct verbs_swr {
	uint64_t wr_id;			/* the client's */
	uint32_t wc_opcode;		/* enum ibv_wc_opcode */
	bool signaled;			/* by the client */
	bool extra;			/* signaled on the device by us */
	uint32_t bytes;			/* its data, for rdmactl stat */
	uint32_t cost;			/* in the device's window, 0: not */
	uint32_t epoch;			/* of the window it counts in */
};

struct verbs_qp {
	struct rb_qp qp;		/* must be first */
	struct rb_hnode node;		/* by QP number */
	struct ibv_qp *real;
	TAILQ_ENTRY(verbs_qp) link;	/* in the active list */
	bool active;
	/* verbs-sched.c: its user's flow, and its place there. */
	struct verbs_flow *flow;
	TAILQ_ENTRY(verbs_qp) flow_link;
	bool queued;			/* in flow->qps: send WQEs waiting */
	bool held;			/* ... held back by a cap */
	uint64_t last_ns;		/* last WQE taken */
	bool bulk;			/* its last send batch was bulk: sleeps
					 * at its first idle pass */
	uint16_t gen;			/* bumped at RESET: older completions drop */
	uint32_t sq_take, sq_cons;	/* taken from the SQ ring / completed */
	/* Signaled on the device (verbs-post.c, sq_signal): the WR after
	 * the last signaled one, one of ours in flight, bytes since. */
	uint32_t sig_end;
	bool extra_out;
	uint64_t unsig_bytes;
	/* A receive completion went to its client at reply_t0 (0: none
	 * waiting for a reply), the daemon keeping its core (reply_polled)
	 * or not; whether keeping it pays, learnt (verbs-post.c). */
	uint64_t reply_t0;
	bool reply_polled;
	struct rb_spin_policy reply_spin;
	uint32_t rq_take, rq_cons;
	/* Its AV names this device's own port (a LID or GID of it): its
	 * peer, dest_qp_num, is a QP of this device (verbs_rkey_check). */
	bool peer_local;
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
/*
 * A WRITE, READ or atomic of vq (RC or UC) whose responder is a QP of the
 * same device: the rkey, range and access checked as that device's
 * responder does (an MR of the responder's PD, remote access on the MR
 * and the QP, the range inside it, an atomic's address aligned).
 * IBV_WC_SUCCESS, or the requester's status (IBV_WC_REM_ACCESS_ERR,
 * IBV_WC_REM_INV_REQ_ERR); a failure moves the responder to ERR with its
 * async event, as the device's NAK would.  *drop: a UC WRITE the device
 * would drop without a word (moves nothing, completes well).
 */
uint32_t verbs_rkey_check(struct verbs_qp *vq, uint32_t op, uint32_t rkey,
			  uint64_t addr, uint64_t len, bool *drop);
/* After a modify of the AV: whether it names this device (peer_local). */
void verbs_qp_peer(struct verbs_qp *vq, const struct ibv_ah_attr *ah);

/* verbs-post.c */
void verbs_qp_activate(struct verbs_qp *vq, uint64_t now);
void verbs_qp_deactivate(struct verbs_qp *vq);
void verbs_qp_state(struct verbs_qp *vq, enum ibv_qp_state from);
/* Nothing taken, nothing in flight (a new QP, or one back in RESET): our
 * indices at the client's producer, and doorbells asked for, since
 * nothing polls the rings until one rings. */
void verbs_qp_restart(struct verbs_qp *vq);
/* The QP is reset or gone: no answer is waited for on it. */
void verbs_reply_forget(struct verbs_qp *vq);
void verbs_srq_activate(struct verbs_srq *vs, uint64_t now);
void verbs_srq_deactivate(struct verbs_srq *vs);
void verbs_cq_heat(struct verbs_cq *vc, uint64_t now);
void verbs_cq_cool(struct verbs_cq *vc);
/* The device's completion channel is readable. */
void verbs_chan_cb(int fd, short what, void *arg);
/* Nested over another rdmabrokerd: its library's rdmab_cq_engine_cpu
 * (the CPU its engine last ran on, for a CQ of ours there), else NULL. */
extern int (*verbs_engine_cpu)(struct ibv_cq *cq);
/* Back to the mask the daemon had before it kept off that engine. */
void verbs_keep_release(void);
unsigned int verbs_progress(struct rb_device *dev, uint64_t now_ns,
			    uint64_t idle_ns);
uint64_t verbs_now_ns(void);
/* verbs-post.c: the QP's send WQEs there are (false: none, or the SQ is
 * not taken in this state); *prod the ring's producer as taken. */
bool verbs_sq_pending(struct verbs_qp *vq, uint32_t *prod);

/*
 * verbs-post.c for verbs-sched.c: post the QP's next send WQEs while
 * admit() lets each go (its cost, the bytes it moves); the result says
 * why it stopped.
 */
enum verbs_take {
	VERBS_TAKE_EMPTY,		/* nothing left to take */
	VERBS_TAKE_REFUSED,		/* admit() said no to the next */
	VERBS_TAKE_BATCH,		/* a batch went: there may be more */
};
typedef bool verbs_admit_fn(struct verbs_flow *f, uint64_t cost);
enum verbs_take verbs_sq_take(struct verbs_qp *vq, uint64_t now, verbs_admit_fn *admit);

/* verbs-sched.c */
/* A WR of this many bytes costs at least this much (as on the soft device). */
#define VERBS_WR_COST		64
void verbs_sched_init(struct verbs_dev *vd);
void verbs_sched_fini(struct verbs_dev *vd);
/* The QP has send WQEs waiting: its flow serves it. */
void verbs_sched_enqueue(struct verbs_qp *vq);
/* Its send WQEs are gone (RESET, destroy): out of its flow, and what it
 * had on the device out of the window. */
void verbs_sched_forget(struct verbs_qp *vq);
void verbs_sched_qp_gone(struct verbs_qp *vq);
/* A WR admitted and posted (counted in the window), admitted and not
 * posted after all, retired by a completion. */
void verbs_sched_posted(struct verbs_qp *vq, struct verbs_swr *s, uint64_t cost,
			uint64_t bytes, uint64_t now);
void verbs_sched_unadmit(struct verbs_qp *vq, uint64_t cost);
void verbs_sched_retired(struct verbs_qp *vq, struct verbs_swr *s);
/* No other user's sends wait for the device, and no user is held by a
 * cap: nobody's turn depends on how soon the daemon sees a completion. */
bool verbs_sched_alone(const struct verbs_qp *vq);
/* Before a modify from RTS to ERR (driver.h, qp_take_posted): its posted
 * sends go to the device now, out of turn and past the window (its
 * tenant's cap still holds), charged to its flow's next turns. */
void verbs_sched_take_posted(struct verbs_qp *vq, uint64_t now);
/* The driver op: its receives, then its sends. */
void verbs_qp_take_posted(struct rb_qp *qp);
/* One turn of the flows; RB_PROGRESS_* bits. */
unsigned int verbs_sched_progress(struct verbs_dev *vd, uint64_t now);

#endif /* RB_DRIVERS_VERBS_VERBS_H */
