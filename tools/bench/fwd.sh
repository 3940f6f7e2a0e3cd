#!/usr/bin/env bash
# Part "fwd" of the benchmarks: forwarding rate through a veth pair between
# two network namespaces of this run (tools/bench/bench_fwd.c explains the
# measurement).
#
#   gen ns: vg<tag> 10.0.0.1/24  <--veth-->  vl<tag> 10.0.0.2/24 : lb ns
#
# The lb ns also carries the kernel-stack baseline: forwarding on, the
# nftables DNAT of the VIP to the backends (as kube-proxy does it), the
# backends routed back out of vl<tag> to a permanent neighbour entry with
# the generator's MAC (the sink there drops ARP, so nothing would answer).
set -euo pipefail
O=$1

tag=$$
gen=bgen-$tag
lbn=blb-$tag
vg=vg$tag
vl=vl$tag
vip=10.100.0.1
port=8080
backends=(10.2.0.1 10.2.0.2 10.2.0.3)
flows=${BENCH_FWD_FLOWS:-1,100,60000,1000000}

child=
cleanup() {
	if [ -n "$child" ]; then
		kill "$child" 2>/dev/null || true
		wait "$child" 2>/dev/null || true
	fi
	ip netns del "$gen" 2>/dev/null || true
	ip netns del "$lbn" 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM

for c in ip nft ethtool; do
	command -v "$c" >/dev/null || {
		echo "fwd: $c not found: run tools/deps.sh --bench" >&2
		exit 1
	}
done

ip netns add "$gen"
ip netns add "$lbn"
ip link add "$vg" netns "$gen" type veth peer name "$vl" netns "$lbn"
for ns in "$gen" "$lbn"; do
	ip -n "$ns" link set lo up
	# no IPv6 neighbour discovery or MLD chatter among the measured frames
	ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 \
		net.ipv6.conf.default.disable_ipv6=1
done
ip -n "$gen" addr add 10.0.0.1/24 dev "$vg"
ip -n "$lbn" addr add 10.0.0.2/24 dev "$vl"
ip -n "$gen" link set "$vg" up
ip -n "$lbn" link set "$vl" up
# LAB.md rule 2: no partial checksums on packets that XDP forwards
ip netns exec "$gen" ethtool -K "$vg" tx off >/dev/null
ip netns exec "$lbn" ethtool -K "$vl" tx off >/dev/null

gmac=$(ip netns exec "$gen" cat "/sys/class/net/$vg/address")
ip netns exec "$lbn" sh -e -c "
	sysctl -qw net.ipv4.ip_forward=1
	for i in all default $vl; do
		sysctl -qw net.ipv4.conf.\$i.rp_filter=0
		# out of the interface it came in: no ICMP redirect per source
		sysctl -qw net.ipv4.conf.\$i.send_redirects=0
	done
"
ip -n "$lbn" neigh replace 10.0.0.1 lladdr "$gmac" dev "$vl" nud permanent
ip -n "$lbn" route add 10.2.0.0/24 via 10.0.0.1 dev "$vl"
ip netns exec "$lbn" nft -f - <<NFT
table ip bench_lb {
	chain prerouting {
		type nat hook prerouting priority dstnat; policy accept;
		ip daddr $vip udp dport $port dnat to numgen random mod 3 map { 0 : ${backends[0]}, 1 : ${backends[1]}, 2 : ${backends[2]} }
	}
}
NFT

args=(--gen-ns "$gen" --lb-ns "$lbn" --gen-if "$vg" --lb-if "$vl"
	--vip "$vip" --port "$port" --src 10.1.0.0
	--flows "$flows" --runs "${BENCH_RUNS:-5}" --secs "${BENCH_SECS:-2}")
for b in "${backends[@]}"; do
	args+=(--backend "$b")
done
# the connection table's size (default: the datapath's, as lbd's)
[ -z "${BENCH_FWD_CT_SIZE:-}" ] || args+=(--ct-size "$BENCH_FWD_CT_SIZE")
# in the background, so that a signal reaches the trap at once
"$O/bench/bench_fwd" "${args[@]}" &
child=$!
wait "$child"
child=

ct_max=$(cat /proc/sys/net/netfilter/nf_conntrack_max 2>/dev/null || echo "?")
echo
echo "The nftables baseline keeps one conntrack entry per flow; this host" \
	"allows $ct_max (net.netfilter.nf_conntrack_max)."
