-- Helpers shared by the wrk scenarios, each of which loads this file with dofile.

-- A random version-4 UUID (variant 10xx) for a fresh userId.
function uuid4()
	local hex, t = "0123456789abcdef", {}
	for i = 1, 32 do
		local k = math.random(1, 16)
		t[i] = hex:sub(k, k)
	end
	local s = table.concat(t)
	return s:sub(1, 8) .. "-" .. s:sub(9, 12) .. "-4" .. s:sub(14, 16) ..
		"-a" .. s:sub(18, 20) .. "-" .. s:sub(21, 32)
end
