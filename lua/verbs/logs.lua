-- bocker logs [-f] [--tail N] CONTAINER
local cli = require "bocker.cli"
local spec = {
  { long = "follow", short = "f", kind = "bool", help = "Follow the output until the container exits" },
  { long = "tail", short = "n", kind = "string", arg = "N", help = "Only the last N lines (or all)" },
}
return {
  summary = "Show a container's output",
  usage = "bocker logs [-f] [--tail N] CONTAINER",
  flags = spec,
  run = function(args)
    local o, pos = cli.parse("logs", args, spec)
    if not o then return pos or 125 end
    if #pos ~= 1 then return cli.usage_error("logs", "bocker logs [-f] [--tail N] CONTAINER", '"logs" requires exactly 1 argument') end
    local tail
    if o.tail and o.tail ~= "all" then
      tail = math.tointeger(tonumber(o.tail))
      if not tail or tail < 0 then return cli.fail(125, "logs", "invalid --tail: %s", o.tail) end
    end
    local ok, err = bocker.container.logs(pos[1], { follow = o.follow, tail = tail })
    if not ok then return cli.fail(1, "logs", err) end
    return 0
  end,
}
