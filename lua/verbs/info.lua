-- bocker info [--format TEMPLATE|json]: the store and the host, as
-- `docker info` summarises them.
local cli = require "bocker.cli"
local fmt = require "bocker.fmt"
local spec = {
  { long = "format", short = "f", kind = "string", arg = "json|TEMPLATE", help = "Print as JSON or through a Go template ({{.Containers}}, {{.ContainersRunning}}, {{.Images}}, {{.CgroupVersion}}, {{.DockerRootDir}}, ...)" },
}
local usage = "bocker info [--format json|TEMPLATE]"
return {
  summary = "Show what the store holds and what the host offers",
  usage = usage,
  flags = spec,
  run = function(args)
    local o, pos = cli.parse("info", args, spec)
    if not o then return pos or 125 end
    if #pos > 0 then return cli.usage_error("info", usage, '"info" accepts no arguments') end
    local v = require("bocker.docker").info()
    if o.format then
      local ok, err = fmt.formatted(o.format, { v })
      if not ok then return cli.fail(1, "info", err) end
      return 0
    end
    local lines = {
      { "Containers", v.Containers }, { " Running", v.ContainersRunning }, { " Paused", v.ContainersPaused }, { " Stopped", v.ContainersStopped },
      { "Images", v.Images }, { "Volumes", v.Volumes }, { "Server Version", v.ServerVersion },
      { "Storage Driver", v.Driver }, { "Cgroup Driver", v.CgroupDriver }, { "Cgroup Version", v.CgroupVersion },
      { "Kernel Version", v.KernelVersion }, { "Operating System", v.OperatingSystem }, { "OSType", v.OSType },
      { "Architecture", v.Architecture }, { "CPUs", v.NCPU }, { "Total Memory", fmt.size(v.MemTotal) },
      { "Root Dir", v.DockerRootDir },
    }
    for _, l in ipairs(lines) do io.stdout:write(" ", l[1], ": ", tostring(l[2]), "\n") end
    return 0
  end,
}
