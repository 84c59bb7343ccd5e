-- bocker up [-f FILE] [-p NAME] [-d] [--build] [--remove-orphans] [SERVICE...]
local cli = require "bocker.cli"
local spec = {
  { long = "file", short = "f", kind = "string", arg = "FILE", help = "Stack file (default: bocker-stack.lua, else compose.yaml in this folder)" },
  { long = "project-name", short = "p", kind = "string", arg = "NAME", help = "Project name (default: the file's name:, else the folder's)" },
  { long = "detach", short = "d", kind = "bool", help = "Leave the services running in the background" },
  { long = "build", kind = "bool", help = "Build images with build: before starting" },
  { long = "remove-orphans", kind = "bool", help = "Remove containers of services no longer in the file" },
}
return {
  summary = "Create and start a stack's services (bocker-stack.lua or compose.yaml)",
  usage = "bocker up [-f FILE] [-p NAME] [-d] [--build] [--remove-orphans] [SERVICE...]",
  flags = spec,
  run = function(args)
    local o, pos = cli.parse("up", args, spec)
    if not o then return pos or 125 end
    local stackfile, stack = require "bocker.stackfile", require "bocker.stack"
    local file, ferr = stackfile.find(o.file)
    if not file then return cli.fail(1, "up", ferr) end
    local model, err = stackfile.load(file, { project = o.project_name })
    if not model then return cli.fail(1, "up", err) end
    if not o.detach then bocker.signals.trap { "INT", "TERM", "HUP" } end
    local up, uerr = stack.up(model, { services = pos, build = o.build, remove_orphans = o.remove_orphans })
    if not up then return cli.fail(1, "up", uerr) end
    if o.detach then return 0 end
    -- attached: the services' lines, prefixed, until all end or Ctrl-C
    -- a container made now from its first line, the others from now on
    local rows, tails = {}, {}
    for _, u in ipairs(up) do
      rows[#rows + 1] = bocker.container.get(u.container.id) or u.container
      if not u.new then tails[u.container.id] = 0 end
    end
    stack.print_logs(rows, { follow = true, tail = tails, stop = function() return bocker.signals.caught() ~= nil end })
    if bocker.signals.caught() then
      io.stderr:write("Gracefully stopping... (press Ctrl+C again to force)\n")
      local fresh = {}
      for i, c in ipairs(rows) do fresh[i] = bocker.container.get(c.id) or c end
      stack.stop_all(fresh)
      return 130
    end
    return 0
  end,
}
