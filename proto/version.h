/* SPDX-License-Identifier: MIT */
/*
 * The control protocol's version, its history and its feature bits.
 *
 * A version names the set of messages and their meaning
 * (proto/rdmabroker.proto, docs/protocol.md lists which version added
 * each); a feature bit names something within a version that a peer may
 * or may not offer.  The handshake negotiates both:
 *
 *  - Hello.proto_version is the oldest version the client speaks and
 *    Hello.max_version the newest (absent: the same one).  A version 1
 *    daemon checks proto_version alone, for equality, so a library that
 *    still speaks version 1 gets version 1 from it and a reduced feature
 *    set (none), and one that no longer does gets EPROTONOSUPPORT.
 *  - The daemon picks the newest version both sides speak and says it in
 *    HelloReply.proto_version; when the ranges do not meet it refuses
 *    with EPROTONOSUPPORT and a message naming both ranges.
 *  - Hello.features and HelloReply.features are each side's bits; the
 *    session uses their intersection.  Bits a side does not know are
 *    masked off, never refused, so a bit can be added without a version.
 *
 * History (add a line per version, never reuse a number):
 *
 *   1  rdmabroker 0.1: exact-version Hello; sessions, device queries,
 *      objects (PD ... XRCD), rdmactl status/client/dev/res/limits.
 *   2  rdmabroker 0.1 (issue 15): the handshake negotiates a version range
 *      and feature bits (Hello.max_version, Hello.features,
 *      HelloReply.features); listings page (ResShowReq.cursor and
 *      .page_size, ClientListReq likewise, next_cursor in their replies);
 *      ResSummaryReq counts objects per client in the daemon.
 */
#ifndef RB_PROTO_VERSION_H
#define RB_PROTO_VERSION_H

#include <stdint.h>

/* The newest version this build speaks. */
#define RB_PROTO_VERSION	2
/* The oldest version this build still speaks, as daemon and as library. */
#define RB_PROTO_VERSION_MIN	1

/*
 * Feature bits (Hello.features, HelloReply.features).  Bit numbers are
 * never reused; a bit a peer does not know is masked off.
 */
enum rb_proto_feature {
	/* Listing requests (ResShowReq, ClientListReq) honour cursor and
	 * page_size and answer with next_cursor; ResSummaryReq is served. */
	RB_PROTO_FEAT_PAGED_LISTS = 1u << 0,
	/* CM requests whose outcome is an event anyway (resolve address and
	 * route, connect, accept, establish) may say `async`: the daemon
	 * sends no reply and turns a failure into the id's error event.
	 * CmConnectReq.qp_handle is honoured: the daemon moves the QP to
	 * RTR and RTS itself. */
	RB_PROTO_FEAT_CM_ASYNC = 1u << 1,
	/* QpCreateReq.modify is honoured: the QP is created and moved
	 * (to INIT, or on to RTS) in one request; QpCreateReply.qp_state
	 * says where it is. */
	RB_PROTO_FEAT_QP_CREATE_MODIFY = 1u << 2,
};

/* Every feature this build implements, as daemon and as library. */
#define RB_PROTO_FEATURES	((uint64_t)RB_PROTO_FEAT_PAGED_LISTS | \
				 (uint64_t)RB_PROTO_FEAT_CM_ASYNC | \
				 (uint64_t)RB_PROTO_FEAT_QP_CREATE_MODIFY)

#endif /* RB_PROTO_VERSION_H */
