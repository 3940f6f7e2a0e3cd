#!/usr/bin/env bash
# Part "backend" of the benchmarks: lb-backend on its own, in a network
# namespace of this run, every server on 127.0.0.1 and wrk beside them.
#
#  1. "hello" servers with the same number of worker processes: lb-backend
#     (a 24-byte file, answered from its cache), the Node.js cluster module
#     (bench/node-cluster.js, the body made in memory) and nginx (return 200
#     with the body in its configuration).
#  2. lb-backend's cache: a HIT (one URL, always in the cache) against a
#     MISS (a new URL on every request, so each one is fetched from the
#     origin, a local nginx answering 513 bytes), and the origin alone
#     asked for the very same new URLs (the same requests from the same
#     client at the same concurrency: only lb-backend in between differs).
#  3. The spread of requests over the workers, and p99, for each way the
#     workers can share the listening address (--accept): one socket with
#     EPOLLEXCLUSIVE alone, one socket with the waiters rotated (the
#     default), and a SO_REUSEPORT socket per worker, connections handed
#     to the sockets in turn (with net.ipv4.tcp_migrate_req=1 in the
#     namespace).  Sequential requests,
#     each on a new connection (wrk -c1, Connection: close), and wrk -c50
#     keep-alive; the share of the busiest worker comes from /stats.
#  4. One cache shared by all workers against one cache per worker: the hit
#     rate after the same request stream (tools/bench/bench_cache.c).
#     lb-backend has no per-worker-cache mode, so it is built from W
#     lb-backend instances of one worker each, each with 1/W of the cache
#     size, the client's connections spread over them round robin; the
#     shared case is one lb-backend with W workers and the whole size.
#  5. The Redis tier: a Zipf stream over three hosts with and without
#     --redis, origin fetches, hit ratios per tier and the latency of a
#     local hit, a Redis hit and an origin fetch (backend_redis.sh).
#  6. A fetch awaited in another worker: one key asked at once on many
#     connections, one worker against two (fill_wait.sh).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
# shellcheck source=tools/bench/lib.sh
source "$here/lib.sh"

runs=${BENCH_RUNS:-5}
secs=${BENCH_BACKEND_SECS:-3}
W=${BENCH_BACKEND_WORKERS:-$(nproc)}
hr_runs=$((runs < 3 ? runs : 3))
hr_workers=${BENCH_CACHE_WORKERS:-"$W $((2 * W))"}
hr_cache_kb=2048 # total cache of either layout
hr_keys=20000
hr_requests=60000
hr_alpha=0.9
ns=bbe$$

cleanup() { bench_ns_down "$ns"; }
bench_traps

bench_need ip wrk nginx node curl
bench_built backend "$O/lb-backend"
tmp=$(mktemp -d /tmp/bench-backend.XXXXXX)

ip netns add "$ns"
ip -n "$ns" link set lo up
# --accept reuseport: a closed socket's queue moves to the others
ip netns exec "$ns" sysctl -qw net.ipv4.tcp_migrate_req=1
in_ns() { ip netns exec "$ns" "$@"; }

# lb_backend PORT WORKERS ARGS...: start one in the background; $! is its
# master (ip netns exec execs it; no subshell in between to catch signals)
lb_backend() {
	local port=$1 workers=$2
	shift 2
	ip netns exec "$ns" "$O/lb-backend" --listen "127.0.0.1:$port" --workers "$workers" \
		"$@" >>"$tmp/lb-backend.log" 2>&1 &
}

# the servers of sections 1 and 2
origin_body=$(head -c 512 /dev/zero | tr '\0' x)
cat >"$tmp/nginx.conf" <<EOF
$(bench_nginx_head "$tmp" "$W")
http {
	access_log off;
	server {
		listen 127.0.0.1:8092;
		location / { default_type text/plain; return 200 "Hello from worker \$pid\n"; }
	}
	server {
		listen 127.0.0.1:8093;
		location / { default_type text/plain; return 200 "$origin_body\n"; }
	}
}
EOF
in_ns nginx -e "$tmp/nginx.err" -p "$tmp" -c "$tmp/nginx.conf" \
	>"$tmp/nginx.log" 2>&1 &
pid_nginx=$!
in_ns node "$top/bench/node-cluster.js" 8091 "$W" >"$tmp/node.log" 2>&1 &
pid_node=$!
mkdir "$tmp/www"
printf 'Hello from worker 00000\n' >"$tmp/www/index.html"
lb_backend 8090 "$W" --root "$tmp/www"
pid_lbb=$!
lb_backend 8094 "$W" --origin http://127.0.0.1:8093 --ttl 600
pid_cache=$!
for u in 8090/ 8091/ 8092/ 8093/ 8094/hit; do
	bench_wait_http "$ns" "http://127.0.0.1:$u" || {
		cat "$tmp"/*.log "$tmp/nginx.err" >&2 2>/dev/null || true
		exit 1
	}
done

# ---------------------------------------------------------------- 1
servers=(lbb node nginx)
declare -A url=(
	[lbb]=http://127.0.0.1:8090/
	[node]=http://127.0.0.1:8091/
	[nginx]=http://127.0.0.1:8092/
	[hit]=http://127.0.0.1:8094/hit
	[miss]=http://127.0.0.1:8094/
	[origin]=http://127.0.0.1:8093/
)
declare -A req=([lbb]="" [node]="" [nginx]="" [hit]=fixed [miss]=unique [origin]=unique)
# the servers whose CPU time a setup's requests cost (masters; their
# workers are counted with them)
declare -A procs=([lbb]=$pid_lbb [node]=$pid_node [nginx]=$pid_nginx
	[hit]=$pid_cache [miss]="$pid_cache $pid_nginx" [origin]=$pid_nginx)
declare -A title=(
	[lbb]="lb-backend (file, from its cache)"
	[node]="Node.js cluster (bench/node-cluster.js)"
	[nginx]="nginx, return 200"
	[hit]="lb-backend, cache HIT (one URL)"
	[miss]="lb-backend, cache MISS (a new URL each request)"
	[origin]="the origin alone (nginx, return 200), the same new URLs"
)

# stats_cache PORT: "HITS MISSES" of lb-backend's cache on PORT
stats_cache() {
	in_ns curl -fsS --max-time 2 "http://127.0.0.1:$1/stats" |
		sed -n 's/.*"cache":{[^}]*"hits":\([0-9]*\),"misses":\([0-9]*\).*/\1 \2/p'
}

# tree PID...: these processes and all their descendants
tree() {
	local p
	for p in "$@"; do
		echo "$p"
		# shellcheck disable=SC2046 # a list of pids
		tree $(ps --ppid "$p" -o pid= 2>/dev/null || true)
	done
}
# cpu_ticks PID...: user + system clock ticks so far of these processes
# and their descendants
cpu_ticks() {
	local p
	for p in $(tree "$@"); do
		cat "/proc/$p/stat" 2>/dev/null
	done | sed 's/.*) //' | awk '{ t += $12 + $13 } END { print t + 0 }'
}
hz=$(getconf CLK_TCK)

# measure SETUP RUN: one wrk run, appended to $tmp/SETUP.dat with the
# servers' CPU time per request (us) as a 7th column; for the cache setups
# also the HIT and MISS answers it got (from /stats)
measure() {
	local s=$1 r=$2 before after t0 t1 out
	case $s in hit | miss) before=$(stats_cache 8094) ;; esac
	# shellcheck disable=SC2086 # a list of pids
	t0=$(cpu_ticks ${procs[$s]})
	out=$(BENCH_WRK_REQ=${req[$s]} BENCH_WRK_TAG=$r \
		bench_wrk "$ns" "$secs" "${url[$s]}")
	# shellcheck disable=SC2086
	t1=$(cpu_ticks ${procs[$s]})
	echo "$out" | awk -v t=$((t1 - t0)) -v hz="$hz" \
		'{ print $0, $4 ? t * 1e6 / hz / $4 : 0 }' >>"$tmp/$s.dat"
	case $s in
	hit | miss)
		after=$(stats_cache 8094)
		echo "$before $after" |
			awk '{ print $3 - $1, $4 - $2 }' >>"$tmp/$s.cache"
		;;
	esac
}

# rounds SETUP...: a warm-up run of each, then $runs rounds, the order
# rotating from round to round
rounds() {
	local n=$# r i s
	local -a set=("$@")
	for s in "${set[@]}"; do
		BENCH_WRK_REQ=${req[$s]} BENCH_WRK_TAG=warm \
			bench_wrk "$ns" 1 "${url[$s]}" >/dev/null
	done
	rm -f "$tmp/hit.cache" "$tmp/miss.cache"
	for r in $(seq 0 $((runs - 1))); do
		for i in $(seq 0 $((n - 1))); do
			measure "${set[$(((r + i) % n))]}" "$r"
		done
	done
}

# table BASE SETUP...: one row per setup, ratios against BASE
table() {
	local base=$1 s f m
	shift
	m=$(bench_median "$tmp/$base.dat" 1)
	for s in "$@"; do
		f=$tmp/$s.dat
		printf '| %s | %s | %s | %s | %s | %s | %s |' "${title[$s]}" \
			"$(bench_summary "$f" 1 %.0f)" \
			"$(bench_summary "$f" 2 %.2f 0.001)" \
			"$(bench_summary "$f" 3 %.2f 0.001)" \
			"$(bench_ratio "$(bench_median "$f" 1)" "$m")" \
			"$(bench_summary "$f" 7 %.2f)" \
			"$(($(bench_sum "$f" 5) + $(bench_sum "$f" 6)))"
		if [ -f "$tmp/$s.cache" ]; then
			awk '{ h += $1; m += $2 }
				END { printf " %.1f%% |", h + m ? 100 * h / (h + m) : 0 }' \
				"$tmp/$s.cache"
		fi
		echo
	done
}

rounds "${servers[@]}"
rounds hit miss origin

# syscalls SETUP: system calls per request of lb-backend's workers (strace
# -c on all of them during one wrk run of 2 s): a figure that the load of
# a shared machine does not move.  Prints "REQUESTS SYSCALLS".
syscalls() {
	local s=$1 port pids st out
	port=${url[$s]#http://127.0.0.1:}
	port=${port%%/*}
	pids=$(in_ns curl -fsS --max-time 2 "http://127.0.0.1:$port/stats" |
		grep -o '"pid":[0-9]*' | cut -d: -f2 | paste -sd,)
	strace -c -f -p "$pids" -o "$tmp/strace.$s" 2>/dev/null &
	st=$!
	sleep 0.5
	out=$(BENCH_WRK_REQ=${req[$s]} BENCH_WRK_TAG=strace \
		bench_wrk "$ns" 2 "${url[$s]}")
	sleep 0.2
	kill -INT "$st"
	wait "$st" 2>/dev/null || true
	echo "$(echo "$out" | cut -d' ' -f4)" \
		"$(awk '$NF == "total" { print $(NF - 2) }' "$tmp/strace.$s")"
}
have_strace=$(command -v strace >/dev/null && echo 1 || echo 0)
if [ "$have_strace" = 1 ]; then
	for s in lbb hit miss; do
		syscalls "$s" >"$tmp/sys.$s"
	done
fi

# ---------------------------------------------------------------- 3
schemes=(exclusive rotate reuseport)
declare -A scheme_title=(
	[exclusive]="one socket, EPOLLEXCLUSIVE"
	[rotate]="one socket, EPOLLEXCLUSIVE, waiters rotated (default)"
	[reuseport]="SO_REUSEPORT socket per worker, connections in turn"
)
sp_runs=$((runs < 3 ? runs : 3))
# worker_requests PORT: the request counters of the workers, in slot order
worker_requests() {
	in_ns curl -fsS --max-time 2 "http://127.0.0.1:$1/stats" |
		grep -o '"requests":[0-9]*' | cut -d: -f2 | tr '\n' ' '
}
# spread_run SCHEME PORT KIND: one wrk run; appends "P99_US MAX_SHARE"
spread_run() {
	local port=$2 kind=$3 before after res
	before=$(worker_requests "$port")
	if [ "$kind" = seq ]; then
		res=$(BENCH_WRK_THREADS=1 BENCH_WRK_CONNS=1 bench_wrk "$ns" \
			"$secs" "http://127.0.0.1:$port/" -H "Connection: close")
	else
		res=$(BENCH_WRK_CONNS=50 bench_wrk "$ns" "$secs" \
			"http://127.0.0.1:$port/")
	fi
	after=$(worker_requests "$port")
	awk -v a="$before" -v b="$after" -v r="$res" 'BEGIN {
		n = split(a, x, " "); split(b, y, " "); split(r, z, " ")
		for (i = 1; i <= n; i++) { d = y[i] - x[i]; t += d; if (d > m) m = d }
		printf "%s %.3f %s\n", z[3], t ? m / t : 0, z[1]
	}' >>"$tmp/spread-$1-$kind"
}
port=8100
for s in "${schemes[@]}"; do
	lb_backend "$port" "$W" --root "$tmp/www" --accept "$s"
	sp_pid=$!
	bench_wait_http "$ns" "http://127.0.0.1:$port/"
	for r in $(seq "$sp_runs"); do
		spread_run "$s" "$port" seq
		spread_run "$s" "$port" c50
	done
	bench_stop "$sp_pid"
	port=$((port + 1))
done

# ---------------------------------------------------------------- 4
port=8200
# hit_rate WORKERS LAYOUT: one replay of the stream against fresh servers;
# appends "HIT_RATE HIT_RATE_2ND DISTINCT IDEAL" to $tmp/hr-LAYOUT-WORKERS
hit_rate() {
	local w=$1 layout=$2 i a out hr hr2 ideal
	local -a pids=() addrs=() args=()
	if [ "$layout" = shared ]; then
		lb_backend "$port" "$w" --origin http://127.0.0.1:8093 \
			--ttl 600 --cache-size "${hr_cache_kb}k"
		pids+=($!)
		addrs+=("127.0.0.1:$port")
		port=$((port + 1))
	else
		for i in $(seq "$w"); do
			lb_backend "$port" 1 --origin http://127.0.0.1:8093 \
				--ttl 600 --cache-size "$((hr_cache_kb / w))k"
			pids+=($!)
			addrs+=("127.0.0.1:$port")
			port=$((port + 1))
		done
	fi
	for a in "${addrs[@]}"; do
		bench_wait_http "$ns" "http://$a/healthz"
		args+=(--target "$a")
	done
	out=$(in_ns "$O/bench/bench_cache" "${args[@]}" --conns $((2 * w)) \
		--keys "$hr_keys" --requests "$hr_requests" \
		--alpha "$hr_alpha" --seed 1)
	bench_stop "${pids[@]}"
	read -r _ _ _ _ _ hr _ hr2 _ _ _ ideal <<<"$out"
	echo "$hr $hr2 $ideal" >>"$tmp/hr-$layout-$w"
}
for r in $(seq "$hr_runs"); do
	for w in $hr_workers; do
		hit_rate "$w" shared
		hit_rate "$w" per-worker
	done
done

# ---------------------------------------------------------------- output
echo "wrk -t$BENCH_WRK_THREADS -c$BENCH_WRK_CONNS on 127.0.0.1 in a" \
	"namespace of its own, HTTP/1.1 keep-alive; each figure the median of" \
	"$runs runs of ${secs} s (min-max).  Every server has $W worker" \
	"processes (plus its master or primary)."
echo
echo "\"Hello\" servers (bodies of 24-25 bytes; each server sends its own" \
	"few headers):"
echo
echo "| server | req/s | p50 ms | p99 ms | req/s / lb-backend | server CPU us per request | errors |"
echo "|---|---:|---:|---:|---:|---:|---:|"
table lbb "${servers[@]}"
echo
echo "\"server CPU\": the user and system time of the server's processes" \
	"(master and workers) during a run, per request answered; the client" \
	"shares the same two cores, so req/s says as much about wrk as about" \
	"the server, where CPU time per request is the server's own cost." \
	"Requests per CPU second, nginx / lb-backend: $(bench_ratio \
		"$(bench_median "$tmp/nginx.dat" 7)" "$(bench_median "$tmp/lbb.dat" 7)")" \
	"for hello, $(bench_ratio "$(bench_median "$tmp/nginx.dat" 7)" \
		"$(bench_median "$tmp/hit.dat" 7)") for a cache HIT against" \
	"nginx's hello (above 1: lb-backend does more with a CPU second)."
echo
echo "lb-backend's cache, origin a local nginx answering 513 bytes.  wrk" \
	"makes a new path and formats every request in Lua for every row, so" \
	"the client costs the same; the MISS row and the origin alone ask for" \
	"the same new URLs (/miss/RUN/THREAD-N) with the same client and" \
	"concurrency.  \"from cache\" is the share of answers lb-backend" \
	"counted as hits in /stats during the runs:"
echo
echo "| path | req/s | p50 ms | p99 ms | req/s / HIT | server CPU us per request | errors | from cache |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|"
table hit hit miss
table hit origin | sed 's/ |$/ | - |/'
echo
echo "MISS / the origin alone: $(bench_ratio "$(bench_median "$tmp/miss.dat" 1)" \
	"$(bench_median "$tmp/origin.dat" 1)").  A worker sends the misses of" \
	"a round of its event loop together, pipelined on one of its pooled" \
	"keep-alive connections (--origin-keepalive), and reads each answer" \
	"when its own epoll reports it, serving its other connections" \
	"meanwhile.  A missed key is stored all the same (ttl" \
	"600 s); the next run asks for new URLs.  All of it shares the same" \
	"cores: wrk, lb-backend's workers and the origin's.  Counted in CPU" \
	"time instead (the MISS row's server CPU is lb-backend's and the" \
	"origin's together), a MISS costs the origin alone's CPU time per" \
	"request / the MISS's: $(bench_ratio "$(bench_median "$tmp/origin.dat" 7)" \
		"$(bench_median "$tmp/miss.dat" 7)") (the rate a MISS would reach" \
	"against the origin alone if the servers had the cores to themselves)."
if [ "$have_strace" = 1 ]; then
	echo
	echo "System calls per request of lb-backend's workers (strace -c on" \
		"them during one wrk run of 2 s, the same requests as above; strace" \
		"slows the server, the count per request stays):" \
		"$(for s in lbb hit miss; do
			read -r n c <"$tmp/sys.$s"
			awk -v t="${title[$s]}" -v n="$n" -v c="$c" \
				'BEGIN { printf "%s %.2f; ", t, n ? c / n : 0 }'
		done | sed 's/; $/./')"
fi
echo
echo "How the workers share the listening address (--accept), $W workers," \
	"the 24-byte file: sequential requests each on a new connection" \
	"(wrk -t1 -c1, Connection: close) and wrk -t$BENCH_WRK_THREADS -c50" \
	"keep-alive.  \"Busiest worker\" is its share of the requests in" \
	"/stats during the run (fair: $(awk -v w="$W" 'BEGIN { printf "%.2f", 1 / w }'));" \
	"median of $sp_runs runs of ${secs} s (min-max)."
echo
echo "| accept scheme | sequential: busiest worker | sequential: req/s | sequential: p99 ms | -c50: busiest worker | -c50: req/s | -c50: p99 ms |"
echo "|---|---:|---:|---:|---:|---:|---:|"
for s in "${schemes[@]}"; do
	printf '| %s | %s | %s | %s | %s | %s | %s |\n' "${scheme_title[$s]}" \
		"$(bench_summary "$tmp/spread-$s-seq" 2 %.2f)" \
		"$(bench_summary "$tmp/spread-$s-seq" 3 %.0f)" \
		"$(bench_summary "$tmp/spread-$s-seq" 1 %.2f 0.001)" \
		"$(bench_summary "$tmp/spread-$s-c50" 2 %.2f)" \
		"$(bench_summary "$tmp/spread-$s-c50" 3 %.0f)" \
		"$(bench_summary "$tmp/spread-$s-c50" 1 %.2f 0.001)"
done
echo
echo "With --accept reuseport a socket-selection program (user/backend/steer.c)" \
	"hands the n-th new connection to worker n mod $W: sequential" \
	"connections alternate, and the 50 connections of -c50 split evenly;" \
	"what is left of the busiest worker's share there is how fast each" \
	"worker's connections come back with their next request."
echo
echo "Shared cache against one cache per worker: the same stream of" \
	"$hr_requests requests over $hr_keys keys (Zipf, exponent $hr_alpha," \
	"seed 1), 513-byte objects from the origin, $((hr_cache_kb / 1024)) MiB" \
	"of cache in total.  Shared: one lb-backend with W workers and" \
	"$((hr_cache_kb / 1024)) MiB.  Per worker: lb-backend has no such mode," \
	"so W single-worker lb-backend instances with 1/W of the size each" \
	"stand in for W workers with private caches; the client's 2W" \
	"connections go round robin over them (connection j to instance" \
	"j mod W, request k on connection k mod 2W), as a kernel spreading" \
	"connections over workers would.  The shared instance gets the same" \
	"2W connections.  Fresh servers for every run; median of $hr_runs" \
	"runs (min-max).  The 2nd-half column counts only the second half of" \
	"the stream, when the caches are warm; \"unbounded\" is the hit rate" \
	"of a cache that never evicts, 1 - distinct keys / requests."
echo
echo "| W | shared hit % | per-worker hit % | shared 2nd half % | per-worker 2nd half % | per-worker / shared misses | unbounded % |"
echo "|---:|---:|---:|---:|---:|---:|---:|"
for w in $hr_workers; do
	s=$tmp/hr-shared-$w
	p=$tmp/hr-per-worker-$w
	printf '| %s | %s | %s | %s | %s | %s | %.1f |\n' "$w" \
		"$(bench_summary "$s" 1 %.1f 100)" \
		"$(bench_summary "$p" 1 %.1f 100)" \
		"$(bench_summary "$s" 2 %.1f 100)" \
		"$(bench_summary "$p" 2 %.1f 100)" \
		"$(awk -v p="$(bench_median "$p" 1)" -v s="$(bench_median "$s" 1)" \
			'BEGIN { printf "%.2f", (1 - p) / (1 - s) }')" \
		"$(bench_median "$s" 3 100)"
done
echo
"$here/backend_redis.sh" "$O"
echo
"$here/fill_wait.sh" "$O"
# what was found out around these figures, kept by hand
if [ -f "$top/bench/BACKEND.md" ]; then
	echo
	cat "$top/bench/BACKEND.md"
fi
