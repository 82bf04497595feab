-- wrk scenario: many users racing for a few seats (POST /api/v1/reservations).
--
--   wrk -t2 -c32 -d10s -s tests/load/hold_hot.lua http://127.0.0.1:8080
--
-- Every request asks for one of BENCH_HOT_SEATS (default 5) seats of the
-- first of BENCH_DATES (default: tomorrow, a demo date).  The first asker of
-- each seat wins (201); all the rest must be 409 SEAT_UNAVAILABLE, so wrk's
-- "Non-2xx" count is expected to be nearly all requests: this measures the
-- losing path (one conditional UPDATE matching nothing + one seat lookup)
-- under contention on the same rows.  Any 5xx would be a bug (check the
-- server's log; wrk only counts non-2xx).

-- The token pool (setup, pool_init, pool_request, pool_response, next_token,
-- retire) lives in lib/pool.lua beside this file.
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "lib/pool.lua")

function init(args)
	pool_init()
	hot = tonumber(os.getenv("BENCH_HOT_SEATS") or "") or 5
end

function request()
	local r = pool_request(false)
	if r then return r end
	local t = next_token()
	if not t then return pool_request(true) or wrk.format("GET", "/api/v1/ping") end
	return wrk.format("POST", "/api/v1/reservations", JSON,
		string.format('{"date":"%s","seatNumber":%d,"token":"%s"}', dates[1],
			math.random(1, hot), t))
end

function response(status, headers, body)
	pool_response(status, body)
end

dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "lib/status.lua")
