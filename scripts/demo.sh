#!/bin/bash
# Try rdmabroker on this machine: install what is missing, build in _build/,
# start a private rdmabrokerd with the soft device, and run unmodified
# rdma-core programs (Debian's ibverbs-utils: ibv_devinfo and the RC, UD
# and SRQ ping-pongs) through it, printing each step.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
jobs=$(nproc 2>/dev/null || echo 2)

step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }

step "Installing missing Debian packages"
scripts/deps.sh
if [ -e config.status ]; then
	echo "demo: this tree is configured in place; run 'make distclean' first" >&2
	exit 1
fi

step "Building (autoreconf, configure, make) in _build/"
autoreconf -fi >/dev/null
mkdir -p _build
cd _build
[ -e config.status ] || ../configure --enable-werror >/dev/null
make -j"$jobs" >/dev/null
build=$(pwd)

tmp=$(mktemp -d /tmp/rdmabroker-demo.XXXXXX)
sock=$tmp/rdmabrokerd.sock
daemon_pid=
cleanup() {
	if [ -n "$daemon_pid" ] && kill -0 "$daemon_pid" 2>/dev/null; then
		kill -TERM "$daemon_pid"; wait "$daemon_pid" || true
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT

step "Starting rdmabrokerd with the soft device on $sock"
printf '[daemon]\nlog_level = info\n[soft]\nname = rbsoft0\n' > "$tmp/rdmabrokerd.conf"
"$build/daemon/rdmabrokerd" -c "$tmp/rdmabrokerd.conf" -s "$sock" 2>"$tmp/daemon.log" &
daemon_pid=$!
for _ in $(seq 50); do [ -S "$sock" ] && break; sleep 0.1; done
[ -S "$sock" ] || { cat "$tmp/daemon.log"; exit 1; }
export RDMABROKER_SOCKET=$sock
export RDMABROKER_LIBDIR=$build/libclient/compat
run="$build/libclient/rdmab-run"
rdmactl="$build/rdmactl/rdmactl"

step "Without the broker, libibverbs finds no RDMA device here:"
ibv_devices || true

step "rdmab-run ibv_devices   (unmodified /usr/bin/ibv_devices)"
"$run" ibv_devices

step "rdmab-run ibv_devinfo -v"
"$run" ibv_devinfo -v

step "rdmactl dev"
"$rdmactl" dev

# Two processes, one daemon: the server waits on a TCP port for the
# client's QP number and GID, then they ping-pong 1000 messages each way
# through the soft device, checking every byte (-c).
pingpong() {
	local prog=$1 port=$2; shift 2
	step "rdmab-run $prog -d rbsoft0 -g 0 $*   (server and client, unmodified /usr/bin/$prog)"
	"$run" "$prog" -d rbsoft0 -g 0 -p "$port" "$@" > "$tmp/server.out" 2>&1 &
	local server=$!
	sleep 0.5
	echo "client:"
	"$run" "$prog" -d rbsoft0 -g 0 -p "$port" "$@" localhost 2>&1 | sed 's/^/    /'
	wait "$server"
	echo "server:"
	sed 's/^/    /' "$tmp/server.out"
}
pingpong ibv_rc_pingpong 18515 -c
pingpong ibv_ud_pingpong 18516
pingpong ibv_srq_pingpong 18517 -q 4

step "rdmactl res  (what the ping-pongs held is gone with them)"
"$rdmactl" res

step "rdmactl status"
"$rdmactl" status

step "rdmactl client  (lists itself: the only client connected now)"
"$rdmactl" client

step "Stopping the daemon (SIGTERM)"
kill -TERM "$daemon_pid"; wait "$daemon_pid"; daemon_pid=
echo "rdmabrokerd exited 0. Its log:"
sed 's/^/    /' "$tmp/daemon.log"
