-- bocker push NAME[:TAG]  |  bocker push IMAGE HOST/NAME[:TAG]
local cli = require "bocker.cli"
local usage = "bocker push NAME[:TAG]  |  bocker push IMAGE REGISTRY/NAME[:TAG]"
return {
  summary = "Push an image to a registry",
  usage = usage,
  flags = {},
  run = function(args)
    local o, pos = cli.parse("push", args, {})
    if not o then return pos or 125 end
    if #pos < 1 or #pos > 2 then return cli.usage_error("push", usage, '"push" requires 1 or 2 arguments') end
    local digest, err = bocker.image.push(pos[1], { dest = pos[2] })
    if not digest then return cli.fail(1, "push", err) end
    print((pos[2] or pos[1]) .. ": digest: " .. digest)
    return 0
  end,
}
