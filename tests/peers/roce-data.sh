#!/bin/sh
# The data-path suite across hosts (docs/roce.md): two network
# namespaces joined by a veth pair, one rdmabrokerd in each, and the
# data-path programs of tests/integration run with RB_DT_SOCKETS naming
# both daemons, so that each case's two clients (tests/lib/datatest.c)
# sit on the two daemons and every pair of QPs talks RoCEv2 over the
# veth: SEND/IMM, WRITE/IMM, READ, both atomics, FENCE, inline, SGE
# lists, SRQ, RNR, completion channels, every error status and the
# flushes behind it, a peer destroyed (data-rc, data-srq, data-wr,
# data-wr-api, data-cq, dataerr-status, dataerr-flush), as the same-host
# runs check them.  Not run here: data-uc-ud (a UC WRITE completes when
# sent, before it lands on the other host; a 4096-byte UD SEND does not
# fit the 1500-byte link) and dataerr-retry (a QP connected elsewhere:
# the BTH names no source QP, so across hosts only the peer's address
# is checked, docs/roce.md).
# Everything on the veth is captured (tshark) and must decode with no
# expert item, with the opcodes these programs use, and every ICRC must
# match (tests/unit/roce-icrc.py); the daemons' READ and atomic counters
# must show the responders did them.
# Needs root (network namespaces); skips (77) where they cannot be made.
. "$top_srcdir/tests/lib/lib.sh"
. "$top_srcdir/tests/lib/roce-lib.sh"

A=rbdA$$ B=rbdB$$
roce_two_hosts "$A" "$B"
wire=yes
roce_capture "$B" "vb$$" || { wire=; rb_log "tshark not found: the wire is not checked (scripts/deps.sh installs it)"; }

export RB_DT_SOCKETS="$RB_TMP/a.sock $RB_TMP/b.sock"
for prog in ${ROCE_DATA_PROGS:-data-rc data-srq data-wr data-wr-api data-cq dataerr-status dataerr-flush}; do
	"$top_builddir/tests/integration/$prog" > "$RB_TMP/$prog.out" 2>&1 || {
		cat "$RB_TMP/$prog.out" >&2
		tail -n 30 "$RB_TMP/a.log" "$RB_TMP/b.log" >&2
		rb_fail "$prog across hosts reported failures"
	}
	rb_log "$prog: $(grep -c '^\[       OK' "$RB_TMP/$prog.out") cases passed across hosts"
done

for d in a b; do
	rb_log "daemon $d: $("$RB_RDMACTL" -s "$RB_TMP/$d.sock" dev stat rbsoft0)"
done
for c in rx_reads rx_atomics; do
	[ $(( $(roce_stat a $c) + $(roce_stat b $c) )) -gt 0 ] || rb_fail "no responder counted $c"
done

if [ -n "$wire" ]; then
	# RC: SEND FIRST..ONLY_IMM (0-5), WRITE (6-11), READ request and
	# responses (12-16), ACK (17), ATOMIC ACK (18), CMP_SWAP (19),
	# FETCH_ADD (20), SEND with invalidate (22, 23); UC the same SENDs
	# and WRITEs (32-43); UD SEND_ONLY(_IMM) (100, 101).
	roce_wire_check $(seq 0 20) 22 23 $(seq 32 43) 100 101
	for op in 12 13 14 15 16 18 19 20; do
		awk -v o=$op '$2 == o { f = 1 } END { exit !f }' "$RB_TMP/decoded" ||
			rb_fail "no packet of opcode $op (READ, its responses, atomics) on the wire"
	done
	rb_log "the wire: $ROCE_WIRE_N RoCEv2 packets decoded by tshark, no expert item in their headers ($ROCE_WIRE_GUESSED with a payload Wireshark guessed at), every ICRC verified"
fi
rb_pass
