/* SPDX-License-Identifier: MIT */
/*
 * What the soft device's engine checks in a work request before it moves
 * a byte (drivers/soft/), linked from daemon/librbd.la:
 *   - the send opcodes each QP type has (rb_send_opcode_ok, shared with the
 *     library): any other is IBV_WC_LOC_QP_OP_ERR;
 *   - a local SGE (soft_mem_local_pd): its lkey names an MR of the QP's
 *     PD, with the access the operation needs, and [addr, addr + length)
 *     lies inside the MR (no wrap-around), else IBV_WC_LOC_PROT_ERR;
 *   - a remote range (soft_mem_remote): the rkey names an MR of the
 *     responder's PD, both the MR and the responder QP allow the access,
 *     and the range lies inside the MR; an lkey is not an rkey;
 *   - keys gone with their MR.
 * The MRs and QPs are the daemon's structs in memory, keyed by the
 * driver's own key table (soft_keys_reg_mr).
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "drivers/soft/soft-int.h"

static void test_opcodes(void **state)
{
	static const struct {
		uint32_t op;
		bool rc, uc, ud, xrc;
	} ops[] = {
		{ IBV_WR_SEND, true, true, true, true },
		{ IBV_WR_SEND_WITH_IMM, true, true, true, true },
		{ IBV_WR_RDMA_WRITE, true, true, false, false },
		{ IBV_WR_RDMA_WRITE_WITH_IMM, true, true, false, false },
		{ IBV_WR_RDMA_READ, true, false, false, false },
		{ IBV_WR_ATOMIC_CMP_AND_SWP, true, false, false, false },
		{ IBV_WR_ATOMIC_FETCH_AND_ADD, true, false, false, false },
		{ IBV_WR_ATOMIC_WRITE, true, false, false, false },
		{ IBV_WR_SEND_WITH_INV, true, false, false, false },
		{ RB_WR_FLUSH, true, false, false, false },
		{ IBV_WR_BIND_MW, true, true, false, false },
		{ IBV_WR_LOCAL_INV, true, true, false, false },
		{ IBV_WR_TSO, false, false, false, false },
		{ IBV_WR_DRIVER1, false, false, false, false },
		{ 0xffffffff, false, false, false, false },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		assert_int_equal(rb_send_opcode_ok(IBV_QPT_RC, ops[i].op), ops[i].rc);
		assert_int_equal(rb_send_opcode_ok(IBV_QPT_UC, ops[i].op), ops[i].uc);
		assert_int_equal(rb_send_opcode_ok(IBV_QPT_UD, ops[i].op), ops[i].ud);
		assert_int_equal(rb_send_opcode_ok(IBV_QPT_XRC_SEND, ops[i].op), ops[i].xrc);
		/* A target QP sends nothing; a raw packet QP is not ours. */
		assert_false(rb_send_opcode_ok(IBV_QPT_XRC_RECV, ops[i].op));
		assert_false(rb_send_opcode_ok(IBV_QPT_RAW_PACKET, ops[i].op));
	}
}

/* One device, two PDs, MRs on them, a responder QP. */
static struct soft_dev sd;
static struct rb_device dev;
static struct rb_res pd[2];
static struct soft_mr mr[2];
static struct soft_qp dest;

#define IOVA	0x100000ull
#define LEN	0x10000ull

static int setup(void **state)
{
	(void)state;
	memset(&sd, 0, sizeof(sd));
	memset(&dev, 0, sizeof(dev));
	memset(pd, 0, sizeof(pd));
	memset(mr, 0, sizeof(mr));
	memset(&dest, 0, sizeof(dest));
	dev.priv = &sd;
	for (int i = 0; i < 2; i++) {
		pd[i].type = RB_RES_PD;
		mr[i].mr.res.type = RB_RES_MR;
		mr[i].mr.res.deps[0] = &pd[i];
		mr[i].mr.dev = &dev;
		mr[i].mr.addr = 0x7f0000000000ull + (uint64_t)i * LEN;
		mr[i].mr.iova = IOVA;
		mr[i].mr.length = LEN;
		mr[i].mr.memfd = -1;
		mr[i].mr.proc_mem = -1;
		assert_int_equal(soft_keys_reg_mr(&dev, &mr[i].mr), 0);
		assert_int_not_equal(mr[i].mr.lkey, 0);
		assert_int_not_equal(mr[i].mr.lkey, mr[i].mr.rkey);
	}
	/* MR 0: everything; MR 1 (PD 1): local read only. */
	mr[0].mr.access = IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE |
			  IBV_ACCESS_REMOTE_READ | IBV_ACCESS_REMOTE_ATOMIC;
	mr[1].mr.access = 0;
	dest.qp.dev = &dev;
	dest.qp.type = IBV_QPT_RC;
	dest.qp.res.deps[0] = &pd[0];
	dest.qp.attr.qp_access_flags = IBV_ACCESS_REMOTE_WRITE | IBV_ACCESS_REMOTE_READ;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	for (int i = 0; i < 2; i++)
		if (mr[i].mr.lkey)
			soft_keys_dereg_mr(&mr[i].mr);
	assert_null(sd.lkeys.b);
	assert_null(sd.rkeys.b);
	return 0;
}

static int local(int m, const struct rb_res *p, uint64_t addr, uint32_t len,
		 uint32_t access, struct mem_seg *seg)
{
	struct rb_sge sge = { .addr = addr, .length = len, .lkey = mr[m].mr.lkey };

	return soft_mem_local_pd(&dev, p, &sge, access, seg);
}

static void test_local_sge(void **state)
{
	struct mem_seg seg;
	struct rb_sge sge;

	(void)state;
	/* Inside, at both ends, and the whole MR. */
	assert_int_equal(local(0, &pd[0], IOVA, 64, 0, &seg), IBV_WC_SUCCESS);
	assert_ptr_equal(seg.mr, &mr[0].mr);
	assert_int_equal(seg.len, 64);
	assert_int_equal(seg.addr, mr[0].mr.addr);	/* IOVA to address */
	assert_null(seg.ptr);				/* not mapped: CMA */
	assert_int_equal(local(0, &pd[0], IOVA + LEN - 8, 8, IBV_ACCESS_LOCAL_WRITE, &seg),
			 IBV_WC_SUCCESS);
	assert_int_equal(seg.addr, mr[0].mr.addr + LEN - 8);
	assert_int_equal(local(0, &pd[0], IOVA, (uint32_t)LEN, 0, &seg), IBV_WC_SUCCESS);

	/* Outside: before, past the end, longer than the MR, wrapping. */
	assert_int_equal(local(0, &pd[0], IOVA - 1, 8, 0, &seg), IBV_WC_LOC_PROT_ERR);
	assert_int_equal(local(0, &pd[0], IOVA + LEN - 7, 8, 0, &seg), IBV_WC_LOC_PROT_ERR);
	assert_int_equal(local(0, &pd[0], IOVA, (uint32_t)LEN + 1, 0, &seg),
			 IBV_WC_LOC_PROT_ERR);
	assert_int_equal(local(0, &pd[0], UINT64_MAX - 3, 8, 0, &seg), IBV_WC_LOC_PROT_ERR);

	/* Another PD's MR, an access the MR lacks, an unknown lkey, an rkey. */
	assert_int_equal(local(1, &pd[0], IOVA, 8, 0, &seg), IBV_WC_LOC_PROT_ERR);
	assert_int_equal(local(0, &pd[1], IOVA, 8, 0, &seg), IBV_WC_LOC_PROT_ERR);
	assert_int_equal(local(1, &pd[1], IOVA, 8, 0, &seg), IBV_WC_SUCCESS);
	assert_int_equal(local(1, &pd[1], IOVA, 8, IBV_ACCESS_LOCAL_WRITE, &seg),
			 IBV_WC_LOC_PROT_ERR);
	sge = (struct rb_sge){ .addr = IOVA, .length = 8,
			       .lkey = mr[0].mr.lkey ^ mr[1].mr.lkey ^ 1 };
	if (!soft_keys_find_lkey(&dev, sge.lkey))
		assert_int_equal(soft_mem_local_pd(&dev, &pd[0], &sge, 0, &seg),
				 IBV_WC_LOC_PROT_ERR);
	sge.lkey = mr[0].mr.rkey;
	assert_int_equal(soft_mem_local_pd(&dev, &pd[0], &sge, 0, &seg), IBV_WC_LOC_PROT_ERR);
}

static void test_remote(void **state)
{
	uint32_t rkey0 = mr[0].mr.rkey;
	struct mem_seg seg;

	(void)state;
	assert_true(soft_mem_remote(&dest, rkey0, IOVA + 16, 32, IBV_ACCESS_REMOTE_WRITE, &seg));
	assert_int_equal(seg.addr, mr[0].mr.addr + 16);
	assert_int_equal(seg.len, 32);
	assert_true(soft_mem_remote(&dest, rkey0, IOVA, LEN, IBV_ACCESS_REMOTE_READ, &seg));
	/* The responder QP does not allow atomics, though the MR does. */
	assert_false(soft_mem_remote(&dest, rkey0, IOVA, 8, IBV_ACCESS_REMOTE_ATOMIC, &seg));
	dest.qp.attr.qp_access_flags |= IBV_ACCESS_REMOTE_ATOMIC;
	assert_true(soft_mem_remote(&dest, rkey0, IOVA, 8, IBV_ACCESS_REMOTE_ATOMIC, &seg));
	/* Out of the MR, wrapping. */
	assert_false(soft_mem_remote(&dest, rkey0, IOVA + LEN, 1, IBV_ACCESS_REMOTE_WRITE, &seg));
	assert_false(soft_mem_remote(&dest, rkey0, IOVA - 8, 16, IBV_ACCESS_REMOTE_WRITE, &seg));
	assert_false(soft_mem_remote(&dest, rkey0, UINT64_MAX, 2, IBV_ACCESS_REMOTE_WRITE, &seg));
	/* An lkey is not an rkey; an MR of another PD; an MR without remote
	 * access. */
	assert_false(soft_mem_remote(&dest, mr[0].mr.lkey, IOVA, 8, IBV_ACCESS_REMOTE_WRITE, &seg));
	assert_false(soft_mem_remote(&dest, mr[1].mr.rkey, IOVA, 8, IBV_ACCESS_REMOTE_READ, &seg));
	dest.qp.res.deps[0] = &pd[1];
	assert_false(soft_mem_remote(&dest, mr[1].mr.rkey, IOVA, 8, IBV_ACCESS_REMOTE_READ, &seg));
	/* A window rkey no window has. */
	assert_false(soft_mem_remote(&dest, SOFT_KEY_MW | 0x100, IOVA, 8,
				     IBV_ACCESS_REMOTE_READ, &seg));
}

/* Keys are unique on the device and go with their MR. */
static void test_keys_gone(void **state)
{
	uint32_t lkey = mr[0].mr.lkey, rkey = mr[0].mr.rkey;
	struct mem_seg seg;

	(void)state;
	assert_ptr_equal(soft_keys_find_lkey(&dev, lkey), &mr[0].mr);
	assert_ptr_equal(soft_keys_find_rkey(&dev, rkey), &mr[0].mr);
	assert_null(soft_keys_find_lkey(&dev, rkey));
	assert_null(soft_keys_find_rkey(&dev, lkey));
	assert_int_not_equal(lkey, mr[1].mr.lkey);
	soft_keys_dereg_mr(&mr[0].mr);
	assert_null(soft_keys_find_lkey(&dev, lkey));
	assert_null(soft_keys_find_rkey(&dev, rkey));
	assert_false(soft_mem_remote(&dest, rkey, IOVA, 8, IBV_ACCESS_REMOTE_READ, &seg));
	assert_int_equal(local(0, &pd[0], IOVA, 8, 0, &seg), IBV_WC_LOC_PROT_ERR);
	mr[0].mr.lkey = 0;		/* teardown: already gone */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_opcodes),
		cmocka_unit_test_setup_teardown(test_local_sge, setup, teardown),
		cmocka_unit_test_setup_teardown(test_remote, setup, teardown),
		cmocka_unit_test_setup_teardown(test_keys_gone, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
