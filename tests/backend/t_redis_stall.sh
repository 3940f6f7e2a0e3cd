#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# A stalled Redis never holds a worker: with one worker and a long
# --redis-timeout, a miss whose lookup waits on a SIGSTOPped redis-server
# is parked while the same worker goes on answering /healthz and local hits
# on other connections; the miss itself is answered from the origin once
# the timeout passes, the breaker opens, later misses skip Redis at once,
# and once the server is back the breaker closes and stores resume.  A
# PURGE waiting on the stalled server holds no worker either: it is
# answered once the timeout passes, the worker serving others meanwhile.
source "$(dirname "$0")/lib.sh"
need
source "$HERE/redis_lib.sh"

# ms URL: "status milliseconds X-Cache" of one request
ms() {
	local h t
	h=$(mktemp -p "$T")
	t=$(curl -s -o /dev/null -D "$h" -w '%{http_code} %{time_total}' --max-time 10 "$1" |
		awk '{printf "%s %d", $1, $2 * 1000}')
	echo "$t $(tr -d '\r' <"$h" | awk -F': ' '$1 == "X-Cache" {print $2}')"
}

start_origin
start_redis
WORKERS=1 start_backend --workers 1 --origin "http://127.0.0.1:$OPORT" \
	--redis "redis://127.0.0.1:$RPORT" --redis-timeout 3 --redis-retry 2
warm=$(xc "$URL/st/warm")
warm2=$(xc "$URL/st/warm")
check "stall warm-up: a miss, then a local hit" \
	$([ "$warm" = "MISS hello /st/warm" ] && [ "$warm2" = "HIT hello /st/warm" ]; echo $?) "got '$warm' '$warm2'"

kill -STOP "$RPID"
# a miss whose lookup now waits on Redis, up to --redis-timeout (3 s)
ms "$URL/st/cold" >"$T/cold" &
cp=$!
sleep 0.3
read -r hz_st hz_ms _ < <(ms "$URL/healthz")
read -r hit_st hit_ms hit_xc < <(ms "$URL/st/warm")
# the miss is still parked (its Redis lookup has not timed out yet)
kill -0 "$cp" 2>/dev/null
parked=$?
check "stall /healthz answered while a lookup waits on Redis" \
	$([ "$hz_st" = 200 ] && [ "$hz_ms" -lt 1500 ] && [ "$parked" -eq 0 ]; echo $?) \
	"status $hz_st after $hz_ms ms (miss still waiting: $([ "$parked" -eq 0 ] && echo yes || echo no))"
check "stall a local hit answered while a lookup waits on Redis" \
	$([ "$hit_st" = 200 ] && [ "$hit_xc" = HIT ] && [ "$hit_ms" -lt 1500 ]; echo $?) \
	"$hit_st $hit_xc after $hit_ms ms"
wait "$cp"
# the breaker open: Redis is skipped, the timeout is not paid again
read -r n_st n_ms n_xc < <(ms "$URL/st/next")
read -r c_st c_ms c_xc <"$T/cold"
check "stall the parked miss answered from the origin after the timeout" \
	$([ "$c_st" = 200 ] && [ "$c_xc" = MISS ] && [ "$c_ms" -ge 2500 ]; echo $?) "$c_st $c_xc after $c_ms ms"
to=$(rstat "$URL" timeouts)
b=$(rstat "$URL" breaker)
check "stall the timeout opened the breaker" $([ "$to" -eq 1 ] && [ "$b" = open ]; echo $?) "timeouts $to breaker $b"
sk=$(rstat "$URL" skipped)
check "stall with the breaker open a miss skips Redis at once" \
	$([ "$n_st" = 200 ] && [ "$n_xc" = MISS ] && [ "$n_ms" -lt 1500 ] && [ "$sk" -ge 1 ]; echo $?) \
	"$n_st $n_xc after $n_ms ms, skipped $sk"

kill -CONT "$RPID"
sleep 2.2
# the first miss after --redis-retry probes; the breaker closes on its answer
xc "$URL/st/back1" >/dev/null
xc "$URL/st/back2" >/dev/null
b=$(rstat "$URL" breaker)
e=$(rcmd EXISTS lb:/st/back2)
check "stall Redis back: the breaker closes and stores resume" \
	$([ "$b" = closed ] && [ "$e" -eq 1 ]; echo $?) "breaker $b, stored $e"

kill -STOP "$RPID"
curl -s -w ' %{http_code}' --max-time 20 -X PURGE "$URL/st/back2" >"$T/purge" &
pp=$!
# the PURGE has begun (counted) and waits on Redis
for i in $(seq 100); do
	[ "$(curl -s --max-time 10 "$URL/stats" | grep -o '"purges":[0-9]*')" = '"purges":1' ] && break
	sleep 0.02
done
read -r hit_st hit_ms hit_xc < <(ms "$URL/st/back1")
kill -0 "$pp" 2>/dev/null
waiting=$?
check "stall a local hit answered while a PURGE waits on Redis" \
	$([ "$hit_st" = 200 ] && [ "$hit_xc" = HIT ] && [ "$waiting" -eq 0 ]; echo $?) \
	"$hit_st $hit_xc after $hit_ms ms (PURGE still waiting: $([ "$waiting" -eq 0 ] && echo yes || echo no))"
wait "$pp"
r=$(tr -d '\n' <"$T/purge")
check "stall the waiting PURGE answered once the timeout passed, Redis not told" \
	$([[ $r == '{"local":1,"redis":0,"receivers":0,"error":"Connection timed out"} 502' ]]; echo $?) "got '$r'"
kill -CONT "$RPID"
finish
