/* SPDX-License-Identifier: MIT */
/* The driver ops table: stubs for what a driver lacks (drivers/driver.h). */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "drivers/driver.h"

/* An op a driver must provide to create or change an object. */
#define STUB_UNSUPPORTED(op, ...) \
	static int stub_##op(__VA_ARGS__) { return -EOPNOTSUPP; }
/* A hook with nothing to do when the driver has nothing to say. */
#define STUB_OK(op, ...) \
	static int stub_##op(__VA_ARGS__) { return 0; }
#define STUB_VOID(op, ...) \
	static void stub_##op(__VA_ARGS__) { }

STUB_UNSUPPORTED(query_device, struct rb_device *dev, struct ibv_device_attr_ex *attr)
STUB_UNSUPPORTED(query_port, struct rb_device *dev, uint8_t port_num,
		 struct ibv_port_attr *attr)
STUB_UNSUPPORTED(query_gid, struct rb_device *dev, uint8_t port_num, int index,
		 union ibv_gid *gid, enum ibv_gid_type *type)
STUB_UNSUPPORTED(query_pkey, struct rb_device *dev, uint8_t port_num, int index,
		 uint16_t *pkey)
STUB_UNSUPPORTED(alloc_pd, struct rb_device *dev, struct rb_pd *pd)
STUB_VOID(dealloc_pd, struct rb_pd *pd)
STUB_UNSUPPORTED(reg_mr, struct rb_device *dev, struct rb_mr *mr)
STUB_OK(rereg_mr, struct rb_mr *mr, int flags, const struct rb_mr *old)
STUB_VOID(dereg_mr, struct rb_mr *mr)
STUB_UNSUPPORTED(open_xrcd, struct rb_device *dev, struct rb_xrcd *xrcd)
STUB_VOID(close_xrcd, struct rb_xrcd *xrcd)
STUB_UNSUPPORTED(alloc_mw, struct rb_device *dev, struct rb_mw *mw)
STUB_VOID(dealloc_mw, struct rb_mw *mw)
STUB_UNSUPPORTED(create_cq, struct rb_device *dev, struct rb_cq *cq)
STUB_OK(resize_cq, struct rb_cq *cq, uint32_t old_cqe)
STUB_VOID(cq_doorbell, struct rb_cq *cq)
STUB_VOID(destroy_cq, struct rb_cq *cq)
STUB_UNSUPPORTED(create_qp, struct rb_device *dev, struct rb_qp *qp)
STUB_OK(modify_qp, struct rb_qp *qp, const struct ibv_qp_attr *attr, int mask,
	enum ibv_qp_state from)
STUB_OK(query_qp, struct rb_qp *qp)
STUB_VOID(qp_doorbell, struct rb_qp *qp)
STUB_VOID(qp_take_posted, struct rb_qp *qp)
STUB_VOID(destroy_qp, struct rb_qp *qp)
STUB_UNSUPPORTED(attach_mcast, struct rb_qp *qp, const union ibv_gid *gid,
		 uint16_t lid)
STUB_UNSUPPORTED(detach_mcast, struct rb_qp *qp, const union ibv_gid *gid,
		 uint16_t lid)
STUB_UNSUPPORTED(create_srq, struct rb_device *dev, struct rb_srq *srq)
STUB_OK(modify_srq, struct rb_srq *srq, const struct ibv_srq_attr *attr, int mask)
STUB_OK(query_srq, struct rb_srq *srq)
STUB_VOID(srq_doorbell, struct rb_srq *srq)
STUB_VOID(destroy_srq, struct rb_srq *srq)
STUB_UNSUPPORTED(create_ah, struct rb_device *dev, struct rb_ah *ah)
STUB_VOID(destroy_ah, struct rb_ah *ah)

static unsigned int stub_progress(struct rb_device *dev, uint64_t now_ns,
				  uint64_t idle_ns)
{
	return 0;
}

static unsigned int stub_stat_counters(struct rb_device *dev, struct rb_counter *out,
				       unsigned int max)
{
	(void)dev;
	(void)out;
	(void)max;
	return 0;
}

static int stub_gsi_send(struct rb_device *dev, const union ibv_gid *sgid,
			 const union ibv_gid *dgid, const void *mad, size_t len)
{
	(void)dev;
	(void)sgid;
	(void)dgid;
	(void)mad;
	(void)len;
	return -EOPNOTSUPP;
}

static unsigned int stub_stat_qp_counters(struct rb_device *dev, unsigned int skip,
					  struct rb_qp_counters *out, unsigned int max)
{
	(void)dev;
	(void)skip;
	(void)out;
	(void)max;
	return 0;
}

static void stub_destroy(struct rb_device *dev)
{
	free(dev->priv);
	free(dev);
}

void rb_device_set_ops(struct rb_device *dev, const struct rb_driver_ops *drv)
{
	dev->ops = *drv;
#define FILL(op) do { if (!dev->ops.op) dev->ops.op = stub_##op; } while (0)
	FILL(destroy);
	FILL(query_device);
	FILL(query_port);
	FILL(query_gid);
	FILL(query_pkey);
	FILL(alloc_pd);
	FILL(dealloc_pd);
	FILL(reg_mr);
	FILL(rereg_mr);
	FILL(dereg_mr);
	FILL(open_xrcd);
	FILL(close_xrcd);
	FILL(alloc_mw);
	FILL(dealloc_mw);
	FILL(create_cq);
	FILL(resize_cq);
	FILL(cq_doorbell);
	FILL(destroy_cq);
	FILL(create_qp);
	FILL(attach_mcast);
	FILL(detach_mcast);
	FILL(modify_qp);
	FILL(query_qp);
	FILL(qp_doorbell);
	FILL(qp_take_posted);
	FILL(destroy_qp);
	FILL(create_srq);
	FILL(modify_srq);
	FILL(query_srq);
	FILL(srq_doorbell);
	FILL(destroy_srq);
	FILL(create_ah);
	FILL(destroy_ah);
	FILL(progress);
	FILL(stat_counters);
	FILL(gsi_send);
	FILL(stat_qp_counters);
#undef FILL
}

void rb_device_destroy(struct rb_device *dev)
{
	if (dev)
		dev->ops.destroy(dev);
}

const struct rb_driver *rb_driver_by_section(const char *name)
{
	for (const struct rb_driver *const *d = rb_drivers; *d; d++)
		if (!strcmp((*d)->section, name))
			return *d;
	return NULL;
}

void rb_device_error(struct rb_device *dev, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(dev->err, sizeof(dev->err), fmt, ap);
	va_end(ap);
}
