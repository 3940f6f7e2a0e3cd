#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# lb-backend speaking HTTP: status codes for bad input, limits, keep-alive
# and pipelining, HEAD, chunked origin answers, origin failures, no way out
# of --root, and a slow-loris client dropped after the read timeout.
source "$(dirname "$0")/lib.sh"
need
start_origin

code() { curl -s -o /dev/null -w '%{http_code}' --max-time 10 "$@"; }
expect() { # name want got
	check "http $1" $([ "$2" = "$3" ]; echo $?) "want $2, got $3"
}

# --- a --root server
mkdir -p "$T/root/sub" "$T/outside"
echo "index page" >"$T/root/index.html"
echo "in sub" >"$T/root/sub/a.txt"
echo "secret" >"$T/outside/secret.txt"
ln -s "$T/outside/secret.txt" "$T/root/escape.txt"
ln -s "$T/outside" "$T/root/escdir"
WORKERS=2 start_backend --workers 2 --root "$T/root" --read-timeout 1 --origin-timeout 1 --max-body 1000
RPORT=$PORT RURL=$URL

expect "root index" 200 "$(code "$RURL/")"
expect "root file" 200 "$(code "$RURL/sub/a.txt")"
body=$(curl -s "$RURL/sub/a.txt")
expect "root file body" "in sub" "$body"
expect "root missing 404" 404 "$(code "$RURL/nope")"
expect "root traversal dotdot 400" 400 "$(code --path-as-is "$RURL/../outside/secret.txt")"
expect "root traversal encoded 400" 400 "$(code --path-as-is "$RURL/%2e%2e/outside/secret.txt")"
expect "root traversal encoded slash 400" 400 "$(code --path-as-is "$RURL/sub%2f..%2f..%2foutside")"
c=$(code "$RURL/escape.txt")
check "http root symlink out of the root refused" $([ "$c" = 403 ] || [ "$c" = 404 ]; echo $?) "got $c"
c=$(code "$RURL/escdir/secret.txt")
check "http root symlinked dir out of the root refused" $([ "$c" = 403 ] || [ "$c" = 404 ]; echo $?) "got $c"
if curl -s "$RURL/escape.txt" "$RURL/escdir/secret.txt" | grep -q secret; then
	fail "http root secret never served" "secret leaked"
else
	pass "http root secret never served"
fi
xc=$(curl -s -D - -o /dev/null "$RURL/sub/a.txt" | tr -d '\r' | awk -F': ' '$1 == "X-Cache" {print $2}')
expect "root files cached" HIT "$xc"

expect "method POST 405" 405 "$(code -X POST -d x "$RURL/")"
expect "method DELETE 405" 405 "$(code -X DELETE "$RURL/")"
allow=$(curl -s -D - -o /dev/null -X PUT "$RURL/" | tr -d '\r' | awk -F': ' '$1 == "Allow" {print $2}')
expect "method 405 names Allow" "GET, HEAD" "$allow"
expect "uri too long 414" 414 "$(code "$RURL/$(head -c 9000 /dev/zero | tr '\0' a)")"
hdrs=()
for i in $(seq 120); do hdrs+=(-H "X-H$i: v"); done
expect "too many headers 431" 431 "$(code "${hdrs[@]}" "$RURL/")"
expect "header block too large 431" 431 "$(code -H "X-Big: $(head -c 17000 /dev/zero | tr '\0' b)" "$RURL/")"
expect "body too large 413" 413 "$(code -X GET -H 'Content-Length: 5000' "$RURL/")"
r=$($HELPER raw "$RPORT" 'GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n' | head -1 | tr -d '\r')
expect "duplicate host 400" "HTTP/1.1 400 Bad Request" "$r"
r=$($HELPER raw "$RPORT" 'GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n folded\r\n\r\n' | head -1 | tr -d '\r')
expect "obs-fold 400" "HTTP/1.1 400 Bad Request" "$r"
r=$($HELPER raw "$RPORT" 'GET / HTTP/1.1\nHost: a\n\n' | head -1 | tr -d '\r')
expect "bare LF 400" "HTTP/1.1 400 Bad Request" "$r"
r=$($HELPER raw "$RPORT" 'GET / HTTP/2.0\r\nHost: a\r\n\r\n' | head -1 | tr -d '\r')
expect "version 505" "HTTP/1.1 505 HTTP Version Not Supported" "$r"
r=$($HELPER raw "$RPORT" 'GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n' | head -1 | tr -d '\r')
expect "smuggling shape 400" "HTTP/1.1 400 Bad Request" "$r"

# pipelining: three requests in one write, three answers in order
r=$($HELPER raw "$RPORT" 'GET /sub/a.txt HTTP/1.1\r\nHost: a\r\n\r\nHEAD / HTTP/1.1\r\nHost: a\r\n\r\nGET /nope HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n' | grep '^HTTP/1.1' | tr -d '\r' | awk '{print $2}' | tr '\n' ' ')
expect "pipelined answers in order" "200 200 404 " "$r"
# keep-alive: two requests on one connection, one worker pid
n=$(curl -s -o /dev/null -o /dev/null -w '%{num_connects}\n' "$RURL/" "$RURL/sub/a.txt" | awk '{s += $1} END {print s}')
expect "keep-alive reuses the connection" 1 "$n"
# HEAD: headers with the length, no body
r=$($HELPER raw "$RPORT" 'HEAD /index.html HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n')
echo "$r" | grep -q "Content-Length: 11" && ! echo "$r" | grep -q "index page"
check "http HEAD has length and no body" $? "$(echo "$r" | head -3)"

# slow loris: a byte every 0.2 s; the head must be complete within 1 s
read -r t how < <($HELPER loris "$RPORT" 0.2)
check "http slow-loris dropped after the read timeout" \
	$(awk -v t="$t" 'BEGIN {exit !(t >= 0.9 && t < 4)}'; [ "$how" != never ]; echo $?) \
	"after ${t}s: $how"
# the workers still answer
expect "workers answer after slow loris" 200 "$(code "$RURL/")"
stop_backend

# --- an origin server
WORKERS=2 start_backend --workers 2 --origin "http://127.0.0.1:$OPORT" --origin-timeout 1 --read-timeout 2
r=$(curl -s "$URL/chunked/c1")
expect "origin chunked answer de-chunked" "$(printf 'hello /chunked/c1\nhello /chunked/c1\nhello /chunked/c1')" "$r"
cl=$(curl -s -D - -o /dev/null "$URL/chunked/c2" | tr -d '\r' | awk -F': ' 'tolower($1) == "content-length" {print $2}')
expect "origin chunked served with Content-Length" 54 "$cl"
expect "origin timeout 504" 504 "$(code "$URL/hang/1")"
curl -s -o /dev/null "$URL/nostore/n"
r=$(curl -s -D - -o /dev/null "$URL/nostore/n" | tr -d '\r' | awk -F': ' '$1 == "X-Cache" {print $2}')
expect "origin no-store never a HIT" MISS "$r"
expect "origin no-store each request fetched" 2 "$(origin_count /nostore/n)"
expect "healthz 200" 200 "$(code "$URL/healthz")"
stop_backend
kill -KILL "${PIDS[0]}"
wait "${PIDS[0]}" 2>/dev/null
WORKERS=1 start_backend --workers 1 --origin "http://127.0.0.1:$OPORT"
expect "origin down 502" 502 "$(code "$URL/x")"
finish
