-- SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
-- wrk script of the benchmarks (tools/bench/lib.sh, bench_wrk).
--
-- At the end prints one line that the scripts read:
--   RESULT rps=R p50=US p99=US requests=N errors=N non2xx=N
-- with latencies in microseconds and errors = connect + read + write +
-- timeout errors.
--
-- BENCH_WRK_REQ picks the requests:
--   unset    wrk's own request, built once (the fastest client path)
--   fixed    the same request (wrk's path) every time
--   unique   a new path every time, /miss/TAG/THREAD-N (TAG from
--            BENCH_WRK_TAG), so that no cache can ever answer it
-- "fixed" and "unique" cost the client the same: both make the unique
-- path and format a request from scratch for every request, "fixed" only
-- formats wrk's path instead.  So a cache hit and a cache miss, or a miss
-- and the origin alone, are compared on equal terms.
local mode = os.getenv("BENCH_WRK_REQ")
local tag = os.getenv("BENCH_WRK_TAG") or "0"
local nthreads = 0

function setup(thread)
	nthreads = nthreads + 1
	thread:set("tid", nthreads)
end

if mode == "unique" or mode == "fixed" then
	local n = 0
	function request()
		n = n + 1
		local path = "/miss/" .. tag .. "/" .. tostring(tid) .. "-" .. n
		if mode == "fixed" then
			path = wrk.path
		end
		return wrk.format(nil, path)
	end
end

function done(summary, latency, requests)
	local e = summary.errors
	io.write(string.format("RESULT rps=%.1f p50=%.1f p99=%.1f requests=%d errors=%d non2xx=%d\n",
		summary.requests / (summary.duration / 1e6),
		latency:percentile(50), latency:percentile(99), summary.requests,
		e.connect + e.read + e.write + e.timeout, e.status))
end
