#!/usr/bin/env bash
# Part "backend", section 5: lb-backend's Redis tier.  Three lb-backend
# "hosts" (each its own server with its own shared-memory cache) share one
# redis-server, all on 127.0.0.1 in a network namespace of this run; the
# origin is a local nginx answering 513 bytes.  tools/bench/bench_cache
# replays one Zipf request stream over the three hosts (connection j to
# host j mod 3) and counts, from X-Cache, the answers of each tier and the
# fetches from the origin (MISS), with the median latency of each kind.
# The same stream runs against fresh hosts without --redis and with it.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tools/bench/lib.sh
source "$here/lib.sh"

runs=${BENCH_RUNS:-5}
runs=$((runs < 3 ? runs : 3))
W=${BENCH_BACKEND_WORKERS:-$(nproc)}
keys=20000
requests=60000
alpha=0.9
timeout=0.05 # --redis-timeout: a machine busy with the client too
ns=bbr$$

cleanup() {
	exec 2>/dev/null # the deaths of the servers are no news
	bench_ns_down "$ns"
}
bench_traps

bench_need ip nginx curl redis-server redis-cli
bench_built backend "$O/lb-backend" "$O/bench/bench_cache"
tmp=$(mktemp -d /tmp/bench-redis.XXXXXX)
ip netns add "$ns"
ip -n "$ns" link set lo up
in_ns() { ip netns exec "$ns" "$@"; }

body=$(head -c 512 /dev/zero | tr '\0' x)
cat >"$tmp/nginx.conf" <<EOF
$(bench_nginx_head "$tmp" 1)
http {
	access_log off;
	server {
		listen 127.0.0.1:8093;
		location / { default_type text/plain; return 200 "$body\n"; }
	}
}
EOF
in_ns nginx -e "$tmp/nginx.err" -p "$tmp" -c "$tmp/nginx.conf" >"$tmp/nginx.log" 2>&1 &
# the namespace is this run's own: its loopback ports are free
in_ns redis-server --port 6379 --bind 127.0.0.1 --save "" --appendonly no \
	--dir "$tmp" --logfile "$tmp/redis.log" >"$tmp/redis.out" 2>&1 &
bench_wait_http "$ns" http://127.0.0.1:8093/ || exit 1
for _ in $(seq 50); do
	[ "$(in_ns redis-cli -p 6379 ping 2>/dev/null)" = PONG ] && break
	sleep 0.1
done

# replay MODE: fresh hosts, an empty Redis, one replay; appends its line
port=8300
replay() {
	local mode=$1 i a out
	local -a pids=() args=() extra=()
	[ "$mode" = redis ] && extra=(--redis redis://127.0.0.1:6379 --redis-timeout "$timeout")
	in_ns redis-cli -p 6379 flushall >/dev/null
	for i in 1 2 3; do
		in_ns "$O/lb-backend" --listen "127.0.0.1:$port" --workers "$W" \
			--origin http://127.0.0.1:8093 --ttl 600 "${extra[@]}" \
			>>"$tmp/lb-backend.log" 2>&1 &
		pids+=($!)
		args+=(--target "127.0.0.1:$port")
		port=$((port + 1))
	done
	for a in "${args[@]}"; do
		[ "$a" = --target ] || bench_wait_http "$ns" "http://$a/healthz"
	done
	out=$(in_ns "$O/bench/bench_cache" "${args[@]}" --conns 6 --keys "$keys" \
		--requests "$requests" --alpha "$alpha" --seed 1)
	bench_stop "${pids[@]}"
	# hit_rate redis_rate misses distinct lat_hit lat_redis lat_miss
	awk '{ print $6, $16, $18, $10, $20, $21, $22 }' <<<"$out" >>"$tmp/$mode"
}
for r in $(seq "$runs"); do
	replay none
	replay redis
done
if grep -q 'going to the origin without it' "$tmp/lb-backend.log"; then
	breaker="; a worker's breaker opened during the runs"
else
	breaker="; no breaker opened"
fi

echo "The Redis tier: three lb-backend hosts ($W workers each, a cache per" \
	"host) on one redis-server, the origin a local nginx (513 bytes).  The" \
	"same stream of $requests requests over $keys keys (Zipf, exponent" \
	"$alpha, seed 1) is spread over the hosts by connection (6" \
	"connections, connection j to host j mod 3, one request at a time" \
	"each); fresh hosts and an empty Redis for every run, --redis-timeout" \
	"$timeout$breaker.  Median of $runs runs (min-max); latencies are the" \
	"medians, in microseconds, of the requests of each kind, from sending" \
	"to the whole answer."
echo
echo "| tier | local hit % | Redis hit % | origin fetches | fetches per distinct key | local hit us | Redis hit us | origin fetch us |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|"
for mode in none redis; do
	f=$tmp/$mode
	printf '| %s | %s | %s | %s | %s | %s | %s | %s |\n' \
		"$([ "$mode" = redis ] && echo "local, then Redis" || echo "local only")" \
		"$(bench_summary "$f" 1 %.1f 100)" \
		"$(bench_summary "$f" 2 %.1f 100)" \
		"$(bench_summary "$f" 3 %.0f)" \
		"$(awk -v m="$(bench_median "$f" 3)" -v d="$(bench_median "$f" 4)" \
			'BEGIN { printf "%.2f", m / d }')" \
		"$(bench_summary "$f" 5 %.0f)" \
		"$([ "$mode" = redis ] && bench_summary "$f" 6 %.0f || echo -)" \
		"$(bench_summary "$f" 7 %.0f)"
done
