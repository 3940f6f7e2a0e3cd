# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Shared by the Redis tier tests, after lib.sh: a redis-server of the
# test's own, backend hosts that use it, and readers of their answers.
RH="python3 $HERE/redis_helper.py"
need_cmd redis-server

# start_redis: sets RPORT, RPID
start_redis() {
	local i
	RPORT=${1:-$($HELPER freeport)}
	redis-server --port "$RPORT" --bind 127.0.0.1 --save "" --appendonly no \
		--dir "$T" --logfile "$T/redis.$RPORT.log" &
	RPID=$!
	PIDS+=($RPID)
	for i in $(seq 100); do
		[ "$(timeout 2 $RH cmd "$RPORT" PING 2>/dev/null)" = PONG ] && return 0
		sleep 0.05
	done
	echo "FAIL start: redis-server did not start"
	exit 1
}
rcmd() { $RH cmd "$RPORT" "$@"; }
# host N [ARGS]: start backend host N with the common options and its own
# admin listener; H[N] its URL, A[N] the admin one, B[N] the master.  The
# timeout is long enough for a machine busy with other tests: checks of
# what is served need no breaker opening; those of the breaker pass a short
# --redis-timeout of their own (the last one given counts).
declare -a H A B
host() {
	local n=$1 ap
	shift
	ap=$($HELPER freeport)
	WORKERS=0 start_backend --workers 2 --origin "http://127.0.0.1:$OPORT" \
		--redis "redis://127.0.0.1:$RPORT" --redis-timeout 1 \
		--admin-listen "127.0.0.1:$ap" "$@"
	H[n]=$URL
	A[n]=http://127.0.0.1:$ap
	B[n]=$BPID
	# /stats is on the admin listener only
	URL=${A[n]} wait_workers 2 || { echo "FAIL start: host $n workers"; exit 1; }
	URL=${H[n]}
}
# xc URL: "X-Cache body" of one request
xc() {
	curl -s -D "$T/h" --max-time 10 "$1" >"$T/b"
	echo "$(tr -d '\r' <"$T/h" | awk -F': ' '$1 == "X-Cache" {print $2}') $(head -c 60 "$T/b")"
}
# rstat URL FIELD: a figure of the redis member of /stats
rstat() {
	curl -s --max-time 10 "$1/stats" | python3 -c 'import json,sys; print(json.load(sys.stdin)["redis"][sys.argv[1]])' "$2"
}

