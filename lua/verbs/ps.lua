-- bocker ps: running and exited containers, as the seed lists them.
local cli = require "bocker.cli"
local fmt = require "bocker.fmt"
local filters = require "bocker.filters"
local spec = {
  { long = "all", short = "a", kind = "bool", help = "Show all containers (the default, as in the seed)" },
  { long = "quiet", short = "q", kind = "bool", help = "Only show container ids" },
  { long = "format", kind = "string", arg = "TEMPLATE", help = "json (bocker's rows), or a Go template ({{.ID}}, {{.Names}}, {{json .}}, table ...)" },
  { long = "last", short = "n", kind = "int", help = "Show the N last created containers" },
  { long = "latest", short = "l", kind = "bool", help = "Show the latest created container" },
  { long = "size", short = "s", kind = "bool", help = "Display total file sizes" },
  { long = "no-trunc", kind = "bool", help = "Do not shorten long commands" },
  { long = "filter", short = "f", kind = "list", arg = "KEY=VALUE", help = "Filter: id, name, label=K[=V], status, health, exited" },
}
return {
  summary = "List containers",
  usage = "bocker ps [-q] [-s] [-n N|-l] [--no-trunc] [--format json|TEMPLATE] [--filter KEY=VALUE...]",
  flags = spec,
  run = function(args)
    local o, pos = cli.parse("ps", args, spec)
    if not o then return pos or 125 end
    local f, ferr, fstatus = filters.parse(o.filter, filters.ps_keys)
    if not f then return cli.fail(fstatus, "ps", ferr) end
    local list = {}
    for _, c in ipairs(bocker.container.list()) do
      if filters.match(c, f) then list[#list + 1] = c end
    end
    -- -n N / -l: the last created ones (the list is oldest first)
    local last = o.latest and 1 or o.last
    if last and last >= 0 then
      local keep = {}
      for i = math.max(1, #list - last + 1), #list do keep[#keep + 1] = list[i] end
      list = keep
    end
    if o.size then
      for _, c in ipairs(list) do
        local sz = bocker.container.size(c.id)
        if sz then c.size_rw, c.size_root_fs = sz.rw, sz.root_fs end
      end
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
    if o.format then
      local docker = require "bocker.docker"
      for _, c in ipairs(list) do rows[#rows + 1] = docker.container_ps_row(c, now) end
      local header = { ID = "CONTAINER ID", Image = "IMAGE", Command = "COMMAND", CreatedAt = "CREATED AT", RunningFor = "CREATED",
        Ports = "PORTS", State = "STATE", Status = "STATUS", Size = "SIZE", Names = "NAMES", Labels = "LABELS", Mounts = "MOUNTS", Networks = "NETWORKS" }
      local ok, err = fmt.formatted(o.format, rows, header)
      if not ok then return cli.fail(125, "ps", "template parsing error: %s", err) end
      return 0
    end
    for _, c in ipairs(list) do
      local ip = c.state.net and c.state.net.ip or ""
      local cmd = fmt.command(c.args)
      if not o.no_trunc then cmd = fmt.truncate(cmd, 40) end
      local row = { c.id, c.image_ref, cmd, fmt.ago(c.created, now), fmt.status(c, now), ip, c.name or "" }
      if o.size then row[#row + 1] = fmt.size(c.size_rw) .. " (virtual " .. fmt.size(c.size_root_fs) .. ")" end
      rows[#rows + 1] = row
    end
    local headers = { "CONTAINER_ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "IP", "NAMES" }
    if o.size then headers[#headers + 1] = "SIZE" end
    fmt.table(headers, rows)
    return 0
  end,
}
