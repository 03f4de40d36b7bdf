/* SPDX-License-Identifier: MIT */
/* The soft device's settings and constructor (drivers/soft/). */
#ifndef RB_DRIVERS_SOFT_SOFT_H
#define RB_DRIVERS_SOFT_SOFT_H

#include <stddef.h>
#include <stdint.h>

#include "drivers/driver.h"

/* Settings of rdmabrokerd.conf [soft]. */
struct rb_soft_config {
	int enable;
	char name[64];			/* e.g. "rbsoft0" */
	char gid_address[64];		/* "auto" or an IPv4/IPv6 address */
	uint64_t node_guid;		/* 0 = derive from machine-id + name */
	uint32_t spin_us;		/* the engine polls this long after work */
};

/* The soft device: allocates *devp; 0 or -errno with *err explaining. */
int rb_soft_create(const struct rb_soft_config *cfg, struct rb_device **devp,
		   char *err, size_t errlen);

/* Where the soft device's GID came from ("eth0", "config", "loopback"). */
const char *rb_soft_gid_source(const struct rb_device *dev);

#endif /* RB_DRIVERS_SOFT_SOFT_H */
