#!/usr/bin/env bash
# The benchmarks: tools/bench/run.sh BUILD_DIR PART
#   PART   bpf   in-kernel ns per packet per packet class (BPF_PROG_TEST_RUN)
#          fwd   forwarding rate in network namespaces: balancer, XDP_TX
#                floor and nftables DNAT, 1 to 1,000,000 flows
#          http  end-to-end HTTP in the lab: lbd (XDP, DSR) against nginx
#                and HAProxy as TCP proxies and one backend alone
#          backend  lb-backend against Node.js cluster and nginx; cache
#                hit against miss; shared cache against one per worker
#          control  Maglev table build times; from `lbctl add-backend`
#                returning to the first packet at the new backend; at
#                scale: apply of 5000 backends and of 1000 VIPs, one
#                change on a VIP of 5000 backends, restart with 1000 VIPs
#          fleet  three balancers behind a BGP router: failover time,
#                connections that survive, drain time, flows moved when a
#                balancer joins
#          all   every part above
#          results  no part: RESULTS.md and the chart again from the
#                parts' last output (bench/out) and bench/DATAPATH.md
# Each part prints its table and writes bench/out/PART.md; bench/RESULTS.md
# is then assembled from every part present, so that parts run at
# different times keep their own figures and dates, and bench/results.svg
# is drawn from it (tools/bench/chart.sh).
set -euo pipefail

PARTS=(bpf fwd http backend control fleet) # in the order of bench/RESULTS.md

usage() {
	echo "usage: $0 BUILD_DIR {$(
		IFS='|'
		echo "${PARTS[*]}"
	)|all|results}" >&2
	exit 2
}

[ $# -eq 2 ] || usage
O=$1
part=$2
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
outdir=$top/bench/out

if [ "$(id -u)" -ne 0 ]; then
	echo "bench: must run as root (BPF programs, network namespaces)" >&2
	exit 1
fi
for p in bench_bpf bench_fwd bench_maglev bench_ctl bench_cache; do
	p=$O/bench/$p
	if [ ! -x "$p" ]; then
		echo "bench: $p missing: build with tools/bench/bench.mk included" >&2
		exit 1
	fi
done

machine() {
	local cpu
	cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1)
	printf 'Measured %s on %s CPUs (%s), kernel %s.\n' \
		"$(date -u '+%Y-%m-%d %H:%M UTC')" "$(nproc)" \
		"${cpu:-unknown CPU}" "$(uname -r)"
	printf 'Load average (1 min) when the part started: %s.\n' \
		"$(cut -d' ' -f1 /proc/loadavg)"
}

# run_part NAME TITLE: the part's table on stdout and in bench/out/NAME.md,
# replaced only when the part succeeded.
run_part() {
	local name=$1 title=$2 tmp
	mkdir -p "$outdir"
	tmp=$(mktemp "$outdir/.$name.XXXXXX")
	{
		printf '## %s\n\n' "$title"
		machine
		echo
		"$here/$name.sh" "$O"
	} >"$tmp" || {
		rm -f "$tmp"
		echo "bench: part $name failed" >&2
		return 1
	}
	chmod 0644 "$tmp"
	mv "$tmp" "$outdir/$name.md"
	cat "$outdir/$name.md"
}

# section TITLE FILE: the "## TITLE" section of FILE, up to the next one.
section() {
	awk -v h="## $1" '
		/^## / { on = ($0 == h) }
		on { print }
	' "$2" | sed -e :a -e '/^\n*$/{$d;N;ba' -e '}'
}

# bench/out/ is not kept in git: a part that has not run here keeps the
# section that bench/RESULTS.md already holds.
assemble() {
	local f old new
	old=$top/bench/RESULTS.md
	new=$(mktemp "$outdir/.RESULTS.XXXXXX")
	{
		echo "# Benchmark results"
		echo
		echo "Written by \`make bench\` / \`make bench-PART\`" \
			"(tools/bench/run.sh); each section from its last run." \
			"Chart: bench/results.svg."
		echo
		echo "The machine that ran these is shared with other work, so" \
			"the figures are noisy: every section states the load" \
			"average when it started and gives each figure as the" \
			"median of several runs with their min-max range." \
			"Differences within those ranges are noise, not results."
		# what was decided from these figures, kept by hand
		if [ -f "$top/bench/DATAPATH.md" ]; then
			echo
			cat "$top/bench/DATAPATH.md"
		fi
		for p in "${PARTS[@]}"; do
			f=$outdir/$p.md
			if [ -f "$f" ]; then
				echo
				cat "$f"
			elif [ -f "$old" ] &&
				grep -qxF "## $(title_of "$p")" "$old"; then
				echo
				section "$(title_of "$p")" "$old"
			fi
		done
	} >"$new"
	chmod 0644 "$new"
	mv "$new" "$old"
}

title_of() {
	case $1 in
	bpf) echo "Datapath cost per packet (make bench-bpf)" ;;
	fwd) echo "Forwarding rate in the lab (make bench-fwd)" ;;
	http) echo "HTTP through the balancer in the lab (make bench-http)" ;;
	backend) echo "The backend server and its cache (make bench-backend)" ;;
	control) echo "Control plane (make bench-control)" ;;
	fleet) echo "A fleet of balancers (make bench-fleet)" ;;
	esac
}

case $part in
all) todo=("${PARTS[@]}") ;;
results) todo=() ;;
*)
	todo=()
	for p in "${PARTS[@]}"; do
		[ "$p" = "$part" ] && todo=("$p")
	done
	[ ${#todo[@]} -eq 1 ] || usage
	;;
esac

rc=0
for p in "${todo[@]+"${todo[@]}"}"; do
	run_part "$p" "$(title_of "$p")" || rc=1
	echo
done
assemble
"$here/chart.sh" "$top/bench/RESULTS.md" "$top/bench/results.svg" || rc=1
echo "bench: results in bench/RESULTS.md, chart in bench/results.svg"
exit $rc
