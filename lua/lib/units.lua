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

return M
