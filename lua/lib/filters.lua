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

-- Docker's `label=` filter value: `KEY` (the label is set) or `KEY=VALUE`.
function M.label_matches(labels, kv)
  local k, v = kv:match("^([^=]*)=(.*)$")
  if not k then return labels[kv] ~= nil end
  return labels[k] == v
end
local label_matches = M.label_matches

local match_one = {
  id = function(c, v) return c.id:sub(1, #v) == v end,
  name = function(c, v) return (c.name or ""):find(v, 1, true) ~= nil end,
  status = function(c, v) return M.state_of(c) == v end,
  health = function(c, v) return (c.health or "none") == v end,
  exited = function(c, v)
    return not c.running and c.state and c.state.status == "exited" and c.state.exit_code == math.tointeger(tonumber(v))
  end,
}

-- Docker's path.Match glob ("busy*", "reg:5000/a/?") as a Lua pattern:
-- `*` and `?` do not cross a `/`; everything else is literal.
local function glob(g)
  local out = g:gsub("[%^%$%(%)%%%.%[%]%+%-]", "%%%0"):gsub("%*", "[^/]*"):gsub("%?", "[^/]")
  return "^" .. out .. "$"
end

-- The names an image is matched by: "busybox:latest" as it is, and its
-- repository "busybox"; a library image also as "docker.io/library/..."
local function image_names(i)
  local names = {}
  for _, t in ipairs(i.tags or {}) do
    local repo = t:match("^(.*):[^:/]+$") or t
    names[#names + 1] = t
    names[#names + 1] = repo
  end
  return names
end

-- Whether image `i` matches the reference pattern ("busybox", "busybox:1.36", "reg/*").
function M.image_reference(i, pattern)
  local re = glob(pattern)
  for _, n in ipairs(image_names(i)) do
    if n:match(re) then return true end
  end
  return false
end

-- The tags of `i` that the reference patterns match (Docker lists only
-- those when it filters by reference)
function M.matching_tags(i, patterns)
  local out = {}
  for _, t in ipairs(i.tags or {}) do
    local repo = t:match("^(.*):[^:/]+$") or t
    for _, p in ipairs(patterns) do
      local re = glob(p)
      if t:match(re) or repo:match(re) then out[#out + 1] = t break end
    end
  end
  return out
end

-- The keys `images --filter` and GET /images/json take.
M.image_keys = {
  reference = true, label = true, before = true, since = true,
  dangling = function(v) return v == "true" or v == "false" or v == "1" or v == "0" end,
}

-- The images that pass `f` (parsed as M.parse with M.image_keys); nil, err
-- when before/since name no image.
function M.images(imgs, f)
  local bounds = {}
  for _, k in ipairs({ "before", "since" }) do
    for _, ref in ipairs(f[k] or {}) do
      local img = bocker.image.get(ref)
      if not img then return nil, "No such image: " .. ref end
      bounds[k] = img.created
    end
  end
  local out = {}
  for _, i in ipairs(imgs) do
    local ok = true
    if f.reference then
      local any = false
      for _, p in ipairs(f.reference) do if M.image_reference(i, p) then any = true break end end
      ok = any
    end
    for _, v in ipairs(f.dangling or {}) do
      local want = v == "true" or v == "1"
      if (#(i.tags or {}) == 0) ~= want then ok = false end
    end
    for _, v in ipairs(f.label or {}) do
      if not label_matches((i.config or {}).labels or {}, v) then ok = false end
    end
    if bounds.before and not (i.created < bounds.before) then ok = false end
    if bounds.since and not (i.created > bounds.since) then ok = false end
    if ok then out[#out + 1] = i end
  end
  return out
end

-- The images `images` shows without -a: not the intermediate ones
-- (untagged parents of others that were themselves made from an image:
-- build steps), as docker hides them.
function M.top_images(imgs)
  local parents = {}
  for _, i in ipairs(imgs) do if i.parent then parents[i.parent] = true end end
  local shown = {}
  for _, i in ipairs(imgs) do
    local derived = (i.source or ""):match("^img_") or i.source == "scratch"
    if #(i.tags or {}) > 0 or not parents[i.id] or not derived then shown[#shown + 1] = i end
  end
  return shown
end

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
