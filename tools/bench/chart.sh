#!/usr/bin/env bash
# tools/bench/chart.sh RESULTS.md OUT.svg|OUT.png - draw the comparisons of the
# benchmark results with gnuplot, from the tables of RESULTS.md itself, so
# the chart always shows the figures the text states (medians as bars,
# min-max as error bars).  Panels whose section is missing are left out.
#   bpf      ns per packet class, net of the test run's fixed cost
#   fwd      Mpps per number of flows: balancer, XDP_TX floor, nftables,
#            the balancer made slower on purpose
#   http     req/s: lbd (DSR), nginx, HAProxy, one backend (x 3)
#   backend  req/s: lb-backend, Node.js, nginx; cache HIT, MISS, origin
#   control  Maglev build ms per number of backends, per table size
set -euo pipefail
[ $# -eq 2 ] || {
	echo "usage: $0 RESULTS.md OUT.svg|OUT.png" >&2
	exit 2
}
in=$1
out=$2
case $out in
*.svg) term="svg dynamic font 'sans,11' background '#ffffff' size 1200," ;;
*.png) term="pngcairo font 'sans,10' background '#ffffff' size 1200," ;;
*)
	echo "chart: $out: the output must end in .svg or .png" >&2
	exit 2
	;;
esac
command -v gnuplot >/dev/null || {
	echo "chart: gnuplot not found: run tools/deps.sh --bench" >&2
	exit 1
}
tmp=$(mktemp -d /tmp/bench-chart.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

# rows SECTION HEADER: the rows of the first table of "## SECTION" whose
# header row starts with "| HEADER |", one per line, cells separated by
# tabs, each figure "M (A-B)" split into the three cells M, A and B
rows() {
	awk -v sec="## $1" -v hdr="| $2 |" '
		/^## / { on = index($0, sec) == 1; state = 0; next }
		!on { next }
		state == 0 && index($0, hdr) == 1 { state = 1; next }
		state == 1 { state = 2; next } # the |---| line
		state == 2 && /^\|/ {
			n = split($0, c, "|")
			line = ""
			for (i = 2; i < n; i++) {
				v = c[i]
				gsub(/^ +| +$/, "", v)
				if (match(v, /^-?[0-9.]+ \(-?[0-9.]+(-| to )-?[0-9.]+\)$/)) {
					split(v, p, /[ ()]+/)
					sub(/\)$/, "", v)
					med = p[1]
					rest = substr(v, index(v, "(") + 1)
					if (index(rest, " to ")) {
						lo = substr(rest, 1, index(rest, " to ") - 1)
						hi = substr(rest, index(rest, " to ") + 4)
					} else {
						lo = substr(rest, 1, index(substr(rest, 2), "-"))
						hi = substr(rest, length(lo) + 2)
					}
					v = med "\t" lo "\t" hi
				}
				line = line (i > 2 ? "\t" : "") v
			}
			print line
			next
		}
		state == 2 { exit }
	' "$in"
}

panels=()

# panel DATA TITLE YLABEL XLABEL PLOT: a bar panel over the rows of DATA
# (nothing when DATA is empty); with no XLABEL the row names are slanted
panel() {
	local n ticks='set xtics norotate center'
	[ -s "$1" ] || return 0
	n=$(wc -l <"$1")
	[ -n "$4" ] || ticks='set xtics rotate by 20 right'
	panels+=("set title '$2'
set ylabel '$3'
set xlabel '$4'
$ticks
set yrange [0:*]
set xrange [-0.6:$((n - 1)).6]
plot $5")
}

# bpf: the one-CPU classes, short names, then the balancer's net ns as
# med lo hi (columns: class, per call x3, floor per call x3, fixed, net x3)
rows "Datapath cost per packet (make bench-bpf)" "packet class" |
	awk -F'\t' '{
		l = $1
		sub(/ each packet/, "", l)
		sub(/TCP ACK opening a new flow/, "ACK new", l)
		sub(/TCP SYN, a new flow/, "SYN new", l)
		sub(/TCP SYN, the same flow again/, "SYN same", l)
		sub(/TCP ACK, established/, "ACK est.", l)
		sub(/UDP, established/, "UDP est.", l)
		sub(/, balancer made slower on purpose.*/, " slower", l)
		sub(/, table with room/, " room", l)
		sub(/, full table/, " full", l)
		sub(/ \(IPv4, DSR\)/, " v4", l)
		sub(/ \(IPv6, DSR\)/, " v6", l)
		sub(/ \(IPv4, IPIP\)/, " v4 IPIP", l)
		print l "\t" $9 "\t" $10 "\t" $11
	}' >"$tmp/bpf" || true
panel "$tmp/bpf" 'Balancer ns per packet, net of the test run (bench-bpf)' \
	'ns (median, min-max)' '' \
	"'$tmp/bpf' using 2:3:4:xtic(1) notitle lc rgb '#aa3377'"

# fwd: flows, then (a) (b) (c) (d) as med lo hi
rows "Forwarding rate in the lab (make bench-fwd)" "concurrent flows" |
	cut -f1-13 >"$tmp/fwd" || true
panel "$tmp/fwd" 'Forwarding rate, UDP 60 B, 3 backends (bench-fwd)' \
	'Mpps (median, min-max)' 'concurrent flows' \
	"'$tmp/fwd' using 2:3:4:xtic(1) title 'lbd (XDP, DSR)', \
	'' using 5:6:7 title 'XDP\\_TX floor', \
	'' using 8:9:10 title 'nftables DNAT', \
	'' using 11:12:13 title 'lbd made slower on purpose'"

# http: short label, med lo hi of req/s
rows "HTTP through the balancer in the lab (make bench-http)" "path" |
	awk -F'\t' '{
		l = $1
		if (l ~ /^\(a\)/) l = "lbd DSR"
		else if (l ~ /nginx/) l = "nginx stream"
		else if (l ~ /HAProxy/) l = "HAProxy tcp"
		else if (l ~ /x 3/) l = "1 backend x3 (bound)"
		else if (l ~ /one backend/) l = "1 backend"
		print l "\t" $2 "\t" $3 "\t" $4
	}' >"$tmp/http" || true
panel "$tmp/http" 'HTTP through 3 backends, wrk keep-alive (bench-http)' \
	'requests/s (median, min-max)' '' \
	"'$tmp/http' using 2:3:4:xtic(1) notitle lc rgb '#4477aa'"

# backend: the hello servers, then the cache paths
{
	rows "The backend server and its cache (make bench-backend)" "server"
	rows "The backend server and its cache (make bench-backend)" "path"
} | awk -F'\t' '{
		l = $1
		if (l ~ /MISS/) l = "lb-backend MISS"
		else if (l ~ /HIT/) l = "lb-backend HIT"
		else if (l ~ /origin/) l = "origin (nginx)"
		else if (l ~ /^lb-backend/) l = "lb-backend"
		else if (l ~ /Node/) l = "Node.js cluster"
		else if (l ~ /^nginx/) l = "nginx"
		print l "\t" $2 "\t" $3 "\t" $4
	}' >"$tmp/backend" || true
panel "$tmp/backend" \
	'HTTP servers, same workers, wrk on 127.0.0.1 (bench-backend)' \
	'requests/s (median, min-max)' '' \
	"'$tmp/backend' using 2:3:4:xtic(1) notitle lc rgb '#228833'"

# control: backends, then two table sizes as med lo hi
rows "Control plane (make bench-control)" "backends" |
	cut -f1-7 >"$tmp/maglev" || true
panel "$tmp/maglev" 'Maglev table build (bench-control)' \
	'ms per build (median, min-max)' 'backends' \
	"'$tmp/maglev' using 2:3:4:xtic(1) title '65537 entries', \
	'' using 5:6:7 title '655373 entries'"

if [ ${#panels[@]} -eq 0 ]; then
	echo "chart: no tables to draw in $in" >&2
	exit 1
fi
rows_n=$(((${#panels[@]} + 1) / 2))
{
	cat <<EOF
set terminal $term$((rows_n * 450))
set output '$out.tmp'
set datafile separator '\t'
set style data histograms
set style histogram errorbars gap 1 lw 1
set style fill solid 0.8 border -1
set boxwidth 0.9
set grid ytics
set key below
set xtics nomirror
set multiplot layout $rows_n,2
EOF
	for p in "${panels[@]}"; do
		echo "$p"
	done
	echo "unset multiplot"
} >"$tmp/plot.gp"
gnuplot "$tmp/plot.gp"
chmod 0644 "$out.tmp"
mv "$out.tmp" "$out"
