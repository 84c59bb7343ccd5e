-- bocker ps: running and exited containers, as the seed lists them.
local cli = require "bocker.cli"
local fmt = require "bocker.fmt"
local filters = require "bocker.filters"
local spec = {
  { long = "all", short = "a", kind = "bool", help = "Show all containers (the default, as in the seed)" },
  { long = "quiet", short = "q", kind = "bool", help = "Only show container ids" },
  { long = "format", kind = "string", arg = "json", help = "Print as JSON" },
  { long = "no-trunc", kind = "bool", help = "Do not shorten long commands" },
  { long = "filter", short = "f", kind = "list", arg = "KEY=VALUE", help = "Filter: id, name, label=K[=V], status, health, exited" },
}
return {
  summary = "List containers",
  usage = "bocker ps [-q] [--no-trunc] [--format json] [--filter KEY=VALUE...]",
  flags = spec,
  run = function(args)
    local o, pos = cli.parse("ps", args, spec)
    if not o then return pos or 125 end
    if o.format and o.format ~= "json" then return cli.fail(125, "ps", "unknown format: %s (only json)", o.format) end
    local f, ferr, fstatus = filters.parse(o.filter, filters.ps_keys)
    if not f then return cli.fail(fstatus, "ps", ferr) end
    local list = {}
    for _, c in ipairs(bocker.container.list()) do
      if filters.match(c, f) then list[#list + 1] = c end
    end
    if o.quiet then
      -- one write, not print's flush per line
      local ids = {}
      for i, c in ipairs(list) do ids[i] = c.id .. "\n" end
      io.stdout:write(table.concat(ids))
      return 0
    end
    if o.format == "json" then
      local out = {}
      for _, c in ipairs(list) do
        out[#out + 1] = {
          id = c.id, name = c.name, image = c.image_ref, image_id = c.image,
          command = fmt.command(c.args), created = c.created, status = fmt.status(c),
          state = c.state.status, exit_code = c.state.exit_code, pid = c.running and c.state.pid or nil,
          ip = c.state.net and c.state.net.ip or nil,
          labels = c.labels, health = c.health, restart_count = c.restart_count,
        }
      end
      print(bocker.json.encode(out))
      return 0
    end
    local now, rows = bocker.now(), {}
    for _, c in ipairs(list) do
      local ip = c.state.net and c.state.net.ip or ""
      local cmd = fmt.command(c.args)
      if not o.no_trunc then cmd = fmt.truncate(cmd, 40) end
      rows[#rows + 1] = { c.id, c.image_ref, cmd, fmt.ago(c.created, now), fmt.status(c, now), ip, c.name or "" }
    end
    fmt.table({ "CONTAINER_ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "IP", "NAMES" }, rows)
    return 0
  end,
}
