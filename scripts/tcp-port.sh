# Sourced (sh): finding a free TCP port for a server that is handed its
# port (ibv_*_pingpong, rdmab-perf, fi_pingpong), and seeing it listen.
# Used by scripts/bench.sh, scripts/bench-quick.sh and tests/lib/pingpong-lib.sh.

# tcp_listening PORT: someone listens on TCP PORT (state 0A in the
# kernel's socket tables; no need for ss).
tcp_listening() {
	awk -v p=":$(printf '%04X' "$1")" '$4 == "0A" && substr($2, length($2) - 4) == p { f = 1 }
		END { exit !f }' /proc/net/tcp /proc/net/tcp6 2>/dev/null
}

# tcp_free_port: a TCP port nobody listens on, below the kernel's
# ephemeral range, where no client's own end of a connection can be.
# Another program may still take it before the server binds: callers
# retry when the server says it could not listen.
tcp_free_port() {
	_tp_lo=$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null)
	[ "${_tp_lo:-0}" -gt 11000 ] || _tp_lo=61000
	while :; do
		_tp_p=$(shuf -i 10000-$((_tp_lo - 1)) -n 1)
		tcp_listening "$_tp_p" || break
	done
	echo "$_tp_p"
}
