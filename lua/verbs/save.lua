-- bocker save IMAGE -o FILE.tar   (an OCI image layout in a tar)
local cli = require "bocker.cli"
local spec = { { long = "output", short = "o", kind = "string", arg = "FILE", help = "Write to FILE (an oci-archive)" } }
local usage = "bocker save -o FILE.tar IMAGE"
return {
  summary = "Save an image to an OCI archive (oci-archive: for skopeo, podman load)",
  usage = usage,
  flags = spec,
  run = function(args)
    local o, pos = cli.parse("save", args, spec)
    if not o then return pos or 125 end
    if #pos ~= 1 then return cli.usage_error("save", usage, '"save" requires exactly 1 argument') end
    if not o.output then return cli.fail(125, "save", "an output file is required (-o FILE)") end
    local img, err = bocker.image.save(pos[1], { output = o.output })
    if not img then return cli.fail(1, "save", err) end
    return 0
  end,
}
