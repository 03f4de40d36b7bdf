#!/bin/sh
# libfabric (Debian libfabric-bin), unmodified, under rdmab-run: fi_info
# -p verbs lists rbsoft0, and fi_pingpong -p verbs -e rdm (verbs;ofi_rxd
# over UD) runs between two processes on loopback.
. "$top_srcdir/tests/lib/lib.sh"
. "$top_srcdir/tests/lib/stack-lib.sh"

command -v fi_info >/dev/null 2>&1 || rb_skip "libfabric not installed (Debian libfabric-bin)"
rb_daemon_start
"$RB_RUN" fi_info -p verbs > "$RB_TMP/info" 2>&1 || rb_fail "fi_info -p verbs: $(tail "$RB_TMP/info")"
grep -Eq '^ *domain: rbsoft0' "$RB_TMP/info" || rb_fail "fi_info -p verbs lists no rbsoft0: $(cat "$RB_TMP/info")"
grep -Eq '^ *type: FI_EP_RDM' "$RB_TMP/info" || rb_fail "fi_info -p verbs lists no RDM endpoint"

sp_pair fi_pingpong "fi_pingpong -p verbs -e rdm -B @PORT@ -I 10" \
	"fi_pingpong -p verbs -e rdm -P @PORT@ -I 10 127.0.0.1"
grep -Eq '^1m +10 ' "$RB_TMP/fi_pingpong.client" ||
	sp_fail fi_pingpong "no result row for 1m"
rb_daemon_alive || rb_fail "daemon died"
rb_daemon_stop
rb_pass
