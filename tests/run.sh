#!/usr/bin/env bash
# Run every test program and script, count PASS/FAIL lines, and end with the
# one line "N passed, N failed".  Exit status is non-zero on any failure.
#   tests/run.sh BUILD_DIR [FILTER]
# A test prints "PASS name", "FAIL name: why" or "SKIP reason" lines.  A test
# that exits non-zero without printing a FAIL line counts as one failure;
# exit status 77 means it skipped itself (reason printed).
set -u
O=${1:-build}
filter=${2:-${TESTS:-}}
cd "$(dirname "$0")/.."

passed=0 failed=0 skipped=0
failures=()

run_one() {
	local name=$1 limit=$2
	shift 2
	local out rc p f
	out=$(mktemp)
	echo "== $name"
	timeout --kill-after=10 "$limit" "$@" 2>&1 | tee "$out"
	rc=${PIPESTATUS[0]}
	p=$(grep -c '^PASS ' "$out")
	f=$(grep -c '^FAIL ' "$out")
	passed=$((passed + p))
	failed=$((failed + f))
	if [ "$rc" -eq 77 ]; then
		skipped=$((skipped + 1))
	elif [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		[ "$rc" -eq 124 ] && echo "FAIL $name: timed out after $limit"
		[ "$rc" -ne 124 ] && echo "FAIL $name: exited with status $rc"
		failed=$((failed + 1))
		f=1
	fi
	[ "$f" -gt 0 ] && failures+=("$name")
	rm -f "$out"
}

tests=()
for t in "$O"/tests/test_*; do
	[ -x "$t" ] && [ -f "$t" ] && tests+=("$t")
done
for t in tests/*/t_*.sh; do
	[ -f "$t" ] && tests+=("$t")
done

for t in "${tests[@]}"; do
	name=${t#"$O"/}
	if [ -n "$filter" ] && [[ "$name" != *$filter* ]]; then
		continue
	fi
	case $t in
	*.sh) run_one "$name" 600 bash "$t" "$O" ;;
	*) run_one "$name" 300 "$t" ;;
	esac
done

echo
[ ${#failures[@]} -gt 0 ] && echo "failed: ${failures[*]}"
[ "$skipped" -gt 0 ] && echo "skipped programs: $skipped"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
