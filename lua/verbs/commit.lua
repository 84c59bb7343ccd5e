-- bocker commit [-m MSG] [-c 'CMD ...'] CONTAINER [NAME[:TAG] | IMAGE_ID]
local cli = require "bocker.cli"
local dockerfile = require "bocker.dockerfile"
local spec = {
  { long = "message", short = "m", kind = "string", help = "Commit message (kept in the image's history)" },
  { long = "change", short = "c", kind = "list", arg = "INSTRUCTION", help = "Apply a Dockerfile instruction: CMD, ENTRYPOINT, ENV, WORKDIR, USER, EXPOSE, LABEL, VOLUME" },
}
local usage = "bocker commit [-m MSG] [-c 'CMD ...'] CONTAINER [NAME[:TAG] | IMAGE_ID]"
return {
  summary = "Create a new image from a container's changes",
  usage = usage,
  flags = spec,
  run = function(args)
    local o, pos = cli.parse("commit", args, spec)
    if not o then return pos or 125 end
    if #pos < 1 or #pos > 2 then return cli.usage_error("commit", usage, '"commit" requires 1 or 2 arguments') end
    local changes = {}
    for _, c in ipairs(o.change) do
      local ok, err = dockerfile.change(c, changes)
      if not ok then return cli.fail(125, "commit", "invalid change %q: %s", c, err) end
    end
    local opts = { message = o.message, changes = changes }
    local target = pos[2]
    -- the seed's form: an existing image id is replaced (same id)
    local existing = target and target:match("^img_") and bocker.image.get(target)
    if existing and existing.id == target then opts.replace = target
    elseif target then opts.tag = target end
    local img, err = bocker.container.commit(pos[1], opts)
    if not img then return cli.fail(1, "commit", err) end
    if img.replaced then print("Removed: " .. img.replaced) end
    print("Created: " .. img.id)
    return 0
  end,
}
