#!/bin/sh
# rdmab-run: options, exit statuses, the environment it gives the program.
. "$top_srcdir/tests/lib/lib.sh"

run="$top_builddir/libclient/rdmab-run"	# the script itself, unwrapped

"$run" --help > "$RB_TMP/out" || rb_fail "--help exit $?"
grep -q '^Usage: rdmab-run' "$RB_TMP/out" || rb_fail "--help: $(cat "$RB_TMP/out")"
"$run" -V | grep -q '^rdmab-run (rdmabroker) [0-9]' || rb_fail "-V"

"$run" > /dev/null 2>&1; [ $? -eq 2 ] || rb_fail "no program: want exit 2"
"$run" --bogus true > "$RB_TMP/out" 2>&1; [ $? -eq 2 ] || rb_fail "unknown option: want exit 2"
grep -q "unknown option '--bogus'" "$RB_TMP/out" || rb_fail "unknown option message"
"$run" -s > /dev/null 2>&1; [ $? -eq 2 ] || rb_fail "-s without PATH: want exit 2"
"$run" rb-no-such-program > "$RB_TMP/out" 2>&1; [ $? -eq 127 ] || rb_fail "missing program: want 127"
grep -q 'rb-no-such-program: command not found' "$RB_TMP/out" || rb_fail "missing program message"
"$run" -L "$RB_TMP/nowhere" true > "$RB_TMP/out" 2>&1; [ $? -eq 127 ] || rb_fail "missing libdir: want 127"
grep -q 'libibverbs.so.1 not found' "$RB_TMP/out" || rb_fail "missing libdir message"

# The program's exit status and arguments pass through unchanged.
"$run" sh -c 'exit 7'; [ $? -eq 7 ] || rb_fail "exit status not passed through"
out=$("$run" -- sh -c 'printf "%s|" "$@"' x 'a b' -s) || rb_fail "run with --"
[ "$out" = 'a b|-s|' ] || rb_fail "arguments mangled: $out"

# The environment: libdir first on LD_LIBRARY_PATH, existing entries kept;
# -s sets RDMABROKER_SOCKET; -q sets RDMABROKER_QUIET.
out=$(LD_LIBRARY_PATH=/opt/x "$run" sh -c 'echo "$LD_LIBRARY_PATH"')
[ "$out" = "$RDMABROKER_LIBDIR:/opt/x" ] || rb_fail "LD_LIBRARY_PATH=$out"
out=$("$run" -s /x/y.sock sh -c 'echo "$RDMABROKER_SOCKET"')
[ "$out" = /x/y.sock ] || rb_fail "-s gave RDMABROKER_SOCKET=$out"
out=$("$run" --socket=/x/z.sock -q sh -c 'echo "$RDMABROKER_SOCKET $RDMABROKER_QUIET"')
[ "$out" = '/x/z.sock 1' ] || rb_fail "--socket= -q gave '$out'"

# For real: a program finds the daemon named with -s, no environment needed.
command -v ibv_devices >/dev/null 2>&1 || rb_skip "ibv_devices not installed (Debian ibverbs-utils)"
rb_daemon_start
unset RDMABROKER_SOCKET
"$RB_RUN" -s "$RB_SOCK" ibv_devices > "$RB_TMP/out" 2>&1 || rb_fail "ibv_devices: $(cat "$RB_TMP/out")"
grep -q rbsoft0 "$RB_TMP/out" || rb_fail "ibv_devices through -s: $(cat "$RB_TMP/out")"
# -q silences the no-daemon warning; without it there is one.
"$RB_RUN" -s "$RB_TMP/none.sock" ibv_devices > "$RB_TMP/out" 2>&1
grep -q 'librdmabroker: no RDMA devices' "$RB_TMP/out" || rb_fail "no warning without -q"
"$RB_RUN" -q -s "$RB_TMP/none.sock" ibv_devices > "$RB_TMP/out" 2>&1
grep -q 'librdmabroker' "$RB_TMP/out" && rb_fail "-q did not silence the warning"
rb_daemon_stop
rb_pass
