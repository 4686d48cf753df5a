-- analytics.lua: POST /db/analytics/batch with a pre-built body of 1000 events (no session_id,
-- so the server looks no session up; every event belongs to the caller "bench").
--   wrk ... -s analytics.lua http://127.0.0.1:PORT -- BODY_FILE
-- scripts/bench writes BODY_FILE and, from the same rows, the file its psql \copy reads.
dofile(debug.getinfo(1, "S").source:match("^@(.*/)") .. "common.lua")

function init(args)
    local file = assert(io.open(assert(args[1], "analytics.lua needs the body file"), "rb"))
    wrk.body = file:read("*a")
    file:close()
end

wrk.method = "POST"
wrk.path = "/db/analytics/batch"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["X-User-ID"] = "bench"
