-- bocker images: IMAGE_ID and SOURCE as the seed shows, plus age and size.
local cli = require "bocker.cli"
local fmt = require "bocker.fmt"
local spec = {
  { long = "quiet", short = "q", kind = "bool", help = "Only show image ids" },
  { long = "format", kind = "string", arg = "json", help = "Print as JSON" },
}
return {
  summary = "List images",
  usage = "bocker images [-q] [--format json]",
  flags = spec,
  run = function(args)
    local o, pos = cli.parse("images", args, spec)
    if not o then return pos or 125 end
    local imgs = bocker.image.list()
    if o.quiet then
      for _, i in ipairs(imgs) do print(i.id) end
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
