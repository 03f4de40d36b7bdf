#!/bin/sh
# librdmabroker exports the libibverbs ABI: the same symbols under the same
# default versions as the build host's libibverbs.so.1, ibv_query_gid_type
# and the private names rdma-core's providers import (libclient/
# ibverbs-private.txt) under its IBVERBS_PRIVATE node, rdmab_version, and
# nothing else; it never
# links the real libibverbs; every verbs symbol the ibverbs-utils programs
# import resolves in it; librdmabroker.pc is valid.
. "$top_srcdir/tests/lib/lib.sh"

lib="$top_builddir/libclient/.libs/librdmabroker.so.1"
[ -f "$lib" ] || rb_fail "$lib not built"
command -v objdump >/dev/null 2>&1 || rb_skip "objdump (binutils) not installed"

# "version name" for every defined symbol with a default version.
exports() {
	objdump -T "$1" | awk '$0 !~ /\*UND\*/ && $2 == "g" && NF >= 7 &&
		$(NF-1) !~ /^\(/ && $NF != $(NF-1) { print $(NF-1), $NF }' | sort -u
}

soname=$(objdump -p "$lib" | awk '$1 == "SONAME" { print $2 }')
[ "$soname" = librdmabroker.so.1 ] || rb_fail "SONAME is '$soname'"
if objdump -p "$lib" | grep -q 'NEEDED.*libibverbs'; then
	rb_fail "librdmabroker links the real libibverbs"
fi

exports "$lib" > "$RB_TMP/ours"
nn=${IBVERBS_PRIVATE_NN:?}
{
	grep '^IBVERBS_1\.' "$RB_TMP/ours"
} > "$RB_TMP/ours-public"
[ "$(wc -l < "$RB_TMP/ours-public")" -eq 75 ] ||
	rb_fail "expected 75 public entry points, found $(wc -l < "$RB_TMP/ours-public")"

# Against the reference list shipped beside the tree, when present.
ref="$top_srcdir/../shared/reference/libibverbs-public-abi.txt"
if [ -f "$ref" ]; then
	grep -v '^#' "$ref" | awk 'NF == 2 { print $2, $1 }' | sort -u > "$RB_TMP/ref"
	diff -u "$RB_TMP/ref" "$RB_TMP/ours-public" ||
		rb_fail "exports differ from $ref"
fi

# Against the host's libibverbs.so.1, the ABI programs were linked with.
host=$(pkg-config --variable=libdir libibverbs 2>/dev/null)/libibverbs.so.1
if [ -f "$host" ]; then
	exports "$host" | grep '^IBVERBS_1\.' > "$RB_TMP/host-public"
	diff -u "$RB_TMP/host-public" "$RB_TMP/ours-public" ||
		rb_fail "exports differ from $host"
	objdump -p "$host" | grep -q "IBVERBS_PRIVATE_$nn\$" ||
		rb_fail "host libibverbs has no IBVERBS_PRIVATE_$nn node (reconfigure)"
else
	rb_log "no host libibverbs.so.1; compared with the reference list only"
fi

# Exactly the public ABI, the private symbols providers and ibv_devinfo
# need (tests/peers/providers.sh checks those against the host), our own.
{
	cat "$RB_TMP/ours-public"
	sed -e '/^#/d' -e '/^$/d' -e "s/@IBVERBS_PRIVATE_NN@/$nn/" \
		-e "s/^/IBVERBS_PRIVATE_$nn /" "$top_srcdir/libclient/ibverbs-private.txt"
	echo "RDMABROKER_1.0 rdmab_version"
	echo "RDMABROKER_PRIVATE_1.0 rdmab_cq_engine_cpu"
	echo "RDMABROKER_PRIVATE_1.0 rdmab_create_qp_modify"
} | sort -u > "$RB_TMP/want"
diff -u "$RB_TMP/want" "$RB_TMP/ours" || rb_fail "unexpected exports (internals leaking?)"
if objdump -T "$lib" | awk '$0 !~ /\*UND\*/ && $2 == "g"' | grep -q ' rb_\| protobuf_c_'; then
	rb_fail "internal symbols exported"
fi

# Every versioned verbs import of the unmodified programs is provided.
checked=0
for prog in ibv_devinfo ibv_devices ibv_rc_pingpong ibv_uc_pingpong \
	    ibv_ud_pingpong ibv_srq_pingpong ibv_asyncwatch; do
	path=$(command -v "$prog") || continue
	objdump -T "$path" | awk '/\*UND\*/ && $(NF-1) ~ /IBVERBS/ {
		v = $(NF-1); gsub(/[()]/, "", v); print v, $NF }' |
	while read -r ver sym; do
		grep -qx "$ver $sym" "$RB_TMP/ours" || {
			echo "$prog: $sym@$ver" >> "$RB_TMP/missing"
		}
	done
	checked=$((checked + 1))
done
[ ! -s "$RB_TMP/missing" ] || rb_fail "imports not provided: $(cat "$RB_TMP/missing")"
rb_log "checked the imports of $checked ibverbs-utils programs"

# The pkg-config file: valid, links librdmabroker and not libibverbs.
if command -v pkg-config >/dev/null 2>&1; then
	export PKG_CONFIG_PATH="$top_builddir/libclient${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
	pkg-config --validate librdmabroker || rb_fail "librdmabroker.pc does not validate"
	libs=$(pkg-config --libs librdmabroker)
	case $libs in *-lrdmabroker*) ;; *) rb_fail "pkg-config --libs: $libs" ;; esac
	case $libs in *-libverbs*) rb_fail "pkg-config --libs pulls in libibverbs: $libs" ;; esac
	pkg-config --validate rdmabroker || rb_fail "rdmabroker.pc does not validate"
	[ "$(pkg-config --libs rdmabroker)" = "$libs" ] || rb_fail "rdmabroker.pc differs from librdmabroker.pc"
fi
rb_pass
