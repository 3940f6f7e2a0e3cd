#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# tools/fleet.sh - a fleet of balancers behind a BGP router, in namespaces.
#
#   tools/fleet.sh up NAME [--balancers N] [--backends N] [--build DIR]
#   tools/fleet.sh down NAME
#   tools/fleet.sh exec NAME HOST CMD...   HOST: rt, cl, l1..lN, b1..bN, f1, f2
#   tools/fleet.sh birdc NAME HOST CMD...  (BIRD of rt or lK)
#
# or, from a bash script:  source tools/fleet.sh; fleet_up NAME ...
#
# Topology (addresses 10.201.x.y; the front segment is a bridge in the
# router's namespace):
#
#     NAME-cl  client     10.201.1.10 ── eth1 NAME-rt (router) 10.201.1.1
#                                               │ br0 10.201.0.1
#                ┌──────────────┬───────────────┼──────────────┐
#     NAME-lK  balancer K  10.201.0.1K     NAME-bK  backend K  10.201.0.2K
#                                               │ eth2 10.201.2.1
#     NAME-fK  backend K behind the router (IPIP)  10.201.2.2K
#
# Every balancer runs BIRD (tools/bird/balancer.conf): its kernel protocol
# learns the routes of the announce table (FLEET_TABLE, where lbd
# --announce-table puts one route per VIP that it can serve) and exports
# them over BGP, with BFD (100 ms x 5), to the router
# (tools/bird/router.conf).  The router's BIRD merges the equal routes into one
# multipath route per VIP, hashed on addresses, protocol and ports read
# from each packet (fib_multipath_hash_policy=3, fields 0x37): ECMP over
# the balancers.  Not policy 1: it takes the hash a forwarded packet
# already carries, and in namespaces of one kernel that is the client
# socket's, which TCP changes on every retransmission timeout, so a
# connection would hop to another balancer by itself, as no hardware
# router makes it.
#
# The backends on the front segment serve DSR VIPs (VIP ranges on lo, ARP
# quiet); those behind the router run lb-decap for IPIP.  Both answer the
# client directly through the router.  The lab's veth rules hold: the
# router's bridge ports facing the balancers run an XDP_PASS program, and
# transmit checksum offload is off everywhere.
#
# /run/xdp-lb-lab/NAME holds a bpffs (bpf/), BIRD's sockets and logs.

_fleet_here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tools/lab.sh
source "$_fleet_here/lab.sh"

FLEET_NET=10.201
FLEET_RT4=10.201.0.1
FLEET_CL4=10.201.1.10
FLEET_VIP4_NET=10.201.100.0/24
FLEET_TABLE=100 # the announce table lbd writes and BIRD reads
FLEET_AS_RT=65000
FLEET_AS_LB=65001

fleet_lb_addr() { echo "$FLEET_NET.0.$((10 + $1))"; }
fleet_backend_addr() { echo "$FLEET_NET.0.$((20 + $1))"; }
fleet_far_addr() { echo "$FLEET_NET.2.$((20 + $1))"; }

fleet_birdc() { # NAME HOST CMD...
	local name=$1 host=$2
	shift 2
	ip netns exec "$name-$host" birdc -s "$LAB_RUN/$name/bird-$host.ctl" "$@"
}

# _fleet_ns NAME HOST: a namespace with lo up and no DAD
_fleet_ns() {
	ip netns add "$1-$2" || return 1
	ip -n "$1-$2" link set lo up
	ip netns exec "$1-$2" sysctl -qw net.ipv6.conf.all.accept_dad=0 \
		net.ipv6.conf.default.accept_dad=0 >/dev/null
}

# _fleet_port NAME HOST ADDR MAC: HOST's eth0 on the router's bridge
_fleet_port() {
	local name=$1 host=$2 addr=$3 mac=$4 ns="$1-$2"
	_fleet_ns "$name" "$host" || return 1
	ip link add name "fl$$$host" netns "$ns" address "$mac" type veth \
		peer name "p-$host" netns "$name-rt" || return 1
	ip -n "$ns" link set "fl$$$host" name eth0 || return 1
	ip -n "$ns" addr add "$addr/24" dev eth0
	ip -n "$ns" link set eth0 up
	ip -n "$name-rt" link set "p-$host" master br0 up
	ip netns exec "$ns" ethtool -K eth0 tx off >/dev/null 2>&1
	ip -n "$ns" route add default via "$FLEET_RT4"
}

# _fleet_link NAME HOST RTDEV NET: HOST on a point-to-point link to the
# router (RTDEV there), HOST at NET.K, the router at NET.1
_fleet_link() {
	local name=$1 host=$2 dev=$3 addr=$4 rtaddr=$5 ns="$1-$2"
	_fleet_ns "$name" "$host" || return 1
	ip link add name "fl$$$host" netns "$ns" type veth \
		peer name "$dev" netns "$name-rt" || return 1
	ip -n "$ns" link set "fl$$$host" name eth0 || return 1
	ip -n "$ns" addr add "$addr/24" dev eth0
	ip -n "$ns" link set eth0 up
	ip -n "$name-rt" addr add "$rtaddr/24" dev "$dev" 2>/dev/null
	ip -n "$name-rt" link set "$dev" up
	ip netns exec "$ns" ethtool -K eth0 tx off >/dev/null 2>&1
	ip netns exec "$name-rt" ethtool -K "$dev" tx off >/dev/null 2>&1
	ip -n "$ns" route add default via "$rtaddr"
}

# _fleet_backend_sysctl NS: a backend that holds the VIP ranges
_fleet_backend() {
	lab_dsr_sysctl "$1"
	ip -n "$1" route add local "$FLEET_VIP4_NET" dev lo
}

# The BIRD configurations are the examples of tools/bird/, filled in.
_fleet_bird_rt() { # NAME NB
	local k lines=
	for k in $(seq "$2"); do
		lines+="protocol bgp l$k from balancer { neighbor $(fleet_lb_addr "$k") as $FLEET_AS_LB; }\n"
	done
	sed -e "s|@ROUTER_ID@|$FLEET_RT4|g" -e "s|@IFACE@|br0|g" \
		-e "s|@LOCAL_AS@|$FLEET_AS_RT|g" \
		-e "s|@LOG@|$LAB_RUN/$1/bird-rt.log|g" \
		-e "s|@BALANCERS@|$lines|" "$_fleet_here/bird/router.conf"
}

_fleet_bird_lb() { # NAME K
	local addr
	addr=$(fleet_lb_addr "$2")
	sed -e "s|@ROUTER_ID@|$addr|g" -e "s|@IFACE@|eth0|g" \
		-e "s|@LOCAL_AS@|$FLEET_AS_LB|g" -e "s|@PEER@|$FLEET_RT4|g" \
		-e "s|@PEER_AS@|$FLEET_AS_RT|g" -e "s|@TABLE@|$FLEET_TABLE|g" \
		-e "s|@PROTO@|201|g" -e "s|@LOG@|$LAB_RUN/$1/bird-l$2.log|g" \
		"$_fleet_here/bird/balancer.conf"
}

# fleet_bird NAME HOST: (re)start BIRD in HOST (rt or lK)
fleet_bird() {
	local name=$1 host=$2 dir="$LAB_RUN/$1" conf
	conf="$dir/bird-$host.conf"
	if [ "$host" = rt ]; then
		_fleet_bird_rt "$name" "$(cat "$dir/balancers")" >"$conf"
	else
		_fleet_bird_lb "$name" "${host#l}" >"$conf"
	fi
	ip netns exec "$name-$host" bird -c "$conf" -s "$dir/bird-$host.ctl" \
		-P "$dir/bird-$host.pid"
}

# fleet_bird_stop NAME HOST: kill -9, as a crash would
fleet_bird_stop() {
	local pid
	pid=$(cat "$LAB_RUN/$1/bird-$2.pid" 2>/dev/null) &&
		kill -KILL "$pid" 2>/dev/null
	rm -f "$LAB_RUN/$1/bird-$2.pid"
}

fleet_up() { # NAME [--balancers N] [--backends N] [--build DIR]
	local name=$1 nl=3 nb=3 k
	shift
	while [ $# -gt 0 ]; do
		case $1 in
		--balancers) nl=$2; shift 2 ;;
		--backends) nb=$2; shift 2 ;;
		--build) LAB_BUILD=$2; shift 2 ;;
		*) lab_err "unknown option '$1'"; return 2 ;;
		esac
	done
	case $nl in [1-8]) ;; *) lab_err "balancers must be 1..8, not '$nl'"; return 2 ;; esac
	case $nb in [1-8]) ;; *) lab_err "backends must be 1..8, not '$nb'"; return 2 ;; esac
	lab_name_ok "$name" 12 fleet.sh || return
	local pass=$LAB_BUILD/bpf/pass.bpf.o decap=$LAB_BUILD/lb-decap
	if [ ! -f "$pass" ] || [ ! -x "$decap" ]; then
		lab_err "$pass or $decap not built (make)"
		return 1
	fi
	if ! command -v bird >/dev/null; then
		lab_err "bird not installed (tools/deps.sh)"
		return 1
	fi

	(
		set -e
		mkdir -p "$LAB_RUN/$name/bpf"
		echo "$nl" >"$LAB_RUN/$name/balancers"
		_fleet_ns "$name" rt
		ip netns exec "$name-rt" sysctl -qw net.ipv4.ip_forward=1 \
			net.ipv4.fib_multipath_hash_policy=3 \
			net.ipv4.fib_multipath_hash_fields=0x0037 \
			net.ipv4.conf.all.rp_filter=0 \
			net.ipv4.conf.default.rp_filter=0 >/dev/null
		ip -n "$name-rt" link add br0 type bridge forward_delay 0 \
			stp_state 0 mcast_snooping 0
		ip -n "$name-rt" addr add "$FLEET_RT4/24" dev br0
		ip -n "$name-rt" link set br0 up
		_fleet_link "$name" cl eth1 "$FLEET_CL4" "$FLEET_NET.1.1"
		for k in $(seq "$nl"); do
			_fleet_port "$name" "l$k" "$(fleet_lb_addr "$k")" \
				"$(printf '02:00:00:01:00:%02x' $((10 + k)))"
			# like a NIC's MAC filter: frames for one balancer
			# never reach another (the bridge floods unknown
			# unicast, and XDP on a veth sees every frame)
			bridge -n "$name-rt" link set dev "p-l$k" flood off
			# frames a balancer sends with XDP_TX arrive at its port
			ip netns exec "$name-rt" xdp-loader load -m native \
				"p-l$k" "$pass" >/dev/null 2>&1
			ip -n "$name-l$k" route add "$FLEET_NET.2.0/24" via "$FLEET_RT4"
		done
		for k in $(seq "$nb"); do
			_fleet_port "$name" "b$k" "$(fleet_backend_addr "$k")" \
				"$(printf '02:00:00:01:00:%02x' $((20 + k)))"
			_fleet_backend "$name-b$k"
		done
		for k in 1 2; do
			_fleet_link "$name" "f$k" "eth$((1 + k))" \
				"$(fleet_far_addr "$k")" "$FLEET_NET.2.1"
			_fleet_backend "$name-f$k"
			ip netns exec "$name-f$k" "$decap" --iface eth0 \
				--addr "$(fleet_far_addr "$k")" >/dev/null
		done
		# the second far link shares the subnet: route each backend
		ip -n "$name-rt" route replace "$(fleet_far_addr 1)" dev eth2
		ip -n "$name-rt" route replace "$(fleet_far_addr 2)" dev eth3
		mount -t bpf bpf "$LAB_RUN/$name/bpf"
		fleet_bird "$name" rt
		for k in $(seq "$nl"); do
			fleet_bird "$name" "l$k"
		done
	)
	local rc=$?
	if [ $rc -ne 0 ]; then
		lab_err "setting up fleet '$name' failed; removing it"
		fleet_down "$name"
		return 1
	fi
	return 0
}

fleet_down() { # NAME
	lab_down "$1"
}

# fleet_lbd NAME K [ARGS...]: start lbd on balancer K (it daemonizes once
# it answers), announcing into FLEET_TABLE; state, socket, log and pins
# under LAB_RUN/NAME
fleet_lbd() {
	local name=$1 k=$2 r="$LAB_RUN/$1"
	shift 2
	ip netns exec "$name-l$k" "$LAB_BUILD/lbd" --iface eth0 \
		--state "$r/state$k.json" -S "$r/lbd$k.sock" -p "$r/bpf/l$k" \
		-l "$r/lbd$k.log" --announce-table "$FLEET_TABLE" "$@"
}

fleet_lbctl() { # NAME K ARGS...: lbctl of balancer K
	local name=$1 k=$2
	shift 2
	ip netns exec "$name-l$k" "$LAB_BUILD/lbctl" \
		-S "$LAB_RUN/$name/lbd$k.sock" "$@"
}

fleet_lbd_pid() { # NAME K
	fleet_lbctl "$1" "$2" -j status 2>/dev/null |
		python3 -c 'import json,sys; print(json.load(sys.stdin)["pid"])'
}

# fleet_wait_paths NAME VIP WANT [TENTHS]: wait until the router's route to
# VIP goes to WANT (as fleet_paths prints it); prints the milliseconds it
# took, or fails after TENTHS tenths of a second (default 100)
fleet_wait_paths() {
	local t0 i
	t0=$(date +%s%N)
	for ((i = 0; i < ${4:-100}; i++)); do
		if [ "$(fleet_paths "$1" "$2")" = "$3" ]; then
			echo $((($(date +%s%N) - t0) / 1000000))
			return 0
		fi
		sleep 0.1
	done
	return 1
}

# fleet_hold NAME DIR ADDR PORT N: N connections from the client to
# ADDR:PORT, each sending a line every 100 ms (tools/connhold.py), in the
# background; returns once they are open (1 if they do not open in 10 s)
fleet_hold() {
	local name=$1 dir=$2 i
	mkdir -p "$dir"
	ip netns exec "$name-cl" python3 "$_fleet_here/connhold.py" hold \
		"$3" "$4" "$5" 100 "$dir" 2>"$dir/err" &
	for ((i = 0; i < 100; i++)); do
		[ -e "$dir/up" ] && return 0
		sleep 0.1
	done
	return 1
}

# fleet_hold_end DIR: stop the connections of fleet_hold; prints their
# summary "open N broken B stalled S maxgap_ms G lines L"
fleet_hold_end() {
	local i
	touch "$1/stop"
	for ((i = 0; i < 100; i++)); do
		[ -e "$1/result" ] && break
		sleep 0.1
	done
	head -1 "$1/result" 2>/dev/null
}

# fleet_serve NAME HOST PORT: the echo server of tools/connhold.py on a
# backend, answering "HOST LINE"
fleet_serve() {
	# not a job of the caller's shell: fleet_down kills it quietly
	(ip netns exec "$1-$2" python3 "$_fleet_here/connhold.py" serve "$3" \
		"$LAB_RUN/$1/serve-$2-$3" "$2" >/dev/null 2>&1 &)
}

# fleet_paths NAME VIP: the balancers the router's route to VIP goes to,
# as "10.201.0.11 10.201.0.13" (empty without a route)
fleet_paths() {
	ip -n "$1-rt" -4 route show "$2/32" 2>/dev/null |
		grep -o 'via [0-9.]*' | awk '{print $2}' | sort | tr '\n' ' ' |
		sed 's/ $//'
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	set -u
	lab_cli "$0" 4,9 fleet "up down birdc" "$@"
fi
