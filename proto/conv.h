/* SPDX-License-Identifier: MIT */
/*
 * Conversions between the control protocol's messages and the libibverbs
 * structs they carry, written once for the daemon and the library.
 *
 * to_pb functions fill a message the caller initialised (and owns), set
 * every field, optional ones included (a version 1 peer requires the
 * fields that were required then), and point bytes and strings into the
 * caller's buffers or the source struct, which must outlive the message.
 * from_pb functions overwrite the whole struct: an absent optional field
 * gives its documented default.  Values wider on the wire than in the
 * struct are truncated here; a side that must refuse them checks with the
 * _fits functions first.  None allocates, logs or fails, except where a
 * return value says so.
 */
#ifndef RB_PROTO_CONV_H
#define RB_PROTO_CONV_H

#include <stdbool.h>
#include <stdint.h>

#include <infiniband/verbs.h>

#include "proto/rdmabroker.pb-c.h"

/* ibv_device_attr_ex; m->fw_ver points into a->orig_attr.fw_ver. */
void rb_conv_device_attr_to_pb(Rdmabroker__DeviceAttr *m,
			       const struct ibv_device_attr_ex *a);
void rb_conv_device_attr_from_pb(struct ibv_device_attr_ex *a,
				 const Rdmabroker__DeviceAttr *m);

void rb_conv_port_attr_to_pb(Rdmabroker__PortAttr *m,
			     const struct ibv_port_attr *a);
void rb_conv_port_attr_from_pb(struct ibv_port_attr *a,
			       const Rdmabroker__PortAttr *m);

/* A GID table entry; m->raw points at raw (16 bytes). */
void rb_conv_gid_to_pb(Rdmabroker__GidEntry *m, uint8_t *raw, uint32_t index,
		       const union ibv_gid *gid, uint32_t gid_type);
/* -EIO when the entry does not hold exactly 16 bytes. */
int rb_conv_gid_from_pb(union ibv_gid *gid, uint32_t *gid_type,
			const Rdmabroker__GidEntry *m);

void rb_conv_qp_cap_to_pb(Rdmabroker__QpCap *m, const struct ibv_qp_cap *c);
void rb_conv_qp_cap_from_pb(struct ibv_qp_cap *c, const Rdmabroker__QpCap *m);

/*
 * Address vectors (ibv_ah_attr, a QP's ah_attr and alt_ah_attr); m->dgid
 * points at gid (16 bytes).  Only the bits a device uses travel and come
 * back: 20 bits of flow label (UCX passes ~0), 4 bits of SL.
 */
void rb_conv_ah_attr_to_pb(Rdmabroker__AhAttr *m, uint8_t *gid,
			   const struct ibv_ah_attr *a);
void rb_conv_ah_attr_from_pb(struct ibv_ah_attr *a, const Rdmabroker__AhAttr *m);
/* Every field fits its ibv_ah_attr field, and dgid is 16 bytes. */
bool rb_conv_ah_attr_fits(const Rdmabroker__AhAttr *m);

/* The nested messages and GID bytes of one QpAttr, kept by the caller. */
struct rb_conv_qp_attr_buf {
	Rdmabroker__QpCap cap;
	Rdmabroker__AhAttr ah, alt_ah;
	uint8_t gid[16], alt_gid[16];
};

void rb_conv_qp_attr_to_pb(Rdmabroker__QpAttr *m, struct rb_conv_qp_attr_buf *b,
			   const struct ibv_qp_attr *a);
void rb_conv_qp_attr_from_pb(struct ibv_qp_attr *a, const Rdmabroker__QpAttr *m);
/* The QP's own narrow fields fit (the address vectors are checked apart). */
bool rb_conv_qp_attr_fits(const Rdmabroker__QpAttr *m);

/* ibv_srq_attr, as SrqQueryReply carries it. */
void rb_conv_srq_attr_to_pb(Rdmabroker__SrqQueryReply *m,
			    const struct ibv_srq_attr *a);
void rb_conv_srq_attr_from_pb(struct ibv_srq_attr *a,
			      const Rdmabroker__SrqQueryReply *m);

#endif /* RB_PROTO_CONV_H */
