/* SPDX-License-Identifier: MIT */
/* Unit tests of rdmabrokerd.conf parsing (daemon/cfg.c). */
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
#include "drivers/soft/soft.h"

/* [soft] lives with its driver now (drivers/soft/soft.h). */
#define SOFT(c) ((const struct rb_soft_config *)cfg_driver_config(&(c), "soft"))

static char path[64];

static int write_conf(const char *text, size_t len)
{
	FILE *f;

	snprintf(path, sizeof(path), "/tmp/unit-cfg.XXXXXX");
	{
		int fd = mkstemp(path);

		assert_true(fd >= 0);
		f = fdopen(fd, "w");
	}
	assert_non_null(f);
	assert_int_equal(fwrite(text, 1, len, f), len);
	fclose(f);
	return 0;
}

/* Load text; returns cfg_load's result, the error in err. */
static int load(struct rb_config *cfg, const char *text, char *err, size_t errlen)
{
	int ret;

	write_conf(text, strlen(text));
	ret = cfg_load(cfg, path, false, err, errlen);
	unlink(path);
	return ret;
}

static void test_defaults(void **state)
{
	struct rb_config cfg;

	cfg_defaults(&cfg);
	assert_string_equal(cfg.socket, RB_DEFAULT_SOCKET);
	assert_int_equal(cfg.socket_mode, 0666);
	assert_int_equal(cfg.log_level, LOG_INFO);
	assert_int_equal(cfg.control_spin_us, 50);
	assert_true(SOFT(cfg)->enable);
	assert_string_equal(SOFT(cfg)->name, "rbsoft0");
	assert_int_equal(cfg.limits.v[RB_LIMIT_CONNECTIONS], 64);
	assert_int_equal(cfg.limits.v[RB_LIMIT_PINNED_BYTES], 4ull << 30);
	cfg_free(&cfg);
}

static void test_full(void **state)
{
	struct rb_config cfg;
	char err[512];
	const struct rb_limits *l;

	cfg_defaults(&cfg);
	assert_int_equal(load(&cfg,
		"# comment\n"
		"; another\n"
		"[daemon]\n"
		"socket = /tmp/x.sock\n"
		"socket_mode = 0660\n"
		"log_level = debug\n"
		"max_clients = 10\n"
		"control_spin_us = 7\n"
		"\n"
		"[soft]\n"
		"enable = no\n"
		"name = mydev-1\n"
		"gid_address = 192.0.2.7\n"
		"node_guid = 0x0002c9fffe000001\n"
		"[limits root]\n"
		"qps = 7\n"
		"[limits]\n"
		"qps = 5\n"
		"pinned_bytes = 2M\n"
		"cqes = 0\n", err, sizeof(err)), 0);
	assert_string_equal(cfg.socket, "/tmp/x.sock");
	assert_int_equal(cfg.socket_mode, 0660);
	assert_int_equal(cfg.log_level, LOG_DEBUG);
	assert_int_equal(cfg.max_clients, 10);
	assert_int_equal(cfg.control_spin_us, 7);
	assert_false(SOFT(cfg)->enable);
	assert_string_equal(SOFT(cfg)->name, "mydev-1");
	assert_string_equal(SOFT(cfg)->gid_address, "192.0.2.7");
	assert_true(SOFT(cfg)->node_guid == 0x0002c9fffe000001ull);
	assert_int_equal(cfg.limits.v[RB_LIMIT_QPS], 5);
	assert_int_equal(cfg.limits.v[RB_LIMIT_PINNED_BYTES], 2u << 20);
	assert_int_equal(cfg.limits.v[RB_LIMIT_CQES], 0);
	/* root's section overrides qps only; the rest come from [limits],
	 * even though [limits] comes after it in the file. */
	l = cfg_limits_for(&cfg, 0);
	assert_int_equal(l->v[RB_LIMIT_QPS], 7);
	assert_int_equal(l->v[RB_LIMIT_PINNED_BYTES], 2u << 20);
	l = cfg_limits_for(&cfg, 4242);
	assert_int_equal(l->v[RB_LIMIT_QPS], 5);
	cfg_free(&cfg);
}

/* Each bad file is refused with FILE:LINE and leaves cfg as it was. */
static void test_errors(void **state)
{
	static const struct {
		const char *text;
		int line;
		const char *msg;
	} cases[] = {
		{ "socket = /x\n", 1, "outside a section" },
		{ "[daemon]\nbogus = 1\n", 2, "unknown key 'bogus'" },
		{ "[nope]\n", 1, "unknown section" },
		{ "[daemon]\nsocket_mode = 0999\n", 2, "octal" },
		{ "[daemon]\nsocket = relative\n", 2, "absolute" },
		{ "[daemon]\nlog_level = loud\n", 2, "log_level" },
		{ "[daemon]\nlog_level = info\nlog_level = debug\n", 3, "duplicate" },
		{ "[daemon]\njust words\n", 2, "expected" },
		{ "[daemon\n", 1, "malformed" },
		{ "[daemon]\ncontrol_spin_us = 1000001\n", 2, "control_spin_us" },
		{ "[daemon]\ncontrol_spin_us = -1\n", 2, "control_spin_us" },
		{ "[soft]\nenable = maybe\n", 2, "yes or no" },
		{ "[soft]\nname = a/b\n", 2, "letters" },
		{ "[soft]\ngid_address = 300.1.1.1\n", 2, "gid_address" },
		{ "[soft]\nnode_guid = 0\n", 2, "node_guid" },
		{ "[limits]\nqps = -1\n", 2, "not a count" },
		{ "[limits]\nqps = 5G\n", 2, "not a count" },
		{ "[limits]\npinned_bytes = 5Q\n", 2, "size" },
		{ "[limits]\npinned_bytes = 99999999999T\n", 2, "size" },
		{ "[limits]\nwidgets = 1\n", 2, "unknown limit" },
		{ "[limits no-such-user-here]\n", 1, "no such user" },
		{ "[limits root]\n[limits 0]\n", 2, "twice" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct rb_config cfg;
		char err[512], want[600];

		cfg_defaults(&cfg);
		assert_int_equal(load(&cfg, cases[i].text, err, sizeof(err)), -EINVAL);
		snprintf(want, sizeof(want), "%s:%d: ", path, cases[i].line);
		if (strncmp(err, want, strlen(want)) || !strstr(err, cases[i].msg))
			fail_msg("case %zu: got '%s', want '%s...%s'", i, err, want,
				 cases[i].msg);
		/* unchanged */
		assert_string_equal(cfg.socket, RB_DEFAULT_SOCKET);
		assert_int_equal(cfg.limits.v[RB_LIMIT_QPS], 1024);
		cfg_free(&cfg);
	}
}

static void test_nul_and_long_lines(void **state)
{
	struct rb_config cfg;
	char err[512];
	char *big = malloc(3000);
	int ret;

	cfg_defaults(&cfg);
	write_conf("[daemon]\nlog_level = info\0x\n", 28);
	ret = cfg_load(&cfg, path, false, err, sizeof(err));
	unlink(path);
	assert_int_equal(ret, -EINVAL);
	assert_non_null(strstr(err, ":2: NUL byte"));

	assert_non_null(big);
	memset(big, 'a', 2999);
	big[2999] = '\0';
	assert_int_equal(load(&cfg, big, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, ":1: line longer"));
	free(big);
	cfg_free(&cfg);
}

static void test_missing(void **state)
{
	struct rb_config cfg;
	char err[512];

	cfg_defaults(&cfg);
	assert_int_equal(cfg_load(&cfg, "/nonexistent/rb.conf", true, err,
				  sizeof(err)), 0);
	assert_string_equal(cfg.path, "");
	assert_int_equal(cfg_load(&cfg, "/nonexistent/rb.conf", false, err,
				  sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "/nonexistent/rb.conf: No such file"));
	cfg_free(&cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_full),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_nul_and_long_lines),
		cmocka_unit_test(test_missing),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
