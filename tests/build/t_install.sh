#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# make install into a scratch DESTDIR: the programs run from there, the
# systemd unit names an installed lbd with the paths of the prefix.
set -u
O=${1:-build}
cd "$(dirname "$0")/../.."
D=$(mktemp -d /tmp/xdp-lb-install.XXXXXX)
trap 'rm -rf "$D"' EXIT
FAILED=0
check() { if [ "$2" -eq 0 ]; then echo "PASS $1"; else echo "FAIL $1: $3"; FAILED=1; fi; }

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
check "documentation installed" \
	"$([ -s "$D/opt/xlb/share/doc/xdp-lb/README.md" ] && [ -s "$D/opt/xlb/share/doc/xdp-lb/PROTOCOL.md" ]; echo $?)" \
	"missing under $D/opt/xlb/share/doc/xdp-lb"
exit $FAILED
