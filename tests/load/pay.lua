-- wrk scenario: payments (POST /api/v1/payments).
--
--   BENCH_PAYMENTS=FILE wrk -t2 -c64 -d10s -s tests/load/pay.lua http://127.0.0.1:8080
--
-- FILE: lines "TOKEN RESERVATION_ID AMOUNT": an ACTIVE token, its user's live
-- hold, the seat's price, the user funded -- prepared beforehand (scripts/bench
-- writes them into the database), so only payments are sent, each once.
-- Expected: 201 only; a 200 from /ping means the prepared holds ran out.
function setup(thread)
	_G.nthreads = (_G.nthreads or 0) + 1
	thread:set("id", _G.nthreads)
end

function init(args)
	local nth = tonumber(os.getenv("BENCH_THREADS") or "") or 2
	payq, qi = {}, 0
	local n = 0
	for line in io.lines((assert(os.getenv("BENCH_PAYMENTS"), "BENCH_PAYMENTS not set"))) do
		local t, r, a = line:match("^%s*(%x+)%s+([%x%-]+)%s+(%d+)")
		if t then
			n = n + 1
			if n % nth == (id or 1) - 1 then payq[#payq + 1] = { t, r, a } end
		end
	end
end

function request()
	qi = qi + 1
	local p = payq[qi]
	if not p then return wrk.format("GET", "/api/v1/ping") end
	return wrk.format("POST", "/api/v1/payments", { ["Content-Type"] = "application/json" },
		string.format('{"reservationId":"%s","amount":%s,"token":"%s"}', p[2], p[3], p[1]))
end

dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "lib/status.lua")
