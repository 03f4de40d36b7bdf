/* SPDX-License-Identifier: MIT */
/*
 * The QP state machine of daemon/qp.c as a table (which transitions exist
 * and which attributes each requires and allows, per QP type, as the
 * kernel's ib_modify_qp_is_ok has them), for modify_qp and for
 * tests/unit/qp-state.c.
 */
#ifndef RB_DAEMON_QP_STATE_H
#define RB_DAEMON_QP_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <infiniband/verbs.h>

/* The table's column of a QP type (XRC uses RC's), or -1: no such type. */
int qp_type_index(enum ibv_qp_type t);

/*
 * Whether a QP of type qpt (table column type, from qp_type_index) may go
 * from cur to next with attribute mask; when not, why says which rule
 * refused it.
 */
bool qp_transition_ok(enum ibv_qp_state cur, enum ibv_qp_state next,
		      int type, enum ibv_qp_type qpt, uint32_t mask, char *why,
		      size_t len);

#endif /* RB_DAEMON_QP_STATE_H */
