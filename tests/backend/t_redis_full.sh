#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# A miss that finds its worker's batch full is answered at once, and asks
# Redis all the same: with --origin-keepalive 1 a worker has room for one
# fetch; while that one is parked on a slow Redis, a second miss on the
# same worker is a Redis hit, not an origin fetch.
source "$(dirname "$0")/lib.sh"
need
source "$HERE/redis_lib.sh"

start_origin
start_redis
# host 1 stores the objects in Redis
host 1
for k in 1 2; do xc "${H[1]}/full/$k" >/dev/null; done
e=$(rcmd EXISTS lb:/full/1 lb:/full/2)
check "full objects stored in Redis by another host" $([ "$e" = 2 ]; echo $?) "exists $e"

# host 2: one worker, room for one fetch, Redis behind a proxy that holds
# each answer 300 ms
: >"$T/delay"
$RH proxy "$T/proxy.port" "$RPORT" "$T/delay" &
PIDS+=($!)
for i in $(seq 100); do [ -f "$T/proxy.port" ] && break; sleep 0.05; done
WORKERS=1 start_backend --workers 1 --origin "http://127.0.0.1:$OPORT" \
	--redis "redis://127.0.0.1:$(cat "$T/proxy.port")" --redis-timeout 2 \
	--origin-keepalive 1
echo 300 >"$T/delay"
# its own header file: xc's would be shared with the second request
curl -s -D "$T/first.h" -o /dev/null --max-time 10 "$URL/full/1" &
fp=$!
# the first miss is a job, parked on its lookup
for i in $(seq 100); do
	[ "$(curl -s --max-time 10 "$URL/stats" | grep -o '"misses":[0-9]*' | head -1)" = '"misses":1' ] && break
	sleep 0.02
done
second=$(xc "$URL/full/2")
wait "$fp"
first=$(tr -d '\r' <"$T/first.h" | awk -F': ' '$1 == "X-Cache" {print $2}')
c=$(origin_count /full/2)
check "full a miss with no room in the batch is looked up in Redis" \
	$([ "${second%% *}" = HIT-REDIS ] && [ "$first" = HIT-REDIS ] && [ "$c" = 1 ]; echo $?) \
	"first '$first', second '$second', origin saw /full/2 $c times"
finish
