-- bocker system service [--socket PATH] | df | prune [-a] [-f] [--volumes] | info | events:
-- the Docker Engine API, and Docker's `system X` forms
local cli = require "bocker.cli"
local fmt = require "bocker.fmt"
local usage = "bocker system service [--socket PATH] | df [--format T] | prune [-a] [-f] [--volumes] | info | events"

local sub = {}

function sub.service(args)
  local spec = { { long = "socket", kind = "string", arg = "PATH", help = "Unix socket to serve on (mode 0600)" } }
  local o, pos = cli.parse("system service", args, spec)
  if not o then return pos or 125 end
  if #pos > 0 then return cli.usage_error("system service", usage, '"system service" accepts no arguments') end
  local ok, err = bocker.serve_api(o.socket)
  if not ok then return cli.fail(1, "system service", err) end
  return 0
end

-- `system df`: Docker's summary table (or each row through --format)
function sub.df(args)
  local spec = { { long = "format", kind = "string", arg = "json|TEMPLATE", help = "Each row through a Go template ({{.Type}} {{.TotalCount}} {{.Active}} {{.Size}} {{.Reclaimable}})" } }
  local o, pos = cli.parse("system df", args, spec)
  if not o then return pos or 125 end
  if #pos > 0 then return cli.usage_error("system df", usage, '"system df" accepts no arguments') end
  local df = require("bocker.docker").system_df()
  local function row(kind, list, active_of, size_of)
    local active, size, reclaimable = 0, 0, 0
    for _, x in ipairs(list) do
      local sz = math.max(0, size_of(x))
      size = size + sz
      if active_of(x) then active = active + 1 else reclaimable = reclaimable + sz end
    end
    local pct = size > 0 and string.format(" (%d%%)", math.floor(reclaimable * 100 / size)) or ""
    return { Type = kind, TotalCount = tostring(#list), Active = tostring(active), Size = fmt.size(size), Reclaimable = fmt.size(reclaimable) .. pct }
  end
  local rows = {
    row("Images", df.Images, function(i) return i.Containers > 0 end, function(i) return i.Size end),
    row("Containers", df.Containers, function(c) return c.State == "running" end, function(c) return c.SizeRw or 0 end),
    row("Local Volumes", df.Volumes, function(v) return v.UsageData.RefCount > 0 end, function(v) return v.UsageData.Size end),
    row("Build Cache", df.BuildCache, function() return false end, function() return 0 end),
  }
  local ok, err = fmt.formatted(o.format or "table {{.Type}}\t{{.TotalCount}}\t{{.Active}}\t{{.Size}}\t{{.Reclaimable}}", rows,
    { Type = "TYPE", TotalCount = "TOTAL", Active = "ACTIVE", Size = "SIZE", Reclaimable = "RECLAIMABLE" })
  if not ok then return cli.fail(1, "system df", err) end
  return 0
end

-- `system prune`: what `bocker prune` removes (stopped containers,
-- dangling images, or every unused one with -a; anonymous volumes, named
-- ones too with --volumes), then unused user networks
function sub.prune(args)
  local spec = {
    { long = "all", short = "a", kind = "bool", help = "Every unused image, not only dangling ones" },
    { long = "force", short = "f", kind = "bool", help = "Do not ask (there is no prompt)" },
    { long = "volumes", kind = "bool", help = "Also unused named volumes" },
  }
  local o, pos = cli.parse("system prune", args, spec)
  if not o then return pos or 125 end
  if #pos > 0 then return cli.usage_error("system prune", usage, '"system prune" accepts no arguments') end
  local pargs = {}
  if o.all then pargs[#pargs + 1] = "--all" end
  if o.volumes then pargs[#pargs + 1] = "--volumes" end
  local status = bocker.verbs.load("prune").run(pargs)
  local removed, err = bocker.network.prune()
  if not removed then return cli.fail(1, "system prune", err) end
  for _, n in ipairs(removed) do print("Deleted Network: " .. n) end
  return status
end

function sub.info(args) return bocker.verbs.load("info").run(args) end
function sub.events(args) return bocker.verbs.load("events").run(args) end

return {
  summary = "Serve the Docker Engine API (service); df, prune, info, events",
  usage = usage,
  flags = {},
  run = function(args)
    local f = args[1] and sub[args[1]]
    if not f then
      io.stderr:write("bocker system: ", args[1] and ("unknown command '" .. args[1] .. "'") or "a command is needed",
        "\nUsage: ", usage, "\n")
      return 125
    end
    return f({ table.unpack(args, 2) })
  end,
}
