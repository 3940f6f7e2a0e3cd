#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# Prometheus metrics of lbd (--metrics) and lb-backend (/metrics): bad
# --metrics values refused with one line; both expositions pass promtool; a
# real Prometheus server in the lab scrapes both, and its HTTP API returns
# the VIP's packet counter as it moved with the traffic sent through the
# balancer, and lb-backend's origin fetches and cache hits as they moved
# with the requests sent to it; every query of tools/grafana/xdp-lb.json
# runs; metrics clients that send half a request
# and stall (every slot taken, and one more refused) hold up neither lbctl
# nor Prometheus for longer than their deadline.
# shellcheck source=tests/net/e2e_lib.sh
source "$(dirname "$0")/e2e_lib.sh" "${1:-build}" m

PROM_HELPER=$HERE/prom_helper.py
V4=10.200.100.1
VIP=$V4:80/tcp
MPORT=9100 # inside the lab's balancer namespace: no other test sees it
API=http://127.0.0.1:9090

for p in promtool prometheus; do
	if ! command -v $p >/dev/null; then
		fail metrics "$p not installed (tools/deps.sh installs prometheus)"
		finish
	fi
done

# ---------------------------------------------------------------- bad values
# refused while the options are read: exit 2, one line, nothing made
tmp_dir bad_dir "e2em$$"
for v in "" abc 70000 0 :0 1.2.3.4 1.2.3.4:0 '[::1' 'localhost:9100' \
	'::1:9100' '10.0.0.1:http' '[10.0.0.1]:9100'; do
	out=$("$O/lbd" --iface lo --state "$bad_dir/state.json" \
		--socket "$bad_dir/lbd.sock" --metrics "$v" 2>&1)
	rc=$?
	lines=$(printf '%s\n' "$out" | grep -c .)
	if [ "$rc" -eq 2 ] && [ "$lines" -eq 1 ] &&
		[[ $out == "lbd: --metrics "* ]] && [ -z "$(ls -A "$bad_dir")" ]; then
		pass "--metrics '$v' refused: $out"
	else
		fail "--metrics '$v' refused" "exit $rc, $lines lines: $out"
	fi
done
rm -rf "$bad_dir"

# ---------------------------------------------------------------- the lab
E2E_LBD_ARGS=(--metrics "$MPORT")
e2e_up --mode dsr
backends_start 80
for k in 1 2 3; do
	lbctl_q add-backend $VIP "$(lab_backend_addr $k 4)" --check tcp \
		--check-interval 300ms --check-timeout 200ms || finish
done
wait_in_table 3 || finish

# loopback only by default: the balancer's own address is not served
if on lb curl -s -o /dev/null --max-time 1 "http://$LAB_LB4:$MPORT/metrics"; then
	fail "metrics on loopback only" "answered on $LAB_LB4:$MPORT"
else
	pass "metrics on loopback only (bare port $MPORT)"
fi

# On b1, besides the lb-backend serving files on port 80 for the VIP, one
# that fetches from it as its origin: the one Prometheus scrapes
B1=$(lab_backend_addr 1 4)
BPORT=8080 APORT=9180 # service and admin listeners
on_bg b1 "$O/lb-backend" --listen "[::]:$BPORT" --admin-listen "$B1:$APORT" \
	--origin "http://127.0.0.1:80" --workers 2 >>"$T/backend-origin.log" 2>&1
for _ in $(seq 100); do
	on b1 curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$BPORT/healthz" && break
	sleep 0.05
done

# A Prometheus server in the balancer's namespace, scraping every second
mkdir -p "$T/prom"
cat >"$T/prom.yml" <<EOF
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: lbd
    static_configs:
      - targets: ['127.0.0.1:$MPORT']
  - job_name: backend
    static_configs:
      - targets: ['$B1:$APORT']
EOF
if ! promtool check config "$T/prom.yml" >"$T/promtool-config.log" 2>&1; then
	fail "prometheus config" "$(tail -3 "$T/promtool-config.log")"
	finish
fi
on_bg lb prometheus --config.file="$T/prom.yml" \
	--storage.tsdb.path="$T/prom" --web.listen-address=127.0.0.1:9090 \
	--log.level=warn >"$T/prometheus.log" 2>&1

# promtool lints the exposition as it is served
metrics() { on lb curl -s --max-time 2 "http://127.0.0.1:$MPORT/metrics"; }
metrics >"$T/lbd.prom"
if out=$(promtool check metrics <"$T/lbd.prom" 2>&1); then
	pass "promtool check metrics: lbd ($(grep -c '^# TYPE' "$T/lbd.prom") families)"
else
	fail "promtool check metrics: lbd" "$(echo "$out" | head -5)"
fi
for want in 'xdplb_rx_packets_total ' 'xdplb_dropped_packets_total{reason="no_backend"} ' \
	"xdplb_vip_packets_total{vip=\"$VIP\"} " \
	"xdplb_backend_state{vip=\"$VIP\",backend=\"$(lab_backend_addr 1 4)\",state=\"active\"} 1" \
	"xdplb_vip_table_rebuilds_total{vip=\"$VIP\"} " \
	'process_cpu_seconds_total ' 'process_open_fds ' 'process_start_time_seconds '; do
	grep -qF "$want" "$T/lbd.prom" || fail "lbd metrics" "no line starting '$want'"
done
digest=$(lbctl -j vip show "$VIP" | python3 -c 'import json,sys; print(json.load(sys.stdin)["vip"]["digest"])')
check "xdplb_vip_table_info carries the digest lbctl shows ($digest)" \
	"$(grep -qF "xdplb_vip_table_info{vip=\"$VIP\",digest=\"$digest\"} 1" "$T/lbd.prom"; echo $?)" \
	"$(grep xdplb_vip_table_info "$T/lbd.prom")"
on lb curl -s --max-time 2 "http://$B1:$APORT/metrics" >"$T/backend.prom"
if out=$(promtool check metrics <"$T/backend.prom" 2>&1); then
	pass "promtool check metrics: lb-backend ($(grep -c '^# TYPE' "$T/backend.prom") families)"
else
	fail "promtool check metrics: lb-backend" "$(echo "$out" | head -5)"
fi
for want in 'lb_backend_requests_total{worker="0",generation="0",class="2xx"} ' \
	'lb_backend_cache_hits_total{worker="1",generation="0"} ' \
	'lb_backend_origin_fetch_duration_seconds_bucket{worker="0",generation="0",le="+Inf"} ' \
	'lb_backend_cache_singleflight_waits_total ' 'lb_backend_worker_cpu_seconds_total{' \
	'lb_backend_origin_reused_total{' 'process_open_fds ' 'process_start_time_seconds '; do
	grep -qF "$want" "$T/backend.prom" || fail "lb-backend metrics" "no line starting '$want'"
done
# the listener's other answers
code_of() { on lb curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$@"; }
big=$(head -c 9000 /dev/zero | tr '\0' a)
got="$(code_of "http://127.0.0.1:$MPORT/") $(code_of -X POST "http://127.0.0.1:$MPORT/metrics")"
got="$got $(code_of -I "http://127.0.0.1:$MPORT/metrics?x=1") $(code_of -H "X-Big: $big" "http://127.0.0.1:$MPORT/metrics")"
check "metrics listener: / 404, POST 405, HEAD 200, a 9000-byte header 431" \
	"$([ "$got" = "404 405 200 431" ]; echo $?)" "got $got"
hc=$(awk -v m="xdplb_health_check_duration_seconds_count{vip=\"$VIP\",backend=\"$(lab_backend_addr 1 4)\"}" \
	'$1 == m { print $2 }' "$T/lbd.prom")
check "health check durations counted (${hc:-none})" \
	"$([ "${hc:-0}" -gt 0 ]; echo $?)" "count ${hc:-missing}"

# ---------------------------------------------------------------- traffic
vip_packets() {
	lbctl -j stats | python3 -c '
import json, sys
for v in json.load(sys.stdin)["vips"]:
    if v["vip"] == sys.argv[1]:
        print(v["packets"])' "$VIP"
}
N=20
p0=$(vip_packets)
tcp_many "metrics traffic" "$V4" $N
sleep 0.3
p1=$(vip_packets)
check "VIP counter moved with $N connections ($p0 -> $p1 packets)" \
	"$([ $((p1 - p0)) -ge $((N * 4)) ]; echo $?)" "only $((p1 - p0)) packets"
if got=$(on lb python3 "$PROM_HELPER" query "$API" \
	"xdplb_vip_packets_total{job=\"lbd\",vip=\"$VIP\"}" "$p1" 20); then
	pass "Prometheus scraped lbd: xdplb_vip_packets_total = $got, as lbctl says"
else
	fail "Prometheus scraped lbd" "query gave $got, lbctl says $p1 ($(tail -2 "$T/prometheus.log"))"
fi

# N distinct objects through lb-backend: N origin fetches; then the same
# N again: N cache hits.  Prometheus must see exactly these.
prom_sum() { # EXPR WANT: Prometheus' sum(EXPR) reaches WANT
	on lb python3 "$PROM_HELPER" query "$API" "sum($1)" "$2" 20
}
# (the figures before: ">=0" answers with the first value scraped)
fetches0=$(prom_sum 'lb_backend_origin_fetch_duration_seconds_count{job="backend"}' '>=0')
hits0=$(prom_sum 'lb_backend_cache_hits_total{job="backend"}' '>=0')
req0=$(prom_sum 'lb_backend_requests_total{job="backend",class="2xx"}' '>=0')
for round in 1 2; do
	codes=$(on cl curl -s --max-time 20 -o /dev/null -w '%{http_code}\n' \
		"http://$B1:$BPORT/who?m=[1-$N]")
	[ "$(echo "$codes" | grep -c '^200$')" -eq $N ] ||
		fail "lb-backend requests, round $round" "codes: $(echo "$codes" | sort | uniq -c | tr -s ' \n' ' ')"
done
if got=$(prom_sum 'lb_backend_origin_fetch_duration_seconds_count{job="backend"}' $((fetches0 + N))); then
	pass "Prometheus scraped lb-backend: origin fetches went $fetches0 -> $got with $N new objects"
else
	fail "Prometheus scraped lb-backend: origin fetches" "got $got, want $((fetches0 + N))"
fi
if got=$(prom_sum 'lb_backend_cache_hits_total{job="backend"}' $((hits0 + N))); then
	pass "Prometheus scraped lb-backend: cache hits went $hits0 -> $got with $N repeated requests"
else
	fail "Prometheus scraped lb-backend: cache hits" "got $got, want $((hits0 + N))"
fi
# each fetch went on a new or a pooled origin connection
if got=$(prom_sum 'sum(lb_backend_origin_connections_total{job="backend"}) + sum(lb_backend_origin_reused_total{job="backend"})' ">=$N"); then
	pass "Prometheus scraped lb-backend: $got origin connections opened or reused"
else
	fail "Prometheus scraped lb-backend: origin pool" "got $got, want at least $N"
fi
# scrapes arrive on the admin listener: they are not counted as requests
if got=$(prom_sum 'lb_backend_requests_total{job="backend",class="2xx"}' $((req0 + 2 * N))); then
	pass "Prometheus scraped lb-backend: requests answered 2xx went $req0 -> $got with $((2 * N))"
else
	fail "Prometheus scraped lb-backend: requests" "got $got, want $((req0 + 2 * N))"
fi

# every query of the Grafana dashboard in tools/ runs and finds series
DASH=$HERE/../../tools/grafana/xdp-lb.json
if out=$(on lb python3 "$PROM_HELPER" dashboard "$API" "$DASH" lbd_job=lbd \
	backend_job=backend vip=.\*); then
	pass "Grafana dashboard: $out answered by Prometheus"
else
	fail "Grafana dashboard queries" "$out"
fi

# ---------------------------------------------------------------- stalled clients
on_bg lb python3 "$PROM_HELPER" hold 127.0.0.1 "$MPORT" 16 "$T/hold.ready" \
	"$T/hold.result"
for _ in $(seq 100); do
	[ -f "$T/hold.ready" ] && break
	sleep 0.05
done
check "a 17th metrics client is refused: $(cat "$T/hold.ready" 2>/dev/null)" \
	"$(grep -q '^HTTP/1.1 503' "$T/hold.ready" 2>/dev/null; echo $?)" \
	"got: $(cat "$T/hold.ready" 2>/dev/null)"
t0=$(date +%s%N)
if out=$(on lb timeout 2 "$O/lbctl" -s "$R/lbd.sock" status 2>&1); then
	pass "lbctl answers while 16 metrics clients stall ($((($(date +%s%N) - t0) / 1000000)) ms)"
else
	fail "lbctl answers while 16 metrics clients stall" "$out"
fi
for _ in $(seq 200); do
	[ -f "$T/hold.result" ] && break
	sleep 0.05
done
res=$(cat "$T/hold.result" 2>/dev/null)
check "stalled metrics clients dropped at the deadline: $res" \
	"$(echo "$res" | awk '$2 == 16 && $4 == 16 && $6 >= 3 && $6 <= 8 { ok = 1 } END { exit !ok }'; echo $?)" \
	"${res:-no result}"
if metrics | grep -q '^xdplb_metrics_timeouts_total 16$'; then
	pass "metrics served again after the stalled clients, 16 timeouts counted"
else
	fail "metrics served again after the stalled clients" \
		"$(metrics | grep '^xdplb_metrics_\(timeouts\|rejected\)' | tr '\n' ' ')"
fi

finish
