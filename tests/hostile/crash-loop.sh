#!/bin/sh
# Clients SIGKILLed at random points (tests/hostile/crash-loop.c): children in the
# middle of create/destroy sequences and in the middle of RC traffic with
# a peer of ours.  Afterwards the daemon is alive, lists no object, and
# holds exactly the fds and mappings it held before the loop.
#
# RB_SOAK_ITERS (default 200) sets the iterations, for a long soak;
# RB_CRASH_SEED the seed of the kill delays (default: the time, printed).
# The baseline is taken after a warm-up client has come and gone, so that
# what the daemon sets up once, on its first client, is in it (it is
# printed too: "at start").
. "$top_srcdir/tests/lib/lib.sh"

ITERS=${RB_SOAK_ITERS:-200}
SEED=${RB_CRASH_SEED:-$(date +%s)}
PROG="$top_builddir/tests/hostile/crash-loop"
export RDMABROKER_QUIET=1

if [ -n "${RB_CRASH_VALGRIND:-}" ]; then
	[ "${RB_SANITIZERS:-no}" = yes ] && rb_skip "valgrind cannot run an ASan build"
	command -v valgrind >/dev/null 2>&1 || rb_skip "valgrind not installed"
	RB_DAEMON_WRAPPER="valgrind --error-exitcode=99 --leak-check=full --quiet"
	ITERS=${RB_SOAK_ITERS:-40}
fi

maps_count() { wc -l < "/proc/$RB_DAEMON_PID/maps"; }
memfd_maps() { grep -c 'memfd:' "/proc/$RB_DAEMON_PID/maps"; }

# settle: until no object is listed and fds and mappings stop changing
# (10 s at most); sets FDS MAPS MEMFDS OBJS.
settle() {
	local prev= cur
	for _ in $(seq 1 100); do
		OBJS=$("$RB_RDMACTL" -j res) || rb_fail "rdmactl -j res failed"
		FDS=$(rb_fd_count "$RB_DAEMON_PID")
		MAPS=$(maps_count)
		MEMFDS=$(memfd_maps)
		cur="$OBJS $FDS $MAPS $MEMFDS"
		[ "$OBJS" = "[]" ] && [ "$cur" = "$prev" ] && return 0
		prev=$cur
		sleep 0.1
	done
}

rb_daemon_start
settle
start_fds=$FDS start_maps=$MAPS
"$PROG" warmup || rb_fail "warm-up client failed"
settle
[ "$OBJS" = "[]" ] || rb_fail "objects after the warm-up: $("$RB_RDMACTL" res)"
base_fds=$FDS base_maps=$MAPS base_memfds=$MEMFDS
freed0=$(grep -c 'object(s) it left behind' "$RB_LOG")

t0=$(date +%s)
"$PROG" loop "$ITERS" "$SEED"; rc=$?
rb_log "crash-loop ran $(( $(date +%s) - t0 )) s, exit $rc (seed $SEED: RB_CRASH_SEED=$SEED reruns it)"
rb_daemon_alive || rb_fail "the daemon died"
settle
leaked=$(printf '%s' "$OBJS" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))' 2>/dev/null ||
	 { [ "$OBJS" = "[]" ] && echo 0 || echo "?"; })
cleanups=$(( $(grep -c 'object(s) it left behind' "$RB_LOG") - freed0 ))
freed=$(grep 'object(s) it left behind' "$RB_LOG" | tail -n +$(( freed0 + 1 )) |
	sed 's/.*freed \([0-9]*\) object.*/\1/' | awk '{ s += $1 } END { print s + 0 }')
rb_log "figures: objects leaked $leaked; killed clients cleaned up by the daemon $cleanups ($freed objects freed);" \
	"daemon fds $start_fds at start, $base_fds before the loop, $FDS after;" \
	"mappings $start_maps at start, $base_maps before, $MAPS after (memfd mappings $base_memfds before, $MEMFDS after)"
[ "$rc" -eq 0 ] || rb_fail "crash-loop reported failures"
[ "$OBJS" = "[]" ] || rb_fail "objects left: $("$RB_RDMACTL" res)"
[ "$FDS" -eq "$base_fds" ] ||
	rb_fail "daemon fds $base_fds before the loop, $FDS after: $(ls -l "/proc/$RB_DAEMON_PID/fd")"
[ "$MEMFDS" -eq "$base_memfds" ] ||
	rb_fail "daemon memfd mappings $base_memfds before the loop, $MEMFDS after"
# Under valgrind the process's mappings include valgrind's own heap,
# which grows as it likes: there only the memfd mappings count.
[ -n "${RB_CRASH_VALGRIND:-}" ] || [ "$MAPS" -eq "$base_maps" ] ||
	rb_fail "daemon mappings $base_maps before the loop, $MAPS after"
rb_daemon_stop
if [ -n "${RB_CRASH_VALGRIND:-}" ]; then
	grep -q '== Invalid\|== Conditional jump\|definitely lost' "$RB_LOG" &&
		rb_fail "valgrind reports: $(grep '^==' "$RB_LOG" | head -40)"
fi
rb_pass
