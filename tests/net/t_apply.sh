#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# Declarative configuration (L2 DSR, four backends): lbctl export | lbctl
# apply changes nothing, byte for byte; bad files are refused with one
# error naming FILE:LINE and change nothing; an apply makes lbd's state
# equal to the file in one step.  Dry runs change nothing and say what a
# change would do: the established flows of the connection table that keep
# their backend or are re-hashed (checked against where real connections
# went), and the share of new flows that go to another backend (checked
# against SYNs sent before and after the real apply, within 1 point).  The
# ExecReload of lbd@.service applies /etc/xdp-lb/IFACE.conf if it exists.
# shellcheck source=tests/net/e2e_lib.sh
source "$(dirname "$0")/e2e_lib.sh" "${1:-build}" ap

V4=10.200.100.1
VIP=$V4:80/tcp
SYNVIP=10.200.100.2:7000/tcp
NSYN=30000  # SYNs per measurement: the share's standard error is < 0.25 point
NF=200      # HTTP connections for the connection table,
SPORT=41000 # from fixed source ports

e2e_up --backends 4
on cl sysctl -qw net.ipv4.ip_local_reserved_ports=$SPORT-$((SPORT + NF - 1))
backends_start 80
for k in 1 2 3; do
	lbctl_q add-backend $VIP "$(lab_backend_addr $k 4)" || finish
	lbctl_q add-backend $SYNVIP "$(lab_backend_addr $k 4)" || finish
done
lbctl_q vip set $VIP --check http:/who --check-interval 500ms || finish
lbctl_q backend drain $SYNVIP "$(lab_backend_addr 3 4)" || finish
lbctl_q backend weight $SYNVIP "$(lab_backend_addr 2 4)" 3 || finish
# health transitions are saved too: the state is compared once they are over
for k in 1 2 3; do
	wait_health $k up 5 || { fail "backend b$k up" "$(health_of $k reason)"; finish; }
done

# ---- export | apply is a no-op
lbctl export >"$T/exported.conf"
cp "$R/state.json" "$T/s0"
out=$(lbctl export | lbctl apply -f - 2>&1)
check "export | apply changes nothing (state byte for byte)" \
	"$(cmp -s "$T/s0" "$R/state.json"; echo $?)" "$out; $(diff "$T/s0" "$R/state.json" | head -5)"
check "export | apply reports no change" \
	"$([[ $out == *"0 added, 0 removed, 0 changed"*"backends 0 added, 0 removed"* ]]; echo $?)" "$out"
check "export lists the VIPs, options, backends and checks" \
	"$(grep -q "^vip $SYNVIP mode dsr hash 5tuple table-size 65537 on-down keep\$" "$T/exported.conf" &&
		grep -q "^vip $VIP .* check http:/who check-interval 500ms" "$T/exported.conf" &&
		grep -q "^ *backend 10.200.0.12 weight 3\$" "$T/exported.conf" &&
		grep -q "^ *backend 10.200.0.13 weight 1 drain\$" "$T/exported.conf"; echo $?)" \
	"$(cat "$T/exported.conf")"

# ---- bad files: one error naming FILE:LINE, nothing changes
bad_file() { # NAME WANT (the file on stdin)
	local f=$T/bad.conf out rc
	cat >"$f"
	out=$(lbctl apply -f "$f" 2>&1)
	rc=$?
	check "bad file refused: $1" \
		"$([ $rc -ne 0 ] && [ "$(echo "$out" | wc -l)" -eq 1 ] &&
			[[ $out == *"$f:$2"* ]]; echo $?)" "exit $rc: $out"
	check "bad file changes nothing: $1" "$(cmp -s "$T/s0" "$R/state.json"; echo $?)" \
		"$(diff "$T/s0" "$R/state.json" | head -5)"
}
{ cat "$T/exported.conf"; echo "    backend 10.200.0.300"; } | bad_file "bad address" "$(($(wc -l <"$T/exported.conf") + 1)): backend: invalid address"
printf 'vip %s\n  backend 10.200.0.11 weight 10001\n' $VIP | bad_file "weight out of range" "2: weight"
printf '# x\nbackend 10.200.0.11\n' | bad_file "backend before a VIP" "2: a backend before any VIP line"
printf 'vip %s table-size 65536\n' $VIP | bad_file "table size not prime" "1: table size 65536 is not prime (try 65537)"
printf 'vip %s\nvip %s mode ipip\n' $VIP $VIP | bad_file "VIP twice" "2: VIP $VIP already on line 1"
printf 'vip %s\n backend 10.200.0.11\n backend 10.200.0.11\n' $VIP | bad_file "backend twice" "3: backend 10.200.0.11 already on line 2"
printf 'vip %s\n backend fd00:200::11\n' $VIP | bad_file "family rule" "2: backend fd00:200::11 is IPv6"
printf 'vip %s\n backend 10.200.0.2\n' $VIP | bad_file "an address of the balancer" "2: backend 10.200.0.2 is an address of this balancer"
printf 'vip %s check http check-timeout 2s\n' $VIP | bad_file "check timeout above interval" "1: check timeout"
printf 'vip %s modes dsr\n' $VIP | bad_file "unknown option" "1: unknown VIP option 'modes'"
printf 'vip 10.200.100.9/tcp check tcp\n' | bad_file "all-ports VIP check without a port" "1: an all-ports VIP needs a check port"

# ---- dry runs change nothing
for c in "apply -f $T/exported.conf" "backend del $VIP 10.200.0.11" "vip del $VIP" \
	"add-backend 10.200.100.3:80/tcp 10.200.0.14" "backend weight $VIP 10.200.0.11 7"; do
	# shellcheck disable=SC2086 # the words of the command
	out=$(lbctl $c --dry-run 2>&1)
	check "dry run changes nothing: lbctl $c" \
		"$([[ $out == "dry run: nothing was changed"* ]] && cmp -s "$T/s0" "$R/state.json"; echo $?)" \
		"$out; $(diff "$T/s0" "$R/state.json" | head -3)"
done
out=$(lbctl list --dry-run 2>&1)
check "dry run of a view is refused" "$([[ $out == *"changes nothing: dry_run is for changes"* ]]; echo $?)" "$out"

# ---- established flows: kept or re-hashed, as the connection table says
on cl python3 "$HELPER" flows $V4 80 /who $NF $SPORT >"$T/flows"
on3=$(grep -c ' b3$' "$T/flows")
ok=$(grep -c ' b[123]$' "$T/flows")
out=$(lbctl -j backend del $VIP 10.200.0.13 --dry-run)
read -r keep rehash < <(echo "$out" | python3 -c '
import json, sys
v = [v for v in json.load(sys.stdin)["vips"] if v["vip"] == sys.argv[1]][0]
print(v["flows"]["keep"], v["flows"]["rehash"])' $VIP)
check "dry run: the $on3 connections on the removed backend are re-hashed, the $((ok - on3)) others keep theirs" \
	"$([ "$ok" -eq $NF ] && [ "$on3" -gt 0 ] && [ "$rehash" = "$on3" ] &&
		[ "$keep" = $((NF - on3)) ]; echo $?)" \
	"flows answered $ok of $NF, $on3 on b3; dry run: keep $keep rehash $rehash"

# ---- new flows: the predicted moved share is the measured one
wait_file() { # PATH: until it exists (5 s at most)
	for _ in $(seq 100); do
		[ -f "$1" ] && return 0
		sleep 0.05
	done
	return 1
}
syns() { # OUT: where NSYN SYNs to SYNVIP arrive ("SPORT BACKEND" lines)
	local k
	for k in 1 2 3 4; do
		rm -f "$T/sniff$k" "$T/sniff$k.ready"
		on_bg "b$k" python3 "$HERE/synflow.py" sniff 7000 "$T/sniff$k"
	done
	for k in 1 2 3 4; do
		wait_file "$T/sniff$k.ready"
	done
	on cl python3 "$HERE/synflow.py" send "$LAB_CL4" 10.200.100.2 7000 20000 $NSYN
	sleep 0.5
	for k in 1 2 3 4; do
		kill -TERM "$(cat "$T/sniff$k.ready")"
	done
	for k in 1 2 3 4; do
		wait_file "$T/sniff$k"
		sed "s/\$/ b$k/" "$T/sniff$k"
	done | sort -n >"$1"
}
syns "$T/syn-before"
{
	cat "$T/exported.conf"
	echo "    backend 10.200.0.14 weight 1"
} >"$T/new.conf"
pred=$(lbctl -j apply -f "$T/new.conf" --dry-run | python3 -c '
import json, sys
v = [v for v in json.load(sys.stdin)["vips"] if v["vip"] == sys.argv[1]][0]
print(v["moved_share"] * 100)' $SYNVIP)
out=$(lbctl apply -f "$T/new.conf" 2>&1)
check "apply of the edited file" "$?" "$out"
lbctl export | grep -v '^#' >"$T/after.conf"
check "after apply, export is the file" \
	"$(grep -v '^#' "$T/new.conf" | sed 's/^ *//' | diff - <(sed 's/^ *//' "$T/after.conf") >/dev/null; echo $?)" \
	"$(grep -v '^#' "$T/new.conf" | sed 's/^ *//' | diff - <(sed 's/^ *//' "$T/after.conf"))"
for _ in $(seq 50); do
	[ "$(lbctl -j vip show $SYNVIP | json_get vip backends_in_table)" = 4 ] && break
	sleep 0.1
done
syns "$T/syn-after"
read -r both moved < <(join "$T/syn-before" "$T/syn-after" | awk '
	{ n++; if ($2 != $3) m++ } END { print n + 0, m + 0 }')
meas=$(awk -v m="$moved" -v n="$both" 'BEGIN { printf "%.2f", n ? 100 * m / n : -1 }')
echo "predicted ${pred}% moved, measured ${meas}% ($moved of $both SYNs)"
# a busy machine may drop a few SYNs at the sniffers: the share is that of
# the SYNs seen both times
check "dry run's moved share ($pred %) is the measured one ($meas %) within 1 point" \
	"$([ "$both" -ge $((NSYN * 95 / 100)) ] &&
		awk -v p="$pred" -v m="$meas" 'BEGIN { d = p - m; exit !(p > 5 && (d < 0 ? -d : d) <= 1) }'; echo $?)" \
	"$both of $NSYN SYNs seen before and after; predicted $pred, measured $meas"

# ---- systemctl reload: the unit's ExecReload, run with this lab's paths
cp "$R/state.json" "$T/s2"
reload=$(sed -n 's/^ExecReload=//p' "$HERE/../../user/lbd/lbd@.service" |
	sed "s|/usr/local/sbin/|$O/|; s|/run/xdp-lb/%i.sock|$R/lbd.sock|g; s|/etc/xdp-lb/%i.conf|$T/reload.conf|g")
out=$(on lb bash -c "$reload" 2>&1)
check "reload without /etc/xdp-lb/IFACE.conf succeeds and changes nothing" \
	"$([ $? -eq 0 ] && [ -n "$reload" ] && cmp -s "$T/s2" "$R/state.json"; echo $?)" "'$reload': $out"
printf 'vip %s\n backend 10.200.0.11 weight 0\n' $SYNVIP >"$T/reload.conf"
out=$(on lb bash -c "$reload" 2>&1)
check "reload applies /etc/xdp-lb/IFACE.conf" \
	"$([ $? -eq 0 ] && lbctl export | grep -q '^ *backend 10.200.0.11 weight 0$' &&
		[ "$(lbctl export | grep -c '^vip')" -eq 1 ]; echo $?)" "$out; $(lbctl export)"
printf 'vip %s\n backend 10.200.0.11 weight x\n' $SYNVIP >"$T/reload.conf"
cp "$R/state.json" "$T/s1"
out=$(on lb bash -c "$reload" 2>&1)
check "reload of a bad file fails and changes nothing" \
	"$([ $? -ne 0 ] && [[ $out == *"$T/reload.conf:2: "* ]] && cmp -s "$T/s1" "$R/state.json"; echo $?)" "$out"
lbctl_q apply -f "$T/new.conf" || finish
check "applying the file again brings the configuration back" \
	"$(diff <(grep -v '^#' "$T/new.conf" | sed 's/^ *//') <(lbctl export | grep -v '^#' | sed 's/^ *//') >/dev/null; echo $?)" \
	"$(lbctl export)"

# ---- restart: the pinned tables are kept, then each compared with the
# state's; one spoiled on purpose is found and rebuilt
ABI=$(sed -n 's/^#define LB_ABI_VERSION \([0-9]*\)$/\1/p' "$HERE/../../bpf/lb_abi.h")
inner_of() { # VIP: the id of its installed table map
	on lb bpftool -j map lookup pinned "$R/bpf/lb/abi-$ABI/lb_maglev" \
		key $(printf '%d 0 0 0' "$(lbctl -j vip show "$1" | json_get vip id)") |
		python3 -c '
import json, sys
v = json.load(sys.stdin)["value"]
print(int.from_bytes(bytes(int(x, 16) for x in v), "little"))'
}
slots0() { # INNER: the first 32 slots of a table, as bpftool shows them
	on lb bpftool -j map lookup id "$1" key 0 0 0 0 | python3 -c '
import json, sys
print(" ".join(json.load(sys.stdin)["value"]))'
}
inner=$(inner_of $SYNVIP)
want=$(slots0 "$inner")
on lb bpftool map update id "$inner" key 0 0 0 0 value $(printf '0 %.0s' $(seq 64))
spoiled=$(slots0 "$inner")
inner80=$(inner_of $VIP)
pid=$(lbd_pid)
kill -TERM "$pid"
for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
lines=$(wc -l <"$R/lbd.log")
lbd_start
for _ in $(seq 50); do
	tail -n +"$lines" "$R/lbd.log" | grep -q 'pinned Maglev tables verified' && break
	sleep 0.1
done
log=$(tail -n +"$lines" "$R/lbd.log")
check "restart keeps the pinned tables" \
	"$(grep -q 'adopted 2 pinned Maglev tables' <<<"$log" &&
		[ "$(inner_of $VIP)" = "$inner80" ]; echo $?)" "$log"
check "restart compares them with the state's and rebuilds the spoiled one" \
	"$([ "$spoiled" != "$want" ] &&
		grep -q 'pinned Maglev tables verified: 1 as the state gives them, 1 rebuilt' <<<"$log" &&
		[ "$(slots0 "$(inner_of $SYNVIP)")" = "$want" ]; echo $?)" \
	"slots 0-31 want '$want', spoiled '$spoiled', now '$(slots0 "$(inner_of $SYNVIP)")'; $log"
finish
