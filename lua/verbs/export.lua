-- bocker export [-o FILE] CONTAINER: the container's filesystem (its
-- image's layers and its changes, flattened) as a tar.
local cli = require "bocker.cli"
local spec = {
  { long = "output", short = "o", kind = "string", arg = "FILE", help = "Write to FILE (replaced only once the tar is complete) instead of stdout" },
}
local usage = "bocker export [-o FILE] CONTAINER"
return {
  summary = "Export a container's filesystem as a tar archive",
  usage = usage,
  flags = spec,
  run = function(args)
    local o, pos = cli.parse("export", args, spec)
    if not o then return pos or 125 end
    if #pos ~= 1 then return cli.usage_error("export", usage, '"export" requires exactly 1 argument') end
    if not o.output and bocker.isatty(1) then
      return cli.fail(1, "export", "cowardly refusing to save to a terminal. Use the -o flag or redirect")
    end
    local id, err = bocker.container.export(pos[1], { output = o.output })
    if not id then return cli.fail(1, "export", err) end
    return 0
  end,
}
