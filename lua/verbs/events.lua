-- bocker events [--since T] [--until T] [--filter K=V]: container events
-- (start, die, restart, health_status) in docker's line format; follows
-- new ones until --until (or Ctrl-C), as docker does.
local cli = require "bocker.cli"
local units = require "bocker.units"
local spec = {
  { long = "since", kind = "string", arg = "TIME", help = "Events from TIME: unix seconds, or a duration ago (10m)" },
  { long = "until", kind = "string", arg = "TIME", help = "Events up to TIME (then stop): unix seconds, or a duration ago" },
  { long = "filter", short = "f", kind = "list", arg = "KEY=VALUE", help = "container, event, image, label, type" },
  { long = "format", kind = "string", arg = "json", help = "One JSON object per line" },
}

-- "1700000000", "1700000000.5", or a Go duration before now.
local function time_arg(s, now)
  local n = tonumber(s)
  if n then return n end
  local d, err = units.duration(s)
  if not d then return nil, err end
  return now - d
end

local function line(e)
  local secs = e.time_nano // 1000000000
  local attrs = {}
  for k, v in pairs(e.attributes or {}) do attrs[#attrs + 1] = k .. "=" .. v end
  table.sort(attrs)
  return string.format("%s.%09dZ %s %s %s (%s)", os.date("!%Y-%m-%dT%H:%M:%S", secs), e.time_nano % 1000000000,
    e.type, e.action, e.id, table.concat(attrs, ", "))
end

return {
  summary = "Show container events (start, die, restart, health_status)",
  usage = "bocker events [--since TIME] [--until TIME] [--filter KEY=VALUE...] [--format json]",
  flags = spec,
  run = function(args)
    local o, pos = cli.parse("events", args, spec)
    if not o then return pos or 125 end
    if #pos > 0 then return cli.usage_error("events", "bocker events [FLAGS]", '"events" accepts no arguments') end
    if o.format and o.format ~= "json" then return cli.fail(125, "events", "unknown format: %s (only json)", o.format) end
    local now = bocker.now()
    local since, until_, err = now, nil, nil
    if o.since then since, err = time_arg(o.since, now) end
    if not since then return cli.fail(125, "events", err) end
    if o["until"] then until_, err = time_arg(o["until"], now) end
    if o["until"] and not until_ then return cli.fail(125, "events", err) end
    local filter = {}
    for _, kv in ipairs(o.filter) do
      local k, v = kv:match("^([^=]+)=(.*)$")
      if not k then return cli.fail(125, "events", 'invalid argument "%s" for "-f, --filter" flag: bad format of filter (expected name=value)', kv) end
      filter[k] = filter[k] or {}
      table.insert(filter[k], v)
    end
    local iter, ierr = bocker.events.read { since = since, ["until"] = until_, follow = until_ == nil, filter = filter }
    if not iter then return cli.fail(1, "events", ierr) end
    for e in iter do
      io.stdout:write(o.format == "json" and bocker.json.encode(e) or line(e), "\n")
      io.stdout:flush()
    end
    return 0
  end,
}
