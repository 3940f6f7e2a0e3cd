# shellcheck shell=bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# tools/bench/lib.sh - what the shell parts of the benchmarks share.
# Sourced by tools/bench/*.sh (which run under set -euo pipefail), with the
# part's arguments: BUILD_DIR, set as O.

bench_here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck disable=SC2034 # the parts read it
O=$1
# shellcheck source=tools/lab.sh
source "$bench_here/../lab.sh"
# a part that stops on a failed command says which, and where
set -o errtrace
trap 'echo "bench: ${BASH_SOURCE[0]##*/}:$LINENO: exit status $?" >&2' ERR

BENCH_WRK_THREADS=${BENCH_WRK_THREADS:-2}
BENCH_WRK_CONNS=${BENCH_WRK_CONNS:-64}

# bench_need CMD...: fail with a hint when a command is missing
bench_need() {
	local c
	for c; do
		command -v "$c" >/dev/null || {
			echo "bench: $c not found: run tools/deps.sh --bench" >&2
			return 1
		}
	done
}

# bench_traps: at exit the part's cleanup() runs, then its temp dir ($tmp,
# once set) is removed; a signal exits with 130, through the same
bench_traps() {
	tmp=
	trap 'cleanup; [ -z "$tmp" ] || rm -rf "$tmp"' EXIT
	trap 'exit 130' INT TERM
}

# bench_built PART FILE...: fail unless every FILE of the build is there
bench_built() {
	local part=$1 p
	shift
	for p; do
		[ -e "$p" ] || {
			echo "$part: $p not built" >&2
			return 1
		}
	done
}

# bench_lab NAME BACKENDS BUILD TMPDIR: the lab of tools/lab.sh, L2 DSR,
# with lbd running on its LB host (state, socket and pins in $LAB_RUN/NAME)
bench_lab() {
	local name=$1 r=$LAB_RUN/$1 o=$3
	lab_up "$name" --backends "$2" --build "$o" >&2 || return 1
	lab_exec "$name" lb "$o/lbd" --iface eth0 --state "$r/state.json" \
		--socket "$r/lbd.sock" --pin "$r/bpf/lb" --log "$r/lbd.log" \
		>"$4/lbd.out" 2>&1 || {
		cat "$4/lbd.out" >&2
		return 1
	}
}

# bench_stop PID...: stop lb-backend masters that are children of this
# shell (SIGQUIT: at once, workers included); SIGKILL after 5 s
bench_stop() {
	local p st left _
	kill -QUIT "$@" 2>/dev/null || true
	for _ in $(seq 50); do
		left=0
		for p; do
			# an exited child stays a zombie (Z) until wait reaps it
			st=$(sed 's/.*) //' "/proc/$p/stat" 2>/dev/null | cut -d' ' -f1) || st=
			[ -z "$st" ] || [ "$st" = Z ] || left=1
		done
		[ "$left" = 1 ] || break
		sleep 0.1
	done
	kill -KILL "$@" 2>/dev/null || true
	wait "$@" 2>/dev/null || true
}

# bench_lab_down NAME: remove the lab; lab_down kills every process in its
# namespaces, which is every process a part started there
bench_lab_down() {
	# lab.sh is written for shells without errexit: "|| true" turns it
	# off inside, so that one failed kill cannot cut the teardown short
	lab_down "$1" || true
	bench_reap
}

# bench_reap: wait for the killed children of this shell; from here on
# stderr is closed, or the shell would print a "Killed" notice for each
# (only for teardown at exit)
bench_reap() {
	exec 2>/dev/null
	wait
}

# bench_ns_down NS [DIR]: kill what runs in namespace NS, delete it, and
# remove DIR (an EXIT trap's work)
bench_ns_down() {
	local p
	for p in $(ip netns pids "$1" 2>/dev/null); do
		kill -KILL "$p" 2>/dev/null || true
	done
	bench_reap
	ip netns del "$1" 2>/dev/null || true
	[ -z "${2:-}" ] || rm -rf "$2"
}

# bench_nginx_head TMPDIR PROCS: the start of an nginx configuration that
# keeps every file of nginx in TMPDIR and stays in the foreground
bench_nginx_head() {
	cat <<EOF
worker_processes $2;
pid $1/nginx.pid;
daemon off;
error_log $1/nginx.err warn;
events { worker_connections 4096; }
EOF
}

# bench_wrk NS SECS URL [WRK ARGS...]: one wrk run inside namespace NS with
# $BENCH_WRK_THREADS threads and $BENCH_WRK_CONNS connections (the same for
# every setup of a comparison).  Prints "RPS P50_US P99_US REQUESTS ERRORS
# NON2XX" (tools/bench/wrk.lua).
bench_wrk() {
	local ns=$1 secs=$2 url=$3 out res
	shift 3
	out=$(ip netns exec "$ns" wrk -t "$BENCH_WRK_THREADS" \
		-c "$BENCH_WRK_CONNS" -d "${secs}s" --timeout 5s \
		-s "$bench_here/wrk.lua" "$@" "$url" 2>&1) || {
		echo "bench: wrk $url failed: $out" >&2
		return 1
	}
	res=$(sed -n 's/^RESULT rps=\([^ ]*\) p50=\([^ ]*\) p99=\([^ ]*\) requests=\([^ ]*\) errors=\([^ ]*\) non2xx=\([^ ]*\)$/\1 \2 \3 \4 \5 \6/p' <<<"$out")
	if [ -z "$res" ]; then
		echo "bench: no result from wrk $url: $out" >&2
		return 1
	fi
	echo "$res"
}

# bench_wait_http NS URL: wait (at most 5 s) until URL answers 200 in NS
bench_wait_http() {
	local _
	for _ in $(seq 50); do
		if ip netns exec "$1" curl -fso /dev/null --max-time 1 "$2"; then
			return 0
		fi
		sleep 0.1
	done
	echo "bench: $2 does not answer in $1" >&2
	return 1
}

# bench_median FILE COL [SCALE]: median of column COL of FILE, times SCALE
bench_median() {
	awk -v c="$2" -v s="${3:-1}" '{ print $c * s }' "$1" | sort -g |
		awk '{ v[NR] = $1 }
		END {
			if (!NR) { print "nan"; exit }
			print NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
		}'
}

# bench_summary FILE COL FMT [SCALE]: "median (min-max)" of column COL of
# FILE times SCALE, each number printed with the printf format FMT
# ("median (min to max)" when min is negative)
bench_summary() {
	awk -v c="$2" -v s="${4:-1}" '{ print $c * s }' "$1" | sort -g |
		awk -v f="$3" '{ v[NR] = $1 }
		END {
			if (!NR) { printf "-"; exit }
			m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
			printf f " (" f (v[1] < 0 ? " to " : "-") f ")", m, v[1], v[NR]
		}'
}

# bench_ratio A B [FMT]: A / B
bench_ratio() {
	awk -v a="$1" -v b="$2" -v f="${3:-%.2f}" \
		'BEGIN { if (b + 0 == 0) printf "-"; else printf f, a / b }'
}

# bench_sum FILE COL: the sum of column COL of FILE
bench_sum() {
	awk -v c="$2" '{ s += $c } END { printf "%d", s }' "$1"
}
