-- bocker update [FLAGS] CONTAINER...: change a container's limits live
-- (and for its next starts) through bocker.container.update
local cli = require "bocker.cli"
local units = require "bocker.units"
local spec = {
  { long = "memory", short = "m", kind = "string", arg = "BYTES", help = "Memory limit" },
  { long = "memory-swap", kind = "string", arg = "BYTES", help = "Memory plus swap limit (-1: unlimited swap)" },
  { long = "memory-reservation", kind = "string", arg = "BYTES", help = "Memory soft limit" },
  { long = "cpu-shares", short = "c", kind = "int", help = "CPU shares (relative weight)" },
  { long = "cpus", kind = "string", arg = "NUMBER", help = "Number of CPUs" },
  { long = "cpuset-cpus", kind = "string", arg = "LIST", help = "CPUs in which to allow execution (0-3, 0,1)" },
  { long = "pids-limit", kind = "int", help = "Tune container pids limit (-1 for unlimited)" },
  { long = "restart", kind = "string", arg = "POLICY", help = "Restart policy to apply when a container exits" },
}
local usage = "bocker update [FLAGS] CONTAINER [CONTAINER...]"
return {
  summary = "Update configuration of one or more containers",
  usage = usage,
  flags = spec,
  run = function(args)
    local o, pos = cli.parse("update", args, spec)
    if not o then return pos or 125 end
    if #pos == 0 then return cli.usage_error("update", usage, '"update" requires at least 1 argument') end
    if not bocker.container.update then return cli.fail(125, "update", "this bocker cannot update a container's limits") end
    local l = {}
    for _, k in ipairs { "memory", "memory_swap", "memory_reservation" } do
      local v = o[k]
      if v then
        if v == "-1" then l[k] = -1 else
          local n, err = units.bytes(v)
          if not n then return cli.fail(125, "update", "invalid --%s: %s", k:gsub("_", "-"), err) end
          l[k] = n
        end
      end
    end
    if o.cpus then
      l.cpus = tonumber(o.cpus)
      if not l.cpus then return cli.fail(125, "update", "invalid --cpus: %s", o.cpus) end
    end
    l.cpu_shares, l.cpuset_cpus, l.pids_limit, l.restart = o.cpu_shares, o.cpuset_cpus, o.pids_limit, o.restart
    if next(l) == nil then return cli.fail(125, "update", "you must provide one or more flags when using this command") end
    local status = 0
    for _, ref in ipairs(pos) do
      local id, err = bocker.container.update(ref, l)
      if id then print(ref) else status = cli.fail(1, "update", err) end
    end
    return status
  end,
}
