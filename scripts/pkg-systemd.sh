#!/bin/bash
# pkg-systemd.sh [DEBDIR]: the Debian packages under a real systemd.
#
# Boots a Debian 12 container with systemd as PID 1 (systemd-nspawn -b on a
# debootstrap root that scripts/sysroot.sh caches outside the tree, through
# an overlay so the cached root stays clean; its own network namespace, with
# only loopback), installs the .debs built by scripts/pkg-build.sh (DEBDIR,
# default _pkg/) with dpkg, and checks with systemctl and journalctl:
#   - the package enabled and started rdmabrokerd.socket, not the service;
#   - `systemctl enable --now rdmabrokerd.socket`, then the first
#     `rdmab-run ibv_devinfo` starts the service by socket activation;
#   - `systemctl status` shows the daemon's STATUS= line;
#   - an unmodified ibv_rc_pingpong pair runs as a normal user;
#   - `systemctl reload` applies an edited limit (rdmactl limits shows it);
#   - an upgrade keeps the edited conffile and restarts the daemon cleanly,
#     and a connected client gets IBV_EVENT_DEVICE_FATAL;
#   - the watchdog restarts a daemon stopped with SIGSTOP (a drop-in makes
#     WatchdogSec= short);
#   - `systemctl stop` ends it cleanly, a client gets IBV_EVENT_DEVICE_FATAL;
#   - `systemd-analyze security` rates the unit at most 2.0 in there, as
#     tests/integration/systemd-security.sh requires offline;
#   - the daemon's lines reach the journal with their priorities;
#   - removing the package stops the socket and keeps the conffile, purging
#     removes it.
# Exit 0 pass, 1 fail, 77 skip (not root, no systemd-nspawn, no packages,
# no root file system to be had: see scripts/sysroot.sh).
set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
debdir=${1:-$top/_pkg}
name=pkg-systemd

say() { echo "$name: $*"; }
skip() { say "SKIP: $*"; exit 77; }

[ "$(id -u)" -eq 0 ] || skip "needs root (systemd-nspawn, overlay mounts)"
command -v systemd-nspawn >/dev/null || skip "systemd-nspawn not installed (systemd-container)"
command -v nsenter >/dev/null || skip "nsenter not installed (util-linux)"
debs=
for p in rdmabroker librdmabroker1 rdmabroker-tools; do
	d=$(ls "$debdir/${p}"_*.deb 2>/dev/null | head -n 1)
	[ -n "$d" ] || skip "no ${p}_*.deb in $debdir (scripts/pkg-build.sh makes them)"
	debs="$debs $d"
done

# The root holds what the packages depend on (so dpkg -i needs no
# network), ibverbs-utils for the unmodified verbs programs and procps.
deps=$(for d in $debs; do dpkg-deb -f "$d" Depends; done | tr ',' '\n' |
	sed 's/|.*//; s/(.*)//; s/:any//; s/ //g' | grep -v '^$' |
	grep -vxE 'rdmabroker|librdmabroker1|rdmabroker-tools' | sort -u)
root=$("$top/scripts/sysroot.sh" ibverbs-utils procps $deps)
rc=$?
[ $rc -eq 77 ] && skip "no container root file system (see above)"
[ $rc -eq 0 ] && [ -d "$root" ] || { say "FAIL: scripts/sysroot.sh failed"; exit 1; }

tmp=$(mktemp -d /var/tmp/rb-pkg-systemd.XXXXXX) || exit 1
ns_pid=
leader=
cleanup() {
	if [ -n "$ns_pid" ] && kill -0 "$ns_pid" 2>/dev/null; then
		kill -TERM "$ns_pid"	# nspawn: an orderly shutdown of the container
		for _ in $(seq 1 30); do kill -0 "$ns_pid" 2>/dev/null || break; sleep 1; done
		kill -KILL "$ns_pid" 2>/dev/null
		wait "$ns_pid" 2>/dev/null
	fi
	mountpoint -q "$tmp/merged" && umount "$tmp/merged"
	rm -rf "$tmp"
}
trap cleanup EXIT
fail() {
	say "FAIL: $*"
	if [ -n "$leader" ]; then
		echo "----- journal of rdmabrokerd (last 40 lines)"
		ct journalctl --no-pager -n 40 -u rdmabrokerd.service -u rdmabrokerd.socket
	fi
	exit 1
}
ok() { say "ok: $*"; }

mkdir "$tmp/upper" "$tmp/work" "$tmp/merged"
mount -t overlay overlay -o "lowerdir=$root,upperdir=$tmp/upper,workdir=$tmp/work" \
	"$tmp/merged" || skip "cannot mount an overlay on $root"

# The packages, and a second version of rdmabroker for the upgrade: the
# same files under version +upgrade1, as dpkg sees any newer release.
mkdir "$tmp/merged/root/debs"
cp $debs "$tmp/merged/root/debs/" || fail "cannot copy the packages"
rb_deb=$(ls "$debdir"/rdmabroker_*.deb | head -n 1)
ver=$(dpkg-deb -f "$rb_deb" Version)
dpkg-deb -R "$rb_deb" "$tmp/repack" || fail "dpkg-deb -R"
sed -i "s/^Version: .*/Version: $ver+upgrade1/" "$tmp/repack/DEBIAN/control"
dpkg-deb --root-owner-group -b "$tmp/repack" "$tmp/merged/root/debs/upgrade.deb" >/dev/null ||
	fail "cannot repack rdmabroker as $ver+upgrade1"

# Boot.  --register=no: the host has no systemd-machined (nor a systemd
# PID 1 of its own) to register with.
t0=$(date +%s)
systemd-nspawn --register=no --keep-unit --private-network --console=passive \
	-M "rbtest$$" -b -D "$tmp/merged" >"$tmp/boot.log" 2>&1 &
ns_pid=$!
for _ in $(seq 1 100); do
	leader=$(ps -o pid= --ppid "$ns_pid" | head -n 1 | tr -d ' ')
	[ -n "$leader" ] && [ "$(cat "/proc/$leader/comm" 2>/dev/null)" = systemd ] && break
	leader=
	kill -0 "$ns_pid" 2>/dev/null || break
	sleep 0.2
done
[ -n "$leader" ] || { cat "$tmp/boot.log"; fail "the container did not boot (no systemd under nspawn)"; }

# ct CMD...: CMD inside the container, as root, in all its namespaces.
ct() {
	nsenter -t "$leader" -m -u -i -n -p -C -- \
		env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 HOME=/root "$@"
}
# as_user CMD...: CMD as the unprivileged user rbuser inside.
as_user() { ct runuser -u rbuser -- "$@"; }

# Until PID 1 has its private socket, systemctl cannot reach it ("Failed
# to connect to bus"); after that, --wait waits for the boot to finish.
state=
for _ in $(seq 1 120); do
	state=$(ct timeout 60 systemctl is-system-running --wait 2>/dev/null)
	[ -n "$state" ] && break
	kill -0 "$ns_pid" 2>/dev/null || break
	sleep 0.5
done
case $state in
running|degraded) ;;
*) cat "$tmp/boot.log"; ct systemctl --failed --no-pager; fail "system state '$state' after boot" ;;
esac
[ "$(ct cat /proc/1/comm)" = systemd ] || fail "PID 1 in the container is not systemd"
ok "container booted with systemd as PID 1 ($state) in $(( $(date +%s) - t0 )) s"
ct useradd -m -s /bin/sh rbuser || fail "useradd rbuser"

# ---- install
(cd "$tmp/merged/root/debs" && ls rdmabroker_*.deb librdmabroker1_*.deb rdmabroker-tools_*.deb) >/dev/null
ct sh -c 'cd /root/debs && dpkg -i rdmabroker_*.deb librdmabroker1_*.deb rdmabroker-tools_*.deb' \
	>"$tmp/dpkg.log" 2>&1 || { cat "$tmp/dpkg.log"; fail "dpkg -i of the packages"; }
[ "$(ct systemctl is-enabled rdmabrokerd.socket)" = enabled ] || fail "the package did not enable rdmabrokerd.socket"
[ "$(ct systemctl is-active rdmabrokerd.socket)" = active ] || fail "the package did not start rdmabrokerd.socket"
[ "$(ct systemctl is-active rdmabrokerd.service)" = inactive ] || fail "the package started rdmabrokerd.service (socket activation should)"
[ "$(ct systemctl is-enabled rdmabrokerd.service)" = disabled ] || fail "the package enabled rdmabrokerd.service"
ok "installed: rdmabrokerd.socket enabled and listening, the service not started"

# ---- socket activation
ct systemctl enable --now rdmabrokerd.socket >/dev/null 2>&1 || fail "systemctl enable --now rdmabrokerd.socket"
ct test -S /run/rdmabroker/rdmabrokerd.sock || fail "no socket at /run/rdmabroker/rdmabrokerd.sock"
out=$(as_user rdmab-run ibv_devinfo 2>&1) || { echo "$out"; fail "rdmab-run ibv_devinfo failed"; }
echo "$out" | grep -q 'hca_id:.*rbsoft0' || { echo "$out"; fail "ibv_devinfo did not list rbsoft0"; }
[ "$(ct systemctl is-active rdmabrokerd.service)" = active ] || fail "ibv_devinfo did not start rdmabrokerd.service"
ct journalctl --no-pager -u rdmabrokerd.service -o cat | grep -q 'ready: 1 device' ||
	fail "no 'ready' line from rdmabrokerd in the journal"
ok "the first rdmab-run ibv_devinfo (as rbuser) started the service by socket activation"

# ---- status
st=$(ct systemctl status --no-pager rdmabrokerd.service)
echo "$st" | grep -E '^ *Status: "[0-9]+ clients, [0-9]+ devices?"' ||
	{ echo "$st"; fail "systemctl status shows no STATUS= line of the daemon"; }
ok "systemctl status shows the daemon's STATUS="

# ---- an unmodified ibv_rc_pingpong pair as a normal user
ct rm -f /tmp/pp-server.log
ct sh -c 'runuser -u rbuser -- rdmab-run ibv_rc_pingpong -d rbsoft0 -g 0 -n 200 >/tmp/pp-server.log 2>&1 &'
cout=
for _ in $(seq 1 50); do
	sleep 0.2
	cout=$(as_user rdmab-run ibv_rc_pingpong -d rbsoft0 -g 0 -n 200 127.0.0.1 2>&1) && break
done
echo "$cout" | grep -q 'bytes in' || { echo "$cout"; ct cat /tmp/pp-server.log; fail "ibv_rc_pingpong client"; }
for _ in $(seq 1 50); do
	ct grep -q 'bytes in' /tmp/pp-server.log && break
	sleep 0.2
done
ct grep -q 'bytes in' /tmp/pp-server.log || { ct cat /tmp/pp-server.log; fail "ibv_rc_pingpong server"; }
ok "ibv_rc_pingpong server and client as rbuser: $(echo "$cout" | grep 'bytes in' | head -n 1)"

# ---- reload applies an edited setting
pid1=$(ct systemctl show -p MainPID --value rdmabrokerd.service)
ct sed -i 's/^#qps = 1024$/qps = 77/' /etc/rdmabroker/rdmabrokerd.conf
ct grep -qx 'qps = 77' /etc/rdmabroker/rdmabrokerd.conf || fail "cannot edit the config"
ct systemctl reload rdmabrokerd.service || fail "systemctl reload rdmabrokerd"
lim=
for _ in $(seq 1 50); do
	lim=$(as_user rdmactl limits 2>&1)
	echo "$lim" | grep -qE '^ *qps +limit 77 ' && break
	sleep 0.1
done
echo "$lim" | grep -qE '^ *qps +limit 77 ' || { echo "$lim"; fail "reload did not apply qps = 77"; }
[ "$(ct systemctl show -p MainPID --value rdmabrokerd.service)" = "$pid1" ] || fail "reload restarted the daemon"
ok "systemctl reload applied qps = 77 (rdmactl limits), same PID $pid1"

# await_fatal LOG: an ibv_asyncwatch started by watch_client got
# IBV_EVENT_DEVICE_FATAL within 10 s.
watch_client() {
	ct rm -f "$1"
	ct sh -c "runuser -u rbuser -- rdmab-run ibv_asyncwatch -d rbsoft0 >$1 2>&1 &"
	for _ in $(seq 1 50); do
		ct grep -q 'async event FD' "$1" && return 0
		sleep 0.1
	done
	ct cat "$1"; fail "ibv_asyncwatch did not start"
}
await_fatal() {
	for _ in $(seq 1 100); do
		ct grep -q 'IBV_EVENT_DEVICE_FATAL' "$1" && return 0
		sleep 0.1
	done
	ct cat "$1"; fail "the client got no IBV_EVENT_DEVICE_FATAL"
}

# ---- upgrade: keeps the edited conffile, restarts the daemon cleanly
watch_client /tmp/aw-upgrade.log
ct dpkg -i /root/debs/upgrade.deb >"$tmp/upgrade.log" 2>&1 || { cat "$tmp/upgrade.log"; fail "dpkg -i of $ver+upgrade1"; }
[ "$(ct dpkg-query -W -f '${Version}' rdmabroker)" = "$ver+upgrade1" ] || fail "the upgrade did not install"
ct grep -qx 'qps = 77' /etc/rdmabroker/rdmabrokerd.conf || fail "the upgrade lost the edited conffile"
pid2=$(ct systemctl show -p MainPID --value rdmabrokerd.service)
[ "$(ct systemctl is-active rdmabrokerd.service)" = active ] || fail "rdmabrokerd not running after the upgrade"
[ "$pid2" != "$pid1" ] && [ "$pid2" != 0 ] || fail "the upgrade did not restart rdmabrokerd (PID $pid1 -> $pid2)"
await_fatal /tmp/aw-upgrade.log
ct journalctl --no-pager -o cat _PID="$pid1" | grep -q 'stopping, [0-9]* clients' ||
	fail "the old daemon logged no clean stop"
[ "$(ct systemctl show -p NRestarts --value rdmabrokerd.service)" = 0 ] || fail "the restart was a failure restart"
ct pkill -x ibv_asyncwatch
lim=$(as_user rdmactl limits 2>&1)
echo "$lim" | grep -qE '^ *qps +limit 77 ' || { echo "$lim"; fail "the new daemon does not read the kept conffile"; }
ok "upgrade to $ver+upgrade1: conffile kept, PID $pid1 -> $pid2 stopped cleanly, the client got IBV_EVENT_DEVICE_FATAL"

# ---- the watchdog restarts a stopped daemon
ct mkdir -p /etc/systemd/system/rdmabrokerd.service.d
ct sh -c 'printf "[Service]\nWatchdogSec=2s\nTimeoutAbortSec=3s\nRestartSec=500ms\n" >/etc/systemd/system/rdmabrokerd.service.d/test-watchdog.conf'
ct systemctl daemon-reload
ct systemctl restart rdmabrokerd.service || fail "restart with the watchdog drop-in"
pid3=$(ct systemctl show -p MainPID --value rdmabrokerd.service)
ct kill -STOP "$pid3"
pid4=$pid3
for _ in $(seq 1 150); do
	pid4=$(ct systemctl show -p MainPID --value rdmabrokerd.service)
	[ "$pid4" != "$pid3" ] && [ "$pid4" != 0 ] &&
		[ "$(ct systemctl is-active rdmabrokerd.service)" = active ] && break
	sleep 0.2
done
[ "$pid4" != "$pid3" ] && [ "$pid4" != 0 ] || fail "the watchdog did not restart the stopped daemon (PID $pid3)"
ct journalctl --no-pager -u rdmabrokerd.service | grep -q 'Watchdog timeout' || fail "no 'Watchdog timeout' in the journal"
n=$(ct systemctl show -p NRestarts --value rdmabrokerd.service)
[ "$n" -ge 1 ] || fail "NRestarts is $n after the watchdog"
ok "the watchdog restarted the SIGSTOPped daemon: PID $pid3 -> $pid4, NRestarts=$n"
ct rm -f /etc/systemd/system/rdmabrokerd.service.d/test-watchdog.conf
ct systemctl daemon-reload

# ---- stop: clean, and clients get DEVICE_FATAL
ct systemctl restart rdmabrokerd.service
watch_client /tmp/aw-stop.log
pid5=$(ct systemctl show -p MainPID --value rdmabrokerd.service)
ct systemctl stop rdmabrokerd.service 2>/dev/null || fail "systemctl stop rdmabrokerd"
await_fatal /tmp/aw-stop.log
ct pkill -x ibv_asyncwatch
[ "$(ct systemctl show -p Result --value rdmabrokerd.service)" = success ] || fail "stop: Result is not success"
[ "$(ct systemctl show -p ExecMainStatus --value rdmabrokerd.service)" = 0 ] || fail "stop: the daemon did not exit 0"
ct journalctl --no-pager -o cat _PID="$pid5" | grep -q 'stopping, 1 clients' || fail "the daemon logged no stop with its client"
ok "systemctl stop: exit 0, the connected client got IBV_EVENT_DEVICE_FATAL"

# ---- hardening, rated by the container's own systemd
ct systemctl start rdmabrokerd.service
sec=$(ct systemd-analyze security --no-pager rdmabrokerd.service 2>&1)
score=$(echo "$sec" | sed -n 's/.*Overall exposure level for rdmabrokerd.service: \([0-9.]*\).*/\1/p')
[ -n "$score" ] || { echo "$sec"; fail "no exposure level from systemd-analyze security"; }
awk -v s="$score" 'BEGIN { exit !(s <= 2.0) }' || { echo "$sec" | grep '✗'; fail "exposure $score > 2.0"; }
ok "systemd-analyze security rdmabrokerd.service: $score (at most 2.0)"

# ---- the journal has the daemon's priorities
j5=$(ct journalctl --no-pager -o cat -u rdmabrokerd.service -p notice)
j6=$(ct journalctl --no-pager -o cat -u rdmabrokerd.service -p info)
echo "$j5" | grep -q 'ready: 1 device' || fail "'ready' (notice) missing from journalctl -p notice"
echo "$j5" | grep -q 'device rbsoft0 (soft)' && fail "an info line shows under journalctl -p notice"
echo "$j6" | grep -q 'device rbsoft0 (soft)' || fail "'device rbsoft0' (info) missing from journalctl -p info"
pr=$(ct journalctl --no-pager -o verbose -u rdmabrokerd.service -g 'ready: 1 device' -n 1 | sed -n 's/^ *PRIORITY=//p')
[ "$pr" = 5 ] || fail "the 'ready' line has PRIORITY=$pr, not 5 (notice)"
ok "journal priorities: notice lines at PRIORITY=5, info lines only from -p info"

# ---- remove and purge
ct dpkg -r rdmabroker >/dev/null 2>&1 || fail "dpkg -r rdmabroker"
[ "$(ct systemctl is-active rdmabrokerd.socket)" != active ] || fail "rdmabrokerd.socket still active after removal"
[ "$(ct systemctl is-active rdmabrokerd.service)" != active ] || fail "rdmabrokerd.service still active after removal"
ct test -e /run/rdmabroker/rdmabrokerd.sock && fail "the socket file is left after removal"
ct test -f /etc/rdmabroker/rdmabrokerd.conf || fail "dpkg -r removed the conffile"
ct dpkg -P rdmabroker >/dev/null 2>&1 || fail "dpkg -P rdmabroker"
ct test -e /etc/rdmabroker/rdmabrokerd.conf && fail "purge left the conffile"
ok "dpkg -r stopped socket and service and kept the conffile; purge removed it"

say "PASS ($(( $(date +%s) - t0 )) s from boot)"
exit 0
