#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# lb-backend's pool of origin connections: misses in a row share one
# connection, a pooled connection the origin has closed is retried on a new
# one without the client noticing, and --origin-keepalive 0 turns it off.
source "$(dirname "$0")/lib.sh"
need
start_origin
conns() { curl -s "http://127.0.0.1:$OPORT/conns"; }

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
wpid=$(worker_pids | head -1)
urls() { # PREFIX N: N urls PREFIX1..PREFIXN, comma-separated
	seq "$2" | sed "s|^|$URL$1|" | paste -sd,
}
want() { # PREFIX N BODY: the answers expected, as pburst prints them
	seq "$2" | sed "s|.*|200 MISS $3 $1&|"
}
c0=$(conns)
$HELPER pburst "$wpid" "$(urls /pl/ 6)" 1 | awk '{ print $1, $2, $4, $5 }' >"$T/pl"
c1=$(conns)
check "origin six misses of one round share one origin connection" \
	$(want /pl/ 6 hello | cmp -s - "$T/pl" && [ $((c1 - c0 - 1)) -le 1 ]; echo $?) \
	"$((c1 - c0 - 1)) new connections, answers: $(tr '\n' '|' <"$T/pl")"
# the origin closes after each answer: the requests sent behind it go
# again, on new connections, until each has its answer
$HELPER pburst "$wpid" "$(urls /stale/pl 6)" 1 | awk '{ print $1, $2, $4, $5 }' >"$T/pls"
check "origin pipelined requests behind an answer that ends the connection go again" \
	$(want /stale/pl 6 stale | cmp -s - "$T/pls"; echo $?) \
	"answers: $(tr '\n' '|' <"$T/pls")"
# the origin reads the second request and closes without an answer
$HELPER pburst "$wpid" "$(urls /hangup/pl 4)" 1 | awk '{ print $1, $2, $4, $5 }' >"$T/plh"
check "origin pipelined requests the origin read and did not answer go again" \
	$(want /hangup/pl 4 hello | cmp -s - "$T/plh"; echo $?) \
	"answers: $(tr '\n' '|' <"$T/plh")"
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
	--connect-timeout 4 --origin-timeout 8 --origin-keepalive 1
h1=$(curl -s -o /dev/null -w '%{http_code}' "$URL/sy/hot")
touch "$T/synstop.stop"
for i in $(seq 100); do
	[ -f "$T/synstop.stop.done" ] && break
	sleep 0.05
done
# two misses: more fetches at once than --origin-keepalive
curl -s -o /dev/null -w '%{http_code} %{time_total}' --max-time 15 \
	"$URL/sy/cold" >"$T/sy.cold" &
cjob=$!
curl -s -o /dev/null -w '%{http_code}' --max-time 15 "$URL/sy/cold2" \
	>"$T/sy.cold2" &
cjob2=$!
sleep 0.3
h2=$(curl -s -o /dev/null -w '%{http_code} %{time_total}' --max-time 15 \
	"$URL/sy/hot")
wait "$cjob" "$cjob2"
read -r cs ct <"$T/sy.cold"
check "origin a connect to an origin that drops SYNs does not stall the worker" \
	$([ "$h1" = 200 ] && [ "${h2% *}" = 200 ] &&
		awk -v t="${h2#* }" 'BEGIN { exit !(t < 1.5) }'; echo $?) \
	"fill $h1, HIT during the connects: ${h2% *} after ${h2#* } s"
check "origin a connect that gets no SYN-ACK ends in 504 at --connect-timeout" \
	$([ "$cs" = 504 ] && [ "$(cat "$T/sy.cold2")" = 504 ] &&
		awk -v t="$ct" 'BEGIN { exit !(t >= 3.5 && t < 7) }'; echo $?) \
	"$cs after $ct s, the second miss $(cat "$T/sy.cold2")"
stop_backend
finish
