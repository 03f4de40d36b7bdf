/* SPDX-License-Identifier: MIT */
/*
 * The IBVERBS_PRIVATE_NN entry points that rdma-core's provider libraries
 * (libmlx5.so.1, libefa.so.1, libmlx4.so.1, libibverbs/lib*-rdmavNN.so)
 * import from libibverbs.  Programs such as perftest, UCX's libuct_ib,
 * libfabric's verbs provider and pyverbs link those providers directly, so
 * without these names the dynamic loader refuses them before any verb runs.
 *
 * A provider only reaches these calls for a device it drives itself, found
 * through sysfs and opened through /dev/infiniband/uverbsN; librdmabroker
 * has neither, so every call fails the way libibverbs fails when the kernel
 * lacks the command, each by its own convention:
 *   - ibv_cmd_* and execute_ioctl return a positive errno (EOPNOTSUPP), as
 *     rdma-core's command layer does, and set errno to it too, since some
 *     providers report errno instead;
 *   - functions returning a pointer return NULL with errno EOPNOTSUPP;
 *   - void functions do nothing: verbs_register_driver_NN is what each
 *     provider's constructor calls on load, and we have no device for it;
 *     __verbs_log because the library never logs.
 * The signatures are those of rdma-core's libibverbs/driver.h for the
 * private ABI the build host's libibverbs has (configure reads NN); only
 * pointers, integers and the return type matter, so the structures are
 * left incomplete.  libclient/ibverbs-private.txt lists what is here;
 * configure compares it with what the host's providers import, and
 * tests/peers/providers.sh checks both and loads the providers.
 *
 * A provider's *dv_* call on a broker device fails as on any device of
 * another vendor: it compares verbs_device.ops with its own table, and
 * rbc_device keeps NULL where that pointer sits (client.h).
 */
#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "libclient/client.h"

/* Types of rdma-core's internal headers; only pointers to them pass here. */
struct ib_uverbs_alloc_mw_resp;
struct ib_uverbs_alloc_pd_resp;
struct ib_uverbs_create_ah_resp;
struct ib_uverbs_create_cq_resp;
struct ib_uverbs_create_qp_resp;
struct ib_uverbs_create_srq_resp;
struct ib_uverbs_ex_create_cq_resp;
struct ib_uverbs_ex_create_qp_resp;
struct ib_uverbs_ex_create_rwq_ind_table_resp;
struct ib_uverbs_ex_create_wq_resp;
struct ib_uverbs_ex_modify_qp_resp;
struct ib_uverbs_ex_query_device_resp;
struct ib_uverbs_get_context_resp;
struct ib_uverbs_open_xrcd_resp;
struct ib_uverbs_reg_mr_resp;
struct ib_uverbs_rereg_mr_resp;
struct ib_uverbs_resize_cq_resp;
struct ibv_alloc_mw;
struct ibv_alloc_pd;
struct ibv_command_buffer;
struct ibv_create_cq;
struct ibv_create_cq_ex;
struct ibv_create_qp;
struct ibv_create_qp_ex;
struct ibv_create_srq;
struct ibv_create_wq;
struct ibv_create_xsrq;
struct ibv_get_context;
struct ibv_modify_cq;
struct ibv_modify_qp;
struct ibv_modify_qp_ex;
struct ibv_modify_srq;
struct ibv_modify_wq;
struct ibv_open_qp;
struct ibv_open_xrcd;
struct ibv_query_port;
struct ibv_query_qp;
struct ibv_query_srq;
struct ibv_reg_mr;
struct ibv_rereg_mr;
struct ibv_resize_cq;
struct verbs_context_ops;
struct verbs_counters;
struct verbs_cq;
struct verbs_dm;
struct verbs_flow_action;
struct verbs_mr;
struct verbs_qp;
struct verbs_srq;
struct verbs_xrcd;

#define RBC_PASTE2(a, b) a ## b
#define RBC_PASTE(a, b) RBC_PASTE2(a, b)
#define verbs_register_driver RBC_PASTE(verbs_register_driver_, IBVERBS_PRIVATE_NN)

/* Declared here because no installed header does (-Wmissing-prototypes). */
#define RBC_DECL(ret, name, params) RB_EXPORT ret name params; \
	RB_EXPORT ret name params

/* A uverbs command: there is no kernel device behind a broker context. */
#define RBC_CMD(name, params) RBC_DECL(int, name, params) \
	{ errno = EOPNOTSUPP; return EOPNOTSUPP; }

/*
 * libibverbs reads it to let destroys succeed on a disassociated device;
 * providers only set it.  Nothing here reads it.
 */
RB_EXPORT bool verbs_allow_disassociate_destroy;

struct verbs_device_ops;
RBC_DECL(void, verbs_register_driver, (const struct verbs_device_ops *ops))
{
}

RBC_DECL(void, __verbs_log, (struct verbs_context *ctx, uint32_t level,
			     const char *fmt, ...))
{
}

RBC_DECL(void *, _verbs_init_and_alloc_context, (struct ibv_device *device,
	int cmd_fd, size_t alloc_size, struct verbs_context *context_offset,
	uint32_t driver_id))
{
	errno = EOPNOTSUPP;
	return NULL;
}

RBC_DECL(struct ibv_context *, verbs_open_device, (struct ibv_device *device,
	void *private_data))
{
	errno = EOPNOTSUPP;
	return NULL;
}

/* Only reached after a provider's own context was made: never. */
RBC_DECL(void, verbs_uninit_context, (struct verbs_context *context))
{
}

RBC_DECL(void, verbs_set_ops, (struct verbs_context *vctx,
			       const struct verbs_context_ops *ops))
{
}

/* Only reached after ibv_cmd_create_cq*, which fails first. */
RBC_DECL(void, verbs_init_cq, (struct ibv_cq *cq, struct ibv_context *context,
	struct ibv_comp_channel *channel, void *cq_context))
{
}

RBC_CMD(execute_ioctl, (struct ibv_context *context,
	struct ibv_command_buffer *cmd))
RBC_CMD(ibv_cmd_advise_mr, (struct ibv_pd *pd,
	enum ibv_advise_mr_advice advice, uint32_t flags,
	struct ibv_sge *sg_list, uint32_t num_sge))
RBC_CMD(ibv_cmd_alloc_dm, (struct ibv_context *ctx,
	const struct ibv_alloc_dm_attr *dm_attr, struct verbs_dm *dm,
	struct ibv_command_buffer *link))
RBC_CMD(ibv_cmd_alloc_mw, (struct ibv_pd *pd, enum ibv_mw_type type,
	struct ibv_mw *mw, struct ibv_alloc_mw *cmd, size_t cmd_size,
	struct ib_uverbs_alloc_mw_resp *resp, size_t resp_size))
RBC_CMD(ibv_cmd_alloc_pd, (struct ibv_context *context, struct ibv_pd *pd,
	struct ibv_alloc_pd *cmd, size_t cmd_size,
	struct ib_uverbs_alloc_pd_resp *resp, size_t resp_size))
RBC_CMD(ibv_cmd_attach_mcast, (struct ibv_qp *qp, const union ibv_gid *gid,
	uint16_t lid))
RBC_CMD(ibv_cmd_close_xrcd, (struct verbs_xrcd *xrcd))
RBC_CMD(ibv_cmd_create_ah, (struct ibv_pd *pd, struct ibv_ah *ah,
	struct ibv_ah_attr *attr, struct ib_uverbs_create_ah_resp *resp,
	size_t resp_size))
RBC_CMD(ibv_cmd_create_counters, (struct ibv_context *context,
	struct ibv_counters_init_attr *init_attr,
	struct verbs_counters *vcounters, struct ibv_command_buffer *link))
RBC_CMD(ibv_cmd_create_cq, (struct ibv_context *context, int cqe,
	struct ibv_comp_channel *channel, int comp_vector, struct ibv_cq *cq,
	struct ibv_create_cq *cmd, size_t cmd_size,
	struct ib_uverbs_create_cq_resp *resp, size_t resp_size))
RBC_CMD(ibv_cmd_create_cq_ex, (struct ibv_context *context,
	const struct ibv_cq_init_attr_ex *cq_attr, struct verbs_cq *cq,
	struct ibv_create_cq_ex *cmd, size_t cmd_size,
	struct ib_uverbs_ex_create_cq_resp *resp, size_t resp_size,
	uint32_t cmd_flags))
RBC_CMD(ibv_cmd_create_flow, (struct ibv_qp *qp, struct ibv_flow *flow_id,
	struct ibv_flow_attr *flow_attr, void *ucmd, size_t ucmd_size))
RBC_CMD(ibv_cmd_create_flow_action_esp, (struct ibv_context *ctx,
	struct ibv_flow_action_esp_attr *attr,
	struct verbs_flow_action *flow_action,
	struct ibv_command_buffer *driver))
RBC_CMD(ibv_cmd_create_qp, (struct ibv_pd *pd, struct ibv_qp *qp,
	struct ibv_qp_init_attr *attr, struct ibv_create_qp *cmd,
	size_t cmd_size, struct ib_uverbs_create_qp_resp *resp,
	size_t resp_size))
RBC_CMD(ibv_cmd_create_qp_ex, (struct ibv_context *context,
	struct verbs_qp *qp, struct ibv_qp_init_attr_ex *attr_ex,
	struct ibv_create_qp *cmd, size_t cmd_size,
	struct ib_uverbs_create_qp_resp *resp, size_t resp_size))
RBC_CMD(ibv_cmd_create_qp_ex2, (struct ibv_context *context,
	struct verbs_qp *qp, struct ibv_qp_init_attr_ex *qp_attr,
	struct ibv_create_qp_ex *cmd, size_t cmd_size,
	struct ib_uverbs_ex_create_qp_resp *resp, size_t resp_size))
RBC_CMD(ibv_cmd_create_rwq_ind_table, (struct ibv_context *context,
	struct ibv_rwq_ind_table_init_attr *init_attr,
	struct ibv_rwq_ind_table *rwq_ind_table,
	struct ib_uverbs_ex_create_rwq_ind_table_resp *resp, size_t resp_size))
RBC_CMD(ibv_cmd_create_srq, (struct ibv_pd *pd, struct ibv_srq *srq,
	struct ibv_srq_init_attr *attr, struct ibv_create_srq *cmd,
	size_t cmd_size, struct ib_uverbs_create_srq_resp *resp,
	size_t resp_size))
RBC_CMD(ibv_cmd_create_srq_ex, (struct ibv_context *context,
	struct verbs_srq *srq, struct ibv_srq_init_attr_ex *attr_ex,
	struct ibv_create_xsrq *cmd, size_t cmd_size,
	struct ib_uverbs_create_srq_resp *resp, size_t resp_size))
RBC_CMD(ibv_cmd_create_wq, (struct ibv_context *context,
	struct ibv_wq_init_attr *wq_init_attr, struct ibv_wq *wq,
	struct ibv_create_wq *cmd, size_t cmd_size,
	struct ib_uverbs_ex_create_wq_resp *resp, size_t resp_size))
RBC_CMD(ibv_cmd_dealloc_mw, (struct ibv_mw *mw))
RBC_CMD(ibv_cmd_dealloc_pd, (struct ibv_pd *pd))
RBC_CMD(ibv_cmd_dereg_mr, (struct verbs_mr *vmr))
RBC_CMD(ibv_cmd_destroy_ah, (struct ibv_ah *ah))
RBC_CMD(ibv_cmd_destroy_counters, (struct verbs_counters *vcounters))
RBC_CMD(ibv_cmd_destroy_cq, (struct ibv_cq *cq))
RBC_CMD(ibv_cmd_destroy_flow, (struct ibv_flow *flow_id))
RBC_CMD(ibv_cmd_destroy_flow_action, (struct verbs_flow_action *action))
RBC_CMD(ibv_cmd_destroy_qp, (struct ibv_qp *qp))
RBC_CMD(ibv_cmd_destroy_rwq_ind_table, (
	struct ibv_rwq_ind_table *rwq_ind_table))
RBC_CMD(ibv_cmd_destroy_srq, (struct ibv_srq *srq))
RBC_CMD(ibv_cmd_destroy_wq, (struct ibv_wq *wq))
RBC_CMD(ibv_cmd_detach_mcast, (struct ibv_qp *qp, const union ibv_gid *gid,
	uint16_t lid))
RBC_CMD(ibv_cmd_free_dm, (struct verbs_dm *dm))
RBC_CMD(ibv_cmd_get_context, (struct verbs_context *context,
	struct ibv_get_context *cmd, size_t cmd_size,
	struct ib_uverbs_get_context_resp *resp, size_t resp_size))
RBC_CMD(ibv_cmd_modify_cq, (struct ibv_cq *cq, struct ibv_modify_cq_attr *attr,
	struct ibv_modify_cq *cmd, size_t cmd_size))
RBC_CMD(ibv_cmd_modify_flow_action_esp, (struct verbs_flow_action *flow_action,
	struct ibv_flow_action_esp_attr *attr,
	struct ibv_command_buffer *driver))
RBC_CMD(ibv_cmd_modify_qp, (struct ibv_qp *qp, struct ibv_qp_attr *attr,
	int attr_mask, struct ibv_modify_qp *cmd, size_t cmd_size))
RBC_CMD(ibv_cmd_modify_qp_ex, (struct ibv_qp *qp, struct ibv_qp_attr *attr,
	int attr_mask, struct ibv_modify_qp_ex *cmd, size_t cmd_size,
	struct ib_uverbs_ex_modify_qp_resp *resp, size_t resp_size))
RBC_CMD(ibv_cmd_modify_srq, (struct ibv_srq *srq,
	struct ibv_srq_attr *srq_attr, int srq_attr_mask,
	struct ibv_modify_srq *cmd, size_t cmd_size))
RBC_CMD(ibv_cmd_modify_wq, (struct ibv_wq *wq, struct ibv_wq_attr *attr,
	struct ibv_modify_wq *cmd, size_t cmd_size))
RBC_CMD(ibv_cmd_open_qp, (struct ibv_context *context, struct verbs_qp *qp,
	int vqp_sz, struct ibv_qp_open_attr *attr, struct ibv_open_qp *cmd,
	size_t cmd_size, struct ib_uverbs_create_qp_resp *resp,
	size_t resp_size))
RBC_CMD(ibv_cmd_open_xrcd, (struct ibv_context *context,
	struct verbs_xrcd *xrcd, int vxrcd_size,
	struct ibv_xrcd_init_attr *attr, struct ibv_open_xrcd *cmd,
	size_t cmd_size, struct ib_uverbs_open_xrcd_resp *resp,
	size_t resp_size))
RBC_CMD(ibv_cmd_poll_cq, (struct ibv_cq *cq, int ne, struct ibv_wc *wc))
RBC_CMD(ibv_cmd_post_recv, (struct ibv_qp *ibqp, struct ibv_recv_wr *wr,
	struct ibv_recv_wr **bad_wr))
RBC_CMD(ibv_cmd_post_send, (struct ibv_qp *ibqp, struct ibv_send_wr *wr,
	struct ibv_send_wr **bad_wr))
RBC_CMD(ibv_cmd_post_srq_recv, (struct ibv_srq *srq, struct ibv_recv_wr *wr,
	struct ibv_recv_wr **bad_wr))
RBC_CMD(ibv_cmd_query_context, (struct ibv_context *ctx,
	struct ibv_command_buffer *driver))
RBC_CMD(ibv_cmd_query_device_any, (struct ibv_context *context,
	const struct ibv_query_device_ex_input *input,
	struct ibv_device_attr_ex *attr, size_t attr_size,
	struct ib_uverbs_ex_query_device_resp *resp, size_t *resp_size))
RBC_CMD(ibv_cmd_query_mr, (struct ibv_pd *pd, struct verbs_mr *vmr,
	uint32_t mr_handle))
RBC_CMD(ibv_cmd_query_port, (struct ibv_context *context, uint8_t port_num,
	struct ibv_port_attr *port_attr, struct ibv_query_port *cmd,
	size_t cmd_size))
RBC_CMD(ibv_cmd_query_qp, (struct ibv_qp *qp, struct ibv_qp_attr *qp_attr,
	int attr_mask, struct ibv_qp_init_attr *qp_init_attr,
	struct ibv_query_qp *cmd, size_t cmd_size))
RBC_CMD(ibv_cmd_query_srq, (struct ibv_srq *srq, struct ibv_srq_attr *srq_attr,
	struct ibv_query_srq *cmd, size_t cmd_size))
RBC_CMD(ibv_cmd_read_counters, (struct verbs_counters *vcounters,
	uint64_t *counters_value, uint32_t ncounters, uint32_t flags,
	struct ibv_command_buffer *link))
RBC_CMD(ibv_cmd_reg_dm_mr, (struct ibv_pd *pd, struct verbs_dm *dm,
	uint64_t offset, size_t length, unsigned int access,
	struct verbs_mr *vmr, struct ibv_command_buffer *link))
RBC_CMD(ibv_cmd_reg_dmabuf_mr, (struct ibv_pd *pd, uint64_t offset,
	size_t length, uint64_t iova, int fd, int access,
	struct verbs_mr *vmr))
RBC_CMD(ibv_cmd_reg_mr, (struct ibv_pd *pd, void *addr, size_t length,
	uint64_t hca_va, int access, struct verbs_mr *vmr,
	struct ibv_reg_mr *cmd, size_t cmd_size,
	struct ib_uverbs_reg_mr_resp *resp, size_t resp_size))
RBC_CMD(ibv_cmd_req_notify_cq, (struct ibv_cq *cq, int solicited_only))
RBC_CMD(ibv_cmd_rereg_mr, (struct verbs_mr *vmr, uint32_t flags, void *addr,
	size_t length, uint64_t hca_va, int access, struct ibv_pd *pd,
	struct ibv_rereg_mr *cmd, size_t cmd_sz,
	struct ib_uverbs_rereg_mr_resp *resp, size_t resp_sz))
RBC_CMD(ibv_cmd_resize_cq, (struct ibv_cq *cq, int cqe,
	struct ibv_resize_cq *cmd, size_t cmd_size,
	struct ib_uverbs_resize_cq_resp *resp, size_t resp_size))
