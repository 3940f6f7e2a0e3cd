# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# bash completion for lbctl: objects, verbs and options, and the VIPs and
# backends of the running lbd when it answers (through lbctl -j, on the
# socket the command line names).  Needs nothing beyond bash.
#
# VIPs and IPv6 addresses contain ':', which bash splits words at; the
# words are therefore taken from the line itself, and each completion is
# cut to the part after the last ':' of the word being completed.

_lbctl_vip_opts="--mode --hash --table-size --on-down"
_lbctl_check_opts="--check --check-interval --check-timeout --rise --fall
	--slowstart --check-expect --check-host"
# options that take a value
_lbctl_valued=" --weight --mode --hash --table-size --on-down --check --check-interval
	--check-timeout --rise --fall --slowstart --check-expect --check-host
	-S -s --socket -f --file "

# _lbctl_json CMD ARGS...: lbctl -j ARGS on the line's socket, quietly
_lbctl_json() {
	local lbctl=$1
	shift
	local -a to=()
	command -v timeout >/dev/null 2>&1 && to=(timeout 2)
	if [ -n "$_lbctl_sock" ]; then
		"${to[@]}" "$lbctl" -j -S "$_lbctl_sock" "$@" 2>/dev/null
	else
		"${to[@]}" "$lbctl" -j "$@" 2>/dev/null
	fi
}

# _lbctl_strings KEY: the string values of KEY in the JSON on stdin
_lbctl_strings() {
	grep -o "\"$1\":\"[^\"]*\"" | sed "s/^\"$1\":\"//; s/\"\$//"
}

_lbctl() {
	local line=${COMP_LINE:0:COMP_POINT} cur prev cmd verb w
	local -a words args
	local i=1 npos=0 want=

	read -ra words <<<"$line"
	[[ $line == *[[:space:]] || ${#words[@]} -eq 0 ]] && words+=("")
	cur=${words[${#words[@]} - 1]}
	prev=
	[ ${#words[@]} -gt 1 ] && prev=${words[${#words[@]} - 2]}
	_lbctl_sock=${LBCTL_SOCKET:-}

	# the global options before the command
	while [ $i -lt $((${#words[@]} - 1)) ]; do
		w=${words[i]}
		case $w in
		-S | -s | --socket)
			_lbctl_sock=${words[i + 1]}
			i=$((i + 2))
			;;
		-*) i=$((i + 1)) ;;
		*) break ;;
		esac
	done
	args=("${words[@]:i:${#words[@]}-1-i}")

	case $prev in
	-S | -s | --socket | -f | --file)
		mapfile -t COMPREPLY < <(compgen -f -- "$cur")
		return
		;;
	esac
	if [ ${#args[@]} -eq 0 ]; then
		if [[ $cur == -* ]]; then
			mapfile -t COMPREPLY < <(compgen -W "-j --json -S --socket -h --help" -- "$cur")
		else
			mapfile -t COMPREPLY < <(compgen -W "add-backend del-backend vip backend
				node list stats status explain health compare export apply help" -- "$cur")
		fi
		return
	fi

	cmd=${args[0]}
	case $cmd in
	compare)
		# the 'lbctl -j status' files of balancers
		mapfile -t COMPREPLY < <(compgen -f -- "$cur")
		return
		;;
	vip | backend | node)
		if [ ${#args[@]} -eq 1 ]; then
			case $cmd in
			vip) w="add set del list show help" ;;
			backend) w="add check del drain undrain weight help" ;;
			node) w="drain undrain help" ;;
			esac
			mapfile -t COMPREPLY < <(compgen -W "$w" -- "$cur")
			return
		fi
		verb=${args[1]}
		args=("${args[@]:2}")
		;;
	*)
		verb=
		args=("${args[@]:1}")
		;;
	esac

	# the value of an option
	case $prev in
	--mode) w="dsr ipip" ;;
	--hash) w="5tuple src" ;;
	--on-down) w="keep rehash" ;;
	--check) w="none tcp http tcp: http: http:/" ;;
	--check-expect) w="2xx 3xx 2xx,3xx 2xx,3xx,4xx" ;;
	*) w= ;;
	esac
	if [[ $_lbctl_valued == *" $prev "* ]]; then
		mapfile -t COMPREPLY < <(compgen -W "$w" -- "$cur")
		_lbctl_colon "$cur"
		return
	fi

	# the options of the command (--dry-run: every change)
	case "$cmd $verb" in
	"add-backend ") w="--weight $_lbctl_vip_opts $_lbctl_check_opts --dry-run" ;;
	"vip add") w="$_lbctl_vip_opts $_lbctl_check_opts --dry-run" ;;
	"vip set") w="--on-down $_lbctl_check_opts --dry-run" ;;
	"backend add") w="--weight $_lbctl_check_opts --dry-run" ;;
	"backend check") w="--inherit $_lbctl_check_opts --dry-run" ;;
	"apply ") w="-f --file --dry-run" ;;
	"del-backend " | "vip del" | "backend del" | "backend drain" | \
		"backend undrain" | "backend weight") w="--dry-run" ;;
	"stats ") w="--watch" ;;
	*) w= ;;
	esac
	if [[ $cur == -* ]]; then
		mapfile -t COMPREPLY < <(compgen -W "$w" -- "$cur")
		return
	fi

	# the position among the arguments that are not options
	for ((i = 0; i < ${#args[@]}; i++)); do
		if [[ ${args[i]} == -* ]]; then
			[[ $_lbctl_valued == *" ${args[i]} "* ]] && i=$((i + 1))
			continue
		fi
		npos=$((npos + 1))
	done
	case "$cmd $verb" in
	"help ") [ $npos -eq 0 ] && want=commands ;;
	"health " | "vip set" | "vip del" | "vip show")
		[ $npos -eq 0 ] && want=vips
		;;
	"add-backend " | "backend add")
		[ $npos -eq 0 ] && want=vips
		;;
	"del-backend " | "backend del" | "backend drain" | "backend undrain" | \
		"backend weight" | "backend check")
		[ $npos -eq 0 ] && want=vips
		[ $npos -eq 1 ] && want=backends
		;;
	"explain ") [ $npos -eq 2 ] && want=protos ;;
	esac
	case $want in
	commands)
		w="add-backend del-backend vip backend node list stats status explain health compare export apply"
		;;
	vips) w=$(_lbctl_json "${words[0]}" vip list | _lbctl_strings vip) ;;
	backends)
		for ((i = 0; i < ${#args[@]}; i++)); do
			if [[ ${args[i]} == -* ]]; then
				[[ $_lbctl_valued == *" ${args[i]} "* ]] && i=$((i + 1))
				continue
			fi
			w=$(_lbctl_json "${words[0]}" vip show "${args[i]}" |
				_lbctl_strings backend)
			break
		done
		;;
	protos) w="tcp udp" ;;
	*) w= ;;
	esac
	mapfile -t COMPREPLY < <(compgen -W "$w" -- "$cur")
	_lbctl_colon "$cur"
}

# bash completes only the part of a word after its last ':'
_lbctl_colon() {
	local pre i
	[[ $1 == *:* ]] || return
	pre=${1%"${1##*:}"}
	for i in "${!COMPREPLY[@]}"; do
		COMPREPLY[i]=${COMPREPLY[i]#"$pre"}
	done
}

complete -F _lbctl lbctl
