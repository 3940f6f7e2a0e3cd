#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# Path MTU discovery through the balancer (L2 DSR).  The client sits behind
# a router whose hop towards it takes only 1400 bytes.  A backend's
# full-size reply (source: the VIP) makes the router send ICMP
# "fragmentation needed" / ICMPv6 "packet too big" to the VIP, which
# reaches the balancer, not the backend: the balancer must pass it on to
# the backend that owns the quoted flow, or the download stalls for good.
# shellcheck source=tests/net/e2e_lib.sh
source "$(dirname "$0")/e2e_lib.sh" "${1:-build}" p

MTU=1400
V4=10.200.100.1 V6=fd00:200:100::1
SIZE=2000000 # bytes per download
N=6          # downloads per address family, over the three backends

e2e_up --mode dsr --router $MTU
backends_start 80
head -c $SIZE /dev/urandom >"$T/big"
want=$(md5sum <"$T/big")
for k in 1 2 3; do
	cp "$T/big" "$T/root/b$k-80/big" || finish # the same on every backend
	lbctl_q add-backend $V4:80/tcp "$(lab_backend_addr $k 4)" &&
		lbctl_q add-backend "[$V6]:80/tcp" "$(lab_backend_addr $k 6)" ||
		finish
done
wait_in_table 3 || finish

for v in "$V4" "[$V6]"; do
	c0=$(stat_packets icmp_too_big_forwarded)
	rm -rf "$T/d"
	mkdir "$T/d"
	codes=$(on cl curl -s --max-time 8 -H 'Connection: close' \
		-w '%{http_code}\n' -o "$T/d/#1" "http://$v/big?n=[1-$N]")
	c1=$(stat_packets icmp_too_big_forwarded)
	ok=0
	for f in "$T"/d/*; do
		[ "$(md5sum <"$f")" = "$want" ] && ok=$((ok + 1))
	done
	check "pmtu $v: $N downloads of $SIZE bytes across a $MTU-byte hop arrive intact" \
		"$([ "$ok" -eq $N ] && [ "$(echo "$codes" | grep -c '^200$')" -eq $N ]; echo $?)" \
		"$ok of $N intact, codes: $(echo "$codes" | sort | uniq -c | tr -s ' \n' ' ')"
	check "pmtu $v: the balancer forwarded the router's too-big messages (icmp_too_big_forwarded $c0 -> $c1)" \
		"$([ "$c1" -gt "$c0" ]; echo $?)" "the counter did not move"
done

finish
