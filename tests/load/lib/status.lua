-- Status-code histogram for every scenario (loaded with dofile at the END of
-- a scenario, after its own setup/response/done): counts each answer's
-- status per thread and prints, at the end of the run, one line
--   STATUSES 200=12345 409=3
-- that scripts/bench reads (an unexpected status fails the bench).
local threads = {}
local scen_setup, scen_response, scen_done = setup, response, done

function setup(thread)
	table.insert(threads, thread)
	if scen_setup then scen_setup(thread) end
end

statuses = {}

function response(status, headers, body)
	statuses[status] = (statuses[status] or 0) + 1
	if scen_response then scen_response(status, headers, body) end
end

function done(summary, latency, requests)
	local all, keys = {}, {}
	for _, t in ipairs(threads) do
		for code, n in pairs(t:get("statuses")) do all[code] = (all[code] or 0) + n end
	end
	for code in pairs(all) do keys[#keys + 1] = code end
	table.sort(keys)
	local parts = {}
	for _, code in ipairs(keys) do parts[#parts + 1] = string.format("%d=%d", code, all[code]) end
	io.write("STATUSES " .. table.concat(parts, " ") .. "\n")
	if scen_done then scen_done(summary, latency, requests) end
end
