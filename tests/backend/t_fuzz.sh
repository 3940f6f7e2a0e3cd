#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# A short libFuzzer run over the HTTP parsing of lb-backend ("make fuzz"
# runs it longer).  Skips when clang's fuzzer runtime is not installed.
# shellcheck source=tests/lib.sh
source "$(dirname "$0")/../lib.sh" "${1:-build}"
cd "$(dirname "$0")/../.."
CLANG=${CLANG:-clang}
SECS=${FUZZ_SECS:-15}
tmp_dir T lb-fuzz

command -v "$CLANG" >/dev/null || skip "$CLANG not found (install clang)"
echo 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { return 0; }' >"$T/probe.c"
"$CLANG" -fsanitize=fuzzer,address "$T/probe.c" -o "$T/probe" 2>/dev/null ||
	skip "$CLANG cannot build libFuzzer targets (install libclang-rt-14-dev)"
if ! make -s --no-print-directory O="$O" "$O/fuzz/fuzz_http" >"$T/build.log" 2>&1; then
	fail "fuzz build" "$(tail -3 "$T/build.log")"
	finish
fi
mkdir -p "$T/corpus"
if "$O/fuzz/fuzz_http" -max_total_time="$SECS" -max_len=4096 -timeout=5 -artifact_prefix="$T/" \
	"$T/corpus" tools/fuzz/corpus >"$T/run.log" 2>&1; then
	runs=$(grep -o 'Done [0-9]* runs' "$T/run.log" | awk '{print $2}')
	pass "fuzz http parsing for ${SECS}s (${runs:-?} runs) without a crash"
else
	fail "fuzz http parsing" "$(grep -m3 -E 'ERROR|SUMMARY|abort' "$T/run.log" | tr '\n' ' ')"
	cp "$T/run.log" "$O/fuzz/last-failure.log" 2>/dev/null
	cp "$T"/crash-* "$O/fuzz/" 2>/dev/null
fi
finish
