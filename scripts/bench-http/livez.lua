-- livez.lua: GET /livez, the HTTP ceiling of the server on this machine (no database).
--   wrk ... -s livez.lua http://127.0.0.1:PORT
dofile(debug.getinfo(1, "S").source:match("^@(.*/)") .. "common.lua")

wrk.method = "GET"
wrk.path = "/livez"
