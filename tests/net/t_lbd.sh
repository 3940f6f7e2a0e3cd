#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# lbd in a lab: attach, lbctl changes visible in the BPF maps, state kept
# across restarts, kill -9 while a flow streams (no packet lost, pinned
# objects adopted), --reload swaps the program and keeps the connection
# table, the pins of an older map layout are carried over (one that cannot
# be read is refused), --detach removes everything.
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/lib.sh
source "$HERE/../lib.sh" "${1:-build}"
# shellcheck source=../../tools/lab.sh
source "$HERE/../../tools/lab.sh"
LAB_BUILD=$O

need_built lbd lbctl bpf/pass.bpf.o
need_cmd python3

NAME=$(unique_name lbd)
R=$LAB_RUN/$NAME
PIN=$R/bpf/lb
VIP=10.200.100.1:9000/udp
# the map layout this build pins (PIN/abi-N)
ABI=$(sed -n 's/^#define LB_ABI_VERSION \([0-9]*\)$/\1/p' "$HERE/../../bpf/lb_abi.h")

cleanup() {
	lab_exec "$NAME" lb "$O/lbd" --iface eth0 --pin "$PIN" --detach \
		>/dev/null 2>&1
	lab_down "$NAME"
}
on_exit cleanup
lb() { lab_exec "$NAME" lb "$@"; }
lbctl() { lb "$O/lbctl" -S "$R/lbd.sock" "$@"; }
start_lbd() {
	lb "$O/lbd" --iface eth0 --state "$R/state.json" \
		--socket "$R/lbd.sock" --pin "$PIN" --log "$R/lbd.log" "$@"
}
lbd_pid() { lbctl -j status | python3 -c 'import json,sys; print(json.load(sys.stdin)["pid"])'; }
prog_on_eth0() { # the id of the XDP program on the LB's eth0, empty if none
	lb ip -j link show dev eth0 | python3 -c '
import json, sys
l = json.load(sys.stdin)[0]
print(l.get("xdp", {}).get("prog", {}).get("id", ""))'
}
# map_json MAP: bpftool's JSON dump of a pinned map
map_json() { lb bpftool -j map dump pinned "$PIN/abi-$ABI/$1"; }
# ct_count: entries in the connection tables (IPv6 flows, IPv4 flows to
# VIPs of every port, IPv4 flows to VIPs of one port)
ct_count() {
	echo $(($(map_json lb_conntrack | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))') +
		$(map_json lb_conntrack4 | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))') +
		$(lbctl -j status | python3 -c 'import json,sys; print(json.load(sys.stdin)["conntrack_ipv4_flows"])')))
}

# maglev_shares VIP_ID: "backend_id:slots ..." of the VIP's installed table
# (32 16-bit ids to a value; the slots past the table's end hold 0)
maglev_shares() {
	local inner
	inner=$(lb bpftool -j map lookup pinned "$PIN/abi-$ABI/lb_maglev" \
		key $(printf '%d 0 0 0' "$1") | python3 -c '
import json, sys
v = json.load(sys.stdin)["value"]
print(int.from_bytes(bytes(int(x, 16) for x in v), "little"))')
	lb bpftool -j map dump id "$inner" | python3 -c '
import collections, json, sys
c = collections.Counter()
for e in json.load(sys.stdin):
    b = bytes(int(x, 16) for x in e["value"])
    for i in range(0, len(b), 2):
        v = int.from_bytes(b[i:i + 2], "little")
        if v:
            c[v] += 1
print(" ".join("%d:%d" % kv for kv in sorted(c.items())))'
}

lab_up "$NAME" --backends 3 >/dev/null || { fail lab "cannot build the lab"; exit 1; }

# ---------------------------------------------------------------- attach
if start_lbd; then
	id=$(prog_on_eth0)
	if [ -n "$id" ] && [ -e "$PIN/abi-$ABI/lb_xdp" ] &&
		[ -e "$PIN/abi-$ABI/lb_conntrack" ] &&
		lbctl status | grep -q 'xdp_mode *native'; then
		pass lbd_attaches_native_and_pins
	else
		fail lbd_attaches_native_and_pins "prog '$id', pins: $(ls "$PIN/abi-$ABI" 2>&1 | tr '\n' ' ')"
	fi
else
	fail lbd_attaches_native_and_pins "lbd did not start: $(tail -3 "$R/lbd.log" 2>/dev/null)"
	exit 1
fi
FIRST_PROG=$(prog_on_eth0)

# one line in lbd's words on how the program was attached, none of
# libxdp's own notes about its dispatcher
attach_lines=$(grep -c "info: attached to eth0 in native mode (--xdp-mode native), alone on the interface: " "$R/lbd.log")
if [ "$attach_lines" -eq 1 ] && ! grep -Eqi "bpffs found|use dispatcher|falling back" "$R/lbd.log"; then
	pass attach_mode_said_once_in_lbd_words
else
	fail attach_mode_said_once_in_lbd_words "$attach_lines attach lines; log: $(head -5 "$R/lbd.log" | tr '\n' '|')"
fi

# ---------------------------------------------------------------- a second lbd
# A second lbd on the same interface, with pins, socket and state of its
# own, must refuse to start, name the first one's pin directory, and leave
# nothing pinned; so must one that takes the first one's socket, and one
# that finds another program on its interface.
left_in() { # DIR: what a refused start left in DIR ("" if nothing)
	[ -e "$1" ] && find "$1" -mindepth 1 | head -5 | tr '\n' ' '
}
second_lbd() { # SOCKET PIN [IFACE]: start one more lbd; sets out and rc
	out=$(lb "$O/lbd" --iface "${3:-eth0}" --state "$R/state2.json" \
		--socket "$1" --pin "$2" 2>&1)
	rc=$?
	# one that started after all is stopped again
	[ $rc -eq 0 ] && kill "$(lb "$O/lbctl" -S "$1" -j status |
		python3 -c 'import json,sys; print(json.load(sys.stdin)["pid"])')"
}
second_lbd "$R/lbd2.sock" "$R/bpf/lb2"
if [ $rc -ne 0 ] && [ "$(grep -c ' error: ' <<<"$out")" -eq 1 ] &&
	[[ $out == *"another lbd owns this interface"* ]] && [[ $out == *"$PIN"* ]] &&
	[ -z "$(left_in "$R/bpf/lb2")" ] && [ ! -e "$R/lbd2.sock" ] &&
	[ ! -e "$R/lbd2.sock.starting" ] &&
	[ "$(prog_on_eth0)" = "$FIRST_PROG" ]; then
	pass second_lbd_on_interface_refused_names_first
else
	fail second_lbd_on_interface_refused_names_first "exit $rc: $out; left: $(left_in "$R/bpf/lb2")"
fi
second_lbd "$R/lbd.sock" "$R/bpf/lb2"
if [ $rc -ne 0 ] && [[ $out == *"another lbd answers on $R/lbd.sock"* ]] &&
	[ -z "$(left_in "$R/bpf/lb2")" ] && lbctl status >/dev/null; then
	pass second_lbd_on_socket_refused_leaves_nothing
else
	fail second_lbd_on_socket_refused_leaves_nothing "exit $rc: $out; left: $(left_in "$R/bpf/lb2")"
fi
# a program that is not lbd's on another interface: refused after the
# maps were pinned, which are removed again
lb ip link add "x$NAME" type veth peer name "y$NAME"
lb ip link set "x$NAME" up
lb ip link set "y$NAME" up
lb xdp-loader load -m native "x$NAME" "$O/bpf/pass.bpf.o" >/dev/null 2>&1
second_lbd "$R/lbd2.sock" "$R/bpf/lb3" "x$NAME"
if [ $rc -ne 0 ] && [[ $out == *"not ours"* ]] &&
	[[ $out == *"removed what this start had pinned"* ]] &&
	[ -z "$(left_in "$R/bpf/lb3")" ] && [ ! -e "$R/bpf/lb3" ]; then
	pass refused_start_removes_its_pins
else
	fail refused_start_removes_its_pins "exit $rc: $out; left: $(left_in "$R/bpf/lb3")"
fi
lb ip link del "x$NAME" 2>/dev/null

# ---------------------------------------------------------------- maps
lbctl vip add "$VIP" --table-size 1021 >/dev/null &&
	lbctl add-backend "$VIP" 10.200.0.11 >/dev/null &&
	lbctl add-backend "$VIP" 10.200.0.12 --weight 2 >/dev/null &&
	lbctl add-backend "$VIP" 10.200.0.13 >/dev/null ||
	fail lbctl_add "lbctl add-backend failed"

vip_json=$(map_json lb_vips)
vip_id=$(echo "$vip_json" | python3 -c '
import json, sys
m = json.load(sys.stdin)
for e in m:
    v = e.get("formatted", {}).get("value") or {}
    if v.get("table_size") == 1021:
        print(v["vip_id"])')
if [ -n "$vip_id" ]; then
	pass vip_in_map
else
	fail vip_in_map "no VIP with a 1021-slot table in lb_vips: $vip_json"
fi

# backend ids in the order added: weights 1, 2, 1
ids=$(lbctl -j list | python3 -c '
import json, sys
for v in json.load(sys.stdin)["vips"]:
    print(" ".join(str(b["id"]) for b in v["backends"]))')
read -r id1 id2 id3 <<<"$ids"
shares=$(maglev_shares "$vip_id")
python3 - "$shares" "$id1" "$id2" "$id3" <<'EOF' && pass maglev_table_follows_weights || fail maglev_table_follows_weights "slots per backend id: $shares (ids $ids)"
import sys
s = dict(map(int, kv.split(":")) for kv in sys.argv[1].split())
a, b, c = (s.get(int(x), 0) for x in sys.argv[2:5])
assert a + b + c == 1021, s
# weights 1:2:1 -> 25% / 50% / 25% of the slots, within 3 points
for got, want in ((a, 0.25), (b, 0.5), (c, 0.25)):
    assert abs(got / 1021 - want) < 0.03, (got, want)
EOF

lbctl backend drain "$VIP" 10.200.0.12 >/dev/null
shares=$(maglev_shares "$vip_id")
if ! echo " $shares" | grep -q " $id2:" &&
	map_json lb_backends | python3 -c '
import json, sys
ids = [e["formatted"]["value"] for e in json.load(sys.stdin)
       if e["formatted"]["key"] == int(sys.argv[1])]
ok = ids and ids[0]["addr"]["bytes"][:4] == [10, 200, 0, 12]
sys.exit(0 if ok else 1)' "$id2"; then
	pass drain_leaves_table_keeps_backend
else
	fail drain_leaves_table_keeps_backend "slots $shares, drained id $id2"
fi
lbctl backend undrain "$VIP" 10.200.0.12 >/dev/null
lbctl del-backend "$VIP" 10.200.0.13 >/dev/null
shares=$(maglev_shares "$vip_id")
if ! echo " $shares" | grep -q " $id3:" && echo " $shares" | grep -q " $id2:"; then
	pass del_backend_leaves_table
else
	fail del_backend_leaves_table "slots $shares after removing id $id3"
fi
lbctl add-backend "$VIP" 10.200.0.13 >/dev/null

# bash completion asks this lbd for its VIPs and backends
comp() { # LINE: what the completion of lbctl offers at the end of LINE
	PATH=$O:$PATH bash -c '
source "$1"
COMP_LINE=$2 COMP_POINT=${#2}
_lbctl
printf "%s " "${COMPREPLY[@]}"' _ "$HERE/../../user/lbctl/lbctl.bash" "$1"
}
got_vips=$(comp "lbctl -S $R/lbd.sock backend drain ")
got_bes=$(comp "lbctl -S $R/lbd.sock backend drain $VIP ")
if [ "$got_vips" = "$VIP " ] && [ "$got_bes" = "10.200.0.11 10.200.0.12 10.200.0.13 " ]; then
	pass completion_offers_live_vips_and_backends
else
	fail completion_offers_live_vips_and_backends "VIPs '$got_vips', backends '$got_bes'"
fi

# a backend whose MAC cannot be resolved is down, with the reason
lbctl add-backend 10.200.100.9:80/tcp 10.200.0.99 >/dev/null
for _ in $(seq 80); do
	st=$(lbctl -j list | python3 -c '
import json, sys
for v in json.load(sys.stdin)["vips"]:
    for b in v["backends"]:
        if b["backend"] == "10.200.0.99":
            print(b["state"], b["reason"])')
	case $st in down*resol*) break ;; esac
	sleep 0.1
done
case $st in
down*) pass "unresolvable_backend_down_with_reason ($st)" ;;
*) fail unresolvable_backend_down_with_reason "state '$st'" ;;
esac
lbctl vip del 10.200.100.9:80/tcp >/dev/null

# a next hop that moves to another MAC: the neighbour event updates the
# backend (list and datapath) at once, not at the next 5 s poll
mac_of_12() {
	lbctl -j list | python3 -c '
import json, sys
for v in json.load(sys.stdin)["vips"]:
    for b in v["backends"]:
        if b["backend"] == "10.200.0.12":
            print(b.get("mac", ""))'
}
dp_mac_of() { # backend id: its MAC in the datapath's lb_backends
	lb bpftool -j map lookup pinned "$PIN/abi-$ABI/lb_backends" \
		key $(printf '%d 0 0 0' "$1") | python3 -c '
import json, sys
v = json.load(sys.stdin)["formatted"]["value"]
print(":".join("%02x" % x for x in v["mac"]))'
}
# permanent, so that the real host's ARP answers cannot take the entry
# back to its own MAC before the check has looked
lb ip neigh replace 10.200.0.12 lladdr 02:00:00:00:01:0c dev eth0 nud permanent
# (2 s at most: well before the 5 s poll would have it, on a busy host too)
t0=$(date +%s%N)
seen=
for i in $(seq 40); do
	seen="$(mac_of_12) $(dp_mac_of "$id2")"
	[ "$seen" = "02:00:00:00:01:0c 02:00:00:00:01:0c" ] && break
	sleep 0.05
done
ms=$((($(date +%s%N) - t0) / 1000000))
if [ "$seen" = "02:00:00:00:01:0c 02:00:00:00:01:0c" ]; then
	pass "neighbour_change_updates_backend_mac (within $ms ms)"
else
	fail neighbour_change_updates_backend_mac "lbd and datapath have '$seen' after $ms ms"
fi
lb ip neigh replace 10.200.0.12 lladdr 02:00:00:00:00:0c dev eth0 nud reachable

# a route change sends no neighbour event: SIGHUP has lbd look at every
# backend again, a slice at a time between other events, and every one
# follows (120 backends behind a gateway are 8 slices; the 1 s poll alone
# would take 5 s to see them all)
lb ip neigh add 10.200.0.201 lladdr 02:00:00:00:02:01 dev eth0 nud permanent
lb ip neigh add 10.200.0.202 lladdr 02:00:00:00:02:02 dev eth0 nud permanent
lb ip route add 10.201.0.0/16 via 10.200.0.201 dev eth0
for i in $(seq 120); do
	lbctl add-backend 10.200.100.7:80/tcp "10.201.0.$i" >/dev/null
done
macs_of_7() { # "MAC:count ..." of the VIP's backends in lbd and the datapath
	lbctl -j list >"$R/list.json"
	map_json lb_backends >"$R/backends.json"
	python3 - "$R/list.json" "$R/backends.json" <<'PY'
import collections, json, sys
ids, lbd = set(), collections.Counter()
for v in json.load(open(sys.argv[1]))["vips"]:
    if v["vip"] == "10.200.100.7:80/tcp":
        for b in v["backends"]:
            lbd[b.get("mac", "")] += 1
        ids = {v["id"]}
dp = collections.Counter()
for e in json.load(open(sys.argv[2])):
    val = e["formatted"]["value"]
    if val["vip_id"] in ids:
        dp[":".join("%02x" % x for x in val["mac"])] += 1
print(" ".join("%s:%d" % kv for kv in sorted(lbd.items())), "/",
      " ".join("%s:%d" % kv for kv in sorted(dp.items())))
PY
}
before=$(macs_of_7)
lb ip route replace 10.201.0.0/16 via 10.200.0.202 dev eth0
kill -HUP "$(lbd_pid)"
want="02:00:00:00:02:02:120 / 02:00:00:00:02:02:120"
for i in $(seq 40); do
	seen=$(macs_of_7)
	[ "$seen" = "$want" ] && break
	sleep 0.05
done
if [ "$before" = "02:00:00:00:02:01:120 / 02:00:00:00:02:01:120" ] &&
	[ "$seen" = "$want" ]; then
	pass "sighup_rereads_every_route"
else
	fail sighup_rereads_every_route "before '$before', after '$seen'"
fi
lbctl vip del 10.200.100.7:80/tcp >/dev/null
lb ip route del 10.201.0.0/16
lb ip neigh del 10.200.0.201 dev eth0
lb ip neigh del 10.200.0.202 dev eth0

# ---------------------------------------------------------------- restart
# the list without what changes with time
stable_list() {
	lbctl -j list | python3 -c '
import json, sys
d = json.load(sys.stdin)
for v in d["vips"]:
    for b in v["backends"]:
        b.pop("since_change_s", None)
print(json.dumps(d, sort_keys=True))'
}
before=$(stable_list)
pid=$(lbd_pid)
kill -TERM "$pid"
for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
log_lines=$(wc -l <"$R/lbd.log")
if [ "$(prog_on_eth0)" = "$FIRST_PROG" ]; then
	pass sigterm_keeps_datapath
else
	fail sigterm_keeps_datapath "program on eth0 after SIGTERM: '$(prog_on_eth0)'"
fi
start_lbd
after=$(stable_list)
if [ "$before" = "$after" ] && [ "$(prog_on_eth0)" = "$FIRST_PROG" ] &&
	grep -q "adopted XDP program id $FIRST_PROG" "$R/lbd.log"; then
	pass restart_keeps_state_and_adopts
else
	fail restart_keeps_state_and_adopts "list before/after differ or not adopted"
	diff <(echo "$before") <(echo "$after") | head -5
fi
# one summary line for the tables, not one line per VIP
restart_log=$(tail -n +"$((log_lines + 1))" "$R/lbd.log")
if ! grep -q "Maglev table rebuilt" <<<"$restart_log" &&
	[ "$(grep -Ec "Maglev tables built for 1 VIP: [0-3] of 3 backends take new flows" <<<"$restart_log")" -eq 1 ]; then
	pass restart_logs_one_table_summary
else
	fail restart_logs_one_table_summary "$(grep Maglev <<<"$restart_log" | tr '\n' '|')"
fi

# ---------------------------------------------------------------- VIP index
# lb_vip_slots, the index the datapath reads before lb_vips, follows every
# VIP change, two VIPs on one slot included, and a restart; checked by a
# second implementation of its hash (tests/net/vipslots_check.py).
vip_index_ok() { # NAME
	local got
	map_json lb_vips >"$R/vips.json" && map_json lb_vip_slots >"$R/slots.json" &&
		got=$(python3 "$HERE/vipslots_check.py" "$R/vips.json" "$R/slots.json") &&
		pass "$1 ($got)" || fail "$1" "$got"
}
read -r p1 p2 <<<"$(python3 "$HERE/vipslots_check.py" --collide 10.200.100.21 6)"
lbctl vip add 10.200.100.20:80/tcp >/dev/null &&
	lbctl vip add 10.200.100.20/udp >/dev/null &&
	lbctl vip add "[fd00:200::20]:443/tcp" >/dev/null &&
	lbctl vip add "10.200.100.21:$p1/tcp" --mode ipip >/dev/null &&
	lbctl vip add "10.200.100.21:$p2/tcp" >/dev/null ||
	fail vip_index_setup "lbctl vip add failed"
vip_index_ok vip_index_follows_adds
lbctl vip del "10.200.100.21:$p1/tcp" >/dev/null
lbctl vip del 10.200.100.20/udp >/dev/null
vip_index_ok vip_index_follows_deletes
lbctl vip add "10.200.100.21:$p1/tcp" >/dev/null
pid=$(lbd_pid)
kill -TERM "$pid"
for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
start_lbd
vip_index_ok vip_index_after_restart
for v in 10.200.100.20:80/tcp "[fd00:200::20]:443/tcp" \
	"10.200.100.21:$p1/tcp" "10.200.100.21:$p2/tcp"; do
	lbctl vip del "$v" >/dev/null
done
vip_index_ok vip_index_after_cleanup

# ---------------------------------------------------------------- kill -9 under traffic
# one UDP flow, 3000 datagrams over 3 s; lbd is killed and restarted
# in the middle; every datagram must arrive.
for k in 1 2 3; do
	rm -f "$R/rx$k" "$R/rx$k.ready"
	lab_exec "$NAME" "b$k" python3 "$HERE/udpflow.py" recv 9000 "$R/rx$k" 2 &
done
for _ in $(seq 50); do
	[ -e "$R/rx1.ready" ] && [ -e "$R/rx2.ready" ] && [ -e "$R/rx3.ready" ] && break
	sleep 0.1
done
lab_exec "$NAME" cl python3 "$HERE/udpflow.py" send 10.200.100.1 9000 3000 1 40001 &
sender=$!
sleep 1
pid=$(lbd_pid)
kill -KILL "$pid"
# SIGKILL is delivered asynchronously: until the process is gone its
# socket still answers, and a new lbd rightly refuses to start
for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.02; done
start_lbd
restarted=$?
wait "$sender"
wait
total=0 holder=0
for k in 1 2 3; do
	read -r _ n _ d _ _ _ _ <"$R/rx$k" 2>/dev/null || n=0
	[ "${n:-0}" -gt 0 ] && holder=$k
	total=$((total + ${n:-0}))
	[ "${d:-0}" -gt 0 ] && [ "$d" -ne "$n" ] && total=-1
done
if [ $restarted -eq 0 ] && [ "$total" -eq 3000 ]; then
	pass kill9_under_traffic_loses_nothing
else
	fail kill9_under_traffic_loses_nothing "restart $restarted, received $total of 3000: $(cat "$R"/rx? 2>&1 | tr '\n' ' ')"
fi
if [ "$(prog_on_eth0)" = "$FIRST_PROG" ]; then
	pass kill9_restart_adopts_program
else
	fail kill9_restart_adopts_program "program now '$(prog_on_eth0)', was $FIRST_PROG"
fi

# ---------------------------------------------------------------- kill -9 after changes
# changes answered OK are in the journal (the state file is not rewritten
# for each); a kill -9 loses none of them, and the next start folds the
# journal into the state file
wc_before=$(wc -c <"$R/state.json")
lbctl backend weight "$VIP" 10.200.0.12 3 >/dev/null &&
	lbctl add-backend 10.200.100.9:7000/udp 10.200.0.11 >/dev/null &&
	lbctl backend drain "$VIP" 10.200.0.13 >/dev/null
before=$(stable_list)
records=$(wc -l <"$R/state.json.journal")
if [ "$records" -eq 3 ] && [ "$(wc -c <"$R/state.json")" -eq "$wc_before" ]; then
	pass changes_saved_as_journal_records
else
	fail changes_saved_as_journal_records "$records records; state file $wc_before -> $(wc -c <"$R/state.json") bytes"
fi
pid=$(lbd_pid)
kill -KILL "$pid"
for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.02; done
start_lbd
after=$(stable_list)
if [ "$before" = "$after" ] && [ ! -s "$R/state.json.journal" ] &&
	grep -q '10.200.100.9:7000/udp' "$R/state.json"; then
	pass kill9_keeps_answered_changes
else
	fail kill9_keeps_answered_changes "journal $(wc -c <"$R/state.json.journal") bytes after start"
	diff <(echo "$before") <(echo "$after") | head -5
fi
lbctl backend weight "$VIP" 10.200.0.12 2 >/dev/null
lbctl backend undrain "$VIP" 10.200.0.13 >/dev/null
lbctl vip del 10.200.100.9:7000/udp >/dev/null

# explain shows the flow's connection table entry and its backend
if [ "$holder" -gt 0 ]; then
	ex=$(lbctl -j explain 10.200.0.10:40001 10.200.100.1:9000 udp | python3 -c '
import json, sys
e = json.load(sys.stdin)
c = e.get("conntrack") or {}
print(c.get("backend"), c.get("valid"), e.get("verdict"))')
	case $ex in
	"10.200.0.1$holder True packets follow the connection table entry") pass explain_shows_conntrack_entry ;;
	*) fail explain_shows_conntrack_entry "want backend 10.200.0.1$holder, valid: $ex" ;;
	esac
fi

# stats --watch redraws every second until interrupted
n=$(timeout -s INT 2.6 "$O/lbctl" -S "$R/lbd.sock" stats --watch 2>&1 | grep -c 'datapath counters')
if [ "$n" -ge 2 ]; then
	pass "stats_watch_redraws ($n screens in 2.6 s)"
else
	fail stats_watch_redraws "$n screens in 2.6 s"
fi

# holder_receives: send 50 datagrams on the flow of source port 40001 and
# print how many backend $holder received
holder_receives() {
	local n
	# a freshly started lbd sends to the backend once its MAC is known
	for _ in $(seq 50); do
		lbctl -j vip show "$VIP" 2>/dev/null | python3 -c '
import json, sys
b = [b for b in json.load(sys.stdin)["vip"]["backends"] if b["backend"] == sys.argv[1]]
sys.exit(0 if b and "mac" in b[0] else 1)' "10.200.0.1$holder" && break
		sleep 0.1
	done
	rm -f "$R/rx$holder" "$R/rx$holder.ready"
	lab_exec "$NAME" "b$holder" python3 "$HERE/udpflow.py" recv 9000 "$R/rx$holder" 1 &
	for _ in $(seq 50); do [ -e "$R/rx$holder.ready" ] && break; sleep 0.1; done
	lab_exec "$NAME" cl python3 "$HERE/udpflow.py" send 10.200.100.1 9000 50 2 40001
	wait
	read -r _ n _ _ <"$R/rx$holder" 2>/dev/null || n=0
	echo "${n:-0}"
}

# ---------------------------------------------------------------- --reload
# The flow above sits in the connection table on backend $holder.  Swap in
# a fresh program with --reload, drain that backend (the Maglev table no
# longer has it), and send on the same flow: it must still reach it.
ct_before=$(ct_count)
kill -TERM "$(lbd_pid)"
sleep 0.5
start_lbd --reload
new_prog=$(prog_on_eth0)
ct_after=$(ct_count)
if [ -n "$new_prog" ] && [ "$new_prog" != "$FIRST_PROG" ] &&
	[ "$ct_after" -ge 1 ] && [ "$ct_after" -ge "$ct_before" ]; then
	pass reload_replaces_program_keeps_conntrack
else
	fail reload_replaces_program_keeps_conntrack "prog $FIRST_PROG -> '$new_prog', conntrack $ct_before -> $ct_after"
fi
if [ "$holder" -gt 0 ]; then
	lbctl backend drain "$VIP" "10.200.0.1$holder" >/dev/null
	n=$(holder_receives)
	if [ "${n:-0}" -eq 50 ]; then
		pass flow_keeps_backend_across_reload_and_drain
	else
		fail flow_keeps_backend_across_reload_and_drain "backend $holder got ${n:-0} of 50"
	fi
else
	fail flow_keeps_backend_across_reload_and_drain "no backend held the flow"
fi

# ---------------------------------------------------------------- older layout
# An lbd of an older map layout left its pins under abi-M and its program
# attached (simulated: stop lbd, leave the program on, move the pins
# there).  A new lbd must carry the connection table over: the flow above
# stays on the drained backend, which only its entry can name.  Twice:
# - layout 4 (the previous one): no lb_ct4, IPv4 flows in lb_conntrack4
#   under the 16-byte struct lb_flow4, IPv6 flows in lb_conntrack: the
#   simulation writes the flow there in that layout and unpins lb_ct4, and
#   lbd must move it into lb_ct4;
# - layout 2: no lb_conntrack4 either, IPv4 flows in lb_conntrack under
#   the 40-byte struct lb_flow: from layout 4 the simulation moves them
#   there and unpins lb_conntrack4, and lbd must convert the keys.
# to_layout4 DIR: the flow of source port 40001, on backend id CT_ID of
# generation CT_GEN, into DIR/lb_conntrack4; lb_ct4 unpinned
to_layout4() {
	# 10.200.0.10:40001 -> 10.200.100.1:9000 UDP; backend id, gen, time 0
	# shellcheck disable=SC2046 # one word per byte
	lb bpftool map update pinned "$1/lb_conntrack4" \
		key hex 0a c8 00 0a 0a c8 64 01 9c 41 23 28 11 00 00 00 \
		value hex $(python3 -c 'import sys, struct
print(" ".join("%02x" % b for b in struct.pack("<IIQ", int(sys.argv[1]), int(sys.argv[2]), 0)))' "$CT_ID" "$CT_GEN") ||
		return 1
	rm -f "$1/lb_ct4" "$1/lb_ct4_state"
}
to_layout2_from5() { to_layout4 "$1" && to_layout2 "$1"; }
# to_layout2 DIR: the IPv4 entries of DIR/lb_conntrack4 into DIR/lb_conntrack
to_layout2() {
	lb bpftool -j map dump pinned "$1/lb_conntrack4" | python3 -c '
import json, sys
for e in json.load(sys.stdin):
    k = [int(x, 16) for x in e["key"]]
    # src, dst (each v4 then 12 zero bytes), sport, dport, proto, family 4
    key = k[0:4] + [0] * 12 + k[4:8] + [0] * 12 + k[8:12] + [k[12], 4, 0, 0]
    val = [int(x, 16) for x in e["value"]]
    print(" ".join("%02x" % b for b in key), "|", " ".join("%02x" % b for b in val))' |
	while IFS='|' read -r key val; do
		# shellcheck disable=SC2086 # one word per byte
		lb bpftool map update pinned "$1/lb_conntrack" key hex $key value hex $val || return 1
	done
	rm -f "$1/lb_conntrack4"
}
# carry_over LAYOUT CONVERT: move the pins to abi-LAYOUT, run CONVERT on
# that directory (true: none), start lbd and check the flow and the pins
carry_over() {
	local old=$PIN/abi-$1 n v4 prog
	# the flow's backend id, and its generation, while lbd still runs
	CT_ID=$(lbctl -j explain 10.200.0.10:40001 10.200.100.1:9000 udp | python3 -c '
import json, sys
print((json.load(sys.stdin).get("conntrack") or {}).get("backend_id", 0))')
	CT_GEN=$(lb bpftool -j map lookup pinned "$PIN/abi-$ABI/lb_backends" \
		key $((CT_ID & 255)) $((CT_ID >> 8 & 255)) 0 0 | python3 -c '
import json, sys
v = [int(x, 16) for x in json.load(sys.stdin)["value"]]
print(v[24] | v[25] << 8 | v[26] << 16 | v[27] << 24)')
	kill -TERM "$(lbd_pid)"
	sleep 0.5
	prog=$(prog_on_eth0)
	if [ "$holder" -gt 0 ] && mv "$PIN/abi-$ABI" "$old" && $2 "$old" &&
		start_lbd; then
		n=$(holder_receives)
		v4=$(lbctl -j status | python3 -c 'import json,sys; print(json.load(sys.stdin)["conntrack_ipv4_flows"])')
		if [ "${n:-0}" -eq 50 ] && [ ! -e "$old" ] && [ "$v4" -ge 1 ] &&
			[ -e "$PIN/abi-$ABI/lb_conntrack" ] &&
			[ "$(prog_on_eth0)" != "$prog" ] &&
			grep -q "carrying over the connection table of $old" "$R/lbd.log"; then
			pass "layout$1_conntrack_carried_over"
		else
			fail "layout$1_conntrack_carried_over" "backend $holder got ${n:-0} of 50, $v4 IPv4 entries, old pins: $(ls "$old" 2>&1 | tr '\n' ' ')"
		fi
	else
		fail "layout$1_conntrack_carried_over" "no flow held, or lbd did not start: $(tail -3 "$R/lbd.log" 2>/dev/null)"
	fi
}
carry_over $((ABI - 1)) to_layout4
carry_over 2 to_layout2_from5
OLD=$PIN/abi-$((ABI - 1))

# A layout it cannot read (here: the attached program pinned under the
# previous layout's name with a connection table of another value size):
# refuse to start, saying why, and leave the attached program as it is.
kill -TERM "$(lbd_pid)"
sleep 0.5
prog=$(prog_on_eth0)
mv "$PIN/abi-$ABI" "$PIN/keep-abi"
lb mkdir -p "$OLD"
lb bpftool map create "$OLD/lb_conntrack" type lru_hash key 40 value 8 \
	entries 1024 name lb_conntrack
# the attached program is that older lbd's: pinned in its directory
lb bpftool prog pin id "$prog" "$OLD/lb_xdp"
: >"$R/lbd.log"
if ! start_lbd >/dev/null 2>&1 && grep -q "cannot carry over" "$R/lbd.log" &&
	[ "$(prog_on_eth0)" = "$prog" ] && [ -e "$OLD/lb_conntrack" ] &&
	[ ! -e "$PIN/abi-$ABI/lb_conntrack" ]; then
	pass unknown_older_layout_refused
else
	fail unknown_older_layout_refused "log: $(tail -2 "$R/lbd.log" | tr '\n' ' '), prog '$(prog_on_eth0)' (was $prog)"
fi
rm -f "$OLD/lb_conntrack" "$OLD/lb_xdp"
rmdir "$OLD" "$PIN/abi-$ABI" 2>/dev/null
mv "$PIN/keep-abi" "$PIN/abi-$ABI"
start_lbd || fail restart_after_refusal "lbd did not start: $(tail -3 "$R/lbd.log" 2>/dev/null)"

# ---------------------------------------------------------------- detach
kill -TERM "$(lbd_pid)"
sleep 0.5
if lb "$O/lbd" --iface eth0 --pin "$PIN" --detach >/dev/null 2>&1 &&
	[ -z "$(prog_on_eth0)" ] && [ ! -e "$PIN/abi-$ABI" ]; then
	pass detach_removes_program_and_pins
else
	fail detach_removes_program_and_pins "program '$(prog_on_eth0)', pins: $(ls "$PIN" 2>&1)"
fi

# a fresh start with no pinned objects rebuilds the datapath from the state
start_lbd --detach-on-exit
vips=$(map_json lb_vips | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
if [ -n "$(prog_on_eth0)" ] && [ "$vips" -eq 1 ] &&
	[ "$(lbctl -j list | python3 -c 'import json,sys; print(sum(len(v["backends"]) for v in json.load(sys.stdin)["vips"]))')" -eq 3 ]; then
	pass state_file_rebuilds_datapath
else
	fail state_file_rebuilds_datapath "program '$(prog_on_eth0)', $vips VIPs in the map"
fi

# a new VIP that gets a deleted VIP's id starts from zero
lab_exec "$NAME" cl python3 "$HERE/udpflow.py" send 10.200.100.1 9000 20 1
old_packets=$(lbctl -j stats | python3 -c 'import json,sys; print(json.load(sys.stdin)["vips"][0]["packets"])')
lbctl vip del "$VIP" >/dev/null
lbctl vip add 10.200.100.7:53/udp >/dev/null
new=$(lbctl -j stats | python3 -c '
import json, sys
v = json.load(sys.stdin)["vips"][0]
print(v["vip"], v["packets"])')
if [ "$old_packets" -gt 0 ] && [ "$new" = "10.200.100.7:53/udp 0" ]; then
	pass new_vip_counters_start_at_zero
else
	fail new_vip_counters_start_at_zero "old VIP had $old_packets packets; new: $new"
fi

pid=$(lbd_pid)
kill -TERM "$pid"
for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
if [ -z "$(prog_on_eth0)" ] && [ ! -e "$PIN/abi-$ABI" ]; then
	pass detach_on_exit_removes_program
else
	fail detach_on_exit_removes_program "program '$(prog_on_eth0)' after SIGTERM"
fi

finish
