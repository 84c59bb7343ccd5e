-- The run/create flags past the seed's limits, parsed as docker's CLI
-- parses them into bocker.container.create's spec keys: --ulimit,
-- --sysctl, --shm-size, --cpus, --memory-swap, --memory-reservation.
-- Each parser returns its value, or nil and an error message.
local units = require "bocker.units"
local M = {}

-- --ulimit nofile=1024[:2048]: { name = "nofile", soft = 1024, hard = 2048 }
-- (no hard: the soft value; -1 is unlimited)
function M.ulimit(s)
  local name, soft, hard = s:match("^([%a_]+)=(%-?%d+):(%-?%d+)$")
  if not name then
    name, soft = s:match("^([%a_]+)=(%-?%d+)$")
    hard = soft
  end
  if not name then return nil, string.format("invalid ulimit argument: %s (NAME=SOFT[:HARD])", s) end
  return { name = name, soft = math.tointeger(tonumber(soft)), hard = math.tointeger(tonumber(hard)) }
end

function M.ulimits(list)
  local out = {}
  for _, s in ipairs(list or {}) do
    local u, err = M.ulimit(s)
    if not u then return nil, err end
    out[#out + 1] = u
  end
  return out
end

-- --sysctl KEY=VALUE, repeatable: { [KEY] = VALUE }
function M.sysctls(list)
  local out, any = {}, false
  for _, s in ipairs(list or {}) do
    local k, v = s:match("^([^=]+)=(.*)$")
    if not k then return nil, string.format("invalid argument \"%s\" for \"--sysctl\" flag: sysctl '%s' is not whitelisted", s, s) end
    out[k] = v
    any = true
  end
  return any and out or nil
end

-- A size flag (b/k/m/g); -1 where the flag allows "unlimited".
function M.size(flag, s, allow_unlimited)
  if s == nil then return nil end
  if allow_unlimited and s == "-1" then return -1 end
  local n, err = units.bytes(s)
  if not n then return nil, string.format("invalid argument \"%s\" for \"--%s\" flag: %s", s, flag, err) end
  return n
end

-- --cpus 1.5
function M.cpus(s)
  if s == nil then return nil end
  local n = tonumber(s)
  if not n then return nil, string.format("invalid argument \"%s\" for \"--cpus\" flag: failed to parse %s as a rational number", s, s) end
  return n
end

return M
