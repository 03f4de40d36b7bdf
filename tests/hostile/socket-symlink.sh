#!/bin/sh
# Socket mode and group go through the socket's own file (issue 14): on
# SIGHUP the daemon used to chmod the socket by its path, so a user who
# could write the socket's directory replaced the socket with a symlink
# to a root 0600 file and had it made 0666.
. "$top_srcdir/tests/lib/lib.sh"
. "$top_srcdir/tests/lib/ident-lib.sh"

dir="$RB_TMP/run"
mkdir "$dir" && chmod 777 "$dir"
RB_SOCK="$dir/rdmabrokerd.sock"
printf '[daemon]\nlog_level = debug\nsocket_mode = 0660\n' > "$RB_CONF"
secret="$RB_TMP/secret"
echo secret > "$secret" && chmod 600 "$secret"
rb_daemon_start
[ "$(stat -c %a "$RB_SOCK")" = 660 ] || rb_fail "socket mode $(stat -c %a "$RB_SOCK"), want 660"

# The user swaps the socket for a symlink to root's file, then a reload.
$AS_NOBODY sh -c "rm -f '$RB_SOCK' && ln -s '$secret' '$RB_SOCK'" ||
	rb_fail "nobody could not replace the socket"
sed -i 's/0660/0666/' "$RB_CONF"
kill -HUP "$RB_DAEMON_PID"
rb_wait_for_log "configuration reloaded" || rb_fail "no reload"
[ "$(stat -c %a "$secret")" = 600 ] ||
	rb_fail "the reload changed $secret through the symlink: mode $(stat -c %a "$secret")"
[ -L "$RB_SOCK" ] || rb_fail "the symlink went"
rb_daemon_stop
[ -L "$RB_SOCK" ] || rb_fail "the daemon removed the user's symlink at exit"

# A fresh socket is created with its mode from the start, and a reload
# still changes it (through the file held since bind).
rm -f "$RB_SOCK"
sed -i 's/0666/0640/' "$RB_CONF"
rb_daemon_start
[ "$(stat -c %a "$RB_SOCK")" = 640 ] || rb_fail "socket mode $(stat -c %a "$RB_SOCK"), want 640"
sed -i 's/0640/0666/' "$RB_CONF"
kill -HUP "$RB_DAEMON_PID"
for _ in $(seq 1 50); do
	[ "$(grep -c 'configuration reloaded' "$RB_LOG")" -ge 2 ] && break
	sleep 0.1
done
[ "$(stat -c %a "$RB_SOCK")" = 666 ] || rb_fail "reload left mode $(stat -c %a "$RB_SOCK"), want 666"
rb_daemon_stop
rb_pass
