# shellcheck shell=bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# The library of every shell test (tests/*/t_*.sh):
#   source tests/lib.sh [BUILD_DIR]
# - O: the build directory (BUILD_DIR, default build) as an absolute path.
# - pass NAME, fail NAME WHY, check NAME STATUS WHY: the lines tests/run.sh
#   counts, "PASS NAME" and "FAIL NAME: WHY"; check passes when STATUS is 0.
#   finish exits non-zero when any case failed.
# - skip WHY: "SKIP WHY" and exit 77 (tests/run.sh counts a skipped program);
#   need_cmd, need_built and need_root skip unless what they name is there.
# - on_exit CMD ARGS...: run CMD at exit, whatever the exit (the end, exit
#   on a failure, SIGINT, SIGTERM), the last registered first.
# - tmp_dir VAR NAME: VAR becomes a new directory /tmp/NAME.XXXXXX, removed
#   at exit.
# - unique_name PREFIX: PREFIX and the pid of this test, a name no other run
#   on the machine has at the same time (namespaces, labs).
set -u
O=${1:-build}
case $O in /*) ;; *) O=$(pwd)/$O ;; esac
FAILED=0

pass() { echo "PASS $1"; }
fail() {
	echo "FAIL $1: $2"
	FAILED=1
}
check() { # NAME STATUS WHY
	if [ "$2" -eq 0 ]; then pass "$1"; else fail "$1" "$3"; fi
}
finish() { exit "$FAILED"; }

skip() {
	echo "SKIP $*"
	exit 77
}
need_cmd() { # CMD...
	local c
	for c in "$@"; do
		command -v "$c" >/dev/null || skip "$c is needed"
	done
}
need_built() { # PATH... under the build directory
	local p
	for p in "$@"; do
		[ -e "$O/$p" ] || skip "$O/$p not built"
	done
}
need_root() {
	[ "$(id -u)" -eq 0 ] || skip "needs root (namespaces, XDP)"
}

_lib_exits=()
on_exit() {
	_lib_exits+=("$(printf '%q ' "$@")")
}
_lib_exit() {
	local rc=$? i
	trap - EXIT
	for ((i = ${#_lib_exits[@]} - 1; i >= 0; i--)); do
		eval "${_lib_exits[i]}"
	done
	exit "$rc"
}
trap _lib_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

tmp_dir() { # VAR NAME
	local _lib_dir # a name no caller's VAR has: printf -v would set it
	_lib_dir=$(mktemp -d "/tmp/$2.XXXXXX") || {
		fail "$2" "cannot make a temporary directory"
		exit 1
	}
	on_exit rm -rf "$_lib_dir"
	printf -v "$1" %s "$_lib_dir"
}

unique_name() { echo "$1$$"; }
