-- bocker kill [-s SIGNAL] CONTAINER...
local cli = require "bocker.cli"
local spec = { { long = "signal", short = "s", kind = "string", default = "KILL", help = "Signal to send" } }
return {
  summary = "Send a signal to running containers",
  usage = "bocker kill [-s SIGNAL] CONTAINER [CONTAINER...]",
  flags = spec,
  run = function(args)
    local o, pos = cli.parse("kill", args, spec)
    if not o then return pos or 125 end
    if #pos == 0 then return cli.usage_error("kill", "bocker kill [-s SIGNAL] CONTAINER...", '"kill" requires at least 1 argument') end
    local status = 0
    for _, ref in ipairs(pos) do
      local id, err = bocker.container.kill(ref, o.signal)
      if id then print(ref) else status = cli.fail(1, "kill", err) end
    end
    return status
  end,
}
