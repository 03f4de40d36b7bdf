#!/bin/bash
# The whole test suite from a clean checkout: install what is missing,
# build with warnings as errors in _build/, run `make check`, then
# `make distcheck`, then the suite again built with ASan+UBSan in
# _build-san/.  Ends with one line "N passed, N failed, N skipped"
# (the counts of both runs of the suite).
set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 1
jobs=$(nproc 2>/dev/null || echo 2)

scripts/deps.sh || exit 1
if [ -e config.status ]; then
	echo "check: this tree is configured in place; run 'make distclean' first" >&2
	exit 1
fi

set -e
autoreconf -fi
rm -rf _build
mkdir _build
cd _build
../configure --enable-werror
make -j"$jobs"
set +e

# Show the logs of the tests that failed in the build dir $1.
show_failures() {
	local log trs
	for log in $(find "$1" -name '*.log' ! -name test-suite.log ! -name config.log ! -name distcheck.log); do
		trs=${log%.log}.trs
		if [ -f "$trs" ] && grep -qE ':test-result: (FAIL|ERROR)' "$trs"; then
			echo "===== $log"; tail -n 80 "$log"
		fi
	done
}

make -j"$jobs" check
rc=$?
[ $rc -eq 0 ] || show_failures .

dc=0
if [ $rc -eq 0 ]; then
	make -j"$jobs" distcheck >distcheck.log 2>&1
	dc=$?
	if [ $dc -ne 0 ]; then
		echo "check: make distcheck failed:"; tail -n 60 distcheck.log
	else
		echo "check: make distcheck passed"
	fi
fi

# The suite once more under AddressSanitizer and UndefinedBehaviorSanitizer.
cd "$top"
rm -rf _build-san
mkdir _build-san
cd _build-san
san=1
if ../configure --enable-werror --enable-sanitizers >configure.log 2>&1 &&
   make -j"$jobs" >build.log 2>&1; then
	make -j"$jobs" check >check.log 2>&1
	san=$?
	[ $san -eq 0 ] || show_failures .
	echo "check: sanitizer run $([ $san -eq 0 ] && echo passed || echo FAILED)"
else
	echo "check: sanitizer build failed:"; tail -n 40 configure.log build.log
	: >test-suite.log
fi

count() { sed -n "s/^# $1: *//p" "$top/_build/test-suite.log" "$top/_build-san/test-suite.log" | awk '{ s += $1 } END { print s + 0 }'; }
pass=$(count PASS)
fail=$(( $(count FAIL) + $(count ERROR) + (dc != 0) + (san != 0 && $(count FAIL) + $(count ERROR) == 0) ))
skip=$(count SKIP)
echo "${pass} passed, ${fail} failed, ${skip} skipped"
[ $rc -eq 0 ] && [ $dc -eq 0 ] && [ $san -eq 0 ]
