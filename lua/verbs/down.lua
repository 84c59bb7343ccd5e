-- bocker down [-f FILE] [-p NAME] [-v] [--remove-orphans] [-t SECS]
local cli = require "bocker.cli"
local spec = {
  { long = "file", short = "f", kind = "string", arg = "FILE", help = "Stack file (gives the project name)" },
  { long = "project-name", short = "p", kind = "string", arg = "NAME", help = "Project name" },
  { long = "volumes", short = "v", kind = "bool", help = "Also remove the stack's named volumes" },
  { long = "remove-orphans", kind = "bool", help = "Accepted: every container of the project is removed anyway" },
  { long = "timeout", short = "t", kind = "int", arg = "SECS", help = "Seconds to wait for a container to stop (10)" },
}
return {
  summary = "Stop and remove a stack's containers and networks (-v: volumes)",
  usage = "bocker down [-f FILE] [-p NAME] [-v] [--remove-orphans] [-t SECS]",
  flags = spec,
  run = function(args)
    local o, pos = cli.parse("down", args, spec)
    if not o then return pos or 125 end
    if #pos > 0 then return cli.usage_error("down", "bocker down [-f FILE] [-p NAME] [-v]", '"down" accepts no arguments') end
    local project, err = require("bocker.stack").project_of(o.file, o.project_name)
    if not project then return cli.fail(1, "down", err) end
    local ok, derr = require("bocker.stack").down(project, { volumes = o.volumes, timeout = o.timeout })
    if not ok then return cli.fail(1, "down", derr) end
    return 0
  end,
}
