# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Shared by the lb-backend integration tests: a temp dir, a fake origin, the
# server, and the end of every process they started on exit (tests/lib.sh
# gives the PASS/FAIL lines and runs the cleanup).
#   source lib.sh BUILD_DIR
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/lib.sh
source "$HERE/../lib.sh" "${1:-build}"
HELPER="python3 $HERE/helper.py"
BIN=$O/lb-backend
PIDS=()
tmp_dir T lb-backend-test

# the processes started (PIDS), killed at exit before T goes
stop_all() {
	local p
	for p in "${PIDS[@]}"; do
		kill -KILL "$p" 2>/dev/null
	done
	wait 2>/dev/null
}
on_exit stop_all

need() {
	need_built lb-backend
	need_cmd python3 curl
}

# start_origin: sets OPORT
start_origin() {
	$HELPER origin "$T/origin.port" &
	PIDS+=($!)
	local i
	for i in $(seq 100); do
		[ -f "$T/origin.port" ] && break
		sleep 0.05
	done
	OPORT=$(cat "$T/origin.port")
}

# start_backend ARGS...: sets PORT, BPID (master), URL; waits for /healthz
# and for every worker to be ready.  A port taken meanwhile is retried.
start_backend() {
	local try i
	for try in 1 2 3; do
		PORT=$($HELPER freeport)
		URL=http://127.0.0.1:$PORT
		"$BIN" --listen 127.0.0.1:"$PORT" "$@" 2>>"$T/backend.log" &
		BPID=$!
		PIDS+=($BPID)
		for i in $(seq 100); do
			if curl -s -o /dev/null --max-time 1 "$URL/healthz"; then
				wait_workers "${WORKERS:-0}" && return 0
			fi
			kill -0 "$BPID" 2>/dev/null || break
			sleep 0.05
		done
		kill -KILL "$BPID" 2>/dev/null
	done
	echo "FAIL start: lb-backend did not start"
	cat "$T/backend.log"
	exit 1
}

# stop_backend: kill the master at once (its workers drain and follow)
stop_backend() {
	kill -KILL "$BPID" 2>/dev/null
	wait "$BPID" 2>/dev/null
}

# wait_workers N [GEN]: until N ready workers of the newest generation
wait_workers() {
	local n=$1 i s
	[ "$n" -eq 0 ] && return 0
	for i in $(seq 100); do
		s=$($HELPER stats "$URL" 2>/dev/null)
		set -- $s
		[ "${2:-0}" -ge "$n" ] && [ "${4:-}" = "${3:-}" ] && return 0
		sleep 0.05
	done
	return 1
}

# worker pids of the newest generation, one per line
worker_pids() {
	$HELPER stats "$URL" | awk '{print $3}' | tr , '\n'
}

# origin_count PATH: how often the origin saw PATH
origin_count() {
	curl -s "http://127.0.0.1:$OPORT/count?p=$1"
}
