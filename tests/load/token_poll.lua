-- wrk scenario: waiting users polling their place in line.
--
--   CONCERT_TOKEN=<32 hex> wrk -t4 -c64 -d30s -s tests/load/token_poll.lua \
--       http://127.0.0.1:8080
--
-- GET /api/v1/token with the token as "Authorization: Bearer".  A poll is
-- O(1) (two primary-key reads), so its latency must not depend on how long
-- the line is: run it against a queue of 10 and of 100,000 to compare.
-- Without CONCERT_TOKEN each thread first joins the queue itself (POST
-- /api/v1/token for a random userId) and then polls that token.

local threads = {}

function setup(thread)
	thread:set("id", #threads + 1)
	table.insert(threads, thread)
end

function init(args)
	math.randomseed(os.time() * 1000 + id * 7919)
	token = os.getenv("CONCERT_TOKEN")
	if token == "" then
		token = nil
	end
	ok, other = 0, 0
end

dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "lib/common.lua")  -- uuid4()

function request()
	if token == nil then
		-- Setup phase: get a token of our own (the answer arrives in
		-- response(); a few extra joins on other connections are harmless).
		return wrk.format("POST", "/api/v1/token",
			{ ["Content-Type"] = "application/json" },
			'{"userId":"' .. uuid4() .. '"}')
	end
	return wrk.format("GET", "/api/v1/token",
		{ ["Authorization"] = "Bearer " .. token })
end

function response(status, headers, body)
	if token == nil then
		local t = body:match('"token"%s*:%s*"(%x+)"')
		if t ~= nil then
			token = t
		end
		return
	end
	if status == 201 then
		return          -- a setup join answered after the token was known
	end
	if status == 200 then
		ok = ok + 1
	else
		other = other + 1
	end
end

function done(summary, latency, requests)
	local o, x = 0, 0
	for _, t in ipairs(threads) do
		o = o + t:get("ok")
		x = x + t:get("other")
	end
	io.write(string.format("polls answered 200: %d, other: %d\n", o, x))
	io.write(string.format("latency p50 %.2f ms, p99 %.2f ms\n",
		latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
