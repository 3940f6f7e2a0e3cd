#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# The bash completion of lbctl (user/lbctl/lbctl.bash), sourced in bash and
# asked for COMPREPLY, against a stand-in lbctl on PATH that plays a running
# lbd (and then one that is not running).  t_lbd.sh asks a real lbd.
# shellcheck source=tests/lib.sh
source "$(dirname "$0")/../lib.sh" "${1:-build}"
cd "$(dirname "$0")/../.."
COMPLETION=$PWD/user/lbctl/lbctl.bash
tmp_dir D t_completion

mkdir "$D/bin"
cat >"$D/bin/lbctl" <<EOS
#!/usr/bin/env bash
echo "\$*" >>"$D/calls"
[ -e "$D/down" ] && { echo '{"ok":false,"error":"lbd is not running"}'; exit 1; }
args=" \$* "
case \$args in
*" vip list "*)
	echo '{"ok":true,"vips":[{"vip":"10.0.0.1:80/tcp","mode":"dsr"},{"vip":"[fd00::1]:443/tcp","mode":"dsr"}]}' ;;
*" vip show 10.0.0.1:80/tcp "*)
	echo '{"ok":true,"vip":{"vip":"10.0.0.1:80/tcp","backends":[{"backend":"10.0.0.11","weight":1},{"backend":"10.0.0.12","weight":2}]}}' ;;
*) echo '{"ok":false,"error":"unexpected"}'; exit 1 ;;
esac
EOS
chmod +x "$D/bin/lbctl"

# comp LINE: the completions bash would offer at the end of LINE, sorted,
# on one line
comp() {
	PATH=$D/bin:$PATH bash -c '
source "$1"
COMP_LINE=$2
COMP_POINT=${#2}
read -ra COMP_WORDS <<<"$2"
COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
[[ $2 == *" " ]] && COMP_CWORD=${#COMP_WORDS[@]}
COMPREPLY=()
_lbctl
printf "%s\n" "${COMPREPLY[@]}" | sort | tr "\n" " "' _ "$COMPLETION" "$1" 2>"$D/stderr"
}
# expect NAME LINE WANT: the completions of LINE are exactly WANT
expect() {
	local got
	got=$(comp "$2")
	got=${got% }
	check "$1" "$([ "$got" = "$3" ] && [ ! -s "$D/stderr" ]; echo $?)" \
		"'$2' gives '$got', want '$3' $(cat "$D/stderr")"
}
# has NAME LINE WORD...: the completions of LINE include every WORD
has() {
	local name=$1 line=$2 got w
	shift 2
	got=" $(comp "$line")"
	for w in "$@"; do
		[[ $got == *" $w "* ]] || { check "$name" 1 "'$line' gives '$got', no '$w'"; return; }
	done
	check "$name" 0 ""
}

has "commands" "lbctl " vip backend add-backend del-backend list stats status explain health help node compare export apply
expect "node verbs" "lbctl node " "drain help undrain"
touch "$D/status-a.json" "$D/status-b.json"
expect "files for compare" "lbctl compare $D/status-" "$D/status-a.json $D/status-b.json"
expect "vip verbs" "lbctl vip " "add del help list set show"
expect "verb prefix" "lbctl backend dr" "drain"
expect "VIPs from lbd" "lbctl backend drain " "10.0.0.1:80/tcp [fd00::1]:443/tcp"
expect "VIP prefix" "lbctl vip show 10" "10.0.0.1:80/tcp"
expect "VIP after a colon" "lbctl vip show 10.0.0.1:" "80/tcp"
expect "backends of the VIP from lbd" "lbctl backend drain 10.0.0.1:80/tcp " "10.0.0.11 10.0.0.12"
expect "backend prefix" "lbctl del-backend 10.0.0.1:80/tcp 10.0.0.12" "10.0.0.12"
expect "no completion for a new backend" "lbctl add-backend 10.0.0.1:80/tcp " ""
expect "values of --mode" "lbctl add-backend 10.0.0.1:80/tcp 10.0.0.13 --mode " "dsr ipip"
expect "values of --on-down" "lbctl vip set 10.0.0.1:80/tcp --on-down " "keep rehash"
expect "values of --hash" "lbctl vip add 10.0.0.9:80/tcp --hash " "5tuple src"
has "options of add-backend" "lbctl add-backend 10.0.0.1:80/tcp 10.0.0.13 --" \
	--weight --mode --hash --table-size --check --check-interval --check-timeout --rise --fall --slowstart --check-expect --check-host
expect "options of vip set" "lbctl vip set 10.0.0.1:80/tcp --r" "--rise"
expect "no VIP options for backend add" "lbctl backend add 10.0.0.1:80/tcp 10.0.0.13 --mo" ""
expect "--inherit of backend check" "lbctl backend check 10.0.0.1:80/tcp 10.0.0.11 --in" "--inherit"
expect "global options" "lbctl --s" "--socket"
expect "options of apply" "lbctl apply -" "--dry-run --file -f"
expect "--dry-run of a change" "lbctl backend drain 10.0.0.1:80/tcp 10.0.0.11 --d" "--dry-run"
expect "no --dry-run for a view" "lbctl list --d" ""
has "the file of apply" "lbctl apply -f $D/" "$D/bin"
expect "protocol of explain" "lbctl explain 10.1.1.1:5 10.0.0.1:80 " "tcp udp"
expect "help COMMAND" "lbctl help he" "health"
: >"$D/calls"
expect "VIPs after global options" "lbctl -j -S $D/x.sock vip del " "10.0.0.1:80/tcp [fd00::1]:443/tcp"
check "lbctl asked on the socket of the line" \
	"$(grep -q -- "-j -S $D/x.sock vip list" "$D/calls"; echo $?)" "calls: $(cat "$D/calls")"
: >"$D/calls"
LBCTL_SOCKET=$D/env.sock expect "VIPs on \$LBCTL_SOCKET" "lbctl vip show " "10.0.0.1:80/tcp [fd00::1]:443/tcp"
check "lbctl asked on \$LBCTL_SOCKET" \
	"$(grep -q -- "-j -S $D/env.sock vip list" "$D/calls"; echo $?)" "calls: $(cat "$D/calls")"
touch "$D/down"
expect "lbd not running: no VIPs, no noise" "lbctl backend drain " ""
finish
