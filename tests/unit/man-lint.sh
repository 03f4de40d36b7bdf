#!/bin/sh
# Every generated man page lints clean with mandoc, there are at least five
# of them, and each program's page documents every option of its --help.
. "$top_srcdir/tests/lib/lib.sh"

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

# Each program's --help and its page agree: every option --help lists is
# documented.  Rendered text, overstrike (bold, underline) removed.
bs=$(printf '\b')
check_options() {	# NAME PAGE HELP-COMMAND...
	name=$1 page=$2
	shift 2
	"$MANDOC" -Tascii "$top_builddir/man/$page" | sed "s/.$bs//g" \
		> "$RB_TMP/$page.txt" || rb_fail "cannot render $page"
	"$@" --help > "$RB_TMP/help" || rb_fail "$name --help failed"
	opts=$(grep -o -- '--[a-z][a-z-]*' "$RB_TMP/help" | sort -u)
	[ -n "$opts" ] || rb_fail "no long options in $name --help"
	for o in $opts $(grep -o -- '^ *-[a-zA-Z],' "$RB_TMP/help" | tr -d ' ,'); do
		grep -q -- "$o" "$RB_TMP/$page.txt" ||
			rb_fail "$name --help lists $o but $page does not"
	done
	echo "ok: $page documents every option of $name --help"
}
check_options rdmabrokerd rdmabrokerd.8 "$RB_DAEMON"
check_options rdmactl rdmactl.8 "$RB_RDMACTL"
check_options rdmab-run rdmab-run.1 "$top_builddir/libclient/rdmab-run"
check_options rdmab-perf rdmab-perf.1 "$top_builddir/bench/rdmab-perf"
rb_pass
