-- bocker load -i FILE.tar   (an OCI archive, e.g. from bocker save or podman save --format oci-archive)
local cli = require "bocker.cli"
local spec = { { long = "input", short = "i", kind = "string", arg = "FILE", help = "Read from FILE (an oci-archive)" } }
local usage = "bocker load -i FILE.tar"
return {
  summary = "Load images from an OCI archive",
  usage = usage,
  flags = spec,
  run = function(args)
    local o, pos = cli.parse("load", args, spec)
    if not o then return pos or 125 end
    local file = o.input or pos[1]
    if not file or #pos > (o.input and 0 or 1) then return cli.usage_error("load", usage, '"load" requires -i FILE') end
    local imgs, err = bocker.image.load(file)
    if not imgs then return cli.fail(1, "load", err) end
    for _, img in ipairs(imgs) do
      print("Loaded image: " .. (img.tags[1] or img.id) .. " (" .. img.id .. ")")
    end
    return 0
  end,
}
