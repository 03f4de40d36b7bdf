#!/bin/sh
# Debian's perftest, unmodified, under rdmab-run on rbsoft0 (GID index 0,
# server and client on loopback): all eight tools over RC, the send and
# write tools over UC, the send tools over UD, -a (every size) for
# ib_write_bw and ib_send_lat, --use-srq and -q 4.  Each exits 0 with its
# result table.  Iteration counts are small: this checks that they run.
. "$top_srcdir/tests/lib/lib.sh"
. "$top_srcdir/tests/lib/stack-lib.sh"

command -v ib_send_lat >/dev/null 2>&1 || rb_skip "perftest not installed (Debian perftest)"
rb_daemon_start

# pt NAME TOOL ARGS...: one server/client pair, and the result table.
pt() {
	local name="$1" tool="$2"
	shift 2
	sp_pair "$name" "$tool -d rbsoft0 -x 0 -p @PORT@ $*" \
		"$tool -d rbsoft0 -x 0 -p @PORT@ $* 127.0.0.1"
	case $tool in
	*_lat) grep -Eq '^ *#bytes +#iterations +t_min' "$RB_TMP/$name.client" ;;
	*) grep -Eq '^ *#bytes +#iterations +BW peak' "$RB_TMP/$name.client" ;;
	esac || sp_fail "$name" "no result table"
	grep -Eq '^ *[0-9]+ +[0-9]+ +[0-9.]+' "$RB_TMP/$name.client" ||
		sp_fail "$name" "no result row"
	ran=$((ran + 1))
}

ran=0
t0=$(date +%s)
for tool in ib_send_lat ib_send_bw ib_write_lat ib_write_bw ib_read_lat \
	    ib_read_bw ib_atomic_lat ib_atomic_bw; do
	pt "$tool-rc" "$tool" -c RC -n 20
done
for tool in ib_send_lat ib_send_bw ib_write_lat ib_write_bw; do
	pt "$tool-uc" "$tool" -c UC -n 20
done
for tool in ib_send_lat ib_send_bw; do
	pt "$tool-ud" "$tool" -c UD -n 20
done
pt ib_write_bw-all ib_write_bw -a -n 5
pt ib_send_lat-all ib_send_lat -a -n 5
pt ib_send_bw-srq ib_send_bw --use-srq -n 20
pt ib_send_lat-srq ib_send_lat --use-srq -n 20
pt ib_write_bw-q4 ib_write_bw -q 4 -n 20
pt ib_send_bw-q4 ib_send_bw -q 4 -n 20
rb_log "$ran perftest pairs in $(( $(date +%s) - t0 )) s"
rb_daemon_alive || rb_fail "daemon died"
rb_daemon_stop
rb_pass
