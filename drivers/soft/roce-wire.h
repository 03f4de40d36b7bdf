/* SPDX-License-Identifier: MIT */
/*
 * RoCEv2 on the wire (IBTA Vol. 1 ch. 9, Annex A17): the base transport
 * header and its extensions, the opcodes of RC, UC and UD, and the
 * invariant CRC.  Pure functions over byte buffers, no state: the soft
 * device's UDP I/O (roce-io.c) and the tests share them.
 *
 * A RoCEv2 packet is the UDP payload to port 4791:
 *
 *   BTH [DETH] [RETH] [AtomicETH] [AETH] [AtomicAckETH] [ImmDt] [IETH]
 *   payload, pad (0..3 bytes, BTH.PadCnt), ICRC (4 bytes)
 *
 * Which extension headers follow the BTH is fixed by the opcode
 * (roce_wire_op_hdrs()).  Every multi-byte field is big-endian on the
 * wire; struct roce_pkt holds them in host order, except imm (ImmDt is
 * opaque: the verbs API carries it in network order, so it is kept as the
 * four bytes read).
 */
#ifndef RB_DRIVERS_SOFT_ROCE_WIRE_H
#define RB_DRIVERS_SOFT_ROCE_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#define ROCE_UDP_PORT		4791

/* Header lengths in bytes. */
#define ROCE_BTH_LEN		12
#define ROCE_DETH_LEN		8
#define ROCE_RETH_LEN		16
#define ROCE_ATOMIC_LEN		28
#define ROCE_AETH_LEN		4
#define ROCE_ATOMICACK_LEN	8
#define ROCE_IMM_LEN		4
#define ROCE_IETH_LEN		4
#define ROCE_ICRC_LEN		4
/* The longest header chain of any opcode we speak (UD SEND_ONLY_IMM:
 * BTH+DETH+ImmDt = 24; RDMA_WRITE_ONLY_IMM: BTH+RETH+ImmDt = 32;
 * ATOMIC: BTH+AtomicETH = 40). */
#define ROCE_HDR_MAX		40

/* The 24-bit fields of the BTH. */
#define ROCE_QPN_MASK		0x00ffffffu
#define ROCE_PSN_MASK		0x00ffffffu
/* The default partition key (full member). */
#define ROCE_PKEY_DEFAULT	0xffffu

/* Transport of an opcode: its top three bits. */
enum roce_transport {
	ROCE_TR_RC = 0x00,
	ROCE_TR_UC = 0x20,
	ROCE_TR_RD = 0x40,
	ROCE_TR_UD = 0x60,
};
#define ROCE_TR_MASK		0xe0

/* The operation: the low five bits (RC and UC share them; UD has two). */
enum roce_op {
	ROCE_OP_SEND_FIRST		= 0x00,
	ROCE_OP_SEND_MIDDLE		= 0x01,
	ROCE_OP_SEND_LAST		= 0x02,
	ROCE_OP_SEND_LAST_IMM		= 0x03,
	ROCE_OP_SEND_ONLY		= 0x04,
	ROCE_OP_SEND_ONLY_IMM		= 0x05,
	ROCE_OP_WRITE_FIRST		= 0x06,
	ROCE_OP_WRITE_MIDDLE		= 0x07,
	ROCE_OP_WRITE_LAST		= 0x08,
	ROCE_OP_WRITE_LAST_IMM		= 0x09,
	ROCE_OP_WRITE_ONLY		= 0x0a,
	ROCE_OP_WRITE_ONLY_IMM		= 0x0b,
	ROCE_OP_READ_REQ		= 0x0c,
	ROCE_OP_READ_RESP_FIRST		= 0x0d,
	ROCE_OP_READ_RESP_MIDDLE	= 0x0e,
	ROCE_OP_READ_RESP_LAST		= 0x0f,
	ROCE_OP_READ_RESP_ONLY		= 0x10,
	ROCE_OP_ACK			= 0x11,
	ROCE_OP_ATOMIC_ACK		= 0x12,
	ROCE_OP_CMP_SWAP		= 0x13,
	ROCE_OP_FETCH_ADD		= 0x14,
	ROCE_OP_SEND_LAST_INV		= 0x16,
	ROCE_OP_SEND_ONLY_INV		= 0x17,
};

/* What an opcode's packet holds beyond the BTH (roce_wire_op_hdrs()). */
enum {
	ROCE_H_DETH		= 1u << 0,
	ROCE_H_RETH		= 1u << 1,
	ROCE_H_ATOMIC		= 1u << 2,
	ROCE_H_AETH		= 1u << 3,
	ROCE_H_ATOMICACK	= 1u << 4,
	ROCE_H_IMM		= 1u << 5,
	ROCE_H_IETH		= 1u << 6,
	ROCE_H_PAYLOAD		= 1u << 7,	/* carries data (maybe 0 bytes) */
	/* Position in a message (segmentation by path MTU). */
	ROCE_H_FIRST		= 1u << 8,
	ROCE_H_MIDDLE		= 1u << 9,
	ROCE_H_LAST		= 1u << 10,
	ROCE_H_ONLY		= ROCE_H_FIRST | ROCE_H_LAST,
	/* A request (to a responder) or a response (to a requester). */
	ROCE_H_REQ		= 1u << 11,
	ROCE_H_RESP		= 1u << 12,
	ROCE_H_KNOWN		= 1u << 15,	/* an opcode we speak */
};

/* AETH syndrome: the top three bits say ACK, RNR NAK or NAK. */
#define ROCE_AETH_ACK		0x00	/* low 5 bits: credit count */
#define ROCE_AETH_RNR_NAK	0x20	/* low 5 bits: the RNR timer code */
#define ROCE_AETH_NAK		0x60	/* low 5 bits: the NAK code below */
#define ROCE_AETH_TYPE_MASK	0x60
enum roce_nak {
	ROCE_NAK_PSN_SEQ	= 0,
	ROCE_NAK_INVALID_REQ	= 1,
	ROCE_NAK_REMOTE_ACCESS	= 2,
	ROCE_NAK_REMOTE_OP	= 3,
	ROCE_NAK_INVALID_RD_REQ	= 4,
};

/* One packet's headers, in host order. */
struct roce_pkt {
	uint8_t opcode;
	bool se;			/* solicited event */
	bool mig;			/* MigReq */
	uint8_t pad;			/* PadCnt: 0..3 */
	uint8_t tver;			/* transport header version: 0 */
	uint16_t pkey;
	bool fecn, becn;		/* RoCEv2 congestion bits of resv8a */
	uint32_t dqpn;			/* 24 bits */
	bool ackreq;
	uint32_t psn;			/* 24 bits */
	unsigned int hdrs;		/* ROCE_H_* of the opcode */
	struct { uint32_t qkey, sqpn; } deth;
	struct { uint64_t va; uint32_t rkey, len; } reth;
	struct { uint64_t va; uint32_t rkey; uint64_t swap_add, cmp; } atomic;
	struct { uint8_t syndrome; uint32_t msn; } aeth;	/* msn: 24 bits */
	uint64_t atomic_orig;		/* AtomicAckETH */
	uint8_t imm[4];			/* ImmDt, as on the wire */
	uint32_t ieth_rkey;
	/* Parsed: where the payload starts in the buffer and its length
	 * (without pad and ICRC).  Built: ignored. */
	const uint8_t *payload;
	uint32_t paylen;
};

/* The two ends of the UDP flow, for the ICRC's masked IP/UDP headers. */
struct roce_flow {
	bool v6;			/* else IPv4: addresses in the last 4 bytes */
	uint8_t src[16], dst[16];	/* as GIDs: IPv4-mapped or IPv6 */
	uint16_t sport, dport;		/* host order */
};

/* ROCE_H_* of opcode; 0 for an opcode we do not speak. */
unsigned int roce_wire_op_hdrs(uint8_t opcode);
/* Bytes of BTH and extension headers of opcode; 0 if unknown. */
size_t roce_wire_hdr_len(uint8_t opcode);
/* A name for logs and tests ("RC SEND_ONLY"), "unknown" if unknown. */
const char *roce_wire_op_name(uint8_t opcode);

/*
 * Write p's BTH and the extension headers its opcode has into buf (cap
 * bytes).  Returns the length written, or -EINVAL (unknown opcode, a
 * field out of range) or -ENOSPC.  The payload, pad bytes and ICRC
 * follow, written by the caller (roce_wire_icrc()).
 */
int roce_wire_build(uint8_t *buf, size_t cap, const struct roce_pkt *p);

/*
 * Parse a UDP payload of len bytes (the ICRC included, not checked
 * here).  Trusts nothing: a known opcode, transport header version 0,
 * every header within len, pad and payload consistent with the opcode.
 * Returns 0 with *p filled (payload pointing into buf), or -EBADMSG.
 */
int roce_wire_parse(const uint8_t *buf, size_t len, struct roce_pkt *p);

/*
 * The ICRC (IBTA A17.4.5.1) of a packet sent over flow whose UDP payload
 * without its ICRC is the n pieces of iov (BTH first, pad included):
 * CRC-32 (as zlib computes it) over 64 one-bits for the absent LRH, the
 * IP header with its variant fields as ones (IPv4: TOS, TTL, checksum;
 * IPv6: traffic class, flow label, hop limit), the UDP header with its
 * checksum as ones, the BTH with its resv8a byte as ones, then the rest.
 * The IPv4 header is the one Linux sends from an unconnected UDP socket
 * with DF set: identification 0 (roce-io.c sends so).  The value goes on
 * the wire little-endian (roce_wire_put_icrc()).
 */
uint32_t roce_wire_icrc(const struct roce_flow *flow, const struct iovec *iov,
			int n);
void roce_wire_put_icrc(uint8_t *dst, uint32_t icrc);
/* A whole UDP payload of len bytes: its ICRC matches. */
bool roce_wire_icrc_ok(const struct roce_flow *flow, const uint8_t *buf,
		       size_t len);

/*
 * IPv4 GSO (docs/roce.md, "The IPv4 identification field"): the kernel
 * numbers the IPv4 segments of one UDP_SEGMENT send from an unconnected
 * socket with DF 0, 1, 2, ... in the identification field, which the
 * ICRC covers.  The CRC is linear, so the ICRC of a packet with
 * identification k is its ICRC with identification 0 xor a value that
 * depends only on k and the packet's length: the sender adds it to
 * segment k, the receiver, which sees no IP header, tries the values of
 * k = 1 .. ROCE_GSO_SEGS - 1 when the ICRC with 0 does not match.  That
 * many extra values accepted out of 2^32 is the price in error
 * detection (2^-27 instead of 2^-32 for a random corruption).
 */
#define ROCE_GSO_ID_BITS	5
#define ROCE_GSO_SEGS		(1u << ROCE_GSO_ID_BITS)	/* per send, at most */
/* The values of each identification bit for a few packet lengths
 * (computing them takes some hundred ns; a stream has few lengths). */
struct roce_wire_idcache {
	struct {
		uint32_t len;		/* UDP payload, ICRC included; 0: empty */
		uint32_t e[ROCE_GSO_ID_BITS];
	} s[4];
	unsigned int next;
};
/* What the ICRC of an IPv4 packet whose UDP payload (ICRC included) is
 * len bytes changes by when its identification is id instead of 0. */
uint32_t roce_wire_icrc_id_delta(struct roce_wire_idcache *c, size_t len,
				 unsigned int id);
/*
 * The identification a whole UDP payload's ICRC matches with: 0; over
 * IPv4 and given c, also 1 .. ROCE_GSO_SEGS - 1 (a GSO send's segment);
 * -1 when none does.
 */
int roce_wire_icrc_check(const struct roce_flow *flow, const uint8_t *buf,
			 size_t len, struct roce_wire_idcache *c);

/* A GID that is an IPv4-mapped address (::ffff:a.b.c.d). */
bool roce_wire_gid_is_v4(const uint8_t gid[16]);

/* PSN arithmetic in 24 bits: a - b as a signed distance. */
static inline int32_t roce_psn_diff(uint32_t a, uint32_t b)
{
	return (int32_t)((a - b) << 8) >> 8;
}

#endif /* RB_DRIVERS_SOFT_ROCE_WIRE_H */
