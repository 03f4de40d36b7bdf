#!/bin/sh
# rdmactl escapes what a client chose (issue 14): a client whose name and
# version carry terminal escape sequences is shown by `rdmactl client`
# with them escaped (\x1b), never raw; JSON stays JSON.
. "$top_srcdir/tests/lib/lib.sh"
. "$top_srcdir/tests/lib/ident-lib.sh"

TENANT="$top_builddir/tests/lib/tenant"
rb_daemon_start
mkfifo "$RB_TMP/hold"
name=$(printf 'evil\033]2;owned\007\033[2J')
version=$(printf '1.0\033[31m\r')
$AS_NOBODY "$TENANT" hold "$name" "$version" <"$RB_TMP/hold" >"$RB_TMP/t.out" 2>&1 &
ident_bg $!
exec 7>"$RB_TMP/hold"
for _ in $(seq 1 50); do
	grep -q '^connected' "$RB_TMP/t.out" && break
	sleep 0.1
done
grep -q '^connected' "$RB_TMP/t.out" || rb_fail "the tenant did not connect: $(cat "$RB_TMP/t.out")"

"$RB_RDMACTL" client > "$RB_TMP/client.txt" || rb_fail "rdmactl client failed"
"$RB_RDMACTL" -d client > "$RB_TMP/client-d.txt" || rb_fail "rdmactl -d client failed"
esc=$(printf '\033')
cr=$(printf '\r')
for f in client.txt client-d.txt; do
	if grep -q "[$esc$cr]" "$RB_TMP/$f" || tr -d '\n' < "$RB_TMP/$f" | grep -q "$(printf '\007')"; then
		od -c "$RB_TMP/$f" | head -20 >&2
		rb_fail "rdmactl client printed a client's control characters raw ($f)"
	fi
done
grep -qF 'evil\x1b]2;owned\x07\x1b[2J' "$RB_TMP/client.txt" ||
	rb_fail "the name is not shown escaped: $(cat "$RB_TMP/client.txt")"
grep -qF '1.0\x1b[31m\x0d' "$RB_TMP/client.txt" ||
	rb_fail "the version is not shown escaped: $(cat "$RB_TMP/client.txt")"
"$RB_RDMACTL" -j client | grep -qF 'evil\u001b]2;owned\u0007' ||
	rb_fail "the JSON does not carry the name as JSON escapes"
exec 7>&-
rb_pass
