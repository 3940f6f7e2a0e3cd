#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# lb-backend's admin endpoints (/stats): without --admin-listen only
# loopback clients get them; with it they are served there alone, and on
# the service listener the path is content like any other.  Runs in a
# network namespace of its own, where an address on a veth gives a client that
# is not on loopback.
source "$(dirname "$0")/lib.sh"
need
need_cmd ip
need_root
NS=$(unique_name tbadm)
ip netns add "$NS" || exit 1
on_exit ip netns del "$NS"
in_ns() { ip netns exec "$NS" "$@"; }
in_ns ip link set lo up
in_ns ip link add d0 type veth peer name d1
in_ns ip addr add 192.0.2.1/32 dev d0
in_ns ip link set d0 up
in_ns ip link set d1 up

mkdir -p "$T/root"
echo "content named stats" >"$T/root/stats"
echo ok >"$T/root/index.html"
code() { in_ns curl -s -o "$T/body" -w '%{http_code}' --max-time 5 "$@"; }

# start_ns PORT ARGS...: lb-backend on 0.0.0.0:PORT in the namespace (a new
# port each time: the workers of a killed master still drain on the old)
start_ns() {
	local port=$1
	shift
	# ip netns exec execs lb-backend: $! is its master
	ip netns exec "$NS" "$BIN" --listen 0.0.0.0:"$port" --workers 1 --root "$T/root" "$@" \
		2>>"$T/backend.log" &
	BPID=$!
	PIDS+=($BPID)
	for i in $(seq 100); do
		[ "$(code "http://127.0.0.1:$port/healthz")" = 200 ] && return 0
		sleep 0.05
	done
	echo "FAIL start: lb-backend did not start"
	cat "$T/backend.log"
	exit 1
}

start_ns 8080
c=$(code http://127.0.0.1:8080/stats)
check "admin /stats answers a loopback client" \
	$([ "$c" = 200 ] && grep -q '"workers"' "$T/body"; echo $?) "got $c"
c=$(code http://192.0.2.1:8080/stats)
check "admin /stats refused to a client not on loopback" \
	$([ "$c" = 404 ] && ! grep -q '"workers"' "$T/body"; echo $?) "got $c: $(head -c 80 "$T/body")"
c=$(code http://192.0.2.1:8080/)
check "admin that client is served content" $([ "$c" = 200 ]; echo $?) "got $c"
stop_backend

start_ns 8180 --admin-listen 127.0.0.1:8181
c=$(code http://127.0.0.1:8181/stats)
check "admin /stats on the admin listener" \
	$([ "$c" = 200 ] && grep -q '"workers"' "$T/body"; echo $?) "got $c"
c=$(code http://127.0.0.1:8180/stats)
check "admin with an admin listener /stats is content on the service listener" \
	$([ "$c" = 200 ] && grep -q "content named stats" "$T/body"; echo $?) "got $c: $(head -c 80 "$T/body")"
c=$(code http://127.0.0.1:8181/index.html)
check "admin listener serves no content" $([ "$c" = 404 ]; echo $?) "got $c"
c=$(code http://127.0.0.1:8181/healthz)
check "admin listener answers /healthz" $([ "$c" = 200 ]; echo $?) "got $c"
kill -HUP "$BPID"
for i in $(seq 50); do
	c=$(code http://127.0.0.1:8181/stats)
	grep -q '"generation":1' "$T/body" && break
	sleep 0.1
done
check "admin listener survives a reload" \
	$([ "$c" = 200 ] && grep -q '"generation":1' "$T/body"; echo $?) "got $c: $(head -c 60 "$T/body")"
stop_backend
finish
