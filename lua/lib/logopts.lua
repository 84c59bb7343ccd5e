-- Docker's --log-driver/--log-opt (and the API's HostConfig.LogConfig) as
-- the `log` key of a create spec, and a container's `log` back as
-- Docker's LogConfig. Shared by run/create and the API's container create.
local units = require "bocker.units"
local M = {}

-- the options each driver takes, by Docker's names
local takes = {
  ["json-file"] = { ["max-size"] = true, ["max-file"] = true, compress = true, labels = true, env = true, tag = true, mode = true },
  ["local"] = { ["max-size"] = true, ["max-file"] = true, compress = true, mode = true },
  ["k8s-file"] = { ["max-size"] = true, ["max-file"] = true, labels = true, env = true, tag = true, mode = true },
  none = {},
}

local function split_commas(s)
  local out = {}
  for part in tostring(s):gmatch("[^,]+") do out[#out + 1] = part end
  return out
end

-- "K=V" strings (--log-opt) as a map; nil and an error for one without "=".
function M.parse_opts(list)
  local opts = {}
  for _, kv in ipairs(list or {}) do
    local k, v = kv:match("^([^=]+)=(.*)$")
    if not k then return nil, string.format("invalid log opt '%s': use KEY=VALUE", kv) end
    opts[k] = v
  end
  return opts
end

-- (driver or nil/"" for json-file, { ["max-size"] = "10m", ... }) -> the
-- spec's `log` table, or nil and Docker's error.
function M.spec(driver, opts)
  if driver == nil or driver == "" then driver = "json-file" end
  local known = takes[driver]
  if not known then
    return nil, string.format('logging driver "%s" is not supported (json-file, local, k8s-file or none)', driver)
  end
  local log = { driver = driver }
  for k, v in pairs(opts or {}) do
    v = tostring(v)
    if not known[k] then return nil, string.format("unknown log opt '%s' for %s log driver", k, driver) end
    if k == "max-size" then
      if v ~= "-1" then -- -1: no limit
        local n = units.bytes(v)
        if not n or n <= 0 then return nil, string.format("invalid log opt max-size '%s': a size such as 10m", v) end
        log.max_size = n
      end
    elseif k == "max-file" then
      local n = math.tointeger(tonumber(v))
      if not n or n < 1 then return nil, string.format("invalid log opt max-file '%s': a number of files, 1 or more", v) end
      log.max_file = n
    elseif k == "compress" then
      if v == "true" then return nil, "log opt compress=true: bocker keeps rotated logs uncompressed" end
      if v ~= "false" then return nil, string.format("invalid log opt compress '%s'", v) end
    elseif k == "mode" then
      -- the monitor writes each chunk before it reads the next: blocking
      if v == "non-blocking" then return nil, "log opt mode=non-blocking: bocker's log writes are always blocking (nothing is dropped)" end
      if v ~= "blocking" then return nil, string.format("invalid log opt mode '%s'", v) end
    elseif k == "labels" or k == "env" then
      log[k] = split_commas(v)
    elseif k == "tag" then
      log.tag = v
    end
  end
  if driver ~= "local" and log.max_file and log.max_file > 1 and not log.max_size then
    return nil, "max-file cannot be set when max-size is not set"
  end
  return log
end

-- bytes as a user writes a size: the largest unit that divides them (5m)
local function size_text(n)
  n = math.tointeger(n) or n
  for _, u in ipairs { { "g", 1024 ^ 3 }, { "m", 1024 ^ 2 }, { "k", 1024 } } do
    if math.type(n) == "integer" and n >= u[2] and n % math.tointeger(u[2]) == 0 then return (n // math.tointeger(u[2])) .. u[1] end
  end
  return tostring(n)
end

-- a container's `log` (nil: the default) as Docker's HostConfig.LogConfig
function M.docker_config(log)
  log = log or {}
  local cfg = {}
  if log.max_size then cfg["max-size"] = size_text(log.max_size) end
  if log.max_file then cfg["max-file"] = tostring(math.tointeger(log.max_file) or log.max_file) end
  if log.labels then cfg.labels = table.concat(log.labels, ",") end
  if log.env then cfg.env = table.concat(log.env, ",") end
  if log.tag then cfg.tag = log.tag end
  return { Type = log.driver or "json-file", Config = cfg }
end

return M
