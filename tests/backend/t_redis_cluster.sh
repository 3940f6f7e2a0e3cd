#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# lb-backend on a Redis Cluster of three masters and three replicas
# (redis-server --cluster-enabled, made with redis-cli --cluster create):
# keys spread over the masters by slot, a cold object fetched from the
# origin once over three hosts, and under load a slot range migrated and a
# master failed over without one failed request.
source "$(dirname "$0")/lib.sh"
need
source "$HERE/redis_lib.sh"
need_cmd redis-cli

# six nodes: P[0..5]
declare -a NP
read -r -a P < <($RH clusterports 6)
for i in 0 1 2 3 4 5; do
	mkdir -p "$T/n$i"
	redis-server --port "${P[i]}" --bind 127.0.0.1 --save "" --appendonly no \
		--cluster-enabled yes --cluster-config-file "$T/n$i/nodes.conf" \
		--cluster-node-timeout 1000 --dir "$T/n$i" --logfile "$T/n$i/log" &
	NP[i]=$!
	PIDS+=($!)
done
for i in 0 1 2 3 4 5; do
	for k in $(seq 100); do
		[ "$(timeout 2 $RH cmd "${P[i]}" PING 2>/dev/null)" = PONG ] && break
		sleep 0.05
	done
done
if ! redis-cli --cluster create $(for i in 0 1 2 3 4 5; do echo "127.0.0.1:${P[i]}"; done) \
	--cluster-replicas 1 --cluster-yes >"$T/create.log" 2>&1; then
	echo "FAIL cluster: redis-cli --cluster create failed"
	cat "$T/create.log"
	exit 1
fi
# cluster_ok PORT...: until every one says cluster_state:ok
cluster_ok() {
	local p k
	for k in $(seq 200); do
		for p in "$@"; do
			redis-cli -p "$p" cluster info 2>/dev/null | grep -q 'cluster_state:ok' || continue 2
		done
		return 0
	done
	return 1
}
cluster_ok "${P[@]}" || { echo "FAIL cluster: not ok"; exit 1; }
masters() { redis-cli -p "$1" cluster nodes | awk '$3 ~ /master/ && $3 !~ /fail/ {split($2, a, "@"); print a[1]}' | sort; }

start_origin
RPORT=${P[0]} # for redis_lib's rcmd-less helpers
for n in 1 2 3; do
	ap=$($HELPER freeport)
	WORKERS=0 start_backend --workers 2 --origin "http://127.0.0.1:$OPORT" \
		--redis-cluster "127.0.0.1:${P[0]},127.0.0.1:${P[1]},127.0.0.1:${P[2]}" \
		--redis-timeout 1 --redis-retry 0.3 --admin-listen "127.0.0.1:$ap"
	H[n]=$URL
	A[n]=http://127.0.0.1:$ap
	B[n]=$BPID
	URL=${A[n]} wait_workers 2 || { echo "FAIL start: host $n"; exit 1; }
done

# --- keys spread over the masters; one origin fetch over three hosts
bad=0
for i in $(seq 30); do
	r1=$(xc "${H[1]}/c/$i")
	r2=$(xc "${H[2]}/c/$i")
	[ "$r1" = "MISS hello /c/$i" ] && [ "$r2" = "HIT-REDIS hello /c/$i" ] || bad=$((bad + 1))
done
check "cluster 30 objects: MISS on one host, Redis hit on another" $([ "$bad" -eq 0 ]; echo $?) "$bad wrong"
spread=""
for m in $(masters "${P[0]}"); do
	spread+="$(redis-cli -p "${m##*:}" dbsize) "
done
set -- $spread
check "cluster keys spread over the three masters" \
	$([ $# -eq 3 ] && [ "$1" -gt 0 ] && [ "$2" -gt 0 ] && [ "$3" -gt 0 ]; echo $?) "keys per master: $spread"
c=0
for i in $(seq 30); do c=$((c + $(origin_count "/c/$i"))); done
check "cluster one origin fetch per object" $([ "$c" -eq 30 ]; echo $?) "origin saw $c for 30"

# --- a slot range migrated under load
# owner KEY: the id of the master that holds KEY's slot
owner() {
	local s
	s=$(redis-cli -p "${P[0]}" cluster keyslot "$1")
	redis-cli -p "${P[0]}" cluster nodes | awk -v s="$s" '$3 ~ /master/ {
		for (f = 9; f <= NF; f++) {
			split($f, r, "-"); if (r[2] == "") r[2] = r[1]
			if (s + 0 >= r[1] + 0 && s + 0 <= r[2] + 0) print $1
		}
	}'
}
declare -a before
for i in $(seq 30); do before[i]=$(owner "lb:/c/$i"); done
set -- $(masters "${P[0]}")
from=$(redis-cli -p "${1##*:}" cluster myid)
to=$(redis-cli -p "${2##*:}" cluster myid)
$RH load "${H[1]}" 6 4 300 "$T/load1" &
l1=$!
$RH load "${H[3]}" 6 4 300 "$T/load3" &
l3=$!
sleep 0.5
redis-cli --cluster reshard "127.0.0.1:${P[0]}" --cluster-from "$from" --cluster-to "$to" \
	--cluster-slots 3000 --cluster-yes >"$T/reshard.log" 2>&1
rs=$?
wait "$l1" "$l3"
read -r _ ok1 _ f1 rest1 <"$T/load1"
read -r _ ok3 _ f3 rest3 <"$T/load3"
check "cluster resharding under load: done" $([ "$rs" -eq 0 ]; echo $?) "reshard exit $rs"
check "cluster resharding under load: 0 failed requests" \
	$([ "$f1" -eq 0 ] && [ "$f3" -eq 0 ] && [ "$ok1" -gt 50 ]; echo $?) "ok $ok1/$ok3 fail $f1/$f3 $rest1 $rest3"
# the objects whose slots moved to the other master: host 3, which never
# asked for them, finds them all in Redis, those that moved included,
# by its slot map as MOVED replies corrected it
moved=0
for i in $(seq 30); do
	[ "${before[i]}" = "$from" ] && [ "$(owner "lb:/c/$i")" = "$to" ] && moved=$((moved + 1))
done
bad=0
for i in $(seq 30); do
	r=$(xc "${H[3]}/c/$i")
	[ "$r" = "HIT-REDIS hello /c/$i" ] || bad=$((bad + 1))
done
check "cluster after resharding every object is a Redis hit on a third host" \
	$([ "$bad" -eq 0 ] && [ "$moved" -ge 1 ]; echo $?) "$bad not; $moved of the 30 moved"
rd=$(rstat "${A[3]}" redirects)
check "cluster redirections followed and counted" $([ "$rd" -ge 1 ]; echo $?) "redirects $rd"

# --- ASK: a key moved by MIGRATE while its slot is still migrating; the
# source answers ASK, the client must send ASKING and the command to the
# target (without ASKING the target answers MOVED back to the source)
nodeport() { redis-cli -p "${P[0]}" cluster nodes | awk -v id="$1" '$1 == id {split($2, a, "[:@]"); print a[2]}'; }
xc "${H[1]}/ask/1" >/dev/null
aslot=$(redis-cli -p "${P[0]}" cluster keyslot lb:/ask/1)
asrc=$(owner lb:/ask/1)
for m in $(masters "${P[0]}"); do
	adst=$(redis-cli -p "${m##*:}" cluster myid)
	[ "$adst" != "$asrc" ] && break
done
sp=$(nodeport "$asrc")
dp=$(nodeport "$adst")
redis-cli -p "$dp" cluster setslot "$aslot" importing "$asrc" >/dev/null
redis-cli -p "$sp" cluster setslot "$aslot" migrating "$adst" >/dev/null
mg=$(redis-cli -p "$sp" migrate 127.0.0.1 "$dp" lb:/ask/1 0 5000)
rd0=$(rstat "${A[3]}" redirects)
r=$(xc "${H[3]}/ask/1")
rd1=$(rstat "${A[3]}" redirects)
for p in "$sp" "$dp"; do redis-cli -p "$p" cluster setslot "$aslot" node "$adst" >/dev/null; done
check "cluster ASK: a key migrating to another master is a Redis hit there" \
	$([ "$mg" = OK ] && [ "$r" = "HIT-REDIS hello /ask/1" ] && [ "$rd1" -gt "$rd0" ]; echo $?) \
	"MIGRATE '$mg', got '$r', redirects $rd0 -> $rd1"

# --- a master failed over under load
set -- $(masters "${P[0]}")
victim=${3##*:}
vid=$(redis-cli -p "$victim" cluster myid)
for i in 0 1 2 3 4 5; do [ "${P[i]}" = "$victim" ] && vpid=${NP[i]}; done
# objects in Redis that host 2 does not hold, on the masters that stay
healthy=()
for i in $(seq 40); do
	[ "$(owner "lb:/h/$i")" != "$vid" ] && healthy+=("/h/$i")
	[ ${#healthy[@]} -eq 6 ] && break
done
for o in "${healthy[@]}"; do xc "${H[1]}$o" >/dev/null; done
bo=$(rstat "${A[2]}" breaker_opened)
$RH load "${H[1]}" 5 4 300 "$T/load4" &
l1=$!
sleep 0.5
kill -KILL "$vpid"
sleep 0.2
# one master gone: the keys of the others are still Redis hits
bad=0
for o in "${healthy[@]}"; do
	r=$(xc "${H[2]}$o")
	[ "$r" = "HIT-REDIS hello $o" ] || bad=$((bad + 1))
done
bo2=$(rstat "${A[2]}" breaker_opened)
check "cluster a dead master: keys on the others still Redis hits, breaker closed" \
	$([ "$bad" -eq 0 ] && [ "$bo2" -eq "$bo" ]; echo $?) "$bad of ${#healthy[@]} not; breaker opened $bo -> $bo2"
alive=()
for i in 0 1 2 3 4 5; do [ "${P[i]}" != "$victim" ] && alive+=("${P[i]}"); done
cluster_ok "${alive[@]}"
okc=$?
wait "$l1"
read -r _ ok _ f rest <"$T/load4"
check "cluster failover: the replica took over" $([ "$okc" -eq 0 ]; echo $?) "cluster not ok again"
check "cluster failover under load: 0 failed requests" $([ "$f" -eq 0 ] && [ "$ok" -gt 50 ]; echo $?) "ok $ok fail $f $rest"
# the hosts' breakers may still skip Redis for --redis-retry after the
# failures of the failover: a new key every try, for up to 5 s
for i in $(seq 20); do
	sleep 0.25
	r1=$(xc "${H[1]}/after/$i")
	r2=$(xc "${H[2]}/after/$i")
	[ "$r1" = "MISS hello /after/$i" ] && [ "$r2" = "HIT-REDIS hello /after/$i" ] && break
done
check "cluster after failover: stores and hits resume" \
	$([ "$r1" = "MISS hello /after/$i" ] && [ "$r2" = "HIT-REDIS hello /after/$i" ]; echo $?) "got '$r1' then '$r2'"
finish
