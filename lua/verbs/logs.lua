-- bocker logs [-f] [-n N] [--since T] [--until T] [-t] [--details] CONTAINER
-- The container's stdout lines to stdout, its stderr lines to stderr.
local cli = require "bocker.cli"
local usage = "bocker logs [-f] [-n N] [--since T] [--until T] [-t] [--details] CONTAINER"
local spec = {
  { long = "follow", short = "f", kind = "bool", help = "Follow the output until the container exits" },
  { long = "tail", short = "n", kind = "string", arg = "N", help = "Only the last N lines (or all)" },
  { long = "since", kind = "string", arg = "T", help = "Only lines since T: a time (2026-11-30T10:00:00Z), Unix seconds, or a duration before now (10m)" },
  { long = "until", kind = "string", arg = "T", help = "Only lines until T (as --since)" },
  { long = "timestamps", short = "t", kind = "bool", help = "Show each line's time" },
  { long = "details", kind = "bool", help = "Show the attributes the log options name (labels, env) before each line" },
}
return {
  summary = "Show a container's output",
  usage = usage,
  flags = spec,
  run = function(args)
    local o, pos = cli.parse("logs", args, spec)
    if not o then return pos or 125 end
    if #pos ~= 1 then return cli.usage_error("logs", usage, '"logs" requires exactly 1 argument') end
    local tail
    if o.tail and o.tail ~= "all" then
      tail = math.tointeger(tonumber(o.tail))
      if not tail then return cli.fail(125, "logs", "invalid --tail: %s", o.tail) end
      if tail < 0 then tail = nil end -- docker: a negative count is all
    end
    io.stdout:flush()
    local ok, err = bocker.container.logs(pos[1], {
      follow = o.follow, tail = tail, since = o.since, ["until"] = o["until"],
      timestamps = o.timestamps, details = o.details,
    })
    if not ok then return cli.fail(1, "logs", err) end
    return 0
  end,
}
