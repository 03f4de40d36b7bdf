#!/bin/sh
# Install the Debian packages rdmabroker needs to build and test, if any are
# missing.  Run as root on Debian 12 (bookworm) or newer.
set -eu

PACKAGES="
autoconf automake libtool pkg-config make gcc binutils xz-utils
libevent-dev libprotobuf-c-dev protobuf-c-compiler libsystemd-dev
libibverbs-dev librdmacm-dev libjson-c-dev libcmocka-dev
ibverbs-utils systemd mandoc python3 procps valgrind
clang libclang-rt-14-dev gnuplot-nox libfabric-bin ucx-utils
ibverbs-providers perftest python3-pyverbs util-linux rdmacm-utils
debhelper dpkg-dev lintian debootstrap systemd-container iproute2 wget
fuse3 libfuse3-dev libucx-dev
zlib1g-dev tshark libmnl-dev iperf3 ethtool
"

missing=
for p in $PACKAGES; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		missing="$missing $p"
	fi
done
if [ -z "$missing" ]; then
	echo "deps: all build and test packages are installed"
	exit 0
fi
echo "deps: installing:$missing"
if [ "$(id -u)" -ne 0 ]; then
	echo "deps: must run as root to install packages (or install them yourself)" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $missing
