-- wrk scenario: seat holds on free seats (POST /api/v1/reservations).
--
--   wrk -t2 -c32 -d10s -s tests/load/hold_free.lua http://127.0.0.1:8080
--
-- Every hold goes to a seat nobody asked for before: thread k of
-- BENCH_THREADS (default 2) walks seats k, k+T, k+2T, ... over BENCH_DATES
-- (default: the demo dates, tomorrow .. +7) x 1..BENCH_SEATS (default 50).
-- A token is retired after max_holds_per_user (BENCH_MAX_HOLDS, default 4)
-- holds.  The demo data has only 7 x 50 seats: once they are held, the
-- rest are 409s.  For a real measurement prepare a large date, e.g.
--   INSERT INTO concert_dates VALUES ('2099-01-01', 'bench');
--   INSERT INTO seats (concert_date, seat_number, price) SELECT '2099-01-01',
--     seq, 50000 FROM seq_1_to_200000;                        (MariaDB)
-- and run with BENCH_DATES=2099-01-01 BENCH_SEATS=200000.

-- The token pool (setup, pool_init, pool_request, pool_response, next_token,
-- retire) lives in lib/pool.lua beside this file.
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "lib/pool.lua")

function init(args)
	pool_init()
	maxholds = tonumber(os.getenv("BENCH_MAX_HOLDS") or "") or 4
	used = {}
	k = 0
	exhausted = false
end

local function next_seat()
	local idx = (id or 1) + k * nthreads_env
	k = k + 1
	local total = #dates * nseats
	if idx > total then return nil end
	local d = dates[math.floor((idx - 1) / nseats) + 1]
	return d, (idx - 1) % nseats + 1
end

function request()
	local r = pool_request(false)
	if r then return r end
	local t, i = next_token()
	if not t then return pool_request(true) or wrk.format("GET", "/api/v1/ping") end
	local d, s = next_seat()
	if not d then
		if not exhausted then
			io.stderr:write("thread " .. tostring(id) .. ": no free seats left (set BENCH_DATES/BENCH_SEATS)\n")
			exhausted = true
		end
		k = 0
		d, s = next_seat()
	end
	used[t] = (used[t] or 0) + 1
	if used[t] >= maxholds then retire(i) end
	return wrk.format("POST", "/api/v1/reservations", JSON,
		string.format('{"date":"%s","seatNumber":%d,"token":"%s"}', d, s, t))
end

function response(status, headers, body)
	pool_response(status, body)
end
