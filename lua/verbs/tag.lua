-- bocker tag IMAGE NAME[:TAG]
local cli = require "bocker.cli"
return {
  summary = "Give an image a NAME[:TAG]",
  usage = "bocker tag IMAGE NAME[:TAG]",
  flags = {},
  run = function(args)
    local o, pos = cli.parse("tag", args, {})
    if not o then return pos or 125 end
    if #pos ~= 2 then return cli.usage_error("tag", "bocker tag IMAGE NAME[:TAG]", '"tag" requires exactly 2 arguments') end
    local img, err = bocker.image.tag(pos[1], pos[2])
    if not img then return cli.fail(1, "tag", err) end
    return 0
  end,
}
