#!/bin/sh
# The soft device as configured: GID from gid_address, a node GUID that is
# stable across restarts (or the configured one), and no device when
# disabled.  Also the daemon's error answers for bad indices.
. "$top_srcdir/tests/lib/lib.sh"

PROBE="$top_builddir/tests/integration/devices"
# enum values: IBV_MTU_4096 = 5, IBV_LINK_LAYER_ETHERNET = 2,
# IBV_PORT_ACTIVE = 4, IBV_GID_TYPE_ROCE_V2 = 2
printf '[soft]\ngid_address = 192.0.2.7\n' > "$RB_CONF"
rb_daemon_start
out1=$("$PROBE") || rb_fail "probe failed: $out1"
echo "$out1"
case "$out1" in
"rbsoft0 driver=soft guid="*" ports=1 gid0=::ffff:192.0.2.7 type=2 mtu=5 link=2 state=4 pkey0=ffff fw=$(sed -n 's/^PACKAGE_VERSION = //p' "$top_builddir/Makefile")") ;;
*) rb_fail "unexpected device: $out1" ;;
esac
rb_daemon_stop

# Same machine, same name: the same GUID after a restart.
rb_daemon_start
out2=$("$PROBE") || rb_fail "probe failed after restart"
[ "$out1" = "$out2" ] || rb_fail "device changed across a restart: '$out1' vs '$out2'"
rb_daemon_stop

# Another name gives another GUID; a configured GUID and address are used.
printf '[soft]\nname = other0\ngid_address = 2001:db8::5\n' > "$RB_CONF"
rb_daemon_start
out3=$("$PROBE") || rb_fail "probe failed: $out3"
echo "$out3"
guid1=$(echo "$out1" | sed 's/.*guid=\([0-9a-f]*\).*/\1/')
guid3=$(echo "$out3" | sed 's/.*guid=\([0-9a-f]*\).*/\1/')
[ "$guid1" != "$guid3" ] || rb_fail "two device names share GUID $guid1"
echo "$out3" | grep -q '^other0 .* gid0=2001:db8::5 ' || rb_fail "IPv6 gid_address not used"
rb_daemon_stop

printf '[soft]\nnode_guid = 0x0002c9fffe001234\n' > "$RB_CONF"
rb_daemon_start
out4=$("$PROBE") || rb_fail "probe failed: $out4"
echo "$out4" | grep -q ' guid=0002c9fffe001234 ' || rb_fail "configured GUID not used: $out4"
# auto: some address of this host (or loopback), IPv4-mapped or IPv6
echo "$out4" | grep -q ' gid0=[0-9a-f:.]* ' || rb_fail "no GID: $out4"
rb_daemon_stop

printf '[soft]\nenable = no\n' > "$RB_CONF"
rb_daemon_start
out5=$("$PROBE") || rb_fail "probe failed without devices"
[ -z "$out5" ] || rb_fail "devices listed with the soft device disabled: $out5"
grep -q 'no devices' "$RB_LOG" || rb_fail "no warning about having no devices"
rb_daemon_stop
rb_pass
