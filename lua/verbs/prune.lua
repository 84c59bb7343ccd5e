-- bocker prune [-a] [--volumes]: repairs what killed commands left, then
-- exited containers, dangling images (untagged, unused, no child), then
-- unused anonymous volumes.
local cli = require "bocker.cli"
local spec = {
  { long = "all", short = "a", kind = "bool", help = "Also images no container uses, tagged or not" },
  { long = "volumes", kind = "bool", help = "Also unused named volumes" },
  { long = "force", short = "f", kind = "bool", help = "(accepted for docker compatibility)" },
}
return {
  summary = "Remove exited containers, unused images and volumes",
  usage = "bocker prune [-a] [--volumes]",
  flags = spec,
  run = function(args)
    local o, pos = cli.parse("prune", args, spec)
    if not o then return pos or 125 end
    local status = 0
    -- first what killed commands left (see docs/ARCHITECTURE.md, Crash consistency)
    local fixed, ferr = bocker.container.repair()
    if fixed then
      for _, what in ipairs(fixed) do print("Repaired: " .. what) end
    else
      status = cli.fail(1, "prune", ferr)
    end
    for _, c in ipairs(bocker.container.list()) do
      if not c.running and c.state.status ~= "restarting" then
        local id, err = bocker.container.remove(c.id, { volumes = true })
        if id then print("Removed: " .. id) else status = cli.fail(1, "prune", err) end
      end
    end
    for _, id in ipairs((require "bocker.images").prune(o.all)) do print("Removed: " .. id) end
    for _, v in ipairs(bocker.volume.prune({ all = o.volumes }) or {}) do print("Deleted: " .. v) end
    return status
  end,
}
