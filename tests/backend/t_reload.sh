#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# SIGHUP: a zero-downtime reload that really runs the binary now on disk
# with the configuration now in the file; no request fails meanwhile.  A
# broken configuration aborts the reload and leaves the workers serving.
source "$(dirname "$0")/lib.sh"
need
start_origin
mkdir -p "$T/bin"
cp "$BIN" "$T/bin/lb-backend"
BIN=$T/bin/lb-backend
printf 'workers 2\norigin http://127.0.0.1:%s\n' "$OPORT" >"$T/conf"
WORKERS=2 start_backend --config "$T/conf"
old=$(worker_pids | sort | tr '\n' ' ')

$HELPER load "$URL/hot{i}" 4 4 "$T/load" &
ljob=$!
sleep 1
# a new binary (new inode) and a new configuration
cp "$O/lb-backend" "$T/bin/lb-backend.new"
mv -f "$T/bin/lb-backend.new" "$T/bin/lb-backend"
printf 'workers 3\norigin http://127.0.0.1:%s\n' "$OPORT" >"$T/conf"
exe_before=$(readlink "/proc/$BPID/exe")
kill -HUP "$BPID"
WORKERS=3 wait_workers 3
check "reload new workers of the new configuration" $? "no 3 ready workers"
# the old generation drains and leaves
for i in $(seq 100); do
	[ "$($HELPER stats "$URL" | awk '{print $4}' | tr , '\n' | wc -l)" -eq 3 ] && break
	sleep 0.05
done
wait "$ljob"
read -r _ okn _ failn _ < "$T/load"
check "reload under load: no failed request" \
	$([ "$failn" -eq 0 ] && [ "$okn" -gt 0 ]; echo $?) "$(cat "$T/load")"
new=$(worker_pids | sort | tr '\n' ' ')
gen=$($HELPER stats "$URL" | awk '{print $1}')
all=$($HELPER stats "$URL" | awk '{print $4}' | tr , ' ')
common=$(comm -12 <(echo "$old" | tr ' ' '\n' | sort) <(echo "$all" | tr ' ' '\n' | sort) | grep -c .)
check "reload old workers gone, all new" \
	$([ "$gen" = 1 ] && [ "$common" -eq 0 ]; echo $?) "generation $gen, old: $old, now: $all"
exe_after=$(readlink "/proc/$BPID/exe")
ok=1
case "$exe_before|$exe_after" in *deleted*\|*deleted*) ;; *deleted*\|*) ok=0 ;; esac
check "reload master runs the new binary" $ok "before: $exe_before, after: $exe_after"
kill -0 "$BPID"
check "reload master keeps its pid" $? "master gone"

# a broken configuration: the reload is refused, service goes on
printf 'workers lots\n' >"$T/conf"
kill -HUP "$BPID"
for i in $(seq 100); do
	grep -q "reload aborted" "$T/backend.log" && break
	sleep 0.05
done
grep -q "reload aborted" "$T/backend.log"
check "reload with a bad configuration is refused" $? "no 'reload aborted' in the log"
same=$(worker_pids | sort | tr '\n' ' ')
st=$(curl -s -o /dev/null -w '%{http_code}' "$URL/hot1")
check "reload refused: same workers still serving" \
	$([ "$same" = "$new" ] && [ "$st" = 200 ]; echo $?) "workers $same (were $new), status $st"
finish
