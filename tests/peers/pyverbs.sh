#!/bin/sh
# python3-pyverbs (rdma-core's Python bindings, which rdma-core's own test
# suite imports), unmodified, under rdmab-run: the mlx5 and efa provider
# modules import (they link libmlx5.so.1 and libefa.so.1), pyverbs.device
# lists rbsoft0, and a context on it answers query_device.
. "$top_srcdir/tests/lib/lib.sh"

# Debian's pyverbs is for Debian's python3, whatever python3 is on PATH.
py=/usr/bin/python3
"$py" -c 'import pyverbs' 2>/dev/null || rb_skip "pyverbs not installed (Debian python3-pyverbs)"
rb_daemon_start
"$RB_RUN" "$py" - > "$RB_TMP/out" 2>&1 <<'PY' || rb_fail "pyverbs: $(cat "$RB_TMP/out")"
import pyverbs.providers.mlx5.mlx5dv
import pyverbs.providers.efa.efadv
import pyverbs.device as d

names = [x.name.decode() for x in d.get_device_list()]
print("devices", names)
assert "rbsoft0" in names, names
with d.Context(name="rbsoft0") as ctx:
    a = ctx.query_device()
    print("vendor_id %#x part %d" % (a.vendor_id, a.vendor_part_id))
    assert a.vendor_id == 0x726462 and a.vendor_part_id == 1
PY
rb_log "$(tr '\n' ' ' < "$RB_TMP/out")"
rb_daemon_alive || rb_fail "daemon died"
rb_daemon_stop
rb_pass
