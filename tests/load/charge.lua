-- wrk scenario: balance top-ups (POST /api/v1/balance) for random users.
--
--   wrk -t2 -c32 -d10s -s tests/load/charge.lua http://127.0.0.1:8080
--
-- BENCH_USERS (default 1000) users per thread, random amounts 1..10000: the
-- charge is an atomic increment plus a ledger row; with few users
-- (BENCH_USERS=1) it measures row contention on one balance.

function setup(thread)
	_G.nthreads = (_G.nthreads or 0) + 1
	thread:set("id", _G.nthreads)
end

local function uuid4()
	local hex, t = "0123456789abcdef", {}
	for i = 1, 32 do
		local k = math.random(1, 16)
		t[i] = hex:sub(k, k)
	end
	local s = table.concat(t)
	return s:sub(1, 8) .. "-" .. s:sub(9, 12) .. "-4" .. s:sub(14, 16) ..
		"-a" .. s:sub(18, 20) .. "-" .. s:sub(21, 32)
end

function init(args)
	math.randomseed(os.time() * 1000 + (id or 1) * 7919)
	users = {}
	for i = 1, tonumber(os.getenv("BENCH_USERS") or "") or 1000 do users[i] = uuid4() end
	hdr = { ["Content-Type"] = "application/json" }
end

function request()
	return wrk.format("POST", "/api/v1/balance", hdr,
		string.format('{"userId":"%s","amount":%d}', users[math.random(#users)],
			math.random(1, 10000)))
end
