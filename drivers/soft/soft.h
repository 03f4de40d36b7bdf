/* SPDX-License-Identifier: MIT */
/* The soft device's entry in the driver registry and its [soft] settings. */
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
	uint32_t spin_us;		/* poll a QP this long after its work */
	int roce;			/* RoCEv2 to other hosts on UDP 4791 */
};

/* In rb_drivers[] (drivers/registry.c). */
extern const struct rb_driver rb_soft_driver;

#endif /* RB_DRIVERS_SOFT_SOFT_H */
