-- bocker stop [-t SECONDS] CONTAINER...
local cli = require "bocker.cli"
local spec = { { long = "time", short = "t", kind = "int", help = "Seconds to wait before killing (default: the container's --stop-timeout, else 10)" } }
return {
  summary = "Stop running containers (the stop signal, then SIGKILL)",
  usage = "bocker stop [-t SECONDS] CONTAINER [CONTAINER...]",
  flags = spec,
  run = function(args)
    local o, pos = cli.parse("stop", args, spec)
    if not o then return pos or 125 end
    if #pos == 0 then return cli.usage_error("stop", "bocker stop [-t SECONDS] CONTAINER...", '"stop" requires at least 1 argument') end
    local status = 0
    for _, ref in ipairs(pos) do
      local id, err = bocker.container.stop(ref, o.time)
      if id then print(ref) else status = cli.fail(1, "stop", err) end
    end
    return status
  end,
}
