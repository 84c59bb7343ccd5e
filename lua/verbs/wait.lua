-- bocker wait CONTAINER...: block until they exit, print exit codes
local cli = require "bocker.cli"
return {
  summary = "Wait for containers to exit and print their exit codes",
  usage = "bocker wait CONTAINER [CONTAINER...]",
  flags = {},
  run = function(args)
    return cli.each_container("wait", args, function(ref)
      return bocker.container.wait(ref)
    end)
  end,
}
