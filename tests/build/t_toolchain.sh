#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# On a bare machine (no clang, no bpftool) every target that builds must
# install the toolchain first, not stop while the Makefile is read.  The
# toolchain is hidden by pointing CLANG/BPFTOOL at programs that do not
# exist yet, and tools/deps.sh is replaced by a stand-in that logs its call
# and, in the second half, "installs" them (symlinks to the real ones).
# shellcheck source=tests/lib.sh
source "$(dirname "$0")/../lib.sh" "${1:-build}"
cd "$(dirname "$0")/../.."
tmp_dir D xdp-lb-toolchain

real_clang=$(command -v "${CLANG:-clang}")
real_bpftool=$(command -v "${BPFTOOL:-bpftool}")
mkdir -p "$D/bin"
cat >"$D/deps.sh" <<EOS
#!/bin/sh
echo "deps-step \$*" >>"$D/deps.log"
echo "deps-step ran"
if [ -n "\${INSTALL_TOOLS:-}" ]; then
	ln -sf "$real_clang" "$D/bin/clang"
	ln -sf "$real_bpftool" "$D/bin/bpftool"
fi
EOS
chmod +x "$D/deps.sh"

# mk GOAL...: a dry run with the toolchain hidden, in a build dir of its own
mk() {
	rm -f "$D/bin/clang" "$D/bin/bpftool" "$D/deps.log"
	make --no-print-directory -n O="$D/build" CLANG="$D/bin/clang" \
		BPFTOOL="$D/bin/bpftool" DEPS_SH="$D/deps.sh" "$@" 2>&1
}

# 1. The toolchain stays missing: the dependency step runs first, then one
#    clear error, and nothing is compiled.
for goal in test demo bench bench-bpf install all ""; do
	name=${goal:-default goal}
	out=$(mk $goal)
	rc=$?
	first=$(echo "$out" | head -n 1)
	check "$name, toolchain missing: dependency step first" \
		"$(echo "$first" | grep -q "not found; running $D/deps.sh"; echo $?)" \
		"first line: '$first'"
	check "$name, toolchain missing: deps ran once before any build" \
		"$([ "$(grep -c deps-step "$D/deps.log" 2>/dev/null)" = 1 ]; echo $?)" \
		"deps.log: $(cat "$D/deps.log" 2>/dev/null)"
	check "$name, toolchain still missing: clear error, no build" \
		"$([ $rc -ne 0 ] && echo "$out" | grep -q "still not found after" &&
			! echo "$out" | grep -q -- '-target bpf'; echo $?)" \
		"rc $rc: $(echo "$out" | tail -n 2)"
done

# 2. The dependency step provides the toolchain: make reads the Makefile
#    again and builds with it.
for goal in test all; do
	out=$(INSTALL_TOOLS=1 mk $goal)
	rc=$?
	dline=$(echo "$out" | grep -n '^deps-step ran' | head -n 1 | cut -d: -f1)
	bline=$(echo "$out" | grep -n -- "$D/bin/clang .*-target bpf" | head -n 1 | cut -d: -f1)
	check "$goal: deps installs the toolchain, then the build uses it" \
		"$([ $rc -eq 0 ] && [ -n "$dline" ] && [ -n "$bline" ] && [ "$dline" -lt "$bline" ]; echo $?)" \
		"rc $rc, deps at line '$dline', first BPF compile at line '$bline'"
done

# 3. Targets that need no toolchain do not install anything.
for goal in clean check-format; do
	mk $goal >/dev/null 2>&1
	check "$goal needs no toolchain" "$([ ! -e "$D/deps.log" ]; echo $?)" \
		"the dependency step ran for $goal"
done
finish
