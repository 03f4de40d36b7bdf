#!/bin/bash
# The whole test suite from a clean checkout: install what is missing,
# build with warnings as errors in _build/, run `make check`, then
# `make distcheck`.  Ends with one line "N passed, N failed, N skipped".
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

make -j"$jobs" check
rc=$?
if [ $rc -ne 0 ]; then
	# Show the logs of what failed, then the summary.
	for log in $(find . -name '*.log' ! -name test-suite.log ! -name config.log); do
		trs=${log%.log}.trs
		if [ -f "$trs" ] && grep -qE ':test-result: (FAIL|ERROR)' "$trs"; then
			echo "===== $log"; tail -n 80 "$log"
		fi
	done
fi

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

pass=$(sed -n 's/^# PASS: *//p' test-suite.log)
fail=$(sed -n 's/^# FAIL: *//p' test-suite.log)
err=$(sed -n 's/^# ERROR: *//p' test-suite.log)
skip=$(sed -n 's/^# SKIP: *//p' test-suite.log)
fail=$(( ${fail:-0} + ${err:-0} + (dc != 0) ))
echo "${pass:-0} passed, ${fail} failed, ${skip:-0} skipped"
[ $rc -eq 0 ] && [ $dc -eq 0 ]
