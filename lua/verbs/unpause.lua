-- bocker unpause CONTAINER...: thaw them
local cli = require "bocker.cli"
return {
  summary = "Unpause all processes within containers",
  usage = "bocker unpause CONTAINER [CONTAINER...]",
  flags = {},
  run = function(args)
    return cli.each_container("unpause", args, function(ref)
      local id, err = bocker.container.unpause(ref)
      return id and ref, err
    end)
  end,
}
