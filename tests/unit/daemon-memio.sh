#!/bin/sh
# Issue 12's boundary check, literally: no source file of daemon/ moves
# a client's bytes through its /proc/PID/mem (CMA regions).  Those copies
# are drivers' common code (drivers/memio.c: only a device that copies
# can use such memory); the daemon starts memio's fork server and checks
# the mem file a client hands over, nothing more.  No daemon.
. "$top_srcdir/tests/lib/lib.sh"

cd "$top_srcdir" || rb_fail "no $top_srcdir"
[ -r drivers/memio.c ] || rb_fail "drivers/memio.c is missing"
[ ! -e daemon/memio.c ] || rb_fail "daemon/memio.c is back"
# Reading or writing another process's memory: a mem file at an offset,
# process_vm_*, or memio's own entry points and chunk copies.
grep -nE '\b(pread|pwrite|preadv|pwritev|preadv2|pwritev2|process_vm_readv|process_vm_writev|memio_rw|memio_chunk)[[:space:]]*\(|^int rb_mr_(read|write)\(' \
	daemon/*.c > "$RB_TMP/hits"
[ ! -s "$RB_TMP/hits" ] || rb_fail "client memory copied in daemon/: $(cat "$RB_TMP/hits")"
# ... while drivers/memio.c does it (the check above looks for the right thing).
grep -qE '\bpread[[:space:]]*\(|\bpwrite[[:space:]]*\(' drivers/memio.c ||
	rb_fail "drivers/memio.c has no pread/pwrite: the check looks for the wrong calls"
exit 0
