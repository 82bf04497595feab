-- wrk scenario: GET one path (BENCH_PATH, default /api/v1/ping), counting
-- statuses: the static, fcgi_bare and ping baselines of scripts/bench.
local path = os.getenv("BENCH_PATH") or "/api/v1/ping"

function request()
	return wrk.format("GET", path)
end

dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "lib/status.lua")
