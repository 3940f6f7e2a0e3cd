#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# lb-backend as a cluster: N workers answer, they share one cache, a cold key
# stampede reaches the origin once, a killed worker is replaced without
# losing other requests, and connections queued in the kernel survive the
# death of the only worker.
source "$(dirname "$0")/lib.sh"
need
start_origin
WORKERS=4 start_backend --workers 4 --origin "http://127.0.0.1:$OPORT"

# --- N workers, distinct pids, all answering
pids=$(worker_pids | sort -u | wc -l)
check "cluster four distinct workers in /stats" $([ "$pids" -eq 4 ]; echo $?) "saw $pids"
# sequential requests, each on a new connection, go round the idle workers
for i in $(seq 20); do
	curl -s -D - -o /dev/null "$URL/healthz" | tr -d '\r' |
		awk -F': ' '$1 == "X-Served-By" {print $2}'
done | sort | uniq -c | sort -rn >"$T/seq"
nseq=$(wc -l <"$T/seq")
top=$(awk 'NR == 1 {print $1}' "$T/seq")
check "cluster sequential connections spread over the workers" \
	$([ "$nseq" -ge 3 ] && [ "$top" -le 10 ]; echo $?) \
	"$nseq workers, the busiest took $top of 20"
# slow distinct misses keep workers busy, so the kernel hands new
# connections to the idle ones
jobs=()
for i in $(seq 16); do
	$HELPER get "$URL/slow/300/d$i" >"$T/spread.$i" &
	jobs+=($!)
done
wait "${jobs[@]}"
answering=$(cat "$T"/spread.* | awk '$1 == 200 {print $3}' | sort -u | wc -l)
check "cluster requests answered by several workers" \
	$([ "$answering" -ge 2 ]; echo $?) "only $answering distinct worker(s)"

# --- the cache is shared: a HIT from a worker other than the one that missed
read -r st xc by _ < <($HELPER get "$URL/shared")
first=${by##*/}
found=""
for i in $(seq 20); do
	$HELPER get "$URL/slow/500/busy$i" >/dev/null &
	bg=$!
	sleep 0.1
	read -r st2 xc2 by2 _ < <($HELPER get "$URL/shared")
	wait "$bg"
	if [ "${by2##*/}" != "$first" ]; then
		found="$xc2"
		break
	fi
done
check "cluster first request is a MISS" $([ "$xc" = MISS ]; echo $?) "X-Cache $xc"
check "cluster second request is a HIT from another worker" \
	$([ "$found" = HIT ]; echo $?) "other worker answered '${found:-never}'"

# --- 50 concurrent requests for a cold key: one origin request
$HELPER burst "$URL/slow/400/cold" 50 >"$T/burst"
ok=$(awk '$1 == 200 && /hello \/slow\/400\/cold/' "$T/burst" | wc -l)
n=$(origin_count /slow/400/cold)
check "cluster 50 concurrent cold requests all answered" $([ "$ok" -eq 50 ]; echo $?) \
	"$ok of 50 ok: $(grep -v '^200' "$T/burst" | head -2)"
check "cluster 50 concurrent cold requests make one origin request" \
	$([ "$n" = 1 ]; echo $?) "origin saw $n requests"
hits=$(awk '$2 == "HIT"' "$T/burst" | wc -l)
check "cluster the other 49 are hits" $([ "$hits" -eq 49 ]; echo $?) "$hits hits"

# --- kill -9 of a worker under load: replaced, no request elsewhere fails.
# The victim holds a slow fetch and is stopped (SIGSTOP) before the load
# starts, so that it takes no new connection (a worker goes on serving
# while its fetches wait); the load runs on the others meanwhile.
$HELPER get "$URL/slow/3000/victim" >"$T/victim" 2>&1 &
vjob=$!
victim=""
for i in $(seq 50); do
	victim=$(python3 -c '
import json, sys, urllib.request
r = urllib.request.urlopen(sys.argv[1] + "/stats")
me = int(r.headers["X-Served-By"].split("/")[-1])
j = json.load(r)
busy = [w["pid"] for w in j["workers"] if w["connections"] > 0 and w["pid"] != me]
print(busy[0] if len(busy) == 1 else "")' "$URL" 2>/dev/null)
	[ -n "$victim" ] && break
	sleep 0.05
done
if [ -z "$victim" ]; then
	fail "cluster kill -9 under load" "could not find the busy worker"
else
	kill -STOP "$victim"
	$HELPER load "$URL/hot{i}" 3 4 "$T/load" &
	ljob=$!
	sleep 1
	kill -KILL "$victim"
	wait "$ljob"
	wait "$vjob"
	read -r _ okn _ failn _ lp < "$T/load"
	check "cluster kill -9: no failed request on other workers" \
		$([ "$failn" -eq 0 ] && [ "$okn" -gt 0 ]; echo $?) \
		"$(cat "$T/load")"
	sleep 0.3
	now=$(worker_pids)
	replaced=$( (echo "$now" | grep -qx "$victim") || [ "$(echo "$now" | wc -l)" -ne 4 ]; echo $?)
	check "cluster kill -9: worker replaced" $([ "$replaced" -ne 0 ]; echo $?) "workers: $(echo $now)"
	grep -q "worker $victim (slot [0-9]*) killed by signal 9" "$T/backend.log"
	check "cluster kill -9: reason logged" $? "no log line"
	r=$(python3 -c '
import json, sys, urllib.request
j = json.load(urllib.request.urlopen(sys.argv[1] + "/stats"))
print(sum(w["restarts"] for w in j["workers"]))' "$URL")
	check "cluster kill -9: restart counted in /stats" $([ "$r" -eq 1 ]; echo $?) "restarts $r"
fi

# --- the workers, stopped (SIGSTOP: they accept nothing); connections wait
# in the queue; they die; the replacements answer them all.  With --accept
# reuseport each queue is a worker's own socket, which the master keeps open
# for the replacement; with two workers the connections go round both.
queued_survive() { # NAME WORKERS ARGS...
	local name=$1 nw=$2 w i k okq
	shift 2
	stop_backend
	WORKERS=$nw start_backend --workers "$nw" --origin "http://127.0.0.1:$OPORT" "$@"
	w=$(worker_pids)
	# shellcheck disable=SC2086 # one pid a word
	kill -STOP $w
	rm -f "$T"/queued.*
	for i in 1 2 3 4 5 6; do
		$HELPER get "$URL/queued$name$i" >"$T/queued.$i" 2>&1 &
	done
	sleep 0.3
	# shellcheck disable=SC2086
	kill -KILL $w
	for i in 1 2 3 4 5 6; do
		for k in $(seq 100); do [ -s "$T/queued.$i" ] && break; sleep 0.05; done
	done
	okq=$(cat "$T"/queued.* | awk '$1 == 200' | wc -l)
	check "cluster queued connections survive the worker's death ($name)" \
		$([ "$okq" -eq 6 ]; echo $?) "$okq of 6 answered: $(cat "$T"/queued.* | tail -3)"
}
queued_survive shared 1
queued_survive reuseport 1 --accept reuseport
queued_survive reuseport-2 2 --accept reuseport

# --- --accept reuseport: connections go round the workers' sockets in
# turn (the kernel's hash alone would repeat a worker now and then)
stop_backend
WORKERS=3 start_backend --workers 3 --origin "http://127.0.0.1:$OPORT" --accept reuseport
for i in $(seq 12); do
	curl -s -D - -o /dev/null "$URL/healthz" | tr -d '\r' |
		awk -F': ' '$1 == "X-Served-By" {print $2}'
done >"$T/rr"
turns=$(awk '{ by[NR] = $1 } END {
	ok = NR == 12
	for (i = 1; i <= NR; i++) {
		if (i > 1 && by[i] == by[i - 1]) ok = 0
		if (i > 3 && by[i] != by[i - 3]) ok = 0
	}
	print ok }' "$T/rr")
check "cluster --accept reuseport: sequential connections go round the workers" \
	$([ "$turns" = 1 ]; echo $?) "served by: $(tr '\n' ' ' <"$T/rr")"
grep -q "connections go round 3 sockets" "$T/backend.log"
check "cluster --accept reuseport: steering logged" $? "no log line"

# --- the default scheme under a burst: with every process on one CPU the
# running worker would find the listener ready after each accept and take
# the whole burst; a worker over its share leaves the rest to the others
stop_backend
WORKERS=2 start_backend --workers 2 --origin "http://127.0.0.1:$OPORT"
for p in $BPID $(worker_pids); do
	taskset -a -p -c 0 "$p" >/dev/null
done
worst=0
for i in $(seq 8); do
	read -r top got _ < <($HELPER spread "$PORT" 40)
	[ "$got" = 40 ] || worst=99
	[ "$top" -gt "$worst" ] && worst=$top
done
check "cluster a burst of 40 keep-alive connections splits over 2 workers on one CPU" \
	$([ "$worst" -le 26 ]; echo $?) "the busiest worker took $worst of 40"
finish
