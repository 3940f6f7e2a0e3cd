#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# The layering of lbd's and lbctl's files, read from their objects: a file
# that uses a symbol another defines calls it; those calls must go one way
# (no file calls, directly or through others, back into one that calls
# it).  And libcore, the library lbctl is built on, needs no libbpf.
set -u
O=${1:-build}
cd "$(dirname "$0")/../.."
command -v nm >/dev/null && command -v tsort >/dev/null ||
	{ echo "SKIP nm or tsort not installed"; exit 77; }
[ -x "$O/lbctl" ] && [ -d "$O/obj/lbd" ] || { echo "SKIP lbd or lbctl not built"; exit 77; }
FAILED=0
check() { if [ "$2" -eq 0 ]; then echo "PASS $1"; else echo "FAIL $1: $3"; FAILED=1; fi; }

# "A B" for each file A that uses a global symbol file B defines
edges() {
	local o f s t
	declare -A def
	for o in "$1"/*.o; do
		f=$(basename "$o" .o)
		for s in $(nm -g --defined-only "$o" | awk '{print $3}'); do
			def[$s]=$f
		done
	done
	for o in "$1"/*.o; do
		f=$(basename "$o" .o)
		for s in $(nm -u "$o" | awk '{print $2}'); do
			t=${def[$s]:-}
			[ -n "$t" ] && [ "$t" != "$f" ] && echo "$f $t"
		done
	done | sort -u
}

for part in lbd lbctl; do
	e=$(edges "$O/obj/$part")
	loop=$(tsort <<<"$e" 2>&1 >/dev/null)
	check "$part: no circle of calls between its files" \
		"$([ -n "$e" ] && [ -z "$loop" ]; echo $?)" \
		"${loop:-no calls between files found}"
done
# every object of libcore linked in, with no library but libc and libm
LIBCORE=${LIBCORE:-$O/libcore.a}
probe=$(mktemp -d)
trap 'rm -rf "$probe"' EXIT
echo 'int main(void) { return 0; }' >"$probe/main.c"
out=$(${CC:-cc} "$probe/main.c" -o "$probe/a.out" -Wl,--whole-archive \
	"$LIBCORE" -Wl,--no-whole-archive -lm 2>&1)
check "libcore links without libbpf, libxdp or libmnl" "$?" \
	"$(grep -m3 'undefined reference' <<<"$out" | tr '\n' ' ')"
exit $FAILED
