#!/usr/bin/env bash
# Part "fleet" of the benchmarks: a fleet of three balancers behind a BGP
# router (tools/fleet.sh: BIRD with BFD 100 ms x 5, ECMP hashed on ports),
# one VIP (L2 DSR) with three backends that echo lines (tools/connhold.py).
#
# Each round, with 200 long-lived connections each sending a line every
# 100 ms (a connection breaks when it is reset or its echo comes from
# another backend, stalls when an echo takes over 2 s):
#  1. a balancer's link goes down: time until the router's route drops it,
#     connections that survive;
#  2. lbd and BIRD of a balancer are killed: the same;
#  3. `lbctl node drain`: time until the router's route drops it, then 200
#     new connections: how many still reach the drained balancer;
#  4. a balancer joins (its BIRD starts): connections whose backend
#     changes when ECMP moves a third of them to it.
# Then once: a backend is added to the VIP under the connections, and a
# balancer fails: its connections are hashed on the new table elsewhere.
# And once each, two deliberately worse fleets, to show that the figures
# can see what they measure: no BFD (the router's BFD disabled, so only the
# BGP hold time of 9 s notices a dead link), and a joining balancer with
# another hash seed (its table disagrees).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tools/bench/lib.sh
source "$here/lib.sh"
# shellcheck source=tools/fleet.sh
source "$here/../fleet.sh"
LAB_BUILD=$O

runs=${BENCH_RUNS:-3}
conns=200
name=bfl$$
vip=10.201.100.1

cleanup() { fleet_down "$name"; }
bench_traps

bench_need ip python3 bird birdc
bench_built fleet "$O/lbd" "$O/lbctl" "$O/lb-decap" "$O/bpf/pass.bpf.o"
tmp=$(mktemp -d /tmp/bench-fleet.XXXXXX)

all="$(fleet_lb_addr 1) $(fleet_lb_addr 2) $(fleet_lb_addr 3)"
# the balancers but K, as fleet_paths prints them
others() {
	local k out=
	for k in 1 2 3; do
		[ "$k" = "$1" ] || out+="$(fleet_lb_addr "$k") "
	done
	echo "${out% }"
}
lbd_up() { # K [ARGS...]
	fleet_lbd "$name" "$@" 2>>"$tmp/lbd$1.err" || {
		tail -3 "$tmp/lbd$1.err" >&2
		return 1
	}
}
vip_packets() { # K
	fleet_lbctl "$name" "$1" -j vip show "$vip:7000/tcp" |
		python3 -c 'import json,sys; print(json.load(sys.stdin)["vip"]["packets"])'
}
wait_all() {
	fleet_wait_paths "$name" $vip "$all" 300 >/dev/null || {
		echo "fleet: the router did not get back to three paths" \
			"('$(fleet_paths "$name" $vip)')" >&2
		return 1
	}
}
# hold TAG: the connections of one trial
hold() {
	echo "fleet: $1" >&2
	fleet_hold "$name" "$tmp/$1" $vip 7000 "$conns" || {
		echo "fleet: $1: the connections did not open: $(tail -2 "$tmp/$1/err")" >&2
		return 1
	}
}
# held TAG: "broken stalled" of the trial
held() {
	fleet_hold_end "$tmp/$1" | awk '{ print $4, $6 }'
}
# withdrawal K WANT TAG: time until the router's route is WANT, in ms,
# written to TAG.ms (empty when it never happened)
withdrawal() {
	local t0=$1 ms=
	ms=$(fleet_wait_paths "$name" $vip "$2" 150) &&
		ms=$((($(date +%s%N) - t0) / 1000000))
	echo "$ms" >"$tmp/$3.ms"
}

# ---------------------------------------------------------------- the fleet
fleet_up "$name" --balancers 3 --backends 4 >"$tmp/up.log" 2>&1 || {
	tail -3 "$tmp/up.log" >&2
	exit 1
}
for k in 1 2 3 4; do
	fleet_serve "$name" "b$k" 7000
done
for k in 1 2 3; do
	lbd_up "$k"
	for b in 1 2 3; do
		fleet_lbctl "$name" "$k" add-backend "$vip:7000/tcp" \
			"$(fleet_backend_addr "$b")" --check tcp \
			--check-interval 200ms --rise 1 >/dev/null
	done
done
wait_all

# ---------------------------------------------------------------- rounds
for ((r = 1; r <= runs; r++)); do
	k=$(((r - 1) % 3 + 1))

	# 1. link down
	hold "link$r"
	sleep 1
	t0=$(date +%s%N)
	ip -n "$name-l$k" link set eth0 down
	withdrawal "$t0" "$(others "$k")" "link$r"
	sleep 3
	held "link$r" >"$tmp/link$r.res"
	ip -n "$name-l$k" link set eth0 up
	ip -n "$name-l$k" route replace "$FLEET_NET.2.0/24" via "$FLEET_RT4"
	wait_all

	# 2. lbd and BIRD killed
	hold "crash$r"
	sleep 1
	pid=$(fleet_lbd_pid "$name" "$k")
	t0=$(date +%s%N)
	kill -KILL "$pid"
	fleet_bird_stop "$name" "l$k"
	withdrawal "$t0" "$(others "$k")" "crash$r"
	sleep 3
	held "crash$r" >"$tmp/crash$r.res"
	fleet_bird "$name" "l$k"
	lbd_up "$k"
	wait_all

	# 3. node drain, then new connections
	t0=$(date +%s%N)
	fleet_lbctl "$name" "$k" node drain >/dev/null
	withdrawal "$t0" "$(others "$k")" "drain$r"
	p0=$(vip_packets "$k")
	hold "new$r"
	held "new$r" >/dev/null
	sleep 0.5
	echo $(($(vip_packets "$k") - p0)) >"$tmp/drain$r.pkts"
	fleet_lbctl "$name" "$k" node undrain >/dev/null
	wait_all

	# 4. a balancer joins
	fleet_bird_stop "$name" "l$k"
	fleet_wait_paths "$name" $vip "$(others "$k")" 100 >/dev/null
	hold "join$r"
	sleep 1
	fleet_bird "$name" "l$k"
	wait_all
	sleep 2
	held "join$r" >"$tmp/join$r.res"
done

# ---------------------------------------------------------------- worse fleets
# no BFD on the router: only the BGP hold time notices the dead link
fleet_birdc "$name" rt disable bfd1 >/dev/null
# the sessions go down with BFD and come back without it
sleep 1
wait_all
hold nobfd
sleep 1
t0=$(date +%s%N)
ip -n "$name-l2" link set eth0 down
withdrawal "$t0" "$(others 2)" nobfd
sleep 3
held nobfd >"$tmp/nobfd.res"
ip -n "$name-l2" link set eth0 up
ip -n "$name-l2" route replace "$FLEET_NET.2.0/24" via "$FLEET_RT4"
fleet_birdc "$name" rt enable bfd1 >/dev/null
sleep 1
wait_all

# the backend set changes under open connections, then a balancer fails:
# the connections it had are hashed on the new table by the others
hold grow
for k in 1 2 3; do
	fleet_lbctl "$name" "$k" add-backend "$vip:7000/tcp" \
		"$(fleet_backend_addr 4)" >/dev/null
done
sleep 1
ip -n "$name-l1" link set eth0 down
fleet_wait_paths "$name" $vip "$(others 1)" 100 >/dev/null
sleep 3
held grow >"$tmp/grow.res"
ip -n "$name-l1" link set eth0 up
ip -n "$name-l1" route replace "$FLEET_NET.2.0/24" via "$FLEET_RT4"
wait_all

# a joining balancer whose hash seed differs
fleet_bird_stop "$name" l3
kill -TERM "$(fleet_lbd_pid "$name" 3)"
fleet_wait_paths "$name" $vip "$(others 3)" 100 >/dev/null
sleep 0.5
lbd_up 3 --hash-seed 0x1234
hold seed
sleep 1
fleet_bird "$name" l3
wait_all
sleep 2
held seed >"$tmp/seed.res"

# ---------------------------------------------------------------- table
python3 - "$tmp" "$runs" "$conns" <<'PY'
import os, statistics, sys
tmp, runs, conns = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])

def read(name):
    try:
        return open(os.path.join(tmp, name)).read().split()
    except OSError:
        return []

def ms(kind):
    v = [int(read("%s%d.ms" % (kind, r))[0]) for r in range(1, runs + 1)
         if read("%s%d.ms" % (kind, r))]
    missed = runs - len(v)
    if not v:
        return "never (of %d)" % runs
    s = "%d (%d-%d)" % (statistics.median(v), min(v), max(v))
    return s + (", %d never" % missed if missed else "")

def survived(kind):
    broken = stalled = n = 0
    for r in range(1, runs + 1):
        res = read("%s%d.res" % (kind, r))
        if len(res) == 2:
            broken += int(res[0]); stalled += int(res[1]); n += conns
    if not n:
        return "no result"
    ok = n - max(broken, 0)
    return "%d of %d (%.1f%%), %d stalled" % (ok, n, 100.0 * ok / n, stalled)

def changed(kind, one=False):
    broken = n = 0
    for name in ([kind + ".res"] if one else
                 ["%s%d.res" % (kind, r) for r in range(1, runs + 1)]):
        res = read(name)
        if len(res) == 2:
            broken += int(res[0]); n += conns
    return "%d of %d (%.1f%%)" % (broken, n, 100.0 * broken / n) if n else "no result"

pk = [int(read("drain%d.pkts" % r)[0]) for r in range(1, runs + 1)
      if read("drain%d.pkts" % r)]
nob = read("nobfd.ms")
nobr = read("nobfd.res")

print("%d rounds of %d long-lived connections (a line every 100 ms each), "
      "3 balancers, BFD 100 ms x 5, BGP hold time 9 s. Times: median "
      "(min-max) in ms." % (runs, conns))
print()
print("| | measured | goal |")
print("| --- | ---: | --- |")
print("| link down: until the router drops the balancer | %s | BFD: 500 ms |" % ms("link"))
print("| link down: connections that survive | %s | 100%% |" % survived("link"))
print("| lbd and BIRD killed: until the router drops the balancer | %s | BFD: 500 ms |" % ms("crash"))
print("| lbd and BIRD killed: connections that survive | %s | 100%% |" % survived("crash"))
print("| `node drain`: until the router drops the balancer | %s | < 2000 |" % ms("drain"))
print("| `node drain`: packets of %d new connections at the drained balancer, per round | %s | 0 |"
      % (conns, " ".join(str(p) for p in pk) or "no result"))
print("| a balancer joins: connections whose backend changes | %s | 0 |" % changed("join"))
print("| a backend added under open connections, then a balancer fails: connections whose backend changes | %s | (about a third of the connections move balancer; of those, a quarter or more land on the new backend) |"
      % changed("grow", True))
print("| *worse fleet*: link down without BFD: until the router drops it | %s | (BGP hold time: 9000) |"
      % (nob[0] if nob else "never"))
print("| *worse fleet*: link down without BFD: connections broken, stalled over 2 s | %s |  |"
      % ("%s, %s" % (nobr[0], nobr[1]) if len(nobr) == 2 else "no result"))
print("| *worse fleet*: the joining balancer has another hash seed: backend changed | %s | |"
      % changed("seed", True))
PY
