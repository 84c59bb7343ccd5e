-- bocker load [-i FILE]: a Docker archive (docker save, podman save) or an
-- OCI archive (bocker save --format oci, skopeo's oci-archive:), plain or
-- compressed, from FILE or stdin.
local cli = require "bocker.cli"
local spec = {
  { long = "input", short = "i", kind = "string", arg = "FILE", help = "Read from FILE instead of stdin" },
  { long = "quiet", short = "q", kind = "bool", help = "Print nothing" },
}
local usage = "bocker load [-i FILE]"
return {
  summary = "Load images from a Docker or OCI archive (a file or stdin)",
  usage = usage,
  flags = spec,
  run = function(args)
    local o, pos = cli.parse("load", args, spec)
    if not o then return pos or 125 end
    if #pos > 0 then return cli.usage_error("load", usage, '"load" accepts no arguments') end
    if not o.input and bocker.isatty(0) then
      return cli.fail(1, "load", "requested load from stdin, but stdin is empty: use -i FILE or redirect")
    end
    local loaded, err = bocker.image.load(o.input)
    if not loaded then return cli.fail(1, "load", err) end
    if not o.quiet then
      for _, l in ipairs(loaded) do
        if #l.names > 0 then
          for _, n in ipairs(l.names) do print("Loaded image: " .. n) end
        else
          print("Loaded image ID: " .. l.image.id)
        end
      end
    end
    return 0
  end,
}
