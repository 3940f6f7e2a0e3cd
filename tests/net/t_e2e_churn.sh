#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# End to end while things change (L2 DSR, three backends): removing a
# backend moves only the flows that were on it and leaves a long-lived
# connection to another backend alone; draining a backend keeps its
# connection and sends it no new ones; lbd killed with SIGKILL and started
# again neither resets nor stalls a streaming connection and comes back
# with the same configuration.
# shellcheck source=tests/net/e2e_lib.sh
source "$(dirname "$0")/e2e_lib.sh" "${1:-build}" c

V4=10.200.100.1
VIP=$V4:80/tcp
NF=300          # flows with fixed source ports
SPORT=40000     # the first of them
MAX_MOVED_PCT=2 # of the flows on the backends that stay (see below)

e2e_up --mode dsr
# the fixed source ports are never handed out as ephemeral ones
on cl sysctl -qw net.ipv4.ip_local_reserved_ports=$SPORT-$((SPORT + NF - 1))
backends_start 80
for k in 1 2 3; do
	lbctl_q add-backend $VIP "$(lab_backend_addr $k 4)" || finish
done
wait_in_table 3 || finish

addr_of() { lab_backend_addr "${1#b}" 4; } # bK -> its address
# flows FILE [COUNT [FIRST_SPORT]]: HTTP flows from the client, "SPORT BODY"
flows() {
	on cl python3 "$HELPER" flows $V4 80 /who "${2:-$NF}" ${3:+"$3"} >"$1"
}
# running PID: the process exists and is not a zombie waiting for a reaper
running() {
	local st
	st=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) && [ "$st" != Z ]
}
errors_in() { grep -c ' ERROR' "$1"; }
# stream_ok NAME BACKEND: the stream just stopped kept its connection to
# BACKEND, with no answer more than a second after the one before
stream_ok() {
	local err gap bodies
	err=$(stream_field error) gap=$(stream_field maxgap_ms)
	bodies=$(stream_field bodies)
	echo "stream: $STREAM_RESULT"
	check "$1" "$([ "$err" = none ] && [ "$bodies" = "$2" ] &&
		[ "${gap:-99999}" -lt 1000 ]; echo $?)" "$STREAM_RESULT"
}

# ---- removing a backend
flows "$T/before" $NF $SPORT
if [ "$(errors_in "$T/before")" -ne 0 ]; then
	fail "churn flows before the removal" "$(grep ERROR "$T/before" | head -3)"
	finish
fi
stream_start del $V4 80 || { fail "churn stream" "no first answer"; finish; }
keep=$STREAM_BE
victim=b3
[ "$keep" = b3 ] && victim=b1
lbctl_q backend del $VIP "$(addr_of $victim)" || finish
flows "$T/after" $NF $SPORT
sleep 0.5
stream_stop del

res=$(join "$T/before" "$T/after" | awk -v v=$victim '
	$3 == "ERROR" { err++; next }
	$2 == v { onv++; if ($3 == v) stayed++; next }
	{ other++; if ($3 != $2) moved++ }
	END { printf "%d %d %d %d %d\n", err, onv, stayed, other, moved }')
read -r err onv stayed other moved <<<"$res"
check "churn remove $victim: all $NF flows answered after the removal" \
	"$([ "$err" -eq 0 ]; echo $?)" \
	"$err failed: $(grep ERROR "$T/after" | head -3 | tr '\n' ' ')"
check "churn remove $victim: its $onv flows moved to the other backends" \
	"$([ "$onv" -gt 0 ] && [ "$stayed" -eq 0 ]; echo $?)" \
	"$stayed of $onv flows still on $victim"
# Maglev rebuilds its table with minimal, not zero, disruption: with these
# three backends and 65537 slots, removing one re-assigns 0.1-0.3 % of the
# slots of the others, so a flow of theirs may move now and then.  Any
# wholesale re-hash moves about half of them.
check "churn remove $victim: flows on the other backends keep them ($moved of $other moved)" \
	"$([ "$other" -gt 0 ] && [ $((moved * 100)) -le $((other * MAX_MOVED_PCT)) ]; echo $?)" \
	"$moved of $other flows changed backend (at most $MAX_MOVED_PCT % allowed)"
stream_ok "churn remove $victim: a long-lived connection to $keep survives" "$keep"

lbctl_q backend add $VIP "$(addr_of $victim)" || finish
wait_in_table 3 || finish

# ---- draining a backend
stream_start drain $V4 80 || { fail "churn stream" "no first answer"; finish; }
drained=$STREAM_BE
lbctl_q backend drain $VIP "$(addr_of "$drained")" || finish
t0=$(date +%s%N)
flows "$T/drain" 60
n=$(grep -c " $drained\$" "$T/drain")
check "churn drain $drained: 60 new connections avoid it" \
	"$([ "$(errors_in "$T/drain")" -eq 0 ] && [ "$n" -eq 0 ]; echo $?)" \
	"$n went to $drained, $(errors_in "$T/drain") failed"
# at least a second of traffic on the draining backend's connection
while [ $(($(date +%s%N) - t0)) -lt 1000000000 ]; do sleep 0.1; done
stream_stop drain
stream_ok "churn drain $drained: its long-lived connection keeps working" "$drained"

# ---- lbd killed with SIGKILL and started again
before=$(lbctl list)
pid=$(lbd_pid)
stream_start kill $V4 80 || { fail "churn stream" "no first answer"; finish; }
busy=$STREAM_BE
sleep 0.3
kill -KILL "$pid"
for _ in $(seq 50); do
	running "$pid" || break
	sleep 0.02
done
if running "$pid"; then
	fail "churn lbd killed" "lbd $pid still runs"
	finish
fi
sleep 0.5
flows "$T/down" 20
check "churn new connections while lbd is down" \
	"$([ "$(errors_in "$T/down")" -eq 0 ]; echo $?)" \
	"$(errors_in "$T/down") of 20 failed"
if ! lbd_start; then
	fail "churn lbd restart" "$(tail -5 "$R/lbd.log" "$T/lbd.err")"
	stream_stop kill
	finish
fi
sleep 0.5
after=$(lbctl list)
flows "$T/restart" 30
stream_stop kill
stream_ok "churn lbd kill -9 and restart: streaming connection to $busy kept, no stall over 1 s" "$busy"
check "churn lbd restart: lbctl list shows the same state" \
	"$([ -n "$before" ] && [ "$before" = "$after" ]; echo $?)" \
	"before: $(echo "$before" | tr -s ' \n' ' ') after: $(echo "$after" | tr -s ' \n' ' ')"
n=$(grep -c " $drained\$" "$T/restart")
check "churn lbd restart: new connections answered, still not by drained $drained" \
	"$([ "$(errors_in "$T/restart")" -eq 0 ] && [ "$n" -eq 0 ]; echo $?)" \
	"$(errors_in "$T/restart") of 30 failed, $n went to $drained"

finish
