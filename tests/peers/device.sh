#!/bin/sh
# How rbsoft0 presents itself to the RDMA stack: the vendor ids of
# drivers/soft/ids.h (non-zero, stable), and a connection refused over a
# limit names the limit (message and errno), not a missing daemon.
. "$top_srcdir/tests/lib/lib.sh"

printf '[daemon]\nlog_level = debug\n[limits]\nconnections = 1\n' > "$RB_CONF"
rb_daemon_start
"$RB_RUN" ibv_devinfo > "$RB_TMP/out" 2>&1 || rb_fail "ibv_devinfo: $(cat "$RB_TMP/out")"
grep -q 'vendor_id:[[:space:]]*0x726462$' "$RB_TMP/out" || rb_fail "vendor_id: $(grep vendor "$RB_TMP/out")"
grep -q 'vendor_part_id:[[:space:]]*1$' "$RB_TMP/out" || rb_fail "vendor_part_id: $(grep vendor "$RB_TMP/out")"

# One connection is the limit: a holder takes it, the next is refused.
rb_holder_start "$top_builddir/tests/integration/pd" 1
# Through rdmab-run, which finds libibverbs.so.1 (and, in a sanitizer
# build, preloads the runtimes the instrumented library needs).
"$RB_RUN" python3 - > "$RB_TMP/py" 2> "$RB_TMP/err" <<'PY' || rb_fail "python3 ctypes check: $(cat "$RB_TMP/err")"
import ctypes, errno
lib = ctypes.CDLL("libibverbs.so.1", use_errno=True)
lib.ibv_get_device_list.restype = ctypes.POINTER(ctypes.c_void_p)
n = ctypes.c_int(-1)
l = lib.ibv_get_device_list(ctypes.byref(n))
print(n.value, errno.errorcode.get(ctypes.get_errno(), ctypes.get_errno()))
PY
[ "$(cat "$RB_TMP/py")" = "0 EDQUOT" ] || rb_fail "over the limit: $(cat "$RB_TMP/py") (want 0 EDQUOT)"
grep -q 'connections (1)' "$RB_TMP/err" || rb_fail "message does not name the limit: $(cat "$RB_TMP/err")"
grep -q 'EDQUOT.*\[limits\] connections' "$RB_TMP/err" || rb_fail "no hint at the limit: $(cat "$RB_TMP/err")"
grep -q 'is rdmabrokerd running' "$RB_TMP/err" && rb_fail "message blames a missing daemon: $(cat "$RB_TMP/err")"
kill -KILL "$RB_HOLDER"; wait "$RB_HOLDER" 2>/dev/null
rb_daemon_stop

# Without a daemon, the old hint stays.
"$RB_RUN" ibv_devices > "$RB_TMP/out" 2>&1
grep -q 'is rdmabrokerd running' "$RB_TMP/out" || rb_fail "no-daemon hint: $(cat "$RB_TMP/out")"
rb_pass
