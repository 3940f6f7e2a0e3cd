#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# A short libFuzzer run over the HTTP parsing of lb-backend ("make fuzz"
# runs it longer).  Skips when clang's fuzzer runtime is not installed.
set -u
O=${1:-build}
cd "$(dirname "$0")/../.."
CLANG=${CLANG:-clang}
SECS=${FUZZ_SECS:-15}
T=$(mktemp -d /tmp/lb-fuzz.XXXXXX)
trap 'rm -rf "$T"' EXIT

if ! command -v "$CLANG" >/dev/null; then
	echo "SKIP $CLANG not found (install clang)"
	exit 77
fi
echo 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { return 0; }' >"$T/probe.c"
if ! "$CLANG" -fsanitize=fuzzer,address "$T/probe.c" -o "$T/probe" 2>/dev/null; then
	echo "SKIP $CLANG cannot build libFuzzer targets (install libclang-rt-14-dev)"
	exit 77
fi
if ! make -s --no-print-directory O="$O" "$O/fuzz/fuzz_http" >"$T/build.log" 2>&1; then
	echo "FAIL fuzz build: $(tail -3 "$T/build.log")"
	exit 1
fi
mkdir -p "$T/corpus"
if "$O/fuzz/fuzz_http" -max_total_time="$SECS" -max_len=4096 -timeout=5 -artifact_prefix="$T/" \
	"$T/corpus" tools/fuzz/corpus >"$T/run.log" 2>&1; then
	runs=$(grep -o 'Done [0-9]* runs' "$T/run.log" | awk '{print $2}')
	echo "PASS fuzz http parsing for ${SECS}s (${runs:-?} runs) without a crash"
else
	echo "FAIL fuzz http parsing: $(grep -m3 -E 'ERROR|SUMMARY|abort' "$T/run.log" | tr '\n' ' ')"
	cp "$T/run.log" "$O/fuzz/last-failure.log" 2>/dev/null
	cp "$T"/crash-* "$O/fuzz/" 2>/dev/null
	exit 1
fi
