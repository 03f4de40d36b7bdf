#!/bin/sh
# The generated units pass systemd-analyze verify without a word about
# them, hold what the daemon relies on, and the example configuration
# loads and documents every key the parser knows.
. "$top_srcdir/tests/lib/lib.sh"

SERVICE="$top_builddir/systemd/rdmabrokerd.service"
SOCKET="$top_builddir/systemd/rdmabrokerd.socket"
EXAMPLE="$top_srcdir/systemd/rdmabrokerd.conf"
[ -f "$SERVICE" ] && [ -f "$SOCKET" ] || rb_fail "units not generated"

# ---- the example configuration (needs no systemd)
out=$("$RB_DAEMON" -t -c "$EXAMPLE" 2>&1) || rb_fail "example config refused: $out"
[ "$out" = "$EXAMPLE: OK" ] || rb_fail "unexpected -t output: $out"
# Every key is there as "#key = default": uncommented, the file must still
# load (the defaults shown are valid values of known keys).
sed 's/^#\([a-z_]* =\)/\1/' "$EXAMPLE" > "$RB_TMP/uncommented.conf"
grep -q '^qps = ' "$RB_TMP/uncommented.conf" || rb_fail "uncommenting the example failed"
out=$("$RB_DAEMON" -t -c "$RB_TMP/uncommented.conf" 2>&1) ||
	rb_fail "example config with every key uncommented refused: $out"
# Every key the parser compares against (daemon/cfg.c) is in the example.
keys=$(sed -n 's/.*strcmp(key, "\([a-z_]*\)").*/\1/p; s/^\t\[RB_LIMIT_[A-Z_]*\] = "\([a-z_]*\)",$/\1/p' \
	"$top_srcdir/daemon/cfg.c" | sort -u)
[ "$(echo "$keys" | wc -w)" -ge 15 ] || rb_fail "could not read the keys from daemon/cfg.c: $keys"
for k in $keys; do
	grep -q "^#$k =" "$EXAMPLE" || rb_fail "key $k is missing from systemd/rdmabrokerd.conf"
done
echo "ok: example config has all $(echo "$keys" | wc -w) keys"

# ---- what the daemon relies on
grep -q '^Type=notify$' "$SERVICE" || rb_fail "service is not Type=notify"
grep -q '^WatchdogSec=' "$SERVICE" || rb_fail "service has no watchdog"
grep -q '^ExecReload=/bin/kill -HUP \$MAINPID$' "$SERVICE" || rb_fail "reload is not SIGHUP"
# RuntimeDirectory= would delete the socket unit's socket at every stop.
grep -q '^RuntimeDirectory' "$SERVICE" && rb_fail "service sets RuntimeDirectory="
grep -q '^Requires=rdmabrokerd.socket$' "$SERVICE" || rb_fail "service does not require its socket"
listen=$(sed -n 's/^ListenSequentialPacket=//p' "$SOCKET")
[ -n "$listen" ] || rb_fail "socket unit has no ListenSequentialPacket="
rwpaths=$(sed -n 's/^ReadWritePaths=-\{0,1\}//p' "$SERVICE")
[ "$rwpaths" = "$(dirname "$listen")" ] ||
	rb_fail "ReadWritePaths=$rwpaths is not the socket's directory $(dirname "$listen")"
grep -n '@[a-zA-Z_]*@' "$SERVICE" "$SOCKET" >&2 && rb_fail "unsubstituted @variables@ in the units"

# ---- systemd-analyze verify
[ -n "${SYSTEMD_ANALYZE:-}" ] && [ -x "$SYSTEMD_ANALYZE" ] ||
	rb_skip "systemd-analyze not found by configure"
# verify wants ExecStart= to exist: point it at the build tree's daemon.
mkdir "$RB_TMP/units"
sed "s|^ExecStart=[^ ]*rdmabrokerd|ExecStart=$RB_DAEMON|" "$SERVICE" > "$RB_TMP/units/rdmabrokerd.service"
cp "$SOCKET" "$RB_TMP/units/rdmabrokerd.socket"
grep -q "^ExecStart=$RB_DAEMON\$" "$RB_TMP/units/rdmabrokerd.service" ||
	rb_fail "ExecStart= is not @sbindir@/rdmabrokerd"
# Documentation=man:... must resolve to our pages when man is installed.
manopt=--man=no
if command -v man >/dev/null 2>&1; then
	mkdir -p "$RB_TMP/man/man5" "$RB_TMP/man/man8"
	cp "$top_builddir/man/rdmabrokerd.8" "$RB_TMP/man/man8/"
	cp "$top_builddir/man/rdmabrokerd.conf.5" "$RB_TMP/man/man5/"
	MANPATH="$RB_TMP/man"; export MANPATH
	manopt=
fi
"$SYSTEMD_ANALYZE" verify $manopt "$RB_TMP/units/rdmabrokerd.service" \
	"$RB_TMP/units/rdmabrokerd.socket" > "$RB_TMP/verify.out" 2>&1
rc=$?
cat "$RB_TMP/verify.out"
if grep -q 'rdmabrokerd' "$RB_TMP/verify.out"; then
	rb_fail "systemd-analyze verify complains about the units"
fi
# Anything else (no systemd in a container, ...) is not about our units,
# but a non-zero status without a word about them still needs a look.
[ "$rc" -eq 0 ] || rb_fail "systemd-analyze verify exited $rc"
rb_pass
