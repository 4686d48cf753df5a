-- create.lua: POST /db/sessions/create (a title and a small metadata object).
--   wrk ... -s create.lua http://127.0.0.1:PORT [-- USERS]
-- Without USERS (or USERS = 1) every session belongs to user "bench"; with USERS = N each request
-- names a random one of the users bench-0001 … bench-N (X-User-ID), created by the first request.
dofile(debug.getinfo(1, "S").source:match("^@(.*/)") .. "common.lua")

local users = 1
local body = '{"title":"wrk benchmark session","metadata":{"source":"wrk","kind":"bench"}}'

function init(args)
    users = tonumber(args[1]) or 1
    seed()
    if users <= 1 then
        wrk.method = "POST"
        wrk.path = "/db/sessions/create"
        wrk.headers["Content-Type"] = "application/json"
        wrk.headers["X-User-ID"] = "bench"
        wrk.body = body
        request = nil -- one pre-built request, as wrk sends it without a request() function
    end
end

function request()
    local headers = { ["Content-Type"] = "application/json", ["X-User-ID"] = string.format("bench-%04d", math.random(1, users)) }
    return wrk.format("POST", "/db/sessions/create", headers, body)
end
