-- bocker version [--format TEMPLATE|json]: this bocker and its host.
local cli = require "bocker.cli"
local fmt = require "bocker.fmt"
local spec = {
  { long = "format", short = "f", kind = "string", arg = "json|TEMPLATE", help = "Print as JSON or through a Go template ({{.Version}}, {{.Build}}, {{.Lua}}, {{.Kernel}}, {{.Os}}, {{.Arch}})" },
}
local usage = "bocker version [--format json|TEMPLATE]"
return {
  summary = "Show bocker's version and build",
  usage = usage,
  flags = spec,
  run = function(args)
    local o, pos = cli.parse("version", args, spec)
    if not o then return pos or 125 end
    if #pos > 0 then return cli.usage_error("version", usage, '"version" accepts no arguments') end
    local v = require("bocker.docker").version()
    if o.format then
      local ok, err = fmt.formatted(o.format, { v })
      if not ok then return cli.fail(1, "version", err) end
      return 0
    end
    local rows = { { "Version", v.Version }, { "Build", v.Build }, { "Lua", v.Lua }, { "OS/Arch", v.Os .. "/" .. v.Arch },
      { "Kernel", v.KernelVersion }, { "Cgroup version", v.CgroupVersion } }
    for _, r in ipairs(rows) do io.stdout:write(string.format(" %-15s %s\n", r[1] .. ":", r[2])) end
    return 0
  end,
}
