#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Single flight across hosts through a lock in Redis: concurrent misses of
# one key on three hosts make one origin request; a lock whose holder died
# costs at most --redis-lock-wait, then the origin answers; a lock that runs
# out is taken over; a private answer is never handed to another host.
source "$(dirname "$0")/lib.sh"
need
source "$HERE/redis_lib.sh"

start_origin
start_redis
for n in 1 2 3; do host "$n" --redis-lock-wait 0.6; done

# --- a cold key wanted by 3 x 8 clients at once (one burst: the hosts
# are asked together, not as fast as three processes start), one fetch of
# 400 ms
$HELPER burst "${H[1]}/slow/400/cold,${H[2]}/slow/400/cold,${H[3]}/slow/400/cold" 8 >"$T/burst"
ok=$(awk '$1 == 200 && $4 == "hello" && $5 == "/slow/400/cold"' "$T/burst" | wc -l)
c=$(origin_count /slow/400/cold)
check "flight 24 concurrent requests on 3 hosts all answered" $([ "$ok" -eq 24 ]; echo $?) "$ok good answers"
check "flight one origin fetch for a cold key over 3 hosts" $([ "$c" -eq 1 ]; echo $?) "origin saw $c"
s=0
for n in 1 2 3; do s=$((s + $(rstat "${A[n]}" lock_served))); done
check "flight the other hosts counted answers by another's fetch" $([ "$s" -ge 2 ]; echo $?) "lock_served $s"
e=$(rcmd EXISTS lb:lock:/slow/400/cold)
check "flight the lock is released after the store" $([ "$e" -eq 0 ]; echo $?) "lock exists $e"

# --- a holder that died: its lock outlives the wait
rcmd SET lb:lock:/obj/dead gone-host/1 PX 60000 >/dev/null
t0=$(date +%s%N)
r=$(xc "${H[1]}/obj/dead")
ms=$((($(date +%s%N) - t0) / 1000000))
x=$(rstat "${A[1]}" lock_expired)
check "flight a dead holder's lock: origin after the bounded wait" \
	$([ "$r" = "MISS hello /obj/dead" ] && [ "$ms" -ge 550 ] && [ "$x" -ge 1 ]; echo $?) \
	"got '$r' after $ms ms, lock_expired $x"
l=$(rcmd GET lb:lock:/obj/dead)
check "flight someone else's lock is never released" $([ "$l" = gone-host/1 ]; echo $?) "lock '$l'"

# --- a lock that runs out is taken over: one fetch, then shared
rcmd SET lb:lock:/obj/exp gone-host/2 PX 250 >/dev/null
r1=$(xc "${H[2]}/obj/exp")
r2=$(xc "${H[3]}/obj/exp")
c=$(origin_count /obj/exp)
check "flight an expired lock is taken over and the answer shared" \
	$([ "$r1" = "MISS hello /obj/exp" ] && [ "$r2" = "HIT-REDIS hello /obj/exp" ] && [ "$c" -eq 1 ]; echo $?) \
	"got '$r1' then '$r2', origin saw $c"

# --- private answers under the lock: each host gets its own
for n in 1 2 3; do
	$HELPER get "${H[n]}/private/300/p" >"$T/priv.$n" &
	bg[n]=$!
done
wait "${bg[1]}" "${bg[2]}" "${bg[3]}"
seqs=$(cat "$T"/priv.* | awk '$1 == 200 {print $4}' | sort -u | wc -l)
c=$(origin_count /private/300/p)
check "flight a private answer is fetched by each host, never shared" \
	$([ "$seqs" -eq 3 ] && [ "$c" -eq 3 ]; echo $?) "$seqs distinct answers, origin saw $c"
finish
