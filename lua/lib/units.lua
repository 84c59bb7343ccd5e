-- Units as docker reads them: "512m" -> bytes, "1.5g" -> bytes.
local M = {}

local mult = { b = 1, k = 1024, m = 1024 ^ 2, g = 1024 ^ 3, t = 1024 ^ 4 }

-- Returns bytes, or nil and an error message.
function M.bytes(s)
  if type(s) == "number" then return math.tointeger(s) end
  local num, unit = tostring(s):lower():match("^%s*([%d%.]+)%s*([bkmgt]?)b?%s*$")
  local n = tonumber(num)
  if not n then return nil, string.format("invalid size: '%s'", tostring(s)) end
  return math.tointeger(math.floor(n * mult[unit ~= "" and unit or "b"]))
end

-- Go durations, as docker's --health-interval and friends take them:
-- "1s", "500ms", "1m30s", "1.5h", "0". Returns seconds, or nil and an
-- error message.
local dur_unit = { ns = 1e-9, us = 1e-6, ["µs"] = 1e-6, ms = 1e-3, s = 1, m = 60, h = 3600 }
function M.duration(s)
  if type(s) == "number" then return s end
  s = tostring(s)
  local bad = string.format("invalid duration: '%s' (e.g. 1s, 500ms, 1m30s)", s)
  if s == "0" then return 0 end
  local rest, total = s, 0
  if rest == "" then return nil, bad end
  while rest ~= "" do
    local num, unit, tail = rest:match("^(%d*%.?%d*)([a-zµ]+)(.*)$")
    if not num or num == "" or num == "." or not dur_unit[unit] then return nil, bad end
    total = total + tonumber(num) * dur_unit[unit]
    rest = tail
  end
  return total
end

return M
