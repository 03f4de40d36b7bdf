/* SPDX-License-Identifier: MIT */
/*
 * Entry points of the libibverbs ABI that rdmabroker does not implement
 * yet.  Each fails the way libibverbs fails for an operation the provider
 * lacks: NULL or -1 with errno EOPNOTSUPP, or EOPNOTSUPP returned, by the
 * function's own convention.  None of them touches its arguments: no
 * object they could name has ever been handed out.  tests/client-unsupported.c
 * calls every one of them.
 */
#include "config.h"

#include <errno.h>

#include "libclient/client.h"

#define RBC_UNUSED __attribute__((unused))

/* For functions returning a pointer. */
#define RBC_FAIL_NULL() do { errno = EOPNOTSUPP; return NULL; } while (0)
/* For functions returning 0 or -1 with errno. */
#define RBC_FAIL_MINUS1() do { errno = EOPNOTSUPP; return -1; } while (0)

/* No QP exists to promise ordering for: 0 is "no guarantee". */
RB_EXPORT int ibv_query_qp_data_in_order(struct ibv_qp *qp RBC_UNUSED,
					 enum ibv_wr_opcode op RBC_UNUSED,
					 uint32_t flags RBC_UNUSED)
{
	return 0;
}

RB_EXPORT int ibv_set_ece(struct ibv_qp *qp RBC_UNUSED,
			  struct ibv_ece *ece RBC_UNUSED)
{
	return EOPNOTSUPP;
}

RB_EXPORT int ibv_query_ece(struct ibv_qp *qp RBC_UNUSED,
			    struct ibv_ece *ece RBC_UNUSED)
{
	return EOPNOTSUPP;
}

RB_EXPORT int ibv_resolve_eth_l2_from_gid(struct ibv_context *context RBC_UNUSED,
					  struct ibv_ah_attr *attr RBC_UNUSED,
					  uint8_t eth_mac[ETHERNET_LL_SIZE] RBC_UNUSED,
					  uint16_t *vid RBC_UNUSED)
{
	RBC_FAIL_MINUS1();
}

/* Importing objects shared through a uverbs command fd: there is none. */
RB_EXPORT struct ibv_context *ibv_import_device(int cmd_fd RBC_UNUSED)
{
	RBC_FAIL_NULL();
}

RB_EXPORT struct ibv_pd *ibv_import_pd(struct ibv_context *context RBC_UNUSED,
				       uint32_t pd_handle RBC_UNUSED)
{
	RBC_FAIL_NULL();
}

RB_EXPORT void ibv_unimport_pd(struct ibv_pd *pd RBC_UNUSED)
{
}

RB_EXPORT struct ibv_mr *ibv_import_mr(struct ibv_pd *pd RBC_UNUSED,
				       uint32_t mr_handle RBC_UNUSED)
{
	RBC_FAIL_NULL();
}

RB_EXPORT void ibv_unimport_mr(struct ibv_mr *mr RBC_UNUSED)
{
}

RB_EXPORT struct ibv_dm *ibv_import_dm(struct ibv_context *context RBC_UNUSED,
				       uint32_t dm_handle RBC_UNUSED)
{
	RBC_FAIL_NULL();
}

RB_EXPORT void ibv_unimport_dm(struct ibv_dm *dm RBC_UNUSED)
{
}
