-- wrk scenario: payments (POST /api/v1/payments).
--
--   wrk -t2 -c32 -d10s -s tests/load/pay.lua http://127.0.0.1:8080
--
-- With BENCH_PAYMENTS=<file> (lines "TOKEN RESERVATION_ID AMOUNT": ACTIVE
-- token, its user's live hold, the seat price; the user funded) it only
-- sends those payments, each once, then GET /api/v1/ping when they run out.
-- Without it, each thread runs the whole purchase itself: for a fresh user
-- POST /balance (BENCH_FUND, default 1000000) pipelined with POST /token,
-- poll until ACTIVE, hold the next free seat (as hold_free.lua: BENCH_DATES,
-- BENCH_SEATS, BENCH_THREADS), then pay it; so the measured rate is of
-- complete purchases mixed with their setup requests.  Seats are sold for
-- good: the demo data's 350 seats are gone after the first run, so prepare
-- a large date (see hold_free.lua).

-- The token pool (setup, pool_init, pool_request, pool_response, next_token,
-- retire) lives in lib/pool.lua beside this file.
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "lib/pool.lua")

function init(args)
	pool_init()
	fund = tonumber(os.getenv("BENCH_FUND") or "") or 1000000
	payq = {}        -- {token, rid, amount} ready to pay
	byseat = {}      -- "date#seat" -> token of the hold in flight
	k = 0
	local f = os.getenv("BENCH_PAYMENTS")
	prepared = false
	if f and f ~= "" then
		for line in io.lines(f) do
			local t, r, a = line:match("^%s*(%x+)%s+([%x%-]+)%s+(%d+)")
			if t then payq[#payq + 1] = { t, r, tonumber(a) } end
		end
		fixed, prepared = true, true
	end
end

local function next_seat()
	local idx = (id or 1) + k * nthreads_env
	k = k + 1
	if idx > #dates * nseats then return nil end
	return dates[math.floor((idx - 1) / nseats) + 1], (idx - 1) % nseats + 1
end

local function fund_first(u)
	return wrk.format("POST", "/api/v1/balance", JSON,
		string.format('{"userId":"%s","amount":%d}', u, fund))
end

function request()
	if #payq > 0 then
		local p = table.remove(payq, 1)
		return wrk.format("POST", "/api/v1/payments", JSON,
			string.format('{"reservationId":"%s","amount":%d,"token":"%s"}', p[2], p[3], p[1]))
	end
	if prepared then return wrk.format("GET", "/api/v1/ping") end
	local r = pool_request(false, fund_first)
	if r then return r end
	local t, i = next_token()
	if not t then return pool_request(true, fund_first) or wrk.format("GET", "/api/v1/ping") end
	local d, s = next_seat()
	if not d then return wrk.format("GET", "/api/v1/ping") end
	retire(i)                  -- one hold per token: paying ends the admission
	byseat[d .. "#" .. s] = t
	return wrk.format("POST", "/api/v1/reservations", JSON,
		string.format('{"date":"%s","seatNumber":%d,"token":"%s"}', d, s, t))
end

function response(status, headers, body)
	if pool_response(status, body) then return end
	if status == 201 then
		local rid = body:match('"reservationId":"([%x%-]+)"')
		local d = body:match('"date":"([%d%-]+)"')
		local s = body:match('"seatNumber":(%d+)')
		local price = body:match('"price":(%d+)')
		if rid and d and price and not body:match('"paymentId"') then
			local key = d .. "#" .. s
			local t = byseat[key]
			byseat[key] = nil
			if t then payq[#payq + 1] = { t, rid, tonumber(price) } end
		end
	end
end
