/* SPDX-License-Identifier: MIT */
/*
 * The soft device across hosts: RoCEv2 between daemons (docs/roce.md).
 *
 *   roce-wire.c  headers, parser, ICRC (roce-wire.h)
 *   roce-gid.c   the GID table: the host's IP addresses from rtnetlink
 *                (libmnl), kept current as addresses come and go
 *   roce-io.c    the device's UDP socket on port 4791: batched
 *                recvmmsg/sendmmsg from the daemon's event loop, never
 *                blocking; checks and counts what arrives
 *   roce-ud.c    UD SENDs to and from other hosts
 *   roce-qp.c    per-QP state of connected QPs whose peer is on another
 *                host, and the QP's life (created on first use, dropped
 *                at RESET, RTR and destroy)
 *   roce-req.c   the requester: a SEND or WRITE cut into packets by the
 *                path MTU
 *   roce-resp.c  the responder: packets put together into messages
 *   roce-rc.c    RC: ACKs, retries, the requester's window
 *   roce-rd.c    RC READ and atomics: the responder's resources and
 *                responses, the requester's landing of them
 *   roce-dev.c   the state's life, with the device's
 *
 * The engine (soft-req.c, soft-resp.c) calls in through the few
 * functions below; a QP whose destination GID is one of the device's
 * own keeps the shared-memory path.
 */
#ifndef RB_DRIVERS_SOFT_ROCE_H
#define RB_DRIVERS_SOFT_ROCE_H

#include <stdbool.h>
#include <stdint.h>
#include <netinet/in.h>

#include <infiniband/verbs.h>

#include "daemon/objects.h"
#include "drivers/driver.h"
#include "drivers/hash.h"
#include "drivers/soft/soft-mem.h"
#include "drivers/soft/roce-wire.h"

struct event;
struct event_base;
struct mnl_socket;
struct rb_counter;
struct rb_qp_counters;
struct rb_device;
struct soft_qp;
union swqe;

/* GIDs of the port: 0 is the one chosen at start (or pinned), the
 * others the host's addresses. */
#define ROCE_GID_TBL_LEN	16
/* Datagrams taken per system call. */
#define ROCE_BATCH		32
/* Packets queued to send before they go, in one sendmmsg(): with GSO
 * a run of them is one send.  64 (up to 61 packets of a 1024-byte MTU
 * a send) measured slower for 1 MiB WRITEs over IPv6 in three paired
 * rounds (438-642 MB/s against 874-1020), with no loss or retry; the
 * suspect, not confirmed: the whole RC window (64) was built before
 * any of it left, so the peer's work and ours no longer overlap. */
#define ROCE_TX_SLOTS		32
/* The largest UDP payload we send or take: a 4096-byte MTU's packet. */
#define ROCE_PKT_MAX		(ROCE_HDR_MAX + 4096 + 4 + ROCE_ICRC_LEN)
/* A receive buffer: with UDP_GRO a datagram holds up to 64 KiB of
 * packets of one size (an IPv6 payload's 16-bit length less UDP's 8). */
#define ROCE_RX_BUF		(65535 - 8)

/* Counters, as `rdma statistic` names them where it has a name. */
struct roce_stats {
	uint64_t rx_packets, rx_bytes, tx_packets, tx_bytes;
	uint64_t rx_icrc_errors;	/* ICRC mismatch: dropped */
	uint64_t rx_malformed;		/* the parser refused it */
	uint64_t rx_unknown_qp;		/* no such QP, or not of that type */
	uint64_t rx_qkey_errors;	/* UD: Q_Key mismatch */
	uint64_t rx_no_recv;		/* UD: no receive posted: dropped */
	uint64_t rx_unsupported;	/* a transport not served across hosts yet */
	uint64_t tx_dropped;		/* socket full, too large, no route */
	uint64_t rx_seq_errors;		/* PSN out of order (UC: message dropped;
					 * RC: NAKed) */
	uint64_t rx_access_errors;	/* a WRITE outside what its rkey allows */
	uint64_t rx_duplicates;		/* RC: a request taken before, re-ACKed */
	uint64_t tx_acks;		/* RC: ACKs and NAKs sent */
	uint64_t tx_rnr_naks;		/* RC: no receive posted */
	uint64_t rx_rnr_naks, rx_naks;	/* RC requester: received */
	uint64_t retries;		/* RC: resent after a timeout or NAK */
	uint64_t rnr_retries;		/* RC: resent after an RNR NAK */
	uint64_t retry_exceeded;	/* RC: gave up (RETRY_EXC, RNR_RETRY_EXC) */
	uint64_t rx_wrong_peer;		/* RC/UC: not from the QP's destination
					 * GID, or an ACK past what was sent */
	uint64_t rx_reads, rx_atomics;	/* RC responder: executed */
	uint64_t rx_dup_reads;		/* RC: a READ sent again, re-executed */
	uint64_t rx_dup_atomics;	/* RC: an atomic sent again, answered
					 * from the saved result */
	uint64_t rx_dup_dropped;	/* RC: a READ/atomic sent again that no
					 * responder resource holds: dropped */
	uint64_t rx_bad_resp;		/* RC requester: a response out of place
					 * (opcode, length, PSN): dropped */
	uint64_t mtu_clamped;		/* QPs whose path_mtu the route could not
					 * carry: sent at a smaller one */
	uint64_t tx_gso;		/* IPv6: sends of several packets cut by
					 * the kernel (UDP_SEGMENT) */
	uint64_t rx_gro;		/* datagrams that held several packets
					 * (UDP_GRO), cut here */
	uint64_t rx_ipv4_gso;		/* IPv4 packets whose ICRC matched with
					 * a nonzero identification: segments
					 * of a GSO send */
	uint64_t rx_uc_tail;		/* UC: a MIDDLE or LAST with no message
					 * in progress (an earlier packet of it
					 * was lost): dropped */
};

/* Count event f on the device and, if q, on the QP. */
#define ROCE_COUNT(r, q, f) do {			\
		(r)->st.f++;				\
		if (q)					\
			(q)->st.f++;			\
	} while (0)

/* One packet to send: header bytes, then a payload, both copied. */
struct roce_tx {
	struct sockaddr_in6 to;		/* v4-mapped for IPv4 */
	struct in6_pktinfo from;	/* the source address (a GID of ours) */
	uint16_t len;
	uint8_t id;			/* IPv4: the identification its ICRC
					 * holds (its index in a GSO send) */
	uint8_t buf[ROCE_PKT_MAX];
};

/* The largest SEND the responder puts together (its staging grows to it). */
#define ROCE_MSG_MAX		(16u << 20)

struct soft_swqe_done;

/* RC: one send WQE on the wire until an ACK covers it (roce-rc.c). */
struct roce_fl {
	struct soft_swqe_done *d;	/* its completion, pending meanwhile */
	uint32_t opcode;		/* IBV_WR_* */
	uint64_t remote_addr;
	uint32_t rkey, imm;
	bool solicited;
	bool fence;			/* waits for the READs/atomics before it */
	bool rd;			/* a READ or an atomic */
	uint64_t compare, swap;		/* atomics */
	uint64_t len;
	uint32_t first_psn, npkts;	/* READ: npkts response packets */
	uint32_t sent;			/* its packets sent (this round); READ:
					 * response packets asked for */
	uint32_t got;			/* READ: response packets landed */
	uint32_t chunk;			/* READ: the first packet (from 0) of the
					 * request last asked */
	uint32_t inline_len;		/* inline: its bytes here */
	uint32_t num_sge;		/* else its SGEs, looked up at each sending */
	struct rb_sge sge[RB_MAX_SGE];
	uint8_t inline_data[512];
};

/* A connected QP of this device whose peer is on another host. */
struct roce_qp {
	struct rb_hnode node;		/* by QP number, in roce_dev.qps */
	struct soft_qp *qp;
	struct roce_stats st;		/* its own counters (roce_dev_qp_counters) */
	uint32_t mtu;			/* path MTU in bytes, within the route's */
	/* RC requester (roce-rc.c) */
	struct roce_fl *fl;		/* in flight: a FIFO of fl_cap */
	uint32_t fl_cap, fl_head, fl_n;
	uint32_t next_psn;
	uint32_t una;			/* the oldest PSN not acknowledged */
	uint32_t retry_left, rnr_left;
	bool rnr_wait;			/* ev_retry is the RNR timer */
	uint32_t resend_psn;		/* from where, after it */
	struct event *ev_retry;
	uint32_t implied_una;		/* an implied NAK resent from here */
	bool implied;
	/* RC responder */
	struct roce_res *res;		/* READ/atomic resources, a ring */
	uint32_t res_cap, res_next;
	uint32_t msn;
	bool nak_sent;			/* a sequence NAK is out */
	bool have_peer;			/* a request came: from peer to local */
	uint8_t peer[16], local[16];
	/* responder */
	uint32_t epsn;			/* the PSN expected next */
	bool in_msg;			/* a message is coming in */
	bool write;			/* it is a WRITE (else a SEND) */
	uint64_t off;			/* its bytes so far */
	uint8_t *stage;			/* SEND: put together here */
	size_t stage_cap;
	struct mem_seg wseg;		/* WRITE: where it goes */
	uint64_t wlen;
};

/* RC responder: one READ or atomic it executed, for its duplicates
 * (IBTA 9.7.5.1.3): max_dest_rd_atomic of them, the oldest reused. */
struct roce_res {
	bool used, atomic;
	uint32_t psn, npkts;		/* READ: its response PSNs */
	uint64_t orig;			/* atomic: the value it returned */
};

/*
 * An RC responder gone (its QP destroyed) that still answers the last
 * requests it took, for ROCE_GHOST_NS: a requester whose last ACK was
 * lost resends, and would otherwise retry out against a peer that had
 * everything (a ping-pong's server exits once it has its last message).
 * Like TCP's TIME-WAIT; IBTA leaves a destroyed QP silent.
 */
#define ROCE_GHOSTS		64
#define ROCE_GHOST_NS		(2ull * 1000000000)
struct roce_ghost {
	uint64_t until_ns;		/* 0: unused */
	uint32_t qpn, dest_qpn, epsn, msn;
	uint8_t peer[16], local[16];
};

struct roce_dev {
	struct rb_device *dev;
	struct event_base *base;
	/* roce-gid.c */
	union ibv_gid gid[ROCE_GID_TBL_LEN];
	bool pinned;			/* gid_address set: GID 0 alone */
	struct mnl_socket *nl;		/* address changes, or NULL */
	struct event *ev_nl;
	/* roce-io.c */
	int fd;				/* UDP [::]:4791, or -1: no wire */
	struct event *ev_rx, *ev_tx;
	struct roce_tx *tx;		/* ROCE_TX_SLOTS slots */
	unsigned int ntx;		/* queued, flushed on ev_tx */
	bool gso;			/* the kernel takes UDP_SEGMENT */
	struct roce_wire_idcache idtx, idrx;	/* IPv4 GSO's ICRC values */
	uint8_t *rx;			/* ROCE_BATCH buffers of ROCE_RX_BUF */
	struct roce_io_rxh *rxh;	/* recvmmsg()'s headers, made once */
	struct roce_stats st;
	struct rb_hash qps;		/* struct roce_qp by QP number */
	struct roce_ghost ghost[ROCE_GHOSTS];
	unsigned int ghost_next;	/* the slot taken next, round robin */
	uint32_t gsi_psn;		/* roce-gsi.c: QP1's next PSN */
};

/* soft.c: create and tear down (roce-dev.c).  gid0 is GID 0; pinned
 * when gid_address named it.  wire: bind the UDP socket.  Never fails
 * the device: without netlink or the port it keeps what it can, and
 * logs why. */
struct roce_dev *roce_dev_create(struct rb_device *dev, struct event_base *base,
				 const union ibv_gid *gid0, bool pinned, bool wire);
void roce_dev_destroy(struct roce_dev *r);

/* roce-dev.c: the counters by name, for rdmactl dev stat. */
unsigned int roce_dev_counters(const struct roce_dev *r, struct rb_counter *out,
			       unsigned int max);
/* roce-dev.c: the counters of each QP with state here, for rdmactl dev
 * stat NAME qp (the driver's stat_qp_counters). */
unsigned int roce_dev_qp_counters(struct roce_dev *r, unsigned int skip,
				  struct rb_qp_counters *out, unsigned int max);
/* roce-dev.c: dgid is one of the device's GIDs (the shared-memory
 * path); dgid is a unicast GID of another host and the wire is up. */
bool roce_local(const struct roce_dev *r, const union ibv_gid *dgid);
bool roce_remote(const struct roce_dev *r, const union ibv_gid *dgid);

/* roce-gid.c */
int roce_gid_init(struct roce_dev *r);
void roce_gid_fini(struct roce_dev *r);
/* Entry index (zeros when unused), -EINVAL out of the table. */
int roce_gid_query(const struct roce_dev *r, int index, union ibv_gid *gid);
/* gid is one of ours: its index, else -1. */
int roce_gid_find(const struct roce_dev *r, const uint8_t gid[16]);

/* roce-io.c */
int roce_io_init(struct roce_dev *r);
void roce_io_fini(struct roce_dev *r);
/* A slot to build one packet in (to, from, buf, len), or NULL: the
 * batch is full and could not be flushed (the packet is dropped and
 * counted). */
struct roce_tx *roce_io_tx_slot(struct roce_dev *r);
/* The slot's packet is built (len bytes without the ICRC): add the ICRC
 * and queue it; it leaves within this turn of the loop. */
void roce_io_tx_commit(struct roce_dev *r, struct roce_tx *t);
/* From the engine's pass (soft.c): send what is built, take what came
 * for connected QPs; true if it did anything. */
bool roce_io_poll(struct roce_dev *r);
/* The MTU of the route to dgid (the IP packet's), or -errno. */
int roce_io_path_mtu(const uint8_t dgid[16]);
/* The flow of a packet between two GIDs (sport, dport host order). */
void roce_io_flow(struct roce_flow *f, const uint8_t src[16], const uint8_t dst[16],
		  uint16_t sport, uint16_t dport);

/* roce-qp.c */
/* qp is connected (UC, RC) and its destination GID is another host's. */
bool roce_qp_remote(const struct soft_qp *qp);
struct roce_qp *roce_qp_find(struct roce_dev *r, uint32_t qpn);
/* qp's path MTU in bytes: its path_mtu, or less where the route to its
 * peer would not carry such packets (roce-qp.c). */
uint32_t roce_qp_mtu(const struct soft_qp *qp);
/* A packet over flow comes from qp's destination (its AV's GID), as a
 * connected QP takes only from its peer. */
bool roce_qp_from_peer(const struct soft_qp *qp, const struct roce_flow *flow);
/* qp's state, made on first use; NULL out of memory. */
struct roce_qp *roce_qp_get(struct roce_dev *r, struct soft_qp *qp);
/* Hooks of soft-qp.c: qp moved to a new state (0, or -errno refusing
 * it: RC to another host is not built), qp goes. */
int roce_qp_modify(struct soft_qp *qp);
void roce_qp_gone(struct soft_qp *qp);
void roce_qp_fini(struct roce_dev *r);

/* roce-req.c: a slot for a packet of the connected qp to its peer (to
 * and from filled in), or NULL: no route (counted) or the batch full. */
struct roce_tx *roce_req_slot(struct soft_qp *qp);
/* roce-req.c: a UC SEND or WRITE (opcode IBV_WR_*) of qp to its peer on
 * another host; the completion status for the sender. */
uint32_t roce_req_send(struct soft_qp *qp, uint32_t opcode, uint64_t remote_addr,
		       uint32_t rkey, uint32_t imm, bool solicited,
		       const struct mem_seg *src, uint32_t ns, uint64_t len);
/* Packet k (from 0) of such a message of len bytes, with PSN psn, of
 * transport tr (ROCE_TR_UC, ROCE_TR_RC: AckReq on the last); 0, or the
 * completion status when the sender's memory cannot be read. */
uint32_t roce_req_packet(struct soft_qp *qp, uint8_t tr, uint32_t opcode,
			 uint64_t remote_addr, uint32_t rkey, uint32_t imm, bool solicited,
			 const struct mem_seg *src, uint32_t ns, uint64_t len, uint32_t k,
			 uint32_t psn);

/* roce-resp.c: a parsed UC request packet. */
void roce_resp_recv(struct roce_dev *r, const struct roce_pkt *p,
		    const struct roce_flow *flow);
/* Take the request packet p (its PSN the expected one) into q's message:
 * 0, -EAGAIN no receive posted (nothing taken), -EACCES outside the
 * rkey, -EINVAL malformed or not built. */
int roce_resp_take(struct roce_dev *r, struct roce_qp *q, const struct roce_pkt *p);

/* roce-rc.c */
int roce_rc_init(struct roce_qp *q);
void roce_rc_fini(struct roce_qp *q);
/* The send WQE w (d its completion) of the RC qp to another host: its
 * SGEs or inline bytes, len bytes in all.  IBV_WC_SUCCESS: in flight,
 * d->pending until ACKed; else the status to complete with now. */
uint32_t roce_rc_post(struct soft_qp *qp, struct soft_swqe_done *d,
		      const struct rb_send_wqe *w, const void *sge_or_inline,
		      uint64_t len);
/* A parsed RC packet (request or response). */
void roce_rc_recv(struct roce_dev *r, const struct roce_pkt *p,
		  const struct roce_flow *flow);
/* Hook of soft-comp.c: qp flushes; what is in flight completes so. */
void roce_rc_flush(struct soft_qp *qp);
/* q's QP goes: its responder lingers as a ghost (above). */
void roce_rc_linger(struct roce_dev *r, const struct roce_qp *q);

/* roce-rd.c: the responder's side of a READ or atomic request p to q
 * (its PSN the expected one): executed, answered; 0, or -EACCES
 * (remote access NAK) or -EINVAL (invalid request NAK). */
int roce_rd_request(struct roce_dev *r, struct roce_qp *q, const struct roce_pkt *p,
		    const struct roce_flow *flow);
/* A READ or atomic request p from before the expected PSN: re-executed
 * (READ) or answered from its saved result (atomic) when a responder
 * resource holds it, else dropped. */
void roce_rd_duplicate(struct roce_dev *r, struct roce_qp *q, const struct roce_pkt *p,
		       const struct roce_flow *flow);
/* Requester: the READ request of f (qp) for response packets [k, k+n). */
void roce_rd_ask(struct soft_qp *qp, const struct roce_fl *f, uint32_t k, uint32_t n);
/* Requester: the atomic request of f. */
void roce_rd_atomic_ask(struct soft_qp *qp, const struct roce_fl *f);
/* Requester: response p's payload (READ, packet f->got) or original
 * value (atomic) into f's memory: IBV_WC_SUCCESS or the status. */
uint32_t roce_rd_land(struct soft_qp *qp, struct roce_fl *f, const struct roce_pkt *p);
/* roce-rc.c: the RC response p of q to peer from local (payload: seg
 * bytes of the ns pieces src from off): 0, -ENOBUFS (the batch is full:
 * not sent) or -EFAULT (src could not be read). */
int roce_rc_emit(struct roce_dev *r, struct roce_qp *q, const uint8_t peer[16],
		 const uint8_t local[16], struct roce_pkt *p, const struct mem_seg *src,
		 uint32_t ns, uint64_t off, uint32_t seg);

/* roce-ud.c */
/*
 * A UD SEND of qp to dgid (not ours) from sgid_index: header, then len
 * bytes of the ns pieces src.  0 sent (or dropped, as UD may), or the
 * completion status for the sender (IBV_WC_LOC_PROT_ERR: its memory
 * could not be read).
 */
uint32_t roce_ud_send(struct soft_qp *qp, const union ibv_gid *dgid, int sgid_index,
		      uint32_t remote_qpn, uint32_t qkey, bool with_imm, uint32_t imm,
		      bool solicited, const struct mem_seg *src, uint32_t ns, uint64_t len);
/* A parsed UD packet from peer (flow: as received). */
void roce_ud_recv(struct roce_dev *r, const struct roce_pkt *p,
		  const struct roce_flow *flow);

/* roce-gsi.c: management datagrams on QP1 (the daemon's CM across hosts). */
#define ROCE_GSI_QPN		1u
#define ROCE_GSI_QKEY		0x80010000u
/* The driver op gsi_send (drivers/driver.h) for the soft device. */
int roce_gsi_send(struct roce_dev *r, const union ibv_gid *sgid, const union ibv_gid *dgid,
		  const void *mad, size_t len);
/* A parsed UD packet for QP1: to the daemon, if its Q_Key is the GSI's. */
void roce_gsi_recv(struct roce_dev *r, const struct roce_pkt *p,
		   const struct roce_flow *flow);

#endif /* RB_DRIVERS_SOFT_ROCE_H */
