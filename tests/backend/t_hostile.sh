#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# lb-backend against hostile clients and odd files, over raw sockets: a
# request body that never comes, targets that are not paths, a FIFO under
# --root, clients that never read large answers (memory stays bounded), and
# running out of file descriptors (no spinning, no flood of log lines).
source "$(dirname "$0")/lib.sh"
need
start_origin

# rss_kb PID / cpu_ticks PID
rss_kb() { awk '$1 == "VmRSS:" {print $2}' "/proc/$1/status"; }
# noread_start NAME N PATH: N clients asking for PATH that never read, in
# the background ($NR) until noread_stop NAME
noread_start() {
	$HELPER noread "$PORT" "$2" "$3" "$T/$1.stop" >"$T/$1" &
	NR=$!
	for i in $(seq 100); do [ -s "$T/$1" ] && break; sleep 0.05; done
}
noread_stop() {
	touch "$T/$1.stop"
	wait "$NR"
}
# noread_rss NAME WHAT PID [BEFORE]: the RSS of worker PID while the
# clients of noread_start NAME hold it, under 32 MiB (WHAT: who they are)
noread_rss() {
	local after
	after=$(rss_kb "$3")
	noread_stop "$1"
	echo "worker RSS with $2: ${4:+$4 kB before, }${after} kB"
	check "hostile $2 keep the worker under 32 MiB" \
		$([ "$after" -lt 32768 ]; echo $?) "RSS ${after} kB${4:+ (before: $4 kB)}"
}
cpu_ticks() { sed 's/.*) //' "/proc/$1/stat" | awk '{print $12 + $13}'; }

# --- request bodies time out: 25 clients that announce 10 bytes and send
# none, against one worker with room for 20 connections
WORKERS=1 start_backend --workers 1 --origin "http://127.0.0.1:$OPORT" \
	--read-timeout 1 --max-conns 20
read -r _ closed _ n _ last < <($HELPER bodyless "$PORT" 25 6)
check "hostile request body that never comes is timed out" \
	$([ "$closed" -eq 25 ] && awk -v t="$last" 'BEGIN {exit !(t < 4)}'; echo $?) \
	"$closed of $n closed within 6 s, the last after ${last}s"
c=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$URL/after-bodyless")
check "hostile others are served once they are gone" $([ "$c" = 200 ]; echo $?) "got $c"

# --- not paths: asterisk-form for GET, fragments
for req in 'GET * HTTP/1.1' 'GET /x#y HTTP/1.1' 'GET /x?a=1#y HTTP/1.1'; do
	r=$($HELPER raw "$PORT" "$req"'\r\nHost: a\r\nConnection: close\r\n\r\n' | head -1 | tr -d '\r')
	check "hostile '$req' answered 400" $([ "$r" = "HTTP/1.1 400 Bad Request" ]; echo $?) "got '$r'"
done
n=$(origin_count '*')
check "hostile '*' never reaches the origin" $([ "$n" = 0 ]; echo $?) "origin saw it $n times"
stop_backend

# --- a FIFO under --root: never opened for reading in a way that blocks
mkdir -p "$T/root"
echo ok >"$T/root/index.html"
mkfifo "$T/root/fifo"
truncate -s 20M "$T/root/big.bin"
WORKERS=1 start_backend --workers 1 --root "$T/root" --read-timeout 5
c=$(curl -s -o /dev/null -w '%{http_code}' --max-time 3 "$URL/fifo")
check "hostile FIFO under --root is not served" $([ "$c" = 404 ]; echo $?) "got $c"
c=$(curl -s -o /dev/null -w '%{http_code}' --max-time 3 "$URL/")
check "hostile the worker still answers after the FIFO" $([ "$c" = 200 ]; echo $?) "got $c"

# --- 20 clients that never read, each asking for a 20 MB file
w=$(worker_pids)
before=$(rss_kb "$w")
noread_start files 20 /big.bin
sleep 1.5
noread_rss files "20 clients not reading 20 MB files" "$w" "$before"
n=$(curl -s --max-time 10 "$URL/big.bin" | wc -c)
check "hostile a large file is served whole" $([ "$n" -eq 20971520 ]; echo $?) "$n bytes"
stop_backend

# --- large origin answers: through a temp file, whole, never stored
WORKERS=1 start_backend --workers 1 --origin "http://127.0.0.1:$OPORT" \
	--max-object-size 64k --temp-dir "$T"
r=$(curl -s --max-time 10 "$URL/big/3000000/a" | tr -d b | wc -c)
n=$(curl -s --max-time 10 "$URL/big/3000000/a" | wc -c)
check "hostile a large origin answer is served whole" \
	$([ "$n" -eq 3000000 ] && [ "$r" -eq 0 ]; echo $?) "$n bytes, $r not from the origin"
check "hostile an answer over --max-object-size is not stored" \
	$([ "$(origin_count /big/3000000/a)" = 2 ]; echo $?) "origin saw $(origin_count /big/3000000/a)"
w=$(worker_pids)
noread_start origin 10 /big/20000000/b
for i in $(seq 100); do [ "$(origin_count /big/20000000/b)" -ge 10 ] && break; sleep 0.1; done
sleep 0.5
noread_rss origin "10 clients not reading 20 MB origin answers" "$w"
stop_backend

# --- out of descriptors: a worker with 40 of them and 80 clients
WORKERS=1 start_backend --workers 1 --root "$T/root"
w=$(worker_pids)
prlimit --nofile=40:40 --pid "$w"
: >"$T/backend.log"
noread_start hold 80 /
c0=$(cpu_ticks "$w")
sleep 3
c1=$(cpu_ticks "$w")
lines=$(wc -l <"$T/backend.log")
bytes=$(wc -c <"$T/backend.log")
noread_stop hold
hz=$(getconf CLK_TCK)
echo "out of descriptors for 3 s: $((c1 - c0)) ticks of CPU (of $((3 * hz))), $lines log lines, $bytes bytes"
check "hostile EMFILE does not spin (under 10% of a CPU)" \
	$([ $((c1 - c0)) -lt $((3 * hz / 10)) ]; echo $?) "$((c1 - c0)) ticks in 3 s"
check "hostile EMFILE log is rate-limited" $([ "$lines" -le 5 ]; echo $?) "$lines lines, $bytes bytes"
grep -q "accept: Too many open files; not accepting" "$T/backend.log"
check "hostile EMFILE is logged" $? "no log line"
c=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$URL/")
check "hostile accepting again once descriptors are free" $([ "$c" = 200 ]; echo $?) "got $c"
finish
