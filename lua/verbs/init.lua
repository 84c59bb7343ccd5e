-- bocker init DIR: the seed's limited build, an image from a root folder.
local cli = require "bocker.cli"
return {
  summary = "Create an image from a root filesystem directory",
  usage = "bocker init DIR",
  flags = {},
  run = function(args)
    local o, pos = cli.parse("init", args, {})
    if not o then return pos or 125 end
    if #pos ~= 1 then return cli.usage_error("init", "bocker init DIR", '"init" requires exactly 1 argument') end
    local img, err = bocker.image.init(pos[1])
    if not img then return cli.fail(1, "init", err) end
    print("Created: " .. img.id)
    return 0
  end,
}
