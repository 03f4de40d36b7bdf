/* SPDX-License-Identifier: MIT */
/*
 * Device back-ends behind one ops table.
 *
 * A driver is a const struct rb_driver_ops with designated initializers.
 * rb_device_set_ops() copies it into the device and fills every op the
 * driver leaves NULL with a stub that returns -EOPNOTSUPP, so callers never
 * test an op for NULL.  Ops return 0
 * or -errno.  Attribute structs are libibverbs' own: its headers define the
 * ABI the client library exports, and the daemon speaks the same values.
 */
#ifndef RB_DRIVERS_DRIVER_H
#define RB_DRIVERS_DRIVER_H

#include <stddef.h>
#include <stdint.h>

#include <infiniband/verbs.h>

struct rb_device;

/* Settings the daemon hands to drivers (from rdmabrokerd.conf [soft]). */
struct rb_soft_config {
	int enable;
	char name[64];			/* e.g. "rbsoft0" */
	char gid_address[64];		/* "auto" or an IPv4/IPv6 address */
	uint64_t node_guid;		/* 0 = derive from machine-id + name */
	uint32_t spin_us;		/* the engine polls this long after work */
};

struct rb_driver_ops {
	const char *name;		/* "soft", "verbs" */

	/* Tear down a device made by this driver. */
	void (*destroy)(struct rb_device *dev);

	int (*query_device)(struct rb_device *dev,
			    struct ibv_device_attr_ex *attr);
	int (*query_port)(struct rb_device *dev, uint8_t port_num,
			  struct ibv_port_attr *attr);
	/* index < gid_tbl_len; an unused entry reads as all zeros, -ENODATA */
	int (*query_gid)(struct rb_device *dev, uint8_t port_num, int index,
			 union ibv_gid *gid, enum ibv_gid_type *type);
	int (*query_pkey)(struct rb_device *dev, uint8_t port_num, int index,
			  uint16_t *pkey);
};

struct rb_device {
	struct rb_driver_ops ops;	/* the driver's, NULL ops stubbed */
	uint32_t index;			/* position in the daemon's list */
	char name[64];
	uint64_t node_guid;		/* host order */
	enum ibv_node_type node_type;
	enum ibv_transport_type transport_type;
	uint8_t phys_port_cnt;
	/* Capacity, from query_device at registration, and what is in use
	 * (kept by the daemon's registry; the device refuses past max). */
	uint32_t max_pd, npds;
	uint32_t max_cq, ncqs;
	uint32_t max_cqe;		/* per CQ */
	uint32_t max_qp, nqps;
	uint32_t max_qp_wr, max_sge;	/* per QP */
	uint32_t max_qp_rd_atom, max_qp_init_rd_atom;
	uint32_t max_inline_data;	/* not in ibv_device_attr: the driver's */
	uint32_t max_srq, nsrqs;
	uint32_t max_srq_wr, max_srq_sge;	/* per SRQ */
	uint32_t max_ah, nahs;
	uint32_t max_mr, nmrs;
	uint64_t max_mr_size;
	uint16_t pkey_tbl_len, gid_tbl_len;	/* port 1 */
	void *priv;			/* the driver's */
};

/* Copy drv into dev->ops, filling its NULL ops with -EOPNOTSUPP stubs. */
void rb_device_set_ops(struct rb_device *dev, const struct rb_driver_ops *drv);

/* The soft device: allocates *devp; 0 or -errno with *err explaining. */
int rb_soft_create(const struct rb_soft_config *cfg, struct rb_device **devp,
		   char *err, size_t errlen);

/* Where the soft device's GID came from ("eth0", "config", "loopback"). */
const char *rb_soft_gid_source(const struct rb_device *dev);

/* Destroy any device (NULL is accepted). */
void rb_device_destroy(struct rb_device *dev);

#endif /* RB_DRIVERS_DRIVER_H */
