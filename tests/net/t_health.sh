#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# Health checks end to end: a stopped backend is taken out within
# fall x interval + timeout and no new connection reaches it while the
# others' connections live on; it comes back after rise checks; HTTP 500
# and a server that accepts but never answers are caught; a draining
# lb-backend (503 on /healthz) leaves before it stops accepting; slow
# start ramps a returning backend's share of new flows.
# shellcheck source=tests/net/e2e_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/e2e_lib.sh" "${1:-build}" hc

VIP=10.200.100.1:80/tcp
URL=http://10.200.100.1/who
INTERVAL_MS=300
TIMEOUT_MS=200
FALL=2

e2e_up --backends 3
backends_start 80
lbctl_q vip add "$VIP" --check http:/healthz \
	--check-interval ${INTERVAL_MS}ms --check-timeout ${TIMEOUT_MS}ms \
	--rise 2 --fall $FALL || finish
for k in 1 2 3; do
	lbctl_q add-backend "$VIP" "10.200.0.1$k" || finish
done
wait_in_table 3 || finish

# lbctl health shows the check as it was typed
line=$(lbctl health "$VIP" | head -1)
check "health shows --check as typed" \
	"$(grep -q "^$VIP  check http:/healthz  every ${INTERVAL_MS}ms" <<<"$line"; echo $?)" "'$line'"
# a check set on a VIP whose backends are up: SINCE counts from then; an
# interval below 500 ms alone takes it as the timeout
V2=10.200.100.2:80/tcp
lbctl_q add-backend "$V2" 10.200.0.11 &&
	lbctl_q vip set "$V2" --check tcp --check-interval 200ms
h2=$(lbctl -j health "$V2" | python3 -c '
import json, sys
v = json.load(sys.stdin)["vips"][0]
b = v["backends"][0]
print(v["check"]["timeout_ms"], b["health"], "since" if "since_transition_s" in b else "no-since")')
row=$(lbctl health "$V2" | grep "10.200.0.11")
check "a 200ms interval alone gets a 200 ms timeout" \
	"$([ "${h2%% *}" = 200 ]; echo $?)" "timeout, health, since: $h2"
check "SINCE shown for a backend up since its check was set" \
	"$([ "${h2#* }" = "up since" ] && grep -Eq ' [0-9]+s ' <<<"$row"; echo $?)" "$h2; row '$row'"
lbctl_q vip del "$V2"

# health_of K FIELD: a field of backend K in `lbctl -j health`
health_of() {
	lbctl -j health | python3 -c '
import json, sys
for v in json.load(sys.stdin)["vips"]:
    for b in v["backends"]:
        if b["backend"] == sys.argv[1]:
            print(b.get(sys.argv[2], ""))' "10.200.0.1$1" "$2"
}
# wait_health K up|down SECONDS: sets WAITED (seconds, 0.1 resolution)
wait_health() {
	local i
	WAITED=
	for i in $(seq $(($3 * 20))); do
		if [ "$(health_of "$1" health)" = "$2" ]; then
			WAITED=$(awk -v i="$i" 'BEGIN { printf "%.2f", i / 20 }')
			return 0
		fi
		sleep 0.05
	done
	return 1
}
backend_stop() { # K: every process of backend host K
	local p
	for p in $(ip netns pids "$NAME-b$1"); do kill -KILL "$p"; done
	sleep 0.1
}
backend_run() { # K [lb-backend options]: lb-backend on port 80 again
	local k=$1
	shift
	on_bg "b$k" "$O/lb-backend" --listen "[::]:80" --root "$T/root/b$k-80" \
		--workers 1 "$@" >>"$T/backend-b$k.log" 2>&1
	# serving (and its signal handlers in place) before anything else
	for _ in $(seq 100); do
		on "b$k" curl -s -o /dev/null --max-time 1 \
			http://127.0.0.1/healthz && return 0
		sleep 0.05
	done
	fail "lb-backend on b$k" "does not answer: $(tail -2 "$T/backend-b$k.log")"
}
# share K N: of N new connections, how many backend K answered (all must
# be answered); sets SHARE
share() {
	SHARE=-1
	http_many "$3" "$URL" "$2" 'b[123]' || return 1
	SHARE=$(grep -lx "b$1" "$T"/h/* 2>/dev/null | wc -l)
}

# ---------------------------------------------------------------- failover
stream_start a 10.200.100.1 80 || fail "stream" "no first answer"
victim=1
[ "$STREAM_BE" = b1 ] && victim=2
others=$(echo 1 2 3 | tr ' ' '\n' | grep -vx "$victim" | sed 's/^/b/' | paste -sd'|')

backend_stop "$victim"
limit=$(awk -v f=$FALL -v i=$INTERVAL_MS -v t=$TIMEOUT_MS \
	'BEGIN { printf "%.2f", (f * i * 1.1 + t + 400) / 1000 }')
if wait_health "$victim" down 10; then
	check "stopped backend down within fall x interval + timeout (${WAITED}s <= ${limit}s)" \
		"$(awk -v w="$WAITED" -v l="$limit" 'BEGIN { exit !(w <= l) }'; echo $?)" \
		"took ${WAITED}s"
	reason=$(health_of "$victim" reason)
	check "down reason names the failure" \
		"$(echo "$reason" | grep -q 'Connection refused'; echo $?)" "reason '$reason'"
else
	fail "stopped backend goes down" "still $(health_of "$victim" health) after 10 s"
fi
http_many "no new connection reaches the dead backend" "$URL" 60 "$others" &&
	pass "no new connection reaches the dead backend (60 of 60 answered by $others)"
stream_stop a
check "connection to another backend lives through the failover" \
	"$([ "$(stream_field error)" = none ] && [ "$(stream_field maxgap_ms)" -lt 1000 ]; echo $?)" \
	"$STREAM_RESULT"

# ---------------------------------------------------------------- rise
backend_run "$victim"
if wait_health "$victim" up 10; then
	check "restarted backend up after rise good checks" \
		"$([ "$(health_of "$victim" ok_streak)" -ge 2 ]; echo $?)" \
		"ok streak $(health_of "$victim" ok_streak)"
	share "$victim" 60 "back in rotation"
	check "restarted backend takes new connections again" \
		"$([ "$SHARE" -gt 0 ]; echo $?)" "it answered $SHARE of 60"
else
	fail "restarted backend comes back" "still $(health_of "$victim" health)"
fi
grep -q "backend 10.200.0.1$victim health up after 2 good checks" "$R/lbd.log"
check "transitions are logged" $? "no 'health up after 2 good checks' in lbd.log"

# a restarted lbd resumes from the saved health: a backend known down
# still needs rise good checks to come back
backend_stop "$victim"
wait_health "$victim" down 10
sleep 1.2 # the health transition is saved by the next 1 s tick
before=$(grep -c "backend 10.200.0.1$victim health up after 2 good checks" "$R/lbd.log")
pid=$(lbd_pid)
kill -TERM "$pid"
for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
lbd_start || fail "lbd restart" "$(tail -3 "$R/lbd.log")"
restarted=$(health_of "$victim" health)
backend_run "$victim"
wait_health "$victim" up 10
after=$(grep -c "backend 10.200.0.1$victim health up after 2 good checks" "$R/lbd.log")
check "after an lbd restart a backend known down is down, and needs rise checks" \
	"$([ "$restarted" = down ] && [ "$after" -eq $((before + 1)) ]; echo $?)" \
	"health right after the restart '$restarted'; 'up after 2 good checks' lines $before -> $after"

# ---------------------------------------------------------------- HTTP 500
on_bg b3 python3 -c '
import http.server
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(500)
        self.send_header("Content-Length", "0")
        self.end_headers()
    def log_message(self, *a):
        pass
http.server.HTTPServer(("0.0.0.0", 8081), H).serve_forever()'
# and one that accepts connections but never answers
on_bg b2 python3 -c '
import socket, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", 8082))
s.listen(128)
time.sleep(300)'
sleep 0.5
lbctl_q backend check "$VIP" 10.200.0.13 --check http:8081/healthz \
	--check-interval ${INTERVAL_MS}ms --check-timeout ${TIMEOUT_MS}ms
lbctl_q backend check "$VIP" 10.200.0.12 --check http:8082/healthz \
	--check-interval ${INTERVAL_MS}ms --check-timeout ${TIMEOUT_MS}ms
wait_health 3 down 5
reason=$(health_of 3 reason)
check "HTTP 500 marks a backend down" \
	"$(echo "$reason" | grep -q 'HTTP 500'; echo $?)" "health $(health_of 3 health), reason '$reason'"
wait_health 2 down 5
reason=$(health_of 2 reason)
check "a backend that accepts but never answers is caught by the timeout" \
	"$(echo "$reason" | grep -q 'timeout waiting for the answer'; echo $?)" "health $(health_of 2 health), reason '$reason'"
lbctl_q backend check "$VIP" 10.200.0.13 --inherit
lbctl_q backend check "$VIP" 10.200.0.12 --inherit
wait_health 3 up 5 && wait_health 2 up 5
check "backends follow the VIP's check again after --inherit" $? \
	"b2 $(health_of 2 health), b3 $(health_of 3 health)"

# ---------------------------------------------------------------- draining lb-backend
# lb-backend on SIGTERM answers /healthz with 503 for --drain-delay
# before it closes its listener: lbd must take it out in that window,
# and a client opening connection after connection sees no failure.
backend_stop 3
backend_run 3 --drain-delay 3
wait_health 3 up 10 || fail "b3 back for the drain test" "$(health_of 3 health)"
on_bg cl python3 "$HELPER" flows 10.200.100.1 80 /who 400 >"$T/drain-flows" 2>&1
sleep 0.3
# the master: the lb-backend whose parent is not an lb-backend
master=
for p in $(ip netns pids "$NAME-b3"); do
	[ "$(cat "/proc/$p/comm" 2>/dev/null)" = lb-backend ] || continue
	pp=$(awk '{print $4}' "/proc/$p/stat" 2>/dev/null)
	[ "$(cat "/proc/$pp/comm" 2>/dev/null)" = lb-backend ] && continue
	master=$p
done
[ -n "$master" ] || fail "draining lb-backend" "no lb-backend master found"
kill -TERM "$master"
if wait_health 3 down 5; then
	alive=$(kill -0 "$master" 2>/dev/null && echo yes || echo no)
	reason=$(health_of 3 reason)
	check "draining lb-backend taken out while it still accepts" \
		"$([ "$alive" = yes ] && echo "$reason" | grep -q 'HTTP 503'; echo $?)" \
		"alive $alive, reason '$reason'"
else
	fail "draining lb-backend taken out" "health $(health_of 3 health)"
fi
for _ in $(seq 200); do
	[ "$(wc -l <"$T/drain-flows")" -ge 400 ] && break
	sleep 0.1
done
errs=$(grep -c ERROR "$T/drain-flows")
check "no failed connection while a backend drains ($(wc -l <"$T/drain-flows") made)" \
	"$([ "$errs" -eq 0 ] && [ "$(wc -l <"$T/drain-flows")" -eq 400 ]; echo $?)" \
	"$errs failed: $(grep ERROR "$T/drain-flows" | head -3 | tr '\n' ' ')"

# ---------------------------------------------------------------- slow start
backend_run 3
wait_health 3 up 10
lbctl_q vip set "$VIP" --check http:/healthz --check-interval ${INTERVAL_MS}ms \
	--check-timeout ${TIMEOUT_MS}ms --rise 2 --fall $FALL --slowstart 8s
backend_stop 1
wait_health 1 down 5
backend_run 1
wait_health 1 up 10
early_w=$(health_of 1 table_weight)
share 1 90 "slow start: early connections"
early=$SHARE
# the weight goes on ramping while those connections are made (slowly on
# a busy machine): their share is bounded by the weight at the end
early_end_w=$(health_of 1 table_weight)
sleep 8.5
late_w=$(health_of 1 table_weight)
share 1 90 "slow start: late connections"
late=$SHARE
check "slow start ramps the weight (table weight ${early_w} then ${late_w})" \
	"$(awk -v e="$early_w" -v l="$late_w" 'BEGIN { exit !(e < 0.5 && l == 1) }'; echo $?)" \
	"early $early_w, late $late_w"
bound=$(awk -v w="$early_end_w" 'BEGIN { printf "%d", 90 * w / (w + 2) + 9 }')
check "slow start ramps the share of new flows ($early then $late of 90; early at most $bound for weight $early_end_w)" \
	"$([ "$early" -ge 0 ] && [ "$early" -le "$bound" ] && [ "$early" -lt "$late" ] &&
		[ "$late" -gt 18 ]; echo $?)" \
	"early $early (weight $early_end_w at its end: at most $bound), late $late of 90 (a third is 30)"
grep -q "health up after 2 good checks, slow start" "$R/lbd.log"
check "slow start is logged" $? "no slow start line in lbd.log"

finish
