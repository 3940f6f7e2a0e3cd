#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# lb-backend's cache policy against an origin that writes its heads byte
# for byte: what must never be shared is never a HIT, whatever the order of
# the fields; every Cache-Control field counts; Set-Cookie and Vary; and the
# body served is the origin's body even when the kept headers grow as they
# are rewritten.
source "$(dirname "$0")/lib.sh"
need
start_origin
WORKERS=2 start_backend --workers 2 --origin "http://127.0.0.1:$OPORT" --ttl 600

# xcache3 PATH: the X-Cache of three requests in a row, then the origin's count
xcache3() {
	local i out=""
	for i in 1 2 3; do
		out+="$(curl -s -D - -o /dev/null --max-time 5 "$URL$1" |
			tr -d '\r' | awk -F': ' '$1 == "X-Cache" {print $2}') "
	done
	echo "$out$(origin_count "$1")"
}
policy() { # name path want
	local got
	got=$(xcache3 "$2")
	check "policy $1" $([ "$got" = "$3" ]; echo $?) "want '$3', got '$got'"
}

policy "no-store before Content-Type and Content-Length never a HIT" \
	/raw/nostore-first/a "MISS MISS MISS 3"
policy "private, max-age=600 first never a HIT" \
	/raw/private-first/a "MISS MISS MISS 3"
policy "private in one field, max-age in another: not stored" \
	/raw/private-then-maxage/a "MISS MISS MISS 3"
policy "max-age then no-store in a later field: not stored" \
	/raw/maxage-then-nostore/a "MISS MISS MISS 3"
policy "no-cache: not stored" /raw/nocache/a "MISS MISS MISS 3"
policy "Set-Cookie: not stored" /raw/cookie/a "MISS MISS MISS 3"
policy "Vary: * not stored" /raw/vary-star/a "MISS MISS MISS 3"
policy "Vary on a request field: not stored" /raw/vary-ua/a "MISS MISS MISS 3"
policy "Vary: Accept-Encoding stored" /raw/vary-ae/a "MISS HIT HIT 1"
policy "Expires in the past: not stored" /raw/expires-past/a "MISS MISS MISS 3"
policy "max-age=600 stored" /raw/maxage/a "MISS HIT HIT 1"
c=$(curl -s -D - -o /dev/null "$URL/raw/cookie/b" | tr -d '\r' | awk -F': ' '$1 == "Set-Cookie" {print $2}')
check "policy Set-Cookie passed on to its own client" $([ "$c" = session=alice ]; echo $?) "got '$c'"

# short "Name:value\n" fields, rewritten as "Name: value\r\n": the body
# must stay the origin's, on the MISS and on the HIT
for i in 1 2; do
	r=$(curl -s -D "$T/short.h" --max-time 5 "$URL/raw/short/s")
	check "policy body intact after kept headers grow ($i)" \
		$([ "$r" = "raw /raw/short/s" ]; echo $?) "body '$(echo "$r" | head -c 80)'"
done
n=$(grep -c '^ETag: x' "$T/short.h")
check "policy short fields passed on well-formed" $([ "$n" -eq 30 ]; echo $?) "$n ETag lines"
stop_backend

# requests that meet in one worker's batch (kept-alive connections, all
# readable in one epoll round): a shared answer serves them all from one
# fetch (HIT), a private one goes to the request it answers only
WORKERS=1 start_backend --workers 1 --origin "http://127.0.0.1:$OPORT" --ttl 600
$HELPER wburst "$URL/private/300/p" 20 >"$T/private"
n=$(awk '$1 == 200 {print $4}' "$T/private" | sort -u | wc -l)
m=$(awk '$2 == "MISS"' "$T/private" | wc -l)
check "policy 20 concurrent private requests get 20 answers of their own" \
	$([ "$n" -eq 20 ] && [ "$m" -eq 20 ]; echo $?) \
	"$n distinct bodies, $m MISS, origin saw $(origin_count /private/300/p)"
$HELPER wburst "$URL/slow/300/shared" 20 >"$T/shared"
h=$(awk '$1 == 200 && $2 == "HIT"' "$T/shared" | wc -l)
n=$(origin_count /slow/300/shared)
check "policy 20 concurrent shared requests: one fetch, 19 hits" \
	$([ "$h" -eq 19 ] && [ "$n" -eq 1 ]; echo $?) "$h hits, origin saw $n"
stop_backend

# the operator may store answers that set cookies: without the cookie
WORKERS=1 start_backend --workers 1 --origin "http://127.0.0.1:$OPORT" --cache-set-cookie yes
policy "--cache-set-cookie yes stores them" /raw/cookie/c "MISS HIT HIT 1"
c=$(curl -s -D - -o /dev/null "$URL/raw/cookie/c" | grep -ci '^set-cookie')
check "policy a stored answer never carries a cookie" $([ "$c" -eq 0 ]; echo $?) "$c Set-Cookie lines"
finish
