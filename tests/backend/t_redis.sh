#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# lb-backend's Redis tier against a real redis-server: three backend hosts
# (three servers, each with its own local tier) share one Redis; a cold
# object reaches the origin once; a restarted host's first request is a
# Redis hit; the remaining TTL carries over; what may not be shared never
# reaches Redis; oversized, damaged and misplaced values are never served;
# a Redis that answers errors, is stopped, is slow or is killed fails no
# request, and the breaker opens and closes with one log line each way.
source "$(dirname "$0")/lib.sh"
need
source "$HERE/redis_lib.sh"

# bad options: one line naming what is wrong, nothing started
for bad in "--redis http://127.0.0.1:1" "--redis redis://127.0.0.1:0" \
	"--redis unix:relative" "--redis-timeout 0" "--redis-max-object 3"; do
	out=$("$BIN" --listen 127.0.0.1:1 --origin http://127.0.0.1:1 $bad 2>&1)
	rc=$?
	check "redis refuses '$bad' in one line" \
		$([ "$rc" -ne 0 ] && [ "$(echo "$out" | wc -l)" -eq 1 ] && [[ $out == *"${bad%% *}"* ]]; echo $?) "rc $rc: $out"
done

start_origin
start_redis
host 1
host 2
host 3

# --- one origin fetch for a cold object over three hosts
a1=$(xc "${H[1]}/obj/a")
a2=$(xc "${H[2]}/obj/a")
a3=$(xc "${H[3]}/obj/a")
a2b=$(xc "${H[2]}/obj/a")
check "redis cold object: MISS on the first host" $([ "$a1" = "MISS hello /obj/a" ]; echo $?) "got '$a1'"
check "redis cold object: Redis hit on the other hosts" \
	$([ "$a2" = "HIT-REDIS hello /obj/a" ] && [ "$a3" = "HIT-REDIS hello /obj/a" ]; echo $?) "got '$a2' '$a3'"
check "redis a Redis hit fills the local tier" $([ "$a2b" = "HIT hello /obj/a" ]; echo $?) "got '$a2b'"
n=$(origin_count /obj/a)
check "redis cold object fetched from the origin once in total" $([ "$n" -eq 1 ]; echo $?) "origin saw $n"

# --- the stored object: documented format, the origin's TTL
v=$(rcmd GET lb:/obj/a | head -c 4 | od -An -c | tr -s ' ')
ttl=$(rcmd PTTL lb:/obj/a)
check "redis stored with the format's magic and version" $([ "$v" = " L B O 001" ]; echo $?) "starts '$v'"
check "redis stored with the origin's max-age as TTL" $([ "$ttl" -gt 50000 ] && [ "$ttl" -le 60000 ]; echo $?) "PTTL $ttl"

# --- a restarted host: its first request is a Redis hit
kill -KILL "${B[2]}"
wait "${B[2]}" 2>/dev/null
host 2
r=$(xc "${H[2]}/obj/a")
check "redis restarted host's first request is a Redis hit" $([ "$r" = "HIT-REDIS hello /obj/a" ]; echo $?) "got '$r'"

# --- a Redis hit fills the local tier with the remaining TTL only
xc "${H[1]}/obj/ttl" >/dev/null
rcmd PEXPIRE lb:/obj/ttl 1500 >/dev/null
r1=$(xc "${H[2]}/obj/ttl")
sleep 2.2
r2=$(xc "${H[2]}/obj/ttl")
n=$(origin_count /obj/ttl)
check "redis remaining TTL: the local copy expires with Redis's" \
	$([ "$r1" = "HIT-REDIS hello /obj/ttl" ] && [ "$r2" = "MISS hello /obj/ttl" ] && [ "$n" -eq 2 ]; echo $?) \
	"got '$r1' then '$r2', origin saw $n"

# --- the local tier's rules: no-store, private, Set-Cookie never stored
xc "${H[1]}/nostore/x" >/dev/null
xc "${H[1]}/private/0/x" >/dev/null
xc "${H[1]}/raw/cookie/x" >/dev/null
e=$(rcmd EXISTS lb:/nostore/x lb:/private/0/x lb:/raw/cookie/x)
check "redis no-store, private and Set-Cookie never reach Redis" $([ "$e" -eq 0 ]; echo $?) "$e of them stored"

# --- size limit, and values nobody may serve
stop_hosts() { for n in 1 2 3; do kill -KILL "${B[n]}" 2>/dev/null; wait "${B[n]}" 2>/dev/null; done; }
stop_hosts
host 1 --redis-max-object 4096
host 2 --redis-max-object 4096
r=$(curl -s --max-time 10 "${H[1]}/big/10000/x" | wc -c)
e=$(rcmd EXISTS lb:/big/10000/x)
check "redis object over --redis-max-object served, not stored" $([ "$r" -eq 10000 ] && [ "$e" -eq 0 ]; echo $?) "$r bytes, stored $e"
rcmd SET lb:/obj/huge "$(head -c 20000 /dev/zero | tr '\0' x)" >/dev/null
r=$(xc "${H[2]}/obj/huge")
check "redis an oversized stored value is dropped unread" $([ "$r" = "MISS hello /obj/huge" ]; echo $?) "got '$r'"
xc "${H[1]}/obj/c" >/dev/null
$RH corrupt "$RPORT" lb:/obj/c >/dev/null
r=$(xc "${H[2]}/obj/c")
check "redis a damaged stored value is not served" $([ "$r" = "MISS hello /obj/c" ]; echo $?) "got '$r'"
xc "${H[1]}/obj/d" >/dev/null
$RH copy "$RPORT" lb:/obj/d lb:/obj/e >/dev/null
r=$(xc "${H[2]}/obj/e")
check "redis a value stored under another key is not served" $([ "$r" = "MISS hello /obj/e" ]; echo $?) "got '$r'"
rcmd SET lb:/obj/g "HTTP/1.1 200 OK" >/dev/null
rcmd SADD lb:/obj/set member >/dev/null
r=$(xc "${H[2]}/obj/g")
r2=$(xc "${H[2]}/obj/set")
check "redis foreign values and types are not served" \
	$([ "$r" = "MISS hello /obj/g" ] && [ "$r2" = "MISS hello /obj/set" ]; echo $?) "got '$r' '$r2'"
c=$(rstat "${A[2]}" corrupt)
tb=$(rstat "${A[2]}" too_big)
check "redis refused values are counted" $([ "$c" -ge 3 ] && [ "$tb" -ge 1 ]; echo $?) "corrupt $c too_big $tb"
stop_hosts

# --- a slow origin fetch does not hold the worker: with the Redis tier
# too, a HIT on the same (only) worker is answered while the miss waits
# for the origin, and the miss's answer is then stored in Redis
WORKERS=1 start_backend --workers 1 --origin "http://127.0.0.1:$OPORT" \
	--redis "redis://127.0.0.1:$RPORT" --redis-timeout 1
xc "$URL/obj/hot1" >/dev/null
curl -s -o "$T/slowr" --max-time 10 "$URL/slow/3000/rs1" &
sj=$!
sleep 0.5
h=$(curl -s -o /dev/null -w '%{http_code} %{time_total}' --max-time 10 "$URL/obj/hot1")
early=$([ -s "$T/slowr" ]; echo $?)
wait "$sj"
e=$(rcmd EXISTS lb:/slow/3000/rs1)
check "redis a slow origin fetch does not hold the worker" \
	$([ "${h% *}" = 200 ] && awk -v t="${h#* }" 'BEGIN { exit !(t < 1.5) }' &&
		[ "$early" -ne 0 ] && [ "$(cat "$T/slowr")" = "hello /slow/3000/rs1" ] &&
		[ "$e" -eq 1 ]; echo $?) \
	"HIT ${h% *} after ${h#* } s, slow answer '$(cat "$T/slowr")' $([ "$early" -ne 0 ] && echo after || echo before) it, stored $e"
stop_backend

# --- a Redis that answers errors: every request from the origin
$RH errors "$T/err.port" &
PIDS+=($!)
for i in $(seq 100); do [ -f "$T/err.port" ] && break; sleep 0.05; done
WORKERS=2 start_backend --workers 2 --origin "http://127.0.0.1:$OPORT" \
	--redis "redis://127.0.0.1:$(cat "$T/err.port")" --redis-timeout 1
bad=0
for i in $(seq 10); do
	r=$(xc "$URL/err/$i")
	[ "$r" = "MISS hello /err/$i" ] || bad=$((bad + 1))
done
e=$(rstat "$URL" errors)
check "redis answering errors: every request answered right" $([ "$bad" -eq 0 ]; echo $?) "$bad wrong"
check "redis answering errors: counted" $([ "$e" -ge 10 ]; echo $?) "errors $e"
stop_backend

# --- under load: Redis stopped, slow, killed; no request fails
: >"$T/delay"
$RH proxy "$T/proxy.port" "$RPORT" "$T/delay" &
PIDS+=($!)
for i in $(seq 100); do [ -f "$T/proxy.port" ] && break; sleep 0.05; done
: >"$T/backend.log"
host 2
WORKERS=2 start_backend --workers 2 --origin "http://127.0.0.1:$OPORT" \
	--redis "redis://127.0.0.1:$(cat "$T/proxy.port")" --redis-timeout 0.02 --redis-retry 0.3
# phases of 1.5 s under load: healthy, slow (answers held 200 ms), healthy,
# stopped (SIGSTOP: no answer at all), healthy
$RH load "$URL" 7.5 4 400 "$T/load" &
lp=$!
sleep 1.5
echo 200 >"$T/delay"
sleep 1.5
echo 0 >"$T/delay"
sleep 1.5
kill -STOP "$RPID"
sleep 1.5
kill -CONT "$RPID"
wait "$lp"
read -r _ ok _ nfail rest <"$T/load"
check "redis stopped and slow under load: 0 failed requests" $([ "$nfail" -eq 0 ] && [ "$ok" -gt 100 ]; echo $?) "ok $ok fail $nfail $rest"
opened=$(rstat "$URL" breaker_opened)
to=$(rstat "$URL" timeouts)
check "redis breaker opened on the slow and on the stopped server" $([ "$opened" -ge 2 ] && [ "$to" -ge 2 ]; echo $?) "opened $opened timeouts $to"
# every worker's breaker closes (the idle one by its own probe), then a
# miss is stored (not waited for: through the proxy it may come after the
# next request of another host) and that host finds it
for i in $(seq 100); do
	[ "$(curl -s --max-time 10 "$URL/stats" | grep -o '"breaker":"[a-z]*"')" = '"breaker":"closed"' ] && break
	sleep 0.05
done
r1=$(xc "$URL/after/1")
for i in $(seq 100); do
	[ "$(rcmd EXISTS lb:/after/1)" = 1 ] && break
	sleep 0.05
done
r2=$(xc "${H[2]}/after/1")
b=$(rstat "$URL" breaker)
check "redis breaker closed and hits resume once the server is back" \
	$([ "$r1" = "MISS hello /after/1" ] && [ "$r2" = "HIT-REDIS hello /after/1" ] && [ "$b" = closed ]; echo $?) \
	"got '$r1' then '$r2', breaker $b"
nopen=$(grep -c 'going to the origin without it' "$T/backend.log")
nback=$(grep -c 'answering again' "$T/backend.log")
check "redis one log line per breaker transition" \
	$([ "$nopen" -eq "$opened" ] && [ "$nback" -ge 1 ] && [ "$nback" -le "$nopen" ]; echo $?) \
	"$nopen open lines, $nback back lines, $opened openings"
# killed, then back
kill -KILL "$RPID"
wait "$RPID" 2>/dev/null
$RH load "$URL" 1.5 4 400 "$T/load2" &
lp=$!
sleep 0.7
start_redis "$RPORT"
wait "$lp"
read -r _ ok _ nfail rest <"$T/load2"
check "redis killed and restarted under load: 0 failed requests" $([ "$nfail" -eq 0 ] && [ "$ok" -gt 50 ]; echo $?) "ok $ok fail $nfail $rest"
e=$(rstat "$URL" errors)
check "redis killed: counted as errors" $([ "$e" -ge 1 ]; echo $?) "errors $e"
sleep 0.5
xc "$URL/back/1" >/dev/null
e=$(rcmd EXISTS lb:/back/1)
check "redis stores resume after the restart" $([ "$e" -eq 1 ]; echo $?) "stored $e"
m=$(curl -s --max-time 10 "$URL/metrics" | grep -c '^lb_backend_redis_')
check "redis figures in /metrics" $([ "$m" -ge 12 ]; echo $?) "$m lines"
finish
