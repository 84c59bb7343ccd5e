-- bocker network create|ls|inspect|rm|prune|connect|disconnect: user
-- networks (one bridge each), and the default network of this environment
-- (BOCKER_BRIDGE, BOCKER_SUBNET), listed as `bridge`.
local cli = require "bocker.cli"
local fmt = require "bocker.fmt"
local docker = require "bocker.docker"
local usage = "bocker network create [--subnet CIDR] [--gateway IP] [--internal] [--label K=V] [-d bridge] NAME"
  .. " | ls [-q] [--filter name=|label=] | inspect NAME... | rm NAME... | prune [-f]"
  .. " | connect [--alias A] [--ip IP] NET CONTAINER | disconnect [-f] NET CONTAINER"

local sub = {}

local function labels_of(list)
  local t = {}
  for _, kv in ipairs(list) do
    local k, v = kv:match("^([^=]+)=(.*)$")
    t[k or kv] = v or ""
  end
  return t
end

function sub.create(args)
  local spec = {
    { long = "subnet", kind = "string", arg = "CIDR", help = "Subnet (default: a free /24 of 10.89.0.0/16)" },
    { long = "gateway", kind = "string", arg = "IP", help = "Gateway (default: the subnet's first address)" },
    { long = "internal", kind = "bool", help = "No traffic beyond the host, no default route" },
    { long = "label", kind = "list", arg = "K=V", help = "Set a label" },
    { long = "driver", short = "d", kind = "string", arg = "DRIVER", help = "Driver (bridge only)" },
  }
  local o, pos = cli.parse("network create", args, spec)
  if not o then return pos or 125 end
  if #pos ~= 1 then return cli.usage_error("network create", usage, '"network create" requires exactly 1 argument') end
  local n, err = bocker.network.create {
    name = pos[1], subnet = o.subnet, gateway = o.gateway, internal = o.internal or nil,
    labels = labels_of(o.label), driver = o.driver,
  }
  if not n then return cli.fail(1, "network create", err) end
  print(n.id)
  return 0
end

-- Docker's filters: name= matches a part of the name, label=K or label=K=V.
local function matches(n, filters)
  for _, f in ipairs(filters) do
    local k, v = f:match("^([^=]+)=(.*)$")
    if k == "name" then
      if not n.name:find(v, 1, true) then return false end
    elseif k == "label" then
      local lk, lv = v:match("^([^=]+)=(.*)$")
      local have = (n.labels or {})[lk or v]
      if have == nil or (lv and have ~= lv) then return false end
    elseif k == "driver" then
      if n.driver ~= v then return false end
    elseif k == "id" then
      if n.id:sub(1, #v) ~= v then return false end
    else
      return nil, "invalid filter '" .. tostring(k or f) .. "'"
    end
  end
  return true
end

function sub.ls(args)
  local spec = {
    { long = "quiet", short = "q", kind = "bool", help = "Only ids" },
    { long = "filter", short = "f", kind = "list", arg = "K=V", help = "name=, label=K[=V], driver=, id=" },
    { long = "no-trunc", kind = "bool", help = "Full ids" },
    { long = "format", kind = "string", arg = "json|TEMPLATE", help = "Each network through a Go template ({{.ID}} {{.Name}} {{.Driver}} {{.Scope}} {{.Internal}} {{.Labels}} {{.CreatedAt}}; 'table ...' adds a header)" },
  }
  local o, pos = cli.parse("network ls", args, spec)
  if not o then return pos or 125 end
  local nets, err = bocker.network.list()
  if not nets then return cli.fail(1, "network ls", err) end
  local rows, frows = {}, {}
  for _, n in ipairs(nets) do
    local ok, ferr = matches(n, o.filter)
    if ok == nil then return cli.fail(125, "network ls", ferr) end
    if ok then
      local id = o.no_trunc and n.id or n.id:sub(1, 12)
      if o.quiet then print(id) else rows[#rows + 1] = { id, n.name, n.driver, "local" } end
      local labels = {}
      for k, v in pairs(n.labels or {}) do labels[#labels + 1] = k .. "=" .. v end
      table.sort(labels)
      frows[#frows + 1] = { ID = id, Name = n.name, Driver = n.driver, Scope = "local", IPv6 = false, Internal = n.internal or false,
        Labels = table.concat(labels, ","), CreatedAt = bocker.rfc3339(n.created or 0) }
    end
  end
  if o.format and not o.quiet then
    local ok, ferr = fmt.formatted(o.format, frows, { ID = "NETWORK ID", Name = "NAME", Driver = "DRIVER", Scope = "SCOPE",
      IPv6 = "IPV6", Internal = "INTERNAL", Labels = "LABELS", CreatedAt = "CREATED" })
    if not ok then return cli.fail(1, "network ls", ferr) end
    return 0
  end
  if not o.quiet then fmt.table({ "NETWORK ID", "NAME", "DRIVER", "SCOPE" }, rows) end
  return 0
end
sub.list = sub.ls

-- Docker's inspect shape (lua/lib/docker.lua)
local function inspect_one(name)
  local n, err = bocker.network.get(name)
  if not n then return nil, err end
  return docker.network_inspect(n)
end

function sub.inspect(args)
  local spec = { { long = "format", short = "f", kind = "string", arg = "TEMPLATE", help = "Each network through a Go template" } }
  local o, pos = cli.parse("network inspect", args, spec)
  if not o then return pos or 125 end
  if #pos == 0 then return cli.usage_error("network inspect", usage, '"network inspect" requires at least 1 argument') end
  local out, status = {}, 0
  for _, name in ipairs(pos) do
    local v, err = inspect_one(name)
    if v then out[#out + 1] = v else status = cli.fail(1, "network inspect", err) end
  end
  if o.format then
    local ok, ferr = fmt.formatted(o.format, out)
    if not ok then return cli.fail(1, "network inspect", ferr) end
    return status
  end
  print(bocker.json.encode(bocker.json.array(out), { empty = "object" }))
  return status
end

-- Removes the networks it names, and only those; the default network of
-- this environment goes by its bridge's name (BOCKER_BRIDGE).
function sub.rm(args)
  local o, pos = cli.parse("network rm", args, {})
  if not o then return pos or 125 end
  if #pos == 0 then return cli.usage_error("network rm", usage, '"network rm" requires at least 1 argument') end
  local status = 0
  for _, n in ipairs(pos) do
    local name, err = bocker.network.remove(n)
    if name then print(n) else status = cli.fail(1, "network rm", err) end
  end
  return status
end
sub.remove = sub.rm

-- Unused user networks, then the default bridge of this environment
-- when no container uses it (as before user networks).
function sub.prune(args)
  local spec = { { long = "force", short = "f", kind = "bool", help = "Do not ask (there is no prompt)" } }
  local o, pos = cli.parse("network prune", args, spec)
  if not o then return pos or 125 end
  local removed, err = bocker.network.prune()
  if not removed then return cli.fail(1, "network prune", err) end
  if #removed > 0 then
    print("Deleted Networks:")
    for _, n in ipairs(removed) do print(n) end
  end
  local name, rerr = bocker.network.remove()
  if not name then return cli.fail(1, "network prune", rerr) end
  print("Deleted: " .. name)
  return 0
end

function sub.connect(args)
  local spec = {
    { long = "alias", kind = "list", arg = "NAME", help = "Another name on this network" },
    { long = "ip", kind = "string", arg = "IP", help = "Its address on this network" },
  }
  local o, pos = cli.parse("network connect", args, spec)
  if not o then return pos or 125 end
  if #pos ~= 2 then return cli.usage_error("network connect", usage, '"network connect" requires exactly 2 arguments') end
  local ok, err = bocker.network.connect(pos[1], pos[2], { aliases = o.alias, ip = o.ip })
  if not ok then return cli.fail(1, "network connect", err) end
  return 0
end

function sub.disconnect(args)
  local spec = { { long = "force", short = "f", kind = "bool", help = "Force" } }
  local o, pos = cli.parse("network disconnect", args, spec)
  if not o then return pos or 125 end
  if #pos ~= 2 then return cli.usage_error("network disconnect", usage, '"network disconnect" requires exactly 2 arguments') end
  local ok, err = bocker.network.disconnect(pos[1], pos[2])
  if not ok then return cli.fail(1, "network disconnect", err) end
  return 0
end

return {
  summary = "Manage networks (create, ls, inspect, rm, prune, connect, disconnect)",
  usage = usage,
  flags = {},
  run = function(args)
    local f = args[1] and sub[args[1]]
    if not f then
      io.stderr:write("bocker network: ", args[1] and ("unknown command '" .. args[1] .. "'") or "a command is needed",
        "\nUsage: ", usage, "\n")
      return 125
    end
    return f({ table.unpack(args, 2) })
  end,
}
