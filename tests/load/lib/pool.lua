-- Token pool shared by hold_free.lua, hold_hot.lua and pay.lua (loaded with dofile).
-- Each thread keeps BENCH_POOL (default 32) ACTIVE tokens: it joins the
-- queue with fresh random users (POST /api/v1/token) and polls them (GET)
-- until the consumer admits them (the stack needs a large
-- max_active_tokens).  These setup requests are part of the measured run;
-- to measure the scenario alone, prepare tokens beforehand and pass
-- BENCH_TOKENS=<file> with one ACTIVE token (32 hex) per line.
-- Responses are matched by content (wrk's response() does not say which
-- request it answers): token answers carry "token" and "status".

function setup(thread)
	_G.nthreads = (_G.nthreads or 0) + 1
	thread:set("id", _G.nthreads)
end

JSON = { ["Content-Type"] = "application/json" }

dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "common.lua")  -- uuid4()

function pool_init()
	math.randomseed(os.time() * 1000 + (id or 1) * 7919)
	ready, waiting, pending, inflight, rr = {}, {}, {}, 0, 0
	pool = tonumber(os.getenv("BENCH_POOL") or "") or 32
	fixed = false
	local f = os.getenv("BENCH_TOKENS")
	if f and f ~= "" then
		for line in io.lines(f) do
			local t = line:match("^%s*(%x+)")
			if t and #t == 32 then ready[#ready + 1] = t end
		end
		fixed = true
	end
	nthreads_env = tonumber(os.getenv("BENCH_THREADS") or "") or 2
	dates = {}
	local env = os.getenv("BENCH_DATES")
	if env and env ~= "" then
		for d in env:gmatch("[^,%s]+") do dates[#dates + 1] = d end
	else
		for k = 1, 7 do dates[k] = os.date("!%Y-%m-%d", os.time() + k * 86400) end
	end
	nseats = tonumber(os.getenv("BENCH_SEATS") or "") or 50
end

-- A request that maintains the pool, or nil when it needs none now.
-- before_user(u) may return an extra request to send for a new user first.
function pool_request(force, before_user)
	if fixed then return nil end
	if #pending > 0 then return table.remove(pending, 1) end
	if #waiting > 0 and (force or #ready == 0 or math.random(8) == 1) then
		local t = table.remove(waiting, 1)
		inflight = inflight + 1
		return wrk.format("GET", "/api/v1/token?token=" .. t)
	end
	if #ready + #waiting + inflight < pool then
		local u = uuid4()
		inflight = inflight + 1
		local first = before_user and before_user(u)
		local tok = wrk.format("POST", "/api/v1/token", JSON,
			'{"userId":"' .. u .. '"}')
		if first then
			pending[#pending + 1] = tok    -- sent right after `first`
			return first
		end
		return tok
	end
	return nil
end

-- Feed a response to the pool; true when it was a token answer.
function pool_response(status, body)
	local t = body:match('"token":"(%x+)"')
	local st = body:match('"status":"(%u+)"')
	if not t or not st or body:match('"reservationId"') then return false end
	if inflight > 0 then inflight = inflight - 1 end
	if st == "ACTIVE" then ready[#ready + 1] = t
	elseif st == "WAITING" then waiting[#waiting + 1] = t end
	return true
end

-- Next ready token (round robin), or nil.
function next_token()
	if #ready == 0 then return nil end
	rr = rr % #ready + 1
	return ready[rr], rr
end

function retire(i)
	table.remove(ready, i)
	if fixed and #ready == 0 then
		io.stderr:write("thread " .. tostring(id) .. ": BENCH_TOKENS used up\n")
	end
end
