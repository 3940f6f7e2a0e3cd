#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# lb-backend's Redis tier in the lab: three backend hosts behind the
# balancer (L2 DSR) share one Redis host (redis-server and the origin on a
# fourth host of the segment, not behind the VIP).  A cold object requested
# through the VIP reaches the origin once over the three hosts; a restarted
# host's first request for it is a Redis hit; a PURGE reaches every host's
# local tier within a second; Redis stopped, and Redis made slow, under
# load through the VIP fail no request, the breakers open and close, and
# Redis hits resume.
# shellcheck source=tests/net/e2e_lib.sh
source "$(dirname "$0")/e2e_lib.sh" "${1:-build}" r
need_cmd redis-server redis-cli

V4=10.200.100.1
RB=$HERE/../backend
e2e_up --mode dsr --backends 4
RH=$(lab_backend_addr 4 4) # the Redis host

on_bg b4 redis-server --port 6379 --bind "$RH" --save "" --appendonly no \
	--protected-mode no --dir "$T" --logfile "$T/redis.log"
on_bg b4 python3 "$RB/helper.py" origin "$T/origin.port" "$RH"
for _ in $(seq 100); do
	[ -f "$T/origin.port" ] && [ "$(on b4 redis-cli -h "$RH" ping 2>/dev/null)" = PONG ] && break
	sleep 0.05
done
[ -f "$T/origin.port" ] || { fail "origin start" "no port"; finish; }
OPORT=$(cat "$T/origin.port")
# the hosts reach Redis through a proxy on the Redis host, which can hold
# each answer for the milliseconds written to $T/rdelay
: >"$T/rdelay"
on_bg b4 python3 "$RB/redis_helper.py" proxy "$T/proxy.port" "$RH:6379" "$T/rdelay"
for _ in $(seq 100); do
	[ -f "$T/proxy.port" ] && break
	sleep 0.05
done
[ -f "$T/proxy.port" ] || { fail "proxy start" "no port"; finish; }
RPORT=$(cat "$T/proxy.port")
redis_pid() {
	local p
	for p in $(ip netns pids "$NAME-b4"); do
		[ "$(ps -o comm= -p "$p")" = redis-server ] && echo "$p"
	done
}
RPID=$(redis_pid)
[ -n "$RPID" ] || { fail "redis start" "$(tail -3 "$T/redis.log")"; finish; }
origin_count() { on b4 curl -s "http://$RH:$OPORT/count?p=$1"; }

# host K: lb-backend on backend K, its admin listener on ADDR:8081
host() {
	on_bg "b$1" "$O/lb-backend" --listen "[::]:80" --workers 2 \
		--origin "http://$RH:$OPORT" --redis "redis://$RH:$RPORT" \
		--redis-timeout 0.2 --redis-retry 0.3 \
		--admin-listen "$(lab_backend_addr "$1" 4):8081" \
		>>"$T/backend-b$1.log" 2>&1
	for _ in $(seq 100); do
		on "b$1" curl -s -o /dev/null --max-time 1 http://127.0.0.1:80/healthz && return 0
		sleep 0.05
	done
	fail "backend start" "b$1: $(tail -3 "$T/backend-b$1.log")"
	finish
}
# xc K PATH: "X-Cache body" of a request on host K itself
xc() {
	on "b$1" curl -s -D "$T/h" --max-time 10 "http://127.0.0.1:80$2" >"$T/b"
	echo "$(tr -d '\r' <"$T/h" | awk -F': ' '$1 == "X-Cache" {print $2}') $(head -c 60 "$T/b")"
}
# rsum FIELD: a figure of /stats' redis member summed over the hosts
rsum() {
	local k s=0 v
	for k in 1 2 3; do
		v=$(on "b$k" curl -s --max-time 5 "http://$(lab_backend_addr "$k" 4):8081/stats" |
			python3 -c 'import json,sys; print(json.load(sys.stdin)["redis"][sys.argv[1]])' "$1")
		s=$((s + ${v:-0}))
	done
	echo "$s"
}

for k in 1 2 3; do
	host "$k"
	lbctl_q add-backend $V4:80/tcp "$(lab_backend_addr "$k" 4)" || finish
done
wait_in_table 3 || finish

# rstat K FIELD: a figure of /stats' redis member on host K
rstat() {
	on "b$1" curl -s --max-time 5 "http://$(lab_backend_addr "$1" 4):8081/stats" |
		python3 -c 'import json,sys; print(json.load(sys.stdin)["redis"][sys.argv[1]])' "$2"
}

# --- a cold object through the VIP: one origin fetch over three hosts
# (Connection: close: each request on a new connection, spread by the
# balancer over the hosts)
codes=$(on cl curl -s --max-time 10 -H 'Connection: close' -o "$T/cold.body" \
	-w '%{http_code}\n' $(for _ in $(seq 24); do echo "http://$V4/lab/cold"; done))
ok=$(echo "$codes" | grep -c '^200$')
c=$(origin_count /lab/cold)
used=0
for k in 1 2 3; do
	[ $(($(rstat "$k" hits) + $(rstat "$k" misses))) -gt 0 ] && used=$((used + 1))
done
check "e2e-redis cold object through the VIP fetched from the origin once" \
	$([ "$ok" -eq 24 ] && [ "$c" -eq 1 ] && [ "$used" -ge 2 ]; echo $?) \
	"$ok of 24 answered, origin saw $c, $used hosts looked it up"

# --- a restarted host: its first request for the object is a Redis hit
for p in $(ip netns pids "$NAME-b2"); do kill -KILL "$p"; done
for _ in $(seq 100); do
	[ -z "$(ip netns pids "$NAME-b2")" ] && break
	sleep 0.05
done
host 2
r=$(xc 2 /lab/cold)
check "e2e-redis restarted host's first request is a Redis hit" \
	$([ "$r" = "HIT-REDIS hello /lab/cold" ]; echo $?) "got '$r'"

# --- PURGE reaches every host's local tier within 1 s
for _ in $(seq 40); do
	[ "$(on b4 redis-cli -h "$RH" pubsub numsub lb:purge | tail -1)" = 6 ] && break
	sleep 0.05
done
for k in 1 2 3 1 2 3; do xc "$k" /lab/p >/dev/null; done
# from the Redis host: PURGE on host 1, then every host's purge_msgs
# polled until each has heard it (all workers: 2 per host)
read -r ms heard < <(on b4 python3 -c '
import json, sys, time, urllib.request
hosts = sys.argv[1:]
def msgs():
    return [json.load(urllib.request.urlopen("http://%s:8081/stats" % h, timeout=5))
            ["redis"]["purge_msgs"] for h in hosts]
before = msgs()
urllib.request.urlopen(urllib.request.Request("http://%s:8081/lab/p" % hosts[0],
                                              method="PURGE"), timeout=5).read()
t0 = time.time()
while True:
    got = [a - b for a, b in zip(msgs(), before)]
    if min(got) >= 2 or time.time() - t0 > 3:
        break
    time.sleep(0.01)
print(int((time.time() - t0) * 1000), ",".join(map(str, got)))
' "$(lab_backend_addr 1 4)" "$(lab_backend_addr 2 4)" "$(lab_backend_addr 3 4)")
w=""
for k in 1 2 3; do w+="$(xc "$k" /lab/p | cut -d' ' -f1) "; done
check "e2e-redis PURGE reaches every host's local tier within 1 s" \
	$([ "$heard" = 2,2,2 ] && [ "${ms:-9999}" -lt 1000 ] && [[ " $w" != *" HIT "* ]]; echo $?) \
	"purge messages heard per host '$heard' after ${ms:-?} ms, then '$w'"

# --- Redis stopped under load through the VIP: no request fails.  Keys
# of their own (/stopped/), and more of them than a host's local cache
# sees in the second before the stop: a local hit never asks Redis, and
# with all keys cached no breaker would have reason to open.
on_bg cl python3 "$RB/redis_helper.py" load "http://$V4/stopped" 4 4 5000 "$T/load"
sleep 1
kill -STOP "$RPID"
sleep 1.5
kill -CONT "$RPID"
for _ in $(seq 100); do
	[ -f "$T/load" ] && break
	sleep 0.1
done
read -r _ ok _ nfail rest <"$T/load" 2>/dev/null
opened=$(rsum breaker_opened)
check "e2e-redis Redis stopped under load: 0 failed requests, breakers opened" \
	$([ "${nfail:-1}" -eq 0 ] && [ "${ok:-0}" -gt 50 ] && [ "$opened" -ge 1 ]; echo $?) \
	"ok ${ok:-?} fail ${nfail:-?} $rest, breakers opened $opened"
sleep 0.6
open_now=0
for k in 1 2 3; do [ "$(rstat "$k" breaker)" = closed ] || open_now=$((open_now + 1)); done
r1=$(xc 1 /lab/after)
r3=$(xc 3 /lab/after)
check "e2e-redis Redis back: breakers closed, Redis hits resume" \
	$([ "$open_now" -eq 0 ] && [ "$r1" = "MISS hello /lab/after" ] &&
		[ "$r3" = "HIT-REDIS hello /lab/after" ]; echo $?) \
	"$open_now hosts open, got '$r1' then '$r3'"

# --- Redis slow under load through the VIP: every answer held 800 ms, past
# the 200 ms timeout.  No request fails, each waits at most about one
# timeout (then the breaker skips Redis): none waits for a held answer
# (p99 under 600 ms); and once Redis is quick again
# the breakers close and Redis hits resume.  Keys of their own (/held/):
# the load above may have left all of its keys in every host's local
# cache, and a local hit never asks Redis.
before=$(rsum breaker_opened)
echo 800 >"$T/rdelay"
on_bg cl python3 "$RB/redis_helper.py" load "http://$V4/held" 4 4 300 "$T/slowload"
for _ in $(seq 150); do
	[ -f "$T/slowload" ] && break
	sleep 0.1
done
read -r _ ok _ nfail _ p99 rest <"$T/slowload" 2>/dev/null
opened=$(($(rsum breaker_opened) - before))
check "e2e-redis Redis slow under load: 0 failed requests, breakers opened, p99 ${p99:-?} ms" \
	$([ "${nfail:-1}" -eq 0 ] && [ "${ok:-0}" -gt 50 ] && [ "$opened" -ge 1 ] &&
		[ "${p99:-99999}" -lt 600 ]; echo $?) \
	"ok ${ok:-?} fail ${nfail:-?} p99 ${p99:-?} ms (timeout 200 ms) $rest, breakers opened $opened"
: >"$T/rdelay"
for _ in $(seq 50); do
	open_now=0
	for k in 1 2 3; do [ "$(rstat "$k" breaker)" = closed ] || open_now=$((open_now + 1)); done
	[ "$open_now" -eq 0 ] && break
	sleep 0.1
done
r1=$(xc 1 /lab/after-slow)
r3=$(xc 3 /lab/after-slow)
check "e2e-redis Redis quick again: breakers closed, Redis hits resume" \
	$([ "$open_now" -eq 0 ] && [ "$r1" = "MISS hello /lab/after-slow" ] &&
		[ "$r3" = "HIT-REDIS hello /lab/after-slow" ]; echo $?) \
	"$open_now hosts open, got '$r1' then '$r3'"
finish
