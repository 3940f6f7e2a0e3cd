#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# SIGTERM: /healthz answers 503 before the listener closes, a request in
# flight completes, the master exits within its bound.  SIGQUIT: at once.
source "$(dirname "$0")/lib.sh"
need
start_origin
WORKERS=2 start_backend --workers 2 --origin "http://127.0.0.1:$OPORT" --drain-delay 1 --grace 3

$HELPER get "$URL/slow/1500/inflight" >"$T/inflight" 2>&1 &
ijob=$!
# in flight once the origin works on it (the helper may take a second to
# start on a busy machine)
for i in $(seq 100); do
	[ "$(origin_count /slow/1500/inflight)" = 1 ] && break
	sleep 0.05
done
kill -TERM "$BPID"
t0=$(date +%s.%N)
# probe /healthz until the listener is gone
seq=""
for i in $(seq 200); do
	c=$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "$URL/healthz")
	[ "${seq##* }" != "$c" ] && seq="$seq $c"
	[ "$c" = 000 ] && break
	sleep 0.05
done
seq=${seq# }
ok=1
case "$seq" in "503 000" | "200 503 000") ok=0 ;; esac
check "term healthz goes 503 before the listener closes" $ok "healthz answers: $seq"
wait "$ijob"
read -r st _ < "$T/inflight"
check "term request in flight completes" $([ "$st" = 200 ]; echo $?) "$(cat "$T/inflight")"
for i in $(seq 100); do
	kill -0 "$BPID" 2>/dev/null || break
	sleep 0.05
done
t1=$(date +%s.%N)
if kill -0 "$BPID" 2>/dev/null; then
	fail "term master exits in bounded time" "still running"
else
	wait "$BPID"
	rc=$?
	check "term master exits in bounded time" \
		$(awk -v d="$(echo "$t1 - $t0" | awk '{print $1 - $3}')" 'BEGIN {exit !(d < 6)}'; [ "$rc" -eq 0 ]; echo $?) \
		"exit status $rc"
fi

# SIGQUIT: no drain delay, workers killed
WORKERS=2 start_backend --workers 2 --origin "http://127.0.0.1:$OPORT" --drain-delay 5
pids=$(worker_pids)
kill -QUIT "$BPID"
for i in $(seq 40); do
	kill -0 "$BPID" 2>/dev/null || break
	sleep 0.05
done
gone=1
kill -0 "$BPID" 2>/dev/null && gone=0
for p in $pids; do kill -0 "$p" 2>/dev/null && gone=0; done
check "term SIGQUIT stops master and workers at once" $([ $gone = 1 ]; echo $?) "still running"
finish
