#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# lb-backend's pool of origin connections: misses in a row share one
# connection, a pooled connection the origin has closed is retried on a new
# one without the client noticing, and --origin-keepalive 0 turns it off.
source "$(dirname "$0")/lib.sh"
need
start_origin
conns() { curl -s "http://127.0.0.1:$OPORT/conns"; }

# bad options: one line naming what is wrong, nothing started
for bad in "--origin-pipeline 0" "--origin-pipeline 9" "--origin-pipeline x"; do
	out=$("$BIN" --listen 127.0.0.1:1 --origin http://127.0.0.1:1 $bad 2>&1)
	rc=$?
	check "origin refuses '$bad' in one line" \
		$([ "$rc" -ne 0 ] && [ "$(echo "$out" | wc -l)" -eq 1 ] && [[ $out == *"${bad%% *}"* ]]; echo $?) "rc $rc: $out"
done

WORKERS=1 start_backend --workers 1 --origin "http://127.0.0.1:$OPORT"
c0=$(conns)
for i in 1 2 3 4 5 6 7 8; do curl -s -o /dev/null "$URL/ka/$i"; done
c1=$(conns)
check "origin eight misses in a row use one pooled connection" \
	$([ $((c1 - c0 - 1)) -eq 1 ]; echo $?) "$((c1 - c0 - 1)) connections (the count itself takes one)"

# the origin closes after each /stale/ answer: the next fetch finds the
# pooled connection dead and must retry on a new one
bad=0
for i in 1 2 3 4 5; do
	r=$(curl -s -w ' %{http_code}' "$URL/stale/$i" | tr -d '\n')
	[ "$r" = "stale /stale/$i 200" ] || bad=$((bad + 1))
done
check "origin a pooled connection the origin closed: no 502" $([ "$bad" -eq 0 ]; echo $?) "$bad of 5 failed"

# the origin closes a pooled connection only when our next request comes
# (a close that crosses our request): nothing came, so the request goes
# again on a new connection
bad=0
for i in 1 2 3 4 5; do
	r=$(curl -s -w ' %{http_code}' "$URL/hangup/$i" | tr -d '\n')
	[ "$r" = "hello /hangup/$i 200" ] || bad=$((bad + 1))
done
n=$($HELPER json "$URL/stats" workers.0.origin_retries)
check "origin a pooled connection closed on our request is retried, no 502" \
	$([ "$bad" -eq 0 ] && [ "$n" -ge 1 ]; echo $?) "$bad of 5 failed, origin_retries $n"

# pipelined misses on one connection: each waits for its fetch, the
# answers come in order; the same key twice in one batch is one fetch
r=$($HELPER raw "$PORT" 'GET /p/1 HTTP/1.1\r\nHost: a\r\n\r\nGET /p/2 HTTP/1.1\r\nHost: a\r\n\r\nGET /p/1 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n' |
	grep '^hello' | tr '\n' ' ')
check "origin pipelined misses answered in order" \
	$([ "$r" = "hello /p/1 hello /p/2 hello /p/1 " ]; echo $?) "got '$r'"
$HELPER burst "$URL/b/same" 20 >"$T/burst"
ok=$(awk '$1 == 200' "$T/burst" | wc -l)
check "origin 20 concurrent misses of one key: all answered, one fetch" \
	$([ "$ok" -eq 20 ] && [ "$(origin_count /b/same)" = 1 ]; echo $?) \
	"$ok answered, origin saw $(origin_count /b/same)"

# one worker: a slow fetch does not hold its other clients back; a miss
# and a hit that come while it waits are answered before it ends
curl -s "$URL/c/hot" >/dev/null
curl -s -o "$T/slowfetch" "$URL/slow/1500/s1" &
sjob=$!
sleep 0.3
m=$(curl -s --max-time 5 "$URL/c/fast" | tr -d '\n')
h=$(curl -s --max-time 5 -o /dev/null -w '%{http_code}' "$URL/c/hot")
early=$([ -s "$T/slowfetch" ]; echo $?)
wait "$sjob"
check "origin a worker serves others while its fetch waits" \
	$([ "$m" = "hello /c/fast" ] && [ "$h" = 200 ] && [ "$early" -ne 0 ] &&
		[ "$(cat "$T/slowfetch")" = "hello /slow/1500/s1" ]; echo $?) \
	"miss '$m', hit $h, slow answer $([ "$early" -ne 0 ] && echo after || echo before) them: '$(cat "$T/slowfetch")'"

# the misses of one round of the worker's loop go out together on one
# connection (HTTP/1.1 pipelining), their answers each to its own client;
# the worker is stopped while six clients send, so one round finds them
urls() { # PREFIX N: N urls PREFIX1..PREFIXN, comma-separated
	seq "$2" | sed "s|^|$URL$1|" | paste -sd,
}
want() { # PREFIX N BODY: the answers expected, as pburst prints them
	seq "$2" | sed "s|.*|200 MISS $3 $1&|"
}
# one_round PREFIX N BODY: N misses PREFIX1..PREFIXN that one round of the
# worker finds waiting at once; OK 0 when each got its answer (BODY PATH),
# NEWC the origin connections they opened, GOT the answers
one_round() {
	local c0
	c0=$(conns)
	$HELPER pburst "$(worker_pids | head -1)" "$(urls "$1" "$2")" 1 |
		awk '{ print $1, $2, $4, $5 }' >"$T/round"
	NEWC=$(($(conns) - c0 - 1))
	want "$1" "$2" "$3" | cmp -s - "$T/round"
	OK=$?
	GOT=$(tr '\n' '|' <"$T/round")
}
one_round /pl/ 6 hello
check "origin six misses of one round share one origin connection" \
	$([ "$OK" = 0 ] && [ "$NEWC" -le 1 ]; echo $?) \
	"$NEWC new connections, answers: $GOT"
# the origin closes after each answer: the requests sent behind it go
# again, on new connections, until each has its answer
one_round /stale/pl 6 stale
check "origin pipelined requests behind an answer that ends the connection go again" \
	"$OK" "answers: $GOT"
# the origin reads the second request and closes without an answer
one_round /hangup/pl 4 hello
check "origin pipelined requests the origin read and did not answer go again" \
	"$OK" "answers: $GOT"
stop_backend

# idle pooled connections close after --origin-idle-timeout
WORKERS=1 start_backend --workers 1 --origin "http://127.0.0.1:$OPORT" --origin-idle-timeout 0.3
curl -s -o /dev/null "$URL/idle/1"
n1=$(ss -tn state established "( dport = :$OPORT )" | grep -c 127.0.0.1)
sleep 1
n2=$(ss -tn state established "( dport = :$OPORT )" | grep -c 127.0.0.1)
check "origin idle pooled connection closed after --origin-idle-timeout" \
	$([ "$n1" -ge 1 ] && [ "$n2" -eq 0 ]; echo $?) "$n1 open after the fetch, $n2 after 1 s"
stop_backend

WORKERS=1 start_backend --workers 1 --origin "http://127.0.0.1:$OPORT" --origin-keepalive 0
c0=$(conns)
for i in 1 2 3 4; do curl -s -o /dev/null "$URL/nk/$i"; done
c1=$(conns)
check "origin --origin-keepalive 0: a connection per fetch" \
	$([ $((c1 - c0 - 1)) -eq 4 ]; echo $?) "$((c1 - c0 - 1)) connections"
# without a pool a request says Connection: close, so none is pipelined:
# four misses of one round are four fetches, each path asked for once
one_round /nkp/ 4 hello
n=0
for i in 1 2 3 4; do n=$((n + $(origin_count "/nkp/$i"))); done
check "origin --origin-keepalive 0: misses of one round each asked for once" \
	$([ "$OK" = 0 ] && [ "$n" -eq 4 ]; echo $?) "origin saw $n requests, answers: $GOT"
stop_backend

# --origin-pipeline 1: one request per connection at a time
WORKERS=1 start_backend --workers 1 --origin "http://127.0.0.1:$OPORT" --origin-pipeline 1
one_round /np/ 4 hello
check "origin --origin-pipeline 1: misses of one round on a connection each" \
	$([ "$OK" = 0 ] && [ "$NEWC" -eq 4 ]; echo $?) "$NEWC new connections, answers: $GOT"

# 64 misses (MAX_JOBS) take every job of the only worker: the next miss
# waits for room without holding the worker (a HIT that comes meanwhile is
# answered at once), gets its answer once a job has ended, and counts as
# one request
curl -s -o /dev/null "$URL/mj/hot"
r0=$($HELPER json "$URL/stats" workers.0.requests)
$HELPER burst "$(urls /slow/3000/mj 64)" 1 >"$T/mj.burst" &
bj=$!
sleep 0.5
curl -s -w ' %{http_code}' --max-time 15 "$URL/slow/3000/mj65" | tr -d '\n' >"$T/mj.65" &
j65=$!
sleep 0.3
h=$(curl -s -o /dev/null -w '%{http_code} %{time_total}' --max-time 10 "$URL/mj/hot")
wait "$bj" "$j65"
r1=$($HELPER json "$URL/stats" workers.0.requests)
ok=$(grep -c '^200 MISS' "$T/mj.burst")
check "origin a miss with no room for a job does not stall the worker" \
	$([ "${h% *}" = 200 ] && awk -v t="${h#* }" 'BEGIN { exit !(t < 1.5) }'; echo $?) \
	"HIT ${h% *} after ${h#* } s"
check "origin a miss that waited for room for a job is answered" \
	$([ "$ok" -eq 64 ] && [ "$(cat "$T/mj.65")" = "hello /slow/3000/mj65 200" ]; echo $?) \
	"$ok of 64 answered, the 65th: '$(cat "$T/mj.65")'"
# 64 + the 65th + the HIT + the stats request before (each is counted
# once its answer is made, so neither stats request counts itself)
check "origin a miss that waited for room counts as one request" \
	$([ $((r1 - r0)) -eq 67 ]; echo $?) "requests +$((r1 - r0)), want 67"
stop_backend

# two workers, 16 clients for 6 s, misses of the same keys in both at once: a
# miss of a key the other worker is fetching waits for that fetch without
# holding its own worker (two workers waiting for each other's fetches
# stalled every client until the origin timeout)
WORKERS=2 start_backend --workers 2 --origin "http://127.0.0.1:$OPORT"
python3 "$HERE/redis_helper.py" load "$URL/slow/300/xw" 6 16 200 "$T/xw.load"
read -r _ ok _ nfail rest <"$T/xw.load"
check "origin workers never wait for each other's fetches" \
	$([ "$nfail" -eq 0 ] && [ "$ok" -gt 100 ]; echo $?) "ok $ok fail $nfail $rest"
# and such a wait ends when the other's fetch does, told by the cache, not
# only when the waiter asks again on its timer
w0=$($HELPER json "$URL/stats" workers.0.fill_wakes)
w1=$($HELPER json "$URL/stats" workers.1.fill_wakes)
check "origin a worker waiting for another's fetch is told when it ends" \
	$([ $((${w0:-0} + ${w1:-0})) -gt 0 ]; echo $?) "fill_wakes: $w0 + $w1"
stop_backend

# an origin that never answers, --origin-timeout 3: 150 misses at once,
# 64 jobs and 86 waiting for room; every one ends in 504 within the
# origin timeout of its coming, those that waited included
WORKERS=1 start_backend --workers 1 --origin "http://127.0.0.1:$OPORT" \
	--origin-pipeline 1 --origin-timeout 3
t0=$(date +%s.%N)
$HELPER burst "$(urls /hang/mt 150)" 1 >"$T/mt.burst"
t=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }')
n=$(grep -c '^504 ' "$T/mt.burst")
check "origin misses waiting for room end in 504 at --origin-timeout" \
	$([ "$n" -eq 150 ] && awk -v t="$t" 'BEGIN { exit !(t < 5.5) }'; echo $?) \
	"$n of 150 got 504, all within $t s: $(grep -v '^504 ' "$T/mt.burst" | head -2 | tr '\n' ' ')"
stop_backend

# --origin-keepalive 2: at most two fetches at once, the others wait for
# them in the loop (six answers of 800 ms: three waves, 2.4 s)
WORKERS=1 start_backend --workers 1 --origin "http://127.0.0.1:$OPORT" \
	--origin-keepalive 2 --origin-pipeline 1
t0=$(date +%s.%N)
one_round /slow/800/kw 6 hello
t=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }')
check "origin --origin-keepalive 2: two fetches at a time" \
	$([ "$OK" = 0 ] && awk -v t="$t" 'BEGIN { exit !(t >= 2.3) }'; echo $?) \
	"$t s, answers: $GOT"
# an origin that stops answering SYNs: a fetch that waits for its connect
# waits in the worker's loop, so a HIT on the same (only) worker is
# answered at once, and the fetch ends with 504 at --connect-timeout
$HELPER synstop "$T/synstop.port" "$T/synstop.stop" &
PIDS+=($!)
for i in $(seq 100); do
	[ -f "$T/synstop.port" ] && break
	sleep 0.05
done
SPORT=$(cat "$T/synstop.port")
WORKERS=1 start_backend --workers 1 --origin "http://127.0.0.1:$SPORT" \
	--connect-timeout 4 --origin-timeout 5 --origin-keepalive 1
h1=$(curl -s -o /dev/null -w '%{http_code}' "$URL/sy/hot")
touch "$T/synstop.stop"
for i in $(seq 100); do
	[ -f "$T/synstop.stop.done" ] && break
	sleep 0.05
done
# three misses: more fetches at once than --origin-keepalive; the two
# that wait for the first still end within --origin-timeout of their
# coming, not a connect timeout after the one before them
for i in 1 2 3; do
	curl -s -o /dev/null -w '%{http_code} %{time_total}\n' --max-time 15 \
		"$URL/sy/cold$i" >"$T/sy.cold$i" &
	cjobs+=($!)
done
sleep 0.3
h2=$(curl -s -o /dev/null -w '%{http_code} %{time_total}' --max-time 15 \
	"$URL/sy/hot")
wait "${cjobs[@]}"
# which of the three came first is the kernel's: the first ends at the
# connect timeout, the other two at the origin timeout of their coming
cold=$(cat "$T"/sy.cold[123] | sort -k2 -g | tr '\n' ' ')
check "origin a connect to an origin that drops SYNs does not stall the worker" \
	$([ "$h1" = 200 ] && [ "${h2% *}" = 200 ] &&
		awk -v t="${h2#* }" 'BEGIN { exit !(t < 1.5) }'; echo $?) \
	"fill $h1, HIT during the connects: ${h2% *} after ${h2#* } s"
check "origin a connect that gets no SYN-ACK ends in 504 at --connect-timeout" \
	$(echo "$cold" | awk '{ exit !($1 == 504 && $2 >= 3.5 && $2 < 4.9) }'; echo $?) \
	"504 and time of each: $cold"
check "origin misses waiting for a fetch end in 504 at --origin-timeout" \
	$(echo "$cold" | awk '{ exit !($3 == 504 && $5 == 504 && $4 >= 4.5 && $6 < 6.5) }'; echo $?) \
	"504 and time of each: $cold"
stop_backend
finish
