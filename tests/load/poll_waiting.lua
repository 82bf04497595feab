-- wrk scenario: polls of WAITING tokens (GET /api/v1/token, Bearer).
--
--   BENCH_TOKENS=FILE wrk -t2 -c64 -d10s -s tests/load/poll_waiting.lua http://127.0.0.1:8080
--
-- FILE: one WAITING token (32 hex) per line, prepared beforehand (scripts/bench
-- puts them behind a line of 100,000 WAITING tokens with admission paused,
-- so every poll answers "WAITING, position > 100000").  Only polls are sent:
-- no set-up request is part of the measured run.  Expected: 200 only.
function setup(thread)
	_G.nthreads = (_G.nthreads or 0) + 1
	thread:set("id", _G.nthreads)
end

function init(args)
	local nth = tonumber(os.getenv("BENCH_THREADS") or "") or 2
	toks, i = {}, 0
	local k = 0
	for line in io.lines((assert(os.getenv("BENCH_TOKENS"), "BENCH_TOKENS not set"))) do
		local t = line:match("^%s*(%x+)")
		if t and #t == 32 then
			k = k + 1
			if k % nth == (id or 1) - 1 then toks[#toks + 1] = t end
		end
	end
	assert(#toks > 0, "no tokens for this thread in BENCH_TOKENS")
end

function request()
	i = i % #toks + 1
	return wrk.format("GET", "/api/v1/token", { ["Authorization"] = "Bearer " .. toks[i] })
end

dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "lib/status.lua")
