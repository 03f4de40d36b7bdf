#!/bin/sh
# Unmodified rdma-core programs (Debian's ibverbs-utils) under rdmab-run:
# ibv_devices, ibv_devinfo and ibv_devinfo -v see the soft device as the
# daemon is configured.
. "$top_srcdir/tests/lib/lib.sh"

command -v ibv_devinfo >/dev/null 2>&1 || rb_skip "ibv_devinfo not installed (Debian ibverbs-utils)"

printf '[soft]\ngid_address = 192.0.2.7\nnode_guid = 0x0002c9fffe001234\n' > "$RB_CONF"
rb_daemon_start

out=$("$RB_RUN" ibv_devices) || rb_fail "ibv_devices failed"
echo "$out" | grep -Eq '^[[:space:]]+rbsoft0[[:space:]]+0002c9fffe001234$' ||
	rb_fail "ibv_devices does not list rbsoft0 with its GUID: $out"

out=$("$RB_RUN" ibv_devinfo) || rb_fail "ibv_devinfo failed"
for want in \
	'hca_id:	rbsoft0' \
	'transport:			InfiniBand (0)' \
	"fw_ver:				$(sed -n 's/^#define PACKAGE_VERSION "\(.*\)"$/\1/p' "$top_builddir/config.h")" \
	'node_guid:			0002:c9ff:fe00:1234' \
	'phys_port_cnt:			1' \
	'state:			PORT_ACTIVE (4)' \
	'active_mtu:		4096 (5)' \
	'link_layer:		Ethernet'
do
	echo "$out" | grep -qF "$want" || rb_fail "ibv_devinfo lacks '$want':
$out"
done

out=$("$RB_RUN" ibv_devinfo -v -d rbsoft0 -i 1) || rb_fail "ibv_devinfo -v failed"
for want in \
	'GID[  0]:		::ffff:192.0.2.7, RoCE v2' \
	'max_qp:' \
	'atomic_cap:			ATOMIC_HCA (1)' \
	'gid_tbl_len:		1' \
	'pkey_tbl_len:		1' \
	'phys_state:		LINK_UP (5)'
do
	echo "$out" | grep -qF "$want" || rb_fail "ibv_devinfo -v lacks '$want':
$out"
done

# Errors are the program's own, cleanly.
"$RB_RUN" ibv_devinfo -d nosuch >"$RB_TMP/out" 2>&1 && rb_fail "ibv_devinfo -d nosuch succeeded"
grep -q "wasn.t found" "$RB_TMP/out" || rb_fail "ibv_devinfo -d nosuch: $(cat "$RB_TMP/out")"
"$RB_RUN" ibv_devinfo -i 2 >"$RB_TMP/out" 2>&1 && rb_fail "ibv_devinfo -i 2 succeeded"
grep -q "Invalid port" "$RB_TMP/out" || rb_fail "ibv_devinfo -i 2: $(cat "$RB_TMP/out")"

rb_daemon_alive || rb_fail "daemon died"
rb_daemon_stop

# Without a daemon: no devices, one clear warning, no crash.
"$RB_RUN" ibv_devinfo >"$RB_TMP/out" 2>&1 && rb_fail "ibv_devinfo found devices without a daemon"
grep -q 'librdmabroker: no RDMA devices: cannot connect' "$RB_TMP/out" ||
	rb_fail "no warning without a daemon: $(cat "$RB_TMP/out")"
grep -q 'No IB devices found' "$RB_TMP/out" || rb_fail "ibv_devinfo: $(cat "$RB_TMP/out")"
rb_pass
