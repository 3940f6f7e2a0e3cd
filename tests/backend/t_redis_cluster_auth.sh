#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# lb-backend on a Redis Cluster that wants a password (requirepass,
# masterauth) and has an ACL user: with the password (or the user) in a
# seed's URL, every node of the map is authenticated and objects are
# shared between hosts; a seed naming a database is refused at startup.
source "$(dirname "$0")/lib.sh"
need
source "$HERE/redis_lib.sh"
need_cmd redis-cli

PW=s3cret$$
read -r -a P < <($RH clusterports 3)
for i in 0 1 2; do
	mkdir -p "$T/n$i"
	redis-server --port "${P[i]}" --bind 127.0.0.1 --save "" --appendonly no \
		--cluster-enabled yes --cluster-config-file "$T/n$i/nodes.conf" \
		--cluster-node-timeout 1000 --dir "$T/n$i" --logfile "$T/n$i/log" \
		--requirepass "$PW" --masterauth "$PW" &
	PIDS+=($!)
done
rc() { REDISCLI_AUTH=$PW redis-cli -p "$@"; }
for i in 0 1 2; do
	for k in $(seq 100); do
		[ "$(rc "${P[i]}" PING 2>/dev/null)" = PONG ] && break
		sleep 0.05
	done
	# a user of its own (ACL is per node)
	rc "${P[i]}" ACL SETUSER lbuser on ">u$PW" '~*' '&*' +@all >/dev/null
done
if ! REDISCLI_AUTH=$PW redis-cli --cluster create \
	$(for i in 0 1 2; do echo "127.0.0.1:${P[i]}"; done) \
	--cluster-yes >"$T/create.log" 2>&1; then
	echo "FAIL cluster auth: redis-cli --cluster create failed"
	cat "$T/create.log"
	exit 1
fi
for k in $(seq 200); do
	ok=0
	for i in 0 1 2; do
		rc "${P[i]}" cluster info 2>/dev/null | grep -q 'cluster_state:ok' && ok=$((ok + 1))
	done
	[ "$ok" = 3 ] && break
	sleep 0.05
done

start_origin
# a database in a seed: one line, and nothing starts
out=$("$BIN" --listen "127.0.0.1:$($HELPER freeport)" --origin "http://127.0.0.1:$OPORT" \
	--redis-cluster "redis://:$PW@127.0.0.1:${P[0]}/2" 2>&1)
st=$?
check "cluster auth a seed naming database 2 is refused in one line" \
	$([ "$st" -ne 0 ] && [ "$(echo "$out" | wc -l)" = 1 ] &&
		[[ $out == *"database 2"*"database 0 only"* ]]; echo $?) "status $st: $out"

# host 1 with the password, host 2 as the ACL user; each seed list names
# one node only: the others come from the slot map, authenticated too
declare -a HH
for n in 1 2; do
	seed="redis://:$PW@127.0.0.1:${P[0]}"
	[ "$n" = 2 ] && seed="redis://lbuser:u$PW@127.0.0.1:${P[1]}"
	WORKERS=2 start_backend --workers 2 --origin "http://127.0.0.1:$OPORT" \
		--redis-cluster "$seed" --redis-timeout 1 --redis-retry 0.3
	HH[n]=$URL
done
w1="" w2=""
for k in $(seq 30); do
	w1+="$(xc "${HH[1]}/ca/$k" | cut -d' ' -f1) "
	w2+="$(xc "${HH[2]}/ca/$k" | cut -d' ' -f1) "
done
m1=$(echo "$w1" | tr ' ' '\n' | grep -c '^MISS$')
h2=$(echo "$w2" | tr ' ' '\n' | grep -c '^HIT-REDIS$')
check "cluster auth 30 objects: MISS with the password, Redis hit as the ACL user" \
	$([ "$m1" = 30 ] && [ "$h2" = 30 ]; echo $?) "misses $m1, Redis hits $h2"
n=""
for i in 0 1 2; do n+="$(rc "${P[i]}" DBSIZE) "; done
set -- $n
check "cluster auth keys on all three masters" \
	$([ "$1" -ge 1 ] && [ "$2" -ge 1 ] && [ "$3" -ge 1 ]; echo $?) "keys per master: $n"
s=$(curl -s --max-time 10 "${HH[1]}/stats")
check "cluster auth /stats names the seeds without the password" \
	$([[ $s == *"\"server\":\"127.0.0.1:${P[0]}\""* ]] && [[ $s != *"$PW"* ]]; echo $?) \
	"$(echo "$s" | grep -o '"server":"[^"]*"')"
finish
