-- bocker rename CONTAINER NEW_NAME
local cli = require "bocker.cli"
local usage = "bocker rename CONTAINER NEW_NAME"
return {
  summary = "Rename a container",
  usage = usage,
  flags = {},
  run = function(args)
    local o, pos = cli.parse("rename", args, {})
    if not o then return pos or 125 end
    if #pos ~= 2 then return cli.usage_error("rename", usage, '"rename" requires exactly 2 arguments') end
    local id, err = bocker.container.rename(pos[1], pos[2])
    if not id then return cli.fail(1, "rename", err) end
    return 0
  end,
}
