/* SPDX-License-Identifier: MIT */
/* Registered memory as the soft device reads and writes it (soft-mem.c). */
#ifndef RB_DRIVERS_SOFT_SOFT_MEM_H
#define RB_DRIVERS_SOFT_SOFT_MEM_H

#include <stdbool.h>
#include <stdint.h>

#include "proto/shm.h"

struct rb_mr;
struct soft_qp;

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
int soft_mem_local(const struct soft_qp *qp, const struct rb_sge *sge,
		   uint32_t access, struct mem_seg *out);
/* The same, for an SGE of PD pd (an XRC SRQ's receive). */
int soft_mem_local_pd(const struct rb_device *dev, const struct rb_res *pd,
		      const struct rb_sge *sge, uint32_t access, struct mem_seg *out);

/*
 * [addr, addr + len) under rkey at the responder dest: true with *out set
 * when an MR of dest's PD has it and both the MR and dest allow access.
 */
bool soft_mem_remote(const struct soft_qp *dest, uint32_t rkey, uint64_t addr,
		     uint64_t len, uint32_t access, struct mem_seg *out);

/*
 * Copy len bytes from the src pieces to the dst pieces, in order (both
 * hold at least len); 0, or -1 with *dst_failed saying which side could
 * not be reached (CMA: the process is gone or unmapped the memory).
 */
int soft_mem_copy(const struct mem_seg *dst, uint32_t nd, const struct mem_seg *src,
		  uint32_t ns, uint64_t len, bool *dst_failed);

/*
 * The bytes [off, off + len) of the n pieces in, as pieces in out (room
 * for n); returns how many.  For moving a large transfer in parts.
 */
uint32_t soft_mem_slice(const struct mem_seg *in, uint32_t n, uint64_t off, uint64_t len,
			struct mem_seg *out);

#endif /* RB_DRIVERS_SOFT_SOFT_MEM_H */
