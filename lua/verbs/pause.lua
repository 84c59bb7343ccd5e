-- bocker pause CONTAINER...: freeze every process (cgroup freezer)
local cli = require "bocker.cli"
return {
  summary = "Pause all processes within containers (cgroup freezer)",
  usage = "bocker pause CONTAINER [CONTAINER...]",
  flags = {},
  run = function(args)
    return cli.each_container("pause", args, function(ref)
      local id, err = bocker.container.pause(ref)
      return id and ref, err
    end)
  end,
}
