/* SPDX-License-Identifier: MIT */
/*
 * The identity the soft device reports in ibv_query_device().  Programs and
 * libraries treat vendor_id 0 as "no device" or an unknown one (UCX's and
 * libfabric's device tables, perftest's vendor checks), and the kernel's own
 * software devices report non-zero ids: rxe 0xffffff, siw 0x626d74 (ASCII
 * "bmt").  We follow siw: ASCII "rdb" in the 24 bits of an IEEE OUI, which
 * no vendor holds, and part 1 for the soft device.  These are ABI: keep
 * them stable (librdmabroker(7) documents them, tests/peers/device.sh checks
 * them).
 */
#ifndef RB_DRIVERS_SOFT_IDS_H
#define RB_DRIVERS_SOFT_IDS_H

#define SOFT_VENDOR_ID		0x726462u	/* "rdb" */
#define SOFT_VENDOR_PART_ID	1u

#endif /* RB_DRIVERS_SOFT_IDS_H */
