#!/bin/sh
# scripts/bench-quick.sh in a quick mode: it runs both ping-pongs on the
# build tree and prints both figures and their ratio.  Speed is never
# asserted; this VM's timing says nothing.
. "$top_srcdir/tests/lib/lib.sh"

command -v ibv_rc_pingpong >/dev/null 2>&1 || rb_skip "ibv_rc_pingpong not installed (Debian ibverbs-utils)"

out=$(RB_BUILDDIR=$top_builddir RB_RUN=$RB_RUN TMPDIR=$RB_TMP \
	"$top_srcdir/scripts/bench-quick.sh" --iters 200 --size 8 2>&1) ||
	rb_fail "bench-quick.sh failed:
$out"
echo "$out"
num='[0-9]+\.[0-9]+'
echo "$out" | grep -Eq "^ibv_rc_pingpong via broker +8 +200 +$num\$" ||
	rb_fail "no broker figure:
$out"
echo "$out" | grep -Eq "^shm-pingpong \(raw\) +8 +200 +$num\$" ||
	rb_fail "no raw figure:
$out"
echo "$out" | grep -Eq "^ratio broker/raw +($num|inf)\$" ||
	rb_fail "no ratio:
$out"

# Bad arguments are refused before anything starts.
RB_BUILDDIR=$top_builddir "$top_srcdir/scripts/bench-quick.sh" --iters x >/dev/null 2>&1
[ $? -eq 2 ] || rb_fail "--iters x: want exit 2"
# It cleaned up after itself: its daemon is gone, and so is its
# temporary directory (socket, configuration, logs).
pgrep -f "$RB_TMP/rb-bench" >/dev/null && rb_fail "bench-quick.sh left a process running"
for d in "$RB_TMP"/rb-bench.*; do
	[ -e "$d" ] && rb_fail "bench-quick.sh left $d behind"
done
rb_pass
