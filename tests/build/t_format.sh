#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Every C source and header follows .clang-format (make check-format).
# shellcheck source=tests/lib.sh
source "$(dirname "$0")/../lib.sh" "${1:-build}"
cd "$(dirname "$0")/../.."
out=$(make --no-print-directory check-format 2>&1)
if [ $? -eq 0 ]; then
	pass "sources are clang-formatted"
else
	n=$(echo "$out" | grep -c 'Wclang-format-violations')
	files=$(echo "$out" | grep -o '^[^:]*:[0-9]*:[0-9]*: error' | cut -d: -f1 | sort -u | tr '\n' ' ')
	fail "sources are clang-formatted" "$n violations in $files(make format fixes them)"
fi
finish
