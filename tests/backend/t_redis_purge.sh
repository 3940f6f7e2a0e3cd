#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# PURGE on lb-backend's admin listener: the object leaves Redis and the
# local tier of every host (Redis pub/sub) within a second; the service
# listener refuses the method; a host cut off from Redis while a purge
# went by does not serve its copy once it is back, nor do the new workers
# of a host whose workers all died meanwhile; a Redis that is down is
# reported, and this host's copy goes all the same.
source "$(dirname "$0")/lib.sh"
need
source "$HERE/redis_lib.sh"

start_origin
start_redis
# host 2 reaches Redis through a proxy that can cut it off
: >"$T/delay"
$RH proxy "$T/proxy.port" "$RPORT" "$T/delay" &
PIDS+=($!)
for i in $(seq 100); do [ -f "$T/proxy.port" ] && break; sleep 0.05; done
host 1
host 2 --redis "redis://127.0.0.1:$(cat "$T/proxy.port")" --redis-retry 0.2
host 3
# numsub N: wait (5 s at most) until N workers listen on the purge channel
numsub() {
	for i in $(seq 100); do
		# the reply prints as [b'lb:purge', N]
		[ "$(rcmd PUBSUB NUMSUB lb:purge | sed -n 's/.*, \([0-9]*\)\]$/\1/p')" = "$1" ] &&
			return 0
		sleep 0.05
	done
	return 1
}
# every worker subscribed: PUBLISH reaches 6
numsub 6

for n in 1 2 3 1 2 3; do xc "${H[n]}/p/1" >/dev/null; done
w=""
for n in 1 2 3; do w+="$(xc "${H[n]}/p/1" | cut -d' ' -f1) "; done
check "purge object in every host's local tier first" $([ "$w" = "HIT HIT HIT " ]; echo $?) "got '$w'"

st=$(curl -s -o /dev/null -w '%{http_code}' -X PURGE "${H[1]}/p/1")
check "purge refused on the service listener" $([ "$st" = 405 ]; echo $?) "status $st"

t0=$(date +%s%N)
r=$(curl -s -w ' %{http_code}' -X PURGE "${A[1]}/p/1" | tr -d '\n')
check "purge answered" $([ "$r" = '{"local":1,"redis":1,"receivers":6} 200' ]; echo $?) "got '$r'"
# every host has applied the message: its workers counted it
ms=""
for n in 1 2 3; do
	for i in $(seq 100); do
		# curl and grep: a python start-up would take longer than this
		m=$(curl -s --max-time 10 "${A[n]}/stats" | grep -o '"purge_msgs":[0-9]*')
		[ "${m#*:}" -ge 2 ] && break
		sleep 0.01
	done
	ms+="$((($(date +%s%N) - t0) / 1000000)) "
done
set -- $ms
check "purge reaches every host's local tier within 1 s" \
	$([ "$1" -le 1000 ] && [ "$2" -le 1000 ] && [ "$3" -le 1000 ]; echo $?) "after $ms ms"
e=$(rcmd EXISTS lb:/p/1)
check "purge removed the object from Redis" $([ "$e" -eq 0 ]; echo $?) "exists $e"
w=""
for n in 2 3 1; do w+="$(xc "${H[n]}/p/1" | cut -d' ' -f1) "; done
c=$(origin_count /p/1)
check "purge next requests: one origin fetch, then Redis hits" \
	$([ "$w" = "MISS HIT-REDIS HIT-REDIS " ] && [ "$c" -eq 2 ]; echo $?) "got '$w', origin saw $c"
p=$(rstat "${A[1]}" purges)
check "purge counted" $([ "$p" -eq 1 ]; echo $?) "purges $p"

# A host cut off from Redis (its purge channel too) while an object is
# purged: once back, it does not serve its copy
for n in 2 2 3 3; do xc "${H[n]}/p/3" >/dev/null; done
w="$(xc "${H[2]}/p/3" | cut -d' ' -f1) $(xc "${H[3]}/p/3" | cut -d' ' -f1)"
echo cut >"$T/delay"
numsub 4
r=$(curl -s -X PURGE "${A[1]}/p/3")
echo 0 >"$T/delay"
numsub 6
for i in $(seq 100); do
	m=$(curl -s --max-time 10 "${A[2]}/stats" | grep -o '"purge_resets":[0-9]*')
	[ "${m#*:}" -ge 1 ] 2>/dev/null && break
	sleep 0.05
done
w2="$(xc "${H[2]}/p/3" | cut -d' ' -f1) $(xc "${H[3]}/p/3" | cut -d' ' -f1)"
check "purge missed while cut off: the host back does not serve its copy" \
	$([ "$w" = "HIT HIT" ] && [ "$r" = '{"local":0,"redis":1,"receivers":4}' ] &&
		[ "$w2" = "MISS HIT-REDIS" ]; echo $?) \
	"before '$w', purge '$r', after '$w2' (resets $(rstat "${A[2]}" purge_resets 2>&1 | tail -1))"
p=$(rstat "${A[3]}" purge_resets)
check "purge a host that heard every purge keeps its local tier" \
	$([ "$p" = 0 ]; echo $?) "resets $p"

# Every worker of a host gone (killed) while it was cut off, a purge, then
# new workers: the first to subscribe finds that the host heard less than
# Redis counts, and drops the local tier
for n in 2 2; do xc "${H[n]}/p/4" >/dev/null; done
w="$(xc "${H[2]}/p/4" | cut -d' ' -f1)"
echo cut >"$T/delay"
numsub 4
old=$($HELPER stats "${A[2]}" | awk '{print $3}' | tr , ' ')
# shellcheck disable=SC2086 # the workers' pids
kill -KILL $old
r=$(curl -s -X PURGE "${A[1]}/p/4")
for i in $(seq 100); do
	now=$($HELPER stats "${A[2]}" | awk '$2 == 2 {print $3}' | tr , ' ')
	[ -n "$now" ] && [ "$now" != "$old" ] && break
	sleep 0.05
done
echo 0 >"$T/delay"
numsub 6
for i in $(seq 60); do
	w2=$(xc "${H[2]}/p/4" | cut -d' ' -f1)
	[ "$w2" != HIT ] && break
	sleep 0.05
done
check "purge missed while every worker of the host was gone: the new ones do not serve its copy" \
	$([ "$w" = HIT ] && [ "$r" = '{"local":0,"redis":1,"receivers":4}' ] &&
		[ "$w2" = MISS ]; echo $?) \
	"before '$w', purge '$r', workers '$old' then '$now', after '$w2'"

# Redis gone: reported, and this host's copy is gone all the same
xc "${H[1]}/p/2" >/dev/null
kill -KILL "$RPID"
wait "$RPID" 2>/dev/null
r=$(curl -s -w ' %{http_code}' -X PURGE "${A[1]}/p/2" | tr -d '\n')
check "purge with Redis down: reported, local copy removed" \
	$([[ $r == '{"local":1,"redis":0,"receivers":0,"error":'*' 502' ]]; echo $?) "got '$r'"
finish
