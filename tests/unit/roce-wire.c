/* SPDX-License-Identifier: MIT */
/*
 * The RoCEv2 wire format of the soft device (drivers/soft/roce-wire.c):
 * every opcode built and parsed back field for field; every truncation
 * and every bad length refused; the CRC is zlib's IEEE CRC-32 (its check
 * value); the ICRC does not depend on how the packet is cut into pieces,
 * changes with every bit it covers and ignores the bits the spec masks;
 * a fixed packet has the ICRC computed apart by tests/unit/roce-icrc.py.
 *
 * With --pcap FILE it writes one Ethernet frame per opcode (IPv4 and
 * IPv6, real IP and UDP checksums) and prints "opcode psn icrc" per
 * frame, for tests/unit/roce-wire-tshark.sh to compare with what
 * Wireshark's dissector makes of them.  No daemon; plain checks.
 */
#include "config.h"

#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "drivers/soft/roce-wire.h"

#include "tests/lib/check.h"

static const struct roce_flow flow4 = {
	.v6 = false,
	.src = { [10] = 0xff, [11] = 0xff, 10, 77, 0, 1 },
	.dst = { [10] = 0xff, [11] = 0xff, 10, 77, 0, 2 },
	.sport = 49152, .dport = ROCE_UDP_PORT,
};
static const struct roce_flow flow6 = {
	.v6 = true,
	.src = { 0xfd, 0, 0, 0, 0, 0, 0, 0x77, 0, 0, 0, 0, 0, 0, 0, 1 },
	.dst = { 0xfd, 0, 0, 0, 0, 0, 0, 0x77, 0, 0, 0, 0, 0, 0, 0, 2 },
	.sport = ROCE_UDP_PORT, .dport = ROCE_UDP_PORT,
};

/* A packet of opcode with a distinct value in every field it has. */
static void sample(struct roce_pkt *p, uint8_t opcode, uint32_t paylen)
{
	unsigned int h = roce_wire_op_hdrs(opcode);

	memset(p, 0, sizeof(*p));
	p->opcode = opcode;
	p->se = (h & ROCE_H_LAST) && (h & ROCE_H_REQ);
	p->pkey = ROCE_PKEY_DEFAULT;
	p->dqpn = 0x123456 ^ opcode;
	p->ackreq = (h & ROCE_H_LAST) && (h & ROCE_H_REQ);
	p->psn = 0xabcd00 | opcode;
	p->pad = (h & ROCE_H_PAYLOAD) ? (uint8_t)((4 - paylen % 4) % 4) : 0;
	p->deth.qkey = 0x11111111;
	p->deth.sqpn = 0x000042;
	p->reth.va = 0x00007f0012345000ull;
	p->reth.rkey = 0xdeadbeef;
	p->reth.len = 65536;
	p->atomic.va = 0x00007f0000001008ull;
	p->atomic.rkey = 0xcafe0001;
	p->atomic.swap_add = 0x0102030405060708ull;
	p->atomic.cmp = 0x1112131415161718ull;
	p->aeth.syndrome = ROCE_AETH_ACK | 0x1f;
	p->aeth.msn = 0x000777;
	p->atomic_orig = 0x2122232425262728ull;
	memcpy(p->imm, "\x01\x02\x03\x04", 4);
	p->ieth_rkey = 0x55aa55aa;
}

/* Headers, payload, pad and ICRC of p over flow into buf; its length. */
static size_t packet(uint8_t *buf, size_t cap, const struct roce_pkt *p,
		     const struct roce_flow *flow, uint32_t paylen)
{
	int hl = roce_wire_build(buf, cap, p);
	struct iovec iov;
	size_t len;

	if (hl < 0 || (size_t)hl + paylen + p->pad + ROCE_ICRC_LEN > cap)
		return 0;
	for (uint32_t i = 0; i < paylen; i++)
		buf[hl + i] = (uint8_t)(i * 7 + 3);
	memset(buf + hl + paylen, 0, p->pad);
	len = (size_t)hl + paylen + p->pad;
	iov.iov_base = buf;
	iov.iov_len = len;
	roce_wire_put_icrc(buf + len, roce_wire_icrc(flow, &iov, 1));
	return len + ROCE_ICRC_LEN;
}

static void test_crc32_check_value(void)
{
	/* zlib's CRC-32 of "123456789" is the IEEE 802.3 check value. */
	CHECK(crc32(0L, (const Bytef *)"123456789", 9) == 0xcbf43926u, "CRC-32 check value");
	CHECK(roce_wire_hdr_len(0x04) == ROCE_BTH_LEN, "SEND_ONLY header");
	CHECK(roce_wire_hdr_len(0x64) == ROCE_BTH_LEN + ROCE_DETH_LEN, "UD SEND_ONLY header");
	CHECK(roce_wire_hdr_len(0x0b) == ROCE_BTH_LEN + ROCE_RETH_LEN + ROCE_IMM_LEN,
	      "WRITE_ONLY_IMM header");
	CHECK(roce_wire_hdr_len(0x13) == ROCE_BTH_LEN + ROCE_ATOMIC_LEN, "CMP_SWAP header");
	CHECK(roce_wire_hdr_len(0x12) == ROCE_BTH_LEN + ROCE_AETH_LEN + ROCE_ATOMICACK_LEN,
	      "ATOMIC_ACK header");
	CHECK(roce_wire_hdr_len(0x15) == 0 && roce_wire_hdr_len(0x40) == 0 &&
	      roce_wire_hdr_len(0x66) == 0 && roce_wire_hdr_len(0xff) == 0,
	      "reserved and RD opcodes are unknown");
	for (unsigned int op = 0; op < 256; op++)
		CHECK(roce_wire_hdr_len((uint8_t)op) <= ROCE_HDR_MAX, "opcode %#x within ROCE_HDR_MAX", op);
}

static void test_roundtrip(void)
{
	for (unsigned int op = 0; op < 256; op++) {
		unsigned int h = roce_wire_op_hdrs((uint8_t)op);
		uint32_t lens[] = { 0, 1, 2, 3, 4, 5, 1024 };

		if (!h)
			continue;
		for (size_t li = 0; li < sizeof(lens) / sizeof(lens[0]); li++) {
			uint32_t pl = (h & ROCE_H_PAYLOAD) ? lens[li] : 0;
			uint8_t buf[2048];
			struct roce_pkt p, q;
			size_t len;

			sample(&p, (uint8_t)op, pl);
			len = packet(buf, sizeof(buf), &p, &flow4, pl);
			CHECK(len > 0, "%s builds", roce_wire_op_name((uint8_t)op));
			CHECK(roce_wire_parse(buf, len, &q) == 0, "%s parses",
			      roce_wire_op_name((uint8_t)op));
			CHECK(roce_wire_icrc_ok(&flow4, buf, len), "%s ICRC", roce_wire_op_name((uint8_t)op));
			CHECK(!roce_wire_icrc_ok(&flow6, buf, len), "%s ICRC binds the addresses",
			      roce_wire_op_name((uint8_t)op));
			CHECK(q.opcode == p.opcode && q.se == p.se && q.pad == p.pad &&
			      q.pkey == p.pkey && q.dqpn == p.dqpn && q.psn == p.psn &&
			      q.ackreq == p.ackreq && q.hdrs == h, "%s BTH", roce_wire_op_name((uint8_t)op));
			CHECK(q.paylen == pl && (!pl || q.payload == buf + roce_wire_hdr_len((uint8_t)op)),
			      "%s payload %u", roce_wire_op_name((uint8_t)op), pl);
			if (h & ROCE_H_DETH)
				CHECK(q.deth.qkey == p.deth.qkey && q.deth.sqpn == p.deth.sqpn, "DETH");
			if (h & ROCE_H_RETH)
				CHECK(q.reth.va == p.reth.va && q.reth.rkey == p.reth.rkey &&
				      q.reth.len == p.reth.len, "RETH");
			if (h & ROCE_H_ATOMIC)
				CHECK(q.atomic.va == p.atomic.va && q.atomic.rkey == p.atomic.rkey &&
				      q.atomic.swap_add == p.atomic.swap_add &&
				      q.atomic.cmp == p.atomic.cmp, "AtomicETH");
			if (h & ROCE_H_AETH)
				CHECK(q.aeth.syndrome == p.aeth.syndrome && q.aeth.msn == p.aeth.msn, "AETH");
			if (h & ROCE_H_ATOMICACK)
				CHECK(q.atomic_orig == p.atomic_orig, "AtomicAckETH");
			if (h & ROCE_H_IMM)
				CHECK(!memcmp(q.imm, p.imm, 4), "ImmDt");
			if (h & ROCE_H_IETH)
				CHECK(q.ieth_rkey == p.ieth_rkey, "IETH");
			/* Every shorter buffer is refused, or parses as a
			 * shorter payload: never a read past it (ASan). */
			for (size_t cut = 0; cut < len; cut++) {
				uint8_t *t = malloc(cut ? cut : 1);
				struct roce_pkt r;

				memcpy(t, buf, cut);
				if (roce_wire_parse(t, cut, &r) == 0)
					CHECK((h & ROCE_H_PAYLOAD) && r.paylen < pl,
					      "%s cut at %zu parses only as a shorter payload",
					      roce_wire_op_name((uint8_t)op), cut);
				free(t);
			}
			if (!(h & ROCE_H_PAYLOAD))
				break;
		}
	}
}

static void test_refusals(void)
{
	uint8_t buf[256];
	struct roce_pkt p, q;
	size_t len;

	/* Unknown opcodes. */
	sample(&p, 0x04, 8);
	len = packet(buf, sizeof(buf), &p, &flow4, 8);
	for (unsigned int op = 0; op < 256; op++) {
		unsigned int h = roce_wire_op_hdrs((uint8_t)op);
		/* 8 bytes of data: fine for a known opcode with data whose
		 * headers fit, refused for every other. */
		bool fits = h && (h & ROCE_H_PAYLOAD) &&
			    roce_wire_hdr_len((uint8_t)op) + ROCE_ICRC_LEN <= len;

		buf[0] = (uint8_t)op;
		CHECK((roce_wire_parse(buf, len, &q) == 0) == fits, "opcode %#x", op);
	}
	buf[0] = 0x04;
	/* Transport header version not 0. */
	buf[1] |= 0x01;
	CHECK(roce_wire_parse(buf, len, &q) == -EBADMSG, "TVer 1 refused");
	buf[1] &= 0xf0;
	/* A pad larger than the payload. */
	sample(&p, 0x04, 1);
	len = packet(buf, sizeof(buf), &p, &flow4, 1);
	buf[1] |= 0x30;			/* pad 3 of 1 byte + 3 pad */
	CHECK(roce_wire_parse(buf, len, &q) == 0 && q.paylen == 1, "pad 3 over 4 bytes");
	CHECK(roce_wire_parse(buf, len - 1, &q) == 0 && q.paylen == 0, "pad 3 over 3 bytes");
	CHECK(roce_wire_parse(buf, len - 2, &q) == -EBADMSG, "pad 3 over 2 bytes refused");
	/* Data on an opcode that has none: an ACK with 4 more bytes. */
	sample(&p, ROCE_OP_ACK, 0);
	len = packet(buf, sizeof(buf), &p, &flow4, 0);
	CHECK(roce_wire_parse(buf, len, &q) == 0, "ACK");
	CHECK(roce_wire_parse(buf, len + 4, &q) == -EBADMSG, "ACK with data refused");
	buf[1] |= 0x10;
	CHECK(roce_wire_parse(buf, len, &q) == -EBADMSG, "ACK with a pad refused");
	/* Builders refuse what does not fit 24 bits or the buffer. */
	sample(&p, 0x04, 0);
	p.psn = 1u << 24;
	CHECK(roce_wire_build(buf, sizeof(buf), &p) == -EINVAL, "PSN of 25 bits refused");
	sample(&p, 0x04, 0);
	p.dqpn = 1u << 24;
	CHECK(roce_wire_build(buf, sizeof(buf), &p) == -EINVAL, "QPN of 25 bits refused");
	sample(&p, 0x13, 0);
	CHECK(roce_wire_build(buf, 39, &p) == -ENOSPC, "no room");
	sample(&p, 0x15, 0);
	CHECK(roce_wire_build(buf, sizeof(buf), &p) == -EINVAL, "reserved opcode refused");
	CHECK(roce_wire_parse(buf, 0, &q) == -EBADMSG && roce_wire_parse(buf, 15, &q) == -EBADMSG,
	      "shorter than BTH + ICRC");
	/* PSN distances wrap at 24 bits. */
	CHECK(roce_psn_diff(0, 0xffffff) == 1 && roce_psn_diff(0xffffff, 0) == -1 &&
	      roce_psn_diff(5, 3) == 2 && roce_psn_diff(0x7fffff, 0) == 0x7fffff,
	      "PSN arithmetic");
}

static void test_icrc(void)
{
	uint8_t buf[512];
	struct roce_pkt p;
	size_t len;
	struct iovec iov[3];
	uint32_t whole;

	sample(&p, ROCE_TR_RC | ROCE_OP_WRITE_ONLY_IMM, 100);
	len = packet(buf, sizeof(buf), &p, &flow6, 100) - ROCE_ICRC_LEN;
	iov[0].iov_base = buf;
	iov[0].iov_len = len;
	whole = roce_wire_icrc(&flow6, iov, 1);
	/* Cut anywhere into three pieces: the same CRC. */
	for (size_t a = 0; a <= len; a += 3)
		for (size_t b = a; b <= len; b += 5) {
			iov[0].iov_base = buf;
			iov[0].iov_len = a;
			iov[1].iov_base = buf + a;
			iov[1].iov_len = b - a;
			iov[2].iov_base = buf + b;
			iov[2].iov_len = len - b;
			if (roce_wire_icrc(&flow6, iov, 3) != whole) {
				CHECK(0, "ICRC cut at %zu and %zu differs", a, b);
				return;
			}
		}
	checks++;
	/* Every bit counts, but the masked resv8a byte (FECN/BECN). */
	for (size_t bit = 0; bit < len * 8; bit++) {
		bool masked = bit / 8 == 4;

		buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		CHECK(roce_wire_icrc_ok(&flow6, buf, len + ROCE_ICRC_LEN) == masked,
		      "bit %zu flipped: ICRC %s", bit, masked ? "must hold" : "must fail");
		buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
	}
}

/*
 * The ICRC of one fixed packet, computed apart (tests/unit/roce-icrc.py,
 * Python's zlib over the masked headers laid out by hand from A17), and
 * the bytes of the headers as IBTA lays them out.
 */
static void test_vector(void)
{
	static const uint8_t want_hdr[] = {
		0x64, 0x00, 0xff, 0xff, 0x00, 0x00, 0x00, 0x11,
		0x00, 0x00, 0x00, 0x2a, 0x11, 0x11, 0x11, 0x11,
		0x00, 0x00, 0x00, 0x42,
	};
	uint8_t buf[64];
	struct roce_pkt p;
	struct iovec iov;
	size_t len;

	memset(&p, 0, sizeof(p));
	p.opcode = ROCE_TR_UD | ROCE_OP_SEND_ONLY;
	p.pkey = 0xffff;
	p.dqpn = 0x11;
	p.psn = 42;
	p.deth.qkey = 0x11111111;
	p.deth.sqpn = 0x42;
	len = (size_t)roce_wire_build(buf, sizeof(buf), &p);
	CHECK(len == sizeof(want_hdr) && !memcmp(buf, want_hdr, len), "UD SEND_ONLY header bytes");
	memcpy(buf + len, "ping", 4);
	iov.iov_base = buf;
	iov.iov_len = len + 4;
	CHECK(roce_wire_icrc(&flow4, &iov, 1) == 0x82ba8121u,
	      "ICRC of the fixed IPv4 packet: %#x", roce_wire_icrc(&flow4, &iov, 1));
	CHECK(roce_wire_icrc(&flow6, &iov, 1) == 0xc85853a0u,
	      "ICRC of the fixed IPv6 packet: %#x", roce_wire_icrc(&flow6, &iov, 1));
}

/* ------------------------------------------------------------- --pcap */

static uint16_t csum_fold(uint32_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

static uint32_t csum_add(uint32_t s, const uint8_t *d, size_t n)
{
	for (size_t i = 0; i + 1 < n; i += 2)
		s += (uint32_t)(d[i] << 8 | d[i + 1]);
	if (n & 1)
		s += (uint32_t)d[n - 1] << 8;
	return s;
}

static void put16(uint8_t *d, uint16_t v)
{
	d[0] = (uint8_t)(v >> 8);
	d[1] = (uint8_t)v;
}

/* One Ethernet frame carrying the UDP payload roce over flow. */
static size_t frame(uint8_t *f, const struct roce_flow *flow,
		    const uint8_t *roce, size_t rlen)
{
	static const uint8_t mac[12] = { 2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1 };
	size_t ip_len = flow->v6 ? 40 : 20, udp_len = 8 + rlen, o = 14;
	uint8_t *ip = f + o, *udp;
	uint32_t s;

	memcpy(f, mac, 12);
	put16(f + 12, flow->v6 ? 0x86dd : 0x0800);
	memset(ip, 0, ip_len);
	if (!flow->v6) {
		ip[0] = 0x45;
		put16(ip + 2, (uint16_t)(20 + udp_len));
		put16(ip + 6, 0x4000);
		ip[8] = 64;
		ip[9] = 17;
		memcpy(ip + 12, flow->src + 12, 4);
		memcpy(ip + 16, flow->dst + 12, 4);
		put16(ip + 10, csum_fold(csum_add(0, ip, 20)));
	} else {
		ip[0] = 0x60;
		put16(ip + 4, (uint16_t)udp_len);
		ip[6] = 17;
		ip[7] = 64;
		memcpy(ip + 8, flow->src, 16);
		memcpy(ip + 24, flow->dst, 16);
	}
	udp = ip + ip_len;
	put16(udp, flow->sport);
	put16(udp + 2, flow->dport);
	put16(udp + 4, (uint16_t)udp_len);
	put16(udp + 6, 0);
	memcpy(udp + 8, roce, rlen);
	/* The pseudo header, then the datagram. */
	if (!flow->v6) {
		s = csum_add(0, ip + 12, 8);
	} else {
		s = csum_add(0, ip + 8, 32);
	}
	s += 17 + (uint32_t)udp_len;
	s = csum_add(s, udp, udp_len);
	put16(udp + 6, csum_fold(s) ? csum_fold(s) : 0xffff);
	return o + ip_len + udp_len;
}

static int write_pcap(const char *path)
{
	FILE *f = fopen(path, "wbe");
	uint32_t gh[6] = { 0xa1b2c3d4, 2 | (4u << 16), 0, 0, 65535, 1 };
	unsigned int n = 0;

	if (!f) {
		perror(path);
		return 1;
	}
	fwrite(gh, 4, 6, f);
	for (int v = 0; v < 2; v++) {
		const struct roce_flow *flow = v ? &flow6 : &flow4;

		for (unsigned int op = 0; op < 256; op++) {
			unsigned int h = roce_wire_op_hdrs((uint8_t)op);
			uint32_t pl = (h & ROCE_H_PAYLOAD) ? 5 + op : 0;
			uint8_t roce[1024], fr[1200];
			struct roce_pkt p;
			uint32_t rh[4], icrc;
			size_t rlen, flen;

			if (!h)
				continue;
			sample(&p, (uint8_t)op, pl);
			rlen = packet(roce, sizeof(roce), &p, flow, pl);
			flen = frame(fr, flow, roce, rlen);
			rh[0] = 1700000000u + n;
			rh[1] = 0;
			rh[2] = rh[3] = (uint32_t)flen;
			fwrite(rh, 4, 4, f);
			fwrite(fr, 1, flen, f);
			memcpy(&icrc, roce + rlen - 4, 4);
			printf("%u %u 0x%08x\n", op, p.psn, le32toh(icrc));
			n++;
		}
	}
	if (fclose(f)) {
		perror(path);
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "--pcap"))
		return write_pcap(argv[2]);
	test_crc32_check_value();
	test_roundtrip();
	test_refusals();
	test_icrc();
	test_vector();
	printf("%d checks, %d failures\n", checks, failures);
	return failures ? 1 : 0;
}
