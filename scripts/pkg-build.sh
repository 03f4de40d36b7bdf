#!/bin/bash
# pkg-build.sh [OUTDIR]: build the Debian packages from this tree with
# `dpkg-buildpackage -us -uc -b` in a copy of it (the tree itself, its
# _build/ and _build-san/ are not touched), then run lintian on them.
# The .debs, the .changes and the logs land in OUTDIR (default _pkg/ at
# the top of the tree, ignored by git).  Exit 0 when the packages built
# and lintian reported no error; 1 otherwise; 77 when the tools are not
# installed (scripts/deps.sh installs them).  Lintian's warnings are
# printed; debian/lintian-notes.md says why each one stays.
set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$top/_pkg}
say() { echo "pkg-build: $*"; }

for t in dpkg-buildpackage dh lintian; do
	command -v "$t" >/dev/null || { say "SKIP: $t not installed"; exit 77; }
done

# The package's version must be the release's: debian/changelog follows
# AC_INIT in configure.ac (add a changelog entry with each release).
upstream=$(sed -n 's/^AC_INIT(\[rdmabroker\], \[\([^]]*\)\].*/\1/p' "$top/configure.ac")
debver=$(sed -n '1s/^rdmabroker (\([^)]*\)).*/\1/p' "$top/debian/changelog")
case $debver in
"$upstream"|"$upstream"[-+~]*) ;;
*) say "FAIL: debian/changelog is at $debver, configure.ac at $upstream: add a changelog entry"; exit 1 ;;
esac

rm -rf "$out"
mkdir -p "$out/src" || exit 1
# The source as it is in the tree (committed or not), without build dirs.
tar -C "$top" --exclude=./.git --exclude='./_build*' --exclude=./_pkg \
	--exclude=./autom4te.cache -cf - . | tar -C "$out/src" -xf - || exit 1

say "dpkg-buildpackage -us -uc -b in $out/src (log: $out/build.log)"
if ! (cd "$out/src" && dpkg-buildpackage -us -uc -b) >"$out/build.log" 2>&1; then
	tail -n 60 "$out/build.log"
	say "FAIL: dpkg-buildpackage failed"
	exit 1
fi
ls "$out"/*.deb >/dev/null 2>&1 || { say "FAIL: no .deb built"; exit 1; }
rm -rf "$out/src"
for d in "$out"/*.deb; do
	say "built $(basename "$d")"
done

# The names rdmab-run puts first: libibverbs.so.1 in librdmabroker1;
# librdmacm.so.1 goes with librdmabroker-cm1 (its own soname).
compat=$(dpkg-deb -c "$out"/librdmabroker1_*.deb | sed -n 's|.*/rdmabroker/compat/\([^ /]\+\).*|\1|p' | sort -u | tr '\n' ' ')
say "librdmabroker1 compat names: $compat"
case " $compat " in
*" libibverbs.so.1 "*) ;;
*) say "FAIL: librdmabroker1 lacks rdmabroker/compat/libibverbs.so.1"; exit 1 ;;
esac

# lintian on the .changes (every .deb and the .buildinfo); --fail-on
# error makes any E: tag fail this step.
changes=$(ls "$out"/*.changes | head -n 1)
lintian --fail-on error --tag-display-limit 0 "$changes" >"$out/lintian.log" 2>&1
lrc=$?
cat "$out/lintian.log"
if [ $lrc -ne 0 ] || grep -q '^E: ' "$out/lintian.log"; then
	say "FAIL: lintian reported errors"
	exit 1
fi
say "lintian: $(grep -c '^W: ' "$out/lintian.log") warnings, no errors"
exit 0
