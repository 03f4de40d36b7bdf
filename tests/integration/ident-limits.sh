#!/bin/sh
# Per-user limits count per uid: nobody (with [limits nobody] pds = 2,
# connections = 2) hits its own limits, summed over its connections, while
# root's clients keep the [limits] values (pds = 4) whatever nobody holds;
# what nobody frees it may take again.
. "$top_srcdir/tests/lib/lib.sh"
. "$top_srcdir/tests/lib/ident-lib.sh"

PD="$top_builddir/tests/integration/pd"
"$PD" hold 0 < /dev/null > /dev/null 2>&1 &	# a libtool wrapper's first run as root
pid=$!; ident_bg "$pid"; sleep 0.5; kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null
printf '[daemon]\nlog_level = debug\n[limits]\npds = 4\n[limits nobody]\npds = 2\nconnections = 2\n' > "$RB_CONF"
rb_daemon_start

# hold_as WHO N: a client-pd holding N PDs as WHO (root or nobody), pid in HELD.
hold_as() {
	w=; [ "$1" = nobody ] && w=$AS_NOBODY
	rm -f "$RB_TMP/h.out"; mkfifo "$RB_TMP/h.out"
	$w "$PD" hold "$2" > "$RB_TMP/h.out" 2> "$RB_TMP/h.err" &
	HELD=$!
	ident_bg "$HELD"
	read -r l < "$RB_TMP/h.out"
	[ "$l" = ready ] || rb_fail "$1 could not hold $2 PDs: $(cat "$RB_TMP/h.err")"
}
# refuse_as WHO N AT: WHO cannot hold N PDs; the PD numbered AT (from 0) fails.
refuse_as() {
	w=; [ "$1" = nobody ] && w=$AS_NOBODY
	$w "$PD" hold "$2" < /dev/null > /dev/null 2> "$RB_TMP/err" &&
		rb_fail "$1 held $2 PDs"
	grep -q "PD $3: Disk quota exceeded" "$RB_TMP/err" ||
		rb_fail "$1 holding $2: $(cat "$RB_TMP/err")"
}
used() {	# used UID NAME
	"$RB_RDMACTL" -j limits uid "$1" | python3 -c "
import json, sys
r = {x['name']: x for x in json.load(sys.stdin)['limits']}['$2']
print(r['used'], r['limit'])"
}

refuse_as nobody 3 2
refuse_as root 5 4
grep -q "uid $NOBODY): pds limit 2" "$RB_LOG" || rb_fail "nobody's refusal not logged"
hold_as nobody 2; N1=$HELD
refuse_as nobody 1 0		# the limit is the uid's, over its connections
[ "$(used "$NOBODY" pds)" = "2 2" ] || rb_fail "nobody's pds: $(used "$NOBODY" pds)"
hold_as root 4; R1=$HELD	# root keeps its own 4
[ "$(used 0 pds)" = "4 4" ] || rb_fail "root's pds: $(used 0 pds)"
[ "$(used "$NOBODY" pds)" = "2 2" ] || rb_fail "root's PDs were charged to nobody"
echo "ok: pds counted per uid"

# Connections: nobody's second is its last; root connects at will.
hold_as nobody 0; N2=$HELD
as_nobody "$RB_RDMACTL" limits > /dev/null 2> "$RB_TMP/err" &&
	rb_fail "nobody opened a third connection under a limit of 2"
grep -q "limit reached: connections (2) for uid $NOBODY" "$RB_TMP/err" ||
	rb_fail "nobody's third connection: $(cat "$RB_TMP/err")"
"$RB_RDMACTL" limits > /dev/null || rb_fail "root could not connect"
[ "$(used "$NOBODY" connections)" = "2 2" ] ||
	rb_fail "nobody's connections: $(used "$NOBODY" connections)"
echo "ok: connections counted per uid"

# What nobody's clients held comes back when they go.
kill "$N1" "$N2"; wait "$N1" "$N2" 2>/dev/null
for _ in $(seq 50); do
	[ "$(used "$NOBODY" pds)" = "0 2" ] && break
	sleep 0.1
done
[ "$(used "$NOBODY" pds)" = "0 2" ] || rb_fail "nobody's PDs not released: $(used "$NOBODY" pds)"
hold_as nobody 2; N1=$HELD
kill "$N1" "$R1"; wait "$N1" "$R1" 2>/dev/null
rb_daemon_stop
rb_pass
