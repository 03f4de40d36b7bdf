/* SPDX-License-Identifier: MIT */
/*
 * The drivers built in (drivers/driver.h): device_init() makes each one's
 * devices in this order, and the config parser hands each its section.
 * A new driver adds one line here and nothing in daemon/.
 */
#include "config.h"

#include <stddef.h>

#include "drivers/driver.h"
#include "drivers/soft/soft.h"
#include "drivers/verbs/verbs.h"

const struct rb_driver *const rb_drivers[] = {
	&rb_soft_driver,
	&rb_verbs_driver,
	NULL
};
