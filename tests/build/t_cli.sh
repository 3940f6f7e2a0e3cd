#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# lbctl without lbd: `lbctl help COMMAND` and `lbctl OBJECT help` print that
# command's usage, not the whole list; lbd and lbctl spell the socket
# option alike; lbctl's own errors under -j have lbd's shape.
# shellcheck source=tests/lib.sh
source "$(dirname "$0")/../lib.sh" "${1:-build}"
cd "$(dirname "$0")/../.."
LBCTL=$O/lbctl
need_built lbctl lbd

full=$("$LBCTL" help)
# help_of NAME WANT NOTWANT ARGS...: usage that has WANT and lacks NOTWANT
help_of() {
	local name=$1 want=$2 notwant=$3 out rc
	shift 3
	out=$("$LBCTL" "$@" 2>&1)
	rc=$?
	check "$name" "$([ $rc -eq 0 ] && grep -q -- "$want" <<<"$out" &&
		! grep -q -- "$notwant" <<<"$out" &&
		[ "$(wc -l <<<"$out")" -lt "$(wc -l <<<"$full")" ]; echo $?)" \
		"exit $rc: $(head -3 <<<"$out" | tr '\n' '|')"
}
help_of "help vip: the vip commands only" "vip show VIP" "backend drain" help vip
help_of "vip help: the vip commands only" "vip set VIP \[--on-down" "add-backend" vip help
help_of "backend help: the backend commands only" "backend weight VIP BACKEND N" "vip add" backend help
help_of "help backend" "backend check VIP BACKEND" "explain" help backend
help_of "help add-backend, with its option notes" "CHECK OPTIONS: --check" "vip del" help add-backend
help_of "help explain" "explain SRC:PORT DST:PORT PROTO" "CHECK OPTIONS" help explain
help_of "help by prefix (hea = health)" "health \[VIP\]" "vip add" help hea
help_of "help stats" "stats \[--watch\]" "backend" help stats
out=$("$LBCTL" help frob 2>&1)
check "help of an unknown command is an error" \
	"$([ $? -eq 2 ] && [[ $out == "lbctl: unknown command 'frob'"* ]]; echo $?)" "$out"
check "lbctl help still lists every command" \
	"$(for c in add-backend del-backend 'vip add' 'backend add' list stats status explain health; do
		grep -q "^  $c" <<<"$full" || exit 1; done; echo $?)" "$full"

# one spelling of the socket option in both programs
for p in lbd lbctl; do
	h=$("$O/$p" --help 2>&1)
	check "$p --help: -S, --socket" "$(grep -Eq -- '-S, --socket' <<<"$h"; echo $?)" "$h"
done
tmp_dir d t_cli
out=$("$LBCTL" -S "$d/none.sock" list 2>&1)
check "lbctl -S names the socket" "$([[ $out == *"no answer on $d/none.sock"* ]]; echo $?)" "$out"
out=$("$LBCTL" -s "$d/none.sock" list 2>&1)
check "lbctl -s works, with a warning" \
	"$([[ $out == *"-s is deprecated"*"-S"* ]] && [[ $out == *"no answer on $d/none.sock"* ]]; echo $?)" "$out"

# lbctl's own errors under -j: {"ok":false,"error":...}
for args in "vip add 10.0.0.300:80/tcp" "add-backend 10.0.0.1:80/tcp 10.0.0.2 --weight 1e3" "list"; do
	# shellcheck disable=SC2086
	out=$("$LBCTL" -j -S "$d/none.sock" $args 2>/dev/null)
	check "lbctl -j $args: ok false and an error" \
		"$(python3 -c 'import json,sys; r=json.loads(sys.argv[1]); sys.exit(not (r["ok"] is False and r["error"]))' "$out"; echo $?)" "$out"
done
finish
