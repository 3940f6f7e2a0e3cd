#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# tools/lab.sh - a load-balancing lab in network namespaces.
#
#   tools/lab.sh up NAME [--backends N] [--mode dsr|ipip] [--build DIR]
#                        [--router MTU]
#   tools/lab.sh down NAME
#   tools/lab.sh exec NAME HOST CMD...     HOST: cl, lb, sw, b1..bN, rt
#   tools/lab.sh show NAME
#
# or, from a bash script:  source tools/lab.sh; lab_up NAME ...; lab_down NAME
#
# Topology (one L2 segment, a bridge in its own namespace):
#
#     NAME-cl  (client)    10.200.0.10   fd00:200::10  ─┐
#     NAME-lb  (balancer)  10.200.0.2    fd00:200::2   ─┼─ br0 in NAME-sw
#     NAME-bK  (backend K) 10.200.0.1K   fd00:200::1K  ─┘
#
# Every host has one interface, eth0, with the MAC 02:00:00:00:00:XX where
# XX is the last octet of its address.  The client routes the VIP ranges
# 10.200.100.0/24 and fd00:200:100::/64 through the balancer; backends hold
# those ranges as local (AnyIP on lo, the L2 DSR setup with arp_ignore=1 and
# arp_announce=2), and in ipip mode also run the decap program on eth0.
# The two veth rules of the lab are applied: the switch port facing the
# balancer runs an XDP_PASS program (XDP_TX frames reach a veth peer only if
# it runs XDP), and transmit checksum offload is off on every host.
#
# With --router MTU the client sits behind a router instead of on the
# segment, as on a real path, where replies of the backends must cross hops
# the balancer does not see:
#
#     NAME-cl  (client)    10.200.1.10   fd00:200:1::10 ── NAME-rt
#     NAME-rt  (router)    10.200.1.1    fd00:200:1::1  (towards the client)
#                          10.200.0.3    fd00:200::3    ─ br0 in NAME-sw
#
# The router's route to the client's network has the given MTU (a narrow
# link further along the path), so a backend's full-size reply makes the
# router send ICMP "fragmentation needed" / "packet too big" to the VIP, i.e.
# to the balancer.  The client's own link keeps 1500 bytes: a narrow client
# link would shrink the MSS the client announces and hide the problem.  The
# client's default route is the router, which routes the VIP ranges via the
# balancer; the balancer and the backends reach the client's network via
# the router.
#
# /run/xdp-lb-lab/NAME holds a bpffs (bpf/) for pins that must outlive one
# `ip netns exec`, and is the place for sockets, state and logs.

LAB_V4=10.200.0
LAB_V6=fd00:200:
LAB_LB4=10.200.0.2
LAB_LB6=fd00:200::2
LAB_CL4=10.200.0.10
LAB_CL6=fd00:200::10
LAB_VIP4_NET=10.200.100.0/24
LAB_VIP6_NET=fd00:200:100::/64
LAB_RT4=10.200.0.3
LAB_RT6=fd00:200::3
LAB_RTCL4=10.200.1.10 # the client behind the router (--router)
LAB_RTCL6=fd00:200:1::10
LAB_RTNET4=10.200.1.0/24
LAB_RTNET6=fd00:200:1::/64
LAB_RUN=/run/xdp-lb-lab

_lab_here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
LAB_BUILD=${LAB_BUILD:-$_lab_here/../build}

lab_err() { echo "lab: $*" >&2; }

# lab_dsr_sysctl NS: a backend host that holds the VIPs on lo: it answers
# ARP for eth0's own address only, and filters no reverse path
lab_dsr_sysctl() {
	ip netns exec "$1" sysctl -qw net.ipv4.conf.all.arp_ignore=1 \
		net.ipv4.conf.all.arp_announce=2 \
		net.ipv4.conf.eth0.arp_ignore=1 \
		net.ipv4.conf.eth0.arp_announce=2 \
		net.ipv4.conf.all.rp_filter=0 \
		net.ipv4.conf.eth0.rp_filter=0 >/dev/null
}

# lab_name_ok NAME MAX SCRIPT: NAME can be a new lab's (of tools/SCRIPT):
# at most MAX characters of [a-zA-Z0-9_-], and no lab has it; 2 when it
# is not a name, 1 when it is taken
lab_name_ok() {
	if [ ${#1} -gt "$2" ] || ! [[ $1 =~ ^[a-zA-Z0-9_-]+$ ]]; then
		lab_err "name must be 1..$2 characters of [a-zA-Z0-9_-]: '$1'"
		return 2
	fi
	if ip netns list | grep -q "^$1-"; then
		lab_err "a lab named '$1' already exists (tools/$3 down $1)"
		return 1
	fi
}

# lab_backend_addr K [4|6]
lab_backend_addr() {
	if [ "${2:-4}" = 6 ]; then
		echo "fd00:200::$((10 + $1))"
	else
		echo "10.200.0.$((10 + $1))"
	fi
}

lab_exec() { # NAME HOST CMD...
	local name=$1 host=$2
	shift 2
	ip netns exec "$name-$host" "$@"
}

# _lab_host NAME HOST SUFFIX: a host namespace wired to the switch
_lab_host() {
	local name=$1 host=$2 n=$3 ns="$1-$2"
	local mac
	mac=$(printf '02:00:00:00:00:%02x' "$n")
	ip netns add "$ns" || return 1
	ip -n "$ns" link set lo up
	ip link add name "lab$$h$n" netns "$ns" address "$mac" type veth \
		peer name "$host" netns "$name-sw" || return 1
	ip -n "$ns" link set "lab$$h$n" name eth0 || return 1
	ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.accept_dad=0 \
		net.ipv6.conf.default.accept_dad=0 \
		net.ipv6.conf.eth0.accept_dad=0 >/dev/null
	ip -n "$ns" addr add "$LAB_V4.$n/24" dev eth0
	ip -n "$ns" addr add "$LAB_V6:$n/64" dev eth0 nodad
	ip -n "$ns" link set eth0 up
	ip -n "$name-sw" link set "$host" master br0 up
	ip netns exec "$ns" ethtool -K eth0 tx off >/dev/null 2>&1
}

# _lab_router NAME MTU: the router NAME-rt on the segment and the client
# NAME-cl behind it (see the top of this file)
_lab_router() {
	local name=$1 mtu=$2 rt="$1-rt" cl="$1-cl"
	_lab_host "$name" rt 3 || return 1
	ip netns add "$cl" || return 1
	ip -n "$cl" link set lo up
	ip link add name "lab$$rc" netns "$cl" address 02:00:00:00:01:0a \
		type veth peer name eth1 netns "$rt" address 02:00:00:00:01:01 ||
		return 1
	ip -n "$cl" link set "lab$$rc" name eth0 || return 1
	ip netns exec "$cl" sysctl -qw net.ipv6.conf.all.accept_dad=0 \
		net.ipv6.conf.default.accept_dad=0 \
		net.ipv6.conf.eth0.accept_dad=0 >/dev/null
	ip netns exec "$rt" sysctl -qw net.ipv6.conf.eth1.accept_dad=0 \
		net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1 >/dev/null
	ip -n "$cl" addr add "$LAB_RTCL4/24" dev eth0
	ip -n "$cl" addr add "$LAB_RTCL6/64" dev eth0 nodad
	ip -n "$rt" addr add "${LAB_RTCL4%.*}.1/24" dev eth1
	ip -n "$rt" addr add "${LAB_RTCL6%::*}::1/64" dev eth1 nodad
	ip -n "$cl" link set eth0 up
	ip -n "$rt" link set eth1 up
	ip netns exec "$cl" ethtool -K eth0 tx off >/dev/null 2>&1
	ip netns exec "$rt" ethtool -K eth1 tx off >/dev/null 2>&1
	# replace the connected routes (IPv6 keys them by metric, too)
	ip -n "$rt" route replace "$LAB_RTNET4" dev eth1 mtu "$mtu"
	ip -n "$rt" -6 route replace "$LAB_RTNET6" dev eth1 metric 256 mtu "$mtu"
	ip -n "$cl" route add default via "${LAB_RTCL4%.*}.1"
	ip -n "$cl" -6 route add default via "${LAB_RTCL6%::*}::1"
	ip -n "$rt" route add "$LAB_VIP4_NET" via "$LAB_LB4"
	ip -n "$rt" -6 route add "$LAB_VIP6_NET" via "$LAB_LB6"
	ip -n "$name-lb" route add "$LAB_RTNET4" via "$LAB_RT4"
	ip -n "$name-lb" -6 route add "$LAB_RTNET6" via "$LAB_RT6"
}

lab_up() { # NAME [--backends N] [--mode dsr|ipip] [--build DIR] [--router MTU]
	local name=$1 nb=3 mode=dsr router='' k
	shift
	while [ $# -gt 0 ]; do
		case $1 in
		--backends) nb=$2; shift 2 ;;
		--mode) mode=$2; shift 2 ;;
		--build) LAB_BUILD=$2; shift 2 ;;
		--router) router=${2:-none}; shift $(($# > 1 ? 2 : 1)) ;;
		*) lab_err "unknown option '$1'"; return 2 ;;
		esac
	done
	case $mode in dsr | ipip) ;; *) lab_err "mode must be dsr or ipip, not '$mode'"; return 2 ;; esac
	case $nb in [1-9] | [1-8][0-9]) ;; *) lab_err "backends must be 1..89, not '$nb'"; return 2 ;; esac
	if [ -n "$router" ] && { ! [[ $router =~ ^[0-9]{3,4}$ ]] ||
		[ "$router" -lt 1280 ] || [ "$router" -gt 1500 ]; }; then
		lab_err "router MTU must be 1280..1500, not '$router'"
		return 2
	fi
	lab_name_ok "$name" 20 lab.sh || return
	local pass=$LAB_BUILD/bpf/pass.bpf.o decap=$LAB_BUILD/lb-decap
	if [ ! -f "$pass" ]; then
		lab_err "$pass not built (make)"
		return 1
	fi
	if [ "$mode" = ipip ] && [ ! -x "$decap" ]; then
		lab_err "$decap not built (make)"
		return 1
	fi

	(
		set -e
		ip netns add "$name-sw"
		ip -n "$name-sw" link set lo up
		ip -n "$name-sw" link add br0 type bridge forward_delay 0 stp_state 0 \
			mcast_snooping 0
		ip -n "$name-sw" link set br0 up
		_lab_host "$name" lb 2
		if [ -z "$router" ]; then
			_lab_host "$name" cl 10
		else
			_lab_router "$name" "$router"
		fi
		for k in $(seq "$nb"); do
			_lab_host "$name" "b$k" $((10 + k))
		done

		# frames the balancer sends with XDP_TX arrive at its switch port
		ip netns exec "$name-sw" xdp-loader load -m native lb "$pass" \
			>/dev/null 2>&1

		if [ -z "$router" ]; then
			ip -n "$name-cl" route add "$LAB_VIP4_NET" via "$LAB_LB4"
			ip -n "$name-cl" -6 route add "$LAB_VIP6_NET" via "$LAB_LB6"
		fi

		for k in $(seq "$nb"); do
			local b="$name-b$k"
			lab_dsr_sysctl "$b"
			ip -n "$b" route add local "$LAB_VIP4_NET" dev lo
			ip -n "$b" -6 route add local "$LAB_VIP6_NET" dev lo
			if [ -n "$router" ]; then
				ip -n "$b" route add "$LAB_RTNET4" via "$LAB_RT4"
				ip -n "$b" -6 route add "$LAB_RTNET6" via "$LAB_RT6"
			fi
			if [ "$mode" = ipip ]; then
				ip netns exec "$b" "$decap" --iface eth0 \
					--addr "$(lab_backend_addr "$k" 4)" \
					--addr "$(lab_backend_addr "$k" 6)" >/dev/null
			fi
		done

		mkdir -p "$LAB_RUN/$name/bpf"
		mount -t bpf bpf "$LAB_RUN/$name/bpf"
		echo "$nb $mode" >"$LAB_RUN/$name/lab"
	)
	local rc=$?
	if [ $rc -ne 0 ]; then
		lab_err "setting up '$name' failed; removing it"
		lab_down "$name"
		return 1
	fi
	# neighbours known up front make the first packets deterministic
	for k in $(seq "$nb"); do
		lab_exec "$name" lb ping -c1 -W1 "$(lab_backend_addr "$k" 4)" >/dev/null 2>&1
		lab_exec "$name" lb ping -c1 -W1 "$(lab_backend_addr "$k" 6)" >/dev/null 2>&1
	done
	return 0
}

lab_down() { # NAME: removes everything of the lab, whatever state it is in
	local name=$1 ns p
	for ns in $(ip netns list | awk '{print $1}' | grep "^$name-"); do
		for p in $(ip netns pids "$ns" 2>/dev/null); do
			kill -KILL "$p" 2>/dev/null
		done
	done
	for ns in $(ip netns list | awk '{print $1}' | grep "^$name-"); do
		ip netns del "$ns" 2>/dev/null
	done
	if [ -d "$LAB_RUN/$name" ]; then
		umount "$LAB_RUN/$name/bpf" 2>/dev/null
		rm -rf "${LAB_RUN:?}/$name"
	fi
	return 0
}

lab_show() {
	local name=$1 ns
	for ns in $(ip netns list | awk '{print $1}' | grep "^$name-" | sort); do
		echo "== $ns"
		ip -n "$ns" -br addr show dev eth0 2>/dev/null || ip -n "$ns" -br link
	done
}

# lab_cli SCRIPT LINES PREFIX COMMANDS ARG...: the command line of a lab
# script, COMMAND NAME [ARG...]: exec is lab_exec, each of COMMANDS (a
# list) is PREFIX_COMMAND; without a name, lines LINES of SCRIPT's head
# comment are the usage
lab_cli() {
	local script=$1 lines=$2 prefix=$3 cmds=" $4 " cmd=${5:-}
	shift 4
	[ $# -ge 2 ] || {
		sed -n "${lines}p" "$script" | sed 's/^# \{0,1\}//' >&2
		exit 2
	}
	shift
	if [ "$cmd" = exec ]; then
		lab_exec "$@"
	elif [[ $cmds == *" $cmd "* ]]; then
		"${prefix}_$cmd" "$@"
	else
		lab_err "unknown command '$cmd'"
		exit 2
	fi
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	set -u
	lab_cli "$0" 4,10 lab "up down show" "$@"
fi
