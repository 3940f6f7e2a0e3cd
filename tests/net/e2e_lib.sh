# shellcheck shell=bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Shared by the end-to-end tests (t_e2e_*.sh): one lab per script, lbd in
# it, lb-backend and a UDP echo server on every backend, traffic from the
# client, and removal of everything on exit, interrupt or failure (through
# tests/lib.sh, which gives the PASS/FAIL lines).
#   source e2e_lib.sh BUILD_DIR TAG     TAG: a few lowercase letters
E2E_TAG=$2
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/lib.sh
source "$HERE/../lib.sh" "${1:-build}"
# shellcheck source=tools/lab.sh
source "$HERE/../../tools/lab.sh"
# shellcheck disable=SC2034 # read by lab_up
LAB_BUILD=$O
HELPER=$HERE/e2e_helper.py

NAME=$(unique_name "e2e$E2E_TAG") # the lab; the pid tells whether its owner still runs
R=$LAB_RUN/$NAME
T=

# Labs of earlier runs of these tests whose process is gone (killed with
# SIGKILL, which no trap sees) are removed before a new one is made.
e2e_reap() {
	local ns lab pid
	for ns in $(ip netns list | awk '{print $1}'); do
		[[ $ns =~ ^(e2e[a-z]+([0-9]+))-[a-z0-9]+$ ]] || continue
		lab=${BASH_REMATCH[1]} pid=${BASH_REMATCH[2]}
		kill -0 "$pid" 2>/dev/null || lab_down "$lab"
	done
	for lab in "$LAB_RUN"/e2e* /tmp/e2e*.*; do
		[[ ${lab##*/} =~ ^(e2e[a-z]+([0-9]+))(\.[a-zA-Z0-9]+)?$ ]] || continue
		kill -0 "${BASH_REMATCH[2]}" 2>/dev/null && continue
		if [ -n "${BASH_REMATCH[3]}" ]; then
			rm -rf "$lab"
		else
			lab_down "${BASH_REMATCH[1]}"
		fi
	done
}

e2e_need() {
	need_built lbd lbctl lb-backend lb-decap bpf/pass.bpf.o
	need_cmd python3 curl ip ethtool xdp-loader
	need_root
}

# e2e_up LAB_OPTIONS...: the lab with lbd running in it
e2e_up() {
	e2e_need
	tmp_dir T "$NAME"
	on_exit lab_down "$NAME"
	e2e_reap
	if ! lab_up "$NAME" --build "$O" "$@" >"$T/lab.log" 2>&1; then
		fail "lab up" "$(tail -3 "$T/lab.log")"
		exit 1
	fi
	if ! lbd_start; then
		fail "lbd start" "$(tail -5 "$R/lbd.log" "$T/lbd.err" 2>/dev/null)"
		exit 1
	fi
}

on() { # HOST CMD...: run in a host of the lab
	lab_exec "$NAME" "$@"
}
# on_bg HOST CMD...: run in the background in a host of the lab, not as a job
# of this shell (lab_down ends every process of the lab's namespaces)
on_bg() {
	(lab_exec "$NAME" "$@" &)
}
lbctl() { on lb "$O/lbctl" -S "$R/lbd.sock" "$@"; }
lbctl_q() { # lbctl whose output only matters on failure
	local out
	if ! out=$(lbctl "$@" 2>&1); then
		fail "lbctl $*" "$out"
		return 1
	fi
}
# E2E_LBD_ARGS: more options of lbd (an array; set before e2e_up)
E2E_LBD_ARGS=()
lbd_start() {
	on lb "$O/lbd" --iface eth0 --state "$R/state.json" \
		--socket "$R/lbd.sock" --pin "$R/bpf/lb" --log "$R/lbd.log" \
		"${E2E_LBD_ARGS[@]}" 2>>"$T/lbd.err"
}
lbd_pid() { lbctl -j status | json_get pid; }

# json_get PATH...: from JSON on stdin, the value at PATH (keys and
# indices, e.g. `json_get global icmp_too_big_forwarded packets`)
json_get() {
	python3 -c '
import json, sys
v = json.load(sys.stdin)
for k in sys.argv[1:]:
    v = v[int(k)] if isinstance(v, list) else v[k]
print(v)' "$@"
}
stat_packets() { # COUNTER: packets of a global datapath counter
	lbctl -j stats | json_get global "$1" packets
}
# backend_packets VIP: "BACKEND PACKETS" lines of the VIP's backends
backend_packets() {
	lbctl -j stats | python3 -c '
import json, sys
for v in json.load(sys.stdin)["vips"]:
    if v["vip"] == sys.argv[1]:
        for b in v["backends"]:
            print(b["backend"], b["packets"])' "$1"
}

# wait_in_table N: until every VIP has N backends in its table (lbd
# resolves their MACs first)
wait_in_table() {
	local got
	for _ in $(seq 50); do
		got=$(lbctl -j list | python3 -c '
import json, sys
print(" ".join(str(v["backends_in_table"]) for v in json.load(sys.stdin)["vips"]))')
		echo "$got" | awk -v n="$1" 'NF == 0 { exit 1 }
			{ for (i = 1; i <= NF; i++) if ($i != n) exit 1 }' && return 0
		sleep 0.1
	done
	fail "backends in table" "want $1 per VIP, have: $got"
	return 1
}

# health_of K FIELD [VIP]: a field of backend K in `lbctl -j health`, in
# the first VIP that has it (or in VIP)
health_of() {
	lbctl -j health | python3 -c '
import json, sys
for v in json.load(sys.stdin)["vips"]:
    if sys.argv[3] and v["vip"] != sys.argv[3]:
        continue
    for b in v["backends"]:
        if b["backend"] == sys.argv[1]:
            print(b.get(sys.argv[2], ""))
            sys.exit(0)' "10.200.0.1$1" "$2" "${3:-}"
}
# wait_health K up|down SECONDS [VIP]: sets WAITED (seconds, 0.1 resolution)
wait_health() {
	local i
	WAITED=
	for i in $(seq $(($3 * 20))); do
		if [ "$(health_of "$1" health "${4:-}")" = "$2" ]; then
			WAITED=$(awk -v i="$i" 'BEGIN { printf "%.2f", i / 20 }')
			return 0
		fi
		sleep 0.05
	done
	return 1
}
# backends_start PORT...: lb-backend on every backend, one per port, each
# serving /who: "bK" on the first port, "bK PORT" on the others
backends_start() {
	local k nb first=$1 port d up
	nb=$(awk '{print $1}' "$R/lab")
	for k in $(seq "$nb"); do
		for port in "$@"; do
			d=$T/root/b$k-$port
			mkdir -p "$d"
			if [ "$port" = "$first" ]; then
				echo "b$k" >"$d/who"
			else
				echo "b$k $port" >"$d/who"
			fi
			on_bg "b$k" "$O/lb-backend" --listen "[::]:$port" --root "$d" \
				--workers 1 >>"$T/backend-b$k.log" 2>&1
		done
	done
	for k in $(seq "$nb"); do
		for port in "$@"; do
			up=0
			for _ in $(seq 100); do
				on "b$k" curl -s -o /dev/null --max-time 1 \
					"http://127.0.0.1:$port/who" && up=1 && break
				sleep 0.05
			done
			if [ $up -eq 0 ]; then
				fail "backend start" "lb-backend on b$k port $port"
				exit 1
			fi
		done
	done
}

# udp_echo_start PORT: the UDP echo server on every backend
udp_echo_start() {
	local k nb
	nb=$(awk '{print $1}' "$R/lab")
	for k in $(seq "$nb"); do
		on_bg "b$k" python3 "$HELPER" udp-echo "b$k" "$1" "$T/udp-b$k.ready" \
			>>"$T/udp-b$k.log" 2>&1
	done
	for k in $(seq "$nb"); do
		for _ in $(seq 100); do
			[ -f "$T/udp-b$k.ready" ] && break
			sleep 0.05
		done
		if [ ! -f "$T/udp-b$k.ready" ]; then
			fail "udp echo start" "b$k: $(tail -2 "$T/udp-b$k.log")"
			exit 1
		fi
	done
}

# A long-lived connection from the client: stream_start ID ADDR PORT
# starts it and waits for its first answer (sets STREAM_BE to the backend
# that answered); stream_stop ID stops it and sets STREAM_RESULT to
# "requests N maxgap_ms G bodies LIST error WHY".
stream_start() {
	local id=$1
	rm -f "$T/stream-$id" "$T/stream-$id.first" "$T/stream-$id.stop"
	on_bg cl python3 "$HELPER" stream "$2" "$3" /who "$T/stream-$id" \
		"$T/stream-$id.stop" >>"$T/stream-$id.log" 2>&1
	STREAM_BE=
	for _ in $(seq 100); do
		if [ -f "$T/stream-$id.first" ]; then
			# shellcheck disable=SC2034 # read by the caller
			read -r STREAM_BE _ <"$T/stream-$id.first"
			return 0
		fi
		[ -f "$T/stream-$id" ] && break
		sleep 0.05
	done
	return 1
}
stream_stop() {
	local id=$1
	touch "$T/stream-$id.stop"
	for _ in $(seq 100); do
		[ -f "$T/stream-$id" ] && break
		sleep 0.05
	done
	STREAM_RESULT=$(cat "$T/stream-$id" 2>/dev/null || echo "requests 0 maxgap_ms 0 bodies - error no_result")
}
# stream_field NAME: a field of STREAM_RESULT
stream_field() {
	echo "$STREAM_RESULT" | awk -v k="$1" '{for (i = 1; i < NF; i += 2) if ($i == k) print $(i + 1)}'
}

# http_many NAME URL N WANT_BODY_RE: N requests on N connections, all 200
# with a body matching WANT_BODY_RE; sets BODIES (distinct bodies, sorted)
http_many() {
	local name=$1 url=$2 n=$3 re=$4 codes bad
	rm -rf "$T/h"
	mkdir "$T/h"
	codes=$(on cl curl -s --max-time 20 -H 'Connection: close' \
		-w '%{http_code}\n' -o "$T/h/#1" "$url?n=[1-$n]")
	BODIES=$(cat "$T"/h/* 2>/dev/null | sort -u | tr '\n' ' ')
	bad=$(echo "$codes" | grep -vc '^200$')
	if [ "$(echo "$codes" | grep -c '^200$')" -ne "$n" ]; then
		fail "$name" "$bad of $n requests failed (codes: $(echo "$codes" | sort | uniq -c | tr -s ' \n' ' '))"
		return 1
	fi
	if cat "$T"/h/* | grep -Evq "^($re)\$"; then
		fail "$name" "unexpected bodies: $BODIES"
		return 1
	fi
	return 0
}

# tcp_many NAME ADDR N: N HTTP requests on N connections to ADDR port 80,
# all answered, by all three backends together
tcp_many() {
	http_many "$1" "http://$2/who" "$3" 'b[123]' || return 1
	check "$1: $3 connections answered by the three backends" \
		"$([ "$BODIES" = "b1 b2 b3 " ]; echo $?)" "answered by: $BODIES"
}

# udp_many NAME ADDR PORT N: N UDP requests from N source ports, each
# answered from the VIP (the client's socket is connected to it) with its
# own payload, by all three backends together
udp_many() {
	local name=$1 out errs got
	out=$(on cl python3 "$HELPER" udp-ask "$2" "$3" "$4")
	errs=$(echo "$out" | grep -c '^ERROR')
	got=$(echo "$out" | grep -v '^ERROR' | sort -u | tr '\n' ' ')
	check "$name: $4 requests from $4 source ports answered from the VIP" \
		"$([ "$errs" -eq 0 ] && [ "$(echo "$out" | wc -l)" -eq "$4" ]; echo $?)" \
		"$errs failed: $(echo "$out" | grep '^ERROR' | sort | uniq -c | head -3 | tr -s ' \n' ' ')"
	check "$name: answered by the three backends" \
		"$([ "$got" = "b1 b2 b3 " ]; echo $?)" "answered by: $got"
}
