#!/bin/sh
# rdmabrokerd.service is hardened as docs/SECURITY.md says: no capability,
# a system call filter that still admits every call the daemon makes, no
# devices, no IP, a read-only system; and `systemd-analyze security` rates
# it at most 2.0 (it was 6.3 before).
. "$top_srcdir/tests/lib/lib.sh"

SERVICE="$top_builddir/systemd/rdmabrokerd.service"
[ -f "$SERVICE" ] || rb_fail "unit not generated"

# ---- the directives (needs no systemd)
for d in 'CapabilityBoundingSet=' 'NoNewPrivileges=yes' \
	'ProtectSystem=strict' 'ProtectHome=yes' 'PrivateTmp=yes' \
	'PrivateDevices=yes' 'PrivateMounts=yes' 'PrivateIPC=yes' \
	'ProtectKernelTunables=yes' 'ProtectKernelModules=yes' \
	'ProtectKernelLogs=yes' 'ProtectControlGroups=yes' 'ProtectClock=yes' \
	'ProtectHostname=yes' 'ProcSubset=pid' \
	'RestrictAddressFamilies=AF_UNIX AF_NETLINK' 'IPAddressDeny=any' \
	'RestrictNamespaces=yes' 'RestrictSUIDSGID=yes' 'RestrictRealtime=yes' \
	'LockPersonality=yes' 'MemoryDenyWriteExecute=yes' \
	'SystemCallArchitectures=native' 'SystemCallFilter=@system-service' \
	'SystemCallFilter=~@privileged @resources' 'SystemCallErrorNumber=EPERM' \
	'UMask=0077'; do
	grep -qx -- "$d" "$SERVICE" || rb_fail "rdmabrokerd.service lacks $d"
done
# No ambient capabilities or user switch by default: root, without any
# capability (CapabilityBoundingSet= empty, and no other such line).
[ "$(grep -c '^CapabilityBoundingSet=' "$SERVICE")" = 1 ] || rb_fail "more than one CapabilityBoundingSet="
grep -q '^AmbientCapabilities=' "$SERVICE" && rb_fail "AmbientCapabilities= in the default unit"
grep -q '^User=' "$SERVICE" && rb_fail "User= in the default unit (see docs/SECURITY.md)"
echo "ok: hardening directives present"

[ -n "${SYSTEMD_ANALYZE:-}" ] && [ -x "$SYSTEMD_ANALYZE" ] ||
	rb_skip "systemd-analyze not found by configure"

# ---- the filter admits what the daemon calls
# Calls of the daemon's own code that are easy to forget, and those a run
# of the daemon makes (strace of the test suite, 2026-11): all must be in
# @system-service and none in @privileged or @resources.
used="pread64 pwrite64 fstatfs readlink memfd_create getrandom eventfd2
accept4 sendmsg recvmsg socketpair shutdown sendto getsockopt getsockname
epoll_create1 epoll_ctl epoll_wait mmap munmap mprotect ftruncate fcntl
openat read write pread64 close newfstatat mkdir bind listen chmod umask
socket sched_yield prctl prlimit64 pipe2 ioctl getuid geteuid getgid
getegid rt_sigaction brk"
# Every call named in the daemon's sources that the list must cover.
for f in pread pwrite fstatfs readlink memfd_create getrandom sched_yield; do
	grep -rqw "$f" "$top_srcdir/daemon" "$top_srcdir/drivers" ||
		rb_fail "$f no longer in the daemon: update this test"
done
expand() {	# the calls of the groups named, recursively
	"$SYSTEMD_ANALYZE" syscall-filter "$@" 2>/dev/null | sed 's/^ *//' |
		grep -v '^#' | grep -v '^$' | while read -r w; do
		case "$w" in
		@*) [ "$w" = "$1" ] || expand "$w" ;;
		*) echo "$w" ;;
		esac
	done
}
expand @system-service | sort -u > "$RB_TMP/allow"
{ expand @privileged; expand @resources; } | sort -u > "$RB_TMP/deny"
[ "$(wc -l < "$RB_TMP/allow")" -gt 100 ] || rb_fail "cannot read @system-service"
for s in $used; do
	grep -qx "$s" "$RB_TMP/allow" || rb_fail "$s is not in @system-service"
	grep -qx "$s" "$RB_TMP/deny" && rb_fail "$s is in @privileged or @resources"
done
echo "ok: the system call filter admits the daemon's calls"

# ---- the exposure rating
"$SYSTEMD_ANALYZE" security --help 2>&1 | grep -q -- --offline ||
	rb_skip "this systemd-analyze has no security --offline"
mkdir "$RB_TMP/units"
sed "s|^ExecStart=[^ ]*rdmabrokerd|ExecStart=$RB_DAEMON|" "$SERVICE" > "$RB_TMP/units/rdmabrokerd.service"
cp "$top_builddir/systemd/rdmabrokerd.socket" "$RB_TMP/units/"
"$SYSTEMD_ANALYZE" security --offline=yes --threshold=20 \
	"$RB_TMP/units/rdmabrokerd.service" > "$RB_TMP/sec.out" 2>&1
grep '✗' "$RB_TMP/sec.out"
score=$(sed -n 's/.*Overall exposure level for rdmabrokerd.service: \([0-9.]*\).*/\1/p' "$RB_TMP/sec.out")
[ -n "$score" ] || { cat "$RB_TMP/sec.out"; rb_fail "no exposure level"; }
echo "exposure level: $score"
awk -v s="$score" 'BEGIN { exit !(s <= 2.0) }' || rb_fail "exposure $score > 2.0"
rb_pass
