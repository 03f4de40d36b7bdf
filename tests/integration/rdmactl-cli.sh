#!/bin/sh
# rdmactl's command line: help at every level, version, usage errors
# (exit 2), unique prefixes, a missing daemon (exit 1), and -s beating
# $RDMABROKER_SOCKET.
. "$top_srcdir/tests/lib/lib.sh"

RDMACTL=$RB_RDMACTL
VERSION=$(sed -n 's/^PACKAGE_VERSION = //p' "$top_builddir/Makefile")
OUT="$RB_TMP/out"
ERR="$RB_TMP/err"

# run_rc EXPECTED_RC ARGS...: run rdmactl, stdout in $OUT, stderr in $ERR,
# with $RUN_ENV (VAR=value) added to its environment.
RUN_ENV=
run_rc() {
	want=$1; shift
	env $RUN_ENV "$RDMACTL" "$@" >"$OUT" 2>"$ERR"
	rc=$?
	[ "$rc" -eq "$want" ] || {
		cat "$OUT" "$ERR" >&2
		rb_fail "rdmactl $* exited $rc, expected $want"
	}
}

# Help: exit 0, on stdout, naming every object and option.
for h in -h --help help he; do
	run_rc 0 $h
	for word in dev client status -j --json -p --pretty -s --socket \
		-d --details -V --version; do
		grep -q -e "$word" "$OUT" || rb_fail "'rdmactl $h' does not mention $word"
	done
	[ -s "$ERR" ] && rb_fail "'rdmactl $h' wrote to stderr"
done

run_rc 0 -V
[ "$(cat "$OUT")" = "rdmactl $VERSION" ] || rb_fail "-V printed '$(cat "$OUT")'"
run_rc 0 --version
grep -q "^rdmactl $VERSION\$" "$OUT" || rb_fail "--version printed '$(cat "$OUT")'"

# Usage errors: message naming the culprit, usage on stderr, exit 2.
run_rc 2 nosuchobject
grep -q 'unknown object "nosuchobject"' "$ERR" || rb_fail "unknown object not named"
grep -q '^Usage: rdmactl' "$ERR" || rb_fail "no usage after an unknown object"
[ -s "$OUT" ] && rb_fail "usage error wrote to stdout"
run_rc 2
grep -q '^Usage: rdmactl' "$ERR" || rb_fail "no usage without an object"
run_rc 2 -x dev
grep -q '"-x"' "$ERR" || rb_fail "unknown option not named"
run_rc 2 -s
run_rc 2 dev frobnicate
grep -q 'unknown dev command "frobnicate"' "$ERR" || rb_fail "unknown dev command not named"
grep -q '^Usage: rdmactl \[OPTIONS\] dev' "$ERR" || rb_fail "no dev usage after a bad dev command"
run_rc 2 client show pid notanumber
grep -q 'invalid pid "notanumber"' "$ERR" || rb_fail "bad pid not named"
run_rc 2 client show uid 0
run_rc 2 status show extra
run_rc 2 dev show a b

# Per-object help, full and abbreviated, needs no daemon.
for obj in dev client status; do
	run_rc 0 $obj help
	grep -q "^Usage: rdmactl \[OPTIONS\] $obj" "$OUT" || rb_fail "'$obj help' has no $obj usage"
	cp "$OUT" "$RB_TMP/help.full"
	run_rc 0 $(echo $obj | cut -c1-2) h
	cmp -s "$OUT" "$RB_TMP/help.full" || rb_fail "'$obj help' and its abbreviation differ"
done
run_rc 0 d help
grep -q 'show \[NAME\]' "$OUT" || rb_fail "dev help does not show 'show [NAME]'"

# No daemon: exit 1 naming the socket.
run_rc 1 -s "$RB_TMP/nodaemon.sock" dev
grep -q "^rdmactl: cannot connect to $RB_TMP/nodaemon.sock: " "$ERR" ||
	rb_fail "no 'cannot connect' message: $(cat "$ERR")"
RUN_ENV="RDMABROKER_SOCKET=$RB_TMP/fromenv.sock"
run_rc 1 status
RUN_ENV=
grep -q "cannot connect to $RB_TMP/fromenv.sock: " "$ERR" ||
	rb_fail "\$RDMABROKER_SOCKET not used: $(cat "$ERR")"

rb_daemon_start
# rb_daemon_start exported RDMABROKER_SOCKET=$RB_SOCK.
run_rc 0 status
grep -q "^socket  *$RB_SOCK\$" "$OUT" || rb_fail "status does not name $RB_SOCK"
# -s beats the environment, both ways.
run_rc 1 -s "$RB_TMP/nodaemon.sock" status
grep -q "cannot connect to $RB_TMP/nodaemon.sock" "$ERR" || rb_fail "-s did not beat \$RDMABROKER_SOCKET"
RUN_ENV="RDMABROKER_SOCKET=$RB_TMP/nodaemon.sock"
run_rc 0 -s "$RB_SOCK" status
run_rc 0 --socket="$RB_SOCK" status
RUN_ENV=

# Prefixes give the same output as the full form.  Text output carries
# times and client ids, so compare the JSON of `dev` and the text of the
# stable part of `status`.
run_rc 0 -j dev show
cp "$OUT" "$RB_TMP/dev.full"
grep -q rbsoft0 "$RB_TMP/dev.full" || rb_fail "no rbsoft0 in 'dev show'"
for form in "d" "de" "dev" "d s" "dev sh"; do
	run_rc 0 -j $form
	cmp -s "$OUT" "$RB_TMP/dev.full" || rb_fail "'rdmactl -j $form' differs from 'dev show'"
done
run_rc 0 status show
grep -v '^uptime\|^clients' "$OUT" > "$RB_TMP/status.full"
for form in "st" "statu" "st s"; do	# "stat" is rdmactl stat (issue 14)
	run_rc 0 $form
	grep -v '^uptime\|^clients' "$OUT" > "$RB_TMP/status.abbr"
	cmp -s "$RB_TMP/status.abbr" "$RB_TMP/status.full" ||
		rb_fail "'rdmactl $form' differs from 'status show'"
done
run_rc 0 c
grep -q '^client [0-9]* pid [0-9]* uid ' "$OUT" || rb_fail "'rdmactl c' is not 'client': $(cat "$OUT")"

rb_daemon_stop
rb_pass
