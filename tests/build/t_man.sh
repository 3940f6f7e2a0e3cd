#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# The manual pages (man/*.8) are clean under mandoc -Tlint and describe
# every option each program's --help names, every lbctl command (the
# block of lbctl help up to its first blank line), and every
# lbd option of the README.
# shellcheck source=tests/lib.sh
source "$(dirname "$0")/../lib.sh" "${1:-build}"
cd "$(dirname "$0")/../.."
if ! command -v mandoc >/dev/null; then
	fail mandoc "not installed (tools/deps.sh installs it)"
	finish
fi

for p in lbd lbctl lb-backend lb-decap; do
	page=man/$p.8
	lint=$(mandoc -Tlint -W warning "$page" 2>&1)
	check "$p.8 lints clean" "$([ $? -eq 0 ] && [ -z "$lint" ]; echo $?)" "$lint"
	text=$(mandoc -Tascii "$page" 2>/dev/null | col -b)
	[ -x "$O/$p" ] || { check "$p built" 1 "$O/$p missing"; continue; }
	missing=
	for o in $("$O/$p" --help 2>&1 | grep -oE -- '--[a-z0-9][a-z0-9-]*' | sort -u); do
		grep -qe "$o" <<<"$text" || missing="$missing $o"
	done
	check "$p.8 describes every option of $p --help" "$([ -z "$missing" ]; echo $?)" \
		"missing:$missing"
done

text=$(mandoc -Tascii man/lbctl.8 | col -b)
missing=
while read -r c; do
	grep -qe "^ *$c" <<<"$text" || missing="$missing '$c'"
done < <("$O/lbctl" help | sed -n '3,/^$/p' | awk '/^  [a-z]/ {
	print ($1 == "vip" || $1 == "backend") ? $1 " " $2 : $1 }' | sort -u)
check "lbctl.8 describes every command of lbctl help" "$([ -z "$missing" ]; echo $?)" "missing:$missing"

text=$(mandoc -Tascii man/lbd.8 | col -b)
missing=
for o in $(sed -n '/^### The balancer/,/^##* [A-Z]/p' README.md |
	sed -n '/^`lbd` options:/,/^$/p; /^| `-/p' | grep -oE -- '--[a-z0-9][a-z0-9-]*' | sort -u); do
	case $o in --encap-src4/6) o=--encap-src4 ;; esac
	grep -qe "$o" <<<"$text" || missing="$missing $o"
done
check "lbd.8 describes every lbd option of the README" "$([ -z "$missing" ]; echo $?)" "missing:$missing"
finish
