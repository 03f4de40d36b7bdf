/* SPDX-License-Identifier: MIT */
/*
 * The soft device's RoCEv2 state (roce.h): made with the device, gone
 * with it.  Nothing here can fail the device: a host without rtnetlink
 * keeps GID 0 alone, and one whose port 4791 is taken (another daemon in
 * the same network namespace, or the kernel's rdma_rxe) serves its own
 * host only; both are logged.
 */
#include "config.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/log.h"
#include "drivers/driver.h"
#include "drivers/soft/roce.h"
#include "drivers/soft/soft-int.h"

struct roce_dev *roce_dev_create(struct rb_device *dev, struct event_base *base,
				 const union ibv_gid *gid0, bool pinned, bool wire)
{
	struct roce_dev *r = calloc(1, sizeof(*r));
	int ret;

	if (!r)
		return NULL;
	r->dev = dev;
	r->base = base;
	r->fd = -1;
	r->gid[0] = *gid0;
	r->pinned = pinned;
	ret = roce_gid_init(r);
	if (ret < 0)
		log_warn("device %s: no address list from rtnetlink (%s): GID 0 only",
			 dev->name, strerror(-ret));
	if (!wire) {
		log_info("device %s: RoCEv2 off ([soft] roce = no): this host only", dev->name);
		return r;
	}
	ret = roce_io_init(r);
	if (ret < 0)
		log_warn("device %s: no RoCEv2 on UDP port %d (%s): this host only",
			 dev->name, ROCE_UDP_PORT, strerror(-ret));
	else
		log_info("device %s: RoCEv2 on UDP port %d", dev->name, ROCE_UDP_PORT);
	return r;
}

void roce_dev_destroy(struct roce_dev *r)
{
	if (!r)
		return;
	roce_io_fini(r);
	roce_gid_fini(r);
	roce_qp_fini(r);
	free(r);
}

/* The counters by name, in the order rdmactl shows them. */
#define ROCE_COUNTER(f)	{ #f, offsetof(struct roce_stats, f) }
static const struct {
	const char *name;
	size_t off;
} roce_dev_counter_table[] = {
	ROCE_COUNTER(rx_packets),
	ROCE_COUNTER(rx_bytes),
	ROCE_COUNTER(tx_packets),
	ROCE_COUNTER(tx_bytes),
	ROCE_COUNTER(rx_icrc_errors),
	ROCE_COUNTER(rx_malformed),
	ROCE_COUNTER(rx_unknown_qp),
	ROCE_COUNTER(rx_qkey_errors),
	ROCE_COUNTER(rx_no_recv),
	ROCE_COUNTER(rx_unsupported),
	ROCE_COUNTER(tx_dropped),
	ROCE_COUNTER(rx_seq_errors),
	ROCE_COUNTER(rx_access_errors),
	ROCE_COUNTER(rx_duplicates),
	ROCE_COUNTER(tx_acks),
	ROCE_COUNTER(tx_rnr_naks),
	ROCE_COUNTER(rx_rnr_naks),
	ROCE_COUNTER(rx_naks),
	ROCE_COUNTER(retries),
	ROCE_COUNTER(rnr_retries),
	ROCE_COUNTER(retry_exceeded),
	ROCE_COUNTER(rx_wrong_peer),
	ROCE_COUNTER(rx_reads),
	ROCE_COUNTER(rx_atomics),
	ROCE_COUNTER(rx_dup_reads),
	ROCE_COUNTER(rx_dup_atomics),
	ROCE_COUNTER(rx_dup_dropped),
	ROCE_COUNTER(rx_bad_resp),
	ROCE_COUNTER(mtu_clamped),
	ROCE_COUNTER(tx_gso),
	ROCE_COUNTER(rx_gro),
	ROCE_COUNTER(rx_ipv4_gso),
	ROCE_COUNTER(rx_uc_tail),
};
#undef ROCE_COUNTER

/* What a QP counts (ROCE_COUNT with its state): the rest are the
 * device's alone (a packet no QP took). */
#define ROCE_QP_COUNTER(f)	{ #f, offsetof(struct roce_stats, f) }
static const struct {
	const char *name;
	size_t off;
} roce_dev_qp_counter_table[] = {
	ROCE_QP_COUNTER(rx_packets),
	ROCE_QP_COUNTER(tx_packets),
	ROCE_QP_COUNTER(rx_seq_errors),
	ROCE_QP_COUNTER(rx_access_errors),
	ROCE_QP_COUNTER(rx_no_recv),
	ROCE_QP_COUNTER(rx_duplicates),
	ROCE_QP_COUNTER(tx_acks),
	ROCE_QP_COUNTER(tx_rnr_naks),
	ROCE_QP_COUNTER(rx_rnr_naks),
	ROCE_QP_COUNTER(rx_naks),
	ROCE_QP_COUNTER(retries),
	ROCE_QP_COUNTER(rnr_retries),
	ROCE_QP_COUNTER(retry_exceeded),
	ROCE_QP_COUNTER(rx_wrong_peer),
	ROCE_QP_COUNTER(rx_reads),
	ROCE_QP_COUNTER(rx_atomics),
	ROCE_QP_COUNTER(rx_dup_reads),
	ROCE_QP_COUNTER(rx_dup_atomics),
	ROCE_QP_COUNTER(rx_dup_dropped),
	ROCE_QP_COUNTER(rx_bad_resp),
	ROCE_QP_COUNTER(rx_uc_tail),
};
#undef ROCE_QP_COUNTER
_Static_assert(sizeof(roce_dev_qp_counter_table) / sizeof(roce_dev_qp_counter_table[0]) <=
	       RB_QP_COUNTERS_MAX, "per-QP counters fit rb_qp_counters");

unsigned int roce_dev_qp_counters(struct roce_dev *r, unsigned int skip,
				  struct rb_qp_counters *out, unsigned int max)
{
	unsigned int n = 0, seen = 0;

	for (uint32_t b = 0; r->qps.b && b <= r->qps.mask && n < max; b++) {
		for (struct rb_hnode *h = r->qps.b[b]; h && n < max; h = h->next) {
			const struct roce_qp *q = container_of(h, struct roce_qp, node);
			struct rb_qp_counters *o = &out[n];

			if (seen++ < skip)
				continue;
			o->qp = &q->qp->qp;
			o->n = 0;
			for (size_t i = 0; i < sizeof(roce_dev_qp_counter_table) /
					       sizeof(roce_dev_qp_counter_table[0]); i++) {
				memcpy(&o->c[o->n].value,
				       (const char *)&q->st + roce_dev_qp_counter_table[i].off,
				       sizeof(uint64_t));
				o->c[o->n++].name = roce_dev_qp_counter_table[i].name;
			}
			n++;
		}
	}
	return n;
}

unsigned int roce_dev_counters(const struct roce_dev *r, struct rb_counter *out,
			       unsigned int max)
{
	unsigned int n = 0;

	for (size_t i = 0; i < sizeof(roce_dev_counter_table) / sizeof(roce_dev_counter_table[0]) &&
			   n < max; i++) {
		uint64_t v;

		memcpy(&v, (const char *)&r->st + roce_dev_counter_table[i].off, sizeof(v));
		out[n].name = roce_dev_counter_table[i].name;
		out[n++].value = v;
	}
	return n;
}

bool roce_local(const struct roce_dev *r, const union ibv_gid *dgid)
{
	return roce_gid_find(r, dgid->raw) >= 0;
}

bool roce_remote(const struct roce_dev *r, const union ibv_gid *dgid)
{
	static const uint8_t zero[16];

	if (r->fd < 0 || !memcmp(dgid->raw, zero, 16) || roce_gid_find(r, dgid->raw) >= 0)
		return false;
	/* Multicast (IPv6 ff00::/8, IPv4 224/4) stays on this host. */
	if (dgid->raw[0] == 0xff ||
	    (roce_wire_gid_is_v4(dgid->raw) && (dgid->raw[12] & 0xf0) == 0xe0))
		return false;
	return true;
}
