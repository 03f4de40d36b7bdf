#!/bin/sh
# Unmodified rdma-core pingpong examples (Debian ibverbs-utils) move data
# through the broker: each program as a server and a client process of one
# daemon, under rdmab-run, on rbsoft0 with GID index 0.  Both sides must
# exit 0, print their summary and find the data they expect (-c); rc also
# with -N, the ibv_wr_* API.  After
# each pair the daemon holds no object and is still running.  Then the
# four programs again, all at the same time, sleeping on completion
# events (-e) so that eight processes share the CPUs well.
. "$top_srcdir/tests/lib/lib.sh"
. "$top_srcdir/tests/lib/pingpong-lib.sh"

for p in ibv_rc_pingpong ibv_uc_pingpong ibv_ud_pingpong ibv_srq_pingpong; do
	command -v "$p" >/dev/null 2>&1 || rb_skip "$p not installed (Debian ibverbs-utils)"
done

rb_daemon_start

pp_run rc 1000 ibv_rc_pingpong
pp_run rc-events 1000 ibv_rc_pingpong -e
pp_run rc-size1 1000 ibv_rc_pingpong -s 1
pp_run rc-size64k 1000 ibv_rc_pingpong -s 65536
pp_run rc-long 10000 ibv_rc_pingpong
# -N: the ibv_wr_* post API (ibv_qp_to_qp_ex, ibv_wr_start/complete).
pp_run rc-new-send 1000 ibv_rc_pingpong -N
pp_run uc 1000 ibv_uc_pingpong
pp_run ud 1000 ibv_ud_pingpong
pp_run srq 1000 ibv_srq_pingpong -q 4

pp_start rc-together 1000 ibv_rc_pingpong -e
pp_start uc-together 1000 ibv_uc_pingpong -e
pp_start ud-together 1000 ibv_ud_pingpong -e
pp_start srq-together 1000 ibv_srq_pingpong -q 4 -e
for name in rc uc ud srq; do
	pp_finish "$name-together"
done
pp_check_clean "the pairs at the same time"

[ "$("$RB_RDMACTL" -j res)" = "[]" ] || rb_fail "objects left: $("$RB_RDMACTL" res)"
rb_daemon_alive || rb_fail "the daemon died"
rb_daemon_stop
rb_pass
