#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# make install into a scratch DESTDIR: the programs run from there, the
# systemd unit names an installed lbd with the paths of the prefix.
# shellcheck source=tests/lib.sh
source "$(dirname "$0")/../lib.sh" "${1:-build}"
cd "$(dirname "$0")/../.."
tmp_dir D xdp-lb-install

out=$(make --no-print-directory O="$O" install DESTDIR="$D" PREFIX=/opt/xlb 2>&1)
check "make install succeeds" $? "$(echo "$out" | tail -3)"
for p in lbd lbctl lb-backend lb-decap; do
	"$D/opt/xlb/sbin/$p" --help >/dev/null 2>&1
	check "installed $p runs" $? "$D/opt/xlb/sbin/$p --help failed"
done
unit=$D/etc/systemd/system/lbd@.service
exec_line=$(grep '^ExecStart=' "$unit" 2>/dev/null)
check "systemd unit installed for the prefix" \
	"$(echo "$exec_line" | grep -q '^ExecStart=/opt/xlb/sbin/lbd --iface %i --foreground'; echo $?)" \
	"ExecStart: '$exec_line'"
reload_line=$(grep '^ExecReload=' "$unit" 2>/dev/null)
check "systemd reload applies /etc/xdp-lb/%i.conf with the installed lbctl" \
	"$(echo "$reload_line" | grep -q "/opt/xlb/sbin/lbctl -S /run/xdp-lb/%i.sock apply -f /etc/xdp-lb/%i.conf"; echo $?)" \
	"ExecReload: '$reload_line'"
check "documentation installed" \
	"$([ -s "$D/opt/xlb/share/doc/xdp-lb/README.md" ] && [ -s "$D/opt/xlb/share/doc/xdp-lb/PROTOCOL.md" ]; echo $?)" \
	"missing under $D/opt/xlb/share/doc/xdp-lb"
check "example BIRD configurations installed with the documentation" \
	"$(grep -q 'krt_source = @PROTO@' "$D/opt/xlb/share/doc/xdp-lb/bird/balancer.conf" 2>/dev/null &&
		[ -s "$D/opt/xlb/share/doc/xdp-lb/bird/router.conf" ]; echo $?)" \
	"missing under $D/opt/xlb/share/doc/xdp-lb/bird"
for p in lbd lbctl lb-backend lb-decap; do
	page=$D/opt/xlb/share/man/man8/$p.8
	check "man page $p(8) installed for the prefix" \
		"$([ -s "$page" ] && cmp -s "$page" "man/$p.8"; echo $?)" "missing or not man/$p.8: $page"
done
if command -v man >/dev/null; then
	out=$(MANPATH=$D/opt/xlb/share/man man -P cat 8 lbctl 2>/dev/null | col -b)
	check "man finds the installed lbctl(8)" "$(grep -q 'control the xdp-lb load balancer daemon' <<<"$out"; echo $?)" \
		"$(head -3 <<<"$out")"
fi
comp=$D/opt/xlb/share/bash-completion/completions/lbctl
check "bash completion installed for the prefix" \
	"$(bash -c 'source "$1" && complete -p lbctl' _ "$comp" 2>&1 | grep -q -- '-F _lbctl lbctl'; echo $?)" \
	"$comp does not register _lbctl"
check "installed under DESTDIR only (PREFIX and /etc)" \
	"$(find "$D" -mindepth 1 -maxdepth 1 | sort | tr '\n' ' ' | grep -qx "$D/etc $D/opt "; echo $?)" \
	"$(find "$D" -mindepth 1 -maxdepth 1 | tr '\n' ' ')"
finish
