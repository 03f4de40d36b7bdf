/* SPDX-License-Identifier: MIT */
/* Registered memory as the engine reads and writes it (daemon/mem.c). */
#ifndef RB_DAEMON_MEM_H
#define RB_DAEMON_MEM_H

#include <stdbool.h>
#include <stdint.h>

#include "proto/shm.h"

struct rb_mr;
struct rb_qp;

/*
 * A piece of memory the engine reads or writes: at ptr when the daemon
 * has it mapped (or it is the engine's own), else at addr in the MR
 * owner's address space (CMA).
 */
struct mem_seg {
	uint8_t *ptr;
	const struct rb_mr *mr;
	uint64_t addr;
	uint64_t len;
};

/*
 * A local SGE of qp, needing access (IBV_ACCESS_LOCAL_WRITE or 0):
 * IBV_WC_SUCCESS with *out set, or IBV_WC_LOC_PROT_ERR (a bad lkey, an MR
 * of another PD, out of bounds, the access missing).
 */
int mem_local(const struct rb_qp *qp, const struct rb_sge *sge,
	      uint32_t access, struct mem_seg *out);

/*
 * [addr, addr + len) under rkey at the responder dest: true with *out set
 * when an MR of dest's PD has it and both the MR and dest allow access.
 */
bool mem_remote(const struct rb_qp *dest, uint32_t rkey, uint64_t addr,
		uint64_t len, uint32_t access, struct mem_seg *out);

/*
 * Copy len bytes from the src pieces to the dst pieces, in order (both
 * hold at least len); 0, or -1 with *dst_failed saying which side could
 * not be reached (CMA: the process is gone or unmapped the memory).
 */
int mem_copy(const struct mem_seg *dst, uint32_t nd, const struct mem_seg *src,
	     uint32_t ns, uint64_t len, bool *dst_failed);

#endif /* RB_DAEMON_MEM_H */
