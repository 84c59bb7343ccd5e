-- bocker volume create|ls|inspect|rm|prune
local cli = require "bocker.cli"
local fmt = require "bocker.fmt"
local docker = require "bocker.docker"

local usage = "bocker volume create [NAME] [--label K=V] | ls [-q] [--format T] | inspect [-f T] NAME... | rm [-f] NAME... | prune [-a] [-f]"

local sub = {}

function sub.create(args)
  local spec = { { long = "label", kind = "list", arg = "K=V", help = "A label of the volume" } }
  local o, pos = cli.parse("volume", args, spec)
  if not o then return pos or 125 end
  if #pos > 1 then return cli.usage_error("volume", usage) end
  local labels
  for _, kv in ipairs(o.label) do
    local k, v = kv:match("^([^=]+)=?(.*)$")
    if not k then return cli.fail(125, "volume", "bad label %q", kv) end
    labels = labels or {}
    labels[k] = v
  end
  local v, err = bocker.volume.create(pos[1], { labels = labels })
  if not v then return cli.fail(1, "volume", err) end
  print(v.name)
  return 0
end

function sub.ls(args)
  local spec = {
    { long = "quiet", short = "q", kind = "bool", help = "Only names" },
    { long = "format", kind = "string", arg = "json|TEMPLATE", help = "Each volume through a Go template ({{.Name}} {{.Driver}} {{.Scope}} {{.Mountpoint}} {{.Labels}}; 'table ...' adds a header)" },
  }
  local o, pos = cli.parse("volume", args, spec)
  if not o then return pos or 125 end
  local rows, frows = {}, {}
  for _, v in ipairs(bocker.volume.list()) do
    if o.quiet then print(v.name) else rows[#rows + 1] = { v.name, fmt.ago(v.created), v.anonymous and "anonymous" or "" } end
    local labels = {}
    for k, l in pairs(v.labels or {}) do labels[#labels + 1] = k .. "=" .. l end
    table.sort(labels)
    frows[#frows + 1] = { Name = v.name, Driver = "local", Scope = "local", Mountpoint = v.mountpoint, Labels = table.concat(labels, ","), CreatedAt = bocker.rfc3339(v.created or 0) }
  end
  if o.format and not o.quiet then
    local ok, err = fmt.formatted(o.format, frows, { Name = "VOLUME NAME", Driver = "DRIVER", Scope = "SCOPE", Mountpoint = "MOUNTPOINT", Labels = "LABELS", CreatedAt = "CREATED" })
    if not ok then return cli.fail(1, "volume", err) end
    return 0
  end
  if not o.quiet then fmt.table({ "VOLUME_NAME", "CREATED", "KIND" }, rows) end
  return 0
end
sub.list = sub.ls

-- Docker's shape (lua/lib/docker.lua)
function sub.inspect(args)
  local spec = { { long = "format", short = "f", kind = "string", arg = "TEMPLATE", help = "Each volume through a Go template" } }
  local o, pos = cli.parse("volume inspect", args, spec)
  if not o then return pos or 125 end
  if #pos == 0 then return cli.usage_error("volume inspect", usage, '"volume inspect" requires at least 1 argument') end
  local out, status = {}, 0
  for _, n in ipairs(pos) do
    local v, err = bocker.volume.get(n)
    if v then out[#out + 1] = docker.volume_inspect(v) else status = cli.fail(1, "volume", err) end
  end
  if o.format then
    local ok, ferr = fmt.formatted(o.format, out)
    if not ok then return cli.fail(1, "volume inspect", ferr) end
    return status
  end
  print(bocker.json.encode(bocker.json.array(out), { empty = "object" }))
  return status
end

function sub.rm(args)
  local spec = { { long = "force", short = "f", kind = "bool", help = "Remove even if in use" } }
  local o, pos = cli.parse("volume", args, spec)
  if not o then return pos or 125 end
  if #pos == 0 then return cli.usage_error("volume", usage) end
  local status = 0
  for _, n in ipairs(pos) do
    local ok, err = bocker.volume.remove(n, { force = o.force })
    if ok then print(n) else status = cli.fail(1, "volume", err) end
  end
  return status
end
sub.remove = sub.rm

function sub.prune(args)
  local spec = { { long = "all", short = "a", kind = "bool", help = "Also named volumes" }, { long = "force", short = "f", kind = "bool", help = "Do not ask (there is no prompt)" } }
  local o, pos = cli.parse("volume", args, spec)
  if not o then return pos or 125 end
  local removed, err = bocker.volume.prune({ all = o.all })
  if not removed then return cli.fail(1, "volume", err) end
  for _, n in ipairs(removed) do print("Deleted: " .. n) end
  return 0
end

return {
  summary = "Manage volumes (create, ls, inspect, rm, prune)",
  usage = usage,
  flags = {},
  run = function(args)
    local name = table.remove(args, 1)
    local f = name and sub[name]
    if not f then
      io.stderr:write("bocker volume: ", name and ("unknown command '" .. name .. "'") or "a command is needed",
        "\nUsage: ", usage, "\n")
      return 125
    end
    return f(args)
  end,
}
