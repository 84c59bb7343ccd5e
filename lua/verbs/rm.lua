-- bocker rm [-f] CONTAINER...
local cli = require "bocker.cli"
local spec = {
  { long = "force", short = "f", kind = "bool", help = "Kill a running container first" },
  { long = "volumes", short = "v", kind = "bool", help = "Remove its anonymous volumes" },
}
return {
  summary = "Remove one or more containers",
  usage = "bocker rm [-f] [-v] CONTAINER [CONTAINER...]",
  flags = spec,
  run = function(args)
    local o, pos = cli.parse("rm", args, spec)
    if not o then return pos or 125 end
    if #pos == 0 then return cli.usage_error("rm", "bocker rm [-f] CONTAINER [CONTAINER...]", '"rm" requires at least 1 argument') end
    local status = 0
    for _, ref in ipairs(pos) do
      local id, err = bocker.container.remove(ref, { force = o.force, volumes = o.volumes })
      if id then
        print("Removed: " .. id)
      else
        status = cli.fail(1, "rm", err)
      end
    end
    return status
  end,
}
