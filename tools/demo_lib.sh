# shellcheck shell=bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# tools/demo_lib.sh - what the demos share.  A demo sources it as
#   source "$HERE/demo_lib.sh" LAB_SCRIPT BUILD_DIR
# after set -u: it sources tools/LAB_SCRIPT (lab.sh or fleet.sh), sets O
# (BUILD_DIR, absolute) and LAB_BUILD, the colours B D N G Y (none when the
# output is not a terminal), and step, say and die.  The demo defines
# cleanup(), run on exit.

_demo_here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tools/lab.sh
source "$_demo_here/$1"
O=$2
case $O in /*) ;; *) O=$(pwd)/$O ;; esac
# shellcheck disable=SC2034 # read by the lab's functions
LAB_BUILD=$O

# shellcheck disable=SC2034 # each demo uses some of them
if [ -t 1 ]; then
	B=$'\e[1m' D=$'\e[2m' N=$'\e[0m' G=$'\e[32m' Y=$'\e[33m'
else
	B= D= N= G= Y=
fi

trap cleanup EXIT
trap 'exit 130' INT TERM

step() { printf '\n%s== %s%s\n' "$B" "$*" "$N"; }
say() { printf '%s\n' "$*"; }
die() {
	echo "demo: $*" >&2
	exit 1
}
