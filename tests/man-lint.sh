#!/bin/sh
# Every generated man page lints clean with mandoc, there are at least five
# of them, and rdmabrokerd(8) documents every long option of --help.
. "$top_srcdir/tests/lib.sh"

[ -n "${MANDOC:-}" ] && [ -x "$MANDOC" ] || rb_skip "mandoc not found by configure"

n=0
for page in "$top_builddir"/man/*.[1-9]; do
	[ -f "$page" ] || continue
	n=$((n + 1))
	# -Wwarning: a page with any warning or error fails.
	if ! out=$("$MANDOC" -Tlint -Wwarning "$page" 2>&1) || [ -n "$out" ]; then
		rb_log "$out"
		rb_fail "$(basename "$page") does not lint clean"
	fi
	# An unsubstituted @var@ would reach users.
	grep -n '@[a-zA-Z_]*@' "$page" >&2 &&
		rb_fail "$(basename "$page") has unsubstituted @variables@"
	echo "ok: $(basename "$page")"
done
[ "$n" -ge 5 ] || rb_fail "only $n man pages in $top_builddir/man (want at least 5)"

# Rendered text, overstrike (bold, underline) removed.
bs=$(printf '\b')
"$MANDOC" -Tascii "$top_builddir/man/rdmabrokerd.8" | sed "s/.$bs//g" \
	> "$RB_TMP/rdmabrokerd.txt" || rb_fail "cannot render rdmabrokerd.8"
"$RB_DAEMON" --help > "$RB_TMP/help" || rb_fail "rdmabrokerd --help failed"
opts=$(grep -o -- '--[a-z][a-z-]*' "$RB_TMP/help" | sort -u)
[ -n "$opts" ] || rb_fail "no long options in rdmabrokerd --help"
for o in $opts; do
	grep -q -- "$o" "$RB_TMP/rdmabrokerd.txt" ||
		rb_fail "rdmabrokerd --help lists $o but rdmabrokerd(8) does not"
	echo "ok: rdmabrokerd(8) documents $o"
done
# ... and the short ones.
for o in $(grep -o -- '^ *-[a-zA-Z],' "$RB_TMP/help" | tr -d ' ,'); do
	grep -q -- "$o" "$RB_TMP/rdmabrokerd.txt" ||
		rb_fail "rdmabrokerd --help lists $o but rdmabrokerd(8) does not"
done
rb_pass
