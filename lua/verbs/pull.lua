-- bocker pull NAME[:TAG|@DIGEST]   (also the seed's form: bocker pull NAME TAG)
local cli = require "bocker.cli"
local spec = {
  { long = "platform", kind = "string", arg = "OS/ARCH[/VARIANT]", help = "Platform to pick from a multi-arch image" },
  { long = "quiet", short = "q", kind = "bool", help = "No progress output" },
}
local usage = "bocker pull [--platform P] NAME[:TAG|@DIGEST]  |  bocker pull NAME TAG"
return {
  summary = "Pull an image from a registry",
  usage = usage,
  flags = spec,
  run = function(args)
    local o, pos = cli.parse("pull", args, spec)
    if not o then return pos or 125 end
    local ref
    if #pos == 1 then ref = pos[1]
    elseif #pos == 2 then ref = pos[1] .. ":" .. pos[2]
    else return cli.usage_error("pull", usage, '"pull" requires 1 or 2 arguments') end
    local progress = not o.quiet and (require "bocker.progress").new() or nil
    local img, err = bocker.image.pull(ref, { platform = o.platform, progress = progress })
    if not img then return cli.fail(1, "pull", err) end
    print("Created: " .. img.id)
    return 0
  end,
}
