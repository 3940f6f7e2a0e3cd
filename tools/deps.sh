#!/usr/bin/env bash
# Install the Debian packages that building, testing, the demo and the
# benchmarks need.  Does nothing (and needs no network) when all are present.
#   tools/deps.sh          build + test + demo packages
#   tools/deps.sh --bench  also the benchmark baselines (nginx, haproxy, wrk...)
set -euo pipefail

pkgs=(
	prometheus # promtool and the server tests/net/t_metrics.sh scrapes with
	bird2 # BGP and BFD of the fleet lab (tools/fleet.sh)
	make gcc clang llvm pkg-config
	libbpf-dev libxdp-dev libelf-dev zlib1g-dev libmnl-dev
	bpftool xdp-tools iproute2 ethtool iputils-ping
	curl procps psmisc util-linux kmod python3 libclang-rt-14-dev
	clang-format git mandoc strace
	redis-server redis-tools # the Redis tier tests (tests/backend/t_redis*.sh)
)
if [ "${1:-}" = "--bench" ]; then
	pkgs+=(wrk nginx-light libnginx-mod-stream haproxy gnuplot-nox nftables nodejs)
fi

missing=()
for p in "${pkgs[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed'; then
		missing+=("$p")
	fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "deps.sh: missing packages: ${missing[*]}; run as root (sudo make ...)" >&2
	exit 1
fi
echo "deps.sh: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
