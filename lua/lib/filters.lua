-- docker's `--filter KEY=VALUE` for ps: parsed into { key = {values} }
-- (values of one key OR, keys AND; `label` values AND, as docker), and
-- matched against container rows.
local M = {}

local statuses = { created = true, running = true, paused = true, exited = true, restarting = true, removing = true, dead = true }
local healths = { starting = true, healthy = true, unhealthy = true, none = true }

-- The keys ps accepts, and how a value is checked.
M.ps_keys = {
  id = true, name = true, label = true, exited = true,
  status = function(v) return statuses[v] end,
  health = function(v) return healths[v] end,
}

-- Parses a list of "KEY=VALUE". Returns the filter table, or nil, the
-- message and the exit status docker gives (125 for a malformed flag, 1
-- for a key or value the daemon refuses).
function M.parse(list, keys)
  local f = {}
  for _, item in ipairs(list or {}) do
    local k, v = item:match("^([^=]+)=(.*)$")
    if not k then return nil, string.format('invalid argument "%s" for "-f, --filter" flag: bad format of filter (expected name=value)', item), 125 end
    k = k:lower()
    local check = keys[k]
    if not check then return nil, string.format("invalid filter '%s'", k), 1 end
    if type(check) == "function" and not check(v) then
      return nil, string.format("Unrecognised filter value for %s: %s", k, v), 1
    end
    if k == "exited" and not math.tointeger(tonumber(v)) then
      return nil, string.format("invalid filter 'exited=%s'", v), 1
    end
    f[k] = f[k] or {}
    table.insert(f[k], v)
  end
  return f
end

-- A row's state as docker's status filter names it.
function M.state_of(c)
  if c.paused then return "paused" end
  if c.running then return "running" end
  return (c.state and c.state.status) or "created"
end

local function label_matches(labels, kv)
  local k, v = kv:match("^([^=]*)=(.*)$")
  if not k then return labels[kv] ~= nil end
  return labels[k] == v
end

local match_one = {
  id = function(c, v) return c.id:sub(1, #v) == v end,
  name = function(c, v) return (c.name or ""):find(v, 1, true) ~= nil end,
  status = function(c, v) return M.state_of(c) == v end,
  health = function(c, v) return (c.health or "none") == v end,
  exited = function(c, v)
    return not c.running and c.state and c.state.status == "exited" and c.state.exit_code == math.tointeger(tonumber(v))
  end,
}

-- Whether row `c` passes filter `f`.
function M.match(c, f)
  for k, values in pairs(f) do
    if k == "label" then
      for _, v in ipairs(values) do
        if not label_matches(c.labels or {}, v) then return false end
      end
    else
      local any = false
      for _, v in ipairs(values) do
        if match_one[k](c, v) then any = true break end
      end
      if not any then return false end
    end
  end
  return true
end

return M
