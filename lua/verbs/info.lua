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
    local h = bocker.host()
    local running, paused, stopped = 0, 0, 0
    local cs = bocker.container.list()
    for _, c in ipairs(cs) do
      if c.paused then paused = paused + 1 elseif c.running then running = running + 1 else stopped = stopped + 1 end
    end
    local os_name, arch = h.platform:match("^([^/]+)/(.+)$")
    local v = {
      ID = h.build, Containers = #cs, ContainersRunning = running, ContainersPaused = paused, ContainersStopped = stopped,
      Images = #bocker.image.list(), Volumes = #bocker.volume.list(), Driver = "overlay", CgroupDriver = "cgroupfs",
      CgroupVersion = tostring(h.cgroup_version), KernelVersion = h.kernel, OperatingSystem = h.os, OSType = os_name,
      Architecture = arch, NCPU = h.cpus, MemTotal = h.memory, DockerRootDir = bocker.root(), ServerVersion = h.version,
      DefaultRuntime = "bocker",
    }
    if o.format then
      local ok, err = fmt.formatted(o.format, { v })
      if not ok then return cli.fail(1, "info", err) end
      return 0
    end
    local lines = {
      { "Containers", v.Containers }, { " Running", running }, { " Paused", paused }, { " Stopped", stopped },
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
