#!/bin/sh
# Isolation between users and PDs (tests/lib/ident-client.c): a client run as
# one user names another user's PD, CQ, QP, SRQ, AH and MR handles in every
# request that takes one and is told they do not exist; it uses the other's
# lkey and rkey and gets the protection errors a NIC gives; the victim's
# memory and objects are untouched.  Pairs: root/nobody, nobody/root and
# nobody/nobody.  Within one client, keys of one PD are refused to another.
. "$top_srcdir/tests/lib/lib.sh"
. "$top_srcdir/tests/lib/ident-lib.sh"

CLIENT="$top_builddir/tests/lib/ident-client"
# As root first: a libtool wrapper finishes its work where root may write.
"$CLIENT" > /dev/null 2>&1
[ $? -eq 99 ] || rb_fail "ident-client without arguments should exit 99"

rb_daemon_start

# objects_of PID: how many objects root sees PID holding.
objects_of() {
	"$RB_RDMACTL" -j res show pid "$1" |
		python3 -c 'import json, sys; print(len(json.load(sys.stdin)))'
}

# run_case VICTIM_AS ATTACKER_AS ("root" or "nobody")
run_case() {
	v_as=; a_as=
	[ "$1" = nobody ] && v_as=$AS_NOBODY
	[ "$2" = nobody ] && a_as=$AS_NOBODY
	rm -f "$RB_TMP/v.in" "$RB_TMP/v.out"
	mkfifo "$RB_TMP/v.in" "$RB_TMP/v.out"
	$v_as "$CLIENT" victim < "$RB_TMP/v.in" > "$RB_TMP/v.out" 2> "$RB_TMP/v.err" &
	vpid=$!
	ident_bg "$vpid"
	exec 3> "$RB_TMP/v.in"
	read -r line < "$RB_TMP/v.out"
	case "$line" in
	pd=*) ;;
	*) exec 3>&-; wait "$vpid"
	   rb_fail "victim ($1) did not start: $(cat "$RB_TMP/v.err")" ;;
	esac
	before=$(objects_of "$vpid")
	[ "$before" -ge 7 ] || rb_fail "victim ($1) holds $before objects, want >= 7"
	if [ "$2" = nobody ] && [ "$1" = root ]; then
		seen=$(as_nobody "$RB_RDMACTL" -j res show pid "$vpid")
		[ "$seen" = "[]" ] || rb_fail "nobody sees root's objects: $seen"
	fi
	# shellcheck disable=SC2086 # the victim's line is the arguments
	$a_as "$CLIENT" attack $line 2> "$RB_TMP/a.err"
	rc=$?
	cat "$RB_TMP/a.err" >&2
	after=$(objects_of "$vpid")
	echo go >&3
	exec 3>&-
	wait "$vpid"; vrc=$?
	cat "$RB_TMP/v.err" >&2
	[ "$rc" -eq 0 ] || rb_fail "$2 attacking $1: an attempt was not refused"
	[ "$vrc" -eq 0 ] || rb_fail "$1's objects or memory suffered from $2"
	[ "$after" = "$before" ] ||
		rb_fail "$1 held $before objects before $2's attempts, $after after"
	echo "ok: $2 could not touch $1's objects or memory"
}

run_case root nobody
run_case nobody root
run_case nobody nobody

as_nobody "$CLIENT" pds || rb_fail "keys of one PD reached another's QPs"

rb_daemon_alive || rb_fail "the daemon died"
left=$("$RB_RDMACTL" -j res show | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
[ "$left" = 0 ] || rb_fail "the daemon still holds $left objects"
grep -q 'no pd with handle' "$RB_LOG" || rb_fail "refusals not logged"
rb_daemon_stop
rb_pass
