#!/bin/sh
# librdmabroker-cm exports the librdmacm.so.1 ABI: exactly the symbols and
# version nodes of libclient/cm/rdmacm-abi.txt, and every symbol the
# host's librdmacm.so.1 exports under the same node (read at configure
# time: RDMACM_NODES).  No daemon.
. "$top_srcdir/tests/lib/lib.sh"

lib="$top_builddir/libclient/cm/.libs/librdmabroker-cm.so.1"
list="$top_srcdir/libclient/cm/rdmacm-abi.txt"
command -v objdump >/dev/null 2>&1 || rb_skip "objdump (binutils) not installed"
[ -r "$lib" ] || rb_fail "$lib not built"

exports() {
	objdump -T "$1" | awk 'NF >= 2 && $0 !~ /\*UND\*/ && $(NF-1) ~ /^RDMACM_/ &&
		$NF !~ /^RDMACM_/ { print $(NF-1), $NF }' | sort -u
}
exports "$lib" > "$RB_TMP/ours"
sed -e '/^#/d' -e '/^$/d' "$list" | sort -u > "$RB_TMP/list"
diff -u "$RB_TMP/list" "$RB_TMP/ours" || rb_fail "exports differ from $list"
# Nothing else leaks out (proto/, protobuf-c stay hidden).
objdump -T "$lib" | awk '$0 !~ /\*UND\*/ && / DF / && $(NF-1) !~ /^RDMACM_/ { print }' > "$RB_TMP/other"
[ ! -s "$RB_TMP/other" ] || rb_fail "exported outside RDMACM_*: $(cat "$RB_TMP/other")"
objdump -p "$lib" | grep -q 'SONAME *librdmabroker-cm.so.1' || rb_fail "soname"
objdump -p "$lib" | grep -q 'NEEDED *librdmabroker.so.1' || rb_fail "not linked to librdmabroker"
! objdump -p "$lib" | grep -q 'NEEDED *lib\(rdmacm\|ibverbs\).so' || rb_fail "links the real librdmacm or libibverbs"

host=$(pkg-config --variable=libdir librdmacm 2>/dev/null)/librdmacm.so.1
[ -r "$host" ] || rb_skip "no host librdmacm.so.1 to compare (Debian librdmacm1)"
exports "$host" > "$RB_TMP/host"
comm -23 "$RB_TMP/host" "$RB_TMP/ours" > "$RB_TMP/missing"
[ ! -s "$RB_TMP/missing" ] || rb_fail "the host's librdmacm.so.1 exports what we lack: $(cat "$RB_TMP/missing")"
rb_log "$(wc -l < "$RB_TMP/ours") symbols, nodes $(cut -d' ' -f1 "$RB_TMP/ours" | sort -u | tr '\n' ' ')(configure saw: ${RDMACM_NODES:-?})"
rb_pass
