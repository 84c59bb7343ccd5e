-- bocker images: IMAGE_ID and SOURCE as the seed shows, plus age and size.
local cli = require "bocker.cli"
local fmt = require "bocker.fmt"
local spec = {
  { long = "all", short = "a", kind = "bool", help = "Also intermediate images (untagged parents of others)" },
  { long = "quiet", short = "q", kind = "bool", help = "Only show image ids" },
  { long = "format", kind = "string", arg = "json", help = "Print as JSON" },
}
return {
  summary = "List images",
  usage = "bocker images [-a] [-q] [--format json]",
  flags = spec,
  run = function(args)
    local o, pos = cli.parse("images", args, spec)
    if not o then return pos or 125 end
    local imgs = bocker.image.list()
    if not o.all then
      -- hide intermediate images, as docker does: untagged parents of
      -- others that were themselves made from an image (build steps)
      local parents = {}
      for _, i in ipairs(imgs) do if i.parent then parents[i.parent] = true end end
      local shown = {}
      for _, i in ipairs(imgs) do
        local derived = (i.source or ""):match("^img_") or i.source == "scratch"
        if #(i.tags or {}) > 0 or not parents[i.id] or not derived then shown[#shown + 1] = i end
      end
      imgs = shown
    end
    if o.quiet then
      local ids = {}
      for n, i in ipairs(imgs) do ids[n] = i.id .. "\n" end
      io.stdout:write(table.concat(ids))
      return 0
    end
    if o.format == "json" then
      print(bocker.json.encode(imgs))
      return 0
    end
    local rows = {}
    for _, i in ipairs(imgs) do
      local source = #(i.tags or {}) > 0 and table.concat(i.tags, ",") or i.source
      rows[#rows + 1] = { i.id, source, fmt.ago(i.created), fmt.size(i.size) }
    end
    fmt.table({ "IMAGE_ID", "SOURCE", "CREATED", "SIZE" }, rows)
    return 0
  end,
}
