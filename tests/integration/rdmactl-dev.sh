#!/bin/sh
# rdmactl dev against the soft device as configured: name, GUID and GID in
# text and JSON (checked with python3's json), details, one device by
# name, and an unknown name.
. "$top_srcdir/tests/lib/lib.sh"

command -v python3 >/dev/null || rb_skip "python3 not installed"
VERSION=$(sed -n 's/^PACKAGE_VERSION = //p' "$top_builddir/Makefile")

printf '[soft]\ngid_address = 192.0.2.7\nnode_guid = 0x0002c9fffe001234\n' > "$RB_CONF"
rb_daemon_start

out=$("$RB_RDMACTL" dev) || rb_fail "rdmactl dev failed"
echo "$out"
first=$(echo "$out" | sed -n 1p)
case "$first" in
"0: rbsoft0: node_type ca transport ib fw $VERSION node_guid 0002:c9ff:fe00:1234 sys_image_guid "*) ;;
*) rb_fail "unexpected device line: $first" ;;
esac
echo "$out" | grep -qx '    port 1 state ACTIVE physical_state LINK_UP mtu 4096 link_layer Ethernet' ||
	rb_fail "no port line"
echo "$out" | grep -qx '        gid 0 ::ffff:192.0.2.7 type RoCE v2' ||
	rb_fail "no GID line"
# Without -d no limits; with -d they are there.
echo "$out" | grep -q 'max_qp' && rb_fail "limits shown without -d"
out=$("$RB_RDMACTL" -d dev show rbsoft0) || rb_fail "rdmactl -d dev show rbsoft0 failed"
echo "$out"
for word in 'max_qp [0-9]' 'max_cq [0-9]' 'max_mr_size [0-9]' 'atomic_cap ATOMIC_HCA' \
	'driver soft' 'width 4X' 'gid_tbl_len [0-9]'; do
	echo "$out" | grep -q "$word" || rb_fail "-d output lacks '$word'"
done

# JSON, plain and pretty, must parse to the same document.
"$RB_RDMACTL" -j dev > "$RB_TMP/dev.json" || rb_fail "rdmactl -j dev failed"
[ "$(wc -l < "$RB_TMP/dev.json")" -eq 1 ] || rb_fail "-j output is not one line"
"$RB_RDMACTL" -p dev > "$RB_TMP/dev.pretty" || rb_fail "rdmactl -p dev failed"
[ "$(wc -l < "$RB_TMP/dev.pretty")" -gt 10 ] || rb_fail "-p output is not pretty"
python3 - "$RB_TMP/dev.json" "$RB_TMP/dev.pretty" "$VERSION" <<'PY' || rb_fail "JSON check failed"
import json, sys
doc = json.load(open(sys.argv[1]))
assert doc == json.load(open(sys.argv[2])), "-j and -p differ"
assert isinstance(doc, list) and len(doc) == 1, doc
d = doc[0]
want = {"index": 0, "name": "rbsoft0", "driver": "soft",
        "node_type": "channel adapter", "transport": "InfiniBand",
        "fw_ver": sys.argv[3], "node_guid": "0002:c9ff:fe00:1234",
        "phys_port_cnt": 1}
for k, v in want.items():
    assert d[k] == v, (k, d.get(k), v)
a = d["attr"]
for k in ("max_qp", "max_cq", "max_mr", "max_pd", "max_qp_wr", "max_cqe",
          "max_sge", "max_srq", "max_ah", "max_mr_size", "page_size_cap",
          "vendor_id", "local_ca_ack_delay", "max_pkeys"):
    assert isinstance(a[k], int), (k, a.get(k))
assert a["max_qp"] > 0 and a["max_cq"] > 0, a
assert a["atomic_cap"] == "ATOMIC_HCA", a["atomic_cap"]
assert len(d["ports"]) == 1, d["ports"]
p = d["ports"][0]
want = {"port": 1, "state": "PORT_ACTIVE", "max_mtu": 4096,
        "active_mtu": 4096, "link_layer": "Ethernet",
        "phys_state": "LINK_UP", "active_width": "4X",
        "active_speed": "25.0 Gbps"}
for k, v in want.items():
    assert p[k] == v, (k, p.get(k), v)
for k in ("gid_tbl_len", "port_cap_flags", "max_msg_sz", "pkey_tbl_len",
          "lid", "sm_lid", "lmc", "max_vl_num", "port_cap_flags2"):
    assert isinstance(p[k], int), (k, p.get(k))
assert p["gids"] == [{"index": 0, "gid": "::ffff:192.0.2.7",
                      "type": "RoCE v2"}], p["gids"]
print("JSON ok")
PY

# One device by name equals the list; an unknown one is an error.
"$RB_RDMACTL" -j dev show rbsoft0 > "$RB_TMP/one.json" || rb_fail "dev show rbsoft0 failed"
cmp -s "$RB_TMP/one.json" "$RB_TMP/dev.json" || rb_fail "dev show rbsoft0 differs from dev"
"$RB_RDMACTL" dev show nosuch > "$RB_TMP/out" 2> "$RB_TMP/err"
rc=$?
[ "$rc" -eq 1 ] || rb_fail "dev show nosuch exited $rc, expected 1"
[ "$(cat "$RB_TMP/err")" = "rdmactl: device nosuch not found" ] ||
	rb_fail "dev show nosuch said: $(cat "$RB_TMP/err")"
[ -s "$RB_TMP/out" ] && rb_fail "dev show nosuch wrote to stdout"
rb_daemon_stop

# No devices: text prints nothing, JSON an empty array.
printf '[soft]\nenable = no\n' > "$RB_CONF"
rb_daemon_start
out=$("$RB_RDMACTL" dev) || rb_fail "rdmactl dev failed without devices"
[ -z "$out" ] || rb_fail "devices listed with the soft device disabled: $out"
out=$("$RB_RDMACTL" -j dev) || rb_fail "rdmactl -j dev failed without devices"
[ "$out" = "[]" ] || rb_fail "-j dev without devices printed: $out"
rb_daemon_stop
rb_pass
