/* SPDX-License-Identifier: MIT */
/*
 * RoCEv2 headers and the ICRC (roce-wire.h says what a packet is).
 * Written from IBTA Vol. 1 ch. 9 (the headers and which opcode has
 * which) and Annex A17 (the ICRC over the IP/UDP headers); the CRC
 * itself is zlib's crc32(), the IEEE 802.3 CRC-32 the spec names, folded
 * with carry-less multiplication over payloads where the CPU has it,
 * and computed by tables of our own for pieces under 64 bytes
 * (roce_wire_crc32).
 */
#include "config.h"

#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <zlib.h>

#include "drivers/soft/roce-wire.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define ROCE_CRC_FOLD 1
#endif

/* Headers and position of each opcode we speak, by opcode. */
#define RQ	(ROCE_H_KNOWN | ROCE_H_REQ)
#define RS	(ROCE_H_KNOWN | ROCE_H_RESP)
#define PL	ROCE_H_PAYLOAD
#define SEND_OPS(tr)							\
	[(tr) | ROCE_OP_SEND_FIRST] = RQ | PL | ROCE_H_FIRST,		\
	[(tr) | ROCE_OP_SEND_MIDDLE] = RQ | PL | ROCE_H_MIDDLE,		\
	[(tr) | ROCE_OP_SEND_LAST] = RQ | PL | ROCE_H_LAST,		\
	[(tr) | ROCE_OP_SEND_LAST_IMM] = RQ | PL | ROCE_H_LAST | ROCE_H_IMM, \
	[(tr) | ROCE_OP_SEND_ONLY] = RQ | PL | ROCE_H_ONLY,		\
	[(tr) | ROCE_OP_SEND_ONLY_IMM] = RQ | PL | ROCE_H_ONLY | ROCE_H_IMM, \
	[(tr) | ROCE_OP_WRITE_FIRST] = RQ | PL | ROCE_H_FIRST | ROCE_H_RETH, \
	[(tr) | ROCE_OP_WRITE_MIDDLE] = RQ | PL | ROCE_H_MIDDLE,		\
	[(tr) | ROCE_OP_WRITE_LAST] = RQ | PL | ROCE_H_LAST,		\
	[(tr) | ROCE_OP_WRITE_LAST_IMM] = RQ | PL | ROCE_H_LAST | ROCE_H_IMM, \
	[(tr) | ROCE_OP_WRITE_ONLY] = RQ | PL | ROCE_H_ONLY | ROCE_H_RETH, \
	[(tr) | ROCE_OP_WRITE_ONLY_IMM] = RQ | PL | ROCE_H_ONLY | ROCE_H_RETH | ROCE_H_IMM

static const unsigned int roce_wire_ops[256] = {
	SEND_OPS(ROCE_TR_RC),
	SEND_OPS(ROCE_TR_UC),
	[ROCE_OP_READ_REQ] = RQ | ROCE_H_ONLY | ROCE_H_RETH,
	[ROCE_OP_READ_RESP_FIRST] = RS | PL | ROCE_H_FIRST | ROCE_H_AETH,
	[ROCE_OP_READ_RESP_MIDDLE] = RS | PL | ROCE_H_MIDDLE,
	[ROCE_OP_READ_RESP_LAST] = RS | PL | ROCE_H_LAST | ROCE_H_AETH,
	[ROCE_OP_READ_RESP_ONLY] = RS | PL | ROCE_H_ONLY | ROCE_H_AETH,
	[ROCE_OP_ACK] = RS | ROCE_H_ONLY | ROCE_H_AETH,
	[ROCE_OP_ATOMIC_ACK] = RS | ROCE_H_ONLY | ROCE_H_AETH | ROCE_H_ATOMICACK,
	[ROCE_OP_CMP_SWAP] = RQ | ROCE_H_ONLY | ROCE_H_ATOMIC,
	[ROCE_OP_FETCH_ADD] = RQ | ROCE_H_ONLY | ROCE_H_ATOMIC,
	[ROCE_OP_SEND_LAST_INV] = RQ | PL | ROCE_H_LAST | ROCE_H_IETH,
	[ROCE_OP_SEND_ONLY_INV] = RQ | PL | ROCE_H_ONLY | ROCE_H_IETH,
	[ROCE_TR_UD | ROCE_OP_SEND_ONLY] = RQ | PL | ROCE_H_ONLY | ROCE_H_DETH,
	[ROCE_TR_UD | ROCE_OP_SEND_ONLY_IMM] = RQ | PL | ROCE_H_ONLY | ROCE_H_DETH | ROCE_H_IMM,
};

#undef RQ
#undef RS
#undef PL
#undef SEND_OPS

static const char *const roce_wire_op_names[32] = {
	[ROCE_OP_SEND_FIRST] = "SEND_FIRST",
	[ROCE_OP_SEND_MIDDLE] = "SEND_MIDDLE",
	[ROCE_OP_SEND_LAST] = "SEND_LAST",
	[ROCE_OP_SEND_LAST_IMM] = "SEND_LAST_WITH_IMMEDIATE",
	[ROCE_OP_SEND_ONLY] = "SEND_ONLY",
	[ROCE_OP_SEND_ONLY_IMM] = "SEND_ONLY_WITH_IMMEDIATE",
	[ROCE_OP_WRITE_FIRST] = "RDMA_WRITE_FIRST",
	[ROCE_OP_WRITE_MIDDLE] = "RDMA_WRITE_MIDDLE",
	[ROCE_OP_WRITE_LAST] = "RDMA_WRITE_LAST",
	[ROCE_OP_WRITE_LAST_IMM] = "RDMA_WRITE_LAST_WITH_IMMEDIATE",
	[ROCE_OP_WRITE_ONLY] = "RDMA_WRITE_ONLY",
	[ROCE_OP_WRITE_ONLY_IMM] = "RDMA_WRITE_ONLY_WITH_IMMEDIATE",
	[ROCE_OP_READ_REQ] = "RDMA_READ_REQUEST",
	[ROCE_OP_READ_RESP_FIRST] = "RDMA_READ_RESPONSE_FIRST",
	[ROCE_OP_READ_RESP_MIDDLE] = "RDMA_READ_RESPONSE_MIDDLE",
	[ROCE_OP_READ_RESP_LAST] = "RDMA_READ_RESPONSE_LAST",
	[ROCE_OP_READ_RESP_ONLY] = "RDMA_READ_RESPONSE_ONLY",
	[ROCE_OP_ACK] = "ACKNOWLEDGE",
	[ROCE_OP_ATOMIC_ACK] = "ATOMIC_ACKNOWLEDGE",
	[ROCE_OP_CMP_SWAP] = "COMPARE_SWAP",
	[ROCE_OP_FETCH_ADD] = "FETCH_ADD",
	[ROCE_OP_SEND_LAST_INV] = "SEND_LAST_WITH_INVALIDATE",
	[ROCE_OP_SEND_ONLY_INV] = "SEND_ONLY_WITH_INVALIDATE",
};

/* Each extension header: its bit, in wire order, and its length. */
static const struct {
	unsigned int bit;
	size_t len;
} roce_wire_ext[] = {
	{ ROCE_H_DETH, ROCE_DETH_LEN },
	{ ROCE_H_RETH, ROCE_RETH_LEN },
	{ ROCE_H_ATOMIC, ROCE_ATOMIC_LEN },
	{ ROCE_H_AETH, ROCE_AETH_LEN },
	{ ROCE_H_ATOMICACK, ROCE_ATOMICACK_LEN },
	{ ROCE_H_IMM, ROCE_IMM_LEN },
	{ ROCE_H_IETH, ROCE_IETH_LEN },
};

unsigned int roce_wire_op_hdrs(uint8_t opcode)
{
	return roce_wire_ops[opcode];
}

size_t roce_wire_hdr_len(uint8_t opcode)
{
	unsigned int h = roce_wire_ops[opcode];
	size_t len = ROCE_BTH_LEN;

	if (!h)
		return 0;
	for (size_t i = 0; i < sizeof(roce_wire_ext) / sizeof(roce_wire_ext[0]); i++)
		if (h & roce_wire_ext[i].bit)
			len += roce_wire_ext[i].len;
	return len;
}

const char *roce_wire_op_name(uint8_t opcode)
{
	static const char *const tr[] = { "RC", "UC", "RD", "UD" };
	static __thread char buf[48];

	if (!roce_wire_ops[opcode])
		return "unknown";
	snprintf(buf, sizeof(buf), "%s %s", tr[(opcode & ROCE_TR_MASK) >> 5],
		 roce_wire_op_names[opcode & 0x1f]);
	return buf;
}

/* ---------------------------------------------------------------- bytes */

static void put16(uint8_t *d, uint16_t v)
{
	v = htobe16(v);
	memcpy(d, &v, 2);
}

static void put32(uint8_t *d, uint32_t v)
{
	v = htobe32(v);
	memcpy(d, &v, 4);
}

static void put64(uint8_t *d, uint64_t v)
{
	v = htobe64(v);
	memcpy(d, &v, 8);
}

static uint16_t get16(const uint8_t *s)
{
	uint16_t v;

	memcpy(&v, s, 2);
	return be16toh(v);
}

static uint32_t get32(const uint8_t *s)
{
	uint32_t v;

	memcpy(&v, s, 4);
	return be32toh(v);
}

static uint64_t get64(const uint8_t *s)
{
	uint64_t v;

	memcpy(&v, s, 8);
	return be64toh(v);
}

/* ---------------------------------------------------------------- build */

int roce_wire_build(uint8_t *buf, size_t cap, const struct roce_pkt *p)
{
	unsigned int h = roce_wire_ops[p->opcode];
	size_t len = roce_wire_hdr_len(p->opcode);
	uint8_t *d = buf;

	if (!h || p->pad > 3 || p->tver > 15 || p->dqpn > ROCE_QPN_MASK ||
	    p->psn > ROCE_PSN_MASK || (h & ROCE_H_DETH && p->deth.sqpn > ROCE_QPN_MASK) ||
	    (h & ROCE_H_AETH && p->aeth.msn > ROCE_PSN_MASK))
		return -EINVAL;
	if (len > cap)
		return -ENOSPC;
	d[0] = p->opcode;
	d[1] = (uint8_t)((p->se ? 0x80 : 0) | (p->mig ? 0x40 : 0) |
			 (p->pad << 4) | p->tver);
	put16(d + 2, p->pkey);
	put32(d + 4, p->dqpn | (p->fecn ? 0x80000000u : 0) |
		     (p->becn ? 0x40000000u : 0));
	put32(d + 8, p->psn | (p->ackreq ? 0x80000000u : 0));
	d += ROCE_BTH_LEN;
	if (h & ROCE_H_DETH) {
		put32(d, p->deth.qkey);
		put32(d + 4, p->deth.sqpn);
		d += ROCE_DETH_LEN;
	}
	if (h & ROCE_H_RETH) {
		put64(d, p->reth.va);
		put32(d + 8, p->reth.rkey);
		put32(d + 12, p->reth.len);
		d += ROCE_RETH_LEN;
	}
	if (h & ROCE_H_ATOMIC) {
		put64(d, p->atomic.va);
		put32(d + 8, p->atomic.rkey);
		put64(d + 12, p->atomic.swap_add);
		put64(d + 20, p->atomic.cmp);
		d += ROCE_ATOMIC_LEN;
	}
	if (h & ROCE_H_AETH) {
		put32(d, ((uint32_t)p->aeth.syndrome << 24) | p->aeth.msn);
		d += ROCE_AETH_LEN;
	}
	if (h & ROCE_H_ATOMICACK) {
		put64(d, p->atomic_orig);
		d += ROCE_ATOMICACK_LEN;
	}
	if (h & ROCE_H_IMM) {
		memcpy(d, p->imm, 4);
		d += ROCE_IMM_LEN;
	}
	if (h & ROCE_H_IETH) {
		put32(d, p->ieth_rkey);
		d += ROCE_IETH_LEN;
	}
	return (int)(d - buf);
}

/* ---------------------------------------------------------------- parse */

int roce_wire_parse(const uint8_t *buf, size_t len, struct roce_pkt *p)
{
	const uint8_t *s = buf;
	unsigned int h;
	size_t hlen, rest;

	memset(p, 0, sizeof(*p));
	if (len < ROCE_BTH_LEN + ROCE_ICRC_LEN || len > UINT32_MAX)
		return -EBADMSG;
	p->opcode = s[0];
	h = roce_wire_ops[p->opcode];
	hlen = roce_wire_hdr_len(p->opcode);
	if (!h || hlen + ROCE_ICRC_LEN > len)
		return -EBADMSG;
	p->hdrs = h;
	p->se = s[1] & 0x80;
	p->mig = s[1] & 0x40;
	p->pad = (s[1] >> 4) & 3;
	p->tver = s[1] & 0x0f;
	if (p->tver != 0)
		return -EBADMSG;
	p->pkey = get16(s + 2);
	p->fecn = s[4] & 0x80;
	p->becn = s[4] & 0x40;
	p->dqpn = get32(s + 4) & ROCE_QPN_MASK;
	p->ackreq = s[8] & 0x80;
	p->psn = get32(s + 8) & ROCE_PSN_MASK;
	s += ROCE_BTH_LEN;
	if (h & ROCE_H_DETH) {
		p->deth.qkey = get32(s);
		p->deth.sqpn = get32(s + 4) & ROCE_QPN_MASK;
		s += ROCE_DETH_LEN;
	}
	if (h & ROCE_H_RETH) {
		p->reth.va = get64(s);
		p->reth.rkey = get32(s + 8);
		p->reth.len = get32(s + 12);
		s += ROCE_RETH_LEN;
	}
	if (h & ROCE_H_ATOMIC) {
		p->atomic.va = get64(s);
		p->atomic.rkey = get32(s + 8);
		p->atomic.swap_add = get64(s + 12);
		p->atomic.cmp = get64(s + 20);
		s += ROCE_ATOMIC_LEN;
	}
	if (h & ROCE_H_AETH) {
		uint32_t v = get32(s);

		p->aeth.syndrome = (uint8_t)(v >> 24);
		p->aeth.msn = v & ROCE_PSN_MASK;
		s += ROCE_AETH_LEN;
	}
	if (h & ROCE_H_ATOMICACK) {
		p->atomic_orig = get64(s);
		s += ROCE_ATOMICACK_LEN;
	}
	if (h & ROCE_H_IMM) {
		memcpy(p->imm, s, 4);
		s += ROCE_IMM_LEN;
	}
	if (h & ROCE_H_IETH) {
		p->ieth_rkey = get32(s);
		s += ROCE_IETH_LEN;
	}
	/* What is left between the headers and the ICRC: payload and pad. */
	rest = len - hlen - ROCE_ICRC_LEN;
	if (!(h & ROCE_H_PAYLOAD) && (rest || p->pad))
		return -EBADMSG;
	if (rest < p->pad)
		return -EBADMSG;
	p->payload = s;
	p->paylen = (uint32_t)(rest - p->pad);
	return 0;
}

/* ----------------------------------------------------------------- ICRC */

bool roce_wire_gid_is_v4(const uint8_t gid[16])
{
	static const uint8_t prefix[12] = { [10] = 0xff, [11] = 0xff };

	return !memcmp(gid, prefix, sizeof(prefix));
}

/*
 * CRC-32 as zlib's crc32(crc, buf, len), folded 16 bytes at a time with
 * PCLMULQDQ: zlib 1.2.13's tables ran at 3.1-3.6 GB/s here and took a
 * tenth of each daemon's time in a WRITE stream (docs/roce.md); this runs
 * at 7.6 GB/s on 1 KiB, 9.5 on 4 KiB.
 *
 * In zlib's bit order (reflected) 16 bytes loaded little-endian are a
 * polynomial C of degree < 128 whose bit k is the coefficient of
 * x^(127-k): the low 64 bits H are its upper half, the high 64 bits L
 * its lower, C = H x^64 + L.  C followed by 128 more bits is C x^128 =
 * H x^192 + L x^128, congruent modulo the CRC's polynomial P to
 * H (x^192 mod P) + L (x^128 mod P): two products of at most 96 bits,
 * which with the next 16 bytes added are the new C, and so on.  A
 * carry-less product of two such halves comes out one degree short (its
 * bit k is the coefficient of x^(126-k)), so the constants are x^191 mod
 * P and x^127 mod P, bit d of the remainder at bit 63-d (as computed by
 * shifting x^0 left n times, XORing 0x04c11db7 at each carry out of
 * x^31).  A CRC depends on its data only modulo P, so zlib finishes on
 * the 16 bytes left and the tail.  The register's initial value acts as
 * an XOR into the first 32 bits of data, so it goes in there.
 */
#define ROCE_CRC_FOLD_MIN	64	/* shorter: the tables are as quick */

/*
 * Short pieces (the pseudo-header, a fold's last 16 bytes and its
 * tail): eight tables, 8 bytes a step ("slicing by 8").  zlib 1.2.13 took
 * 245 ns for 68 bytes and 65 ns for 16 here, these 63 and 12: with GSO
 * the kernel's cost fell and zlib's short calls became a quarter of each
 * daemon in a WRITE stream (perf, docs/roce.md).  Table 0 is the
 * reflected CRC-32 of each byte; table t that byte followed by t zero
 * bytes.  Filled before main(), so no thread ever sees them half made.
 */
static uint32_t roce_wire_crc_tab[8][256];

__attribute__((constructor))
static void roce_wire_crc_tab_init(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;

		for (int k = 0; k < 8; k++)
			c = c & 1 ? (c >> 1) ^ 0xedb88320u : c >> 1;
		roce_wire_crc_tab[0][i] = c;
	}
	for (int t = 1; t < 8; t++)
		for (int i = 0; i < 256; i++)
			roce_wire_crc_tab[t][i] = (roce_wire_crc_tab[t - 1][i] >> 8) ^
				roce_wire_crc_tab[0][roce_wire_crc_tab[t - 1][i] & 0xff];
}

/* zlib's crc32(crc, buf, len), by the tables. */
static uint32_t roce_wire_crc_short(uint32_t crc, const uint8_t *buf, size_t len)
{
	const uint32_t (*t)[256] = roce_wire_crc_tab;

	crc = ~crc;
	while (len >= 8) {
		uint32_t a, b;

		memcpy(&a, buf, 4);
		memcpy(&b, buf + 4, 4);
		a = le32toh(a) ^ crc;
		b = le32toh(b);
		crc = t[7][a & 0xff] ^ t[6][(a >> 8) & 0xff] ^ t[5][(a >> 16) & 0xff] ^
		      t[4][a >> 24] ^ t[3][b & 0xff] ^ t[2][(b >> 8) & 0xff] ^
		      t[1][(b >> 16) & 0xff] ^ t[0][b >> 24];
		buf += 8;
		len -= 8;
	}
	while (len--)
		crc = (crc >> 8) ^ t[0][(crc ^ *buf++) & 0xff];
	return ~crc;
}
#define ROCE_CRC_X191		0x65673b4600000000ull
#define ROCE_CRC_X127		0x9ba54c6f00000000ull

#ifdef ROCE_CRC_FOLD
__attribute__((target("pclmul,sse2")))
static uint32_t roce_wire_crc_fold(uint32_t crc, const uint8_t *buf, size_t len)
{
	const __m128i k = _mm_set_epi64x((long long)ROCE_CRC_X127, (long long)ROCE_CRC_X191);
	uint8_t first[16], rest[16];
	__m128i acc;

	memcpy(first, buf, 16);
	for (int i = 0; i < 4; i++)
		first[i] ^= (uint8_t)(~crc >> (8 * i));
	acc = _mm_loadu_si128((const __m128i *)(const void *)first);
	buf += 16;
	len -= 16;
	while (len >= 16) {
		__m128i h = _mm_clmulepi64_si128(acc, k, 0x00);
		__m128i l = _mm_clmulepi64_si128(acc, k, 0x11);

		acc = _mm_xor_si128(_mm_xor_si128(h, l),
				    _mm_loadu_si128((const __m128i *)(const void *)buf));
		buf += 16;
		len -= 16;
	}
	_mm_storeu_si128((__m128i *)(void *)rest, acc);
	crc = roce_wire_crc_short(0xffffffffu, rest, 16);
	return len ? roce_wire_crc_short(crc, buf, len) : crc;
}
#endif

static uint32_t roce_wire_crc32(uint32_t crc, const uint8_t *buf, size_t len)
{
	if (len < ROCE_CRC_FOLD_MIN)
		return roce_wire_crc_short(crc, buf, len);
#ifdef ROCE_CRC_FOLD
	if (__builtin_cpu_supports("pclmul"))
		return roce_wire_crc_fold(crc, buf, len);
#endif
	return (uint32_t)crc32(crc, buf, (uInt)len);	/* zlib: quicker on long runs */
}

uint32_t roce_wire_icrc(const struct roce_flow *flow, const struct iovec *iov,
			int n)
{
	/* 8 bytes of ones (the LRH) + IPv6 header (the larger) + UDP + BTH */
	uint8_t ph[8 + 40 + 8 + ROCE_BTH_LEN];
	size_t udp_len = 8 + ROCE_ICRC_LEN, off = 8, bth_left = ROCE_BTH_LEN;
	uLong crc;
	int i;

	for (i = 0; i < n; i++)
		udp_len += iov[i].iov_len;
	memset(ph, 0xff, 8);
	if (!flow->v6) {
		ph[off + 0] = 0x45;
		ph[off + 1] = 0xff;			/* TOS: masked */
		put16(ph + off + 2, (uint16_t)(20 + udp_len));
		put16(ph + off + 4, 0);			/* identification */
		put16(ph + off + 6, 0x4000);		/* DF, offset 0 */
		ph[off + 8] = 0xff;			/* TTL: masked */
		ph[off + 9] = 17;			/* UDP */
		put16(ph + off + 10, 0xffff);		/* checksum: masked */
		memcpy(ph + off + 12, flow->src + 12, 4);
		memcpy(ph + off + 16, flow->dst + 12, 4);
		off += 20;
	} else {
		/* version 6, then traffic class and flow label: masked */
		put32(ph + off, 0x6fffffffu);
		put16(ph + off + 4, (uint16_t)udp_len);
		ph[off + 6] = 17;
		ph[off + 7] = 0xff;			/* hop limit: masked */
		memcpy(ph + off + 8, flow->src, 16);
		memcpy(ph + off + 24, flow->dst, 16);
		off += 40;
	}
	put16(ph + off, flow->sport);
	put16(ph + off + 2, flow->dport);
	put16(ph + off + 4, (uint16_t)udp_len);
	put16(ph + off + 6, 0xffff);			/* checksum: masked */
	off += 8;
	/* The BTH, wherever the pieces cut it, with resv8a masked. */
	for (i = 0; i < n && bth_left; i++) {
		size_t take = iov[i].iov_len < bth_left ? iov[i].iov_len : bth_left;

		memcpy(ph + off, iov[i].iov_base, take);
		off += take;
		bth_left -= take;
	}
	ph[off - ROCE_BTH_LEN + 4] = 0xff;
	crc = roce_wire_crc32(0, ph, off);
	/* The rest, from where the BTH ended. */
	for (i = 0, bth_left = ROCE_BTH_LEN; i < n; i++) {
		const uint8_t *b = iov[i].iov_base;
		size_t l = iov[i].iov_len, skip = l < bth_left ? l : bth_left;

		bth_left -= skip;
		if (l > skip)
			crc = roce_wire_crc32((uint32_t)crc, b + skip, l - skip);
	}
	return (uint32_t)crc;
}

void roce_wire_put_icrc(uint8_t *dst, uint32_t icrc)
{
	icrc = htole32(icrc);
	memcpy(dst, &icrc, 4);
}

/*
 * For CRCs of equal length, crc(A) ^ crc(B) is the CRC without its
 * initial and final inversions (call it lin) of A ^ B.  Between the
 * packet with identification id and with 0, A ^ B is zero but for the
 * identification's two bytes, at offset 12 of the ICRC's input (8 bytes
 * of ones, then the IPv4 header), with len + 18 bytes after them (the
 * input is 8 + 20 + 8 + len - 4 bytes).  lin of zeros is zero, so the
 * difference is lin(id's two bytes) moved across len + 18 zero bytes,
 * which is what zlib's crc32_combine() does to its first CRC; and lin
 * is linear in id, so one value per bit of id does for all.
 */
static const uint32_t *roce_wire_id_basis(struct roce_wire_idcache *c, size_t len)
{
	static const uint8_t zero[2];
	unsigned int i;
	uLong op;

	for (i = 0; i < sizeof(c->s) / sizeof(c->s[0]); i++)
		if (c->s[i].len == len)
			return c->s[i].e;
	i = c->next++ % (sizeof(c->s) / sizeof(c->s[0]));
	op = crc32_combine_gen((z_off_t)len + 18);
	for (unsigned int b = 0; b < ROCE_GSO_ID_BITS; b++) {
		uint8_t id[2] = { (uint8_t)((1u << b) >> 8), (uint8_t)(1u << b) };
		uLong lin = crc32(0, id, 2) ^ crc32(0, zero, 2);

		c->s[i].e[b] = (uint32_t)crc32_combine_op(lin, 0, op);
	}
	c->s[i].len = (uint32_t)len;
	return c->s[i].e;
}

uint32_t roce_wire_icrc_id_delta(struct roce_wire_idcache *c, size_t len,
				 unsigned int id)
{
	const uint32_t *e;
	uint32_t d = 0;

	if (!id)
		return 0;
	e = roce_wire_id_basis(c, len);
	for (unsigned int b = 0; b < ROCE_GSO_ID_BITS; b++)
		if (id & (1u << b))
			d ^= e[b];
	return d;
}

int roce_wire_icrc_check(const struct roce_flow *flow, const uint8_t *buf,
			 size_t len, struct roce_wire_idcache *c)
{
	struct iovec iov;
	const uint32_t *e;
	uint32_t got, diff, d = 0;

	if (len < ROCE_BTH_LEN + ROCE_ICRC_LEN)
		return -1;
	iov.iov_base = (void *)buf;
	iov.iov_len = len - ROCE_ICRC_LEN;
	memcpy(&got, buf + len - ROCE_ICRC_LEN, 4);
	diff = le32toh(got) ^ roce_wire_icrc(flow, &iov, 1);
	if (!diff)
		return 0;
	if (flow->v6 || !c)
		return -1;
	/* Walk ids 1 .. ROCE_GSO_SEGS - 1 in Gray code order, one xor each. */
	e = roce_wire_id_basis(c, len);
	for (unsigned int g = 1; g < ROCE_GSO_SEGS; g++) {
		d ^= e[__builtin_ctz(g)];
		if (d == diff)
			return (int)(g ^ (g >> 1));
	}
	return -1;
}

bool roce_wire_icrc_ok(const struct roce_flow *flow, const uint8_t *buf,
		       size_t len)
{
	return roce_wire_icrc_check(flow, buf, len, NULL) == 0;
}
