-- wrk scenario: seat holds on free seats (POST /api/v1/reservations).
--
--   BENCH_TOKENS=FILE BENCH_DATES=2099-01-01 BENCH_SEATS=100000 \
--     wrk -t2 -c64 -d10s -s tests/load/hold.lua http://127.0.0.1:8080
--
-- FILE: one ACTIVE token (32 hex, first column) per line, prepared beforehand
-- (scripts/bench inserts admitted tokens directly), so only holds are sent.
-- Thread k of BENCH_THREADS walks seats k, k+T, k+2T, ... of the date (never
-- a seat another request asked for) and uses each of its tokens for
-- BENCH_MAX_HOLDS (default 4, max_holds_per_user) holds, round-robin over its
-- tokens: the requests in flight at once are different users' (one user's
-- four holds at once would queue on that user's row lock, which no real
-- client does and db_bench does not either).  Expected: 201 only; a 409
-- means the prepared seats or tokens ran out.
function setup(thread)
	_G.nthreads = (_G.nthreads or 0) + 1
	thread:set("id", _G.nthreads)
end

function init(args)
	nth = tonumber(os.getenv("BENCH_THREADS") or "") or 2
	date = assert(os.getenv("BENCH_DATES"), "BENCH_DATES not set"):match("[^,%s]+")
	nseats = tonumber(os.getenv("BENCH_SEATS") or "") or 100000
	maxholds = tonumber(os.getenv("BENCH_MAX_HOLDS") or "") or 4
	toks, k = {}, 0
	local n = 0
	for line in io.lines((assert(os.getenv("BENCH_TOKENS"), "BENCH_TOKENS not set"))) do
		local t = line:match("^%s*(%x+)")
		if t and #t == 32 then
			n = n + 1
			if n % nth == (id or 1) - 1 then toks[#toks + 1] = t end
		end
	end
end

function request()
	local seat = (id or 1) + k * nth
	local t = toks[(k % math.max(#toks, 1)) + 1]
	k = k + 1
	if seat > nseats or #toks == 0 or k > #toks * maxholds then
		return wrk.format("GET", "/api/v1/ping")   -- counted as 200: fails the bench
	end
	return wrk.format("POST", "/api/v1/reservations", { ["Content-Type"] = "application/json" },
		string.format('{"date":"%s","seatNumber":%d,"token":"%s"}', date, seat, t))
end

dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "lib/status.lua")
