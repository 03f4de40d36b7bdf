#!/bin/bash
# The whole test suite from a clean checkout: install what is missing,
# build with warnings as errors in _build/, run `make check`, then
# `make distcheck`, check what `make install` lays down, build the Debian
# packages (in _pkg/) and run them under systemd in a container, then the
# suite again built with ASan+UBSan in _build-san/.  Ends with one line "N passed, N failed, N skipped"
# (the counts of both runs of the suite, and the two package steps).
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

# What `make install` lays down: the library under its soname, its
# libibverbs.so.1 name in the private directory rdmab-run uses, the pc
# file, header, units, example config and every man page.
inst=0
if [ $rc -eq 0 ]; then
	dest=$top/_build/_dest
	rm -rf "$dest"
	if make install DESTDIR="$dest" >install.log 2>&1; then
		prefix=$(sed -n 's/^S\["prefix"\]="\(.*\)"$/\1/p' config.status)
		unitdir=$(sed -n 's/^S\["systemdsystemunitdir"\]="\(.*\)"$/\1/p' config.status)
		unitdir=${unitdir//\$\{prefix\}/$prefix}
		for f in sbin/rdmabrokerd bin/rdmactl bin/rdmab-run bin/rdmab-perf \
			 lib/librdmabroker.so.1 lib/pkgconfig/librdmabroker.pc lib/pkgconfig/rdmabroker.pc \
			 include/rdmabroker.h etc/rdmabroker/rdmabrokerd.conf \
			 share/man/man8/rdmabrokerd.8 share/man/man5/rdmabrokerd.conf.5 \
			 share/man/man8/rdmactl.8 share/man/man1/rdmab-run.1 \
			 share/man/man7/librdmabroker.7 share/man/man1/rdmab-perf.1 \
			 lib/librdmabroker-cm.so.1 lib/pkgconfig/rdmabroker-cm.pc \
			 share/man/man7/librdmabroker-cm.7; do
			[ -e "$dest$prefix/$f" ] || { echo "check: install lacks $prefix/$f"; inst=1; }
		done
		for f in rdmabrokerd.service rdmabrokerd.socket; do
			[ -e "$dest$unitdir/$f" ] || { echo "check: install lacks $unitdir/$f"; inst=1; }
		done
		link=$dest$prefix/lib/rdmabroker/compat/libibverbs.so.1
		[ "$(readlink "$link")" = "$prefix/lib/librdmabroker.so.1" ] ||
			{ echo "check: $link -> '$(readlink "$link")'"; inst=1; }
		link=$dest$prefix/lib/rdmabroker/compat/librdmacm.so.1
		[ "$(readlink "$link")" = "$prefix/lib/librdmabroker-cm.so.1" ] ||
			{ echo "check: $link -> '$(readlink "$link")'"; inst=1; }
	else
		tail -n 40 install.log; inst=1
	fi
	echo "check: install layout $([ $inst -eq 0 ] && echo OK || echo WRONG)"
fi

# The Debian packages, built once in a copy of the tree (_pkg/, not
# _build/), checked by lintian, then installed and run under systemd as
# PID 1 in a Debian 12 container whose root is cached in
# /var/cache/rdmabroker-test.  Each step counts as one test; a step that
# cannot run here (no tools, no route to Debian's mirror) is skipped, with
# its reason printed.
cd "$top"
pkg_pass=0 pkg_fail=0 pkg_skip=0
pkg_step() {
	local t0 r
	t0=$(date +%s)
	"$@"
	r=$?
	case $r in
	0) pkg_pass=$((pkg_pass + 1)); r=passed ;;
	77) pkg_skip=$((pkg_skip + 1)); r=skipped ;;
	*) pkg_fail=$((pkg_fail + 1)); r=FAILED ;;
	esac
	echo "check: $(basename "$1") $r in $(( $(date +%s) - t0 )) s"
}
pkg_step scripts/pkg-build.sh "$top/_pkg"
pkg_step scripts/pkg-systemd.sh "$top/_pkg"

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
pass=$(( $(count PASS) + pkg_pass ))
fail=$(( $(count FAIL) + $(count ERROR) + (dc != 0) + (inst != 0) + (san != 0 && $(count FAIL) + $(count ERROR) == 0) + pkg_fail ))
skip=$(( $(count SKIP) + pkg_skip ))
echo "${pass} passed, ${fail} failed, ${skip} skipped"
[ $rc -eq 0 ] && [ $dc -eq 0 ] && [ $inst -eq 0 ] && [ $san -eq 0 ] && [ $pkg_fail -eq 0 ]
