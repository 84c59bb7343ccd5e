-- bocker restart [-t SECONDS] CONTAINER...: stop, then start detached.
local cli = require "bocker.cli"
local spec = { { long = "time", short = "t", kind = "int", help = "Seconds to wait before killing (default: the container's --stop-timeout, else 10)" } }
return {
  summary = "Restart containers",
  usage = "bocker restart [-t SECONDS] CONTAINER [CONTAINER...]",
  flags = spec,
  run = function(args)
    local o, pos = cli.parse("restart", args, spec)
    if not o then return pos or 125 end
    if #pos == 0 then return cli.usage_error("restart", "bocker restart [-t SECONDS] CONTAINER...", '"restart" requires at least 1 argument') end
    local status = 0
    for _, ref in ipairs(pos) do
      local id, err = bocker.container.stop(ref, o.time)
      local st, serr
      if id then st, serr = bocker.container.start(id, { detach = true }) end
      if not id then status = cli.fail(1, "restart", err)
      elseif not st or serr then status = cli.fail(1, "restart", serr or "start failed")
      else print(ref) end
    end
    return status
  end,
}
