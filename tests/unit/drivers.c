/* SPDX-License-Identifier: MIT */
/*
 * The driver boundary (drivers/driver.h): the stubs an ops table gets for
 * what it leaves NULL, the registry, and a driver's config section
 * reaching its parser through the daemon's.
 */
#include "config.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "daemon/cfg.h"
#include "daemon/log.h"
#include "daemon/objects.h"
#include "drivers/driver.h"
#include "drivers/soft/soft.h"

/* NULL ops: creating or changing an object is unsupported, hooks do nothing. */
static void test_stubs(void **state)
{
	static const struct rb_driver_ops bare = { .name = "bare" };
	struct rb_device dev;
	struct rb_qp qp;
	struct ibv_qp_attr attr;

	(void)state;
	memset(&dev, 0, sizeof(dev));
	memset(&qp, 0, sizeof(qp));
	memset(&attr, 0, sizeof(attr));
	rb_device_set_ops(&dev, &bare);
	assert_int_equal(dev.ops.alloc_pd(&dev, NULL), -EOPNOTSUPP);
	assert_int_equal(dev.ops.reg_mr(&dev, NULL), -EOPNOTSUPP);
	assert_int_equal(dev.ops.create_cq(&dev, NULL), -EOPNOTSUPP);
	assert_int_equal(dev.ops.create_qp(&dev, &qp), -EOPNOTSUPP);
	assert_int_equal(dev.ops.create_srq(&dev, NULL), -EOPNOTSUPP);
	assert_int_equal(dev.ops.create_ah(&dev, NULL), -EOPNOTSUPP);
	assert_int_equal(dev.ops.query_device(&dev, NULL), -EOPNOTSUPP);
	assert_int_equal(dev.ops.modify_qp(&qp, &attr, 0, IBV_QPS_RESET), 0);
	assert_int_equal(dev.ops.query_qp(&qp), 0);
	assert_int_equal(dev.ops.resize_cq(NULL, 0), 0);
	assert_int_equal(dev.ops.progress(&dev, 0, 0), 0);
	dev.ops.qp_doorbell(&qp);
	dev.ops.destroy_qp(&qp);
	assert_string_equal(dev.ops.name, "bare");
}

/* The registry knows the soft driver by its section, nothing by another. */
static void test_registry(void **state)
{
	(void)state;
	assert_ptr_equal(rb_driver_by_section("soft"), &rb_soft_driver);
	assert_null(rb_driver_by_section("daemon"));
	assert_null(rb_driver_by_section("nosuch"));
	assert_non_null(rb_drivers[0]);
}

/* A driver's section goes to its parser; its errors keep FILE:LINE. */
static void test_section(void **state)
{
	static const char text[] = "[soft]\nspin_us = 7\n[soft]\nbogus = 1\n";
	char path[] = "/tmp/unit-drivers.XXXXXX";
	struct rb_config cfg;
	char err[512];
	int fd;

	(void)state;
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, sizeof(text) - 1), (ssize_t)sizeof(text) - 1);
	close(fd);
	cfg_defaults(&cfg);
	assert_int_equal(((const struct rb_soft_config *)
			  cfg_driver_config(&cfg, "soft"))->spin_us, 200);
	assert_int_equal(cfg_load(&cfg, path, false, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, ":4: unknown key 'bogus' in [soft]"));
	unlink(path);
	cfg_free(&cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stubs),
		cmocka_unit_test(test_registry),
		cmocka_unit_test(test_section),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
