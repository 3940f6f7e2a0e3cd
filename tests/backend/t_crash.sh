#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# lb-backend's crash brake: a worker that keeps dying young is restarted
# later and later, but the server is never left without a worker for more
# than about a second, and says so loudly.
source "$(dirname "$0")/lib.sh"
need
mkdir -p "$T/root"
echo ok >"$T/root/index.html"
WORKERS=1 start_backend --workers 1 --root "$T/root"

# For 7 s, kill every worker the moment it appears; print the longest time
# (ms) from a kill to the next worker.
python3 - "$BPID" >"$T/gaps" <<'PY'
import os, signal, sys, time
master = int(sys.argv[1])
def workers():
    try:
        with open("/proc/%d/task/%d/children" % (master, master)) as f:
            return [int(p) for p in f.read().split()]
    except OSError:
        return []
t_end = time.time() + 7
kills, longest, killed_at = 0, 0.0, None
while time.time() < t_end:
    w = workers()
    if w:
        if killed_at is not None:
            longest = max(longest, time.time() - killed_at)
        for p in w:
            try:
                os.kill(p, signal.SIGKILL)
            except OSError:
                pass
        kills += 1
        killed_at = time.time()
        while set(workers()) & set(w):
            time.sleep(0.005)
    time.sleep(0.01)
if killed_at is not None and not workers():
    # still none: how long until the next one
    while not workers() and time.time() - killed_at < 40:
        time.sleep(0.01)
    longest = max(longest, time.time() - killed_at)
print(kills, int(longest * 1000))
PY
read -r kills longest <"$T/gaps"
echo "crash loop: $kills workers killed in 7 s, longest time without a worker $longest ms"
check "crash brake never leaves the server without a worker for long" \
	$([ "$kills" -ge 5 ] && [ "$longest" -lt 1800 ]; echo $?) \
	"$kills kills, longest gap $longest ms"
grep -q "NO WORKER IS RUNNING" "$T/backend.log"
check "crash brake says loudly that no worker runs" $? "no such log line"
c=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$URL/")
check "crash brake a worker answers once the crashes stop" $([ "$c" = 200 ]; echo $?) "got $c"
finish
