#!/usr/bin/env bash
# Part "control" of the benchmarks: the control plane.
#
#  1. Maglev table build time (tools/bench/bench_maglev.c, the code of
#     user/common/maglev.c that lbd runs on every backend change).
#  2. From `lbctl add-backend` to the first packet at the new backend, in
#     the lab (tools/lab.sh, two backends, L2 DSR).  The client sends a
#     steady stream of UDP packets to a VIP, every packet a new flow
#     (bench_ctl send); the VIP has backend 1 only.  For each trial backend
#     2 listens on the VIP's port (bench_ctl watch: kernel receive
#     timestamp of the first datagram), the LB host runs `lbctl
#     add-backend` for backend 2 timed by bench_ctl timed, then lbd's own
#     per-backend counter must show packets for backend 2 (a second
#     observer), and the backend is deleted again for the next trial.
#     Every host of the lab shares one kernel clock (CLOCK_REALTIME).
set -euo pipefail
O=$1
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tools/bench/lib.sh
source "$here/lib.sh"

runs=${BENCH_RUNS:-5}
trials=${BENCH_CONTROL_TRIALS:-11}
pps=${BENCH_CONTROL_PPS:-50000}
name=bctl$$
R=$LAB_RUN/$name
vip=10.200.100.1
port=9000
tmp=
sender=

cleanup() {
	bench_lab_down "$name"
	[ -z "$tmp" ] || rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

bench_need ip python3
for p in "$O/lbd" "$O/lbctl" "$O/bench/bench_ctl" "$O/bench/bench_maglev"; do
	[ -x "$p" ] || {
		echo "control: $p not built" >&2
		exit 1
	}
done
tmp=$(mktemp -d /tmp/bench-control.XXXXXX)

# ---------------------------------------------------------------- 1
maglev=$("$O/bench/bench_maglev" -r "$runs")

# ---------------------------------------------------------------- 2
bench_lab "$name" 2 "$O" "$tmp"
lbctl() { lab_exec "$name" lb "$O/lbctl" -S "$R/lbd.sock" "$@"; }
b1=$(lab_backend_addr 1)
b2=$(lab_backend_addr 2)
lbctl add-backend "$vip:$port/udp" "$b1" >/dev/null

# b2_packets: lbd's packet counter of backend 2 (0 when it is not there)
b2_packets() {
	lbctl -j stats | python3 -c '
import json, sys
n = 0
for v in json.load(sys.stdin)["vips"]:
    for b in v["backends"]:
        if b["backend"] == sys.argv[1]:
            n += b["packets"]
print(n)
' "$b2"
}

# long enough for every trial; stopped as soon as they are done
ip netns exec "$name-cl" "$O/bench/bench_ctl" send --dst "$vip" \
	--port "$port" --src 10.201.0.0 --rate "$pps" \
	--secs $((5 + 2 * trials)) >"$tmp/sender.out" 2>&1 &
sender=$!
sleep 0.5
kill -0 "$sender" 2>/dev/null || {
	cat "$tmp/sender.out" >&2
	exit 1
}

for t in $(seq "$trials"); do
	w=$tmp/watch.$t
	ip netns exec "$name-b2" "$O/bench/bench_ctl" watch --addr "$vip" \
		--port "$port" --timeout 3 >"$w" 2>&1 &
	watcher=$!
	for _ in $(seq 100); do
		grep -q '^ready' "$w" && break
		sleep 0.02
	done
	grep -q '^ready' "$w" || {
		cat "$w" >&2
		exit 1
	}
	timed=$(lab_exec "$name" lb "$O/bench/bench_ctl" timed "$O/lbctl" \
		-s "$R/lbd.sock" add-backend "$vip:$port/udp" "$b2" |
		sed -n 's/^timed //p')
	wait "$watcher"
	read -r t0 t1 rc <<<"$timed"
	first=$(sed -n 's/^first //p' "$w")
	if [ "$rc" != 0 ] || [ -z "$first" ] || [ "$first" = none ]; then
		echo "control: trial $t: add-backend exit $rc, first packet" \
			"'$first'" >&2
		exit 1
	fi
	seen=$(b2_packets)
	if [ "$seen" -eq 0 ]; then
		echo "control: trial $t: backend 2 got a packet but lbd" \
			"counted none for it" >&2
		exit 1
	fi
	# call (start to return), first packet after return, after start; ms
	echo "$t0 $t1 $first" |
		awk '{ printf "%.4f %.4f %.4f\n", ($2 - $1) / 1e6,
			($3 - $2) / 1e6, ($3 - $1) / 1e6 }' >>"$tmp/add.dat"
	lbctl del-backend "$vip:$port/udp" "$b2" >/dev/null
	sleep 0.1
done
kill "$sender"
wait "$sender" || true
sent=$(sed -n 's/^sent //p' "$tmp/sender.out")
before=$(awk '$2 < 0' "$tmp/add.dat" | wc -l)

# ---------------------------------------------------------------- output
echo "Maglev table build, user/common/maglev.c (tools/bench/bench_maglev):"
echo
echo "$maglev"
echo
echo "From \`lbctl add-backend\` to the first packet at the new backend, in" \
	"the lab (L2 DSR, one UDP VIP with one backend, a second one added" \
	"and deleted again per trial).  The client sends $pps packets/s, each" \
	"a new flow (new source address and port), in bursts every 0.1 ms;" \
	"once added, the new backend owns about half of the Maglev table, so" \
	"the figures carry up to about 0.1-0.2 ms of sampling delay." \
	"Median of $trials trials (min-max), milliseconds; $sent packets sent" \
	"in all."
echo
echo "| interval | ms |"
echo "|---|---:|"
echo "| \`lbctl add-backend\`: from its start to its return (process start," \
	"control socket, lbd's table build and map update, exit) |" \
	"$(bench_summary "$tmp/add.dat" 1 %.3f) |"
echo "| from lbctl's return to the first packet at the new backend |" \
	"$(bench_summary "$tmp/add.dat" 2 %.3f) |"
echo "| from lbctl's start to the first packet at the new backend |" \
	"$(bench_summary "$tmp/add.dat" 3 %.3f) |"
echo
echo "A negative interval after the return means the datapath forwarded to" \
	"the new backend before lbctl had exited: lbd updates the maps before" \
	"it answers.  That happened in $before of $trials trials.  The first" \
	"packet's time is the kernel's receive timestamp on the new backend;" \
	"lbd's per-backend counter (lbctl -j stats) confirmed packets for it" \
	"in every trial."
