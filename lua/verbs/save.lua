-- bocker save [-o FILE] [--format docker|oci] IMAGE...
-- Docker's archive by default: `docker load` and `podman load` read it
-- (podman save's default is the same format); --format oci writes an OCI
-- image layout (skopeo's oci-archive:). Without -o the archive goes to
-- stdout, never to a terminal.
local cli = require "bocker.cli"
local spec = {
  { long = "output", short = "o", kind = "string", arg = "FILE", help = "Write to FILE (replaced only once the archive is complete) instead of stdout" },
  { long = "format", kind = "string", arg = "FORMAT", default = "docker", help = "docker (docker-archive, the default) or oci (oci-archive)" },
}
local usage = "bocker save [-o FILE] [--format docker|oci] IMAGE..."
return {
  summary = "Save images to a Docker or OCI archive (a file or stdout)",
  usage = usage,
  flags = spec,
  run = function(args)
    local o, pos = cli.parse("save", args, spec)
    if not o then return pos or 125 end
    if #pos < 1 then return cli.usage_error("save", usage, '"save" requires at least 1 argument') end
    if o.format ~= "docker" and o.format ~= "oci" then
      return cli.fail(125, "save", 'invalid --format %q: expected docker or oci', o.format)
    end
    if not o.output and bocker.isatty(1) then
      return cli.fail(1, "save", "cowardly refusing to save to a terminal. Use the -o flag or redirect")
    end
    local imgs, err = bocker.image.save(pos, { output = o.output, format = o.format })
    if not imgs then return cli.fail(1, "save", err) end
    return 0
  end,
}
