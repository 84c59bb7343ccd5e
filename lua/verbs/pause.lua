-- bocker pause CONTAINER...
local cli = require "bocker.cli"
return {
  summary = "Pause all processes within containers (cgroup freezer)",
  usage = "bocker pause CONTAINER [CONTAINER...]",
  flags = {},
  run = function(args)
    local o, pos = cli.parse("pause", args, {})
    if not o then return pos or 125 end
    if #pos == 0 then return cli.usage_error("pause", "bocker pause CONTAINER...", '"pause" requires at least 1 argument') end
    local status = 0
    for _, ref in ipairs(pos) do
      local id, err = bocker.container.pause(ref)
      if id then print(ref) else status = cli.fail(1, "pause", err) end
    end
    return status
  end,
}
