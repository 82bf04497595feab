-- wrk scenario: seat maps (GET /api/v1/reservations/seats?date=D).
--
--   wrk -t2 -c32 -d10s -s tests/load/seats.lua http://127.0.0.1:8080
--
-- Dates: BENCH_DATES (comma-separated YYYY-MM-DD) or, by default, the demo
-- data's dates (tomorrow .. +7 days, UTC), taken in turn.  A seat map is one
-- indexed range read of 50 rows; lazily expired holds are computed, not
-- written.

function init(args)
	dates = {}
	local env = os.getenv("BENCH_DATES")
	if env and env ~= "" then
		for d in env:gmatch("[^,%s]+") do dates[#dates + 1] = d end
	else
		for k = 1, 7 do dates[k] = os.date("!%Y-%m-%d", os.time() + k * 86400) end
	end
	n = 0
end

function request()
	n = n + 1
	return wrk.format("GET", "/api/v1/reservations/seats?date=" .. dates[(n % #dates) + 1])
end

dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "lib/status.lua")
