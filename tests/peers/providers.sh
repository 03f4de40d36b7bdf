#!/bin/sh
# The private libibverbs ABI rdma-core's providers import: every
# IBVERBS_PRIVATE_NN symbol the host's providers (libibverbs/*.so,
# libmlx5.so.1, libmlx4.so.1, libefa.so.1, ...) import is exported by
# librdmabroker under the host's node, and the library exports exactly the
# in-tree list (libclient/ibverbs-private.txt).  Then the providers load
# under rdmab-run and their direct verbs refuse rbsoft0
# (tests/peers/providers.c).
. "$top_srcdir/tests/lib/lib.sh"

lib="$top_builddir/libclient/.libs/librdmabroker.so.1"
list="$top_srcdir/libclient/ibverbs-private.txt"
nn=${IBVERBS_PRIVATE_NN:?}
command -v objdump >/dev/null 2>&1 || rb_skip "objdump (binutils) not installed"

objdump -T "$lib" | awk -v node="IBVERBS_PRIVATE_$nn" \
	'NF >= 2 && $0 !~ /\*UND\*/ && $(NF-1) == node && $NF != node { print $NF }' |
	sort -u > "$RB_TMP/ours"
sed -e '/^#/d' -e '/^$/d' -e "s/@IBVERBS_PRIVATE_NN@/$nn/" "$list" | sort -u > "$RB_TMP/list"
diff -u "$RB_TMP/list" "$RB_TMP/ours" ||
	rb_fail "exports under IBVERBS_PRIVATE_$nn differ from $list"
[ "$(wc -l < "$RB_TMP/ours")" -ge 60 ] || rb_fail "only $(wc -l < "$RB_TMP/ours") private symbols"

libdir=$(pkg-config --variable=libdir libibverbs 2>/dev/null)
[ -n "$libdir" ] || libdir=/usr/lib/$(gcc -print-multiarch 2>/dev/null)
: > "$RB_TMP/providers"
for f in "$libdir"/libibverbs/*.so "$libdir"/libmlx4.so.1 "$libdir"/libmlx5.so.1 \
	 "$libdir"/libefa.so.1 "$libdir"/libmana.so.1; do
	[ -r "$f" ] && echo "$f" >> "$RB_TMP/providers"
done
[ -s "$RB_TMP/providers" ] || rb_skip "no rdma-core providers installed (Debian ibverbs-providers)"

# What the host's providers import from the private node, all of it ours.
while read -r f; do
	objdump -T "$f" | awk 'NF >= 2 && /\*UND\*/ && $(NF-1) ~ /IBVERBS_PRIVATE_/ {
		v = $(NF-1); gsub(/[()]/, "", v); print v, $NF }' |
	while read -r ver sym; do
		[ "$ver" = "IBVERBS_PRIVATE_$nn" ] ||
			echo "$f: $sym@$ver (node is not ours: reconfigure)" >> "$RB_TMP/missing"
		grep -qx "$sym" "$RB_TMP/ours" || echo "$f: $sym@$ver" >> "$RB_TMP/missing"
	done
done < "$RB_TMP/providers"
[ ! -s "$RB_TMP/missing" ] || rb_fail "private imports not provided: $(cat "$RB_TMP/missing")"
rb_log "$(wc -l < "$RB_TMP/providers") providers import nothing we lack"

rb_daemon_start
# shellcheck disable=SC2046
"$RB_RUN" "$top_builddir/tests/peers/providers" $(cat "$RB_TMP/providers") \
	> "$RB_TMP/out" 2>&1 || rb_fail "client-providers: $(cat "$RB_TMP/out")"
rb_log "$(tail -n 1 "$RB_TMP/out")"
rb_daemon_alive || rb_fail "daemon died"
rb_daemon_stop
rb_pass
