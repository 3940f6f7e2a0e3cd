#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# tools/demo.sh BUILD_DIR - the whole system in network namespaces, shown
# working (run by `sudo make demo`):
#
#   client ── switch ── LB (XDP balancer, lbd) ── three backend hosts,
#                                                 each lb-backend with two
#                                                 workers, a shared cache
#                                                 and an origin behind it
#
# It sends requests through the VIP and shows how they spread over hosts
# and workers and how the cache answers, shows lbctl list / stats, stops
# one backend host and shows the health check taking it out with no failed
# request, brings it back, and removes everything it made.
set -u
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tools/demo_lib.sh
source "$HERE/demo_lib.sh" lab.sh "${1:-build}"

NAME=demo$$
R=$LAB_RUN/$NAME
VIP=10.200.100.1:80/tcp
URL=http://10.200.100.1
W=$(mktemp -d /tmp/xdp-lb-demo.XXXXXX)

cleanup() {
	echo
	echo "${D}removing the lab (namespaces, processes, XDP program, pins)${N}"
	lab_exec "$NAME" lb "$O/lbd" --iface eth0 --pin "$R/bpf/lb" --detach \
		>/dev/null 2>&1
	lab_down "$NAME"
	rm -rf "$W"
}
run() { # show a command as the operator would type it, then run it
	printf '%s$ %s%s\n' "$Y" "${*#"$O/"}" "$N"
	lab_exec "$NAME" lb "$@"
}
lbctl() { run "$O/lbctl" -S "$R/lbd.sock" "$@"; }

for p in lbd lbctl lb-backend bpf/pass.bpf.o; do
	[ -e "$O/$p" ] || die "$O/$p is not built (make)"
done
[ "$(id -u)" -eq 0 ] || die "needs root (sudo make demo)"

# ---------------------------------------------------------------- the lab
step "Building the lab: client, switch, LB and three backend hosts"
lab_up "$NAME" --backends 3 >/dev/null || die "cannot build the lab"
say "client 10.200.0.10, LB 10.200.0.2, backends 10.200.0.11-13 on one L2"
say "segment; the client routes the VIP 10.200.100.1 via the LB, backends"
say "hold it on lo (L2 direct server return: replies go straight back)."

# origin content: ten pages
mkdir -p "$W/origin"
for i in $(seq 10); do
	printf 'page %d, served from the origin\n' "$i" >"$W/origin/page$i.html"
done

step "Starting lb-backend on each backend host (2 workers, shared cache, origin)"
start_backend() { # K
	local k=$1
	# the origin: lb-backend serving files on 127.0.0.1:8080
	(lab_exec "$NAME" "b$k" "$O/lb-backend" --listen 127.0.0.1:8080 \
		--root "$W/origin" --workers 1 >>"$W/origin-b$k.log" 2>&1 &)
	# the front: its own host name, so X-Served-By tells the hosts apart
	(lab_exec "$NAME" "b$k" unshare --uts sh -c \
		"hostname backend$k && exec $O/lb-backend --listen '[::]:80' \
		--origin http://127.0.0.1:8080 --workers 2 --cache-size 8m \
		--ttl 60 --drain-delay 2" >>"$W/backend-b$k.log" 2>&1 &)
}
wait_backend() { # K
	for _ in $(seq 100); do
		lab_exec "$NAME" "b$1" curl -s -o /dev/null --max-time 1 \
			http://127.0.0.1/healthz && return 0
		sleep 0.05
	done
	die "lb-backend on backend$1 did not start (see $W/backend-b$1.log)"
}
for k in 1 2 3; do start_backend "$k"; done
for k in 1 2 3; do wait_backend "$k"; done
say "backend1..3: lb-backend --listen [::]:80 --origin http://127.0.0.1:8080 --workers 2 --cache-size 8m"

# ---------------------------------------------------------------- lbd
step "Attaching the balancer to the LB's eth0 and adding the backends"
run "$O/lbd" --iface eth0 --state "$R/state.json" --socket "$R/lbd.sock" \
	--pin "$R/bpf/lb" --log "$R/lbd.log" || die "lbd did not start"
lbctl vip add "$VIP" --check http:/healthz --check-interval 500ms \
	--check-timeout 300ms --rise 2 --fall 2 >/dev/null || die "vip add failed"
for k in 1 2 3; do
	lbctl add-backend "$VIP" "10.200.0.1$k" >/dev/null || die "add-backend failed"
done
for _ in $(seq 60); do
	[ "$(lab_exec "$NAME" lb "$O/lbctl" -S "$R/lbd.sock" -j list |
		python3 -c 'import json,sys; print(json.load(sys.stdin)["vips"][0]["backends_in_table"])' 2>/dev/null)" = 3 ] && break
	sleep 0.1
done
lbctl list

# ---------------------------------------------------------------- traffic
requests_pages() { # N FILE: N requests, on N connections, over ten pages
	local n=$1 i urls=()
	for i in $(seq "$n"); do
		urls+=(-o /dev/null "$URL/page$(((i - 1) % 10 + 1)).html")
	done
	lab_exec "$NAME" cl curl -s --max-time 5 -H 'Connection: close' \
		-w '%header{x-served-by} %header{x-cache} %{http_code}\n' \
		"${urls[@]}" >"$2" 2>/dev/null
}
report() { # FILE
	local f=$1 total fails
	total=$(wc -l <"$f")
	fails=$(awk '$3 != 200' "$f" | wc -l)
	say "${B}requests:${N} $total sent, $((total - fails)) answered 200, ${fails} failed"
	say "${B}by backend host:${N}"
	awk '$3 == 200 { split($1, a, "/"); n[a[1]]++ } END { for (h in n) printf "  %-10s %4d\n", h, n[h] }' "$f" | sort
	say "${B}by worker (host/pid):${N}"
	awk '$3 == 200 { n[$1]++ } END { for (w in n) printf "  %-18s %4d\n", w, n[w] }' "$f" | sort
	awk '$3 == 200 { t++; if ($2 == "HIT") h++ } END { if (t) printf "%scache:%s %d hits of %d (%.0f%%): every host fetches each page from its origin once,\n       then all its workers answer it from the one shared cache\n", B, N, h, t, 100 * h / t }' B="$B" N="$N" "$f"
}

step "300 requests from the client to the VIP, each on a new connection"
requests_pages 300 "$W/round1"
report "$W/round1"

step "lbctl list and lbctl stats"
lbctl list
lbctl stats | sed -n '1,8p;/10.200.100.1/,$p'

# ---------------------------------------------------------------- failover
step "Stopping backend2 (every process on the host is killed)"
victim_pids=$(ip netns pids "$NAME-b2")
# a client keeps sending while the backend dies and the check notices
(lab_exec "$NAME" cl sh -c "for i in \$(seq 60); do curl -s --max-time 2 \
	-H 'Connection: close' -o /dev/null -w '%{http_code}\n' $URL/page1.html; \
	sleep 0.05; done" >"$W/during" 2>&1 &)
sleep 0.3
kill -KILL $victim_pids 2>/dev/null
t0=$(date +%s.%N)
for _ in $(seq 100); do
	lab_exec "$NAME" lb "$O/lbctl" -S "$R/lbd.sock" -j health |
		grep -q '"backend":"10.200.0.12","state":"down"' && break
	sleep 0.05
done
t1=$(date +%s.%N)
say "the health check took backend2 out $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }') s after it died"
lbctl health
grep -E 'backend 10.200.0.12 (health )?down' "$R/lbd.log" | tail -1 | sed "s/^/${D}lbd.log: /;s/$/${N}/"
sleep 3.5
say "requests sent while it died: $(grep -c . "$W/during"), failed: $(grep -vc '^200$' "$W/during")" \
	"(connections in flight to the dying host can fail until the check fires)"

step "200 more requests: none may fail, none may reach backend2"
requests_pages 200 "$W/round2"
report "$W/round2"
if awk '$3 != 200' "$W/round2" | grep -q . || grep -q '^backend2/' "$W/round2"; then
	say "${Y}unexpected: a request failed or reached backend2${N}"
else
	say "${G}no failed request, backend2 got nothing${N}"
fi

step "Bringing backend2 back"
start_backend 2
wait_backend 2
for _ in $(seq 100); do
	lab_exec "$NAME" lb "$O/lbctl" -S "$R/lbd.sock" -j health |
		grep -q '"backend":"10.200.0.12","state":"active"' && break
	sleep 0.05
done
lbctl health
requests_pages 150 "$W/round3"
report "$W/round3"

step "Done"
say "lbd's log of this run:"
sed "s/^/  ${D}/;s/$/${N}/" "$R/lbd.log" | grep -v 'libxdp' | tail -12
