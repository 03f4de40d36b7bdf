/* SPDX-License-Identifier: MIT */
/*
 * The ICRC of IPv4 GSO segments (drivers/soft/roce-wire.c,
 * roce_wire_icrc_id_delta and roce_wire_icrc_check): the kernel numbers
 * the IPv4 segments of one UDP_SEGMENT send 0, 1, 2, ... in the
 * identification field, which the ICRC covers.  Here the ICRC with
 * identification k is computed apart, from the pseudo-header as IBTA
 * A17.4.5.1 lays it out and zlib's crc32(), for k < ROCE_GSO_SEGS (the
 * deltas the receiver has) and many lengths, and must be the ICRC with 0
 * xor the delta; a packet carrying the ICRC for k must check as
 * identification k when k < ROCE_GSO_SEGS and fail for k up to 65535, and over IPv6 or without the cache only 0 passes.  Every
 * single-bit error must still be caught, whatever the identification.
 * No daemon.
 */
#include "config.h"

#include <endian.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "drivers/soft/roce-wire.h"

#include "tests/lib/check.h"

static const struct roce_flow flow4 = {
	.v6 = false,
	.src = { [10] = 0xff, [11] = 0xff, 192, 0, 2, 1 },
	.dst = { [10] = 0xff, [11] = 0xff, 192, 0, 2, 2 },
	.sport = ROCE_UDP_PORT, .dport = ROCE_UDP_PORT,
};

/* The ICRC of a UDP payload of len bytes (ICRC included) sent over
 * flow4 with IPv4 identification id, computed apart from roce-wire.c. */
static uint32_t icrc_apart(const uint8_t *buf, size_t len, uint16_t id)
{
	uint8_t ph[8 + 20 + 8 + 12];
	size_t ulen = 8 + len;
	uLong crc;

	memset(ph, 0xff, 8);
	ph[8] = 0x45;
	ph[9] = 0xff;					/* TOS */
	ph[10] = (uint8_t)((20 + ulen) >> 8);
	ph[11] = (uint8_t)(20 + ulen);
	ph[12] = (uint8_t)(id >> 8);
	ph[13] = (uint8_t)id;
	ph[14] = 0x40;					/* DF */
	ph[15] = 0;
	ph[16] = 0xff;					/* TTL */
	ph[17] = 17;
	ph[18] = ph[19] = 0xff;				/* checksum */
	memcpy(ph + 20, flow4.src + 12, 4);
	memcpy(ph + 24, flow4.dst + 12, 4);
	ph[28] = ROCE_UDP_PORT >> 8;
	ph[29] = ROCE_UDP_PORT & 0xff;
	ph[30] = ROCE_UDP_PORT >> 8;
	ph[31] = ROCE_UDP_PORT & 0xff;
	ph[32] = (uint8_t)(ulen >> 8);
	ph[33] = (uint8_t)ulen;
	ph[34] = ph[35] = 0xff;				/* UDP checksum */
	memcpy(ph + 36, buf, 12);
	ph[36 + 4] = 0xff;				/* resv8a */
	crc = crc32(0, ph, sizeof(ph));
	crc = crc32(crc, buf + 12, (uInt)(len - 12 - ROCE_ICRC_LEN));
	return (uint32_t)crc;
}

static void put(uint8_t *buf, size_t len, uint32_t icrc)
{
	roce_wire_put_icrc(buf + len - ROCE_ICRC_LEN, icrc);
}

int main(void)
{
	static const size_t lens[] = { 12 + 4, 28 + 4, 1068, 1084, 2096, 4140, 60 + 4, 333 + 4 };
	static const uint16_t ids[] = { 1, 2, 3, 5, 16, 30, 31, 32, 33, 255, 4096, 65535 };
	struct roce_wire_idcache cache;
	uint8_t buf[4200];

	memset(&cache, 0, sizeof(cache));
	srand(18);
	for (size_t li = 0; li < sizeof(lens) / sizeof(lens[0]); li++) {
		size_t len = lens[li];
		struct iovec iov = { buf, len - ROCE_ICRC_LEN };
		uint32_t c0;

		for (size_t i = 0; i < len; i++)
			buf[i] = (uint8_t)rand();
		buf[0] = 0x0a;			/* an RC opcode: not that it matters */
		c0 = roce_wire_icrc(&flow4, &iov, 1);
		CHECK(c0 == icrc_apart(buf, len, 0), "len %zu: the ICRC with identification 0", len);
		for (size_t k = 0; k < sizeof(ids) / sizeof(ids[0]); k++) {
			uint16_t id = ids[k];
			uint32_t ck = icrc_apart(buf, len, id);

			CHECK((c0 ^ roce_wire_icrc_id_delta(&cache, len, id & (ROCE_GSO_SEGS - 1))) ==
				      icrc_apart(buf, len, id & (ROCE_GSO_SEGS - 1)),
			      "len %zu id %u: ICRC(0) xor delta is ICRC(id)", len, id & (ROCE_GSO_SEGS - 1));
			put(buf, len, ck);
			if (id < ROCE_GSO_SEGS) {
				CHECK(roce_wire_icrc_check(&flow4, buf, len, &cache) == id,
				      "len %zu: identification %u found", len, id);
				CHECK(roce_wire_icrc_check(&flow4, buf, len, NULL) == -1,
				      "len %zu id %u: without the cache only 0 passes", len, id);
			} else {
				CHECK(roce_wire_icrc_check(&flow4, buf, len, &cache) == -1,
				      "len %zu: identification %u (beyond one GSO send) accepted", len, id);
			}
		}
		put(buf, len, c0);
		CHECK(roce_wire_icrc_check(&flow4, buf, len, &cache) == 0, "len %zu: identification 0", len);
		/*
		 * Every single-bit error anywhere the ICRC covers (headers,
		 * payload, the ICRC itself) is still caught.  A packet of
		 * identification k with bit e flipped differs from its ICRC
		 * by delta(k) ^ lin(e), which is delta(j) only if lin(e) is
		 * delta(j ^ k): trying all of them on a packet of
		 * identification 0 covers every k and j.
		 */
		for (size_t bit = 0; bit < len * 8; bit++) {
			if (bit / 8 == 4)
				continue;	/* resv8a: masked */
			buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
			CHECK(roce_wire_icrc_check(&flow4, buf, len, &cache) == -1,
			      "len %zu: bit %zu flipped yet accepted", len, bit);
			buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		}
		{
			struct roce_flow f6 = flow4;

			f6.v6 = true;
			put(buf, len, c0 ^ roce_wire_icrc_id_delta(&cache, len, 3));
			CHECK(roce_wire_icrc_check(&f6, buf, len, &cache) == -1,
			      "len %zu: over IPv6 no identification is tried", len);
		}
	}
	/* Every identification of one send, each found as itself. */
	{
		size_t len = 1068;
		struct iovec iov = { buf, len - ROCE_ICRC_LEN };
		uint32_t c0;

		c0 = roce_wire_icrc(&flow4, &iov, 1);
		for (unsigned int id = 0; id < ROCE_GSO_SEGS; id++) {
			put(buf, len, c0 ^ roce_wire_icrc_id_delta(&cache, len, id));
			CHECK(roce_wire_icrc_check(&flow4, buf, len, &cache) == (int)id,
			      "segment %u of a send", id);
		}
	}
	printf("%d checks, %d failed\n", checks, failures);
	return failures ? 1 : 0;
}
