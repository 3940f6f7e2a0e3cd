#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# lb_ct4, the table of IPv4 flows to a VIP of one port, kept by lbd: a
# burst of more new flows than its smallest size holds makes lbd double
# it (flows were evicted); flows that send no more are forgotten after
# --conntrack-idle and the table halves again; a flow that keeps sending
# stays remembered throughout, on its backend.  Bad --conntrack-idle
# values are refused.
# shellcheck source=tests/net/e2e_lib.sh
source "$(dirname "$0")/e2e_lib.sh" "${1:-build}" ct

V4=10.200.100.1
FLOWS=40000 # more than the 32768 words of the smallest table
IDLE=10     # --conntrack-idle: a sweep every 5 s

# bad values: one line naming the option, exit 2, no lbd started
for bad in 5 abc 700000; do
	out=$("$O/lbd" --iface lo --conntrack-idle "$bad" --pin /nonexistent 2>&1)
	rc=$?
	if [ $rc -eq 2 ] && [ "$(wc -l <<<"$out")" -eq 1 ] &&
		[[ $out == *"conntrack idle time"* ]]; then
		pass "conntrack_idle_$bad refused"
	else
		fail "conntrack_idle_$bad refused" "exit $rc: $out"
	fi
done

E2E_LBD_ARGS=(--conntrack-idle "$IDLE" --conntrack-size 65536)
e2e_up --mode dsr
for k in 1 2; do
	lbctl_q add-backend $V4:9000/udp "$(lab_backend_addr $k 4)" || finish
done
wait_in_table 2 || finish

status() { lbctl -j status | json_get "$1"; }
lines0=$(status conntrack_ipv4_lines)

# a flow that keeps sending, once a second, for the whole test
on_bg cl python3 "$HERE/udpflow.py" send $V4 9000 20 1000 40123
sleep 1.5
keeper=$(lbctl -j explain 10.200.0.10:40123 $V4:9000 udp | python3 -c '
import json, sys
print((json.load(sys.stdin).get("conntrack") or {}).get("backend"))')

# the burst: one datagram from each of FLOWS source ports
on cl python3 -c '
import socket, sys
addr, n = sys.argv[1], int(sys.argv[2])
sent = 0
port = 10000
while sent < n:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.bind(("0.0.0.0", port))
        s.sendto(b"x", (addr, 9000))
        sent += 1
    except OSError:
        pass
    s.close()
    port += 1
' $V4 $FLOWS
grown=
for _ in $(seq 30); do
	grown=$(status conntrack_ipv4_lines)
	[ "$grown" -gt "$lines0" ] && break
	sleep 0.2
done
flows=$(status conntrack_ipv4_flows)
if [ "$grown" -gt "$lines0" ] && [ "$flows" -gt 20000 ] &&
	grep -q "connection table (IPv4): $grown lines (was $lines0), flows were evicted" "$R/lbd.log"; then
	pass "ct4_grows_when_flows_are_evicted ($lines0 -> $grown lines, $flows flows)"
else
	fail ct4_grows_when_flows_are_evicted "lines $lines0 -> $grown, $flows flows; log: $(grep 'connection table' "$R/lbd.log" | tail -2)"
fi
evicted=$(stat_packets conntrack_evict)
if [ "${evicted:-0}" -gt 0 ]; then
	pass "ct4_evictions_counted ($evicted)"
else
	fail ct4_evictions_counted "conntrack_evict: $evicted"
fi

# idle flows forgotten within IDLE seconds (plus a tick), and the table
# back to its size before the burst; the keeper stays
left=$flows
for _ in $(seq 40); do
	left=$(status conntrack_ipv4_flows)
	now=$(status conntrack_ipv4_lines)
	[ "$left" -le 1 ] && [ "$now" -eq "$lines0" ] && break
	sleep 0.5
done
still=$(lbctl -j explain 10.200.0.10:40123 $V4:9000 udp | python3 -c '
import json, sys
print((json.load(sys.stdin).get("conntrack") or {}).get("backend"))')
if [ "$left" -eq 1 ] && [ "$now" -eq "$lines0" ]; then
	pass "ct4_idle_flows_forgotten_and_table_shrinks ($now lines)"
else
	fail ct4_idle_flows_forgotten_and_table_shrinks "$left flows, $now lines (want 1, $lines0)"
fi
if [ -n "$keeper" ] && [ "$keeper" != None ] && [ "$still" = "$keeper" ]; then
	pass "ct4_active_flow_kept_on_its_backend ($keeper)"
else
	fail ct4_active_flow_kept_on_its_backend "before: $keeper, after: $still"
fi
# a removed backend's flows are forgotten (at lbd's next tick), before its
# id can be handed out again
ct_entry() { # SRCPORT: "ID BACKEND" of the flow's entry, or "none"
	lbctl -j explain "10.200.0.10:$1" $V4:9000 udp | python3 -c '
import json, sys
c = json.load(sys.stdin).get("conntrack")
print("%s %s" % (c["backend_id"], c.get("backend")) if c else "none")'
}
on cl python3 "$HERE/udpflow.py" send $V4 9000 1 0 40200
sleep 0.3
entry=$(ct_entry 40200)
gone=${entry#* }
if [ "$entry" != none ] && lbctl_q del-backend $V4:9000/udp "$gone"; then
	for _ in $(seq 30); do
		[ "$(ct_entry 40200)" = none ] && break
		sleep 0.1
	done
	if [ "$(ct_entry 40200)" = none ] &&
		grep -q "forgot [0-9]* flows of removed backends" "$R/lbd.log"; then
		pass "ct4_removed_backend_flows_forgotten ($gone)"
	else
		fail ct4_removed_backend_flows_forgotten "the flow's entry: $(ct_entry 40200)"
	fi
else
	fail ct4_removed_backend_flows_forgotten "no entry for the flow ($entry)"
fi
# the keeper ends by itself (rather than be killed with the lab)
for _ in $(seq 60); do
	pgrep -f "udpflow.py send $V4 9000 20 1000 40123" >/dev/null || break
	sleep 0.25
done
finish
