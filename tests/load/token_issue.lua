-- wrk scenario: users joining the queue.
--
--   wrk -t4 -c64 -d30s -s tests/load/token_issue.lua http://127.0.0.1:8080
--
-- Every request is POST /api/v1/token for a fresh random userId, so each
-- one inserts a new WAITING token (one INSERT, no shared row locked) and
-- publishes token.issued.  Expect 201 for all of them; anything else is
-- counted and reported at the end.

local threads = {}

function setup(thread)
	thread:set("id", #threads + 1)
	table.insert(threads, thread)
end

function init(args)
	-- Distinct sequences per thread: os.time() alone is the same for all.
	math.randomseed(os.time() * 1000 + id * 7919)
	created, other = 0, 0
end

dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "lib/common.lua")  -- uuid4()

local headers = { ["Content-Type"] = "application/json" }

function request()
	return wrk.format("POST", "/api/v1/token", headers,
		'{"userId":"' .. uuid4() .. '"}')
end

function response(status, hdrs, body)
	if status == 201 then
		created = created + 1
	else
		other = other + 1
	end
end

function done(summary, latency, requests)
	local c, o = 0, 0
	for _, t in ipairs(threads) do
		c = c + t:get("created")
		o = o + t:get("other")
	end
	io.write(string.format("tokens created: %d, other answers: %d\n", c, o))
	io.write(string.format("latency p50 %.2f ms, p99 %.2f ms\n",
		latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end

dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "lib/status.lua")
