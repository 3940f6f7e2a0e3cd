#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# A fleet of three balancers behind a router (tools/fleet.sh): each lbd
# announces its VIPs in a routing table, BIRD exports them over BGP with
# BFD, the router spreads every VIP over the balancers with ECMP.  200
# long-lived connections talk all the time while a balancer's link goes
# down, while a balancer's lbd and BIRD are killed, while lbd alone is
# killed, and while a balancer is drained: none may break or stall.  Also:
# a VIP whose backends are all down on one balancer is withdrawn by that
# one only; tables built from backends added in different orders have the
# same digest, and lbctl compare names a deliberate difference.
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/lib.sh
source "$HERE/../lib.sh" "${1:-build}"
# shellcheck source=tools/fleet.sh
source "$HERE/../../tools/fleet.sh"
need_built lbd lbctl lb-decap bpf/pass.bpf.o
need_cmd python3 ip ethtool xdp-loader bird birdc bridge
need_root
LAB_BUILD=$O
NAME=$(unique_name fl)
R=$LAB_RUN/$NAME
VIP1=10.201.100.1 # DSR, port 7000, backends b1..b3 on the front segment
VIP2=10.201.100.2 # IPIP, port 7001, backends f1, f2 behind the router
ALL="$(fleet_lb_addr 1) $(fleet_lb_addr 2) $(fleet_lb_addr 3)"

tmp_dir T "$NAME"

# ------------------------------------------------------------ bad input
bad_opt() { # NAME WANT ARGS...: lbd refuses ARGS with exit 2, saying WANT
	local name=$1 want=$2 out rc
	shift 2
	out=$("$O/lbd" --iface lo "$@" 2>&1)
	rc=$?
	check "$name" "$([ $rc -eq 2 ] && [ "$(wc -l <<<"$out")" = 1 ] &&
		grep -q -- "$want" <<<"$out" && echo 0 || echo 1)" "exit $rc: $out"
}
bad_opt "lbd refuses --announce-table 254 (the main table)" "kernel's own tables" \
	--announce-table 254
bad_opt "lbd refuses --announce-table 0" "announce-table" --announce-table 0
bad_opt "lbd refuses --announce-table x" "announce-table" --announce-table x
bad_opt "lbd refuses --announce-proto 2 (the kernel's)" "announce-proto" \
	--announce-proto 2
out=$("$O/lbctl" compare /dev/null 2>&1)
check "lbctl compare needs two files" "$([ $? -eq 2 ] && grep -q 'at least two' <<<"$out" && echo 0 || echo 1)" "$out"
echo '{"ok":true}' >"$T/notstatus.json"
out=$("$O/lbctl" compare "$T/notstatus.json" "$T/notstatus.json" 2>&1)
check "lbctl compare refuses a file that is not status output" \
	"$([ $? -eq 2 ] && grep -q "notstatus.json: not the output of 'lbctl -j status'" <<<"$out" && echo 0 || echo 1)" "$out"

on_exit fleet_down "$NAME"
if ! fleet_up "$NAME" --backends 4 --build "$O" >"$T/fleet.log" 2>&1; then
	fail "fleet up" "$(tail -3 "$T/fleet.log")"
	exit 1
fi

on() { lab_exec "$NAME" "$@"; }
lbctl() { fleet_lbctl "$NAME" "$@"; }
lbd_start() { fleet_lbd "$NAME" "$1" 2>>"$T/lbd$1.err"; }
lbd_pid() { fleet_lbd_pid "$NAME" "$1"; }
wait_paths() { fleet_wait_paths "$NAME" "$@"; }
# routes of balancer K's announce table, as "10.201.100.1 10.201.100.2"
announced() {
	ip -n "$NAME-l$1" -4 route show table "$FLEET_TABLE" proto 201 |
		awk '{print $1}' | sort | tr '\n' ' ' | sed 's/ $//'
}
# packets balancer K forwarded for VIP1 so far
vip_packets() {
	lbctl "$1" -j vip show "$VIP1:7000/tcp" 2>/dev/null |
		python3 -c 'import json,sys; print(json.load(sys.stdin)["vip"]["packets"])'
}

# hold_start TAG: 200 connections to VIP1 and 50 to VIP2, a line every
# 100 ms on each
hold_start() {
	fleet_hold "$NAME" "$T/h-$1/1" $VIP1 7000 200 &&
		fleet_hold "$NAME" "$T/h-$1/2" $VIP2 7001 50 && return 0
	fail "$1: connections open" "$(cat "$T/h-$1"/*/err)"
	return 1
}
# hold_check TAG NAME: stop the connections; PASS NAME when none broke or
# stalled
hold_check() {
	local r1 r2
	r1=$(fleet_hold_end "$T/h-$1/1")
	r2=$(fleet_hold_end "$T/h-$1/2")
	if [[ $r1 == *" broken 0 stalled 0 "* ]] &&
		[[ $r2 == *" broken 0 stalled 0 "* ]]; then
		pass "$2 (dsr: $r1; ipip: $r2)"
	else
		fail "$2" "dsr: ${r1:-no result} ($(grep -m3 '^broken' "$T/h-$1/1/result" 2>/dev/null | tr '\n' ';')); ipip: ${r2:-no result}"
	fi
}

for k in 1 2 3 4; do
	fleet_serve "$NAME" "b$k" 7000
done
for k in 1 2; do
	fleet_serve "$NAME" "f$k" 7001
done
for k in 1 2 3; do
	lbd_start "$k" || fail "lbd $k starts" "$(tail -3 "$T/lbd$k.err")"
done
# the same backends, added in a different order on each balancer
orders=("1 2 3" "3 1 2" "2 3 1")
for k in 1 2 3; do
	for b in ${orders[k - 1]}; do
		lbctl "$k" add-backend "$VIP1:7000/tcp" "$(fleet_backend_addr "$b")" \
			--check tcp --check-interval 200ms --rise 1 --fall 2 \
			>/dev/null || fail "add-backend on l$k" "b$b"
	done
	for b in $([ "$k" = 2 ] && echo 2 1 || echo 1 2); do
		lbctl "$k" add-backend "$VIP2:7001/tcp" "$(fleet_far_addr "$b")" \
			--mode ipip --check tcp --check-interval 200ms --rise 1 \
			--fall 2 >/dev/null || fail "add-backend on l$k" "f$b"
	done
done

if ms=$(wait_paths $VIP1 "$ALL" 200) && wait_paths $VIP2 "$ALL" 50 >/dev/null; then
	pass "fleet: both VIPs announced by the three balancers, the router has 3 paths (${ms} ms)"
else
	fail "fleet: VIPs announced" "router: $VIP1 via '$(fleet_paths "$NAME" $VIP1)', $VIP2 via '$(fleet_paths "$NAME" $VIP2)'; l1 table: '$(announced 1)'"
	exit 1
fi
s=$(announced 1)
check "announce table of l1 holds exactly the two VIP routes, proto 201" \
	"$([ "$s" = "$VIP1 $VIP2" ] && echo 0 || echo 1)" "'$s'"
s=$(grep -c "announce: $VIP1 (table $FLEET_TABLE)" "$R/lbd1.log")
w=$(grep -c 'announce: cannot' "$R/lbd1.log")
check "lbd logs each route it announces, and no failure ($s, $w)" \
	"$([ "$s" = 1 ] && [ "$w" = 0 ] && echo 0 || echo 1)" "$(grep announce "$R/lbd1.log")"

# the example BIRD configuration exports lbd's routes only
ip -n "$NAME-l1" route add 10.201.100.77/32 dev eth0 table "$FLEET_TABLE" proto static
ip -n "$NAME-l1" route add 10.201.100.78/32 dev eth0 table "$FLEET_TABLE" proto 201
sleep 2.5
s=$(fleet_paths "$NAME" 10.201.100.77)
check "BIRD announces lbd's routes (proto 201) of the table, not a static one" \
	"$([ -z "$s" ] && echo 0 || echo 1)" "router: 10.201.100.77 via '$s'"
s=$(announced 1)
check "lbd removes a route of its protocol for no VIP of its own" \
	"$([ "$s" = "$VIP1 $VIP2" ] && echo 0 || echo 1)" "l1 table: '$s'"
ip -n "$NAME-l1" route del 10.201.100.77/32 table "$FLEET_TABLE" 2>/dev/null

# an IPv6 VIP: a /128 route, learnt by BIRD's IPv6 kernel protocol
ip -n "$NAME-l1" addr add fd00:201::11/64 dev eth0 nodad
ip -n "$NAME-b1" addr add fd00:201::21/64 dev eth0 nodad
ip -n "$NAME-b1" route add local fd00:201:100::/64 dev lo
lbctl 1 add-backend "[fd00:201:100::1]:7000/tcp" fd00:201::21 >/dev/null ||
	fail "IPv6 VIP on l1" "add-backend refused"
for ((i = 0; i < 30; i++)); do
	s=$(ip -n "$NAME-l1" -6 route show table "$FLEET_TABLE" proto 201 2>/dev/null)
	[[ $s == "fd00:201:100::1 dev eth0 "* ]] && break
	sleep 0.1
done
check "an IPv6 VIP is announced as a /128 route" \
	"$([[ $s == "fd00:201:100::1 dev eth0 "* ]] && echo 0 || echo 1)" "'$s'"
for ((i = 0; i < 30; i++)); do
	s=$(fleet_birdc "$NAME" l1 show route protocol vips6 2>&1)
	grep -q "fd00:201:100::1/128" <<<"$s" && break
	sleep 0.1
done
check "BIRD learns the IPv6 VIP route" "$(grep -q "fd00:201:100::1/128" <<<"$s"; echo $?)" "$s"
lbctl 1 vip del "[fd00:201:100::1]:7000/tcp" >/dev/null
s=$(ip -n "$NAME-l1" -6 route show table "$FLEET_TABLE" proto 201 2>/dev/null)
check "the IPv6 VIP deleted: its route withdrawn" "$([ -z "$s" ] && echo 0 || echo 1)" "'$s'"

# ------------------------------------------------------------ digests
for k in 1 2 3; do
	lbctl "$k" -j status >"$T/status$k.json"
done
d1=$(lbctl 1 -j vip show "$VIP1:7000/tcp" | python3 -c 'import json,sys; print(json.load(sys.stdin)["vip"]["digest"])')
out=$(python3 - "$T"/status{1,2,3}.json <<'PY'
import json, sys
d = [{t["vip"]: t["digest"] for t in json.load(open(f))["tables"]} for f in sys.argv[1:]]
print("same" if d[0] == d[1] == d[2] and None not in d[0].values() and len(d[0]) == 2 else d)
PY
)
check "digests: backends added in three orders give equal tables on l1, l2, l3" \
	"$([ "$out" = same ] && echo 0 || echo 1)" "$out"
s=$(lbctl 1 status)
check "lbctl status shows the VIP's digest" \
	"$(grep -q "$VIP1:7000/tcp *$d1" <<<"$s" && echo 0 || echo 1)" "$s"
out=$(on l1 "$O/lbctl" compare "$T"/status{1,2,3}.json)
rc=$?
check "lbctl compare: the three balancers agree (exit 0)" \
	"$([ $rc -eq 0 ] && grep -q '^2 of 2 VIPs agree on 3 balancers' <<<"$out" && echo 0 || echo 1)" "exit $rc: $out"
# a deliberate difference: b1's weight on l2
lbctl 2 backend weight "$VIP1:7000/tcp" "$(fleet_backend_addr 1)" 3 >/dev/null
lbctl 2 -j status >"$T/status2w.json"
out=$(on l1 "$O/lbctl" compare "$T/status1.json" "$T/status2w.json" "$T/status3.json")
rc=$?
check "lbctl compare names the VIP and the backend whose weight differs (exit 1)" \
	"$([ $rc -eq 1 ] && grep -q "^VIP $VIP1:7000/tcp: tables differ" <<<"$out" &&
		grep -q "backend $(fleet_backend_addr 1): weight 1 on $T/status1.json, weight 3 on $T/status2w.json" <<<"$out" &&
		grep -q "^VIP $VIP2:7001/tcp: agree" <<<"$out" && echo 0 || echo 1)" "exit $rc: $out"
out=$(on l1 "$O/lbctl" -j compare "$T/status1.json" "$T/status2w.json" |
	python3 -c 'import json,sys; a=json.load(sys.stdin); print(a["agree"], [v["agree"] for v in a["vips"]])')
check "lbctl -j compare: the same verdict as JSON" \
	"$([ "$out" = "False [False, True]" ] && echo 0 || echo 1)" "$out"
lbctl 2 backend weight "$VIP1:7000/tcp" "$(fleet_backend_addr 1)" 1 >/dev/null
lbctl 2 -j status >"$T/status2.json"
on l1 "$O/lbctl" compare "$T"/status{1,2,3}.json >/dev/null
check "weight put back: the digests agree again" $? "compare still differs"
python3 - "$T/status3.json" "$T/status3-novip.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
s["tables"] = s["tables"][:1]
json.dump(s, open(sys.argv[2], "w"))
PY
out=$(on l1 "$O/lbctl" compare "$T/status1.json" "$T/status3-novip.json")
rc=$?
check "lbctl compare: a VIP missing on one balancer is named" \
	"$([ $rc -eq 1 ] && grep -q "^VIP $VIP2:7001/tcp: tables differ:.*(no such VIP)" <<<"$out" &&
		grep -q "not on $T/status3-novip.json" <<<"$out" && echo 0 || echo 1)" "exit $rc: $out"
out=$(on l1 "$O/lbctl" compare "$T/status1.json" /nonexistent 2>&1)
rc=$?
check "lbctl compare: an unreadable file is one error (exit 2)" \
	"$([ $rc -eq 2 ] && [ "$(wc -l <<<"$out")" = 1 ] && grep -q nonexistent <<<"$out" && echo 0 || echo 1)" "exit $rc: $out"

# ------------------------------------------------------------ a link down
hold_start link || exit 1
p0=$(vip_packets 2)
sleep 1
p1=$(vip_packets 2)
check "l2 carries its share before its link goes down ($p0 -> $p1 packets)" \
	"$([ "$p1" -gt "$((p0 + 100))" ] && echo 0 || echo 1)" "$p0 -> $p1"
t0=$(date +%s%N)
ip -n "$NAME-l2" link set eth0 down
if ms=$(wait_paths $VIP1 "$(fleet_lb_addr 1) $(fleet_lb_addr 3)" 50); then
	pass "link down on l2: the router dropped it in $(( ($(date +%s%N) - t0) / 1000000 )) ms (BFD 100 ms x 5)"
else
	fail "link down on l2: the router drops it" "paths '$(fleet_paths "$NAME" $VIP1)'"
fi
sleep 3
hold_check link "link down on l2: no connection broken or stalled over 2 s"
ip -n "$NAME-l2" link set eth0 up
# the kernel dropped l2's route to the far backends with its link
ip -n "$NAME-l2" route replace "$FLEET_NET.2.0/24" via "$FLEET_RT4"
if ms=$(wait_paths $VIP1 "$ALL" 300) && wait_paths $VIP2 "$ALL" 50 >/dev/null; then
	pass "link up on l2: lbd announced again, the router has 3 paths after ${ms} ms"
else
	fail "link up on l2: back in the router" "paths '$(fleet_paths "$NAME" $VIP1)' and '$(fleet_paths "$NAME" $VIP2)', l2 table '$(announced 2)'"
fi

# ------------------------------------------------------------ lbd and BIRD killed
hold_start crash || exit 1
pid=$(lbd_pid 3)
t0=$(date +%s%N)
kill -KILL "$pid"
fleet_bird_stop "$NAME" l3
if wait_paths $VIP1 "$(fleet_lb_addr 1) $(fleet_lb_addr 2)" 50 >/dev/null; then
	pass "lbd and BIRD of l3 killed: the router dropped it in $(( ($(date +%s%N) - t0) / 1000000 )) ms"
else
	fail "lbd and BIRD of l3 killed: the router drops it" "paths '$(fleet_paths "$NAME" $VIP1)'"
fi
sleep 3
hold_check crash "lbd and BIRD of l3 killed: no connection broken or stalled over 2 s"
fleet_bird "$NAME" l3
lbd_start 3 || fail "lbd 3 restarts" "$(tail -3 "$T/lbd3.err")"
if ms=$(wait_paths $VIP1 "$ALL" 300); then
	pass "l3 back: BIRD and lbd restarted, 3 paths after ${ms} ms"
else
	fail "l3 back in the router" "paths '$(fleet_paths "$NAME" $VIP1)'"
fi

# ------------------------------------------------------------ lbd alone killed
hold_start kill9 || exit 1
kill -KILL "$(lbd_pid 1)"
sleep 3
s=$(announced 1)
check "kill -9 of lbd on l1: its routes stay in its table" \
	"$([ "$s" = "$VIP1 $VIP2" ] && echo 0 || echo 1)" "'$s'"
s=$(fleet_paths "$NAME" $VIP1)
check "kill -9 of lbd on l1: the router keeps its path" \
	"$([ "$s" = "$ALL" ] && echo 0 || echo 1)" "'$s'"

hold_check kill9 "kill -9 of lbd on l1: its datapath forwards on, no connection broken or stalled"
lbd_start 1 || fail "lbd 1 restarts" "$(tail -3 "$T/lbd1.err")"

# ------------------------------------------------------------ node drain
hold_start drain || exit 1
t0=$(date +%s%N)
lbctl 2 node drain >"$T/drain.out"
if ms=$(wait_paths $VIP1 "$(fleet_lb_addr 1) $(fleet_lb_addr 3)" 20) &&
	wait_paths $VIP2 "$(fleet_lb_addr 1) $(fleet_lb_addr 3)" 5 >/dev/null; then
	pass "node drain on l2: its routes left the router in $(( ($(date +%s%N) - t0) / 1000000 )) ms ($(cat "$T/drain.out"))"
else
	fail "node drain on l2: routes leave the router within 2 s" "paths '$(fleet_paths "$NAME" $VIP1)', l2 table '$(announced 2)'"
fi
s=$(lbctl 2 status | awk '$1 == "node" {print $2}')
check "lbctl status says the node is drained" "$([ "$s" = drained ] && echo 0 || echo 1)" "'$s'"
sleep 2
p0=$(vip_packets 2)
sleep 1
p1=$(vip_packets 2)
check "drained l2 gets no more traffic ($p0 -> $p1 packets in 1 s)" \
	"$([ "$((p1 - p0))" -lt 5 ] && echo 0 || echo 1)" "$p0 -> $p1"
hold_check drain "node drain on l2: no connection broken or stalled"
# drained survives a restart of lbd
kill -TERM "$(lbd_pid 2)"
sleep 0.5
lbd_start 2 || fail "lbd 2 restarts" "$(tail -3 "$T/lbd2.err")"
sleep 1.5
s=$(announced 2)
check "a drained node stays drained across an lbd restart" \
	"$([ -z "$s" ] && echo 0 || echo 1)" "l2 announces '$s'"
out=$(lbctl 2 -j node undrain)
check "node undrain answers with the routes it put back" \
	"$([[ $out == *'"node":"active","announcing":true,"routes":2}'* ]] && echo 0 || echo 1)" "$out"
if ms=$(wait_paths $VIP1 "$ALL" 50) && wait_paths $VIP2 "$ALL" 20 >/dev/null; then
	pass "node undrain on l2: back in the router after ${ms} ms"
else
	fail "node undrain on l2: back in the router" "paths '$(fleet_paths "$NAME" $VIP1)'"
fi

# ------------------------------------------------------------ a VIP down on one balancer
# l3 alone checks VIP2's backends on a port nothing listens on
for b in 1 2; do
	lbctl 3 backend check "$VIP2:7001/tcp" "$(fleet_far_addr $b)" \
		--check tcp:7999 --check-interval 200ms --fall 1 >/dev/null
done
if ms=$(wait_paths $VIP2 "$(fleet_lb_addr 1) $(fleet_lb_addr 2)" 60); then
	s=$(fleet_paths "$NAME" $VIP1)
	check "every backend of $VIP2 down on l3: only l3 withdrew it (${ms} ms), $VIP1 keeps 3 paths" \
		"$([ "$s" = "$ALL" ] && echo 0 || echo 1)" "$VIP1 via '$s'"
else
	fail "VIP2 down on l3: withdrawn by l3" "paths '$(fleet_paths "$NAME" $VIP2)', l3 table '$(announced 3)'; l3: $(lbctl 3 health "$VIP2:7001/tcp" | tr '\n' ' '); l2: $(lbctl 2 health "$VIP2:7001/tcp" | tr '\n' ' ')"
fi
for b in 1 2; do
	lbctl 3 backend check "$VIP2:7001/tcp" "$(fleet_far_addr $b)" \
		--check tcp --check-interval 200ms --rise 1 --fall 2 >/dev/null
done
if wait_paths $VIP2 "$ALL" 60 >/dev/null; then
	pass "backends of $VIP2 up again on l3: announced again"
else
	fail "VIP2 back on l3" "paths '$(fleet_paths "$NAME" $VIP2)'"
fi

# ------------------------------------------------------------ stop, then detach
pid=$(lbd_pid 1)
kill -TERM "$pid"
for ((i = 0; i < 50; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
sleep 1.5
s="$(announced 1)|$(fleet_paths "$NAME" $VIP1)"
check "lbd stopped (SIGTERM) on l1: its routes stay, the router keeps it" \
	"$([ "$s" = "$VIP1 $VIP2|$ALL" ] && echo 0 || echo 1)" "'$s'"
on l1 "$O/lbd" --iface eth0 -p "$R/bpf/l1" --announce-table "$FLEET_TABLE" \
	--detach >"$T/detach.out" 2>&1
s=$(announced 1)
if [ -z "$s" ] && ms=$(wait_paths $VIP1 "$(fleet_lb_addr 2) $(fleet_lb_addr 3)" 30); then
	pass "lbd --detach --announce-table on l1: routes withdrawn, the router dropped it in ${ms} ms"
else
	fail "lbd --detach withdraws" "l1 table '$s', router '$(fleet_paths "$NAME" $VIP1)': $(cat "$T/detach.out")"
fi
lbd_start 1 || fail "lbd 1 restarts" "$(tail -3 "$T/lbd1.err")"
wait_paths $VIP1 "$ALL" 100 >/dev/null ||
	fail "l1 back after its detach" "router '$(fleet_paths "$NAME" $VIP1)'"

# ------------------------------------------------------------ measured, not asserted
# The backend set changes mid-connection, then ECMP moves connections to
# balancers that never saw them: those re-hash on the new table.
hold_start moved || exit 1
for k in 1 2 3; do
	lbctl "$k" add-backend "$VIP1:7000/tcp" "$(fleet_backend_addr 4)" >/dev/null
done
sleep 1
ip -n "$NAME-l2" link set eth0 down
wait_paths $VIP1 "$(fleet_lb_addr 1) $(fleet_lb_addr 3)" 50 >/dev/null
sleep 3
fleet_hold_end "$T/h-moved/2" >/dev/null
echo "NOTE measured: a backend added, then l2's link down: $(fleet_hold_end "$T/h-moved/1") (of 200; about a third move balancer, of those a quarter or more land on the new backend)"
ip -n "$NAME-l2" link set eth0 up

finish
