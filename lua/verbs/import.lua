-- bocker import [-c 'CMD ...'] [-m MSG] FILE|- [NAME[:TAG]]: a filesystem
-- tar (plain or compressed; `-` reads stdin) becomes a one-layer image.
local cli = require "bocker.cli"
local dockerfile = require "bocker.dockerfile"
local spec = {
  { long = "change", short = "c", kind = "list", arg = "INSTRUCTION", help = "Apply a Dockerfile instruction: CMD, ENTRYPOINT, ENV, WORKDIR, USER, EXPOSE, LABEL, VOLUME" },
  { long = "message", short = "m", kind = "string", help = "Commit message (kept in the image's history)" },
}
local usage = "bocker import [-c 'CMD ...'] [-m MSG] FILE|- [NAME[:TAG]]"
return {
  summary = "Create an image from a filesystem tar archive",
  usage = usage,
  flags = spec,
  run = function(args)
    local o, pos = cli.parse("import", args, spec)
    if not o then return pos or 125 end
    if #pos < 1 or #pos > 2 then return cli.usage_error("import", usage, '"import" requires 1 or 2 arguments') end
    local changes = {}
    for _, c in ipairs(o.change) do
      local ok, err = dockerfile.change(c, changes)
      if not ok then return cli.fail(125, "import", "invalid change %q: %s", c, err) end
    end
    local img, err = bocker.image.import(pos[1], { changes = changes, message = o.message, tag = pos[2] })
    if not img then return cli.fail(1, "import", err) end
    print("Created: " .. img.id)
    return 0
  end,
}
