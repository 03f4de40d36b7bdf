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
#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#endif

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

/*
 * Streaming copies: the stores of a large transfer go around the caches
 * (non-temporal), as a NIC's DMA does, instead of reading each
 * destination line in first and pushing the source out of the cache with
 * it.  On the 2-vCPU VM of docs/performance.md ("Non-temporal copies")
 * rdmab-perf write_bw at 1 MiB went from 38 to 43-44 GB/s with them, and
 * at 8 MiB from 34-36 to 37-38.  Smaller transfers keep memmove: their
 * receiver reads them next, from the cache, and a 64 KiB WRITE moves at
 * 50-60 GB/s in cache.  Only for pieces that do not overlap, and only on
 * x86-64 (elsewhere, and where the CPU has no AVX, memmove); which vector
 * width is asked of the CPU once (valgrind's CPU has no AVX-512).
 */
#if defined(__x86_64__) && defined(__GNUC__)
#define MEM_STREAM 1

__attribute__((target("avx512f")))
static size_t mem_stream_512(uint8_t *d, const uint8_t *s, size_t n)
{
	size_t k;

	for (k = 0; k + 256 <= n; k += 256) {
		__m512i a = _mm512_loadu_si512(s + k), b = _mm512_loadu_si512(s + k + 64);
		__m512i c = _mm512_loadu_si512(s + k + 128), e = _mm512_loadu_si512(s + k + 192);

		_mm512_stream_si512((void *)(d + k), a);
		_mm512_stream_si512((void *)(d + k + 64), b);
		_mm512_stream_si512((void *)(d + k + 128), c);
		_mm512_stream_si512((void *)(d + k + 192), e);
	}
	return k;
}

__attribute__((target("avx")))
static size_t mem_stream_256(uint8_t *d, const uint8_t *s, size_t n)
{
	size_t k;

	for (k = 0; k + 128 <= n; k += 128) {
		__m256i a = _mm256_loadu_si256((const __m256i *)(const void *)(s + k));
		__m256i b = _mm256_loadu_si256((const __m256i *)(const void *)(s + k + 32));
		__m256i c = _mm256_loadu_si256((const __m256i *)(const void *)(s + k + 64));
		__m256i e = _mm256_loadu_si256((const __m256i *)(const void *)(s + k + 96));

		_mm256_stream_si256((__m256i *)(void *)(d + k), a);
		_mm256_stream_si256((__m256i *)(void *)(d + k + 32), b);
		_mm256_stream_si256((__m256i *)(void *)(d + k + 64), c);
		_mm256_stream_si256((__m256i *)(void *)(d + k + 96), e);
	}
	return k;
}

/* 512, 256, or 0 (memmove): asked of the CPU at the first copy. */
static int mem_stream_width = -1;

static bool mem_stream(uint8_t *d, const uint8_t *s, size_t n)
{
	size_t head, k;

	if (mem_stream_width < 0) {
		__builtin_cpu_init();
		mem_stream_width = __builtin_cpu_supports("avx512f") ? 512 :
				   __builtin_cpu_supports("avx") ? 256 : 0;
	}
	/* A piece of a large transfer may be short (an SGE of a few bytes). */
	if (!mem_stream_width || n < 4096 || (d < s + n && s < d + n))
		return false;
	/* The stores aligned: the bytes up to a line boundary first. */
	head = (64 - ((uintptr_t)d & 63)) & 63;
	memcpy(d, s, head);
	k = head + (mem_stream_width == 512 ? mem_stream_512(d + head, s + head, n - head) :
					      mem_stream_256(d + head, s + head, n - head));
	memcpy(d + k, s + k, n - k);
	/* Streaming stores are weakly ordered: all of them visible before
	 * the completion that says the bytes are there. */
	_mm_sfence();
	return true;
}
#endif

/* Copy n bytes between two pieces; 0, or -1 with *dst_failed set.
 * stream: a large transfer's (soft_mem_copy_stream). */
static int mem_chunk_copy(const struct mem_seg *d, uint64_t doff, const struct mem_seg *s,
			  uint64_t soff, size_t n, bool stream, bool *dst_failed)
{
	if (d->ptr && s->ptr) {
#ifdef MEM_STREAM
		if (stream && mem_stream(d->ptr + doff, s->ptr + soff, n))
			return 0;
#else
		(void)stream;
#endif
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

		if (mem_chunk_copy(&b, 0, s, soff, k, false, dst_failed) < 0 ||
		    mem_chunk_copy(d, doff, &b, 0, k, false, dst_failed) < 0)
			return -1;
		n -= k;
		soff += k;
		doff += k;
	}
	return 0;
}

/* Copy len bytes from the src pieces to the dst pieces, in order. */
static int mem_copy(const struct mem_seg *dst, uint32_t nd, const struct mem_seg *src,
		    uint32_t ns, uint64_t len, bool stream, bool *dst_failed)
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
		if (mem_chunk_copy(&dst[di], doff, &src[si], soff, n, stream, dst_failed) < 0)
			return -1;
		doff += n;
		soff += n;
		len -= n;
	}
	return 0;
}

int soft_mem_copy(const struct mem_seg *dst, uint32_t nd, const struct mem_seg *src,
		  uint32_t ns, uint64_t len, bool *dst_failed)
{
	return mem_copy(dst, nd, src, ns, len, false, dst_failed);
}

int soft_mem_copy_stream(const struct mem_seg *dst, uint32_t nd, const struct mem_seg *src,
			 uint32_t ns, uint64_t len, bool *dst_failed)
{
	return mem_copy(dst, nd, src, ns, len, true, dst_failed);
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
