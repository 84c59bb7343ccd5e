-- bocker start [-a] CONTAINER...: run created or exited containers again
-- (same root filesystem, same record); -a waits with the output attached.
local cli = require "bocker.cli"
local spec = { { long = "attach", short = "a", kind = "bool", help = "Attach: show the output and return its exit status" } }
return {
  summary = "Start created or stopped containers",
  usage = "bocker start [-a] CONTAINER [CONTAINER...]",
  flags = spec,
  run = function(args)
    local o, pos = cli.parse("start", args, spec)
    if not o then return pos or 125 end
    if #pos == 0 then return cli.usage_error("start", "bocker start [-a] CONTAINER...", '"start" requires at least 1 argument') end
    if o.attach and #pos > 1 then return cli.fail(125, "start", "you cannot attach to more than one container") end
    local status = 0
    for _, ref in ipairs(pos) do
      local c, err = bocker.container.get(ref)
      if not c then
        status = cli.fail(1, "start", err)
      elseif not c.running then
        local st, serr = bocker.container.start(c.id, { detach = not o.attach })
        if not st then
          status = cli.fail(1, "start", serr)
        elseif o.attach then
          return st
        elseif serr then
          status = cli.fail(st, "start", serr)
        else
          print(ref)
        end
      else
        print(ref) -- already running: nothing to do, as docker
      end
    end
    return status
  end,
}
