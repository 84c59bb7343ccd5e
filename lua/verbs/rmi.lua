-- bocker rmi [-f] IMAGE...: remove images and the layers only they used.
local cli = require "bocker.cli"
local spec = { { long = "force", short = "f", kind = "bool", help = "Remove even if a container uses it" } }
return {
  summary = "Remove one or more images",
  usage = "bocker rmi [-f] IMAGE [IMAGE...]",
  flags = spec,
  run = function(args)
    local o, pos = cli.parse("rmi", args, spec)
    if not o then return pos or 125 end
    if #pos == 0 then return cli.usage_error("rmi", "bocker rmi [-f] IMAGE [IMAGE...]", '"rmi" requires at least 1 argument') end
    local status = 0
    for _, ref in ipairs(pos) do
      local r, err = bocker.image.remove(ref, { force = o.force })
      if r then
        print("Removed: " .. r.id)
        for _, p in ipairs(r.parents or {}) do print("Removed: " .. p) end
      else
        status = cli.fail(1, "rmi", err)
      end
    end
    return status
  end,
}
