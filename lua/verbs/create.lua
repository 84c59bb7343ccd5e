-- bocker create [FLAGS] IMAGE [CMD...]: run's flags, without starting.
local run = require("bocker").verbs.load("run")
return {
  summary = "Create a container without starting it (bocker start runs it)",
  usage = "bocker create [FLAGS] IMAGE [COMMAND [ARG...]]",
  flags = run.flags,
  run = function(args)
    local c, status = run.create("create", args)
    if not c then return status end
    print(c.id)
    return 0
  end,
}
