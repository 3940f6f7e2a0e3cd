#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# Established flows of a backend that fails its health check while it
# still serves (its check port closes; lb-backend and the UDP receiver go
# on):
# - a TCP VIP keeps them there by default (--on-down keep): a long download
#   from that backend completes byte for byte, new connections go to the
#   other backend, and `lbctl explain` says why;
# - a UDP VIP re-hashes them by default: a UDP stream moves to the other
#   backend and keeps flowing;
# - with --on-down rehash the same TCP download is cut (the other backend
#   knows no such connection), so the first check can fail;
# - the choice is shown by `vip show` and kept in the state file.
# shellcheck source=tests/net/e2e_lib.sh
source "$(dirname "$0")/e2e_lib.sh" "${1:-build}" od

TVIP=10.200.100.1:80/tcp
UVIP=10.200.100.1:9000/udp
SIZE=10000000 # bytes of the long download
RATE=2000000  # bytes/s read by the client: the download lasts about 5 s
NDGRAM=500    # the UDP stream: one datagram every 10 ms
CHECK=(--check tcp:8099 --check-interval 300ms --check-timeout 300ms
	--rise 1 --fall 2)

# the test reads what was saved in the state file itself: every change
# rewrites it (no journal records)
E2E_LBD_ARGS=(--journal-max 0)
e2e_up --backends 2
backends_start 80
head -c $SIZE /dev/urandom >"$T/big"
want=$(md5sum <"$T/big")
for k in 1 2; do cp "$T/big" "$T/root/b$k-80/big" || finish; done

# check_start K / check_stop K: the port the health check connects to on
# backend K; closing it fails the check, and nothing else
check_start() {
	on_bg "b$1" python3 -c '
import socket
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", 8099))
s.listen(64)
while True:
    s.accept()[0].close()' ondown-check
}
check_stop() {
	local p
	for p in $(ip netns pids "$NAME-b$1"); do
		tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null |
			grep -q ondown-check && kill "$p"
	done
}
# flow_backend SPORT PROTO DPORT: the backend the table gives the client's
# flow from SPORT
flow_backend() {
	lbctl -j explain "$LAB_CL4:$1" "10.200.100.1:$3" "$2" |
		json_get table_backend backend
}
# download_start ID SPORT / download_wait ID: the long download from the
# client's port SPORT; sets DL (its result, see e2e_helper.py download)
# and DL_OK (1 if it got the whole file intact)
download_start() {
	rm -f "$T/dl-$1"
	on_bg cl python3 "$HELPER" download 10.200.100.1 80 /big "$2" $RATE \
		"$T/dl-$1"
}
download_wait() {
	for _ in $(seq 300); do
		[ -s "$T/dl-$1" ] && break
		sleep 0.1
	done
	DL=$(cat "$T/dl-$1" 2>/dev/null || echo "no result")
	DL_OK=0
	[ "$DL" = "status 200 bytes $SIZE md5 ${want%% *} error none" ] && DL_OK=1
}

for k in 1 2; do check_start $k; done
lbctl_q vip add $TVIP "${CHECK[@]}" && lbctl_q vip add $UVIP "${CHECK[@]}" ||
	finish
for k in 1 2; do
	lbctl_q add-backend $TVIP "10.200.0.1$k" &&
		lbctl_q add-backend $UVIP "10.200.0.1$k" || finish
done
wait_in_table 2 || finish

od_t=$(lbctl -j vip show $TVIP | json_get vip on_down)
od_u=$(lbctl -j vip show $UVIP | json_get vip on_down)
check "defaults: on-down keep for a TCP VIP, rehash for a UDP VIP" \
	"$([ "$od_t" = keep ] && [ "$od_u" = rehash ]; echo $?)" \
	"tcp '$od_t', udp '$od_u'"
out=$(lbctl vip set $TVIP --on-down sometimes 2>&1)
rc=$?
check "vip set refuses an unknown --on-down" \
	"$([ $rc -eq 1 ] && echo "$out" | grep -q "unknown on-down 'sometimes'"; echo $?)" \
	"exit $rc: $out"

# a TCP flow and a UDP flow of the client that both land on backend X
tport=41000
X=$(flow_backend $tport tcp 80)
uport=42000
while [ "$(flow_backend $uport udp 9000)" != "$X" ] && [ $uport -lt 42100 ]; do
	uport=$((uport + 1))
done
x=${X##*.1}
y=$((3 - x))
[ -n "$X" ] && [ $uport -lt 42100 ] ||
	{ fail "flows" "no flows on one backend (X '$X')" && finish; }

# ---------------------------------------------------------------- keep
for k in 1 2; do
	rm -f "$T/rx$k" "$T/rx$k.ready"
	on_bg "b$k" python3 "$HERE/udpflow.py" recv 9000 "$T/rx$k" 3
done
for _ in $(seq 100); do
	[ -f "$T/rx1.ready" ] && [ -f "$T/rx2.ready" ] && break
	sleep 0.05
done
on_bg cl python3 "$HERE/udpflow.py" send 10.200.100.1 9000 $NDGRAM 10 $uport
download_start keep $tport
sleep 1.5
check_stop "$x"
wait_health "$x" down 5 $TVIP && wait_health "$x" down 5 $UVIP ||
	fail "backend $X down" "health $(health_of "$x" health)"
# the check below means something only if the download outlived that
[ -s "$T/dl-keep" ] &&
	fail "download ended before its backend went down" "$(cat "$T/dl-keep")"
verdict=$(lbctl explain "$LAB_CL4:$tport" 10.200.100.1:80 tcp)
check "explain: the download stays on its down backend (on-down keep)" \
	"$(echo "$verdict" | grep -q 'on-down keep' &&
		echo "$verdict" | grep -q 'established packets stay on it'
	echo $?)" "$(echo "$verdict" | tr '\n' '|')"
http_many "new connections avoid the down backend" \
	http://10.200.100.1/who 20 "b$y" &&
	pass "new connections avoid the down backend (20 of 20 by b$y)"
download_wait keep
check "a $SIZE-byte download goes on when its backend fails its check (keep)" \
	"$([ $DL_OK = 1 ]; echo $?)" "$DL"

for _ in $(seq 100); do
	[ -s "$T/rx1" ] && [ -s "$T/rx2" ] && break
	sleep 0.1
done
rx_x=$(awk '{print $4}' "$T/rx$x" 2>/dev/null)
rx_y=$(awk '{print $4}' "$T/rx$y" 2>/dev/null)
check "a UDP stream moves to the other backend (rehash): $X got ${rx_x:-?}, the other ${rx_y:-?} of $NDGRAM" \
	"$([ "${rx_x:-0}" -gt 0 ] && [ "${rx_y:-0}" -gt 0 ] &&
		[ $((rx_x + rx_y)) -ge $((NDGRAM * 98 / 100)) ]
	echo $?)" "$(cat "$T/rx1" "$T/rx2" 2>/dev/null | tr '\n' '|')"

# ---------------------------------------------------------------- rehash
lbctl_q vip set $TVIP --on-down rehash
check_start "$x"
wait_health "$x" up 5 $TVIP || fail "backend $X up again" "$(health_of "$x" health)"
wait_in_table 2 || finish
saved=$(python3 -c '
import json, sys
for v in json.load(open(sys.argv[1]))["vips"]:
    if v["vip"] == sys.argv[2]:
        print(v.get("on_down"))' "$R/state.json" $TVIP)
od_t=$(lbctl -j vip show $TVIP | json_get vip on_down)
check "vip set --on-down rehash is shown and saved" \
	"$([ "$od_t" = rehash ] && [ "$saved" = rehash ]; echo $?)" \
	"vip show '$od_t', state file '$saved'"
tport=43000
while [ "$(flow_backend $tport tcp 80)" != "$X" ] && [ $tport -lt 43100 ]; do
	tport=$((tport + 1))
done
[ $tport -lt 43100 ] || { fail "flows" "no TCP flow on $X" && finish; }
download_start rehash $tport
sleep 1
check_stop "$x"
wait_health "$x" down 5 $TVIP || fail "backend $X down" "$(health_of "$x" health)"
download_wait rehash
check "with --on-down rehash the same download is cut ($DL)" \
	"$([ $DL_OK = 0 ] && ! echo "$DL" | grep -q "bytes $SIZE "; echo $?)" \
	"$DL"

finish
