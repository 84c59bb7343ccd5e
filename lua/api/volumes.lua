-- /volumes: list, create, inspect, remove, prune
local api = require "bocker.api"
local docker = require "bocker.docker"
local label_matches = (require "bocker.filters").label_matches

local array = bocker.json.array

local keys = { name = true, label = true, driver = true,
  dangling = function(v) return v == "true" or v == "false" or v == "1" or v == "0" end }

local function matches(v, f)
  for _, n in ipairs(f.name or {}) do if not v.name:find(n, 1, true) then return false end end
  for _, d in ipairs(f.driver or {}) do if d ~= "local" then return false end end
  for _, kv in ipairs(f.label or {}) do
    if not label_matches(v.labels or {}, kv) then return false end
  end
  for _, d in ipairs(f.dangling or {}) do
    local dangling = #(v.containers or {}) == 0
    if dangling ~= (d == "true" or d == "1") then return false end
  end
  return true
end

return {
  { "GET", "/volumes", function(req, res)
    local f, err = api.filters(req)
    if f then f, err = api.check_filters(f, keys) end
    if not f then return res:error(400, err) end
    local out = array()
    for _, v in ipairs(bocker.volume.list()) do
      local full = (f.dangling and bocker.volume.get(v.name)) or v
      if matches(full, f) then out[#out + 1] = docker.volume_inspect(full) end
    end
    res:json({ Volumes = out, Warnings = array() })
  end },
  { "POST", "/volumes/create", function(req, res)
    local b, err = api.body_json(req)
    if not b then return res:error(400, err) end
    if b.Driver and b.Driver ~= "" and b.Driver ~= "local" then return res:error(400, "driver " .. tostring(b.Driver) .. ": only local is supported") end
    if type(b.DriverOpts) == "table" and next(b.DriverOpts) then return res:error(400, "DriverOpts: not supported by bocker's local volumes") end
    local name = type(b.Name) == "string" and b.Name ~= "" and b.Name or nil
    local labels, lerr = api.string_map(b.Labels, "Labels")
    if lerr then return res:error(400, lerr) end
    local v, cerr = bocker.volume.create(name, { labels = labels })
    if not v then return api.fail(res, cerr, 400) end
    res:json(docker.volume_inspect(v), 201)
  end },
  { "POST", "/volumes/prune", function(req, res)
    local f, err = api.filters(req)
    if not f then return res:error(400, err) end
    -- API 1.41 prunes every unused volume (`all=false`: only anonymous ones)
    local all = not (f.all and (f.all[1] == "false" or f.all[1] == "0"))
    local removed, perr = bocker.volume.prune({ all = all })
    if not removed then return api.fail(res, perr, 500) end
    res:json({ VolumesDeleted = array(removed), SpaceReclaimed = 0 })
  end },
  { "GET", "/volumes/{name}", function(_, res, p)
    local v, err = bocker.volume.get(p.name)
    if not v then return res:error(404, err or ("get " .. p.name .. ": no such volume")) end
    res:json(docker.volume_inspect(v))
  end },
  { "DELETE", "/volumes/{name}", function(req, res, p)
    local v, gerr = bocker.volume.get(p.name)
    if not v then return res:error(404, gerr or ("get " .. p.name .. ": no such volume")) end
    local ok, err = bocker.volume.remove(p.name, { force = api.flag(req.query.force) })
    if not ok then return api.fail(res, err, 409) end
    res:status(204)
  end },
}
