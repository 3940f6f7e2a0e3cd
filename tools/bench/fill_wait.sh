#!/usr/bin/env bash
# Part "backend", section 6: a request that waits for a fetch of its key
# by another worker.  One slow origin (tools/bench/fill_wait.py, 300 ms),
# lb-backend with one worker and with two, N clients on kept-alive
# connections asking one new key at once, round after round.  With one
# worker every request but the first follows that worker's own fetch; with
# two, those that landed on the other worker wait for a fill in the shared
# cache, and are asked again when the cache says a fill ended.  The figure
# is the time a request took beyond the origin's delay.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tools/bench/lib.sh
source "$here/lib.sh"

runs=${BENCH_RUNS:-5}
runs=$((runs < 3 ? runs : 3))
rounds=30
clients=12
delay=300
ns=bbf$$

cleanup() {
	exec 2>/dev/null # the deaths of the servers are no news
	bench_ns_down "$ns"
	[ -z "${tmp:-}" ] || rm -rf "$tmp"
}
bench_traps

bench_need ip curl python3
bench_built backend "$O/lb-backend"
tmp=$(mktemp -d /tmp/bench-fill.XXXXXX)
ip netns add "$ns"
ip -n "$ns" link set lo up
in_ns() { ip netns exec "$ns" "$@"; }

in_ns python3 "$here/fill_wait.py" origin 8095 "$delay" >"$tmp/origin.log" 2>&1 &
bench_wait_http "$ns" http://127.0.0.1:8095/ready || exit 1

port=8400
for r in $(seq "$runs"); do
	for w in 1 2; do
		port=$((port + 1))
		in_ns "$O/lb-backend" --listen "127.0.0.1:$port" --workers "$w" \
			--origin http://127.0.0.1:8095 >>"$tmp/lb-backend.log" 2>&1 &
		pid=$!
		bench_wait_http "$ns" "http://127.0.0.1:$port/healthz" || exit 1
		# every worker ready: each answers /healthz on its own
		sleep 0.5
		in_ns python3 "$here/fill_wait.py" clients "$port" "$rounds" \
			"$clients" "$delay" >>"$tmp/w$w"
		wakes=$(in_ns curl -s "http://127.0.0.1:$port/stats" | python3 -c '
import json, sys
print(sum(w.get("fill_wakes", 0) for w in json.load(sys.stdin)["workers"]))')
		echo "$wakes" >>"$tmp/wakes$w"
		kill "$pid"
		wait "$pid" 2>/dev/null || true
	done
done

echo "A fetch awaited in another worker: one key asked by $clients kept-alive" \
	"connections at once, $rounds rounds of a new key per run, an origin" \
	"that answers after $delay ms; the time a request took beyond those" \
	"$delay ms, in ms, median of $runs runs (min-max).  With two workers" \
	"the requests on the other worker wait for the first one's fill in" \
	"the shared cache; \"fill wakeups\" counts the times the cache woke" \
	"them when a fill ended (lb_backend_fill_wakeups_total)."
echo
echo "| workers | median | p90 | slowest | mean | fill wakeups |"
echo "|---:|---:|---:|---:|---:|---:|"
for w in 1 2; do
	printf '| %s | %s | %s | %s | %s | %s |\n' "$w" \
		"$(bench_summary "$tmp/w$w" 1 %.1f)" \
		"$(bench_summary "$tmp/w$w" 2 %.1f)" \
		"$(bench_summary "$tmp/w$w" 3 %.1f)" \
		"$(bench_summary "$tmp/w$w" 4 %.1f)" \
		"$(bench_median "$tmp/wakes$w" 1)"
done
