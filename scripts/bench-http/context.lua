-- context.lua: GET /db/context/{id}?max_tokens=4000&max_messages=200 over sessions of 200 messages.
--   wrk ... -s context.lua http://127.0.0.1:PORT -- SESSIONS PREFIX QUERY
-- Session n (1…SESSIONS) has the id PREFIX .. 12 hex digits of n. Each message has token_count 40,
-- so the 4000-token budget cuts at 100 messages (max_messages=200 so that the budget, not the
-- default max_messages=50, is what cuts).
dofile(debug.getinfo(1, "S").source:match("^@(.*/)") .. "common.lua")

local sessions, prefix, query
local headers = { ["X-User-ID"] = "bench" }

function init(args)
    sessions = tonumber(args[1]) or 50
    prefix = args[2] or "00000000-0000-7000-8001-"
    query = args[3] or "max_tokens=4000&max_messages=200"
    seed()
end

function request()
    local id = string.format("%s%012x", prefix, math.random(1, sessions))
    return wrk.format("GET", "/db/context/" .. id .. "?" .. query, headers)
end
