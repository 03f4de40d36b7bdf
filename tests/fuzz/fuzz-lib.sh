# The body of the runners of the libFuzzer targets on the daemon
# (tests/fuzz/fuzz-request.sh, tests/fuzz/fuzz-wqe.sh), which set
# `targets` and source this after tests/lib/lib.sh.  A target is built
# with clang, ASan and UBSan, from the same daemon sources as rdmabrokerd
# (main.c aside); --enable-fuzzing builds it with the tree, otherwise this
# script compiles it into a temporary directory.
#
# First every input in tests/fuzz/regress-*/ (inputs that once crashed)
# and in the seed corpora is replayed, then each target fuzzes for
# RB_FUZZ_SECONDS (default 60; 0: replay only), starting from its seeds.
# Any crash, leak, UB report, descriptor leak or write outside an MR
# fails the test; the input is left in the log (base64) to be added to
# tests/fuzz/regress-<target>/.
#
# The targets always carry their own sanitizers, so the fuzzing is done
# once per CI run: in the ASan build's `make check` (RB_SANITIZERS=yes)
# this test skips, the other build runs it (RB_FUZZ_FORCE=1 runs it
# anyway); from a read-only source tree (make distcheck) it only builds
# and replays, unless RB_FUZZ_SECONDS says otherwise.  Skips (77) without
# clang or its libFuzzer runtime.

# make distcheck builds in $(distdir)/_build/sub, from a read-only tree
# (which root may still write to).
if [ -z "${RB_FUZZ_SECONDS:-}" ] &&
   { [ ! -w "$top_srcdir" ] ||
     [ "$(cd "$top_builddir" && pwd -P)" = "$(cd "$top_srcdir" && pwd -P)/_build/sub" ]; }; then
	rb_log "make distcheck (a read-only source tree): replaying only"
	RB_FUZZ_SECONDS=0
fi
secs=${RB_FUZZ_SECONDS:-60}
seed=${RB_FUZZ_SEED:-0}
fuzz_cc=${RB_FUZZ_CC:-clang}
src=$top_srcdir
: "${targets:?set by the runner: fuzz-request or fuzz-wqe}"

case $secs in
''|*[!0-9]*) rb_fail "RB_FUZZ_SECONDS must be a number of seconds, not '$secs'" ;;
esac
if [ "${RB_SANITIZERS:-no}" = yes ] && [ "${RB_FUZZ_FORCE:-0}" != 1 ]; then
	rb_skip "the fuzz targets carry their own ASan+UBSan: they run in the non-sanitizer build's make check (RB_FUZZ_FORCE=1 to run here too)"
fi

# ------------------------------------------------------------ targets
bindir=$top_builddir/tests/fuzz
if [ -x "$bindir/$targets" ]; then
	rb_log "using $targets as --enable-fuzzing built it"
else
	command -v "$fuzz_cc" >/dev/null 2>&1 ||
		rb_skip "$fuzz_cc not found (scripts/deps.sh installs clang and libclang-rt-14-dev)"
	printf 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n);\nint LLVMFuzzerTestOneInput(const char *d, unsigned long n) { return d && n; }\n' \
		> "$RB_TMP/probe.c"
	"$fuzz_cc" -fsanitize=fuzzer,address,undefined -o "$RB_TMP/probe" \
		"$RB_TMP/probe.c" >"$RB_TMP/probe.log" 2>&1 ||
		rb_skip "$fuzz_cc cannot link a libFuzzer target (libclang-rt-14-dev missing?): $(head -n 3 "$RB_TMP/probe.log")"
	[ -f "$top_builddir/proto/rdmabroker.pb-c.c" ] && [ -f "$top_builddir/config.h" ] ||
		rb_fail "build the tree first: no proto/rdmabroker.pb-c.c or config.h in $top_builddir"
	pkgs="libevent libsystemd libprotobuf-c libibverbs zlib libmnl"
	pkg_cflags=$(pkg-config --cflags $pkgs) || rb_skip "pkg-config cannot find $pkgs"
	pkg_libs=$(pkg-config --libs $pkgs) || rb_skip "pkg-config cannot find $pkgs"
	bindir=$RB_TMP/bin
	mkdir -p "$bindir/obj"
	cflags="-g -O1 -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined
		-I$src -I$top_builddir -I$top_builddir/proto
		-DSYSCONFDIR=\"/etc\" -DRUNDIR=\"/run/rdmabroker\" -DPKGLIBDIR=\"/usr/lib/rdmabroker\"
		$pkg_cflags"
	# The sources of daemon/librbd.la (the daemon but main()) and of
	# proto/libproto.la, from their lists in the Makefile
	# (tests/fuzz/local.mk), and the harness.
	MAKEFLAGS= MAKELEVEL= ${MAKE:-make} -s -C "$top_builddir" fuzz-sources > "$RB_TMP/lists" 2>&1 ||
		rb_fail "make fuzz-sources: $(cat "$RB_TMP/lists")"
	{ sed -n 's/^srcdir: //p' "$RB_TMP/lists" | tr ' ' '\n' | sed -n "s|^\(.*\.c\)\$|$src/\1|p"
	  sed -n 's/^builddir: //p' "$RB_TMP/lists" | tr ' ' '\n' | sed -n "s|^\(.*\.c\)\$|$top_builddir/\1|p"
	  echo "$src/tests/fuzz/harness.c"; } > "$RB_TMP/sources"
	grep -q '/daemon/session\.c$' "$RB_TMP/sources" && grep -q '/drivers/soft/' "$RB_TMP/sources" ||
		rb_fail "make fuzz-sources lists no daemon or driver sources: $(cat "$RB_TMP/lists")"
	start=$(date +%s)
	# Two at a time: CI has two cores.
	# shellcheck disable=SC2086
	xargs -P 2 -I{} sh -c 'o="$1/obj/$(echo "$2" | tr / _).o"; exec "$0" $3 -fsanitize=fuzzer-no-link -c -o "$o" "$2"' \
		"$fuzz_cc" "$bindir" {} "$(echo $cflags)" < "$RB_TMP/sources" > "$RB_TMP/cc.log" 2>&1 ||
		{ cat "$RB_TMP/cc.log" >&2; rb_fail "compiling the daemon sources for fuzzing failed"; }
	for t in $targets; do
		# shellcheck disable=SC2086
		"$fuzz_cc" $cflags -fsanitize=fuzzer -o "$bindir/$t" "$src/tests/fuzz/$t.c" \
			"$bindir"/obj/*.o $pkg_libs > "$RB_TMP/cc.log" 2>&1 ||
			{ cat "$RB_TMP/cc.log" >&2; rb_fail "linking $t failed"; }
	done
	rb_log "built the targets with $fuzz_cc in $(( $(date +%s) - start )) s"
fi

# ------------------------------------------------------------ runs
# Leaks are checked by libFuzzer between inputs; at exit the daemon
# state the harness keeps on purpose is not a leak.
ASAN_OPTIONS="detect_leaks=1:abort_on_error=0${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"
export ASAN_OPTIONS UBSAN_OPTIONS
unset RB_FUZZ_LOG

fail=0
report() {	# target log: why it failed, and the input that did it
	tail -n 60 "$2" >&2
	for a in "$RB_TMP/$1"-crash-* "$RB_TMP/$1"-leak-* "$RB_TMP/$1"-timeout-* "$RB_TMP/$1"-oom-*; do
		[ -f "$a" ] || continue
		rb_log "$1: failing input $(basename "$a") (add it to tests/fuzz/regress-${1#fuzz-}/), base64:"
		base64 "$a" >&2
	done
	fail=1
}

for t in $targets; do
	name=${t#fuzz-}
	# Replay: inputs that once crashed, and the seeds.
	set --
	for f in "$src/tests/fuzz/regress-$name"/* "$src/tests/fuzz/corpus-$name"/*; do
		case $f in */README) continue ;; esac
		[ -f "$f" ] && set -- "$@" "$f"
	done
	if [ $# -gt 0 ]; then
		if "$bindir/$t" -runs=2 -artifact_prefix="$RB_TMP/$t-" "$@" \
			> "$RB_TMP/$t-replay.log" 2>&1; then
			rb_log "$t: replayed $# inputs (regressions and seeds)"
		else
			rb_log "$t: FAILED on a regression or seed input"
			report "$t" "$RB_TMP/$t-replay.log"
			continue
		fi
	fi
	[ "$secs" -gt 0 ] || continue
	mkdir -p "$RB_TMP/corpus-$name"
	if "$bindir/$t" -max_total_time="$secs" -timeout=30 -rss_limit_mb=2048 \
		-seed="$seed" -print_final_stats=1 -print_funcs=0 \
		-artifact_prefix="$RB_TMP/$t-" \
		"$RB_TMP/corpus-$name" "$src/tests/fuzz/corpus-$name" \
		> "$RB_TMP/$t.log" 2>&1; then
		# Figures for the log: coverage and executions.
		rb_log "$t: $(grep -E '^#[0-9]+.*(DONE|pulse)' "$RB_TMP/$t.log" | tail -n 1)"
		rb_log "$t: $(grep -E 'stat::number_of_executed_units' "$RB_TMP/$t.log") in $secs s, $(grep -m1 -o 'Seed: [0-9]*' "$RB_TMP/$t.log")"
		# What the harness noticed without failing (tests/fuzz/harness.c).
		grep -m 5 'fuzz harness:' "$RB_TMP/$t.log" | while read -r line; do rb_log "$t: $line"; done
	else
		rb_log "$t: FAILED after fuzzing ($(grep -m1 -o 'Seed: [0-9]*' "$RB_TMP/$t.log"))"
		report "$t" "$RB_TMP/$t.log"
	fi
done
[ "$fail" = 0 ] || rb_fail "a fuzz target found a bug (input above)"
rb_pass
