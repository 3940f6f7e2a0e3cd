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
#  3. At scale (issue 17), in a lab of its own: one `lbctl apply` of 5000
#     backends onto one VIP, and of 1000 VIPs with 6 backends each; one
#     change (backend weight) on the VIP of 5000 backends, from lbctl's
#     start to its answer; lbd restarted with 1000 VIPs and 6000 backends,
#     from its start until its control socket answers.  The single change
#     is timed twice: as lbd saves it (a journal record), and with
#     --journal-max 0, where every change rewrites the whole state file as
#     lbd did before the journal: the slower variant the benchmark must
#     see.  With 1000 VIPs and 6000 backends, `lbctl -j stats` (every
#     counter, read in batches) is timed too, and so is the wait of a
#     control request behind lbd's own work (tools/bench/ctl_latency.py:
#     a request every 2 ms for BENCH_CONTROL_LATENCY_SECS seconds while
#     lbd polls the 6000 backends' next hops).  The backends are
#     addresses on the balancer's segment with permanent neighbour entries
#     (no hosts behind them): lbd finds them resolved and usable and builds
#     every table in full, as for real backends.  Each is timed by
#     bench_ctl timed in the LB host (process start to exit).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tools/bench/lib.sh
source "$here/lib.sh"

runs=${BENCH_RUNS:-5}
scale_runs=${BENCH_CONTROL_SCALE_RUNS:-5}
latency_secs=${BENCH_CONTROL_LATENCY_SECS:-5}
trials=${BENCH_CONTROL_TRIALS:-11}
pps=${BENCH_CONTROL_PPS:-50000}
name=bctl$$
R=$LAB_RUN/$name
vip=10.200.100.1
port=9000
sender=

cleanup() {
	bench_lab_down "$name"
	bench_lab_down "$name-s"
}
bench_traps

bench_need ip python3
bench_built control "$O/lbd" "$O/lbctl" "$O/bench/bench_ctl" \
	"$O/bench/bench_maglev"
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
		-S "$R/lbd.sock" add-backend "$vip:$port/udp" "$b2" |
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

# ---------------------------------------------------------------- 3
sname=$name-s
SR=$LAB_RUN/$sname
bench_lab "$sname" 1 "$O" "$tmp"
slb() { lab_exec "$sname" lb "$@"; }
sctl() { slb "$O/lbctl" -S "$SR/lbd.sock" "$@"; }
# timed FILE CMD...: CMD's time in ms (start to exit) appended to FILE
timed() {
	local f=$1 out t0 t1 rc
	shift
	out=$(slb "$O/bench/bench_ctl" timed "$@" | sed -n 's/^timed //p')
	read -r t0 t1 rc <<<"$out"
	if [ "$rc" != 0 ]; then
		echo "control: '$*' failed (exit $rc)" >&2
		return 1
	fi
	echo "$t0 $t1" | awk '{ printf "%.3f\n", ($2 - $1) / 1e6 }' >>"$f"
}
# the scale lab's lbd: its pid; stopped; started with extra options
spid() { sctl -j status | python3 -c 'import json, sys; print(json.load(sys.stdin)["pid"])'; }
sstop() {
	local pid
	pid=$(spid)
	kill -TERM "$pid"
	while kill -0 "$pid" 2>/dev/null; do sleep 0.01; done
}
sstart() {
	slb "$O/lbd" --iface eth0 --state "$SR/state.json" \
		--socket "$SR/lbd.sock" --pin "$SR/bpf/lb" --log "$SR/lbd.log" "$@"
}
python3 - "$tmp" <<'PY'
import sys
d = sys.argv[1]
addr = lambda i: "10.201.%d.%d" % (i // 250, i % 250 + 1)
with open(d + "/neigh.batch", "w") as f:
    for i in range(6000):
        f.write("neigh add %s lladdr 02:00:00:00:00:0b dev eth0 nud permanent\n" % addr(i))
with open(d + "/one.conf", "w") as f:
    f.write("vip 10.200.100.1:80/tcp\n")
    for i in range(5000):
        f.write("    backend %s\n" % addr(i))
with open(d + "/many.conf", "w") as f:
    for v in range(1000):
        f.write("vip 10.200.%d.%d:80/tcp\n" % (101 + v // 250, v % 250 + 1))
        for b in range(6):
            f.write("    backend %s\n" % addr(v * 6 + b))
open(d + "/empty.conf", "w").close()
PY
slb ip route add 10.201.0.0/16 dev eth0
slb ip -batch "$tmp/neigh.batch"
for r in $(seq "$scale_runs"); do
	sctl apply -f "$tmp/empty.conf" >/dev/null
	timed "$tmp/one.dat" "$O/lbctl" -S "$SR/lbd.sock" apply -f "$tmp/one.conf"
	for w in 2 3 4 5 6; do
		timed "$tmp/change.dat" "$O/lbctl" -S "$SR/lbd.sock" backend \
			weight 10.200.100.1:80/tcp "10.201.0.$r" "$w"
	done
	# the slower variant: the whole state file written per change
	sstop
	sstart --journal-max 0
	for w in 7 8 9 10 11; do
		timed "$tmp/whole.dat" "$O/lbctl" -S "$SR/lbd.sock" backend \
			weight 10.200.100.1:80/tcp "10.201.0.$r" "$w"
	done
	sstop
	sstart
	sctl apply -f "$tmp/empty.conf" >/dev/null
	timed "$tmp/many.dat" "$O/lbctl" -S "$SR/lbd.sock" apply -f "$tmp/many.conf"
	[ "$(sctl -j status | python3 -c 'import json, sys; print(json.load(sys.stdin)["backends"])')" = 6000 ]
	for _ in 1 2 3; do
		timed "$tmp/stats.dat" "$O/lbctl" -S "$SR/lbd.sock" -j stats
	done
	slb python3 "$here/ctl_latency.py" "$SR/lbd.sock" "$latency_secs" |
		awk '{ print $4, $6, $8, $10 }' >>"$tmp/latency.dat"
	sstop
	# lbd returns once it is ready: its control socket answers
	timed "$tmp/restart.dat" "$O/lbd" --iface eth0 --state "$SR/state.json" \
		--socket "$SR/lbd.sock" --pin "$SR/bpf/lb" --log "$SR/lbd.log"
	sctl status >/dev/null
done

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
echo
echo "At scale (issue 17; before: the figures of the issue, one" \
	"\`add-backend\` at a time).  Median of $scale_runs runs (min-max)," \
	"milliseconds; the single change: 5 per run.  Every table is built in" \
	"full (65537 slots); the apply of many VIPs builds its tables on as" \
	"many threads as there are CPUs and swaps them all in with one map" \
	"update (one RCU grace period); a single change writes the slots that" \
	"change in place (no swap, no grace period), only the backend entries" \
	"that differ, and one journal record (fdatasync) instead of the whole" \
	"state file; a restart keeps the pinned tables, comparing each with" \
	"the state's by digest after its socket answers."
echo
echo "| operation | before | goal | now, ms |"
echo "|---|---:|---:|---:|"
echo "| 5000 backends onto one VIP: one \`lbctl apply\` | 5000 \`add-backend\` calls: 405 s | 2000 |" \
	"$(bench_summary "$tmp/one.dat" 1 %.0f) |"
echo "| 1000 VIPs x 6 backends: one \`lbctl apply\` | - | 5000 |" \
	"$(bench_summary "$tmp/many.dat" 1 %.0f) |"
echo "| one change (backend weight) on the VIP of 5000 backends, lbctl start to answer | 81 ms a call (47-107) | 20 |" \
	"$(bench_summary "$tmp/change.dat" 1 %.1f) |"
echo "| the same with \`--journal-max 0\` (the whole state file written per change, as before the journal) | - | - |" \
	"$(bench_summary "$tmp/whole.dat" 1 %.1f) |"
echo "| \`lbctl -j stats\` with 1000 VIPs / 6000 backends (every counter), lbctl start to exit; 3 a run | one read per VIP and backend: 98 ms (one run, load 3) | - |" \
	"$(bench_summary "$tmp/stats.dat" 1 %.1f) |"
echo "| a control request's answer time with 1000 VIPs / 6000 backends, p50 / p99 / p99.9 / max of each run's; median of the runs | all next hops due on a tick looked at in one go, and the health checks re-indexed after every request: p50 0.40, p99 2.7-4.2, p99.9 14-46, max 17-64 (two runs) | - |" \
	"$(bench_summary "$tmp/latency.dat" 1 %.2f) / $(bench_summary "$tmp/latency.dat" 2 %.2f) / $(bench_summary "$tmp/latency.dat" 3 %.2f) / $(bench_summary "$tmp/latency.dat" 4 %.2f) |"
echo "| lbd restart with 1000 VIPs / 6000 backends until its socket answers | 34 s (1003 VIPs / 6006 backends) | 1000 |" \
	"$(bench_summary "$tmp/restart.dat" 1 %.0f) |"
echo "| \`add-backend\` to the first packet at the new backend (above) | 23 ms | - |" \
	"$(bench_summary "$tmp/add.dat" 3 %.1f) |"
if [ -f "$here/../../bench/CONTROL.md" ]; then
	echo
	cat "$here/../../bench/CONTROL.md"
fi
