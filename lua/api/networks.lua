-- /networks: list, inspect, create, remove, connect, disconnect, prune
local api = require "bocker.api"
local docker = require "bocker.docker"
local label_matches = (require "bocker.filters").label_matches

local array = bocker.json.array

local keys = { name = true, id = true, label = true, driver = true, type = true, scope = true, dangling = true }


-- Docker's network filters: values of a key OR, keys AND (labels AND)
local function matches(n, f)
  local function any(values, pred)
    if not values then return true end
    for _, v in ipairs(values) do if pred(v) then return true end end
    return false
  end
  if not any(f.name, function(v) return n.name:find(v, 1, true) ~= nil end) then return false end
  if not any(f.id, function(v) return n.id:sub(1, #v) == v end) then return false end
  if not any(f.driver, function(v) return (n.driver or "bridge") == v end) then return false end
  if not any(f.scope, function(v) return v == "local" end) then return false end
  if not any(f.type, function(v) return (v == "builtin") == (n.name == "bridge") end) then return false end
  for _, kv in ipairs(f.label or {}) do
    if not label_matches(n.labels or {}, kv) then return false end
  end
  return true
end

-- the network a path names, or a 404 answer
local function lookup(res, name)
  local n, err = bocker.network.get(name)
  if not n then res:error(404, err or ("network " .. name .. " not found")) end
  return n
end

return {
  { "GET", "/networks", function(req, res)
    local f, err = api.filters(req)
    if f then f, err = api.check_filters(f, keys) end
    if not f then return res:error(400, err) end
    local nets, lerr = bocker.network.list()
    if not nets then return api.fail(res, lerr, 500) end
    local out = array()
    for _, n in ipairs(nets) do
      if matches(n, f) then out[#out + 1] = docker.network_inspect(n) end
    end
    res:json(out)
  end },
  { "POST", "/networks/create", function(req, res)
    local b, err = api.body_json(req)
    if not b then return res:error(400, err) end
    if type(b.Name) ~= "string" or b.Name == "" then return res:error(400, "Name is needed") end
    if b.Driver and b.Driver ~= "" and b.Driver ~= "bridge" then return res:error(400, "driver " .. tostring(b.Driver) .. ": only bridge is supported") end
    if b.EnableIPv6 == true then return res:error(400, "EnableIPv6: bocker networks are IPv4 only") end
    if bocker.network.get(b.Name) then return res:error(409, "network with name " .. b.Name .. " already exists") end
    local labels, lerr = api.string_map(b.Labels, "Labels")
    if lerr then return res:error(400, lerr) end
    local spec = { name = b.Name, internal = b.Internal == true or nil, labels = labels }
    local cfg = type(b.IPAM) == "table" and type(b.IPAM.Config) == "table" and b.IPAM.Config[1]
    if cfg then
      if #b.IPAM.Config > 1 then return res:error(400, "IPAM.Config: one subnet per network") end
      spec.subnet = cfg.Subnet ~= "" and cfg.Subnet or nil
      spec.gateway = cfg.Gateway ~= "" and cfg.Gateway or nil
    end
    local n, cerr = bocker.network.create(spec)
    if not n then return api.fail(res, cerr, 400) end
    res:json({ Id = n.id, Warning = "" }, 201)
  end },
  { "POST", "/networks/prune", function(_, res)
    local removed, err = bocker.network.prune()
    if not removed then return api.fail(res, err, 500) end
    res:json({ NetworksDeleted = array(removed) })
  end },
  { "GET", "/networks/{id}", function(_, res, p)
    local n = lookup(res, p.id)
    if n then res:json(docker.network_inspect(n)) end
  end },
  { "DELETE", "/networks/{id}", function(_, res, p)
    local n = lookup(res, p.id)
    if not n then return end
    if n.name == "bridge" then return res:error(403, "bridge is a pre-defined network and cannot be removed") end
    local ok, err = bocker.network.remove(n.name)
    if not ok then return api.fail(res, err, (tostring(err):find("in use") and 403) or nil) end
    res:status(204)
  end },
  { "POST", "/networks/{id}/connect", function(req, res, p)
    local b, err = api.body_json(req)
    if not b then return res:error(400, err) end
    local n = lookup(res, p.id)
    if not n then return end
    if type(b.Container) ~= "string" then return res:error(400, "Container is needed") end
    local c = bocker.container.get(b.Container)
    if not c then return res:error(404, "No such container: " .. b.Container) end
    -- a created container that names this network already (compose connects
    -- what it created with its aliases): connected anew with these
    if not c.running then
      for _, n2 in ipairs(c.networks or {}) do
        if n2.name == n.name then
          local ok, derr = bocker.network.disconnect(n.name, c.id)
          if not ok then return api.fail(res, derr) end
          break
        end
      end
    end
    local ep = type(b.EndpointConfig) == "table" and b.EndpointConfig or {}
    local ipam = type(ep.IPAMConfig) == "table" and ep.IPAMConfig or {}
    local aliases = type(ep.Aliases) == "table" and ep.Aliases or nil
    local ok, cerr = bocker.network.connect(n.name, b.Container, { aliases = aliases, ip = ipam.IPv4Address ~= "" and ipam.IPv4Address or nil })
    if not ok then return api.fail(res, cerr) end
    res:status(200)
    res:send("")
  end },
  { "POST", "/networks/{id}/disconnect", function(req, res, p)
    local b, err = api.body_json(req)
    if not b then return res:error(400, err) end
    local n = lookup(res, p.id)
    if not n then return end
    if type(b.Container) ~= "string" then return res:error(400, "Container is needed") end
    local ok, derr = bocker.network.disconnect(n.name, b.Container)
    if not ok then return api.fail(res, derr) end
    res:send("")
  end },
}
