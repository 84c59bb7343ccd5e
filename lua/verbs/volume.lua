-- bocker volume create|ls|inspect|rm|prune
local cli = require "bocker.cli"
local fmt = require "bocker.fmt"

local usage = "bocker volume create [NAME] | ls [-q] | inspect NAME... | rm [-f] NAME... | prune [-a]"

local sub = {}

function sub.create(args)
  local o, pos = cli.parse("volume", args, {})
  if not o then return pos or 125 end
  if #pos > 1 then return cli.usage_error("volume", usage) end
  local v, err = bocker.volume.create(pos[1])
  if not v then return cli.fail(1, "volume", err) end
  print(v.name)
  return 0
end

function sub.ls(args)
  local spec = { { long = "quiet", short = "q", kind = "bool", help = "Only names" } }
  local o, pos = cli.parse("volume", args, spec)
  if not o then return pos or 125 end
  local rows = {}
  for _, v in ipairs(bocker.volume.list()) do
    if o.quiet then print(v.name) else rows[#rows + 1] = { v.name, fmt.ago(v.created), v.anonymous and "anonymous" or "" } end
  end
  if not o.quiet then fmt.table({ "VOLUME_NAME", "CREATED", "KIND" }, rows) end
  return 0
end
sub.list = sub.ls

function sub.inspect(args)
  local out, status = {}, 0
  for _, n in ipairs(args) do
    local v, err = bocker.volume.get(n)
    if v then out[#out + 1] = v else status = cli.fail(1, "volume", err) end
  end
  print(bocker.json.encode(out))
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
  local spec = { { long = "all", short = "a", kind = "bool", help = "Also named volumes" } }
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
