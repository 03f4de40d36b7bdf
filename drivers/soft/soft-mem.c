/* SPDX-License-Identifier: MIT */
/*
 * The soft device's access to registered memory (soft-mem.h): SGEs and
 * remote keys resolved against the MR tables, and copies between the
 * pieces they name, straight between mappings where the daemon has the
 * pages (zero-copy) and through the client's /proc/PID/mem where it has
 * not (CMA regions; see mr_proc_mem in mr.c).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "drivers/soft/soft-int.h"

/* CMA to CMA copies go through here. */
static uint8_t mem_bounce[1024 * 1024];

static void mem_in_mr(struct mem_seg *s, const struct rb_mr *mr, uint64_t off,
		      uint64_t len)
{
	s->mr = mr;
	s->len = len;
	s->addr = mr->addr + off;
	s->ptr = mr->map ? (uint8_t *)mr->map + mr->map_skew + off : NULL;
}

static bool mem_fits(uint64_t base, uint64_t mr_len, uint64_t addr, uint64_t len)
{
	return addr >= base && len <= mr_len && addr - base <= mr_len - len;
}

/*
 * A local SGE of qp: IBV_WC_SUCCESS or IBV_WC_LOC_PROT_ERR.  Its address
 * is in the MR's IOVA space, as for a remote access and as a NIC (and
 * rxe) sees it: the same as the virtual address unless the MR was
 * registered with ibv_reg_mr_iova (the verbs driver registers a client's
 * memory that way, nested on this device).
 */
int soft_mem_local(const struct soft_qp *qp, const struct rb_sge *sge,
		   uint32_t access, struct mem_seg *out)
{
	return soft_mem_local_pd(qp->qp.dev, qp->qp.res.deps[0], sge, access, out);
}

int soft_mem_local_pd(const struct rb_device *dev, const struct rb_res *pd,
		      const struct rb_sge *sge, uint32_t access, struct mem_seg *out)
{
	const struct rb_mr *mr = soft_keys_find_lkey(dev, sge->lkey);

	if (!mr || mr->res.deps[0] != pd ||
	    (mr->access & access) != access ||
	    !mem_fits(mr->iova, mr->length, sge->addr, sge->length))
		return IBV_WC_LOC_PROT_ERR;
	mem_in_mr(out, mr, sge->addr - mr->iova, sge->length);
	return IBV_WC_SUCCESS;
}

/* [addr, addr + len) of an rkey at the responder dest: true if allowed. */
bool soft_mem_remote(const struct soft_qp *dest, uint32_t rkey, uint64_t addr,
		     uint64_t len, uint32_t access, struct mem_seg *out)
{
	const struct rb_mr *mr;

	if (rkey & SOFT_KEY_MW) {
		/* A window: its checks, then its MR's bounds once more. */
		mr = soft_mw_remote(dest, rkey, addr, len, access);
		if (!mr || !mem_fits(mr->iova, mr->length, addr, len))
			return false;
		mem_in_mr(out, mr, addr - mr->iova, len);
		return true;
	}
	mr = soft_keys_find_rkey(dest->qp.dev, rkey);
	if (!mr || mr->res.deps[0] != dest->qp.res.deps[0] ||
	    !(mr->access & access) || !(dest->qp.attr.qp_access_flags & access) ||
	    !mem_fits(mr->iova, mr->length, addr, len))
		return false;
	mem_in_mr(out, mr, addr - mr->iova, len);
	return true;
}

/* Copy n bytes between two pieces; 0, or -1 with *dst_failed set. */
static int mem_chunk_copy(const struct mem_seg *d, uint64_t doff, const struct mem_seg *s,
			  uint64_t soff, size_t n, bool *dst_failed)
{
	if (d->ptr && s->ptr) {
		memmove(d->ptr + doff, s->ptr + soff, n);
		return 0;
	}
	/*
	 * A CMA piece: through the client's /proc/PID/mem (mr.c), bound to
	 * the address space that registered it, never by pid, and never on
	 * this thread: a worker with a deadline does it in bounded chunks
	 * (rb_mr_read, drivers/memio.c), since the memory may be a file that
	 * never answers.  Unlike process_vm_writev, it writes a private
	 * read-only page too (a copy of the client's own), as the client
	 * asked by registering it.
	 */
	if (s->ptr) {
		*dst_failed = true;
		return rb_mr_write(d->mr, d->addr + doff, s->ptr + soff, n) ? -1 : 0;
	}
	if (d->ptr) {
		*dst_failed = false;
		return rb_mr_read(s->mr, s->addr + soff, d->ptr + doff, n) ? -1 : 0;
	}
	while (n) {
		size_t k = n < sizeof(mem_bounce) ? n : sizeof(mem_bounce);
		struct mem_seg b = { .ptr = mem_bounce, .len = k };

		if (mem_chunk_copy(&b, 0, s, soff, k, dst_failed) < 0 ||
		    mem_chunk_copy(d, doff, &b, 0, k, dst_failed) < 0)
			return -1;
		n -= k;
		soff += k;
		doff += k;
	}
	return 0;
}

/* Copy len bytes from the src pieces to the dst pieces, in order. */
int soft_mem_copy(const struct mem_seg *dst, uint32_t nd, const struct mem_seg *src,
		  uint32_t ns, uint64_t len, bool *dst_failed)
{
	uint32_t di = 0, si = 0;
	uint64_t doff = 0, soff = 0;

	while (len) {
		uint64_t n;

		while (di < nd && doff == dst[di].len) {
			di++;
			doff = 0;
		}
		while (si < ns && soff == src[si].len) {
			si++;
			soff = 0;
		}
		if (di == nd || si == ns)
			return -1;	/* callers size both sides first */
		n = dst[di].len - doff;
		if (src[si].len - soff < n)
			n = src[si].len - soff;
		if (len < n)
			n = len;
		if (mem_chunk_copy(&dst[di], doff, &src[si], soff, n, dst_failed) < 0)
			return -1;
		doff += n;
		soff += n;
		len -= n;
	}
	return 0;
}

/* [off, off + len) of the pieces in into out (as many); their count. */
uint32_t soft_mem_slice(const struct mem_seg *in, uint32_t n, uint64_t off, uint64_t len,
			struct mem_seg *out)
{
	uint32_t k = 0;

	for (uint32_t i = 0; i < n && len; i++) {
		if (off >= in[i].len) {
			off -= in[i].len;
			continue;
		}
		out[k] = in[i];
		if (out[k].ptr)
			out[k].ptr += off;
		out[k].addr += off;
		out[k].len -= off;
		if (out[k].len > len)
			out[k].len = len;
		len -= out[k].len;
		off = 0;
		k++;
	}
	return k;
}
