#!/usr/bin/env bash
# Part "http" of the benchmarks: end-to-end HTTP through the balancer in the
# lab (tools/lab.sh, three backends, L2 DSR) next to the same backends behind
# a user-space TCP proxy on the balancer host, and next to one backend alone.
#
#   (a) lbd     wrk -> VIP 10.200.100.1:80; lbd's XDP program picks a backend
#               (Maglev) and rewrites the MAC; the backend answers directly
#   (b) nginx   wrk -> 10.200.0.2:8081, nginx stream proxy on the LB host,
#               round robin over the three backends
#   (c) haproxy wrk -> 10.200.0.2:8082, HAProxy mode tcp on the LB host,
#               round robin over the three backends
#   (d) direct  wrk -> backend 1 (10.200.0.11:80), no balancer; times three
#               is what three backends would serve if they scaled perfectly
#
# Every backend runs lb-backend with one worker serving a small file (from
# its cache after the first request).  The proxies get as many processes or
# threads as the machine has CPUs.  wrk runs in the client namespace with the
# same threads, connections and duration for every setup; the order of the
# setups rotates from round to round so that a slow spell of the shared
# machine does not always land on the same one.  lbd stays attached during
# (b)-(d): proxied packets pass through its XDP program (not a VIP: XDP_PASS).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tools/bench/lib.sh
source "$here/lib.sh"

runs=${BENCH_RUNS:-5}
secs=${BENCH_HTTP_SECS:-4}
procs=${BENCH_PROXY_PROCS:-$(nproc)}
name=bhttp$$
R=$LAB_RUN/$name
vip=10.200.100.1
stream_mod=/usr/lib/nginx/modules/ngx_stream_module.so

cleanup() { bench_lab_down "$name"; }
bench_traps

bench_need ip wrk nginx haproxy curl python3
bench_built http "$O/lbd" "$O/lbctl" "$O/lb-backend"
if [ ! -f "$stream_mod" ]; then
	echo "http: $stream_mod missing: nginx needs its stream module" \
		"(libnginx-mod-stream; tools/deps.sh --bench installs it)" >&2
	exit 1
fi
tmp=$(mktemp -d /tmp/bench-http.XXXXXX)

bench_lab "$name" 3 "$O" "$tmp"
backends=()
for k in 1 2 3; do
	backends+=("$(lab_backend_addr "$k")")
	lab_exec "$name" lb "$O/lbctl" -S "$R/lbd.sock" add-backend \
		"$vip:80/tcp" "${backends[-1]}" >/dev/null
done

mkdir "$tmp/www"
printf 'Hello from worker 00000\n' >"$tmp/www/index.html"
for k in 1 2 3; do
	lab_exec "$name" "b$k" "$O/lb-backend" --listen 0.0.0.0:80 \
		--workers 1 --root "$tmp/www" >"$tmp/b$k.log" 2>&1 &
done

cat >"$tmp/nginx.conf" <<EOF
load_module $stream_mod;
$(bench_nginx_head "$tmp" "$procs")
stream {
	upstream backends {
		server ${backends[0]}:80;
		server ${backends[1]}:80;
		server ${backends[2]}:80;
	}
	server {
		listen $LAB_LB4:8081;
		proxy_pass backends;
	}
}
EOF
cat >"$tmp/haproxy.cfg" <<EOF
global
	nbthread $procs
	maxconn 4096
defaults
	mode tcp
	timeout connect 5s
	timeout client 60s
	timeout server 60s
listen backends
	bind $LAB_LB4:8082
	balance roundrobin
	server b1 ${backends[0]}:80
	server b2 ${backends[1]}:80
	server b3 ${backends[2]}:80
EOF
lab_exec "$name" lb nginx -e "$tmp/nginx.err" -p "$tmp" \
	-c "$tmp/nginx.conf" >"$tmp/nginx.log" 2>&1 &
lab_exec "$name" lb haproxy -db -f "$tmp/haproxy.cfg" \
	>"$tmp/haproxy.log" 2>&1 &

setups=(lbd nginx haproxy direct)
declare -A url=(
	[lbd]="http://$vip/"
	[nginx]="http://$LAB_LB4:8081/"
	[haproxy]="http://$LAB_LB4:8082/"
	[direct]="http://${backends[0]}/"
)
for s in "${setups[@]}"; do
	bench_wait_http "$name-cl" "${url[$s]}" || {
		cat "$tmp"/*.log "$tmp/nginx.err" >&2 2>/dev/null || true
		exit 1
	}
done

# warm-up, not counted: every backend's cache, neighbours, proxy pools
for s in "${setups[@]}"; do
	bench_wrk "$name-cl" 1 "${url[$s]}" >/dev/null
done
for r in $(seq 0 $((runs - 1))); do
	for i in 0 1 2 3; do
		s=${setups[$(((r + i) % 4))]}
		bench_wrk "$name-cl" "$secs" "${url[$s]}" >>"$tmp/$s.dat"
	done
done

# how lbd spread the VIP's packets over the backends (Maglev per flow)
spread=$(lab_exec "$name" lb "$O/lbctl" -S "$R/lbd.sock" -j stats |
	python3 -c '
import json, sys
vip = [v for v in json.load(sys.stdin)["vips"] if v["vip"].startswith(sys.argv[1] + ":")][0]
tot = sum(b["packets"] for b in vip["backends"]) or 1
print(", ".join("%s %.0f%%" % (b["backend"], 100.0 * b["packets"] / tot) for b in vip["backends"]))
' "$vip")

declare -A title=(
	[lbd]="(a) lbd: XDP, L2 DSR, to the VIP"
	[nginx]="(b) nginx stream proxy on the LB host"
	[haproxy]="(c) HAProxy mode tcp on the LB host"
	[direct]="(d) one backend, no balancer"
)
lbd_med=$(bench_median "$tmp/lbd.dat" 1)
echo "wrk -t$BENCH_WRK_THREADS -c$BENCH_WRK_CONNS from the client namespace," \
	"HTTP/1.1 keep-alive, GET of a 24-byte file; each figure the median of" \
	"$runs runs of ${secs} s (min-max).  Backends: lb-backend, one worker" \
	"each; nginx $procs worker processes, HAProxy $procs threads."
echo
echo "| path | req/s | p50 ms | p99 ms | req/s / (a) | errors |"
echo "|---|---:|---:|---:|---:|---:|"
for s in "${setups[@]}"; do
	f=$tmp/$s.dat
	echo "| ${title[$s]} | $(bench_summary "$f" 1 %.0f) |" \
		"$(bench_summary "$f" 2 %.2f 0.001) |" \
		"$(bench_summary "$f" 3 %.2f 0.001) |" \
		"$(bench_ratio "$(bench_median "$f" 1)" "$lbd_med") |" \
		"$(($(bench_sum "$f" 5) + $(bench_sum "$f" 6))) |"
done
f=$tmp/direct.dat
d3=$(bench_median "$f" 1 3)
echo "| (d) x 3: three backends scaling perfectly | $(bench_summary "$f" 1 %.0f 3) | - | - |" \
	"$(bench_ratio "$d3" "$lbd_med") | - |"
echo
echo "errors: wrk connect, read, write and timeout errors plus non-2xx" \
	"answers, summed over the runs."
echo "lbd spread the VIP's packets: $spread."
echo "All of it runs on the same $(nproc) CPUs: wrk, the backends and" \
	"the balancer host.  With (a) the balancer host spends only the XDP" \
	"program's time per packet from the client (answers bypass it); a" \
	"proxy terminates and opens a TCP connection per client connection" \
	"and copies every byte both ways, on the cores that wrk and the" \
	"backends need too.  (d) x 3 is a bound that this machine cannot" \
	"reach, not a measurement."
