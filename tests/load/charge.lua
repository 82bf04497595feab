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

dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "lib/common.lua")  -- uuid4()

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

dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "lib/status.lua")
