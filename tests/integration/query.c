/* SPDX-License-Identifier: MIT */
/*
 * The device verbs through librdmabroker and a real daemon (started by
 * tests/integration/query.sh with gid_address 192.0.2.7 and node_guid
 * 0x0002c9fffe001234).  This program is linked with -lrdmabroker and
 * compiled against the installed <infiniband/verbs.h>, so the inline
 * wrappers (ibv_query_port, ibv_query_device_ex, ibv_query_gid_ex, ...)
 * are exercised exactly as in a user's program.
 */
#include "config.h"

#include <arpa/inet.h>
#include <endian.h>
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <infiniband/verbs.h>

#include "libclient/rdmabroker.h"

#define TEST_GUID 0x0002c9fffe001234ull

/* Not in the installed headers: the private libibverbs entry point. */
enum ibv_gid_type_sysfs {
	IBV_GID_TYPE_SYSFS_IB_ROCE_V1,
	IBV_GID_TYPE_SYSFS_ROCE_V2,
};
int ibv_query_gid_type(struct ibv_context *context, uint8_t port_num,
		       unsigned int index, enum ibv_gid_type_sysfs *type);

struct fixture {
	struct ibv_device **list;
	int n;
	struct ibv_context *ctx;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	f->list = ibv_get_device_list(&f->n);
	if (!f->list || f->n != 1)
		return -1;
	f->ctx = ibv_open_device(f->list[0]);
	if (!f->ctx)
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(ibv_close_device(f->ctx), 0);
	ibv_free_device_list(f->list);
	free(f);
	return 0;
}

static void test_device_list(void **state)
{
	struct fixture *f = *state;
	struct ibv_device **l2;

	assert_int_equal(f->n, 1);
	assert_null(f->list[1]);
	assert_string_equal(ibv_get_device_name(f->list[0]), "rbsoft0");
	assert_string_equal(f->list[0]->name, "rbsoft0");
	assert_int_equal(f->list[0]->node_type, IBV_NODE_CA);
	assert_int_equal(f->list[0]->transport_type, IBV_TRANSPORT_IB);
	assert_true(be64toh(ibv_get_device_guid(f->list[0])) == TEST_GUID);
	assert_int_equal(ibv_get_device_index(f->list[0]), 0);
	assert_ptr_equal(f->ctx->device, f->list[0]);
	/* NULL num_devices is allowed. */
	l2 = ibv_get_device_list(NULL);
	assert_non_null(l2);
	assert_non_null(l2[0]);
	ibv_free_device_list(l2);
	ibv_free_device_list(NULL);
	assert_non_null(strstr(rdmab_version(), "."));
}

static void test_query_device(void **state)
{
	struct fixture *f = *state;
	struct ibv_device_attr a;

	memset(&a, 0xa5, sizeof(a));
	assert_int_equal(ibv_query_device(f->ctx, &a), 0);
	assert_string_equal(a.fw_ver, PACKAGE_VERSION);
	assert_true(be64toh(a.node_guid) == TEST_GUID);
	assert_true(a.node_guid == ibv_get_device_guid(f->list[0]));
	assert_int_equal(a.phys_port_cnt, 1);
	assert_true(a.max_qp > 0 && a.max_cq > 0 && a.max_mr > 0 &&
		    a.max_pd > 0 && a.max_sge > 0 && a.max_cqe > 0);
	assert_int_equal(a.atomic_cap, IBV_ATOMIC_HCA);
	assert_int_equal(a.max_pkeys, 1);
}

static void test_query_device_ex(void **state)
{
	struct fixture *f = *state;
	struct ibv_query_device_ex_input in = { .comp_mask = 1 };
	struct ibv_device_attr_ex ex;
	struct ibv_device_attr a;

	/* The inline wrapper must find our verbs_context. */
	assert_non_null(verbs_get_ctx(f->ctx));
	memset(&ex, 0xa5, sizeof(ex));
	assert_int_equal(ibv_query_device_ex(f->ctx, NULL, &ex), 0);
	assert_int_equal(ibv_query_device(f->ctx, &a), 0);
	assert_memory_equal(&ex.orig_attr, &a, sizeof(a));
	assert_int_equal(ex.phys_port_cnt_ex, 1);
	assert_true((ex.device_cap_flags_ex & 0xffffffffu) == a.device_cap_flags);
	/* Fields we do not have are zero, not garbage. */
	assert_int_equal(ex.tso_caps.max_tso, 0);
	assert_int_equal(ex.odp_caps.general_caps, 0);
	/* An input with comp_mask we do not know is refused, like libibverbs. */
	assert_int_equal(ibv_query_device_ex(f->ctx, &in, &ex), EINVAL);
}

static void test_query_port(void **state)
{
	struct fixture *f = *state;
	struct ibv_port_attr p;

	memset(&p, 0xa5, sizeof(p));
	assert_int_equal(ibv_query_port(f->ctx, 1, &p), 0);
	assert_int_equal(p.state, IBV_PORT_ACTIVE);
	assert_int_equal(p.link_layer, IBV_LINK_LAYER_ETHERNET);
	assert_int_equal(p.active_mtu, IBV_MTU_4096);
	assert_int_equal(p.max_mtu, IBV_MTU_4096);
	assert_int_equal(p.gid_tbl_len, 1);
	assert_int_equal(p.pkey_tbl_len, 1);
	assert_int_equal(p.phys_state, 5);	/* LinkUp */
	assert_int_equal(p.port_cap_flags2, 0);
	/* Port numbers are 1-based and there is one port. */
	assert_int_equal(ibv_query_port(f->ctx, 0, &p), EINVAL);
	assert_int_equal(ibv_query_port(f->ctx, 2, &p), EINVAL);
}

/* A libibverbs 1.1 binary calls the exported symbol with the short struct. */
static void test_query_port_compat(void **state)
{
	struct fixture *f = *state;
	size_t compat = offsetof(struct ibv_port_attr, port_cap_flags2);
	struct {
		struct ibv_port_attr p;
		unsigned char canary[16];
	} buf;

	memset(&buf, 0x5a, sizeof(buf));
	assert_int_equal((ibv_query_port)(f->ctx, 1,
		(struct _compat_ibv_port_attr *)&buf.p), 0);
	assert_int_equal(buf.p.state, IBV_PORT_ACTIVE);
	assert_int_equal(buf.p.link_layer, IBV_LINK_LAYER_ETHERNET);
	/* Nothing past the old struct's end was written. */
	for (size_t i = compat; i < sizeof(buf); i++)
		assert_int_equal(((unsigned char *)&buf)[i], 0x5a);
}

static void test_query_gid(void **state)
{
	struct fixture *f = *state;
	enum ibv_gid_type_sysfs type = IBV_GID_TYPE_SYSFS_IB_ROCE_V1;
	union ibv_gid gid;
	struct in6_addr want;
	char text[INET6_ADDRSTRLEN];

	assert_int_equal(inet_pton(AF_INET6, "::ffff:192.0.2.7", &want), 1);
	assert_int_equal(ibv_query_gid(f->ctx, 1, 0, &gid), 0);
	inet_ntop(AF_INET6, gid.raw, text, sizeof(text));
	assert_string_equal(text, "::ffff:192.0.2.7");
	assert_memory_equal(gid.raw, &want, 16);

	assert_int_equal(ibv_query_gid_type(f->ctx, 1, 0, &type), 0);
	assert_int_equal(type, IBV_GID_TYPE_SYSFS_ROCE_V2);

	errno = 0;
	assert_int_equal(ibv_query_gid(f->ctx, 1, 1, &gid), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(ibv_query_gid(f->ctx, 1, -1, &gid), -1);
	assert_int_equal(ibv_query_gid(f->ctx, 2, 0, &gid), -1);
	assert_int_equal(ibv_query_gid_type(f->ctx, 2, 0, &type), -1);
}

static void test_query_gid_ex(void **state)
{
	struct fixture *f = *state;
	struct ibv_gid_entry e, table[4];
	union ibv_gid gid;

	assert_int_equal(ibv_query_gid(f->ctx, 1, 0, &gid), 0);
	memset(&e, 0xa5, sizeof(e));
	assert_int_equal(ibv_query_gid_ex(f->ctx, 1, 0, &e, 0), 0);
	assert_memory_equal(e.gid.raw, gid.raw, 16);
	assert_int_equal(e.gid_index, 0);
	assert_int_equal(e.port_num, 1);
	assert_int_equal(e.gid_type, IBV_GID_TYPE_ROCE_V2);
	assert_int_equal(ibv_query_gid_ex(f->ctx, 1, 0, &e, 1), EOPNOTSUPP);
	assert_int_equal(ibv_query_gid_ex(f->ctx, 1, 7, &e, 0), EINVAL);

	assert_int_equal(ibv_query_gid_table(f->ctx, table, 4, 0), 1);
	assert_memory_equal(table[0].gid.raw, gid.raw, 16);
	assert_int_equal(table[0].port_num, 1);
	/* One entry does not fit in zero. */
	assert_int_equal(ibv_query_gid_table(f->ctx, table, 0, 0), -EINVAL);
	assert_int_equal(ibv_query_gid_table(f->ctx, table, 4, 1), -EOPNOTSUPP);
}

static void test_query_pkey(void **state)
{
	struct fixture *f = *state;
	__be16 pkey = 0;

	assert_int_equal(ibv_query_pkey(f->ctx, 1, 0, &pkey), 0);
	assert_int_equal(be16toh(pkey), 0xffff);
	errno = 0;
	assert_int_equal(ibv_query_pkey(f->ctx, 1, 1, &pkey), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(ibv_query_pkey(f->ctx, 2, 0, &pkey), -1);
	assert_int_equal(ibv_get_pkey_index(f->ctx, 1, htobe16(0xffff)), 0);
	assert_int_equal(ibv_get_pkey_index(f->ctx, 1, htobe16(0x7fff)), -1);
}

/* The context stays usable after the list it came from is freed. */
static void test_list_freed_before_close(void **state)
{
	struct ibv_device **list;
	struct ibv_context *c1, *c2;
	struct ibv_device_attr a;
	int n;

	(void)state;
	list = ibv_get_device_list(&n);
	assert_non_null(list);
	assert_int_equal(n, 1);
	c1 = ibv_open_device(list[0]);
	c2 = ibv_open_device(list[0]);
	assert_non_null(c1);
	assert_non_null(c2);
	assert_ptr_not_equal(c1, c2);
	assert_true(c1->async_fd >= 0);
	ibv_free_device_list(list);
	assert_int_equal(ibv_query_device(c1, &a), 0);
	assert_string_equal(ibv_get_device_name(c1->device), "rbsoft0");
	assert_int_equal(ibv_close_device(c1), 0);
	assert_int_equal(ibv_query_device(c2, &a), 0);
	assert_int_equal(ibv_close_device(c2), 0);
}

static void *query_loop(void *arg)
{
	struct ibv_context *ctx = arg;
	uintptr_t bad = 0;

	for (int i = 0; i < 200; i++) {
		struct ibv_port_attr p;
		union ibv_gid gid;

		if (ibv_query_port(ctx, 1, &p) || p.state != IBV_PORT_ACTIVE)
			bad++;
		if (ibv_query_gid(ctx, 1, 0, &gid) || gid.raw[10] != 0xff)
			bad++;
	}
	return (void *)bad;
}

/* Verbs are thread-safe: four threads share one context. */
static void test_threads(void **state)
{
	struct fixture *f = *state;
	pthread_t t[4];

	for (int i = 0; i < 4; i++)
		assert_int_equal(pthread_create(&t[i], NULL, query_loop, f->ctx), 0);
	for (int i = 0; i < 4; i++) {
		void *bad;

		assert_int_equal(pthread_join(t[i], &bad), 0);
		assert_int_equal((uintptr_t)bad, 0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_device_list),
		cmocka_unit_test(test_query_device),
		cmocka_unit_test(test_query_device_ex),
		cmocka_unit_test(test_query_port),
		cmocka_unit_test(test_query_port_compat),
		cmocka_unit_test(test_query_gid),
		cmocka_unit_test(test_query_gid_ex),
		cmocka_unit_test(test_query_pkey),
		cmocka_unit_test(test_list_freed_before_close),
		cmocka_unit_test(test_threads),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
