-- common.lua: shared by every wrk workload of scripts/bench (loaded with dofile by each script).
--
-- Counts non-2xx answers per thread in response(), keeps the first one's status and body for the
-- log, and prints one machine-readable line in done():
--   RESULT requests=N seconds=S rps=R p50_ms=… p90_ms=… p99_ms=… max_ms=… non2xx=N
--          socket_errors=N first_bad_status=… first_bad_body=…
-- Latency is wrk's per-request figure (send to last byte of the answer), in milliseconds.

local threads = {}

function setup(thread)
    table.insert(threads, thread)
    thread:set("thread_number", #threads)
end

non2xx = 0
first_bad_status = 0
first_bad_body = ""

function response(status, headers, body)
    if status < 200 or status > 299 then
        non2xx = non2xx + 1
        if first_bad_status == 0 then
            first_bad_status = status
            first_bad_body = (body or ""):sub(1, 300)
        end
    end
end

-- A random seed that differs per thread and per run.
function seed()
    local n = tonumber(thread_number) or 1
    math.randomseed(os.time() * 1000 + n * 7919)
    for _ = 1, 10 do math.random() end
end

function done(summary, latency, requests)
    local bad, status, body = 0, 0, ""
    for _, thread in ipairs(threads) do
        bad = bad + (tonumber(thread:get("non2xx")) or 0)
        local s = tonumber(thread:get("first_bad_status")) or 0
        if status == 0 and s ~= 0 then
            status = s
            body = thread:get("first_bad_body") or ""
        end
    end
    local e = summary.errors
    local seconds = summary.duration / 1e6
    io.write(string.format(
        "RESULT requests=%d seconds=%.3f rps=%.1f p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f max_ms=%.3f non2xx=%d socket_errors=%d first_bad_status=%d first_bad_body=%s\n",
        summary.requests, seconds, summary.requests / seconds,
        latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000, latency.max / 1000,
        bad, e.connect + e.read + e.write + e.timeout, status, (body:gsub("%s+", " "))))
end

