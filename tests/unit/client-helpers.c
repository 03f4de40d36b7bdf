/* SPDX-License-Identifier: MIT */
/*
 * The daemon-free entry points of librdmabroker: enum strings (the words
 * libibverbs prints), rate conversions, sysfs reading, fork protection and
 * the kernel-struct conversions.
 */
#include "config.h"

#include <endian.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>
#include <infiniband/sa.h>
#include <infiniband/verbs.h>
#include <rdma/ib_user_sa.h>
#include <rdma/ib_user_verbs.h>

/* Exported by libibverbs, declared only in its private headers. */
const char *ibv_get_sysfs_path(void);
int ibv_read_sysfs_file(const char *dir, const char *file, char *buf,
			size_t size);
int ibv_dontfork_range(void *base, size_t size);
int ibv_dofork_range(void *base, size_t size);
void ibv_copy_qp_attr_from_kern(struct ibv_qp_attr *dst,
				struct ib_uverbs_qp_attr *src);
void ibv_copy_ah_attr_from_kern(struct ibv_ah_attr *dst,
				struct ib_uverbs_ah_attr *src);
void ibv_copy_path_rec_from_kern(struct ibv_sa_path_rec *dst,
				 struct ib_user_path_rec *src);
void ibv_copy_path_rec_to_kern(struct ib_user_path_rec *dst,
			       struct ibv_sa_path_rec *src);

static void test_strings(void **state)
{
	(void)state;
	assert_string_equal(ibv_node_type_str(IBV_NODE_CA), "InfiniBand channel adapter");
	assert_string_equal(ibv_node_type_str(IBV_NODE_RNIC), "iWARP NIC");
	assert_string_equal(ibv_node_type_str((enum ibv_node_type)99), "unknown");
	assert_string_equal(ibv_node_type_str(IBV_NODE_UNKNOWN), "unknown");
	assert_string_equal(ibv_port_state_str(IBV_PORT_ACTIVE), "active");
	assert_string_equal(ibv_port_state_str(IBV_PORT_NOP), "no state change (NOP)");
	assert_string_equal(ibv_port_state_str((enum ibv_port_state)6), "unknown");
	assert_string_equal(ibv_event_type_str(IBV_EVENT_DEVICE_FATAL), "local catastrophic error");
	assert_string_equal(ibv_event_type_str(IBV_EVENT_WQ_FATAL), "WQ fatal");
	assert_string_equal(ibv_event_type_str((enum ibv_event_type)-1), "unknown");
	assert_string_equal(ibv_wc_status_str(IBV_WC_SUCCESS), "success");
	assert_string_equal(ibv_wc_status_str(IBV_WC_WR_FLUSH_ERR), "Work Request Flushed Error");
	assert_string_equal(ibv_wc_status_str(IBV_WC_RNR_RETRY_EXC_ERR), "RNR retry counter exceeded");
	assert_string_equal(ibv_wc_status_str(IBV_WC_TM_RNDV_INCOMPLETE), "TM software rendezvous");
	assert_string_equal(ibv_wc_status_str((enum ibv_wc_status)1000), "unknown");
}

static void test_rates(void **state)
{
	(void)state;
	assert_int_equal(ibv_rate_to_mult(IBV_RATE_2_5_GBPS), 1);
	assert_int_equal(ibv_rate_to_mult(IBV_RATE_120_GBPS), 48);
	assert_int_equal(ibv_rate_to_mult(IBV_RATE_14_GBPS), -1);
	assert_int_equal(ibv_rate_to_mult(IBV_RATE_MAX), -1);
	assert_int_equal(mult_to_ibv_rate(16), IBV_RATE_40_GBPS);
	assert_int_equal(mult_to_ibv_rate(3), IBV_RATE_MAX);
	assert_int_equal(mult_to_ibv_rate(0), IBV_RATE_MAX);
	assert_int_equal(ibv_rate_to_mbps(IBV_RATE_100_GBPS), 103125);
	assert_int_equal(ibv_rate_to_mbps(IBV_RATE_14_GBPS), 14062);
	assert_int_equal(ibv_rate_to_mbps(IBV_RATE_MAX), -1);
	assert_int_equal(mbps_to_ibv_rate(25781), IBV_RATE_25_GBPS);
	assert_int_equal(mbps_to_ibv_rate(25000), IBV_RATE_MAX);
	/* Round trips over every rate with a multiple. */
	for (int r = IBV_RATE_2_5_GBPS; r <= IBV_RATE_1200_GBPS; r++) {
		int m = ibv_rate_to_mult((enum ibv_rate)r);

		if (m > 0)
			assert_int_equal(mult_to_ibv_rate(m), r);
		assert_int_equal(mbps_to_ibv_rate(ibv_rate_to_mbps((enum ibv_rate)r)), r);
	}
}

static void test_sysfs(void **state)
{
	char dir[] = "/tmp/rbsysfs.XXXXXX", path[64], buf[8];
	FILE *f;

	(void)state;
	unsetenv("SYSFS_PATH");
	assert_string_equal(ibv_get_sysfs_path(), "/sys");
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/fw_ver", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("1.2.3\n", f);
	fclose(f);
	assert_int_equal(ibv_read_sysfs_file(dir, "fw_ver", buf, sizeof(buf)), 5);
	assert_string_equal(buf, "1.2.3");
	/* Truncated to the buffer, always NUL-terminated. */
	assert_int_equal(ibv_read_sysfs_file(dir, "fw_ver", buf, 4), 3);
	assert_string_equal(buf, "1.2");
	errno = 0;
	assert_int_equal(ibv_read_sysfs_file(dir, "nosuch", buf, sizeof(buf)), -1);
	assert_int_equal(errno, ENOENT);
	unlink(path);
	rmdir(dir);
}

static void test_fork(void **state)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	char *p = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	(void)state;
	assert_true(p != MAP_FAILED);
	assert_int_equal(ibv_is_fork_initialized(), IBV_FORK_DISABLED);
	/* Without ibv_fork_init the ranges are left alone. */
	assert_int_equal(ibv_dontfork_range(p + 10, 100), 0);
	assert_int_equal(ibv_fork_init(), 0);
	assert_int_equal(ibv_is_fork_initialized(), IBV_FORK_ENABLED);
	/* Unaligned ranges cover their pages. */
	assert_int_equal(ibv_dontfork_range(p + 10, page), 0);
	assert_int_equal(ibv_dofork_range(p + 10, page), 0);
	munmap(p, 2 * page);
	/* madvise on unmapped memory reports the error. */
	assert_int_equal(ibv_dontfork_range(p, page), ENOMEM);
}

static void test_marshall(void **state)
{
	struct ib_uverbs_qp_attr kq;
	struct ibv_qp_attr q;
	struct ib_user_path_rec kp, kp2;
	struct ibv_sa_path_rec sp;

	(void)state;
	memset(&kq, 0, sizeof(kq));
	kq.qp_state = IBV_QPS_RTS;
	kq.cur_qp_state = IBV_QPS_RTR;
	kq.path_mtu = IBV_MTU_1024;
	kq.qkey = 0x11111111;
	kq.dest_qp_num = 0x123456;
	kq.max_send_wr = 64;
	kq.max_inline_data = 220;
	kq.ah_attr.dlid = 7;
	kq.ah_attr.is_global = 1;
	kq.ah_attr.grh.dgid[15] = 0x42;
	kq.ah_attr.grh.hop_limit = 64;
	kq.alt_ah_attr.sl = 3;
	kq.timeout = 14;
	kq.rnr_retry = 7;
	memset(&q, 0, sizeof(q));
	ibv_copy_qp_attr_from_kern(&q, &kq);
	assert_int_equal(q.cur_qp_state, IBV_QPS_RTR);
	assert_int_equal(q.path_mtu, IBV_MTU_1024);
	assert_int_equal(q.qkey, 0x11111111);
	assert_int_equal(q.dest_qp_num, 0x123456);
	assert_int_equal(q.cap.max_send_wr, 64);
	assert_int_equal(q.cap.max_inline_data, 220);
	assert_int_equal(q.ah_attr.dlid, 7);
	assert_int_equal(q.ah_attr.is_global, 1);
	assert_int_equal(q.ah_attr.grh.dgid.raw[15], 0x42);
	assert_int_equal(q.ah_attr.grh.hop_limit, 64);
	assert_int_equal(q.alt_ah_attr.sl, 3);
	assert_int_equal(q.timeout, 14);
	assert_int_equal(q.rnr_retry, 7);

	memset(&kp, 0, sizeof(kp));
	kp.dgid[0] = 0xfe;
	kp.sgid[15] = 1;
	kp.dlid = htobe16(9);
	kp.flow_label = htobe32(5);
	kp.mtu = IBV_MTU_4096;
	kp.pkey = htobe16(0xffff);
	kp.rate = IBV_RATE_100_GBPS;
	kp.packet_life_time = 18;
	kp.reversible = 1;
	memset(&sp, 0, sizeof(sp));
	ibv_copy_path_rec_from_kern(&sp, &kp);
	assert_int_equal(sp.dgid.raw[0], 0xfe);
	assert_int_equal(sp.sgid.raw[15], 1);
	assert_int_equal(be16toh(sp.dlid), 9);
	assert_int_equal(sp.mtu, IBV_MTU_4096);
	assert_int_equal(sp.rate, IBV_RATE_100_GBPS);
	assert_int_equal(sp.reversible, 1);
	memset(&kp2, 0xee, sizeof(kp2));
	ibv_copy_path_rec_to_kern(&kp2, &sp);
	assert_memory_equal(&kp2, &kp, sizeof(kp));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_strings),
		cmocka_unit_test(test_rates),
		cmocka_unit_test(test_sysfs),
		cmocka_unit_test(test_fork),
		cmocka_unit_test(test_marshall),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
