#!/bin/bash
# sysroot.sh PACKAGE...: print the path of a Debian 12 (bookworm) root
# file system, made by `debootstrap --variant=minbase` with systemd,
# systemd-sysv, dbus and the PACKAGEs installed, that systemd-nspawn -b can
# boot.  Roots are cached outside the source tree, in $RB_SYSROOT_CACHE
# (default /var/cache/rdmabroker-test), one per set of packages (the
# directory is named after a hash of the sorted list and of this recipe),
# so only the first run on a machine pays for debootstrap.  Callers must
# not write into the root: boot it through an overlay (see
# scripts/pkg-systemd.sh).
#
# Exit status: 0 with the path on stdout; 77 when it cannot be made here
# (not root, no debootstrap, Debian's mirror unreachable), with the reason
# on stderr; 1 when debootstrap failed for another reason.
# $RB_DEBIAN_MIRROR names the mirror (default: the one apt uses, else
# http://deb.debian.org/debian).
set -uo pipefail

# Bump when the recipe below changes, so that old roots are not reused.
recipe=1
suite=bookworm
cache=${RB_SYSROOT_CACHE:-/var/cache/rdmabroker-test}

say() { echo "sysroot: $*" >&2; }
skip() { say "SKIP: $*"; exit 77; }

[ "$(id -u)" -eq 0 ] || skip "needs root to run debootstrap"
pkgs=$(printf '%s\n' systemd systemd-sysv dbus "$@" | sort -u | tr '\n' ' ')
key=$(printf 'recipe %s suite %s minbase\n%s\n' "$recipe" "$suite" "$pkgs" |
	sha256sum | cut -c1-16)
root=$cache/$suite-$key/root
if [ -f "$cache/$suite-$key/ready" ]; then
	echo "$root"
	exit 0
fi

command -v debootstrap >/dev/null || skip "debootstrap not installed (scripts/deps.sh installs it)"
mkdir -p "$cache" || skip "cannot create $cache"

mirror=${RB_DEBIAN_MIRROR:-}
if [ -z "$mirror" ]; then
	# The mirror apt already uses for bookworm, in either sources format.
	mirror=$(sed -n 's/^URIs: *\([^ ]*debian\)$/\1/p; s/^deb \(\[[^]]*\] \)\?\([^ ]*\/debian\) bookworm .*/\2/p' \
		/etc/apt/sources.list.d/*.sources /etc/apt/sources.list \
		/etc/apt/sources.list.d/*.list 2>/dev/null | head -n 1)
	[ -n "$mirror" ] || mirror=http://deb.debian.org/debian
fi
wget -q -T 20 -t 2 -O /dev/null "$mirror/dists/$suite/Release" ||
	skip "Debian's mirror $mirror is unreachable (no network to it?)"

# One builder at a time; another waiting run then finds it ready.
exec 9>"$cache/.lock"
flock 9
if [ -f "$cache/$suite-$key/ready" ]; then
	echo "$root"
	exit 0
fi
rm -rf "$cache/$suite-$key"
mkdir -p "$cache/$suite-$key"
say "building $root ($pkgs) from $mirror"
log=$cache/$suite-$key/debootstrap.log
inc=$(echo $pkgs | tr ' ' ',')
t0=$(date +%s)
if ! debootstrap --variant=minbase --include="$inc" "$suite" "$root" "$mirror" >"$log" 2>&1; then
	tail -n 30 "$log" >&2
	if grep -qiE 'Failed getting release file|Couldn.t download|Temporary failure|unable to resolve' "$log"; then
		skip "debootstrap could not download from $mirror"
	fi
	say "debootstrap failed (log: $log)"
	exit 1
fi
# A root booted many times: no apt lists or .debs to carry, no machine-id
# (each boot gets a transient one), nothing waiting on a console login.
chroot "$root" apt-get clean
rm -rf "$root"/var/lib/apt/lists/*
: >"$root/etc/machine-id"
echo rbtest >"$root/etc/hostname"
ln -sf /dev/null "$root/etc/systemd/system/getty.target"
ln -sf /dev/null "$root/etc/systemd/system/console-getty.service"
echo "$pkgs" >"$cache/$suite-$key/packages"
touch "$cache/$suite-$key/ready"
say "ready in $(( $(date +%s) - t0 )) s: $(du -sh "$root" | cut -f1)"
echo "$root"
