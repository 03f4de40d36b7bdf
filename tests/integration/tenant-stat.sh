#!/bin/sh
# Per-tenant metrics (issue 14): an 8-byte and a 4 KiB ibv_rc_pingpong of
# another user (uid 4242) are counted exactly, per user and per cgroup,
# after the clients are gone; a live client shows per client with its
# cgroup (also in `rdmactl client`); a non-admin sees only its own; the
# Prometheus text is well formed.
. "$top_srcdir/tests/lib/lib.sh"
. "$top_srcdir/tests/lib/tenant-lib.sh"
. "$top_srcdir/tests/lib/ident-lib.sh"
. "$top_srcdir/tests/lib/pingpong-lib.sh"

command -v ibv_rc_pingpong >/dev/null || rb_skip "ibv_rc_pingpong (ibverbs-utils) not installed"
rb_daemon_start
cat > "$RB_TMP/as-other" <<EOS
#!/bin/sh
exec setpriv --reuid=4242 --regid=4242 --clear-groups "$RB_RUN" "\$@"
EOS
chmod 755 "$RB_TMP/as-other"
RB_RUN_SAVED=$RB_RUN
RB_RUN="$RB_TMP/as-other"
pp_run pp 100 ibv_rc_pingpong -s 4096
RB_RUN=$RB_RUN_SAVED

# Each side sends 100 WRs of 4096 bytes and receives 100.
for kv in wrs_sent=200 bytes_sent=819200 wrs_recv=200 bytes_recv=819200 completions=400 errors=0 objects=0 memory=0 throttled_ns=0; do
	v=$(stat_field user "${kv%%=*}" uid 4242)
	[ "$v" = "${kv#*=}" ] || rb_fail "user 4242: ${kv%%=*} is $v, want ${kv#*=}"
done
"$RB_RDMACTL" stat user uid 4242 >&2
cg=$(sed -n 's/^0:://p' /proc/self/cgroup)
"$RB_RDMACTL" -j stat cgroup | grep -qF "\"cgroup\":\"$cg\"" || rb_fail "no counters for cgroup $cg"

# A live client: its own row, with its cgroup, here and in rdmactl client.
mkfifo "$RB_TMP/hold"
$AS_NOBODY "$top_builddir/tests/lib/tenant" hold holder 1 <"$RB_TMP/hold" >"$RB_TMP/t.out" 2>&1 &
ident_bg $!
exec 7>"$RB_TMP/hold"
for _ in $(seq 1 50); do
	grep -q '^connected' "$RB_TMP/t.out" && break
	sleep 0.1
done
[ "$(stat_field client uid uid "$NOBODY")" = "$NOBODY" ] || rb_fail "no client row for the holder"
[ "$(stat_field client cgroup uid "$NOBODY")" = "$cg" ] || rb_fail "the holder's cgroup is not $cg"
"$RB_RDMACTL" client | grep -q "cgroup $cg" || rb_fail "rdmactl client does not show the cgroup"
# nobody sees itself, not uid 4242.
out=$($AS_NOBODY "$RB_RDMACTL" -j stat) || rb_fail "rdmactl stat as nobody failed"
echo "$out" | grep -q '"uid":4242' && rb_fail "nobody sees uid 4242's counters"
echo "$out" | grep -q "\"uid\":$NOBODY" || rb_fail "nobody does not see its own counters"
$AS_NOBODY "$RB_RDMACTL" stat uid 4242 2>/dev/null && rb_fail "nobody was shown uid 4242's counters"

# Prometheus: every sample is NAME{LABELS} VALUE after its HELP and TYPE.
"$RB_RDMACTL" stat -f prometheus > "$RB_TMP/prom" || rb_fail "stat -f prometheus failed"
python3 - "$RB_TMP/prom" <<'PY' || rb_fail "malformed Prometheus text"
import re, sys
typed = set()
sample = re.compile(r'^(rdmabroker_[a-z_]+)\{([a-z_]+="(\\.|[^"\\])*"(,[a-z_]+="(\\.|[^"\\])*")*)\} [0-9.]+$')
n = 0
for line in open(sys.argv[1]):
    line = line.rstrip("\n")
    if line.startswith("# TYPE "):
        name, kind = line.split()[2:4]
        assert kind in ("counter", "gauge"), line
        typed.add(name)
        continue
    if line.startswith("# HELP "):
        continue
    m = sample.match(line)
    assert m, line
    assert m.group(1) in typed, "no TYPE before " + line
    n += 1
assert n > 0
assert 'rdmabroker_user_wrs_sent_total{uid="4242"} 200' in open(sys.argv[1]).read()
PY
exec 7>&-
rb_daemon_stop
rb_pass
