-- bocker exec [-d] [-i] [-t] [-e K=V] [-w DIR] [-u USER] CONTAINER CMD...
local cli = require "bocker.cli"
local spec = {
  { long = "interactive", short = "i", kind = "bool", help = "Keep stdin attached" },
  { long = "tty", short = "t", kind = "bool", help = "Use the terminal" },
  { long = "env", short = "e", kind = "list", arg = "K=V", help = "Set an environment variable" },
  { long = "workdir", short = "w", kind = "string", arg = "DIR", help = "Working directory" },
  { long = "user", short = "u", kind = "string", help = "User to run as" },
  { long = "detach", short = "d", kind = "bool", help = "Run the command in the background" },
}
local usage = "bocker exec [-d] [-i] [-t] [-e K=V] [-w DIR] [-u USER] CONTAINER COMMAND [ARG...]"
return {
  summary = "Run a command in a running container",
  usage = usage,
  flags = spec,
  run = function(args)
    local o, pos = cli.parse("exec", args, spec, { interspersed = false })
    if not o then return pos or 125 end
    if #pos < 2 then return cli.usage_error("exec", usage, '"exec" requires at least 2 arguments') end
    local ref = table.remove(pos, 1)
    local c, err = bocker.container.get(ref)
    if not c then return cli.fail(1, "exec", err) end
    if not c.running then
      io.stderr:write("Container '", c.id, "' exists but is not running\n")
      return 1
    end
    if o.detach then
      -- an exec instance started without a client (its exit is recorded
      -- while this process lives; the process runs on after it)
      local rec, cerr = bocker.container.exec_create(c.id, {
        args = pos, env = o.env, workdir = o.workdir, user = o.user, tty = o.tty,
      })
      if not rec then return cli.fail(125, "exec", cerr) end
      local out, serr = bocker.container.exec_start(rec.id)
      if not out then return cli.fail(125, "exec", serr) end
      return 0
    end
    local status, eerr = bocker.container.exec(c.id, {
      args = pos, env = o.env, workdir = o.workdir, user = o.user,
      tty = o.tty, interactive = o.interactive,
    })
    if not status then return cli.fail(125, "exec", eerr) end
    return status
  end,
}
