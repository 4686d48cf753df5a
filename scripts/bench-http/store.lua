-- store.lua: POST /db/messages/store into a random one of the pre-created sessions.
--   wrk ... -s store.lua http://127.0.0.1:PORT -- SESSIONS PREFIX CONTENT [no-count]
-- Session n (1…SESSIONS) has the id PREFIX .. 12 hex digits of n, e.g.
-- 00000000-0000-7000-8000-0000000003e8 (scripts/bench creates them with the same formula,
-- and its pgbench script picks among the same ids). CONTENT is JSON-escaped text, or @FILE to
-- read it from FILE (256 KiB is more than one command-line argument may hold). With no-count
-- the body has no token_count, so the server falls back to TOKEN_ENCODING's.
dofile(debug.getinfo(1, "S").source:match("^@(.*/)") .. "common.lua")

local sessions, prefix, content, count
local headers = { ["Content-Type"] = "application/json", ["X-User-ID"] = "bench" }

function init(args)
    sessions = tonumber(args[1]) or 1000
    prefix = args[2] or "00000000-0000-7000-8000-"
    content = args[3] or string.rep("x", 200)
    if content:sub(1, 1) == "@" then
        local file = assert(io.open(content:sub(2), "rb"))
        content = file:read("*a")
        file:close()
    end
    count = args[4] == "no-count" and "" or ',"token_count":50'
    seed()
end

function request()
    local id = string.format("%s%012x", prefix, math.random(1, sessions))
    local body = '{"session_id":"' .. id .. '","role":"user","content":"' .. content .. '"' .. count .. '}'
    return wrk.format("POST", "/db/messages/store", headers, body)
end
