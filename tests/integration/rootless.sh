#!/bin/sh
# Unprivileged ("rootless") containers need only the broker's socket.
#
# An unprivileged user the test creates (rbrootlessPID) starts containers with
# `unshare --user --map-root-user --mount --pid --fork`: their own user,
# mount and PID namespaces, root inside mapped to rbrootless outside, a
# root file system of their own (a tmpfs with /usr and /etc bound
# read-only, a minimal /dev without /dev/infiniband, their own /proc), no
# capability at all (empty bounding and inheritable sets) and
# RLIMIT_MEMLOCK at 64 KiB.  Into them go only the daemon's socket (its
# directory, bound read-only at /run/rdmabroker, so the library finds it at
# the default path) and the broker's library and rdmab-run, read-only.  The two containers share one network
# namespace the test made (only loopback in it), so that ibv_rc_pingpong
# can exchange its QP numbers over TCP.  Checked:
#   - inside: CapEff/CapBnd 0, memlock 64 KiB, no /dev/infiniband;
#   - an unmodified ibv_rc_pingpong between the two containers;
#   - a 1 GiB ibv_reg_mr succeeds (tests/integration/rootless-regmr, plain -libverbs);
#   - the daemon sees rbrootless's real uid (rdmactl -j client) and applies
#     rbrootless's own limits ([limits UID] mrs = 3: the third extra MR is
#     refused and logged with that uid).
. "$top_srcdir/tests/lib/lib.sh"

[ "$(id -u)" -eq 0 ] || rb_skip "needs root to create the test user and the network namespace"
for t in unshare nsenter setpriv prlimit useradd userdel pivot_root ip; do
	command -v "$t" >/dev/null 2>&1 || rb_skip "$t not installed"
done
command -v ibv_rc_pingpong >/dev/null 2>&1 || rb_skip "ibv_rc_pingpong not installed (ibverbs-utils)"
REGMR="$top_builddir/tests/integration/rootless-regmr"
[ -x "$REGMR" ] || rb_fail "$REGMR not built"
unshare --user --map-root-user true 2>/dev/null ||
	rb_skip "user namespaces are not available here (kernel.unprivileged_userns_clone?)"

# ---- the user, created here and removed again
# (one per run, so that runs on one machine do not share it; the comment
# marks it as the test's).
USER_NAME=rbrootless$$
USER_MARK='rdmabroker tests/integration/rootless.sh'
if ! id -u "$USER_NAME" >/dev/null 2>&1; then
	useradd --system --no-create-home --home-dir /nonexistent \
		--comment "$USER_MARK" --shell /usr/sbin/nologin "$USER_NAME" ||
		rb_fail "useradd $USER_NAME"
fi
[ "$(getent passwd "$USER_NAME" | cut -d: -f5)" = "$USER_MARK" ] ||
	rb_skip "a user $USER_NAME exists that this run did not create"
U=$(id -u "$USER_NAME")
G=$(id -g "$USER_NAME")
NETNS_PID=
FIFO_HOLD=
PIDS=
rootless_cleanup() {
	[ -n "$FIFO_HOLD" ] && kill "$FIFO_HOLD" 2>/dev/null
	for p in $PIDS; do kill -KILL "$p" 2>/dev/null; done
	[ -n "$NETNS_PID" ] && kill -KILL "$NETNS_PID" 2>/dev/null
	userdel -f "$USER_NAME" 2>/dev/null
	rb_cleanup
}
trap rootless_cleanup EXIT
trap 'exit 1' INT TERM
AS_USER="setpriv --reuid=$U --regid=$G --clear-groups"
unshare --user --map-root-user true 2>/dev/null &&
	$AS_USER unshare --user --map-root-user true 2>/dev/null ||
	rb_skip "$USER_NAME may not create a user namespace here"

# ---- the broker's files, where the user can read them (the build tree
# may be under /root), and the daemon with a limit for that uid
chmod 755 "$RB_TMP"
B="$RB_TMP/broker"
mkdir -p "$B/compat"
cp "$top_builddir/libclient/.libs/librdmabroker.so.1" "$B/" || rb_fail "no librdmabroker.so.1"
ln -s ../librdmabroker.so.1 "$B/compat/libibverbs.so.1"
cp "$top_builddir/libclient/rdmab-run" "$REGMR" "$B/"
chmod -R a+rX "$B"
printf '[daemon]\nlog_level = debug\n[limits %s]\nmrs = 3\n' "$U" > "$RB_CONF"
# The socket's own directory goes into the containers, read-only, as
# docs/containers.md says to do with /run/rdmabroker.
RUNDIR="$RB_TMP/run"
mkdir -m 755 "$RUNDIR"
RB_SOCK="$RUNDIR/rdmabrokerd.sock"
rb_daemon_start
chmod 666 "$RB_SOCK"

# In an ASan/UBSan build our library needs the sanitizer runtimes first.
PRE=
if [ "${RB_SANITIZERS:-no}" = yes ]; then
	PRE="env LD_PRELOAD=$(${CC:-cc} -print-file-name=libasan.so):$(${CC:-cc} -print-file-name=libubsan.so) ASAN_OPTIONS=detect_leaks=0"
fi

# ---- the network namespace the pair shares: loopback only
unshare --net sh -c 'ip link set lo up && exec sleep 600' &
NETNS_PID=$!
up=
for _ in $(seq 1 50); do
	nsenter --net=/proc/$NETNS_PID/ns/net ip -br link show lo 2>/dev/null | grep -q UP && { up=1; break; }
	sleep 0.1
done
[ -n "$up" ] || rb_fail "loopback is not up in the test's network namespace"

# ---- the container: init script run as root of the new user namespace
cat > "$B/ct-init" <<'EOS'
#!/bin/sh
# ct-init RUNDIR BROKERDIR CMD...: build a root in a tmpfs, pivot into it, drop
# every capability, lower RLIMIT_MEMLOCK to 64 KiB and run CMD.
set -eu
rundir=$1; broker=$2; shift 2
r=$(mktemp -d /tmp/rbct.XXXXXX)
mount -t tmpfs -o mode=0755 tmpfs "$r"
mkdir -p "$r/usr" "$r/etc" "$r/proc" "$r/dev" "$r/tmp" "$r/run/rdmabroker" "$r/opt/rdmabroker"
for d in usr etc; do
	mount --rbind "/$d" "$r/$d"
	mount -o remount,bind,ro "$r/$d"
done
for l in bin sbin lib lib64; do ln -s "usr/$l" "$r/$l"; done
for n in null zero random urandom; do
	touch "$r/dev/$n"
	mount --bind "/dev/$n" "$r/dev/$n"
done
mount -t tmpfs -o mode=1777 tmpfs "$r/tmp"
mount -t proc proc "$r/proc"
mount --bind "$rundir" "$r/run/rdmabroker"
mount -o remount,bind,ro "$r/run/rdmabroker"
mount --bind "$broker" "$r/opt/rdmabroker"
mount -o remount,bind,ro "$r/opt/rdmabroker"
# pivot_root, not chroot, as container runtimes do: the old root is gone
# from the namespace, and the daemon sees the container's /proc as /proc.
mkdir "$r/.oldroot"
cd "$r"
pivot_root . .oldroot
umount -l /.oldroot
rmdir /.oldroot
cd /
exec /usr/bin/env -i PATH=/usr/bin:/usr/sbin HOME=/ \
	prlimit --memlock=65536:65536 \
	setpriv --bounding-set=-all --inh-caps=-all --ambient-caps=-all -- "$@"
EOS
chmod 755 "$B/ct-init"
# ct CMD...: run CMD in a new container of the user (its stdin is ours).
ct() {
	nsenter --net=/proc/$NETNS_PID/ns/net -- $AS_USER -- \
		unshare --user --map-root-user --mount --pid --fork --kill-child -- \
		/bin/sh "$B/ct-init" "$RUNDIR" "$B" "$@"
}
RUN="$PRE /opt/rdmabroker/rdmab-run -L /opt/rdmabroker/compat"

# ---- what a container is
probe=$(ct /bin/sh -c 'grep -E "^Cap(Eff|Prm|Bnd)" /proc/self/status; echo "memlock $(ulimit -l)"; echo "uid $(id -u)"; ls /dev; ls /dev/infiniband 2>&1; echo "pid1 $(cat /proc/1/comm)"; ls -l /run/rdmabroker; ls -a /') ||
	{ echo "$probe"; rb_fail "the container did not start"; }
echo "$probe"
echo "$probe" | grep -q '^CapEff:	0000000000000000$' || rb_fail "capabilities left in the container"
echo "$probe" | grep -q '^CapBnd:	0000000000000000$' || rb_fail "a bounding set left in the container"
echo "$probe" | grep -qx 'memlock 64' || rb_fail "RLIMIT_MEMLOCK is not 64 KiB in the container"
echo "$probe" | grep -q 'infiniband.*No such file' || rb_fail "/dev/infiniband in the container"
echo "$probe" | grep -qx 'uid 0' || rb_fail "not root of its user namespace"
echo "$probe" | grep -qx 'pid1 sh' || rb_fail "no PID namespace of its own"
echo "ok: no capability, memlock 64 KiB, no /dev/infiniband, uid 0 inside = $USER_NAME ($U) outside"

# ---- ibv_rc_pingpong between two containers
# The pair's network namespace is the test's own: the default port is free.
port=18515
ct $RUN ibv_rc_pingpong -d rbsoft0 -g 0 -p "$port" -n 500 > "$RB_TMP/pp-server" 2>&1 &
PIDS="$PIDS $!"
ok=
for _ in $(seq 1 50); do
	sleep 0.2
	if ct $RUN ibv_rc_pingpong -d rbsoft0 -g 0 -p "$port" -n 500 127.0.0.1 > "$RB_TMP/pp-client" 2>&1; then
		ok=1; break
	fi
done
[ -n "$ok" ] || { cat "$RB_TMP/pp-client" "$RB_TMP/pp-server"; rb_fail "ibv_rc_pingpong client in a container"; }
wait $PIDS || { cat "$RB_TMP/pp-server"; rb_fail "ibv_rc_pingpong server in a container"; }
PIDS=
grep 'bytes in' "$RB_TMP/pp-client" || rb_fail "no result from the pingpong client"
grep -q 'bytes in' "$RB_TMP/pp-server" || rb_fail "no result from the pingpong server"
grep -q "uid $U gid $G comm ibv_rc_pingpong" "$RB_LOG" || rb_fail "the daemon did not log uid $U for the pingpong"
echo "ok: ibv_rc_pingpong between two rootless containers"

# ---- 1 GiB registered; the user's own limit applies
mkfifo "$RB_TMP/hold"
ct $RUN /opt/rdmabroker/rootless-regmr 1024 4 < "$RB_TMP/hold" > "$RB_TMP/regmr" 2>&1 &
REGMR_PID=$!
PIDS="$REGMR_PID"
exec 3>"$RB_TMP/hold"	# the program holds its MRs until this closes
for _ in $(seq 1 300); do
	grep -q '^ready' "$RB_TMP/regmr" && break
	kill -0 "$REGMR_PID" 2>/dev/null || break
	sleep 0.1
done
cat "$RB_TMP/regmr"
grep -q '^RLIMIT_MEMLOCK 65536$' "$RB_TMP/regmr" || rb_fail "the program did not run with memlock 64 KiB"
grep -q '^reg_mr 1024 MiB ok$' "$RB_TMP/regmr" || rb_fail "1 GiB ibv_reg_mr failed in the container"
grep -q '^ready' "$RB_TMP/regmr" || rb_fail "rootless-regmr did not get ready"
# mrs = 3 for this uid: the big MR and two small ones, the third refused.
grep -q '^extra mr 2 ok$' "$RB_TMP/regmr" || rb_fail "the second extra MR was refused"
grep -q '^extra mr 3 refused' "$RB_TMP/regmr" || rb_fail "the third extra MR was not refused ([limits $U] mrs = 3)"
grep -q "uid $U): mrs limit 3" "$RB_LOG" || rb_fail "the refusal was not logged for uid $U"
"$RB_RDMACTL" -j client > "$RB_TMP/clients.json" || rb_fail "rdmactl -j client"
python3 - "$RB_TMP/clients.json" "$U" <<'EOP' || rb_fail "rdmactl -j client does not show uid $U for rootless-regmr"
import json, sys
data = json.load(open(sys.argv[1]))
cl = data["clients"] if isinstance(data, dict) else data
hit = [c for c in cl if c.get("comm", "").startswith("rootless-regmr")]
print("rdmactl -j client:", [(c.get("pid"), c.get("uid"), c.get("comm")) for c in hit])
sys.exit(0 if hit and all(c.get("uid") == int(sys.argv[2]) for c in hit) else 1)
EOP
exec 3>&-
wait "$REGMR_PID" || rb_fail "rootless-regmr exited $?"
PIDS=
echo "ok: 1 GiB registered under memlock 64 KiB; the daemon saw uid $U and applied its limit"
rb_pass
