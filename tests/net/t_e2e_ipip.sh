#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# End to end through encapsulation: the balancer wraps each packet in an
# outer IP header to the backend (IPv4 in IPv4, IPv6 in IPv6, IPv4 in
# IPv6), lb-decap on each backend unwraps it, the backend answers the
# client directly.  HTTP and UDP, and the decap counters of the backends
# against the balancer's encap counter.
# shellcheck source=tests/net/e2e_lib.sh
source "$(dirname "$0")/e2e_lib.sh" "${1:-build}" i

V4=10.200.100.1 V6=fd00:200:100::1 # port 80/tcp and 7000/udp
M4=10.200.100.5                    # IPv4 VIP with IPv6 backends

e2e_up --mode ipip
backends_start 80
udp_echo_start 7000
for k in 1 2 3; do
	b4=$(lab_backend_addr $k 4) b6=$(lab_backend_addr $k 6)
	lbctl_q add-backend $V4:80/tcp "$b4" --mode ipip &&
		lbctl_q add-backend "[$V6]:80/tcp" "$b6" --mode ipip &&
		lbctl_q add-backend $V4:7000/udp "$b4" --mode ipip &&
		lbctl_q add-backend "[$V6]:7000/udp" "$b6" --mode ipip &&
		lbctl_q add-backend $M4:80/tcp "$b6" --mode ipip || finish
done
wait_in_table 3 || finish

# decapsulated: the sum of the backends' "decapsulated" packets
decapsulated() {
	local k sum=0 n
	for k in 1 2 3; do
		n=$(on "b$k" "$O/lb-decap" --iface eth0 --status |
			awk '$1 == "decapsulated" {print $2}')
		sum=$((sum + ${n:-0}))
	done
	echo $sum
}
decap_of() { # K: decapsulated packets of backend K
	on "b$1" "$O/lb-decap" --iface eth0 --status |
		awk '$1 == "decapsulated" {print $2}'
}

d0=$(decapsulated)
e0=$(stat_packets encap)
for k in 1 2 3; do
	b0[k]=$(decap_of $k)
done

for v in "$V4" "[$V6]" "$M4"; do
	case $v in
	"$V4") what="IPv4 in IPv4" ;;
	"$M4") what="IPv4 in IPv6" ;;
	*) what="IPv6 in IPv6" ;;
	esac
	tcp_many "ipip tcp $v ($what)" "$v" 30
done
for v in "$V4" "$V6"; do
	udp_many "ipip udp $v" "$v" 7000 30
done

sleep 0.2 # the last ACKs of the connections
d1=$(decapsulated)
e1=$(stat_packets encap)
for k in 1 2 3; do
	n=$(decap_of $k)
	check "ipip lb-decap --status on b$k counts decapsulated packets" \
		"$([ "${n:-0}" -gt "${b0[k]:-0}" ]; echo $?)" \
		"decapsulated ${b0[k]:-?} before, ${n:-?} after"
done
check "ipip every packet encapsulated was decapsulated ($((e1 - e0)) packets)" \
	"$([ $((e1 - e0)) -gt 0 ] && [ $((e1 - e0)) -eq $((d1 - d0)) ]; echo $?)" \
	"balancer encapsulated $((e1 - e0)), backends decapsulated $((d1 - d0))"

finish
