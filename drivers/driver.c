/* SPDX-License-Identifier: MIT */
/* The driver ops table: stubs for what a driver lacks. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>

#include "drivers/driver.h"

static int stub_query_device(struct rb_device *dev,
			     struct ibv_device_attr_ex *attr)
{
	return -EOPNOTSUPP;
}

static int stub_query_port(struct rb_device *dev, uint8_t port_num,
			   struct ibv_port_attr *attr)
{
	return -EOPNOTSUPP;
}

static int stub_query_gid(struct rb_device *dev, uint8_t port_num, int index,
			  union ibv_gid *gid, enum ibv_gid_type *type)
{
	return -EOPNOTSUPP;
}

static int stub_query_pkey(struct rb_device *dev, uint8_t port_num, int index,
			   uint16_t *pkey)
{
	return -EOPNOTSUPP;
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
#undef FILL
}

void rb_device_destroy(struct rb_device *dev)
{
	if (dev)
		dev->ops.destroy(dev);
}
