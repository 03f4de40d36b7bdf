/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer on the soft device's RoCEv2 parser (drivers/soft/roce-wire.c),
 * which reads what anyone on the network sends to UDP 4791.  The input's
 * first byte picks the flow (IPv4 or IPv6) for the ICRC check, the rest
 * is the UDP payload.  Beyond "no read outside the buffer" (ASan) it
 * checks what the parser promises: a packet it accepts has a known
 * opcode, headers, payload and pad within the buffer, and built again
 * from what was parsed it gives the same header bytes and parses the same.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "drivers/soft/roce-wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct roce_flow flow = {
		.src = { [10] = 0xff, [11] = 0xff, 10, 0, 0, 1 },
		.dst = { [10] = 0xff, [11] = 0xff, 10, 0, 0, 2 },
		.sport = ROCE_UDP_PORT, .dport = ROCE_UDP_PORT,
	};
	uint8_t *buf, hdr[ROCE_HDR_MAX];
	struct roce_pkt p, q;
	size_t hl;
	int n;

	if (size < 1)
		return 0;
	flow.v6 = data[0] & 1;
	size--;
	/* An exact-size copy: ASan sees a read one byte past the packet. */
	buf = malloc(size ? size : 1);
	if (!buf)
		return 0;
	memcpy(buf, data + 1, size);
	(void)roce_wire_icrc_ok(&flow, buf, size);
	if (roce_wire_parse(buf, size, &p) == 0) {
		hl = roce_wire_hdr_len(p.opcode);
		if (!hl || !(p.hdrs & ROCE_H_KNOWN) ||
		    hl + p.paylen + p.pad + ROCE_ICRC_LEN != size ||
		    (p.paylen && p.payload != buf + hl))
			abort();
		n = roce_wire_build(hdr, sizeof(hdr), &p);
		if (n < 0 || (size_t)n != hl)
			abort();
		/* Equal but the bits the parser ignores: resv8a's reserved
		 * six, the reserved seven after AckReq, DETH's top byte. */
		if (hdr[0] != buf[0] || hdr[1] != buf[1] ||
		    memcmp(hdr + 2, buf + 2, 2) || memcmp(hdr + 5, buf + 5, 3) ||
		    (hdr[8] & 0x80) != (buf[8] & 0x80) || memcmp(hdr + 9, buf + 9, 3))
			abort();
		memcpy(buf, hdr, hl);
		if (roce_wire_parse(buf, size, &q) != 0 || q.psn != p.psn ||
		    q.dqpn != p.dqpn || q.paylen != p.paylen ||
		    memcmp(&q.reth, &p.reth, sizeof(p.reth)) ||
		    memcmp(&q.atomic, &p.atomic, sizeof(p.atomic)) ||
		    memcmp(&q.aeth, &p.aeth, sizeof(p.aeth)) ||
		    q.atomic_orig != p.atomic_orig || memcmp(q.imm, p.imm, 4) ||
		    q.ieth_rkey != p.ieth_rkey || q.deth.qkey != p.deth.qkey ||
		    q.deth.sqpn != p.deth.sqpn)
			abort();
	}
	free(buf);
	return 0;
}
