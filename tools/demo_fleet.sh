#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# tools/demo_fleet.sh BUILD_DIR - a fleet of three balancers behind a BGP
# router, shown working (run by `sudo make demo-fleet`):
#
#   client ── router (BIRD, ECMP) ── balancers l1 l2 l3 (lbd + BIRD)
#                                 └─ backends b1 b2 b3 (DSR)
#
# Each lbd announces the VIP over BGP (BIRD, BFD); the router spreads the
# VIP's flows over the three.  The backends are added in a different order
# on each balancer, and the table digests show that they agree all the
# same.  Long-lived connections keep talking while one balancer's link goes
# down and another is drained; none breaks.  Everything is removed at the
# end.
set -u
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tools/demo_lib.sh
source "$HERE/demo_lib.sh" fleet.sh "${1:-build}"

NAME=dfl$$
VIP=10.201.100.1
W=$(mktemp -d /tmp/xdp-lb-demo-fleet.XXXXXX)

cleanup() {
	echo
	echo "${D}removing the fleet (namespaces, BIRD, lbd, XDP programs, pins)${N}"
	fleet_down "$NAME"
	rm -rf "$W"
}
show() { # HOST CMD...: show a command as typed on HOST, then run it
	local host=$1
	shift
	printf '%s%s$ %s%s\n' "$Y" "$host" "${*#"$O/"}" "$N"
	lab_exec "$NAME" "$host" "$@"
}
lbctl() { # K ARGS...
	local k=$1
	shift
	show "l$k" "$O/lbctl" -S "$LAB_RUN/$NAME/lbd$k.sock" "$@"
}
# VIP packets each balancer forwarded, as "l1 N  l2 N  l3 N"
per_balancer() {
	local k line=
	for k in 1 2 3; do
		line+="l$k $(fleet_lbctl "$NAME" "$k" -j vip show "$VIP:7000/tcp" 2>/dev/null |
			python3 -c 'import json,sys; print(json.load(sys.stdin)["vip"]["packets"])' 2>/dev/null || echo -)  "
	done
	echo "$line"
}
# packets per balancer over the next SECONDS
spread() {
	local a b
	a=$(per_balancer)
	sleep "$1"
	b=$(per_balancer)
	python3 - "$a" "$b" <<'PY'
import sys
a, b = (s.split() for s in sys.argv[1:])
print("  " + "   ".join("%s %s packets" % (a[i], (int(b[i + 1]) - int(a[i + 1]))
                       if a[i + 1] != "-" and b[i + 1] != "-" else "-")
                       for i in range(0, len(a), 2)))
PY
}

for p in lbd lbctl lb-decap bpf/pass.bpf.o; do
	[ -e "$O/$p" ] || die "$O/$p is not built (make)"
done
[ "$(id -u)" -eq 0 ] || die "needs root (sudo make demo-fleet)"
command -v bird >/dev/null || die "BIRD is not installed (tools/deps.sh)"

step "Building the fleet: a router, three balancers, three backends"
fleet_up "$NAME" --balancers 3 --backends 3 >"$W/up.log" 2>&1 ||
	die "cannot build the fleet: $(tail -2 "$W/up.log")"
say "router 10.201.0.1 (BIRD, ECMP hashed on ports), client 10.201.1.10 behind it;"
say "balancers l1..l3 10.201.0.11-13, each with BIRD peering with the router"
say "over BGP with BFD (tools/bird/); backends b1..b3 10.201.0.21-23 (DSR)."
for k in 1 2 3; do
	fleet_serve "$NAME" "b$k" 7000
done

step "Starting lbd on each balancer, announcing into routing table $FLEET_TABLE"
for k in 1 2 3; do
	fleet_lbd "$NAME" "$k" 2>>"$W/lbd$k.err" ||
		die "lbd on l$k did not start: $(tail -2 "$W/lbd$k.err")"
done
say "lbd --iface eth0 --announce-table $FLEET_TABLE ... (on l1, l2, l3)"
orders=("1 2 3" "3 1 2" "2 3 1")
for k in 1 2 3; do
	for b in ${orders[k - 1]}; do
		fleet_lbctl "$NAME" "$k" add-backend "$VIP:7000/tcp" \
			"$(fleet_backend_addr "$b")" --check tcp \
			--check-interval 200ms --rise 1 >/dev/null ||
			die "add-backend failed on l$k"
	done
	say "l$k: backends added in the order b${orders[k - 1]// /, b}"
done
all="$(fleet_lb_addr 1) $(fleet_lb_addr 2) $(fleet_lb_addr 3)"
ms=$(fleet_wait_paths "$NAME" $VIP "$all" 300) ||
	die "the router did not learn the VIP from the three balancers"
say "the router learned the VIP from all three after ${ms} ms:"
show rt ip route show $VIP
show l1 ip route show table $FLEET_TABLE

step "Do the balancers agree?  Their table digests, side by side"
lbctl 1 status | grep -A3 '^tables'
for k in 1 2 3; do
	fleet_lbctl "$NAME" "$k" -j status >"$W/l$k.json"
done
show l1 "$O/lbctl" compare "$W/l1.json" "$W/l2.json" "$W/l3.json"

step "150 long-lived connections from the client, each talking every 100 ms"
fleet_hold "$NAME" "$W/hold" $VIP 7000 150 || die "connections did not open"
say "packets per balancer in 2 s (ECMP spreads the connections):"
spread 2

step "l2's link goes down"
t0=$(date +%s%N)
show l2 ip link set eth0 down
ms=$(fleet_wait_paths "$NAME" $VIP "$(fleet_lb_addr 1) $(fleet_lb_addr 3)" 50) ||
	die "the router did not drop l2"
say "BFD told the router within $((($(date +%s%N) - t0) / 1000000)) ms:"
show rt ip route show $VIP
say "packets per balancer in the next 2 s (l2's connections moved to l1 and"
say "l3, which send them to the same backends: the tables agree):"
spread 2
show l2 ip link set eth0 up
ip -n "$NAME-l2" route replace "$FLEET_NET.2.0/24" via "$FLEET_RT4"

step "lbctl node drain on l3 (maintenance)"
fleet_wait_paths "$NAME" $VIP "$all" 300 >/dev/null
lbctl 3 node drain
ms=$(fleet_wait_paths "$NAME" $VIP "$(fleet_lb_addr 1) $(fleet_lb_addr 2)" 30) ||
	die "the router kept l3"
say "l3's route left the router in ${ms} ms; its datapath still forwards what"
say "arrives.  Packets per balancer in 2 s:"
spread 2
lbctl 3 node undrain
fleet_wait_paths "$NAME" $VIP "$all" 100 >/dev/null &&
	say "undrained: the router has three paths again"

step "The connections, after all that"
result=$(fleet_hold_end "$W/hold")
say "$result"
if [[ $result == *" broken 0 stalled 0 "* ]]; then
	say "${G}no connection broke or stalled over 2 s${N}"
else
	say "${Y}unexpected: some connections broke or stalled${N}"
fi
