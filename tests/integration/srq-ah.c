/* SPDX-License-Identifier: MIT */
/*
 * SRQs and AHs through librdmabroker and a real daemon
 * (tests/integration/srq-ah.sh: gid_address 192.0.2.7, [limits] srqs = 3, ahs = 5).
 */
#include "config.h"

#include <arpa/inet.h>
#include <endian.h>
#include <errno.h>
#include <netinet/ip.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <infiniband/verbs.h>

#include "tests/lib/clienttest.h"

static struct ibv_device **list;
static struct ibv_context *ctx;
static struct ibv_pd *pd;
static struct ibv_cq *cq;
static struct ibv_device_attr dev_attr;
static union ibv_gid our_gid;

static int setup(void **state)
{
	(void)state;
	if (ct_open(&list, &ctx) < 0)
		return -1;
	if (ibv_query_device(ctx, &dev_attr) || ibv_query_gid(ctx, 1, 0, &our_gid))
		return -1;
	pd = ibv_alloc_pd(ctx);
	cq = ibv_create_cq(ctx, 16, NULL, NULL, 0);
	return pd && cq ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	ibv_destroy_cq(cq);
	ibv_dealloc_pd(pd);
	ct_close(list, ctx);
	return 0;
}

static struct ibv_srq *make_srq(uint32_t max_wr, uint32_t max_sge)
{
	struct ibv_srq_init_attr a = { .attr = { .max_wr = max_wr, .max_sge = max_sge } };

	return ibv_create_srq(pd, &a);
}

static void test_srq(void **state)
{
	int marker;
	struct ibv_srq_init_attr ia = {
		.srq_context = &marker,
		.attr = { .max_wr = 100, .max_sge = 2, .srq_limit = 0 },
	};
	struct ibv_srq_attr a;
	struct ibv_srq *srq;

	(void)state;
	srq = ibv_create_srq(pd, &ia);
	assert_non_null(srq);
	assert_true(ia.attr.max_wr >= 100);
	assert_true(ia.attr.max_sge >= 2);
	assert_ptr_equal(srq->pd, pd);
	assert_ptr_equal(srq->srq_context, &marker);
	assert_int_equal(ibv_query_srq(srq, &a), 0);
	assert_int_equal(a.max_wr, ia.attr.max_wr);
	assert_int_equal(a.max_sge, ia.attr.max_sge);
	assert_int_equal(a.srq_limit, 0);

	a.srq_limit = 10;
	assert_int_equal(ibv_modify_srq(srq, &a, IBV_SRQ_LIMIT), 0);
	a.srq_limit = ia.attr.max_wr + 1;
	assert_int_equal(ibv_modify_srq(srq, &a, IBV_SRQ_LIMIT), EINVAL);
	assert_int_equal(ibv_query_srq(srq, &a), 0);
	assert_int_equal(a.srq_limit, 10);

	a.max_wr = 1000;
	assert_int_equal(ibv_modify_srq(srq, &a, IBV_SRQ_MAX_WR), 0);
	assert_int_equal(ibv_query_srq(srq, &a), 0);
	assert_true(a.max_wr >= 1000);
	a.max_wr = (uint32_t)dev_attr.max_srq_wr + 1;
	assert_int_equal(ibv_modify_srq(srq, &a, IBV_SRQ_MAX_WR), EINVAL);
	assert_int_equal(ibv_modify_srq(srq, &a, 1 << 7), EINVAL);
	assert_int_equal(ibv_query_srq(srq, &a), 0);
	assert_true(a.max_wr >= 1000 && a.max_wr <= (uint32_t)dev_attr.max_srq_wr);
	assert_int_equal(ibv_destroy_srq(srq), 0);
}

static void test_srq_invalid_and_busy(void **state)
{
	struct ibv_qp_init_attr qa = {
		.send_cq = cq, .recv_cq = cq, .qp_type = IBV_QPT_RC,
		.cap = { .max_send_wr = 1, .max_send_sge = 1 },
	};
	struct ibv_srq *srq;
	struct ibv_qp *qp;

	(void)state;
	errno = 0;
	assert_null(make_srq(0, 1));
	assert_int_equal(errno, EINVAL);
	errno = 0;
	assert_null(make_srq((uint32_t)dev_attr.max_srq_wr + 1, 1));
	assert_int_equal(errno, EINVAL);
	errno = 0;
	assert_null(make_srq(8, (uint32_t)dev_attr.max_srq_sge + 1));
	assert_int_equal(errno, EINVAL);

	srq = make_srq(16, 1);
	assert_non_null(srq);
	qa.srq = srq;
	qp = ibv_create_qp(pd, &qa);
	assert_non_null(qp);
	assert_ptr_equal(qp->srq, srq);
	assert_int_equal(ibv_destroy_srq(srq), EBUSY);
	assert_int_equal(ibv_destroy_qp(qp), 0);
	assert_int_equal(ibv_destroy_srq(srq), 0);
}

/* [limits] srqs = 3 */
static void test_srq_limit(void **state)
{
	struct ibv_srq *s[3];

	(void)state;
	for (int i = 0; i < 3; i++)
		assert_non_null(s[i] = make_srq(8, 1));
	errno = 0;
	assert_null(make_srq(8, 1));
	assert_int_equal(errno, EDQUOT);
	for (int i = 0; i < 3; i++)
		assert_int_equal(ibv_destroy_srq(s[i]), 0);
}

static struct ibv_ah_attr ah_attr_to_self(void)
{
	struct ibv_ah_attr a = {
		.is_global = 1, .port_num = 1,
		.grh = { .dgid = our_gid, .sgid_index = 0, .hop_limit = 64 },
	};

	return a;
}

static void test_ah(void **state)
{
	struct ibv_ah_attr a = ah_attr_to_self();
	struct ibv_ah *ah;

	(void)state;
	ah = ibv_create_ah(pd, &a);
	assert_non_null(ah);
	assert_ptr_equal(ah->pd, pd);
	assert_ptr_equal(ah->context, ctx);
	/* A PD with an AH cannot go. */
	assert_int_equal(ibv_dealloc_pd(pd), EBUSY);
	assert_int_equal(ibv_destroy_ah(ah), 0);

#define AH_FAILS() do { errno = 0; assert_null(ibv_create_ah(pd, &a)); \
		assert_int_equal(errno, EINVAL); a = ah_attr_to_self(); } while (0)
	a.is_global = 0;	/* an Ethernet port needs the GRH */
	AH_FAILS();
	a.port_num = 2;
	AH_FAILS();
	a.port_num = 0;
	AH_FAILS();
	a.grh.sgid_index = 1;
	AH_FAILS();
#undef AH_FAILS
	/* As a NIC: a flow label uses 20 bits and an SL 4, the rest ignored
	 * (UCX passes flow_label ~0). */
	a.grh.flow_label = ~0u;
	a.sl = 0xff;
	ah = ibv_create_ah(pd, &a);
	assert_non_null(ah);
	assert_int_equal(ibv_destroy_ah(ah), 0);
}

/* [limits] ahs = 5 */
static void test_ah_limit(void **state)
{
	struct ibv_ah_attr a = ah_attr_to_self();
	struct ibv_ah *ah[5];

	(void)state;
	for (int i = 0; i < 5; i++)
		assert_non_null(ah[i] = ibv_create_ah(pd, &a));
	errno = 0;
	assert_null(ibv_create_ah(pd, &a));
	assert_int_equal(errno, EDQUOT);
	for (int i = 0; i < 5; i++)
		assert_int_equal(ibv_destroy_ah(ah[i]), 0);
}

static uint16_t ipv4_csum(const struct iphdr *h)
{
	const uint16_t *w = (const uint16_t *)h;
	uint32_t sum = 0;

	for (size_t i = 0; i < sizeof(*h) / 2; i++)
		sum += w[i];
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static void test_ah_from_wc(void **state)
{
	union {
		struct ibv_grh grh;
		uint8_t raw[40];
	} g;
	struct iphdr *ip4 = (struct iphdr *)(g.raw + 20);
	struct ibv_wc wc = { .wc_flags = IBV_WC_GRH, .slid = 0, .sl = 2 };
	struct ibv_ah_attr a;
	struct ibv_ah *ah;
	char text[INET6_ADDRSTRLEN];

	(void)state;
	/* RoCE v2 over IPv4: 20 unused bytes, then the IPv4 header. */
	memset(&g, 0, sizeof(g));
	ip4->version = 4;
	ip4->ihl = 5;
	ip4->tos = 3;
	ip4->ttl = 64;
	ip4->protocol = 17;
	inet_pton(AF_INET, "10.1.2.3", &ip4->saddr);
	inet_pton(AF_INET, "192.0.2.7", &ip4->daddr);
	ip4->check = ipv4_csum(ip4);
	assert_int_equal(ibv_init_ah_from_wc(ctx, 1, &wc, &g.grh, &a), 0);
	assert_int_equal(a.is_global, 1);
	assert_int_equal(a.port_num, 1);
	assert_int_equal(a.sl, 2);
	assert_int_equal(a.grh.sgid_index, 0);
	assert_int_equal(a.grh.traffic_class, 3);
	inet_ntop(AF_INET6, a.grh.dgid.raw, text, sizeof(text));
	assert_string_equal(text, "::ffff:10.1.2.3");
	ah = ibv_create_ah_from_wc(pd, &wc, &g.grh, 1);
	assert_non_null(ah);
	assert_int_equal(ibv_destroy_ah(ah), 0);

	/* A destination that is not one of our GIDs. */
	inet_pton(AF_INET, "192.0.2.8", &ip4->daddr);
	ip4->check = 0;
	ip4->check = ipv4_csum(ip4);
	assert_int_equal(ibv_init_ah_from_wc(ctx, 1, &wc, &g.grh, &a), -1);

	/* An IPv6 GRH. */
	memset(&g, 0, sizeof(g));
	g.grh.version_tclass_flow = htobe32((6u << 28) | (5u << 20) | 0x12345);
	inet_pton(AF_INET6, "2001:db8::1", g.grh.sgid.raw);
	g.grh.dgid = our_gid;
	assert_int_equal(ibv_init_ah_from_wc(ctx, 1, &wc, &g.grh, &a), 0);
	assert_int_equal(a.grh.flow_label, 0x12345);
	assert_int_equal(a.grh.traffic_class, 5);
	inet_ntop(AF_INET6, a.grh.dgid.raw, text, sizeof(text));
	assert_string_equal(text, "2001:db8::1");

	/* Neither: refused. */
	memset(&g, 0, sizeof(g));
	errno = 0;
	assert_int_equal(ibv_init_ah_from_wc(ctx, 1, &wc, &g.grh, &a), -1);
	assert_int_equal(errno, EPROTONOSUPPORT);

	/* No GRH: a local address. */
	wc.wc_flags = 0;
	wc.slid = 7;
	assert_int_equal(ibv_init_ah_from_wc(ctx, 1, &wc, NULL, &a), 0);
	assert_int_equal(a.is_global, 0);
	assert_int_equal(a.dlid, 7);
}

/* `client-srq-ah hold N`: N SRQs and N AHs, then wait to be killed. */
static int hold(int n)
{
	struct ibv_ah_attr a;

	if (setup(NULL) < 0)
		return 2;
	a = ah_attr_to_self();
	for (int i = 0; i < n; i++) {
		if (!make_srq(16, 1) || !ibv_create_ah(pd, &a)) {
			fprintf(stderr, "client-srq-ah: %d: %s\n", i, strerror(errno));
			return 1;
		}
	}
	ct_ready_and_wait();
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_srq),
		cmocka_unit_test(test_srq_invalid_and_busy),
		cmocka_unit_test(test_srq_limit),
		cmocka_unit_test(test_ah),
		cmocka_unit_test(test_ah_limit),
		cmocka_unit_test(test_ah_from_wc),
	};

	if (argc == 3 && strcmp(argv[1], "hold") == 0)
		return hold(atoi(argv[2]));
	return cmocka_run_group_tests(tests, setup, teardown);
}
